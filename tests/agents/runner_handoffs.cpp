// Runner with ScriptedModel: handoffs, guardrails, cancellation.
#include "runner_support.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

using namespace rt;

TEST_CASE("runner: handoff names and descriptions follow the SDK defaults", "[agents][runner][handoff]") {
    CHECK(ag::default_handoff_tool_name("Billing Agent") == "transfer_to_billing_agent");
    CHECK(ag::default_handoff_tool_name("FAQ-bot v2") == "transfer_to_faq_bot_v2");
    CHECK(ag::default_handoff_description("Billing", std::string("Handles invoices.")) ==
          "Handoff to the Billing agent to handle the request. Handles invoices.");
    CHECK(ag::default_handoff_description("Billing", std::nullopt) ==
          "Handoff to the Billing agent to handle the request. ");
}

TEST_CASE("runner: a handoff transfers control to the target agent", "[agents][runner][handoff]") {
    auto triage_model = std::make_shared<ag::ScriptedModel>();
    auto billing_model = std::make_shared<ag::ScriptedModel>();
    auto billing = std::make_shared<ag::Agent<AppCtx>>(agent_with("Billing Agent", billing_model));
    billing->handoff_description = "Handles invoices.";
    billing->tools.push_back(echo_tool("refund", "refunded"));

    auto triage = agent_with("Triage", triage_model);
    triage.tools.push_back(echo_tool("lookup", "found"));
    ag::Handoff<AppCtx> to_billing(billing);
    std::vector<std::string> handoff_log;
    to_billing.on_handoff = [&handoff_log](ag::RunContext<AppCtx>& ctx, json::object const& args) -> ag::task<void> {
        handoff_log.push_back(ctx.agent_name() + " " + json::serialize(args));
        co_return;
    };
    triage.handoffs.push_back(to_billing);

    // Triage looks something up and hands off in the same response; Billing answers.
    triage_model->then_items({ag::function_call("lookup", "{}"), ag::function_call("transfer_to_billing_agent", "{}")});
    billing_model->then_text("Your refund is on its way.");

    AppCtx ctx;
    RecordingSink sink;
    ag::RunOptions opts;
    opts.sink = &sink;
    auto result = run(triage, "I want a refund", ctx, opts);

    CHECK(result.final_text() == "Your refund is on its way.");
    CHECK(result.last_agent == "Billing Agent");
    CHECK(handoff_log == std::vector<std::string>{"Triage {}"});
    CHECK(ctx.log == std::vector<std::string>{"lookup({})"});  // tools of that response ran first

    // The handoff is a tool of the triage request.
    REQUIRE(triage_model->requests.size() == 1);
    auto const& tools = triage_model->requests[0].tools;
    REQUIRE(tools.size() == 2);
    CHECK(tools[1].name == "transfer_to_billing_agent");
    CHECK(tools[1].description == "Handoff to the Billing Agent agent to handle the request. Handles invoices.");
    CHECK(json::serialize(tools[1].parameters) ==
          R"({"type":"object","properties":{},"required":[],"additionalProperties":false})");

    // Billing sees its own instructions and tools, and the whole history with the transfer output.
    REQUIRE(billing_model->requests.size() == 1);
    auto const& req = billing_model->requests[0];
    CHECK(req.instructions == std::optional<std::string>("You are Billing Agent."));
    REQUIRE(req.tools.size() == 1);
    CHECK(req.tools[0].name == "refund");
    auto outputs = outputs_of(req.input);
    REQUIRE(outputs.size() == 2);
    CHECK(outputs[0].output == "found");
    CHECK(outputs[1].output == R"({"assistant": "Billing Agent"})");
    CHECK(no_orphan_calls(req.input));

    CHECK(sink.with_prefix("agent:") == std::vector<std::string>{"agent:Triage", "agent:Billing Agent"});
    CHECK(sink.index_of("item:handoff_requested:handoff_call_item") >= 0);
    CHECK(sink.index_of("item:handoff_occured:handoff_output_item") > sink.index_of("item:tool_output:tool_call_output_item"));
    CHECK(sink.index_of("agent:Billing Agent") > sink.index_of("item:handoff_occured:handoff_output_item"));

    bool saw_output = false;
    for (auto const& item : result.new_items) {
        if (item.type == ag::RunItem::Type::HandoffOutput) {
            saw_output = true;
            CHECK(item.agent == "Triage");
            CHECK(item.target_agent == std::optional<std::string>("Billing Agent"));
        }
    }
    CHECK(saw_output);
}

TEST_CASE("runner: only the first of several handoffs is taken", "[agents][runner][handoff]") {
    auto triage_model = std::make_shared<ag::ScriptedModel>();
    auto a_model = std::make_shared<ag::ScriptedModel>();
    auto b_model = std::make_shared<ag::ScriptedModel>();
    auto a = std::make_shared<ag::Agent<AppCtx>>(agent_with("Alpha", a_model));
    auto b = std::make_shared<ag::Agent<AppCtx>>(agent_with("Beta", b_model));
    auto triage = agent_with("Triage", triage_model);
    triage.handoffs = {a, b};
    triage_model->then_items({ag::function_call("transfer_to_beta", "{}", "call_b"),
                              ag::function_call("transfer_to_alpha", "{}", "call_a")});
    b_model->then_text("Beta here.");
    AppCtx ctx;
    auto result = run(triage, "hi", ctx);
    CHECK(result.last_agent == "Beta");
    CHECK(result.final_text() == "Beta here.");
    CHECK(a_model->requests.empty());
    auto outputs = outputs_of(b_model->requests.at(0).input);
    REQUIRE(outputs.size() == 2);
    CHECK(outputs[0].call_id == "call_b");
    CHECK(outputs[0].output == R"({"assistant": "Beta"})");
    CHECK(outputs[1].call_id == "call_a");
    CHECK(outputs[1].output == "Multiple handoffs detected, ignoring this one.");
}

TEST_CASE("runner: agents can hand back and forth", "[agents][runner][handoff]") {
    auto model = std::make_shared<ag::ScriptedModel>();
    auto first = std::make_shared<ag::Agent<AppCtx>>(agent_with("First", model));
    auto second = std::make_shared<ag::Agent<AppCtx>>(agent_with("Second", model));
    first->handoffs.push_back(ag::Handoff<AppCtx>(second));
    second->handoffs.push_back(ag::Handoff<AppCtx>(first));  // a cycle of shared_ptrs is fine for a test
    model->then_items({ag::function_call("transfer_to_second", "{}")});
    model->then_items({ag::function_call("transfer_to_first", "{}")});
    model->then_text("back at first");
    AppCtx ctx;
    RecordingSink sink;
    ag::RunOptions opts;
    opts.sink = &sink;
    auto result = run(*first, "hi", ctx, opts);
    CHECK(result.last_agent == "First");
    CHECK(sink.with_prefix("agent:") == std::vector<std::string>{"agent:First", "agent:Second", "agent:First"});
    first->handoffs.clear();
    second->handoffs.clear();
}

namespace {
ag::InputGuardrail<AppCtx> input_guard(std::string name, bool trip, bool parallel, std::vector<std::string>* log) {
    ag::InputGuardrail<AppCtx> g;
    g.name = std::move(name);
    g.run_in_parallel = parallel;
    g.fn = [trip, log, gname = g.name](ag::RunContext<AppCtx>&, ag::Agent<AppCtx> const&,
                                       std::vector<ag::Item> const& input) -> ag::task<ag::GuardrailOutput> {
        log->push_back(gname + ":" + std::to_string(input.size()));
        ag::GuardrailOutput out;
        out.output_info = json::value("checked");
        out.tripwire_triggered = trip;
        co_return out;
    };
    return g;
}
}  // namespace

TEST_CASE("runner: a blocking input guardrail tripwire stops the run before the model", "[agents][runner][guardrails]") {
    auto model = std::make_shared<ag::ScriptedModel>();
    model->then_text("should not be produced");
    auto agent = agent_with("A", model);
    std::vector<std::string> log;
    agent.input_guardrails.push_back(input_guard("no_math", true, false, &log));
    AppCtx ctx;
    try {
        run(agent, "2+2?", ctx);
        FAIL("expected a tripwire");
    } catch (ag::InputGuardrailTripwire const& e) {
        CHECK(e.guardrail_name == "no_math");
        CHECK(e.output.output_info == json::value("checked"));
        CHECK(std::string(e.what()) == "Guardrail no_math triggered tripwire");
    }
    CHECK(model->requests.empty());
    CHECK(log == std::vector<std::string>{"no_math:1"});
}

TEST_CASE("runner: a parallel input guardrail tripwire stops the run before any tool runs",
          "[agents][runner][guardrails]") {
    auto model = std::make_shared<ag::ScriptedModel>();
    model->then_items({ag::function_call("ping", "{}")});
    auto agent = agent_with("A", model);
    agent.tools.push_back(echo_tool("ping", "pong"));
    std::vector<std::string> log;
    agent.input_guardrails.push_back(input_guard("slow_check", true, true, &log));
    AppCtx ctx;
    CHECK_THROWS_AS(run(agent, "go", ctx), ag::InputGuardrailTripwire);
    CHECK(log == std::vector<std::string>{"slow_check:1"});
    CHECK(ctx.log.empty());
}

TEST_CASE("runner: passing input guardrails run once, on the first agent only", "[agents][runner][guardrails]") {
    auto model = std::make_shared<ag::ScriptedModel>();
    model->then_items({ag::function_call("ping", "{}")});
    model->then_items({ag::function_call("transfer_to_b", "{}")});
    model->then_text("done");
    auto b = std::make_shared<ag::Agent<AppCtx>>(agent_with("B", model));
    std::vector<std::string> log;
    b->input_guardrails.push_back(input_guard("b_guard", true, false, &log));  // never runs: B is not first
    auto agent = agent_with("A", model);
    agent.tools.push_back(echo_tool("ping", "pong"));
    agent.handoffs.push_back(b);
    agent.input_guardrails.push_back(input_guard("blocking", false, false, &log));
    agent.input_guardrails.push_back(input_guard("parallel", false, true, &log));
    AppCtx ctx;
    auto result = run(agent, "go", ctx);
    CHECK(result.final_text() == "done");
    CHECK(log == std::vector<std::string>{"blocking:1", "parallel:1"});
    CHECK(result.input_guardrail_results.size() == 2);
}

TEST_CASE("runner: output guardrails check the final output of the last agent", "[agents][runner][guardrails]") {
    auto make_agent = [](std::shared_ptr<ag::ScriptedModel> model, bool trip, std::vector<std::string>* seen) {
        auto agent = agent_with("A", std::move(model));
        ag::OutputGuardrail<AppCtx> g;
        g.name = "no_secrets";
        g.fn = [trip, seen](ag::RunContext<AppCtx>&, ag::Agent<AppCtx> const&,
                            json::value const& output) -> ag::task<ag::GuardrailOutput> {
            seen->push_back(json::serialize(output));
            ag::GuardrailOutput out;
            out.tripwire_triggered = trip;
            out.output_info = json::value("leak");
            co_return out;
        };
        agent.output_guardrails.push_back(g);
        return agent;
    };
    std::vector<std::string> seen;
    auto model = std::make_shared<ag::ScriptedModel>();
    model->then_text("the password is hunter2");
    AppCtx ctx;
    try {
        run(make_agent(model, true, &seen), "go", ctx);
        FAIL("expected a tripwire");
    } catch (ag::OutputGuardrailTripwire const& e) {
        CHECK(e.guardrail_name == "no_secrets");
        CHECK(std::string(e.what()) == "Guardrail no_secrets triggered tripwire");
    }
    CHECK(seen == std::vector<std::string>{R"("the password is hunter2")"});

    auto ok_model = std::make_shared<ag::ScriptedModel>();
    ok_model->then_text("all good");
    auto result = run(make_agent(ok_model, false, &seen), "go", ctx);
    CHECK(result.final_text() == "all good");
    CHECK(result.output_guardrail_results.size() == 1);
}

TEST_CASE("runner: cancellation reaches running tools and is never swallowed", "[agents][runner][cancel]") {
    struct Shared {
        bool started = false;
        bool saw_cancelled = false;
        std::string error;
    };
    auto shared = std::make_shared<Shared>();
    auto blocker = ag::make_tool<AppCtx, json::object>(
        "wait_forever", "blocks", json::object{},
        [shared](ag::ToolContext<AppCtx>& ctx, json::object) -> ag::task<std::string> {
            shared->started = true;
            asio::steady_timer t(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
            auto [ec] = co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
            shared->saw_cancelled = ctx.cancelled();
            if (ec) throw boost::system::system_error(ec);
            co_return "never";
        });
    auto model = std::make_shared<ag::ScriptedModel>();
    model->then_items({ag::function_call("wait_forever", "{}"), ag::function_call("ping", "{}")});
    model->then_text("unreachable");
    auto agent = agent_with("A", model);
    agent.tools = {blocker, echo_tool("ping", "pong")};
    AppCtx ctx;

    asio::io_context io;
    asio::cancellation_signal signal;
    std::exception_ptr failure;
    bool finished = false;
    asio::co_spawn(io, ag::Runner::run(agent, "go", ctx),
                   asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e, ag::RunResult) {
                       failure = e;
                       finished = true;
                   }));
    while (!shared->started && io.run_one() > 0) {
    }
    REQUIRE(shared->started);
    for (int i = 0; i < 10; ++i) io.poll_one();  // let the sibling call finish
    signal.emit(asio::cancellation_type::terminal);
    io.run();

    REQUIRE(finished);
    REQUIRE(failure);
    try {
        std::rethrow_exception(failure);
    } catch (boost::system::system_error const& e) {
        CHECK(e.code() == asio::error::operation_aborted);
    }
    CHECK(shared->saw_cancelled);
    CHECK(model->requests.size() == 1);
    CHECK(ctx.log == std::vector<std::string>{"ping({})"});
}
