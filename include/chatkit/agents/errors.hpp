// chatkit-cpp agents: the exceptions of the agent layer, all deriving from chatkit::agents::Error.
#pragma once

#include <chatkit/core/config.hpp>

#include <boost/json/value.hpp>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

namespace chatkit::agents {

/// Base of every exception the agent layer throws (model, runner, tool and guardrail errors).
/// Cancellation is never wrapped: it stays `boost::system::system_error(operation_aborted)`.
class CHATKIT_API Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A model endpoint answered with a non-2xx HTTP status (or could not be reached: status 0).
class CHATKIT_API ModelHttpError : public Error {
public:
    ModelHttpError(int status, std::string message, std::string code = {}, std::string type = {},
                   std::string request_id = {});

    int status;                   ///< HTTP status, 0 for connection-level failures
    std::string type;             ///< `error.type` of the body
    std::string code;             ///< `error.code` of the body (string or integer rendered)
    std::string message;          ///< `error.message` (or the raw body when unparseable)
    std::string param;            ///< `error.param` when present
    std::string request_id;       ///< `x-request-id` response header
    std::string raw_body;         ///< the body as received (capped)
    std::optional<std::chrono::milliseconds> retry_after;  ///< parsed server delay hint
    bool retryable = false;       ///< whether the retry rules would retry it
};

/// The model stream ended with an error: an `error` event, `response.failed`,
/// `response.incomplete` or a mid-stream `{"error":...}` payload.
class CHATKIT_API ModelStreamError : public Error {
public:
    ModelStreamError(std::string code, std::string message, bool after_output = false);

    std::string code;
    std::string message;
    bool after_output = false;    ///< output events had already been delivered
};

/// The model endpoint sent something that is not valid SSE/JSON, or ended prematurely.
class CHATKIT_API ModelProtocolError : public Error {
public:
    using Error::Error;
};

/// The run needed more model calls than `RunOptions::max_turns` allows.
/// Message: `Max turns (N) exceeded`.
class CHATKIT_API MaxTurnsExceeded : public Error {
public:
    explicit MaxTurnsExceeded(int max_turns);
    int max_turns;
};

/// The model did something the run cannot accept (an unknown tool, invalid structured output).
class CHATKIT_API ModelBehaviorError : public Error {
public:
    using Error::Error;
};

/// The application configured something wrongly (no model, no provider for a model name...).
class CHATKIT_API UserError : public Error {
public:
    using Error::Error;
};

/// What a guardrail function returns: free-form info and whether the tripwire fired.
struct GuardrailOutput {
    boost::json::value output_info;
    bool tripwire_triggered = false;
};

/// An input guardrail's tripwire fired. Message: `Guardrail <name> triggered tripwire`.
class CHATKIT_API InputGuardrailTripwire : public Error {
public:
    InputGuardrailTripwire(std::string guardrail_name, GuardrailOutput output);
    std::string guardrail_name;
    GuardrailOutput output;
};

/// An output guardrail's tripwire fired. Message: `Guardrail <name> triggered tripwire`.
class CHATKIT_API OutputGuardrailTripwire : public Error {
public:
    OutputGuardrailTripwire(std::string guardrail_name, GuardrailOutput output);
    std::string guardrail_name;
    GuardrailOutput output;
};

}  // namespace chatkit::agents
