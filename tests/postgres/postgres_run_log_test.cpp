// PostgresStore's shared run log (issue 18): two stores on one database stand for two server
// instances. One run per thread across them, events appended by one and read by the other, a stop
// relayed, a dead instance's run marked failed once its lease lapsed (its events kept), retention.
#include <chatkit/store/postgres/store.hpp>

#include "integration/http_support.hpp"
#include "postgres/pg_support.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

using namespace std::chrono_literals;

namespace {

using Store = chatkit::PostgresStore<test::TestContext>;

std::string user_of(test::TestContext const& ctx) { return ctx.user; }

std::vector<std::string> frames(int from, int to) {
    std::vector<std::string> out;
    for (int i = from; i < to; ++i) out.push_back("data: {\"n\":" + std::to_string(i) + "}\n\n");
    return out;
}

std::string const failed = "data: {\"type\":\"error\"}\n\n";

chatkit::SharedRunRead read(chatkit::SharedRunLog& log, std::string const& owner, std::string const& thread,
                            std::uint64_t after = 0, std::size_t max = 100,
                            std::chrono::milliseconds retention = 10min) {
    return test::run_sync(log.read(owner, thread, after, max, retention, failed));
}

}  // namespace

TEST_CASE("a thread has one running run across instances; the other instance reads it live", "[postgres][runs]") {
    if (test::pg::skipped()) return;
    auto const options = test::pg::options_for(test::pg::shared()->url);
    Store a_store(options, user_of), b_store(options, user_of);
    auto& a = *a_store.shared_run_log();
    auto& b = *b_store.shared_run_log();

    REQUIRE(test::run_sync(a.claim("alice", "thr_1", "run_a1", "A", 30s, 10min)));
    // B cannot start a run of that thread while A's is running; another owner's same thread id can.
    CHECK_FALSE(test::run_sync(b.claim("alice", "thr_1", "run_b1", "B", 30s, 10min)));
    CHECK(test::run_sync(b.claim("bob", "thr_1", "run_b2", "B", 30s, 10min)));

    auto r = test::run_sync(a.append("run_a1", 0, frames(0, 3), 100, 30s, false));
    CHECK(r.owned);
    CHECK_FALSE(r.cancel_requested);
    auto seen = read(b, "alice", "thr_1", 1);
    REQUIRE(seen.found);
    CHECK(seen.run_id == "run_a1");
    CHECK(seen.status == chatkit::SharedRunStatus::running);
    CHECK(seen.size == 3);
    CHECK(seen.frames == frames(1, 3));
    CHECK_FALSE(read(b, "carol", "thr_1").found);  // tenancy: owner and thread together name a run

    // An append repeating stored events keeps them once; a stop asked on B reaches A's next append.
    (void)test::run_sync(a.append("run_a1", 2, frames(2, 5), 100, 30s, false));
    CHECK(test::run_sync(b.request_cancel("alice", "thr_1")));
    r = test::run_sync(a.append("run_a1", 5, frames(5, 6), 100, 30s, true));
    CHECK(r.owned);
    CHECK(r.cancel_requested);
    seen = read(b, "alice", "thr_1");
    CHECK(seen.status == chatkit::SharedRunStatus::done);
    CHECK(seen.frames == frames(0, 6));
    CHECK_FALSE(test::run_sync(b.request_cancel("alice", "thr_1")));  // nothing runs any more

    // The run ended: B's next run replaces it (its events go).
    REQUIRE(test::run_sync(b.claim("alice", "thr_1", "run_b3", "B", 30s, 10min)));
    seen = read(a, "alice", "thr_1");
    CHECK(seen.run_id == "run_b3");
    CHECK(seen.size == 0);
    CHECK(seen.frames.empty());
    // A's late append to its replaced run changes nothing and tells A it no longer owns it.
    r = test::run_sync(a.append("run_a1", 6, frames(6, 7), 100, 30s, false));
    CHECK_FALSE(r.owned);
    CHECK(read(a, "alice", "thr_1").size == 0);
}

TEST_CASE("the instance that ran a thread's last run may replace it at once", "[postgres][runs]") {
    if (test::pg::skipped()) return;
    Store store(test::pg::options_for(test::pg::shared()->url), user_of);
    auto& log = *store.shared_run_log();
    // Its in-process registry knows the run ended even before the final append reached the database.
    REQUIRE(test::run_sync(log.claim("", "thr_1", "run_1", "A", 30s, 10min)));
    CHECK(test::run_sync(log.claim("", "thr_1", "run_2", "A", 30s, 10min)));
    CHECK(read(log, "", "thr_1").run_id == "run_2");
}

TEST_CASE("a run whose instance died is marked failed once its lease lapsed, its events kept", "[postgres][runs]") {
    if (test::pg::skipped()) return;
    auto const options = test::pg::options_for(test::pg::shared()->url);
    Store a_store(options, user_of), b_store(options, user_of);
    auto& a = *a_store.shared_run_log();
    auto& b = *b_store.shared_run_log();
    REQUIRE(test::run_sync(a.claim("alice", "thr_1", "run_a", "A", 1s, 10min)));
    (void)test::run_sync(a.append("run_a", 0, frames(0, 4), 100, 1s, false));
    // A stops renewing (it died). Until the lease lapses the run counts as running.
    CHECK(read(b, "alice", "thr_1").status == chatkit::SharedRunStatus::running);
    CHECK_FALSE(test::run_sync(b.claim("alice", "thr_1", "run_b", "B", 30s, 10min)));
    std::this_thread::sleep_for(1500ms);
    auto seen = read(b, "alice", "thr_1");
    CHECK(seen.status == chatkit::SharedRunStatus::failed);
    CHECK(seen.size == 5);
    auto expected = frames(0, 4);
    expected.push_back(failed);
    CHECK(seen.frames == expected);
    CHECK(read(a, "alice", "thr_1").frames == expected);  // marked once, whoever reads next
    // A that comes back learns it lost the run; the thread runs again on B.
    CHECK_FALSE(test::run_sync(a.append("run_a", 4, frames(4, 5), 100, 30s, false)).owned);
    CHECK(test::run_sync(b.claim("alice", "thr_1", "run_b", "B", 30s, 10min)));
}

TEST_CASE("a claim after a lapsed lease takes the thread without a read first", "[postgres][runs]") {
    if (test::pg::skipped()) return;
    auto const options = test::pg::options_for(test::pg::shared()->url);
    Store a_store(options, user_of), b_store(options, user_of);
    REQUIRE(test::run_sync(a_store.shared_run_log()->claim("", "thr_1", "run_a", "A", 200ms, 10min)));
    std::this_thread::sleep_for(400ms);
    CHECK(test::run_sync(b_store.shared_run_log()->claim("", "thr_1", "run_b", "B", 30s, 10min)));
}

TEST_CASE("the shared log keeps a run's newest events and forgets runs past the retention window",
          "[postgres][runs]") {
    if (test::pg::skipped()) return;
    auto const options = test::pg::options_for(test::pg::shared()->url);
    Store store(options, user_of);
    auto& log = *store.shared_run_log();
    REQUIRE(test::run_sync(log.claim("", "thr_1", "run_1", "A", 30s, 10min)));
    (void)test::run_sync(log.append("run_1", 0, frames(0, 8), 5, 30s, false));
    auto seen = read(log, "", "thr_1", 3);
    CHECK(seen.first == 3);
    CHECK(seen.size == 8);
    CHECK(seen.frames == frames(3, 8));
    test::pg::Raw raw(test::pg::shared()->url);
    auto const count = raw.value("SELECT count(*) FROM " + options.schema + ".chatkit_run_events");
    CHECK(count == "5");

    (void)test::run_sync(log.append("run_1", 8, {}, 5, 30s, true));
    std::this_thread::sleep_for(300ms);
    CHECK(read(log, "", "thr_1", 0, 100, 10min).found);
    CHECK_FALSE(read(log, "", "thr_1", 0, 100, 100ms).found);
    // A later claim (of any thread) purges it, its events with it.
    REQUIRE(test::run_sync(log.claim("", "thr_2", "run_2", "A", 30s, 100ms)));
    CHECK(raw.value("SELECT count(*) FROM " + options.schema + ".chatkit_runs WHERE thread_id = 'thr_1'") == "0");
    CHECK(raw.value("SELECT count(*) FROM " + options.schema + ".chatkit_run_events") == "0");
}
