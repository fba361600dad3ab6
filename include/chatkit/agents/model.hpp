// chatkit-cpp agents: the Model interface every provider implements, its request/response types,
// model settings, usage accounting, and the model/runner error types (errors.hpp).
#pragma once

#include <chatkit/agents/errors.hpp>
#include <chatkit/agents/events.hpp>
#include <chatkit/agents/items.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatkit::agents {

/// Token usage of model calls. One entry per model call (`requests == 1`, even when the provider
/// reported no usage); `add` sums totals and appends to `per_request`.
struct Usage {
    std::uint64_t requests = 0;              ///< model calls counted
    std::uint64_t input_tokens = 0;          ///< `input_tokens`, cached ones included
    std::uint64_t cached_input_tokens = 0;   ///< `input_tokens_details.cached_tokens`
    std::uint64_t output_tokens = 0;         ///< `output_tokens`, reasoning ones included
    std::uint64_t reasoning_tokens = 0;      ///< `output_tokens_details.reasoning_tokens`
    std::uint64_t total_tokens = 0;          ///< `total_tokens` (input + output when not reported)
    std::vector<Usage> per_request;          ///< the single-call usages that were added

    /// Adds `other`'s totals; appends `other` (or its own per-request entries) to `per_request`.
    CHATKIT_API void add(Usage const& other);
};

/// The Responses JSON of a usage (`input_tokens`, `input_tokens_details.cached_tokens`, ...).
CHATKIT_API json::object to_json(Usage const& usage);
/// Reads a Responses usage object (missing fields are 0; `requests` becomes 1).
CHATKIT_API Usage usage_from_json(json::object const& usage);

/// Which tool the model must (or must not) call.
struct ToolChoice {
    /// `Auto`: the model decides; `None`: no tool call; `Required`: at least one tool call;
    /// `Named`: a call of the tool `name`.
    ///@{
    enum class Kind { Auto, None, Required, Named } kind = Kind::Auto;
    ///@}
    std::string name;  ///< for `Named`

    /// The model decides (`"auto"`, the default).
    static ToolChoice auto_() { return {}; }
    /// No tool call (`"none"`).
    static ToolChoice none() { return {Kind::None, {}}; }
    /// At least one tool call (`"required"`; sent as `"auto"` where the compat profile has no
    /// `required`).
    static ToolChoice required() { return {Kind::Required, {}}; }
    /// A call of the function tool named `n`.
    static ToolChoice named(std::string n) { return {Kind::Named, std::move(n)}; }
    friend bool operator==(ToolChoice const&, ToolChoice const&) = default;
};

/// Retry rules for model calls (applied before the first stream event reaches the consumer).
struct RetryPolicy {
    int max_retries = 2;                                   ///< retries after the first attempt
    std::chrono::milliseconds initial{500};                ///< first backoff
    std::chrono::milliseconds max_backoff{8000};           ///< backoff cap
    std::chrono::milliseconds max_server_hint{60000};      ///< larger server hints: give up
    double multiplier = 2.0;                               ///< backoff `initial * multiplier^attempt`
    bool jitter = true;                                    ///< multiply by [0.75, 1.0]
    std::vector<int> statuses{408, 409, 429, 500, 502, 503, 504};  ///< HTTP statuses retried
    bool retry_all_5xx = true;                             ///< also retry any other status >= 500
};

/// Per-model call settings. Unset optionals are not sent; `merged_with` overlays another set.
struct ModelSettings {
    /// Sampling parameters, sent as the fields of the same names.
    ///@{
    std::optional<double> temperature, top_p, frequency_penalty, presence_penalty;
    ///@}
    /// `tool_choice`: which tool the model must (or must not) call.
    std::optional<ToolChoice> tool_choice;
    /// `parallel_tool_calls` (sent only with tools); `store` (whether the provider keeps the
    /// response; with Responses `false` also asks for the reasoning, encrypted); `include_usage`
    /// (Chat Completions' `stream_options.include_usage`, on when unset if the profile sends them).
    ///@{
    std::optional<bool> parallel_tool_calls, store, include_usage;
    ///@}
    /// Output token cap: `max_output_tokens` (Responses) or the profile's `max_tokens_field`.
    std::optional<int> max_tokens;
    /// Responses `reasoning.effort`/`reasoning.summary` (Chat Completions: `reasoning_effort`).
    ///@{
    std::optional<std::string> reasoning_effort, reasoning_summary;  ///< e.g. "medium", "auto"
    ///@}
    json::object metadata;                                          ///< sent as `metadata`
    json::object extra_body;                                        ///< merged into the request body
    /// Extra HTTP headers of the call, after the endpoint's `default_headers`.
    std::vector<std::pair<std::string, std::string>> extra_headers;
    /// Retry rules of the call (unset: the endpoint's `retry`).
    std::optional<RetryPolicy> retry;
    /// The call's longest silence between received bytes (unset: the endpoint's) and deadline of
    /// the whole call (unset: the transport's).
    ///@{
    std::optional<std::chrono::milliseconds> idle_timeout, total_timeout;
    ///@}

    /// Field-wise overlay: every field set in `override_` wins; `metadata`/`extra_body` keys are
    /// merged (override wins per key); `extra_headers` are appended.
    CHATKIT_API ModelSettings merged_with(ModelSettings const& override_) const;
};

/// A function tool as the model sees it.
struct ToolSpec {
    std::string name;         ///< the name the model calls it by
    std::string description;  ///< when and how to use it, for the model
    json::object parameters;  ///< JSON schema of the arguments object
    bool strict = true;       ///< strict schema adherence (not sent where the profile has no `strict`)
};

/// Structured output: the JSON schema the final message must follow (`text.format` /
/// `response_format`, name `final_output`).
struct OutputSchema {
    std::string name = "final_output";  ///< the schema's name in the request
    json::object schema;                ///< JSON schema of the final message's JSON
    bool strict = true;                 ///< strict schema adherence
};

/// Everything a model call needs.
struct ModelRequest {
    std::string model;                          ///< model name sent to the provider (may be empty)
    std::optional<std::string> instructions;    ///< system prompt
    std::vector<Item> input;                    ///< conversation so far
    std::vector<ToolSpec> tools;                ///< function tools and handoffs
    ModelSettings settings;                     ///< the agent's, overlaid by the run's `settings_override`
    std::optional<OutputSchema> output_schema;  ///< structured output (unset: plain text)
    std::optional<std::string> previous_response_id;  ///< Responses only
};

/// A completed model call.
struct ModelResponse {
    std::vector<Item> output;                  ///< the items the model produced, in order
    Usage usage;                               ///< this call's usage (`requests == 1`)
    std::optional<std::string> response_id;    ///< the provider's response id (Responses only)
    std::optional<std::string> request_id;     ///< `x-request-id` when known
};

/// Reads a Responses `response` object (as in `response.completed`): output items, usage, id.
CHATKIT_API ModelResponse response_from_json(json::object const& response);

/// Receives each stream event; awaited, so back-pressure reaches the provider socket.
using ModelEventHandler = std::function<task<void>(ModelStreamEvent const&)>;

/// A language model. Implementations emit the Responses event vocabulary.
class CHATKIT_API Model {
public:
    virtual ~Model() = default;

    /// Streams events to `on_event` and returns the completed response. Throws `ModelHttpError`,
    /// `ModelStreamError` or `ModelProtocolError`; cancellation propagates as `operation_aborted`.
    /// `request`, `on_event` and the model must outlive the returned task.
    virtual task<ModelResponse> stream(ModelRequest const& request, ModelEventHandler const& on_event) = 0;

    /// The response without observing events (default: `stream` with a no-op handler). Same errors,
    /// cancellation and lifetimes as `stream`.
    virtual task<ModelResponse> complete(ModelRequest const& request);
};

/// Resolves model names (the `Agent::model` string form) to models.
class CHATKIT_API ModelProvider {
public:
    virtual ~ModelProvider() = default;
    /// The model for `name` (empty name = the provider's default). Throws `UserError` if unknown.
    virtual std::shared_ptr<Model> get_model(std::string_view name) = 0;
};

}  // namespace chatkit::agents
