// chatkit-cpp agents: the exceptions of the agent layer, thin subclasses of chatkit::Error.
#pragma once

#include <chatkit/core/config.hpp>
#include <chatkit/core/error.hpp>

#include <boost/json/value.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace chatkit::agents {

// Every exception the agent layer throws (model, runner, tool and guardrail errors) is a
// `chatkit::Error` with a code of the agents block (`error::model_request_failed`...); the classes
// below add what a caller needs besides the code. `what()` and `message()` are the readable text.
// A client that ever sees one gets HTTP 500 `internal` "Internal server error" (the text may quote
// a model provider); inside a ChatKit stream they end it with a generic error event.
// Cancellation is never wrapped: it stays `boost::system::system_error(operation_aborted)`.

/// A model endpoint answered with a non-2xx HTTP status (or could not be reached: status 0).
/// Code `error::model_request_failed`.
class CHATKIT_API ModelHttpError : public Error {
public:
    /// `message`, `code` and `type` go to `model_message`, `model_code` and `type`; `what()` reads
    /// `HTTP <status> (<code>): <message> [request id <id>]` (`connection failed` for status 0).
    ModelHttpError(int status, std::string message, std::string code = {}, std::string type = {},
                   std::string request_id = {});

    int status;                   ///< HTTP status, 0 for connection-level failures
    std::string type;             ///< `error.type` of the body
    std::string model_code;       ///< `error.code` of the body (string or integer rendered), or the
                                  ///< transport failure (`timeout`, `connection_error`...) for status 0
    std::string model_message;    ///< `error.message` (or the raw body when unparseable)
    std::string param;            ///< `error.param` when present
    std::string request_id;       ///< `x-request-id` response header
    std::string raw_body;         ///< the body as received (capped)
    std::optional<std::chrono::milliseconds> retry_after;  ///< parsed server delay hint
    bool retryable = false;       ///< whether the retry rules would retry it
};

/// The model stream ended with an error: an `error` event, `response.failed`,
/// `response.incomplete` or a mid-stream `{"error":...}` payload. Code `error::model_stream_failed`.
class CHATKIT_API ModelStreamError : public Error {
public:
    /// `what()` reads `<code>: <message>` (just the message when `code` is empty).
    ModelStreamError(std::string code, std::string message, bool after_output = false);

    std::string model_code;       ///< the stream's error code (`server_error`, `content_filter`...)
    std::string model_message;    ///< the stream's error message
    bool after_output = false;    ///< output events had already been delivered
};

/// The model endpoint sent something that is not valid SSE/JSON, or ended prematurely.
/// Code `error::model_protocol_violation`.
class CHATKIT_API ModelProtocolError : public Error {
public:
    /// `message` says what was malformed or missing.
    explicit ModelProtocolError(std::string message)
        : Error(error::model_protocol_violation, std::move(message)) {}
};

/// The run needed more model calls than `RunOptions::max_turns` allows.
/// Message: `Max turns (N) exceeded`. Code `error::max_turns_exceeded`.
class CHATKIT_API MaxTurnsExceeded : public Error {
public:
    /// The message quotes `max_turns`.
    explicit MaxTurnsExceeded(int max_turns);
    int max_turns;  ///< the limit that was reached
};

/// The model did something the run cannot accept (an unknown tool, invalid structured output).
/// Code `error::unexpected_model_behavior`.
class CHATKIT_API ModelBehaviorError : public Error {
public:
    /// `message` names what the model did (e.g. the unknown tool).
    explicit ModelBehaviorError(std::string message)
        : Error(error::unexpected_model_behavior, std::move(message)) {}
};

/// The application configured something wrongly (no model, no provider for a model name...).
/// Code `error::agent_misconfigured`.
class CHATKIT_API UserError : public Error {
public:
    /// `message` says what to fix.
    explicit UserError(std::string message) : Error(error::agent_misconfigured, std::move(message)) {}
};

/// What a guardrail function returns: free-form info and whether the tripwire fired.
struct GuardrailOutput {
    boost::json::value output_info;   ///< anything the guardrail wants to report (null by default)
    bool tripwire_triggered = false;  ///< true stops the run with a `...GuardrailTripwire` error
};

/// An input guardrail's tripwire fired. Message: `Guardrail <name> triggered tripwire`.
/// Code `error::input_guardrail_triggered`.
class CHATKIT_API InputGuardrailTripwire : public Error {
public:
    /// The message quotes `guardrail_name`.
    InputGuardrailTripwire(std::string guardrail_name, GuardrailOutput output);
    std::string guardrail_name;  ///< the guardrail's name
    GuardrailOutput output;      ///< what the guardrail returned
};

/// An output guardrail's tripwire fired. Message: `Guardrail <name> triggered tripwire`.
/// Code `error::output_guardrail_triggered`.
class CHATKIT_API OutputGuardrailTripwire : public Error {
public:
    /// The message quotes `guardrail_name`.
    OutputGuardrailTripwire(std::string guardrail_name, GuardrailOutput output);
    std::string guardrail_name;  ///< the guardrail's name
    GuardrailOutput output;      ///< what the guardrail returned
};

}  // namespace chatkit::agents
