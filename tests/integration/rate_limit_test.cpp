// Per-user rate limits over loopback HTTP (docs/limits.md): token buckets for streaming,
// non-streaming and upload requests, and the cap on concurrent streams. A refused request gets 429
// with Retry-After and a JSON body before any stream starts, and leaves no trace in the store.
#include "http_support.hpp"

#include <chatkit/server/rate_limiter.hpp>

#include <catch2/catch.hpp>

using namespace test;

namespace {

/// A TestServer whose store is partitioned by user (the `session` cookie) and whose requests go
/// through a RateLimiter with `limits`.
struct LimitedFixture {
    explicit LimitedFixture(chatkit::RateLimitOptions limits) : limiter(std::move(limits)) {
        auto options = test_server_options();
        options.shutdown_grace = 2s;
        server = std::make_unique<chatkit::http::Server<TestContext>>(chatkit_server, options, make_context);
        server->start();
        runner = std::thread([this] { server->run(); });
    }
    ~LimitedFixture() {
        server->stop();
        runner.join();
    }
    LimitedFixture(LimitedFixture const&) = delete;
    LimitedFixture& operator=(LimitedFixture const&) = delete;

    std::uint16_t port() const { return server->port(); }

    std::size_t thread_count(std::string const& user) {
        TestContext ctx;
        ctx.user = user;
        std::optional<std::string> no_cursor;
        return run_sync(store.load_threads(100, no_cursor, chatkit::Order::asc, ctx)).data.size();
    }

    chatkit::RateLimiter limiter;
    chatkit::InMemoryStore<TestContext> store{[](TestContext const& ctx) { return ctx.user; }};
    TestAttachments attachments;
    TestServer chatkit_server{{.store = store, .attachments = &attachments, .rate_limiter = &limiter}};
    std::unique_ptr<chatkit::http::Server<TestContext>> server;
    std::thread runner;
};

std::string as(std::string_view user) { return "Cookie: session=" + std::string(user) + "\r\n"; }

/// The Retry-After of a 429 as whole seconds (0 when absent or not a whole number).
long retry_after_of(Response const& r) {
    std::string const value = r.header("Retry-After");
    if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos) return 0;
    return std::stol(value);
}

void check_refused(Response const& r) {
    CHECK(r.status == 429);
    CHECK(r.header("Content-Type") == "application/json");
    CHECK(retry_after_of(r) >= 1);
    auto const body = r.json();
    CHECK(body.at("error").at("code") == "rate_limited");
    CHECK_FALSE(std::string(body.at("error").at("message").as_string()).empty());
}

std::string attachment_create_body() {
    json::object params;
    params["name"] = "a.txt";
    params["size"] = 3;
    params["mime_type"] = "text/plain";
    return request_body("attachments.create", std::move(params));
}

}  // namespace

TEST_CASE("a user over the streaming budget gets 429 with Retry-After while another user is served",
          "[integration][limits]") {
    chatkit::RateLimitOptions limits;
    limits.streaming = chatkit::RateBudget{2, 2};  // 2 per minute, 2 at once
    LimitedFixture f(std::move(limits));

    for (int i = 0; i < 2; ++i) {
        auto const ok = post(f.port(), create_body("hi"), as("alice"));
        REQUIRE(ok.status == 200);
        CHECK(ok.header("Content-Type").rfind("text/event-stream", 0) == 0);
    }
    auto const refused = post(f.port(), create_body("one more"), as("alice"));
    check_refused(refused);
    CHECK(retry_after_of(refused) <= 30);  // one token comes back every 30 s
    CHECK(f.thread_count("alice") == 2);   // the refused request created nothing

    auto const other = post(f.port(), create_body("hello"), as("bob"));
    CHECK(other.status == 200);
    CHECK(event_types(events_of(other)).front() == "thread.created");

    // Non-streaming requests have their own budget (none here): alice can still read her threads.
    auto const list = post(f.port(), request_body("threads.list", {}), as("alice"));
    CHECK(list.status == 200);
    CHECK(list.json().at("data").as_array().size() == 2);
}

TEST_CASE("non-streaming requests and uploads are budgeted apart from streams", "[integration][limits]") {
    chatkit::RateLimitOptions limits;
    limits.non_streaming = chatkit::RateBudget{1, 1};
    limits.uploads = chatkit::RateBudget{1, 1};
    LimitedFixture f(std::move(limits));

    CHECK(post(f.port(), request_body("threads.list", {}), as("alice")).status == 200);
    check_refused(post(f.port(), request_body("threads.list", {}), as("alice")));
    CHECK(post(f.port(), request_body("threads.list", {}), as("bob")).status == 200);

    auto const created = post(f.port(), attachment_create_body(), as("alice"));
    CHECK(created.status == 200);
    check_refused(post(f.port(), attachment_create_body(), as("alice")));

    // Streams have no budget here.
    for (int i = 0; i < 3; ++i) CHECK(post(f.port(), create_body("hi"), as("alice")).status == 200);
}

TEST_CASE("the (N+1)th concurrent stream of one user gets 429, and a slot frees when a stream ends",
          "[integration][limits]") {
    chatkit::RateLimitOptions limits;
    limits.max_streams_per_owner = 2;
    LimitedFixture f(std::move(limits));

    std::vector<std::unique_ptr<Conn>> open;
    for (int i = 0; i < 2; ++i) {
        open.push_back(std::make_unique<Conn>(f.port()));
        open.back()->send(post_request("/chatkit", create_body("wait"), as("alice")));
        REQUIRE(open.back()->read_until("thread.item.done"));  // the stream runs (respond() waits)
    }
    REQUIRE(eventually([&] { return f.chatkit_server.waiting.load() == 2; }));

    auto const third = post(f.port(), create_body("hi"), as("alice"));
    check_refused(third);
    CHECK(third.header("Retry-After") == "1");
    CHECK(f.thread_count("alice") == 2);

    // Another user is not affected.
    CHECK(post(f.port(), create_body("hi"), as("bob")).status == 200);

    // One of alice's streams ends (the client leaves): its slot is given back.
    open.front()->close();
    REQUIRE(eventually([&] { return f.chatkit_server.cancelled.load() == 1; }));
    Response again;
    REQUIRE(eventually([&] {
        again = post(f.port(), create_body("hi"), as("alice"));
        return again.status == 200;
    }));
    CHECK(event_types(events_of(again)).back() == "thread.item.done");
}

TEST_CASE("without a rate limiter nothing is limited", "[integration][limits]") {
    Fixture f;
    for (int i = 0; i < 20; ++i) CHECK(post(f.port(), request_body("threads.list", {}), as("alice")).status == 200);
}
