// chatkit-cpp: helpers that stream common items (an assistant message's text) through an EventSink.
#pragma once

#include <chatkit/protocol/events.hpp>
#include <chatkit/server/event_sink.hpp>

#include <boost/asio/awaitable.hpp>

#include <string>

namespace chatkit {

/// Streams one assistant message with a single text part: `start()` emits `thread.item.added` and
/// `assistant_message.content_part.added`, each `append()` a `text_delta`, `annotate()` an
/// `annotation_added`, and `finish()` `content_part.done` then `thread.item.done` (same id and
/// `created_at` as the added item). The engine stores the message on `finish()`; if the client
/// leaves before, the default cancellation handler stores the text streamed so far.
///
/// @par Example
/// @code
/// AssistantMessageStream message(events);
/// co_await message.start();
/// for (auto& word : words) co_await message.append(std::move(word));
/// co_await message.finish();
/// @endcode
class CHATKIT_API AssistantMessageStream {
public:
    /// A message with a new id from the store's `message` generator, created now.
    explicit AssistantMessageStream(EventSink& events);

    /// Emits `thread.item.added` (empty content) and `content_part.added` for part 0.
    asio::awaitable<void> start();
    /// Emits one `text_delta` (empty deltas are skipped).
    asio::awaitable<void> append(std::string delta);
    /// Emits `annotation_added` with the next annotation index.
    asio::awaitable<void> annotate(Annotation annotation);
    /// Emits `content_part.done` and `thread.item.done` with the full text.
    asio::awaitable<void> finish();

    /// The message's id.
    std::string const& id() const noexcept { return item_.id; }
    /// The text streamed so far.
    std::string const& text() const noexcept { return part_.text; }

private:
    EventSink* events_;
    AssistantMessageItem item_;
    AssistantMessageContent part_;
    bool started_ = false;
    bool finished_ = false;
};

/// Streams one whole assistant message with `text` in one call: exactly the events of an
/// `AssistantMessageStream` after `start()`, one `append(text)` and `finish()` — `thread.item.added`,
/// `content_part.added`, one `text_delta` (none when `text` is empty), `content_part.done` and
/// `thread.item.done`. The engine stores the message at the done event.
///
/// @par Example
/// @code
/// std::string text = "You said: " + text_of(*input);  // named first: see docs/coroutines.md
/// co_await stream_assistant_message(events, std::move(text));
/// @endcode
///
/// @par Cancellation and lifetimes
/// When the client leaves, the pending emit throws `Error(stream_cancelled)` (or the operation is
/// cancelled) and the engine's cancellation handler stores the text sent so far. `events` must
/// outlive the returned awaitable; `text` is taken by value.
CHATKIT_API asio::awaitable<void> stream_assistant_message(EventSink& events, std::string text);

}  // namespace chatkit
