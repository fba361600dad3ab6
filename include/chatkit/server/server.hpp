// chatkit-cpp: ChatKitServer<Context>, the class a service author subclasses.
#pragma once

#include <chatkit/core/logging.hpp>
#include <chatkit/protocol/json.hpp>
#include <chatkit/server/detail/runs.hpp>
#include <chatkit/server/detail/server_core.hpp>
#include <chatkit/server/event_sink.hpp>
#include <chatkit/server/limits.hpp>
#include <chatkit/server/quotas.hpp>
#include <chatkit/server/rate_limiter.hpp>
#include <chatkit/server/response.hpp>
#include <chatkit/server/runs.hpp>
#include <chatkit/server/transcriber.hpp>
#include <chatkit/store/store.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatkit {

/// What a `ChatKitServer` works with, given to its constructor (the only way to set them):
///
/// @code
/// MyServer app({.store = store, .attachments = &files, .transcriber = transcriber.get()});
/// @endcode
///
/// Only `store` is required. Everything given by reference or pointer must outlive the server's
/// requests; the server reads these, never writes them, so concurrent requests may share them.
template <class Context>
struct ChatKitServerOptions {
    /// Threads, items and attachment records.
    Store<Context>& store;
    /// Attachment bytes, for `attachments.create` and `attachments.delete` (null: those requests
    /// answer 500, no attachment store).
    AttachmentStore<Context>* attachments = nullptr;
    /// The dictation backend the default `transcribe()` uses for `input.transcribe` (null: dictation
    /// answers 500, not implemented).
    Transcriber* transcriber = nullptr;
    /// The bounds on what one request may carry (attachments per message, page size...).
    ServerLimits limits{};
    /// Where the server logs (application exceptions inside streams, cancelled streams...). The
    /// default logs nothing; `Logger::stderr_logger()` writes to stderr.
    Logger logger{};
    /// What a disconnect does to a running reply, and the bounds of the run logs that let a client
    /// resume one (see RunOptions and docs/concepts.md).
    RunOptions runs{};
    /// Per-owner request budgets and concurrent-stream caps, checked before any store call (over a
    /// limit: 429 with `Retry-After`, never a stream). Null: no rate limit. Owners are the store's
    /// (`Store::owner_of`). Must outlive the server.
    RateLimiter* rate_limiter = nullptr;
    /// Model-token quotas per owner per UTC day and per thread, kept through the store's usage
    /// accounting (off when unset, and with a store that does not account usage).
    TokenQuotas quotas{};
};

/// A ChatKit backend. Subclass it, override `respond()` (and optionally `action()`, `sync_action()`,
/// `add_feedback()`, `transcribe()`, `get_stream_options()`, `handle_stream_cancelled()`), then hand
/// request bodies to `process()` — or mount it with `chatkit::http::serve`.
///
/// `Context` is any copyable or movable type the application builds per request (user, tenant, page
/// context); it reaches every hook and every store call unchanged.
///
/// @par Thread safety
/// `process()` may be called concurrently (different requests on different strands); hooks then run
/// concurrently too. The server itself holds no per-request state.
///
/// @par Object lifetimes
/// The server must outlive every Response it returns. The references hooks receive (`thread`,
/// `input`, `events`, `ctx`) stay valid until the hook's awaitable completes.
template <class Context>
class ChatKitServer {
public:
    /// The options type of this server (`ChatKitServerOptions<Context>`).
    using Options = ChatKitServerOptions<Context>;

    /// A server over `options.store`, with the attachment store, transcriber, limits and logger
    /// `options` gives (see ChatKitServerOptions).
    explicit ChatKitServer(Options options)
        : store_(&options.store), attachments_(options.attachments), transcriber_(options.transcriber),
          logger_(std::move(options.logger)), limits_(options.limits),
          runs_(std::make_shared<detail::run_registry>(options.runs)), rate_limiter_(options.rate_limiter),
          quotas_(options.quotas) {
        runs_->share(options.store.shared_run_log());
    }
    virtual ~ChatKitServer() = default;
    ChatKitServer(ChatKitServer const&) = delete;
    ChatKitServer& operator=(ChatKitServer const&) = delete;

    /// Parses and runs one request body. Never throws: invalid bodies answer 400, unknown threads,
    /// items and attachments 404, application failures outside streams 500, each with a JSON body.
    asio::awaitable<Response> process(std::string_view body, Context ctx);

    /// Runs an already parsed request (e.g. after the HTTP layer read its `metadata` into the context).
    asio::awaitable<Response> process(ChatKitRequest request, Context ctx);

    /// Answers `GET <chatkit path>/runs/{thread_id}?after=N` (the HTTP layer calls it): a stream of
    /// the thread's current or last run from event index `after` (the count of events the client
    /// already has; 0 is the run's `stream_options`), then live until the run ends. Same framing as
    /// the original stream. Answers 404 (JSON) when the thread is not `ctx`'s or has no run inside
    /// `RunOptions::retention`, 400 when `after` exceeds the events so far, 410 when they were
    /// dropped (`RunOptions::max_events_per_run`), 429 over `RunOptions::max_resumers_per_run`.
    /// Never throws. A disconnect of the resumer only detaches it.
    asio::awaitable<Response> resume(std::string thread_id, std::uint64_t after, Context ctx);

    /// Answers `POST <chatkit path>/runs/{thread_id}/cancel`: cancels the thread's active run with the
    /// reference's cancel semantics (`handle_stream_cancelled`: partial reply and hidden note saved)
    /// and answers `{"cancelled":true}` once it ended (at most 10 s later), or `{"cancelled":false}`
    /// when no run is active (idempotent). 404 when the thread is not `ctx`'s. Never throws.
    asio::awaitable<Response> cancel_run(std::string thread_id, Context ctx);

    /// Requests cancellation of every active run (the reference's cancel semantics: partial replies
    /// and hidden notes saved); `http::Server::stop()` calls it once its connections are done or
    /// its grace period is over, so runs that outlived their clients do not hold the io_context.
    /// An application serving with `http::serve` on its own listener calls it when it shuts down.
    void cancel_runs() { runs_->cancel_all(); }

    /// The run options given to the constructor.
    RunOptions const& run_options() const noexcept { return runs_->options(); }

    /// The store.
    Store<Context>& store() const noexcept { return *store_; }
    /// The attachment store, or null.
    AttachmentStore<Context>* attachment_store() const noexcept { return attachments_; }
    /// The transcriber the default `transcribe()` uses, or null.
    Transcriber* transcriber() const noexcept { return transcriber_; }
    /// The bounds on what one request may carry.
    ServerLimits const& limits() const noexcept { return limits_; }
    /// Where the server logs.
    Logger const& logger() const noexcept { return logger_; }
    /// The rate limiter, or null.
    RateLimiter* rate_limiter() const noexcept { return rate_limiter_; }
    /// The token quotas.
    TokenQuotas const& quotas() const noexcept { return quotas_; }

protected:
    /// Produces the response to a user message, or continues after a client tool output or a
    /// structured input (`input` is then empty). Emit events into `events`; change `thread` (title,
    /// status, metadata, allowed image domains) and the engine saves it and sends `thread.updated`.
    ///
    /// Throw `CustomStreamError` to show a message, `StreamError` for a generic error; any other
    /// exception becomes a retryable `stream.error` event (its text is logged, never sent).
    virtual asio::awaitable<void> respond(ThreadMetadata& thread, std::optional<UserMessageItem> const& input,
                                          EventSink& events, Context& ctx) = 0;

    /// Handles `threads.custom_action` (a widget button, a form...). `sender` is the widget item the
    /// action came from, when the client named one. The default fails the stream (`stream.error`).
    virtual asio::awaitable<void> action(ThreadMetadata& thread, Action const& action,
                                         std::optional<WidgetItem> const& sender, EventSink& events, Context& ctx);

    /// Handles `threads.sync_custom_action`. A returned item is sent back but not saved: save it
    /// yourself (`store().save_item`) when it changed. The default answers 500 (not implemented).
    virtual asio::awaitable<SyncCustomActionResponse> sync_action(ThreadMetadata& thread, Action const& action,
                                                                  std::optional<WidgetItem> const& sender,
                                                                  Context& ctx);

    /// Records thumbs-up/down feedback on items (ids are not validated). The default does nothing.
    virtual asio::awaitable<void> add_feedback(std::string const& thread_id, std::vector<std::string> const& item_ids,
                                               FeedbackKind kind, Context& ctx);

    /// Transcribes dictated audio. The default uses `ChatKitServerOptions::transcriber`, or answers 500
    /// (not implemented) without one.
    virtual asio::awaitable<TranscriptionResult> transcribe(AudioInput const& audio, Context& ctx);

    /// The options of a stream (default: the client may cancel).
    virtual StreamOptions get_stream_options(ThreadMetadata const& thread, Context& ctx);

    /// What a disconnect does to the run a streaming request on `thread` starts (called once per
    /// streaming request, before it runs). The default is `RunOptions::on_disconnect`; override it
    /// to decide per user or per thread from `ctx`.
    virtual StreamPolicy stream_policy(ThreadMetadata const& thread, Context& ctx);

    /// Called when the client went away mid-stream, with the items that were added but not finished.
    /// The default stores pending assistant messages that have visible text, then a hidden
    /// `sdk_hidden_context` note telling the model the user cancelled.
    virtual asio::awaitable<void> handle_stream_cancelled(ThreadMetadata& thread, std::vector<ThreadItem> const& pending,
                                                          Context& ctx);

private:
    template <class>
    friend class detail_bound_ops;

    Store<Context>* store_;
    AttachmentStore<Context>* attachments_;
    Transcriber* transcriber_ = nullptr;
    Logger logger_;
    ServerLimits limits_;
    std::shared_ptr<detail::run_registry> runs_;
    RateLimiter* rate_limiter_ = nullptr;
    TokenQuotas quotas_;
};

}  // namespace chatkit

#include <chatkit/server/impl/server.hpp>
