// The byte budget over all run logs of a server (RunOptions::max_log_bytes, issue 18): many runs keep
// the total under it, the oldest finished runs are forgotten first, an active log is trimmed only
// when the active runs alone are over it.
#include <chatkit/core/error.hpp>
#include <chatkit/server/detail/runs.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

namespace {

using chatkit::detail::run_registry;

std::string frame_of(std::size_t bytes, char fill) { return "data: " + std::string(bytes, fill) + "\n\n"; }

}  // namespace

TEST_CASE("run logs: many runs stay under max_log_bytes; the oldest finished are forgotten first", "[unit][runs]") {
    chatkit::RunOptions options;
    options.max_log_bytes = 64 * 1024;
    run_registry registry(options);
    auto const frame = frame_of(400, 'x');
    for (int i = 0; i < 200; ++i) {
        auto run = registry.begin("thr_" + std::to_string(i));
        for (int e = 0; e < 20; ++e) run->append(frame);
        run->finish();
        CHECK(registry.log_bytes() <= options.max_log_bytes);
    }
    // 200 runs of 20 events of ~470 bytes (~1.9 MB) were written; the newest whole logs are kept.
    CHECK(registry.log_bytes() > options.max_log_bytes / 2);
    CHECK(registry.find("thr_0") == nullptr);
    CHECK(registry.find("thr_100") == nullptr);
    auto const recent = registry.find("thr_199");
    REQUIRE(recent != nullptr);
    auto const all = recent->read(0, 100);
    CHECK_FALSE(all.truncated);
    CHECK(all.frames.size() == 20);
    CHECK(all.ended);
}

TEST_CASE("run logs: active runs alone over the budget lose the oldest events of the largest log",
          "[unit][runs]") {
    chatkit::RunOptions options;
    options.max_log_bytes = 16 * 1024;
    run_registry registry(options);
    auto small = registry.begin("thr_small");
    for (int e = 0; e < 4; ++e) small->append(frame_of(100, 's'));
    auto large = registry.begin("thr_large");
    for (int e = 0; e < 500; ++e) {
        large->append(frame_of(1000, 'l'));
        CHECK(registry.log_bytes() <= options.max_log_bytes);
    }
    // The small active log is whole; the large one keeps only its newest events (a resume from 0
    // is truncated, one from its first kept event is not).
    CHECK(small->read(0, 100).frames.size() == 4);
    CHECK(large->read(0, 100).truncated);
    CHECK(large->first_kept() > 480);
    auto const tail = large->read(large->first_kept(), 1000);
    CHECK_FALSE(tail.truncated);
    CHECK(tail.frames.size() == large->size() - large->first_kept());
    // A finished run is forgotten before any active log is trimmed again.
    small->finish();
    auto const kept = large->first_kept();
    large->append(frame_of(1000, 'l'));
    CHECK(registry.find("thr_small") == nullptr);
    CHECK(large->first_kept() <= kept + 1);
    CHECK(registry.log_bytes() <= options.max_log_bytes);
}

TEST_CASE("run logs: a log keeping its newest events reads back exactly the frames appended", "[unit][runs]") {
    chatkit::RunOptions options;
    options.max_events_per_run = 5;
    run_registry registry(options);
    auto run = registry.begin("thr_frames");
    auto numbered = [](int i) { return "data: {\"n\":" + std::to_string(i) + "}\n\n"; };
    std::size_t expected_bytes = 0;
    for (int i = 0; i < 37; ++i) {
        run->append(numbered(i));
        // Every frame from the first kept one reads back whole and in order, across the drops and
        // the compactions of the log's buffer.
        auto const first = run->first_kept();
        CHECK(run->size() == static_cast<std::uint64_t>(i + 1));
        CHECK(first == static_cast<std::uint64_t>(std::max(0, i - 4)));
        auto const got = run->read(first, 100);
        REQUIRE(got.frames.size() == run->size() - first);
        for (std::size_t k = 0; k < got.frames.size(); ++k)
            CHECK(got.frames[k] == numbered(static_cast<int>(first + k)));
        if (first > 0) CHECK(run->read(first - 1, 100).truncated);
    }
    for (int i = 32; i < 37; ++i) expected_bytes += numbered(i).size() + chatkit::run_log_event_overhead;
    CHECK(run->log_bytes() == expected_bytes);
    CHECK(registry.log_bytes() == expected_bytes);
    // A read from the middle, bounded by max_frames.
    auto const two = run->read(34, 2);
    REQUIRE(two.frames.size() == 2);
    CHECK(two.frames[0] == numbered(34));
    CHECK(two.frames[1] == numbered(35));
    CHECK_FALSE(two.ended);
    // Dropping the oldest frames by bytes: one frame's worth drops one frame; everything empties it.
    CHECK(run->drop_oldest(1) == numbered(32).size() + chatkit::run_log_event_overhead);
    CHECK(run->first_kept() == 33);
    CHECK(run->read(33, 100).frames.front() == numbered(33));
    run->finish();
    auto const all_left = run->log_bytes();
    CHECK(run->drop_oldest(static_cast<std::size_t>(-1)) == all_left);
    CHECK(run->log_bytes() == 0);
    CHECK(registry.log_bytes() == 0);
    CHECK(run->first_kept() == 37);
    auto const none = run->read(37, 100);
    CHECK(none.frames.empty());
    CHECK(none.ended);
    CHECK(run->read(36, 100).truncated);
}

TEST_CASE("run logs: a run's bytes leave the total when it is forgotten", "[unit][runs]") {
    chatkit::RunOptions options;
    options.retention = std::chrono::milliseconds(0);
    run_registry registry(options);
    {
        auto run = registry.begin("thr_a");
        run->append(frame_of(1000, 'a'));
        CHECK(registry.log_bytes() == frame_of(1000, 'a').size() + chatkit::run_log_event_overhead);
        run->finish();
    }
    CHECK(registry.find("thr_a") == nullptr);  // retention 0: purged
    CHECK(registry.log_bytes() == 0);
}

TEST_CASE("run registry: at max_runs the run that finished first is forgotten, active runs never are",
          "[unit][runs]") {
    chatkit::RunOptions options;
    options.max_runs = 3;
    run_registry registry(options);
    auto a = registry.begin("thr_a");
    auto b = registry.begin("thr_b");
    auto c = registry.begin("thr_c");
    b->finish();  // b ends first, then a; c stays active
    a->finish();
    auto d = registry.begin("thr_d");
    CHECK(registry.find("thr_b") == nullptr);
    CHECK(registry.find("thr_a") == a);
    auto e = registry.begin("thr_e");
    CHECK(registry.find("thr_a") == nullptr);
    // c and d and e are active: a fourth thread is refused, and a new run of a thread replaces its
    // finished one without counting twice.
    CHECK_THROWS_AS(registry.begin("thr_f"), chatkit::Error);
    e->finish();
    auto e2 = registry.begin("thr_e");
    CHECK(registry.find("thr_e") == e2);
    CHECK_THROWS_AS(registry.begin("thr_f"), chatkit::Error);
    CHECK(registry.find("thr_c") == c);
}

TEST_CASE("run registry: thousands of runs of the same threads keep only the last run of each",
          "[unit][runs]") {
    chatkit::RunOptions options;
    options.max_runs = 100;
    run_registry registry(options);
    // Replaced runs leave stale entries in the finished queue; they are skipped and compacted, so
    // the oldest finished run still tracked is what max_runs forgets.
    for (int round = 0; round < 200; ++round)
        for (int t = 0; t < 50; ++t) registry.begin("thr_" + std::to_string(t))->finish();
    for (int t = 50; t < 150; ++t) registry.begin("thr_" + std::to_string(t))->finish();
    for (int t = 0; t < 50; ++t) CHECK(registry.find("thr_" + std::to_string(t)) == nullptr);
    for (int t = 50; t < 150; ++t) CHECK(registry.find("thr_" + std::to_string(t)) != nullptr);
}
