// chatkit-cpp: the Agent → ChatKit stream bridge (AGENTS.md §2.2, §4.7): AgentContextBase,
// ResponseStreamConverter and the state machine behind stream_agent_response().
#include <chatkit/agents/chatkit/bridge.hpp>
#include <chatkit/server/widgets.hpp>

#include <boost/asio/error.hpp>

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace chatkit::agents {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

std::string string_field(json::object const& o, std::string_view key) {
    auto const* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::optional<std::int64_t> int_field(json::object const& o, std::string_view key) {
    auto const* v = o.if_contains(key);
    if (!v) return std::nullopt;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
    if (v->is_double()) return static_cast<std::int64_t>(v->get_double());
    return std::nullopt;
}

std::int64_t seconds_since(Timestamp start) {
    auto elapsed = chatkit::now() - start;
    return std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::seconds>(elapsed).count());
}

bool closes_workflow(ThreadItem const& item) {
    // Client tool calls and model-only context do not end the open workflow.
    return !std::holds_alternative<ClientToolCallItem>(item) && !is_hidden(item);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// ResponseStreamConverter

asio::awaitable<std::optional<Annotation>> ResponseStreamConverter::file_citation_to_annotation(
    json::object const& citation) const {
    std::string filename = string_field(citation, "filename");
    if (filename.empty()) co_return std::nullopt;
    FileSource source;
    source.filename = filename;
    source.title = filename;
    Annotation annotation{source, int_field(citation, "index")};
    co_return annotation;
}

asio::awaitable<std::optional<Annotation>> ResponseStreamConverter::container_file_citation_to_annotation(
    json::object const& citation) const {
    std::string filename = string_field(citation, "filename");
    if (filename.empty()) co_return std::nullopt;
    FileSource source;
    source.filename = filename;
    source.title = filename;
    Annotation annotation{source, int_field(citation, "end_index")};
    co_return annotation;
}

asio::awaitable<std::optional<Annotation>> ResponseStreamConverter::url_citation_to_annotation(
    json::object const& citation) const {
    URLSource source;
    source.url = string_field(citation, "url");
    source.title = string_field(citation, "title");
    Annotation annotation{source, int_field(citation, "end_index")};
    co_return annotation;
}

asio::awaitable<std::optional<Annotation>> ResponseStreamConverter::other_annotation(json::object const& annotation) const {
    (void)annotation;
    co_return std::nullopt;
}

asio::awaitable<std::string> ResponseStreamConverter::base64_image_to_url(std::string const& image_id,
                                                                          std::string const& base64_image,
                                                                          std::optional<std::int64_t> partial_image_index) const {
    (void)image_id;
    (void)partial_image_index;
    co_return "data:image/png;base64," + base64_image;
}

double ResponseStreamConverter::partial_image_index_to_progress(std::int64_t index) const {
    if (!partial_images_ || *partial_images_ <= 0) return 0.0;
    return std::min(1.0, static_cast<double>(index) / static_cast<double>(*partial_images_));
}

asio::awaitable<std::optional<Annotation>> ResponseStreamConverter::convert_annotation(json::value const& raw) const {
    if (!raw.is_object()) co_return std::nullopt;
    json::object const& o = raw.get_object();
    std::string type = string_field(o, "type");
    if (type == "file_citation") co_return co_await file_citation_to_annotation(o);
    if (type == "url_citation") co_return co_await url_citation_to_annotation(o);
    if (type == "container_file_citation") co_return co_await container_file_citation_to_annotation(o);
    co_return co_await other_annotation(o);
}

ResponseStreamConverter const& default_response_converter() {
    static ResponseStreamConverter const converter;
    return converter;
}

// ---------------------------------------------------------------------------------------------
// AgentContextBase

AgentContextBase::~AgentContextBase() = default;

asio::awaitable<void> AgentContextBase::stream(ThreadStreamEvent event) {
    if (bridge_) {
        co_await bridge_->context_event(std::move(event));
    } else {
        early_events_.push_back(std::move(event));
    }
}

asio::awaitable<void> AgentContextBase::stream_widget(WidgetRoot widget, std::optional<std::string> copy_text) {
    WidgetItem item;
    item.id = generate_id(StoreItemType::message);
    item.thread_id = thread().id;
    item.created_at = chatkit::now();
    item.widget = std::move(widget);
    item.copy_text = std::move(copy_text);
    ThreadStreamEvent event = ThreadItemDoneEvent{std::move(item)};
    co_await stream(std::move(event));
}

asio::awaitable<void> AgentContextBase::stream_widget(std::vector<WidgetRoot> states, std::optional<std::string> copy_text) {
    if (states.empty()) throw std::invalid_argument("stream_widget needs at least one widget state");
    AgentWidgetStream widget(*this, std::move(copy_text));
    for (auto& state : states) co_await widget.update(std::move(state));
    co_await widget.done();
}

asio::awaitable<void> AgentContextBase::start_workflow(Workflow workflow) {
    if (workflow_item) co_await end_workflow();
    WorkflowItem item;
    item.id = generate_id(StoreItemType::workflow);
    item.thread_id = thread().id;
    item.created_at = chatkit::now();
    item.workflow = std::move(workflow);
    workflow_item = item;
    // An empty custom workflow is shown with its first task.
    if (item.workflow.type != WorkflowType::reasoning && item.workflow.tasks.empty()) co_return;
    ThreadStreamEvent event = ThreadItemAddedEvent{std::move(item)};
    co_await stream(std::move(event));
}

asio::awaitable<void> AgentContextBase::add_workflow_task(Task task) {
    if (!workflow_item) {
        WorkflowItem item;
        item.id = generate_id(StoreItemType::workflow);
        item.thread_id = thread().id;
        item.created_at = chatkit::now();
        item.workflow.type = WorkflowType::custom;
        workflow_item = std::move(item);
    }
    auto& workflow = workflow_item->workflow;
    workflow.tasks.push_back(task);
    ThreadStreamEvent event;
    if (workflow.type != WorkflowType::reasoning && workflow.tasks.size() == 1) {
        event = ThreadItemAddedEvent{*workflow_item};
    } else {
        WorkflowTaskAdded added{static_cast<std::int64_t>(workflow.tasks.size() - 1), std::move(task)};
        event = ThreadItemUpdatedEvent{workflow_item->id, std::move(added)};
    }
    co_await stream(std::move(event));
}

asio::awaitable<void> AgentContextBase::update_workflow_task(Task task, std::size_t index) {
    if (!workflow_item) throw std::logic_error("update_workflow_task: no workflow is open");
    auto& tasks = workflow_item->workflow.tasks;
    if (index >= tasks.size()) throw std::out_of_range("update_workflow_task: no task at this index");
    tasks[index] = task;
    WorkflowTaskUpdated updated{static_cast<std::int64_t>(index), std::move(task)};
    ThreadStreamEvent event = ThreadItemUpdatedEvent{workflow_item->id, std::move(updated)};
    co_await stream(std::move(event));
}

asio::awaitable<void> AgentContextBase::end_workflow(std::optional<WorkflowSummary> summary, bool expanded) {
    if (!workflow_item) co_return;
    if (summary) workflow_item->workflow.summary = std::move(summary);
    else if (!workflow_item->workflow.summary)
        workflow_item->workflow.summary = DurationSummary{seconds_since(workflow_item->created_at)};
    workflow_item->workflow.expanded = expanded;
    ThreadStreamEvent event = ThreadItemDoneEvent{*workflow_item};
    co_await stream(std::move(event));
    workflow_item.reset();
}

void AgentContextBase::request_client_tool(ToolContextBase const& invocation, std::string name, json::object arguments) {
    ClientToolRequest request;
    request.name = std::move(name);
    request.arguments = std::move(arguments);
    request.call_id = invocation.call_id();
    request.item_id = invocation.item_id();
    client_tool_call = std::move(request);
}

// ---------------------------------------------------------------------------------------------
// AgentWidgetStream

AgentWidgetStream::AgentWidgetStream(AgentContextBase& ctx, std::optional<std::string> copy_text) : ctx_(&ctx) {
    item_.id = ctx.generate_id(StoreItemType::message);
    item_.thread_id = ctx.thread().id;
    item_.created_at = chatkit::now();
    item_.copy_text = std::move(copy_text);
}

asio::awaitable<void> AgentWidgetStream::update(WidgetRoot state) {
    if (!started_) {
        started_ = true;
        item_.widget = std::move(state);
        ThreadStreamEvent event = ThreadItemAddedEvent{item_};
        co_await ctx_->stream(std::move(event));
        co_return;
    }
    std::vector<ThreadItemUpdate> updates = diff_widget(item_.widget, state);
    item_.widget = std::move(state);
    for (auto& update : updates) {
        ThreadStreamEvent event = ThreadItemUpdatedEvent{item_.id, std::move(update)};
        co_await ctx_->stream(std::move(event));
    }
}

asio::awaitable<void> AgentWidgetStream::done() {
    if (!started_) throw std::logic_error("AgentWidgetStream::done before any update");
    ThreadStreamEvent event = ThreadItemDoneEvent{item_};
    co_await ctx_->stream(std::move(event));
}

// ---------------------------------------------------------------------------------------------
// The bridge

namespace detail {

struct AgentStreamBridge::State {
    // Thread item ids this stream produced, in order (rolled back on a guardrail tripwire).
    std::vector<std::string> produced;
    // The latest function call seen (fallback ids for a client tool requested without ids).
    std::optional<std::string> last_call_id, last_call_item_id;
    // The first thought of a reasoning workflow, streamed as it arrives.
    struct Thought {
        std::string workflow_id, item_id;
        std::int64_t summary_index = 0;
        std::size_t task_index = 0;
    };
    std::optional<Thought> thought;
    // Reasoning items whose summary is streamed (their raw reasoning text is then not shown).
    std::vector<std::string> summarised;
    // Converted annotations per (item, content part), for indices and for the part's done event.
    std::map<std::pair<std::string, std::int64_t>, std::vector<Annotation>> annotations;
    // Assistant messages added but not done (finished when the run fails).
    std::vector<AssistantMessageItem> open_messages;
    // Provider ids replaced by store ids (placeholders such as "__fake_id__").
    std::map<std::string, std::string> id_map;

    void produce(std::string const& id) {
        if (std::find(produced.begin(), produced.end(), id) == produced.end()) produced.push_back(id);
    }
    AssistantMessageItem* open_message(std::string const& id) {
        for (auto& m : open_messages)
            if (m.id == id) return &m;
        return nullptr;
    }
};

namespace {

// The ChatKit content of a Responses content part (`output_text` or `refusal`); nullopt for others.
asio::awaitable<std::optional<AssistantMessageContent>> convert_part_json(json::value const& part,
                                                                         ResponseStreamConverter const& conv) {
    if (!part.is_object()) co_return std::nullopt;
    auto const& o = part.get_object();
    std::string type = string_field(o, "type");
    AssistantMessageContent content;
    if (type == "output_text") {
        content.text = string_field(o, "text");
        if (auto const* anns = o.if_contains("annotations"); anns && anns->is_array())
            for (auto const& a : anns->get_array()) {
                std::optional<Annotation> converted = co_await conv.convert_annotation(a);
                if (converted) content.annotations.push_back(std::move(*converted));
            }
        co_return content;
    }
    if (type == "refusal") {
        content.text = string_field(o, "refusal");
        co_return content;
    }
    co_return std::nullopt;
}

asio::awaitable<std::vector<AssistantMessageContent>> convert_message_content(MessageItem const& message,
                                                                             ResponseStreamConverter const& conv) {
    std::vector<AssistantMessageContent> out;
    for (auto const& part : message.content) {
        if (auto const* text = std::get_if<OutputText>(&part)) {
            AssistantMessageContent content;
            content.text = text->text;
            for (auto const& a : text->annotations) {
                std::optional<Annotation> converted = co_await conv.convert_annotation(a);
                if (converted) content.annotations.push_back(std::move(*converted));
            }
            out.push_back(std::move(content));
        } else if (auto const* refusal = std::get_if<RefusalPart>(&part)) {
            AssistantMessageContent content;
            content.text = refusal->refusal;
            out.push_back(std::move(content));
        }
    }
    co_return out;
}

std::string opaque_type(Item const& item) {
    if (auto const* opaque = std::get_if<OpaqueItem>(&item)) return string_field(opaque->raw, "type");
    return {};
}

bool is_placeholder_id(std::string const& id) { return id.empty() || id == "__fake_id__"; }

}  // namespace

AgentStreamBridge::AgentStreamBridge(AgentContextBase& ctx, EventSink& out, ResponseStreamConverter const& converter,
                                     RunEventSink* forward)
    : ctx_(ctx), out_(out), conv_(converter), forward_(forward), st_(std::make_unique<State>()) {}

AgentStreamBridge::~AgentStreamBridge() {
    if (ctx_.bridge_ == this) ctx_.bridge_ = nullptr;
}

asio::awaitable<void> AgentStreamBridge::emit(ThreadStreamEvent event) { co_await out_.emit(std::move(event)); }

ThreadStreamEvent AgentStreamBridge::close_workflow_event() {
    WorkflowItem item = std::move(*ctx_.workflow_item);
    ctx_.workflow_item.reset();
    st_->thought.reset();
    if (!item.workflow.summary) item.workflow.summary = DurationSummary{seconds_since(item.created_at)};
    // Closed workflows are collapsed; to keep one open, end it explicitly with end_workflow(..., true).
    item.workflow.expanded = false;
    return ThreadItemDoneEvent{std::move(item)};
}

asio::awaitable<void> AgentStreamBridge::begin(std::vector<ThreadItem> const& recent) {
    // A workflow left open by the previous turn continues (directly, or behind a client tool call).
    if (!recent.empty()) {
        if (auto const* wf = std::get_if<WorkflowItem>(&recent[0])) {
            ctx_.workflow_item = *wf;
        } else if (std::holds_alternative<ClientToolCallItem>(recent[0]) && recent.size() > 1) {
            if (auto const* wf2 = std::get_if<WorkflowItem>(&recent[1])) ctx_.workflow_item = *wf2;
        }
    }
    ctx_.bridge_ = this;
    std::vector<ThreadStreamEvent> early = std::move(ctx_.early_events_);
    ctx_.early_events_.clear();
    for (auto& event : early) co_await context_event(std::move(event));
}

asio::awaitable<void> AgentStreamBridge::context_event(ThreadStreamEvent event) {
    ThreadItem const* item = nullptr;
    bool added = false;
    if (auto const* a = std::get_if<ThreadItemAddedEvent>(&event)) {
        item = &a->item;
        added = true;
    } else if (auto const* d = std::get_if<ThreadItemDoneEvent>(&event)) {
        item = &d->item;
    }
    if (item) {
        auto const& id = chatkit::item_id(*item);
        if (ctx_.workflow_item && ctx_.workflow_item->id != id && closes_workflow(*item)) {
            ThreadStreamEvent close = close_workflow_event();
            co_await emit(std::move(close));
        }
        if (added)
            if (auto const* wf = std::get_if<WorkflowItem>(item)) ctx_.workflow_item = *wf;
        st_->produce(id);
    }
    co_await emit(std::move(event));
}

asio::awaitable<void> AgentStreamBridge::on_agent_updated(AgentInfo const& agent) {
    if (forward_) co_await forward_->on_agent_updated(agent);
}

asio::awaitable<void> AgentStreamBridge::on_run_item(std::string_view name, RunItem const& item) {
    if (name == "tool_called") {
        auto const* call = std::get_if<FunctionCallItem>(&item.raw_item);
        if (item.type == RunItem::Type::ToolCall && call) {
            st_->last_call_id = call->call_id;
            st_->last_call_item_id = call->id;
        }
    }
    if (forward_) co_await forward_->on_run_item(name, item);
}

asio::awaitable<void> AgentStreamBridge::on_raw_event(ModelStreamEvent const& ev) {
    if (ev.response && (ev.type == "response.completed" || ev.type == "response.incomplete" ||
                        ev.type == "response.failed")) {
        // What the model reports for each response is accounted (and checked against quotas).
        auto const* usage = ev.response->if_contains("usage");
        if (usage && usage->is_object()) {
            Usage const reported = usage_from_json(usage->get_object());
            TokenUsage tokens{reported.input_tokens, reported.cached_input_tokens, reported.output_tokens,
                              reported.reasoning_tokens};
            auto const* id = ev.response->if_contains("id");
            std::string response_id = id && id->is_string() ? std::string(id->get_string()) : std::string();
            co_await out_.record_usage(tokens, std::move(response_id));
        }
    }
    State& st = *st_;
    auto const& thread_id = ctx_.thread().id;
    auto mapped = [&](std::string const& provider_id) -> std::string {
        auto it = st.id_map.find(provider_id);
        return it == st.id_map.end() ? provider_id : it->second;
    };
    std::string const& type = ev.type;
    std::int64_t const content_index = ev.content_index.value_or(0);

    if (type == "response.content_part.added") {
        std::optional<AssistantMessageContent> content = co_await convert_part_json(ev.part, conv_);
        if (content) {
            std::string id = mapped(ev.item_id);
            if (auto* m = st.open_message(id)) {
                if (m->content.size() <= static_cast<std::size_t>(content_index))
                    m->content.resize(static_cast<std::size_t>(content_index) + 1);
                m->content[static_cast<std::size_t>(content_index)] = *content;
            }
            AssistantMessageContentPartAdded update{content_index, std::move(*content)};
            ThreadStreamEvent event = ThreadItemUpdatedEvent{id, std::move(update)};
            co_await emit(std::move(event));
        }
    } else if (type == "response.output_text.delta" || type == "response.refusal.delta") {
        // Refusals stream like text (the reference shows them only when the message is done).
        std::string id = mapped(ev.item_id);
        if (auto* m = st.open_message(id)) {
            if (m->content.size() <= static_cast<std::size_t>(content_index))
                m->content.resize(static_cast<std::size_t>(content_index) + 1);
            m->content[static_cast<std::size_t>(content_index)].text += ev.delta;
        }
        AssistantMessageContentPartTextDelta update{content_index, ev.delta};
        ThreadStreamEvent event = ThreadItemUpdatedEvent{id, std::move(update)};
        co_await emit(std::move(event));
    } else if (type == "response.output_text.done") {
        std::string id = mapped(ev.item_id);
        AssistantMessageContent content;
        content.text = ev.text;
        // Unlike the reference, the annotations streamed for this part are kept.
        if (auto it = st.annotations.find({id, content_index}); it != st.annotations.end())
            content.annotations = it->second;
        if (auto* m = st.open_message(id)) {
            if (m->content.size() <= static_cast<std::size_t>(content_index))
                m->content.resize(static_cast<std::size_t>(content_index) + 1);
            m->content[static_cast<std::size_t>(content_index)] = content;
        }
        AssistantMessageContentPartDone update{content_index, std::move(content)};
        ThreadStreamEvent event = ThreadItemUpdatedEvent{id, std::move(update)};
        co_await emit(std::move(event));
    } else if (type == "response.output_text.annotation.added") {
        std::optional<Annotation> annotation = co_await conv_.convert_annotation(ev.annotation);
        if (annotation) {
            // Our own index per content part, so that dropped annotations leave no gap.
            std::string id = mapped(ev.item_id);
            auto& list = st.annotations[{id, content_index}];
            auto const index = static_cast<std::int64_t>(list.size());
            list.push_back(*annotation);
            if (auto* m = st.open_message(id)) {
                if (m->content.size() <= static_cast<std::size_t>(content_index))
                    m->content.resize(static_cast<std::size_t>(content_index) + 1);
                m->content[static_cast<std::size_t>(content_index)].annotations.push_back(*annotation);
            }
            AssistantMessageContentPartAnnotationAdded update{content_index, index, std::move(*annotation)};
            ThreadStreamEvent event = ThreadItemUpdatedEvent{id, std::move(update)};
            co_await emit(std::move(event));
        }
    } else if (type == "response.output_item.added" && ev.item) {
        Item const& item = *ev.item;
        if (std::holds_alternative<ReasoningItem>(item)) {
            if (!ctx_.workflow_item) {
                WorkflowItem wf;
                wf.id = ctx_.generate_id(StoreItemType::workflow);
                wf.thread_id = thread_id;
                wf.created_at = chatkit::now();
                wf.workflow.type = WorkflowType::reasoning;
                ctx_.workflow_item = wf;
                st.produce(wf.id);
                ThreadStreamEvent event = ThreadItemAddedEvent{std::move(wf)};
                co_await emit(std::move(event));
            }
        } else if (auto const* message = std::get_if<MessageItem>(&item)) {
            if (ctx_.workflow_item) {
                ThreadStreamEvent close = close_workflow_event();
                co_await emit(std::move(close));
            }
            std::string provider_id = message->id.value_or("");
            std::string id = provider_id;
            if (is_placeholder_id(provider_id)) {
                id = ctx_.generate_id(StoreItemType::message);
                st.id_map[provider_id] = id;
            }
            AssistantMessageItem am;
            am.id = id;
            am.thread_id = thread_id;
            am.created_at = chatkit::now();
            am.content = co_await convert_message_content(*message, conv_);
            st.produce(id);
            st.open_messages.push_back(am);
            ThreadStreamEvent event = ThreadItemAddedEvent{std::move(am)};
            co_await emit(std::move(event));
        } else if (opaque_type(item) == "image_generation_call") {
            GeneratedImageItem image;
            image.id = ctx_.generate_id(StoreItemType::message);
            image.thread_id = thread_id;
            image.created_at = chatkit::now();
            ctx_.generated_image_item = image;
            st.produce(image.id);
            ThreadStreamEvent event = ThreadItemAddedEvent{std::move(image)};
            co_await emit(std::move(event));
        }
    } else if (type == "response.image_generation_call.partial_image") {
        if (!ctx_.generated_image_item) co_return;
        std::string url = co_await conv_.base64_image_to_url(ev.item_id, ev.partial_image_b64, ev.partial_image_index);
        double progress = conv_.partial_image_index_to_progress(ev.partial_image_index.value_or(0));
        GeneratedImage image{ev.item_id, std::move(url)};
        ctx_.generated_image_item->image = image;
        GeneratedImageUpdated update{std::move(image), progress};
        ThreadStreamEvent event = ThreadItemUpdatedEvent{ctx_.generated_image_item->id, std::move(update)};
        co_await emit(std::move(event));
    } else if (type == "response.reasoning_summary_text.delta" || type == "response.reasoning_text.delta") {
        bool const raw_text = type == "response.reasoning_text.delta";
        if (!raw_text && std::find(st.summarised.begin(), st.summarised.end(), ev.item_id) == st.summarised.end())
            st.summarised.push_back(ev.item_id);
        // Raw reasoning text (local models) is shown only when no summary is streamed for the item.
        if (raw_text && std::find(st.summarised.begin(), st.summarised.end(), ev.item_id) != st.summarised.end())
            co_return;
        if (!ctx_.workflow_item) co_return;
        std::int64_t const part = raw_text ? content_index : ev.summary_index.value_or(0);
        auto& wf = *ctx_.workflow_item;
        if (wf.workflow.type == WorkflowType::reasoning && wf.workflow.tasks.empty()) {
            // Only the first thought streams, so it shows as early as possible.
            ThoughtTask thought;
            thought.content = ev.delta;
            wf.workflow.tasks.emplace_back(thought);
            st.thought = State::Thought{wf.id, ev.item_id, part, 0};
            WorkflowTaskAdded update{0, Task{std::move(thought)}};
            ThreadStreamEvent event = ThreadItemUpdatedEvent{wf.id, std::move(update)};
            co_await emit(std::move(event));
        } else if (st.thought && st.thought->workflow_id == wf.id && st.thought->item_id == ev.item_id &&
                   st.thought->summary_index == part && st.thought->task_index < wf.workflow.tasks.size()) {
            auto* thought = std::get_if<ThoughtTask>(&wf.workflow.tasks[st.thought->task_index]);
            if (!thought) co_return;
            thought->content += ev.delta;
            WorkflowTaskUpdated update{static_cast<std::int64_t>(st.thought->task_index), Task{*thought}};
            ThreadStreamEvent event = ThreadItemUpdatedEvent{wf.id, std::move(update)};
            co_await emit(std::move(event));
        }
    } else if (type == "response.reasoning_summary_text.done" || type == "response.reasoning_text.done") {
        bool const raw_text = type == "response.reasoning_text.done";
        if (raw_text && std::find(st.summarised.begin(), st.summarised.end(), ev.item_id) != st.summarised.end())
            co_return;
        if (!ctx_.workflow_item) co_return;
        std::int64_t const part = raw_text ? content_index : ev.summary_index.value_or(0);
        auto& wf = *ctx_.workflow_item;
        ThreadItemUpdate update;
        if (st.thought && st.thought->workflow_id == wf.id && st.thought->item_id == ev.item_id &&
            st.thought->summary_index == part && st.thought->task_index < wf.workflow.tasks.size() &&
            std::holds_alternative<ThoughtTask>(wf.workflow.tasks[st.thought->task_index])) {
            auto& thought = std::get<ThoughtTask>(wf.workflow.tasks[st.thought->task_index]);
            thought.content = ev.text;
            update = WorkflowTaskUpdated{static_cast<std::int64_t>(st.thought->task_index), Task{thought}};
            st.thought.reset();
        } else {
            ThoughtTask thought;
            thought.content = ev.text;
            wf.workflow.tasks.emplace_back(thought);
            update = WorkflowTaskAdded{static_cast<std::int64_t>(wf.workflow.tasks.size() - 1), Task{std::move(thought)}};
        }
        ThreadStreamEvent event = ThreadItemUpdatedEvent{wf.id, std::move(update)};
        co_await emit(std::move(event));
    } else if (type == "response.output_item.done" && ev.item) {
        Item const& item = *ev.item;
        if (auto const* message = std::get_if<MessageItem>(&item)) {
            std::string id = mapped(message->id.value_or(""));
            AssistantMessageItem am;
            am.id = id;
            am.thread_id = thread_id;
            am.created_at = chatkit::now();
            if (auto* open = st.open_message(id)) am.created_at = open->created_at;
            am.content = co_await convert_message_content(*message, conv_);
            std::erase_if(st.open_messages, [&](AssistantMessageItem const& m) { return m.id == id; });
            st.produce(id);
            ThreadStreamEvent event = ThreadItemDoneEvent{std::move(am)};
            co_await emit(std::move(event));
        } else if (opaque_type(item) == "image_generation_call") {
            auto const& raw = std::get<OpaqueItem>(item).raw;
            std::string result = string_field(raw, "result");
            if (result.empty() || !ctx_.generated_image_item) co_return;
            std::string call_id = string_field(raw, "id");
            std::string url = co_await conv_.base64_image_to_url(call_id, result, std::nullopt);
            GeneratedImageItem image = std::move(*ctx_.generated_image_item);
            ctx_.generated_image_item.reset();
            image.image = GeneratedImage{call_id, std::move(url)};
            ThreadStreamEvent event = ThreadItemDoneEvent{std::move(image)};
            co_await emit(std::move(event));
        }
    }
    if (forward_) co_await forward_->on_raw_event(ev);
}

asio::awaitable<void> AgentStreamBridge::roll_back() {
    std::vector<std::string> ids = std::move(st_->produced);
    st_->produced.clear();
    st_->open_messages.clear();
    ctx_.workflow_item.reset();
    ctx_.generated_image_item.reset();
    ctx_.bridge_ = nullptr;  // later context events are dropped (the reference drains and discards them)
    for (auto const& id : ids) {
        ThreadStreamEvent event = ThreadItemRemovedEvent{id};
        co_await emit(std::move(event));
    }
}

asio::awaitable<void> AgentStreamBridge::close_open_items() {
    std::vector<AssistantMessageItem> open = std::move(st_->open_messages);
    st_->open_messages.clear();
    for (auto& message : open) {
        bool has_text = std::any_of(message.content.begin(), message.content.end(),
                                    [](AssistantMessageContent const& c) { return !c.text.empty(); });
        ThreadStreamEvent event;
        if (has_text) event = ThreadItemDoneEvent{std::move(message)};
        else event = ThreadItemRemovedEvent{message.id};
        co_await emit(std::move(event));
    }
    if (ctx_.generated_image_item) {
        GeneratedImageItem image = std::move(*ctx_.generated_image_item);
        ctx_.generated_image_item.reset();
        ThreadStreamEvent event;
        if (image.image) event = ThreadItemDoneEvent{std::move(image)};
        else event = ThreadItemRemovedEvent{image.id};
        co_await emit(std::move(event));
    }
    if (ctx_.workflow_item) {
        ThreadStreamEvent close = close_workflow_event();
        co_await emit(std::move(close));
    }
}

asio::awaitable<std::optional<WorkflowItem>> AgentStreamBridge::finish(RunResult const& result) {
    (void)result;
    ctx_.bridge_ = nullptr;  // the run is over: later context events wait for another stream
    std::optional<WorkflowItem> open = std::move(ctx_.workflow_item);
    ctx_.workflow_item.reset();
    co_return open;
}

asio::awaitable<void> AgentStreamBridge::emit_client_tool_call(RunResult const& result) {
    ClientToolCallItem item;
    item.thread_id = ctx_.thread().id;
    item.created_at = chatkit::now();
    item.status = ToolCallStatus::pending;
    if (result.client_tool_call) {
        // A client tool: the ids of that very call, even when the model called several tools at once.
        auto const& call = *result.client_tool_call;
        item.name = call.name;
        item.arguments = call.arguments;
        item.call_id = call.call_id;
        item.id = call.item_id.value_or("");
    } else if (ctx_.client_tool_call) {
        auto const& request = *ctx_.client_tool_call;
        item.name = request.name;
        item.arguments = request.arguments;
        if (request.call_id) {
            item.call_id = *request.call_id;
            item.id = request.item_id.value_or("");
        } else {
            // Set without a tool invocation: the latest function call seen (the reference's rule).
            item.call_id = st_->last_call_id.value_or("");
            item.id = st_->last_call_item_id.value_or("");
        }
    } else {
        co_return;
    }
    if (is_placeholder_id(item.id)) item.id = ctx_.generate_id(StoreItemType::tool_call);
    if (item.call_id.empty() || item.call_id == "__fake_id__") item.call_id = ctx_.generate_id(StoreItemType::tool_call);
    ThreadStreamEvent event = ThreadItemDoneEvent{std::move(item)};
    co_await emit(std::move(event));
}

bool AgentStreamBridge::is_cancellation(std::exception_ptr const& e) {
    try {
        std::rethrow_exception(e);
    } catch (chatkit::Error const& err) {
        return err.code() == make_error_code(error::stream_cancelled);
    } catch (boost::system::system_error const& err) {
        return err.code() == asio::error::operation_aborted;
    } catch (...) {
        return false;
    }
}

bool AgentStreamBridge::is_tripwire(std::exception_ptr const& e) {
    try {
        std::rethrow_exception(e);
    } catch (InputGuardrailTripwire const&) {
        return true;
    } catch (OutputGuardrailTripwire const&) {
        return true;
    } catch (...) {
        return false;
    }
}

}  // namespace detail
}  // namespace chatkit::agents
