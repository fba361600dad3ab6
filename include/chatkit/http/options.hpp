// chatkit-cpp HTTP layer: the options of http::serve (ServeOptions) and of the bundled listener
// http::Server (ServerOptions). Every field is described in docs/http.md.
#pragma once

#include <chatkit/core/config.hpp>
#include <chatkit/http/route.hpp>

#include <boost/beast/http/fields.hpp>

#include <any>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace chatkit::http {

namespace beast = boost::beast;

struct RequestInfo;

/// A check of a request's header, run by `http::Server` before the body is read (see
/// `ServerOptions::header_check`). `RequestInfo::request` is null. Throw `chatkit::Error` (or a
/// `ChallengeError`, to choose the `WWW-Authenticate` value) to refuse the request: the answer is sent at
/// once and the connection closed, without reading the body. The value returned (verified claims, say; an
/// empty `std::any` is fine) is handed to the context factory and the route handlers of the same request as
/// `RequestInfo::admission`, so they need not repeat the work.
///
/// It runs on the connection's strand, may be called concurrently for different connections, and
/// must not block (it delays every request on its thread).
using HeaderCheck = std::function<std::any(RequestInfo const&)>;

/// Options of one `http::serve` call (one ChatKit request on a stream the application owns).
struct ServeOptions {
    /// When set, a `: keepalive\n\n` SSE comment is written whenever a stream has been silent this
    /// long. Off by default: the Python reference sends no heartbeats and ChatKit.js's SSE parser is
    /// not published, so comments are an opt-in for deployments behind proxies with idle timeouts
    /// (SSE parsers are required to ignore lines starting with `:`). Heartbeat writes never
    /// interleave with event writes, and a failed heartbeat write cancels the stream like a disconnect.
    std::optional<std::chrono::milliseconds> heartbeat;

    /// Longest time one response write (a JSON response, the SSE header, one SSE frame) may take
    /// before the connection is closed (a client that stopped reading). Applied through
    /// `beast::basic_stream` timeouts, so it has no effect on streams whose lowest layer is not a
    /// `basic_stream`. `std::nullopt` disables it.
    std::optional<std::chrono::milliseconds> write_timeout = std::chrono::seconds(30);

    /// While a stream runs, the disconnect watcher reads the connection; bytes that arrive (a
    /// pipelined next request) are kept in the caller's buffer, up to this many. Beyond it the
    /// watcher stops reading and disconnects are only noticed by failing writes.
    std::size_t max_buffered_bytes = 64 * 1024;

    /// Extra header fields set on every response `serve` writes (CORS headers, `Server`, ...).
    beast::http::fields response_headers;
};

/// TLS settings of the bundled listener (PEM files, loaded by `Server::start()`).
struct TlsOptions {
    /// The server certificate followed by any intermediate certificates (PEM).
    std::filesystem::path certificate_chain_file;
    /// The private key of the certificate (PEM, unencrypted).
    std::filesystem::path private_key_file;
};

/// Cross-origin resource sharing of the bundled listener. Nothing is allowed by default.
struct CorsOptions {
    /// Origins (`https://app.example.com`, compared byte for byte with the `Origin` header) that may
    /// call the server from a browser. `"*"` allows every origin (then credentials are never allowed).
    std::vector<std::string> allowed_origins;
    /// `Access-Control-Allow-Methods` of preflight answers.
    std::string allowed_methods = "POST, GET, OPTIONS";
    /// `Access-Control-Allow-Headers` of preflight answers: add the headers your custom `fetch` sends.
    std::string allowed_headers = "Authorization, Content-Type";
    /// `Access-Control-Max-Age` of preflight answers.
    std::chrono::seconds max_age{600};
    /// Sends `Access-Control-Allow-Credentials: true` (cookies) to allowed origins.
    bool allow_credentials = false;
};

/// Options of the bundled listener `http::Server`.
struct ServerOptions {
    /// Address or host name to bind (`0.0.0.0` or `::` for every interface).
    std::string host = "127.0.0.1";
    /// Port to bind; 0 binds an ephemeral port (read it back with `Server::port()`).
    std::uint16_t port = 8000;
    /// Number of threads running the server's io_context (connections run on their own strands).
    unsigned threads = 1;
    /// When set, every connection is TLS.
    std::optional<TlsOptions> tls;

    /// Path of the ChatKit endpoint (POST only).
    std::string chatkit_path = "/chatkit";
    /// Path of the health check (GET/HEAD answer `200 ok`).
    std::string health_path = "/healthz";
    /// When set, other GET/HEAD requests are answered with files under this directory.
    std::optional<std::filesystem::path> static_dir;
    /// File served for a directory (`/` included).
    std::string index_file = "index.html";
    /// Browser cross-origin access.
    CorsOptions cors;

    /// Largest request header (request line included); larger answers 431.
    std::uint32_t header_limit = 8 * 1024;
    /// Largest request body; larger answers 413.
    std::uint64_t body_limit = 1024 * 1024;
    /// Time allowed to receive a request header: the first request's counts from the accept (the
    /// TLS handshake and the wait for its first byte included), a later request's from its first
    /// byte. Slower clients get 408 and are closed (slowloris); one that sent nothing is closed.
    std::chrono::milliseconds header_timeout = std::chrono::seconds(10);
    /// Time allowed to receive a request body; slower clients get 408 and are closed.
    std::chrono::milliseconds body_timeout = std::chrono::seconds(30);
    /// A kept-alive connection with no new request for this long is closed.
    std::chrono::milliseconds idle_timeout = std::chrono::seconds(75);
    /// Time allowed for a TLS handshake.
    std::chrono::milliseconds handshake_timeout = std::chrono::seconds(10);
    /// Connections served at once. When a new connection arrives at the cap, the connection idle the
    /// longest (kept alive between requests, or open without having sent a request) is closed to
    /// make room; when none is idle, the new one is answered 503 (`Retry-After: 1`) and closed.
    std::size_t max_connections = 512;
    /// Request bytes all connections together may hold in memory while bodies are read and their
    /// requests run (a body counts from its `Content-Length`, or its route's body limit when
    /// chunked, until its request is answered). A request that does not fit is answered 503
    /// (`Retry-After: 1`) before its body is read, and the connection is closed.
    std::uint64_t body_budget = 64 * 1024 * 1024;
    /// Runs on the header of every request to the ChatKit endpoint and to the routes (CORS
    /// preflights excepted), before the body is read: an authentication check here means an
    /// unauthenticated client can never make the server buffer a body. Unset: no check.
    HeaderCheck header_check;
    /// How long `stop()` lets running requests (streams) finish before cancelling them.
    std::chrono::milliseconds shutdown_grace = std::chrono::seconds(5);
    /// When true, `Server::run()` (and `run_until_signal()`) prints `listening on <url>` (the URL
    /// with the bound port) on stdout as one line and flushes it before serving: the first line of
    /// every example server, from which scripts and tests that start a server on port 0 learn where
    /// it is. Turn it off when the program that embeds the server owns its stdout.
    bool announce = true;

    /// Options of the ChatKit endpoint (heartbeat, write timeout...).
    ServeOptions serve;

    /// Application routes (attachment uploads and previews...), matched in order before the ChatKit
    /// endpoint; see `Route`. `Server::add_route` appends one.
    std::vector<Route> routes;
};

}  // namespace chatkit::http
