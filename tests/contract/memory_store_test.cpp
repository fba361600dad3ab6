// The store contract against InMemoryStore.
#include "contract/store_contract.hpp"

namespace {
struct MemoryStoreFactory {
    std::unique_ptr<chatkit::Store<test::Ctx>> make() {
        return std::make_unique<chatkit::InMemoryStore<test::Ctx>>([](test::Ctx const& c) { return c.user; });
    }
};
}  // namespace

TEST_CASE("InMemoryStore keeps the store contract", "[store][contract]") {
    CHECK(test::contract::run_store_contract<MemoryStoreFactory>());
}

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>

namespace {

// One writer coroutine: adds `n` items to `thread_id` and reads pages back while doing it.
boost::asio::awaitable<void> writer(chatkit::Store<test::Ctx>& store, std::string thread_id, int n, test::Ctx ctx,
                                    std::atomic<int>& failures) {
    using namespace chatkit;
    try {
        ThreadMetadata meta;
        meta.id = thread_id;
        meta.created_at = now();
        co_await store.save_thread(meta, ctx);
        for (int i = 0; i < n; ++i) {
            ThreadItem item = AssistantMessageItem{thread_id + "_" + std::to_string(i), thread_id, now(),
                                                   {AssistantMessageContent{{}, "x"}}};
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

TEST_CASE("InMemoryStore is safe under a multi-threaded io_context", "[store][concurrency]") {
    chatkit::InMemoryStore<test::Ctx> store([](test::Ctx const& c) { return c.user; });
    boost::asio::thread_pool pool(4);
    std::atomic<int> failures{0};
    constexpr int threads = 40, items = 50;
    for (int t = 0; t < threads; ++t) {
        test::Ctx ctx;
        ctx.user = "user" + std::to_string(t % 4);
        boost::asio::co_spawn(boost::asio::make_strand(pool),
                              writer(store, "thr_" + std::to_string(t), items, ctx, failures),
                              boost::asio::detached);
    }
    pool.join();
    CHECK(failures == 0);
    std::size_t total = 0;
    for (int u = 0; u < 4; ++u) {
        test::Ctx ctx;
        ctx.user = "user" + std::to_string(u);
        std::optional<std::string> after;
        auto threads_page = test::run(store.load_threads(1000, after, chatkit::Order::asc, ctx));
        CHECK(threads_page.data.size() == threads / 4);
        for (auto const& t : threads_page.data)
            total += test::run(store.load_thread_items(t.id, after, 1000, chatkit::Order::asc, ctx)).data.size();
    }
    CHECK(total == static_cast<std::size_t>(threads * items));
}
