// Retries and failures of the OpenAI models against the mock's fault injection (AGENTS.md §3.3).
#include "openai_test_util.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>

using namespace test;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using agents::ModelEventKind;

namespace {

std::string const rate_limited =
    R"({"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}})";
std::string const server_error =
    R"({"error":{"message":"The server had an error processing your request.","type":"server_error","param":null,"code":null}})";

template <class Model>
agents::ModelHttpError http_failure(Model& model, Recorded& rec) {
    try {
        run_model(model, hello_request(), rec);
    } catch (agents::ModelHttpError const& e) {
        return e;
    }
    FAIL("expected ModelHttpError");
    throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("429 with retry-after-ms is retried after the hinted delay", "[openai][retry]") {
    MockLlmServer mock;
    mock.push(MockReply::json(429, rate_limited, {{"retry-after-ms", "200"}, {"retry-after", "1"}, {"x-request-id", "req_mock_429"}}));
    mock.push(MockReply::sse(read_fixture("llm/responses_text.sse")));
    agents::OpenAIResponsesModel model(mock_endpoint(mock), "gpt-4.1-mini");
    std::vector<std::string> logged;
    Recorded rec;
    auto start = std::chrono::steady_clock::now();
    auto response = run_model(model, hello_request(), rec);
    auto elapsed = std::chrono::steady_clock::now() - start;
    CHECK(mock.request_count() == 2);
    CHECK(agents::message_text(std::get<agents::MessageItem>(response.output.at(0))) == "Hello world");
    CHECK(elapsed >= 190ms);  // the hint (200 ms), not the 10 ms backoff, was honoured
    CHECK(mock.requests()[0].body == mock.requests()[1].body);
}

TEST_CASE("retry-after in seconds is honoured, and a hint above the cap is not waited for", "[openai][retry]") {
    MockLlmServer mock;
    SECTION("fractional seconds") {
        mock.push(MockReply::json(503, server_error, {{"retry-after", "0.15"}}));
        mock.push(MockReply::sse(read_fixture("llm/chat_text.sse")));
        agents::OpenAIChatCompletionsModel model(mock_endpoint(mock), "gpt-4.1-mini");
        Recorded rec;
        auto start = std::chrono::steady_clock::now();
        run_model(model, hello_request(), rec);
        CHECK(std::chrono::steady_clock::now() - start >= 140ms);
        CHECK(mock.request_count() == 2);
    }
    SECTION("above the cap") {
        mock.push(MockReply::json(429, rate_limited, {{"retry-after", "5"}}));
        auto endpoint = mock_endpoint(mock);
        endpoint.retry.max_server_hint = 1000ms;
        agents::OpenAIChatCompletionsModel model(endpoint, "gpt-4.1-mini");
        Recorded rec;
        auto e = http_failure(model, rec);
        CHECK(e.status == 429);
        CHECK(e.retry_after == std::chrono::milliseconds(5000));
        CHECK(mock.request_count() == 1);
    }
}

TEST_CASE("insufficient_quota is never retried", "[openai][retry]") {
    MockLlmServer mock;
    mock.push(MockReply::json(429, R"({"error":{"message":"You exceeded your current quota.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}})",
                              {{"x-request-id", "req_quota"}}));
    mock.push(MockReply::sse(read_fixture("llm/responses_text.sse")));
    agents::OpenAIResponsesModel model(mock_endpoint(mock), "gpt-4.1-mini");
    Recorded rec;
    auto e = http_failure(model, rec);
    CHECK(e.status == 429);
    CHECK(e.model_code == "insufficient_quota");
    CHECK(e.type == "insufficient_quota");
    CHECK(e.model_message == "You exceeded your current quota.");
    CHECK(e.request_id == "req_quota");
    CHECK_FALSE(e.retryable);
    CHECK(mock.request_count() == 1);
}

TEST_CASE("500 then success: the request is retried with backoff", "[openai][retry]") {
    MockLlmServer mock;
    mock.push(MockReply::json(500, server_error, {{"x-request-id", "req_mock_500"}}));
    mock.push(MockReply::json(502, "<html>bad gateway</html>"));
    mock.push(MockReply::sse(read_fixture("llm/chat_text.sse")));
    auto endpoint = mock_endpoint(mock);
    std::vector<std::string> logged;
    endpoint.logger.sink = [&](chatkit::LogLevel, std::string_view m) { logged.emplace_back(m); };
    agents::OpenAIChatCompletionsModel model(endpoint, "gpt-4.1-mini");
    Recorded rec;
    auto response = run_model(model, hello_request(), rec);
    CHECK(mock.request_count() == 3);
    CHECK(rec.deltas(ModelEventKind::OutputTextDelta) == "Hello world");
    REQUIRE(logged.size() == 2);
    CHECK(logged[0].find("req_mock_500") != std::string::npos);
}

TEST_CASE("Retries stop after max_retries", "[openai][retry]") {
    MockLlmServer mock;
    for (int i = 0; i < 4; ++i) mock.push(MockReply::json(503, server_error));
    agents::OpenAIChatCompletionsModel model(mock_endpoint(mock, 2), "gpt-4.1-mini");
    Recorded rec;
    auto e = http_failure(model, rec);
    CHECK(e.status == 503);
    CHECK(e.retryable);
    CHECK(mock.request_count() == 3);
}

TEST_CASE("400 is surfaced with message and request id, without retry", "[openai][retry]") {
    MockLlmServer mock;
    mock.push(MockReply::json(400, R"({"error":{"message":"Invalid value for 'tool_choice'.","type":"invalid_request_error","param":"tool_choice","code":"invalid_value"}})",
                              {{"x-request-id", "req_mock_400"}}));
    agents::OpenAIResponsesModel model(mock_endpoint(mock), "gpt-4.1-mini");
    Recorded rec;
    auto e = http_failure(model, rec);
    CHECK(e.status == 400);
    CHECK(e.model_message == "Invalid value for 'tool_choice'.");
    CHECK(e.model_code == "invalid_value");
    CHECK(e.param == "tool_choice");
    CHECK(e.request_id == "req_mock_400");
    CHECK_FALSE(e.retryable);
    CHECK(mock.request_count() == 1);
}

TEST_CASE("Error bodies of compatible servers are understood", "[openai][retry]") {
    MockLlmServer mock;
    agents::OpenAIChatCompletionsModel model(mock_endpoint(mock, 0), "m");
    Recorded rec;
    SECTION("llama.cpp: integer code") {
        mock.push(MockReply::json(400, R"({"error":{"code":400,"message":"the request exceeds the available context size","type":"exceed_context_size_error"}})"));
        auto e = http_failure(model, rec);
        CHECK(e.model_code == "400");
        CHECK(e.type == "exceed_context_size_error");
        CHECK(e.model_message == "the request exceeds the available context size");
    }
    SECTION("vLLM (older): top-level error object") {
        mock.push(MockReply::json(400, R"({"object":"error","message":"model not found","type":"BadRequestError","param":null,"code":400})"));
        auto e = http_failure(model, rec);
        CHECK(e.model_message == "model not found");
        CHECK(e.type == "BadRequestError");
    }
    SECTION("not JSON: the raw body") {
        mock.push(MockReply::json(404, "404 page not found"));
        auto e = http_failure(model, rec);
        CHECK(e.status == 404);
        CHECK(e.model_message == "404 page not found");
        CHECK(e.raw_body == "404 page not found");
    }
}

TEST_CASE("x-should-retry overrides the status rules", "[openai][retry]") {
    MockLlmServer mock;
    agents::OpenAIChatCompletionsModel model(mock_endpoint(mock), "m");
    Recorded rec;
    SECTION("false vetoes a 500 retry") {
        mock.push(MockReply::json(500, server_error, {{"x-should-retry", "false"}}));
        auto e = http_failure(model, rec);
        CHECK(e.status == 500);
        CHECK(mock.request_count() == 1);
    }
    SECTION("true forces a 400 retry") {
        mock.push(MockReply::json(400, server_error, {{"x-should-retry", "true"}}));
        mock.push(MockReply::sse(read_fixture("llm/chat_text.sse")));
        run_model(model, hello_request(), rec);
        CHECK(mock.request_count() == 2);
    }
}

TEST_CASE("A connection dropped mid-stream after output is surfaced, not retried", "[openai][retry]") {
    MockLlmServer mock;
    auto reply = MockReply::sse(read_fixture("llm/chat_text.sse"));
    auto body = reply.body;
    reply.drop_after_bytes = body.find("\" world\"");  // after the "Hello" chunk
    mock.push(reply);
    mock.push(MockReply::sse(read_fixture("llm/chat_text.sse")));
    agents::OpenAIChatCompletionsModel model(mock_endpoint(mock), "m");
    Recorded rec;
    try {
        run_model(model, hello_request(), rec);
        FAIL("expected ModelStreamError");
    } catch (agents::ModelStreamError const& e) {
        CHECK(e.after_output);
        CHECK(e.model_code == "connection_closed");
    }
    CHECK(rec.deltas(ModelEventKind::OutputTextDelta) == "Hello");
    CHECK(mock.request_count() == 1);
}

TEST_CASE("A connection dropped before any event is retried", "[openai][retry]") {
    MockLlmServer mock;
    auto reply = MockReply::sse(read_fixture("llm/responses_text.sse"));
    reply.drop_after_bytes = 0;
    mock.push(reply);
    mock.push(MockReply::sse(read_fixture("llm/responses_text.sse")));
    agents::OpenAIResponsesModel model(mock_endpoint(mock), "gpt-4.1-mini");
    Recorded rec;
    auto response = run_model(model, hello_request(), rec);
    CHECK(mock.request_count() == 2);
    CHECK(rec.events.size() == 10);
}

TEST_CASE("A silent stream trips the idle timeout", "[openai][retry]") {
    MockLlmServer mock;
    agents::ModelRequest r = hello_request();
    r.settings.idle_timeout = 200ms;
    SECTION("after output: a stream error") {
        auto reply = MockReply::sse(read_fixture("llm/chat_text.sse"));
        reply.drop_after_bytes = reply.body.find("\" world\"");
        reply.stall = true;
        mock.push(reply);
        agents::OpenAIChatCompletionsModel model(mock_endpoint(mock), "m");
        Recorded rec;
        try {
            run_model(model, r, rec);
            FAIL("expected ModelStreamError");
        } catch (agents::ModelStreamError const& e) {
            CHECK(e.model_code == "timeout");
            CHECK(e.after_output);
        }
        CHECK(mock.request_count() == 1);
        CHECK(mock.wait_until([&] { return mock.closed_mid_reply() == 1; }));
    }
    SECTION("before output: retried, then reported as ModelHttpError status 0") {
        auto reply = MockReply::sse("");
        reply.stall = true;
        mock.push(reply);
        mock.push(reply);
        agents::OpenAIChatCompletionsModel model(mock_endpoint(mock, 1), "m");
        Recorded rec;
        try {
            run_model(model, r, rec);
            FAIL("expected ModelHttpError");
        } catch (agents::ModelHttpError const& e) {
            CHECK(e.status == 0);
            CHECK(e.model_code == "timeout");
        }
        CHECK(mock.request_count() == 2);
    }
}

TEST_CASE("Connection refused is retried, then reported as ModelHttpError status 0", "[openai][retry]") {
    agents::OpenAIEndpoint endpoint;
    endpoint.transport = http_transport();
    endpoint.base_url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/v1";
    endpoint.retry.max_retries = 1;
    endpoint.retry.initial = 10ms;
    std::vector<std::string> logged;
    endpoint.logger.sink = [&](chatkit::LogLevel, std::string_view m) { logged.emplace_back(m); };
    agents::OpenAIResponsesModel model(endpoint, "gpt-4.1-mini");
    Recorded rec;
    try {
        run_model(model, hello_request(), rec);
        FAIL("expected ModelHttpError");
    } catch (agents::ModelHttpError const& e) {
        CHECK(e.status == 0);
        CHECK(e.model_code == "connection_error");
    }
    CHECK(logged.size() == 1);
}

TEST_CASE("Malformed SSE is a protocol error, not retried", "[openai][retry]") {
    MockLlmServer mock;
    mock.push(MockReply::sse("data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\ndata: [1,2\n\n"));
    mock.push(MockReply::sse(read_fixture("llm/chat_text.sse")));
    agents::OpenAIChatCompletionsModel model(mock_endpoint(mock), "m");
    Recorded rec;
    CHECK_THROWS_AS(run_model(model, hello_request(), rec), agents::ModelProtocolError);
    CHECK(mock.request_count() == 1);
}

TEST_CASE("Cancelling a model stream closes the upstream socket", "[openai][cancel]") {
    MockLlmServer mock;
    auto reply = MockReply::sse(read_fixture("llm/chat_text.sse"));
    reply.delay = 30ms;
    reply.stall = true;
    mock.push(reply);
    agents::OpenAIChatCompletionsModel model(mock_endpoint(mock), "m");
    asio::io_context io;
    asio::cancellation_signal cancel;
    std::vector<std::string> seen;
    agents::ModelEventHandler handler = [&](agents::ModelStreamEvent const& e) -> agents::task<void> {
        seen.push_back(e.type);
        if (e.kind == ModelEventKind::OutputTextDelta)
            asio::post(io, [&] { cancel.emit(asio::cancellation_type::terminal); });
        co_return;
    };
    auto request = hello_request();
    std::exception_ptr error;
    asio::co_spawn(io, model.stream(request, handler),
                   asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e, agents::ModelResponse) { error = e; }));
    io.run();
    REQUIRE(error);
    try {
        std::rethrow_exception(error);
    } catch (boost::system::system_error const& e) {
        CHECK(e.code() == asio::error::operation_aborted);
    }
    CHECK(std::count(seen.begin(), seen.end(), "response.output_text.delta") == 1);
    CHECK(mock.wait_until([&] { return mock.closed_mid_reply() == 1; }));
    CHECK(mock.request_count() == 1);
}
