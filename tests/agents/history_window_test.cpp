// ThreadItemConverter's token-budget window: whole turns, newest first, within the budget; the newest
// turn always; a tool call never separated from its output.
#include "support/test_support.hpp"

#include <chatkit/agents/chatkit/bridge.hpp>

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

namespace agents = chatkit::agents;
using test::Ctx;

namespace {

chatkit::UserMessageItem user(int n, std::string text) {
    chatkit::UserMessageItem item;
    item.id = "msg_u" + std::to_string(n);
    item.thread_id = "thr_1";
    item.content.push_back(chatkit::UserMessageTextContent{std::move(text)});
    return item;
}

chatkit::AssistantMessageItem assistant(int n, std::string text) {
    chatkit::AssistantMessageItem item;
    item.id = "msg_a" + std::to_string(n);
    item.thread_id = "thr_1";
    item.content.push_back(chatkit::AssistantMessageContent{{}, std::move(text)});
    return item;
}

chatkit::ClientToolCallItem tool_call(int n) {
    chatkit::ClientToolCallItem call;
    call.id = "tc_" + std::to_string(n);
    call.thread_id = "thr_1";
    call.status = chatkit::ToolCallStatus::completed;
    call.call_id = "call_" + std::to_string(n);
    call.name = "lookup";
    call.arguments["query"] = "item " + std::to_string(n);
    call.output = chatkit::JsonValue("result " + std::to_string(n));
    return call;
}

/// A long conversation of `count` items: user message, a tool call every third turn, assistant reply.
std::vector<chatkit::ThreadItem> conversation(int count) {
    std::vector<chatkit::ThreadItem> items;
    for (int n = 0; static_cast<int>(items.size()) < count; ++n) {
        items.emplace_back(user(n, "question number " + std::to_string(n) + std::string(n % 7 * 10, 'q')));
        if (n % 3 == 0 && static_cast<int>(items.size()) < count) items.emplace_back(tool_call(n));
        if (static_cast<int>(items.size()) < count)
            items.emplace_back(assistant(n, "answer number " + std::to_string(n) + std::string(n % 5 * 20, 'a')));
    }
    return items;
}

bool is_user_message(agents::Item const& item) {
    auto const* m = std::get_if<agents::MessageItem>(&item);
    return m && m->role == "user";
}

/// Every function_call_output has its function_call in `items`, before it, and vice versa.
void check_calls_paired(std::vector<agents::Item> const& items) {
    std::set<std::string> calls, outputs;
    for (auto const& item : items) {
        if (auto const* c = std::get_if<agents::FunctionCallItem>(&item)) calls.insert(c->call_id);
        if (auto const* o = std::get_if<agents::FunctionCallOutput>(&item)) {
            CHECK(calls.count(o->call_id) == 1);
            outputs.insert(o->call_id);
        }
    }
    CHECK(calls == outputs);
}

}  // namespace

TEST_CASE("a 10,000-item thread is windowed within the token budget, newest turns whole", "[agents][converter][window]") {
    auto const items = conversation(10'000);
    REQUIRE(items.size() == 10'000);
    agents::ThreadItemConverter<Ctx> converter;
    converter.set_token_budget(8'000, 1'000);
    REQUIRE(converter.token_budget() == std::size_t{7'000});
    Ctx ctx;
    auto const input = test::run(converter.to_agent_input(items, ctx));

    REQUIRE(input.size() > 50);  // many turns fit
    CHECK(agents::detail::estimated_tokens(input) <= 7'000);
    CHECK(is_user_message(input.front()));  // the window starts at a turn
    check_calls_paired(input);

    agents::ThreadItemConverter<Ctx> unbounded;
    auto const everything = test::run(unbounded.to_agent_input(items, ctx));
    REQUIRE(everything.size() > input.size());
    // The newest turn is there whole: the window ends with what the whole conversion ends with.
    CHECK(agents::to_json(input.back()) == agents::to_json(everything.back()));
    // The window is the tail of the full conversion, and one more turn would not have fitted.
    std::size_t const start = everything.size() - input.size();
    CHECK(agents::detail::estimated_tokens(std::vector<agents::Item>(everything.begin() + static_cast<std::ptrdiff_t>(start),
                                                                     everything.end())) ==
          agents::detail::estimated_tokens(input));
    std::size_t previous = start - 1;
    while (!is_user_message(everything[previous])) --previous;
    CHECK(agents::detail::estimated_tokens(std::vector<agents::Item>(
              everything.begin() + static_cast<std::ptrdiff_t>(previous), everything.end())) > 7'000);
}

TEST_CASE("the newest turn is kept whole even over the budget", "[agents][converter][window]") {
    std::vector<chatkit::ThreadItem> items{user(1, "old"), assistant(1, "old answer"),
                                           user(2, std::string(4'000, 'x')), tool_call(2)};
    agents::ThreadItemConverter<Ctx> converter;
    converter.set_token_budget(500, 100);
    Ctx ctx;
    auto const input = test::run(converter.to_agent_input(items, ctx));
    REQUIRE(input.size() == 3);  // the long user message, the call and its output
    CHECK(is_user_message(input.front()));
    check_calls_paired(input);

    converter.clear_token_budget();
    CHECK(test::run(converter.to_agent_input(items, ctx)).size() == 5);
}
