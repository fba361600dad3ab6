// chatkit-cpp agents: template bodies of runner.hpp (the typed facade over the compiled core).
#pragma once

#include <chatkit/agents/runner.hpp>

namespace chatkit::agents::detail {

/// AgentView over an `Agent<Ctx>`. Holds `keep` (the owning pointer of a handoff target) so a
/// target agent stays alive while the run uses it.
template <class Ctx>
class TypedAgentView final : public AgentView {
public:
    TypedAgentView(Agent<Ctx> const& agent, std::shared_ptr<Agent<Ctx> const> keep = {})
        : agent_(agent), keep_(std::move(keep)) {}

    std::string const& name() const override { return agent_.name; }
    std::optional<std::string> const& handoff_description() const override { return agent_.handoff_description; }
    bool has_dynamic_instructions() const override { return agent_.instructions.index() == 2; }
    std::optional<std::string> static_instructions() const override {
        if (auto const* s = std::get_if<std::string>(&agent_.instructions)) return *s;
        return std::nullopt;
    }
    task<std::string> dynamic_instructions(RunContextBase const& ctx) const override {
        return call_instructions(std::get<2>(agent_.instructions), RunContext<Ctx>(ctx), agent_);
    }
    std::vector<FunctionTool> const& tools() const override { return agent_.tools; }
    std::vector<std::shared_ptr<McpServer>> const& mcp_servers() const override { return agent_.mcp_servers; }
    std::variant<std::monostate, std::string, std::shared_ptr<Model>> const& model() const override {
        return agent_.model;
    }
    ModelSettings const& model_settings() const override { return agent_.model_settings; }
    std::optional<OutputSchema> const& output_type() const override { return agent_.output_type; }
    ToolUseBehavior const& tool_use_behavior() const override { return agent_.tool_use_behavior; }
    bool reset_tool_choice() const override { return agent_.reset_tool_choice; }

    std::size_t handoff_count() const override { return agent_.handoffs.size(); }
    bool handoff_enabled(std::size_t i, RunContextBase const& ctx) const override {
        auto const& h = agent_.handoffs.at(i);
        if (!h.agent) return false;
        return !h.is_enabled || h.is_enabled(RunContext<Ctx>(ctx));
    }
    ToolSpec handoff_spec(std::size_t i) const override {
        auto const& h = agent_.handoffs.at(i);
        ToolSpec s;
        s.name = h.tool_name.empty() ? default_handoff_tool_name(h.agent->name) : h.tool_name;
        s.description = h.tool_description.empty()
                            ? default_handoff_description(h.agent->name, h.agent->handoff_description)
                            : h.tool_description;
        s.parameters = h.input_schema ? *h.input_schema : empty_object_schema();
        s.strict = true;
        return s;
    }
    std::shared_ptr<AgentView const> handoff_target(std::size_t i) const override {
        auto const& h = agent_.handoffs.at(i);
        return std::make_shared<TypedAgentView<Ctx>>(*h.agent, h.agent);
    }
    task<void> on_handoff(std::size_t i, RunContextBase const& ctx, json::object const& args) const override {
        return call_on_handoff(agent_.handoffs.at(i).on_handoff, RunContext<Ctx>(ctx), args);
    }

    std::size_t input_guardrail_count() const override { return agent_.input_guardrails.size(); }
    std::string const& input_guardrail_name(std::size_t i) const override { return agent_.input_guardrails.at(i).name; }
    bool input_guardrail_parallel(std::size_t i) const override { return agent_.input_guardrails.at(i).run_in_parallel; }
    task<GuardrailOutput> run_input_guardrail(std::size_t i, RunContextBase const& ctx,
                                              std::vector<Item> const& input) const override {
        return call_input_guardrail(agent_.input_guardrails.at(i).fn, RunContext<Ctx>(ctx), agent_, input);
    }
    std::size_t output_guardrail_count() const override { return agent_.output_guardrails.size(); }
    std::string const& output_guardrail_name(std::size_t i) const override { return agent_.output_guardrails.at(i).name; }
    task<GuardrailOutput> run_output_guardrail(std::size_t i, RunContextBase const& ctx,
                                               json::value const& output) const override {
        return call_output_guardrail(agent_.output_guardrails.at(i).fn, RunContext<Ctx>(ctx), agent_, output);
    }

private:
    // Coroutines taking their arguments by value, so nothing dangles while they are suspended.
    static task<std::string> call_instructions(typename Agent<Ctx>::InstructionsFn fn, RunContext<Ctx> ctx,
                                               Agent<Ctx> const& agent) {
        co_return co_await fn(ctx, agent);
    }
    static task<void> call_on_handoff(std::function<task<void>(RunContext<Ctx>&, json::object const&)> fn,
                                      RunContext<Ctx> ctx, json::object args) {
        if (fn) co_await fn(ctx, args);
    }
    static task<GuardrailOutput> call_input_guardrail(
        std::function<task<GuardrailOutput>(RunContext<Ctx>&, Agent<Ctx> const&, std::vector<Item> const&)> fn,
        RunContext<Ctx> ctx, Agent<Ctx> const& agent, std::vector<Item> input) {
        if (!fn) co_return GuardrailOutput{};
        co_return co_await fn(ctx, agent, input);
    }
    static task<GuardrailOutput> call_output_guardrail(
        std::function<task<GuardrailOutput>(RunContext<Ctx>&, Agent<Ctx> const&, json::value const&)> fn,
        RunContext<Ctx> ctx, Agent<Ctx> const& agent, json::value output) {
        if (!fn) co_return GuardrailOutput{};
        co_return co_await fn(ctx, agent, output);
    }

    Agent<Ctx> const& agent_;
    std::shared_ptr<Agent<Ctx> const> keep_;
};

}  // namespace chatkit::agents::detail

namespace chatkit::agents {

template <class Ctx>
task<RunResult> Runner::run(Agent<Ctx> const& agent, std::vector<Item> input, Ctx& ctx, RunOptions options) {
    return detail::run_core(std::make_shared<detail::TypedAgentView<Ctx>>(agent), std::move(input),
                            static_cast<void*>(&ctx), std::move(options));
}

}  // namespace chatkit::agents
