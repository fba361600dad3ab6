// chatkit-cpp agents: Agent<Ctx> (instructions, tools, model, handoffs, guardrails, output type)
// and the tool-use behaviours.
#pragma once

#include <chatkit/agents/model.hpp>
#include <chatkit/agents/tool.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace chatkit::agents {

class McpServer;  // <chatkit/agents/mcp.hpp>

/// Whether tool results go back to the model or end the run.
struct ToolUseBehavior {
    /// Which rule applies (build one with the static functions below).
    ///@{
    enum class Kind {
        RunLlmAgain,      ///< default: tool outputs go back to the model
        StopOnFirstTool,  ///< the first tool result of a turn is the final output
        StopAtTools,      ///< a result of a tool named in `stop_at` is the final output
        Custom,           ///< `custom` decides (a value = final output)
    } kind = Kind::RunLlmAgain;
    ///@}
    /// For `StopAtTools`: the tool names whose result ends the run.
    std::vector<std::string> stop_at;
    /// For `Custom`: called with the turn's results in call order; a value ends the run with it as
    /// the final output, nullopt sends the results back to the model.
    std::function<std::optional<json::value>(std::vector<ToolCallResult> const&)> custom;

    /// Tool outputs go back to the model.
    static ToolUseBehavior run_llm_again() { return {}; }
    /// The first tool result of a turn ends the run.
    static ToolUseBehavior stop_on_first_tool() { return {Kind::StopOnFirstTool, {}, {}}; }
    /// A result of one of these tools ends the run (all tools of that turn still run).
    static ToolUseBehavior stop_at_tools(std::vector<std::string> names) {
        return {Kind::StopAtTools, std::move(names), {}};
    }
    /// A callback decides from the turn's results; returning a value makes it the final output.
    static ToolUseBehavior custom_fn(std::function<std::optional<json::value>(std::vector<ToolCallResult> const&)> fn) {
        return {Kind::Custom, {}, std::move(fn)};
    }
};

template <class Ctx>
struct Agent;

/// A transfer of control to another agent, presented to the model as a function tool.
/// Defaults (empty fields): tool name `transfer_to_<agent name in snake_case>`, description
/// `Handoff to the <name> agent to handle the request. <handoff_description>`, empty-object parameters.
template <class Ctx>
struct Handoff {
    std::shared_ptr<Agent<Ctx> const> agent;    ///< the agent that takes over (null: never offered)
    std::string tool_name;                      ///< the tool's name (empty: the default)
    std::string tool_description;               ///< the tool's description (empty: the default)
    std::optional<json::object> input_schema;   ///< arguments schema; default: no parameters
    /// Called when the handoff is taken, with the parsed arguments.
    std::function<task<void>(RunContext<Ctx>&, json::object const& args)> on_handoff;
    /// Evaluated per turn; empty = always enabled.
    std::function<bool(RunContext<Ctx> const&)> is_enabled;

    /// An empty handoff (not offered to the model until `agent` is set).
    Handoff() = default;
    /// A handoff with default name and description.
    Handoff(std::shared_ptr<Agent<Ctx> const> target) : agent(std::move(target)) {}  // NOLINT: implicit
    /// A handoff with default name and description (from a mutable agent pointer).
    Handoff(std::shared_ptr<Agent<Ctx>> target) : agent(std::move(target)) {}        // NOLINT: implicit
};

/// An input guardrail: checks the run's input (run only for the run's first agent).
template <class Ctx>
struct InputGuardrail {
    std::string name;  ///< named in `InputGuardrailTripwire`
    /// The check, given the agent and the run's input; its arguments stay valid until it completes.
    std::function<task<GuardrailOutput>(RunContext<Ctx>&, Agent<Ctx> const&, std::vector<Item> const& input)> fn;
    /// true: runs concurrently with the first model call; false: runs (and blocks) before it.
    bool run_in_parallel = true;
};

/// An output guardrail: checks the final output of the agent that produced it.
template <class Ctx>
struct OutputGuardrail {
    std::string name;  ///< named in `OutputGuardrailTripwire`
    /// The check, given the agent and its final output; its arguments stay valid until it completes.
    std::function<task<GuardrailOutput>(RunContext<Ctx>&, Agent<Ctx> const&, json::value const& output)> fn;
};

/// An agent: a model with instructions, tools, handoffs and guardrails.
template <class Ctx>
struct Agent {
    /// Dynamic instructions, evaluated before every model call of this agent.
    using InstructionsFn = std::function<task<std::string>(RunContext<Ctx>&, Agent const&)>;

    std::string name;  ///< shown in results and events; the default handoff tool name derives from it
    /// Appended to the default description of a handoff to this agent (when to pick it).
    std::optional<std::string> handoff_description;
    /// The system prompt: none, fixed text, or computed before every model call.
    std::variant<std::monostate, std::string, InstructionsFn> instructions;
    std::vector<FunctionTool> tools;  ///< function tools the model may call
    /// MCP servers whose tools are offered too, listed before every turn with the run's credentials
    /// (see <chatkit/agents/mcp.hpp>). A server that cannot list its tools is left out of that turn.
    std::vector<std::shared_ptr<McpServer>> mcp_servers;
    /// A model name resolved by `RunOptions::provider`, or a model instance; unset = the run's default.
    std::variant<std::monostate, std::string, std::shared_ptr<Model>> model;
    ModelSettings model_settings;  ///< settings of this agent's model calls (a run may overlay them)
    std::vector<Handoff<Ctx>> handoffs;  ///< agents this one may hand the conversation to
    std::optional<OutputSchema> output_type;   ///< nullopt = plain text final output
    ToolUseBehavior tool_use_behavior;  ///< whether tool results go back to the model or end the run
    /// After a tool ran, a forced `tool_choice` is dropped so the model is not looped into tools.
    bool reset_tool_choice = true;
    std::vector<InputGuardrail<Ctx>> input_guardrails;    ///< checked when this agent starts the run
    std::vector<OutputGuardrail<Ctx>> output_guardrails;  ///< checked on this agent's final output
};

/// `transfer_to_<snake_case(name)>`: the default tool name of a handoff to `agent_name`.
CHATKIT_API std::string default_handoff_tool_name(std::string_view agent_name);
/// The default description of a handoff to `agent_name`, worded as the SDK does. It reads
/// `Handoff to the <name> agent to handle the request. <description>` (a trailing space remains
/// when there is no description).
CHATKIT_API std::string default_handoff_description(std::string_view agent_name,
                                                    std::optional<std::string> const& handoff_description);

}  // namespace chatkit::agents
