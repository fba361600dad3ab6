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
    std::int64_t content_index = 0;
    AssistantMessageContent content;
    friend bool operator==(AssistantMessageContentPartAdded const&, AssistantMessageContentPartAdded const&) = default;
};

/// `assistant_message.content_part.text_delta`: appends `delta` to part `content_index`.
struct AssistantMessageContentPartTextDelta {
    std::int64_t content_index = 0;
    std::string delta;
    friend bool operator==(AssistantMessageContentPartTextDelta const&,
                           AssistantMessageContentPartTextDelta const&) = default;
};

/// `assistant_message.content_part.annotation_added`: inserts an annotation.
struct AssistantMessageContentPartAnnotationAdded {
    std::int64_t content_index = 0;
    std::int64_t annotation_index = 0;
    Annotation annotation;
    friend bool operator==(AssistantMessageContentPartAnnotationAdded const&,
                           AssistantMessageContentPartAnnotationAdded const&) = default;
};

/// `assistant_message.content_part.done`: the final value of part `content_index`.
struct AssistantMessageContentPartDone {
    std::int64_t content_index = 0;
    AssistantMessageContent content;
    friend bool operator==(AssistantMessageContentPartDone const&, AssistantMessageContentPartDone const&) = default;
};

/// `widget.streaming_text.value_delta`: appends to the `value` of a Text/Markdown component.
struct WidgetStreamingTextValueDelta {
    std::string component_id;
    std::string delta;
    bool done = false;
    friend bool operator==(WidgetStreamingTextValueDelta const&, WidgetStreamingTextValueDelta const&) = default;
};

/// `widget.root.updated`: replaces the whole widget.
struct WidgetRootUpdated {
    WidgetRoot widget;
    friend bool operator==(WidgetRootUpdated const&, WidgetRootUpdated const&) = default;
};

/// `widget.component.updated`: replaces one component, found by `id`.
struct WidgetComponentUpdated {
    std::string component_id;
    WidgetComponent component;
    friend bool operator==(WidgetComponentUpdated const&, WidgetComponentUpdated const&) = default;
};

/// `workflow.task.added`: appends a task.
struct WorkflowTaskAdded {
    std::int64_t task_index = 0;
    Task task;
    friend bool operator==(WorkflowTaskAdded const&, WorkflowTaskAdded const&) = default;
};

/// `workflow.task.updated`: replaces the task at `task_index`.
struct WorkflowTaskUpdated {
    std::int64_t task_index = 0;
    Task task;
    friend bool operator==(WorkflowTaskUpdated const&, WorkflowTaskUpdated const&) = default;
};

/// `generated_image.updated`: a partial or final image, with optional progress in 0..1.
struct GeneratedImageUpdated {
    GeneratedImage image;
    std::optional<double> progress;
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
    Thread thread;
};

/// `thread.updated`: the engine sends it when `respond()` changed the thread.
struct ThreadUpdatedEvent {
    Thread thread;
};

/// `thread.item.added`: an item starts streaming (not persisted yet).
struct ThreadItemAddedEvent {
    ThreadItem item;
};

/// `thread.item.updated`: an update to a streaming item (not persisted).
struct ThreadItemUpdatedEvent {
    std::string item_id;
    ThreadItemUpdate update;
};

/// `thread.item.done`: an item is final; the engine stores it (`add_thread_item`).
struct ThreadItemDoneEvent {
    ThreadItem item;
};

/// `thread.item.removed`: the engine deletes the item.
struct ThreadItemRemovedEvent {
    std::string item_id;
};

/// `thread.item.replaced`: the engine saves the item (`save_item`).
struct ThreadItemReplacedEvent {
    ThreadItem item;
};

/// Options of one stream.
struct StreamOptions {
    /// When true the client shows a stop button (cancel = close the connection).
    bool allow_cancel = true;
};

/// `stream_options`: always the first event of the streaming engine.
struct StreamOptionsEvent {
    StreamOptions stream_options;
};

/// `progress_update`: an ephemeral status line.
struct ProgressUpdateEvent {
    std::optional<IconName> icon;
    std::string text;
};

/// `client_effect`: a fire-and-forget hook in the browser (`onEffect`).
struct ClientEffectEvent {
    std::string name;
    JsonObject data;
};

/// `error`: `code` is `"stream.error"` (generic, localized by the client) or `"custom"` (show `message`).
struct ErrorEvent {
    std::string code = "custom";
    std::optional<std::string> message;
    bool allow_retry = false;
};

/// Severity of a notice.
enum class NoticeLevel { info, warning, danger };

/// `notice`: a banner with markdown text.
struct NoticeEvent {
    NoticeLevel level = NoticeLevel::info;
    std::string message;
    std::optional<std::string> title;
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
