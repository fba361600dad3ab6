// Per-user limits of the example servers (quickstart, agent_server): the command-line options and
// what they build (docs/limits.md). Every limit is off unless its option or variable is given.
#pragma once

#include "cli.hpp"

#include <chatkit/server/quotas.hpp>
#include <chatkit/server/rate_limiter.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace examples {

/// Declares `--rate-limit-per-minute` (CHATKIT_RATE_LIMIT_PER_MINUTE), `--max-streams-per-user`
/// (CHATKIT_MAX_STREAMS_PER_USER) and `--token-quota-per-day` (CHATKIT_TOKEN_QUOTA_PER_DAY), all off
/// by default.
inline Cli& limit_options(Cli& cli) {
    return cli
        .option("rate-limit-per-minute", "CHATKIT_RATE_LIMIT_PER_MINUTE", "",
                "streaming requests (messages, actions) one user may send per minute; over it: 429 with "
                "Retry-After (off when not given)")
        .option("max-streams-per-user", "CHATKIT_MAX_STREAMS_PER_USER", "",
                "streams one user may have open at once; one more: 429 (off when not given)")
        .option("token-quota-per-day", "CHATKIT_TOKEN_QUOTA_PER_DAY", "",
                "model tokens (input + output) one user may use per UTC day; a run that reaches it ends with "
                "an error event, later messages get 429 until midnight UTC (off when not given)");
}

/// The value of option `name` as a whole number in [1, max], or nullopt when not given (empty).
inline std::optional<std::uint64_t> optional_count(Cli const& cli, std::string const& name, std::uint64_t max) {
    if (cli.get(name).empty()) return std::nullopt;
    return cli.whole(name, max);
}

/// What `limit_options()` configured.
struct Limits {
    /// The rate limiter, or null when no rate limit was given.
    std::unique_ptr<chatkit::RateLimiter> rate_limiter;
    /// The token quotas (the daily one when given).
    chatkit::TokenQuotas quotas;
    /// One line for the start-up log.
    std::string description;
};

/// Builds the limits `limit_options()` declared (exits 2 on a bad value).
inline Limits limits_from(Cli const& cli) {
    Limits limits;
    auto const per_minute = optional_count(cli, "rate-limit-per-minute", 1'000'000);
    auto const streams = optional_count(cli, "max-streams-per-user", 10'000);
    auto const tokens = optional_count(cli, "token-quota-per-day", 1'000'000'000'000ULL);
    limits.quotas.per_owner_per_day = tokens;
    if (per_minute || streams) {
        chatkit::RateLimitOptions options;
        if (per_minute) options.streaming = chatkit::RateBudget{static_cast<double>(*per_minute), 0};
        if (streams) options.max_streams_per_owner = static_cast<std::size_t>(*streams);
        limits.rate_limiter = std::make_unique<chatkit::RateLimiter>(std::move(options));
    }
    limits.description = "limits per user: " +
                         (per_minute ? std::to_string(*per_minute) + " streaming requests/min" : std::string("no rate limit")) +
                         ", " + (streams ? "at most " + std::to_string(*streams) + " streams at once" : std::string("no stream cap")) +
                         ", " + (tokens ? std::to_string(*tokens) + " model tokens/day" : std::string("no token quota")) +
                         "; usage at GET /chatkit/usage";
    return limits;
}

}  // namespace examples
