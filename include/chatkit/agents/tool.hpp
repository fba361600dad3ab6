// chatkit-cpp agents: function tools (server-side and client-side), the contexts tools receive,
// typed tool construction and the SDK's default error texts.
#pragma once

#include <chatkit/agents/model.hpp>

#include <boost/asio/cancellation_state.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace chatkit::agents {

/// What a tool returns: a string is given to the model verbatim, JSON is serialised.
struct ToolOutput {
    std::variant<std::string, json::value> value;  ///< text as is, or JSON to serialise

    /// An empty text output.
    ToolOutput() : value(std::string()) {}
    /// A text output, given to the model verbatim.
    ToolOutput(std::string s) : value(std::move(s)) {}       // NOLINT: implicit by design
    /// A text output from a C string (not null).
    ToolOutput(char const* s) : value(std::string(s)) {}     // NOLINT
    /// A JSON output, serialised for the model.
    ToolOutput(json::value v) : value(std::move(v)) {}       // NOLINT
    /// A JSON object output, serialised for the model.
    ToolOutput(json::object o) : value(json::value(std::move(o))) {}  // NOLINT

    /// The text sent to the model as the `function_call_output`.
    CHATKIT_API std::string to_model_string() const;
    /// The output as JSON (a string output becomes a JSON string).
    CHATKIT_API json::value to_json_value() const;
};

/// The run-wide context handed to dynamic instructions, guardrails, handoff callbacks and tools.
/// Type-erased: `RunContext<Ctx>` adds the typed `context()`.
class RunContextBase {
public:
    /// Made by the runner: `user_context` is the `Ctx` of the run and `usage` its running total;
    /// both must outlive this context and its copies.
    RunContextBase(void* user_context, Usage const* usage, std::string agent_name, int turn)
        : user_(user_context), usage_(usage), agent_name_(std::move(agent_name)), turn_(turn) {}

    /// The running token usage of this run (updated after each model call).
    Usage const& usage() const noexcept { return *usage_; }
    /// The name of the agent currently running.
    std::string const& agent_name() const noexcept { return agent_name_; }
    /// The current turn (1-based; a turn is one model call).
    int turn() const noexcept { return turn_; }
    /// The application's context object (what `Runner::run` received), untyped.
    void* user_context() const noexcept { return user_; }

private:
    void* user_;
    Usage const* usage_;
    std::string agent_name_;
    int turn_;
};

/// The typed run context: `context()` is the object passed to `Runner::run`.
template <class Ctx>
class RunContext : public RunContextBase {
public:
    /// Views `base` as typed; its user context must be a `Ctx`.
    explicit RunContext(RunContextBase const& base) : RunContextBase(base) {}
    /// The application's context object.
    Ctx& context() const noexcept { return *static_cast<Ctx*>(user_context()); }
};

/// Per-invocation context of a tool: which call is running, with which raw arguments.
class ToolContextBase : public RunContextBase {
public:
    /// Made by the runner for one call; `cancel_state` is the run's (default: never cancelled).
    ToolContextBase(RunContextBase const& run, std::string tool_name, std::string call_id,
                    std::optional<std::string> item_id, std::string raw_arguments,
                    boost::asio::cancellation_state cancel_state = {})
        : RunContextBase(run),
          tool_name_(std::move(tool_name)),
          call_id_(std::move(call_id)),
          item_id_(std::move(item_id)),
          raw_arguments_(std::move(raw_arguments)),
          cancel_state_(cancel_state) {}

    /// The tool's name as the model called it.
    std::string const& tool_name() const noexcept { return tool_name_; }
    /// The `call_id` of the function call being answered.
    std::string const& call_id() const noexcept { return call_id_; }
    /// The id of the `function_call` item (e.g. `fc_...`), when the provider gave one.
    std::optional<std::string> const& item_id() const noexcept { return item_id_; }
    /// The arguments exactly as the model produced them (JSON text).
    std::string const& raw_arguments() const noexcept { return raw_arguments_; }
    /// Whether the run has been asked to stop (mirrors the run's cancellation state).
    bool cancelled() const noexcept {
        return cancel_state_.cancelled() != boost::asio::cancellation_type::none;
    }

private:
    std::string tool_name_;
    std::string call_id_;
    std::optional<std::string> item_id_;
    std::string raw_arguments_;
    boost::asio::cancellation_state cancel_state_;
};

/// The typed tool context: `context()` is the object passed to `Runner::run`.
template <class Ctx>
class ToolContext : public ToolContextBase {
public:
    /// Views `base` as typed; its user context must be a `Ctx`.
    explicit ToolContext(ToolContextBase const& base) : ToolContextBase(base) {}
    /// The application's context object.
    Ctx& context() const noexcept { return *static_cast<Ctx*>(user_context()); }
};

/// Thrown (and reported to the model) when a call's arguments are not a JSON object, or not what
/// the tool reads. Code `error::invalid_tool_arguments`.
class CHATKIT_API ToolArgumentsError : public Error {
public:
    /// `message` is what the model is told about its arguments.
    explicit ToolArgumentsError(std::string message)
        : Error(error::invalid_tool_arguments, std::move(message)) {}
};

/// The SDK's default tool error formatter (the default `FunctionTool::on_error`). Its text is
/// `An error occurred while running the tool. Please try again. Error: <message>`, or for
/// malformed arguments `An error occurred while parsing tool arguments. Please try again with valid
/// JSON. Error: <message>`.
CHATKIT_API std::optional<std::string> default_tool_error(ToolContextBase& ctx, std::exception_ptr error);

/// A function tool: name, description, JSON schema and the coroutine that runs it.
struct FunctionTool {
    std::string name;          ///< the name the model calls it by
    std::string description;   ///< when and how to use it, for the model
    json::object parameters;   ///< JSON schema of the arguments object
    bool strict = true;        ///< strict schema mode (see `strict_schema`)
    /// Runs the tool with the parsed arguments object.
    std::function<task<ToolOutput>(ToolContextBase&, json::object const& args)> invoke;
    /// Turns a tool failure into a model-visible string, or nullopt to let the exception fail the run.
    std::function<std::optional<std::string>(ToolContextBase&, std::exception_ptr)> on_error = default_tool_error;
    /// Evaluated per turn; empty = always enabled.
    std::function<bool(RunContextBase const&)> is_enabled;
    /// Longest a call may run (unset: no limit). A call running longer gets the error text
    /// ``Tool '<name>' timed out after <N> seconds.``
    std::optional<std::chrono::milliseconds> timeout;
    /// A client tool: the runner records the call on the result and ends the run instead of invoking.
    bool is_client_tool = false;

    /// What the model sees.
    ToolSpec spec() const { return ToolSpec{name, description, parameters, strict}; }
};

/// The outcome of one tool call of a turn (input of `ToolUseBehavior::custom`).
struct ToolCallResult {
    std::string tool_name;   ///< the tool that was called
    std::string call_id;     ///< the `call_id` of the model's call
    ToolOutput output;       ///< what the tool returned (or the error text)
    bool is_error = false;   ///< the output is an error text
};

/// Makes a JSON schema strict: every object gets `additionalProperties: false` and lists all its
/// properties in `required` (recursively through properties, items, anyOf and $defs).
CHATKIT_API json::object strict_schema(json::object schema);

/// An object schema with no parameters (`{"type":"object","properties":{},"required":[],
/// "additionalProperties":false}`).
CHATKIT_API json::object empty_object_schema();

/// A client tool: the model may call it, the runner ends the run and reports the call in
/// `RunResult::client_tool_call` (the ChatKit bridge turns it into a pending ClientToolCallItem).
CHATKIT_API FunctionTool client_tool(std::string name, std::string description, json::object schema);

namespace detail {
template <class R>
ToolOutput to_tool_output(R&& r) {
    using D = std::decay_t<R>;
    if constexpr (std::is_same_v<D, ToolOutput>) return std::forward<R>(r);
    else if constexpr (std::is_convertible_v<D, std::string>) return ToolOutput(std::string(std::forward<R>(r)));
    else if constexpr (std::is_same_v<D, json::value> || std::is_same_v<D, json::object>) return ToolOutput(json::value(std::forward<R>(r)));
    else return ToolOutput(json::value_from(std::forward<R>(r)));
}

template <class Ctx, class Args, class F>
task<ToolOutput> invoke_typed(F fn, ToolContextBase& base, json::object args) {
    ToolContext<Ctx> ctx(base);
    if constexpr (std::is_same_v<Args, json::object>) {
        co_return to_tool_output(co_await fn(ctx, std::move(args)));
    } else {
        Args typed = [&] {
            try {
                return json::value_to<Args>(json::value(std::move(args)));
            } catch (std::exception const& e) {
                throw ToolArgumentsError(std::string("invalid arguments: ") + e.what());
            }
        }();
        co_return to_tool_output(co_await fn(ctx, std::move(typed)));
    }
}
}  // namespace detail

/// A typed function tool. `fn(ToolContext<Ctx>&, Args) -> task<R>`; `Args` is read from the
/// arguments object with `boost::json::value_to<Args>` (or is `json::object` itself); `R` is a
/// string, JSON, `ToolOutput`, or anything `boost::json::value_from` accepts.
template <class Ctx, class Args, class F>
FunctionTool make_tool(std::string name, std::string description, json::object schema, F fn, bool strict = true) {
    FunctionTool t;
    t.name = std::move(name);
    t.description = std::move(description);
    t.parameters = strict ? strict_schema(std::move(schema)) : std::move(schema);
    t.strict = strict;
    t.invoke = [fn = std::move(fn)](ToolContextBase& base, json::object const& args) {
        return detail::invoke_typed<Ctx, Args, F>(fn, base, args);
    };
    return t;
}

}  // namespace chatkit::agents
