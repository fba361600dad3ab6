// Behaviour tests of the protocol codec: byte-exact writers, pydantic-compatible readers, timestamps,
// numbers, strings, URLs and base64. Golden payloads under tests/data/protocol were produced with the
// Python reference (openai/chatkit-python 1.6.5, pydantic 2.13.4).
#include <chatkit/core/ids.hpp>
#include <catch2/catch.hpp>

#include <chatkit/protocol/protocol.hpp>

#include <boost/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace chatkit;
using namespace std::string_literals;

namespace {

std::string data_path(std::string const& name) { return std::string(CHATKIT_TEST_DATA_DIR) + "/protocol/" + name; }

std::string read_text(std::string const& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in.good());
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// A golden file entry: the reference's wire form and (for stored shapes) its store form.
struct Golden {
    std::string name;
    std::string wire;
    std::string store;
};

std::vector<Golden> load_goldens(std::string const& file) {
    auto const doc = boost::json::parse(read_text(data_path(file)));
    std::vector<Golden> out;
    for (auto const& e : doc.as_array()) {
        auto const& o = e.as_object();
        Golden g{std::string(o.at("name").as_string()), std::string(o.at("wire").as_string()), {}};
        if (auto const* s = o.if_contains("store")) g.store = std::string(s->as_string());
        out.push_back(std::move(g));
    }
    REQUIRE_FALSE(out.empty());
    return out;
}

// Sets TZ for the duration of a test (and restores it), so naive local timestamps are deterministic.
class TzGuard {
public:
    explicit TzGuard(char const* tz) {
        if (char const* old = std::getenv("TZ")) old_ = old;
        ::setenv("TZ", tz, 1);
        ::tzset();
    }
    ~TzGuard() {
        if (old_) {
            ::setenv("TZ", old_->c_str(), 1);
        } else {
            ::unsetenv("TZ");
        }
        ::tzset();
    }
    TzGuard(TzGuard const&) = delete;
    TzGuard& operator=(TzGuard const&) = delete;

private:
    std::optional<std::string> old_;
};

// Sets the process-wide timestamp style for the duration of a test.
class StyleGuard {
public:
    explicit StyleGuard(TimestampStyle style) : old_(timestamp_style()) { set_timestamp_style(style); }
    ~StyleGuard() { set_timestamp_style(old_); }
    StyleGuard(StyleGuard const&) = delete;
    StyleGuard& operator=(StyleGuard const&) = delete;

private:
    TimestampStyle old_;
};

// A timestamp from a naive local date-time string (what the reference writes).
Timestamp ts(std::string_view text) {
    auto t = parse_timestamp(text);
    REQUIRE(t.has_value());
    return *t;
}

Timestamp from_micros(std::int64_t us) { return Timestamp{std::chrono::microseconds{us}}; }

std::string wire(ThreadItem const& item) { return chatkit::serialize(to_json(item, JsonMode::wire)); }

// The message of the invalid_request error `fn` throws ("" when it does not throw).
template <class F>
std::string error_of(F&& fn) {
    try {
        fn();
    } catch (Error const& e) {
        CHECK(e.code() == make_error_code(error::invalid_request));
        return e.message();
    }
    return {};
}

ThreadItem item_from(std::string const& text) { return from_json<ThreadItem>(parse_json(text)); }

std::string item_json(std::string const& type_and_fields) {
    return R"({"id":"i","thread_id":"t","created_at":"2025-01-02T03:04:05","type":)" + type_and_fields + "}";
}

}  // namespace

// =============================================================================================
// Appendix A of PROTOCOL.md (reference output, byte for byte)

TEST_CASE("Appendix A: the threads.create stream is byte-exact", "[protocol]") {
    TzGuard tz("CET-1CEST,M3.5.0,M10.5.0/3");
    Thread thread;
    thread.id = "thr_0a1b2c3d";
    thread.created_at = ts("2025-06-01T12:00:00.100000");

    UserMessageItem user;
    user.id = "msg_00000001";
    user.thread_id = thread.id;
    user.created_at = ts("2025-06-01T12:00:00.200000");
    user.content.push_back(UserMessageTextContent{"Hi"});
    user.inference_options.model = "gpt-4.1";

    AssistantMessageItem assistant;
    assistant.id = "msg_00000002";
    assistant.thread_id = thread.id;
    assistant.created_at = ts("2025-06-01T12:00:00.300000");

    AssistantMessageItem done = assistant;
    done.content.push_back(AssistantMessageContent{{}, "Hello, world!"});

    Thread titled = thread;
    titled.title = "Greeting";
    titled.metadata = JsonObject{{"never", "sent"}};

    std::vector<ThreadStreamEvent> events{
        ThreadCreatedEvent{thread},
        ThreadItemDoneEvent{user},
        StreamOptionsEvent{StreamOptions{true}},
        ThreadItemAddedEvent{assistant},
        ThreadItemUpdatedEvent{"msg_00000002", AssistantMessageContentPartAdded{0, AssistantMessageContent{{}, ""}}},
        ThreadItemUpdatedEvent{"msg_00000002", AssistantMessageContentPartTextDelta{0, "Hello"}},
        ThreadItemUpdatedEvent{"msg_00000002", AssistantMessageContentPartTextDelta{0, ", world!"}},
        ThreadItemUpdatedEvent{"msg_00000002",
                               AssistantMessageContentPartDone{0, AssistantMessageContent{{}, "Hello, world!"}}},
        ThreadItemDoneEvent{done},
        ThreadUpdatedEvent{titled},
    };
    std::string body;
    for (auto const& e : events) body += sse_frame(e);

    std::string const expected =
        R"(data: {"type":"thread.created","thread":{"id":"thr_0a1b2c3d","created_at":"2025-06-01T12:00:00.100000","status":{"type":"active"},"metadata":{},"items":{"data":[],"has_more":false}}})"
        "\n\n"
        R"(data: {"type":"thread.item.done","item":{"id":"msg_00000001","thread_id":"thr_0a1b2c3d","created_at":"2025-06-01T12:00:00.200000","type":"user_message","content":[{"type":"input_text","text":"Hi"}],"attachments":[],"inference_options":{"model":"gpt-4.1"}}})"
        "\n\n"
        R"(data: {"type":"stream_options","stream_options":{"allow_cancel":true}})"
        "\n\n"
        R"(data: {"type":"thread.item.added","item":{"id":"msg_00000002","thread_id":"thr_0a1b2c3d","created_at":"2025-06-01T12:00:00.300000","type":"assistant_message","content":[]}})"
        "\n\n"
        R"(data: {"type":"thread.item.updated","item_id":"msg_00000002","update":{"type":"assistant_message.content_part.added","content_index":0,"content":{"annotations":[],"text":"","type":"output_text"}}})"
        "\n\n"
        R"(data: {"type":"thread.item.updated","item_id":"msg_00000002","update":{"type":"assistant_message.content_part.text_delta","content_index":0,"delta":"Hello"}})"
        "\n\n"
        R"(data: {"type":"thread.item.updated","item_id":"msg_00000002","update":{"type":"assistant_message.content_part.text_delta","content_index":0,"delta":", world!"}})"
        "\n\n"
        R"(data: {"type":"thread.item.updated","item_id":"msg_00000002","update":{"type":"assistant_message.content_part.done","content_index":0,"content":{"annotations":[],"text":"Hello, world!","type":"output_text"}}})"
        "\n\n"
        R"(data: {"type":"thread.item.done","item":{"id":"msg_00000002","thread_id":"thr_0a1b2c3d","created_at":"2025-06-01T12:00:00.300000","type":"assistant_message","content":[{"annotations":[],"text":"Hello, world!","type":"output_text"}]}})"
        "\n\n"
        R"(data: {"type":"thread.updated","thread":{"title":"Greeting","id":"thr_0a1b2c3d","created_at":"2025-06-01T12:00:00.100000","status":{"type":"active"},"metadata":{},"items":{"data":[],"has_more":false}}})"
        "\n\n";
    CHECK(body == expected);

    // items.list with limit 1 (desc) and threads.get_by_id (asc, metadata always {}).
    Page<ThreadItem> page{{done}, true, "msg_00000002"};
    CHECK(chatkit::serialize(to_json(page)) ==
          R"({"data":[{"id":"msg_00000002","thread_id":"thr_0a1b2c3d","created_at":"2025-06-01T12:00:00.300000","type":"assistant_message","content":[{"annotations":[],"text":"Hello, world!","type":"output_text"}]}],"has_more":true,"after":"msg_00000002"})");
    Thread full = titled;
    full.items = Page<ThreadItem>{{user, done}, false, std::nullopt};
    CHECK(chatkit::serialize(to_json(full)) ==
          R"({"title":"Greeting","id":"thr_0a1b2c3d","created_at":"2025-06-01T12:00:00.100000","status":{"type":"active"},"metadata":{},"items":{"data":[{"id":"msg_00000001","thread_id":"thr_0a1b2c3d","created_at":"2025-06-01T12:00:00.200000","type":"user_message","content":[{"type":"input_text","text":"Hi"}],"attachments":[],"inference_options":{"model":"gpt-4.1"}},{"id":"msg_00000002","thread_id":"thr_0a1b2c3d","created_at":"2025-06-01T12:00:00.300000","type":"assistant_message","content":[{"annotations":[],"text":"Hello, world!","type":"output_text"}]}],"has_more":false}})");
}

TEST_CASE("Appendix A: the request body parses into threads.create", "[protocol]") {
    auto const req = parse_request(
        R"({"type": "threads.create", "params": {"input": {"content": [{"type": "input_text", "text": "Hi"}], "attachments": [], "quoted_text": null, "inference_options": {"tool_choice": null, "model": "gpt-4.1"}}}, "metadata": {}})");
    REQUIRE(std::holds_alternative<ThreadsCreateReq>(req.params));
    auto const& input = std::get<ThreadsCreateReq>(req.params).input;
    REQUIRE(input.content.size() == 1);
    CHECK(std::get<UserMessageTextContent>(input.content[0]).text == "Hi");
    CHECK(input.attachments.empty());
    CHECK_FALSE(input.quoted_text);
    CHECK_FALSE(input.inference_options.tool_choice);
    CHECK(input.inference_options.model == "gpt-4.1");
    CHECK(req.metadata.empty());
    CHECK(std::string(req.type()) == "threads.create");
    CHECK(req.is_streaming());
}

TEST_CASE("Appendix A: other exact outputs", "[protocol]") {
    TzGuard tz("UTC0");
    Timestamp const t = ts("2025-01-02T03:04:05.000006");

    SECTION("events") {
        CHECK(chatkit::serialize(to_json(ThreadStreamEvent{ProgressUpdateEvent{"search", "x"}})) ==
              R"({"type":"progress_update","icon":"search","text":"x"})");
        CHECK(chatkit::serialize(to_json(ThreadStreamEvent{ClientEffectEvent{"x", {}}})) ==
              R"({"type":"client_effect","name":"x","data":{}})");
        CHECK(chatkit::serialize(to_json(ThreadStreamEvent{NoticeEvent{NoticeLevel::warning, "m", "t"}})) ==
              R"({"type":"notice","level":"warning","message":"m","title":"t"})");
        CHECK(chatkit::serialize(to_json(ThreadStreamEvent{ThreadItemUpdatedEvent{
                  "i", GeneratedImageUpdated{GeneratedImage{"g", "u"}, 0.5}}})) ==
              R"({"type":"thread.item.updated","item_id":"i","update":{"type":"generated_image.updated","image":{"id":"g","url":"u"},"progress":0.5}})");
        CHECK(chatkit::serialize(to_json(ThreadStreamEvent{ThreadItemUpdatedEvent{"i", WorkflowTaskAdded{0, ThoughtTask{{}, {}, "x"}}}})) ==
              R"({"type":"thread.item.updated","item_id":"i","update":{"type":"workflow.task.added","task_index":0,"task":{"status_indicator":"none","type":"thought","content":"x"}}})");
        CHECK(sse_frame(ErrorEvent{"stream.error", std::nullopt, false}) ==
              "data: {\"type\":\"error\",\"code\":\"stream.error\",\"allow_retry\":false}\n\n");
        CHECK(sse_frame(ErrorEvent{"custom", "nope", true}) ==
              "data: {\"type\":\"error\",\"code\":\"custom\",\"message\":\"nope\",\"allow_retry\":true}\n\n");
    }

    SECTION("items") {
        WorkflowItem wf;
        wf.id = "w";
        wf.thread_id = "t";
        wf.created_at = t;
        wf.workflow.tasks = {ThoughtTask{{}, {}, "c"}, FileTask{}, ImageTask{}};
        wf.workflow.summary = DurationSummary{3};
        CHECK(wire(wf) ==
              R"({"id":"w","thread_id":"t","created_at":"2025-01-02T03:04:05.000006","type":"workflow","workflow":{"type":"custom","tasks":[{"status_indicator":"none","type":"thought","content":"c"},{"status_indicator":"none","type":"file","sources":[]},{"status_indicator":"none","type":"image"}],"summary":{"duration":3},"expanded":false}})");

        TaskItem task;
        task.id = "k";
        task.thread_id = "t";
        task.created_at = t;
        task.task = WebSearchTask{};
        CHECK(wire(task) ==
              R"({"id":"k","thread_id":"t","created_at":"2025-01-02T03:04:05.000006","type":"task","task":{"status_indicator":"none","type":"web_search","queries":[],"sources":[]}})");

        UserMessageItem user;
        user.id = "u";
        user.thread_id = "t";
        user.created_at = t;
        user.content.push_back(UserMessageTagContent{"x", "y", {}, std::nullopt, false});
        Attachment att;
        att.id = "a";
        att.name = "n";
        att.mime_type = "text/plain";
        att.metadata = JsonObject{{"secret", 1}};
        user.attachments.push_back(att);
        user.inference_options.tool_choice = ToolChoice{"z"};
        CHECK(wire(user) ==
              R"({"id":"u","thread_id":"t","created_at":"2025-01-02T03:04:05.000006","type":"user_message","content":[{"type":"input_tag","id":"x","text":"y","data":{},"interactive":false}],"attachments":[{"id":"a","name":"n","mime_type":"text/plain","type":"file"}],"inference_options":{"tool_choice":{"id":"z"}}})");

        ClientToolCallItem call;
        call.id = "c";
        call.thread_id = "t";
        call.created_at = t;
        call.status = ToolCallStatus::completed;
        call.call_id = "cc";
        call.name = "n";
        call.arguments = JsonObject{{"a", nullptr}};
        call.output = JsonObject{{"k", nullptr}};
        CHECK(wire(call) ==
              R"({"id":"c","thread_id":"t","created_at":"2025-01-02T03:04:05.000006","type":"client_tool_call","status":"completed","call_id":"cc","name":"n","arguments":{"a":null},"output":{"k":null}})");

        AssistantMessageItem msg;
        msg.id = "m";
        msg.thread_id = "t";
        msg.created_at = t;
        AssistantMessageContent content;
        content.text = "x";
        content.annotations.push_back(Annotation{URLSource{"t", {}, {}, {}, "u", {}}, std::nullopt});
        content.annotations.push_back(Annotation{FileSource{"t", {}, {}, {}, "f"}, 3});
        EntitySource entity;
        entity.title = "t";
        entity.id = "e";
        content.annotations.push_back(Annotation{entity, 0});
        msg.content.push_back(content);
        CHECK(wire(msg) ==
              R"({"id":"m","thread_id":"t","created_at":"2025-01-02T03:04:05.000006","type":"assistant_message","content":[{"annotations":[{"type":"annotation","source":{"title":"t","type":"url","url":"u"}},{"type":"annotation","source":{"title":"t","type":"file","filename":"f"},"index":3},{"type":"annotation","source":{"title":"t","type":"entity","id":"e","interactive":false,"data":{}},"index":0}],"text":"x","type":"output_text"}]})");
    }

    SECTION("attachments.create response drops metadata; AnyUrl gains a slash") {
        Attachment a;
        a.id = "atc_1";
        a.name = "f.txt";
        a.mime_type = "text/plain";
        a.upload_descriptor = AttachmentUploadDescriptor{"https://up.example.com/atc_1", "POST", {}};
        a.metadata = JsonObject{{"secret", 1}};
        CHECK(chatkit::serialize(to_json(a)) ==
              R"({"id":"atc_1","name":"f.txt","mime_type":"text/plain","upload_descriptor":{"url":"https://up.example.com/atc_1","method":"POST","headers":{}},"type":"file"})");
        CHECK(chatkit::serialize(to_json(a, JsonMode::store)) ==
              R"({"id":"atc_1","name":"f.txt","mime_type":"text/plain","upload_descriptor":{"url":"https://up.example.com/atc_1","method":"POST","headers":{}},"metadata":{"secret":1},"type":"file"})");

        Attachment img;
        img.type = AttachmentType::image;
        img.id = "a";
        img.name = "n";
        img.mime_type = "image/png";
        img.upload_descriptor = AttachmentUploadDescriptor{"https://ex.com/up?x=1", "PUT", {}};
        img.thread_id = "t";
        img.preview_url = "https://example.com";
        CHECK(chatkit::serialize(to_json(img)) ==
              R"({"id":"a","name":"n","mime_type":"image/png","upload_descriptor":{"url":"https://ex.com/up?x=1","method":"PUT","headers":{}},"thread_id":"t","type":"image","preview_url":"https://example.com/"})");
    }

    SECTION("a stored thread keeps its metadata; clients never see it") {
        ThreadMetadata meta;
        meta.id = "t";
        meta.created_at = t;
        meta.status = ThreadStatus::closed("r");
        meta.allowed_image_domains = std::vector<std::string>{};
        meta.metadata = JsonObject{{"x", 1}};
        CHECK(chatkit::serialize(to_json(meta, JsonMode::store)) ==
              R"({"id":"t","created_at":"2025-01-02T03:04:05.000006","status":{"type":"closed","reason":"r"},"allowed_image_domains":[],"metadata":{"x":1}})");
        CHECK(chatkit::serialize(to_json(meta)) ==
              R"({"id":"t","created_at":"2025-01-02T03:04:05.000006","status":{"type":"closed","reason":"r"},"allowed_image_domains":[],"metadata":{},"items":{"data":[],"has_more":false}})");
    }

    SECTION("stream_widget frames and a widget whose payload lost its nulls") {
        auto widget = parse_json(R"({"type":"Card","children":[{"id":"t","type":"Text","value":""}]})").as_object();
        WidgetItem w;
        w.id = "msg_b169ea31";
        w.thread_id = "thr";
        w.created_at = ts("2026-11-26T03:57:31.646888");
        w.widget = widget;
        w.copy_text = "copy";
        CHECK(sse_frame(ThreadItemAddedEvent{w}) ==
              "data: " R"({"type":"thread.item.added","item":{"id":"msg_b169ea31","thread_id":"thr","created_at":"2026-11-26T03:57:31.646888","type":"widget","widget":{"type":"Card","children":[{"id":"t","type":"Text","value":""}]},"copy_text":"copy"}})"
              "\n\n");
        CHECK(sse_frame(ThreadItemUpdatedEvent{"msg_b169ea31", WidgetStreamingTextValueDelta{"t", "ab", true}}) ==
              "data: " R"({"type":"thread.item.updated","item_id":"msg_b169ea31","update":{"type":"widget.streaming_text.value_delta","component_id":"t","delta":"ab","done":true}})"
              "\n\n");

        auto const card = parse_json(
            R"({"type":"Card","key":null,"children":[{"type":"Button","id":null,"label":"b","onClickAction":{"type":"a","payload":{"x":null,"y":[1,null]},"handler":"server","loadingBehavior":"auto","streaming":true}}],"confirm":{"label":"ok","action":{"type":"c","payload":null,"handler":"server","loadingBehavior":"auto","streaming":true}}})");
        CHECK(chatkit::serialize(strip_nulls(card)) ==
              R"({"type":"Card","children":[{"type":"Button","label":"b","onClickAction":{"type":"a","payload":{"y":[1]},"handler":"server","loadingBehavior":"auto","streaming":true}}],"confirm":{"label":"ok","action":{"type":"c","handler":"server","loadingBehavior":"auto","streaming":true}}})");
    }

    SECTION("non-streaming bodies") {
        CHECK(chatkit::serialize(to_json(SyncCustomActionResponse{})) == "{}");
        CHECK(chatkit::serialize(to_json(TranscriptionResult{"hi"})) == R"({"text":"hi"})");
        CHECK(chatkit::serialize(to_json(Page<ThreadItem>{})) == R"({"data":[],"has_more":false})");
    }
}

// =============================================================================================
// Golden payloads from the reference: write, and read back to the same bytes

TEST_CASE("Golden thread items: wire and store forms, and store round trip", "[protocol]") {
    TzGuard tz("CET-1CEST,M3.5.0,M10.5.0/3");
    std::set<std::string> types;
    for (auto const& g : load_goldens("items.json")) {
        INFO(g.name);
        auto const item = item_from(g.store);
        types.insert(item_type(item));
        CHECK(chatkit::serialize(to_json(item, JsonMode::store)) == g.store);
        CHECK(chatkit::serialize(to_json(item, JsonMode::wire)) == g.wire);
        // The direct text writer gives the same bytes.
        CHECK(to_json_text(item, JsonMode::store) == g.store);
        CHECK(to_json_text(item, JsonMode::wire) == g.wire);
        // Reading the wire form loses only server-side data.
        CHECK(chatkit::serialize(to_json(item_from(g.wire), JsonMode::wire)) == g.wire);
    }
    CHECK(types.size() == 11);  // every item type is covered
}

TEST_CASE("Golden attachments round trip", "[protocol]") {
    for (auto const& g : load_goldens("attachments.json")) {
        INFO(g.name);
        auto const a = from_json<Attachment>(parse_json(g.store));
        CHECK(chatkit::serialize(to_json(a, JsonMode::store)) == g.store);
        CHECK(chatkit::serialize(to_json(a)) == g.wire);
        CHECK(to_json_text(a, JsonMode::store) == g.store);
        CHECK(to_json_text(a) == g.wire);
    }
}

TEST_CASE("Golden sources and tasks round trip", "[protocol]") {
    for (auto const& g : load_goldens("sources.json")) {
        INFO(g.name);
        CHECK(chatkit::serialize(to_json(from_json<Source>(parse_json(g.wire)))) == g.wire);
    }
    for (auto const& g : load_goldens("tasks.json")) {
        INFO(g.name);
        CHECK(chatkit::serialize(to_json(from_json<Task>(parse_json(g.wire)))) == g.wire);
    }
}

TEST_CASE("Golden annotations, contents, structured inputs and workflows", "[protocol]") {
    TzGuard tz("UTC0");
    // These shapes have no reader of their own: they are read inside an item and written alone.
    for (auto const& g : load_goldens("annotations.json")) {
        INFO(g.name);
        auto const item = item_from(item_json(R"("assistant_message","content":[{"text":"x","annotations":[)" + g.wire + "]}]"));
        CHECK(chatkit::serialize(to_json(std::get<AssistantMessageItem>(item).content.at(0).annotations.at(0))) == g.wire);
    }
    for (auto const& g : load_goldens("assistant_contents.json")) {
        INFO(g.name);
        auto const item = item_from(item_json(R"("assistant_message","content":[)" + g.wire + "]"));
        CHECK(chatkit::serialize(to_json(std::get<AssistantMessageItem>(item).content.at(0))) == g.wire);
    }
    for (auto const& g : load_goldens("structured_inputs.json")) {
        INFO(g.name);
        auto const item = item_from(item_json(R"("structured_input","inputs":[)" + g.wire + "]"));
        CHECK(chatkit::serialize(to_json(std::get<StructuredInputItem>(item).inputs.at(0))) == g.wire);
    }
    for (auto const& g : load_goldens("workflows.json")) {
        INFO(g.name);
        auto const item = item_from(item_json(R"("workflow","workflow":)" + g.wire));
        CHECK(chatkit::serialize(to_json(std::get<WorkflowItem>(item).workflow)) == g.wire);
    }
}

TEST_CASE("Golden events and updates round trip; sse_frame matches to_json", "[protocol]") {
    TzGuard tz("CET-1CEST,M3.5.0,M10.5.0/3");
    std::set<std::string> event_types;
    for (auto const& g : load_goldens("events.json")) {
        INFO(g.name);
        auto const event = from_json<ThreadStreamEvent>(parse_json(g.wire));
        event_types.insert(event_type(event));
        CHECK(chatkit::serialize(to_json(event)) == g.wire);
        CHECK(sse_frame(event) == "data: " + g.wire + "\n\n");
    }
    CHECK(event_types.size() == 12);

    std::set<std::string> update_types;
    for (auto const& g : load_goldens("updates.json")) {
        INFO(g.name);
        auto const update = from_json<ThreadItemUpdate>(parse_json(g.wire));
        update_types.insert(update_type(update));
        CHECK(chatkit::serialize(to_json(update)) == g.wire);
    }
    CHECK(update_types.size() == 10);
}

TEST_CASE("Golden threads: clients get metadata {} and an items page, stores get everything", "[protocol]") {
    TzGuard tz("CET-1CEST,M3.5.0,M10.5.0/3");
    for (auto const& g : load_goldens("thread_metadata.json")) {
        INFO(g.name);
        auto const meta = from_json<ThreadMetadata>(parse_json(g.store));
        CHECK(chatkit::serialize(to_json(meta, JsonMode::store)) == g.store);
        CHECK(chatkit::serialize(to_json(meta, JsonMode::wire)) == g.wire);
        CHECK(to_json_text(meta, JsonMode::store) == g.store);
        CHECK(to_json_text(meta, JsonMode::wire) == g.wire);
    }
    for (auto const& g : load_goldens("threads.json")) {
        INFO(g.name);
        auto const thread = from_json<Thread>(parse_json(g.store));
        CHECK(chatkit::serialize(to_json(thread, JsonMode::store)) == g.store);
        CHECK(chatkit::serialize(to_json(thread, JsonMode::wire)) == g.wire);
        CHECK(to_json_text(thread, JsonMode::store) == g.store);
        CHECK(to_json_text(thread, JsonMode::wire) == g.wire);
    }
    for (auto const& g : load_goldens("thread_pages.json")) {
        INFO(g.name);
        auto const page = from_json<Page<ThreadMetadata>>(parse_json(g.store));
        CHECK(chatkit::serialize(to_json(page, JsonMode::store)) == g.store);
        CHECK(chatkit::serialize(to_json(page, JsonMode::wire)) == g.wire);
        CHECK(to_json_text(page, JsonMode::store) == g.store);
        CHECK(to_json_text(page, JsonMode::wire) == g.wire);
    }
}

TEST_CASE("Golden pages and non-streaming responses", "[protocol]") {
    TzGuard tz("UTC0");
    for (auto const& g : load_goldens("misc.json")) {
        INFO(g.name);
        auto const doc = parse_json(g.wire);
        if (g.name.rfind("page_", 0) == 0) {
            CHECK(chatkit::serialize(to_json(from_json<Page<ThreadItem>>(doc))) == g.wire);
            CHECK(to_json_text(from_json<Page<ThreadItem>>(doc)) == g.wire);
        } else if (g.name.rfind("sync_response", 0) == 0) {
            SyncCustomActionResponse r;
            if (auto const* item = doc.as_object().if_contains("updated_item")) r.updated_item = from_json<ThreadItem>(*item);
            CHECK(chatkit::serialize(to_json(r)) == g.wire);
            CHECK(to_json_text(r) == g.wire);
        } else {
            TranscriptionResult const result{std::string(doc.at("text").as_string())};
            CHECK(chatkit::serialize(to_json(result)) == g.wire);
            CHECK(to_json_text(result) == g.wire);
        }
    }
}

// =============================================================================================
// Writers: specific rules

TEST_CASE("Thread metadata: wire mode always writes {}, store mode the stored object", "[protocol]") {
    Thread t;
    t.id = "t";
    t.created_at = from_micros(0);
    t.metadata = JsonObject{{"secret", "s"}, {"n", nullptr}};
    auto const wire_text = chatkit::serialize(to_json(t));
    CHECK(wire_text.find("secret") == std::string::npos);
    CHECK(wire_text.find(R"("metadata":{})") != std::string::npos);
    CHECK(chatkit::serialize(to_json(t, JsonMode::store)).find(R"("metadata":{"secret":"s","n":null})") != std::string::npos);
    // Events always use the wire form.
    CHECK(sse_frame(ThreadUpdatedEvent{t}).find("secret") == std::string::npos);
}

TEST_CASE("Nulls: omitted for declared fields, kept in free-form values, stripped in widgets", "[protocol]") {
    TzGuard tz("UTC0");
    ClientToolCallItem call;
    call.id = "c";
    call.thread_id = "t";
    call.created_at = from_micros(0);
    call.call_id = "cc";
    call.name = "n";
    CHECK(wire(call).find("output") == std::string::npos);  // JSON null output = omitted
    call.output = 0;
    CHECK(wire(call).find(R"("output":0)") != std::string::npos);

    HiddenContextItem hidden;
    hidden.id = "h";
    hidden.thread_id = "t";
    hidden.created_at = from_micros(0);
    CHECK(wire(hidden) == R"({"id":"h","thread_id":"t","created_at":"1970-01-01T00:00:00","type":"hidden_context_item"})");

    WidgetItem w;
    w.id = "w";
    w.thread_id = "t";
    w.created_at = from_micros(0);
    w.widget = parse_json(R"({"type":"Card","children":null,"a":[null,{"b":null,"c":[null]}],"d":{"e":null}})").as_object();
    auto const expected_widget = R"({"type":"Card","a":[{"c":[]}],"d":{}})"s;
    CHECK(wire(w) == R"({"id":"w","thread_id":"t","created_at":"1970-01-01T00:00:00","type":"widget","widget":)" +
                         expected_widget + "}");
    CHECK(chatkit::serialize(to_json(w, JsonMode::store)) == wire(w));
    CHECK(to_json_text(ThreadItem{w}) == wire(w));
    CHECK(chatkit::serialize(to_json(ThreadItemUpdate{WidgetRootUpdated{w.widget}})) ==
          R"({"type":"widget.root.updated","widget":)" + expected_widget + "}");
    CHECK(chatkit::serialize(to_json(ThreadItemUpdate{WidgetComponentUpdated{"x", w.widget}})) ==
          R"({"type":"widget.component.updated","component_id":"x","component":)" + expected_widget + "}");
    CHECK(sse_frame(ThreadItemDoneEvent{w}).find("null") == std::string::npos);

    ClientEffectEvent effect{"e", JsonObject{{"a", nullptr}, {"b", boost::json::array{nullptr}}}};
    CHECK(chatkit::serialize(to_json(ThreadStreamEvent{effect})) == R"({"type":"client_effect","name":"e","data":{"a":null,"b":[null]}})");
}

TEST_CASE("Upload descriptors: headers in order, URLs normalized like pydantic's AnyUrl", "[protocol]") {
    auto descriptor_json = [](std::string url, std::vector<std::pair<std::string, std::string>> headers = {}) {
        Attachment a;
        a.id = "a";
        a.name = "n";
        a.mime_type = "m";
        a.upload_descriptor = AttachmentUploadDescriptor{std::move(url), "PUT", std::move(headers)};
        auto const v = to_json(a);
        return chatkit::serialize(v.at("upload_descriptor"));
    };
    CHECK(descriptor_json("https://example.com", {{"B", "1"}, {"A", "2"}}) ==
          R"({"url":"https://example.com/","method":"PUT","headers":{"B":"1","A":"2"}})");
    // A header repeated in the list is written once (first position, last value).
    CHECK(descriptor_json("https://x.test/", {{"A", "1"}, {"B", "2"}, {"A", "3"}}) ==
          R"({"url":"https://x.test/","method":"PUT","headers":{"A":"3","B":"2"}})");

    // Expected values observed from pydantic 2.13 (AnyUrl) on the same inputs.
    std::vector<std::pair<std::string, std::string>> const urls{
        {"https://example.com", "https://example.com/"},
        {"HTTPS://Example.COM", "https://example.com/"},
        {"https://example.com:443", "https://example.com/"},
        {"https://example.com:8443", "https://example.com:8443/"},
        {"http://ex.com:80", "http://ex.com/"},
        {"https://example.com?x=1", "https://example.com/?x=1"},
        {"https://example.com#f", "https://example.com/#f"},
        {"https://ex.com/a b", "https://ex.com/a%20b"},
        {"https://ex.com/a/../b", "https://ex.com/b"},
        {"https://ex.com/\xC3\xA9", "https://ex.com/%C3%A9"},
        {"  https://ex.com  ", "https://ex.com/"},
        {"https://ex.com/a\tb\nc", "https://ex.com/abc"},
        {"http://user:pw@ex.com", "http://user:pw@ex.com/"},
        {"https://[::1]", "https://[::1]/"},
        {"https://ex.com/%7e", "https://ex.com/%7e"},
        {"HtTp://ex.com/A?B#C", "http://ex.com/A?B#C"},
        {"https://Ex.com:443/a b\"<>`{}|^?q=a b'\"<>`{}|#f g`\"<>{}|",
         "https://ex.com/a%20b%22%3C%3E%60%7B%7D|^?q=a%20b%27%22%3C%3E`{}|#f%20g%60%22%3C%3E{}|"},
        {"custom://Host/a b?x y#z w", "custom://Host/a%20b?x%20y#z%20w"},
        {"mailto:x@y", "mailto:x@y"},
        {"data:image/png;base64,xx", "data:image/png;base64,xx"},
        {"file:///tmp/x", "file:///tmp/x"},
        {"https://ex.com:/x", "https://ex.com/x"},
    };
    for (auto const& [in, out] : urls) {
        INFO(in);
        CHECK(descriptor_json(in) == R"({"url":")" + out + R"(","method":"PUT","headers":{}})");
    }
}

TEST_CASE("Strings are escaped exactly as pydantic does", "[protocol]") {
    // pydantic_core.to_json('\x00\x1f\x7f\b\t\u2028/"\\é\f\r\n')
    std::string const input = "\x00\x1f\x7f\b\t\xE2\x80\xA8/\"\\\xC3\xA9\x0C\r\n"s;
    CHECK(chatkit::serialize(JsonValue(input)) == "\"\\u0000\\u001f\x7f\\b\\t\xE2\x80\xA8/\\\"\\\\\xC3\xA9\\f\\r\\n\""s);
    CHECK(chatkit::serialize(JsonValue("\x01\x0b\x1e"s)) == R"("\u0001\u000b\u001e")");
    CHECK(chatkit::serialize(JsonValue("emoji \xF0\x9F\x98\x80")) == "\"emoji \xF0\x9F\x98\x80\"");
    // Keys are escaped too; SSE frames never contain a raw newline.
    CHECK(chatkit::serialize(parse_json(R"({"a\nb":"c\"d"})")) == R"({"a\nb":"c\"d"})");
    CHECK(sse_frame(ProgressUpdateEvent{std::nullopt, "line1\nline2\r"}) ==
          "data: {\"type\":\"progress_update\",\"text\":\"line1\\nline2\\r\"}\n\n");
}

TEST_CASE("Numbers: integers as decimal, doubles in pydantic's layout", "[protocol]") {
    CHECK(chatkit::serialize(JsonValue(std::int64_t{0})) == "0");
    CHECK(chatkit::serialize(JsonValue(std::numeric_limits<std::int64_t>::min())) == "-9223372036854775808");
    CHECK(chatkit::serialize(JsonValue(std::numeric_limits<std::uint64_t>::max())) == "18446744073709551615");
    CHECK(chatkit::serialize(JsonValue(1.0)) == "1.0");
    CHECK(chatkit::serialize(JsonValue(1e16)) == "1e+16");
    CHECK(chatkit::serialize(JsonValue(1e15)) == "1000000000000000.0");
    CHECK(chatkit::serialize(JsonValue(2.5e-5)) == "0.000025");
    CHECK(chatkit::serialize(JsonValue(1e-6)) == "1e-6");
    CHECK(chatkit::serialize(JsonValue(-0.0)) == "-0.0");
    CHECK(chatkit::serialize(JsonValue(std::numeric_limits<double>::quiet_NaN())) == "null");
    CHECK(chatkit::serialize(JsonValue(-std::numeric_limits<double>::infinity())) == "null");
    CHECK(chatkit::serialize(parse_json("[1,1.0,-0,1E2,0.1]")) == "[1,1.0,0,100.0,0.1]");

    // Hundreds of doubles (random bit patterns and decimals around each threshold) checked against
    // pydantic's output, and parsed back to the same bits.
    auto const doc = boost::json::parse(read_text(data_path("double_format.json")));
    std::size_t checked = 0;
    for (auto const& e : doc.as_array()) {
        auto const& pair = e.as_array();
        std::string const hex(pair[0].as_string());
        std::string const expected(pair[1].as_string());
        std::uint64_t const bits = std::stoull(hex, nullptr, 16);
        double d = 0;
        std::memcpy(&d, &bits, sizeof d);
        INFO(hex << " expected " << expected);
        CHECK(chatkit::serialize(JsonValue(d)) == expected);
        if (expected != "null") {
            auto const parsed = parse_json(expected);
            std::uint64_t back = 0;
            double const pd = parsed.is_double() ? parsed.get_double() : static_cast<double>(parsed.to_number<double>());
            std::memcpy(&back, &pd, sizeof back);
            CHECK(back == bits);
        }
        ++checked;
    }
    CHECK(checked > 500);
}

TEST_CASE("Free-form doubles survive a parse/serialize round trip byte for byte", "[protocol]") {
    // Boost 1.81's own double parsing is sometimes one ulp off; parse_json must not be.
    for (char const* text : {"0.09382589161396027", "-1.9934908051011654e+189", "0.00014521243974741083",
                             "-2.9576661961133885e-8", "-3.156233559702614e-80"}) {
        INFO(text);
        CHECK(chatkit::serialize(parse_json(std::string("[") + text + "]")) == std::string("[") + text + "]");
    }
}

// =============================================================================================
// Timestamps

TEST_CASE("format_timestamp: naive local time by default, UTC with Z as an option", "[protocol]") {
    Timestamp const t = from_micros(1735787045000006);  // 2025-01-02T03:04:05.000006Z
    {
        TzGuard tz("UTC0");
        CHECK(timestamp_style() == TimestampStyle::naive_local);
        CHECK(format_timestamp(t) == "2025-01-02T03:04:05.000006");
        CHECK(format_timestamp(from_micros(1735787045000000)) == "2025-01-02T03:04:05");  // no fraction when 0
        CHECK(format_timestamp(from_micros(1735787045120000)) == "2025-01-02T03:04:05.120000");
        CHECK(format_timestamp(from_micros(-500000)) == "1969-12-31T23:59:59.500000");
    }
    {
        TzGuard tz("CET-1CEST,M3.5.0,M10.5.0/3");
        CHECK(format_timestamp(t) == "2025-01-02T04:04:05.000006");
        CHECK(format_timestamp(from_micros(1751371200000000)) == "2025-07-01T14:00:00");  // summer time
        StyleGuard style(TimestampStyle::utc);
        CHECK(format_timestamp(t) == "2025-01-02T03:04:05.000006Z");
        CHECK(format_timestamp(from_micros(0)) == "1970-01-01T00:00:00Z");
        // Every writer uses the style.
        EndOfTurnItem item;
        item.id = "e";
        item.thread_id = "t";
        item.created_at = t;
        CHECK(wire(item) == R"({"id":"e","thread_id":"t","created_at":"2025-01-02T03:04:05.000006Z","type":"end_of_turn"})");
    }
    CHECK(timestamp_style() == TimestampStyle::naive_local);
}

TEST_CASE("parse_timestamp accepts what pydantic accepts", "[protocol]") {
    TzGuard tz("UTC0");
    // Inputs as JSON (read as an item's created_at) and the instant pydantic yields (naive = UTC here).
    std::vector<std::pair<std::string, std::int64_t>> const cases{
        {R"("2025-01-02T03:04:05")", 1735787045000000LL},
        {R"("2025-01-02 03:04:05")", 1735787045000000LL},
        {R"("2025-01-02t03:04:05")", 1735787045000000LL},
        {R"("2025-01-02_03:04:05")", 1735787045000000LL},
        {R"("2025-01-02T03:04:05.1")", 1735787045100000LL},
        {R"("2025-01-02T03:04:05.1234567")", 1735787045123456LL},
        {R"("2025-01-02T03:04:05.123456789123")", 1735787045123456LL},
        {R"("2025-01-02T03:04:05,123")", 1735787045123000LL},
        {R"("2025-01-02T03:04:05Z")", 1735787045000000LL},
        {R"("2025-01-02T03:04:05z")", 1735787045000000LL},
        {R"("2025-01-02T03:04:05.5+02:00")", 1735779845500000LL},
        {R"("2025-01-02T03:04:05+0200")", 1735779845000000LL},
        {R"("2025-01-02T03:04:05-02:30")", 1735796045000000LL},
        {R"("2025-01-02T03:04:05-00:00")", 1735787045000000LL},
        {R"("2025-01-02T03:04")", 1735787040000000LL},
        {R"("2025-01-02")", 1735776000000000LL},
        {R"("2024-02-29T23:59:59.999999")", 1709251199999999LL},
        {R"("0001-01-01T00:00:00Z")", -62135596800000000LL},
        {R"("9999-12-31T23:59:59.999999Z")", 253402300799999999LL},
        {R"("1969-12-31T23:59:59.5Z")", -500000LL},
        {R"("2025-01-02T03:04:05+23:59")", 1735700705000000LL},
        {R"("1700000000")", 1700000000000000LL},
        {R"("1700000000.5")", 1700000000500000LL},
        {R"("-1.5")", -1500000LL},
        {R"("1.")", 1000000LL},
        {R"(".5")", 500000LL},
        {R"("+1")", 1000000LL},
        {R"("1700000000000")", 1700000000000000LL},  // beyond 2e10: milliseconds
        {R"("1700000000123")", 1700000000123000LL},
        {R"("20000000000")", 20000000000000000LL},
        {R"("1700000000.1234567")", 1700000000123457LL},  // numbers round to microseconds
        {"1700000000", 1700000000000000LL},
        {"1700000000.5", 1700000000500000LL},
        {"-1", -1000000LL},
        {"1700000000000", 1700000000000000LL},
        {"0", 0LL},
    };
    for (auto const& [json_text, micros] : cases) {
        INFO(json_text);
        auto const item = item_from(item_json(R"("end_of_turn","created_at":)" + json_text));
        CHECK(item_created_at(item) == from_micros(micros));
        if (json_text.front() == '"') {
            auto const parsed = parse_timestamp(json_text.substr(1, json_text.size() - 2));
            REQUIRE(parsed);
            CHECK(*parsed == from_micros(micros));
        }
    }
}

TEST_CASE("parse_timestamp rejects what pydantic rejects", "[protocol]") {
    TzGuard tz("UTC0");
    for (char const* bad : {"", "2025-01-02T03:04:05+02", "2025-01-02T03:04:05.Z", "2025-1-2T03:04:05",
                            "2025-01-02T24:00:00", "2025-02-30T00:00:00", "2025-02-29T00:00:00", "2025-01-02T03:04:60",
                            "2025-01-02T03:04:05+24:00", " 2025-01-02T03:04:05", "2025-01-02T03:04:05 ",
                            "+2025-01-02T03:04:05", "0000-01-01T00:00:00", "1e3", " 1700000000", "1_700_000_000",
                            "2025-01-02T03:04:05.123456+02:00[Europe]", "2025-01-02T03", "2025-01-02T3:04:05",
                            "2025-01-02T03:04:5", "2025-01-02 03:04:05.5 +02:00", "2025-01-02T03:04:05 Z",
                            "20250102T030405", "2025-01-02T03:04:05+02:00:00", "2025-01-02T03:04:05UTC", "1e20",
                            "-", ".", "nan"}) {
        INFO('"' << bad << '"');
        CHECK_FALSE(parse_timestamp(bad).has_value());
    }
    CHECK(error_of([] { item_from(item_json(R"("end_of_turn","created_at":"yesterday")")); }) ==
          "$.created_at: expected an ISO 8601 date-time");
    CHECK(error_of([] { item_from(item_json(R"("end_of_turn","created_at":true)")); }) ==
          "$.created_at: expected an ISO 8601 date-time");
    CHECK(error_of([] { item_from(item_json(R"("end_of_turn","created_at":1e20)")); }) ==
          "$.created_at: expected an ISO 8601 date-time");
}

TEST_CASE("Naive timestamps are local time and round-trip through a DST zone", "[protocol]") {
    TzGuard tz("CET-1CEST,M3.5.0,M10.5.0/3");
    CHECK(*parse_timestamp("2025-01-02T03:04:05") == from_micros(1735787045000000LL - 3600000000LL));
    CHECK(*parse_timestamp("2025-07-01T12:00:00") == from_micros(1751364000000000LL));  // 10:00Z in summer
    for (char const* s : {"2025-01-02T03:04:05.000006", "2025-07-01T12:00:00", "2025-10-26T01:30:00.5",
                          "1999-12-31T23:59:59.999999", "2025-03-30T03:00:00"}) {
        INFO(s);
        auto const t = parse_timestamp(s);
        REQUIRE(t);
        std::string expected = s;
        if (expected.ends_with(".5")) expected += "00000";
        CHECK(format_timestamp(*t) == expected);
    }
}

TEST_CASE("now() is the current time truncated to microseconds", "[protocol]") {
    auto const before = std::chrono::system_clock::now();
    Timestamp const t = now();
    auto const after = std::chrono::system_clock::now();
    CHECK(t <= after);
    CHECK(t >= std::chrono::floor<std::chrono::microseconds>(before));
    static_assert(std::is_same_v<Timestamp::duration, std::chrono::microseconds>);
}

// =============================================================================================
// Requests

TEST_CASE("Request bodies: accepted and rejected exactly as the reference (plus DESIGN decision 3)", "[protocol]") {
    auto const doc = boost::json::parse(read_text(data_path("requests.json")));
    std::size_t accepted = 0, rejected = 0;
    for (auto const& e : doc.as_array()) {
        auto const& c = e.as_object();
        std::string const name(c.at("name").as_string());
        std::string const body(c.at("body").as_string());
        bool const valid = (c.contains("cpp_valid") ? c.at("cpp_valid") : c.at("valid")).as_bool();
        INFO(name << ": " << body.substr(0, 300));
        boost::system::error_code ec;
        std::string diagnostics = "stale";
        (void)parse_request(body, ec, diagnostics);
        if (valid) {
            CHECK_FALSE(ec);
            CHECK(diagnostics.empty());
            CHECK(error_of([&] { parse_request(body); }).empty());
            ++accepted;
        } else {
            REQUIRE(ec);
            CHECK(ec == make_error_code(error::invalid_request));
            std::string const path(c.at("path").as_string());
            INFO("diagnostics: " << diagnostics);
            CHECK(diagnostics.rfind(path + ": ", 0) == 0);
            CHECK(error_of([&] { parse_request(body); }) == diagnostics);
            ++rejected;
        }
    }
    CHECK(accepted >= 45);
    CHECK(rejected >= 130);
}

TEST_CASE("Request errors name the path and the reason", "[protocol]") {
    CHECK(error_of([] { parse_request("{not json"); }) == "$: body is not valid JSON");
    CHECK(error_of([] { parse_request(R"({"type":"threads.list","params":{}} x)"); }) == "$: body is not valid JSON");
    CHECK(error_of([] { parse_request("[]"); }) == "$: expected an object");
    CHECK(error_of([] { parse_request(R"({"params":{}})"); }) == "$.type: field required");
    CHECK(error_of([] { parse_request(R"({"type":"threads.get_by_id","params":{}})"); }) ==
          "$.params.thread_id: field required");
    CHECK(error_of([] { parse_request(R"({"type":"threads.get_by_id","params":{"thread_id":42}})"); }) ==
          "$.params.thread_id: expected a string");
    CHECK(error_of([] { parse_request(R"({"type":"threads.list","params":{"order":"ASC"}})"); }) ==
          "$.params.order: expected one of asc, desc");
    CHECK(error_of([] { parse_request(R"({"type":"threads.list","params":{"order":null}})"); }) ==
          "$.params.order: expected one of asc, desc");
    CHECK(error_of([] { parse_request(R"({"type":"threads.list","params":{"limit":1.5}})"); }) ==
          "$.params.limit: expected an integer");
    CHECK(error_of([] { parse_request(R"({"type":"threads.list","params":{"limit":"99999999999999999999"}})"); }) ==
          "$.params.limit: integer out of range");
    CHECK(error_of([] { parse_request(R"({"type":"threads.list","params":null})"); }) == "$.params: expected an object");
    CHECK(error_of([] { parse_request(R"({"type":"threads.list","params":{},"metadata":null})"); }) ==
          "$.metadata: expected an object");
    CHECK(error_of([] {
              parse_request(
                  R"({"type":"threads.create","params":{"input":{"content":[{"type":"input_image"}],"attachments":[],"inference_options":{}}}})");
          }) == "$.params.input.content[0].type: expected one of input_text, input_tag");
    CHECK(error_of([] {
              parse_request(
                  R"({"type":"items.feedback","params":{"thread_id":"t","item_ids":["a",[]],"kind":"positive"}})");
          }) == "$.params.item_ids[1]: expected a string");
    CHECK(error_of([] {
              parse_request(
                  R"({"type":"threads.add_structured_input","params":{"thread_id":"t","item_id":"i","input":{"answers":{"q":{"skipped":"maybe"}}}}})");
          }) == "$.params.input.answers.q.skipped: expected a boolean");
    CHECK(error_of([] { parse_request(R"({"type":"threads.custom_action","params":{"thread_id":"t","action":{}}})"); }) ==
          "$.params.action.type: field required");
    CHECK(error_of([] { parse_request(R"({"type":"threads.rename","params":{}})"); })
              .rfind("$.type: expected one of threads.create, threads.add_user_message,", 0) == 0);
}

TEST_CASE("Request values: lax conversions, defaults and metadata", "[protocol]") {
    SECTION("lists") {
        auto const r = parse_request(R"({"type":"threads.list","params":{"limit":"1_0"},"metadata":{"page":{"url":"u"}}})");
        auto const& p = std::get<ThreadsListReq>(r.params);
        CHECK(p.limit == 10);
        CHECK(p.order == Order::desc);
        CHECK_FALSE(p.after);
        CHECK(chatkit::serialize(r.metadata) == R"({"page":{"url":"u"}})");
        CHECK_FALSE(r.is_streaming());

        auto const i = parse_request(R"({"type":"items.list","params":{"thread_id":"t","limit":2.0,"order":"asc","after":"x"}})");
        auto const& ip = std::get<ItemsListReq>(i.params);
        CHECK(ip.thread_id == "t");
        CHECK(ip.limit == 2);
        CHECK(ip.order == Order::asc);
        CHECK(ip.after == "x");

        auto const n = parse_request(R"({"type":"threads.list","params":{"limit":null}})");
        CHECK_FALSE(std::get<ThreadsListReq>(n.params).limit);
        // pydantic's lax mode reads booleans as integers.
        CHECK(std::get<ThreadsListReq>(parse_request(R"({"type":"threads.list","params":{"limit":true}})").params).limit == 1);
    }

    SECTION("user input") {
        auto const r = parse_request(
            R"({"type":"threads.add_user_message","params":{"thread_id":"t","input":{"content":[{"type":"input_tag","id":"e","text":"@e","interactive":"yes"},{"type":"input_text","text":"hi"}],"attachments":["a1","a2"],"quoted_text":"q","inference_options":{"tool_choice":{"id":"tool"},"model":null}}}})");
        auto const& p = std::get<ThreadsAddUserMessageReq>(r.params);
        CHECK(p.thread_id == "t");
        auto const& tag = std::get<UserMessageTagContent>(p.input.content.at(0));
        CHECK(tag.id == "e");
        CHECK(tag.data.empty());  // absent data defaults to {} (DESIGN decision 3)
        CHECK(tag.interactive);
        CHECK_FALSE(tag.group);
        CHECK(p.input.attachments == std::vector<std::string>{"a1", "a2"});
        CHECK(p.input.quoted_text == "q");
        CHECK(p.input.inference_options.tool_choice == ToolChoice{"tool"});
        CHECK_FALSE(p.input.inference_options.model);

        auto const direct = from_json<UserMessageInput>(parse_json(R"({"content":[],"attachments":[],"inference_options":{}})"));
        CHECK(direct.content.empty());
        CHECK(error_of([] { from_json<UserMessageInput>(parse_json(R"({"content":[],"inference_options":{}})")); }) ==
              "$.attachments: field required");
    }

    SECTION("client tool output, structured input, actions") {
        auto const tool = parse_request(R"({"type":"threads.add_client_tool_output","params":{"thread_id":"t","result":null}})");
        CHECK(std::get<ThreadsAddClientToolOutputReq>(tool.params).result.is_null());
        auto const tool2 = parse_request(R"({"type":"threads.add_client_tool_output","params":{"thread_id":"t","result":{"a":[1,null]}}})");
        CHECK(chatkit::serialize(std::get<ThreadsAddClientToolOutputReq>(tool2.params).result) == R"({"a":[1,null]})");

        auto const si = parse_request(
            R"({"type":"threads.add_structured_input","params":{"thread_id":"t","item_id":"i","input":{"answers":{"z":{"values":["B","C"]},"a":{"skipped":1}}}}})");
        auto const& sp = std::get<ThreadsAddStructuredInputReq>(si.params);
        CHECK(sp.item_id == "i");
        CHECK(sp.input.status == StructuredInputStatus::answered);
        REQUIRE(sp.input.answers.size() == 2);
        CHECK(sp.input.answers[0].first == "z");  // order received
        CHECK(sp.input.answers[0].second.values == std::vector<std::string>{"B", "C"});
        CHECK_FALSE(sp.input.answers[0].second.skipped);
        CHECK(sp.input.answers[1].first == "a");
        CHECK(sp.input.answers[1].second.skipped);
        auto const skipped = parse_request(
            R"({"type":"threads.add_structured_input","params":{"thread_id":"t","item_id":"i","input":{"status":"skipped"}}})");
        CHECK(std::get<ThreadsAddStructuredInputReq>(skipped.params).input.status == StructuredInputStatus::skipped);

        auto const act = parse_request(
            R"({"type":"threads.custom_action","params":{"thread_id":"t","item_id":"w","action":{"type":"go","payload":{"n":1},"handler":"client"}}})");
        auto const& ap = std::get<ThreadsCustomActionReq>(act.params);
        CHECK(ap.item_id == "w");
        CHECK(ap.action.type == "go");
        CHECK(chatkit::serialize(ap.action.payload) == R"({"n":1})");
        CHECK(act.is_streaming());
        auto const sync = parse_request(R"({"type":"threads.sync_custom_action","params":{"thread_id":"t","action":{"type":"go"}}})");
        auto const& syncp = std::get<ThreadsSyncCustomActionReq>(sync.params);
        CHECK_FALSE(syncp.item_id);
        CHECK(syncp.action.payload.is_null());
        CHECK_FALSE(sync.is_streaming());
    }

    SECTION("the other requests") {
        auto const fb = parse_request(R"({"type":"items.feedback","params":{"thread_id":"t","item_ids":["a"],"kind":"negative"}})");
        CHECK(std::get<ItemsFeedbackReq>(fb.params).kind == FeedbackKind::negative);
        auto const ac = parse_request(R"({"type":"attachments.create","params":{"name":"f","size":" 12 ","mime_type":"text/plain"}})");
        auto const& acp = std::get<AttachmentsCreateReq>(ac.params).params;
        CHECK(acp.name == "f");
        CHECK(acp.size == 12);
        CHECK(acp.mime_type == "text/plain");
        auto const tr = parse_request(R"({"type":"input.transcribe","params":{"audio_base64":"aGk=","mime_type":"audio/webm;codecs=opus"}})");
        auto const& trp = std::get<InputTranscribeReq>(tr.params);
        CHECK(trp.audio_base64 == "aGk=");
        CHECK(AudioInput{decode_base64(trp.audio_base64), trp.mime_type}.media_type() == "audio/webm");
        CHECK(std::get<ThreadsUpdateReq>(parse_request(R"({"type":"threads.update","params":{"thread_id":"t","title":"x"}})").params).title == "x");
        CHECK(std::get<AttachmentsDeleteReq>(parse_request(R"({"type":"attachments.delete","params":{"attachment_id":"a"}})").params).attachment_id == "a");
        CHECK(std::get<ThreadsRetryAfterItemReq>(parse_request(R"({"type":"threads.retry_after_item","params":{"thread_id":"t","item_id":"u"}})").params).item_id == "u");
    }
}

TEST_CASE("Request type names and streaming flags", "[protocol]") {
    std::vector<std::pair<std::string, bool>> const types{
        {"threads.create", true},           {"threads.add_user_message", true},  {"threads.add_client_tool_output", true},
        {"threads.add_structured_input", true}, {"threads.retry_after_item", true}, {"threads.custom_action", true},
        {"threads.sync_custom_action", false}, {"threads.get_by_id", false},    {"threads.list", false},
        {"items.list", false},              {"items.feedback", false},          {"attachments.create", false},
        {"attachments.delete", false},      {"threads.update", false},          {"threads.delete", false},
        {"input.transcribe", false}};
    auto const doc = boost::json::parse(read_text(data_path("requests.json")));
    std::set<std::string> seen;
    for (auto const& e : doc.as_array()) {
        auto const& c = e.as_object();
        if (c.contains("path") || c.contains("cpp_valid")) continue;
        auto const req = parse_request(std::string(c.at("body").as_string()));
        std::string const type = req.type();
        auto const it = std::find_if(types.begin(), types.end(), [&](auto const& t) { return t.first == type; });
        REQUIRE(it != types.end());
        CHECK(req.is_streaming() == it->second);
        // type() is the body's "type".
        CHECK(parse_json(std::string(c.at("body").as_string())).at("type").as_string() == type);
        seen.insert(type);
    }
    CHECK(seen.size() == 16);
}

// =============================================================================================
// Store-form readers: strictness and tolerance

TEST_CASE("Item readers: tags, required keys, nullable keys", "[protocol]") {
    TzGuard tz("UTC0");
    CHECK(error_of([] { item_from(item_json(R"("note")")); })
              .rfind("$.type: expected one of user_message, assistant_message,", 0) == 0);
    CHECK(error_of([] { item_from(R"({"id":"i","thread_id":"t","created_at":"2025-01-02T03:04:05"})"); }) ==
          "$.type: field required");
    CHECK(error_of([] { item_from(R"({"thread_id":"t","created_at":"2025-01-02","type":"end_of_turn"})"); }) ==
          "$.id: field required");
    CHECK(error_of([] { item_from(R"({"id":"i","thread_id":"t","type":"end_of_turn"})"); }) == "$.created_at: field required");
    // Absent content reads as null: the written form omits a null content.
    CHECK(std::get<HiddenContextItem>(item_from(item_json(R"("hidden_context_item")"))).content.is_null());
    CHECK(std::get<HiddenContextItem>(item_from(item_json(R"("hidden_context_item","content":null)"))).content.is_null());
    CHECK(error_of([] { item_from(item_json(R"("sdk_hidden_context","content":null)")); }) == "$.content: expected a string");
    CHECK(error_of([] { item_from(item_json(R"("client_tool_call","status":"running","call_id":"c","name":"n","arguments":{})")); }) ==
          "$.status: expected one of pending, completed");
    CHECK(error_of([] { item_from(item_json(R"("client_tool_call","call_id":"c","name":"n","arguments":[])")); }) ==
          "$.arguments: expected an object");
    auto const call = std::get<ClientToolCallItem>(item_from(item_json(R"("client_tool_call","call_id":"c","name":"n","arguments":{},"output":null)")));
    CHECK(call.status == ToolCallStatus::pending);
    CHECK(call.output.is_null());
    CHECK(error_of([] { item_from(item_json(R"("user_message","content":[],"inference_options":null)")); }) ==
          "$.inference_options: expected an object");
    CHECK(error_of([] { item_from(item_json(R"("user_message","content":[],"attachments":null,"inference_options":{})")); }) ==
          "$.attachments: expected an array");
    CHECK(error_of([] {
              item_from(item_json(R"("assistant_message","content":[{"text":"x","type":"input_text"}])"));
          }) == "$.content[0].type: expected output_text");
    CHECK(error_of([] { item_from(item_json(R"("task","task":{"type":"custom","icon":"not-an-icon"})")); }) ==
          "$.task.icon: expected an icon name");
    CHECK(error_of([] { item_from(item_json(R"("task","task":{"type":"thought","status_indicator":"done","content":"x"})")); }) ==
          "$.task.status_indicator: expected one of none, loading, complete");
    CHECK(error_of([] { item_from(item_json(R"("structured_input","inputs":[{"type":"freeform","id":"f"}])")); }) ==
          "$.inputs[0].question: field required");
    CHECK(error_of([] {
              item_from(item_json(R"("workflow","workflow":{"type":"custom","tasks":[{"type":"thought","content":"c"},{"type":"video"}]})"));
          }) == "$.workflow.tasks[1].type: expected one of custom, web_search, thought, file, image");
    CHECK(error_of([] { item_from(item_json(R"("workflow","workflow":{"tasks":[]})")); }) == "$.workflow.type: field required");
    CHECK(error_of([] { item_from(item_json(R"("generated_image","image":{"id":"g"})")); }) == "$.image.url: field required");
    CHECK(error_of([] { from_json<ThreadItem>(JsonValue(5)); }) == "$: expected an object");
}

TEST_CASE("Workflow summaries, annotation sources and task sources", "[protocol]") {
    TzGuard tz("UTC0");
    auto const duration = std::get<WorkflowItem>(item_from(item_json(R"("workflow","workflow":{"type":"reasoning","tasks":[],"summary":{"duration":"7","title":"ignored"}})")));
    CHECK(duration.workflow.summary == WorkflowSummary{DurationSummary{7}});
    auto const custom = std::get<WorkflowItem>(item_from(item_json(R"("workflow","workflow":{"type":"custom","tasks":[],"summary":{"title":"T","icon":"lucide:x"}})")));
    CHECK(custom.workflow.summary == WorkflowSummary{CustomSummary{"T", "lucide:x"}});
    CHECK(error_of([] { item_from(item_json(R"("workflow","workflow":{"type":"custom","tasks":[],"summary":{}})")); }) ==
          "$.workflow.summary.title: field required");

    // Annotation.source is a plain union in the reference: its type may be left out.
    auto const msg = std::get<AssistantMessageItem>(item_from(item_json(
        R"("assistant_message","content":[{"text":"x","annotations":[{"source":{"title":"a","url":"u"}},{"source":{"title":"b","filename":"f"}},{"source":{"title":"c","id":"e"}}]}])")));
    auto const& anns = msg.content.at(0).annotations;
    CHECK(std::holds_alternative<URLSource>(anns.at(0).source));
    CHECK(std::holds_alternative<FileSource>(anns.at(1).source));
    CHECK(std::holds_alternative<EntitySource>(anns.at(2).source));
    CHECK(error_of([] { from_json<Source>(parse_json(R"({"title":"a","url":"u"})")); }) == "$.type: field required");
    CHECK(error_of([] { from_json<Source>(parse_json(R"({"title":"a","type":"entity","id":"e","preview":"eager"})")); }) ==
          "$.preview: expected lazy");

    auto const search = std::get<WebSearchTask>(from_json<Task>(parse_json(R"({"type":"web_search","sources":[{"title":"t","url":"u"}]})")));
    CHECK(search.sources.at(0).url == "u");
    CHECK(error_of([] { from_json<Task>(parse_json(R"({"type":"web_search","sources":[{"title":"t","type":"file","url":"u"}]})")); }) ==
          "$.sources[0].type: expected url");
}

TEST_CASE("Attachment readers: tags, image preview, upload descriptors", "[protocol]") {
    CHECK(error_of([] { from_json<Attachment>(parse_json(R"({"id":"a","name":"n","mime_type":"m","type":"video"})")); }) ==
          "$.type: expected one of file, image");
    CHECK(error_of([] { from_json<Attachment>(parse_json(R"({"id":"a","name":"n","mime_type":"m","type":"image"})")); }) ==
          "$.preview_url: field required");
    CHECK(error_of([] {
              from_json<Attachment>(parse_json(R"({"id":"a","name":"n","mime_type":"m","type":"image","preview_url":"/x.png"})"));
          }) == "$.preview_url: expected an absolute URL");
    CHECK(error_of([] {
              from_json<Attachment>(parse_json(
                  R"({"id":"a","name":"n","mime_type":"m","type":"file","upload_descriptor":{"url":"https://u/","method":"GET"}})"));
          }) == "$.upload_descriptor.method: expected one of POST, PUT");
    CHECK(error_of([] {
              from_json<Attachment>(parse_json(
                  R"({"id":"a","name":"n","mime_type":"m","type":"file","upload_descriptor":{"url":"http://","method":"PUT"}})"));
          }) == "$.upload_descriptor.url: expected an absolute URL");
    CHECK(error_of([] {
              from_json<Attachment>(parse_json(
                  R"({"id":"a","name":"n","mime_type":"m","type":"file","upload_descriptor":{"url":"https://u/","method":"PUT","headers":{"X-A":1}}})"));
          }) == "$.upload_descriptor.headers.X-A: expected a string");

    auto const a = from_json<Attachment>(parse_json(
        R"({"id":"a","name":"n","mime_type":"m","type":"image","preview_url":"https://cdn.test","upload_descriptor":{"url":"https://u.test","method":"POST","headers":{"B":"1","A":"2"}},"thread_id":null,"metadata":{"k":[null]}})"));
    CHECK(a.type == AttachmentType::image);
    CHECK(a.preview_url == "https://cdn.test");  // kept as given, normalized when written
    REQUIRE(a.upload_descriptor);
    CHECK(a.upload_descriptor->headers == std::vector<std::pair<std::string, std::string>>{{"B", "1"}, {"A", "2"}});
    CHECK_FALSE(a.thread_id);
    CHECK(chatkit::serialize(JsonValue(*a.metadata)) == R"({"k":[null]})");
    CHECK(chatkit::serialize(to_json(a, JsonMode::store)) ==
          R"({"id":"a","name":"n","mime_type":"m","upload_descriptor":{"url":"https://u.test/","method":"POST","headers":{"B":"1","A":"2"}},"metadata":{"k":[null]},"type":"image","preview_url":"https://cdn.test/"})");
}

TEST_CASE("Widget readers accept store forms with children null; roots are checked", "[protocol]") {
    TzGuard tz("UTC0");
    auto const w = std::get<WidgetItem>(item_from(item_json(
        R"("widget","widget":{"type":"Basic","children":null,"x":{"children":null}},"copy_text":null)")));
    CHECK(w.widget.at("children").is_null());
    CHECK(chatkit::serialize(to_json(ThreadItem{w})).find("null") == std::string::npos);
    CHECK(error_of([] { item_from(item_json(R"("widget","widget":{"type":"Text","value":"x"})")); }) ==
          "$.widget.type: expected one of Card, ListView, Basic");
    CHECK(error_of([] { item_from(item_json(R"("widget","widget":[])")); }) == "$.widget: expected an object");
    CHECK(error_of([] {
              from_json<ThreadItemUpdate>(parse_json(R"({"type":"widget.component.updated","component_id":"c","component":{"value":"x"}})"));
          }) == "$.component.type: field required");
}

TEST_CASE("Thread readers: status, defaults, pages", "[protocol]") {
    TzGuard tz("UTC0");
    auto const t = from_json<ThreadMetadata>(parse_json(R"({"id":"t","created_at":"2025-01-02T03:04:05","status":{"type":"active","reason":"x"}})"));
    CHECK(t.status == ThreadStatus::active());
    CHECK_FALSE(t.title);
    CHECK(t.metadata.empty());
    CHECK_FALSE(t.allowed_image_domains);
    CHECK(error_of([] { from_json<ThreadMetadata>(parse_json(R"({"id":"t","created_at":"2025-01-02","status":null})")); }) ==
          "$.status: expected an object");
    CHECK(error_of([] { from_json<ThreadMetadata>(parse_json(R"({"id":"t","created_at":"2025-01-02","status":{"type":"archived"}})")); }) ==
          "$.status.type: expected one of active, locked, closed");
    CHECK(error_of([] { from_json<ThreadMetadata>(parse_json(R"({"id":"t","created_at":"2025-01-02","metadata":null})")); }) ==
          "$.metadata: expected an object");
    CHECK(error_of([] { from_json<Thread>(parse_json(R"({"id":"t","created_at":"2025-01-02"})")); }) == "$.items: field required");
    CHECK(error_of([] { from_json<Page<ThreadItem>>(parse_json(R"({"data":[{"type":"end_of_turn"}]})")); }) ==
          "$.data[0].id: field required");
    auto const page = from_json<Page<ThreadItem>>(parse_json("{}"));
    CHECK(page.data.empty());
    CHECK_FALSE(page.has_more);
    CHECK_FALSE(page.after);
}

TEST_CASE("Event and update readers", "[protocol]") {
    CHECK(error_of([] { from_json<ThreadStreamEvent>(parse_json(R"({"type":"thread.deleted"})")); })
              .rfind("$.type: expected one of thread.created,", 0) == 0);
    CHECK(error_of([] { from_json<ThreadStreamEvent>(parse_json(R"({"type":"error","code":"oops"})")); }) ==
          "$.code: expected one of stream.error, custom");
    auto const e = std::get<ErrorEvent>(from_json<ThreadStreamEvent>(parse_json(R"({"type":"error"})")));
    CHECK(e.code == "custom");
    CHECK_FALSE(e.allow_retry);
    CHECK(error_of([] { from_json<ThreadStreamEvent>(parse_json(R"({"type":"stream_options","stream_options":{}})")); }) ==
          "$.stream_options.allow_cancel: field required");
    CHECK(error_of([] { from_json<ThreadStreamEvent>(parse_json(R"({"type":"progress_update","icon":"rocket","text":"x"})")); }) ==
          "$.icon: expected an icon name");
    CHECK(error_of([] { from_json<ThreadStreamEvent>(parse_json(R"({"type":"notice","message":"m"})")); }) ==
          "$.level: field required");
    auto const u = std::get<GeneratedImageUpdated>(from_json<ThreadItemUpdate>(
        parse_json(R"({"type":"generated_image.updated","image":{"id":"g","url":"u"},"progress":"0.25"})")));
    CHECK(u.progress == 0.25);
    CHECK(error_of([] {
              from_json<ThreadItemUpdate>(parse_json(R"({"type":"generated_image.updated","image":{"id":"g","url":"u"},"progress":"half"})"));
          }) == "$.progress: expected a number");
    CHECK(error_of([] {
              from_json<ThreadStreamEvent>(parse_json(
                  R"({"type":"thread.item.updated","item_id":"i","update":{"type":"assistant_message.content_part.text_delta","content_index":"x","delta":"d"}})"));
          }) == "$.update.content_index: expected an integer");
}

// =============================================================================================
// JSON text, base64, icons, ids, accessors

TEST_CASE("parse_json rejects invalid JSON and trailing characters", "[protocol]") {
    for (char const* bad : {"", " ", "{", "{}x", "{} {}", "[1,]", "{\"a\":01}", "{'a':1}", "\"\xff\"", "nul", "{\"a\":1}//"}) {
        INFO(bad);
        CHECK(error_of([&] { parse_json(bad); }) == "$: body is not valid JSON");
    }
    CHECK(chatkit::serialize(parse_json(" {\"a\":1,\"b\":2,\"a\":3} \n")) == R"({"a":3,"b":2})");  // duplicate: last value wins
    CHECK(parse_json("\"x\"").as_string() == "x");
}

TEST_CASE("One nesting limit: max_json_depth levels parse, one more does not", "[protocol]") {
    auto nested = [](std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); };
    CHECK(json_text_depth(nested(max_json_depth)) == max_json_depth);
    CHECK_NOTHROW(parse_json(nested(max_json_depth)));
    CHECK(error_of([&] { parse_json(nested(max_json_depth + 1)); }) ==
          "$: body nests deeper than " + std::to_string(max_json_depth) + " levels");
    CHECK(json_text_depth(R"({"a":"[[[{{{","b":[{"c":"\"]"}]})") == 3);
    CHECK(json_text_depth("17") == 0);
}

TEST_CASE("A request naming a top-level member or a parameter twice is refused", "[protocol]") {
    CHECK(error_of([] { parse_request(R"({"type":"threads.list","type":"threads.delete","params":{"thread_id":"t"}})"); }) ==
          R"($: duplicate member "type")");
    CHECK(error_of([] { parse_request(R"({"type":"threads.delete","params":{"thread_id":"a","thread_id":"b"}})"); }) ==
          R"($.params: duplicate member "thread_id")");
    CHECK(error_of([] {
              parse_request(R"({"type":"threads.list","params":{},"metadata":{},"metadata":{}})");
          }) == R"($: duplicate member "metadata")");
    // Deeper objects keep the reference's last-one-wins reading (free-form data, widget state).
    auto r = parse_request(R"({"type":"threads.update","params":{"thread_id":"t","title":"x"},"metadata":{"a":1,"a":2}})");
    CHECK(chatkit::serialize(r.metadata) == R"({"a":2})");
    // The same name at two levels is not a duplicate.
    CHECK_NOTHROW(parse_request(R"({"type":"threads.delete","params":{"thread_id":"t","type":"x"}})"));
}

TEST_CASE("Base64 decoding mirrors Python's base64.b64decode", "[protocol]") {
    CHECK(decode_base64("aGVsbG8=") == "hello");
    CHECK(decode_base64("aGVs bG8=\n") == "hello");      // white space skipped
    CHECK(decode_base64("aGVsbG8=garbage") == "hello");  // data after the padding ignored
    CHECK(decode_base64("abcd") == "i\xb7\x1d"s);
    CHECK(decode_base64("ab==") == "i");
    CHECK(decode_base64("ab=c=") == "i\xb7"s);
    CHECK(decode_base64("ab==cd==") == "i");
    CHECK(decode_base64("").empty());
    CHECK(decode_base64("====").empty());
    CHECK(decode_base64("a-b_cd") == decode_base64("abcd"));  // URL-safe characters skipped
    CHECK(decode_base64("_-+/==") == "\xfb"s);
    CHECK(error_of([] { decode_base64("aGVsbG8"); }) == "$.params.audio_base64: Incorrect padding");
    CHECK(error_of([] { decode_base64("ab"); }) == "$.params.audio_base64: Incorrect padding");
    CHECK(error_of([] { decode_base64("ab="); }) == "$.params.audio_base64: Incorrect padding");
    CHECK(error_of([] { decode_base64("=ab="); }) == "$.params.audio_base64: Incorrect padding");
    CHECK(error_of([] { decode_base64("a-b_c"); }) == "$.params.audio_base64: Incorrect padding");
    CHECK(error_of([] { decode_base64("a"); }) ==
          "$.params.audio_base64: Invalid base64-encoded string: number of data characters (1) cannot be 1 more than a multiple of 4");
    CHECK(error_of([] { decode_base64("abcda==="); }) ==
          "$.params.audio_base64: Invalid base64-encoded string: number of data characters (5) cannot be 1 more than a multiple of 4");
    CHECK(error_of([] { decode_base64("aGVsbG8=\xC3\xA9"); }) ==
          "$.params.audio_base64: string argument should contain only ASCII characters");
}

TEST_CASE("Base64 encoding is standard with padding and round-trips", "[protocol]") {
    CHECK(encode_base64("") == "");
    CHECK(encode_base64("f") == "Zg==");
    CHECK(encode_base64("fo") == "Zm8=");
    CHECK(encode_base64("foo") == "Zm9v");
    CHECK(encode_base64("hello") == "aGVsbG8=");
    CHECK(encode_base64("\xff\xfe\xfd"s) == "//79");
    std::string all;
    for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
    for (std::size_t n = 0; n <= all.size(); n += 37) CHECK(decode_base64(encode_base64(all.substr(0, n))) == all.substr(0, n));
}

TEST_CASE("Icon names: the 64 fixed names and vendor:/lucide: prefixes", "[protocol]") {
    for (char const* ok : {"agent", "book-open", "check-circle-filled", "search", "sparkle", "write-alt2", "wreath",
                           "vendor:acme", "lucide:rocket", "vendor:"}) {
        INFO(ok);
        CHECK(is_valid_icon_name(ok));
    }
    for (char const* bad : {"", "rocket", "Search", "search ", "vendor", "lucide", "write-alt3", "Vendor:x"}) {
        INFO(bad);
        CHECK_FALSE(is_valid_icon_name(bad));
    }
}

TEST_CASE("Default ids: prefix, underscore and 32 lowercase hex digits, unique across threads", "[protocol]") {
    std::vector<std::pair<StoreItemType, std::string>> const prefixes{
        {StoreItemType::thread, "thr"},   {StoreItemType::message, "msg"},     {StoreItemType::tool_call, "tc"},
        {StoreItemType::task, "tsk"},     {StoreItemType::workflow, "wf"},     {StoreItemType::attachment, "atc"},
        {StoreItemType::sdk_hidden_context, "shcx"}};
    for (auto const& [type, prefix] : prefixes) {
        CHECK(id_prefix(type) == prefix);
        CHECK(std::regex_match(default_generate_id(type), std::regex(prefix + "_[0-9a-f]{32}")));
    }
    std::mutex m;
    std::set<std::string> ids;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            std::vector<std::string> local;
            for (int i = 0; i < 500; ++i) local.push_back(default_generate_id(StoreItemType::message));
            std::lock_guard lock(m);
            ids.insert(local.begin(), local.end());
        });
    }
    for (auto& th : threads) th.join();
    CHECK(ids.size() == 2000);  // 128 random bits each: a collision would mean a broken generator
    CHECK(chatkit::random_hex(12).size() == 24);
    CHECK(chatkit::random_hex(0).empty());
    CHECK(chatkit::random_hex(100).size() == 200);
}

TEST_CASE("Item accessors, hidden items, event and update type names", "[protocol]") {
    HiddenContextItem h;
    h.id = "h1";
    h.thread_id = "t1";
    h.created_at = from_micros(42);
    ThreadItem const item = h;
    CHECK(item_id(item) == "h1");
    CHECK(item_thread_id(item) == "t1");
    CHECK(item_created_at(item) == from_micros(42));
    CHECK(std::string(item_type(item)) == "hidden_context_item");
    CHECK(is_hidden(item));
    CHECK(is_hidden(ThreadItem{SDKHiddenContextItem{}}));
    CHECK_FALSE(is_hidden(ThreadItem{AssistantMessageItem{}}));
    CHECK(std::string(item_type(ThreadItem{SDKHiddenContextItem{}})) == "sdk_hidden_context");
    CHECK(std::string(event_type(ThreadItemRemovedEvent{"x"})) == "thread.item.removed");
    CHECK(std::string(event_type(StreamOptionsEvent{})) == "stream_options");
    CHECK(std::string(update_type(WidgetStreamingTextValueDelta{})) == "widget.streaming_text.value_delta");
    CHECK(std::string(update_type(AssistantMessageContentPartAnnotationAdded{})) ==
          "assistant_message.content_part.annotation_added");
}
