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
    /// Written as the status object's `type`: `"active"`, `"locked"` or `"closed"`.
    ThreadStatusType type = ThreadStatusType::active;
    /// Shown by the client for locked/closed threads; ignored for active ones.
    std::optional<std::string> reason;

    /// The default status of a new thread: the client shows the composer as usual.
    static ThreadStatus active() { return {}; }
    /// The client disables the composer, showing `reason` as its placeholder. Not enforced by the server:
    /// `respond` and `action` still run, so the application checks the status itself.
    static ThreadStatus locked(std::optional<std::string> reason = std::nullopt) {
        return {ThreadStatusType::locked, std::move(reason)};
    }
    /// The client replaces the composer with a banner showing `reason` (or a default text). Not enforced
    /// by the server, like `locked`.
    static ThreadStatus closed(std::optional<std::string> reason = std::nullopt) {
        return {ThreadStatusType::closed, std::move(reason)};
    }
    friend bool operator==(ThreadStatus const&, ThreadStatus const&) = default;
};

/// A thread as stores keep it (without items).
struct ThreadMetadata {
    /// Omitted on the wire while the thread is untitled.
    std::optional<std::string> title;
    /// Chosen by Store::generate_thread_id() when the thread is created (`thr_` + 32 hex digits by default).
    std::string id;
    /// Set by the server when it creates the thread; written as an ISO-8601 date-time (§2.6, naive local
    /// time unless set_timestamp_style() says UTC).
    Timestamp created_at{};
    ThreadStatus status;  ///< `{"type":"active"}` unless the application locks or closes the thread.
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
    std::string text;  ///< The text as typed; may be empty.
    friend bool operator==(UserMessageTextContent const&, UserMessageTextContent const&) = default;
};

/// An @-mention of an application entity: `{"type":"input_tag","id","text","data","group"?,"interactive"}`.
struct UserMessageTagContent {
    /// @name Fields of the reference's `UserMessageTagContent`, same names and JSON keys
    ///@{

    /// `id` identifies the entity and `text` is the label the client shows for it; `data` is the
    /// application's payload for it (`{}` when absent), `group` an optional heading in the mention menu,
    /// `interactive` whether the client makes the tag clickable (default false).
    std::string id;
    std::string text;
    JsonObject data;
    std::optional<std::string> group;
    bool interactive = false;
    ///@}
    friend bool operator==(UserMessageTagContent const&, UserMessageTagContent const&) = default;
};

/// One part of a user message.
using UserMessageContent = std::variant<UserMessageTextContent, UserMessageTagContent>;

/// A composer tool chosen by the user.
struct ToolChoice {
    /// The id of a composer tool the application declared to the client (`composer.tools[].id`).
    std::string id;
    friend bool operator==(ToolChoice const&, ToolChoice const&) = default;
};

/// The model and tool the user picked in the composer (both omitted when null).
struct InferenceOptions {
    std::optional<ToolChoice> tool_choice;  ///< The tool the user picked, if any.
    /// The model the user picked in the composer's model menu, if any (its `id`, as configured client-side).
    std::optional<std::string> model;
    friend bool operator==(InferenceOptions const&, InferenceOptions const&) = default;
};

// ---------------------------------------------------------------------------------------------
// Sources and annotations

/// `{"title",...,"type":"file","filename"}`
struct FileSource {
    /// @name Common source fields (reference `SourceBase`, same names and JSON keys, written first)
    ///@{

    /// `title` is shown in the citation; `description`, `timestamp` (free-form text, not parsed) and
    /// `group` (a heading the client groups sources under) are optional and omitted when null.
    std::string title;
    std::optional<std::string> description;
    std::optional<std::string> timestamp;
    std::optional<std::string> group;
    ///@}
    std::string filename;  ///< The file's name as the client shows it; not a path the server opens.
    friend bool operator==(FileSource const&, FileSource const&) = default;
};

/// `{"title",...,"type":"url","url","attribution"?}`
struct URLSource {
    /// @name Common source fields (reference `SourceBase`, same names and JSON keys, written first)
    ///@{

    /// `title` is shown in the citation; `description`, `timestamp` (free-form text, not parsed) and
    /// `group` (a heading the client groups sources under) are optional and omitted when null.
    std::string title;
    std::optional<std::string> description;
    std::optional<std::string> timestamp;
    std::optional<std::string> group;
    ///@}
    std::string url;  ///< The link the citation opens (not fetched by the server).
    /// Optional text naming the site or publisher, shown next to the title.
    std::optional<std::string> attribution;
    friend bool operator==(URLSource const&, URLSource const&) = default;
};

/// `{"title",...,"type":"entity","id","icon"?,"label"?,"inline_label"?,"interactive","data"}`
struct EntitySource {
    /// @name Common source fields (reference `SourceBase`, same names and JSON keys, written first)
    ///@{

    /// `title` is shown in the citation; `description`, `timestamp` (free-form text, not parsed) and
    /// `group` (a heading the client groups sources under) are optional and omitted when null.
    std::string title;
    std::optional<std::string> description;
    std::optional<std::string> timestamp;
    std::optional<std::string> group;
    ///@}
    /// The application's id of the entity; sent back to the server when the user interacts with it.
    std::string id;
    std::optional<IconName> icon;  ///< Icon shown before the label (§3.11 icon names), omitted when null.
    std::optional<std::string> label;  ///< Text shown in the source list, omitted when null.
    /// Text shown where the entity is cited inline, omitted when null.
    std::optional<std::string> inline_label;
    /// Whether the client makes the entity clickable (default false).
    bool interactive = false;
    JsonObject data;  ///< The application's payload, sent as-is (`{}` when empty).
    /// Deprecated by the reference; only `"lazy"` is accepted.
    std::optional<std::string> preview;
    friend bool operator==(EntitySource const&, EntitySource const&) = default;
};

/// A citation source.
using Source = std::variant<FileSource, URLSource, EntitySource>;

/// A citation marker in assistant text: `{"type":"annotation","source","index"?}`.
struct Annotation {
    Source source;  ///< The cited file, URL or entity.
    /// Character offset in the text where the marker goes.
    std::optional<std::int64_t> index;
    friend bool operator==(Annotation const&, Annotation const&) = default;
};

/// One part of an assistant message: `{"annotations":[...],"text":...,"type":"output_text"}`.
struct AssistantMessageContent {
    /// Citation markers into `text`, in order; written even when empty (`[]`).
    std::vector<Annotation> annotations;
    /// The text of this part; grows by `assistant_message.content_part.text_delta` events while streaming.
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
    /// `"file"` or `"image"` on the wire; an image needs a `preview_url`.
    AttachmentType type = AttachmentType::file;
    /// Store-generated (`atc_` prefix, StoreItemType::attachment); the key of the attachment store.
    std::string id;
    /// The file name the user uploaded (LocalAttachmentStore keeps its last path segment); never a path.
    std::string name;
    /// The media type the client declared (such as `image/png`); LocalAttachmentStore checks it against its
    /// allow list.
    std::string mime_type;
    /// Where the client uploads the bytes in a two-phase upload (§3.6); null once they are received
    /// (LocalAttachmentStore leaves it out then) and for direct uploads.
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
    /// @name Fields of the reference's `CustomTask`, same names and JSON keys
    ///@{

    /// `status_indicator` (default `none`) drives the task's spinner/check mark; `title`, `icon` (§3.11) and
    /// `content` (markdown) are optional and omitted when null.
    TaskStatusIndicator status_indicator = TaskStatusIndicator::none;
    std::optional<std::string> title;
    std::optional<IconName> icon;
    std::optional<std::string> content;
    ///@}
    friend bool operator==(CustomTask const&, CustomTask const&) = default;
};

/// `{"status_indicator","type":"web_search","title"?,"title_query"?,"queries","sources"}`
struct WebSearchTask {
    /// @name Fields of the reference's `WebSearchTask`, same names and JSON keys
    ///@{

    /// `status_indicator` (default `none`), optional `title` and `title_query` (the query shown in the
    /// title), the `queries` run and the `sources` found (both written even when empty).
    TaskStatusIndicator status_indicator = TaskStatusIndicator::none;
    std::optional<std::string> title;
    std::optional<std::string> title_query;
    std::vector<std::string> queries;
    std::vector<URLSource> sources;
    ///@}
    friend bool operator==(WebSearchTask const&, WebSearchTask const&) = default;
};

/// `{"status_indicator","type":"thought","title"?,"content"}`
struct ThoughtTask {
    /// @name Fields of the reference's `ThoughtTask`, same names and JSON keys
    ///@{

    /// `status_indicator` (default `none`), optional `title`, and the thought's text in `content`.
    TaskStatusIndicator status_indicator = TaskStatusIndicator::none;
    std::optional<std::string> title;
    std::string content;
    ///@}
    friend bool operator==(ThoughtTask const&, ThoughtTask const&) = default;
};

/// `{"status_indicator","type":"file","title"?,"sources"}`
struct FileTask {
    /// @name Fields of the reference's `FileTask`, same names and JSON keys
    ///@{

    /// `status_indicator` (default `none`), optional `title`, and the files read in `sources` (written
    /// even when empty).
    TaskStatusIndicator status_indicator = TaskStatusIndicator::none;
    std::optional<std::string> title;
    std::vector<FileSource> sources;
    ///@}
    friend bool operator==(FileTask const&, FileTask const&) = default;
};

/// `{"status_indicator","type":"image","title"?}`
struct ImageTask {
    /// @name Fields of the reference's `ImageTask`, same names and JSON keys
    ///@{

    /// `status_indicator` (default `none`) and an optional `title`.
    TaskStatusIndicator status_indicator = TaskStatusIndicator::none;
    std::optional<std::string> title;
    ///@}
    friend bool operator==(ImageTask const&, ImageTask const&) = default;
};

/// One step of a workflow, or a standalone task item.
using Task = std::variant<CustomTask, WebSearchTask, ThoughtTask, FileTask, ImageTask>;

/// `{"title","icon"?}`
struct CustomSummary {
    std::string title;  ///< Text shown on the collapsed workflow.
    std::optional<IconName> icon;  ///< Icon shown before the title (§3.11), omitted when null.
    friend bool operator==(CustomSummary const&, CustomSummary const&) = default;
};

/// `{"duration":seconds}`
struct DurationSummary {
    /// How long the workflow took, in seconds; the client shows it as the summary.
    std::int64_t duration = 0;
    friend bool operator==(DurationSummary const&, DurationSummary const&) = default;
};

/// Summary shown on a collapsed workflow.
using WorkflowSummary = std::variant<CustomSummary, DurationSummary>;

/// Kind of workflow.
enum class WorkflowType { custom, reasoning };

/// `{"type","tasks","summary"?,"expanded"}`
struct Workflow {
    /// `"custom"` (a list of tasks) or `"reasoning"` (the model's thoughts).
    WorkflowType type = WorkflowType::custom;
    /// The steps, in order; `workflow.task.added`/`updated` events grow and change them while streaming.
    std::vector<Task> tasks;
    std::optional<WorkflowSummary> summary;  ///< Shown when the workflow is collapsed; omitted when null.
    bool expanded = false;  ///< Whether the client shows the tasks expanded (default false).
    friend bool operator==(Workflow const&, Workflow const&) = default;
};

// ---------------------------------------------------------------------------------------------
// Structured input

/// The answer recorded on a question: `{"values":[...],"skipped":bool}`.
struct StructuredInputAnswer {
    std::vector<std::string> values;  ///< The chosen option values, or the free-form text as one value.
    bool skipped = false;  ///< True when the user skipped the question.
    friend bool operator==(StructuredInputAnswer const&, StructuredInputAnswer const&) = default;
};

/// `{"value":...}`
struct StructuredInputMultipleChoiceOption {
    std::string value;  ///< The option's value and label.
    friend bool operator==(StructuredInputMultipleChoiceOption const&,
                           StructuredInputMultipleChoiceOption const&) = default;
};

/// `{"id","question","answer"?,"type":"multiple_choice","options","multiple"}`
struct StructuredInputMultipleChoice {
    /// @name Common question fields (reference `StructuredInputBase`, same names and JSON keys)
    ///@{

    /// `id` identifies the question within its item (answers refer to it), `question` is the text shown,
    /// `answer` is null until the user answers (omitted while null).
    std::string id;
    std::string question;
    std::optional<StructuredInputAnswer> answer;
    ///@}
    std::vector<StructuredInputMultipleChoiceOption> options;  ///< The choices, in order.
    bool multiple = false;  ///< Whether the user may pick several options (default false).
    friend bool operator==(StructuredInputMultipleChoice const&, StructuredInputMultipleChoice const&) = default;
};

/// `{"id","question","answer"?,"type":"freeform","description"?}`
struct StructuredInputFreeform {
    /// @name Common question fields (reference `StructuredInputBase`, same names and JSON keys)
    ///@{

    /// `id` identifies the question within its item (answers refer to it), `question` is the text shown,
    /// `answer` is null until the user answers (omitted while null).
    std::string id;
    std::string question;
    std::optional<StructuredInputAnswer> answer;
    ///@}
    std::optional<std::string> description;  ///< Help text shown under the question, omitted when null.
    friend bool operator==(StructuredInputFreeform const&, StructuredInputFreeform const&) = default;
};

/// One question of a structured input item.
using StructuredInput = std::variant<StructuredInputMultipleChoice, StructuredInputFreeform>;

/// `{"id","url"}`
struct GeneratedImage {
    std::string id;  ///< The image's id, chosen by the application.
    std::string url;  ///< Where the client loads the image from (absolute URL or `data:` URL).
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
    /// @name Common item fields (reference `ThreadItemBase`, same names and JSON keys, written first)
    ///@{

    /// `id` is store-generated with the kind's prefix (`msg_`, `tc_`...; StoreItemType), `thread_id` names
    /// the thread the item belongs to, `created_at` is set by the server when it creates the item (§2.6).
    std::string id;
    std::string thread_id;
    Timestamp created_at{};
    ///@}
    std::vector<UserMessageContent> content;  ///< Text and @-mention parts, in order (text_of() joins them).
    /// Attachments sent with the message (without their server-only `metadata` on the wire).
    std::vector<Attachment> attachments;
    /// The text the user quoted from an earlier message ("Reply"), omitted when null.
    std::optional<std::string> quoted_text;
    /// The model and tool picked in the composer; written even when both are null (`{}`).
    InferenceOptions inference_options;
    friend bool operator==(UserMessageItem const&, UserMessageItem const&) = default;
};

/// A message from the assistant.
struct AssistantMessageItem {
    /// @name Common item fields (reference `ThreadItemBase`, same names and JSON keys, written first)
    ///@{

    /// `id` is store-generated with the kind's prefix (`msg_`, `tc_`...; StoreItemType), `thread_id` names
    /// the thread the item belongs to, `created_at` is set by the server when it creates the item (§2.6).
    std::string id;
    std::string thread_id;
    Timestamp created_at{};
    ///@}
    /// The message's parts; streaming appends parts and grows their text.
    std::vector<AssistantMessageContent> content;
    friend bool operator==(AssistantMessageItem const&, AssistantMessageItem const&) = default;
};

/// A tool call the browser runs (`onClientTool`), answered by `threads.add_client_tool_output`.
struct ClientToolCallItem {
    /// @name Common item fields (reference `ThreadItemBase`, same names and JSON keys, written first)
    ///@{

    /// `id` is store-generated with the kind's prefix (`msg_`, `tc_`...; StoreItemType), `thread_id` names
    /// the thread the item belongs to, `created_at` is set by the server when it creates the item (§2.6).
    std::string id;
    std::string thread_id;
    Timestamp created_at{};
    ///@}
    /// `pending` until the client posts `threads.add_client_tool_output`, then `completed`.
    ToolCallStatus status = ToolCallStatus::pending;
    std::string call_id;  ///< The call's id, echoed by the client with its output.
    std::string name;  ///< The client tool's name, as registered with `onClientTool` in the browser.
    JsonObject arguments;  ///< The arguments the browser tool receives.
    /// The tool's result; null means "none" and is omitted on the wire.
    JsonValue output;
    friend bool operator==(ClientToolCallItem const&, ClientToolCallItem const&) = default;
};

/// A widget shown in the thread.
struct WidgetItem {
    /// @name Common item fields (reference `ThreadItemBase`, same names and JSON keys, written first)
    ///@{

    /// `id` is store-generated with the kind's prefix (`msg_`, `tc_`...; StoreItemType), `thread_id` names
    /// the thread the item belongs to, `created_at` is set by the server when it creates the item (§2.6).
    std::string id;
    std::string thread_id;
    Timestamp created_at{};
    ///@}
    /// The widget tree (Card, ListView or Basic root; widgets::Card() and friends build it).
    WidgetRoot widget;
    /// Text the copy button puts on the clipboard.
    std::optional<std::string> copy_text;
    friend bool operator==(WidgetItem const&, WidgetItem const&) = default;
};

/// An image generated by the model (null until known).
struct GeneratedImageItem {
    /// @name Common item fields (reference `ThreadItemBase`, same names and JSON keys, written first)
    ///@{

    /// `id` is store-generated with the kind's prefix (`msg_`, `tc_`...; StoreItemType), `thread_id` names
    /// the thread the item belongs to, `created_at` is set by the server when it creates the item (§2.6).
    std::string id;
    std::string thread_id;
    Timestamp created_at{};
    ///@}
    /// The image, null until generation finishes (a `generated_image` update fills it).
    std::optional<GeneratedImage> image;
    friend bool operator==(GeneratedImageItem const&, GeneratedImageItem const&) = default;
};

/// Questions the user answers in the composer (`threads.add_structured_input`).
struct StructuredInputItem {
    /// @name Common item fields (reference `ThreadItemBase`, same names and JSON keys, written first)
    ///@{

    /// `id` is store-generated with the kind's prefix (`msg_`, `tc_`...; StoreItemType), `thread_id` names
    /// the thread the item belongs to, `created_at` is set by the server when it creates the item (§2.6).
    std::string id;
    std::string thread_id;
    Timestamp created_at{};
    ///@}
    /// `pending` until the user submits or skips the questions.
    StructuredInputStatus status = StructuredInputStatus::pending;
    std::vector<StructuredInput> inputs;  ///< The questions, in order.
    friend bool operator==(StructuredInputItem const&, StructuredInputItem const&) = default;
};

/// A workflow (a group of tasks, or reasoning).
struct WorkflowItem {
    /// @name Common item fields (reference `ThreadItemBase`, same names and JSON keys, written first)
    ///@{

    /// `id` is store-generated with the kind's prefix (`msg_`, `tc_`...; StoreItemType), `thread_id` names
    /// the thread the item belongs to, `created_at` is set by the server when it creates the item (§2.6).
    std::string id;
    std::string thread_id;
    Timestamp created_at{};
    ///@}
    Workflow workflow;  ///< The workflow: its tasks, summary and expansion state.
    friend bool operator==(WorkflowItem const&, WorkflowItem const&) = default;
};

/// A standalone task.
struct TaskItem {
    /// @name Common item fields (reference `ThreadItemBase`, same names and JSON keys, written first)
    ///@{

    /// `id` is store-generated with the kind's prefix (`msg_`, `tc_`...; StoreItemType), `thread_id` names
    /// the thread the item belongs to, `created_at` is set by the server when it creates the item (§2.6).
    std::string id;
    std::string thread_id;
    Timestamp created_at{};
    ///@}
    Task task;  ///< The task shown.
    friend bool operator==(TaskItem const&, TaskItem const&) = default;
};

/// Marks the end of the assistant's turn (a UI hint).
struct EndOfTurnItem {
    /// @name Common item fields (reference `ThreadItemBase`, same names and JSON keys, written first)
    ///@{

    /// `id` is store-generated with the kind's prefix (`msg_`, `tc_`...; StoreItemType), `thread_id` names
    /// the thread the item belongs to, `created_at` is set by the server when it creates the item (§2.6).
    std::string id;
    std::string thread_id;
    Timestamp created_at{};
    ///@}
    friend bool operator==(EndOfTurnItem const&, EndOfTurnItem const&) = default;
};

/// Model-only context stored in the thread; never sent to the client.
struct HiddenContextItem {
    /// @name Common item fields (reference `ThreadItemBase`, same names and JSON keys, written first)
    ///@{

    /// `id` is store-generated with the kind's prefix (`msg_`, `tc_`...; StoreItemType), `thread_id` names
    /// the thread the item belongs to, `created_at` is set by the server when it creates the item (§2.6).
    std::string id;
    std::string thread_id;
    Timestamp created_at{};
    ///@}
    /// Any JSON; null is omitted when written.
    JsonValue content;
    friend bool operator==(HiddenContextItem const&, HiddenContextItem const&) = default;
};

/// Context the SDK itself stores (the cancellation note); never sent to the client.
struct SDKHiddenContextItem {
    /// @name Common item fields (reference `ThreadItemBase`, same names and JSON keys, written first)
    ///@{

    /// `id` is store-generated with the kind's prefix (`msg_`, `tc_`...; StoreItemType), `thread_id` names
    /// the thread the item belongs to, `created_at` is set by the server when it creates the item (§2.6).
    std::string id;
    std::string thread_id;
    Timestamp created_at{};
    ///@}
    /// The note's text, written by the SDK (for example that the user stopped the previous response).
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
    /// The items page; empty in `threads.create` and list responses, filled by `threads.get_by_id`.
    Page<ThreadItem> items;
};

/// The kinds of object a store generates ids for (PROTOCOL.md §7.3).
enum class StoreItemType { thread, message, tool_call, task, workflow, attachment, sdk_hidden_context };

/// The id prefix of a kind of object: `thr`, `msg`, `tc`, `tsk`, `wf`, `atc`, `shcx`.
CHATKIT_API char const* id_prefix(StoreItemType type) noexcept;

/// A new id shaped like the reference's (`<prefix>_` + lowercase hex), but with `id_random_bits` (128)
/// bits from the OS CSPRNG instead of the reference's 32.
CHATKIT_API std::string default_generate_id(StoreItemType type);

namespace detail {
/// True when `id` is the thread id `default_generate_id` made last on this OS thread and no one
/// claimed it yet; claims it. Such an id is 128 fresh random bits, so the server creates its thread
/// without first looking for one with that id (an id from anywhere else, or claimed twice, is
/// looked up).
CHATKIT_API bool claim_fresh_thread_id(std::string const& id) noexcept;
}  // namespace detail

}  // namespace chatkit
