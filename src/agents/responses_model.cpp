// chatkit-cpp: OpenAIResponsesModel — POST {base}/responses (AGENTS.md §3.2).
#include "openai_common.hpp"

#include <chatkit/agents/openai.hpp>

#include <boost/json/parse.hpp>

namespace chatkit::agents {

namespace {

json::value tool_choice_json(ToolChoice const& c, bool responses_shape) {
    switch (c.kind) {
        case ToolChoice::Kind::Auto: return "auto";
        case ToolChoice::Kind::None: return "none";
        case ToolChoice::Kind::Required: return "required";
        case ToolChoice::Kind::Named: break;
    }
    if (responses_shape) return json::object{{"type", "function"}, {"name", c.name}};
    return json::object{{"type", "function"}, {"function", json::object{{"name", c.name}}}};
}

// Consumes one attempt's Responses event stream.
class ResponsesConsumer final : public detail::StreamConsumer {
public:
    ResponsesConsumer(ModelEventHandler const& on_event, Logger const& logger)
        : StreamConsumer(on_event), logger_(logger) {}

    task<void> on_sse(SseEvent const& sse) override {
        if (terminal_) co_return;  // nothing after the terminal event matters
        if (sse.error) {
            boost::system::error_code ec;
            auto v = json::parse(*sse.error, ec);
            throw detail::stream_error(ec ? json::value(*sse.error) : v, delivered());
        }
        if (sse.is_done() || sse.data.empty()) co_return;  // tolerate a stray [DONE]
        auto payload = detail::parse_payload(sse.data);
        if (!payload.contains("type") && payload.contains("error"))
            throw detail::stream_error(payload.at("error"), delivered());
        if (auto const* t = payload.if_contains("type"); t && t->is_string() && t->get_string() == "response.done") {
            // Some gateways end with `response.done`: treat it by the response's status.
            auto const* r = payload.if_contains("response");
            std::string status = r && r->is_object() && r->as_object().contains("status") &&
                                         r->as_object().at("status").is_string()
                                     ? std::string(r->as_object().at("status").get_string())
                                     : "completed";
            payload["type"] = status == "failed" ? "response.failed"
                              : status == "incomplete" ? "response.incomplete"
                                                       : "response.completed";
        }
        ModelStreamEvent event = parse_model_event(payload);
        switch (event.kind) {
            case ModelEventKind::Completed: {
                if (!event.response) throw ModelProtocolError("response.completed without a response object");
                response_ = *event.response;
                terminal_ = true;
                co_await emit(std::move(event));
                co_return;
            }
            case ModelEventKind::Incomplete: {
                json::object response = event.response ? *event.response : json::object{};
                std::string reason = "incomplete";
                if (auto const* d = response.if_contains("incomplete_details"); d && d->is_object())
                    if (auto const* r = d->as_object().if_contains("reason"); r && r->is_string())
                        reason = std::string(r->get_string());
                auto const* out = response.if_contains("output");
                if (out && out->is_array() && !out->as_array().empty()) {
                    logger_.log(LogLevel::warning, "model response truncated (" + reason + ")");
                    response_ = std::move(response);
                    terminal_ = true;
                    co_await emit(std::move(event));
                    co_return;
                }
                throw ModelStreamError(reason, "The model response is incomplete (" + reason + ").", delivered());
            }
            case ModelEventKind::Failed: {
                json::value error = nullptr;
                if (event.response)
                    if (auto const* e = event.response->if_contains("error")) error = *e;
                throw detail::stream_error(error, delivered());
            }
            case ModelEventKind::Error: {
                throw ModelStreamError(event.code.empty() ? "stream_error" : event.code,
                                       event.message.empty() ? "The model stream reported an error." : event.message,
                                       delivered());
            }
            default:
                co_await emit(std::move(event));
        }
    }

    task<ModelResponse> finish() override {
        if (!terminal_) {
            throw ModelProtocolError("the model stream ended before a terminal event (response.completed)");
        }
        co_await flush_held();
        auto out = response_from_json(response_);
        co_return out;
    }

private:
    Logger const& logger_;
    bool terminal_ = false;
    json::object response_;
};

}  // namespace

OpenAIResponsesModel::OpenAIResponsesModel(OpenAIEndpoint endpoint, std::string model)
    : endpoint_(std::move(endpoint)), model_(std::move(model)) {
    detail::require_transport(endpoint_, "OpenAIResponsesModel");
}

json::object OpenAIResponsesModel::build_body(ModelRequest const& request) const {
    auto const& s = request.settings;
    json::object body;
    body["model"] = request.model.empty() ? model_ : request.model;
    if (request.instructions) body["instructions"] = *request.instructions;
    body["input"] = to_json(request.input);
    if (!request.tools.empty()) {
        json::array tools;
        for (auto const& t : request.tools) {
            json::object tool{{"type", "function"}, {"name", t.name}};
            if (!t.description.empty()) tool["description"] = t.description;
            tool["parameters"] = t.parameters;
            tool["strict"] = t.strict;
            tools.push_back(std::move(tool));
        }
        body["tools"] = std::move(tools);
    }
    if (s.tool_choice) body["tool_choice"] = tool_choice_json(*s.tool_choice, true);
    if (s.parallel_tool_calls && !request.tools.empty()) body["parallel_tool_calls"] = *s.parallel_tool_calls;
    body["stream"] = true;
    if (s.store) body["store"] = *s.store;
    if (s.store && !*s.store) body["include"] = json::array{"reasoning.encrypted_content"};
    if (request.previous_response_id) body["previous_response_id"] = *request.previous_response_id;
    if (s.reasoning_effort || s.reasoning_summary) {
        json::object reasoning;
        if (s.reasoning_effort) reasoning["effort"] = *s.reasoning_effort;
        if (s.reasoning_summary) reasoning["summary"] = *s.reasoning_summary;
        body["reasoning"] = std::move(reasoning);
    }
    if (request.output_schema) {
        auto const& o = *request.output_schema;
        body["text"] = json::object{{"format", json::object{{"type", "json_schema"},
                                                            {"name", o.name},
                                                            {"schema", o.schema},
                                                            {"strict", o.strict}}}};
    }
    if (s.max_tokens) body["max_output_tokens"] = *s.max_tokens;
    if (s.temperature) body["temperature"] = *s.temperature;
    if (s.top_p) body["top_p"] = *s.top_p;
    if (s.frequency_penalty) body["frequency_penalty"] = *s.frequency_penalty;
    if (s.presence_penalty) body["presence_penalty"] = *s.presence_penalty;
    if (!s.metadata.empty()) body["metadata"] = s.metadata;
    for (auto const& [k, v] : s.extra_body) body[k] = v;
    return body;
}

task<ModelResponse> OpenAIResponsesModel::stream(ModelRequest const& request, ModelEventHandler const& on_event) {
    auto body = build_body(request);
    auto http = detail::make_request(endpoint_, "/responses", body, request.settings);
    RetryPolicy const policy = request.settings.retry.value_or(endpoint_.retry);
    auto transport = endpoint_.transport;
    auto const& logger = endpoint_.logger;
    std::function<std::unique_ptr<detail::StreamConsumer>()> make_consumer = [&]() {
        return std::make_unique<ResponsesConsumer>(on_event, logger);
    };
    auto response = co_await detail::stream_with_retries(endpoint_, *transport, policy, http, make_consumer);
    co_return response;
}

}  // namespace chatkit::agents
