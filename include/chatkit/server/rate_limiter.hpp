// chatkit-cpp: RateLimiter, per-owner request budgets (token buckets) and concurrent-stream caps.
#pragma once

#include <chatkit/core/config.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace chatkit {

/// One token bucket: `per_minute` requests are refilled per minute, evenly, up to `burst` saved up.
struct RateBudget {
    /// Requests refilled per minute (must be positive).
    double per_minute = 60;
    /// The most requests one owner may send at once after a quiet spell; 0 means `per_minute`
    /// (rounded up, at least 1).
    std::size_t burst = 0;
};

/// The three request classes a RateLimiter budgets separately.
enum class RequestClass {
    streaming,      ///< `POST /chatkit` answered with SSE (threads.create, add_user_message, actions...)
    non_streaming,  ///< `POST /chatkit` answered with JSON (threads.list, items.list, feedback...)
    upload,         ///< `attachments.create` and the upload routes
};

/// What a RateLimiter enforces. Every budget is off when not set.
struct RateLimitOptions {
    /// Budget of streaming requests per owner.
    std::optional<RateBudget> streaming;
    /// Budget of non-streaming requests per owner.
    std::optional<RateBudget> non_streaming;
    /// Budget of uploads per owner.
    std::optional<RateBudget> uploads;
    /// Streams one owner may have open at once (a stream holds its slot until it ends).
    std::optional<std::size_t> max_streams_per_owner;
    /// The most owners the limiter keeps state for. Owners whose buckets have refilled and who have
    /// no open stream are forgotten first (forgetting them changes nothing); past this bound the
    /// least recently seen owner without an open stream is forgotten even if its buckets were not
    /// full (it gets a fresh budget: the price of bounded memory under a flood of distinct owners).
    std::size_t max_owners = 100'000;
    /// The clock (tests inject one); steady_clock by default.
    std::function<std::chrono::steady_clock::time_point()> clock;
};

/// The limiter's answer to one request.
struct Admission {
    /// True when the request may run.
    bool allowed = true;
    /// When refused: whole seconds until the refused budget has room again (at least 1); the
    /// `Retry-After` of the 429 answer.
    std::chrono::seconds retry_after{0};
    /// When refused: a client-safe reason ("Too many streaming requests; retry in 3 s").
    std::string reason;
    /// For an admitted streaming request under `max_streams_per_owner`: the stream's slot, given
    /// back when this is destroyed (keep it for the life of the stream). Null otherwise.
    std::shared_ptr<void> stream_slot;
};

/// Per-owner rate limits: a token bucket per owner for each RequestClass and a cap on concurrent
/// streams per owner. An owner is the key the store partitions by (`Store::owner_of`).
///
/// The state is per process (per instance behind a load balancer): with N instances an owner may
/// get up to N times the budget. This is deliberate: a shared bucket would put a database round
/// trip in front of every request, and the budgets are a defence against floods, not an accounting
/// tool (the token quotas, which are, are shared through PostgreSQL: see docs/limits.md).
///
/// @par Thread safety
/// `admit()` may be called concurrently; a mutex guards the state. Memory is bounded by
/// `RateLimitOptions::max_owners`.
///
/// @par Object lifetimes
/// The limiter must outlive every `Admission::stream_slot` it gave out (give it to a server in
/// `ChatKitServerOptions::rate_limiter`; the server must not outlive it).
class CHATKIT_API RateLimiter {
public:
    /// A limiter enforcing `options`.
    /// @throws std::invalid_argument when a budget's `per_minute` is not positive.
    explicit RateLimiter(RateLimitOptions options);
    ~RateLimiter();
    RateLimiter(RateLimiter const&) = delete;
    RateLimiter& operator=(RateLimiter const&) = delete;

    /// Decides one request of `owner` of class `kind`: the concurrent-stream cap first (a refused
    /// stream spends no budget), then the class's bucket.
    Admission admit(std::string_view owner, RequestClass kind);

    /// The number of owners the limiter holds state for (at most `max_owners`).
    std::size_t tracked_owners() const;

    /// The options.
    RateLimitOptions const& options() const noexcept;

    /// Internal state (src/server/rate_limiter.cpp).
    struct state;

private:
    std::shared_ptr<state> state_;
};

}  // namespace chatkit
