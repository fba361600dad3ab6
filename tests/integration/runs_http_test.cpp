// Replies that outlive the connection (issue 18), over real loopback HTTP: StreamPolicy, the run log,
// GET /chatkit/runs/{thread_id}?after=N, POST /chatkit/runs/{thread_id}/cancel and 409 for a second
// run, on InMemoryStore and SqliteStore.
#include "http_support.hpp"

#include <chatkit/server/streaming.hpp>
#include <chatkit/store/sqlite/store.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

using namespace test;

namespace {

/// respond(): `long N D` streams one assistant message of N deltas `w0 ` `w1 `..., one every D ms.
class RunsServer final : public chatkit::ChatKitServer<TestContext> {
public:
    using ChatKitServer::ChatKitServer;
    std::atomic<int> finished{0};
    std::atomic<int> cancelled{0};

protected:
    asio::awaitable<void> respond(chatkit::ThreadMetadata&, std::optional<chatkit::UserMessageItem> const& input,
                                  chatkit::EventSink& events, TestContext&) override {
        int count = 3;
        int delay_ms = 10;
        if (input) std::sscanf(chatkit::text_of(*input).c_str(), "long %d %d", &count, &delay_ms);
        chatkit::AssistantMessageStream message(events);
        co_await message.start();
        auto const executor = co_await asio::this_coro::executor;
        asio::steady_timer timer(executor);
        for (int i = 0; i < count; ++i) {
            timer.expires_after(std::chrono::milliseconds(delay_ms));
            co_await timer.async_wait(asio::use_awaitable);
            std::string delta = "w" + std::to_string(i) + " ";
            co_await message.append(std::move(delta));
        }
        co_await message.finish();
        ++finished;
    }

    asio::awaitable<void> handle_stream_cancelled(chatkit::ThreadMetadata& thread,
                                                  std::vector<chatkit::ThreadItem> const& pending,
                                                  TestContext& ctx) override {
        co_await ChatKitServer::handle_stream_cancelled(thread, pending, ctx);
        ++cancelled;
    }
};

std::string owner_of(TestContext const& ctx) { return ctx.user; }

std::string full_text(int count) {
    std::string out;
    for (int i = 0; i < count; ++i) out += "w" + std::to_string(i) + " ";
    return out;
}

struct RunsFixture {
    RunsFixture(std::unique_ptr<chatkit::Store<TestContext>> s, chatkit::RunOptions runs) : store(std::move(s)) {
        chat = std::make_unique<RunsServer>(RunsServer::Options{.store = *store, .runs = runs});
        auto options = test_server_options();
        options.shutdown_grace = 2s;
        server = std::make_unique<chatkit::http::Server<TestContext>>(*chat, options, make_context);
        server->start();
        runner = std::thread([this] { server->run(); });
    }
    ~RunsFixture() { stop(); }
    void stop() {
        if (!runner.joinable()) return;
        server->stop();
        runner.join();
    }
    RunsFixture(RunsFixture const&) = delete;
    RunsFixture& operator=(RunsFixture const&) = delete;

    std::uint16_t port() const { return server->port(); }

    std::vector<chatkit::ThreadItem> items(std::string const& thread_id, std::string user = "alice") {
        TestContext ctx;
        ctx.user = std::move(user);
        std::optional<std::string> no_cursor;
        auto page = run_sync(store->load_thread_items(thread_id, no_cursor, 100, chatkit::Order::asc, ctx));
        return page.data;
    }

    // The text of the thread's assistant messages, and whether the hidden cancel note is stored.
    std::string assistant_text(std::string const& thread_id) {
        std::string out;
        for (auto const& item : items(thread_id))
            if (auto const* m = std::get_if<chatkit::AssistantMessageItem>(&item))
                for (auto const& part : m->content) out += part.text;
        return out;
    }
    bool has_cancel_note(std::string const& thread_id) {
        for (auto const& item : items(thread_id))
            if (std::holds_alternative<chatkit::SDKHiddenContextItem>(item)) return true;
        return false;
    }

    std::unique_ptr<chatkit::Store<TestContext>> store;
    std::unique_ptr<RunsServer> chat;
    std::unique_ptr<chatkit::http::Server<TestContext>> server;
    std::thread runner;
};

std::string const alice = "Cookie: session=alice\r\n";
std::string const mallory = "Cookie: session=mallory\r\n";

chatkit::RunOptions continue_options() {
    chatkit::RunOptions runs;
    runs.on_disconnect = chatkit::StreamPolicy::continue_on_disconnect;
    return runs;
}

std::string add_message_body(std::string const& thread_id, std::string_view text) {
    json::object params;
    params["thread_id"] = thread_id;
    params["input"] = user_input(text);
    return request_body("threads.add_user_message", std::move(params));
}

// The thread id of a stream's first events (thread.created).
std::string thread_id_in(std::string const& raw) {
    auto const at = raw.find("\"thread.created\"");
    REQUIRE(at != std::string::npos);
    auto const id = raw.find("\"id\":\"", at);
    REQUIRE(id != std::string::npos);
    auto const end = raw.find('"', id + 6);
    return raw.substr(id + 6, end - id - 6);
}

// Starts a new thread with `text` and leaves after `needle` arrived; returns the thread id.
std::string start_and_leave(std::uint16_t port, std::string_view text, std::string_view needle) {
    Conn conn(port);
    conn.send(post_request("/chatkit", create_body(text), alice));
    REQUIRE(conn.read_until(needle));
    return thread_id_in(conn.raw());
}

Response get_run(std::uint16_t port, std::string const& thread_id, std::string const& query,
                 std::string const& headers = alice) {
    return test::exchange(port, get_request("/chatkit/runs/" + thread_id + query, "GET", headers + "Connection: close\r\n"));
}

Response cancel(std::uint16_t port, std::string const& thread_id, std::string const& headers = alice) {
    return test::exchange(port, post_request("/chatkit/runs/" + thread_id + "/cancel", "", headers, true));
}

void check_continue_on_disconnect(RunsFixture& f) {
    auto const port = f.port();

    // Disconnect after 3 deltas, then wait: the stored reply is whole, nothing was cancelled.
    auto const thread = start_and_leave(port, "long 8 40", "w2 ");
    REQUIRE(eventually([&] { return f.chat->finished.load() == 1; }));
    REQUIRE(eventually([&] { return f.assistant_text(thread) == full_text(8); }));
    CHECK_FALSE(f.has_cancel_note(thread));
    CHECK(f.chat->cancelled.load() == 0);

    // Resume after the end, within retention: the whole run from 0, then exactly the tail after N.
    auto const whole = get_run(port, thread, "?after=0");
    REQUIRE(whole.status == 200);
    CHECK(whole.header("Content-Type") == "text/event-stream; charset=utf-8");
    CHECK(whole.header("Cache-Control") == "no-cache");
    auto const all = frames_of(whole.body);
    REQUIRE(all.size() >= 14);  // thread.created, the user message, stream_options, the reply's events
    CHECK(all.front().find("\"thread.created\"") != std::string::npos);
    CHECK(all.back().find("\"thread.item.done\"") != std::string::npos);
    for (std::size_t n : {std::size_t{1}, std::size_t{3}, all.size() - 2, all.size()}) {
        auto const tail = get_run(port, thread, "?after=" + std::to_string(n));
        REQUIRE(tail.status == 200);
        std::vector<std::string> const expected(all.begin() + static_cast<std::ptrdiff_t>(n), all.end());
        CHECK(frames_of(tail.body) == expected);
    }
    CHECK(frames_of(get_run(port, thread, "").body) == all);  // no `after`: from 0

    // Bad input, tenancy.
    CHECK(get_run(port, thread, "?after=" + std::to_string(all.size() + 1)).status == 400);
    CHECK(get_run(port, thread, "?after=-1").status == 400);
    CHECK(get_run(port, thread, "?after=x").status == 400);
    auto const foreign = get_run(port, thread, "?after=0", mallory);
    CHECK(foreign.status == 404);
    CHECK(foreign.json().at("error").at("code") == "not_found");
    CHECK(get_run(port, "thr_nope", "?after=0").status == 404);
    CHECK(cancel(port, thread, mallory).status == 404);
    CHECK(test::exchange(port, post_request("/chatkit/runs/" + thread, "", alice, true)).status == 405);

    // A second run on the thread, followed live by two resumers at once while its first client reads
    // it all: each resumer gets exactly the first client's events after N, in order, no gap.
    Conn first(port);
    first.send(post_request("/chatkit", add_message_body(thread, "long 12 40"), alice, true));
    REQUIRE(first.read_until("w1 "));
    // One run per thread: a new message meanwhile is refused with 409 and a JSON body.
    auto const busy = post(port, add_message_body(thread, "long 1 1"), alice);
    CHECK(busy.status == 409);
    CHECK(busy.json().at("error").at("code") == "conflict");
    Response b, c;
    std::thread tb([&] { b = get_run(port, thread, "?after=2"); });
    std::thread tc([&] { c = get_run(port, thread, "?after=4"); });
    auto const a = first.read_response();
    tb.join();
    tc.join();
    auto const own = frames_of(a.body);
    REQUIRE(own.size() >= 16);
    CHECK(frames_of(b.body) == std::vector<std::string>(own.begin() + 2, own.end()));
    CHECK(frames_of(c.body) == std::vector<std::string>(own.begin() + 4, own.end()));
    REQUIRE(eventually([&] { return f.assistant_text(thread) == full_text(8) + full_text(12); }));

    // Cancel: the partial reply and the hidden note are saved; cancelling again is a no-op.
    Conn third(port);
    third.send(post_request("/chatkit", add_message_body(thread, "long 200 30"), alice, true));
    REQUIRE(third.read_until("w2 "));
    third.close();  // the client leaves first: the run goes on until the cancel
    auto const stopped = cancel(port, thread);
    REQUIRE(stopped.status == 200);
    CHECK(stopped.json().at("cancelled") == true);
    CHECK(f.has_cancel_note(thread));
    auto const text = f.assistant_text(thread);
    CHECK(text.size() > (full_text(8) + full_text(12) + "w0 w1 w2 ").size() - 1);
    CHECK(text.size() < (full_text(8) + full_text(12) + full_text(200)).size());
    CHECK(f.chat->cancelled.load() == 1);
    auto const again = cancel(port, thread);
    CHECK(again.status == 200);
    CHECK(again.json().at("cancelled") == false);
    // The cancelled run stays readable: it ends after its last event.
    CHECK(get_run(port, thread, "?after=0").status == 200);
}

}  // namespace

TEST_CASE("runs: continue_on_disconnect on InMemoryStore: detach, resume, two resumers, 409, cancel",
          "[integration][runs]") {
    RunsFixture f(std::make_unique<chatkit::InMemoryStore<TestContext>>(owner_of), continue_options());
    check_continue_on_disconnect(f);
}

TEST_CASE("runs: continue_on_disconnect on SqliteStore: detach, resume, two resumers, 409, cancel",
          "[integration][runs]") {
    TempDir dir;
    chatkit::SqliteOptions options;
    options.path = (dir.path / "chatkit.db").string();
    RunsFixture f(std::make_unique<chatkit::SqliteStore<TestContext>>(options, owner_of), continue_options());
    check_continue_on_disconnect(f);
}

TEST_CASE("runs: cancel_on_disconnect (the default) cancels at the disconnect; the run stays resumable",
          "[integration][runs]") {
    RunsFixture f(std::make_unique<chatkit::InMemoryStore<TestContext>>(owner_of), chatkit::RunOptions{});
    auto const thread = start_and_leave(f.port(), "long 200 30", "w2 ");
    REQUIRE(eventually([&] { return f.chat->cancelled.load() == 1; }));
    CHECK(f.has_cancel_note(thread));
    CHECK(f.chat->finished.load() == 0);
    auto const text = f.assistant_text(thread);
    CHECK(text.rfind("w0 w1 w2 ", 0) == 0);
    CHECK(text.size() < full_text(200).size());
    auto const log = get_run(f.port(), thread, "?after=0");
    CHECK(log.status == 200);
    CHECK(frames_of(log.body).size() >= 6);
}

TEST_CASE("runs: the maximum run time cancels a detached run (partial and note saved)", "[integration][runs]") {
    auto runs = continue_options();
    runs.max_run_time = 300ms;
    RunsFixture f(std::make_unique<chatkit::InMemoryStore<TestContext>>(owner_of), runs);
    auto const thread = start_and_leave(f.port(), "long 1000 20", "w2 ");
    REQUIRE(eventually([&] { return f.chat->cancelled.load() == 1; }));
    CHECK(f.has_cancel_note(thread));
    CHECK(f.chat->finished.load() == 0);
    CHECK(f.assistant_text(thread).rfind("w0 w1 w2 ", 0) == 0);
}

TEST_CASE("runs: a resume beyond what the log keeps answers 410; retention ends with 404",
          "[integration][runs]") {
    auto runs = continue_options();
    runs.max_events_per_run = 5;
    runs.retention = 300ms;
    RunsFixture f(std::make_unique<chatkit::InMemoryStore<TestContext>>(owner_of), runs);
    auto const thread = start_and_leave(f.port(), "long 10 5", "\"thread.created\"");
    REQUIRE(eventually([&] { return f.chat->finished.load() == 1; }));
    auto const old = get_run(f.port(), thread, "?after=0");
    CHECK(old.status == 410);
    CHECK(old.json().at("error").at("code") == "run_log_truncated");
    // The newest 5 events are kept.
    auto const size_probe = get_run(f.port(), thread, "?after=1000");
    REQUIRE(size_probe.status == 400);
    REQUIRE(eventually([&] { return get_run(f.port(), thread, "?after=0").status == 404; }, 3s));
}

TEST_CASE("runs: stopping the server cancels a run that outlived its client", "[integration][runs]") {
    RunsFixture f(std::make_unique<chatkit::InMemoryStore<TestContext>>(owner_of), continue_options());
    auto const thread = start_and_leave(f.port(), "long 100000 20", "w2 ");
    f.stop();  // returns: the detached run does not hold the io_context
    CHECK(f.chat->cancelled.load() == 1);
    CHECK(f.has_cancel_note(thread));
    CHECK(f.assistant_text(thread).rfind("w0 w1 w2 ", 0) == 0);
}

TEST_CASE("runs: the byte budget over all run logs forgets the oldest finished runs; a recent one resumes whole",
          "[integration][runs]") {
    auto runs = continue_options();
    runs.max_log_bytes = 24 * 1024;  // a few runs of ~30 events
    RunsFixture f(std::make_unique<chatkit::InMemoryStore<TestContext>>(owner_of), runs);
    std::vector<std::string> threads;
    for (int i = 0; i < 12; ++i) {
        auto const r = post(f.port(), create_body("long 20 1"), alice);
        REQUIRE(r.status == 200);
        threads.push_back(thread_id_in(r.body));
    }
    REQUIRE(eventually([&] { return f.chat->finished.load() == 12; }));
    // Every reply is stored whole; the oldest run is forgotten, the newest replays from 0 to its end.
    for (auto const& thread : threads) CHECK(f.assistant_text(thread) == full_text(20));
    auto const oldest = get_run(f.port(), threads.front(), "?after=0");
    CHECK(oldest.status == 404);
    CHECK(oldest.json().at("error").at("code") == "not_found");
    auto const recent = get_run(f.port(), threads.back(), "?after=0");
    REQUIRE(recent.status == 200);
    auto const all = frames_of(recent.body);
    CHECK(all.front().find("\"thread.created\"") != std::string::npos);
    CHECK(all.back().find("\"thread.item.done\"") != std::string::npos);
}

TEST_CASE("runs: with on_busy_thread queue, a second message waits for the running reply and is answered after it",
          "[integration][runs]") {
    auto runs = continue_options();
    runs.on_busy_thread = chatkit::BusyThreadPolicy::queue;
    runs.max_queued_per_thread = 1;
    RunsFixture f(std::make_unique<chatkit::InMemoryStore<TestContext>>(owner_of), runs);
    auto const port = f.port();
    auto const thread = start_and_leave(port, "long 2 1", "\"thread.created\"");
    REQUIRE(eventually([&] { return f.chat->finished.load() == 1; }));

    // Two messages at once: the second waits (its stream starts only once the first reply ended),
    // then both are answered in order and stored in order; no 409.
    Conn first(port);
    first.send(post_request("/chatkit", add_message_body(thread, "long 30 40"), alice, true));
    REQUIRE(first.read_until("w1 "));
    Response second;
    std::thread t2([&] { second = post(port, add_message_body(thread, "long 3 1"), alice); });
    // The queue holds one: a third message meanwhile is refused with 429 and a JSON body.
    std::this_thread::sleep_for(300ms);
    auto const third = post(port, add_message_body(thread, "long 1 1"), alice);
    CHECK(third.status == 429);
    CHECK(third.json().at("error").at("code") == "rate_limited");
    auto const a = first.read_response();
    t2.join();
    REQUIRE(a.status == 200);
    REQUIRE(second.status == 200);
    CHECK(frames_of(a.body).back().find("\"thread.item.done\"") != std::string::npos);
    CHECK(second.body.find("w2 ") != std::string::npos);
    REQUIRE(eventually([&] { return f.chat->finished.load() == 3; }));
    std::vector<std::string> order;
    for (auto const& item : f.items(thread)) {
        if (auto const* u = std::get_if<chatkit::UserMessageItem>(&item)) order.push_back("user:" + chatkit::text_of(*u));
        if (auto const* m = std::get_if<chatkit::AssistantMessageItem>(&item))
            order.push_back("assistant:" + m->content.at(0).text);
    }
    CHECK(order == std::vector<std::string>{"user:long 2 1", "assistant:" + full_text(2), "user:long 30 40",
                                            "assistant:" + full_text(30), "user:long 3 1",
                                            "assistant:" + full_text(3)});
}

TEST_CASE("runs: a queued message that waits longer than max_queue_wait answers 409 and is not stored",
          "[integration][runs]") {
    auto runs = continue_options();
    runs.on_busy_thread = chatkit::BusyThreadPolicy::queue;
    runs.max_queue_wait = 200ms;
    RunsFixture f(std::make_unique<chatkit::InMemoryStore<TestContext>>(owner_of), runs);
    Conn first(f.port());
    first.send(post_request("/chatkit", create_body("long 40 40"), alice, true));
    REQUIRE(first.read_until("w1 "));
    auto const thread = thread_id_in(first.raw());
    auto const late = post(f.port(), add_message_body(thread, "too late"), alice);
    CHECK(late.status == 409);
    CHECK(late.json().at("error").at("code") == "conflict");
    (void)first.read_response();
    REQUIRE(eventually([&] { return f.chat->finished.load() == 1; }));
    for (auto const& item : f.items(thread))
        if (auto const* u = std::get_if<chatkit::UserMessageItem>(&item)) CHECK(chatkit::text_of(*u) != "too late");
    // Once the reply ended, the next message starts at once.
    auto const next = post(f.port(), add_message_body(thread, "long 1 1"), alice);
    CHECK(next.status == 200);
}
