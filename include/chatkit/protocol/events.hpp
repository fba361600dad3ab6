// chatkit-cpp protocol: stream events and item updates (PROTOCOL.md §5).
#pragma once

#include <chatkit/protocol/items.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace chatkit {

// ---------------------------------------------------------------------------------------------
// Item updates (the `update` of `thread.item.updated`)

/// `assistant_message.content_part.added`: sets part `content_index`.
struct AssistantMessageContentPartAdded {
    std::int64_t content_index = 0;  ///< Position of the part in the message's `content`.
    AssistantMessageContent content;  ///< The part as it starts (its text often empty).
    friend bool operator==(AssistantMessageContentPartAdded const&, AssistantMessageContentPartAdded const&) = default;
};

/// `assistant_message.content_part.text_delta`: appends `delta` to part `content_index`.
struct AssistantMessageContentPartTextDelta {
    std::int64_t content_index = 0;  ///< Position of the part in the message's `content`.
    std::string delta;  ///< Text appended to the part's `text`.
    friend bool operator==(AssistantMessageContentPartTextDelta const&,
                           AssistantMessageContentPartTextDelta const&) = default;
};

/// `assistant_message.content_part.annotation_added`: inserts an annotation.
struct AssistantMessageContentPartAnnotationAdded {
    std::int64_t content_index = 0;  ///< Position of the part in the message's `content`.
    /// Where the annotation goes in the part's `annotations` (appended when past the end).
    std::int64_t annotation_index = 0;
    Annotation annotation;  ///< The citation.
    friend bool operator==(AssistantMessageContentPartAnnotationAdded const&,
                           AssistantMessageContentPartAnnotationAdded const&) = default;
};

/// `assistant_message.content_part.done`: the final value of part `content_index`.
struct AssistantMessageContentPartDone {
    std::int64_t content_index = 0;  ///< Position of the part in the message's `content`.
    AssistantMessageContent content;  ///< The part's final value; replaces what the deltas built.
    friend bool operator==(AssistantMessageContentPartDone const&, AssistantMessageContentPartDone const&) = default;
};

/// `widget.streaming_text.value_delta`: appends to the `value` of a Text/Markdown component.
struct WidgetStreamingTextValueDelta {
    std::string component_id;  ///< The `id` of the Text or Markdown component.
    std::string delta;  ///< Text appended to its `value`.
    bool done = false;  ///< True once that text has finished streaming.
    friend bool operator==(WidgetStreamingTextValueDelta const&, WidgetStreamingTextValueDelta const&) = default;
};

/// `widget.root.updated`: replaces the whole widget.
struct WidgetRootUpdated {
    WidgetRoot widget;  ///< The new widget (a Card, ListView or Basic root).
    friend bool operator==(WidgetRootUpdated const&, WidgetRootUpdated const&) = default;
};

/// `widget.component.updated`: replaces one component, found by `id`.
struct WidgetComponentUpdated {
    std::string component_id;  ///< The `id` of the component replaced.
    WidgetComponent component;  ///< Its new value.
    friend bool operator==(WidgetComponentUpdated const&, WidgetComponentUpdated const&) = default;
};

/// `workflow.task.added`: appends a task.
struct WorkflowTaskAdded {
    std::int64_t task_index = 0;  ///< The new task's position in the workflow's `tasks`.
    Task task;  ///< The task.
    friend bool operator==(WorkflowTaskAdded const&, WorkflowTaskAdded const&) = default;
};

/// `workflow.task.updated`: replaces the task at `task_index`.
struct WorkflowTaskUpdated {
    std::int64_t task_index = 0;  ///< Position of the task in the workflow's `tasks`.
    Task task;  ///< Its new value.
    friend bool operator==(WorkflowTaskUpdated const&, WorkflowTaskUpdated const&) = default;
};

/// `generated_image.updated`: a partial or final image, with optional progress in 0..1.
struct GeneratedImageUpdated {
    GeneratedImage image;  ///< The image so far (a partial preview or the final one).
    std::optional<double> progress;  ///< Progress from 0 to 1; omitted when null.
    friend bool operator==(GeneratedImageUpdated const&, GeneratedImageUpdated const&) = default;
};

/// Any item update, tagged by `type` on the wire.
using ThreadItemUpdate =
    std::variant<AssistantMessageContentPartAdded, AssistantMessageContentPartTextDelta,
                 AssistantMessageContentPartAnnotationAdded, AssistantMessageContentPartDone,
                 WidgetStreamingTextValueDelta, WidgetRootUpdated, WidgetComponentUpdated, WorkflowTaskAdded,
                 WorkflowTaskUpdated, GeneratedImageUpdated>;

// ---------------------------------------------------------------------------------------------
// Stream events

/// `thread.created`: sent once by `threads.create`.
struct ThreadCreatedEvent {
    Thread thread;  ///< The new thread as clients see it (empty items page, `metadata` `{}`).
};

/// `thread.updated`: the engine sends it when `respond()` changed the thread.
struct ThreadUpdatedEvent {
    Thread thread;  ///< The thread as clients see it.
};

/// `thread.item.added`: an item starts streaming (not persisted yet).
struct ThreadItemAddedEvent {
    ThreadItem item;  ///< The item as it starts.
};

/// `thread.item.updated`: an update to a streaming item (not persisted).
struct ThreadItemUpdatedEvent {
    std::string item_id;  ///< The streaming item changed.
    ThreadItemUpdate update;  ///< The change.
};

/// `thread.item.done`: an item is final; the engine stores it (`add_thread_item`).
struct ThreadItemDoneEvent {
    ThreadItem item;  ///< The item's final value.
};

/// `thread.item.removed`: the engine deletes the item.
struct ThreadItemRemovedEvent {
    std::string item_id;  ///< The item removed from the thread.
};

/// `thread.item.replaced`: the engine saves the item (`save_item`).
struct ThreadItemReplacedEvent {
    ThreadItem item;  ///< The item's new value (it keeps its id).
};

/// Options of one stream.
struct StreamOptions {
    /// When true the client shows a stop button (cancel = close the connection).
    bool allow_cancel = true;
};

/// `stream_options`: always the first event of the streaming engine.
struct StreamOptionsEvent {
    StreamOptions stream_options;  ///< The options of this stream.
};

/// `progress_update`: an ephemeral status line.
struct ProgressUpdateEvent {
    std::optional<IconName> icon;  ///< Icon before the text (§3.11), omitted when null.
    std::string text;  ///< The status text (ephemeral: never stored in the thread).
};

/// `client_effect`: a fire-and-forget hook in the browser (`onEffect`).
struct ClientEffectEvent {
    std::string name;  ///< The effect's name, chosen by the application; the page's `onEffect` receives it.
    JsonObject data;  ///< Data for the effect (`{}` when none, always written).
};

/// `error`: `code` is `"stream.error"` (generic, localized by the client) or `"custom"` (show `message`).
struct ErrorEvent {
    std::string code = "custom";  ///< `"custom"` (default) or `"stream.error"`.
    std::optional<std::string> message;  ///< Shown verbatim for `"custom"`; omitted when null.
    /// When true the client offers a retry button (it then sends `threads.retry_after_item`).
    bool allow_retry = false;
};

/// Severity of a notice.
enum class NoticeLevel { info, warning, danger };

/// `notice`: a banner with markdown text.
struct NoticeEvent {
    NoticeLevel level = NoticeLevel::info;  ///< `"info"` (default), `"warning"` or `"danger"`.
    std::string message;  ///< The banner's text (markdown).
    std::optional<std::string> title;  ///< A heading for the banner, omitted when null.
};

/// Any stream event, tagged by `type` on the wire.
using ThreadStreamEvent =
    std::variant<ThreadCreatedEvent, ThreadUpdatedEvent, ThreadItemAddedEvent, ThreadItemUpdatedEvent,
                 ThreadItemDoneEvent, ThreadItemRemovedEvent, ThreadItemReplacedEvent, StreamOptionsEvent,
                 ProgressUpdateEvent, ClientEffectEvent, ErrorEvent, NoticeEvent>;

/// The event's wire `type` (`"thread.item.done"`, ...).
CHATKIT_API char const* event_type(ThreadStreamEvent const& event) noexcept;
/// The update's wire `type` (`"assistant_message.content_part.text_delta"`, ...).
CHATKIT_API char const* update_type(ThreadItemUpdate const& update) noexcept;

}  // namespace chatkit
