// chatkit-cpp (internal): what the Responses and Chat Completions models share: HTTP error
// parsing, the retry rules of AGENTS.md §3.3 and the streaming driver.
#pragma once

#include <chatkit/agents/openai.hpp>
#include <chatkit/core/sse.hpp>

#include <functional>
#include <memory>

namespace chatkit::agents::detail {

/// The server's delay hint: `retry-after-ms`, then `retry-after` (seconds or an HTTP date).
std::optional<std::chrono::milliseconds> retry_hint(Headers const& headers);

/// The wait before retry number `attempt` (0-based), or nullopt when the hint exceeds the cap.
std::optional<std::chrono::milliseconds> retry_delay(RetryPolicy const& policy, int attempt,
                                                     std::optional<std::chrono::milliseconds> hint);

/// A `ModelHttpError` from a non-2xx response (error body per §3.4 rule 1, retry flags per §3.3).
ModelHttpError http_error(HttpResponse const& response, RetryPolicy const& policy);

/// Reads an error JSON object (`{"message","type","code","param"}`, integer codes tolerated).
ModelStreamError stream_error(json::value const& error, bool after_output);

/// One attempt's consumer of the SSE stream.
class StreamConsumer {
public:
    explicit StreamConsumer(ModelEventHandler const& on_event) : on_event_(on_event) {}
    virtual ~StreamConsumer() = default;
    virtual task<void> on_sse(SseEvent const& event) = 0;
    /// Called at the end of the body; returns the response or throws.
    virtual task<ModelResponse> finish() = 0;
    bool delivered() const noexcept { return delivered_; }

protected:
    /// Hands an event to the consumer; `response.created`/`in_progress`/`queued` are held back
    /// until the first other event so that a failure before any output can still be retried.
    task<void> emit(ModelStreamEvent event);
    task<void> flush_held();

private:
    ModelEventHandler const& on_event_;
    std::vector<ModelStreamEvent> held_;
    bool delivered_ = false;
};

/// Sends `request` with the retry rules, feeding each attempt's body to a fresh consumer.
task<ModelResponse> stream_with_retries(OpenAIEndpoint const& endpoint, Transport& transport,
                                        RetryPolicy const& policy, HttpRequest const& request,
                                        std::function<std::unique_ptr<StreamConsumer>()> const& make_consumer);

/// Sends a request whose answer is collected in memory (e.g. an audio transcription) with the same
/// retry rules as the models (HTTP statuses, retry hints, transport failures) and returns the 2xx
/// response. Throws `ModelHttpError` for a non-2xx answer or a transport failure (status 0, `code`
/// `timeout`, `connection_error`...) once no retry is left.
task<HttpResponse> send_with_retries(OpenAIEndpoint const& endpoint, Transport& transport,
                                      RetryPolicy const& policy, HttpRequest const& request);

/// The POST request every model sends (headers of §3.1, per-request timeouts).
HttpRequest make_request(OpenAIEndpoint const& endpoint, std::string path, json::object const& body,
                              ModelSettings const& settings);

/// Parses JSON text of an SSE payload; `ModelProtocolError` when it is not a JSON object.
json::object parse_payload(std::string_view data);

/// The value of environment variable `name`, empty when unset.
std::string env(char const* name);

/// Fills `endpoint.api_key` from `OPENAI_API_KEY` and `endpoint.base_url` from `OPENAI_BASE_URL`
/// (trailing slashes dropped; `UserError` when it is not an http(s) URL), leaving unset ones alone.
void endpoint_from_env(OpenAIEndpoint& endpoint);

/// Throws `UserError` naming `who` when `endpoint.transport` is not set.
void require_transport(OpenAIEndpoint const& endpoint, char const* who);

/// A `ModelHttpError` (status 0) for a transport failure (`is_transport_error(e.code())`), retryable
/// when `is_retryable_transport_error` says so; its `code` says what failed (`timeout`,
/// `connection_error`, `tls_error`...).
ModelHttpError transport_failure(chatkit::Error const& e);

}  // namespace chatkit::agents::detail
