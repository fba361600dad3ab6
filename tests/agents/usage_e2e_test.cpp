// Token usage end to end over loopback HTTP with the mock LLM (InMemoryStore and SqliteStore): what
// the model reports is recorded per response, per thread and per owner, and GET /chatkit/usage sums it.
#include "agents/usage_support.hpp"

#include <chatkit/store/memory_store.hpp>
#ifdef CHATKIT_TEST_WITH_SQLITE
#include <chatkit/store/sqlite/store.hpp>
#endif

#include <catch2/catch.hpp>

using namespace usage_test;

namespace {
std::string user_of(TestContext const& ctx) { return ctx.user; }
}  // namespace

TEST_CASE("usage totals equal what the mock reported (InMemoryStore)", "[agents][usage]") {
    chatkit::InMemoryStore<TestContext> store(user_of);
    check_usage_totals(store);
}

#ifdef CHATKIT_TEST_WITH_SQLITE
TEST_CASE("usage totals equal what the mock reported (SqliteStore)", "[agents][usage]") {
    test::TempDir dir;
    chatkit::SqliteStore<TestContext> store(chatkit::SqliteOptions{.path = (dir.path / "usage.db").string()}, user_of);
    check_usage_totals(store);
}
#endif

TEST_CASE("Chat Completions usage (prompt/completion tokens and their details) is recorded", "[agents][usage]") {
    chatkit::InMemoryStore<TestContext> store(user_of);
    test::MockLlmServer mock;
    mock.push(test::MockReply::sse(chat_transcript({"Hello", " world"}, {90, 64, 12, 4})));
    Served s(store, std::make_shared<agents::OpenAIChatCompletionsModel>(endpoint_of(mock), "gpt-test"));
    REQUIRE(test::post(s.port(), test::create_body("hello"), as("alice")).status == 200);
    auto const alice = usage_of(s.port(), "alice");
    CHECK(field(alice, "input_tokens") == 90);
    CHECK(field(alice, "cached_input_tokens") == 64);
    CHECK(field(alice, "output_tokens") == 12);
    CHECK(field(alice, "reasoning_tokens") == 4);
    CHECK(field(alice, "total_tokens") == 102);
}

TEST_CASE("GET /chatkit/usage answers only GET and HEAD", "[agents][usage]") {
    chatkit::InMemoryStore<TestContext> store(user_of);
    test::MockLlmServer mock;
    Served s(store, std::make_shared<agents::OpenAIResponsesModel>(endpoint_of(mock), "gpt-test"));
    auto const r = test::exchange(s.port(), test::post_request("/chatkit/usage", ""));
    CHECK(r.status == 405);
    CHECK(r.header("Allow") == "GET, HEAD");
}

namespace {

std::vector<chatkit::ThreadItem> stored_items(chatkit::Store<TestContext>& store, std::string const& user,
                                              std::string const& thread_id) {
    TestContext ctx;
    ctx.user = user;
    std::optional<std::string> none;
    return test::run_sync(store.load_thread_items(thread_id, none, 100, chatkit::Order::asc, ctx)).data;
}

}  // namespace

TEST_CASE("a daily quota hit mid-run ends the stream with an error event, keeps the partial reply, and the "
          "next request gets 429 before any stream",
          "[agents][usage][quota]") {
    chatkit::InMemoryStore<TestContext> store(user_of);
    test::MockLlmServer mock;
    mock.push(test::MockReply::sse(responses_transcript("resp_1", {"Partial", " answer"}, {80, 0, 30, 0})));
    mock.push(test::MockReply::sse(responses_transcript("resp_2", {"Hi bob"}, {10, 0, 2, 0})));
    chatkit::TokenQuotas quotas;
    quotas.per_owner_per_day = 100;
    Served s(store, std::make_shared<agents::OpenAIResponsesModel>(endpoint_of(mock), "gpt-test"), quotas);

    auto const r = test::post(s.port(), test::create_body("tell me"), as("alice"));
    REQUIRE(r.status == 200);
    auto const events = test::events_of(r);
    auto const& last = events.back();
    CHECK(last.at("type") == "error");
    CHECK(last.at("code") == "custom");
    CHECK(std::string(last.at("message").as_string()).find("token quota") != std::string::npos);
    CHECK_FALSE(last.at("allow_retry").as_bool());
    std::string const thread_id(events.front().at("thread").at("id").as_string());
    auto const items = stored_items(store, "alice", thread_id);
    REQUIRE(items.size() == 2);  // the user message and the partial reply
    CHECK(std::get<chatkit::AssistantMessageItem>(items[1]).content.at(0).text == "Partial answer");

    // Over the quota: refused before any stream (no thread, no model call), until midnight UTC.
    auto const refused = test::post(s.port(), test::create_body("more"), as("alice"));
    CHECK(refused.status == 429);
    CHECK(refused.header("Content-Type") == "application/json");
    long const retry = std::stol(refused.header("Retry-After"));
    CHECK(retry >= 1);
    CHECK(retry <= 86400);
    CHECK(refused.json().at("error").at("code") == "rate_limited");
    // Reading is not limited by the quota.
    CHECK(test::post(s.port(), test::request_body("threads.list", {}), as("alice")).status == 200);
    // Another user is served.
    auto const bob = test::post(s.port(), test::create_body("hi"), as("bob"));
    CHECK(bob.status == 200);
    CHECK(test::event_types(test::events_of(bob)).back() == "thread.item.done");
    CHECK(mock.request_count() == 2);
}

TEST_CASE("a thread over its quota answers with an error event and keeps the message, and a new thread is served",
          "[agents][usage][quota]") {
    chatkit::InMemoryStore<TestContext> store(user_of);
    test::MockLlmServer mock;
    mock.push(test::MockReply::sse(responses_transcript("resp_1", {"Long", " answer"}, {50, 0, 20, 0})));
    mock.push(test::MockReply::sse(responses_transcript("resp_2", {"Fresh"}, {5, 0, 1, 0})));
    chatkit::TokenQuotas quotas;
    quotas.per_thread = 60;
    Served s(store, std::make_shared<agents::OpenAIResponsesModel>(endpoint_of(mock), "gpt-test"), quotas);

    auto const first = test::post(s.port(), test::create_body("hello"), as("alice"));
    auto const first_events = test::events_of(first);
    CHECK(first_events.back().at("type") == "error");  // 70 tokens: the run ends with the error
    std::string const thread_id(first_events.front().at("thread").at("id").as_string());

    json::object params;
    params["thread_id"] = thread_id;
    params["input"] = test::user_input("more please");
    auto const second = test::post(s.port(), test::request_body("threads.add_user_message", params), as("alice"));
    REQUIRE(second.status == 200);
    auto const events = test::events_of(second);
    CHECK(events.back().at("type") == "error");
    CHECK(std::string(events.back().at("message").as_string()).find("new conversation") != std::string::npos);
    auto const items = stored_items(store, "alice", thread_id);
    REQUIRE(items.size() == 3);  // hello, the answer, and the refused message (kept)
    CHECK(chatkit::text_of(std::get<chatkit::UserMessageItem>(items[2])) == "more please");
    CHECK(mock.request_count() == 1);  // no model call for the refused message

    auto const fresh = test::post(s.port(), test::create_body("new topic"), as("alice"));
    CHECK(test::event_types(test::events_of(fresh)).back() == "thread.item.done");
}
