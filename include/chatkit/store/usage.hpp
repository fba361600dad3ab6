// chatkit-cpp: model token usage as the Store records it (per response, per thread, per owner).
#pragma once

#include <chatkit/core/config.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace chatkit {

/// Tokens a model reported for one or more responses (the OpenAI usage fields).
struct TokenUsage {
    /// Input tokens, cached ones included (`input_tokens`, Chat Completions' `prompt_tokens`).
    std::uint64_t input_tokens = 0;
    /// Input tokens served from the provider's cache (`input_tokens_details.cached_tokens`).
    std::uint64_t cached_input_tokens = 0;
    /// Output tokens, reasoning ones included (`output_tokens`, `completion_tokens`).
    std::uint64_t output_tokens = 0;
    /// Reasoning tokens (`output_tokens_details.reasoning_tokens`).
    std::uint64_t reasoning_tokens = 0;

    /// Input + output: what quotas count.
    std::uint64_t total_tokens() const noexcept { return input_tokens + output_tokens; }
    /// Adds `other` field by field.
    TokenUsage& operator+=(TokenUsage const& other) noexcept {
        input_tokens += other.input_tokens;
        cached_input_tokens += other.cached_input_tokens;
        output_tokens += other.output_tokens;
        reasoning_tokens += other.reasoning_tokens;
        return *this;
    }
    /// Field-by-field equality.
    bool operator==(TokenUsage const&) const = default;
};

/// The usage of one model response, as `Store::record_usage` receives it.
struct UsageRecord {
    /// The thread the response answered in.
    std::string thread_id;
    /// The provider's response id (may be empty).
    std::string response_id;
    /// What the model reported.
    TokenUsage usage;
    /// The UTC day the tokens count toward, as days since 1970-01-01 (`utc_day()`).
    std::int64_t day = 0;
};

/// An owner's usage on one UTC day and a thread's usage, as quotas compare them.
struct UsageTotals {
    /// The owner's total on the day asked (or of the record just added).
    TokenUsage owner_day;
    /// The thread's total (all days).
    TokenUsage thread;
};

/// One thread's total usage.
struct ThreadUsage {
    /// The thread.
    std::string thread_id;
    /// Its total (it survives the thread's deletion: the tokens were spent).
    TokenUsage usage;
};

/// An owner's usage: the total of every day, and the threads that used the most.
struct UsageSummary {
    /// Every token the owner's responses used.
    TokenUsage total;
    /// The threads with the largest `total_tokens()`, largest first (ties: thread id ascending),
    /// at most the number asked.
    std::vector<ThreadUsage> threads;
};

/// The UTC day of `t` as days since 1970-01-01.
inline std::int64_t utc_day(std::chrono::system_clock::time_point t) {
    return std::chrono::floor<std::chrono::days>(t).time_since_epoch().count();
}

}  // namespace chatkit
