// HttpClient (the http layer's chatkit::Transport) against the loopback mock server: streaming,
// keep-alive, error bodies, timeouts, cancellation, TLS verification, header validation, and the
// exchanges an MCP client makes through the interface.
#include "mock_llm.hpp"

#include <chatkit/http/client/http_client.hpp>

#include <catch2/catch.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <future>

using namespace std::chrono_literals;
namespace asio = boost::asio;
using chatkit::BodyHandler;
using chatkit::HeadHandler;
using chatkit::HttpRequest;
using chatkit::HttpResponse;
using chatkit::Url;
using chatkit::http::HttpClient;
using chatkit::http::HttpClientOptions;
using chatkit::error;

namespace {

template <class T>
T run_on(asio::io_context& io, asio::awaitable<T> work) {
    auto f = asio::co_spawn(io, std::move(work), asio::use_future);
    io.run();
    io.restart();
    return f.get();
}

HttpRequest post(std::string url, std::string body = R"({"stream":true})") {
    HttpRequest r;
    r.method = "POST";
    r.url = std::move(url);
    r.headers = {{"Content-Type", "application/json"}, {"Accept", "text/event-stream"}};
    r.body = std::move(body);
    return r;
}

// Streams `req` and returns the concatenated body pieces and how many pieces arrived.
struct Streamed {
    HttpResponse response;
    std::string body;
    std::size_t pieces = 0;
};

asio::awaitable<Streamed> stream_all(HttpClient& client, HttpRequest req) {
    Streamed s;
    BodyHandler h = [&s](std::string_view piece) -> asio::awaitable<void> {
        s.body.append(piece);
        ++s.pieces;
        co_return;
    };
    HeadHandler no_head;
    s.response = co_await client.send(std::move(req), h, no_head);
    co_return s;
}

// The code of the chatkit::Error a finished request failed with (empty when it succeeded).
template <class T>
boost::system::error_code failure_of(std::future<T>& f) {
    try {
        f.get();
    } catch (chatkit::Error const& e) {
        return e.code();
    }
    return {};
}

}  // namespace

TEST_CASE("Url::parse splits absolute URLs and rejects others", "[http-client]") {
    auto u = Url::parse("https://api.openai.com/v1/responses?x=1#frag");
    CHECK(u.scheme == "https");
    CHECK(u.host == "api.openai.com");
    CHECK(u.port == "443");
    CHECK(u.target == "/v1/responses?x=1");
    auto v = Url::parse("http://[::1]:8080");
    CHECK(v.host == "::1");
    CHECK(v.port == "8080");
    CHECK(v.target == "/");
    CHECK(Url::parse("HTTP://localhost:11434/v1").origin() == "http://localhost:11434");
    for (auto bad : {"ftp://x/", "localhost:80/v1", "http://", "http://user@host/", "http://h:99999999/", "http://h:ab/"}) {
        INFO(bad);
        CHECK_THROWS_MATCHES(Url::parse(bad), chatkit::Error,
                             Catch::Predicate<chatkit::Error>([](auto const& e) { return e.code() == error::transport_invalid_url; }));
    }
}

TEST_CASE("HttpClient streams a body to an awaited handler and reuses the connection", "[http-client]") {
    test::MockLlmServer mock;
    std::string transcript = test::read_fixture("llm/chat_text.sse");
    auto reply = test::MockReply::sse(transcript);
    reply.split = test::Split::random;
    reply.chunk = 13;
    reply.headers = {{"x-request-id", "req_stream_1"}};
    mock.push(reply);
    mock.push(test::MockReply::sse(transcript));

    asio::io_context io;
    HttpClient client;
    auto first = run_on(io, stream_all(client, post(mock.url() + "/chat/completions")));
    CHECK(first.response.status == 200);
    CHECK(first.response.header("X-Request-Id") == "req_stream_1");
    CHECK(first.response.header("content-type") == "text/event-stream");
    CHECK(first.response.body.empty());
    CHECK(first.body == transcript);
    auto second = run_on(io, stream_all(client, post(mock.url() + "/chat/completions")));
    CHECK(second.body == transcript);

    CHECK(mock.connections_accepted() == 1);
    CHECK(client.connections_opened() == 1);
    CHECK(client.idle_connections() == 1);
    auto reqs = mock.requests();
    REQUIRE(reqs.size() == 2);
    CHECK(reqs[0].method == "POST");
    CHECK(reqs[0].target == "/v1/chat/completions");
    CHECK(reqs[0].body == R"({"stream":true})");
    CHECK(reqs[0].header("host") == "127.0.0.1:" + std::to_string(mock.port()));
    CHECK(reqs[0].header("user-agent").value_or("").rfind("chatkit-cpp/", 0) == 0);
    CHECK(reqs[0].header("content-length") == "15");
    CHECK(reqs[1].connection == reqs[0].connection);
}

TEST_CASE("HttpClient resends on a fresh connection when a pooled one was closed by the server", "[http-client]") {
    test::MockLlmServer mock;
    auto first = test::MockReply::json(200, R"({"n":1})");
    first.hangup_after = true;
    mock.push(first);
    mock.push(test::MockReply::json(200, R"({"n":2})"));
    asio::io_context io;
    HttpClient client;
    CHECK(run_on(io, client.get(mock.url() + "/a")).body == R"({"n":1})");
    CHECK(run_on(io, client.get(mock.url() + "/b")).body == R"({"n":2})");
    CHECK(client.connections_opened() == 2);
    CHECK(mock.connections_accepted() == 2);
    CHECK(mock.request_count() == 2);
}

TEST_CASE("HttpClient reads a body delimited by connection close and does not pool it", "[http-client]") {
    test::MockLlmServer mock;
    auto reply = test::MockReply::sse("data: a\n\ndata: [DONE]\n\n");
    reply.chunked = false;
    mock.push(reply);
    asio::io_context io;
    HttpClient client;
    auto s = run_on(io, stream_all(client, post(mock.url() + "/chat/completions")));
    CHECK(s.body == "data: a\n\ndata: [DONE]\n\n");
    CHECK(client.idle_connections() == 0);
}

TEST_CASE("HttpClient get() collects a small JSON document", "[http-client]") {
    test::MockLlmServer mock;
    mock.push(test::MockReply::json(200, R"({"keys":[]})", {{"cache-control", "max-age=60"}}));
    asio::io_context io;
    HttpClient client;
    auto r = run_on(io, client.get(mock.url() + "/jwks.json", {{"Accept", "application/json"}}));
    CHECK(r.status == 200);
    CHECK(r.body == R"({"keys":[]})");
    CHECK(r.header("Cache-Control") == "max-age=60");
    CHECK(mock.requests().at(0).method == "GET");
    CHECK(mock.requests().at(0).header("accept") == "application/json");
    CHECK(mock.requests().at(0).header("content-length") == std::nullopt);
}

TEST_CASE("HttpClient returns non-2xx bodies in full, capped, without calling the body handler", "[http-client]") {
    test::MockLlmServer mock;
    std::string err = R"({"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}})";
    mock.push(test::MockReply::json(429, err, {{"retry-after-ms", "200"}, {"x-request-id", "req_mock_429"}}));
    auto big = test::MockReply::json(500, std::string(5000, 'x'));
    big.chunked = true;
    mock.push(big);

    asio::io_context io;
    HttpClientOptions opts;
    opts.max_error_body = 1000;
    HttpClient client(opts);
    auto s = run_on(io, stream_all(client, post(mock.url() + "/responses")));
    CHECK(s.response.status == 429);
    CHECK(s.response.body == err);
    CHECK_FALSE(s.response.body_truncated);
    CHECK(s.response.header("retry-after-ms") == "200");
    CHECK(s.pieces == 0);
    auto t = run_on(io, stream_all(client, post(mock.url() + "/responses")));
    CHECK(t.response.status == 500);
    CHECK(t.response.body == std::string(1000, 'x'));
    CHECK(t.response.body_truncated);
}

TEST_CASE("HttpClient reports a refused connection as a connect error", "[http-client]") {
    asio::io_context io;
    HttpClient client;
    auto port = test::closed_port();
    auto f = asio::co_spawn(io, client.send(post("http://127.0.0.1:" + std::to_string(port) + "/v1/responses")),
                            asio::use_future);
    io.run();
    try {
        f.get();
        FAIL("expected a connect error");
    } catch (chatkit::Error const& e) {
        CHECK(e.code() == error::transport_connect_failed);
        CHECK(chatkit::is_transport_error(e.code()));
        CHECK(chatkit::is_retryable_transport_error(e.code()));
        CHECK(e.message().find("cannot connect") != std::string::npos);
    }
}

TEST_CASE("HttpClient times out a silent stream and closes the connection", "[http-client]") {
    test::MockLlmServer mock;
    auto reply = test::MockReply::sse("data: first\n\n");
    reply.stall = true;
    mock.push(reply);
    asio::io_context io;
    HttpClientOptions opts;
    opts.idle_timeout = 200ms;
    HttpClient client(opts);
    std::string got;
    bool head_seen = false;
    BodyHandler h = [&](std::string_view p) -> asio::awaitable<void> {
        got.append(p);
        co_return;
    };
    HeadHandler on_head = [&](HttpResponse const&) { head_seen = true; };
    auto f = asio::co_spawn(io, client.send(post(mock.url() + "/chat/completions"), h, on_head), asio::use_future);
    io.run();
    try {
        f.get();
        FAIL("expected a timeout");
    } catch (chatkit::Error const& e) {
        CHECK(e.code() == error::transport_timeout);
    }
    CHECK(head_seen);  // the response had started: the caller knows it from its head handler
    CHECK(got == "data: first\n\n");
    CHECK(mock.wait_until([&] { return mock.closed_mid_reply() == 1; }));
}

TEST_CASE("HttpClient's idle timeout is paused while the body handler is awaited", "[http-client]") {
    test::MockLlmServer mock;
    mock.push(test::MockReply::sse("data: 1\n\ndata: 2\n\ndata: 3\n\n"));
    asio::io_context io;
    HttpClientOptions opts;
    opts.idle_timeout = 100ms;
    HttpClient client(opts);
    std::string got;
    BodyHandler slow = [&](std::string_view p) -> asio::awaitable<void> {
        got.append(p);
        auto ex = co_await asio::this_coro::executor;
        asio::steady_timer t(ex, 250ms);  // a slow ChatKit client
        co_await t.async_wait(asio::use_awaitable);
    };
    auto r = run_on(io, client.send(post(mock.url() + "/chat/completions"), slow));
    CHECK(r.status == 200);
    CHECK(got == "data: 1\n\ndata: 2\n\ndata: 3\n\n");
}

TEST_CASE("HttpClient enforces the total deadline", "[http-client]") {
    test::MockLlmServer mock;
    auto reply = test::MockReply::sse("data: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\ndata: 5\n\ndata: 6\n\n");
    reply.delay = 150ms;
    mock.push(reply);
    asio::io_context io;
    HttpClientOptions opts;
    opts.total_timeout = 300ms;
    HttpClient client(opts);
    auto f = asio::co_spawn(io, stream_all(client, post(mock.url() + "/chat/completions")), asio::use_future);
    io.run();
    try {
        f.get();
        FAIL("expected the deadline to pass");
    } catch (chatkit::Error const& e) {
        CHECK(e.code() == error::transport_timeout);
        CHECK(e.message().find("deadline") != std::string::npos);
    }
}

TEST_CASE("HttpClient surfaces a connection dropped mid-body", "[http-client]") {
    test::MockLlmServer mock;
    auto reply = test::MockReply::sse(test::read_fixture("llm/chat_text.sse"));
    reply.drop_after_bytes = 100;
    mock.push(reply);
    asio::io_context io;
    HttpClient client;
    std::string got;
    bool head_seen = false;
    BodyHandler h = [&](std::string_view p) -> asio::awaitable<void> {
        got.append(p);
        co_return;
    };
    HeadHandler on_head = [&](HttpResponse const&) { head_seen = true; };
    auto f = asio::co_spawn(io, client.send(post(mock.url() + "/chat/completions"), h, on_head), asio::use_future);
    io.run();
    try {
        f.get();
        FAIL("expected a closed connection");
    } catch (chatkit::Error const& e) {
        CHECK(e.code() == error::transport_connection_closed);
    }
    CHECK(head_seen);
    CHECK(got.size() == 100);
    CHECK(client.idle_connections() == 0);
}

TEST_CASE("Cancelling a streaming request closes the upstream socket", "[http-client]") {
    test::MockLlmServer mock;
    auto reply = test::MockReply::sse("data: 1\n\ndata: 2\n\ndata: 3\n\n");
    reply.delay = 50ms;
    reply.stall = true;  // would never end by itself
    mock.push(reply);
    asio::io_context io;
    HttpClient client;
    asio::cancellation_signal cancel;
    std::string got;
    BodyHandler h = [&](std::string_view p) -> asio::awaitable<void> {
        got.append(p);
        if (got.find("data: 2") != std::string::npos)
            asio::post(io, [&] { cancel.emit(asio::cancellation_type::terminal); });
        co_return;
    };
    std::exception_ptr error;
    asio::co_spawn(io, client.send(post(mock.url() + "/chat/completions"), h),
                   asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e, HttpResponse) { error = e; }));
    io.run();
    REQUIRE(error);
    try {
        std::rethrow_exception(error);
    } catch (boost::system::system_error const& e) {
        CHECK(e.code() == asio::error::operation_aborted);
    }
    CHECK(got.find("data: 3") == std::string::npos);
    CHECK(mock.wait_until([&] { return mock.closed_mid_reply() == 1; }));
    CHECK(client.idle_connections() == 0);
}

TEST_CASE("An exception from the body handler ends the request and closes the connection", "[http-client]") {
    test::MockLlmServer mock;
    auto reply = test::MockReply::sse("data: 1\n\ndata: 2\n\n");
    reply.stall = true;
    mock.push(reply);
    asio::io_context io;
    HttpClient client;
    BodyHandler h = [](std::string_view) -> asio::awaitable<void> {
        throw std::runtime_error("consumer failed");
        co_return;
    };
    auto f = asio::co_spawn(io, client.send(post(mock.url() + "/chat/completions"), h), asio::use_future);
    io.run();
    CHECK_THROWS_WITH(f.get(), "consumer failed");
    CHECK(mock.wait_until([&] { return mock.closed_mid_reply() == 1; }));
}

TEST_CASE("HttpClient verifies TLS certificates and host names", "[http-client][tls]") {
    auto pki = test::TestPki::generate({"localhost"});
    test::MockLlmServer::Options mo;
    mo.tls = pki->server_context();
    test::MockLlmServer mock(mo);
    asio::io_context io;

    SECTION("trusted CA file and matching host name: success") {
        mock.push(test::MockReply::sse("data: secure\n\n"));
        HttpClientOptions opts;
        opts.ca_file = pki->ca_file;
        HttpClient client(opts);
        auto s = run_on(io, stream_all(client, post(mock.url() + "/chat/completions")));
        CHECK(s.response.status == 200);
        CHECK(s.body == "data: secure\n\n");
        CHECK(mock.requests().at(0).header("host") == "localhost:" + std::to_string(mock.port()));
    }
    SECTION("untrusted CA: handshake fails") {
        HttpClient client;
        auto f = asio::co_spawn(io, client.send(post(mock.url() + "/chat/completions")), asio::use_future);
        io.run();
        CHECK(failure_of(f) == error::transport_tls_failed);
        CHECK(mock.request_count() == 0);
    }
    SECTION("trusted CA but a host name the certificate does not name: handshake fails") {
        HttpClientOptions opts;
        opts.ca_file = pki->ca_file;
        HttpClient client(opts);
        auto f = asio::co_spawn(io, client.send(post(mock.url("127.0.0.1") + "/chat/completions")), asio::use_future);
        io.run();
        try {
            f.get();
            FAIL("expected a TLS failure");
        } catch (chatkit::Error const& e) {
            CHECK(e.code() == error::transport_tls_failed);
        }
        CHECK(mock.request_count() == 0);
    }
    SECTION("a missing CA file is reported when the client is made") {
        HttpClientOptions opts;
        opts.ca_file = "/nonexistent/ca.pem";
        CHECK_THROWS_AS(HttpClient(opts), chatkit::Error);
    }
}

TEST_CASE("HttpClient refuses header fields it could not write safely, before connecting", "[http-client][security]") {
    test::MockLlmServer mock;
    asio::io_context io;
    HttpClient client;
    for (auto const& [name, value] : std::vector<std::pair<std::string, std::string>>{
             {"Authorization", "Bearer token\r\nX-Injected: 1"},
             {"Authorization", std::string("Bearer a\0b", 10)},
             {"Bad Name", "x"},
             {"", "x"}}) {
        HttpRequest r = post(mock.url() + "/responses");
        r.headers.emplace_back(name, value);
        auto f = asio::co_spawn(io, client.send(std::move(r)), asio::use_future);
        io.run();
        io.restart();
        auto const code = failure_of(f);
        CHECK(code == error::transport_invalid_request);
        CHECK_FALSE(chatkit::is_retryable_transport_error(code));
    }
    HttpRequest bad_method = post(mock.url() + "/responses");
    bad_method.method = "GET /x HTTP/1.1\r\n";
    auto f = asio::co_spawn(io, client.send(std::move(bad_method)), asio::use_future);
    io.run();
    CHECK(failure_of(f) == error::transport_invalid_request);
    CHECK(mock.connections_accepted() == 0);
}

TEST_CASE("HttpClient applies per-request overrides of the body cap and the idle timeout", "[http-client]") {
    test::MockLlmServer mock;
    mock.push(test::MockReply::json(200, std::string(2000, 'x')));
    auto slow = test::MockReply::sse("data: 1\n\ndata: 2\n\n");
    slow.delay = 300ms;
    mock.push(slow);
    asio::io_context io;
    HttpClientOptions opts;  // 8 MiB bodies, 100 ms of silence
    opts.idle_timeout = 100ms;
    HttpClient client(opts);

    HttpRequest capped;
    capped.url = mock.url() + "/jwks.json";
    capped.max_body = 1000;
    auto f = asio::co_spawn(io, client.send(std::move(capped)), asio::use_future);
    io.run();
    io.restart();
    CHECK(failure_of(f) == error::transport_body_too_large);

    HttpRequest patient = post(mock.url() + "/chat/completions");
    patient.idle_timeout = 5000ms;
    auto s = run_on(io, stream_all(client, std::move(patient)));
    CHECK(s.body == "data: 1\n\ndata: 2\n\n");
}

TEST_CASE("HttpClient reports an unresolvable host as a resolve failure", "[http-client]") {
    asio::io_context io;
    HttpClient client;
    HttpRequest r;
    r.url = "http://chatkit-test.invalid/";  // RFC 6761: never resolves
    r.connect_timeout = 3000ms;
    auto f = asio::co_spawn(io, client.send(std::move(r)), asio::use_future);
    io.run();
    auto const code = failure_of(f);
    CHECK(code == error::transport_resolve_failed);
    CHECK(chatkit::is_retryable_transport_error(code));
}

TEST_CASE("Through the Transport interface: the exchanges of an MCP session", "[http-client][transport]") {
    // JSON-RPC over POST answered as JSON or as an SSE stream, the session header read from a 2xx
    // head, a 404 for an expired session returned as a response, DELETE to end the session.
    test::MockLlmServer mock;
    mock.push(test::MockReply::json(200, R"({"jsonrpc":"2.0","id":1,"result":{}})", {{"Mcp-Session-Id", "sess-1"}}));
    auto streamed = test::MockReply::sse("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}}\n\n");
    mock.push(streamed);
    mock.push(test::MockReply::json(404, R"({"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"}})"));
    mock.push(test::MockReply::json(200, ""));
    std::shared_ptr<chatkit::Transport> transport = std::make_shared<HttpClient>();
    asio::io_context io;

    struct Answer {
        HttpResponse head;
        std::string body;
    };
    auto exchange = [&](HttpRequest request) -> asio::awaitable<Answer> {
        Answer answer;
        BodyHandler on_body = [&answer](std::string_view piece) -> asio::awaitable<void> {
            answer.body.append(piece);
            co_return;
        };
        HeadHandler on_head = [&answer](HttpResponse const& head) { answer.head = head; };
        HttpResponse response = co_await transport->send(std::move(request), on_body, on_head);
        if (!response.ok()) answer.head = response;
        if (!response.ok()) answer.body = response.body;
        co_return answer;
    };
    auto rpc = [&](std::string body, std::optional<std::string> session) {
        HttpRequest r = post(mock.url() + "/mcp", std::move(body));
        r.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json, text/event-stream"}};
        if (session) r.headers.emplace_back("Mcp-Session-Id", *session);
        return r;
    };

    auto init = run_on(io, exchange(rpc(R"({"jsonrpc":"2.0","id":1,"method":"initialize"})", std::nullopt)));
    CHECK(init.head.status == 200);
    CHECK(init.head.header("content-type") == "application/json");
    auto const session = init.head.header("mcp-session-id");
    REQUIRE(session == "sess-1");
    CHECK(init.body == R"({"jsonrpc":"2.0","id":1,"result":{}})");

    auto listed = run_on(io, exchange(rpc(R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})", session)));
    CHECK(listed.head.header("content-type") == "text/event-stream");
    CHECK(listed.body.find(R"("id":2)") != std::string::npos);

    auto expired = run_on(io, exchange(rpc(R"({"jsonrpc":"2.0","id":3,"method":"tools/list"})", session)));
    CHECK(expired.head.status == 404);
    CHECK(expired.body.find("Session not found") != std::string::npos);

    HttpRequest end;
    end.method = "DELETE";
    end.url = mock.url() + "/mcp";
    end.headers = {{"Mcp-Session-Id", "sess-1"}};
    auto closed = run_on(io, transport->send(std::move(end)));
    CHECK(closed.status == 200);

    auto reqs = mock.requests();
    REQUIRE(reqs.size() == 4);
    CHECK_FALSE(reqs[0].header("mcp-session-id"));
    CHECK(reqs[1].header("mcp-session-id") == "sess-1");
    CHECK(reqs[1].header("accept") == "application/json, text/event-stream");
    CHECK(reqs[3].method == "DELETE");
    CHECK(reqs[3].target == "/v1/mcp");
    CHECK(reqs[3].header("mcp-session-id") == "sess-1");
}
