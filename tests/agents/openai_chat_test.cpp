// OpenAIChatCompletionsModel against the mock server: Responses events synthesised from chunks,
// provider flavours (Ollama, llama.cpp, vLLM), stream endings and the exact request per profile.
#include "openai_test_util.hpp"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <set>

using namespace test;
namespace json = boost::json;
using agents::ModelEventKind;

namespace {

agents::ModelResponse chat_run(std::string const& fixture, Recorded& rec,
                               agents::CompatProfile profile = agents::CompatProfile::openai(),
                               MockReply* tweak = nullptr) {
    MockLlmServer mock;
    auto reply = tweak ? *tweak : MockReply::sse(read_fixture(fixture));
    if (tweak) reply.body = read_fixture(fixture);
    mock.push(reply);
    agents::OpenAIChatCompletionsModel model(mock_endpoint(mock), "gpt-4.1-mini", profile);
    return run_model(model, hello_request(), rec);
}

}  // namespace

TEST_CASE("Chat model synthesises Responses events for a text reply", "[openai][chat]") {
    Recorded rec;
    auto response = chat_run("llm/chat_text.sse", rec);
    CHECK(rec.types() == std::vector<std::string>{
                             "response.created", "response.output_item.added", "response.content_part.added",
                             "response.output_text.delta", "response.output_text.delta", "response.output_text.done",
                             "response.content_part.done", "response.output_item.done", "response.completed"});
    CHECK(rec.deltas(ModelEventKind::OutputTextDelta) == "Hello world");
    for (std::size_t i = 0; i < rec.events.size(); ++i) CHECK(rec.events[i].sequence_number == static_cast<std::int64_t>(i));
    REQUIRE(response.output.size() == 1);
    auto const& msg = std::get<agents::MessageItem>(response.output[0]);
    REQUIRE(msg.id);
    CHECK(matches(*msg.id, "msg_[0-9a-f]{24}"));
    CHECK(rec.events[3].item_id == *msg.id);
    CHECK(agents::message_text(msg) == "Hello world");
    CHECK(msg.role == "assistant");
    CHECK_FALSE(response.response_id);
    CHECK(response.usage.requests == 1);
    CHECK(response.usage.input_tokens == 12);
    CHECK(response.usage.output_tokens == 2);
    CHECK(response.usage.total_tokens == 14);
}

TEST_CASE("Chat model mints a fresh message id per response", "[openai][chat]") {
    MockLlmServer mock;
    mock.push(MockReply::sse(read_fixture("llm/chat_text.sse")));
    mock.push(MockReply::sse(read_fixture("llm/chat_text.sse")));
    agents::OpenAIChatCompletionsModel model(mock_endpoint(mock), "gpt-4.1-mini");
    Recorded a, b;
    boost::asio::io_context io;
    auto first = run_model(io, model, hello_request(), a);
    auto second = run_model(io, model, hello_request(), b);
    CHECK(mock.connections_accepted() == 1);  // the keep-alive connection was reused
    CHECK(agents::item_id(first.output.at(0)) != agents::item_id(second.output.at(0)));
}

TEST_CASE("Chat model reassembles parallel tool calls sent in pieces", "[openai][chat]") {
    for (int variant = 0; variant < 3; ++variant) {
        DYNAMIC_SECTION("delivery variant " << variant) {
            MockReply tweak = MockReply::sse("");
            if (variant == 1) {
                tweak.split = Split::random;
                tweak.chunk = 5;
                tweak.seed = 7;
            }
            if (variant == 2) tweak.crlf = true;
            Recorded rec;
            auto response = chat_run("llm/chat_tool_calls.sse", rec, agents::CompatProfile::openai(), &tweak);
            CHECK(rec.types() == std::vector<std::string>{
                                     "response.created", "response.output_item.added",
                                     "response.function_call_arguments.delta", "response.function_call_arguments.delta",
                                     "response.output_item.added", "response.function_call_arguments.delta",
                                     "response.function_call_arguments.done", "response.output_item.done",
                                     "response.function_call_arguments.done", "response.output_item.done",
                                     "response.completed"});
            REQUIRE(response.output.size() == 2);
            auto const& a = std::get<agents::FunctionCallItem>(response.output[0]);
            auto const& b = std::get<agents::FunctionCallItem>(response.output[1]);
            CHECK(a.call_id == "call_a");
            CHECK(a.name == "get_weather");
            CHECK(a.arguments == R"({"city":"Paris"})");
            CHECK(b.call_id == "call_b");
            CHECK(b.name == "get_time");
            CHECK(b.arguments == R"({"tz":"CET"})");
            REQUIRE(a.id);
            REQUIRE(b.id);
            CHECK(matches(*a.id, "fc_[0-9a-f]{24}"));
            CHECK(*a.id != *b.id);
            CHECK(rec.events[2].delta == R"({"city":)");
            CHECK(rec.events[2].item_id == *a.id);
            CHECK(rec.events[6].text == R"({"city":"Paris"})");
        }
    }
}

TEST_CASE("Chat model: Ollama flavour (reasoning field, whole call without index, finish_reason stop)", "[openai][chat]") {
    Recorded rec;
    auto response = chat_run("llm/chat_ollama_tool.sse", rec, agents::CompatProfile::ollama());
    CHECK(rec.types() == std::vector<std::string>{
                             "response.created", "response.output_item.added", "response.reasoning_summary_part.added",
                             "response.reasoning_summary_text.delta", "response.reasoning_summary_text.delta",
                             "response.reasoning_summary_text.done", "response.reasoning_summary_part.done",
                             "response.output_item.done", "response.output_item.added",
                             "response.function_call_arguments.delta", "response.function_call_arguments.done",
                             "response.output_item.done", "response.completed"});
    REQUIRE(response.output.size() == 2);
    auto const& reasoning = std::get<agents::ReasoningItem>(response.output[0]);
    CHECK(matches(reasoning.id, "rs_[0-9a-f]{24}"));
    CHECK(reasoning.summary == std::vector<std::string>{"The user wants the weather."});
    auto const& call = std::get<agents::FunctionCallItem>(response.output[1]);
    CHECK(call.call_id == "call_k3x9");
    CHECK(call.arguments == R"({"city":"Paris"})");
    CHECK(response.usage.input_tokens == 40);
    CHECK(response.usage.output_tokens == 12);
    CHECK(response.usage.total_tokens == 52);
}

TEST_CASE("Chat model: raw reasoning can stay raw when the profile says so", "[openai][chat]") {
    auto profile = agents::CompatProfile::ollama();
    profile.raw_reasoning_as_summary = false;
    Recorded rec;
    auto response = chat_run("llm/chat_ollama_tool.sse", rec, profile);
    CHECK(rec.deltas(ModelEventKind::ReasoningTextDelta) == "The user wants the weather.");
    CHECK(rec.deltas(ModelEventKind::SummaryTextDelta).empty());
    auto const& reasoning = std::get<agents::ReasoningItem>(response.output.at(0));
    CHECK(reasoning.content == std::vector<std::string>{"The user wants the weather."});
}

TEST_CASE("Chat model: llama.cpp flavour (content null, reasoning_content, [DONE] without blank line)", "[openai][chat]") {
    Recorded rec;
    auto response = chat_run("llm/chat_llamacpp_reasoning.sse", rec, agents::CompatProfile::llamacpp());
    CHECK(rec.deltas(ModelEventKind::SummaryTextDelta) == "Think briefly.");
    CHECK(rec.deltas(ModelEventKind::OutputTextDelta) == "Bonjour");
    REQUIRE(response.output.size() == 2);
    CHECK(std::holds_alternative<agents::ReasoningItem>(response.output[0]));
    CHECK(agents::message_text(std::get<agents::MessageItem>(response.output[1])) == "Bonjour");
    CHECK(response.usage.total_tokens == 13);
    // The reasoning item is closed before the message starts.
    auto types = rec.types();
    auto done = std::find(types.begin(), types.end(), "response.reasoning_summary_text.done");
    auto text = std::find(types.begin(), types.end(), "response.output_text.delta");
    CHECK(done < text);
}

TEST_CASE("Chat model: llama.cpp tool call ids without call_ prefix are kept", "[openai][chat]") {
    Recorded rec;
    auto response = chat_run("llm/chat_llamacpp_tool.sse", rec, agents::CompatProfile::llamacpp());
    auto const& call = std::get<agents::FunctionCallItem>(response.output.at(0));
    CHECK(call.call_id == "k2J9sLq0ZxW3vB7nM1cT5yR8uP4eA6dF");
    CHECK(call.arguments == R"({"city":"Paris"})");
}

TEST_CASE("Chat model: llama.cpp error line is a stream error", "[openai][chat]") {
    MockLlmServer mock;
    mock.push(MockReply::sse(read_fixture("llm/chat_llamacpp_error_line.sse")));
    agents::OpenAIChatCompletionsModel model(mock_endpoint(mock), "m", agents::CompatProfile::llamacpp());
    Recorded rec;
    try {
        run_model(model, hello_request(), rec);
        FAIL("expected ModelStreamError");
    } catch (agents::ModelStreamError const& e) {
        CHECK(e.model_code == "500");
        CHECK(e.model_message == "context size exceeded");
        CHECK_FALSE(e.after_output);
    }
    CHECK(rec.events.empty());
    CHECK(mock.request_count() == 1);
}

TEST_CASE("Chat model: vLLM running usage totals are not summed", "[openai][chat]") {
    Recorded rec;
    auto response = chat_run("llm/chat_vllm_reasoning.sse", rec, agents::CompatProfile::vllm());
    CHECK(rec.deltas(ModelEventKind::SummaryTextDelta) == "Hmm.");
    CHECK(rec.deltas(ModelEventKind::OutputTextDelta) == "Hi there");
    CHECK(response.usage.input_tokens == 20);
    CHECK(response.usage.output_tokens == 3);
    CHECK(response.usage.total_tokens == 23);
}

TEST_CASE("Chat model: stream endings", "[openai][chat]") {
    Recorded rec;
    SECTION("finish_reason without [DONE] is accepted") {
        auto response = chat_run("llm/chat_missing_done.sse", rec);
        CHECK(agents::message_text(std::get<agents::MessageItem>(response.output.at(0))) == "Hello world");
    }
    SECTION("neither finish_reason nor [DONE] is a truncated response") {
        CHECK_THROWS_AS(chat_run("llm/chat_truncated.sse", rec), agents::ModelProtocolError);
    }
    SECTION("an error payload after output is surfaced as after_output") {
        try {
            chat_run("llm/chat_error_midstream.sse", rec);
            FAIL("expected ModelStreamError");
        } catch (agents::ModelStreamError const& e) {
            CHECK(e.model_code == "server_error");
            CHECK(e.after_output);
            CHECK(e.model_message == "The server had an error while processing your request.");
        }
        CHECK(rec.deltas(ModelEventKind::OutputTextDelta) == "Hel");
    }
    SECTION("content_filter without output becomes a refusal") {
        auto response = chat_run("llm/chat_content_filter.sse", rec);
        auto const& msg = std::get<agents::MessageItem>(response.output.at(0));
        CHECK(agents::message_refusal(msg) == "Response withheld by the provider's content filter.");
        CHECK(rec.deltas(ModelEventKind::RefusalDelta) == "Response withheld by the provider's content filter.");
    }
    SECTION("length without output is an error") {
        try {
            chat_run("llm/chat_length_empty.sse", rec);
            FAIL("expected ModelStreamError");
        } catch (agents::ModelStreamError const& e) {
            CHECK(e.model_code == "length");
        }
    }
}

namespace {

agents::ModelRequest chat_request() {
    agents::ModelRequest r;
    r.instructions = "You are helpful.";
    r.input.push_back(agents::user_message("Weather in Paris?"));
    r.input.push_back(agents::FunctionCallItem{std::string("fc_1"), "call_1", "get_weather", R"({"city":"Paris"})", std::nullopt});
    r.input.push_back(agents::FunctionCallItem{std::string("fc_2"), "call_2", "get_time", "", std::nullopt});
    r.input.push_back(agents::FunctionCallOutput{"call_1", R"({"temp_c":21})", std::nullopt, std::nullopt});
    r.input.push_back(agents::FunctionCallOutput{"call_2", "12:00", std::nullopt, std::nullopt});
    r.input.push_back(agents::ReasoningItem{"rs_1", {"thinking"}, {}, std::nullopt, std::nullopt});
    r.input.push_back(agents::assistant_message("It is 21 C.", std::string("msg_1")));
    agents::MessageItem user;
    user.role = "user";
    user.content.push_back(agents::InputText{"and this?"});
    user.content.push_back(agents::InputImage{std::string("data:image/png;base64,AAAA"), std::nullopt, "auto"});
    r.input.push_back(user);
    agents::ToolSpec tool;
    tool.name = "get_weather";
    tool.description = "Current weather";
    tool.parameters = json::parse(R"({"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false})").as_object();
    r.tools.push_back(tool);
    r.settings.tool_choice = agents::ToolChoice::required();
    r.settings.parallel_tool_calls = true;
    r.settings.temperature = 0.25;
    r.settings.max_tokens = 1024;
    agents::OutputSchema schema;
    schema.schema = json::parse(R"({"type":"object"})").as_object();
    r.output_schema = schema;
    return r;
}

json::object expected_chat_body() {
    return json::parse(R"({
      "model": "gpt-4.1-mini",
      "messages": [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": null,
         "tool_calls": [{"id": "call_1", "type": "function",
                         "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                        {"id": "call_2", "type": "function",
                         "function": {"name": "get_time", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp_c\":21}"},
        {"role": "tool", "tool_call_id": "call_2", "content": "12:00"},
        {"role": "assistant", "content": "It is 21 C."},
        {"role": "user", "content": [{"type": "text", "text": "and this?"},
                                     {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "auto"}}]}
      ],
      "tools": [{"type": "function",
                 "function": {"name": "get_weather", "description": "Current weather",
                              "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                             "required": ["city"], "additionalProperties": false},
                              "strict": true}}],
      "tool_choice": "required",
      "parallel_tool_calls": true,
      "stream": true,
      "stream_options": {"include_usage": true},
      "temperature": 0.25,
      "max_completion_tokens": 1024,
      "response_format": {"type": "json_schema",
                          "json_schema": {"name": "final_output", "strict": true, "schema": {"type": "object"}}}
    })").as_object();
}

json::value received_body(agents::CompatProfile profile) {
    MockLlmServer mock;
    mock.push(MockReply::sse(read_fixture("llm/chat_text.sse")));
    agents::OpenAIChatCompletionsModel model(mock_endpoint(mock), "gpt-4.1-mini", profile);
    Recorded rec;
    run_model(model, chat_request(), rec);
    auto req = mock.requests().at(0);
    CHECK(req.target == "/v1/chat/completions");
    CHECK(req.header("authorization") == "Bearer sk-test");
    CHECK(req.header("accept") == "text/event-stream");
    return req.json;
}

}  // namespace

TEST_CASE("Chat model sends the exact request for each compat profile", "[openai][chat]") {
    auto expected = expected_chat_body();
    SECTION("openai") { CHECK(received_body(agents::CompatProfile::openai()) == expected); }
    SECTION("vllm") {
        expected["tools"].as_array()[0].as_object()["function"].as_object().erase("strict");
        expected.erase("max_completion_tokens");
        expected["max_tokens"] = 1024;
        CHECK(received_body(agents::CompatProfile::vllm()) == expected);
    }
    SECTION("llamacpp") {
        expected["tools"].as_array()[0].as_object()["function"].as_object().erase("strict");
        expected.erase("max_completion_tokens");
        expected["max_tokens"] = 1024;
        CHECK(received_body(agents::CompatProfile::llamacpp()) == expected);
    }
    SECTION("ollama") {
        expected["tools"].as_array()[0].as_object()["function"].as_object().erase("strict");
        expected.erase("max_completion_tokens");
        expected.erase("parallel_tool_calls");
        expected["max_tokens"] = 1024;
        expected["messages"].as_array()[2].as_object()["content"] = "";
        CHECK(received_body(agents::CompatProfile::ollama()) == expected);
    }
    SECTION("generic") {
        expected["tools"].as_array()[0].as_object()["function"].as_object().erase("strict");
        expected.erase("max_completion_tokens");
        expected.erase("parallel_tool_calls");
        expected.erase("stream_options");
        expected["tool_choice"] = "auto";
        expected["max_tokens"] = 1024;
        CHECK(received_body(agents::CompatProfile::generic()) == expected);
    }
}

TEST_CASE("Chat model rejects what a profile or the API cannot carry", "[openai][chat]") {
    agents::OpenAIEndpoint endpoint;
    endpoint.transport = http_transport();
    agents::OpenAIChatCompletionsModel ollama(endpoint, "m", agents::CompatProfile::ollama());
    agents::ModelRequest r;
    agents::MessageItem user;
    user.role = "user";
    user.content.push_back(agents::InputImage{std::string("https://example.com/cat.png"), std::nullopt, "auto"});
    r.input.push_back(user);
    CHECK_THROWS_AS(ollama.build_body(r), agents::UserError);
    agents::OpenAIChatCompletionsModel openai(endpoint, "m");
    CHECK_NOTHROW(openai.build_body(r));
    agents::ModelRequest opaque;
    opaque.input.push_back(agents::OpaqueItem{json::object{{"type", "web_search_call"}, {"id", "ws_1"}}});
    CHECK_THROWS_AS(openai.build_body(opaque), agents::UserError);
}
