// The sweep of abandoned uploads removes both sides: the files of LocalAttachmentStore and the
// records in a real SqliteStore file, per owner; uploaded attachments stay; a Store failure keeps
// the attachment for the next sweep; http::mount_attachments runs it on a timer for as long as the
// server runs, over real loopback HTTP.
#include "http_support.hpp"

#include <chatkit/http/attachment_routes.hpp>
#include <chatkit/store/local_attachment_store.hpp>
#include <chatkit/store/sqlite/store.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <thread>

using namespace test;
namespace fs = std::filesystem;

namespace {

std::string owner_of(TestContext const& ctx) { return ctx.user; }
TestContext context_of(std::string const& owner) { return TestContext{owner, {}, {}}; }

/// A fresh directory (attachments and the database file), removed at the end.
struct SweepDir {
    fs::path path = fs::temp_directory_path() /
                    ("chatkit-sweep-" + std::to_string(::getpid()) + "-" + std::to_string(now_us()));
    SweepDir() { fs::create_directories(path / "files"); }
    ~SweepDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::vector<std::string> files() const {
        std::vector<std::string> out;
        for (auto const& entry : fs::directory_iterator(path / "files")) out.push_back(entry.path().filename().string());
        std::sort(out.begin(), out.end());
        return out;
    }
};

std::unique_ptr<chatkit::SqliteStore<TestContext>> open_store(SweepDir const& dir) {
    chatkit::SqliteOptions options;
    options.path = (dir.path / "chatkit.db").string();
    return std::make_unique<chatkit::SqliteStore<TestContext>>(options, owner_of);
}

chatkit::LocalAttachmentOptions file_options(SweepDir const& dir) {
    chatkit::LocalAttachmentOptions o;
    o.directory = dir.path / "files";
    o.base_url = "http://127.0.0.1:1";
    o.pending_max_age = std::chrono::seconds(60);
    return o;
}

/// `attachments.create` as the server does it: the attachment store builds it, the Store records it.
std::string create(chatkit::LocalAttachmentStore<TestContext>& files, chatkit::Store<TestContext>& store,
                   std::string const& user, std::string const& name) {
    chatkit::AttachmentCreateParams params{name, 3, "image/png"};
    TestContext const ctx = context_of(user);
    auto attachment = run_sync(files.create_attachment(params, ctx));
    run_sync(store.save_attachment(attachment, ctx));
    return attachment.id;
}

bool has_record(chatkit::Store<TestContext>& store, std::string const& id, std::string const& user) {
    try {
        run_sync(store.load_attachment(id, context_of(user)));
        return true;
    } catch (chatkit::Error const& e) {
        if (e.code() != make_error_code(chatkit::error::not_found)) throw;
        return false;
    }
}

}  // namespace

TEST_CASE("attachments: the sweep deletes abandoned uploads' files and their SqliteStore records",
          "[integration][attachments][sqlite]") {
    SweepDir dir;
    auto store = open_store(dir);
    chatkit::LocalAttachmentStore<TestContext> attachments(file_options(dir), owner_of);

    auto const alice_pending = create(attachments, *store, "alice", "never.png");
    auto const bob_pending = create(attachments, *store, "bob", "never-either.png");
    auto const alice_done = create(attachments, *store, "alice", "done.png");
    attachments.files().upload(alice_done, "alice", chatkit::UploadedFile{"done.png", "image/png", "abc"});

    // Too young: nothing happens.
    CHECK(run_sync(attachments.sweep(*store, context_of)).empty());
    CHECK(dir.files().size() == 4);  // three sidecars, one file of bytes

    auto const later = std::chrono::system_clock::now() + std::chrono::seconds(120);
    auto swept = run_sync(attachments.sweep(*store, context_of, later));
    std::sort(swept.begin(), swept.end());
    std::vector<std::string> expected{alice_pending, bob_pending};
    std::sort(expected.begin(), expected.end());
    CHECK(swept == expected);

    // Both sides are gone for the abandoned ones, as seen through a fresh connection to the file.
    store.reset();
    store = open_store(dir);
    CHECK(!has_record(*store, alice_pending, "alice"));
    CHECK(!has_record(*store, bob_pending, "bob"));
    CHECK(has_record(*store, alice_done, "alice"));
    CHECK(dir.files() == std::vector<std::string>{alice_done + ".bin", alice_done + ".json"});
    CHECK(attachments.files().exists(alice_done, "alice"));
    CHECK(!attachments.files().exists(alice_pending, "alice"));

    // A second sweep finds nothing left to do.
    CHECK(run_sync(attachments.sweep(*store, context_of, later)).empty());
}

TEST_CASE("attachments: when the Store fails for one attachment, the sweep keeps it for the next time",
          "[integration][attachments][sqlite]") {
    SweepDir dir;
    auto store = open_store(dir);
    chatkit::LocalAttachmentStore<TestContext> attachments(file_options(dir), owner_of);
    auto const alice_pending = create(attachments, *store, "alice", "a.png");
    auto const bob_pending = create(attachments, *store, "bob", "b.png");
    auto const later = std::chrono::system_clock::now() + std::chrono::seconds(120);

    // The application cannot build a context for bob right now (say, its user directory is down).
    auto flaky = [](std::string const& owner) {
        if (owner == "bob") throw std::runtime_error("no context for bob");
        return context_of(owner);
    };
    CHECK_THROWS_WITH(run_sync(attachments.sweep(*store, flaky, later)), "no context for bob");
    CHECK(!has_record(*store, alice_pending, "alice"));
    CHECK(!attachments.files().exists(alice_pending, "alice"));
    // Bob's attachment is intact on both sides...
    CHECK(has_record(*store, bob_pending, "bob"));
    CHECK(attachments.files().exists(bob_pending, "bob"));
    // ...and the next sweep removes it.
    CHECK(run_sync(attachments.sweep(*store, context_of, later)) == std::vector<std::string>{bob_pending});
    CHECK(!has_record(*store, bob_pending, "bob"));
    CHECK(dir.files().empty());
}

TEST_CASE("mount_attachments: routes, the bound base URL and a sweep that runs and stops with the server",
          "[integration][attachments][sqlite]") {
    SweepDir dir;
    auto store = open_store(dir);
    chatkit::LocalAttachmentOptions files = file_options(dir);
    files.base_url.clear();  // mount_attachments sets it from the bound port
    files.pending_max_age = std::chrono::seconds(1);
    chatkit::LocalAttachmentStore<TestContext> attachments(files, owner_of);
    std::mutex log_mutex;
    std::vector<std::string> log;
    TestServer app({.store = *store, .attachments = &attachments});
    chatkit::http::Server<TestContext> server(app, test_server_options(), make_context);
    chatkit::http::mount_attachments(
        server, attachments, *store,
        {.context_of_owner = context_of,
         .sweep_interval = std::chrono::seconds(1),
         .logger = chatkit::Logger{chatkit::LogLevel::info, [&](chatkit::LogLevel, std::string_view line) {
                                       std::lock_guard lock(log_mutex);
                                       log.emplace_back(line);
                                   }}});
    std::atomic<bool> returned{false};
    server.start();
    std::thread runner([&] {
        server.run();
        returned = true;
    });
    auto const base = "http://127.0.0.1:" + std::to_string(server.port());

    // attachments.create over HTTP: the upload URL carries the bound port; the upload route answers.
    auto create_over_http = [&](std::string const& name) {
        auto const r = post(server.port(), request_body("attachments.create", json::object{{"name", name},
                                                                                           {"size", 3},
                                                                                           {"mime_type", "image/png"}}),
                            "Cookie: session=alice\r\n");
        REQUIRE(r.status == 200);
        return json::parse(r.body).as_object();
    };
    auto const abandoned = create_over_http("never.png");
    auto const kept = create_over_http("kept.png");
    std::string const abandoned_id(abandoned.at("id").as_string());
    std::string const kept_id(kept.at("id").as_string());
    CHECK(std::string(kept.at("upload_descriptor").at("url").as_string()) == base + "/attachments/" + kept_id + "/upload");
    Conn upload(server.port());
    upload.send("POST /attachments/" + kept_id +
                "/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: session=alice\r\nContent-Type: image/png\r\n"
                "Content-Length: 3\r\nConnection: close\r\n\r\npng");
    CHECK(upload.read_response().status == 200);

    // While the server runs, the sweep removes the abandoned upload on both sides, not the other.
    CHECK(eventually([&] { return !attachments.files().exists(abandoned_id, "alice"); }, 20s));
    CHECK(eventually([&] { return !has_record(*store, abandoned_id, "alice"); }, 20s));
    CHECK(attachments.files().exists(kept_id, "alice"));
    CHECK(has_record(*store, kept_id, "alice"));
    {
        std::lock_guard lock(log_mutex);
        CHECK(std::find(log.begin(), log.end(), "attachments: removed 1 abandoned uploads") != log.end());
    }

    // The sweep timer does not keep run() from returning after stop().
    server.stop();
    CHECK(eventually([&] { return returned.load(); }, 10s));
    runner.join();
}

TEST_CASE("mount_attachments: sweeping needs context_of_owner; nothing is mounted after start()",
          "[integration][attachments]") {
    SweepDir dir;
    chatkit::InMemoryStore<TestContext> store(owner_of);
    chatkit::LocalAttachmentStore<TestContext> attachments(file_options(dir), owner_of);
    TestServer app({.store = store, .attachments = &attachments});
    chatkit::http::Server<TestContext> server(app, test_server_options(), make_context);
    CHECK_THROWS_AS(chatkit::http::mount_attachments(server, attachments, store, {}), std::invalid_argument);
    server.start();
    CHECK_THROWS_WITH(chatkit::http::mount_attachments(server, attachments, store,
                                                       {.sweep_interval = std::chrono::seconds(0)}),
                      Catch::Contains("after start()"));
    server.stop();
}

namespace {

/// A SqliteStore on a slow day: `delete_attachment` first waits (cancellably) 20 s. Counts calls.
class SlowDeleteStore final : public chatkit::SqliteStore<TestContext> {
public:
    using SqliteStore::SqliteStore;
    int delete_calls = 0;

    asio::awaitable<void> delete_attachment(std::string const& attachment_id, TestContext const& ctx) override {
        ++delete_calls;
        asio::steady_timer slow(co_await asio::this_coro::executor, std::chrono::seconds(20));
        co_await slow.async_wait(asio::use_awaitable);
        co_await SqliteStore::delete_attachment(attachment_id, ctx);
    }
};

/// A sweep run by a caller that handles cancellation itself (`throw_if_cancelled(false)`, as
/// long-running loops do): after a cancellation, later `co_await`s in its coroutines do not throw.
asio::awaitable<std::vector<std::string>> sweep_handling_cancellation(
    chatkit::LocalAttachmentStore<TestContext>& attachments, chatkit::Store<TestContext>& store,
    std::chrono::system_clock::time_point now) {
    co_await asio::this_coro::throw_if_cancelled(false);
    chatkit::LocalAttachmentStore<TestContext>::ContextOfOwnerFn const contexts = context_of;
    co_return co_await attachments.sweep(store, contexts, now);
}

/// Runs a sweep and cancels it after `after`, as a stopping server does. Returns 1 when the stop came
/// first, 0 when the sweep finished.
asio::awaitable<std::size_t> sweep_then_stop(chatkit::LocalAttachmentStore<TestContext>& attachments,
                                             chatkit::Store<TestContext>& store,
                                             std::chrono::system_clock::time_point now,
                                             std::chrono::milliseconds after) {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer stop(co_await asio::this_coro::executor, after);
    auto sweep = sweep_handling_cancellation(attachments, store, now);
    auto wait = stop.async_wait(asio::use_awaitable);
    auto const winner = co_await (std::move(sweep) || std::move(wait));
    co_return winner.index();
}

}  // namespace

TEST_CASE("attachments: a cancelled sweep stops at the Store call in progress and leaves the rest for next time",
          "[integration][attachments][sqlite]") {
    SweepDir dir;
    chatkit::SqliteOptions options;
    options.path = (dir.path / "chatkit.db").string();
    SlowDeleteStore store(options, owner_of);
    chatkit::LocalAttachmentStore<TestContext> attachments(file_options(dir), owner_of);
    auto const alice_pending = create(attachments, store, "alice", "a.png");
    auto const bob_pending = create(attachments, store, "bob", "b.png");
    auto const later = std::chrono::system_clock::now() + std::chrono::seconds(120);

    CHECK(run_sync(sweep_then_stop(attachments, store, later, std::chrono::milliseconds(100))) == 1);
    // One Store call was in progress when the stop came; the sweep went no further.
    CHECK(store.delete_calls == 1);
    // Both abandoned attachments are intact on both sides, for the next sweep.
    CHECK(has_record(store, alice_pending, "alice"));
    CHECK(has_record(store, bob_pending, "bob"));
    CHECK(attachments.files().exists(alice_pending, "alice"));
    CHECK(attachments.files().exists(bob_pending, "bob"));
}

TEST_CASE("mount_attachments: uploads spend the owner's upload budget; over it 429 with Retry-After, others served",
          "[integration][attachments][limits]") {
    SweepDir dir;
    auto store = open_store(dir);
    chatkit::LocalAttachmentOptions files = file_options(dir);
    chatkit::LocalAttachmentStore<TestContext> attachments(files, owner_of);
    chatkit::RateLimitOptions limits;
    limits.uploads = chatkit::RateBudget{2, 2};  // 2 per minute, 2 at once
    chatkit::RateLimiter limiter(std::move(limits));
    TestServer app({.store = *store, .attachments = &attachments, .rate_limiter = &limiter});
    chatkit::http::Server<TestContext> server(app, test_server_options(), make_context);
    chatkit::http::mount_attachments(server, attachments, *store,
                                     {.context_of_owner = context_of, .sweep_interval = std::chrono::seconds(0),
                                      .rate_limiter = &limiter});
    server.start();
    std::thread runner([&] { server.run(); });

    auto direct_upload = [&](std::string const& user) {
        Conn upload(server.port());
        upload.send("POST /attachments HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: session=" + user +
                    "\r\nContent-Type: image/png\r\nX-File-Name: a.png\r\nContent-Length: 3\r\nConnection: close\r\n\r\npng");
        return upload.read_response();
    };
    CHECK(direct_upload("alice").status == 200);
    // attachments.create spends from the same budget: alice's second and last upload of the minute.
    auto const created = post(server.port(), request_body("attachments.create", json::object{{"name", "b.png"},
                                                                                           {"size", 3},
                                                                                           {"mime_type", "image/png"}}),
                              "Cookie: session=alice\r\n");
    REQUIRE(created.status == 200);
    std::string const pending_id(json::parse(created.body).at("id").as_string());

    // Over the budget, the bytes of the two-phase upload are refused too, before they are stored.
    Conn phase_two(server.port());
    phase_two.send("POST /attachments/" + pending_id +
                   "/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: session=alice\r\nContent-Type: image/png\r\n"
                   "Content-Length: 3\r\nConnection: close\r\n\r\npng");
    auto const refused = phase_two.read_response();
    CHECK(refused.status == 429);
    CHECK(std::stol(refused.header("Retry-After")) >= 1);
    CHECK(json::parse(refused.body).at("error").at("code") == "rate_limited");
    auto const refused_direct = direct_upload("alice");
    CHECK(refused_direct.status == 429);
    CHECK(dir.files().size() == 3);  // alice's upload (sidecar and bytes) and the pending sidecar only
    // Bob has his own budget.
    CHECK(direct_upload("bob").status == 200);

    server.stop();
    runner.join();
}
