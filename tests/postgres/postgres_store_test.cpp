// PostgresStore: what is PostgreSQL-specific. Several instances on one database, migrations,
// connections lost, serialization failures, a server restart, timeouts, TLS verification, and a
// store call that never blocks the caller's thread.
#include <chatkit/store/postgres/store.hpp>

#include "contract/store_contract.hpp"
#include "postgres/pg_support.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <atomic>
#include <future>
#include <map>
#include <set>
#include <thread>

#include <csignal>

namespace {

namespace asio = boost::asio;
using namespace chatkit;
using test::Ctx;
using test::run;
using test::contract::message;
using test::contract::thread;

std::string by_user(Ctx const& c) { return c.user; }

// Arguments of calls that run on another thread or after the statement that started them.
std::string const thread_id = "thr_1";
std::optional<std::string> const no_cursor;

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

// How a call that ran on another thread failed: the error's code and message, copied on that
// thread (an exception handed across threads through std::future would share its refcount with
// libstdc++'s uninstrumented code, which ThreadSanitizer cannot follow).
struct Failure {
    boost::system::error_code code;
    std::string message;
};

template <class T>
asio::awaitable<std::optional<Failure>> failure_of(asio::awaitable<T> call) {
    std::optional<Failure> failure;
    try {
        (void)co_await std::move(call);
    } catch (Error const& e) {
        failure.emplace();
        failure->code = e.code();
        failure->message = e.message();
    }
    co_return failure;
}

// An io_context running on a thread of its own, for calls that must be in flight while the test
// thread acts on the database. What a call takes by reference must outlive it: name the arguments
// (thread_id, no_cursor), never pass temporaries.
struct Background {
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
    std::thread thread{[this] { io.run(); }};
    ~Background() {
        work.reset();
        thread.join();
    }
    /// Starts `call`; the future says how it failed (nothing when it succeeded).
    template <class T>
    std::future<std::optional<Failure>> start(asio::awaitable<T> call) {
        return asio::co_spawn(io, failure_of(std::move(call)), asio::use_future);
    }
};

// The failure of a call started in the background (fails the test when it succeeded).
Failure failed(std::future<std::optional<Failure>>& call) {
    auto failure = call.get();
    if (!failure) FAIL("expected the call to fail");
    return *failure;
}

}  // namespace

TEST_CASE("two stores appending to one thread at once keep a strictly ordered per-thread sequence",
          "[postgres][instances]") {
    if (test::pg::skipped()) return;
    auto const& cluster = *test::pg::shared();
    auto options = test::pg::options_for(cluster.url);
    // Two instances: two stores, two pools, one database.
    PostgresStore<Ctx> a(options, by_user);
    PostgresStore<Ctx> b(options, by_user);
    Ctx alice;
    run(a.save_thread(thread("thr_shared", 0), alice));
    constexpr int per_writer = 60;
    // Every item has the same created_at: only the per-thread sequence orders them.
    auto append = [](Store<Ctx>& store, std::string prefix, Ctx ctx) -> asio::awaitable<void> {
        for (int i = 0; i < per_writer; ++i) {
            ThreadItem item = message(prefix + std::to_string(i), "thr_shared", 1);
            co_await store.add_thread_item("thr_shared", item, ctx);
        }
    };
    asio::thread_pool pool(4);
    auto fa = asio::co_spawn(asio::make_strand(pool), append(a, "a", alice), asio::use_future);
    auto fb = asio::co_spawn(asio::make_strand(pool), append(b, "b", alice), asio::use_future);
    auto fa2 = asio::co_spawn(asio::make_strand(pool), append(a, "c", alice), asio::use_future);
    fa.get();
    fb.get();
    fa2.get();
    pool.join();

    test::pg::Raw raw(cluster.url);
    auto const seqs = raw.rows("SELECT seq FROM " + options.schema +
                               ".chatkit_items WHERE thread_id = 'thr_shared' ORDER BY seq");
    REQUIRE(seqs.size() == 3 * per_writer);
    for (std::size_t i = 0; i < seqs.size(); ++i)
        CHECK(seqs[i] == std::to_string(i + 1));  // distinct, no gap

    // Both instances read the same total order, in which each writer's items keep their order;
    // paging through it in both directions sees every item once.
    std::optional<std::string> none;
    auto const from_a = ids(run(a.load_thread_items("thr_shared", none, 1000, Order::asc, alice)));
    auto const from_b = ids(run(b.load_thread_items("thr_shared", none, 1000, Order::asc, alice)));
    CHECK(from_a == from_b);
    REQUIRE(from_a.size() == 3 * per_writer);
    std::map<char, int> next;
    for (auto const& id : from_a) {
        int const n = std::stoi(id.substr(1));
        CHECK(n == next[id[0]]);
        next[id[0]] = n + 1;
    }
    std::vector<std::string> paged;
    std::optional<std::string> cursor;
    for (;;) {
        auto page = run(b.load_thread_items("thr_shared", cursor, 13, Order::desc, alice));
        for (auto const& item : page.data)
            paged.push_back(item_id(item));
        if (!page.has_more) break;
        cursor = page.after;
    }
    std::reverse(paged.begin(), paged.end());
    CHECK(paged == from_a);
}

TEST_CASE("migrations run once when several stores open a database together, and a newer schema is refused",
          "[postgres][migrations]") {
    if (test::pg::skipped()) return;
    auto const& cluster = *test::pg::shared();
    auto const options = test::pg::options_for(cluster.url);
    std::vector<std::thread> openers;
    openers.reserve(6);
    std::atomic<int> opened{0};
    std::atomic<int> failed{0};
    for (int i = 0; i < 6; ++i)
        openers.emplace_back([&] {
            try {
                PostgresStore<Ctx> store(options, by_user);
                ++opened;
            } catch (std::exception const&) {
                ++failed;
            }
        });
    for (auto& t : openers)
        t.join();
    CHECK(opened == 6);
    CHECK(failed == 0);
    test::pg::Raw raw(cluster.url);
    CHECK(raw.rows("SELECT version, description FROM " + options.schema +
                   ".chatkit_migrations ORDER BY version") ==
          std::vector<std::string>{"1|threads, items and attachments", "2|token usage", "3|shared run log"});

    // Data written under the current version stays; a database a newer chatkit-cpp migrated is refused, untouched.
    {
        PostgresStore<Ctx> store(options, by_user);
        Ctx alice;
        run(store.save_thread(thread("thr_1", 1, "kept"), alice));
    }
    raw.exec("INSERT INTO " + options.schema +
             ".chatkit_migrations (version, description) VALUES (4, 'from the future')");
    auto const e = thrown_error([&] { PostgresStore<Ctx> store(options, by_user); });
    CHECK(e.code() == make_error_code(error::store_failure));
    CHECK(e.message().find("schema is version 4, newer than this chatkit-cpp understands (3)") !=
          std::string::npos);
    CHECK(raw.value("SELECT count(*) FROM " + options.schema + ".chatkit_threads") == "1");
}

TEST_CASE("a role with only data rights opens an up-to-date schema, and one that cannot create it is refused",
          "[postgres][migrations]") {
    if (test::pg::skipped()) return;
    auto const& cluster = *test::pg::shared();
    auto const options = test::pg::options_for(cluster.url);
    Ctx alice;
    {
        PostgresStore<Ctx> owner(options, by_user);  // migrates, as the cluster's superuser
        run(owner.save_thread(thread("thr_1", 1, "made by the owner"), alice));
    }
    test::pg::Raw raw(cluster.url);
    auto const role = "app_" + test::pg::fresh_schema();
    auto const& s = options.schema;
    raw.exec("CREATE ROLE " + role + " LOGIN PASSWORD 'app-secret'; GRANT USAGE ON SCHEMA " + s + " TO " +
             role + "; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " + s + " TO " + role +
             "; GRANT USAGE ON ALL SEQUENCES IN SCHEMA " + s + " TO " + role);
    auto app = options;
    app.user = role;
    app.password = "app-secret";
    {
        PostgresStore<Ctx> store(app, by_user);
        CHECK(run(store.load_thread("thr_1", alice)).title ==
              std::optional<std::string>("made by the owner"));
        run(store.save_thread(thread("thr_2", 2, "made by the app"), alice));
        ThreadItem item = message("m1", "thr_2", 3);
        run(store.add_thread_item("thr_2", item, alice));
        CHECK(run(store.load_item("thr_2", "m1", alice)) == item);
    }
    auto fresh = app;
    fresh.schema = test::pg::fresh_schema();
    auto const e = thrown_error([&] { PostgresStore<Ctx> store(fresh, by_user); });
    CHECK(e.code() == make_error_code(error::store_failure));
    CHECK(e.message().find("permission denied") != std::string::npos);
}

TEST_CASE(
    "a connection killed mid-call fails that call with store_busy, and the next call succeeds on a new "
    "connection",
    "[postgres][faults]") {
    if (test::pg::skipped()) return;
    auto const& cluster = *test::pg::shared();
    auto options = test::pg::options_for(cluster.url, "ck-kill-" + test::pg::fresh_schema());
    PostgresStore<Ctx> store(options, by_user);
    Ctx alice;
    run(store.save_thread(thread("thr_1", 1, "before"), alice));
    auto const opened_before = store.stats().opened;

    test::pg::Raw raw(cluster.url);
    // The call waits on a lock, so it is certainly in flight when its backend is terminated.
    raw.exec("BEGIN; LOCK TABLE " + options.schema + ".chatkit_threads IN ACCESS EXCLUSIVE MODE");
    std::future<std::optional<Failure>> call;
    {
        Background background;
        call = background.start(store.load_thread(thread_id, alice));
        auto const pid = test::pg::wait_for_lock_waiter(raw, options.application_name);
        REQUIRE(pid);
        raw.exec("SELECT pg_terminate_backend(" + std::to_string(*pid) + ")");
        auto const e = failed(call);
        CHECK(e.code == make_error_code(error::store_busy));
        CHECK(e.message.find("connection") != std::string::npos);
        raw.exec("COMMIT");
    }
    CHECK(run(store.load_thread("thr_1", alice)).title == std::optional<std::string>("before"));
    auto const stats = store.stats();
    CHECK(stats.opened == opened_before + 1);
    CHECK(stats.closed >= 1);

    SECTION("an idle connection the server terminated is replaced before a call uses it") {
        auto const idle_pids = raw.rows("SELECT pid FROM pg_stat_activity WHERE application_name = '" +
                                        options.application_name + "'");
        REQUIRE_FALSE(idle_pids.empty());
        for (auto const& pid : idle_pids)
            raw.exec("SELECT pg_terminate_backend(" + pid + ")");
        // Wait until those sessions have ended (their sockets are closed).
        for (int i = 0; i < 1000 && !raw.rows("SELECT pid FROM pg_stat_activity WHERE application_name = '" +
                                              options.application_name + "'")
                                         .empty();
             ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        ThreadMetadata renamed = thread("thr_1", 1, "after");
        run(store.save_thread(renamed, alice));  // no error: the dead connection never served it
        CHECK(run(store.load_thread("thr_1", alice)).title == std::optional<std::string>("after"));
    }
}

TEST_CASE("serialization failures and deadlocks are retried a bounded number of times",
          "[postgres][faults]") {
    if (test::pg::skipped()) return;
    auto const& cluster = *test::pg::shared();
    auto options = test::pg::options_for(cluster.url);
    options.serialization_retries = 3;
    PostgresStore<Ctx> store(options, by_user);
    Ctx alice;
    run(store.save_thread(thread("thr_1", 0), alice));

    // The server fails the first N writes of an item with the given SQLSTATE; the counter is a
    // sequence, which no rollback undoes, so it also counts the attempts.
    test::pg::Raw raw(cluster.url);
    auto const s = options.schema;
    auto inject = [&](int failures, char const* sqlstate) {
        raw.exec("DROP TRIGGER IF EXISTS inject ON " + s + ".chatkit_items; DROP SEQUENCE IF EXISTS " + s +
                 ".attempts; CREATE SEQUENCE " + s + ".attempts; CREATE OR REPLACE FUNCTION " + s +
                 ".inject() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF nextval('" + s +
                 ".attempts') <= " + std::to_string(failures) +
                 " THEN RAISE EXCEPTION 'injected' USING ERRCODE = '" + sqlstate +
                 "'; END IF; RETURN NEW; END $$; CREATE TRIGGER inject BEFORE INSERT OR UPDATE ON " + s +
                 ".chatkit_items FOR EACH ROW EXECUTE FUNCTION " + s + ".inject()");
    };
    auto attempts = [&] { return std::stoi(raw.value("SELECT last_value FROM " + s + ".attempts")); };

    SECTION("a serialization failure twice, then success") {
        inject(2, "40001");
        ThreadItem item = message("m1", "thr_1", 1, "kept once");
        run(store.add_thread_item("thr_1", item, alice));
        CHECK(attempts() == 3);
        CHECK(run(store.load_item("thr_1", "m1", alice)) == item);
        CHECK(raw.value("SELECT count(*) FROM " + s + ".chatkit_items") == "1");
    }
    SECTION("a deadlock three times, then success (the last retry)") {
        inject(3, "40P01");
        ThreadItem item = message("m1", "thr_1", 1);
        run(store.add_thread_item("thr_1", item, alice));
        CHECK(attempts() == 4);
    }
    SECTION("past the retries the call fails with store_busy, nothing written") {
        inject(100, "40001");
        ThreadItem item = message("m1", "thr_1", 1);
        auto const e = thrown_error([&] { run(store.add_thread_item("thr_1", item, alice)); });
        CHECK(e.code() == make_error_code(error::store_busy));
        CHECK(attempts() == 4);  // the first try and three retries
        CHECK(raw.value("SELECT count(*) FROM " + s + ".chatkit_items") == "0");
    }
    SECTION("other errors are not retried") {
        inject(100, "23514");
        ThreadItem item = message("m1", "thr_1", 1);
        auto const e = thrown_error([&] { run(store.add_thread_item("thr_1", item, alice)); });
        CHECK(e.code() == make_error_code(error::store_failure));
        CHECK(attempts() == 1);
    }
}

TEST_CASE(
    "a server stopped and restarted: calls fail with store_busy meanwhile, then the pool recovers by itself",
    "[postgres][faults]") {
    if (test::pg::skipped()) return;
    test::pg::PrivateCluster cluster;
    auto options = test::pg::options_for(cluster.info().url);
    options.pool_size = 3;
    options.call_timeout = std::chrono::milliseconds(5000);
    PostgresStore<Ctx> store(options, by_user);
    Ctx alice;
    run(store.save_thread(thread("thr_1", 1, "survives"), alice));
    // Three connections in the pool.
    {
        asio::thread_pool pool(3);
        std::vector<std::future<ThreadMetadata>> calls;
        calls.reserve(3);
        for (int i = 0; i < 3; ++i)
            calls.push_back(asio::co_spawn(asio::make_strand(pool), store.load_thread(thread_id, alice),
                                           asio::use_future));
        for (auto& c : calls)
            c.get();
        pool.join();
    }

    cluster.stop_server();
    auto const e = thrown_error([&] { run(store.load_thread("thr_1", alice)); });
    CHECK(e.code() == make_error_code(error::store_busy));
    cluster.start_server();

    CHECK(run(store.load_thread("thr_1", alice)).title == std::optional<std::string>("survives"));
    ThreadItem item = message("m1", "thr_1", 2);
    run(store.add_thread_item("thr_1", item, alice));
    CHECK(run(store.load_item("thr_1", "m1", alice)) == item);
    CHECK(store.stats().closed >= 1);
}

TEST_CASE("a call that exceeds its timeout fails cleanly with store_busy and leaves the pool usable",
          "[postgres][faults]") {
    if (test::pg::skipped()) return;
    auto const& cluster = *test::pg::shared();
    auto options = test::pg::options_for(cluster.url, "ck-timeout-" + test::pg::fresh_schema());
    options.call_timeout = std::chrono::milliseconds(400);
    options.pool_size = 1;
    PostgresStore<Ctx> store(options, by_user);
    Ctx alice;
    run(store.save_thread(thread("thr_1", 1), alice));

    test::pg::Raw raw(cluster.url);
    raw.exec("BEGIN; LOCK TABLE " + options.schema + ".chatkit_threads IN ACCESS EXCLUSIVE MODE");
    {
        // One call holds the only connection, blocked; a second waits for the connection. Both time out.
        Background background;
        auto first = background.start(store.load_thread(thread_id, alice));
        auto second = background.start(store.load_threads(10, no_cursor, Order::asc, alice));
        // The client gives up at call_timeout; the server's statement_timeout (the same) may stop
        // the statement first. Either way the call fails with store_busy, in about 400 ms.
        auto const e1 = failed(first);
        CHECK(e1.code == make_error_code(error::store_busy));
        CHECK_THAT(e1.message,
                   Catch::Matches("PostgresStore: load_thread (did not complete within 400 ms|failed: "
                                  "canceling statement due to statement timeout.*)"));
        auto const e2 = failed(second);
        CHECK(e2.code == make_error_code(error::store_busy));
        CHECK_THAT(e2.message,
                   Catch::Matches("PostgresStore: load_threads (did not complete within 400 ms|failed: "
                                  "canceling statement due to statement timeout.*)"));
    }
    raw.exec("COMMIT");
    CHECK(run(store.load_thread("thr_1", alice)).id == "thr_1");
    auto const stats = store.stats();
    CHECK(stats.open == 1);
    CHECK(stats.waiting == 0);
}

TEST_CASE("a server that stops answering mid-call: the call gives up at its timeout and the pool moves on",
          "[postgres][faults]") {
    if (test::pg::skipped()) return;
    auto const& cluster = *test::pg::shared();
    auto options = test::pg::options_for(cluster.url, "ck-frozen-" + test::pg::fresh_schema());
    options.call_timeout = std::chrono::milliseconds(400);
    options.pool_size = 1;
    PostgresStore<Ctx> store(options, by_user);
    Ctx alice;
    run(store.save_thread(thread("thr_1", 1), alice));
    test::pg::Raw raw(cluster.url);
    auto const pid = raw.value("SELECT pid FROM pg_stat_activity WHERE application_name = '" +
                               options.application_name + "'");
    REQUIRE_FALSE(pid.empty());

    // The store's server process is frozen: its socket stays open and silent (a hung server, a
    // network black hole); no server-side timeout can fire.
    REQUIRE(::kill(std::stoi(pid), SIGSTOP) == 0);
    auto const e = thrown_error([&] { run(store.load_thread("thr_1", alice)); });
    REQUIRE(::kill(std::stoi(pid), SIGCONT) == 0);
    CHECK(e.code() == make_error_code(error::store_busy));
    CHECK(e.message() == "PostgresStore: load_thread did not complete within 400 ms");
    CHECK(store.stats().closed == 1);  // the connection caught mid-statement was closed, not reused

    CHECK(run(store.load_thread("thr_1", alice)).id == "thr_1");
    CHECK(store.stats().open == 1);
}

TEST_CASE("a store call never blocks the caller's thread", "[postgres]") {
    if (test::pg::skipped()) return;
    auto const& cluster = *test::pg::shared();
    auto options = test::pg::options_for(cluster.url, "ck-async-" + test::pg::fresh_schema());
    PostgresStore<Ctx> store(options, by_user);
    Ctx alice;
    run(store.save_thread(thread("thr_1", 1), alice));
    test::pg::Raw raw(cluster.url);
    raw.exec("BEGIN; LOCK TABLE " + options.schema + ".chatkit_threads IN ACCESS EXCLUSIVE MODE");

    // One io_context thread: while the store call waits for the server, ticks still run on it.
    asio::io_context io;
    std::atomic<int> ticks{0};
    std::atomic<bool> loaded{false};
    std::atomic<int> ticks_while_waiting{-1};
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            (void)co_await store.load_thread("thr_1", alice);
            loaded = true;
        },
        asio::detached);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            asio::steady_timer timer(co_await asio::this_coro::executor);
            while (ticks < 20) {
                timer.expires_after(std::chrono::milliseconds(5));
                co_await timer.async_wait(asio::use_awaitable);
                ++ticks;
            }
            ticks_while_waiting = loaded ? 0 : ticks.load();
        },
        asio::detached);
    std::thread releaser([&] {
        (void)test::pg::wait_for_lock_waiter(raw, options.application_name);
        while (ticks_while_waiting < 0)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        raw.exec("COMMIT");
    });
    io.run();
    releaser.join();
    CHECK(ticks_while_waiting == 20);
    CHECK(loaded);
}

TEST_CASE("a write in flight completes even when its caller is cancelled", "[postgres]") {
    if (test::pg::skipped()) return;
    auto const& cluster = *test::pg::shared();
    auto options = test::pg::options_for(cluster.url, "ck-cancel-" + test::pg::fresh_schema());
    PostgresStore<Ctx> store(options, by_user);
    Ctx alice;
    run(store.save_thread(thread("thr_1", 1), alice));
    test::pg::Raw raw(cluster.url);
    raw.exec("BEGIN; LOCK TABLE " + options.schema + ".chatkit_threads IN ACCESS EXCLUSIVE MODE");

    asio::io_context io;
    asio::cancellation_signal signal;
    ThreadItem item = message("m1", "thr_1", 2, "acknowledged or not, written whole");
    std::promise<std::exception_ptr> outcome;
    asio::co_spawn(
        io, store.add_thread_item(thread_id, item, alice),
        asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e) { outcome.set_value(e); }));
    std::thread releaser([&] {
        (void)test::pg::wait_for_lock_waiter(raw, options.application_name);
        asio::post(io, [&] { signal.emit(asio::cancellation_type::terminal); });
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        raw.exec("COMMIT");
    });
    io.run();
    releaser.join();
    (void)outcome.get_future().get();  // completes (possibly reporting the cancellation) only after the write
    CHECK(run(store.load_item("thr_1", "m1", alice)) == item);
}

TEST_CASE("verify-full refuses a server whose certificate another CA signed", "[postgres][tls]") {
    if (test::pg::skipped()) return;
    auto const& cluster = *test::pg::shared();
    auto options = test::pg::options_for(cluster.tls_url, "ck-tls-" + test::pg::fresh_schema());
    {
        PostgresStore<Ctx> store(options, by_user);
        Ctx alice;
        run(store.save_thread(thread("thr_1", 1), alice));
        test::pg::Raw raw(cluster.url);
        CHECK(raw.value("SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "
                        "WHERE a.application_name = '" +
                        options.application_name + "'") == "t");
    }
    options.sslrootcert = cluster.wrong_ca;
    auto const e = thrown_error([&] { PostgresStore<Ctx> store(options, by_user); });
    CHECK(e.code() == make_error_code(error::store_failure));
    CHECK(e.message().find("certificate verify failed") != std::string::npos);
    CHECK(e.message().find(cluster.password) == std::string::npos);
}

TEST_CASE("PostgresStore refuses a database it cannot use, saying why", "[postgres]") {
    if (test::pg::skipped()) return;
    auto const& cluster = *test::pg::shared();
    SECTION("a wrong password") {
        auto options = test::pg::options_for(cluster.url);
        options.password = "not-the-password";
        auto const e = thrown_error([&] { PostgresStore<Ctx> store(options, by_user); });
        CHECK(e.code() == make_error_code(error::store_failure));
        CHECK(e.message().find("password authentication failed") != std::string::npos);
        CHECK(e.message().find("not-the-password") == std::string::npos);
    }
    SECTION("nothing listening") {
        auto options = test::pg::options_for(cluster.url);
        options.port = 1;
        auto const e = thrown_error([&] { PostgresStore<Ctx> store(options, by_user); });
        CHECK(e.code() == make_error_code(error::store_failure));
        CHECK(e.message().find("postgresql://chatkit@127.0.0.1:1/chatkit_test") != std::string::npos);
    }
    SECTION("a database that is not UTF-8") {
        test::pg::Raw raw(cluster.url);
        auto const name = "latin_" + test::pg::fresh_schema();
        raw.exec("CREATE DATABASE " + name +
                 " ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
        auto options = test::pg::options_for(cluster.url);
        options.dbname = name;
        auto const e = thrown_error([&] { PostgresStore<Ctx> store(options, by_user); });
        CHECK(e.message().find("encoding is LATIN1, not UTF8") != std::string::npos);
    }
}

TEST_CASE("a row edited by hand fails the calls that read it, naming it, and the rest stays usable",
          "[postgres]") {
    if (test::pg::skipped()) return;
    auto const& cluster = *test::pg::shared();
    auto options = test::pg::options_for(cluster.url);
    PostgresStore<Ctx> store(options, by_user);
    Ctx alice;
    run(store.save_thread(thread("thr_1", 1), alice));
    ThreadItem good = message("good", "thr_1", 1);
    ThreadItem bad = message("bad", "thr_1", 2);
    run(store.add_thread_item("thr_1", good, alice));
    run(store.add_thread_item("thr_1", bad, alice));
    test::pg::Raw raw(cluster.url);
    raw.exec("UPDATE " + options.schema + ".chatkit_items SET data = '{\"type\": ' WHERE id = 'bad'");
    auto const e = thrown_error([&] { run(store.load_item("thr_1", "bad", alice)); });
    CHECK(e.code() == make_error_code(error::store_failure));
    CHECK(e.message().starts_with("PostgresStore: item bad of thread thr_1 has corrupt data"));
    CHECK(run(store.load_item("thr_1", "good", alice)) == good);
    run(store.save_item("thr_1", bad, alice));  // saving it again repairs it
    CHECK(run(store.load_item("thr_1", "bad", alice)) == bad);
}
