// chatkit-cpp HTTP layer: HttpClient, the HTTP(S)/1.1 client on Beast + OpenSSL that implements
// core/transport.hpp for upstream services (LLM providers, transcription, JWKS endpoints, MCP servers).
#pragma once

#include <chatkit/core/config.hpp>
#include <chatkit/core/transport.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

namespace chatkit::http {

/// Client settings. Defaults suit LLM streaming (reasoning models may stay silent for minutes).
struct HttpClientOptions {
    /// Resolve + TCP connect + TLS handshake, per attempt (`HttpRequest::connect_timeout` overrides it).
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
    /// 2xx bodies collected in memory (no body handler) larger than this fail with
    /// `transport_body_too_large` (`HttpRequest::max_body` overrides it).
    std::size_t max_body = 8 * 1024 * 1024;
    /// Idle keep-alive connections kept per origin (0 disables pooling).
    std::size_t max_idle_per_origin = 4;
    /// Idle connections older than this are not reused.
    std::chrono::milliseconds pool_idle_ttl{30'000};
    /// Sent as `User-Agent` unless the request sets one.
    std::string user_agent = "chatkit-cpp/" + std::to_string(CHATKIT_VERSION_MAJOR) + "." +
                             std::to_string(CHATKIT_VERSION_MINOR) + "." + std::to_string(CHATKIT_VERSION_PATCH);
};

/// An HTTP/1.1 client with a keep-alive pool per origin: the default `chatkit::Transport`.
///
/// Give it to the upper layers as a shared pointer, once per application:
/// `auto transport = std::make_shared<chatkit::http::HttpClient>();` then set it as
/// `OpenAIEndpoint::transport`, `JwksOptions::transport`... (or pass it to `from_env(transport)`).
///
/// `http://` uses plain TCP; `https://` uses TLS with certificate verification against the system
/// store (plus `ca_file`), host-name verification and SNI. Responses are never decompressed and
/// redirects are not followed. Transport failures throw `chatkit::Error` with an
/// `error::transport_*` code; the rest of the contract is `Transport`'s.
///
/// @par Per-operation cancellation
/// `send`/`get` honour the awaiting coroutine's cancellation slot (terminal cancellation): the
/// upstream connection is closed (so a provider stops generating) and
/// `boost::system::system_error(operation_aborted)` propagates. A connection is returned to the
/// pool only after a complete, successful exchange.
///
/// @par Executor
/// Sockets are created on the executor of the awaiting coroutine; a pooled connection is later
/// reused by whichever coroutine sends to the same origin next, on an executor of the same
/// execution context (idle connections live in a service of that context and close with it).
///
/// @par Thread safety
/// Copies share one pool (guarded by a mutex); a connection is used by one request at a time.
///
/// Usage: `HttpClient client; auto r = co_await client.get("https://example.com/jwks.json");`
class CHATKIT_API HttpClient : public Transport {
public:
    /// Throws `chatkit::Error(error::transport_tls_failed)` when `options.ca_file` cannot be loaded.
    explicit HttpClient(HttpClientOptions options = {});
    /// The copy shares this client's options and connection pool.
    HttpClient(HttpClient const&) = default;
    /// Makes this client share the other's options and pool.
    HttpClient& operator=(HttpClient const&) = default;
    ~HttpClient() override;

    /// The options it was built with.
    HttpClientOptions const& options() const noexcept;
    /// New connections opened so far (pool reuse does not count).
    std::size_t connections_opened() const noexcept;
    /// Connections currently idle in the pool.
    std::size_t idle_connections() const noexcept;
    /// Closes every idle pooled connection.
    void close_idle();

protected:
    /// Sends `request` (see `Transport::send`): for a 2xx response with `on_body` set, `on_head`
    /// then `on_body` see the body as it arrives and the returned response has an empty body;
    /// otherwise the body is collected (non-2xx bodies capped at `max_error_body`, others failing
    /// past `max_body`).
    boost::asio::awaitable<HttpResponse> do_send(HttpRequest request, BodyHandler on_body,
                                                 HeadHandler on_head) override;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace chatkit::http
