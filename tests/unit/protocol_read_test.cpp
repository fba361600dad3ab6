// Behaviour tests of the protocol codec, readers: requests accepted and rejected exactly as the
// reference, lax conversions, item/attachment/widget/thread/event readers, JSON parsing limits,
// audio_base64, icon names, ids and accessors.
#include "protocol_test_support.hpp"

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

#include <sys/wait.h>
#include <unistd.h>

using namespace chatkit;
using namespace protocol_test;
using namespace std::string_literals;

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

TEST_CASE("audio_base64 is decoded as Python's base64.b64decode does", "[protocol]") {
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

TEST_CASE("Random ids: a forked child never hands out its parent's next bytes", "[protocol]") {
    // Ids are cut from per-thread batches of CSPRNG output; a child forked with part of a batch
    // left must draw a new one, or parent and child would generate the same next ids.
    (void)chatkit::random_hex(16);  // the batch now has bytes left
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    pid_t const child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        std::string const id = chatkit::random_hex(16);
        auto const written = ::write(pipe_fds[1], id.data(), id.size());
        ::_exit(written == static_cast<ssize_t>(id.size()) ? 0 : 1);
    }
    ::close(pipe_fds[1]);
    std::string const mine = chatkit::random_hex(16);
    std::string theirs(32, '\0');
    std::size_t got = 0;
    while (got < theirs.size()) {
        auto const n = ::read(pipe_fds[0], theirs.data() + got, theirs.size() - got);
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
    }
    ::close(pipe_fds[0]);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    REQUIRE(got == 32);
    CHECK(std::regex_match(theirs, std::regex("[0-9a-f]{32}")));
    CHECK(mine != theirs);
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

TEST_CASE("text_of: a user message's text, parts joined as the reference's converter joins them", "[protocol]") {
    UserMessageItem message;
    CHECK(text_of(message).empty());  // no parts: no text

    // Parts are concatenated in order without a separator; an @-mention reads as "@" + its text.
    message.content.emplace_back(UserMessageTextContent{"Ask "});
    message.content.emplace_back(UserMessageTagContent{"user_1", "Ada", {}, std::nullopt, false});
    message.content.emplace_back(UserMessageTextContent{" about "});
    message.content.emplace_back(UserMessageTagContent{"city_2", "Paris", {{"k", "v"}}, "places", true});
    message.content.emplace_back(UserMessageTextContent{"\n  twice?"});
    CHECK(text_of(message) == "Ask @Ada about @Paris\n  twice?");

    // Attachments and quoted text are not part of the text.
    message.quoted_text = "quoted";
    Attachment attachment;
    attachment.id = "atc_1";
    attachment.name = "a.txt";
    message.attachments.push_back(attachment);
    CHECK(text_of(message) == "Ask @Ada about @Paris\n  twice?");
}
