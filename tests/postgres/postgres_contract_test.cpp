// PostgresStore: the shared store contract (plain and over verified TLS), tenancy and paging like
// SqliteStore's, and the store under a multi-threaded io_context.
#include <chatkit/store/postgres/store.hpp>

#include "contract/store_contract.hpp"
#include "postgres/pg_support.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <atomic>

namespace {

using namespace chatkit;
using test::Ctx;
using test::run;
using test::contract::file_attachment;
using test::contract::message;
using test::contract::thread;

std::string by_user(Ctx const& c) { return c.user; }

struct PostgresStoreFactory {
    std::unique_ptr<Store<Ctx>> make() {
        return std::make_unique<PostgresStore<Ctx>>(test::pg::options_for(test::pg::shared()->url), by_user);
    }
};

struct PostgresTlsStoreFactory {
    std::unique_ptr<Store<Ctx>> make() {
        return std::make_unique<PostgresStore<Ctx>>(test::pg::options_for(test::pg::shared()->tls_url),
                                                    by_user);
    }
};

// A pool of one connection: every call of a section waits its turn on the same connection.
struct PostgresOneConnectionFactory {
    std::unique_ptr<Store<Ctx>> make() {
        auto options = test::pg::options_for(test::pg::shared()->url);
        options.pool_size = 1;
        return std::make_unique<PostgresStore<Ctx>>(options, by_user);
    }
};

// Every idle connection is checked with a round trip before each call.
struct PostgresAlwaysCheckedFactory {
    std::unique_ptr<Store<Ctx>> make() {
        auto options = test::pg::options_for(test::pg::shared()->url);
        options.health_check_after = std::chrono::milliseconds(0);
        return std::make_unique<PostgresStore<Ctx>>(options, by_user);
    }
};

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

std::vector<std::string> all_item_ids(Store<Ctx>& store, std::string const& thread_id, Ctx const& ctx) {
    std::optional<std::string> none;
    std::vector<std::string> out;
    for (auto const& item : run(store.load_thread_items(thread_id, none, 1'000'000, Order::asc, ctx)).data)
        out.push_back(item_id(item));
    return out;
}

}  // namespace

TEST_CASE("PostgresStore keeps the store contract", "[store][contract][postgres]") {
    if (test::pg::skipped()) return;
    CHECK(test::contract::run_store_contract<PostgresStoreFactory>());
}

TEST_CASE("PostgresStore keeps the store contract over TLS with sslmode=verify-full",
          "[store][contract][postgres]") {
    if (test::pg::skipped()) return;
    CHECK(test::contract::run_store_contract<PostgresTlsStoreFactory>());
}

TEST_CASE("PostgresStore keeps the store contract with a pool of one connection",
          "[store][contract][postgres]") {
    if (test::pg::skipped()) return;
    CHECK(test::contract::run_store_contract<PostgresOneConnectionFactory>());
}

TEST_CASE("PostgresStore keeps the store contract when every connection is checked before each call",
          "[store][contract][postgres]") {
    if (test::pg::skipped()) return;
    CHECK(test::contract::run_store_contract<PostgresAlwaysCheckedFactory>());
}

TEST_CASE("PostgresStore scopes every method by the owner key", "[postgres][tenancy]") {
    if (test::pg::skipped()) return;
    PostgresStore<Ctx> store(test::pg::options_for(test::pg::shared()->url), by_user);
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
        CHECK(e.message() == "Thread thr_1 not found");
        CHECK(run(store.load_threads(10, none, Order::desc, bob)).data.empty());
        CHECK(run(store.load_thread_items("thr_1", none, 10, Order::asc, bob)).data.empty());
        e = thrown_error([&] { run(store.load_item("thr_1", "m1", bob)); });
        CHECK(e.message() == "Item m1 not found in thread thr_1");
        e = thrown_error([&] { run(store.load_attachment("atc_1", bob)); });
        CHECK(e.message() == "File atc_1 not found");
        std::optional<std::string> alice_thread = std::string("thr_1");
        e = thrown_error([&] { run(store.load_threads(10, alice_thread, Order::asc, bob)); });
        CHECK(e.code() == make_error_code(error::not_found));
        CHECK(e.message() == "Thread thr_1 not found");
        std::optional<std::string> alice_item = std::string("m1");
        e = thrown_error([&] { run(store.load_thread_items("thr_1", alice_item, 10, Order::desc, bob)); });
        CHECK(e.code() == make_error_code(error::not_found));
        CHECK(e.message() == "Item m1 not found");
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

    SECTION("owner keys are exact byte strings; ids with NUL characters do not exist") {
        std::vector<std::string> const users{"Alice",       "alice ", std::string("alice\0x", 7),
                                             "' OR '1'='1", "%",      ""};
        for (auto const& user : users) {
            Ctx other;
            other.user = user;
            CHECK_THROWS_AS(run(store.load_thread("thr_1", other)), Error);
            CHECK(run(store.load_threads(10, none, Order::asc, other)).data.empty());
        }
        std::string const nul_id("thr_1\0x", 7);
        auto e = thrown_error([&] { run(store.load_thread(nul_id, alice)); });
        CHECK(e.code() == make_error_code(error::not_found));
        e = thrown_error([&] { run(store.save_thread(thread(nul_id, 1), alice)); });
        CHECK(e.code() == make_error_code(error::invalid_request));
        run(store.delete_thread(nul_id, alice));  // nothing to delete, no error
        CHECK(run(store.load_thread("thr_1", alice)).id == "thr_1");
    }
}

TEST_CASE("PostgresStore pages through long runs of equal created_at exactly once, in both orders",
          "[postgres]") {
    if (test::pg::skipped()) return;
    PostgresStore<Ctx> store(test::pg::options_for(test::pg::shared()->url), by_user);
    Ctx alice;
    run(store.save_thread(thread("thr_1", 0), alice));
    std::vector<std::string> expected;
    for (int i = 0; i < 120; ++i) {
        ThreadItem item =
            message("m" + std::to_string(i), "thr_1", i / 40);  // blocks of 40 share a timestamp
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
}

TEST_CASE("PostgresStore carries large items over TLS", "[postgres]") {
    if (test::pg::skipped()) return;
    // TLS records are 16 KiB: rows of several records, pages of several rows, exercise libpq's
    // buffering of decrypted bytes under a non-blocking socket.
    PostgresStore<Ctx> store(test::pg::options_for(test::pg::shared()->tls_url), by_user);
    Ctx alice;
    run(store.save_thread(thread("thr_big", 0), alice));
    std::vector<ThreadItem> items;
    for (int i = 0; i < 6; ++i) {
        std::string text(50'000 + i * 37'123, static_cast<char>('a' + i));
        ThreadItem item = message("big" + std::to_string(i), "thr_big", i, text);
        run(store.add_thread_item("thr_big", item, alice));
        items.push_back(item);
    }
    std::optional<std::string> none;
    CHECK(run(store.load_thread_items("thr_big", none, 10, Order::asc, alice)).data == items);
    CHECK(run(store.load_item("thr_big", "big5", alice)) == items[5]);
}

namespace {

boost::asio::awaitable<void> writer(Store<Ctx>& store, std::string thread_id, int n, Ctx ctx,
                                    std::atomic<int>& failures) {
    try {
        ThreadMetadata meta;
        meta.id = thread_id;
        meta.created_at = now();
        co_await store.save_thread(meta, ctx);
        for (int i = 0; i < n; ++i) {
            ThreadItem item = AssistantMessageItem{
                thread_id + "_" + std::to_string(i), thread_id, now(), {AssistantMessageContent{{}, "x"}}};
            co_await store.add_thread_item(thread_id, item, ctx);
            std::optional<std::string> after;
            auto page = co_await store.load_thread_items(thread_id, after, 5, Order::desc, ctx);
            if (page.data.empty() || item_id(page.data.front()) != item_id(item)) ++failures;
        }
    } catch (...) {
        ++failures;
    }
}

}  // namespace

TEST_CASE("PostgresStore is safe under a multi-threaded io_context with fewer connections than callers",
          "[postgres][concurrency]") {
    if (test::pg::skipped()) return;
    auto options = test::pg::options_for(test::pg::shared()->url);
    options.pool_size = 3;
    PostgresStore<Ctx> store(options, by_user);
    boost::asio::thread_pool pool(4);
    std::atomic<int> failures{0};
    constexpr int threads = 24, items = 20;
    for (int t = 0; t < threads; ++t) {
        Ctx ctx;
        ctx.user = "user" + std::to_string(t % 4);
        boost::asio::co_spawn(boost::asio::make_strand(pool),
                              writer(store, "thr_" + std::to_string(t), items, ctx, failures),
                              boost::asio::detached);
    }
    pool.join();
    CHECK(failures == 0);
    auto const stats = store.stats();
    CHECK(stats.open <= 3);
    CHECK(stats.waiting == 0);
    std::size_t total = 0;
    for (int u = 0; u < 4; ++u) {
        Ctx ctx;
        ctx.user = "user" + std::to_string(u);
        std::optional<std::string> after;
        auto threads_page = run(store.load_threads(1000, after, Order::asc, ctx));
        CHECK(threads_page.data.size() == threads / 4);
        for (auto const& t : threads_page.data)
            total += run(store.load_thread_items(t.id, after, 1000, Order::asc, ctx)).data.size();
    }
    CHECK(total == static_cast<std::size_t>(threads * items));
}
