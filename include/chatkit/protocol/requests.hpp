// chatkit-cpp protocol: the 16 request types and their parameters (PROTOCOL.md §1.2-1.3, §4).
#pragma once

#include <chatkit/protocol/items.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace chatkit {

/// The user's input that becomes a `user_message` item.
struct UserMessageInput {
    std::vector<UserMessageContent> content;  ///< Text and @-mention parts, in order.
    /// Attachment ids, in order (at most ServerLimits::max_attachments_per_message, no repeats).
    std::vector<std::string> attachments;
    std::optional<std::string> quoted_text;  ///< The text the user replied to, if any.
    InferenceOptions inference_options;  ///< The model and tool picked in the composer (`{}` when none).
};

/// An action sent by the client (a widget button, a form...): `type` plus free-form `payload`.
struct Action {
    std::string type;  ///< The `type` of the widget's ActionConfig (the application's name for the action).
    /// Null when absent.
    JsonValue payload;
};

/// Feedback kinds of `items.feedback`.
enum class FeedbackKind { positive, negative };

/// One answer of a structured input submission.
struct StructuredInputAnswerSubmission {
    /// The chosen values (`[]` when absent); only the first is kept for a single-choice question.
    std::vector<std::string> values;
    /// True when the user skipped the question (an empty `values` counts as skipped too).
    bool skipped = false;
};

/// The body of `threads.add_structured_input`.
struct StructuredInputSubmission {
    /// `answered` or `skipped`.
    StructuredInputStatus status = StructuredInputStatus::answered;
    /// Question id -> answer, in the order received.
    std::vector<std::pair<std::string, StructuredInputAnswerSubmission>> answers;
};

/// `attachments.create` parameters (and what an AttachmentStore receives).
struct AttachmentCreateParams {
    /// The file name the user picked (LocalAttachmentStore keeps its last path segment; never a path).
    std::string name;
    std::int64_t size = 0;  ///< The size in bytes the client announces (LocalAttachmentStore bounds it).
    std::string mime_type;  ///< The media type the client announces, such as `image/png`.
};

/// Audio sent for dictation.
struct AudioInput {
    std::string data;  ///< The audio bytes, decoded from the request's `audio_base64`.
    /// The raw MIME type, such as `audio/webm;codecs=opus`.
    std::string mime_type;
    /// The MIME type up to the first `;` (no trimming, no case change).
    std::string media_type() const { return mime_type.substr(0, mime_type.find(';')); }
};

/// The answer of `input.transcribe`.
struct TranscriptionResult {
    std::string text;  ///< The transcribed text, written as `{"text": ...}`.
};

/// The answer of `threads.sync_custom_action`.
struct SyncCustomActionResponse {
    /// The item the client should show in place of the sender (written as `updated_item`, `{}` when
    /// none). Not saved by the server: a handler that changes a widget saves it itself.
    std::optional<ThreadItem> updated_item;
};

// Requests: one struct per `type`, each with the request's parameters.

/// `threads.create` (streaming): a new thread with a first user message.
struct ThreadsCreateReq {
    UserMessageInput input;  ///< The first message.
};
/// `threads.add_user_message` (streaming)
struct ThreadsAddUserMessageReq {
    UserMessageInput input;  ///< The message.
    std::string thread_id;  ///< The thread it is added to.
};
/// `threads.add_client_tool_output` (streaming): the browser's answer to the pending client tool call.
struct ThreadsAddClientToolOutputReq {
    std::string thread_id;  ///< The thread whose newest item is the pending `client_tool_call`.
    JsonValue result;  ///< The tool's return value (the key is required; null is allowed).
};
/// `threads.add_structured_input` (streaming)
struct ThreadsAddStructuredInputReq {
    std::string thread_id;  ///< The thread holding the questions.
    std::string item_id;  ///< The pending `structured_input` item answered.
    StructuredInputSubmission input;  ///< The answers (`{}`: answered, with no answers).
};
/// `threads.retry_after_item` (streaming): drops the items after a user message and answers it again.
struct ThreadsRetryAfterItemReq {
    std::string thread_id;  ///< The thread.
    std::string item_id;  ///< The user message to retry from; every newer item is deleted.
};
/// `threads.custom_action` (streaming): a widget action for the `action` hook.
struct ThreadsCustomActionReq {
    std::string thread_id;  ///< The thread.
    std::optional<std::string> item_id;  ///< The widget item that sent the action, if any.
    Action action;  ///< The action.
};
/// `threads.sync_custom_action`: a widget action answered with one JSON reply (`sync_action` hook).
struct ThreadsSyncCustomActionReq {
    std::string thread_id;  ///< The thread.
    std::optional<std::string> item_id;  ///< The widget item that sent the action, if any.
    Action action;  ///< The action.
};
/// `threads.get_by_id`: the thread with its oldest page of visible items.
struct ThreadsGetByIdReq {
    std::string thread_id;  ///< The thread.
};
/// `threads.list`: a page of threads.
struct ThreadsListReq {
    /// Page size: absent, null or 0 means default_page_size; lowered to ServerLimits::max_page_limit.
    std::optional<std::int64_t> limit;
    Order order = Order::desc;  ///< `"desc"` (default, newest first) or `"asc"`.
    std::optional<std::string> after;  ///< Cursor: the `after` of the previous page.
};
/// `items.list`: a page of a thread's visible items.
struct ItemsListReq {
    std::string thread_id;  ///< The thread.
    /// Page size: absent, null or 0 means default_page_size; lowered to ServerLimits::max_page_limit.
    std::optional<std::int64_t> limit;
    Order order = Order::desc;  ///< `"desc"` (default, newest first) or `"asc"`.
    std::optional<std::string> after;  ///< Cursor: the `after` of the previous page.
};
/// `items.feedback`: thumbs up or down on items.
struct ItemsFeedbackReq {
    std::string thread_id;  ///< The thread.
    /// The items rated (not validated; at most ServerLimits::max_feedback_items).
    std::vector<std::string> item_ids;
    FeedbackKind kind{};  ///< `"positive"` or `"negative"`.
};
/// `attachments.create`: phase 1 of a two-phase upload.
struct AttachmentsCreateReq {
    AttachmentCreateParams params;  ///< The request's `name`, `size` and `mime_type`.
};
/// `attachments.delete`
struct AttachmentsDeleteReq {
    std::string attachment_id;  ///< The attachment whose bytes and record are deleted.
};
/// `threads.update`: renames a thread (the title is all a client may change).
struct ThreadsUpdateReq {
    std::string thread_id;  ///< The thread.
    std::string title;  ///< The new title.
};
/// `threads.delete`
struct ThreadsDeleteReq {
    std::string thread_id;  ///< The thread deleted with its items.
};
/// `input.transcribe`: dictation.
struct InputTranscribeReq {
    std::string audio_base64;  ///< The recording, base64 (standard alphabet).
    /// Its MIME type, such as `audio/webm;codecs=opus`.
    std::string mime_type;
};

/// Any of the 16 requests.
using RequestParams =
    std::variant<ThreadsCreateReq, ThreadsAddUserMessageReq, ThreadsAddClientToolOutputReq,
                 ThreadsAddStructuredInputReq, ThreadsRetryAfterItemReq, ThreadsCustomActionReq,
                 ThreadsSyncCustomActionReq, ThreadsGetByIdReq, ThreadsListReq, ItemsListReq, ItemsFeedbackReq,
                 AttachmentsCreateReq, AttachmentsDeleteReq, ThreadsUpdateReq, ThreadsDeleteReq, InputTranscribeReq>;

/// A parsed request: the operation and the envelope's free-form `metadata`.
struct ChatKitRequest {
    RequestParams params;  ///< The request's `type` and `params`, as one alternative of the variant.
    /// The body's top-level `metadata` (page context, user hints injected by the front end).
    JsonObject metadata;

    /// The wire `type` of the request.
    CHATKIT_API char const* type() const noexcept;
    /// True for the six requests answered with an SSE stream.
    CHATKIT_API bool is_streaming() const noexcept;
};

}  // namespace chatkit
