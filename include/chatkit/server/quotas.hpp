// chatkit-cpp: TokenQuotas, the model tokens one owner may spend per UTC day and one thread in all.
#pragma once

#include <cstdint>
#include <optional>

namespace chatkit {

/// Model-token quotas (input + output tokens, as the model reports them), enforced by a
/// ChatKitServer through its store's usage accounting (`Store::record_usage`). Every quota is off
/// when not set. See docs/limits.md for the answers.
///
/// - Before a run: a streaming request of an owner whose tokens today (UTC) reached
///   `per_owner_per_day` is answered 429 (`Retry-After`: the seconds until midnight UTC), before
///   any stream; a message to a thread whose tokens reached `per_thread` gets a stream whose only
///   answer is an `error` event (the user message is kept).
/// - During a run: after each model response (`EventSink::record_usage`), a run whose owner or
///   thread reached its quota ends with an `error` event; what was streamed so far is saved. A run
///   may overshoot by at most one model response.
struct TokenQuotas {
    /// Tokens one owner may use per UTC day.
    std::optional<std::uint64_t> per_owner_per_day;
    /// Tokens one thread may use in all.
    std::optional<std::uint64_t> per_thread;
};

}  // namespace chatkit
