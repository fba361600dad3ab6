// PostgresStore usage accounting: end to end over loopback HTTP with the mock LLM, and the totals
// two instances on one database share (each addition atomic, none lost).
#include <chatkit/store/postgres/store.hpp>

#include "agents/usage_support.hpp"
#include "postgres/pg_support.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <thread>

namespace {
std::string user_of(test::TestContext const& ctx) { return ctx.user; }
}  // namespace

TEST_CASE("usage totals equal what the mock reported (PostgresStore)", "[postgres][usage]") {
    if (test::pg::skipped()) return;
    chatkit::PostgresStore<test::TestContext> store(test::pg::options_for(test::pg::shared()->url), user_of);
    usage_test::check_usage_totals(store);
}

TEST_CASE("two PostgresStore instances share one set of usage totals, updated atomically", "[postgres][usage]") {
    if (test::pg::skipped()) return;
    auto const options = test::pg::options_for(test::pg::shared()->url);
    chatkit::PostgresStore<test::TestContext> first(options, user_of);
    chatkit::PostgresStore<test::TestContext> second(options, user_of);
    constexpr int per_instance = 40;
    std::vector<std::uint64_t> seen_first, seen_second;
    auto record = [](chatkit::PostgresStore<test::TestContext>& store, std::vector<std::uint64_t>& seen) {
        test::TestContext ctx;
        ctx.user = "alice";
        for (int i = 0; i < per_instance; ++i) {
            chatkit::UsageRecord r{"thr_1", "resp", chatkit::TokenUsage{3, 1, 2, 1}, 20000};
            seen.push_back(test::run_sync(store.record_usage(r, ctx)).owner_day.total_tokens());
        }
    };
    std::thread a([&] { record(first, seen_first); });
    std::thread b([&] { record(second, seen_second); });
    a.join();
    b.join();

    // Every addition saw a different total (none was lost or counted twice), and both see the sum.
    std::set<std::uint64_t> totals(seen_first.begin(), seen_first.end());
    totals.insert(seen_second.begin(), seen_second.end());
    CHECK(totals.size() == 2 * per_instance);
    CHECK(*totals.rbegin() == 2 * per_instance * 5);
    test::TestContext ctx;
    ctx.user = "alice";
    auto const from_first = test::run_sync(first.load_usage_totals("thr_1", 20000, ctx));
    auto const from_second = test::run_sync(second.load_usage_totals("thr_1", 20000, ctx));
    CHECK(from_first.owner_day == chatkit::TokenUsage{240, 80, 160, 80});
    CHECK(from_first.thread == from_second.thread);
    CHECK(test::run_sync(second.load_usage_records("thr_1", 1000, ctx)).size() == 2 * per_instance);
}
