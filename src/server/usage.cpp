// chatkit-cpp: what the server does with the token usage a stream reports: it records it through the
// store, and enforces the token quotas (before a run and after each model response).
#include <chatkit/core/error.hpp>
#include <chatkit/server/detail/server_core.hpp>

#include <chrono>
#include <string>

namespace chatkit::detail {

namespace {

std::int64_t today() { return utc_day(std::chrono::system_clock::now()); }

// Whole seconds until the next midnight UTC (at least 1).
std::chrono::seconds until_midnight_utc() {
    auto const now = std::chrono::system_clock::now();
    auto const next = std::chrono::floor<std::chrono::days>(now) + std::chrono::days(1);
    auto const left = std::chrono::ceil<std::chrono::seconds>(next - now);
    return left.count() < 1 ? std::chrono::seconds(1) : left;
}

std::string day_quota_message(std::uint64_t quota) {
    return "You have used today's token quota (" + std::to_string(quota) + " tokens); it renews at midnight UTC.";
}

std::string thread_quota_message(std::uint64_t quota) {
    return "This conversation has used its token quota (" + std::to_string(quota) +
           " tokens); start a new conversation.";
}

// The thread a streaming request continues (empty for threads.create).
std::string thread_of(ChatKitRequest const& request) {
    return std::visit(
        [](auto const& p) -> std::string {
            if constexpr (requires { p.thread_id; })
                return p.thread_id;
            else
                return {};
        },
        request.params);
}

}  // namespace

asio::awaitable<void> record_stream_usage(request_ops& ops, ThreadMetadata const& thread, TokenUsage usage,
                                          std::string response_id) {
    UsageRecord record{thread.id, std::move(response_id), usage, today()};
    UsageTotals totals;
    try {
        totals = co_await ops.record_usage(record);
    } catch (Error const& e) {  // a store failure; cancellation and the rest propagate
        ops.logger().log(LogLevel::error, std::string("recording token usage failed: ") + e.what());
        co_return;
    }
    auto const& quotas = ops.quotas();
    if (quotas.per_owner_per_day && totals.owner_day.total_tokens() >= *quotas.per_owner_per_day)
        throw CustomStreamError(day_quota_message(*quotas.per_owner_per_day));
    if (quotas.per_thread && totals.thread.total_tokens() >= *quotas.per_thread)
        throw CustomStreamError(thread_quota_message(*quotas.per_thread));
}

asio::awaitable<std::optional<Response>> check_daily_quota(request_ops& ops, ChatKitRequest const& request) {
    auto const& quotas = ops.quotas();
    if (!quotas.per_owner_per_day || !request.is_streaming()) co_return std::nullopt;
    std::string const thread_id = thread_of(request);
    UsageTotals const totals = co_await ops.load_usage_totals(thread_id, today());
    if (totals.owner_day.total_tokens() < *quotas.per_owner_per_day) co_return std::nullopt;
    Response refused(429, error_body("rate_limited", day_quota_message(*quotas.per_owner_per_day)));
    refused.set_retry_after(until_midnight_utc());
    co_return refused;
}

asio::awaitable<void> respond_within_quota(request_ops& ops, ThreadMetadata& thread,
                                           std::optional<UserMessageItem> const& input, EventSink& events) {
    auto const& quotas = ops.quotas();
    if (quotas.per_thread) {
        UsageTotals const totals = co_await ops.load_usage_totals(thread.id, today());
        if (totals.thread.total_tokens() >= *quotas.per_thread)
            throw CustomStreamError(thread_quota_message(*quotas.per_thread));
    }
    co_await ops.respond(thread, input, events);
}

}  // namespace chatkit::detail
