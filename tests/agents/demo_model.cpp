// DemoModel (offline, deterministic), ScriptedModel's event stream and OfflineProvider.
#include "runner_support.hpp"

using namespace rt;

namespace {

struct Collected {
    std::vector<ag::ModelStreamEvent> events;
    ag::ModelResponse response;
};

Collected collect(ag::Model& model, ag::ModelRequest const& request) {
    Collected c;
    auto events = &c.events;
    ag::ModelEventHandler h = [events](ag::ModelStreamEvent const& ev) -> ag::task<void> {
        events->push_back(ev);
        co_return;
    };
    c.response = test::run(model.stream(request, h));
    return c;
}

ag::ToolSpec weather_spec() {
    ag::ToolSpec s;
    s.name = "get_weather";
    s.description = "Current weather";
    s.parameters = ag::strict_schema(
        json::parse(R"({"type":"object","properties":{"city":{"type":"string"}}})").as_object());
    return s;
}

std::string deltas(std::vector<ag::ModelStreamEvent> const& events, ag::ModelEventKind kind) {
    std::string out;
    for (auto const& ev : events)
        if (ev.kind == kind) out += ev.delta;
    return out;
}

ag::DemoModelOptions fixed_ids() {
    ag::DemoModelOptions o;
    o.id_token = "t";
    return o;
}

}  // namespace

TEST_CASE("demo: a message naming a tool calls it with arguments from the text", "[agents][demo]") {
    ag::DemoModel model(fixed_ids());
    ag::ModelRequest req;
    req.tools.push_back(weather_spec());
    req.input.emplace_back(ag::user_message("What's the weather in Paris today?"));
    auto c = collect(model, req);
    REQUIRE(c.response.output.size() == 1);
    auto const& call = std::get<ag::FunctionCallItem>(c.response.output[0]);
    CHECK(call.name == "get_weather");
    CHECK(call.arguments == R"({"city":"Paris"})");
    CHECK(call.call_id == "call_t_1");
    CHECK(call.id == std::optional<std::string>("fc_t_1"));
    CHECK(deltas(c.events, ag::ModelEventKind::FunctionArgsDelta) == R"({"city":"Paris"})");
    CHECK(c.events.front().type == "response.created");
    CHECK(c.events.back().type == "response.completed");
}

TEST_CASE("demo: an enum argument is the value the message names, else the first when required, else left out",
          "[agents][demo]") {
    ag::ToolSpec orders;
    orders.name = "lookup_orders";
    orders.parameters = json::parse(R"({"type":"object","properties":{
        "status":{"type":"string","enum":["open","shipped"]},
        "sort":{"type":"string","enum":["newest","oldest"]},
        "region":{"type":"string","enum":["eu","us"]}},"required":["region"]})").as_object();
    auto arguments_for = [&](std::string const& text) {
        ag::DemoModel model(fixed_ids());
        ag::ModelRequest req;
        req.tools.push_back(orders);
        req.input.emplace_back(ag::user_message(text));
        auto c = collect(model, req);
        REQUIRE(c.response.output.size() == 1);
        return json::parse(std::get<ag::FunctionCallItem>(c.response.output[0]).arguments);
    };
    CHECK(arguments_for("lookup my Shipped orders") == json::parse(R"({"status":"shipped","region":"eu"})"));
    CHECK(arguments_for("lookup orders in the US, oldest first") ==
          json::parse(R"({"sort":"oldest","region":"us"})"));
}

TEST_CASE("demo: after a tool output it answers quoting the output", "[agents][demo]") {
    ag::DemoModel model(fixed_ids());
    ag::ModelRequest req;
    req.tools.push_back(weather_spec());
    req.input.emplace_back(ag::user_message("weather in Oslo"));
    req.input.emplace_back(ag::function_call("get_weather", R"({"city":"Oslo"})", "call_9"));
    ag::FunctionCallOutput out;
    out.call_id = "call_9";
    out.output = "Oslo: 3 degrees, rain";
    req.input.emplace_back(out);
    auto c = collect(model, req);
    REQUIRE(c.response.output.size() == 1);
    auto const& msg = std::get<ag::MessageItem>(c.response.output[0]);
    CHECK(ag::message_text(msg) == "The get_weather tool says: Oslo: 3 degrees, rain");
    // Streamed word by word.
    std::size_t n = 0;
    for (auto const& ev : c.events)
        if (ev.kind == ag::ModelEventKind::OutputTextDelta) ++n;
    CHECK(n == 8);
    CHECK(deltas(c.events, ag::ModelEventKind::OutputTextDelta) == ag::message_text(msg));
}

TEST_CASE("demo: otherwise it echoes, with word-count usage", "[agents][demo]") {
    ag::DemoModel model(fixed_ids());
    ag::ModelRequest req;
    req.tools.push_back(weather_spec());
    req.input.emplace_back(ag::user_message("hello there friend"));
    auto c = collect(model, req);
    REQUIRE(c.response.output.size() == 1);
    CHECK(ag::message_text(std::get<ag::MessageItem>(c.response.output[0])) == "You said: hello there friend");
    CHECK(c.response.usage.requests == 1);
    CHECK(c.response.usage.input_tokens == 3);
    CHECK(c.response.usage.output_tokens == 5);
    CHECK(c.response.usage.total_tokens == 8);
    CHECK(c.response.response_id == std::optional<std::string>("resp_t_1"));
    // A second call gets fresh ids.
    auto c2 = collect(model, req);
    CHECK(ag::item_id(c2.response.output[0]) == std::optional<std::string>("msg_t_2"));
}

TEST_CASE("demo: ids are unique per instance by default", "[agents][demo]") {
    ag::DemoModel a, b;
    ag::ModelRequest req;
    req.input.emplace_back(ag::user_message("hi"));
    auto ca = collect(a, req);
    auto cb = collect(b, req);
    CHECK(ag::item_id(ca.response.output[0]) != ag::item_id(cb.response.output[0]));
}

TEST_CASE("demo: optional reasoning summary events come first", "[agents][demo]") {
    auto opts = fixed_ids();
    opts.reasoning = true;
    ag::DemoModel model(opts);
    ag::ModelRequest req;
    req.input.emplace_back(ag::user_message("think about it"));
    auto c = collect(model, req);
    REQUIRE(c.response.output.size() == 2);
    auto const& r = std::get<ag::ReasoningItem>(c.response.output[0]);
    REQUIRE(r.summary.size() == 1);
    CHECK(r.summary[0] == "Reading the message (3 words).");
    CHECK(deltas(c.events, ag::ModelEventKind::SummaryTextDelta) == r.summary[0]);
    std::vector<std::string> kinds;
    for (auto const& ev : c.events) kinds.push_back(ev.type);
    REQUIRE(kinds.size() >= 8);
    CHECK(kinds[2] == "response.output_item.added");
    CHECK(kinds[3] == "response.reasoning_summary_part.added");
    CHECK(kinds[4] == "response.reasoning_summary_text.delta");
}

TEST_CASE("demo: pacing delays words without changing the output", "[agents][demo]") {
    auto opts = fixed_ids();
    opts.pacing = std::chrono::milliseconds(1);
    ag::DemoModel model(opts);
    ag::ModelRequest req;
    req.input.emplace_back(ag::user_message("one two"));
    auto c = collect(model, req);
    CHECK(ag::message_text(std::get<ag::MessageItem>(c.response.output[0])) == "You said: one two");
}

TEST_CASE("demo: a full run with a tool through the Runner", "[agents][demo][runner]") {
    auto agent = agent_with("Demo", std::make_shared<ag::DemoModel>(fixed_ids()));
    agent.tools.push_back(ag::make_tool<AppCtx, json::object>(
        "get_weather", "Current weather",
        json::parse(R"({"type":"object","properties":{"city":{"type":"string"}}})").as_object(),
        [](ag::ToolContext<AppCtx>&, json::object args) -> ag::task<std::string> {
            co_return "sunny in " + std::string(args.at("city").as_string());
        }));
    AppCtx ctx;
    auto result = run(agent, "How is the weather in Lisbon?", ctx);
    CHECK(result.final_text() == "The get_weather tool says: sunny in Lisbon");
    CHECK(result.usage.requests == 2);
    CHECK(no_orphan_calls(result.to_input_list()));
}

TEST_CASE("scripted: canonical event order, sequence numbers and wire payloads", "[agents][scripted]") {
    ag::ScriptedModel model;
    ag::MessageItem msg = ag::assistant_message("Hi there");
    msg.content.emplace_back(ag::RefusalPart{"no"});
    model.then_items({ag::reasoning("plan"), ag::function_call("f", R"({"a":1})"), msg});
    ag::ModelRequest req;
    req.model = "scripted-1";
    auto c = collect(model, req);
    std::vector<std::string> types;
    for (std::size_t i = 0; i < c.events.size(); ++i) {
        CHECK(c.events[i].sequence_number == static_cast<std::int64_t>(i));
        CHECK(json::serialize(c.events[i].raw) == json::serialize(ag::to_json(c.events[i])));
        types.push_back(c.events[i].type);
    }
    std::vector<std::string> expected{
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.content_part.added",
        "response.refusal.delta",
        "response.refusal.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    };
    CHECK(types == expected);
    CHECK(json::serialize(c.events[8].raw) ==
          R"({"type":"response.output_item.added","sequence_number":8,"output_index":1,"item":{"id":"fc_1","type":"function_call","status":"in_progress","call_id":"call_1","name":"f","arguments":""}})");
    CHECK(json::serialize(c.events[14].raw) ==
          R"({"type":"response.output_text.delta","sequence_number":14,"item_id":"msg_1","output_index":2,"content_index":0,"delta":"Hi","logprobs":[]})");
    auto const& completed = c.events.back();
    REQUIRE(completed.response);
    CHECK(completed.response->at("model") == "scripted-1");
    CHECK(ag::response_from_json(*completed.response).output.size() == 3);
    REQUIRE(model.requests.size() == 1);
}

TEST_CASE("scripted: raw event turns and failures", "[agents][scripted]") {
    ag::ScriptedModel model;
    auto canned = ag::ScriptedModel::canonical_events("resp_x", "m", {ag::assistant_message("ok", "msg_x")}, ag::Usage{});
    model.push(ag::ScriptedTurn::raw(canned));
    std::vector<ag::ModelStreamEvent> partial(canned.begin(), canned.begin() + 4);
    model.push(ag::ScriptedTurn::raw(partial, std::make_exception_ptr(ag::ModelStreamError("server_error", "cut"))));
    model.push(ag::ScriptedTurn::raw(partial));
    auto failed = ag::parse_model_event(
        R"({"type":"response.failed","sequence_number":2,"response":{"id":"r","output":[],"error":{"code":"server_error","message":"The model failed."}}})");
    model.push(ag::ScriptedTurn::raw({canned[0], failed}));

    ag::ModelRequest req;
    auto c = collect(model, req);
    CHECK(c.response.response_id == std::optional<std::string>("resp_x"));
    CHECK(c.events.size() == canned.size());
    CHECK_THROWS_WITH(collect(model, req), "server_error: cut");
    CHECK_THROWS_AS(collect(model, req), ag::ModelProtocolError);
    try {
        collect(model, req);
        FAIL("expected ModelStreamError");
    } catch (ag::ModelStreamError const& e) {
        CHECK(e.model_code == "server_error");
        CHECK(e.model_message == "The model failed.");
    }
    CHECK(model.remaining() == 0);
}

TEST_CASE("offline provider: named models and the demo default", "[agents][demo]") {
    auto scripted = std::make_shared<ag::ScriptedModel>();
    ag::OfflineProvider provider;
    provider.add("scripted", scripted);
    CHECK(provider.get_model("scripted") == scripted);
    CHECK(dynamic_cast<ag::DemoModel*>(provider.get_model("anything").get()) != nullptr);
    CHECK(provider.get_model("") == provider.get_model("other"));
}
