// chatkit-cpp (private): the context-free interface ChatKitServer<Context> adapts to, and the compiled core.
#pragma once

#include <chatkit/core/logging.hpp>
#include <chatkit/protocol/requests.hpp>
#include <chatkit/server/event_sink.hpp>
#include <chatkit/server/limits.hpp>
#include <chatkit/server/quotas.hpp>
#include <chatkit/server/rate_limiter.hpp>
#include <chatkit/server/response.hpp>
#include <chatkit/server/runs.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace chatkit {
class Response;
}

namespace chatkit::detail {

class run_registry;

/// One request's view of the server: the store, attachment store and hooks, bound to its context.
class request_ops {
public:
    virtual ~request_ops() = default;

    virtual std::string generate_thread_id() = 0;
    virtual std::string generate_item_id(StoreItemType type, ThreadMetadata const& thread) = 0;
    virtual asio::awaitable<ThreadMetadata> load_thread(std::string const& thread_id) = 0;
    virtual asio::awaitable<void> save_thread(ThreadMetadata const& thread) = 0;
    virtual asio::awaitable<Page<ThreadMetadata>> load_threads(int limit, std::optional<std::string> const& after,
                                                               Order order) = 0;
    virtual asio::awaitable<Page<ThreadItem>> load_thread_items(std::string const& thread_id,
                                                                std::optional<std::string> const& after, int limit,
                                                                Order order) = 0;
    virtual asio::awaitable<void> add_thread_item(std::string const& thread_id, ThreadItem const& item) = 0;
    virtual asio::awaitable<void> save_item(std::string const& thread_id, ThreadItem const& item) = 0;
    virtual asio::awaitable<ThreadItem> load_item(std::string const& thread_id, std::string const& item_id) = 0;
    virtual asio::awaitable<void> delete_thread(std::string const& thread_id) = 0;
    virtual asio::awaitable<void> delete_thread_item(std::string const& thread_id, std::string const& item_id) = 0;
    virtual asio::awaitable<void> save_attachment(Attachment const& attachment) = 0;
    virtual asio::awaitable<Attachment> load_attachment(std::string const& attachment_id) = 0;
    virtual asio::awaitable<void> delete_attachment(std::string const& attachment_id) = 0;

    virtual bool has_attachment_store() const = 0;
    virtual asio::awaitable<Attachment> create_attachment(AttachmentCreateParams const& params) = 0;
    virtual asio::awaitable<void> delete_attachment_bytes(std::string const& attachment_id) = 0;

    virtual asio::awaitable<void> respond(ThreadMetadata& thread, std::optional<UserMessageItem> const& input,
                                          EventSink& events) = 0;
    virtual asio::awaitable<void> action(ThreadMetadata& thread, Action const& action,
                                         std::optional<WidgetItem> const& sender, EventSink& events) = 0;
    virtual asio::awaitable<SyncCustomActionResponse> sync_action(ThreadMetadata& thread, Action const& action,
                                                                  std::optional<WidgetItem> const& sender) = 0;
    virtual asio::awaitable<void> add_feedback(std::string const& thread_id, std::vector<std::string> const& item_ids,
                                               FeedbackKind kind) = 0;
    virtual asio::awaitable<TranscriptionResult> transcribe(AudioInput const& audio) = 0;
    virtual StreamOptions get_stream_options(ThreadMetadata const& thread) = 0;
    virtual asio::awaitable<void> handle_stream_cancelled(ThreadMetadata& thread,
                                                          std::vector<ThreadItem> const& pending) = 0;
    virtual Logger const& logger() const = 0;
    virtual ServerLimits const& limits() const = 0;
    /// The server's runs.
    virtual run_registry& runs() = 0;
    /// The policy of a new run of `thread` (ChatKitServer::stream_policy).
    virtual StreamPolicy stream_policy(ThreadMetadata const& thread) = 0;
    /// The key the store partitions this request's data by (`Store::owner_of`).
    virtual std::string owner() = 0;
    /// The server's rate limiter, or null.
    virtual RateLimiter* rate_limiter() const = 0;
    /// The server's token quotas.
    virtual TokenQuotas const& quotas() const = 0;
    /// Store::record_usage for this request's owner.
    virtual asio::awaitable<UsageTotals> record_usage(UsageRecord const& record) = 0;
    /// Store::load_usage_totals for this request's owner.
    virtual asio::awaitable<UsageTotals> load_usage_totals(std::string const& thread_id, std::int64_t day) = 0;

    /// What the admission check handed out for this request (a stream slot), held as long as the
    /// request (and its stream) runs.
    std::shared_ptr<void> admission;
};

/// The RateLimiter class of a request.
CHATKIT_API RequestClass request_class(ChatKitRequest const& request) noexcept;

/// Records one model response's usage in `thread` and enforces the quotas (EventSink::record_usage).
CHATKIT_API asio::awaitable<void> record_stream_usage(request_ops& ops, ThreadMetadata const& thread, TokenUsage usage,
                                                      std::string response_id);

/// The owner's daily quota, checked before a streaming request runs: a 429 answer (Retry-After
/// until midnight UTC) when the owner's tokens today reached it, else nothing.
CHATKIT_API asio::awaitable<std::optional<Response>> check_daily_quota(request_ops& ops, ChatKitRequest const& request);

/// `ops.respond()`, after checking the thread's quota (over it: CustomStreamError, an error event).
CHATKIT_API asio::awaitable<void> respond_within_quota(request_ops& ops, ThreadMetadata& thread,
                                                       std::optional<UserMessageItem> const& input, EventSink& events);

/// Runs the server's rate limiter on a request: a 429 answer (with its retry delay) when refused,
/// nothing when admitted (a stream slot is then kept in `ops.admission`).
CHATKIT_API std::optional<Response> admit_request(request_ops& ops, ChatKitRequest const& request);

/// Runs one parsed request against `ops` (PROTOCOL.md §4). Never throws: failures become error responses.
CHATKIT_API asio::awaitable<Response> process(std::unique_ptr<request_ops> ops, ChatKitRequest request);

/// Parses and runs one request body. Never throws.
CHATKIT_API asio::awaitable<Response> process(std::unique_ptr<request_ops> ops, std::string_view body);

/// Answers `GET <chatkit path>/runs/{thread_id}?after=N`: a stream of the run's events from index
/// `after`, following it live; 404 when the thread is not the caller's or has no run in the
/// retention window, 400 for an `after` beyond the events so far, 410 when they were dropped.
CHATKIT_API asio::awaitable<Response> resume_run(std::unique_ptr<request_ops> ops, std::string thread_id,
                                                 std::uint64_t after);

/// Answers `POST <chatkit path>/runs/{thread_id}/cancel`: cancels the active run (once its partial
/// reply is saved, within 10 s) with `{"cancelled":true}`, or `{"cancelled":false}` when none runs;
/// 404 when the thread is not the caller's.
CHATKIT_API asio::awaitable<Response> cancel_run(std::unique_ptr<request_ops> ops, std::string thread_id);

/// The error Response for what a request threw (client-safe status, code and message; 5xx logged).
CHATKIT_API Response failure_response(std::exception_ptr const& failure, Logger const& logger);

/// The text of the hidden note the default cancellation handler stores.
inline constexpr char const* cancelled_stream_note =
    "The user cancelled the stream. Stop responding to the prior request.";

/// True when an assistant message has a part whose text is not blank (what the default cancellation
/// handler keeps).
CHATKIT_API bool has_visible_text(AssistantMessageItem const& item) noexcept;

/// A running stream: what a streaming Response owns.
class stream_job;

}  // namespace chatkit::detail
