// chatkit-cpp agents: the compiled turn loop of the Runner (Agents SDK semantics, AGENTS.md §1.3-1.7).
#include <chatkit/agents/mcp.hpp>
#include <chatkit/agents/runner.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <functional>
#include <set>

namespace chatkit::agents::detail {

namespace asio = boost::asio;

namespace {

using asio::use_awaitable;

bool is_cancellation(std::exception_ptr const& e) {
    try {
        std::rethrow_exception(e);
    } catch (boost::system::system_error const& se) {
        return se.code() == asio::error::operation_aborted;
    } catch (...) {
        return false;
    }
}

[[noreturn]] void throw_aborted() {
    throw boost::system::system_error(asio::error::operation_aborted, "run cancelled");
}

task<void> forward_raw(RunEventSink* sink, ModelStreamEvent const& ev) {
    if (sink) co_await sink->on_raw_event(ev);
}

task<void> emit_item(RunEventSink* sink, std::string_view name, RunItem const& item) {
    if (sink) co_await sink->on_run_item(name, item);
}

// ---------------------------------------------------------------------------------------------
// A join set: runs jobs 0..n-1, at most `cap` at a time, started in index order, each in its own
// coroutine on the current executor. The first failure cancels the others; a cancellation of the
// caller is forwarded to every job. Returns only when every started job has finished.

struct JoinState {
    explicit JoinState(asio::any_io_executor ex) : timer(std::move(ex)) {
        timer.expires_at(asio::steady_timer::time_point::max());
    }
    asio::steady_timer timer;
    std::size_t running = 0;
    std::size_t next = 0;
    bool stop = false;
    std::exception_ptr error;
    std::vector<std::unique_ptr<asio::cancellation_signal>> signals;

    void cancel_all() {
        stop = true;
        for (auto& s : signals) s->emit(asio::cancellation_type::terminal);
    }
};

task<void> join_worker(JoinState& st, std::size_t n, std::function<task<void>(std::size_t)> const& job) {
    while (!st.stop && st.next < n) {
        std::size_t const i = st.next++;
        co_await job(i);
    }
}

task<void> run_all(std::size_t n, std::size_t cap, std::function<task<void>(std::size_t)> job) {
    if (n == 0) co_return;
    auto ex = co_await asio::this_coro::executor;
    JoinState st(ex);
    std::size_t const workers = std::min(n, cap == 0 ? n : cap);
    for (std::size_t w = 0; w < workers; ++w) {
        st.signals.push_back(std::make_unique<asio::cancellation_signal>());
        ++st.running;
        asio::co_spawn(ex, join_worker(st, n, job),
                       asio::bind_cancellation_slot(st.signals.back()->slot(), [&st](std::exception_ptr e) {
                           if (e && !st.error) {
                               st.error = e;
                               st.cancel_all();
                           }
                           if (--st.running == 0) st.timer.cancel();
                       }));
    }
    bool caller_cancelled = false;
    while (st.running > 0) {
        auto [ec] = co_await st.timer.async_wait(asio::as_tuple(use_awaitable));
        (void)ec;
        if (!caller_cancelled) {
            auto cs = co_await asio::this_coro::cancellation_state;
            if (cs.cancelled() != asio::cancellation_type::none) {
                caller_cancelled = true;
                st.cancel_all();
                // Wait for the jobs to end without throwing at every co_await, but keep the
                // cancellation state: the caller (the ChatKit engine) reads it to tell a
                // cancelled stream from a failed one.
                co_await asio::this_coro::throw_if_cancelled(false);
            }
        }
    }
    if (caller_cancelled) {
        co_await asio::this_coro::throw_if_cancelled(true);
        throw_aborted();
    }
    if (st.error) std::rethrow_exception(st.error);
}

// ---------------------------------------------------------------------------------------------
// Tool calls

struct CallOutcome {
    ToolOutput output;
    bool is_error = false;
};

json::object parse_arguments(std::string const& tool_name, std::string const& raw) {
    auto const first = raw.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return {};
    boost::system::error_code ec;
    auto v = json::parse(raw, ec);
    if (ec) throw ToolArgumentsError("Invalid JSON input for tool " + tool_name + ": " + raw);
    if (!v.is_object()) throw ToolArgumentsError("Invalid JSON input for tool " + tool_name + ": expected an object, got " + raw);
    return std::move(v.get_object());
}

std::string seconds_text(std::chrono::milliseconds d) {
    if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000);
    std::string s = std::to_string(static_cast<double>(d.count()) / 1000.0);
    while (!s.empty() && s.back() == '0') s.pop_back();
    return s;
}

task<ToolOutput> invoke_with_timeout(FunctionTool const& tool, ToolContextBase& ctx, json::object args,
                                     bool& timed_out) {
    using namespace asio::experimental::awaitable_operators;
    if (!tool.timeout) co_return co_await tool.invoke(ctx, args);
    asio::steady_timer timer(co_await asio::this_coro::executor, *tool.timeout);
    auto r = co_await (tool.invoke(ctx, args) || timer.async_wait(use_awaitable));
    if (r.index() == 1) {
        timed_out = true;
        co_return ToolOutput();
    }
    co_return std::move(std::get<0>(r));
}

task<CallOutcome> execute_call(FunctionTool const& tool, ToolContextBase& ctx) {
    std::exception_ptr failure;
    bool timed_out = false;
    ToolOutput out;
    try {
        auto args = parse_arguments(tool.name, ctx.raw_arguments());
        if (!tool.invoke) throw UserError("Tool " + tool.name + " has no implementation");
        out = co_await invoke_with_timeout(tool, ctx, std::move(args), timed_out);
    } catch (...) {
        failure = std::current_exception();
    }
    if (timed_out) {
        co_return CallOutcome{
            ToolOutput("Tool '" + tool.name + "' timed out after " + seconds_text(*tool.timeout) + " seconds."), true};
    }
    if (!failure) co_return CallOutcome{std::move(out), false};
    if (is_cancellation(failure) || !tool.on_error) std::rethrow_exception(failure);
    auto text = tool.on_error(ctx, failure);
    if (!text) std::rethrow_exception(failure);
    co_return CallOutcome{ToolOutput(std::move(*text)), true};
}

struct PendingCall {
    std::size_t item_index = 0;          // index in the response output
    FunctionCallItem call;
    FunctionTool const* tool = nullptr;  // null: unknown tool (error output)
    std::optional<CallOutcome> outcome;
};

task<void> run_one_call(PendingCall& pc, RunContextBase const& run_ctx) {
    if (!pc.tool) co_return;  // outcome preset
    auto cs = co_await asio::this_coro::cancellation_state;
    ToolContextBase ctx(run_ctx, pc.call.name, pc.call.call_id, pc.call.id, pc.call.arguments, cs);
    pc.outcome = co_await execute_call(*pc.tool, ctx);
}

// ---------------------------------------------------------------------------------------------
// Model resolution and requests

struct ResolvedModel {
    std::shared_ptr<Model> model;
    std::string name;
};

ResolvedModel resolve_model(AgentView const& agent, RunOptions const& opts) {
    if (opts.model) return {opts.model, {}};
    auto const& m = agent.model();
    if (auto const* inst = std::get_if<std::shared_ptr<Model>>(&m)) {
        if (!*inst) throw UserError("Agent " + agent.name() + " has a null model");
        return {*inst, {}};
    }
    std::string name;
    if (auto const* n = std::get_if<std::string>(&m)) name = *n;
    if (!opts.provider) {
        throw UserError("Agent " + agent.name() +
                        (name.empty() ? std::string(" has no model and RunOptions has no model or provider")
                                      : " names model '" + name + "' but RunOptions has no provider"));
    }
    auto model = opts.provider->get_model(name);
    if (!model) throw UserError("The model provider has no model '" + name + "'");
    return {std::move(model), std::move(name)};
}

bool forced_choice(std::optional<ToolChoice> const& c) {
    return c && (c->kind == ToolChoice::Kind::Required || c->kind == ToolChoice::Kind::Named);
}

bool is_hosted_call(Item const& item) {
    auto t = item_type(item);
    return t.size() > 5 && t.compare(t.size() - 5, 5, "_call") == 0;
}

task<void> run_input_guardrails(AgentView const& agent, RunContextBase const& ctx, std::vector<Item> const& input,
                                bool parallel, std::vector<GuardrailOutput>& results) {
    for (std::size_t i = 0; i < agent.input_guardrail_count(); ++i) {
        if (agent.input_guardrail_parallel(i) != parallel) continue;
        auto out = co_await agent.run_input_guardrail(i, ctx, input);
        results.push_back(out);
        if (out.tripwire_triggered) throw InputGuardrailTripwire(agent.input_guardrail_name(i), std::move(out));
    }
}

task<ModelResponse> call_model(Model& model, ModelRequest const& request, RunEventSink* sink) {
    ModelEventHandler handler = [sink](ModelStreamEvent const& ev) { return forward_raw(sink, ev); };
    co_return co_await model.stream(request, handler);
}

task<ModelResponse> call_model_with_guardrails(Model& model, ModelRequest const& request, RunEventSink* sink,
                                               AgentView const& agent, RunContextBase const& ctx,
                                               std::vector<Item> const& input, std::vector<GuardrailOutput>& results) {
    using namespace asio::experimental::awaitable_operators;
    co_return co_await (run_input_guardrails(agent, ctx, input, true, results) && call_model(model, request, sink));
}

bool has_parallel_input_guardrails(AgentView const& agent) {
    for (std::size_t i = 0; i < agent.input_guardrail_count(); ++i)
        if (agent.input_guardrail_parallel(i)) return true;
    return false;
}

task<void> run_output_guardrails(AgentView const& agent, RunContextBase const& ctx, json::value const& output,
                                 std::vector<GuardrailOutput>& results) {
    for (std::size_t i = 0; i < agent.output_guardrail_count(); ++i) {
        auto out = co_await agent.run_output_guardrail(i, ctx, output);
        results.push_back(out);
        if (out.tripwire_triggered) throw OutputGuardrailTripwire(agent.output_guardrail_name(i), std::move(out));
    }
}

std::string handoff_output_text(std::string const& agent_name) {
    json::object o;
    o["assistant"] = agent_name;
    // The SDK writes Python's json.dumps spacing.
    auto s = json::serialize(o);
    auto const pos = s.find("\":\"");
    if (pos != std::string::npos) s.replace(pos, 3, "\": \"");
    return s;
}

constexpr char const* kMultipleHandoffs = "Multiple handoffs detected, ignoring this one.";

}  // namespace

// ---------------------------------------------------------------------------------------------

task<RunResult> run_core(std::shared_ptr<AgentView const> agent, std::vector<Item> input, void* user_context,
                         RunOptions opts) {
    RunResult result;
    result.input = std::move(input);
    RunEventSink* const sink = opts.sink;
    std::size_t const cap = opts.max_tool_concurrency.value_or(0);

    std::shared_ptr<AgentView const> const starting_agent = agent;
    bool agent_started = false;
    std::set<std::string> agents_that_used_tools;
    int turn = 0;
    std::optional<std::string> chain_id = opts.previous_response_id;  // previous_response_id chaining
    std::size_t sent_upto = 0;                                          // new_items already known upstream

    for (;;) {
        {
            auto cs = co_await asio::this_coro::cancellation_state;
            if (cs.cancelled() != asio::cancellation_type::none) throw_aborted();
        }
        if (!agent_started) {
            agent_started = true;
            AgentInfo info{agent->name()};
            if (sink) co_await sink->on_agent_updated(info);
        }
        ++turn;
        if (opts.max_turns && turn > *opts.max_turns) throw MaxTurnsExceeded(*opts.max_turns);

        RunContextBase run_ctx(user_context, &result.usage, agent->name(), turn);

        // 1. Blocking input guardrails (first turn of the starting agent).
        bool const first_turn = (turn == 1 && agent == starting_agent);
        if (first_turn) co_await run_input_guardrails(*agent, run_ctx, result.input, false, result.input_guardrail_results);

        // 2. Instructions, tools, handoffs of this turn.
        ModelRequest request;
        if (agent->has_dynamic_instructions()) request.instructions = co_await agent->dynamic_instructions(run_ctx);
        else request.instructions = agent->static_instructions();

        std::vector<FunctionTool const*> tools;
        for (auto const& t : agent->tools()) {
            if (t.is_enabled && !t.is_enabled(run_ctx)) continue;
            tools.push_back(&t);
            request.tools.push_back(t.spec());
        }
        struct EnabledHandoff {
            std::size_t index;
            ToolSpec spec;
        };
        std::vector<EnabledHandoff> handoffs;
        for (std::size_t i = 0; i < agent->handoff_count(); ++i) {
            if (!agent->handoff_enabled(i, run_ctx)) continue;
            handoffs.push_back({i, agent->handoff_spec(i)});
        }
        // MCP tools, listed with this run's credentials; kept alive until the turn's calls are done.
        std::vector<FunctionTool> mcp_tools;
        if (!agent->mcp_servers().empty()) {
            std::vector<McpListing> listings = co_await list_mcp_tools(agent->mcp_servers(), run_ctx);
            std::vector<std::string> taken;
            taken.reserve(tools.size() + handoffs.size());
            for (auto const* t : tools) taken.push_back(t->name);
            for (auto const& h : handoffs) taken.push_back(h.spec.name);
            mcp_tools = mcp_function_tools(listings, taken);
            for (auto const& t : mcp_tools) {
                tools.push_back(&t);
                request.tools.push_back(t.spec());
            }
        }
        for (auto const& h : handoffs) request.tools.push_back(h.spec);

        auto resolved = resolve_model(*agent, opts);
        request.model = resolved.name;
        request.settings = agent->model_settings();
        if (opts.settings_override) request.settings = request.settings.merged_with(*opts.settings_override);
        if (agent->reset_tool_choice() && agents_that_used_tools.contains(agent->name()) &&
            forced_choice(request.settings.tool_choice))
            request.settings.tool_choice.reset();
        request.output_schema = agent->output_type();

        // 3. Input.
        if (chain_id) {
            request.previous_response_id = chain_id;
            if (turn == 1) request.input = result.input;
            for (std::size_t i = sent_upto; i < result.new_items.size(); ++i)
                request.input.push_back(result.new_items[i].raw_item);
        } else {
            request.input = result.input;
            for (auto const& ri : result.new_items) request.input.push_back(ri.raw_item);
        }

        // 4. Model call (parallel input guardrails run alongside the first one).
        ModelResponse response;
        if (first_turn && has_parallel_input_guardrails(*agent)) {
            response = co_await call_model_with_guardrails(*resolved.model, request, sink, *agent, run_ctx,
                                                           result.input, result.input_guardrail_results);
        } else {
            response = co_await call_model(*resolved.model, request, sink);
        }

        // 5. Usage: one entry per model call.
        if (response.usage.requests == 0) response.usage.requests = 1;
        response.usage.per_request.clear();
        result.usage.add(response.usage);
        if (response.response_id) {
            result.last_response_id = response.response_id;
            if (chain_id || opts.previous_response_id) chain_id = response.response_id;
        }
        result.raw_responses.push_back(response);

        // 6. Classify output items; emit their run items before anything executes.
        std::vector<PendingCall> calls;
        std::vector<std::pair<FunctionCallItem, std::size_t>> handoff_calls;  // call, handoff index
        std::optional<ClientToolCall> client_call;
        std::optional<std::string> last_message_text;
        bool last_message_has_text = false;
        bool hosted_activity = false;
        std::size_t const first_new = result.new_items.size();

        for (std::size_t k = 0; k < response.output.size(); ++k) {
            auto const& item = response.output[k];
            RunItem ri;
            ri.agent = agent->name();
            ri.raw_item = item;
            if (auto const* m = std::get_if<MessageItem>(&item)) {
                ri.type = RunItem::Type::MessageOutput;
                if (m->role == "assistant" || m->role.empty()) {
                    auto text = message_text(*m);
                    bool has_text = std::any_of(m->content.begin(), m->content.end(),
                                                [](ContentPart const& p) { return std::holds_alternative<OutputText>(p); });
                    if (!has_text) text = message_refusal(*m);
                    last_message_text = std::move(text);
                    last_message_has_text = true;
                }
            } else if (std::holds_alternative<ReasoningItem>(item)) {
                ri.type = RunItem::Type::Reasoning;
            } else if (auto const* fc = std::get_if<FunctionCallItem>(&item)) {
                auto h = std::find_if(handoffs.begin(), handoffs.end(),
                                      [&](EnabledHandoff const& e) { return e.spec.name == fc->name; });
                auto t = std::find_if(tools.begin(), tools.end(),
                                      [&](FunctionTool const* x) { return x->name == fc->name; });
                if (h != handoffs.end()) {
                    ri.type = RunItem::Type::HandoffCall;
                    handoff_calls.emplace_back(*fc, h->index);
                } else if (t != tools.end()) {
                    ri.type = RunItem::Type::ToolCall;
                    if ((*t)->is_client_tool) {
                        if (!client_call) {
                            ClientToolCall cc;
                            cc.name = fc->name;
                            boost::system::error_code ec;
                            auto parsed = json::parse(fc->arguments, ec);
                            if (!ec && parsed.is_object()) cc.arguments = std::move(parsed.get_object());
                            cc.call_id = fc->call_id;
                            cc.item_id = fc->id;
                            client_call = std::move(cc);
                        }
                    } else {
                        PendingCall pc;
                        pc.item_index = k;
                        pc.call = *fc;
                        pc.tool = *t;
                        calls.push_back(std::move(pc));
                    }
                } else {
                    if (!opts.unknown_tool_to_model)
                        throw ModelBehaviorError("Tool " + fc->name + " not found in agent " + agent->name());
                    ri.type = RunItem::Type::ToolCall;
                    PendingCall pc;
                    pc.item_index = k;
                    pc.call = *fc;
                    pc.outcome = CallOutcome{
                        ToolOutput("Tool " + fc->name + " not found in agent " + agent->name() + "."), true};
                    calls.push_back(std::move(pc));
                }
            } else {
                ri.type = RunItem::Type::Other;
                if (is_hosted_call(item)) hosted_activity = true;
            }
            result.new_items.push_back(std::move(ri));
        }
        sent_upto = result.new_items.size();

        for (std::size_t i = first_new; i < result.new_items.size(); ++i) {
            auto const& ri = result.new_items[i];
            switch (ri.type) {
                case RunItem::Type::MessageOutput: co_await emit_item(sink, "message_output_created", ri); break;
                case RunItem::Type::Reasoning: co_await emit_item(sink, "reasoning_item_created", ri); break;
                case RunItem::Type::ToolCall: co_await emit_item(sink, "tool_called", ri); break;
                case RunItem::Type::HandoffCall: co_await emit_item(sink, "handoff_requested", ri); break;
                case RunItem::Type::Other:
                    if (is_hosted_call(ri.raw_item)) co_await emit_item(sink, "tool_called", ri);
                    break;
                default: break;
            }
        }

        // 7. Execute the function tools of this response concurrently; outputs in call order.
        std::function<task<void>(std::size_t)> job = [&calls, &run_ctx](std::size_t i) {
            return run_one_call(calls[i], run_ctx);
        };
        co_await run_all(calls.size(), cap, job);

        std::vector<ToolCallResult> tool_results;
        for (auto& pc : calls) {
            RunItem ri;
            ri.type = RunItem::Type::ToolCallOutput;
            ri.agent = agent->name();
            ri.tool_name = pc.call.name;
            FunctionCallOutput out;
            out.call_id = pc.call.call_id;
            out.output = pc.outcome->output.to_model_string();
            ri.raw_item = std::move(out);
            result.new_items.push_back(std::move(ri));
            co_await emit_item(sink, "tool_output", result.new_items.back());
            if (pc.tool) {
                ToolCallResult tr;
                tr.tool_name = pc.call.name;
                tr.call_id = pc.call.call_id;
                tr.output = pc.outcome->output;
                tr.is_error = pc.outcome->is_error;
                tool_results.push_back(std::move(tr));
            }
        }
        if (!calls.empty() || client_call) agents_that_used_tools.insert(agent->name());

        // 8. Client tool: the run ends here, reporting that call.
        if (client_call) {
            result.client_tool_call = std::move(client_call);
            result.final_output = nullptr;
            result.last_agent = agent->name();
            co_return result;
        }

        // 9. Handoffs: the first one is honoured.
        if (!handoff_calls.empty()) {
            auto const& [first_call, index] = handoff_calls.front();
            auto target = agent->handoff_target(index);
            boost::system::error_code ec;
            json::object args;
            if (auto parsed = json::parse(first_call.arguments.empty() ? std::string("{}") : first_call.arguments, ec);
                !ec && parsed.is_object())
                args = std::move(parsed.get_object());
            co_await agent->on_handoff(index, run_ctx, args);

            RunItem occurred;
            occurred.type = RunItem::Type::HandoffOutput;
            occurred.agent = agent->name();
            occurred.target_agent = target->name();
            occurred.tool_name = first_call.name;
            FunctionCallOutput out;
            out.call_id = first_call.call_id;
            out.output = handoff_output_text(target->name());
            occurred.raw_item = std::move(out);
            result.new_items.push_back(std::move(occurred));
            co_await emit_item(sink, "handoff_occured", result.new_items.back());

            for (std::size_t i = 1; i < handoff_calls.size(); ++i) {
                RunItem ignored;
                ignored.type = RunItem::Type::ToolCallOutput;
                ignored.agent = agent->name();
                ignored.tool_name = handoff_calls[i].first.name;
                FunctionCallOutput o;
                o.call_id = handoff_calls[i].first.call_id;
                o.output = kMultipleHandoffs;
                ignored.raw_item = std::move(o);
                result.new_items.push_back(std::move(ignored));
                co_await emit_item(sink, "tool_output", result.new_items.back());
            }

            agent = std::move(target);
            AgentInfo info{agent->name()};
            if (sink) co_await sink->on_agent_updated(info);
            continue;
        }

        // 10. Tool-use behaviour: may turn tool results into the final output.
        std::optional<json::value> tool_final;
        if (!tool_results.empty()) {
            auto const& behavior = agent->tool_use_behavior();
            switch (behavior.kind) {
                case ToolUseBehavior::Kind::RunLlmAgain: break;
                case ToolUseBehavior::Kind::StopOnFirstTool:
                    tool_final = tool_results.front().output.to_json_value();
                    break;
                case ToolUseBehavior::Kind::StopAtTools:
                    for (auto const& tr : tool_results) {
                        if (std::find(behavior.stop_at.begin(), behavior.stop_at.end(), tr.tool_name) !=
                            behavior.stop_at.end()) {
                            tool_final = tr.output.to_json_value();
                            break;
                        }
                    }
                    break;
                case ToolUseBehavior::Kind::Custom:
                    if (behavior.custom) tool_final = behavior.custom(tool_results);
                    break;
            }
        }
        if (tool_final) {
            co_await run_output_guardrails(*agent, run_ctx, *tool_final, result.output_guardrail_results);
            result.final_output = std::move(*tool_final);
            result.last_agent = agent->name();
            co_return result;
        }

        // 11. Tools ran (or hosted tools without a message): go round again.
        if (!calls.empty() || (hosted_activity && !last_message_has_text)) continue;

        // 12. Final output from the last message.
        json::value final_output;
        if (auto const& schema = agent->output_type()) {
            if (!last_message_text) continue;  // structured agent without a message: run again
            boost::system::error_code ec;
            final_output = json::parse(*last_message_text, ec);
            if (ec) {
                throw ModelBehaviorError("Invalid JSON when parsing " + *last_message_text + " for " + schema->name);
            }
        } else {
            final_output = json::value(last_message_text.value_or(""));
        }
        co_await run_output_guardrails(*agent, run_ctx, final_output, result.output_guardrail_results);
        result.final_output = std::move(final_output);
        result.last_agent = agent->name();
        co_return result;
    }
}

}  // namespace chatkit::agents::detail
