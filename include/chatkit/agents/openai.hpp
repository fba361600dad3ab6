// chatkit-cpp agents: models for OpenAI's Responses and Chat Completions APIs and for
// OpenAI-compatible servers (Ollama, llama.cpp, vLLM, ...), plus a provider configured from the
// environment.
#pragma once

#include <chatkit/agents/model.hpp>
#include <chatkit/core/logging.hpp>
#include <chatkit/core/transport.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace chatkit::agents {

/// Where an OpenAI-style API lives and how requests are sent to it.
///
/// `transport` is required: the models, providers and transcribers refuse an endpoint without one
/// (`UserError`). The default is the http layer's client:
/// `endpoint.transport = std::make_shared<chatkit::http::HttpClient>();` (share one per application).
struct OpenAIEndpoint {
    /// Base URL without trailing slash; requests go to `{base_url}/responses` or
    /// `{base_url}/chat/completions`.
    std::string base_url = "https://api.openai.com/v1";
    /// Sent as `Authorization: Bearer <key>`; empty sends no Authorization header.
    std::string api_key;
    /// Extra headers on every request (e.g. `OpenAI-Organization`).
    Headers default_headers;
    /// Retries when the request's `ModelSettings::retry` is unset.
    RetryPolicy retry;
    /// The HTTP client requests go through (TLS trust, pool and default timeouts are its settings).
    /// Must outlive nothing: the models keep it alive while they exist.
    std::shared_ptr<Transport> transport;
    /// Per-request connect timeout and longest silence of a stream; unset leaves the transport's
    /// (`ModelSettings::idle_timeout` / `total_timeout` override them per request).
    ///@{
    std::optional<std::chrono::milliseconds> connect_timeout, idle_timeout;
    ///@}
    /// Receives one warning per retry (with the `x-request-id`) and truncation notices.
    Logger logger;

    /// True when `base_url` points at OpenAI's own API (`api.openai.com`).
    CHATKIT_API bool is_openai() const;
};

/// How an OpenAI-compatible Chat Completions server differs from OpenAI (AGENTS.md §3.4).
struct CompatProfile {
    /// What an assistant message that only carries `tool_calls` sends as `content`.
    enum class ToolCallContent { omit, null, empty_string };

    std::string name = "openai";                             ///< preset name, shown in error messages
    bool send_stream_options = true;                         ///< `stream_options.include_usage`
    std::string max_tokens_field = "max_completion_tokens";  ///< or `max_tokens`
    bool send_parallel_tool_calls = true;                    ///< honour `parallel_tool_calls`
    bool send_strict = true;                                 ///< `strict` in function tools
    bool allow_required_tool_choice = true;                  ///< else `required` is sent as `auto`
    ToolCallContent assistant_toolcall_content = ToolCallContent::null;  ///< `content` beside `tool_calls`
    bool images_as_data_urls_only = false;                   ///< reject image URLs that are not `data:`
    bool raw_reasoning_as_summary = true;                    ///< `reasoning(_content)` -> summary events
    std::string system_role = "system";                      ///< role of the instructions message

    /// api.openai.com.
    CHATKIT_API static CompatProfile openai();
    /// Ollama's `/v1` (`max_tokens`, no `parallel_tool_calls`/`strict`, data-URL images only,
    /// `""` content next to tool calls).
    CHATKIT_API static CompatProfile ollama();
    /// llama.cpp `llama-server` (`max_tokens`, no `strict`).
    CHATKIT_API static CompatProfile llamacpp();
    /// vLLM's OpenAI server (`max_tokens`, no `strict`).
    CHATKIT_API static CompatProfile vllm();
    /// Unknown servers: only the core fields (no stream_options, parallel_tool_calls, strict or
    /// `required`).
    CHATKIT_API static CompatProfile generic();
    /// A preset by name (`openai`, `ollama`, `llamacpp`, `vllm`, `generic`).
    CHATKIT_API static std::optional<CompatProfile> by_name(std::string_view name);
};

/// `POST {base}/responses` with `stream: true` (AGENTS.md §3.2).
///
/// Events are passed through in the Responses vocabulary. `response.failed` and `error` end the
/// call with `ModelStreamError`; `response.incomplete` too unless it carries output (then the
/// response is returned and a warning logged); a stream that ends without a terminal event throws
/// `ModelProtocolError`. HTTP errors become `ModelHttpError` (status 0 when the server could not
/// be reached). Retries follow §3.3 and never happen once an event reached `on_event`
/// (`response.created`/`in_progress` are held back until the first output event for that reason).
class CHATKIT_API OpenAIResponsesModel : public Model {
public:
    /// Throws `UserError` when `endpoint.transport` is not set.
    OpenAIResponsesModel(OpenAIEndpoint endpoint, std::string model);

    task<ModelResponse> stream(ModelRequest const& request, ModelEventHandler const& on_event) override;

    /// The JSON body sent for `request` (exposed for tests and debugging).
    json::object build_body(ModelRequest const& request) const;

    /// The model name sent as `model`.
    std::string const& model() const noexcept { return model_; }

private:
    OpenAIEndpoint endpoint_;
    std::string model_;
};

/// `POST {base}/chat/completions` with `stream: true` (AGENTS.md §3.1, §3.4), emitting the
/// Responses event vocabulary synthesised from the chunks (§1.11) with unique item ids
/// (`msg_<hex>`, `fc_<hex>`, `rs_<hex>`). Both `reasoning_content` and `reasoning` deltas become
/// reasoning summary events (unless the profile says otherwise). Tool calls are decided from the
/// accumulated deltas, never from `finish_reason`. A stream that ends without `[DONE]` is accepted
/// when a `finish_reason` was seen; otherwise it is a `ModelProtocolError`.
class CHATKIT_API OpenAIChatCompletionsModel : public Model {
public:
    /// Throws `UserError` when `endpoint.transport` is not set.
    OpenAIChatCompletionsModel(OpenAIEndpoint endpoint, std::string model,
                               CompatProfile profile = CompatProfile::openai());

    task<ModelResponse> stream(ModelRequest const& request, ModelEventHandler const& on_event) override;

    /// The JSON body sent for `request`; throws `UserError` for items the API cannot carry.
    json::object build_body(ModelRequest const& request) const;

    /// The model name sent as `model`.
    std::string const& model() const noexcept { return model_; }
    /// How the server differs from OpenAI's.
    CompatProfile const& profile() const noexcept { return profile_; }

private:
    OpenAIEndpoint endpoint_;
    std::string model_;
    CompatProfile profile_;
};

/// Resolves model names to OpenAI(-compatible) models sharing one transport (`endpoint.transport`,
/// hence one connection pool).
class CHATKIT_API OpenAIProvider : public ModelProvider {
public:
    /// Which wire API the models speak.
    enum class Api { responses, chat_completions };

    /// How the provider builds its models.
    struct Options {
        OpenAIEndpoint endpoint;                          ///< shared by every model (`transport` required)
        Api api = Api::responses;                         ///< the wire API of every model
        CompatProfile profile = CompatProfile::openai();  ///< Chat Completions only
        std::string default_model = "gpt-4.1-mini";       ///< for an empty model name
    };

    /// Throws `UserError` when `options.endpoint.transport` is not set.
    explicit OpenAIProvider(Options options);

    /// Configuration from the environment (the transport is left unset):
    /// - `OPENAI_API_KEY`: the API key (may be empty for local servers);
    /// - `OPENAI_BASE_URL`: default `https://api.openai.com/v1`;
    /// - `CHATKIT_MODEL`: the default model name (default `gpt-4.1-mini`);
    /// - `CHATKIT_OPENAI_API`: `responses` | `chat_completions`; default `responses` for OpenAI's own
    ///   endpoint, `chat_completions` for any other base URL;
    /// - `CHATKIT_OPENAI_COMPAT`: `openai` | `ollama` | `llamacpp` | `vllm` | `generic`; default
    ///   `openai` for api.openai.com, `ollama` for port 11434, else `generic`;
    /// - `CHATKIT_MODEL_CONNECT_TIMEOUT_MS`, `CHATKIT_MODEL_IDLE_TIMEOUT_MS`: the HTTP client's connect
    ///   timeout and longest silence of a model stream (unset: the transport's, 10 s and 300 s for
    ///   `http::HttpClient`);
    /// - `CHATKIT_MODEL_MAX_RETRIES`: retries of a failed model call before any output (default 2).
    /// Invalid values throw `UserError`.
    static Options options_from_env();
    /// A provider from `options_from_env()` sending through `transport`
    /// (e.g. `std::make_shared<chatkit::http::HttpClient>()`).
    static OpenAIProvider from_env(std::shared_ptr<Transport> transport);
    /// A provider when `OPENAI_API_KEY` or `OPENAI_BASE_URL` is set (non-empty), else nullopt
    /// (the examples then fall back to the offline DemoModel).
    static std::optional<OpenAIProvider> from_env_if_configured(std::shared_ptr<Transport> transport);

    std::shared_ptr<Model> get_model(std::string_view name) override;

    /// The options it was built with.
    Options const& options() const noexcept { return options_; }
    /// The transport every model of this provider sends through.
    std::shared_ptr<Transport> const& transport() const noexcept { return options_.endpoint.transport; }

private:
    Options options_;
};

}  // namespace chatkit::agents
