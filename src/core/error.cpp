#include <chatkit/core/error.hpp>

namespace chatkit {
namespace {

// boost::system::error_category has a protected non-virtual destructor by design (categories are
// static singletons never deleted through a base pointer).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class category final : public boost::system::error_category {
public:
    char const* name() const noexcept override { return "chatkit"; }

    std::string message(int ev) const override {
        switch (static_cast<error>(ev)) {
            case error::invalid_request: return "invalid request";
            case error::not_found: return "not found";
            case error::stream_cancelled: return "stream cancelled by the client";
            case error::not_implemented: return "not implemented";
            case error::no_attachment_store: return "no attachment store configured";
            case error::store_failure: return "store failure";
            case error::payload_too_large: return "payload too large";
            case error::unauthorized: return "unauthorized";
            case error::forbidden: return "forbidden";
            case error::internal: return "internal error";
            case error::unsupported_media_type: return "unsupported media type";
            case error::upstream_failure: return "upstream service failure";
            case error::store_busy: return "store busy";
            case error::store_full: return "store full";
            case error::conflict: return "conflict";
            case error::too_many_requests: return "too many requests";
            // auth
            case error::token_too_large: return "token too large";
            case error::malformed_token: return "token is not three dot-separated segments";
            case error::invalid_base64url: return "segment is not strict base64url";
            case error::invalid_json: return "header or payload is not a JSON object";
            case error::duplicate_member: return "duplicate JSON member name";
            case error::missing_algorithm: return "missing or non-string alg";
            case error::algorithm_not_allowed: return "algorithm not allowed";
            case error::unsupported_critical_header: return "unsupported crit header";
            case error::unknown_key_id: return "no key for this kid";
            case error::key_algorithm_mismatch: return "key cannot be used with this algorithm";
            case error::invalid_signature_format: return "malformed signature";
            case error::invalid_signature: return "signature verification failed";
            case error::token_expired: return "token expired";
            case error::token_not_yet_valid: return "token not yet valid";
            case error::token_issued_in_future: return "token issued in the future";
            case error::missing_expiration: return "token has no exp";
            case error::invalid_claim: return "registered claim has the wrong type";
            case error::missing_issuer: return "token has no iss";
            case error::issuer_mismatch: return "wrong issuer";
            case error::missing_audience: return "token has no aud";
            case error::audience_mismatch: return "wrong audience";
            case error::missing_subject: return "missing or invalid sub";
            case error::weak_key: return "key below the minimum size";
            case error::invalid_key: return "malformed key";
            case error::unsupported_key: return "unsupported key type";
            case error::jwks_unavailable: return "key set unavailable";
            case error::invalid_jwks: return "not a JWK Set";
            case error::missing_token: return "no bearer token";
            case error::invalid_authorization_header: return "Authorization is not a Bearer token";
            case error::missing_key_id: return "token has no kid";
            case error::cross_site_request: return "cross-site request with a cookie credential";
            case error::ambiguous_credentials: return "more than one credential";
            // agents
            case error::model_request_failed: return "model request failed";
            case error::model_stream_failed: return "model stream failed";
            case error::model_protocol_violation: return "model endpoint violated the protocol";
            case error::max_turns_exceeded: return "max turns exceeded";
            case error::unexpected_model_behavior: return "unexpected model behavior";
            case error::agent_misconfigured: return "agent misconfigured";
            case error::input_guardrail_triggered: return "input guardrail tripwire triggered";
            case error::output_guardrail_triggered: return "output guardrail tripwire triggered";
            case error::invalid_tool_arguments: return "invalid tool arguments";
            case error::mcp_misconfigured: return "MCP server misconfigured";
            case error::mcp_unreachable: return "MCP server unreachable";
            case error::mcp_timeout: return "MCP request timed out";
            case error::mcp_http_error: return "MCP server answered an HTTP error";
            case error::mcp_protocol_violation: return "MCP server violated the protocol";
            case error::mcp_rpc_error: return "MCP server answered a JSON-RPC error";
            case error::mcp_tool_error: return "MCP tool reported an error";
            // transport
            case error::transport_invalid_url: return "invalid URL";
            case error::transport_invalid_request: return "request cannot be sent";
            case error::transport_resolve_failed: return "cannot resolve the host name";
            case error::transport_connect_failed: return "cannot connect";
            case error::transport_tls_failed: return "TLS handshake failed";
            case error::transport_timeout: return "timed out";
            case error::transport_connection_closed: return "connection closed by the server";
            case error::transport_protocol_error: return "malformed HTTP response";
            case error::transport_body_too_large: return "response body too large";
        }
        return "unknown chatkit error";
    }
};
#pragma GCC diagnostic pop

// The transport block of the enum (core/transport.hpp): an outgoing request failed below HTTP.
bool is_transport_code(int ev) noexcept {
    return ev >= static_cast<int>(error::transport_invalid_url) && ev <= static_cast<int>(error::transport_body_too_large);
}

// The auth codes a client sees as a 401: every token and credential check.
bool is_token_rejection(error e) noexcept {
    auto const v = static_cast<int>(e);
    if (v < static_cast<int>(error::token_too_large) || v > static_cast<int>(error::ambiguous_credentials))
        return false;
    switch (e) {
        case error::weak_key:
        case error::invalid_key:
        case error::unsupported_key:
        case error::invalid_jwks:
        case error::jwks_unavailable:
        case error::cross_site_request:
        case error::ambiguous_credentials: return false;
        default: return true;
    }
}

// Key material and agents codes: their messages describe the server's keys or quote a model
// provider, so a client gets "Internal server error".
bool is_opaque_internal(error e) noexcept {
    switch (e) {
        case error::store_failure:
        case error::internal:
        case error::weak_key:
        case error::invalid_key:
        case error::unsupported_key:
        case error::invalid_jwks: return true;
        default:
            return static_cast<int>(e) >= static_cast<int>(error::model_request_failed) &&
                   static_cast<int>(e) <= static_cast<int>(error::mcp_tool_error);
    }
}

}  // namespace

boost::system::error_category const& chatkit_category() noexcept {
    static category const instance;
    return instance;
}

unsigned http_status(boost::system::error_code const& ec) noexcept {
    if (ec.category() != chatkit_category()) return 500;
    auto const e = static_cast<error>(ec.value());
    if (is_token_rejection(e)) return 401;
    if (is_transport_code(ec.value())) return 502;
    switch (e) {
        case error::invalid_request: return 400;
        case error::not_found: return 404;
        case error::payload_too_large: return 413;
        case error::unauthorized: return 401;
        case error::forbidden: return 403;
        case error::unsupported_media_type: return 415;
        case error::upstream_failure: return 502;
        case error::store_busy: return 503;
        case error::store_full: return 507;
        case error::conflict: return 409;
        case error::too_many_requests: return 429;
        case error::jwks_unavailable: return 503;
        case error::cross_site_request: return 403;
        case error::ambiguous_credentials: return 400;
        default: return 500;
    }
}

char const* client_code(boost::system::error_code const& ec) noexcept {
    if (ec.category() != chatkit_category()) return "internal";
    auto const e = static_cast<error>(ec.value());
    if (is_token_rejection(e)) return "unauthorized";
    if (is_transport_code(ec.value())) return "upstream_error";
    switch (e) {
        case error::invalid_request: return "invalid_request";
        case error::not_found: return "not_found";
        case error::payload_too_large: return "payload_too_large";
        case error::unauthorized: return "unauthorized";
        case error::forbidden: return "forbidden";
        case error::not_implemented: return "not_implemented";
        case error::unsupported_media_type: return "unsupported_media_type";
        case error::upstream_failure: return "upstream_error";
        case error::store_busy: return "unavailable";
        case error::store_full: return "insufficient_storage";
        case error::conflict: return "conflict";
        case error::too_many_requests: return "rate_limited";
        case error::jwks_unavailable: return "unavailable";
        case error::cross_site_request: return "forbidden";
        case error::ambiguous_credentials: return "invalid_request";
        default: return "internal";
    }
}

std::string client_message(boost::system::error_code const& ec, std::string_view message) {
    if (ec.category() != chatkit_category()) return "Internal server error";
    auto const e = static_cast<error>(ec.value());
    if (is_opaque_internal(e)) return "Internal server error";
    if (is_transport_code(ec.value())) return "An upstream service failed";  // the message names hosts
    switch (e) {
        case error::store_busy: return "The store is busy; retry shortly";
        case error::store_full: return "The store is full";
        case error::token_expired: return "The access token expired";
        case error::missing_token: return "Authentication required";
        case error::invalid_authorization_header: return "Malformed Authorization header";
        case error::jwks_unavailable: return "Authentication is temporarily unavailable";
        case error::cross_site_request:
            return "Cross-site request refused: cookie credentials need an allowed Origin and a JSON body";
        case error::ambiguous_credentials: return "More than one credential in the request";
        default: break;
    }
    if (is_token_rejection(e)) return "The access token is invalid";
    return std::string(message);
}

std::string client_message(Error const& e) { return client_message(e.code(), e.message()); }

Error::Error(boost::system::error_code ec, std::string message)
    : boost::system::system_error(ec), message_(message.empty() ? ec.message() : std::move(message)) {}

void throw_error(error e, std::string message) { throw Error(e, std::move(message)); }

void throw_if(boost::system::error_code const& ec) {
    if (ec) throw Error(ec);
}

StreamError::StreamError(std::string code, std::optional<bool> allow_retry)
    : code_(std::move(code)), allow_retry_(allow_retry.value_or(code_ == "stream.error")) {}

}  // namespace chatkit
