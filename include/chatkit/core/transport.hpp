// chatkit-cpp core: the small HTTP-client interface the upper layers take (models, the transcriber,
// the JWKS fetcher, MCP clients), and its sans-io pieces: headers, URLs, requests and responses.
// The Beast client in http/client (`chatkit::http::HttpClient`) implements it.
#pragma once

#include <chatkit/core/config.hpp>
#include <chatkit/core/error.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatkit {

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

    /// True for `https`.
    bool tls() const noexcept { return scheme == "https"; }
    /// `scheme://host:port`, the key of a connection pool.
    std::string origin() const;
    /// Parses an absolute http(s) URL (no user info); throws `Error(error::transport_invalid_url)`
    /// on anything else.
    static Url parse(std::string_view url);
};

/// One request. `method` is an HTTP method name ("GET", "POST", "DELETE", ...).
struct HttpRequest {
    /// The method, an HTTP token (anything else fails with `transport_invalid_request`).
    std::string method = "GET";
    /// An absolute http(s) URL.
    std::string url;
    /// Request headers; a name or value that cannot be written fails with `transport_invalid_request`.
    Headers headers;
    /// Request body (empty: none).
    std::string body;
    /// Per-request overrides of the transport's settings (unset: the transport's own): resolve +
    /// connect + TLS handshake time, longest silence between received bytes, deadline of the whole
    /// request (connect to last byte).
    ///@{
    std::optional<std::chrono::milliseconds> connect_timeout, idle_timeout, total_timeout;
    ///@}
    /// Per-request override of the largest 2xx body collected in memory (no body handler); a larger
    /// one fails with `transport_body_too_large`.
    std::optional<std::size_t> max_body;
};

/// A response head plus, when it was collected, its body.
struct HttpResponse {
    unsigned status = 0;          ///< the HTTP status code, e.g. 200
    Headers headers;              ///< names lower-cased
    std::string body;             ///< empty when streamed to a body handler
    bool body_truncated = false;  ///< a non-2xx body longer than the transport's error-body cap was cut

    /// True for a 2xx status.
    bool ok() const noexcept { return status >= 200 && status < 300; }
    /// The first header named `name` (case-insensitive).
    std::optional<std::string> header(std::string_view name) const { return find_header(headers, name); }
};

/// Receives a 2xx response body piece by piece; the next read starts when the returned awaitable
/// completes (back-pressure reaches the socket). An exception ends the request, closes the
/// connection and propagates from `Transport::send`.
using BodyHandler = std::function<boost::asio::awaitable<void>(std::string_view)>;
/// Called once with the head of a 2xx response (status and headers, e.g. `Content-Type` or a
/// session header) before its body is streamed to the body handler. It must not block.
using HeadHandler = std::function<void(HttpResponse const&)>;

/// True when `ec` is one of the transport codes of the chatkit category (`error::transport_*`):
/// the request failed below HTTP and no usable response came back.
CHATKIT_API bool is_transport_error(boost::system::error_code const& ec) noexcept;

/// True for the transport failures a caller may retry (`transport_resolve_failed`,
/// `transport_connect_failed`, `transport_tls_failed`, `transport_timeout`,
/// `transport_connection_closed`): an invalid URL, a malformed response or an oversized body will
/// fail the same way again.
CHATKIT_API bool is_retryable_transport_error(boost::system::error_code const& ec) noexcept;

/// The HTTP client the upper layers take: models, the transcriber and the JWKS fetcher hold a
/// `std::shared_ptr<Transport>` in their options and never name the concrete client.
///
/// The default implementation is the Beast HTTPS client of the http layer:
/// `auto transport = std::make_shared<chatkit::http::HttpClient>();` (one per application is
/// enough: its keep-alive pool serves every origin). Tests and applications with their own HTTP
/// stack implement `do_send`.
///
/// @par Contract of `send`
/// A response of any status is a result, never an error: a 2xx with `on_body` set calls `on_head`
/// once, then streams the body to `on_body` and returns the head with an empty body; anything else
/// (non-2xx, or no `on_body`) is collected in memory, 2xx bodies up to `max_body` (else
/// `transport_body_too_large`), non-2xx ones cut at an implementation cap (`body_truncated`).
/// Redirects are not followed. Failures below HTTP throw `chatkit::Error` with a transport code
/// (`is_transport_error`); an exception from a handler propagates unchanged. Whether a response
/// had started when a failure happened is what the caller saw: `on_head` was called or not.
///
/// @par Per-operation cancellation
/// `send` honours the awaiting coroutine's cancellation slot (terminal cancellation): the request
/// is abandoned, its connection closed (so the server sees the client go, and a model provider
/// stops generating), no handler is called after the cancellation is delivered, and
/// `boost::system::system_error(boost::asio::error::operation_aborted)` propagates. A connection
/// is reused only after a complete, successful exchange.
///
/// @par Object lifetimes
/// The request and the handlers are moved into the operation; what the handlers reference must
/// outlive the awaitable `send` returns. The transport must outlive every operation it started:
/// hold it by `std::shared_ptr` for as long as a `send` may run.
///
/// @par Executor and thread safety
/// The operation runs on the executor of the awaiting coroutine, and the handlers are called
/// there. One transport may serve any number of concurrent requests from any threads.
class CHATKIT_API Transport {
public:
    virtual ~Transport();

    /// Sends `request`; see the class comment for the contract, cancellation and lifetimes.
    boost::asio::awaitable<HttpResponse> send(HttpRequest request, BodyHandler on_body = {},
                                              HeadHandler on_head = {}) {
        return do_send(std::move(request), std::move(on_body), std::move(on_head));
    }

    /// GET of a small document (e.g. a JWKS), collected in memory.
    boost::asio::awaitable<HttpResponse> get(std::string url, Headers headers = {});

protected:
    /// Only derived classes construct a transport.
    Transport() = default;
    /// Copyable by derived classes only (no slicing through the base).
    Transport(Transport const&) = default;
    /// Copy assignment, for derived classes only.
    Transport& operator=(Transport const&) = default;

    /// The implementation of `send`, with the same contract.
    virtual boost::asio::awaitable<HttpResponse> do_send(HttpRequest request, BodyHandler on_body,
                                                         HeadHandler on_head) = 0;
};

}  // namespace chatkit
