// Runner with ScriptedModel: the turn loop, tools, tool-use behaviours, client tools, usage.
#include "runner_support.hpp"

using namespace rt;

namespace {

struct WeatherArgs {
    std::string city;
};
WeatherArgs tag_invoke(json::value_to_tag<WeatherArgs>, json::value const& v) {
    return WeatherArgs{std::string(v.at("city").as_string())};
}

json::object city_schema() {
    return json::parse(R"({"type":"object","properties":{"city":{"type":"string"}}})").as_object();
}

ag::FunctionTool weather_tool() {
    return ag::make_tool<AppCtx, WeatherArgs>(
        "get_weather", "Current weather", city_schema(),
        [](ag::ToolContext<AppCtx>& ctx, WeatherArgs args) -> ag::task<json::value> {
            ctx.context().counter++;
            ctx.context().log.push_back("weather:" + args.city + ":" + ctx.call_id() + ":" +
                                        ctx.item_id().value_or("-"));
            json::object out;
            out["city"] = args.city;
            out["temp_c"] = 21;
            co_return out;
        });
}

}  // namespace

TEST_CASE("runner: a text-only answer is the final output", "[agents][runner]") {
    auto model = std::make_shared<ag::ScriptedModel>();
    model->then_text("Hello world");
    auto agent = agent_with("Assistant", model);
    AppCtx ctx;
    RecordingSink sink;
    ag::RunOptions opts;
    opts.sink = &sink;
    auto result = run(agent, "Hi", ctx, opts);

    CHECK(result.final_text() == "Hello world");
    CHECK(result.final_output == json::value("Hello world"));
    CHECK(result.last_agent == "Assistant");
    CHECK(result.last_response_id == std::optional<std::string>("resp_1"));
    REQUIRE(result.new_items.size() == 1);
    CHECK(result.new_items[0].type == ag::RunItem::Type::MessageOutput);
    CHECK(result.new_items[0].agent == "Assistant");
    CHECK(result.raw_responses.size() == 1);
    CHECK(result.usage.requests == 1);

    REQUIRE(model->requests.size() == 1);
    auto const& req = model->requests[0];
    CHECK(req.instructions == std::optional<std::string>("You are Assistant."));
    CHECK(req.tools.empty());
    REQUIRE(req.input.size() == 1);
    CHECK(json::serialize(ag::to_json(req.input[0])) ==
          R"({"type":"message","role":"user","content":[{"type":"input_text","text":"Hi"}]})");

    std::vector<std::string> expected{
        "agent:Assistant",
        "raw:response.created",
        "raw:response.in_progress",
        "raw:response.output_item.added",
        "raw:response.content_part.added",
        "raw:response.output_text.delta",
        "raw:response.output_text.delta",
        "raw:response.output_text.done",
        "raw:response.content_part.done",
        "raw:response.output_item.done",
        "raw:response.completed",
        "item:message_output_created:message_output_item",
    };
    CHECK(sink.lines == expected);
}

TEST_CASE("runner: an answer without any message ends with an empty output", "[agents][runner]") {
    auto model = std::make_shared<ag::ScriptedModel>();
    model->then_items({});
    AppCtx ctx;
    auto result = run(agent_with("A", model), "Hi", ctx);
    CHECK(result.final_text().empty());
    CHECK(result.final_output == json::value(""));
}

TEST_CASE("runner: one tool call runs the tool and feeds its output back", "[agents][runner]") {
    auto model = std::make_shared<ag::ScriptedModel>();
    model->push(ag::ScriptedTurn::tool_call("get_weather", R"({"city":"Paris"})"));
    model->then_text("It is 21 degrees in Paris.");
    auto agent = agent_with("Assistant", model);
    agent.tools.push_back(weather_tool());
    AppCtx ctx;
    RecordingSink sink;
    ag::RunOptions opts;
    opts.sink = &sink;
    auto result = run(agent, "Weather in Paris?", ctx, opts);

    CHECK(result.final_text() == "It is 21 degrees in Paris.");
    CHECK(ctx.counter == 1);
    REQUIRE(ctx.log.size() == 1);
    CHECK(ctx.log[0] == "weather:Paris:call_1:fc_1");

    REQUIRE(model->requests.size() == 2);
    // The tool is offered with a strict schema.
    REQUIRE(model->requests[0].tools.size() == 1);
    auto const& spec = model->requests[0].tools[0];
    CHECK(spec.name == "get_weather");
    CHECK(spec.strict);
    CHECK(json::serialize(spec.parameters) ==
          R"({"type":"object","properties":{"city":{"type":"string"}},"additionalProperties":false,"required":["city"]})");
    // The second request holds the call and its output.
    auto const& second = model->requests[1].input;
    REQUIRE(second.size() == 3);
    CHECK(json::serialize(ag::to_json(second[1])) ==
          R"({"id":"fc_1","type":"function_call","status":"completed","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"})");
    CHECK(json::serialize(ag::to_json(second[2])) ==
          R"({"type":"function_call_output","call_id":"call_1","output":"{\"city\":\"Paris\",\"temp_c\":21}"})");

    REQUIRE(result.new_items.size() == 3);
    CHECK(result.new_items[0].type == ag::RunItem::Type::ToolCall);
    CHECK(result.new_items[1].type == ag::RunItem::Type::ToolCallOutput);
    CHECK(result.new_items[1].tool_name == std::optional<std::string>("get_weather"));
    CHECK(result.new_items[2].type == ag::RunItem::Type::MessageOutput);

    // Raw events of a response come before its run items; tool_called before tool_output.
    auto const called = sink.index_of("item:tool_called:tool_call_item");
    auto const output = sink.index_of("item:tool_output:tool_call_output_item");
    auto const first_completed = sink.index_of("raw:response.completed");
    REQUIRE(called >= 0);
    CHECK(first_completed < called);
    CHECK(called < output);
    CHECK(output < sink.last_index_of_prefix("raw:response.created"));
    CHECK(sink.with_prefix("agent:").size() == 1);
}

TEST_CASE("runner: parallel calls start in call order, finish in any order, answer in call order",
          "[agents][runner][parallel]") {
    // slow_a only finishes after c has started: it can only complete if the calls run concurrently.
    struct Shared {
        std::vector<std::string> started, finished;
        std::unique_ptr<asio::steady_timer> gate;
    };
    auto shared = std::make_shared<Shared>();
    auto make = [shared](std::string name, bool waits, bool opens) {
        return ag::make_tool<AppCtx, json::object>(
            name, "test tool", json::object{},
            [shared, name, waits, opens](ag::ToolContext<AppCtx>&, json::object) -> ag::task<std::string> {
                shared->started.push_back(name);
                if (waits) {
                    shared->gate = std::make_unique<asio::steady_timer>(co_await asio::this_coro::executor,
                                                                         asio::steady_timer::time_point::max());
                    auto [ec] = co_await shared->gate->async_wait(asio::as_tuple(asio::use_awaitable));
                    (void)ec;
                    shared->gate.reset();  // an I/O object must not outlive its io_context
                }
                if (opens && shared->gate) shared->gate->cancel();
                co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
                shared->finished.push_back(name);
                co_return "out:" + name;
            });
    };
    auto model = std::make_shared<ag::ScriptedModel>();
    model->then_items({ag::function_call("slow_a", "{}"), ag::function_call("b", "{}"), ag::function_call("c", "{}")});
    model->then_text("done");
    auto agent = agent_with("A", model);
    agent.tools = {make("slow_a", true, false), make("b", false, false), make("c", false, true)};
    AppCtx ctx;
    RecordingSink sink;
    ag::RunOptions opts;
    opts.sink = &sink;
    auto result = run(agent, "go", ctx, opts);

    CHECK(result.final_text() == "done");
    CHECK(shared->started == std::vector<std::string>{"slow_a", "b", "c"});
    REQUIRE(shared->finished.size() == 3);
    CHECK(shared->finished.back() == "slow_a");
    auto outputs = outputs_of(model->requests.at(1).input);
    REQUIRE(outputs.size() == 3);
    CHECK(outputs[0].output == "out:slow_a");
    CHECK(outputs[1].output == "out:b");
    CHECK(outputs[2].output == "out:c");
    CHECK(outputs[0].call_id == "call_1");
    CHECK(outputs[2].call_id == "call_3");
    // Every tool_called precedes every tool_output.
    CHECK(sink.last_index_of_prefix("item:tool_called") < sink.index_of("item:tool_output:tool_call_output_item"));
    CHECK(sink.with_prefix("item:tool_output").size() == 3);
}

TEST_CASE("runner: max_tool_concurrency caps how many calls run at once", "[agents][runner][parallel]") {
    struct Shared {
        int active = 0, peak = 0, runs = 0;
    };
    auto run_with_cap = [](std::optional<std::size_t> cap) {
        auto shared = std::make_shared<Shared>();
        auto tool = ag::make_tool<AppCtx, json::object>(
            "work", "test tool", json::object{},
            [shared](ag::ToolContext<AppCtx>&, json::object) -> ag::task<std::string> {
                ++shared->runs;
                shared->peak = std::max(shared->peak, ++shared->active);
                for (int i = 0; i < 3; ++i) co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
                --shared->active;
                co_return "ok";
            });
        auto model = std::make_shared<ag::ScriptedModel>();
        std::vector<ag::Item> calls;
        for (int i = 0; i < 5; ++i) calls.emplace_back(ag::function_call("work", "{}"));
        model->then_items(calls);
        model->then_text("done");
        auto agent = agent_with("A", model);
        agent.tools.push_back(tool);
        AppCtx ctx;
        ag::RunOptions opts;
        opts.max_tool_concurrency = cap;
        auto result = run(agent, "go", ctx, opts);
        CHECK(result.final_text() == "done");
        CHECK(shared->runs == 5);
        CHECK(outputs_of(model->requests.at(1).input).size() == 5);
        return shared->peak;
    };
    CHECK(run_with_cap(std::nullopt) == 5);
    CHECK(run_with_cap(2) == 2);
    CHECK(run_with_cap(1) == 1);
}

TEST_CASE("runner: a tool error is fed back to the model with the SDK's text", "[agents][runner][errors]") {
    auto failing = ag::make_tool<AppCtx, json::object>(
        "flaky", "fails", json::object{}, [](ag::ToolContext<AppCtx>&, json::object) -> ag::task<std::string> {
            throw std::runtime_error("disk on fire");
            co_return "never";
        });
    auto model = std::make_shared<ag::ScriptedModel>();
    model->then_items({ag::function_call("flaky", "{}")});
    model->then_text("Sorry, the tool failed.");
    auto agent = agent_with("A", model);
    agent.tools.push_back(failing);
    AppCtx ctx;
    auto result = run(agent, "go", ctx);
    CHECK(result.final_text() == "Sorry, the tool failed.");
    auto outputs = outputs_of(model->requests.at(1).input);
    REQUIRE(outputs.size() == 1);
    CHECK(outputs[0].output == "An error occurred while running the tool. Please try again. Error: disk on fire");

    SECTION("a custom error formatter is used") {
        auto custom = failing;
        custom.on_error = [](ag::ToolContextBase& c, std::exception_ptr) -> std::optional<std::string> {
            return "custom failure of " + c.tool_name();
        };
        auto model2 = std::make_shared<ag::ScriptedModel>();
        model2->then_items({ag::function_call("flaky", "{}")});
        model2->then_text("ok");
        auto agent2 = agent_with("A", model2);
        agent2.tools.push_back(custom);
        run(agent2, "go", ctx);
        CHECK(outputs_of(model2->requests.at(1).input).at(0).output == "custom failure of flaky");
    }
    SECTION("without a formatter the error fails the run") {
        auto strict = failing;
        strict.on_error = nullptr;
        auto model2 = std::make_shared<ag::ScriptedModel>();
        model2->then_items({ag::function_call("flaky", "{}")});
        auto agent2 = agent_with("A", model2);
        agent2.tools.push_back(strict);
        CHECK_THROWS_WITH(run(agent2, "go", ctx), "disk on fire");
        CHECK(model2->requests.size() == 1);
    }
}

TEST_CASE("runner: malformed arguments are reported to the model, the tool is not invoked",
          "[agents][runner][errors]") {
    auto model = std::make_shared<ag::ScriptedModel>();
    model->then_items({ag::function_call("get_weather", R"({"city": "Par)"), ag::function_call("get_weather", "[1,2]"),
                       ag::function_call("get_weather", R"({"town":"Rome"})")});
    model->then_text("I could not check.");
    auto agent = agent_with("A", model);
    agent.tools.push_back(weather_tool());
    AppCtx ctx;
    auto result = run(agent, "go", ctx);
    CHECK(result.final_text() == "I could not check.");
    CHECK(ctx.counter == 0);
    auto outputs = outputs_of(model->requests.at(1).input);
    REQUIRE(outputs.size() == 3);
    std::string const prefix =
        "An error occurred while parsing tool arguments. Please try again with valid JSON. Error: ";
    CHECK(outputs[0].output == prefix + R"(Invalid JSON input for tool get_weather: {"city": "Par)");
    CHECK(outputs[1].output == prefix + "Invalid JSON input for tool get_weather: expected an object, got [1,2]");
    // Valid JSON that does not fit the typed arguments is also an argument error.
    CHECK(outputs[2].output.rfind(prefix, 0) == 0);
}

TEST_CASE("runner: empty arguments mean an empty object", "[agents][runner]") {
    auto model = std::make_shared<ag::ScriptedModel>();
    model->then_items({ag::function_call("ping", "")});
    model->then_text("pong");
    auto agent = agent_with("A", model);
    agent.tools.push_back(echo_tool("ping", "pong!"));
    AppCtx ctx;
    auto result = run(agent, "go", ctx);
    CHECK(ctx.log == std::vector<std::string>{"ping({})"});
    CHECK(outputs_of(model->requests.at(1).input).at(0).output == "pong!");
}

TEST_CASE("runner: an unknown tool is a ModelBehaviorError by default", "[agents][runner][errors]") {
    auto model = std::make_shared<ag::ScriptedModel>();
    model->then_items({ag::function_call("launch_rockets", "{}")});
    auto agent = agent_with("A", model);
    AppCtx ctx;
    CHECK_THROWS_AS(run(agent, "go", ctx), ag::ModelBehaviorError);
    auto model2 = std::make_shared<ag::ScriptedModel>();
    model2->then_items({ag::function_call("launch_rockets", "{}")});
    CHECK_THROWS_WITH(run(agent_with("A", model2), "go", ctx), "Tool launch_rockets not found in agent A");
}

TEST_CASE("runner: an unknown tool can be reported to the model instead", "[agents][runner][errors]") {
    auto model = std::make_shared<ag::ScriptedModel>();
    model->then_items({ag::function_call("launch_rockets", "{}"), ag::function_call("ping", "{}")});
    model->then_text("I cannot launch rockets.");
    auto agent = agent_with("A", model);
    agent.tools.push_back(echo_tool("ping", "pong"));
    AppCtx ctx;
    ag::RunOptions opts;
    opts.unknown_tool_to_model = true;
    auto result = run(agent, "go", ctx, opts);
    CHECK(result.final_text() == "I cannot launch rockets.");
    auto outputs = outputs_of(model->requests.at(1).input);
    REQUIRE(outputs.size() == 2);
    CHECK(outputs[0].output == "Tool launch_rockets not found in agent A.");
    CHECK(outputs[1].output == "pong");
    CHECK(no_orphan_calls(model->requests.at(1).input));
}

TEST_CASE("runner: stop_on_first_tool makes the first tool output final", "[agents][runner][behavior]") {
    auto model = std::make_shared<ag::ScriptedModel>();
    model->then_items({ag::function_call("a", "{}"), ag::function_call("b", "{}")});
    auto agent = agent_with("A", model);
    agent.tools = {echo_tool("a", "first"), echo_tool("b", "second")};
    agent.tool_use_behavior = ag::ToolUseBehavior::stop_on_first_tool();
    AppCtx ctx;
    auto result = run(agent, "go", ctx);
    CHECK(result.final_text() == "first");
    CHECK(model->requests.size() == 1);
    CHECK(ctx.log.size() == 2);  // both tools of the turn ran
}

TEST_CASE("runner: StopAtTools stops only at the listed tools", "[agents][runner][behavior]") {
    auto model = std::make_shared<ag::ScriptedModel>();
    model->then_items({ag::function_call("a", "{}")});
    model->then_items({ag::function_call("a", "{}"), ag::function_call("b", "{}")});
    auto agent = agent_with("A", model);
    agent.tools = {echo_tool("a", "from a"), echo_tool("b", "from b")};
    agent.tool_use_behavior = ag::ToolUseBehavior::stop_at_tools({"b"});
    AppCtx ctx;
    auto result = run(agent, "go", ctx);
    CHECK(result.final_text() == "from b");
    CHECK(model->requests.size() == 2);
    CHECK(ctx.log.size() == 3);
    CHECK(ag::to_json(result.to_input_list()).size() == 1 + 2 + 4);
    CHECK(no_orphan_calls(result.to_input_list()));
}

TEST_CASE("runner: a custom tool-use behaviour decides from the results", "[agents][runner][behavior]") {
    auto model = std::make_shared<ag::ScriptedModel>();
    model->then_items({ag::function_call("a", "{}")});
    model->then_items({ag::function_call("b", "{}")});
    auto agent = agent_with("A", model);
    agent.tools = {echo_tool("a", "1"), echo_tool("b", "2")};
    std::vector<std::string> seen;
    agent.tool_use_behavior = ag::ToolUseBehavior::custom_fn(
        [&seen](std::vector<ag::ToolCallResult> const& results) -> std::optional<json::value> {
            for (auto const& r : results) seen.push_back(r.tool_name + "=" + r.output.to_model_string());
            if (results.front().tool_name == "b") return json::value{{"done", true}};
            return std::nullopt;
        });
    AppCtx ctx;
    auto result = run(agent, "go", ctx);
    CHECK(seen == std::vector<std::string>{"a=1", "b=2"});
    CHECK(json::serialize(result.final_output) == R"({"done":true})");
    CHECK(result.final_text() == R"({"done":true})");
}

TEST_CASE("runner: a client tool call ends the run with that call's ids", "[agents][runner][client]") {
    auto model = std::make_shared<ag::ScriptedModel>();
    auto server_call = ag::function_call("lookup", R"({"q":"x"})", "call_server");
    auto client_call = ag::function_call("pick_color", R"({"palette":"warm"})", "call_client");
    client_call.id = "fc_client";
    auto later_call = ag::function_call("lookup", "{}", "call_later");
    model->then_items({server_call, client_call, later_call});
    auto agent = agent_with("A", model);
    agent.tools = {echo_tool("lookup", "found"),
                   ag::client_tool("pick_color", "Ask the user for a color",
                                   json::parse(R"({"type":"object","properties":{"palette":{"type":"string"}}})").as_object())};
    AppCtx ctx;
    RecordingSink sink;
    ag::RunOptions opts;
    opts.sink = &sink;
    auto result = run(agent, "go", ctx, opts);

    REQUIRE(result.client_tool_call);
    CHECK(result.client_tool_call->name == "pick_color");
    CHECK(result.client_tool_call->call_id == "call_client");
    CHECK(result.client_tool_call->item_id == std::optional<std::string>("fc_client"));
    CHECK(json::serialize(result.client_tool_call->arguments) == R"({"palette":"warm"})");
    CHECK(result.final_output.is_null());
    CHECK(model->requests.size() == 1);
    // The other calls of that response still ran.
    CHECK(ctx.log == std::vector<std::string>{R"(lookup({"q":"x"}))", "lookup({})"});
    CHECK(sink.with_prefix("item:tool_called").size() == 3);
    CHECK(sink.with_prefix("item:tool_output").size() == 2);
    // The pending client call has no output yet, so the input list leaves it out.
    auto list = result.to_input_list();
    CHECK(no_orphan_calls(list));
    for (auto const& i : list)
        if (auto const* c = std::get_if<ag::FunctionCallItem>(&i)) CHECK(c->call_id != "call_client");
}

TEST_CASE("runner: max_turns bounds the number of model calls", "[agents][runner]") {
    auto model = std::make_shared<ag::ScriptedModel>();
    for (int i = 0; i < 5; ++i) model->then_items({ag::function_call("ping", "{}")});
    auto agent = agent_with("A", model);
    agent.tools.push_back(echo_tool("ping", "pong"));
    AppCtx ctx;
    ag::RunOptions opts;
    opts.max_turns = 3;
    CHECK_THROWS_AS(run(agent, "go", ctx, opts), ag::MaxTurnsExceeded);
    CHECK(model->requests.size() == 3);
    auto model2 = std::make_shared<ag::ScriptedModel>();
    for (int i = 0; i < 5; ++i) model2->then_items({ag::function_call("ping", "{}")});
    auto agent2 = agent_with("A", model2);
    agent2.tools.push_back(echo_tool("ping", "pong"));
    opts.max_turns = 2;
    CHECK_THROWS_WITH(run(agent2, "go", ctx, opts), "Max turns (2) exceeded");

    SECTION("unlimited turns") {
        auto model3 = std::make_shared<ag::ScriptedModel>();
        for (int i = 0; i < 12; ++i) model3->then_items({ag::function_call("ping", "{}")});
        model3->then_text("finally");
        auto agent3 = agent_with("A", model3);
        agent3.tools.push_back(echo_tool("ping", "pong"));
        opts.max_turns = std::nullopt;
        CHECK(run(agent3, "go", ctx, opts).final_text() == "finally");
        CHECK(model3->requests.size() == 13);
    }
}

TEST_CASE("runner: dynamic instructions are evaluated before every model call", "[agents][runner]") {
    auto model = std::make_shared<ag::ScriptedModel>();
    model->then_items({ag::function_call("bump", "{}")});
    model->then_text("done");
    auto agent = agent_with("A", model);
    agent.instructions = ag::Agent<AppCtx>::InstructionsFn(
        [](ag::RunContext<AppCtx>& ctx, ag::Agent<AppCtx> const& self) -> ag::task<std::string> {
            co_return self.name + " turn " + std::to_string(ctx.turn()) + " counter " +
                std::to_string(ctx.context().counter);
        });
    agent.tools.push_back(ag::make_tool<AppCtx, json::object>(
        "bump", "bump", json::object{}, [](ag::ToolContext<AppCtx>& ctx, json::object) -> ag::task<std::string> {
            ctx.context().counter += 5;
            co_return "bumped";
        }));
    AppCtx ctx;
    run(agent, "go", ctx);
    REQUIRE(model->requests.size() == 2);
    CHECK(model->requests[0].instructions == std::optional<std::string>("A turn 1 counter 0"));
    CHECK(model->requests[1].instructions == std::optional<std::string>("A turn 2 counter 5"));
}

TEST_CASE("runner: usage has one entry per model call and sums the totals", "[agents][runner][usage]") {
    auto model = std::make_shared<ag::ScriptedModel>();
    auto t1 = ag::ScriptedTurn::tool_call("ping", "{}");
    t1.usage.input_tokens = 10;
    t1.usage.output_tokens = 5;
    t1.usage.total_tokens = 15;
    t1.usage.cached_input_tokens = 4;
    auto t2 = ag::ScriptedTurn::text("done");
    t2.usage.input_tokens = 20;
    t2.usage.output_tokens = 7;
    t2.usage.total_tokens = 27;
    t2.usage.reasoning_tokens = 3;
    model->push(t1);
    model->push(t2);
    auto agent = agent_with("A", model);
    agent.tools.push_back(ag::make_tool<AppCtx, json::object>(
        "ping", "ping", json::object{}, [](ag::ToolContext<AppCtx>& ctx, json::object) -> ag::task<std::string> {
            // The running usage is visible to tools.
            co_return std::to_string(ctx.usage().requests) + "/" + std::to_string(ctx.usage().input_tokens);
        }));
    AppCtx ctx;
    auto result = run(agent, "go", ctx);
    CHECK(result.usage.requests == 2);
    CHECK(result.usage.input_tokens == 30);
    CHECK(result.usage.output_tokens == 12);
    CHECK(result.usage.total_tokens == 42);
    CHECK(result.usage.cached_input_tokens == 4);
    CHECK(result.usage.reasoning_tokens == 3);
    REQUIRE(result.usage.per_request.size() == 2);
    CHECK(result.usage.per_request[0].input_tokens == 10);
    CHECK(result.usage.per_request[1].input_tokens == 20);
    CHECK(outputs_of(model->requests.at(1).input).at(0).output == "1/10");
}

TEST_CASE("runner: to_input_list round-trips through Responses JSON with no orphan calls", "[agents][runner]") {
    auto model = std::make_shared<ag::ScriptedModel>();
    model->then_items({ag::reasoning("Need weather"), ag::function_call("get_weather", R"({"city":"Oslo"})"),
                       ag::function_call("get_weather", R"({"city":"Rome"})")});
    model->then_text("Oslo is colder.");
    model->then_text("You are welcome.");
    auto agent = agent_with("A", model);
    agent.tools.push_back(weather_tool());
    AppCtx ctx;
    auto first = run(agent, "Compare Oslo and Rome", ctx);
    auto list = first.to_input_list();
    CHECK(no_orphan_calls(list));
    REQUIRE(list.size() == 1 + 1 + 2 + 2 + 1);

    // Through JSON and back: identical wire form.
    auto wire = ag::to_json(list);
    auto reread = ag::items_from_json(wire);
    CHECK(json::serialize(ag::to_json(reread)) == json::serialize(wire));

    // The next run sends exactly that history plus the new user message.
    reread.emplace_back(ag::user_message("Thanks"));
    test::run(ag::Runner::run(agent, reread, ctx));
    auto const& sent = model->requests.at(2).input;
    REQUIRE(sent.size() == list.size() + 1);
    CHECK(json::serialize(ag::to_json(sent)) == json::serialize(ag::to_json(reread)));
    CHECK(no_orphan_calls(sent));
}

TEST_CASE("runner: reset_tool_choice drops a forced tool choice after a tool ran", "[agents][runner]") {
    auto make = [](bool reset) {
        auto model = std::make_shared<ag::ScriptedModel>();
        model->then_items({ag::function_call("ping", "{}")});
        model->then_text("done");
        auto agent = agent_with("A", model);
        agent.tools.push_back(echo_tool("ping", "pong"));
        agent.model_settings.tool_choice = ag::ToolChoice::required();
        agent.reset_tool_choice = reset;
        AppCtx ctx;
        run(agent, "go", ctx);
        return model;
    };
    auto with_reset = make(true);
    CHECK(with_reset->requests.at(0).settings.tool_choice == ag::ToolChoice::required());
    CHECK_FALSE(with_reset->requests.at(1).settings.tool_choice.has_value());
    auto without = make(false);
    CHECK(without->requests.at(1).settings.tool_choice == ag::ToolChoice::required());
}

TEST_CASE("runner: settings_override is overlaid on the agent's settings", "[agents][runner]") {
    auto model = std::make_shared<ag::ScriptedModel>();
    model->then_text("ok");
    auto agent = agent_with("A", model);
    agent.model_settings.temperature = 0.1;
    agent.model_settings.max_tokens = 50;
    ag::RunOptions opts;
    ag::ModelSettings over;
    over.temperature = 0.7;
    opts.settings_override = over;
    AppCtx ctx;
    run(agent, "go", ctx, opts);
    CHECK(model->requests.at(0).settings.temperature == 0.7);
    CHECK(model->requests.at(0).settings.max_tokens == 50);
}

TEST_CASE("runner: disabled tools are not offered", "[agents][runner]") {
    auto model = std::make_shared<ag::ScriptedModel>();
    model->then_text("ok");
    auto agent = agent_with("A", model);
    agent.tools = {echo_tool("visible", "x"), echo_tool("hidden", "y")};
    agent.tools[1].is_enabled = [](ag::RunContextBase const& c) {
        return static_cast<AppCtx*>(c.user_context())->counter > 0;
    };
    AppCtx ctx;
    run(agent, "go", ctx);
    REQUIRE(model->requests.at(0).tools.size() == 1);
    CHECK(model->requests.at(0).tools[0].name == "visible");
}

TEST_CASE("runner: structured output is parsed from the last message", "[agents][runner]") {
    auto model = std::make_shared<ag::ScriptedModel>();
    model->then_text(R"({"answer": 42})");
    auto agent = agent_with("A", model);
    ag::OutputSchema schema;
    schema.schema = ag::strict_schema(
        json::parse(R"({"type":"object","properties":{"answer":{"type":"integer"}}})").as_object());
    agent.output_type = schema;
    AppCtx ctx;
    auto result = run(agent, "go", ctx);
    CHECK(result.final_output.at("answer") == 42);
    REQUIRE(model->requests.at(0).output_schema);
    CHECK(model->requests.at(0).output_schema->name == "final_output");

    auto bad = std::make_shared<ag::ScriptedModel>();
    bad->then_text("not json");
    auto agent2 = agent_with("A", bad);
    agent2.output_type = schema;
    CHECK_THROWS_AS(run(agent2, "go", ctx), ag::ModelBehaviorError);
}

TEST_CASE("runner: model errors fail the run unchanged", "[agents][runner][errors]") {
    auto model = std::make_shared<ag::ScriptedModel>();
    model->push(ag::ScriptedTurn::failure(std::make_exception_ptr(ag::ModelHttpError(500, "boom", "server_error"))));
    AppCtx ctx;
    try {
        run(agent_with("A", model), "go", ctx);
        FAIL("expected ModelHttpError");
    } catch (ag::ModelHttpError const& e) {
        CHECK(e.status == 500);
        CHECK(e.model_code == "server_error");
    }
    auto empty = std::make_shared<ag::ScriptedModel>();
    CHECK_THROWS_AS(run(agent_with("A", empty), "go", ctx), ag::UserError);
}

TEST_CASE("runner: a model is required", "[agents][runner][errors]") {
    ag::Agent<AppCtx> agent;
    agent.name = "Lonely";
    AppCtx ctx;
    CHECK_THROWS_AS(run(agent, "go", ctx), ag::UserError);
    agent.model = std::string("gpt-x");
    CHECK_THROWS_WITH(run(agent, "go", ctx), "Agent Lonely names model 'gpt-x' but RunOptions has no provider");

    auto scripted = std::make_shared<ag::ScriptedModel>();
    scripted->then_text("from the provider");
    ag::RunOptions opts;
    opts.provider = std::make_shared<ag::OfflineProvider>();
    static_cast<ag::OfflineProvider&>(*opts.provider).add("gpt-x", scripted);
    CHECK(run(agent, "go", ctx, opts).final_text() == "from the provider");
    CHECK(scripted->requests.at(0).model == "gpt-x");
}

TEST_CASE("runner: a slow tool times out with an error text", "[agents][runner][errors]") {
    auto slow = ag::make_tool<AppCtx, json::object>(
        "slow", "never ends", json::object{}, [](ag::ToolContext<AppCtx>&, json::object) -> ag::task<std::string> {
            asio::steady_timer t(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
            co_await t.async_wait(asio::use_awaitable);
            co_return "never";
        });
    slow.timeout = std::chrono::milliseconds(1);
    auto model = std::make_shared<ag::ScriptedModel>();
    model->then_items({ag::function_call("slow", "{}")});
    model->then_text("gave up");
    auto agent = agent_with("A", model);
    agent.tools.push_back(slow);
    AppCtx ctx;
    CHECK(run(agent, "go", ctx).final_text() == "gave up");
    CHECK(outputs_of(model->requests.at(1).input).at(0).output == "Tool 'slow' timed out after 0.001 seconds.");
}

TEST_CASE("runner: previous_response_id chaining sends only new items", "[agents][runner]") {
    auto model = std::make_shared<ag::ScriptedModel>();
    model->then_items({ag::function_call("ping", "{}")});
    model->then_text("done");
    auto agent = agent_with("A", model);
    agent.tools.push_back(echo_tool("ping", "pong"));
    ag::RunOptions opts;
    opts.previous_response_id = "resp_earlier";
    AppCtx ctx;
    auto result = run(agent, "go", ctx, opts);
    CHECK(model->requests.at(0).previous_response_id == std::optional<std::string>("resp_earlier"));
    CHECK(model->requests.at(0).input.size() == 1);
    CHECK(model->requests.at(1).previous_response_id == std::optional<std::string>("resp_1"));
    REQUIRE(model->requests.at(1).input.size() == 1);
    CHECK(std::holds_alternative<ag::FunctionCallOutput>(model->requests.at(1).input[0]));
    CHECK(result.last_response_id == std::optional<std::string>("resp_2"));
}

TEST_CASE("runner: a fatal tool error cancels the sibling calls of its turn", "[agents][runner][errors]") {
    struct Shared {
        bool sibling_started = false, sibling_cancelled = false, sibling_finished = false;
    };
    auto shared = std::make_shared<Shared>();
    auto sibling = ag::make_tool<AppCtx, json::object>(
        "sibling", "waits", json::object{}, [shared](ag::ToolContext<AppCtx>& ctx, json::object) -> ag::task<std::string> {
            shared->sibling_started = true;
            asio::steady_timer t(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
            auto [ec] = co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
            shared->sibling_cancelled = ctx.cancelled() && ec == asio::error::operation_aborted;
            if (ec) throw boost::system::system_error(ec);
            shared->sibling_finished = true;
            co_return "never";
        });
    auto fatal = ag::make_tool<AppCtx, json::object>(
        "fatal", "fails hard", json::object{}, [](ag::ToolContext<AppCtx>&, json::object) -> ag::task<std::string> {
            co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
            throw std::logic_error("unrecoverable");
            co_return "never";
        });
    fatal.on_error = nullptr;
    auto model = std::make_shared<ag::ScriptedModel>();
    model->then_items({ag::function_call("sibling", "{}"), ag::function_call("fatal", "{}")});
    auto agent = agent_with("A", model);
    agent.tools = {sibling, fatal};
    AppCtx ctx;
    CHECK_THROWS_WITH(run(agent, "go", ctx), "unrecoverable");
    CHECK(shared->sibling_started);
    CHECK(shared->sibling_cancelled);
    CHECK_FALSE(shared->sibling_finished);
}

TEST_CASE("runner: tools see their own call and an uncancelled run", "[agents][runner]") {
    auto model = std::make_shared<ag::ScriptedModel>();
    model->then_items({ag::function_call("who", R"({"x":1})", "call_a"), ag::function_call("who", "{}", "call_b")});
    model->then_text("ok");
    auto agent = agent_with("A", model);
    agent.tools.push_back(ag::make_tool<AppCtx, json::object>(
        "who", "reports its context", json::object{},
        [](ag::ToolContext<AppCtx>& ctx, json::object) -> ag::task<std::string> {
            co_return ctx.tool_name() + "|" + ctx.call_id() + "|" + ctx.raw_arguments() + "|" + ctx.agent_name() + "|" +
                std::to_string(ctx.turn()) + "|" + (ctx.cancelled() ? "cancelled" : "live");
        },
        false));
    AppCtx ctx;
    run(agent, "go", ctx);
    auto outputs = outputs_of(model->requests.at(1).input);
    REQUIRE(outputs.size() == 2);
    CHECK(outputs[0].output == R"(who|call_a|{"x":1}|A|1|live)");
    CHECK(outputs[1].output == "who|call_b|{}|A|1|live");
    CHECK(model->requests.at(0).tools.at(0).strict == false);
}

TEST_CASE("tools: strict_schema closes every object schema", "[agents][tools]") {
    auto schema = ag::strict_schema(json::parse(R"({
        "type":"object",
        "properties":{
            "name":{"type":"string"},
            "address":{"type":"object","properties":{"street":{"type":"string"},"zip":{"type":"string"}}},
            "tags":{"type":"array","items":{"type":"object","properties":{"k":{"type":"string"}}}}
        }})").as_object());
    CHECK(json::serialize(schema) ==
          R"({"type":"object","properties":{"name":{"type":"string"},"address":{"type":"object","properties":{"street":{"type":"string"},"zip":{"type":"string"}},"additionalProperties":false,"required":["street","zip"]},"tags":{"type":"array","items":{"type":"object","properties":{"k":{"type":"string"}},"additionalProperties":false,"required":["k"]}}},"additionalProperties":false,"required":["name","address","tags"]})");
    CHECK(json::serialize(ag::strict_schema({})) ==
          R"({"type":"object","properties":{},"required":[],"additionalProperties":false})");
}

TEST_CASE("tools: outputs become model text; JSON is serialised", "[agents][tools]") {
    CHECK(ag::ToolOutput("plain").to_model_string() == "plain");
    CHECK(ag::ToolOutput(json::value(json::object{{"a", 1}})).to_model_string() == R"({"a":1})");
    CHECK(ag::ToolOutput(json::value("as string")).to_model_string() == "as string");
    CHECK(ag::ToolOutput(json::value(3)).to_json_value() == json::value(3));
    CHECK(ag::ToolOutput(std::string("x")).to_json_value() == json::value("x"));
}
