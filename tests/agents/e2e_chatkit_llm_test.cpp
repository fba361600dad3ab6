// End to end: a ChatKit request → ChatKitServer → Runner → OpenAI model (both wire APIs) → the
// loopback mock LLM over real HTTP → ChatKit SSE events; and a client disconnect during the model
// stream closes the upstream connection and keeps the partial reply.
#include "bridge_support.hpp"
#include "mock_llm.hpp"

#include <chatkit/agents/openai.hpp>
#include <chatkit/http/client/http_client.hpp>
#include <chatkit/server/response.hpp>

#include <catch2/catch.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

using namespace bridge_test;
using namespace chatkit;

namespace {

agents::OpenAIEndpoint endpoint_of(test::MockLlmServer const& mock) {
    agents::OpenAIEndpoint endpoint;
    endpoint.transport = std::make_shared<http::HttpClient>();
    endpoint.base_url = mock.url();
    endpoint.api_key = "test-key";
    return endpoint;
}

std::vector<std::string> const answer_events{
    "thread.item.added/assistant_message",
    "thread.item.updated/assistant_message.content_part.added",
    "thread.item.updated/assistant_message.content_part.text_delta",
    "thread.item.updated/assistant_message.content_part.text_delta",
    "thread.item.updated/assistant_message.content_part.done",
    "thread.item.done/assistant_message",
};

class KeepFrames final : public StreamWriter {
public:
    std::vector<std::string> frames;
    asio::awaitable<void> write(std::string_view frame) override {
        frames.emplace_back(frame);
        co_return;
    }
};

}  // namespace

TEST_CASE_METHOD(Fixture, "e2e: Chat Completions stream → ChatKit events; message ids unique across turns",
                 "[agents][e2e]") {
    test::MockLlmServer mock;
    mock.push(test::MockReply::sse(test::read_fixture("llm/chat_text.sse")));
    mock.push(test::MockReply::sse(test::read_fixture("llm/chat_text.sse")));
    agent.model = std::make_shared<agents::OpenAIChatCompletionsModel>(endpoint_of(mock), "gpt-4.1-mini");

    auto r = test::call(server, test::create_request("Say hello"));
    CHECK(agent_types(r) == answer_events);
    auto const thread_id = Fixture::thread_of(r);
    auto r2 = test::call(server, test::add_message_request(thread_id, "Again"));
    CHECK(agent_types(r2) == answer_events);

    auto stored = items(thread_id);
    REQUIRE(stored.size() == 4);
    auto const& first = std::get<AssistantMessageItem>(stored[1]);
    auto const& second = std::get<AssistantMessageItem>(stored[3]);
    CHECK(first.content.at(0).text == "Hello world");
    CHECK(second.content.at(0).text == "Hello world");
    CHECK(first.id != second.id);
    CHECK(first.id != "__fake_id__");

    // The second request carried the whole conversation in Chat Completions form.
    auto requests = mock.requests();
    REQUIRE(requests.size() == 2);
    CHECK(requests[1].target == "/v1/chat/completions");
    auto const& messages = requests[1].json.at("messages").as_array();
    REQUIRE(messages.size() == 4);  // system, user, assistant, user
    CHECK(messages[0].at("role") == "system");
    CHECK(messages[2].at("role") == "assistant");
    CHECK(messages[3].at("role") == "user");
}

TEST_CASE_METHOD(Fixture, "e2e: Responses stream → ChatKit events", "[agents][e2e]") {
    test::MockLlmServer mock;
    mock.push(test::MockReply::sse(test::read_fixture("llm/responses_text.sse")));
    agent.model = std::make_shared<agents::OpenAIResponsesModel>(endpoint_of(mock), "gpt-4.1-mini");

    auto r = test::call(server, test::create_request("Say hello"));
    auto types = agent_types(r);
    REQUIRE(!types.empty());
    CHECK(types.front() == "thread.item.added/assistant_message");
    CHECK(types.back() == "thread.item.done/assistant_message");
    auto stored = items(Fixture::thread_of(r));
    REQUIRE(stored.size() == 2);
    CHECK(!std::get<AssistantMessageItem>(stored[1]).content.at(0).text.empty());
    REQUIRE(mock.requests().size() == 1);
    CHECK(mock.requests()[0].target == "/v1/responses");
    CHECK(mock.requests()[0].json.at("input").at(0).at("role") == "user");
}

TEST_CASE_METHOD(Fixture, "e2e: a client disconnect during the model stream closes the upstream connection and keeps the partial reply",
                 "[agents][e2e][cancel]") {
    test::MockLlmServer mock;
    // The model sends "Hello world" and then stays silent, as a slow generation would.
    std::string transcript = test::read_fixture("llm/chat_text.sse");
    std::size_t cut = 0;
    for (int i = 0; i < 3; ++i) cut = transcript.find("\n\n", cut) + 2;
    auto reply = test::MockReply::sse(transcript.substr(0, cut));
    reply.stall = true;
    mock.push(reply);
    agent.model = std::make_shared<agents::OpenAIChatCompletionsModel>(endpoint_of(mock), "gpt-4.1-mini");

    KeepFrames writer;
    test::run([&]() -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        Ctx ctx;
        std::string body = json::serialize(test::create_request("Tell me a long story"));
        Response response = co_await server.process(body, ctx);
        // The client leaves once the model is stalled (http::serve's watcher cancels the stream).
        asio::steady_timer leave(co_await asio::this_coro::executor, std::chrono::milliseconds(500));
        co_await (response.stream(writer) || leave.async_wait(asio::use_awaitable));
    }());
    CHECK(server.cancelled_calls == 1);
    CHECK(mock.wait_until([&] { return mock.closed_mid_reply() == 1; }));  // the upstream socket was closed

    auto const thread_id = std::string(json::parse(writer.frames.at(0).substr(6)).at("thread").at("id").as_string());
    auto stored = items(thread_id);
    REQUIRE(stored.size() == 3);
    CHECK(std::get<AssistantMessageItem>(stored[1]).content.at(0).text == "Hello world");
    CHECK(std::get<SDKHiddenContextItem>(stored[2]).content ==
          "The user cancelled the stream. Stop responding to the prior request.");
}
