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

ModelHttpError::ModelHttpError(int status_, std::string message_, std::string code_, std::string type_,
                               std::string request_id_)
    : Error(http_what(status_, message_, code_, request_id_)),
      status(status_),
      type(std::move(type_)),
      code(std::move(code_)),
      message(std::move(message_)),
      request_id(std::move(request_id_)) {}

ModelStreamError::ModelStreamError(std::string code_, std::string message_, bool after_output_)
    : Error(code_.empty() ? message_ : code_ + ": " + message_),
      code(std::move(code_)),
      message(std::move(message_)),
      after_output(after_output_) {}

MaxTurnsExceeded::MaxTurnsExceeded(int max_turns_)
    : Error("Max turns (" + std::to_string(max_turns_) + ") exceeded"), max_turns(max_turns_) {}

InputGuardrailTripwire::InputGuardrailTripwire(std::string name, GuardrailOutput out)
    : Error("Guardrail " + name + " triggered tripwire"), guardrail_name(std::move(name)), output(std::move(out)) {}

OutputGuardrailTripwire::OutputGuardrailTripwire(std::string name, GuardrailOutput out)
    : Error("Guardrail " + name + " triggered tripwire"), guardrail_name(std::move(name)), output(std::move(out)) {}

}  // namespace chatkit::agents
