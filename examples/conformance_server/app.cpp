#include "app.hpp"

#include <chatkit/server/widgets.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

#include <charconv>
#include <chrono>
#include <optional>
#include <regex>
#include <stdexcept>

namespace conformance {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace chatkit;

constexpr int max_slow_ms = 10000;
constexpr char const* upload_base = "https://uploads.example.test";

// --- small helpers -----------------------------------------------------------------------------

AssistantMessageItem message(EventSink& events, std::string text, std::optional<std::string> id = std::nullopt,
                             std::optional<Timestamp> created_at = std::nullopt) {
    AssistantMessageItem item;
    item.id = id ? std::move(*id) : events.generate_item_id(StoreItemType::message);
    item.thread_id = events.thread_id();
    item.created_at = created_at ? *created_at : now();
    item.content.push_back(AssistantMessageContent{{}, std::move(text)});
    return item;
}

//[reply
// reply(text): one thread.item.done of a new assistant message.
asio::awaitable<void> reply(EventSink& events, std::string text) {
    ThreadStreamEvent event = ThreadItemDoneEvent{message(events, std::move(text))};
    co_await events.emit(std::move(event));
}
//]

// Emits `thread.item.updated`. Call it with a named update: g++ 12 double-frees aggregate temporaries built
// inside a co_await expression (docs/coroutines.md).
asio::awaitable<void> emit_update(EventSink& events, std::string const& item_id, ThreadItemUpdate update) {
    ThreadStreamEvent event = ThreadItemUpdatedEvent{item_id, std::move(update)};
    co_await events.emit(std::move(event));
}

asio::awaitable<void> sleep_ms(int ms) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(std::chrono::milliseconds(ms));
    co_await timer.async_wait(asio::use_awaitable);
}

//[stream_tokens
// stream(d1 ... dn), waiting delay_ms before each delta.
asio::awaitable<void> stream_tokens(EventSink& events, int n, int delay_ms = 0) {
    std::string const id = events.generate_item_id(StoreItemType::message);
    Timestamp const created_at = now();
    ThreadStreamEvent added = ThreadItemAddedEvent{AssistantMessageItem{id, events.thread_id(), created_at, {}}};
    co_await events.emit(std::move(added));
    ThreadItemUpdate u1 = AssistantMessageContentPartAdded{0, {}};
    co_await emit_update(events, id, std::move(u1));
    std::string full;
    for (int i = 0; i < n; ++i) {
        if (delay_ms > 0) co_await sleep_ms(delay_ms);
        full += "token ";
        ThreadItemUpdate u2 = AssistantMessageContentPartTextDelta{0, "token "};
        co_await emit_update(events, id, std::move(u2));
    }
    ThreadItemUpdate u3 = AssistantMessageContentPartDone{0, AssistantMessageContent{{}, full}};
    co_await emit_update(events, id, std::move(u3));
    ThreadStreamEvent done = ThreadItemDoneEvent{message(events, full, id, created_at)};
    co_await events.emit(std::move(done));
}
//]

WidgetRoot widget_json(std::string const& text) { return json::parse(text).as_object(); }

WidgetRoot counter_widget(long long count) {
    return widget_json(
        R"({"type":"Card","children":[{"type":"Title","value":"Counter"},{"id":"count","type":"Text","value":")" +
        std::to_string(count) +
        R"(","size":"lg"},{"type":"Row","children":[{"type":"Button","label":"Add one","onClickAction":{"type":"counter.increment","payload":{"by":1}}},{"type":"Button","label":"Add five","style":"secondary","onClickAction":{"type":"counter.increment","payload":{"by":5},"handler":"server","loadingBehavior":"self"}}],"gap":2}],"size":"sm"})");
}

WidgetRoot report_widget(std::string const& progress, std::string const& summary, std::string const& badge,
                         bool extra) {
    json::array children;
    children.push_back(json::object{{"type", "Title"}, {"value", "Report"}});
    children.push_back(json::object{{"id", "progress"}, {"type", "Text"}, {"value", progress}, {"streaming", true}});
    children.push_back(json::object{{"id", "summary"}, {"type", "Markdown"}, {"value", summary}});
    children.push_back(json::object{{"type", "Badge"}, {"label", badge}});
    if (extra) children.push_back(json::object{{"type", "Divider"}, {"spacing", 2}});
    WidgetRoot root;
    root["type"] = "Card";
    root["children"] = std::move(children);
    root["size"] = "md";
    return root;
}

WidgetRoot gallery_widget() {
    return widget_json(
        R"({"type":"ListView","children":[{"type":"ListViewItem","children":[{"type":"Icon","name":"star","size":"md"},{"type":"Text","value":"Première ligne — “quoted” \\ backslash"},{"type":"Badge","label":"new","color":"info","pill":true}],"onClickAction":{"type":"gallery.open","payload":{"index":0,"tags":["a","b"]}},"gap":3},{"type":"ListViewItem","children":[{"type":"Image","src":"https://images.example.test/cat.png?size=48&fit=cover","alt":"A cat","size":48,"radius":"sm"},{"type":"Col","children":[{"type":"Caption","value":"Ratio","size":"sm"},{"type":"Text","value":"1.5 × faster","weight":"semibold"}],"flex":1}],"align":"center"}],"limit":5,"status":{"text":"Gallery","icon":"images"}})");
}

WidgetRoot form_widget() {
    return widget_json(
        R"({"type":"Card","children":[{"type":"Form","children":[{"type":"Label","value":"Name","fieldName":"profile.name"},{"type":"Input","name":"profile.name","placeholder":"Ada","required":true},{"type":"Select","name":"profile.role","options":[{"value":"dev","label":"Developer"},{"value":"ops","label":"Operator","disabled":true}],"defaultValue":"dev"},{"type":"Checkbox","name":"profile.subscribe","label":"Subscribe","defaultChecked":false},{"type":"Textarea","name":"profile.bio","rows":3},{"type":"Button","label":"Save","submit":true}],"onSubmitAction":{"type":"profile.save","payload":{"source":"form"}},"direction":"col","gap":2}],"confirm":{"label":"Done","action":{"type":"profile.done"}},"theme":"light"})");
}

WidgetRoot badge_widget(char const* label, char const* color) {
    json::array children;
    children.push_back(json::object{{"id", "status_badge"}, {"type", "Badge"}, {"label", label}, {"color", color}});
    children.push_back(json::object{{"type", "Text"}, {"value", "Deploying…"}});
    WidgetRoot root;
    root["type"] = "Card";
    root["children"] = std::move(children);
    return root;
}

// Python's int(str) for the counter's value: optional whitespace and sign, digits.
std::optional<long long> parse_int(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
    if (!text.empty() && text.front() == '+') text.remove_prefix(1);
    long long value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return value;
}

// The value of the component whose id is "count" (0 when absent or not an integer).
std::optional<long long> find_count(json::value const& node) {
    if (!node.is_object()) return std::nullopt;
    auto const& obj = node.get_object();
    auto const* id = obj.if_contains("id");
    auto const* value = obj.if_contains("value");
    if (id && id->is_string() && id->get_string() == "count" && value && value->is_string())
        return parse_int(value->get_string()).value_or(0);
    if (auto const* children = obj.if_contains("children"); children && children->is_array())
        for (auto const& child : children->get_array())
            if (auto found = find_count(child)) return found;
    return std::nullopt;
}

long long read_count(WidgetItem const& item) {
    json::value root = item.widget;
    return find_count(root).value_or(0);
}

std::optional<long long> json_int(json::value const* v) {
    if (!v) return std::nullopt;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
        return static_cast<long long>(v->get_uint64());
    return std::nullopt;
}

long long increment_amount(JsonValue const& payload) {
    if (payload.is_object())
        if (auto by = json_int(payload.get_object().if_contains("by"))) return *by;
    return 1;
}

int small_int(JsonValue const& payload, char const* key, int fallback, int low, int high) {
    if (!payload.is_object()) return fallback;
    auto value = json_int(payload.get_object().if_contains(key));
    if (value && *value >= low && *value <= high) return static_cast<int>(*value);
    return fallback;
}

std::string command_text(UserMessageItem const& input) {
    for (auto const& part : input.content)
        if (auto const* text = std::get_if<UserMessageTextContent>(&part)) return text->text;
    return {};
}

std::string strip(std::string const& text) {
    auto const first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return {};
    auto const last = text.find_last_not_of(" \t\r\n");
    return text.substr(first, last - first + 1);
}

std::string echo_text(std::string const& raw, UserMessageItem const& input) {
    std::string text = "You said: " + raw;
    std::string tags;
    for (auto const& part : input.content)
        if (auto const* tag = std::get_if<UserMessageTagContent>(&part)) tags += (tags.empty() ? "" : ",") + tag->id;
    if (!tags.empty()) text += " [tags: " + tags + "]";
    if (!input.attachments.empty()) {
        std::string ids;
        for (auto const& a : input.attachments) ids += (ids.empty() ? "" : ",") + a.id;
        text += " [attachments: " + ids + "]";
    }
    if (input.quoted_text) text += " [quoted: " + *input.quoted_text + "]";
    if (input.inference_options.model) text += " [model: " + *input.inference_options.model + "]";
    if (input.inference_options.tool_choice) text += " [tool_choice: " + input.inference_options.tool_choice->id + "]";
    return text;
}

std::vector<std::string> split_whitespace(std::string const& text) {
    std::vector<std::string> out;
    std::size_t i = 0;
    auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
    while (i < text.size()) {
        while (i < text.size() && is_space(text[i])) ++i;
        std::size_t j = i;
        while (j < text.size() && !is_space(text[j])) ++j;
        if (j > i) out.push_back(text.substr(i, j - i));
        i = j;
    }
    return out;
}

// --- scripted responses (CONTRACT.md §3) ---------------------------------------------------------

Annotation url_annotation() {
    return Annotation{URLSource{"Guide", "The user guide", "2024-05-01", std::nullopt, "https://example.com/guide",
                                "example.com"},
                      14};
}
Annotation file_annotation() { return Annotation{FileSource{"Report", {}, {}, "files", "report.pdf"}, 29}; }
Annotation entity_annotation() {
    EntitySource source;
    source.title = "Zoë";
    source.id = "person_zoe";
    source.icon = "user";
    source.label = "Person";
    source.inline_label = "Zoë";
    source.interactive = true;
    source.data = json::object{{"team", "core"}, {"level", 3}};
    return Annotation{std::move(source), 7};
}

asio::awaitable<void> parts(EventSink& events) {
    std::string const id = events.generate_item_id(StoreItemType::message);
    Timestamp const created_at = now();
    std::string const text0 = "Read the guide and the report.";
    std::string const text1 = "Ask Zoë about the café ☕ — “naïve” questions welcome.";
    AssistantMessageContent part0{{url_annotation(), file_annotation()}, text0};
    AssistantMessageContent part1{{entity_annotation()}, text1};

    ThreadStreamEvent added = ThreadItemAddedEvent{AssistantMessageItem{id, events.thread_id(), created_at, {}}};
    co_await events.emit(std::move(added));
    ThreadItemUpdate u4 = AssistantMessageContentPartAdded{0, {}};
    co_await emit_update(events, id, std::move(u4));
    ThreadItemUpdate u5 = AssistantMessageContentPartTextDelta{0, "Read the guide"};
    co_await emit_update(events, id, std::move(u5));
    ThreadItemUpdate u6 = AssistantMessageContentPartAnnotationAdded{0, 0, url_annotation()};
    co_await emit_update(events, id, std::move(u6));
    ThreadItemUpdate u7 = AssistantMessageContentPartTextDelta{0, " and the report."};
    co_await emit_update(events, id, std::move(u7));
    ThreadItemUpdate u8 = AssistantMessageContentPartAnnotationAdded{0, 1, file_annotation()};
    co_await emit_update(events, id, std::move(u8));
    ThreadItemUpdate u9 = AssistantMessageContentPartDone{0, part0};
    co_await emit_update(events, id, std::move(u9));
    ThreadItemUpdate u10 = AssistantMessageContentPartAdded{1, {}};
    co_await emit_update(events, id, std::move(u10));
    ThreadItemUpdate u11 = AssistantMessageContentPartTextDelta{1, text1};
    co_await emit_update(events, id, std::move(u11));
    ThreadItemUpdate u12 = AssistantMessageContentPartAnnotationAdded{1, 0, entity_annotation()};
    co_await emit_update(events, id, std::move(u12));
    ThreadItemUpdate u13 = AssistantMessageContentPartDone{1, part1};
    co_await emit_update(events, id, std::move(u13));
    ThreadStreamEvent done =
        ThreadItemDoneEvent{AssistantMessageItem{id, events.thread_id(), created_at, {part0, part1}}};
    co_await events.emit(std::move(done));
}

asio::awaitable<void> widget_component(EventSink& events) {
    WidgetItem item{events.generate_item_id(StoreItemType::message), events.thread_id(), now(),
                    badge_widget("pending", "warning"), std::nullopt};
    ThreadStreamEvent added = ThreadItemAddedEvent{item};
    co_await events.emit(std::move(added));
    WidgetComponent component{{"id", "status_badge"}, {"type", "Badge"}, {"label", "ready"}, {"color", "success"}};
    ThreadItemUpdate u14 = WidgetComponentUpdated{"status_badge", std::move(component)};
    co_await emit_update(events, item.id, std::move(u14));
    item.widget = badge_widget("ready", "success");
    item.copy_text = "Deployment ready";
    ThreadStreamEvent done = ThreadItemDoneEvent{std::move(item)};
    co_await events.emit(std::move(done));
}

asio::awaitable<void> workflow(EventSink& events) {
    std::string const id = events.generate_item_id(StoreItemType::workflow);
    Timestamp const created_at = now();
    CustomTask plan{TaskStatusIndicator::loading, "Plan", "notebook", "Outline the steps"};
    WebSearchTask search{TaskStatusIndicator::loading,
                         "Search",
                         "chatkit protocol",
                         {"chatkit protocol", "server-sent events"},
                         {URLSource{"SSE", {}, {}, {}, "https://html.spec.whatwg.org/multipage/server-sent-events.html", {}}}};
    ThoughtTask thought{TaskStatusIndicator::none, "Reasoning", "Compare the two sources."};
    FileTask files{TaskStatusIndicator::none, "Files", {FileSource{"Notes", {}, {}, {}, "notes.txt"}}};
    ImageTask image{TaskStatusIndicator::complete, "Diagram"};
    CustomTask plan_done = plan;
    plan_done.status_indicator = TaskStatusIndicator::complete;
    WebSearchTask search_done = search;
    search_done.status_indicator = TaskStatusIndicator::complete;

    ThreadStreamEvent added = ThreadItemAddedEvent{
        WorkflowItem{id, events.thread_id(), created_at, Workflow{WorkflowType::custom, {plan}, std::nullopt, true}}};
    co_await events.emit(std::move(added));
    ThreadItemUpdate u15 = WorkflowTaskAdded{1, search};
    co_await emit_update(events, id, std::move(u15));
    ThreadItemUpdate u16 = WorkflowTaskUpdated{0, plan_done};
    co_await emit_update(events, id, std::move(u16));
    ThreadItemUpdate u17 = WorkflowTaskAdded{2, thought};
    co_await emit_update(events, id, std::move(u17));
    ThreadItemUpdate u18 = WorkflowTaskAdded{3, files};
    co_await emit_update(events, id, std::move(u18));
    ThreadItemUpdate u19 = WorkflowTaskAdded{4, image};
    co_await emit_update(events, id, std::move(u19));
    ThreadItemUpdate u20 = WorkflowTaskUpdated{1, search_done};
    co_await emit_update(events, id, std::move(u20));
    ThreadStreamEvent done = ThreadItemDoneEvent{WorkflowItem{
        id, events.thread_id(), created_at,
        Workflow{WorkflowType::custom,
                 {plan_done, search_done, thought, files, image},
                 CustomSummary{"Researched 2 sources", "check-circle"},
                 false}}};
    co_await events.emit(std::move(done));
    ThreadStreamEvent task = ThreadItemDoneEvent{
        TaskItem{events.generate_item_id(StoreItemType::task), events.thread_id(), now(),
                 CustomTask{TaskStatusIndicator::none, "Follow-up", "bolt", "Send the summary"}}};
    co_await events.emit(std::move(task));
    co_await reply(events, "workflow finished");
}

asio::awaitable<void> reasoning(EventSink& events) {
    std::string const id = events.generate_item_id(StoreItemType::workflow);
    Timestamp const created_at = now();
    ThreadStreamEvent added = ThreadItemAddedEvent{
        WorkflowItem{id, events.thread_id(), created_at, Workflow{WorkflowType::reasoning, {}, std::nullopt, false}}};
    co_await events.emit(std::move(added));
    ThreadItemUpdate u21 = WorkflowTaskAdded{0, ThoughtTask{TaskStatusIndicator::none, {}, "Thinking"}};
    co_await emit_update(events, id, std::move(u21));
    ThreadItemUpdate harder = WorkflowTaskUpdated{0, ThoughtTask{TaskStatusIndicator::none, {}, "Thinking harder"}};
    co_await emit_update(events, id, std::move(harder));
    ThreadStreamEvent done = ThreadItemDoneEvent{WorkflowItem{
        id, events.thread_id(), created_at,
        Workflow{WorkflowType::reasoning, {ThoughtTask{TaskStatusIndicator::none, {}, "Thinking harder"}},
                 DurationSummary{2}, false}}};
    co_await events.emit(std::move(done));
    co_await reply(events, "reasoned");
}

asio::awaitable<void> slow_workflow(EventSink& events, int delay_ms) {
    std::string const id = events.generate_item_id(StoreItemType::workflow);
    Timestamp const created_at = now();
    CustomTask first{TaskStatusIndicator::loading, "Slow step 1", {}, {}};
    CustomTask second{TaskStatusIndicator::loading, "Slow step 2", {}, {}};
    ThreadStreamEvent added = ThreadItemAddedEvent{
        WorkflowItem{id, events.thread_id(), created_at, Workflow{WorkflowType::custom, {first}, std::nullopt, false}}};
    co_await events.emit(std::move(added));
    co_await sleep_ms(delay_ms);
    ThreadItemUpdate u22 = WorkflowTaskAdded{1, second};
    co_await emit_update(events, id, std::move(u22));
    co_await sleep_ms(delay_ms);
    ThreadStreamEvent done = ThreadItemDoneEvent{
        WorkflowItem{id, events.thread_id(), created_at,
                     Workflow{WorkflowType::custom, {first, second}, CustomSummary{"Slow work", {}}, false}}};
    co_await events.emit(std::move(done));
}

asio::awaitable<void> client_tool_call(EventSink& events, std::string name, std::string call_id,
                                       JsonObject arguments) {
    ClientToolCallItem call;
    call.id = events.generate_item_id(StoreItemType::tool_call);
    call.thread_id = events.thread_id();
    call.created_at = now();
    call.name = std::move(name);
    call.call_id = std::move(call_id);
    call.arguments = std::move(arguments);
    ThreadStreamEvent done = ThreadItemDoneEvent{std::move(call)};
    co_await events.emit(std::move(done));
}

asio::awaitable<void> ask(EventSink& events) {
    auto options = [](std::initializer_list<char const*> values) {
        std::vector<StructuredInputMultipleChoiceOption> out;
        for (auto const* v : values) out.push_back({v});
        return out;
    };
    StructuredInputItem item;
    item.id = events.generate_item_id(StoreItemType::message);
    item.thread_id = events.thread_id();
    item.created_at = now();
    item.inputs.push_back(
        StructuredInputMultipleChoice{"color", "Favourite colour?", std::nullopt, options({"red", "green", "blue"}), false});
    item.inputs.push_back(StructuredInputMultipleChoice{"toppings", "Which toppings?", std::nullopt,
                                                        options({"cheese", "olives", "basil"}), true});
    item.inputs.push_back(StructuredInputFreeform{"notes", "Anything else?", std::nullopt, "Optional free text"});
    ThreadStreamEvent done = ThreadItemDoneEvent{std::move(item)};
    co_await events.emit(std::move(done));
}

asio::awaitable<void> emit_event(EventSink& events, ThreadStreamEvent event) { co_await events.emit(std::move(event)); }

asio::awaitable<void> image(EventSink& events) {
    GeneratedImageItem item{events.generate_item_id(StoreItemType::message), events.thread_id(), now(), std::nullopt};
    ThreadStreamEvent added = ThreadItemAddedEvent{item};
    co_await events.emit(std::move(added));
    ThreadItemUpdate first = GeneratedImageUpdated{{"img_conformance", "https://images.example.test/partial-1.png"}, 0.25};
    co_await emit_update(events, item.id, std::move(first));
    ThreadItemUpdate second = GeneratedImageUpdated{{"img_conformance", "https://images.example.test/partial-2.png"}, 0.75};
    co_await emit_update(events, item.id, std::move(second));
    item.image = GeneratedImage{"img_conformance", "data:image/png;base64,iVBORw0KGgo="};
    ThreadStreamEvent done = ThreadItemDoneEvent{std::move(item)};
    co_await events.emit(std::move(done));
}

asio::awaitable<void> fail(EventSink& events, ThreadMetadata& thread, std::string const& kind) {
    if (kind == "custom") {
        co_await reply(events, "about to fail");
        throw CustomStreamError("Custom failure: please retry", true);
    }
    if (kind == "custom-noretry") throw CustomStreamError("Custom failure without retry");
    if (kind == "stream") throw StreamError("stream.error");
    if (kind == "stream-noretry") throw StreamError("stream.error", false);
    if (kind == "crash") {
        std::string const id = events.generate_item_id(StoreItemType::message);
        ThreadStreamEvent added = ThreadItemAddedEvent{AssistantMessageItem{id, events.thread_id(), now(), {}}};
        co_await events.emit(std::move(added));
        ThreadItemUpdate u23 = AssistantMessageContentPartAdded{0, {}};
        co_await emit_update(events, id, std::move(u23));
        ThreadItemUpdate u24 = AssistantMessageContentPartTextDelta{0, "partial"};
        co_await emit_update(events, id, std::move(u24));
        throw std::runtime_error("conformance: unexpected failure");
    }
    if (kind == "title") {
        thread.title = "Failed thread";
        throw std::runtime_error("conformance: failure after a title change");
    }
    // "event": an app-emitted error does not end the stream.
    ThreadStreamEvent error = ErrorEvent{"custom", "Handled problem", false};
    co_await events.emit(std::move(error));
    co_await reply(events, "recovered");
}

asio::awaitable<void> combo(EventSink& events) {
    ThreadStreamEvent progress = ProgressUpdateEvent{"sparkle", "Working on it"};
    co_await events.emit(std::move(progress));
    std::string const id = events.generate_item_id(StoreItemType::workflow);
    Timestamp const created_at = now();
    CustomTask task{TaskStatusIndicator::complete, "Collect", {}, {}};
    ThreadStreamEvent added = ThreadItemAddedEvent{
        WorkflowItem{id, events.thread_id(), created_at, Workflow{WorkflowType::custom, {task}, std::nullopt, false}}};
    co_await events.emit(std::move(added));
    ThreadStreamEvent done = ThreadItemDoneEvent{WorkflowItem{
        id, events.thread_id(), created_at, Workflow{WorkflowType::custom, {task}, CustomSummary{"1 step", {}}, false}}};
    co_await events.emit(std::move(done));
    co_await stream_tokens(events, 2);
    co_await stream_widget(events, counter_widget(0), std::string("Counter: 0"));
    ThreadStreamEvent end =
        ThreadItemDoneEvent{EndOfTurnItem{events.generate_item_id(StoreItemType::message), events.thread_id(), now()}};
    co_await events.emit(std::move(end));
}

asio::awaitable<std::string> history(Store<Context>& store, ThreadMetadata const& thread, Context const& ctx) {
    std::string text = "history: ";
    bool first = true;
    std::optional<std::string> after;
    for (int i = 0; i < 10000; ++i) {
        auto page = co_await store.load_thread_items(thread.id, after, 50, Order::asc, ctx);
        for (auto const& item : page.data) {
            text += (first ? "" : ", ") + std::string(item_type(item)) + ":" + item_id(item);
            first = false;
        }
        if (!page.has_more) break;
        after = page.after;
    }
    co_return text;
}

// Matches the whole command against a pattern (std::regex, ECMAScript; `[\s\S]` stands for DOTALL).
bool match(std::string const& cmd, std::regex const& pattern, std::smatch& m) {
    return std::regex_match(cmd, m, pattern);
}

}  // namespace

// --- attachments ---------------------------------------------------------------------------------

asio::awaitable<Attachment> UploadAttachmentStore::create_attachment(AttachmentCreateParams const& params,
                                                                     Context const& ctx) {
    Attachment attachment;
    attachment.id = generate_attachment_id(params.mime_type, ctx);
    attachment.name = params.name;
    attachment.mime_type = params.mime_type;
    attachment.upload_descriptor = AttachmentUploadDescriptor{std::string(upload_base) + "/" + attachment.id, "PUT",
                                                              {{"X-Upload-Token", "conformance"}}};
    attachment.metadata = JsonObject{{"size", params.size}};
    if (params.mime_type.starts_with("image/")) {
        attachment.type = AttachmentType::image;
        attachment.preview_url = std::string(upload_base) + "/" + attachment.id + "/preview";
    }
    co_return attachment;
}

asio::awaitable<void> UploadAttachmentStore::delete_attachment(std::string const&, Context const&) { co_return; }

// --- the server ------------------------------------------------------------------------------------

ConformanceServer::ConformanceServer(Store<Context>& store, Logger logger)
    : ChatKitServer<Context>({.store = store, .attachments = &attachments_, .logger = std::move(logger)}) {}

asio::awaitable<void> ConformanceServer::respond(ThreadMetadata& thread, std::optional<UserMessageItem> const& input,
                                                 EventSink& events, Context& ctx) {
    if (!input) {
        co_await continue_after(thread, events, ctx);
        co_return;
    }
    static std::regex const stream_re("stream (0|[1-9][0-9]{0,2})");
    static std::regex const slow_re("slow (0|[1-9][0-9]{0,2}) (0|[1-9][0-9]{0,4})");
    static std::regex const slow_workflow_re("slow-workflow (0|[1-9][0-9]{0,4})");
    static std::regex const tools_re("tools ([1-9])");
    static std::regex const title_re("title ([\\s\\S]+)");
    static std::regex const status_re("status (active|locked|closed)(?: ([\\s\\S]+))?");
    static std::regex const metadata_re("metadata ([A-Za-z0-9_]+) ([\\s\\S]*)");
    static std::regex const domains_re("domains((?: [^ ]+)*)");
    static std::regex const fail_re("fail (custom|custom-noretry|stream|stream-noretry|crash|title|event)");

    std::string const raw = command_text(*input);
    std::string const cmd = strip(raw);
    std::smatch m;

    if (match(cmd, stream_re, m)) {
        co_await stream_tokens(events, std::stoi(m[1]));
    } else if (match(cmd, slow_re, m)) {
        co_await stream_tokens(events, std::stoi(m[1]), std::min(std::stoi(m[2]), max_slow_ms));
    } else if (match(cmd, slow_workflow_re, m)) {
        co_await slow_workflow(events, std::min(std::stoi(m[1]), max_slow_ms));
    } else if (cmd == "parts") {
        co_await parts(events);
    } else if (cmd == "widget") {
        co_await stream_widget(events, counter_widget(0), std::string("Counter: 0"));
    } else if (cmd == "widget gallery") {
        co_await stream_widget(events, gallery_widget());
        co_await stream_widget(events, form_widget(), std::string("Profile form"));
    } else if (cmd == "widget stream") {
        std::vector<WidgetRoot> states{
            report_widget("", "", "draft", false),
            report_widget("Step 1", "", "draft", false),
            report_widget("Step 1, step 2", "**Done**", "draft", false),
            report_widget("Step 1, step 2", "**Done**", "draft", false),
            report_widget("Step 1, step 2", "**Done**", "final", false),
            report_widget("Step 1, step 2, step 3", "**Done**", "final", false),
            report_widget("Step 1, step 2, step 3", "**Done**", "final", true),
        };
        co_await stream_widget(events, std::move(states), std::string("Report"));
    } else if (cmd == "widget component") {
        co_await widget_component(events);
    } else if (cmd == "workflow") {
        co_await workflow(events);
    } else if (cmd == "workflow reasoning") {
        co_await reasoning(events);
    } else if (cmd == "tool") {
        JsonObject arguments{{"city", "Paris"}, {"units", "metric"}, {"days", 3}, {"detail", nullptr}};
        co_await client_tool_call(events, "get_weather", "call_weather_1", std::move(arguments));
    } else if (match(cmd, tools_re, m)) {
        int const n = std::stoi(m[1]);
        for (int i = 1; i <= n; ++i) {
            JsonObject arguments{{"step", i}};
            co_await client_tool_call(events, "step_" + std::to_string(i), "call_step_" + std::to_string(i),
                                      std::move(arguments));
        }
    } else if (cmd == "ask") {
        co_await ask(events);
    } else if (cmd == "hidden") {
        HiddenContextItem hidden{events.generate_item_id(StoreItemType::message), thread.id, now(),
                                 json::object{{"note", "the user prefers metric units"}, {"weight", 1}, {"source", nullptr}}};
        ThreadStreamEvent e25 = ThreadItemDoneEvent{std::move(hidden)};
        co_await emit_event(events, std::move(e25));
        co_await reply(events, "noted");
    } else if (cmd == "progress") {
        ThreadStreamEvent e26 = ProgressUpdateEvent{"search", "Searching the archive"};
        co_await emit_event(events, std::move(e26));
        ThreadStreamEvent e27 = ProgressUpdateEvent{std::nullopt, "Reading results"};
        co_await emit_event(events, std::move(e27));
        co_await reply(events, "progress complete");
    } else if (cmd == "notice") {
        ThreadStreamEvent e28 = NoticeEvent{NoticeLevel::info, "Heads up: this is informational.", std::nullopt};
        co_await emit_event(events, std::move(e28));
        ThreadStreamEvent e29 = NoticeEvent{NoticeLevel::warning,
                                                "A **markdown** warning with \"quotes\" and a backslash \\.", "Careful"};
        co_await emit_event(events, std::move(e29));
        ThreadStreamEvent danger = NoticeEvent{NoticeLevel::danger, "Danger zone: [docs](https://example.com/docs)", std::nullopt};
        co_await emit_event(events, std::move(danger));
        co_await reply(events, "notices sent");
    } else if (cmd == "effect") {
        ThreadStreamEvent e30 = ClientEffectEvent{"highlight", json::object{{"selector", "#composer"},
                                                                                {"color", nullptr},
                                                                                {"pulse", true}}};
        co_await emit_event(events, std::move(e30));
        ThreadStreamEvent e31 = ClientEffectEvent{"refresh", {}};
        co_await emit_event(events, std::move(e31));
        co_await reply(events, "effects sent");
    } else if (cmd == "image") {
        co_await image(events);
    } else if (cmd == "replace") {
        auto item = message(events, "draft answer");
        ThreadStreamEvent e32 = ThreadItemDoneEvent{item};
        co_await emit_event(events, std::move(e32));
        item.content = {AssistantMessageContent{{}, "final answer"}};
        ThreadStreamEvent e33 = ThreadItemReplacedEvent{std::move(item)};
        co_await emit_event(events, std::move(e33));
    } else if (cmd == "remove") {
        auto item = message(events, "temporary answer");
        ThreadStreamEvent e34 = ThreadItemDoneEvent{item};
        co_await emit_event(events, std::move(e34));
        ThreadStreamEvent e35 = ThreadItemRemovedEvent{item.id};
        co_await emit_event(events, std::move(e35));
        co_await reply(events, "kept answer");
    } else if (cmd == "end") {
        co_await reply(events, "That is all.");
        ThreadStreamEvent e36 = ThreadItemDoneEvent{EndOfTurnItem{events.generate_item_id(StoreItemType::message),
                                                                      thread.id, now()}};
        co_await emit_event(events, std::move(e36));
    } else if (match(cmd, title_re, m)) {
        std::string const id = events.generate_item_id(StoreItemType::message);
        Timestamp const created_at = now();
        ThreadStreamEvent e37 = ThreadItemAddedEvent{AssistantMessageItem{id, thread.id, created_at, {}}};
        co_await emit_event(events, std::move(e37));
        thread.title = m[1].str();
        ThreadItemUpdate u38 = AssistantMessageContentPartAdded{0, {}};
        co_await emit_update(events, id, std::move(u38));
        ThreadItemUpdate u39 = AssistantMessageContentPartTextDelta{0, "title updated"};
        co_await emit_update(events, id, std::move(u39));
        ThreadItemUpdate u40 = AssistantMessageContentPartDone{0, AssistantMessageContent{{}, "title updated"}};
        co_await emit_update(events, id, std::move(u40));
        ThreadStreamEvent e41 = ThreadItemDoneEvent{message(events, "title updated", id, created_at)};
        co_await emit_event(events, std::move(e41));
    } else if (match(cmd, status_re, m)) {
        std::string const kind = m[1];
        std::optional<std::string> reason;
        if (m[2].matched) reason = m[2].str();
        co_await reply(events, "status set to " + kind);
        if (kind == "active")
            thread.status = ThreadStatus::active();
        else if (kind == "locked")
            thread.status = ThreadStatus::locked(reason);
        else
            thread.status = ThreadStatus::closed(reason);
    } else if (match(cmd, metadata_re, m)) {
        thread.metadata[m[1].str()] = m[2].str();
        co_await reply(events, "metadata updated");
    } else if (match(cmd, domains_re, m)) {
        thread.allowed_image_domains = split_whitespace(m[1].str());
        co_await reply(events, "allowed image domains updated");
    } else if (match(cmd, fail_re, m)) {
        co_await fail(events, thread, m[1].str());
    } else if (cmd == "history") {
        auto text = co_await history(store(), thread, ctx);
        co_await reply(events, std::move(text));
    } else if (cmd == "feedback") {
        co_await reply(events, feedback_text(ctx.tenant, thread.id));
    } else if (cmd == "nothing") {
        co_return;
    } else if (cmd == "combo") {
        co_await combo(events);
    } else {
        co_await reply(events, echo_text(raw, *input));
    }
}

asio::awaitable<void> ConformanceServer::continue_after(ThreadMetadata& thread, EventSink& events, Context& ctx) {
    std::optional<std::string> no_cursor;
    auto page = co_await store().load_thread_items(thread.id, no_cursor, 1, Order::desc, ctx);
    std::string text;
    ThreadItem const* last = page.data.empty() ? nullptr : &page.data.front();
    auto const* call = last ? std::get_if<ClientToolCallItem>(last) : nullptr;
    auto const* structured = last ? std::get_if<StructuredInputItem>(last) : nullptr;
    if (call && call->status == ToolCallStatus::completed) {
        text = "tool " + call->name + " returned: " + chatkit::serialize(call->output);
    } else if (structured && structured->status != StructuredInputStatus::pending) {
        text = std::string("structured input ") +
               (structured->status == StructuredInputStatus::answered ? "answered" : "skipped") + ": ";
        bool first = true;
        for (auto const& question : structured->inputs) {
            std::visit(
                [&](auto const& q) {
                    text += (first ? "" : "; ") + q.id + "=";
                    first = false;
                    if (!q.answer || q.answer->skipped) {
                        text += "skipped";
                        return;
                    }
                    for (std::size_t i = 0; i < q.answer->values.size(); ++i)
                        text += (i ? "|" : "") + q.answer->values[i];
                },
                question);
        }
    } else {
        text = std::string("continued after ") + (last ? item_type(*last) : "nothing");
    }
    co_await reply(events, std::move(text));
}

std::string ConformanceServer::feedback_text(std::string const& tenant, std::string const& thread_id) {
    std::string entries;
    std::lock_guard lock(feedback_mutex_);
    for (auto const& entry : feedback_[tenant]) {
        if (entry.thread_id != thread_id) continue;
        std::string ids;
        for (auto const& id : entry.item_ids) ids += (ids.empty() ? "" : ",") + id;
        entries += (entries.empty() ? "" : "; ") + std::string(entry.kind == FeedbackKind::positive ? "positive" : "negative") +
                   "[" + ids + "]";
    }
    return "feedback: " + (entries.empty() ? std::string("none") : entries);
}

// --- actions (CONTRACT.md §5) -----------------------------------------------------------------------

asio::awaitable<void> ConformanceServer::action(ThreadMetadata& thread, Action const& action,
                                                std::optional<WidgetItem> const& sender, EventSink& events, Context&) {
    auto const& kind = action.type;
    if (kind == "counter.increment") {
        if (!sender) {
            co_await reply(events, "no widget to update");
            co_return;
        }
        long long const count = read_count(*sender) + increment_amount(action.payload);
        ThreadItemUpdate u42 = WidgetRootUpdated{counter_widget(count)};
        co_await emit_update(events, sender->id, std::move(u42));
        WidgetItem updated = *sender;
        updated.widget = counter_widget(count);
        updated.copy_text = "Counter: " + std::to_string(count);
        ThreadStreamEvent e43 = ThreadItemReplacedEvent{std::move(updated)};
        co_await emit_event(events, std::move(e43));
        co_await reply(events, "counter is now " + std::to_string(count));
    } else if (kind == "echo") {
        co_await reply(events, "action echo: " + chatkit::serialize(action.payload));
    } else if (kind == "stream") {
        int const n = small_int(action.payload, "n", 1, 0, 999);
        int const delay = small_int(action.payload, "delay_ms", 0, 0, max_slow_ms);
        co_await stream_tokens(events, n, delay);
    } else if (kind == "title") {
        JsonValue const* title = action.payload.is_object() ? action.payload.get_object().if_contains("title") : nullptr;
        if (title && title->is_string())
            thread.title = std::string(title->get_string());
        else
            thread.title.reset();
        co_await reply(events, "title changed by action");
    } else if (kind == "fail") {
        throw CustomStreamError("Action failed", false);
    } else {
        ThreadStreamEvent e44 = ErrorEvent{"custom", "Unknown action: " + kind, false};
        co_await emit_event(events, std::move(e44));
    }
}

//[sync_action
asio::awaitable<SyncCustomActionResponse> ConformanceServer::sync_action(ThreadMetadata& thread, Action const& action,
                                                                         std::optional<WidgetItem> const& sender,
                                                                         Context& ctx) {
    if (action.type == "counter.increment" || action.type == "counter.preview") {
        if (!sender) co_return SyncCustomActionResponse{};
        long long const count = read_count(*sender) + increment_amount(action.payload);
        WidgetItem updated = *sender;
        updated.widget = counter_widget(count);
        updated.copy_text = "Counter: " + std::to_string(count);
        ThreadItem item = std::move(updated);
        if (action.type == "counter.increment") co_await store().save_item(thread.id, item, ctx);
        co_return SyncCustomActionResponse{std::move(item)};
    }
    if (action.type == "noop") co_return SyncCustomActionResponse{};
    throw std::runtime_error("Unknown sync action: " + action.type);
}
//]

asio::awaitable<void> ConformanceServer::add_feedback(std::string const& thread_id,
                                                      std::vector<std::string> const& item_ids, FeedbackKind kind,
                                                      Context& ctx) {
    std::lock_guard lock(feedback_mutex_);
    feedback_[ctx.tenant].push_back(Feedback{thread_id, item_ids, kind});
    co_return;
}

asio::awaitable<TranscriptionResult> ConformanceServer::transcribe(AudioInput const& audio, Context&) {
    co_return TranscriptionResult{"transcribed " + std::to_string(audio.data.size()) + " bytes of " + audio.media_type()};
}

}  // namespace conformance
