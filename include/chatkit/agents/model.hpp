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
    std::uint64_t requests = 0;
    std::uint64_t input_tokens = 0;
    std::uint64_t cached_input_tokens = 0;   ///< `input_tokens_details.cached_tokens`
    std::uint64_t output_tokens = 0;
    std::uint64_t reasoning_tokens = 0;      ///< `output_tokens_details.reasoning_tokens`
    std::uint64_t total_tokens = 0;
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
    enum class Kind { Auto, None, Required, Named } kind = Kind::Auto;
    std::string name;  ///< for `Named`

    static ToolChoice auto_() { return {}; }
    static ToolChoice none() { return {Kind::None, {}}; }
    static ToolChoice required() { return {Kind::Required, {}}; }
    static ToolChoice named(std::string n) { return {Kind::Named, std::move(n)}; }
    friend bool operator==(ToolChoice const&, ToolChoice const&) = default;
};

/// Retry rules for model calls (applied before the first stream event reaches the consumer).
struct RetryPolicy {
    int max_retries = 2;                                   ///< retries after the first attempt
    std::chrono::milliseconds initial{500};                ///< first backoff
    std::chrono::milliseconds max_backoff{8000};           ///< backoff cap
    std::chrono::milliseconds max_server_hint{60000};      ///< larger server hints: give up
    double multiplier = 2.0;
    bool jitter = true;                                    ///< multiply by [0.75, 1.0]
    std::vector<int> statuses{408, 409, 429, 500, 502, 503, 504};
    bool retry_all_5xx = true;
};

/// Per-model call settings. Unset optionals are not sent; `merged_with` overlays another set.
struct ModelSettings {
    std::optional<double> temperature, top_p, frequency_penalty, presence_penalty;
    std::optional<ToolChoice> tool_choice;
    std::optional<bool> parallel_tool_calls, store, include_usage;
    std::optional<int> max_tokens;
    std::optional<std::string> reasoning_effort, reasoning_summary;  ///< e.g. "medium", "auto"
    json::object metadata;                                          ///< sent as `metadata`
    json::object extra_body;                                        ///< merged into the request body
    std::vector<std::pair<std::string, std::string>> extra_headers;
    std::optional<RetryPolicy> retry;
    std::optional<std::chrono::milliseconds> idle_timeout, total_timeout;

    /// Field-wise overlay: every field set in `override_` wins; `metadata`/`extra_body` keys are
    /// merged (override wins per key); `extra_headers` are appended.
    CHATKIT_API ModelSettings merged_with(ModelSettings const& override_) const;
};

/// A function tool as the model sees it.
struct ToolSpec {
    std::string name;
    std::string description;
    json::object parameters;  ///< JSON schema of the arguments object
    bool strict = true;
};

/// Structured output: the JSON schema the final message must follow (`text.format` /
/// `response_format`, name `final_output`).
struct OutputSchema {
    std::string name = "final_output";
    json::object schema;
    bool strict = true;
};

/// Everything a model call needs.
struct ModelRequest {
    std::string model;                          ///< model name sent to the provider (may be empty)
    std::optional<std::string> instructions;    ///< system prompt
    std::vector<Item> input;                    ///< conversation so far
    std::vector<ToolSpec> tools;                ///< function tools and handoffs
    ModelSettings settings;
    std::optional<OutputSchema> output_schema;
    std::optional<std::string> previous_response_id;  ///< Responses only
};

/// A completed model call.
struct ModelResponse {
    std::vector<Item> output;
    Usage usage;                               ///< this call's usage (`requests == 1`)
    std::optional<std::string> response_id;
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
    virtual task<ModelResponse> stream(ModelRequest const& request, ModelEventHandler const& on_event) = 0;

    /// The response without observing events (default: `stream` with a no-op handler).
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
