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
    std::vector<UserMessageContent> content;
    /// Attachment ids, in order.
    std::vector<std::string> attachments;
    std::optional<std::string> quoted_text;
    InferenceOptions inference_options;
};

/// An action sent by the client (a widget button, a form...): `type` plus free-form `payload`.
struct Action {
    std::string type;
    /// Null when absent.
    JsonValue payload;
};

/// Feedback kinds of `items.feedback`.
enum class FeedbackKind { positive, negative };

/// One answer of a structured input submission.
struct StructuredInputAnswerSubmission {
    std::vector<std::string> values;
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
    std::string name;
    std::int64_t size = 0;
    std::string mime_type;
};

/// Audio sent for dictation.
struct AudioInput {
    std::string data;
    /// The raw MIME type, such as `audio/webm;codecs=opus`.
    std::string mime_type;
    /// The MIME type up to the first `;` (no trimming, no case change).
    std::string media_type() const { return mime_type.substr(0, mime_type.find(';')); }
};

/// The answer of `input.transcribe`.
struct TranscriptionResult {
    std::string text;
};

/// The answer of `threads.sync_custom_action`.
struct SyncCustomActionResponse {
    std::optional<ThreadItem> updated_item;
};

// Requests: one struct per `type`, each with the request's parameters.

/// `threads.create` (streaming)
struct ThreadsCreateReq { UserMessageInput input; };
/// `threads.add_user_message` (streaming)
struct ThreadsAddUserMessageReq { UserMessageInput input; std::string thread_id; };
/// `threads.add_client_tool_output` (streaming)
struct ThreadsAddClientToolOutputReq { std::string thread_id; JsonValue result; };
/// `threads.add_structured_input` (streaming)
struct ThreadsAddStructuredInputReq { std::string thread_id; std::string item_id; StructuredInputSubmission input; };
/// `threads.retry_after_item` (streaming)
struct ThreadsRetryAfterItemReq { std::string thread_id; std::string item_id; };
/// `threads.custom_action` (streaming)
struct ThreadsCustomActionReq { std::string thread_id; std::optional<std::string> item_id; Action action; };
/// `threads.sync_custom_action`
struct ThreadsSyncCustomActionReq { std::string thread_id; std::optional<std::string> item_id; Action action; };
/// `threads.get_by_id`
struct ThreadsGetByIdReq { std::string thread_id; };
/// `threads.list`
struct ThreadsListReq { std::optional<std::int64_t> limit; Order order = Order::desc; std::optional<std::string> after; };
/// `items.list`
struct ItemsListReq {
    std::string thread_id;
    std::optional<std::int64_t> limit;
    Order order = Order::desc;
    std::optional<std::string> after;
};
/// `items.feedback`
struct ItemsFeedbackReq { std::string thread_id; std::vector<std::string> item_ids; FeedbackKind kind{}; };
/// `attachments.create`
struct AttachmentsCreateReq { AttachmentCreateParams params; };
/// `attachments.delete`
struct AttachmentsDeleteReq { std::string attachment_id; };
/// `threads.update`
struct ThreadsUpdateReq { std::string thread_id; std::string title; };
/// `threads.delete`
struct ThreadsDeleteReq { std::string thread_id; };
/// `input.transcribe`
struct InputTranscribeReq { std::string audio_base64; std::string mime_type; };

/// Any of the 16 requests.
using RequestParams =
    std::variant<ThreadsCreateReq, ThreadsAddUserMessageReq, ThreadsAddClientToolOutputReq,
                 ThreadsAddStructuredInputReq, ThreadsRetryAfterItemReq, ThreadsCustomActionReq,
                 ThreadsSyncCustomActionReq, ThreadsGetByIdReq, ThreadsListReq, ItemsListReq, ItemsFeedbackReq,
                 AttachmentsCreateReq, AttachmentsDeleteReq, ThreadsUpdateReq, ThreadsDeleteReq, InputTranscribeReq>;

/// A parsed request: the operation and the envelope's free-form `metadata`.
struct ChatKitRequest {
    RequestParams params;
    /// The body's top-level `metadata` (page context, user hints injected by the front end).
    JsonObject metadata;

    /// The wire `type` of the request.
    CHATKIT_API char const* type() const noexcept;
    /// True for the six requests answered with an SSE stream.
    CHATKIT_API bool is_streaming() const noexcept;
};

}  // namespace chatkit
