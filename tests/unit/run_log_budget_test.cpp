// The byte budget over all run logs of a server (RunOptions::max_log_bytes, issue 18): many runs keep
// the total under it, the oldest finished runs are forgotten first, an active log is trimmed only
// when the active runs alone are over it.
#include <chatkit/core/error.hpp>
#include <chatkit/server/detail/runs.hpp>

#include <catch2/catch.hpp>

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
