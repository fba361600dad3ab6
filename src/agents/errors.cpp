// chatkit-cpp agents: the error types (errors.hpp).
#include <chatkit/agents/errors.hpp>

#include <utility>

namespace chatkit::agents {

// ---------------------------------------------------------------------------------------------
// Errors

namespace {
std::string http_what(int status, std::string const& message, std::string const& code,
                      std::string const& request_id) {
    std::string w = status ? "HTTP " + std::to_string(status) : std::string("connection failed");
    if (!code.empty()) w += " (" + code + ")";
    if (!message.empty()) w += ": " + message;
    if (!request_id.empty()) w += " [request id " + request_id + "]";
    return w;
}
}  // namespace

ModelHttpError::ModelHttpError(int http_code, std::string text, std::string body_code, std::string body_type,
                               std::string id)
    : Error(error::model_request_failed, http_what(http_code, text, body_code, id)),
      status(http_code),
      type(std::move(body_type)),
      model_code(std::move(body_code)),
      model_message(std::move(text)),
      request_id(std::move(id)) {}

ModelStreamError::ModelStreamError(std::string stream_code, std::string text, bool output_seen)
    : Error(error::model_stream_failed, stream_code.empty() ? text : stream_code + ": " + text),
      model_code(std::move(stream_code)),
      model_message(std::move(text)),
      after_output(output_seen) {}

MaxTurnsExceeded::MaxTurnsExceeded(int max_turns_)
    : Error(error::max_turns_exceeded, "Max turns (" + std::to_string(max_turns_) + ") exceeded"),
      max_turns(max_turns_) {}

InputGuardrailTripwire::InputGuardrailTripwire(std::string name, GuardrailOutput out)
    : Error(error::input_guardrail_triggered, "Guardrail " + name + " triggered tripwire"),
      guardrail_name(std::move(name)),
      output(std::move(out)) {}

OutputGuardrailTripwire::OutputGuardrailTripwire(std::string name, GuardrailOutput out)
    : Error(error::output_guardrail_triggered, "Guardrail " + name + " triggered tripwire"),
      guardrail_name(std::move(name)),
      output(std::move(out)) {}

}  // namespace chatkit::agents
