// The bundled listener's routing, limits and defences: health check, 404/405, 413, 431, 408, idle
// timeout, connection cap (oldest idle connection closed), body budget, header check, request
// smuggling, CORS, static files.
#include "http_support.hpp"

#include <catch2/catch.hpp>

using namespace test;

TEST_CASE("GET /healthz answers 200 ok, HEAD has no body, POST is 405", "[integration][http]") {
    Fixture f;
    auto const health = exchange(f.port(), get_request("/healthz"));
    CHECK(health.status == 200);
    CHECK(health.body == "ok");
    CHECK(health.header("Content-Type") == "text/plain; charset=utf-8");

    auto const head = exchange(f.port(), get_request("/healthz", "HEAD"), true);
    CHECK(head.status == 200);
    CHECK(head.body.empty());

    auto const wrong = exchange(f.port(), post_request("/healthz", "{}"));
    CHECK(wrong.status == 405);
    CHECK(wrong.header("Allow") == "GET, HEAD");
}

TEST_CASE("unknown paths answer a JSON 404", "[integration][http]") {
    Fixture f;
    for (auto const* target : {"/", "/nope", "/chatkit/extra", "/healthz/x"}) {
        auto const r = exchange(f.port(), get_request(target));
        CHECK(r.status == 404);
        CHECK(r.json().at("error").at("code") == "not_found");
    }
    CHECK(post(f.port(), "{}").status == 400);  // the endpoint itself is there
}

TEST_CASE("a body over the limit answers 413 and closes", "[integration][http]") {
    Fixture f([](chatkit::http::ServerOptions& o) { o.body_limit = 1024; });

    SECTION("Content-Length over the limit is refused before the body is read") {
        Conn conn(f.port());
        conn.send(
            "POST /chatkit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
            "4096\r\n\r\n");
        auto const r = conn.read_response();
        CHECK(r.status == 413);
        CHECK(r.json().at("error").at("code") == "payload_too_large");
        CHECK_FALSE(r.keep_alive);
        CHECK(conn.wait_closed());
    }
    SECTION("a chunked body crossing the limit") {
        Conn conn(f.port());
        std::string const piece(600, 'x');
        char size[16];
        std::snprintf(size, sizeof size, "%zx", piece.size());
        std::string request = "POST /chatkit HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (int i = 0; i < 3; ++i)
            request += std::string(size) + "\r\n" + piece + "\r\n";
        request += "0\r\n\r\n";
        conn.send(request);
        auto const r = conn.read_response();
        CHECK(r.status == 413);
        CHECK(conn.wait_closed());
    }
    SECTION("a body under the limit still works") {
        CHECK(post(f.port(), request_body("threads.list", {})).status == 200);
    }
}

TEST_CASE("Expect: 100-continue gets 100 Continue before the body is sent", "[integration][http]") {
    Fixture f;
    Conn conn(f.port());
    auto const body = request_body("threads.list", {});
    conn.send("POST /chatkit HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: " +
              std::to_string(body.size()) + "\r\n\r\n");
    CHECK(conn.read_response().status == 100);
    conn.send(body);
    auto const r = conn.read_response();
    CHECK(r.status == 200);
    CHECK(r.json().at("data").as_array().empty());
}

TEST_CASE("a header block over the limit answers 431 and closes", "[integration][http]") {
    Fixture f;
    Conn conn(f.port());
    conn.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(16 * 1024, 'a') + "\r\n\r\n");
    auto const r = conn.read_response();
    CHECK(r.status == 431);
    CHECK(conn.wait_closed());
}

TEST_CASE("slow clients get 408 and idle connections are closed", "[integration][http]") {
    Fixture f([](chatkit::http::ServerOptions& o) {
        o.header_timeout = 300ms;
        o.body_timeout = 300ms;
        o.idle_timeout = 300ms;
    });

    SECTION("an unfinished header (slowloris)") {
        Conn conn(f.port());
        conn.send("POST /chatkit HTTP/1.1\r\nHost: x\r\n");
        auto const started = steady::now();
        auto const r = conn.read_response(false, 3s);
        CHECK(r.status == 408);
        CHECK(steady::now() - started < 2s);
        CHECK(conn.wait_closed());
    }
    SECTION("an unfinished body") {
        Conn conn(f.port());
        conn.send("POST /chatkit HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"type\":");
        auto const r = conn.read_response(false, 3s);
        CHECK(r.status == 408);
        CHECK(conn.wait_closed());
    }
    SECTION("a connection that never sends anything is closed without an answer") {
        Conn conn(f.port());
        std::string received;
        CHECK(conn.wait_closed(3s, &received));
        CHECK(received.empty());
    }
    SECTION("a kept-alive connection is closed after the idle timeout") {
        Conn conn(f.port());
        conn.send(get_request("/healthz"));
        CHECK(conn.read_response().keep_alive);
        CHECK(conn.wait_closed(3s));
    }
}

TEST_CASE("at the connection cap the connection idle the longest makes room; with none idle, 503",
          "[integration][http]") {
    Fixture f([](chatkit::http::ServerOptions& o) { o.max_connections = 2; });

    SECTION("idle connections cannot lock clients out: the oldest idle one is closed") {
        Conn a(f.port());
        a.send(get_request("/healthz"));
        CHECK(a.read_response().status == 200);  // kept alive, idle
        std::this_thread::sleep_for(50ms);
        Conn b(f.port());  // open, silent (idle too, but since later)

        Conn c(f.port());
        c.send(get_request("/healthz"));
        CHECK(c.read_response().status == 200);
        CHECK(a.wait_closed());

        Conn d(f.port());  // now b is the oldest idle one
        d.send(get_request("/healthz"));
        CHECK(d.read_response().status == 200);
        CHECK(b.wait_closed());
        c.send(get_request("/healthz"));
        CHECK(c.read_response().status == 200);  // the others still work
    }
    SECTION("connections with a request under way are never closed: the new one gets 503") {
        Conn a(f.port());
        Conn b(f.port());
        a.send("GET /healthz HTTP/1.1\r\n");  // header unfinished: busy
        b.send("GET /healthz HTTP/1.1\r\n");
        std::this_thread::sleep_for(200ms);  // the server has read both first lines

        Conn c(f.port());
        auto const r = c.read_response();
        CHECK(r.status == 503);
        CHECK(r.header("Retry-After") == "1");
        CHECK(r.json().at("error").at("code") == "unavailable");
        CHECK(c.wait_closed());

        a.send("Host: x\r\n\r\n");
        b.send("Host: x\r\n\r\n");
        CHECK(a.read_response().status == 200);
        CHECK(b.read_response().status == 200);
    }
}

TEST_CASE("the first request's header time counts from the accept, not from its first byte",
          "[integration][http]") {
    Fixture f([](chatkit::http::ServerOptions& o) { o.header_timeout = 1500ms; });
    Conn conn(f.port());
    auto const accepted = steady::now();
    std::this_thread::sleep_for(1s);
    conn.send("POST /chatkit HTTP/1.1\r\nHost: x\r\n");  // then nothing: slowloris
    auto const r = conn.read_response(false, 5s);
    CHECK(r.status == 408);
    // 1.5 s after the accept, not 1.5 s after the first byte (2.5 s).
    CHECK(steady::now() - accepted < 2200ms);
    CHECK(conn.wait_closed());
}

TEST_CASE("request bodies share one budget: a body that does not fit is answered 503 before it is read",
          "[integration][http]") {
    Fixture f([](chatkit::http::ServerOptions& o) {
        o.body_limit = 8000;
        o.body_budget = 10000;
    });
    auto padded_list = [] {  // a valid request of about 6000 bytes
        return request_body("threads.list", {}, json::object{{"pad", std::string(5900, 'x')}});
    };
    auto slow = std::make_unique<Conn>(f.port());
    slow->send("POST /chatkit HTTP/1.1\r\nHost: x\r\nContent-Length: 6000\r\n\r\n{");  // holds 6000
    std::this_thread::sleep_for(200ms);

    SECTION("a second large body does not fit") {
        Conn conn(f.port());
        conn.send("POST /chatkit HTTP/1.1\r\nHost: x\r\nContent-Length: 6000\r\n\r\n");
        auto const r = conn.read_response();
        CHECK(r.status == 503);
        CHECK(r.header("Retry-After") == "1");
        CHECK(r.json().at("error").at("code") == "unavailable");
        CHECK(conn.wait_closed());
    }
    SECTION("a chunked body counts as the body limit") {
        Conn conn(f.port());
        conn.send("POST /chatkit HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
        CHECK(conn.read_response().status == 503);
    }
    SECTION("small bodies still fit, and a finished request gives its share back") {
        CHECK(post(f.port(), request_body("threads.list", {})).status == 200);
        CHECK(post(f.port(), padded_list()).status == 503);
        slow.reset();
        CHECK(eventually([&] { return post(f.port(), padded_list()).status == 200; }));
        // And again: nothing leaked. A share is returned once its response has been written, which
        // the client may see a moment before the server's thread gets there: a quick follow-up can
        // still meet a 503 (Retry-After), a leak would meet it for ever.
        CHECK(eventually([&] { return post(f.port(), padded_list()).status == 200; }));
    }
}

TEST_CASE("header_check runs before the body is read; its refusal closes, its answer reaches the factory",
          "[integration][http]") {
    std::atomic<int> checks{0};
    Fixture f([&checks](chatkit::http::ServerOptions& o) {
        o.cors.allowed_origins = {"https://app.example"};
        o.header_check = [&checks](chatkit::http::RequestInfo const& info) -> std::any {
            ++checks;
            CHECK(info.request == nullptr);
            CHECK(info.admission == nullptr);
            if (info.header("Authorization") != "Bearer good")
                throw chatkit::http::ChallengeError(chatkit::error::unauthorized, "Missing credentials",
                                                    "Bearer realm=\"chatkit\"");
            return std::string("checked-user");
        };
    });

    SECTION("refused on the header alone: no body is waited for") {
        Conn conn(f.port());
        conn.send("POST /chatkit HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\nContent-Length: 500000\r\n\r\n");
        auto const started = steady::now();
        auto const r = conn.read_response(false, 5s);
        CHECK(steady::now() - started < 3s);  // the body timeout is 30 s
        CHECK(r.status == 401);
        CHECK(r.header("WWW-Authenticate") == "Bearer realm=\"chatkit\"");
        CHECK(r.header("Access-Control-Allow-Origin") == "https://app.example");
        CHECK(r.json().at("error").at("message") == "Missing credentials");
        CHECK_FALSE(r.keep_alive);
        CHECK(conn.wait_closed());
    }
    SECTION("accepted: the context factory sees what the check returned") {
        json::object params;
        params["input"] = user_input("meta");
        auto const r = post(f.port(), request_body("threads.create", params), "Authorization: Bearer good\r\n");
        CHECK(r.status == 200);
        CHECK(r.body.find("user=checked-user ") != std::string::npos);
    }
    SECTION("health checks and CORS preflights are not checked") {
        CHECK(exchange(f.port(), get_request("/healthz")).status == 200);
        auto const preflight = exchange(f.port(), "OPTIONS /chatkit HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n"
                                                  "Access-Control-Request-Method: POST\r\n\r\n");
        CHECK(preflight.status == 204);
        CHECK(checks == 0);
    }
    CHECK(f.error_log().empty());
}

TEST_CASE("request smuggling variants answer 400 and close without running the smuggled request",
          "[integration][http]") {
    Fixture f;
    std::string const smuggled = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    std::vector<std::pair<char const*, std::string>> const cases = {
        {"TE gzip alone", "POST /chatkit HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n" + smuggled},
        {"TE gzip with CL",
         "POST /chatkit HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\nhello" +
             smuggled},
        {"TE chunked not final",
         "POST /chatkit HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n" + smuggled},
        {"TE gzip then chunked",
         "POST /chatkit HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + smuggled},
        {"TE chunked twice",
         "POST /chatkit HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
         "chunked\r\n\r\n"
         "0\r\n\r\n" +
             smuggled},
        {"TE identity",
         "POST /chatkit HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n" + smuggled},
        {"CL then TE chunked",
         "POST /chatkit HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: "
         "chunked\r\n\r\n0\r\n\r\n" +
             smuggled},
        {"TE chunked then CL",
         "POST /chatkit HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: "
         "5\r\n\r\n0\r\n\r\n" +
             smuggled},
        {"chunked on HTTP/1.0",
         "POST /chatkit HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled},
        {"two different Content-Length fields",
         "POST /chatkit HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!" +
             smuggled},
        {"a Content-Length list with different values",
         "POST /chatkit HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\nhello!" + smuggled},
        {"a signed Content-Length",
         "POST /chatkit HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello" + smuggled},
    };
    for (auto const& [name, request] : cases) {
        INFO(name);
        Conn conn(f.port());
        conn.send(request);
        auto const r = conn.read_response();
        CHECK(r.status == 400);
        CHECK_FALSE(r.keep_alive);
        std::string rest;
        CHECK(conn.wait_closed(3s, &rest));
        CHECK(rest.find("HTTP/1.1") == std::string::npos);  // the smuggled request got no answer
    }
}

TEST_CASE("CORS: preflights of allowed origins get 204 with the allow headers, others are refused",
          "[integration][http]") {
    Fixture f([](chatkit::http::ServerOptions& o) { o.cors.allowed_origins = {"https://app.example"}; });
    std::string const preflight_headers =
        "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type, "
        "authorization\r\n";

    auto const allowed = exchange(
        f.port(), get_request("/chatkit", "OPTIONS", "Origin: https://app.example\r\n" + preflight_headers));
    CHECK(allowed.status == 204);
    CHECK(allowed.header("Access-Control-Allow-Origin") == "https://app.example");
    CHECK(allowed.header("Access-Control-Allow-Methods") == "POST, GET, OPTIONS");
    CHECK(allowed.header("Access-Control-Allow-Headers") == "Authorization, Content-Type");
    CHECK(allowed.header("Access-Control-Max-Age") == "600");
    CHECK(allowed.header("Vary") == "Origin");

    auto const denied = exchange(
        f.port(), get_request("/chatkit", "OPTIONS", "Origin: https://evil.example\r\n" + preflight_headers));
    CHECK(denied.status == 403);
    CHECK_FALSE(denied.has_header("Access-Control-Allow-Origin"));

    // The actual requests: only the allowed origin is told it may read the answer.
    auto const list = request_body("threads.list", {});
    auto const from_app = post(f.port(), list, "Origin: https://app.example\r\n");
    CHECK(from_app.status == 200);
    CHECK(from_app.header("Access-Control-Allow-Origin") == "https://app.example");
    auto const stream = post(f.port(), create_body("x"), "Origin: https://app.example\r\n");
    CHECK(stream.header("Access-Control-Allow-Origin") == "https://app.example");
    auto const from_evil = post(f.port(), list, "Origin: https://evil.example\r\n");
    CHECK_FALSE(from_evil.has_header("Access-Control-Allow-Origin"));
}

TEST_CASE("CORS allows nothing by default", "[integration][http]") {
    Fixture f;
    auto const r = exchange(f.port(), get_request("/chatkit", "OPTIONS",
                                                  "Origin: http://localhost:3000\r\n"
                                                  "Access-Control-Request-Method: POST\r\n"));
    CHECK(r.status == 403);
    CHECK_FALSE(r.has_header("Access-Control-Allow-Origin"));
}

TEST_CASE("static files are served under the static directory and nowhere else", "[integration][http]") {
    TempDir outside;
    outside.write("secret.txt", "top secret");
    TempDir site;
    site.write("index.html", "<h1>chat</h1>");
    site.write("app.js", "console.log(1)");
    site.write("sub/page.html", "<p>page</p>");
    site.write(".env", "KEY=1");
    std::filesystem::create_symlink(outside.path / "secret.txt", site.path / "link.txt");
    std::filesystem::create_directory_symlink(outside.path, site.path / "escape");

    Fixture f([&](chatkit::http::ServerOptions& o) { o.static_dir = site.path / "."; });

    auto const index = exchange(f.port(), get_request("/"));
    CHECK(index.status == 200);
    CHECK(index.body == "<h1>chat</h1>");
    CHECK(index.header("Content-Type") == "text/html; charset=utf-8");
    CHECK(index.header("X-Content-Type-Options") == "nosniff");

    auto const script = exchange(f.port(), get_request("/app.js?v=3"));
    CHECK(script.body == "console.log(1)");
    CHECK(script.header("Content-Type") == "text/javascript; charset=utf-8");
    CHECK(exchange(f.port(), get_request("/sub/page.html")).body == "<p>page</p>");
    CHECK(exchange(f.port(), get_request("/sub/")).status == 404);  // no index.html there

    auto const head = exchange(f.port(), get_request("/app.js", "HEAD"), true);
    CHECK(head.status == 200);
    CHECK(head.header("Content-Length") == "14");
    CHECK(head.body.empty());

    for (auto const* attack :
         {"/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/%2e%2e%2fsecret.txt",
          "/sub/../../secret.txt", "/sub/%2E%2E/%2E%2E/secret.txt", "/link.txt", "/escape/secret.txt",
          "/.env", "/%2eenv", "/sub%5c..%5c..%5csecret.txt", "/app.js%00.html", "/%zz"}) {
        INFO(attack);
        auto const r = exchange(f.port(), get_request(attack));
        CHECK(r.status == 404);
        CHECK(r.body.find("secret") == std::string::npos);
    }

    CHECK(exchange(f.port(), post_request("/app.js", "{}")).status == 405);
    CHECK(exchange(f.port(), get_request("/healthz")).body == "ok");  // routes still win
}
