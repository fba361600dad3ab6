// Token usage and quotas end to end, for any store: a ChatKit server whose respond() runs an agent on
// the OpenAI Responses or Chat Completions model against the loopback mock LLM, behind http::Server on
// 127.0.0.1:0, driven by a raw-socket client. Used by the agent tests (memory, SQLite) and the
// PostgreSQL tests.
#pragma once

#include "agents/mock_llm.hpp"
// http_support.hpp's test server is not used here; renamed so that it cannot clash with the
// test::TestServer of support/test_support.hpp in the same program.
#define TestServer HttpSupportTestServer
#include "integration/http_support.hpp"
#undef TestServer

#include <chatkit/agents/chatkit/bridge.hpp>
#include <chatkit/agents/openai.hpp>
#include <chatkit/http/client/http_client.hpp>
#include <chatkit/http/usage_route.hpp>

#include <cstdint>
#include <string>

namespace usage_test {

namespace agents = chatkit::agents;
namespace asio = boost::asio;
namespace json = boost::json;
using test::TestContext;

/// One response's usage as the mock reports it.
struct Reported {
    std::uint64_t input = 0, cached = 0, output = 0, reasoning = 0;
};

/// A Responses API stream (as OpenAI sends it) with one message of `words` and `usage`.
inline std::string responses_transcript(std::string const& id, std::vector<std::string> const& words, Reported usage) {
    namespace json = boost::json;
    std::string out;
    int seq = 0;
    auto put = [&](json::object event) {
        event["sequence_number"] = seq++;
        out += "event: " + std::string(event.at("type").as_string()) + "\ndata: " + json::serialize(event) + "\n\n";
    };
    json::object response{{"id", id}, {"object", "response"}, {"status", "in_progress"}, {"model", "gpt-test"},
                          {"output", json::array()}, {"usage", nullptr}};
    put({{"type", "response.created"}, {"response", response}});
    std::string const msg = "msg_" + id;
    put({{"type", "response.output_item.added"}, {"output_index", 0},
         {"item", {{"id", msg}, {"type", "message"}, {"status", "in_progress"}, {"role", "assistant"}, {"content", json::array()}}}});
    put({{"type", "response.content_part.added"}, {"item_id", msg}, {"output_index", 0}, {"content_index", 0},
         {"part", {{"type", "output_text"}, {"text", ""}, {"annotations", json::array()}}}});
    std::string text;
    for (auto const& w : words) {
        text += w;
        put({{"type", "response.output_text.delta"}, {"item_id", msg}, {"output_index", 0}, {"content_index", 0}, {"delta", w}});
    }
    json::object part{{"type", "output_text"}, {"text", text}, {"annotations", json::array()}};
    put({{"type", "response.output_text.done"}, {"item_id", msg}, {"output_index", 0}, {"content_index", 0}, {"text", text}});
    put({{"type", "response.content_part.done"}, {"item_id", msg}, {"output_index", 0}, {"content_index", 0}, {"part", part}});
    json::object item{{"id", msg}, {"type", "message"}, {"status", "completed"}, {"role", "assistant"}, {"content", json::array{part}}};
    put({{"type", "response.output_item.done"}, {"output_index", 0}, {"item", item}});
    response["status"] = "completed";
    response["output"] = json::array{item};
    response["usage"] = {{"input_tokens", usage.input},
                         {"input_tokens_details", {{"cached_tokens", usage.cached}}},
                         {"output_tokens", usage.output},
                         {"output_tokens_details", {{"reasoning_tokens", usage.reasoning}}},
                         {"total_tokens", usage.input + usage.output}};
    put({{"type", "response.completed"}, {"response", response}});
    return out;
}

/// A Chat Completions stream with `stream_options.include_usage` (the usage in the last chunk).
inline std::string chat_transcript(std::vector<std::string> const& words, Reported usage) {
    namespace json = boost::json;
    std::string out;
    auto put = [&](json::object chunk) {
        chunk["id"] = "chatcmpl-1";
        chunk["object"] = "chat.completion.chunk";
        chunk["model"] = "gpt-test";
        out += "data: " + json::serialize(chunk) + "\n\n";
    };
    put({{"choices", json::array{{{"index", 0}, {"delta", {{"role", "assistant"}, {"content", ""}}}, {"finish_reason", nullptr}}}}});
    for (auto const& w : words)
        put({{"choices", json::array{{{"index", 0}, {"delta", {{"content", w}}}, {"finish_reason", nullptr}}}}});
    put({{"choices", json::array{{{"index", 0}, {"delta", json::object()}, {"finish_reason", "stop"}}}}});
    put({{"choices", json::array()},
         {"usage", {{"prompt_tokens", usage.input},
                    {"prompt_tokens_details", {{"cached_tokens", usage.cached}}},
                    {"completion_tokens", usage.output},
                    {"completion_tokens_details", {{"reasoning_tokens", usage.reasoning}}},
                    {"total_tokens", usage.input + usage.output}}}});
    out += "data: [DONE]\n\n";
    return out;
}

/// Answers every message with an agent on `model` (the thread's last 30 items as history).
class AgentChat final : public chatkit::ChatKitServer<TestContext> {
public:
    AgentChat(Options options, std::shared_ptr<agents::Model> model) : ChatKitServer(std::move(options)) {
        agent_.name = "Assistant";
        agent_.instructions = std::string("Be brief.");
        agent_.model = std::move(model);
    }

protected:
    asio::awaitable<void> respond(chatkit::ThreadMetadata& thread, std::optional<chatkit::UserMessageItem> const&,
                                  chatkit::EventSink& events, TestContext& ctx) override {
        auto history = co_await agents::load_recent_items(store(), thread.id, 30, ctx);
        auto input = co_await converter_.to_agent_input(history, ctx);
        agents::AgentContext<TestContext> agent_ctx(thread, store(), ctx);
        co_await agents::stream_agent_response(agent_ctx, agent_, std::move(input), events);
    }

private:
    agents::Agent<agents::AgentContext<TestContext>> agent_;
    agents::ThreadItemConverter<TestContext> converter_;
};

/// The mock's endpoint, with no retries (a refused request must not be sent twice).
inline agents::OpenAIEndpoint endpoint_of(test::MockLlmServer const& mock) {
    agents::OpenAIEndpoint endpoint;
    endpoint.transport = std::make_shared<chatkit::http::HttpClient>();
    endpoint.base_url = mock.url();
    endpoint.api_key = "test-key";
    endpoint.retry.max_retries = 0;
    return endpoint;
}

/// An AgentChat over `store` (partitioned by TestContext::user, the `session` cookie) behind
/// http::Server with `GET /chatkit/usage`, run by a background thread.
struct Served {
    Served(chatkit::Store<TestContext>& store, std::shared_ptr<agents::Model> model, chatkit::TokenQuotas quotas = {})
        : app({.store = store, .quotas = quotas}, std::move(model)) {
        auto options = test::test_server_options();
        server = std::make_unique<chatkit::http::Server<TestContext>>(app, options, test::make_context);
        chatkit::http::mount_usage_route(*server, store);
        server->start();
        runner = std::thread([this] { server->run(); });
    }
    ~Served() {
        server->stop();
        runner.join();
    }
    Served(Served const&) = delete;
    Served& operator=(Served const&) = delete;

    std::uint16_t port() const { return server->port(); }

    AgentChat app;
    std::unique_ptr<chatkit::http::Server<TestContext>> server;
    std::thread runner;
};

inline std::string as(std::string_view user) { return "Cookie: session=" + std::string(user) + "\r\n"; }

/// `GET /chatkit/usage` as `user`.
inline boost::json::value usage_of(std::uint16_t port, std::string_view user) {
    auto const r = test::exchange(port, test::get_request("/chatkit/usage", "GET", as(user)));
    REQUIRE(r.status == 200);
    return r.json();
}

inline std::uint64_t field(boost::json::value const& v, char const* name) { return v.at(name).to_number<std::uint64_t>(); }

/// Two users, three model responses (two for alice in one thread, one for bob): every figure of
/// `GET /chatkit/usage` and of the Store API equals the sum of what the mock reported.
inline void check_usage_totals(chatkit::Store<TestContext>& store) {
    test::MockLlmServer mock;
    mock.push(test::MockReply::sse(responses_transcript("resp_a1", {"Hello", " there"}, {120, 100, 30, 10})));
    mock.push(test::MockReply::sse(responses_transcript("resp_a2", {"Again"}, {200, 150, 5, 0})));
    mock.push(test::MockReply::sse(responses_transcript("resp_b1", {"Hi"}, {50, 0, 7, 3})));
    Served s(store, std::make_shared<agents::OpenAIResponsesModel>(endpoint_of(mock), "gpt-test"));

    auto const first = test::post(s.port(), test::create_body("hello"), as("alice"));
    REQUIRE(first.status == 200);
    auto const events = test::events_of(first);
    REQUIRE(test::event_types(events).back() == "thread.item.done");
    std::string const thread_id(events.front().at("thread").at("id").as_string());
    json::object params;
    params["thread_id"] = thread_id;
    params["input"] = test::user_input("again");
    auto const second = test::post(s.port(), test::request_body("threads.add_user_message", params), as("alice"));
    REQUIRE(second.status == 200);
    CHECK(test::event_types(test::events_of(second)).back() == "thread.item.done");
    REQUIRE(test::post(s.port(), test::create_body("hi"), as("bob")).status == 200);
    REQUIRE(mock.request_count() == 3);

    auto const alice = usage_of(s.port(), "alice");
    CHECK(field(alice, "input_tokens") == 320);
    CHECK(field(alice, "cached_input_tokens") == 250);
    CHECK(field(alice, "output_tokens") == 35);
    CHECK(field(alice, "reasoning_tokens") == 10);
    CHECK(field(alice, "total_tokens") == 355);
    CHECK(field(alice.at("today"), "total_tokens") == 355);
    auto const& threads = alice.at("threads").as_array();
    REQUIRE(threads.size() == 1);
    CHECK(threads[0].at("thread_id").as_string() == thread_id);
    CHECK(field(threads[0], "total_tokens") == 355);
    CHECK(field(usage_of(s.port(), "bob"), "total_tokens") == 57);
    CHECK(field(usage_of(s.port(), "carol"), "total_tokens") == 0);

    // The Store API has the same figures, and each response on its own.
    TestContext ctx;
    ctx.user = "alice";
    auto const records = test::run_sync(store.load_usage_records(thread_id, 10, ctx));
    REQUIRE(records.size() == 2);
    CHECK(records[0].response_id == "resp_a1");
    CHECK(records[0].usage == chatkit::TokenUsage{120, 100, 30, 10});
    CHECK(records[1].response_id == "resp_a2");
    CHECK(test::run_sync(store.load_usage(5, ctx)).total == chatkit::TokenUsage{320, 250, 35, 10});
}

}  // namespace usage_test
