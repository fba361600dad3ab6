// chatkit-cpp protocol: threads, thread items and everything they contain (PROTOCOL.md §3).
#pragma once

#include <chatkit/protocol/common.hpp>
#include <chatkit/protocol/widgets.hpp>

#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace chatkit {

// ---------------------------------------------------------------------------------------------
// Threads

/// Kind of a thread status.
enum class ThreadStatusType { active, locked, closed };

/// `{"type":"active"}`, `{"type":"locked","reason":...}` or `{"type":"closed","reason":...}`.
struct ThreadStatus {
    ThreadStatusType type = ThreadStatusType::active;
    /// Shown by the client for locked/closed threads; ignored for active ones.
    std::optional<std::string> reason;

    static ThreadStatus active() { return {}; }
    static ThreadStatus locked(std::optional<std::string> reason = std::nullopt) {
        return {ThreadStatusType::locked, std::move(reason)};
    }
    static ThreadStatus closed(std::optional<std::string> reason = std::nullopt) {
        return {ThreadStatusType::closed, std::move(reason)};
    }
    friend bool operator==(ThreadStatus const&, ThreadStatus const&) = default;
};

/// A thread as stores keep it (without items).
struct ThreadMetadata {
    /// Omitted on the wire while the thread is untitled.
    std::optional<std::string> title;
    std::string id;
    Timestamp created_at{};
    ThreadStatus status;
    /// Image hosts the client may load; omitted when unset, emitted (even empty) when set.
    std::optional<std::vector<std::string>> allowed_image_domains;
    /// Server-side integration data; never sent to clients (they always see `{}`).
    JsonObject metadata;

    friend bool operator==(ThreadMetadata const&, ThreadMetadata const&) = default;
};

// ---------------------------------------------------------------------------------------------
// User input

/// `{"type":"input_text","text":...}`
struct UserMessageTextContent {
    std::string text;
    friend bool operator==(UserMessageTextContent const&, UserMessageTextContent const&) = default;
};

/// An @-mention of an application entity: `{"type":"input_tag","id","text","data","group"?,"interactive"}`.
struct UserMessageTagContent {
    std::string id;
    std::string text;
    JsonObject data;
    std::optional<std::string> group;
    bool interactive = false;
    friend bool operator==(UserMessageTagContent const&, UserMessageTagContent const&) = default;
};

/// One part of a user message.
using UserMessageContent = std::variant<UserMessageTextContent, UserMessageTagContent>;

/// A composer tool chosen by the user.
struct ToolChoice {
    std::string id;
    friend bool operator==(ToolChoice const&, ToolChoice const&) = default;
};

/// The model and tool the user picked in the composer (both omitted when null).
struct InferenceOptions {
    std::optional<ToolChoice> tool_choice;
    std::optional<std::string> model;
    friend bool operator==(InferenceOptions const&, InferenceOptions const&) = default;
};

// ---------------------------------------------------------------------------------------------
// Sources and annotations

/// `{"title",...,"type":"file","filename"}`
struct FileSource {
    std::string title;
    std::optional<std::string> description;
    std::optional<std::string> timestamp;
    std::optional<std::string> group;
    std::string filename;
    friend bool operator==(FileSource const&, FileSource const&) = default;
};

/// `{"title",...,"type":"url","url","attribution"?}`
struct URLSource {
    std::string title;
    std::optional<std::string> description;
    std::optional<std::string> timestamp;
    std::optional<std::string> group;
    std::string url;
    std::optional<std::string> attribution;
    friend bool operator==(URLSource const&, URLSource const&) = default;
};

/// `{"title",...,"type":"entity","id","icon"?,"label"?,"inline_label"?,"interactive","data"}`
struct EntitySource {
    std::string title;
    std::optional<std::string> description;
    std::optional<std::string> timestamp;
    std::optional<std::string> group;
    std::string id;
    std::optional<IconName> icon;
    std::optional<std::string> label;
    std::optional<std::string> inline_label;
    bool interactive = false;
    JsonObject data;
    /// Deprecated by the reference; only `"lazy"` is accepted.
    std::optional<std::string> preview;
    friend bool operator==(EntitySource const&, EntitySource const&) = default;
};

/// A citation source.
using Source = std::variant<FileSource, URLSource, EntitySource>;

/// A citation marker in assistant text: `{"type":"annotation","source","index"?}`.
struct Annotation {
    Source source;
    /// Character offset in the text where the marker goes.
    std::optional<std::int64_t> index;
    friend bool operator==(Annotation const&, Annotation const&) = default;
};

/// One part of an assistant message: `{"annotations":[...],"text":...,"type":"output_text"}`.
struct AssistantMessageContent {
    std::vector<Annotation> annotations;
    std::string text;
    friend bool operator==(AssistantMessageContent const&, AssistantMessageContent const&) = default;
};

// ---------------------------------------------------------------------------------------------
// Attachments

/// Where and how the client uploads an attachment's bytes (two-phase upload).
struct AttachmentUploadDescriptor {
    /// Absolute URL; a URL with an empty path gains a trailing slash on the wire.
    std::string url;
    /// `"POST"` or `"PUT"`.
    std::string method = "PUT";
    /// Headers the client sends with the upload, in order.
    std::vector<std::pair<std::string, std::string>> headers;
    friend bool operator==(AttachmentUploadDescriptor const&, AttachmentUploadDescriptor const&) = default;
};

/// Kind of attachment.
enum class AttachmentType { file, image };

/// A file or image attachment. `metadata` is server-only: never sent to clients.
struct Attachment {
    AttachmentType type = AttachmentType::file;
    std::string id;
    std::string name;
    std::string mime_type;
    std::optional<AttachmentUploadDescriptor> upload_descriptor;
    /// Set by the server once a user message uses the attachment.
    std::optional<std::string> thread_id;
    /// Server-side data (stored, never emitted).
    std::optional<JsonObject> metadata;
    /// Required for images: absolute URL of a thumbnail.
    std::string preview_url;
    friend bool operator==(Attachment const&, Attachment const&) = default;
};

// ---------------------------------------------------------------------------------------------
// Workflows and tasks

/// Status light of a task.
enum class TaskStatusIndicator { none, loading, complete };

/// `{"status_indicator","type":"custom","title"?,"icon"?,"content"?}`
struct CustomTask {
    TaskStatusIndicator status_indicator = TaskStatusIndicator::none;
    std::optional<std::string> title;
    std::optional<IconName> icon;
    std::optional<std::string> content;
    friend bool operator==(CustomTask const&, CustomTask const&) = default;
};

/// `{"status_indicator","type":"web_search","title"?,"title_query"?,"queries","sources"}`
struct WebSearchTask {
    TaskStatusIndicator status_indicator = TaskStatusIndicator::none;
    std::optional<std::string> title;
    std::optional<std::string> title_query;
    std::vector<std::string> queries;
    std::vector<URLSource> sources;
    friend bool operator==(WebSearchTask const&, WebSearchTask const&) = default;
};

/// `{"status_indicator","type":"thought","title"?,"content"}`
struct ThoughtTask {
    TaskStatusIndicator status_indicator = TaskStatusIndicator::none;
    std::optional<std::string> title;
    std::string content;
    friend bool operator==(ThoughtTask const&, ThoughtTask const&) = default;
};

/// `{"status_indicator","type":"file","title"?,"sources"}`
struct FileTask {
    TaskStatusIndicator status_indicator = TaskStatusIndicator::none;
    std::optional<std::string> title;
    std::vector<FileSource> sources;
    friend bool operator==(FileTask const&, FileTask const&) = default;
};

/// `{"status_indicator","type":"image","title"?}`
struct ImageTask {
    TaskStatusIndicator status_indicator = TaskStatusIndicator::none;
    std::optional<std::string> title;
    friend bool operator==(ImageTask const&, ImageTask const&) = default;
};

/// One step of a workflow, or a standalone task item.
using Task = std::variant<CustomTask, WebSearchTask, ThoughtTask, FileTask, ImageTask>;

/// `{"title","icon"?}`
struct CustomSummary {
    std::string title;
    std::optional<IconName> icon;
    friend bool operator==(CustomSummary const&, CustomSummary const&) = default;
};

/// `{"duration":seconds}`
struct DurationSummary {
    std::int64_t duration = 0;
    friend bool operator==(DurationSummary const&, DurationSummary const&) = default;
};

/// Summary shown on a collapsed workflow.
using WorkflowSummary = std::variant<CustomSummary, DurationSummary>;

/// Kind of workflow.
enum class WorkflowType { custom, reasoning };

/// `{"type","tasks","summary"?,"expanded"}`
struct Workflow {
    WorkflowType type = WorkflowType::custom;
    std::vector<Task> tasks;
    std::optional<WorkflowSummary> summary;
    bool expanded = false;
    friend bool operator==(Workflow const&, Workflow const&) = default;
};

// ---------------------------------------------------------------------------------------------
// Structured input

/// The answer recorded on a question: `{"values":[...],"skipped":bool}`.
struct StructuredInputAnswer {
    std::vector<std::string> values;
    bool skipped = false;
    friend bool operator==(StructuredInputAnswer const&, StructuredInputAnswer const&) = default;
};

/// `{"value":...}`
struct StructuredInputMultipleChoiceOption {
    std::string value;
    friend bool operator==(StructuredInputMultipleChoiceOption const&,
                           StructuredInputMultipleChoiceOption const&) = default;
};

/// `{"id","question","answer"?,"type":"multiple_choice","options","multiple"}`
struct StructuredInputMultipleChoice {
    std::string id;
    std::string question;
    std::optional<StructuredInputAnswer> answer;
    std::vector<StructuredInputMultipleChoiceOption> options;
    bool multiple = false;
    friend bool operator==(StructuredInputMultipleChoice const&, StructuredInputMultipleChoice const&) = default;
};

/// `{"id","question","answer"?,"type":"freeform","description"?}`
struct StructuredInputFreeform {
    std::string id;
    std::string question;
    std::optional<StructuredInputAnswer> answer;
    std::optional<std::string> description;
    friend bool operator==(StructuredInputFreeform const&, StructuredInputFreeform const&) = default;
};

/// One question of a structured input item.
using StructuredInput = std::variant<StructuredInputMultipleChoice, StructuredInputFreeform>;

/// `{"id","url"}`
struct GeneratedImage {
    std::string id;
    std::string url;
    friend bool operator==(GeneratedImage const&, GeneratedImage const&) = default;
};

// ---------------------------------------------------------------------------------------------
// Thread items. Every item starts with id, thread_id, created_at, then its `type`.

/// Status of a client tool call.
enum class ToolCallStatus { pending, completed };
/// Status of a structured input item.
enum class StructuredInputStatus { pending, answered, skipped };

/// A message the user sent.
struct UserMessageItem {
    std::string id;
    std::string thread_id;
    Timestamp created_at{};
    std::vector<UserMessageContent> content;
    std::vector<Attachment> attachments;
    std::optional<std::string> quoted_text;
    InferenceOptions inference_options;
    friend bool operator==(UserMessageItem const&, UserMessageItem const&) = default;
};

/// A message from the assistant.
struct AssistantMessageItem {
    std::string id;
    std::string thread_id;
    Timestamp created_at{};
    std::vector<AssistantMessageContent> content;
    friend bool operator==(AssistantMessageItem const&, AssistantMessageItem const&) = default;
};

/// A tool call the browser runs (`onClientTool`), answered by `threads.add_client_tool_output`.
struct ClientToolCallItem {
    std::string id;
    std::string thread_id;
    Timestamp created_at{};
    ToolCallStatus status = ToolCallStatus::pending;
    std::string call_id;
    std::string name;
    JsonObject arguments;
    /// The tool's result; null means "none" and is omitted on the wire.
    JsonValue output;
    friend bool operator==(ClientToolCallItem const&, ClientToolCallItem const&) = default;
};

/// A widget shown in the thread.
struct WidgetItem {
    std::string id;
    std::string thread_id;
    Timestamp created_at{};
    WidgetRoot widget;
    /// Text the copy button puts on the clipboard.
    std::optional<std::string> copy_text;
    friend bool operator==(WidgetItem const&, WidgetItem const&) = default;
};

/// An image generated by the model (null until known).
struct GeneratedImageItem {
    std::string id;
    std::string thread_id;
    Timestamp created_at{};
    std::optional<GeneratedImage> image;
    friend bool operator==(GeneratedImageItem const&, GeneratedImageItem const&) = default;
};

/// Questions the user answers in the composer (`threads.add_structured_input`).
struct StructuredInputItem {
    std::string id;
    std::string thread_id;
    Timestamp created_at{};
    StructuredInputStatus status = StructuredInputStatus::pending;
    std::vector<StructuredInput> inputs;
    friend bool operator==(StructuredInputItem const&, StructuredInputItem const&) = default;
};

/// A workflow (a group of tasks, or reasoning).
struct WorkflowItem {
    std::string id;
    std::string thread_id;
    Timestamp created_at{};
    Workflow workflow;
    friend bool operator==(WorkflowItem const&, WorkflowItem const&) = default;
};

/// A standalone task.
struct TaskItem {
    std::string id;
    std::string thread_id;
    Timestamp created_at{};
    Task task;
    friend bool operator==(TaskItem const&, TaskItem const&) = default;
};

/// Marks the end of the assistant's turn (a UI hint).
struct EndOfTurnItem {
    std::string id;
    std::string thread_id;
    Timestamp created_at{};
    friend bool operator==(EndOfTurnItem const&, EndOfTurnItem const&) = default;
};

/// Model-only context stored in the thread; never sent to the client.
struct HiddenContextItem {
    std::string id;
    std::string thread_id;
    Timestamp created_at{};
    /// Any JSON; null is omitted when written.
    JsonValue content;
    friend bool operator==(HiddenContextItem const&, HiddenContextItem const&) = default;
};

/// Context the SDK itself stores (the cancellation note); never sent to the client.
struct SDKHiddenContextItem {
    std::string id;
    std::string thread_id;
    Timestamp created_at{};
    std::string content;
    friend bool operator==(SDKHiddenContextItem const&, SDKHiddenContextItem const&) = default;
};

/// Any thread item, tagged by `type` on the wire.
using ThreadItem = std::variant<UserMessageItem, AssistantMessageItem, ClientToolCallItem, WidgetItem,
                                GeneratedImageItem, StructuredInputItem, WorkflowItem, TaskItem, EndOfTurnItem,
                                HiddenContextItem, SDKHiddenContextItem>;

/// The item's id.
CHATKIT_API std::string const& item_id(ThreadItem const& item) noexcept;
/// The item's thread id.
CHATKIT_API std::string const& item_thread_id(ThreadItem const& item) noexcept;
/// The item's creation time.
CHATKIT_API Timestamp item_created_at(ThreadItem const& item) noexcept;
/// The item's wire `type` (`"user_message"`, ...).
CHATKIT_API char const* item_type(ThreadItem const& item) noexcept;
/// True for `hidden_context_item` and `sdk_hidden_context`, which clients never see.
CHATKIT_API bool is_hidden(ThreadItem const& item) noexcept;

/// The user's text as the reference's history converter reads it (PROTOCOL.md §9.3): the content
/// parts concatenated in order without a separator, `input_text` parts as typed and `input_tag`
/// parts (@-mentions) as `@` followed by their text. `"hi @Ada"` for `[text "hi ", tag "Ada"]`.
CHATKIT_API std::string text_of(UserMessageItem const& message);

/// A thread as sent to clients: the metadata plus a page of items.
struct Thread : ThreadMetadata {
    Page<ThreadItem> items;
};

/// The kinds of object a store generates ids for (PROTOCOL.md §7.3).
enum class StoreItemType { thread, message, tool_call, task, workflow, attachment, sdk_hidden_context };

/// The id prefix of a kind of object: `thr`, `msg`, `tc`, `tsk`, `wf`, `atc`, `shcx`.
CHATKIT_API char const* id_prefix(StoreItemType type) noexcept;

/// A new id shaped like the reference's (`<prefix>_` + lowercase hex), but with `id_random_bits` (128)
/// bits from the OS CSPRNG instead of the reference's 32.
CHATKIT_API std::string default_generate_id(StoreItemType type);

}  // namespace chatkit
