// SqliteStore: the shared store contract (on a file and on :memory:), tenancy, concurrency, bad data,
// persistence and crash consistency.
#include <chatkit/store/sqlite/store.hpp>

#include "contract/store_contract.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sqlite3.h>

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using namespace chatkit;
using test::Ctx;
using test::run;
using test::contract::at;
using test::contract::file_attachment;
using test::contract::message;
using test::contract::thread;

// A fresh directory under the system temp directory, removed with everything in it.
struct TempDir {
    fs::path path;
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "chatkit-sqlite-XXXXXX").string();
        if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        path = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    TempDir(TempDir const&) = delete;
    TempDir& operator=(TempDir const&) = delete;
    std::string file(char const* name = "store.db") const { return (path / name).string(); }
};

std::string by_user(Ctx const& c) { return c.user; }

SqliteOptions options_for(std::string path) {
    SqliteOptions options;
    options.path = std::move(path);
    return options;
}

struct SqliteFileStoreFactory {
    TempDir dir;
    std::unique_ptr<Store<Ctx>> make() {
        return std::make_unique<SqliteStore<Ctx>>(options_for(dir.file()), by_user);
    }
};

struct SqliteFileWriterOnlyStoreFactory {
    TempDir dir;
    std::unique_ptr<Store<Ctx>> make() {
        auto options = options_for(dir.file());
        options.read_connections = 0;
        options.synchronous_full = true;
        return std::make_unique<SqliteStore<Ctx>>(options, by_user);
    }
};

struct SqliteMemoryStoreFactory {
    std::unique_ptr<Store<Ctx>> make() {
        return std::make_unique<SqliteStore<Ctx>>(options_for(":memory:"), by_user);
    }
};

// A raw connection for what the Store API cannot do: corrupting rows, auditing pragmas, holding locks.
struct RawDb {
    sqlite3* db = nullptr;
    explicit RawDb(std::string const& path) {
        if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) throw std::runtime_error("cannot open " + path);
    }
    ~RawDb() { sqlite3_close(db); }
    RawDb(RawDb const&) = delete;
    RawDb& operator=(RawDb const&) = delete;

    void exec(std::string const& sql) {
        char* error = nullptr;
        if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
            std::string text = error ? error : "?";
            sqlite3_free(error);
            throw std::runtime_error(sql + ": " + text);
        }
    }
    // Every row of a query, columns joined with '|'.
    std::vector<std::string> rows(std::string const& sql) {
        sqlite3_stmt* stmt = nullptr;
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK)
            throw std::runtime_error(sql + ": " + sqlite3_errmsg(db));
        std::vector<std::string> out;
        while (sqlite3_step(stmt) == SQLITE_ROW) {
            std::string row;
            for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
                if (i) row += '|';
                auto const* text = sqlite3_column_text(stmt, i);
                row += text ? reinterpret_cast<char const*>(text) : "NULL";
            }
            out.push_back(std::move(row));
        }
        sqlite3_finalize(stmt);
        return out;
    }
    std::string value(std::string const& sql) {
        auto r = rows(sql);
        return r.empty() ? std::string() : r.front();
    }
};

// The error code and message of what `f` throws (fails the test when it throws nothing or not an Error).
template <class F>
Error thrown_error(F&& f) {
    try {
        f();
    } catch (Error const& e) {
        return e;
    }
    FAIL("expected a chatkit::Error");
    throw std::logic_error("unreachable");
}

std::vector<std::string> ids(Page<ThreadItem> const& page) {
    std::vector<std::string> out;
    for (auto const& item : page.data)
        out.push_back(item_id(item));
    return out;
}

std::vector<std::string> all_item_ids(Store<Ctx>& store, std::string const& thread_id, Ctx const& ctx) {
    std::optional<std::string> none;
    return ids(run(store.load_thread_items(thread_id, none, 1'000'000, Order::asc, ctx)));
}

}  // namespace

TEST_CASE("SqliteStore keeps the store contract on a file", "[store][contract][sqlite]") {
    CHECK(test::contract::run_store_contract<SqliteFileStoreFactory>());
}

TEST_CASE("SqliteStore keeps the store contract on a file with reads on the writer and synchronous=FULL",
          "[store][contract][sqlite]") {
    CHECK(test::contract::run_store_contract<SqliteFileWriterOnlyStoreFactory>());
}

TEST_CASE("SqliteStore keeps the store contract in :memory:", "[store][contract][sqlite]") {
    CHECK(test::contract::run_store_contract<SqliteMemoryStoreFactory>());
}

TEST_CASE("SqliteStore scopes every method by the owner key", "[sqlite][tenancy]") {
    TempDir dir;
    SqliteStore<Ctx> store(options_for(dir.file()), by_user);
    Ctx alice;
    Ctx bob;
    bob.user = "bob";
    std::optional<std::string> none;

    run(store.save_thread(thread("thr_1", 1, "Alice's"), alice));
    ThreadItem m1 = message("m1", "thr_1", 1, "secret");
    run(store.add_thread_item("thr_1", m1, alice));
    run(store.save_attachment(file_attachment("atc_1"), alice));

    SECTION("reads: not found, empty pages, foreign cursors are unknown") {
        auto e = thrown_error([&] { run(store.load_thread("thr_1", bob)); });
        CHECK(e.code() == make_error_code(error::not_found));
        CHECK(e.message() == "Thread thr_1 not found");  // the same answer as for an id that never existed
        CHECK(run(store.load_threads(10, none, Order::asc, bob)).data.empty());
        CHECK(run(store.load_threads(10, none, Order::desc, bob)).data.empty());
        CHECK(run(store.load_thread_items("thr_1", none, 10, Order::asc, bob)).data.empty());
        e = thrown_error([&] { run(store.load_item("thr_1", "m1", bob)); });
        CHECK(e.code() == make_error_code(error::not_found));
        CHECK(e.message() == "Item m1 not found in thread thr_1");
        e = thrown_error([&] { run(store.load_attachment("atc_1", bob)); });
        CHECK(e.code() == make_error_code(error::not_found));
        CHECK(e.message() == "File atc_1 not found");
        std::optional<std::string> alice_thread = std::string("thr_1");
        e = thrown_error([&] { run(store.load_threads(10, alice_thread, Order::asc, bob)); });
        CHECK(e.code() == make_error_code(error::not_found));
        std::optional<std::string> alice_item = std::string("m1");
        e = thrown_error([&] { run(store.load_thread_items("thr_1", alice_item, 10, Order::desc, bob)); });
        CHECK(e.code() == make_error_code(error::not_found));
    }

    SECTION("writes: items cannot enter another owner's thread; deletes do not reach it") {
        ThreadItem intruder = message("m2", "thr_1", 2, "from bob");
        auto e = thrown_error([&] { run(store.add_thread_item("thr_1", intruder, bob)); });
        CHECK(e.code() == make_error_code(error::not_found));
        CHECK(e.message() == "Thread thr_1 not found");
        ThreadItem overwrite = message("m1", "thr_1", 1, "overwritten by bob");
        e = thrown_error([&] { run(store.save_item("thr_1", overwrite, bob)); });
        CHECK(e.code() == make_error_code(error::not_found));
        run(store.delete_thread_item("thr_1", "m1", bob));
        run(store.delete_thread("thr_1", bob));
        run(store.delete_attachment("atc_1", bob));
        CHECK(run(store.load_thread("thr_1", alice)).title == std::optional<std::string>("Alice's"));
        CHECK(run(store.load_item("thr_1", "m1", alice)) == m1);
        CHECK(all_item_ids(store, "thr_1", alice) == std::vector<std::string>{"m1"});
        CHECK(run(store.load_attachment("atc_1", alice)) == file_attachment("atc_1"));
    }

    SECTION("the same ids in two owners are two objects") {
        run(store.save_thread(thread("thr_1", 5, "Bob's"), bob));
        ThreadItem bobs = message("m1", "thr_1", 5, "bob's m1");
        run(store.add_thread_item("thr_1", bobs, bob));
        Attachment bob_file = file_attachment("atc_1");
        bob_file.name = "bob.txt";
        run(store.save_attachment(bob_file, bob));
        CHECK(run(store.load_thread("thr_1", bob)).title == std::optional<std::string>("Bob's"));
        CHECK(run(store.load_thread("thr_1", alice)).title == std::optional<std::string>("Alice's"));
        CHECK(run(store.load_item("thr_1", "m1", bob)) == bobs);
        CHECK(run(store.load_item("thr_1", "m1", alice)) == m1);
        CHECK(run(store.load_attachment("atc_1", bob)).name == "bob.txt");
        CHECK(run(store.load_attachment("atc_1", alice)).name == "notes.txt");
        run(store.delete_thread("thr_1", bob));
        CHECK(all_item_ids(store, "thr_1", alice) == std::vector<std::string>{"m1"});
        CHECK(run(store.load_threads(10, none, Order::asc, alice)).data.size() == 1);
    }

    SECTION("owner keys are exact byte strings") {
        std::vector<std::string> const users{"Alice",       "alice ", std::string("alice\0x", 7),
                                             "' OR '1'='1", "%",      ""};
        for (auto const& user : users) {
            Ctx other;
            other.user = user;
            CHECK_THROWS_AS(run(store.load_thread("thr_1", other)), Error);
            CHECK(run(store.load_threads(10, none, Order::asc, other)).data.empty());
        }
    }
}

TEST_CASE("SqliteStore without an owner key has a single owner", "[sqlite][tenancy]") {
    SqliteStore<Ctx> store(options_for(":memory:"));
    Ctx alice;
    Ctx bob;
    bob.user = "bob";
    run(store.save_thread(thread("thr_1", 1), alice));
    CHECK(run(store.load_thread("thr_1", bob)).id == "thr_1");
}

TEST_CASE("SqliteStore refuses items for a thread that does not exist", "[sqlite]") {
    SqliteStore<Ctx> store(options_for(":memory:"), by_user);
    Ctx alice;
    ThreadItem item = message("m1", "thr_none", 1);
    auto e = thrown_error([&] { run(store.add_thread_item("thr_none", item, alice)); });
    CHECK(e.code() == make_error_code(error::not_found));
    CHECK(e.message() == "Thread thr_none not found");
}

TEST_CASE("SqliteStore pages through long runs of equal created_at exactly once, in both orders",
          "[sqlite]") {
    TempDir dir;
    SqliteStore<Ctx> store(options_for(dir.file()), by_user);
    Ctx alice;
    run(store.save_thread(thread("thr_1", 0), alice));
    std::vector<std::string> expected;
    for (int i = 0; i < 300; ++i) {
        // Blocks of 50 items share a timestamp.
        ThreadItem item = message("m" + std::to_string(i), "thr_1", i / 50);
        run(store.add_thread_item("thr_1", item, alice));
        expected.push_back(item_id(item));
    }
    for (Order order : {Order::asc, Order::desc}) {
        std::vector<std::string> seen;
        std::optional<std::string> cursor;
        for (;;) {
            auto page = run(store.load_thread_items("thr_1", cursor, 7, order, alice));
            for (auto const& item : page.data)
                seen.push_back(item_id(item));
            if (!page.has_more) {
                CHECK_FALSE(page.after.has_value());
                break;
            }
            cursor = page.after;
        }
        auto want = expected;
        if (order == Order::desc) std::reverse(want.begin(), want.end());
        CHECK(seen == want);
    }
    // Threads with equal created_at too.
    for (int i = 0; i < 30; ++i)
        run(store.save_thread(thread("t" + std::to_string(i), 7), alice));
    std::vector<std::string> threads_seen;
    std::optional<std::string> cursor;
    for (;;) {
        auto page = run(store.load_threads(4, cursor, Order::asc, alice));
        for (auto const& t : page.data)
            threads_seen.push_back(t.id);
        if (!page.has_more) break;
        cursor = page.after;
    }
    REQUIRE(threads_seen.size() == 31);
    CHECK(threads_seen.front() == "thr_1");
    for (int i = 0; i < 30; ++i)
        CHECK(threads_seen[static_cast<std::size_t>(i) + 1] == "t" + std::to_string(i));
    // limit 0: nothing, but has_more says there is more; a negative limit is invalid.
    std::optional<std::string> none;
    auto empty = run(store.load_thread_items("thr_1", none, 0, Order::asc, alice));
    CHECK(empty.data.empty());
    CHECK(empty.has_more);
    auto e = thrown_error([&] { run(store.load_threads(-1, none, Order::asc, alice)); });
    CHECK(e.code() == make_error_code(error::invalid_request));
}

TEST_CASE("SqliteStore keeps everything across a reopen of the same file", "[sqlite]") {
    TempDir dir;
    Ctx alice;
    Ctx bob;
    bob.user = "bob";
    std::optional<std::string> none;
    ThreadMetadata t1 = thread("thr_1", 1, "One");
    t1.metadata = JsonObject{{"k", "v"}};
    ThreadItem a = message("a", "thr_1", 5, "first");
    ThreadItem b = message("b", "thr_1", 5, "second");
    ThreadItem b2 = message("b", "thr_1", 5, "second, edited");
    {
        SqliteStore<Ctx> store(options_for(dir.file()), by_user);
        run(store.save_thread(t1, alice));
        run(store.save_thread(thread("thr_2", 2), alice));
        run(store.save_thread(thread("thr_b", 1), bob));
        run(store.add_thread_item("thr_1", a, alice));
        run(store.add_thread_item("thr_1", b, alice));
        run(store.save_attachment(test::contract::image_attachment("atc_1"), alice));
    }
    {
        SqliteStore<Ctx> store(options_for(dir.file()), by_user);
        CHECK(run(store.load_thread("thr_1", alice)) == t1);
        CHECK(run(store.load_threads(10, none, Order::asc, alice)).data.size() == 2);
        CHECK(run(store.load_threads(10, none, Order::asc, bob)).data.size() == 1);
        CHECK(run(store.load_attachment("atc_1", alice)) == test::contract::image_attachment("atc_1"));
        // New rows continue the insertion order; an upsert keeps its place.
        ThreadItem c = message("c", "thr_1", 5, "third");
        run(store.add_thread_item("thr_1", c, alice));
        run(store.save_item("thr_1", b2, alice));
        run(store.save_thread(thread("thr_0", 2), alice));
        auto page = run(store.load_threads(10, none, Order::asc, alice));
        REQUIRE(page.data.size() == 3);
        CHECK(page.data[2].id == "thr_0");
    }
    SqliteStore<Ctx> store(options_for(dir.file()), by_user);
    CHECK(all_item_ids(store, "thr_1", alice) == std::vector<std::string>{"a", "b", "c"});
    CHECK(run(store.load_item("thr_1", "b", alice)) == b2);

    RawDb raw(dir.file());
    CHECK(raw.value("PRAGMA journal_mode") == "wal");
    CHECK(raw.value("PRAGMA user_version") == std::to_string(sqlite::detail::backend::schema_version));
    CHECK(raw.value("PRAGMA application_id") == std::to_string(sqlite::detail::backend::application_id));
    CHECK(raw.value("PRAGMA integrity_check") == "ok");
    CHECK(raw.rows("PRAGMA foreign_key_check").empty());
}

TEST_CASE("SqliteStore deletes a thread's items with it", "[sqlite]") {
    TempDir dir;
    Ctx alice;
    {
        SqliteStore<Ctx> store(options_for(dir.file()), by_user);
        run(store.save_thread(thread("thr_1", 1), alice));
        for (int i = 0; i < 5; ++i) {
            ThreadItem item = message("m" + std::to_string(i), "thr_1", i);
            run(store.add_thread_item("thr_1", item, alice));
        }
        run(store.delete_thread("thr_1", alice));
        // Re-creating the thread does not bring the items back.
        run(store.save_thread(thread("thr_1", 1), alice));
        CHECK(all_item_ids(store, "thr_1", alice).empty());
    }
    RawDb raw(dir.file());
    CHECK(raw.value("SELECT count(*) FROM items") == "0");
}

TEST_CASE("SqliteStore reports unreadable rows as store failures naming the row", "[sqlite][bad-data]") {
    TempDir dir;
    Ctx alice;
    std::optional<std::string> none;
    {
        SqliteStore<Ctx> store(options_for(dir.file()), by_user);
        run(store.save_thread(thread("thr_1", 1), alice));
        run(store.save_thread(thread("thr_2", 2), alice));
        ThreadItem good = message("m_good", "thr_1", 1);
        ThreadItem bad = message("m_bad", "thr_1", 2);
        ThreadItem shape = message("m_shape", "thr_1", 3);
        run(store.add_thread_item("thr_1", good, alice));
        run(store.add_thread_item("thr_1", bad, alice));
        run(store.add_thread_item("thr_1", shape, alice));
        run(store.save_attachment(file_attachment("atc_1"), alice));
    }
    {
        RawDb raw(dir.file());
        raw.exec("UPDATE items SET data = '{\"id\": \"m_bad\", \"type\": ' WHERE id = 'm_bad'");
        raw.exec(
            "UPDATE items SET data = '{\"id\": \"m_shape\", \"type\": \"no_such_item\"}' WHERE id = "
            "'m_shape'");
        raw.exec("UPDATE threads SET data = 'not json' WHERE id = 'thr_2'");
        raw.exec("UPDATE attachments SET data = '[]' WHERE id = 'atc_1'");
    }
    SqliteStore<Ctx> store(options_for(dir.file()), by_user);
    auto expect_failure = [](Error const& e, std::string const& names) {
        CHECK(e.code() == make_error_code(error::store_failure));
        CHECK_THAT(e.message(), Catch::Contains(names));
    };
    expect_failure(thrown_error([&] { run(store.load_item("thr_1", "m_bad", alice)); }),
                   "item m_bad of thread thr_1");
    expect_failure(thrown_error([&] { run(store.load_item("thr_1", "m_shape", alice)); }), "item m_shape");
    expect_failure(thrown_error([&] { run(store.load_thread_items("thr_1", none, 10, Order::asc, alice)); }),
                   "item m_bad");
    expect_failure(thrown_error([&] { run(store.load_thread("thr_2", alice)); }), "thread thr_2");
    expect_failure(thrown_error([&] { run(store.load_threads(10, none, Order::desc, alice)); }),
                   "thread thr_2");
    expect_failure(thrown_error([&] { run(store.load_attachment("atc_1", alice)); }), "attachment atc_1");
    // The rest stays readable, and a bad row can be replaced or deleted.
    CHECK(item_id(run(store.load_item("thr_1", "m_good", alice))) == "m_good");
    CHECK(run(store.load_thread_items("thr_1", none, 1, Order::asc, alice)).data.size() == 1);
    CHECK(run(store.load_thread("thr_1", alice)).id == "thr_1");
    ThreadItem fixed = message("m_bad", "thr_1", 2, "fixed");
    run(store.save_item("thr_1", fixed, alice));
    CHECK(run(store.load_item("thr_1", "m_bad", alice)) == fixed);
    run(store.delete_thread_item("thr_1", "m_shape", alice));
    CHECK(all_item_ids(store, "thr_1", alice) == std::vector<std::string>{"m_good", "m_bad"});
}

TEST_CASE("SqliteStore refuses to open what it cannot use, with a clear error", "[sqlite][bad-data]") {
    TempDir dir;
    auto open_error = [](std::string const& path) {
        return thrown_error([&] { SqliteStore<Ctx> store(options_for(path)); });
    };
    auto expect = [](Error const& e, std::string const& text) {
        CHECK(e.code() == make_error_code(error::store_failure));
        CHECK_THAT(e.message(), Catch::Contains(text));
        CHECK_THAT(e.message(), Catch::StartsWith("SqliteStore: cannot open database"));
    };

    SECTION("a missing directory") {
        expect(open_error(dir.file("missing/store.db")), "does not exist");
        CHECK_FALSE(fs::exists(dir.path / "missing"));
    }
    SECTION("a directory that is a file") {
        std::ofstream(dir.file("plain")) << "x";
        expect(open_error(dir.file("plain/store.db")), "is not a directory");
    }
    SECTION("a place where no file can be created") {
        expect(open_error("/proc/chatkit-sqlite-test.db"), "/proc/chatkit-sqlite-test.db");
    }
    SECTION("a read-only directory") {
        if (geteuid() == 0) {
            WARN("running as root: permissions are not enforced, skipped");
            return;
        }
        fs::create_directory(dir.path / "ro");
        fs::permissions(dir.path / "ro", fs::perms::owner_read | fs::perms::owner_exec);
        expect(open_error(dir.file("ro/store.db")), "store.db");
        fs::permissions(dir.path / "ro", fs::perms::owner_all);
    }
    SECTION("a schema version from the future") {
        { SqliteStore<Ctx> store(options_for(dir.file())); }
        {
            RawDb raw(dir.file());
            raw.exec("PRAGMA user_version = 99");
        }
        auto e = open_error(dir.file());
        expect(e, "schema version 99 is newer");
        // Nothing was changed: the version is still the future one.
        RawDb raw(dir.file());
        CHECK(raw.value("PRAGMA user_version") == "99");
    }
    SECTION("a file that is not a database") {
        std::ofstream(dir.file(), std::ios::binary) << std::string(8192, '\x5a');
        expect(open_error(dir.file()), "not a database");
        CHECK(fs::file_size(dir.file()) == 8192);
    }
    SECTION("another application's database") {
        {
            RawDb raw(dir.file());
            raw.exec("CREATE TABLE threads (x)");
        }
        expect(open_error(dir.file()), "not chatkit-cpp's");
        RawDb raw(dir.file());
        raw.exec("PRAGMA application_id = 42");
        expect(open_error(dir.file()), "not a chatkit-cpp database");
    }
    SECTION("an empty path") {
        auto e = open_error("");
        CHECK(e.code() == make_error_code(error::store_failure));
        CHECK_THAT(e.message(), Catch::Contains(":memory:"));
    }
}

namespace {

// One worker of the concurrency test: writes to the shared thread and its own, reads both, and checks
// it always resumes on its own strand.
asio::awaitable<void> concurrency_worker(SqliteStore<Ctx>& store, int worker, int rounds,
                                         std::atomic<int>& off_strand) {
    auto strand = co_await asio::this_coro::executor;
    Ctx ctx;
    ctx.user = worker % 2 ? "alice" : "bob";
    std::string const own = "thr_w" + std::to_string(worker);
    ThreadMetadata mine = thread(own, worker);
    co_await store.save_thread(mine, ctx);
    std::optional<std::string> none;
    for (int k = 0; k < rounds; ++k) {
        std::string const suffix = std::to_string(worker) + "_" + std::to_string(k);
        ThreadItem shared = message("s" + suffix, "thr_shared", 0);
        co_await store.add_thread_item("thr_shared", shared, ctx);
        ThreadItem item = message("o" + suffix, own, k);
        co_await store.add_thread_item(own, item, ctx);
        auto recent = co_await store.load_thread_items("thr_shared", none, 5, Order::desc, ctx);
        if (recent.data.empty()) throw std::runtime_error("a written item is not visible");
        auto loaded = co_await store.load_item(own, "o" + suffix, ctx);
        if (loaded != item) throw std::runtime_error("read back a different item");
        if (k % 5 == 0) {
            auto threads = co_await store.load_threads(20, none, Order::asc, ctx);
            if (threads.data.empty()) throw std::runtime_error("a saved thread is not listed");
        }
        auto const* on = strand.target<asio::strand<asio::io_context::executor_type>>();
        if (!on || !on->running_in_this_thread()) ++off_strand;
    }
}

}  // namespace

TEST_CASE("SqliteStore is correct under a 4-thread io_context", "[sqlite][concurrency]") {
    TempDir dir;
    auto path = GENERATE(as<std::string>{}, "file", ":memory:");
    SqliteStore<Ctx> store(options_for(path == "file" ? dir.file() : path), by_user);
    Ctx alice;
    Ctx bob;
    bob.user = "bob";
    run(store.save_thread(thread("thr_shared", 0), alice));
    run(store.save_thread(thread("thr_shared", 0), bob));

    int const workers = 16;
    int const rounds = 20;
    asio::io_context io(4);
    std::atomic<int> failures{0};
    std::atomic<int> finished{0};
    std::atomic<int> off_strand{0};
    std::mutex errors_mutex;
    std::vector<std::string> errors;
    for (int w = 0; w < workers; ++w) {
        asio::co_spawn(asio::make_strand(io), concurrency_worker(store, w, rounds, off_strand),
                       [&](std::exception_ptr e) {
                           ++finished;
                           if (!e) return;
                           ++failures;
                           try {
                               std::rethrow_exception(e);
                           } catch (std::exception const& x) {
                               std::lock_guard lock(errors_mutex);
                               errors.emplace_back(x.what());
                           }
                       });
    }
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] { io.run(); });
    for (auto& t : threads)
        t.join();

    INFO((errors.empty() ? std::string() : errors.front()));
    CHECK(failures == 0);
    CHECK(finished == workers);
    CHECK(off_strand == 0);
    // Every item is there exactly once, and each writer's items keep their order.
    for (Ctx const* ctx : {&alice, &bob}) {
        auto shared = all_item_ids(store, "thr_shared", *ctx);
        CHECK(shared.size() == static_cast<std::size_t>(workers / 2 * rounds));
        CHECK(std::set<std::string>(shared.begin(), shared.end()).size() == shared.size());
        std::optional<std::string> none;
        CHECK(run(store.load_threads(100, none, Order::asc, *ctx)).data.size() == workers / 2 + 1);
    }
    for (int w = 0; w < workers; ++w) {
        Ctx ctx;
        ctx.user = w % 2 ? "alice" : "bob";
        auto shared = all_item_ids(store, "thr_shared", ctx);
        int last = -1;
        for (auto const& id : shared) {
            std::string const prefix = "s" + std::to_string(w) + "_";
            if (!id.starts_with(prefix)) continue;
            int const k = std::stoi(id.substr(prefix.size()));
            CHECK(k == last + 1);
            last = k;
        }
        CHECK(last == rounds - 1);
        CHECK(all_item_ids(store, "thr_w" + std::to_string(w), ctx).size() ==
              static_cast<std::size_t>(rounds));
    }
}

TEST_CASE("SqliteStore blocks its own threads, never the caller's io_context", "[sqlite][concurrency]") {
    TempDir dir;
    auto options = options_for(dir.file());
    options.busy_timeout = std::chrono::milliseconds(10'000);
    SqliteStore<Ctx> store(options, by_user);
    Ctx alice;
    run(store.save_thread(thread("thr_1", 0), alice));

    // Another connection holds the write lock: the store's write waits for it (busy_timeout).
    RawDb locker(dir.file());
    locker.exec("BEGIN IMMEDIATE");
    locker.exec("INSERT INTO sequences (name, value) VALUES ('lock', 0)");

    asio::io_context io;  // one thread: if the store blocked it, the timer below could not fire
    bool write_done = false;
    bool ticked_while_pending = false;
    std::exception_ptr write_error;
    ThreadItem item = message("m1", "thr_1", 1);
    std::string const thread_id = "thr_1";  // the references a store call takes must outlive it
    asio::co_spawn(io, store.add_thread_item(thread_id, item, alice), [&](std::exception_ptr e) {
        write_done = true;
        write_error = e;
    });
    asio::steady_timer timer(io, std::chrono::milliseconds(100));
    timer.async_wait([&](boost::system::error_code) {
        ticked_while_pending = !write_done;
        locker.exec("ROLLBACK");  // release the lock: the write proceeds
    });
    io.run();
    CHECK(ticked_while_pending);
    CHECK(write_done);
    CHECK_FALSE(write_error);
    CHECK(all_item_ids(store, "thr_1", alice) == std::vector<std::string>{"m1"});
}

TEST_CASE("SqliteStore fails a write cleanly when the database stays locked", "[sqlite][concurrency]") {
    TempDir dir;
    auto options = options_for(dir.file());
    options.busy_timeout = std::chrono::milliseconds(50);
    SqliteStore<Ctx> store(options, by_user);
    Ctx alice;
    run(store.save_thread(thread("thr_1", 0), alice));
    {
        RawDb locker(dir.file());
        locker.exec("BEGIN IMMEDIATE");
        locker.exec("INSERT INTO sequences (name, value) VALUES ('lock', 0)");
        ThreadItem item = message("m1", "thr_1", 1);
        auto e = thrown_error([&] { run(store.add_thread_item("thr_1", item, alice)); });
        CHECK(e.code() == make_error_code(error::store_busy));  // 503 with Retry-After to the client
        CHECK(http_status(e.code()) == 503);
        CHECK_THAT(e.message(), Catch::Contains("locked"));
        // Readers are not blocked by a writer (WAL).
        CHECK(run(store.load_thread("thr_1", alice)).id == "thr_1");
        locker.exec("ROLLBACK");
    }
    ThreadItem item = message("m1", "thr_1", 1);
    run(store.add_thread_item("thr_1", item, alice));
    CHECK(all_item_ids(store, "thr_1", alice) == std::vector<std::string>{"m1"});
}

namespace {

// The code of the Error in `e` (an empty code when `e` is null or not an Error).
boost::system::error_code code_of(std::exception_ptr const& e) {
    if (!e) return {};
    try {
        std::rethrow_exception(e);
    } catch (Error const& error) {
        return error.code();
    } catch (...) {
        return make_error_code(error::internal);
    }
}

}  // namespace

TEST_CASE("SqliteStore fails only the failing write of writes committed together", "[sqlite][concurrency]") {
    TempDir dir;
    auto options = options_for(dir.file());
    options.busy_timeout = std::chrono::milliseconds(10'000);
    SqliteStore<Ctx> store(options, by_user);
    Ctx alice;
    run(store.save_thread(thread("thr_1", 0), alice));

    // While another connection holds the write lock, the writes queue up behind the first one; once
    // it is released they run, most of them in one transaction.
    RawDb locker(dir.file());
    locker.exec("BEGIN IMMEDIATE");
    locker.exec("INSERT INTO sequences (name, value) VALUES ('lock', 0)");
    asio::io_context io;
    std::vector<ThreadItem> items;
    items.reserve(8);
    for (int n = 0; n < 8; ++n) items.emplace_back(message("m" + std::to_string(n), "thr_1", n));
    std::vector<std::string> const thread_ids{"thr_1", "thr_1", "thr_1", "thr_missing",
                                              "thr_1", "thr_1", "thr_1", "thr_1"};
    std::vector<std::exception_ptr> errors(items.size());
    std::vector<bool> done(items.size(), false);
    for (std::size_t n = 0; n < items.size(); ++n)
        asio::co_spawn(io, store.add_thread_item(thread_ids[n], items[n], alice), [&, n](std::exception_ptr e) {
            done[n] = true;
            errors[n] = e;
        });
    asio::steady_timer timer(io, std::chrono::milliseconds(100));
    timer.async_wait([&](boost::system::error_code) { locker.exec("ROLLBACK"); });
    io.run();

    for (std::size_t n = 0; n < items.size(); ++n) {
        CHECK(done[n]);
        if (n == 3)
            CHECK(code_of(errors[n]) == make_error_code(error::not_found));  // Thread thr_missing not found
        else
            CHECK_FALSE(errors[n]);
    }
    CHECK(all_item_ids(store, "thr_1", alice) ==
          std::vector<std::string>{"m0", "m1", "m2", "m4", "m5", "m6", "m7"});
    CHECK(all_item_ids(store, "thr_missing", alice).empty());
}

TEST_CASE("SqliteStore refuses a write with store_busy when max_queued_writes are waiting",
          "[sqlite][concurrency]") {
    TempDir dir;
    auto options = options_for(dir.file());
    options.busy_timeout = std::chrono::milliseconds(10'000);
    options.max_queued_writes = 1;
    SqliteStore<Ctx> store(options, by_user);
    Ctx alice;
    run(store.save_thread(thread("thr_1", 0), alice));

    // The writer waits for the lock with at most one write, one more waits in the queue: of three
    // writes, at least one finds the queue full.
    RawDb locker(dir.file());
    locker.exec("BEGIN IMMEDIATE");
    locker.exec("INSERT INTO sequences (name, value) VALUES ('lock', 0)");
    asio::io_context io;
    std::vector<ThreadItem> items{message("m0", "thr_1", 0), message("m1", "thr_1", 1), message("m2", "thr_1", 2)};
    std::string const thread_id = "thr_1";
    std::vector<std::exception_ptr> errors(items.size());
    int finished = 0;
    int refused_before_release = 0;
    bool released = false;
    for (std::size_t n = 0; n < items.size(); ++n)
        asio::co_spawn(io, store.add_thread_item(thread_id, items[n], alice), [&, n](std::exception_ptr e) {
            ++finished;
            errors[n] = e;
            if (e && !released) ++refused_before_release;
        });
    asio::steady_timer timer(io, std::chrono::milliseconds(100));
    timer.async_wait([&](boost::system::error_code) {
        released = true;
        locker.exec("ROLLBACK");
    });
    io.run();

    CHECK(finished == 3);
    std::vector<std::string> stored;
    int refused = 0;
    for (std::size_t n = 0; n < items.size(); ++n) {
        if (!errors[n]) {
            stored.push_back(item_id(items[n]));
            continue;
        }
        ++refused;
        auto const e = thrown_error([&] { std::rethrow_exception(errors[n]); });
        CHECK(e.code() == make_error_code(error::store_busy));  // 503 with Retry-After to the client
        CHECK_THAT(e.message(), Catch::Contains("max_queued_writes"));
    }
    CHECK(refused >= 1);
    CHECK(refused_before_release == refused);  // refused at once, not after waiting
    CHECK(all_item_ids(store, "thr_1", alice) == stored);
    // Once the queue has room again, writes are accepted.
    ThreadItem later = message("m3", "thr_1", 3);
    run(store.add_thread_item("thr_1", later, alice));
    stored.emplace_back("m3");
    CHECK(all_item_ids(store, "thr_1", alice) == stored);
}

#ifdef CHATKIT_SQLITE_CRASH_CHILD
namespace {

// Starts the crash child writing into `path`; its stdout is the returned pipe.
pid_t spawn_child(std::string const& path, int round, int& out_fd) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addclose(&actions, fds[1]);
    std::string exe = CHATKIT_SQLITE_CRASH_CHILD;
    std::string round_arg = std::to_string(round);
    char* argv[] = {exe.data(), const_cast<char*>(path.c_str()), round_arg.data(), nullptr};
    pid_t pid = -1;
    int const rc = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    REQUIRE(rc == 0);
    out_fd = fds[0];
    return pid;
}

// Reads what is available on `fd` within `timeout` into `buffer`; false on EOF or timeout.
bool read_some(int fd, std::string& buffer, std::chrono::milliseconds timeout) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char chunk[4096];
    auto const n = read(fd, chunk, sizeof chunk);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<std::size_t>(n));
    return true;
}

std::vector<std::string> complete_lines(std::string const& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    for (auto end = text.find('\n'); end != std::string::npos; end = text.find('\n', start)) {
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

}  // namespace

TEST_CASE("SqliteStore loses no completed write when its process is killed", "[sqlite][crash]") {
    TempDir dir;
    std::string const path = dir.file();
    std::mt19937 rng(std::random_device{}());
    Ctx ctx;  // the child writes as the default owner
    ctx.user = "";
    int const rounds = 5;
    for (int round = 0; round < rounds; ++round) {
        int out = -1;
        pid_t const child = spawn_child(path, round, out);
        // Let it write a random number of items, then kill it at a random moment.
        std::size_t const wanted = std::uniform_int_distribution<std::size_t>(1, 40)(rng);
        std::string output;
        auto const deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (complete_lines(output).size() < wanted && std::chrono::steady_clock::now() < deadline)
            if (!read_some(out, output, std::chrono::milliseconds(200)) &&
                waitpid(child, nullptr, WNOHANG) != 0)
                break;
        std::this_thread::sleep_for(
            std::chrono::microseconds(std::uniform_int_distribution<int>(0, 5000)(rng)));
        kill(child, SIGKILL);
        int status = 0;
        waitpid(child, &status, 0);
        while (read_some(out, output, std::chrono::milliseconds(1000))) {
        }
        close(out);
        CHECK(WIFSIGNALED(status));

        auto const printed = complete_lines(output);
        INFO("round " << round << ": the child reported " << printed.size() << " completed writes");
        REQUIRE_FALSE(printed.empty());
        {
            RawDb raw(path);
            CHECK(raw.value("PRAGMA integrity_check") == "ok");
            CHECK(raw.rows("PRAGMA foreign_key_check").empty());
        }
        SqliteStore<Ctx> store(options_for(path));
        auto const stored = all_item_ids(store, "thr_crash", ctx);
        std::vector<std::string> this_round;
        std::string const prefix = "r" + std::to_string(round) + "_";
        for (auto const& id : stored)
            if (id.starts_with(prefix)) this_round.push_back(id);
        // Every reported write is there, in order; at most one more write committed unreported.
        REQUIRE(this_round.size() >= printed.size());
        CHECK(this_round.size() <= printed.size() + 1);
        CHECK(std::vector<std::string>(this_round.begin(),
                                       this_round.begin() + static_cast<long>(printed.size())) == printed);
        CHECK(std::set<std::string>(stored.begin(), stored.end()).size() == stored.size());
    }
}

TEST_CASE("SqliteStore reads back a row nested to max_json_depth and refuses a deeper one", "[sqlite]") {
    TempDir dir;
    SqliteStore<Ctx> store(options_for(dir.file()), by_user);
    Ctx alice;
    run(store.save_thread(thread("thr_1", 0), alice));
    // A user message whose tag data nests `k` levels: the stored row is a fixed number deeper.
    auto tagged = [](std::string id, std::size_t k) {
        JsonValue inner = JsonObject{};
        for (std::size_t i = 1; i < k; ++i) inner = JsonObject{{"d", inner}};
        UserMessageItem m;
        m.id = std::move(id);
        m.thread_id = "thr_1";
        m.content.emplace_back(UserMessageTagContent{"tag", "Tag", inner.as_object(), std::nullopt, false});
        return ThreadItem{std::move(m)};
    };
    std::size_t const base = json_text_depth(to_json_text(tagged("x", 1), JsonMode::store)) - 1;
    ThreadItem const at_limit = tagged("at_limit", max_json_depth - base);
    REQUIRE(json_text_depth(to_json_text(at_limit, JsonMode::store)) == max_json_depth);
    run(store.add_thread_item("thr_1", at_limit, alice));
    CHECK(run(store.load_item("thr_1", "at_limit", alice)) == at_limit);

    auto e = thrown_error([&] { run(store.add_thread_item("thr_1", tagged("too_deep", max_json_depth - base + 1), alice)); });
    CHECK(e.code() == make_error_code(error::invalid_request));
    // The thread stays readable: nothing deeper than the reader's limit was written.
    auto page = run(store.load_thread_items("thr_1", std::nullopt, 10, Order::asc, alice));
    REQUIRE(page.data.size() == 1);
    CHECK(item_id(page.data[0]) == "at_limit");
}
#endif
