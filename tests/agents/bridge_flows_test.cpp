// stream_agent_response in whole conversations on a real ChatKitServer + InMemoryStore: tools that
// stream widgets and progress, client tools (first-class and the Python idiom) with parallel calls,
// workflows continued across a client-tool round trip, guardrails, errors and cancellation
// (AGENTS.md §2.4 cases 1-4, 18 and §4.10 "Bridge").
#include "bridge_support.hpp"

#include <chatkit/server/response.hpp>

#include <set>

#include <catch2/catch.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

using namespace bridge_test;
using namespace chatkit;

namespace {

json::object const theme_schema =
    json::object{{"type", "object"},
                 {"properties", json::object{{"theme", json::object{{"type", "string"}}}}},
                 {"required", json::array{"theme"}}};
json::object const city_schema =
    json::object{{"type", "object"},
                 {"properties", json::object{{"city", json::object{{"type", "string"}}}}},
                 {"required", json::array{"city"}}};

agents::FunctionTool weather_tool(std::vector<std::string>* calls = nullptr) {
    return agents::make_tool<AgentCtx, json::object>(
        "get_weather", "Weather of a city", city_schema,
        [calls](agents::ToolContext<AgentCtx>& tc, json::object args) -> asio::awaitable<std::string> {
            if (calls) calls->push_back(tc.call_id());
            co_return "Sunny in " + std::string(args.at("city").as_string());
        });
}

WidgetRoot text_widget(std::string value, bool streaming = true) {
    return json::object{{"type", "Card"},
                        {"children", json::array{json::object{{"type", "Text"}, {"id", "text"}, {"value", std::move(value)},
                                                              {"streaming", streaming}}}}};
}

}  // namespace

TEST_CASE_METHOD(Fixture, "bridge: a tool's static widget is one done event, and no tool activity is shown",
                 "[agents][bridge][widgets]") {
    agent.tools.push_back(agents::make_tool<AgentCtx, json::object>(
        "show_card", "Shows a card", agents::empty_object_schema(),
        [](agents::ToolContext<AgentCtx>& tc, json::object) -> asio::awaitable<std::string> {
            co_await tc.context().stream_widget(text_widget("Hello, world!", false), std::string("Hello, world!"));
            co_return "shown";
        }));
    model->push(agents::ScriptedTurn::tool_call("show_card"));
    model->then_text("Done");
    auto r = test::call(server, test::create_request("card please"));
    auto types = agent_types(r);
    REQUIRE(types.size() >= 2);
    CHECK(types.front() == "thread.item.done/widget");
    CHECK(types[1] == "thread.item.added/assistant_message");
    auto widget = of_type(r, "thread.item.done/widget").at(0).at("item");
    CHECK(widget.at("copy_text") == "Hello, world!");
    CHECK(std::string(widget.at("id").as_string()).starts_with("msg_"));
}

TEST_CASE_METHOD(Fixture, "bridge: streamed widget states become added, value deltas or root updates, then done",
                 "[agents][bridge][widgets]") {
    bool replace = false;
    agent.tools.push_back(agents::make_tool<AgentCtx, json::object>(
        "show_card", "Shows a card", agents::empty_object_schema(),
        [&replace](agents::ToolContext<AgentCtx>& tc, json::object) -> asio::awaitable<std::string> {
            std::vector<WidgetRoot> states{text_widget("")};
            if (replace)
                states.push_back(json::object{{"type", "Card"},
                                              {"children", json::array{json::object{{"type", "Text"}, {"id", "other"},
                                                                                    {"value", "Replaced"}}}}});
            else
                states.push_back(text_widget("Hello, world"));
            co_await tc.context().stream_widget(std::move(states));
            co_return "shown";
        }));
    model->push(agents::ScriptedTurn::tool_call("show_card"));
    model->then_text("Done");

    SECTION("a growing streaming text") {
        auto r = test::call(server, test::create_request("card"));
        auto types = agent_types(r);
        REQUIRE(types.size() >= 3);
        CHECK(std::vector<std::string>(types.begin(), types.begin() + 3) ==
              std::vector<std::string>{"thread.item.added/widget", "thread.item.updated/widget.streaming_text.value_delta",
                                       "thread.item.done/widget"});
        auto delta = of_type(r, "thread.item.updated/widget.streaming_text.value_delta").at(0).at("update");
        CHECK(delta.at("component_id") == "text");
        CHECK(delta.at("delta") == "Hello, world");
    }
    SECTION("a replaced tree") {
        replace = true;
        auto r = test::call(server, test::create_request("card"));
        auto types = agent_types(r);
        REQUIRE(types.size() >= 3);
        CHECK(std::vector<std::string>(types.begin(), types.begin() + 3) ==
              std::vector<std::string>{"thread.item.added/widget", "thread.item.updated/widget.root.updated",
                                       "thread.item.done/widget"});
    }
}

TEST_CASE_METHOD(Fixture, "bridge: tool progress passes through; hidden context is stored, never sent, and keeps the workflow open",
                 "[agents][bridge]") {
    agent.tools.push_back(agents::make_tool<AgentCtx, json::object>(
        "lookup", "Looks something up", agents::empty_object_schema(),
        [](agents::ToolContext<AgentCtx>& tc, json::object) -> asio::awaitable<std::string> {
            auto& ctx = tc.context();
            ThreadStreamEvent progress = ProgressUpdateEvent{std::string("search"), "Searching"};
            co_await ctx.stream(std::move(progress));
            CustomTask task;
            task.title = "Searched the catalogue";
            co_await ctx.add_workflow_task(task);
            HiddenContextItem note;
            note.id = ctx.generate_id(StoreItemType::message);
            note.thread_id = ctx.thread().id;
            note.created_at = chatkit::now();
            note.content = "catalogue version 7";
            ThreadStreamEvent hidden = ThreadItemDoneEvent{note};
            co_await ctx.stream(std::move(hidden));
            co_return "found";
        }));
    model->push(agents::ScriptedTurn::tool_call("lookup"));
    model->then_text("Found it");
    auto r = test::call(server, test::create_request("look it up"));
    auto types = agent_types(r);
    CHECK(types == std::vector<std::string>{"progress_update", "thread.item.added/workflow", "thread.item.done/workflow",
                                            "thread.item.added/assistant_message",
                                            "thread.item.updated/assistant_message.content_part.added",
                                            "thread.item.updated/assistant_message.content_part.text_delta",
                                            "thread.item.updated/assistant_message.content_part.text_delta",
                                            "thread.item.updated/assistant_message.content_part.done",
                                            "thread.item.done/assistant_message"});
    CHECK(r.body.find("catalogue version 7") == std::string::npos);
    auto stored = items(Fixture::thread_of(r));
    REQUIRE(stored.size() == 4);  // user, workflow and hidden note (by creation time), answer
    int hidden_notes = 0, workflows = 0;
    for (auto const& item : stored) {
        if (auto const* note = std::get_if<HiddenContextItem>(&item)) {
            ++hidden_notes;
            CHECK(note->content == "catalogue version 7");
        }
        if (auto const* wf = std::get_if<WorkflowItem>(&item)) {
            ++workflows;
            CHECK(wf->workflow.tasks.size() == 1);
        }
    }
    CHECK(hidden_notes == 1);
    CHECK(workflows == 1);

    // The next turn gives the model the hidden note and the task, in the reference's words.
    model->then_text("Again");
    test::call(server, test::add_message_request(Fixture::thread_of(r), "more"));
    auto const input = agents::to_json(model->requests.back().input);
    std::string const text = json::serialize(input);
    CHECK(text.find("<HiddenContext>\\ncatalogue version 7\\n</HiddenContext>") != std::string::npos);
    CHECK(text.find("<Task>\\nSearched the catalogue\\n</Task>") != std::string::npos);
}

TEST_CASE_METHOD(Fixture, "bridge: a client tool called in parallel gets THAT call's ids; the round trip answers it",
                 "[agents][bridge][client-tool]") {
    std::vector<std::string> weather_calls;
    agent.tools.push_back(agents::client_tool("switch_theme", "Switches the page theme", theme_schema));
    agent.tools.push_back(weather_tool(&weather_calls));
    // The client tool comes first, a server tool last: the reference would take the last call's ids.
    auto switch_call = call_item("fc_switch", "call_switch", "switch_theme", R"({"theme":"dark"})");
    auto weather_call = call_item("fc_weather", "call_weather", "get_weather", R"({"city":"Paris"})");
    model->then_items({switch_call, weather_call});
    model->then_text("Dark theme on, and it is sunny in Paris");

    auto r = test::call(server, test::create_request("dark mode and weather in Paris"));
    CHECK(weather_calls == std::vector<std::string>{"call_weather"});  // the server tool still ran
    auto pending = of_type(r, "thread.item.done/client_tool_call");
    REQUIRE(pending.size() == 1);
    auto const& item = pending[0].at("item");
    CHECK(item.at("id") == "fc_switch");
    CHECK(item.at("call_id") == "call_switch");
    CHECK(item.at("name") == "switch_theme");
    CHECK(item.at("arguments") == json::object{{"theme", "dark"}});
    CHECK(item.at("status") == "pending");
    CHECK(agent_types(r).back() == "thread.item.done/client_tool_call");
    REQUIRE(model->requests.size() == 1);

    auto const thread_id = Fixture::thread_of(r);
    auto r2 = test::call(server, add_client_tool_output(thread_id, json::object{{"ok", true}}));
    REQUIRE(r2.status == 200);
    CHECK(of_type(r2, "thread.item.done/assistant_message").size() == 1);
    REQUIRE(model->requests.size() == 2);
    auto input = agents::to_json(model->requests[1].input);
    REQUIRE(input.size() == 3);  // user message, the client call, its output
    CHECK(input[1].at("type") == "function_call");
    CHECK(input[1].at("call_id") == "call_switch");
    CHECK(input[1].at("arguments") == "{\"theme\": \"dark\"}");
    CHECK(input[2].at("type") == "function_call_output");
    CHECK(input[2].at("call_id") == "call_switch");
    CHECK(input[2].at("output") == "{\"ok\": true}");

    auto stored = items(thread_id);
    REQUIRE(stored.size() == 3);
    CHECK(std::get<ClientToolCallItem>(stored[1]).status == ToolCallStatus::completed);
}

TEST_CASE_METHOD(Fixture, "bridge: the Python idiom (a tool requests the client call) uses the requesting call's ids",
                 "[agents][bridge][client-tool]") {
    agent.tools.push_back(agents::make_tool<AgentCtx, json::object>(
        "open_settings", "Opens the settings panel in the browser", agents::empty_object_schema(),
        [](agents::ToolContext<AgentCtx>& tc, json::object) -> asio::awaitable<std::string> {
            tc.context().request_client_tool(tc, "open_panel", json::object{{"panel", "settings"}});
            co_return "requested";
        }));
    agent.tools.push_back(weather_tool());
    agent.tool_use_behavior = agents::ToolUseBehavior::stop_at_tools({"open_settings"});
    model->then_items({call_item("fc_open", "call_open", "open_settings"),
                       call_item("fc_w", "call_w", "get_weather", R"({"city":"Oslo"})")});
    auto r = test::call(server, test::create_request("open settings"));
    auto pending = of_type(r, "thread.item.done/client_tool_call");
    REQUIRE(pending.size() == 1);
    CHECK(pending[0].at("item").at("name") == "open_panel");
    CHECK(pending[0].at("item").at("call_id") == "call_open");
    CHECK(pending[0].at("item").at("id") == "fc_open");
    CHECK(pending[0].at("item").at("arguments") == json::object{{"panel", "settings"}});
}

TEST_CASE_METHOD(Fixture, "bridge: a reasoning workflow open at a client tool call continues after the round trip",
                 "[agents][bridge][client-tool][reasoning]") {
    agent.tools.push_back(agents::client_tool("switch_theme", "Switches the page theme", theme_schema));
    // Turn 1: a thought, then the client tool call (the run stops, the workflow stays open).
    std::vector<agents::ModelStreamEvent> first;
    first.push_back(item_added(reasoning_item("rs_1")));
    first.push_back(summary_delta("rs_1", 0, "The user wants dark mode"));
    first.push_back(summary_done("rs_1", 0, "The user wants dark mode"));
    first.push_back(item_done(reasoning_item("rs_1")));
    auto call = call_item("fc_1", "call_1", "switch_theme", R"({"theme":"dark"})");
    first.push_back(item_added(call, 1));
    first.push_back(item_done(call, 1));
    first.push_back(completed({reasoning_item("rs_1"), call}));
    model->push(agents::ScriptedTurn::raw(first));
    // Turn 2: another thought joins the same workflow, then the answer closes it.
    std::vector<agents::ModelStreamEvent> second;
    second.push_back(item_added(reasoning_item("rs_2")));
    second.push_back(summary_done("rs_2", 0, "It worked"));
    append(second, message_events("msg_2", {"Switched"}, 1));
    second.push_back(completed({reasoning_item("rs_2"), message("msg_2", {out_text("Switched")})}));
    model->push(agents::ScriptedTurn::raw(second));

    auto r = test::call(server, test::create_request("dark mode please"));
    auto types = agent_types(r);
    CHECK(types == std::vector<std::string>{"thread.item.added/workflow", "thread.item.updated/workflow.task.added",
                                            "thread.item.updated/workflow.task.updated",
                                            "thread.item.done/client_tool_call"});
    auto const workflow_id = of_type(r, "thread.item.added/workflow").at(0).at("item").at("id");
    auto const thread_id = Fixture::thread_of(r);
    auto stored = items(thread_id);
    REQUIRE(stored.size() == 3);  // user, the open workflow (stored without a done event), the call
    CHECK(std::get<WorkflowItem>(stored[1]).workflow.tasks.size() == 1);
    CHECK(!std::get<WorkflowItem>(stored[1]).workflow.summary);

    auto r2 = test::call(server, add_client_tool_output(thread_id, json::object{{"ok", true}}));
    auto types2 = agent_types(r2);
    REQUIRE(types2.size() >= 3);
    CHECK(types2[0] == "thread.item.updated/workflow.task.added");
    CHECK(types2[1] == "thread.item.done/workflow");
    CHECK(types2[2] == "thread.item.added/assistant_message");
    CHECK(of_type(r2, "thread.item.updated/workflow.task.added").at(0).at("item_id") == workflow_id);
    CHECK(of_type(r2, "thread.item.updated/workflow.task.added").at(0).at("update").at("task_index") == 1);
    auto done = of_type(r2, "thread.item.done/workflow").at(0).at("item");
    CHECK(done.at("id") == workflow_id);
    CHECK(done.at("workflow").at("tasks").as_array().size() == 2);

    stored = items(thread_id);
    REQUIRE(stored.size() == 4);
    CHECK(std::get<WorkflowItem>(stored[1]).workflow.tasks.size() == 2);
    CHECK(std::get<AssistantMessageItem>(stored[3]).content.at(0).text == "Switched");
}

TEST_CASE_METHOD(Fixture, "bridge: assistant message ids stay unique across turns even with a placeholder provider id",
                 "[agents][bridge]") {
    for (int i = 0; i < 2; ++i) {
        auto events = message_events("__fake_id__", {"Same ", "id"});
        events.push_back(completed({message("__fake_id__", {out_text("Same id")})}));
        model->push(agents::ScriptedTurn::raw(events));
    }
    auto r = test::call(server, test::create_request("one"));
    auto const thread_id = Fixture::thread_of(r);
    auto r2 = test::call(server, test::add_message_request(thread_id, "two"));
    auto stored = items(thread_id);
    REQUIRE(stored.size() == 4);
    auto const& a = std::get<AssistantMessageItem>(stored[1]);
    auto const& b = std::get<AssistantMessageItem>(stored[3]);
    CHECK(a.id != b.id);
    CHECK(a.id != "__fake_id__");
    CHECK(b.content.at(0).text == "Same id");
    // Every update of the second turn names the item it belongs to.
    for (auto const& e : of_type(r2, "thread.item.updated/assistant_message.content_part.text_delta"))
        CHECK(e.at("item_id").as_string() == b.id);
}

TEST_CASE_METHOD(Fixture, "bridge: a guardrail tripwire removes every item the stream produced, then reports an error",
                 "[agents][bridge][guardrails]") {
    before_run = [](AgentCtx& ctx) -> asio::awaitable<void> {
        AssistantMessageItem message;
        message.id = "ctx_msg";
        message.thread_id = ctx.thread().id;
        message.created_at = chatkit::now();
        message.content.push_back({{}, "Hello, world!"});
        ThreadStreamEvent added = ThreadItemAddedEvent{message};
        co_await ctx.stream(std::move(added));
        WidgetItem widget;
        widget.id = "ctx_widget";
        widget.thread_id = ctx.thread().id;
        widget.created_at = chatkit::now();
        widget.widget = text_widget("Hello, world!", false);
        ThreadStreamEvent done = ThreadItemDoneEvent{widget};
        co_await ctx.stream(std::move(done));
    };
    std::set<std::string> expected{"ctx_msg", "ctx_widget"};

    SECTION("output guardrail") {
        agents::OutputGuardrail<AgentCtx> guard;
        guard.name = "no_secrets";
        guard.fn = [](agents::RunContext<AgentCtx>&, TestAgent const&, json::value const&)
            -> asio::awaitable<agents::GuardrailOutput> { co_return agents::GuardrailOutput{"leak", true}; };
        agent.output_guardrails.push_back(guard);
        model->then_items({message("msg_out", {out_text("The secret is 42")})});
        expected.insert("msg_out");
    }
    SECTION("input guardrail") {
        agents::InputGuardrail<AgentCtx> guard;
        guard.name = "off_topic";
        guard.fn = [](agents::RunContext<AgentCtx>&, TestAgent const&, std::vector<agents::Item> const&)
            -> asio::awaitable<agents::GuardrailOutput> { co_return agents::GuardrailOutput{"off topic", true}; };
        agent.input_guardrails.push_back(guard);
        model->then_items({message("msg_out", {out_text("Never shown")})});
    }

    auto r = test::call(server, test::create_request("tell me the secret"));
    CHECK(tripwires == 1);
    std::set<std::string> removed;
    for (auto const& e : of_type(r, "thread.item.removed")) removed.insert(std::string(e.at("item_id").as_string()));
    if (expected.count("msg_out") == 0) removed.erase("msg_out");  // a parallel input guardrail may let the model start
    CHECK(removed == expected);
    auto const& last = r.events.back();
    CHECK(last.at("type") == "error");
    CHECK(last.at("code") == "custom");
    CHECK(last.at("message") == "Sorry, I can't help with that.");
    auto stored = items(Fixture::thread_of(r));
    REQUIRE(stored.size() == 1);  // only the user's message is left
    CHECK(std::holds_alternative<UserMessageItem>(stored[0]));
}

TEST_CASE_METHOD(Fixture, "bridge: an error mid-message finishes the message with its partial text before the error event",
                 "[agents][bridge][errors]") {
    std::vector<agents::ModelStreamEvent> events;
    events.push_back(item_added(reasoning_item("rs_1")));
    events.push_back(summary_done("rs_1", 0, "Planning"));
    events.push_back(item_added(message("msg_p"), 1));
    events.push_back(part_added("msg_p", 0, output_text_part("")));
    events.push_back(text_delta("msg_p", "Partial "));
    events.push_back(text_delta("msg_p", "answer"));
    model->push(agents::ScriptedTurn::raw(
        events, std::make_exception_ptr(agents::ModelStreamError("server_error", "The server had an error", true))));

    auto r = test::call(server, test::create_request("fail midway"));
    auto types = agent_types(r);
    REQUIRE(types.size() >= 2);
    CHECK(types[types.size() - 2] == "thread.item.done/assistant_message");
    CHECK(types.back() == "error");
    CHECK(r.events.back().at("code") == "stream.error");
    CHECK(r.events.back().at("allow_retry") == true);
    CHECK(r.body.find("The server had an error") == std::string::npos);  // never the exception text
    auto stored = items(Fixture::thread_of(r));
    REQUIRE(stored.size() == 3);
    CHECK(std::get<WorkflowItem>(stored[1]).workflow.summary.has_value());
    CHECK(std::get<AssistantMessageItem>(stored[2]).content.at(0).text == "Partial answer");
}

namespace {

/// A model that streams the start of an answer, then waits (like a slow provider) until cancelled.
class StallingModel final : public agents::Model {
public:
    bool cancelled = false;
    asio::awaitable<agents::ModelResponse> stream(agents::ModelRequest const&,
                                                  agents::ModelEventHandler const& on_event) override {
        for (auto const& ev : std::vector<agents::ModelStreamEvent>{
                 item_added(message("msg_s")), part_added("msg_s", 0, output_text_part("")),
                 text_delta("msg_s", "Partial "), text_delta("msg_s", "answer")})
            co_await on_event(ev);
        asio::steady_timer forever(co_await asio::this_coro::executor, std::chrono::hours(1));
        try {
            co_await forever.async_wait(asio::use_awaitable);
        } catch (...) {
            cancelled = true;
            throw;
        }
        co_return agents::ModelResponse{};
    }
};

/// A transport that keeps frames and reports when the second text delta went out.
class WatchingWriter final : public StreamWriter {
public:
    explicit WatchingWriter(asio::steady_timer& gate) : gate_(gate) {}
    std::vector<std::string> frames;
    asio::awaitable<void> write(std::string_view frame) override {
        frames.emplace_back(frame);
        if (frame.find("\"delta\":\"answer\"") != std::string_view::npos) gate_.cancel();
        co_return;
    }

private:
    asio::steady_timer& gate_;
};

}  // namespace

TEST_CASE_METHOD(Fixture, "bridge: a client disconnect mid-answer stops the model and keeps the partial text",
                 "[agents][bridge][cancel]") {
    auto stalling = std::make_shared<StallingModel>();
    agent.model = stalling;
    std::vector<std::string> frames;
    test::run([&]() -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        Ctx ctx;  // named: no braced temporary inside a co_await (g++ 12)
        std::string body = json::serialize(test::create_request("long answer"));
        Response response = co_await server.process(body, ctx);
        asio::steady_timer gate(co_await asio::this_coro::executor, std::chrono::hours(1));
        WatchingWriter writer(gate);
        // The "client leaves" once the model is waiting after the second delta (what http::serve's
        // watcher does when the socket closes).
        asio::steady_timer leave(co_await asio::this_coro::executor, std::chrono::milliseconds(200));
        co_await (response.stream(writer) || leave.async_wait(asio::use_awaitable));
        frames = writer.frames;
    }());
    CHECK(stalling->cancelled);
    CHECK(server.cancelled_calls == 1);
    for (auto const& f : frames) {
        CHECK(f.find("\"type\":\"error\"") == std::string::npos);
        CHECK(f.find("thread.item.done\",\"item\":{\"id\":\"msg_s\"") == std::string::npos);
    }
    auto const thread_id = std::string(json::parse(frames.at(0).substr(6)).at("thread").at("id").as_string());
    auto stored = items(thread_id);
    REQUIRE(stored.size() == 3);
    auto const& partial = std::get<AssistantMessageItem>(stored[1]);
    CHECK(partial.id == "msg_s");
    CHECK(partial.content.at(0).text == "Partial answer");
    CHECK(std::get<SDKHiddenContextItem>(stored[2]).content ==
          "The user cancelled the stream. Stop responding to the prior request.");
}
