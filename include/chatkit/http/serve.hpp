// chatkit-cpp HTTP layer: http::serve, which answers one ChatKit request on a Beast stream the
// application already owns (its own accept loop, TLS and routing), plus what a context factory sees.
#pragma once

#include <chatkit/http/options.hpp>
#include <chatkit/server/server.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/verb.hpp>

#include <any>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace chatkit::http {

namespace asio = boost::asio;
namespace beast = boost::beast;

/// A `chatkit::Error` that carries a `WWW-Authenticate` challenge (RFC 9110 §11.6.1): how a context
/// factory, a header check or a route rejects a request with a challenge of its own.
///
/// Any `chatkit::Error` thrown there rejects the request before any work: the client receives
/// `chatkit::http_status(code)` with the JSON body `{"error":{"code":client_code(code),
/// "message":client_message(e)}}` (for `error::unauthorized`, `error::forbidden`,
/// `error::invalid_request`... the message given, so it must be safe to show). A plain
/// `chatkit::Error` with a 401 code answers `WWW-Authenticate: Bearer`; a `ChallengeError` answers
/// with its own `www_authenticate()` value instead, and with none when that is empty.
///
/// @code
/// throw chatkit::http::ChallengeError(chatkit::error::unauthorized, "Missing credentials",
///                                     "Bearer realm=\"chatkit\"");
/// @endcode
class CHATKIT_API ChallengeError : public Error {
public:
    /// @param ec The code (its HTTP status is the answer's: `error::unauthorized` for 401,
    ///        `error::forbidden` for 403...).
    /// @param message Client-safe message (for codes whose client message is their own).
    /// @param www_authenticate Value of the `WWW-Authenticate` header sent with the answer, e.g.
    ///        `Bearer error="invalid_token"`; empty sends none.
    ChallengeError(boost::system::error_code ec, std::string message, std::string www_authenticate);
    /// The same, from a chatkit error code `e` (`error::unauthorized`, `error::forbidden`...).
    ChallengeError(error e, std::string message, std::string www_authenticate)
        : ChallengeError(make_error_code(e), std::move(message), std::move(www_authenticate)) {}

    /// The `WWW-Authenticate` value (may be empty).
    std::string const& www_authenticate() const noexcept { return www_authenticate_; }

private:
    std::string www_authenticate_;
};

/// The machine-readable code chatkit sends with an HTTP status (`invalid_request` for 400,
/// `unauthorized` for 401, `payload_too_large` for 413, `internal` for other 5xx...).
CHATKIT_API char const* status_code_name(unsigned status) noexcept;

/// What a context factory knows about the request it builds a context for.
///
/// @par Object lifetimes
/// Everything referenced here (header fields, target, the parsed request) belongs to the request
/// being served and is valid only during the factory call: copy what the context keeps.
struct CHATKIT_API RequestInfo {
    /// The request method (always POST for the ChatKit endpoint).
    beast::http::verb method = beast::http::verb::unknown;
    /// The request target (path and query), as received.
    std::string_view target;
    /// The peer's address as `ip:port` (`[ip]:port` for IPv6), or empty when the stream has no socket.
    std::string remote_endpoint;
    /// The parsed ChatKit request: `request->type()`, `request->metadata` (the body's top-level
    /// `metadata`: page context, hints from the front end), the parameters.
    ChatKitRequest const* request = nullptr;
    /// The request header fields (null means none).
    beast::http::fields const* fields = nullptr;
    /// What `ServerOptions::header_check` returned for this request (null when no check ran, as
    /// with `http::serve` on an application's own listener, and during the check itself).
    std::any const* admission = nullptr;

    /// The request header fields.
    beast::http::fields const& headers() const noexcept;
    /// The value of the first header field named `name` (case-insensitive), or empty.
    std::string_view header(std::string_view name) const;
    /// @copydoc header(std::string_view) const
    std::string_view header(beast::http::field name) const;
    /// The value of cookie `name` from the `Cookie` header fields (surrounding quotes removed), or
    /// nullopt when absent. Names compare case-sensitively, as browsers send them.
    std::optional<std::string_view> cookie(std::string_view name) const;
    /// The target's path (before any `?`).
    std::string_view path() const noexcept;
};

/// Builds the per-request `Context` from the request. May throw `chatkit::Error` (mapped through
/// `chatkit::http_status`; a `ChallengeError` to choose the `WWW-Authenticate` value) to reject
/// the request before any work; any other exception answers 500 and is logged.
template <class Context>
using ContextFactory = std::function<Context(RequestInfo const&)>;

/// Answers one ChatKit request (the `POST` to the ChatKit endpoint) on `stream`.
///
/// A non-POST method answers 405 (`Allow: POST`); a body that is not a valid ChatKit request
/// answers 400 `{"error":{"code":"invalid_request","message":...}}`; then `factory` builds the
/// context, `server.process()` runs the request and the answer is written: JSON (with the request's
/// keep-alive) or an SSE stream (`text/event-stream; charset=utf-8`, `Cache-Control: no-cache`,
/// `X-Accel-Buffering: no`, chunked, each chunk holding the whole events emitted since the last
/// write; close-delimited for HTTP/1.0).
///
/// While a stream runs, a disconnect watcher reads the connection: EOF or an error means the
/// client left. Under `StreamPolicy::cancel_on_disconnect` (the default) the stream is then
/// cancelled at once (even while `respond()` waits on a timer or a model), so the engine runs
/// `handle_stream_cancelled` and saves pending items; under `continue_on_disconnect` the client is
/// only detached and the run goes on. Bytes that arrive meanwhile are appended to `buffer` for the
/// next request.
///
/// The run endpoints are served here too, recognised by the target's path: `GET .../runs/{thread_id}?after=N`
/// (resume: `ChatKitServer::resume`, an SSE stream with the same headers) and
/// `POST .../runs/{thread_id}/cancel` (`ChatKitServer::cancel_run`, JSON). Route those paths under
/// your ChatKit endpoint to `serve` as well; the factory then sees `RequestInfo::request` as a
/// `threads.get_by_id` request of the thread. A wrong method answers 405, a malformed thread id or
/// `after` 400.
///
/// @param server The ChatKit server.
/// @param stream A connected stream: `beast::tcp_stream`, `beast::ssl_stream<beast::tcp_stream>`
///        (handshake done) or any Beast-compatible `AsyncReadStream` + `AsyncWriteStream`.
/// @param buffer The buffer the request was read with; may hold bytes of the next request.
/// @param request The complete request (its body is the JSON document).
/// @param factory Builds the request's context; see `ContextFactory`.
/// @param options Heartbeat, write timeout, extra response headers.
/// @returns Whether the connection may be used for another request: false after `Connection:
///          close`, HTTP/1.0 streams, failed writes and cancelled or interrupted streams.
///
/// @par Exception safety
/// I/O failures are reported through the result, never thrown. Cancellation of the calling
/// coroutine is: a running stream is cancelled (the engine runs `handle_stream_cancelled`) and
/// `serve` returns false, and at other points Asio may throw `operation_aborted` as usual.
///
/// @par Object lifetimes
/// All arguments must outlive the returned awaitable.
///
/// @par Executor
/// Run it on the connection's strand (or a single-threaded io_context): the stream is read and
/// written from two coroutines at once while a stream runs.
template <class Context, class AsyncStream, class Body, class Allocator>
asio::awaitable<bool> serve(ChatKitServer<Context>& server, AsyncStream& stream, beast::flat_buffer& buffer,
                            beast::http::request<Body, beast::http::basic_fields<Allocator>> const& request,
                            std::type_identity_t<ContextFactory<Context>> const& factory,
                            ServeOptions const& options);

/// `serve` with default `ServeOptions`.
///
/// (A separate overload rather than a defaulted `ServeOptions const& = {}` argument: a defaulted
/// argument would build a temporary inside the caller's `co_await` full-expression, the pattern
/// g++ 12 miscompiles; see docs/http.md.)
template <class Context, class AsyncStream, class Body, class Allocator>
asio::awaitable<bool> serve(ChatKitServer<Context>& server, AsyncStream& stream, beast::flat_buffer& buffer,
                            beast::http::request<Body, beast::http::basic_fields<Allocator>> const& request,
                            std::type_identity_t<ContextFactory<Context>> const& factory);

}  // namespace chatkit::http

#include <chatkit/http/impl/serve.hpp>
