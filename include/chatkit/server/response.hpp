// chatkit-cpp: Response, the result of ChatKitServer::process().
#pragma once

#include <chatkit/server/event_sink.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace chatkit {

namespace detail {
class stream_job;
}

/// The answer to one ChatKit request: a JSON document with a status, or an SSE stream.
///
/// Non-streaming answers (and every failure detected before a stream starts) have a status and a
/// JSON body: `200` with the result, or `400`/`404`/`500`... with `{"error":{"code","message"}}`.
/// Streaming answers have status 200 and must be run once with `stream()` after the transport
/// committed its `text/event-stream` headers.
class CHATKIT_API Response {
public:
    /// An empty `200` answer (a placeholder to assign a real answer to).
    Response() noexcept;
    /// A JSON answer.
    Response(unsigned status, std::string json_body);
    /// A streaming answer running `job`.
    explicit Response(std::unique_ptr<detail::stream_job> job);
    /// Moves the answer (the stream, if any, goes with it: the source is no longer streaming).
    Response(Response&&) noexcept;
    /// Replaces this answer by moving; a stream this one held and had not run is dropped unrun.
    Response& operator=(Response&&) noexcept;
    ~Response();

    /// True when the answer is an SSE stream.
    bool is_streaming() const noexcept { return job_ != nullptr; }
    /// The HTTP status (200 for streams).
    unsigned status() const noexcept { return status_; }
    /// The JSON body of a non-streaming answer (empty for streams).
    std::string const& body() const noexcept { return body_; }
    /// `application/json` or `text/event-stream`.
    char const* content_type() const noexcept {
        return is_streaming() ? "text/event-stream" : "application/json";
    }

    /// How long the client should wait before retrying (the `Retry-After` of a 429 or 503 answer);
    /// zero when the answer names no delay.
    std::chrono::seconds retry_after() const noexcept { return retry_after_; }
    /// Sets retry_after().
    void set_retry_after(std::chrono::seconds delay) noexcept { retry_after_ = delay; }

    /// Runs the stream, writing each SSE frame through `writer`. Call at most once.
    ///
    /// Never throws for protocol failures (they become `error` events). A client disconnect
    /// (a failing write, or cancellation of this operation through its cancellation slot, e.g.
    /// by racing it against a disconnect watcher with `||`) runs `handle_stream_cancelled` and
    /// completes normally.
    ///
    /// @par Object lifetimes
    /// `writer` and this Response must outlive the returned awaitable.
    asio::awaitable<void> stream(StreamWriter& writer);

    /// Runs the stream and returns every frame as one string (tests, simple transports).
    asio::awaitable<std::string> collect();

private:
    unsigned status_ = 200;
    std::string body_;
    std::chrono::seconds retry_after_{0};
    std::unique_ptr<detail::stream_job> job_;
};

/// The JSON error body chatkit answers with: `{"error":{"code":...,"message":...}}`.
CHATKIT_API std::string error_body(std::string_view code, std::string_view message);

}  // namespace chatkit
