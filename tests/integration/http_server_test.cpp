// http::Server as a whole (TLS, several I/O threads, graceful stop, signals) and http::serve mounted on
// a hand-written Beast accept loop.
#include "http_support.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/dynamic_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>

#include <csignal>
#include <fstream>
#include <iostream>
#include <iterator>

using namespace test;

namespace {

std::string reply_text(Response const& r) {
    std::string text;
    for (auto const& e : events_of(r))
        if (e.at("type") == "thread.item.done" && e.at("item").at("type") == "assistant_message")
            text = std::string(e.at("item").at("content").at(0).at("text").as_string());
    return text;
}

}  // namespace

TEST_CASE("TLS: every connection is TLS, streams and keep-alive included", "[integration][http][tls]") {
    TestCertificate certificate;
    Fixture f([&](chatkit::http::ServerOptions& o) {
        o.tls = chatkit::http::TlsOptions{certificate.cert_file, certificate.key_file};
    });
    CHECK(f.server->url() == "https://127.0.0.1:" + std::to_string(f.port()));
    auto const client = certificate.client_context();

    Conn conn(f.port(), client.get());
    conn.send(get_request("/healthz"));
    CHECK(conn.read_response().body == "ok");
    conn.send(post_request("/chatkit", create_body("over tls")));
    auto const stream = conn.read_response();
    CHECK(stream.chunked);
    CHECK(reply_text(stream) == "echo: over tls");
    conn.send(post_request("/chatkit", request_body("threads.list", {})));
    CHECK(conn.read_response().json().at("data").as_array().size() == 1);

    // A disconnect mid-stream is noticed over TLS too.
    {
        Conn leaving(f.port(), client.get());
        leaving.send(post_request("/chatkit", create_body("slow")));
        REQUIRE(leaving.read_until("partial answer"));
    }
    CHECK(eventually([&] { return f.chatkit_server.cancelled.load() == 1; }));

    // A plain-text client on the TLS port gets nothing.
    Conn plain(f.port());
    plain.send(get_request("/healthz"));
    std::string received;
    CHECK(plain.wait_closed(5s, &received));
    CHECK(received.find("200") == std::string::npos);
}

TEST_CASE("a 4-thread io_context serves concurrent clients", "[integration][http]") {
    Fixture f([](chatkit::http::ServerOptions& o) { o.threads = 4; });
    constexpr int clients = 8;
    constexpr int rounds = 4;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
        threads.emplace_back([&, c] {
            try {
                Conn conn(f.port());
                for (int i = 0; i < rounds; ++i) {
                    std::string const text = "client " + std::to_string(c) + " round " + std::to_string(i);
                    conn.send(post_request("/chatkit", create_body(text)));
                    auto const r = conn.read_response();
                    auto const events = events_of(r);
                    std::string thread_id;
                    for (auto const& e : events) {
                        if (e.at("type") == "thread.created") thread_id = e.at("thread").at("id").as_string();
                        if (e.at("type") == "thread.item.done" &&
                            e.at("item").at("thread_id").as_string() != thread_id)
                            ++failures;  // cross-talk between streams
                    }
                    if (reply_text(r) != "echo: " + text) ++failures;
                }
            } catch (std::exception const&) {
                ++failures;
            }
        });
    }
    for (auto& t : threads)
        t.join();
    CHECK(failures == 0);
    auto const listed = post(f.port(), request_body("threads.list", json::object{{"limit", 100}}));
    CHECK(listed.json().at("data").as_array().size() == clients * rounds);
    CHECK(f.error_log().empty());
}

TEST_CASE("stop() lets a short stream finish within the grace period", "[integration][http]") {
    Fixture f([](chatkit::http::ServerOptions& o) { o.shutdown_grace = 5s; });
    Conn conn(f.port());
    conn.send(post_request("/chatkit", create_body("pause")));
    REQUIRE(conn.read_until("\"first\""));
    f.server->stop();
    auto const r = conn.read_response();  // the whole stream, properly terminated
    CHECK(reply_text(r) == "second");
    CHECK(conn.wait_closed());  // no further request on a draining connection
    f.stop();
    CHECK(f.chatkit_server.cancelled == 0);
}

TEST_CASE("stop() cancels streams still running after the grace period and their items are saved",
          "[integration][http]") {
    Fixture f([](chatkit::http::ServerOptions& o) { o.shutdown_grace = 200ms; });
    Conn idle(f.port());
    idle.send(get_request("/healthz"));
    CHECK(idle.read_response().keep_alive);

    Conn conn(f.port());
    conn.send(post_request("/chatkit", create_body("slow")));
    REQUIRE(conn.read_until("partial answer"));
    std::string const raw = conn.raw();
    auto const at = raw.find("\"id\":\"thr_");
    REQUIRE(at != std::string::npos);
    std::string const thread_id = raw.substr(at + 6, raw.find('"', at + 6) - at - 6);

    auto const started = steady::now();
    f.stop();  // returns once run() returned
    CHECK(steady::now() - started < 3s);
    CHECK(idle.wait_closed(1s));
    CHECK(conn.wait_closed(1s));
    CHECK(f.chatkit_server.cancelled == 1);
    auto const items = f.stored_items(thread_id);
    REQUIRE(items.size() == 3);
    CHECK(std::get<chatkit::AssistantMessageItem>(items[1]).content.at(0).text == "partial answer");
    CHECK(std::holds_alternative<chatkit::SDKHiddenContextItem>(items[2]));
}

TEST_CASE("run_until_signal() stops gracefully on SIGTERM, runs the shutdown hooks and returns", "[integration][http]") {
    struct sigaction before {};
    sigaction(SIGTERM, nullptr, &before);

    chatkit::InMemoryStore<TestContext> store;
    TestServer chatkit_server({.store = store});
    chatkit::http::ServerOptions options = test_server_options();
    chatkit::http::Server<TestContext> server(chatkit_server, options, make_context);
    // Application work on the server's threads that would keep run() from returning: a timer.
    asio::steady_timer sweep_timer(server.context(), std::chrono::hours(1));
    sweep_timer.async_wait([](boost::system::error_code) {});
    std::atomic<int> stop_hooks{0};
    server.on_stop([&] {
        ++stop_hooks;
        sweep_timer.cancel();
    });
    server.start();
    std::atomic<bool> returned{false};
    std::thread runner([&] {
        server.run_until_signal();
        returned = true;
    });
    CHECK(exchange(server.port(), get_request("/healthz")).body == "ok");
    // The handler is installed on the server's thread; wait until it replaced the previous one.
    REQUIRE(eventually([&] {
        struct sigaction now {};
        sigaction(SIGTERM, nullptr, &now);
        return now.sa_handler != before.sa_handler;
    }));
    ::kill(::getpid(), SIGTERM);
    CHECK(eventually([&] { return returned.load(); }));
    runner.join();
    CHECK(stop_hooks == 1);
}

TEST_CASE("on_start hooks see the bound URL; on_stop hooks run once when the stop begins", "[integration][http]") {
    chatkit::InMemoryStore<TestContext> store;
    TestServer chatkit_server({.store = store});
    chatkit::http::Server<TestContext> server(chatkit_server, test_server_options(), make_context);
    std::vector<std::string> seen;  // touched by start() (this thread) and the server's thread, never at once
    server.on_start([&] { seen.push_back("start 1 " + server.url()); });
    server.on_start([&] { seen.emplace_back("start 2"); });
    asio::steady_timer timer(server.context(), std::chrono::hours(1));
    timer.async_wait([](boost::system::error_code) {});
    std::atomic<int> stopped{0};
    server.on_stop([&] {
        ++stopped;
        timer.cancel();  // without it, run() would wait an hour for the timer
    });
    server.on_stop([] { throw std::runtime_error("a failing hook is logged, the stop goes on"); });
    server.start();
    server.start();  // idempotent: the hooks ran once
    REQUIRE(seen.size() == 2);
    CHECK(seen[0] == "start 1 http://127.0.0.1:" + std::to_string(server.port()));
    CHECK(seen[1] == "start 2");
    server.on_start([&] { seen.emplace_back("late"); });  // already started: runs at once
    CHECK(seen.back() == "late");

    std::atomic<bool> returned{false};
    std::thread runner([&] {
        server.run();
        returned = true;
    });
    CHECK(exchange(server.port(), get_request("/healthz")).body == "ok");
    CHECK(stopped == 0);
    server.stop();
    CHECK(eventually([&] { return returned.load(); }));
    runner.join();
    CHECK(stopped == 1);
}

TEST_CASE("an on_stop hook given after the stop began runs as soon as the server's thread is free", "[integration][http]") {
    chatkit::InMemoryStore<TestContext> store;
    TestServer chatkit_server({.store = store});
    chatkit::http::Server<TestContext> server(chatkit_server, test_server_options(), make_context);
    server.start();
    // A stream holds the server past stop() (the grace period), so it is still running below.
    Conn streaming(server.port());
    streaming.send(post_request("/chatkit", create_body("wait")));
    std::thread runner([&] { server.run(); });
    REQUIRE(eventually([&] { return chatkit_server.waiting.load() == 1; }));
    server.stop();
    std::atomic<bool> late{false};
    server.on_stop([&] { late = true; });
    CHECK(eventually([&] { return late.load(); }));
    streaming.close();
    runner.join();
}

TEST_CASE("run() prints the listening line on stdout, flushed, unless announce is off", "[integration][http]") {
    chatkit::InMemoryStore<TestContext> store;
    TestServer chatkit_server({.store = store});
    // stdout goes to a file while the servers run.
    auto const path = std::filesystem::temp_directory_path() / ("chatkit-announce-" + std::to_string(::getpid()));
    std::cout.flush();
    std::fflush(stdout);
    int const saved = ::dup(STDOUT_FILENO);
    int const file = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    REQUIRE(file >= 0);
    ::dup2(file, STDOUT_FILENO);
    ::close(file);
    auto printed = [&path] {
        std::ifstream in(path);
        return std::string(std::istreambuf_iterator<char>(in), {});
    };
    std::uint16_t announced_port = 0;
    bool answered = false;
    std::string before_run;
    std::string while_running;
    {
        chatkit::http::Server<TestContext> silent(chatkit_server, test_server_options(), make_context);
        chatkit::http::ServerOptions loud = test_server_options();
        loud.announce = true;
        chatkit::http::Server<TestContext> server(chatkit_server, loud, make_context);
        server.start();
        before_run = printed();  // start() binds; the line comes with run()
        announced_port = server.port();
        std::thread quiet_runner([&] { silent.run(); });
        std::thread runner([&] { server.run(); });
        // The line is there, whole and flushed, while the server runs; requests are served then.
        eventually([&] { return printed().ends_with("\n"); });
        while_running = printed();
        answered = exchange(server.port(), get_request("/healthz")).body == "ok";
        server.stop();
        silent.stop();
        runner.join();
        quiet_runner.join();
    }
    std::cout.flush();
    ::dup2(saved, STDOUT_FILENO);
    ::close(saved);
    std::filesystem::remove(path);
    CHECK(before_run.empty());
    CHECK(while_running == "listening on http://127.0.0.1:" + std::to_string(announced_port) + "\n");
    CHECK(answered);
}

TEST_CASE("a Server built from a ChatKitServer alone takes the conventional defaults", "[integration][http]") {
    struct Plain {};
    chatkit::InMemoryStore<Plain> store;
    class Quiet final : public chatkit::ChatKitServer<Plain> {
    public:
        using ChatKitServer::ChatKitServer;

    protected:
        asio::awaitable<void> respond(chatkit::ThreadMetadata&, std::optional<chatkit::UserMessageItem> const&,
                                      chatkit::EventSink&, Plain&) override {
            co_return;
        }
    } app({.store = store});
    chatkit::http::Server server(app);  // not started: port 8000 may be taken on this machine
    CHECK(server.options().host == "127.0.0.1");
    CHECK(server.options().port == 8000);
    CHECK(server.options().threads == 1);
    CHECK(server.options().announce);
    CHECK(server.options().chatkit_path == "/chatkit");
    CHECK(server.port() == 0);
}

TEST_CASE("a Server with a default-constructed context and the url() examples print", "[integration][http]") {
    struct Plain {};
    chatkit::InMemoryStore<Plain> store;
    class EchoServer final : public chatkit::ChatKitServer<Plain> {
    public:
        using ChatKitServer::ChatKitServer;

    protected:
        asio::awaitable<void> respond(chatkit::ThreadMetadata&,
                                      std::optional<chatkit::UserMessageItem> const&, chatkit::EventSink&,
                                      Plain&) override {
            co_return;
        }
    } chatkit_server({.store = store});
    chatkit::http::ServerOptions options = test_server_options();
    chatkit::http::Server<Plain> server(chatkit_server, options);
    auto const endpoint = server.start();
    CHECK(endpoint.port() == server.port());
    CHECK(server.url() == "http://127.0.0.1:" + std::to_string(server.port()));
    std::thread runner([&] { server.run(); });
    auto const r = post(server.port(), create_body("hi"));
    CHECK(r.status == 200);
    server.stop();
    runner.join();
}

TEST_CASE("a Server started but never run can be destroyed", "[integration][http]") {
    chatkit::InMemoryStore<TestContext> store;
    TestServer chatkit_server({.store = store});
    chatkit::http::ServerOptions options = test_server_options();
    {
        chatkit::http::Server<TestContext> server(chatkit_server, options, make_context);
        server.start();
        CHECK(server.port() != 0);
        Conn connected(server.port());  // accepted by the kernel, never served
        server.stop();
    }
}

TEST_CASE("start() reports bind failures", "[integration][http]") {
    chatkit::InMemoryStore<TestContext> store;
    TestServer chatkit_server({.store = store});
    chatkit::http::ServerOptions options = test_server_options();
    chatkit::http::Server<TestContext> first(chatkit_server, options, make_context);
    first.start();
    options.port = first.port();
    chatkit::http::Server<TestContext> second(chatkit_server, options, make_context);
    CHECK_THROWS_AS(second.start(), boost::system::system_error);
    options.port = 0;
    options.tls = chatkit::http::TlsOptions{"/nonexistent/cert.pem", "/nonexistent/key.pem"};
    chatkit::http::Server<TestContext> third(chatkit_server, options, make_context);
    CHECK_THROWS(third.start());
}

// ---------------------------------------------------------------------------------------------
// serve() on an application's own accept loop (what examples/mount_on_beast does).

namespace {

asio::awaitable<void> mini_session(TestServer& server,
                                   chatkit::http::ContextFactory<TestContext> const& factory,
                                   asio::ip::tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
        bhttp::request<bhttp::dynamic_body> request;  // any body type works
        auto [ec, n] =
            co_await bhttp::async_read(stream, buffer, request, asio::as_tuple(asio::use_awaitable));
        (void)n;
        if (ec) break;
        bool const keep_alive = co_await chatkit::http::serve(server, stream, buffer, request, factory);
        if (!keep_alive) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> mini_accept(asio::ip::tcp::acceptor& acceptor, TestServer& server,
                                  chatkit::http::ContextFactory<TestContext> const& factory) {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
        if (ec) co_return;
        auto const executor = socket.get_executor();
        asio::co_spawn(executor, mini_session(server, factory, std::move(socket)), [](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);  // surfaces in ioc.run() and fails the test
        });
    }
}

}  // namespace

TEST_CASE("serve() instantiates for TLS streams", "[integration][http]") {
    using tls_stream = beast::ssl_stream<beast::tcp_stream>;
    using serve_tls = asio::awaitable<bool> (*)(
        chatkit::ChatKitServer<TestContext>&, tls_stream&, beast::flat_buffer&,
        bhttp::request<bhttp::string_body> const&, chatkit::http::ContextFactory<TestContext> const&,
        chatkit::http::ServeOptions const&);
    serve_tls const tls =
        &chatkit::http::serve<TestContext, tls_stream, bhttp::string_body, std::allocator<char>>;
    CHECK(tls != nullptr);
}

TEST_CASE("serve() answers ChatKit requests on the application's own Beast listener", "[integration][http]") {
    chatkit::InMemoryStore<TestContext> store;
    TestServer chatkit_server({.store = store});
    chatkit::http::ContextFactory<TestContext> const factory = make_context;
    asio::io_context ioc;
    asio::ip::tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    auto const port = acceptor.local_endpoint().port();
    asio::co_spawn(ioc, mini_accept(acceptor, chatkit_server, factory), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
    });
    std::thread runner([&] { ioc.run(); });

    Conn conn(port);
    conn.send(post_request("/anything", create_body("mounted")));
    auto const stream = conn.read_response();
    CHECK(stream.header("Content-Type") == "text/event-stream; charset=utf-8");
    CHECK(reply_text(stream) == "echo: mounted");
    conn.send(post_request("/anything", request_body("threads.list", {})));
    CHECK(conn.read_response().json().at("data").as_array().size() == 1);
    conn.send(post_request("/anything", "[]", "X-Reject: 1\r\n"));
    CHECK(conn.read_response().status == 400);  // the body is checked before the factory runs
    conn.send(post_request("/anything", create_body("x"), "X-Reject: 1\r\n"));
    CHECK(conn.read_response().status == 401);

    {
        Conn leaving(port);
        leaving.send(post_request("/", create_body("wait")));
        REQUIRE(leaving.read_until("stream_options"));
    }
    CHECK(eventually([&] { return chatkit_server.cancelled.load() == 1; }));

    asio::post(ioc, [&] { acceptor.close(); });
    conn.close();
    runner.join();
}

namespace {

// An application's stream type that records the bytes of each write it is asked for.
struct recording_stream {
    beast::tcp_stream& next;
    std::vector<std::string>& writes;

    using executor_type = beast::tcp_stream::executor_type;
    executor_type get_executor() noexcept { return next.get_executor(); }

    template <class Buffers, class Token>
    auto async_read_some(Buffers const& buffers, Token&& token) {
        return next.async_read_some(buffers, std::forward<Token>(token));
    }
    template <class Buffers, class Token>
    auto async_write_some(Buffers const& buffers, Token&& token) {
        writes.push_back(beast::buffers_to_string(buffers));
        return next.async_write_some(buffers, std::forward<Token>(token));
    }
};

// Serves one request of one connection through a recording_stream; the writes land in `writes`.
std::vector<std::string> writes_of_one_reply(std::string const& text) {
    chatkit::InMemoryStore<TestContext> store;
    TestServer chatkit_server({.store = store});
    chatkit::http::ContextFactory<TestContext> const factory = make_context;
    asio::io_context ioc;
    asio::ip::tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    std::vector<std::string> writes;
    auto session = [&]() -> asio::awaitable<void> {
        auto socket = co_await acceptor.async_accept(asio::use_awaitable);
        beast::tcp_stream next(std::move(socket));
        recording_stream stream{next, writes};
        beast::flat_buffer buffer;
        bhttp::request<bhttp::string_body> request;
        co_await bhttp::async_read(next, buffer, request, asio::use_awaitable);
        co_await chatkit::http::serve(chatkit_server, stream, buffer, request, factory);
    };
    asio::co_spawn(ioc, session(), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
    });
    std::thread runner([&] { ioc.run(); });
    Conn conn(acceptor.local_endpoint().port());
    conn.send(post_request("/chatkit", create_body(text)));
    auto const reply = conn.read_response();
    runner.join();
    CHECK(reply.status == 200);
    return writes;
}

}  // namespace

TEST_CASE("serve() writes a reply produced in one burst as one write: header, events and last chunk",
          "[integration][http]") {
    auto const writes = writes_of_one_reply("burst");
    REQUIRE(writes.size() == 1);
    CHECK(writes[0].starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(writes[0].find("\r\nTransfer-Encoding: chunked\r\n") != std::string::npos);
    CHECK(writes[0].find("echo: burst") != std::string::npos);
    CHECK(writes[0].ends_with("\n\n\r\n0\r\n\r\n"));
}

TEST_CASE("serve() writes the events before a pause at once, and the last chunk with the last events",
          "[integration][http]") {
    auto const writes = writes_of_one_reply("pause");  // "first", a 300 ms wait, "second"
    REQUIRE(writes.size() == 2);
    CHECK(writes[0].starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(writes[0].find("first") != std::string::npos);
    CHECK(writes[0].find("second") == std::string::npos);
    CHECK(writes[0].ends_with("\n\n\r\n"));
    CHECK(writes[1].find("second") != std::string::npos);
    CHECK(writes[1].ends_with("\n\n\r\n0\r\n\r\n"));
}

TEST_CASE("a header value with CR, LF or NUL is never written: the response becomes a 500", "[integration][http]") {
    // A route that copies client input into a header (the attachment MIME type hole of issue 15).
    Fixture f([](chatkit::http::ServerOptions& o) {
        o.routes.push_back({"/echo-type", [](chatkit::http::RouteRequest const& request)
                                               -> asio::awaitable<chatkit::http::RouteResponse> {
                                chatkit::http::RouteResponse res;
                                res.content_type = std::string(request.header("X-Type"));
                                if (request.header("X-Nul") == "1") res.content_type += std::string(1, '\0');
                                if (request.header("X-Split") == "1")
                                    res.content_type += "\r\nX-Injected: 1\r\n\r\n<script>";
                                if (request.header("X-Lf") == "1") res.headers.emplace_back("X-Note", "a\nb");
                                if (request.header("X-Bad-Name") == "1") res.headers.emplace_back("X Bad", "v");
                                res.body = "<b>body</b>";
                                co_return res;
                            },
                            std::nullopt});
    });
    Conn conn(f.port());
    conn.send(get_request("/echo-type", "GET", "X-Type: text/plain\r\n"));
    auto const good = conn.read_response();
    CHECK(good.status == 200);
    CHECK(good.header("Content-Type") == "text/plain");
    for (char const* extra : {"X-Type: image/png\r\nX-Split: 1\r\n", "X-Type: image/png\r\nX-Nul: 1\r\n",
                              "X-Type: image/png\r\nX-Lf: 1\r\n", "X-Type: image/png\r\nX-Bad-Name: 1\r\n"}) {
        INFO(extra);
        Conn c(f.port());
        c.send(get_request("/echo-type", "GET", extra));
        auto const res = c.read_response();
        CHECK(res.status == 500);
        CHECK(res.header("Content-Type") == "application/json");
        CHECK_FALSE(res.has_header("X-Injected"));
        CHECK_FALSE(res.has_header("X-Note"));
        CHECK(res.body.find("<script>") == std::string::npos);
        CHECK(res.json().at("error").at("code") == "internal");
    }
    CHECK(f.error_log().size() == 4);  // each refusal is logged
    for (auto const& line : f.error_log()) CHECK(line.find("refused to write response header") != std::string::npos);
}

TEST_CASE("serve() refuses configured response headers that would split the response", "[integration][http]") {
    Fixture f([](chatkit::http::ServerOptions& o) {
        o.serve.response_headers.set("X-Deploy", std::string("a\r\nX-Injected: 1"));
    });
    Conn conn(f.port());
    conn.send(post_request("/chatkit", request_body("threads.list", {})));
    auto const res = conn.read_response();
    CHECK(res.status == 500);
    CHECK_FALSE(res.has_header("X-Injected"));
    CHECK(res.json().at("error").at("code") == "internal");
    Conn second(f.port());  // the 500 closed the first connection
    second.send(post_request("/chatkit", create_body("never runs")));
    CHECK(second.read_response().status == 500);
    CHECK(f.chatkit_server.cancelled.load() == 0);
    REQUIRE_FALSE(f.error_log().empty());
}
