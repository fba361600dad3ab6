// Items and model events: exact Responses JSON in, exact Responses JSON out.
#include <chatkit/agents/model.hpp>

#include <boost/json/parse.hpp>

namespace ag = chatkit::agents;
namespace json = boost::json;

namespace {
json::object obj(std::string_view text) { return json::parse(text).as_object(); }

/// `text` read as an item and written back.
std::string rewritten(std::string_view text) { return json::serialize(ag::to_json(ag::item_from_json(obj(text)))); }
}  // namespace

TEST_CASE("items: Responses output items round-trip byte for byte", "[agents][items]") {
    // Byte for byte: the same values, in the wire key order.
    for (std::string_view text : {R"({"id":"msg_1","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hello world","annotations":[],"logprobs":[]}]})",
         R"({"id":"fc_1","type":"function_call","status":"completed","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"})",
         R"({"id":"rs_1","type":"reasoning","summary":[{"type":"summary_text","text":"Need weather"}]})",
         R"({"id":"rs_2","type":"reasoning","summary":[],"content":[{"type":"reasoning_text","text":"raw"}],"encrypted_content":"xyz"})",
         R"({"id":"msg_2","type":"message","status":"completed","role":"assistant","content":[{"type":"refusal","refusal":"No."}]})"})
        CHECK(rewritten(text) == text);
}

TEST_CASE("items: Responses input items round-trip byte for byte", "[agents][items]") {
    // Byte for byte: the same values, in the wire key order.
    for (std::string_view text : {R"({"type":"message","role":"user","content":[{"type":"input_text","text":"Weather in Paris?"}]})",
         R"({"type":"message","role":"assistant","content":[{"type":"output_text","text":"Let me check.","annotations":[]}]})",
         R"({"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"})",
         R"({"type":"function_call_output","call_id":"call_1","output":"{\"temp_c\":21}"})",
         R"({"type":"message","role":"user","content":[{"type":"input_image","image_url":"data:image/png;base64,AAAA","detail":"auto"},{"type":"input_file","file_id":"file_1","filename":"a.pdf"}]})"})
        CHECK(rewritten(text) == text);
}

TEST_CASE("items: unknown item types are kept verbatim", "[agents][items]") {
    auto const raw = obj(R"({"id":"ig_1","type":"image_generation_call","status":"completed","result":"AAAA"})");
    auto item = ag::item_from_json(raw);
    REQUIRE(std::holds_alternative<ag::OpaqueItem>(item));
    CHECK(ag::item_type(item) == "image_generation_call");
    CHECK(ag::item_id(item) == std::optional<std::string>("ig_1"));
    CHECK(json::serialize(ag::to_json(item)) == json::serialize(raw));
}

TEST_CASE("items: easy-form messages are read as parts", "[agents][items]") {
    auto user = std::get<ag::MessageItem>(ag::item_from_json(obj(R"({"role":"user","content":"hi"})")));
    CHECK(user.role == "user");
    CHECK(ag::message_text(user) == "hi");
    CHECK(json::serialize(ag::to_json(ag::Item(user))) ==
          R"({"type":"message","role":"user","content":[{"type":"input_text","text":"hi"}]})");
    auto assistant = std::get<ag::MessageItem>(
        ag::item_from_json(obj(R"({"type":"message","role":"assistant","content":"ok"})")));
    REQUIRE(std::holds_alternative<ag::OutputText>(assistant.content.at(0)));
    CHECK(ag::message_text(assistant) == "ok");
}

TEST_CASE("items: malformed known items are rejected with a clear error", "[agents][items]") {
    CHECK_THROWS_AS(ag::item_from_json(obj(R"({"type":"function_call","name":"x"})")), ag::ModelProtocolError);
    CHECK_THROWS_AS(ag::item_from_json(obj(R"({"content":"no type, no role"})")), ag::ModelProtocolError);
    CHECK_THROWS_AS(ag::item_from_json(json::value(42)), ag::ModelProtocolError);
    CHECK_THROWS_AS(ag::item_from_json(obj(R"({"type":"message","role":"user","content":[{"type":"audio"}]})")),
                    ag::ModelProtocolError);
}

TEST_CASE("events: Responses SSE payloads parse and write back identically", "[agents][events]") {
    std::vector<std::string_view> payloads = {
        R"({"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"msg_1","type":"message","status":"in_progress","role":"assistant","content":[]}})",
        R"({"type":"response.content_part.added","sequence_number":3,"item_id":"msg_1","output_index":0,"content_index":0,"part":{"type":"output_text","text":"","annotations":[],"logprobs":[]}})",
        R"({"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hello","logprobs":[]})",
        R"({"type":"response.output_text.done","sequence_number":6,"item_id":"msg_1","output_index":0,"content_index":0,"text":"Hello world","logprobs":[]})",
        R"({"type":"response.output_text.annotation.added","sequence_number":7,"item_id":"msg_1","output_index":0,"content_index":0,"annotation_index":0,"annotation":{"type":"url_citation","url":"https://example.com","title":"Example","start_index":0,"end_index":5}})",
        R"({"type":"response.reasoning_summary_part.added","sequence_number":3,"item_id":"rs_1","output_index":0,"summary_index":0,"part":{"type":"summary_text","text":""}})",
        R"({"type":"response.reasoning_summary_text.delta","sequence_number":4,"item_id":"rs_1","output_index":0,"summary_index":0,"delta":"Need weather"})",
        R"({"type":"response.reasoning_summary_text.done","sequence_number":5,"item_id":"rs_1","output_index":0,"summary_index":0,"text":"Need weather"})",
        R"({"type":"response.function_call_arguments.delta","sequence_number":9,"item_id":"fc_1","output_index":1,"delta":"{\"city\":\"Paris\"}"})",
        R"({"type":"response.function_call_arguments.done","sequence_number":10,"item_id":"fc_1","output_index":1,"name":"get_weather","arguments":"{\"city\":\"Paris\"}"})",
        R"({"type":"response.refusal.delta","sequence_number":4,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"No"})",
        R"({"type":"error","sequence_number":2,"code":"rate_limit_exceeded","message":"Rate limit reached.","param":null})",
    };
    for (auto p : payloads) {
        INFO(p);
        auto ev = ag::parse_model_event(p);
        CHECK(ev.kind != ag::ModelEventKind::Other);
        CHECK(json::serialize(ag::to_json(ev)) == p);
        ev.raw = {};  // built from fields alone
        CHECK(json::serialize(ag::to_json(ev)) == p);
    }
}

TEST_CASE("events: fields of the common events are decoded", "[agents][events]") {
    auto delta = ag::parse_model_event(
        R"({"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hello","logprobs":[],"obfuscation":"x"})");
    CHECK(delta.kind == ag::ModelEventKind::OutputTextDelta);
    CHECK(delta.sequence_number == 4);
    CHECK(delta.item_id == "msg_1");
    CHECK(delta.content_index == 0);
    CHECK(delta.delta == "Hello");

    auto done = ag::parse_model_event(
        R"({"type":"response.output_item.done","sequence_number":11,"output_index":1,"item":{"id":"fc_1","type":"function_call","status":"completed","call_id":"call_1","name":"get_weather","arguments":"{}"}})");
    REQUIRE(done.item);
    CHECK(std::get<ag::FunctionCallItem>(*done.item).call_id == "call_1");
    CHECK(done.item_id == "fc_1");

    auto failed = ag::parse_model_event(
        R"({"type":"response.failed","sequence_number":4,"response":{"id":"resp_3","status":"failed","output":[],"error":{"code":"server_error","message":"The model failed."}}})");
    CHECK(failed.is_terminal());
    CHECK(failed.code == "server_error");
    CHECK(failed.message == "The model failed.");

    auto queued = ag::parse_model_event(R"({"type":"response.queued","sequence_number":1,"response":{}})");
    CHECK(queued.kind == ag::ModelEventKind::Other);
    CHECK(json::serialize(ag::to_json(queued)) == R"({"type":"response.queued","sequence_number":1,"response":{}})");

    CHECK_THROWS_AS(ag::parse_model_event("not json"), ag::ModelProtocolError);
    CHECK_THROWS_AS(ag::parse_model_event(R"({"sequence_number":1})"), ag::ModelProtocolError);
}

TEST_CASE("events: response.completed yields the model response", "[agents][events]") {
    auto ev = ag::parse_model_event(
        R"({"type":"response.completed","sequence_number":9,"response":{"id":"resp_1","object":"response","created_at":1700000000,"status":"completed","model":"gpt-4.1-mini","output":[{"id":"msg_1","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hello world","annotations":[],"logprobs":[]}]}],"parallel_tool_calls":true,"tool_choice":"auto","tools":[],"usage":{"input_tokens":12,"input_tokens_details":{"cached_tokens":3},"output_tokens":2,"output_tokens_details":{"reasoning_tokens":1},"total_tokens":14},"error":null,"incomplete_details":null}})");
    REQUIRE(ev.response);
    auto r = ag::response_from_json(*ev.response);
    CHECK(r.response_id == std::optional<std::string>("resp_1"));
    REQUIRE(r.output.size() == 1);
    CHECK(ag::message_text(std::get<ag::MessageItem>(r.output[0])) == "Hello world");
    CHECK(r.usage.requests == 1);
    CHECK(r.usage.input_tokens == 12);
    CHECK(r.usage.cached_input_tokens == 3);
    CHECK(r.usage.output_tokens == 2);
    CHECK(r.usage.reasoning_tokens == 1);
    CHECK(r.usage.total_tokens == 14);
    CHECK(json::serialize(ag::to_json(r.usage)) ==
          R"({"input_tokens":12,"input_tokens_details":{"cached_tokens":3},"output_tokens":2,"output_tokens_details":{"reasoning_tokens":1},"total_tokens":14})");
}

TEST_CASE("usage: totals add up with one entry per request", "[agents][usage]") {
    ag::Usage total;
    ag::Usage a;
    a.requests = 1;
    a.input_tokens = 10;
    a.output_tokens = 5;
    a.total_tokens = 15;
    ag::Usage b;
    b.requests = 1;
    total.add(a);
    total.add(b);
    CHECK(total.requests == 2);
    CHECK(total.input_tokens == 10);
    CHECK(total.total_tokens == 15);
    REQUIRE(total.per_request.size() == 2);
    CHECK(total.per_request[0].input_tokens == 10);
    CHECK(total.per_request[1].input_tokens == 0);
}

TEST_CASE("settings: merged_with lets set fields of the override win", "[agents][settings]") {
    ag::ModelSettings base;
    base.temperature = 0.2;
    base.max_tokens = 100;
    base.metadata["a"] = 1;
    base.metadata["b"] = 1;
    ag::ModelSettings over;
    over.temperature = 0.9;
    over.tool_choice = ag::ToolChoice::required();
    over.metadata["b"] = 2;
    auto m = base.merged_with(over);
    CHECK(m.temperature == 0.9);
    CHECK(m.max_tokens == 100);
    CHECK(m.tool_choice == ag::ToolChoice::required());
    CHECK(m.metadata.at("a") == 1);
    CHECK(m.metadata.at("b") == 2);
}

TEST_CASE("errors: every agent error is a chatkit::Error of the agents block with a readable message", "[agents][errors]") {
    CHECK(std::string(ag::MaxTurnsExceeded(3).what()) == "Max turns (3) exceeded");
    ag::ModelHttpError http(429, "Rate limit reached", "rate_limit_exceeded", "requests", "req_1");
    CHECK(std::string(http.what()) == "HTTP 429 (rate_limit_exceeded): Rate limit reached [request id req_1]");
    ag::InputGuardrailTripwire trip("no_math", {json::value("math"), true});
    CHECK(std::string(trip.what()) == "Guardrail no_math triggered tripwire");
    auto agents_code = [](std::exception const& e) {
        auto const* ck = dynamic_cast<chatkit::Error const*>(&e);
        REQUIRE(ck);
        CHECK(ck->code().category() == chatkit::chatkit_category());
        return ck->code().value();
    };
    int const first = static_cast<int>(chatkit::error::model_request_failed);
    int const last = static_cast<int>(chatkit::error::invalid_tool_arguments);
    for (int code : {agents_code(http), agents_code(trip), agents_code(ag::ModelStreamError("server_error", "boom")),
                     agents_code(ag::UserError("x")), agents_code(ag::ModelBehaviorError("x"))}) {
        CHECK(code >= first);
        CHECK(code <= last);
    }
}
