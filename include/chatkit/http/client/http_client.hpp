// chatkit-cpp: a small HTTP(S)/1.1 client for upstream services (LLM providers, JWKS endpoints).
#pragma once

#include <chatkit/core/config.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatkit::net {

/// Header list as sent or received; received names are lower-cased.
using Headers = std::vector<std::pair<std::string, std::string>>;

/// Case-insensitive lookup of the first header named `name`.
CHATKIT_API std::optional<std::string> find_header(Headers const& headers, std::string_view name);

/// An absolute `http://` or `https://` URL split into the parts a client needs.
struct CHATKIT_API Url {
    std::string scheme;  ///< "http" or "https"
    std::string host;    ///< host name or IP literal (IPv6 without brackets)
    std::string port;    ///< explicit or the scheme default ("80"/"443")
    std::string target;  ///< path + query, at least "/"

    bool tls() const noexcept { return scheme == "https"; }
    /// `scheme://host:port`, the key of the connection pool.
    std::string origin() const;
    /// Parses an absolute URL; throws `TransportError(invalid_url)` on anything else.
    static Url parse(std::string_view url);
};

/// Client settings. Defaults suit LLM streaming (reasoning models may stay silent for minutes).
struct HttpClientOptions {
    /// Resolve + TCP connect + TLS handshake, per attempt.
    std::chrono::milliseconds connect_timeout{10'000};
    /// Longest silence between received bytes. Re-armed on every read; paused while the body
    /// handler is being awaited (a slow consumer never trips it).
    std::chrono::milliseconds idle_timeout{300'000};
    /// Optional deadline for a whole request (connect to last byte), time in the handler included.
    std::optional<std::chrono::milliseconds> total_timeout;
    /// Extra trust anchors (PEM file) for `https://`, in addition to the system store.
    std::optional<std::string> ca_file;
    /// Load the system trust store (`set_default_verify_paths`).
    bool use_default_verify_paths = true;
    /// Bodies of non-2xx responses are read fully but kept only up to this size.
    std::size_t max_error_body = 1024 * 1024;
    /// Bodies collected in memory (no body handler) larger than this fail with `body_too_large`.
    std::size_t max_body = 8 * 1024 * 1024;
    /// Idle keep-alive connections kept per origin (0 disables pooling).
    std::size_t max_idle_per_origin = 4;
    /// Idle connections older than this are not reused.
    std::chrono::milliseconds pool_idle_ttl{30'000};
    /// Sent as `User-Agent` unless the request sets one.
    std::string user_agent = "chatkit-cpp/" + std::to_string(CHATKIT_VERSION_MAJOR) + "." +
                             std::to_string(CHATKIT_VERSION_MINOR) + "." + std::to_string(CHATKIT_VERSION_PATCH);
};

/// One request. `method` is an HTTP method name ("GET", "POST", ...).
struct HttpRequest {
    std::string method = "GET";
    std::string url;
    Headers headers;
    std::string body;
    /// Per-request overrides of the client's idle timeout and total deadline.
    std::optional<std::chrono::milliseconds> idle_timeout, total_timeout;
};

/// A response head plus, when it was collected, its body.
struct HttpResponse {
    unsigned status = 0;
    Headers headers;       ///< names lower-cased
    std::string body;      ///< empty when streamed to a body handler
    bool body_truncated = false;  ///< a non-2xx body longer than `max_error_body` was cut

    bool ok() const noexcept { return status >= 200 && status < 300; }
    std::optional<std::string> header(std::string_view name) const { return find_header(headers, name); }
};

/// Why a request failed below HTTP (no usable response).
enum class TransportErrorKind {
    invalid_url,
    resolve,            ///< DNS failure
    connect,            ///< refused, unreachable, connect timeout
    tls,                ///< handshake or certificate/host-name verification failure
    timeout,            ///< idle or total deadline exceeded after connecting
    connection_closed,  ///< the peer closed or reset the connection
    protocol,           ///< malformed HTTP
    body_too_large,
};

/// A transport failure. `response_started()` tells whether a response head had been received,
/// which matters for retries.
class CHATKIT_API TransportError : public std::runtime_error {
public:
    TransportError(TransportErrorKind kind, std::string const& message, bool response_started = false)
        : std::runtime_error(message), kind_(kind), response_started_(response_started) {}
    TransportErrorKind kind() const noexcept { return kind_; }
    bool response_started() const noexcept { return response_started_; }

private:
    TransportErrorKind kind_;
    bool response_started_;
};

/// Receives a 2xx response body piece by piece; the next read starts when the returned awaitable
/// completes (back-pressure reaches the socket). An exception ends the request and closes the
/// connection.
using BodyHandler = std::function<boost::asio::awaitable<void>(std::string_view)>;
/// Called once with the head of a 2xx response before its body is streamed.
using HeadHandler = std::function<void(HttpResponse const&)>;

/// An HTTP/1.1 client with a keep-alive pool per origin.
///
/// `http://` uses plain TCP; `https://` uses TLS with certificate verification against the system
/// store (plus `ca_file`), host-name verification and SNI. Responses are never decompressed and
/// redirects are not followed.
///
/// @par Per-operation cancellation
/// `send`/`get` honour the awaiting coroutine's cancellation slot (terminal cancellation): the
/// upstream connection is closed (so a provider stops generating) and
/// `boost::system::system_error(operation_aborted)` propagates. A connection is returned to the
/// pool only after a complete, successful exchange.
///
/// @par Executor
/// Sockets are created on the executor of the awaiting coroutine; a pooled connection is later
/// reused by whichever coroutine sends to the same origin next.
///
/// @par Thread safety
/// Copies share one pool (guarded by a mutex); a connection is used by one request at a time.
///
/// Usage: `HttpClient client; auto r = co_await client.get("https://example.com/jwks.json");`
class CHATKIT_API HttpClient {
public:
    explicit HttpClient(HttpClientOptions options = {});

    /// Sends `request`. For a 2xx response with `on_body` set, `on_head` then `on_body` see the body
    /// as it arrives and the returned response has an empty body; otherwise the body is collected
    /// (non-2xx bodies capped at `max_error_body`, others failing past `max_body`).
    /// Throws `TransportError` on transport failures.
    boost::asio::awaitable<HttpResponse> send(HttpRequest request, BodyHandler on_body = {},
                                              HeadHandler on_head = {});

    /// GET of a small document (e.g. a JWKS), collected in memory.
    boost::asio::awaitable<HttpResponse> get(std::string url, Headers headers = {});

    HttpClientOptions const& options() const noexcept;
    /// New connections opened so far (pool reuse does not count).
    std::size_t connections_opened() const noexcept;
    /// Connections currently idle in the pool.
    std::size_t idle_connections() const noexcept;
    /// Closes every idle pooled connection.
    void close_idle();

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace chatkit::net
