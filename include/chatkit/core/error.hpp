// chatkit-cpp: error codes, the chatkit error category and the exceptions the SDK throws.
#pragma once

#include <chatkit/core/config.hpp>

#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <optional>
#include <string>
#include <type_traits>

namespace chatkit {

/// Error codes of the chatkit category.
///
/// Each code maps to one HTTP status when it reaches a client (see `http_status`).
enum class error {
    /// The request body is not a valid ChatKit request (HTTP 400).
    invalid_request = 1,
    /// A thread, item or attachment does not exist or is not visible to the caller (HTTP 404).
    not_found,
    /// The client went away while a stream was running.
    stream_cancelled,
    /// A hook the application did not implement was called (HTTP 500).
    not_implemented,
    /// An attachment request arrived but no AttachmentStore is configured (HTTP 500).
    no_attachment_store,
    /// A store failed (I/O, corrupt data) (HTTP 500).
    store_failure,
    /// The request body is larger than allowed (HTTP 413).
    payload_too_large,
    /// The caller is not authenticated (HTTP 401).
    unauthorized,
    /// The caller is authenticated but not allowed (HTTP 403).
    forbidden,
    /// Anything else (HTTP 500).
    internal,
    /// The content's MIME type is not accepted (e.g. an attachment type) (HTTP 415).
    unsupported_media_type,
    /// A service the server depends on (a transcription or model API) failed, timed out or could
    /// not be reached (HTTP 502).
    upstream_failure,
    /// The store is busy (locked by another writer, or its connections are exhausted) and the
    /// request may be retried shortly (HTTP 503 with `Retry-After`).
    store_busy,
    /// The store has no room left (disk full, quota exceeded) (HTTP 507).
    store_full,
    /// The request clashes with the current state (an id already used by another object, a run
    /// already active) (HTTP 409).
    conflict,
    /// The caller sent too many requests or exceeded a quota (HTTP 429 with `Retry-After`).
    too_many_requests,

    // Transport (core/transport.hpp): an outgoing HTTP request failed below HTTP, with no usable
    // response. Each answers HTTP 502 (`upstream_error`) with a fixed message if it reaches a client.
    /// The URL is not an absolute http(s) URL.
    transport_invalid_url,
    /// The request cannot be sent as given: a method or header name that is not an HTTP token, or
    /// a header value with a control character (CR, LF, NUL...).
    transport_invalid_request,
    /// The host name could not be resolved.
    transport_resolve_failed,
    /// The connection was refused, the host unreachable, or connecting timed out.
    transport_connect_failed,
    /// The TLS handshake failed (certificate or host-name verification included).
    transport_tls_failed,
    /// The idle timeout or the request's deadline passed after connecting.
    transport_timeout,
    /// The server closed or reset the connection before the response was complete.
    transport_connection_closed,
    /// The server's answer is not valid HTTP/1.1.
    transport_protocol_error,
    /// A 2xx body collected in memory is larger than the request's `max_body`.
    transport_body_too_large,
};

/// The chatkit error category.
CHATKIT_API boost::system::error_category const& chatkit_category() noexcept;

/// Makes an error_code of the chatkit category.
inline boost::system::error_code make_error_code(error e) noexcept {
    return {static_cast<int>(e), chatkit_category()};
}

/// The HTTP status an error code turns into when it reaches a client.
CHATKIT_API unsigned http_status(boost::system::error_code const& ec) noexcept;

/// The short machine-readable code a client sees in `{"error":{"code":...}}` bodies.
CHATKIT_API char const* client_code(boost::system::error_code const& ec) noexcept;

/// An exception carrying a chatkit error code and a message that is safe to show to a client.
///
/// Everything the SDK throws for a protocol-level failure is an `Error`: invalid requests name the
/// offending JSON path in `message()`, not-found errors name the object (`Thread thr_1 not found`).
class CHATKIT_API Error : public boost::system::system_error {
public:
    Error(boost::system::error_code ec, std::string message);
    Error(error e, std::string message) : Error(make_error_code(e), std::move(message)) {}

    /// The client-safe message.
    std::string const& message() const noexcept { return message_; }

private:
    std::string message_;
};

/// The message a client may see for `e`: its own text for request errors (400, 404, 413...), a
/// fixed text for store and internal failures, whose messages may describe the server's insides
/// ("Internal server error", "The store is busy; retry shortly", "The store is full").
CHATKIT_API std::string client_message(Error const& e);

/// Throws `Error(e, message)`.
[[noreturn]] CHATKIT_API void throw_error(error e, std::string message);

/// Raised by `respond()`/`action()` to end a stream with a generic error event
/// (`{"type":"error","code":"stream.error","allow_retry":...}`), as the reference's `StreamError`.
class CHATKIT_API StreamError : public std::exception {
public:
    /// `allow_retry` defaults per code: `stream.error` allows a retry.
    explicit StreamError(std::string code = "stream.error", std::optional<bool> allow_retry = std::nullopt);

    std::string const& code() const noexcept { return code_; }
    bool allow_retry() const noexcept { return allow_retry_; }
    char const* what() const noexcept override { return code_.c_str(); }

private:
    std::string code_;
    bool allow_retry_;
};

/// Raised by `respond()`/`action()` to end a stream with a user-facing message
/// (`{"type":"error","code":"custom","message":...,"allow_retry":...}`), as the reference's
/// `CustomStreamError`. The message is shown verbatim by ChatKit.js.
class CHATKIT_API CustomStreamError : public std::exception {
public:
    explicit CustomStreamError(std::string message, bool allow_retry = false)
        : message_(std::move(message)), allow_retry_(allow_retry) {}

    std::string const& message() const noexcept { return message_; }
    bool allow_retry() const noexcept { return allow_retry_; }
    char const* what() const noexcept override { return message_.c_str(); }

private:
    std::string message_;
    bool allow_retry_;
};

}  // namespace chatkit

template <>
struct boost::system::is_error_code_enum<chatkit::error> : std::true_type {};
