// RateLimiter on its own, with an injected clock: refill, Retry-After, stream slots, bounded state.
#include <chatkit/server/rate_limiter.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;
using chatkit::RateLimiter;
using chatkit::RequestClass;

namespace {

struct FakeClock {
    std::chrono::steady_clock::time_point now = std::chrono::steady_clock::time_point{} + 1000h;
    std::function<std::chrono::steady_clock::time_point()> fn() {
        return [this] { return now; };
    }
};

}  // namespace

TEST_CASE("a bucket admits its burst, then refills at its rate", "[limits]") {
    FakeClock clock;
    chatkit::RateLimitOptions options;
    options.streaming = chatkit::RateBudget{6, 3};  // one token every 10 s, 3 saved up
    options.clock = clock.fn();
    RateLimiter limiter(options);

    for (int i = 0; i < 3; ++i) CHECK(limiter.admit("a", RequestClass::streaming).allowed);
    auto refused = limiter.admit("a", RequestClass::streaming);
    CHECK_FALSE(refused.allowed);
    CHECK(refused.retry_after == 10s);
    CHECK(refused.reason.find("streaming") != std::string::npos);

    clock.now += 4s;
    refused = limiter.admit("a", RequestClass::streaming);
    CHECK_FALSE(refused.allowed);
    CHECK(refused.retry_after == 6s);  // whole seconds, rounded up

    clock.now += 6s;
    CHECK(limiter.admit("a", RequestClass::streaming).allowed);
    CHECK_FALSE(limiter.admit("a", RequestClass::streaming).allowed);

    // Other owners and other classes are not affected.
    CHECK(limiter.admit("b", RequestClass::streaming).allowed);
    CHECK(limiter.admit("a", RequestClass::non_streaming).allowed);
    CHECK(limiter.admit("a", RequestClass::upload).allowed);
}

TEST_CASE("Retry-After is at least one second", "[limits]") {
    FakeClock clock;
    chatkit::RateLimitOptions options;
    options.uploads = chatkit::RateBudget{600000, 1};
    options.clock = clock.fn();
    RateLimiter limiter(options);
    CHECK(limiter.admit("a", RequestClass::upload).allowed);
    auto const refused = limiter.admit("a", RequestClass::upload);
    CHECK_FALSE(refused.allowed);
    CHECK(refused.retry_after == 1s);
}

TEST_CASE("stream slots are held until released, and a refused stream spends no budget", "[limits]") {
    FakeClock clock;
    chatkit::RateLimitOptions options;
    options.streaming = chatkit::RateBudget{60, 3};
    options.max_streams_per_owner = 1;
    options.clock = clock.fn();
    RateLimiter limiter(options);

    auto first = limiter.admit("a", RequestClass::streaming);
    REQUIRE(first.allowed);
    REQUIRE(first.stream_slot);
    auto second = limiter.admit("a", RequestClass::streaming);
    CHECK_FALSE(second.allowed);
    CHECK(second.retry_after == 1s);
    CHECK(limiter.admit("b", RequestClass::streaming).allowed);

    first.stream_slot.reset();
    auto third = limiter.admit("a", RequestClass::streaming);
    CHECK(third.allowed);  // the refused stream did not spend a token: 2 of 3 used
    third.stream_slot.reset();
    CHECK(limiter.admit("a", RequestClass::streaming).allowed);
    CHECK_FALSE(limiter.admit("a", RequestClass::streaming).allowed);  // now the budget is spent
}

TEST_CASE("a flood of distinct owners does not grow the limiter past its bound", "[limits]") {
    FakeClock clock;
    chatkit::RateLimitOptions options;
    options.streaming = chatkit::RateBudget{1, 1};
    options.max_owners = 100;
    options.clock = clock.fn();
    RateLimiter limiter(options);
    for (int i = 0; i < 10000; ++i) {
        CHECK(limiter.admit("owner-" + std::to_string(i), RequestClass::streaming).allowed);
        REQUIRE(limiter.tracked_owners() <= 100);
    }
    // Idle owners (buckets full again) are forgotten as requests come in.
    clock.now += 1h;
    for (int i = 0; i < 60; ++i) (void)limiter.admit("again", RequestClass::streaming);
    CHECK(limiter.tracked_owners() == 1);
}

TEST_CASE("a budget must have a positive rate", "[limits]") {
    chatkit::RateLimitOptions options;
    options.streaming = chatkit::RateBudget{0, 1};
    CHECK_THROWS_AS(RateLimiter(options), std::invalid_argument);
}
