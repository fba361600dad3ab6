// chatkit-cpp: error codes, the chatkit error category and the exceptions the SDK throws.
#pragma once

#include <chatkit/core/config.hpp>

#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace chatkit {

/// Error codes of the chatkit category: the one vocabulary of every layer (protocol, stores,
/// server, auth, agents, HTTP).
///
/// Each code maps to one HTTP status, one client code and one client message when it reaches a
/// client (`http_status`, `client_code`, `client_message`); docs/concepts.md has the whole table.
/// Values are stable: core codes count from 1, auth codes from 100, agents codes from 200,
/// transport codes from 300.
enum class error {
    /// The request body is not a valid ChatKit request (HTTP 400, `invalid_request`).
    invalid_request = 1,
    /// A thread, item or attachment does not exist or is not visible to the caller (HTTP 404,
    /// `not_found`).
    not_found,
    /// The client went away while a stream was running (HTTP 500, `internal`; no client is there
    /// to see it).
    stream_cancelled,
    /// A hook the application did not implement was called (HTTP 500, `not_implemented`).
    not_implemented,
    /// An attachment request arrived but no AttachmentStore is configured (HTTP 500, `internal`).
    no_attachment_store,
    /// A store failed (I/O, corrupt data) (HTTP 500, `internal`, fixed message).
    store_failure,
    /// The request body is larger than allowed (HTTP 413, `payload_too_large`).
    payload_too_large,
    /// The caller is not authenticated (HTTP 401, `unauthorized`, with `WWW-Authenticate: Bearer`
    /// unless a `http::ChallengeError` names another challenge).
    unauthorized,
    /// The caller is authenticated but not allowed (HTTP 403, `forbidden`).
    forbidden,
    /// Anything else (HTTP 500, `internal`, fixed message).
    internal,
    /// The content's MIME type is not accepted (e.g. an attachment type) (HTTP 415,
    /// `unsupported_media_type`).
    unsupported_media_type,
    /// A service the server depends on (a transcription or model API) failed, timed out or could
    /// not be reached (HTTP 502, `upstream_error`).
    upstream_failure,
    /// The store is busy (locked by another writer, or its connections are exhausted) and the
    /// request may be retried shortly (HTTP 503 with `Retry-After`, `unavailable`, fixed message).
    store_busy,
    /// The store has no room left (disk full, quota exceeded) (HTTP 507, `insufficient_storage`,
    /// fixed message).
    store_full,
    /// The request clashes with the current state (an id already used by another object, a run
    /// already active) (HTTP 409, `conflict`).
    conflict,
    /// The caller sent too many requests or exceeded a quota (HTTP 429 with `Retry-After`,
    /// `rate_limited`).
    too_many_requests,

    // --- auth (chatkit/auth, chatkit/http/bearer.hpp) ----------------------------------------
    // Why a token, a key or a key set was rejected: every check of the verification pipeline has
    // its own code, so logs and tests can tell them apart. A client sees a generic answer: 401
    // `unauthorized` with "The access token is invalid" unless said otherwise.

    /// The token is longer than `JwtVerifier::max_token_size`.
    token_too_large = 100,
    /// The token is not three dot-separated segments (JWE, JSON serialization, stray dots).
    malformed_token,
    /// A segment is not strict base64url (padding, `+`, `/`, spaces, non-canonical trailing bits).
    invalid_base64url,
    /// The header or payload is not a UTF-8 JSON object (or nests deeper than 32 levels).
    invalid_json,
    /// The header or payload repeats a member name.
    duplicate_member,
    /// The header has no `alg`, or it is not a string.
    missing_algorithm,
    /// `alg` is not in the verifier's allow-list (`none` never is); also an unknown name given to
    /// `JwtVerifier::allow`.
    algorithm_not_allowed,
    /// The header has a `crit` member (no extension is implemented, so any `crit` is rejected).
    unsupported_critical_header,
    /// No key has the token's `kid` (or the token has no `kid` and no single key fits).
    unknown_key_id,
    /// The selected key cannot verify this algorithm (key type, curve, JWK `alg`, `use` or
    /// `key_ops`).
    key_algorithm_mismatch,
    /// The signature has the wrong length or, for ECDSA, `r` or `s` outside [1, n-1].
    invalid_signature_format,
    /// The signature does not verify.
    invalid_signature,
    /// `exp` is in the past (beyond the leeway). Client message "The access token expired".
    token_expired,
    /// `nbf` is in the future (beyond the leeway).
    token_not_yet_valid,
    /// `iat` is in the future (beyond the leeway).
    token_issued_in_future,
    /// The token has no `exp` and the verifier requires one.
    missing_expiration,
    /// A registered claim has the wrong JSON type (`exp` not a number, `iss` not a string...).
    invalid_claim,
    /// The verifier has an issuer and the token has no `iss`.
    missing_issuer,
    /// `iss` differs from the configured issuer.
    issuer_mismatch,
    /// The verifier has an audience and the token has no `aud`.
    missing_audience,
    /// `aud` does not contain the configured audience.
    audience_mismatch,
    /// `sub` is missing, empty, or not a string (it is the tenant key).
    missing_subject,
    /// A key is below the minimum size (RSA < 2048 bits, HMAC secret shorter than the hash). A
    /// key describes the server's configuration: HTTP 500, `internal`, fixed message. (Verifying a
    /// token whose algorithm needs a longer secret than the key's reports it too; the bearer layer
    /// answers that with its generic 401.)
    weak_key,
    /// A key (JWK, PEM) is malformed: bad members, point not on the curve, public exponent < 3...
    /// (HTTP 500, `internal`, fixed message).
    invalid_key,
    /// A key type or curve this library does not support (Ed448, secp256k1, ...) (HTTP 500,
    /// `internal`, fixed message).
    unsupported_key,
    /// The key set could not be fetched and nothing usable is cached (HTTP 503 with `Retry-After`,
    /// `unavailable`, "Authentication is temporarily unavailable").
    jwks_unavailable,
    /// The document is not a JWK Set (`{"keys":[...]}`) (HTTP 500, `internal`, fixed message).
    invalid_jwks,
    /// The request carries no token (no `Authorization: Bearer`, no auth cookie). Client message
    /// "Authentication required".
    missing_token,
    /// The `Authorization` header (or the auth cookie) is not `Bearer <token>`. Client message
    /// "Malformed Authorization header".
    invalid_authorization_header,
    /// The token has no `kid` and the verifier requires one (`JwtVerifier::require_key_id`).
    missing_key_id,
    /// A cookie-borne credential on a state-changing request without an allowed `Origin` or with
    /// a Content-Type a cross-site form can send (CSRF defence) (HTTP 403, `forbidden`).
    cross_site_request,
    /// The request carries two `Authorization` headers or two auth cookies (HTTP 400,
    /// `invalid_request`).
    ambiguous_credentials,

    // --- agents (chatkit/agents) --------------------------------------------------------------
    // The codes of the agent layer's exceptions (chatkit/agents/errors.hpp). Their messages may
    // quote a model provider, so a client that ever sees one gets HTTP 500, `internal` and
    // "Internal server error"; inside a stream they end it with a generic error event.

    /// `agents::ModelHttpError`: a model endpoint answered with a non-2xx status or could not be
    /// reached.
    model_request_failed = 200,
    /// `agents::ModelStreamError`: the model stream ended with an error (`error` event,
    /// `response.failed`, `response.incomplete`, an error payload).
    model_stream_failed,
    /// `agents::ModelProtocolError`: the model endpoint sent what is not valid SSE/JSON, or ended
    /// prematurely.
    model_protocol_violation,
    /// `agents::MaxTurnsExceeded`: the run needed more model calls than `RunOptions::max_turns`.
    max_turns_exceeded,
    /// `agents::ModelBehaviorError`: the model did something the run cannot accept (an unknown
    /// tool, invalid structured output).
    unexpected_model_behavior,
    /// `agents::UserError`: the application configured something wrongly (no model, no provider
    /// for a model name...).
    agent_misconfigured,
    /// `agents::InputGuardrailTripwire`: an input guardrail's tripwire fired.
    input_guardrail_triggered,
    /// `agents::OutputGuardrailTripwire`: an output guardrail's tripwire fired.
    output_guardrail_triggered,
    /// `agents::ToolArgumentsError`: a tool call's arguments are not what the tool reads.
    invalid_tool_arguments,
    /// `agents::McpError` (`Kind::config`): an MCP server's options or the header provider's
    /// headers are invalid.
    mcp_misconfigured,
    /// `agents::McpError` (`Kind::transport`): the MCP server could not be reached or the
    /// connection failed.
    mcp_unreachable,
    /// `agents::McpError` (`Kind::timeout`): an MCP request took longer than its timeout.
    mcp_timeout,
    /// `agents::McpError` (`Kind::http`): the MCP server answered with an HTTP error status.
    mcp_http_error,
    /// `agents::McpError` (`Kind::protocol`): the MCP server's answer is not valid MCP (JSON-RPC,
    /// SSE, content type, protocol version, sizes).
    mcp_protocol_violation,
    /// `agents::McpError` (`Kind::rpc`): the MCP server answered with a JSON-RPC error.
    mcp_rpc_error,
    /// `agents::McpError` (`Kind::tool`): the MCP tool ran and reported an error (`isError`).
    mcp_tool_error,

    // --- transport (chatkit/core/transport.hpp) -----------------------------------------------
    // Transport (core/transport.hpp): an outgoing HTTP request failed below HTTP, with no usable
    // response. Each answers HTTP 502 (`upstream_error`) with a fixed message if it reaches a client.
    /// The URL is not an absolute http(s) URL.
    transport_invalid_url = 300,
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

/// The chatkit error category (name "chatkit"): every code of `chatkit::error`.
CHATKIT_API boost::system::error_category const& chatkit_category() noexcept;

/// Makes an error_code of the chatkit category.
inline boost::system::error_code make_error_code(error e) noexcept {
    return {static_cast<int>(e), chatkit_category()};
}

/// The HTTP status an error code turns into when it reaches a client (500 for codes of other
/// categories).
CHATKIT_API unsigned http_status(boost::system::error_code const& ec) noexcept;

/// The short machine-readable code a client sees in `{"error":{"code":...}}` bodies (`internal`
/// for codes of other categories).
CHATKIT_API char const* client_code(boost::system::error_code const& ec) noexcept;

/// The message a client may see for an error with code `ec` and message `message`: `message`
/// itself for request errors (400, 404, 409, 413...), a fixed text for codes whose messages may
/// describe the server's insides ("Internal server error" for store, internal, key and agents
/// codes; "The store is busy; retry shortly"; "The store is full") or name the failing
/// authentication check ("The access token is invalid", "The access token expired"...).
CHATKIT_API std::string client_message(boost::system::error_code const& ec, std::string_view message);

/// The exception every layer of chatkit throws: a code of the chatkit category and a message.
///
/// Everything the SDK throws for a failure a caller may handle is an `Error` (or one of its thin
/// subclasses that carry extra data: `agents::ModelHttpError`, the guardrail tripwires,
/// `http::ChallengeError`...): invalid requests name the offending JSON path in `message()`,
/// not-found errors name the object (`Thread thr_1 not found`). Misuse of an API (calling
/// `finish()` twice, an empty issuer) stays a `std::logic_error`.
///
/// Where a non-throwing form is offered it is the same function with a trailing
/// `boost::system::error_code& ec` (docs/concepts.md, "Errors").
class CHATKIT_API Error : public boost::system::system_error {
public:
    /// An error with `ec` and `message`; an empty message becomes the code's own text.
    Error(boost::system::error_code ec, std::string message);
    /// An error with `e` and `message`.
    Error(error e, std::string message) : Error(make_error_code(e), std::move(message)) {}
    /// An error with `ec` and the code's own text as message (`ec.message()`).
    explicit Error(boost::system::error_code ec) : Error(ec, std::string()) {}
    /// An error with `e` and the code's own text as message.
    explicit Error(error e) : Error(make_error_code(e), std::string()) {}

    /// The message given at construction. A client sees `client_message(*this)`: this message for
    /// request errors (400, 404...), a fixed text for codes whose message may describe the
    /// server's insides or an authentication check.
    std::string const& message() const noexcept { return message_; }
    /// The message (not Boost's `message: category text [category:value]` composite).
    char const* what() const noexcept override { return message_.c_str(); }

private:
    std::string message_;
};

/// The message a client may see for `e`: `client_message(e.code(), e.message())`.
CHATKIT_API std::string client_message(Error const& e);

/// Throws `Error(e, message)`.
[[noreturn]] CHATKIT_API void throw_error(error e, std::string message);

/// Throws `Error(ec)` when `ec` is set: the throwing form of a function built on its non-throwing
/// form (`T f(args) { error_code ec; T t = f(args, ec); throw_if(ec); return t; }`).
CHATKIT_API void throw_if(boost::system::error_code const& ec);

/// Raised by `respond()`/`action()` to end a stream with a generic error event
/// (`{"type":"error","code":"stream.error","allow_retry":...}`), as the reference's `StreamError`.
class CHATKIT_API StreamError : public std::exception {
public:
    /// `allow_retry` defaults per code: `stream.error` allows a retry.
    explicit StreamError(std::string code = "stream.error", std::optional<bool> allow_retry = std::nullopt);

    /// The `code` of the error event, e.g. `stream.error`.
    std::string const& code() const noexcept { return code_; }
    /// The event's `allow_retry`: whether ChatKit.js offers the user a retry.
    bool allow_retry() const noexcept { return allow_retry_; }
    /// The code, for logs.
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
    /// `message` is shown to the user as is; no retry is offered unless `allow_retry`.
    explicit CustomStreamError(std::string message, bool allow_retry = false)
        : message_(std::move(message)), allow_retry_(allow_retry) {}

    /// The user-facing message of the error event.
    std::string const& message() const noexcept { return message_; }
    /// The event's `allow_retry`: whether ChatKit.js offers the user a retry.
    bool allow_retry() const noexcept { return allow_retry_; }
    /// The message, for logs.
    char const* what() const noexcept override { return message_.c_str(); }

private:
    std::string message_;
    bool allow_retry_;
};

}  // namespace chatkit

/// \cond
// Lets a `chatkit::error` convert to `boost::system::error_code` (in `chatkit::category()`).
// Hidden from Doxygen, which cannot place a specialization in a namespace it has not seen.
template <>
struct boost::system::is_error_code_enum<chatkit::error> : std::true_type {};
/// \endcond
