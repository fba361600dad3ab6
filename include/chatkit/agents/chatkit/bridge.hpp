// chatkit-cpp: the bridge between the Agent layer and a ChatKit server (AGENTS.md §2, §4.7).
//
// - `AgentContext<Ctx>`: the run context of agents that answer inside `ChatKitServer::respond()`;
//   tools reach the thread, the store, the request context and the stream through it.
// - `stream_agent_response()`: runs an agent and turns its model stream into ChatKit thread events
//   (assistant messages, reasoning as workflows, annotations, generated images, client tool calls).
// - `ResponseStreamConverter`: the overridable conversions of annotations and images.
// - `ThreadItemConverter<Ctx>`: thread items (history) into model input items.
#pragma once

#include <chatkit/agents/agent.hpp>
#include <chatkit/agents/items.hpp>
#include <chatkit/agents/runner.hpp>
#include <chatkit/agents/tool.hpp>
#include <chatkit/core/config.hpp>
#include <chatkit/protocol/events.hpp>
#include <chatkit/protocol/items.hpp>
#include <chatkit/server/event_sink.hpp>
#include <chatkit/store/store.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace chatkit::agents {

namespace detail {
class AgentStreamBridge;
}

/// A client tool call requested by a server-side tool (the Python idiom: a tool sets it and the agent
/// stops at that tool). The bridge emits it as a pending `ClientToolCallItem` at the end of the run.
struct ClientToolRequest {
    std::string name;                ///< the client tool to run
    boost::json::object arguments;   ///< its arguments, as the client receives them
    /// The model's `call_id` of the tool invocation that asked for it (set by `AgentContextBase::client_tool_call`).
    std::optional<std::string> call_id;
    /// The model's item id of that invocation, when known.
    std::optional<std::string> item_id;
};

class AgentContextBase;

/// Streams the successive states of one widget through an `AgentContext` (like `chatkit::WidgetStream`,
/// but through the bridge so an open workflow is closed first): the first `update` emits
/// `thread.item.added`, later ones the `diff_widget` updates, `done` emits `thread.item.done`.
class CHATKIT_API AgentWidgetStream {
public:
    /// Takes the new item's id from `ctx` now; nothing is emitted before the first `update`.
    /// `ctx` must outlive the stream; `copy_text` is what the item's copy button copies.
    AgentWidgetStream(AgentContextBase& ctx, std::optional<std::string> copy_text = std::nullopt);

    /// Emits the first state, or the difference to the previous state.
    boost::asio::awaitable<void> update(WidgetRoot state);
    /// Emits `thread.item.done` with the last state. Throws `std::logic_error` before any update.
    boost::asio::awaitable<void> done();
    /// The widget item's id.
    std::string const& item_id() const noexcept { return item_.id; }

private:
    AgentContextBase* ctx_;
    WidgetItem item_;
    bool started_ = false;
};

/// The non-template part of `AgentContext<Ctx>`: the thread, the open workflow and the event path.
///
/// Events streamed before `stream_agent_response()` starts are kept and sent first; during the run
/// they go straight to the client (after closing an open workflow when a visible item appears).
/// Not thread-safe: use it from the run's executor (tools of a run share it).
class CHATKIT_API AgentContextBase {
public:
    /// A context answering in `thread`, which must outlive it.
    explicit AgentContextBase(ThreadMetadata& thread) : thread_(&thread) {}
    virtual ~AgentContextBase();
    AgentContextBase(AgentContextBase const&) = delete;
    AgentContextBase& operator=(AgentContextBase const&) = delete;

    /// The thread being answered (changes to title or metadata are saved by the server).
    ThreadMetadata& thread() noexcept { return *thread_; }
    /// The thread being answered, read-only.
    ThreadMetadata const& thread() const noexcept { return *thread_; }

    /// A new id from the store's generator (`thread` → a thread id, otherwise an item id of this thread).
    virtual std::string generate_id(StoreItemType type) = 0;

    /// Carried for integrators that chain Responses (`previous_response_id`); the bridge does not use it.
    std::optional<std::string> previous_response_id;
    /// A client tool call requested by a tool (Python idiom); see `client_tool_call()`.
    std::optional<ClientToolRequest> client_tool_call;
    /// The workflow currently open (reasoning or custom), if any.
    std::optional<WorkflowItem> workflow_item;
    /// The generated image being streamed, if any.
    std::optional<GeneratedImageItem> generated_image_item;

    /// Sends any thread event: `progress_update`, `client_effect`, `notice` or a `thread.item` event.
    /// A visible `thread.item.added`/`done` first closes an open workflow (client tool calls and
    /// hidden context items do not). Pass a named event or a function's result (g++ 12).
    boost::asio::awaitable<void> stream(ThreadStreamEvent event);

    /// Shows a static widget: one `thread.item.done` of a new widget item.
    boost::asio::awaitable<void> stream_widget(WidgetRoot widget, std::optional<std::string> copy_text = std::nullopt);
    /// Streams known widget states: `thread.item.added`, the diffs, `thread.item.done`.
    /// Throws `std::invalid_argument` for an empty list.
    boost::asio::awaitable<void> stream_widget(std::vector<WidgetRoot> states,
                                               std::optional<std::string> copy_text = std::nullopt);
    /// A widget whose states are produced over time (see `AgentWidgetStream`).
    AgentWidgetStream widget_stream(std::optional<std::string> copy_text = std::nullopt) {
        return AgentWidgetStream(*this, std::move(copy_text));
    }

    /// Opens a workflow. A reasoning workflow, or one that already has tasks, is shown at once;
    /// an empty custom workflow is shown with its first task.
    boost::asio::awaitable<void> start_workflow(Workflow workflow);
    /// Adds a task to the open workflow (opening an empty custom workflow when none is open).
    boost::asio::awaitable<void> add_workflow_task(Task task);
    /// Replaces task `index` of the open workflow. Throws `std::logic_error` without an open workflow
    /// and `std::out_of_range` for a bad index.
    boost::asio::awaitable<void> update_workflow_task(Task task, std::size_t index);
    /// Closes the open workflow (no-op without one): `summary`, else the existing summary, else the
    /// whole seconds since it started (`DurationSummary`, shown as "Thought for N seconds" style).
    boost::asio::awaitable<void> end_workflow(std::optional<WorkflowSummary> summary = std::nullopt,
                                              bool expanded = false);

    /// Asks the client to run a tool when this run ends (Python idiom; pair it with
    /// `ToolUseBehavior::stop_at_tools({tool})`). The call carries the ids of `invocation`.
    /// Prefer `client_tool(...)` tools, which need no server-side stub.
    void request_client_tool(ToolContextBase const& invocation, std::string name, boost::json::object arguments);

private:
    friend class detail::AgentStreamBridge;
    ThreadMetadata* thread_;
    detail::AgentStreamBridge* bridge_ = nullptr;
    std::vector<ThreadStreamEvent> early_events_;
};

/// The context type of agents answering in a ChatKit server: `Agent<AgentContext<MyCtx>>`.
/// Tools reach it as `tool_ctx.context()`, and the application's request context (user, tenant,
/// access tokens) as `tool_ctx.context().request_context()` — never through the prompt.
template <class Ctx>
class AgentContext : public AgentContextBase {
public:
    /// What `respond()` received; all three must outlive the context (it keeps references).
    AgentContext(ThreadMetadata& thread, Store<Ctx>& store, Ctx& request_context)
        : AgentContextBase(thread), store_(&store), request_context_(&request_context) {}

    /// The server's store.
    Store<Ctx>& store() noexcept { return *store_; }
    /// The request context `respond()` received.
    Ctx& request_context() noexcept { return *request_context_; }
    /// The request context `respond()` received, read-only.
    Ctx const& request_context() const noexcept { return *request_context_; }

    std::string generate_id(StoreItemType type) override {
        if (type == StoreItemType::thread) return store_->generate_thread_id(*request_context_);
        return store_->generate_item_id(type, thread(), *request_context_);
    }

private:
    Store<Ctx>* store_;
    Ctx* request_context_;
};

/// Converts streamed model output into ChatKit values. Override the hooks to map citations to
/// your own sources or to upload generated images instead of inlining them.
class CHATKIT_API ResponseStreamConverter {
public:
    /// `partial_images`: how many partial images a generation sends (for progress), or none.
    explicit ResponseStreamConverter(std::optional<int> partial_images = std::nullopt)
        : partial_images_(partial_images) {}
    virtual ~ResponseStreamConverter() = default;

    /// `file_citation` → a file source at `index`; none when `filename` is empty.
    virtual boost::asio::awaitable<std::optional<Annotation>> file_citation_to_annotation(
        boost::json::object const& citation) const;
    /// `container_file_citation` → a file source at `end_index`; none when `filename` is empty.
    virtual boost::asio::awaitable<std::optional<Annotation>> container_file_citation_to_annotation(
        boost::json::object const& citation) const;
    /// `url_citation` → a URL source (`url`, `title`) at `end_index`.
    virtual boost::asio::awaitable<std::optional<Annotation>> url_citation_to_annotation(
        boost::json::object const& citation) const;
    /// Any other annotation type (`file_path`, unknown): dropped by default.
    virtual boost::asio::awaitable<std::optional<Annotation>> other_annotation(boost::json::object const& annotation) const;
    /// The URL stored for a generated image (default: a `data:image/png;base64,` URL).
    /// `image_id` is the generation call's id, stable across partial images.
    virtual boost::asio::awaitable<std::string> base64_image_to_url(std::string const& image_id,
                                                                    std::string const& base64_image,
                                                                    std::optional<std::int64_t> partial_image_index) const;
    /// Progress in [0, 1] of partial image `index` (0 without `partial_images`).
    virtual double partial_image_index_to_progress(std::int64_t index) const;

    /// Dispatches one raw annotation (a Responses annotation object) to the hooks above.
    boost::asio::awaitable<std::optional<Annotation>> convert_annotation(boost::json::value const& annotation) const;

    /// How many partial images a generation sends, as given to the constructor.
    std::optional<int> partial_images() const noexcept { return partial_images_; }

private:
    std::optional<int> partial_images_;
};

/// The converter used when none is given.
CHATKIT_API ResponseStreamConverter const& default_response_converter();

namespace detail {

/// The state machine of `stream_agent_response` (AGENTS.md §2.2), independent of the context type.
class CHATKIT_API AgentStreamBridge final : public RunEventSink {
public:
    AgentStreamBridge(AgentContextBase& ctx, EventSink& out, ResponseStreamConverter const& converter,
                      RunEventSink* forward);
    ~AgentStreamBridge() override;

    /// Continues a workflow left open by the previous turn (`recent`: newest first), then sends the
    /// events the context collected before the run.
    boost::asio::awaitable<void> begin(std::vector<ThreadItem> const& recent);

    boost::asio::awaitable<void> on_agent_updated(AgentInfo const& agent) override;
    boost::asio::awaitable<void> on_raw_event(ModelStreamEvent const& event) override;
    boost::asio::awaitable<void> on_run_item(std::string_view name, RunItem const& item) override;

    /// An event from `AgentContextBase::stream`.
    boost::asio::awaitable<void> context_event(ThreadStreamEvent event);

    /// After a guardrail tripwire: `thread.item.removed` for every item this stream produced.
    boost::asio::awaitable<void> roll_back();
    /// After another error: finishes open assistant messages (or removes empty ones) and closes an
    /// open workflow, so the thread stays consistent.
    boost::asio::awaitable<void> close_open_items();
    /// After a normal end: the workflow to persist without a done event (continued by the next
    /// turn), if one is still open.
    boost::asio::awaitable<std::optional<WorkflowItem>> finish(RunResult const& result);
    /// Then: the pending client tool call (from the run result, else from the context), if any.
    boost::asio::awaitable<void> emit_client_tool_call(RunResult const& result);

    /// Whether the current exception is a client disconnect / cancellation (never swallowed).
    static bool is_cancellation(std::exception_ptr const& e);
    /// Whether it is an input or output guardrail tripwire.
    static bool is_tripwire(std::exception_ptr const& e);

private:
    struct State;
    AgentContextBase& ctx_;
    EventSink& out_;
    ResponseStreamConverter const& conv_;
    RunEventSink* forward_;
    std::unique_ptr<State> st_;

    boost::asio::awaitable<void> emit(ThreadStreamEvent event);
    ThreadStreamEvent close_workflow_event();
};

}  // namespace detail

/// Runs `agent` on `input` and streams the result into `events` as ChatKit thread events
/// (AGENTS.md §2.2): text deltas as an assistant message, reasoning summaries as a reasoning
/// workflow of thought tasks, annotations through `converter`, a client tool call as a pending
/// `ClientToolCallItem` with that call's ids. Returns the run result (usage, last response id).
///
/// Errors: a guardrail tripwire removes every item this stream produced, then propagates; other
/// errors first finish open items, then propagate (the server turns them into an `error` event).
/// A client disconnect propagates untouched, so the server stores the partial reply.
///
/// Cancellation of the awaiting coroutine reaches the model call and tools in progress and
/// propagates untouched, like a disconnect. `ctx`, `agent`, `events`, `converter` and
/// `options.sink` must outlive the returned awaitable.
template <class Ctx>
boost::asio::awaitable<RunResult> stream_agent_response(
    AgentContext<Ctx>& ctx, Agent<AgentContext<Ctx>> const& agent, std::vector<Item> input, EventSink& events,
    RunOptions options = {}, ResponseStreamConverter const& converter = default_response_converter());

/// Bytes of an attachment, as an application's loader returns them (`chatkit::AttachmentBytes`).
using chatkit::AttachmentBytes;

/// Reads an attachment's bytes (from your blob store, disk...) so the default converter can give them
/// to the model; nullopt when unavailable. The converter never uploads anything to a third party.
template <class Ctx>
using AttachmentLoader = std::function<boost::asio::awaitable<std::optional<AttachmentBytes>>(Attachment const&, Ctx&)>;

namespace detail {
// Default conversions shared by every ThreadItemConverter<Ctx> (src/agents/chatkit/converter.cpp).
CHATKIT_API std::vector<Item> user_message_parts_to_input(UserMessageItem const& item, bool is_last,
                                                          std::vector<ContentPart> attachment_parts,
                                                          std::vector<ContentPart> tag_parts);
CHATKIT_API std::vector<UserMessageTagContent> unique_tags(UserMessageItem const& item);
CHATKIT_API std::vector<Item> assistant_message_to_input(AssistantMessageItem const& item);
CHATKIT_API std::vector<Item> client_tool_call_to_input(ClientToolCallItem const& item);
CHATKIT_API std::vector<Item> widget_to_input(WidgetItem const& item);
CHATKIT_API std::vector<Item> workflow_to_input(WorkflowItem const& item);
CHATKIT_API std::vector<Item> task_to_input(TaskItem const& item);
CHATKIT_API std::vector<Item> structured_input_to_input(StructuredInputItem const& item);
CHATKIT_API std::vector<Item> hidden_context_to_input(HiddenContextItem const& item);
CHATKIT_API std::vector<Item> sdk_hidden_context_to_input(SDKHiddenContextItem const& item);
CHATKIT_API std::vector<Item> generated_image_to_input(GeneratedImageItem const& item);
CHATKIT_API ContentPart attachment_bytes_to_content(Attachment const& attachment, AttachmentBytes const& bytes);
CHATKIT_API ContentPart attachment_description(Attachment const& attachment);
CHATKIT_API ContentPart attachment_left_out(Attachment const& attachment);

/// The attachment bytes each open `to_agent_input` call has given the model, per request context
/// (keyed by its address), so that one call's total stays within the converter's budget while one
/// converter serves concurrent requests. Thread-safe.
class CHATKIT_API attachment_budgets {
public:
    /// Marks a call for `key` open until destroyed (calls for the same key share one total).
    class scope {
    public:
        scope(attachment_budgets& budgets, void const* key);
        ~scope();
        scope(scope const&) = delete;
        scope& operator=(scope const&) = delete;

    private:
        attachment_budgets& budgets_;
        void const* key_;
    };

    /// Whether nothing more fits for `key`.
    bool exhausted(void const* key, std::size_t budget) const;
    /// Adds `bytes` to `key`'s total when it stays within `budget` (outside any call, only checks
    /// `bytes` against `budget`).
    bool try_spend(void const* key, std::size_t bytes, std::size_t budget);

private:
    struct call {
        std::size_t spent = 0;
        int open = 0;
    };
    mutable std::mutex mutex_;
    std::map<void const*, call> calls_;
};
}  // namespace detail

/// Python `json.dumps` text of a JSON value (`", "` and `": "` separators, non-ASCII escaped), the
/// form in which the reference replays client tool arguments and outputs to the model.
CHATKIT_API std::string python_json_dumps(boost::json::value const& value);

/// Converts thread items (the conversation so far) into model input items (AGENTS.md §2.3), with
/// the reference's model-visible texts. Every conversion is a virtual hook; override to change one.
template <class Ctx>
class ThreadItemConverter {
public:
    ThreadItemConverter() = default;
    /// A converter that gives attachments' bytes to the model (images as `input_image` data URLs,
    /// text files as `input_text`, PDFs as `input_file`); without a loader attachments are described in text.
    explicit ThreadItemConverter(AttachmentLoader<Ctx> loader) : loader_(std::move(loader)) {}
    virtual ~ThreadItemConverter() = default;

    /// Converts `items` (oldest first); the result keeps their order. Only the last item counts as
    /// the last message (its quoted text is sent). The hooks are called newest item first, so the
    /// attachment budget goes to the latest messages.
    /// `items`, `ctx` and the converter must outlive the returned awaitable.
    boost::asio::awaitable<std::vector<Item>> to_agent_input(std::vector<ThreadItem> const& items, Ctx& ctx);

    /// Most attachment bytes (as the loader returns them, before base64) one `to_agent_input` call
    /// gives the model; 16 MiB by default. Attachments beyond it (older ones first) are described
    /// in text instead, and once nothing fits the loader is not called any more. It also caps one
    /// attachment converted outside `to_agent_input`.
    void set_attachment_budget(std::size_t bytes) noexcept { attachment_budget_ = bytes; }
    /// The attachment budget.
    std::size_t attachment_budget() const noexcept { return attachment_budget_; }

    /// The message as typed, with its attachments' parts; for the last message, its quoted text as
    /// a second message; @-mentions (each once) in a context message of their own.
    virtual boost::asio::awaitable<std::vector<Item>> user_message_to_input(UserMessageItem const& item,
                                                                            bool is_last_message, Ctx& ctx);
    /// One attachment as a content part: its bytes through the loader when one is set, it can read
    /// them and they fit the attachment budget, otherwise a text description (name and type).
    virtual boost::asio::awaitable<ContentPart> attachment_to_message_content(Attachment const& attachment, Ctx& ctx);
    /// One @-mention as context for the model. The default throws `error::not_implemented`.
    virtual boost::asio::awaitable<ContentPart> tag_to_message_content(UserMessageTagContent const& tag, Ctx& ctx);
    /// The assistant's text parts as `output_text` (annotations are not replayed).
    virtual boost::asio::awaitable<std::vector<Item>> assistant_message_to_input(AssistantMessageItem const& item);
    /// Pending calls give nothing (an unanswered call is never sent); completed ones the call and its output.
    virtual boost::asio::awaitable<std::vector<Item>> client_tool_call_to_input(ClientToolCallItem const& item);
    /// Nothing.
    virtual boost::asio::awaitable<std::vector<Item>> end_of_turn_to_input(EndOfTurnItem const& item);
    /// A user message saying which widget (id and JSON) was displayed.
    virtual boost::asio::awaitable<std::vector<Item>> widget_to_input(WidgetItem const& item);
    /// One `task_to_input`-style message per custom task with a title or content; nothing else.
    virtual boost::asio::awaitable<std::vector<Item>> workflow_to_input(WorkflowItem const& item);
    /// For a custom task with a title or content, a message saying it was performed; else nothing.
    virtual boost::asio::awaitable<std::vector<Item>> task_to_input(TaskItem const& item);
    /// A message listing each question with its answer (or `unanswered`/`skipped`) and the status.
    virtual boost::asio::awaitable<std::vector<Item>> structured_input_to_input(StructuredInputItem const& item);
    /// String content is wrapped in `<HiddenContext>`; other JSON throws `error::not_implemented`.
    virtual boost::asio::awaitable<std::vector<Item>> hidden_context_to_input(HiddenContextItem const& item);
    /// The content wrapped in `<HiddenContext>`, as for `hidden_context_to_input`.
    virtual boost::asio::awaitable<std::vector<Item>> sdk_hidden_context_to_input(SDKHiddenContextItem const& item);
    /// The image as an `input_image` (by its URL) under a line saying the agent generated it;
    /// nothing while the item has no image.
    virtual boost::asio::awaitable<std::vector<Item>> generated_image_to_input(GeneratedImageItem const& item);

protected:
    AttachmentLoader<Ctx> loader_;  ///< reads attachment bytes (empty: attachments are described)
    std::size_t attachment_budget_ = 16 * 1024 * 1024;  ///< see `set_attachment_budget`
    /// The bytes spent per open `to_agent_input` call; shared by copies of the converter.
    std::shared_ptr<detail::attachment_budgets> budgets_ = std::make_shared<detail::attachment_budgets>();
};

/// The last `limit` items of a thread, oldest first (hidden ones included): the history window a
/// `respond()` usually converts.
template <class Ctx>
boost::asio::awaitable<std::vector<ThreadItem>> load_recent_items(Store<Ctx>& store, std::string const& thread_id,
                                                                  int limit, Ctx const& ctx);

}  // namespace chatkit::agents

#include <chatkit/agents/chatkit/impl/bridge.hpp>
