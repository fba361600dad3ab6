// OpenAIResponsesModel against the mock server: the exact request, the event catalogue, terminal
// errors and premature ends.
#include "openai_test_util.hpp"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

using namespace test;
namespace json = boost::json;
using agents::ModelEventKind;

namespace {

agents::ModelRequest full_request() {
    agents::ModelRequest r;
    r.model = "gpt-4.1-mini";
    r.instructions = "You are helpful.";
    r.input.push_back(agents::user_message("Weather in Paris?"));
    r.input.push_back(agents::assistant_message("Let me check.", std::string("msg_0")));
    r.input.push_back(agents::FunctionCallItem{std::nullopt, "call_1", "get_weather", R"({"city":"Paris"})", std::nullopt});
    r.input.push_back(agents::FunctionCallOutput{"call_1", R"({"temp_c":21})", std::nullopt, std::nullopt});
    agents::ToolSpec tool;
    tool.name = "get_weather";
    tool.description = "Current weather";
    tool.parameters = json::parse(R"({"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false})").as_object();
    r.tools.push_back(tool);
    r.settings.tool_choice = agents::ToolChoice::auto_();
    r.settings.parallel_tool_calls = true;
    r.settings.store = true;
    r.settings.reasoning_effort = "medium";
    r.settings.reasoning_summary = "auto";
    r.settings.max_tokens = 1024;
    r.settings.temperature = 0.5;
    r.settings.metadata["thread_id"] = "thr_1";
    r.previous_response_id = "resp_abc";
    agents::OutputSchema schema;
    schema.schema = json::parse(R"({"type":"object","properties":{},"additionalProperties":false})").as_object();
    r.output_schema = schema;
    return r;
}

}  // namespace

TEST_CASE("Responses model sends the request of AGENTS.md 3.2", "[openai][responses]") {
    MockLlmServer mock;
    mock.push(MockReply::sse(read_fixture("llm/responses_text.sse")));
    agents::OpenAIResponsesModel model(mock_endpoint(mock), "default-model");
    Recorded rec;
    run_model(model, full_request(), rec);

    auto reqs = mock.requests();
    REQUIRE(reqs.size() == 1);
    CHECK(reqs[0].method == "POST");
    CHECK(reqs[0].target == "/v1/responses");
    CHECK(reqs[0].header("authorization") == "Bearer sk-test");
    CHECK(reqs[0].header("content-type") == "application/json");
    CHECK(reqs[0].header("accept") == "text/event-stream");
    auto expected = json::parse(R"({
      "model": "gpt-4.1-mini",
      "instructions": "You are helpful.",
      "input": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Weather in Paris?"}]},
        {"id": "msg_0", "type": "message", "status": "completed", "role": "assistant",
         "content": [{"type": "output_text", "text": "Let me check.", "annotations": []}]},
        {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "{\"temp_c\":21}"}
      ],
      "tools": [{"type": "function", "name": "get_weather", "description": "Current weather",
                 "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                "required": ["city"], "additionalProperties": false},
                 "strict": true}],
      "tool_choice": "auto",
      "parallel_tool_calls": true,
      "stream": true,
      "store": true,
      "previous_response_id": "resp_abc",
      "reasoning": {"effort": "medium", "summary": "auto"},
      "text": {"format": {"type": "json_schema", "name": "final_output",
                          "schema": {"type": "object", "properties": {}, "additionalProperties": false},
                          "strict": true}},
      "max_output_tokens": 1024,
      "temperature": 0.5,
      "metadata": {"thread_id": "thr_1"}
    })");
    CHECK(reqs[0].json == expected);
}

TEST_CASE("Responses model: a minimal request sends only what is set", "[openai][responses]") {
    MockLlmServer mock;
    mock.push(MockReply::sse(read_fixture("llm/responses_text.sse")));
    auto endpoint = mock_endpoint(mock);
    endpoint.api_key.clear();
    agents::OpenAIResponsesModel model(endpoint, "gpt-4.1-mini");
    agents::ModelRequest r = hello_request();
    r.settings.store = false;
    Recorded rec;
    run_model(model, r, rec);
    auto req = mock.requests().at(0);
    CHECK_FALSE(req.header("authorization"));
    auto expected = json::parse(R"({"model":"gpt-4.1-mini","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"Hi"}]}],"stream":true,"store":false,"include":["reasoning.encrypted_content"]})");
    CHECK(req.json == expected);
}

TEST_CASE("Responses model passes the text transcript's events through and returns the response", "[openai][responses]") {
    for (int variant = 0; variant < 4; ++variant) {
        DYNAMIC_SECTION("delivery variant " << variant) {
            MockLlmServer mock;
            auto reply = MockReply::sse(read_fixture("llm/responses_text.sse"));
            reply.headers = {{"x-request-id", "req_text_1"}};
            if (variant == 1) reply.split = Split::whole;
            if (variant == 2) {
                reply.split = Split::random;
                reply.chunk = 9;
                reply.crlf = true;
            }
            if (variant == 3) {
                reply.keepalive_comments = true;
                reply.split = Split::fixed;
                reply.chunk = 1;
            }
            mock.push(reply);
            agents::OpenAIResponsesModel model(mock_endpoint(mock), "gpt-4.1-mini");
            Recorded rec;
            auto response = run_model(model, hello_request(), rec);
            CHECK(rec.types() == std::vector<std::string>{
                                     "response.created", "response.in_progress", "response.output_item.added",
                                     "response.content_part.added", "response.output_text.delta",
                                     "response.output_text.delta", "response.output_text.done",
                                     "response.content_part.done", "response.output_item.done", "response.completed"});
            CHECK(rec.deltas(ModelEventKind::OutputTextDelta) == "Hello world");
            CHECK(rec.events[4].item_id == "msg_1");
            CHECK(rec.events[9].sequence_number == 9);
            REQUIRE(response.output.size() == 1);
            auto const& msg = std::get<agents::MessageItem>(response.output[0]);
            CHECK(msg.id == "msg_1");
            CHECK(agents::message_text(msg) == "Hello world");
            CHECK(response.response_id == "resp_1");
            CHECK(response.request_id == "req_text_1");
            CHECK(response.usage.requests == 1);
            CHECK(response.usage.input_tokens == 12);
            CHECK(response.usage.output_tokens == 2);
            CHECK(response.usage.total_tokens == 14);
        }
    }
}

TEST_CASE("Responses model: reasoning summary and a function call", "[openai][responses]") {
    MockLlmServer mock;
    mock.push(MockReply::sse(read_fixture("llm/responses_tool_reasoning.sse")));
    agents::OpenAIResponsesModel model(mock_endpoint(mock), "gpt-4.1-mini");
    Recorded rec;
    auto response = run_model(model, hello_request(), rec);
    CHECK(rec.events.size() == 13);
    CHECK(rec.deltas(ModelEventKind::SummaryTextDelta) == "Need weather");
    CHECK(rec.deltas(ModelEventKind::FunctionArgsDelta) == R"({"city":"Paris"})");
    REQUIRE(response.output.size() == 2);
    auto const& reasoning = std::get<agents::ReasoningItem>(response.output[0]);
    CHECK(reasoning.id == "rs_1");
    CHECK(reasoning.summary == std::vector<std::string>{"Need weather"});
    auto const& call = std::get<agents::FunctionCallItem>(response.output[1]);
    CHECK(call.id == "fc_1");
    CHECK(call.call_id == "call_1");
    CHECK(call.name == "get_weather");
    CHECK(call.arguments == R"({"city":"Paris"})");
    CHECK(response.usage.cached_input_tokens == 10);
    CHECK(response.usage.reasoning_tokens == 8);
}

TEST_CASE("Responses model: response.failed ends the call with ModelStreamError", "[openai][responses]") {
    MockLlmServer mock;
    SECTION("a transient failure before any output is retried") {
        mock.push(MockReply::sse(read_fixture("llm/responses_failed.sse")));
        mock.push(MockReply::sse(read_fixture("llm/responses_text.sse")));
        agents::OpenAIResponsesModel model(mock_endpoint(mock), "gpt-4.1-mini");
        Recorded rec;
        auto response = run_model(model, hello_request(), rec);
        CHECK(mock.request_count() == 2);
        CHECK(response.response_id == "resp_1");
        CHECK(rec.types().front() == "response.created");  // the failed attempt's events never surfaced
        CHECK(rec.events.size() == 10);
    }
    SECTION("a non-transient failure is not retried") {
        std::string t = read_fixture("llm/responses_failed.sse");
        auto pos = t.find("server_error");
        t.replace(pos, 12, "invalid_prompt");
        mock.push(MockReply::sse(t));
        agents::OpenAIResponsesModel model(mock_endpoint(mock), "gpt-4.1-mini");
        Recorded rec;
        try {
            run_model(model, hello_request(), rec);
            FAIL("expected ModelStreamError");
        } catch (agents::ModelStreamError const& e) {
            CHECK(e.model_code == "invalid_prompt");
            CHECK(e.model_message == "The model failed.");
            CHECK_FALSE(e.after_output);
        }
        CHECK(mock.request_count() == 1);
        CHECK(rec.events.empty());
    }
}

TEST_CASE("Responses model: an error event ends the call", "[openai][responses]") {
    MockLlmServer mock;
    mock.push(MockReply::sse(read_fixture("llm/responses_error.sse")));
    agents::OpenAIResponsesModel model(mock_endpoint(mock), "gpt-4.1-mini");
    Recorded rec;
    try {
        run_model(model, hello_request(), rec);
        FAIL("expected ModelStreamError");
    } catch (agents::ModelStreamError const& e) {
        CHECK(e.model_code == "rate_limit_exceeded");
        CHECK(e.model_message == "Rate limit reached.");
    }
    CHECK(mock.request_count() == 1);
}

TEST_CASE("Responses model: response.incomplete is an error unless output exists", "[openai][responses]") {
    MockLlmServer mock;
    SECTION("with output: the partial response is returned") {
        mock.push(MockReply::sse(read_fixture("llm/responses_incomplete_with_output.sse")));
        auto endpoint = mock_endpoint(mock);
        std::vector<std::string> logged;
        endpoint.logger.sink = [&](chatkit::LogLevel, std::string_view m) { logged.emplace_back(m); };
        agents::OpenAIResponsesModel model(endpoint, "gpt-4.1-mini");
        Recorded rec;
        auto response = run_model(model, hello_request(), rec);
        REQUIRE(response.output.size() == 1);
        CHECK(agents::message_text(std::get<agents::MessageItem>(response.output[0])) == "Partial");
        CHECK(rec.events.back().kind == ModelEventKind::Incomplete);
        REQUIRE(logged.size() == 1);
        CHECK(logged[0].find("max_output_tokens") != std::string::npos);
    }
    SECTION("without output: ModelStreamError with the reason") {
        mock.push(MockReply::sse(read_fixture("llm/responses_incomplete_empty.sse")));
        agents::OpenAIResponsesModel model(mock_endpoint(mock), "gpt-4.1-mini");
        Recorded rec;
        try {
            run_model(model, hello_request(), rec);
            FAIL("expected ModelStreamError");
        } catch (agents::ModelStreamError const& e) {
            CHECK(e.model_code == "content_filter");
        }
    }
}

TEST_CASE("Responses model: a stream without terminal event is a protocol error", "[openai][responses]") {
    MockLlmServer mock;
    mock.push(MockReply::sse(read_fixture("llm/responses_truncated.sse")));
    mock.push(MockReply::sse(read_fixture("llm/responses_text.sse")));  // must not be requested
    agents::OpenAIResponsesModel model(mock_endpoint(mock), "gpt-4.1-mini");
    Recorded rec;
    CHECK_THROWS_AS(run_model(model, hello_request(), rec), agents::ModelProtocolError);
    CHECK(rec.deltas(ModelEventKind::OutputTextDelta) == "Hello world");
    CHECK(mock.request_count() == 1);
}

TEST_CASE("Responses model: a payload that is not JSON is a protocol error", "[openai][responses]") {
    MockLlmServer mock;
    mock.push(MockReply::sse("event: response.created\ndata: {not json\n\n"));
    agents::OpenAIResponsesModel model(mock_endpoint(mock), "gpt-4.1-mini");
    Recorded rec;
    CHECK_THROWS_AS(run_model(model, hello_request(), rec), agents::ModelProtocolError);
    CHECK(mock.request_count() == 1);
}
