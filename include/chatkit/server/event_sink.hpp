// chatkit-cpp: EventSink, the streaming primitive respond() and action() emit into, and StreamWriter,
// the transport interface the engine writes SSE frames through.
#pragma once

#include <chatkit/protocol/events.hpp>
#include <chatkit/store/usage.hpp>

#include <boost/asio/awaitable.hpp>

#include <string>
#include <string_view>

namespace chatkit {

namespace asio = boost::asio;

/// The write side of one SSE response, implemented by the transport (the HTTP layer, or a test).
class StreamWriter {
public:
    virtual ~StreamWriter() = default;

    /// Writes one complete SSE frame (`data: <json>\n\n`) and flushes it.
    /// Throws (any exception) when the client is gone; the engine then runs the cancellation path.
    virtual asio::awaitable<void> write(std::string_view frame) = 0;

    /// Says that the events are over: no frame is expected after this call, so a writer may keep
    /// what it queued until the stream ends and send it with the body's end (one write). A frame
    /// written afterwards is still written. The default does nothing.
    virtual void ending() noexcept {}
};

namespace detail {
class stream_engine;
}

/// What `respond()` and `action()` emit events into.
///
/// `emit` completes after the event has been persisted (for `thread.item.done`, `.replaced` and
/// `.removed`) and appended to the run log; under `StreamPolicy::cancel_on_disconnect` also after
/// it was written to the client (a slow client slows the producer), under `continue_on_disconnect`
/// the client reads the log at its own pace. Order is always kept.
///
/// @par Errors
/// When the run is cancelled (the client went away under `cancel_on_disconnect`, a cancel request,
/// the maximum run time), `emit` throws `chatkit::Error` with `error::stream_cancelled`;
/// let it propagate (the engine then calls `handle_stream_cancelled`). A store failure while persisting
/// throws too; the engine turns it into an `error` event. Once an emit has failed, every later emit
/// fails the same way.
///
/// @par Thread safety
/// At most one `emit` may be outstanding at a time.
class CHATKIT_API EventSink {
public:
    /// Made by the server for each stream (the engine outlives it); applications receive a sink
    /// in `respond()`/`action()` and never build one.
    explicit EventSink(detail::stream_engine& engine) noexcept : engine_(&engine) {}

    /// Emits one event. Pass a named object or a function's result (see docs on g++ 12 coroutines).
    asio::awaitable<void> emit(ThreadStreamEvent event);

    /// A new id from the store's generator for an item of this thread (e.g. `StoreItemType::message`).
    std::string generate_item_id(StoreItemType type);

    /// The id of the thread this stream belongs to.
    std::string const& thread_id() const noexcept;

    /// Records the token usage of one model response answered in this thread, through the store
    /// (`Store::record_usage`: per response, per thread, per owner and UTC day), then enforces the
    /// server's token quotas (`ChatKitServerOptions::quotas`): when the owner's day or the thread is
    /// over its quota, it throws `CustomStreamError` (the stream ends with that `error` event, and
    /// what was streamed so far is kept). `stream_agent_response` calls it for every model response;
    /// a `respond()` that calls a model itself should too. `response_id` may be empty.
    ///
    /// A store failure while recording is logged, never thrown: the answer matters more than its
    /// accounting. Cancellation: like `emit`, when the client has gone.
    asio::awaitable<void> record_usage(TokenUsage usage, std::string response_id);

private:
    detail::stream_engine* engine_;
};

}  // namespace chatkit
