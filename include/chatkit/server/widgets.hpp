// chatkit-cpp: widget diffs and widget streaming (PROTOCOL.md §8.3-8.4).
#pragma once

#include <chatkit/protocol/events.hpp>
#include <chatkit/server/event_sink.hpp>

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <vector>

namespace chatkit {

/// The updates that turn widget state `before` into `after` (PROTOCOL.md §8.3):
/// nothing when equal; one `widget.streaming_text.value_delta` per Text/Markdown component with an
/// `id` whose `value` only grew; otherwise a single `widget.root.updated` with `after`.
///
/// Throws `std::invalid_argument` when a component with an id disappears or a streaming text
/// changes other than by appending (the reference's rules); inside a stream that becomes an error event.
CHATKIT_API std::vector<ThreadItemUpdate> diff_widget(WidgetRoot const& before, WidgetRoot const& after);

/// Emits a static widget as one `thread.item.done` of a new widget item (id from the store's
/// `message` generator).
CHATKIT_API asio::awaitable<void> stream_widget(EventSink& events, WidgetRoot widget,
                                                std::optional<std::string> copy_text = std::nullopt);

/// Streams successive states of one widget: `thread.item.added` with the first state, the updates of
/// `diff_widget` for each following one, then `thread.item.done` with the last. Throws
/// `std::invalid_argument` for an empty sequence.
CHATKIT_API asio::awaitable<void> stream_widget(EventSink& events, std::vector<WidgetRoot> states,
                                                std::optional<std::string> copy_text = std::nullopt);

/// Streams a widget whose states are produced over time (e.g. while a model streams text):
/// `co_await w.update(state)` for each state, then `co_await w.done()`.
class CHATKIT_API WidgetStream {
public:
    /// Takes the new item's id from `events` now; nothing is emitted before the first `update`.
    /// `events` must outlive the stream; `copy_text` is what the item's copy button copies.
    explicit WidgetStream(EventSink& events, std::optional<std::string> copy_text = std::nullopt);

    /// The first call emits `thread.item.added`; later calls emit the diff to the previous state.
    asio::awaitable<void> update(WidgetRoot state);
    /// Emits `thread.item.done` with the last state. Throws `std::logic_error` before any update.
    asio::awaitable<void> done();
    /// The widget item's id.
    std::string const& item_id() const noexcept { return item_.id; }

private:
    EventSink* events_;
    WidgetItem item_;
    bool started_ = false;
};

}  // namespace chatkit
