// HttpClient against the loopback mock server: streaming, keep-alive, error bodies, timeouts,
// cancellation, TLS verification.
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

using namespace std::chrono_literals;
namespace asio = boost::asio;
using chatkit::net::BodyHandler;
using chatkit::net::HttpClient;
using chatkit::net::HttpClientOptions;
using chatkit::net::HttpRequest;
using chatkit::net::HttpResponse;
using chatkit::net::TransportError;
using chatkit::net::TransportErrorKind;
using chatkit::net::Url;

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
    chatkit::net::HeadHandler no_head;
    s.response = co_await client.send(std::move(req), h, no_head);
    co_return s;
}

TransportErrorKind kind_of(std::exception_ptr e) {
    try {
        std::rethrow_exception(e);
    } catch (TransportError const& t) {
        return t.kind();
    }
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
        CHECK_THROWS_AS(Url::parse(bad), TransportError);
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
    } catch (TransportError const& e) {
        CHECK(e.kind() == TransportErrorKind::connect);
        CHECK_FALSE(e.response_started());
        CHECK(std::string(e.what()).find("cannot connect") != std::string::npos);
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
    BodyHandler h = [&](std::string_view p) -> asio::awaitable<void> {
        got.append(p);
        co_return;
    };
    auto f = asio::co_spawn(io, client.send(post(mock.url() + "/chat/completions"), h), asio::use_future);
    io.run();
    try {
        f.get();
        FAIL("expected a timeout");
    } catch (TransportError const& e) {
        CHECK(e.kind() == TransportErrorKind::timeout);
        CHECK(e.response_started());
    }
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
    } catch (TransportError const& e) {
        CHECK(e.kind() == TransportErrorKind::timeout);
        CHECK(std::string(e.what()).find("deadline") != std::string::npos);
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
    BodyHandler h = [&](std::string_view p) -> asio::awaitable<void> {
        got.append(p);
        co_return;
    };
    auto f = asio::co_spawn(io, client.send(post(mock.url() + "/chat/completions"), h), asio::use_future);
    io.run();
    try {
        f.get();
        FAIL("expected a closed connection");
    } catch (TransportError const& e) {
        CHECK(e.kind() == TransportErrorKind::connection_closed);
        CHECK(e.response_started());
    }
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
        auto kind = [&] {
            try {
                f.get();
            } catch (...) {
                return kind_of(std::current_exception());
            }
            return TransportErrorKind::invalid_url;
        }();
        CHECK(kind == TransportErrorKind::tls);
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
        } catch (TransportError const& e) {
            CHECK(e.kind() == TransportErrorKind::tls);
        }
        CHECK(mock.request_count() == 0);
    }
    SECTION("a missing CA file is reported when the client is made") {
        HttpClientOptions opts;
        opts.ca_file = "/nonexistent/ca.pem";
        CHECK_THROWS_AS(HttpClient(opts), TransportError);
    }
}
