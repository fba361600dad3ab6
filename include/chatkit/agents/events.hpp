// chatkit-cpp agents: model stream events in the OpenAI Responses event vocabulary. Every Model
// implementation (Responses, Chat Completions adapter, ScriptedModel, DemoModel) emits these.
#pragma once

#include <chatkit/agents/items.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chatkit::agents {

/// The kind of a model stream event (one per Responses event `type`).
enum class ModelEventKind {
    Created,             ///< `response.created`
    InProgress,          ///< `response.in_progress`
    OutputItemAdded,     ///< `response.output_item.added`
    OutputItemDone,      ///< `response.output_item.done`
    ContentPartAdded,    ///< `response.content_part.added`
    ContentPartDone,     ///< `response.content_part.done`
    OutputTextDelta,     ///< `response.output_text.delta`
    OutputTextDone,      ///< `response.output_text.done`
    AnnotationAdded,     ///< `response.output_text.annotation.added`
    RefusalDelta,        ///< `response.refusal.delta`
    RefusalDone,         ///< `response.refusal.done`
    FunctionArgsDelta,   ///< `response.function_call_arguments.delta`
    FunctionArgsDone,    ///< `response.function_call_arguments.done`
    SummaryPartAdded,    ///< `response.reasoning_summary_part.added`
    SummaryPartDone,     ///< `response.reasoning_summary_part.done`
    SummaryTextDelta,    ///< `response.reasoning_summary_text.delta`
    SummaryTextDone,     ///< `response.reasoning_summary_text.done`
    ReasoningTextDelta,  ///< `response.reasoning_text.delta`
    ReasoningTextDone,   ///< `response.reasoning_text.done`
    ImagePartial,        ///< `response.image_generation_call.partial_image`
    Completed,           ///< `response.completed` (terminal)
    Incomplete,          ///< `response.incomplete` (terminal)
    Failed,              ///< `response.failed` (terminal)
    Error,               ///< `error` (terminal)
    Other,               ///< anything else (`response.queued`, hosted-tool progress, ...)
};

/// The kind of a wire event type name (`Other` when unknown).
CHATKIT_API ModelEventKind model_event_kind(std::string_view type) noexcept;
/// The wire type name of a kind (empty for `Other`).
CHATKIT_API std::string_view model_event_type(ModelEventKind kind) noexcept;

/// One model stream event. Only the fields that apply to `kind` are meaningful:
/// - `text` holds the full text of `*.done` events (`text`, `refusal`, `arguments`);
/// - `delta` holds the fragment of `*.delta` events;
/// - `item` is set for output_item.added/done, `part` for content_part.* and summary_part.*,
///   `annotation` for annotation.added, `response` for created/in_progress/completed/failed/incomplete;
/// - `code`/`message` for `error` events.
/// `raw` is the original payload when the event was parsed (kept for pass-through and debugging).
struct ModelStreamEvent {
    ModelEventKind kind = ModelEventKind::Other;  ///< what the event is; says which fields apply
    std::string type;  ///< exact wire name, e.g. "response.output_text.delta"
    std::int64_t sequence_number = 0;  ///< the event's `sequence_number` (0 when absent)
    /// Position of what the event is about: `output_index` in the response's output,
    /// `content_index` in a message's content, `summary_index` in a reasoning summary,
    /// `annotation_index` in a text's annotations, `partial_image_index` of an image's partials.
    /// Set only when the event carries it.
    ///@{
    std::optional<std::int64_t> output_index, content_index, summary_index, annotation_index,
        partial_image_index;
    ///@}
    std::string item_id;  ///< the output item the event belongs to (empty for lifecycle events)
    std::string delta;    ///< the fragment of a `*.delta` event
    std::string text;     ///< the full text (`text`, `refusal`, `arguments`) of a `*.done` event
    std::optional<std::string> name;        ///< function_call_arguments.done `name` (newer servers)
    std::string partial_image_b64;          ///< image_generation_call.partial_image
    std::optional<Item> item;               ///< output_item.added / output_item.done
    json::value part;                       ///< content_part.* / reasoning_summary_part.*
    json::value annotation;                 ///< output_text.annotation.added
    std::optional<json::object> response;   ///< response.* lifecycle events
    /// The `code` and `message` of an `error` event.
    ///@{
    std::string code, message;
    ///@}
    json::object raw;                       ///< original payload, empty when built in code

    /// True for `response.completed`, `response.incomplete`, `response.failed` and `error`.
    bool is_terminal() const noexcept {
        return kind == ModelEventKind::Completed || kind == ModelEventKind::Incomplete ||
               kind == ModelEventKind::Failed || kind == ModelEventKind::Error;
    }
};

/// Parses one Responses SSE `data:` JSON payload (dispatch on its `type`). Unknown types become
/// `Other` with `raw` set; a payload that is not an object with a string `type` throws
/// `ModelProtocolError`.
CHATKIT_API ModelStreamEvent parse_model_event(json::object const& payload);
/// Parses from text (`ModelProtocolError` on invalid JSON).
CHATKIT_API ModelStreamEvent parse_model_event(std::string_view payload);

/// The Responses JSON payload of an event, built from its fields (`type`, `sequence_number`, then the
/// fields of its kind, e.g. `logprobs: []` on text deltas). For `Other` the `raw` object is returned
/// with `type` and `sequence_number` set. `parse_model_event(to_json(ev))` reproduces `ev`'s fields.
CHATKIT_API json::object to_json(ModelStreamEvent const& event);

/// A minimal Responses `response` object (`id`, `object`, `created_at`, `status`, `model`, `output`,
/// `parallel_tool_calls`, `tool_choice`, `tools`, `usage`, `error`, `incomplete_details`), as mock
/// fixtures and synthesised streams carry in lifecycle events.
CHATKIT_API json::object make_response_object(std::string id, std::string status, std::string model,
                                              std::vector<Item> const& output, json::value usage = nullptr,
                                              std::int64_t created_at = 1700000000);

}  // namespace chatkit::agents
