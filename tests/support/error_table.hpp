// The documented answer of every chatkit error code (docs/concepts.md, "Errors"): HTTP status,
// client code and what the client reads as message. The unit test checks the mapping functions
// against it and that no code is missing from it; the integration test checks the same answers
// over loopback HTTP.
#pragma once

#include <chatkit/core/error.hpp>

#include <optional>
#include <string>
#include <vector>

namespace chatkit_test {

/// One code's answer. `fixed_message` is the text every client sees; without it the client sees
/// the message the error was thrown with.
struct ErrorAnswer {
    chatkit::error code;
    unsigned status;
    std::string client_code;
    std::optional<std::string> fixed_message;
};

inline std::vector<ErrorAnswer> const& documented_errors() {
    using chatkit::error;
    std::string const internal = "Internal server error";
    std::string const invalid_token = "The access token is invalid";
    std::string const upstream = "An upstream service failed";
    static std::vector<ErrorAnswer> const table{
        // core
        {error::invalid_request, 400, "invalid_request", {}},
        {error::not_found, 404, "not_found", {}},
        {error::stream_cancelled, 500, "internal", {}},
        {error::not_implemented, 500, "not_implemented", {}},
        {error::no_attachment_store, 500, "internal", {}},
        {error::store_failure, 500, "internal", internal},
        {error::payload_too_large, 413, "payload_too_large", {}},
        {error::unauthorized, 401, "unauthorized", {}},
        {error::forbidden, 403, "forbidden", {}},
        {error::internal, 500, "internal", internal},
        {error::unsupported_media_type, 415, "unsupported_media_type", {}},
        {error::upstream_failure, 502, "upstream_error", {}},
        {error::store_busy, 503, "unavailable", "The store is busy; retry shortly"},
        {error::store_full, 507, "insufficient_storage", "The store is full"},
        {error::conflict, 409, "conflict", {}},
        {error::too_many_requests, 429, "rate_limited", {}},
        // auth
        {error::token_too_large, 401, "unauthorized", invalid_token},
        {error::malformed_token, 401, "unauthorized", invalid_token},
        {error::invalid_base64url, 401, "unauthorized", invalid_token},
        {error::invalid_json, 401, "unauthorized", invalid_token},
        {error::duplicate_member, 401, "unauthorized", invalid_token},
        {error::missing_algorithm, 401, "unauthorized", invalid_token},
        {error::algorithm_not_allowed, 401, "unauthorized", invalid_token},
        {error::unsupported_critical_header, 401, "unauthorized", invalid_token},
        {error::unknown_key_id, 401, "unauthorized", invalid_token},
        {error::key_algorithm_mismatch, 401, "unauthorized", invalid_token},
        {error::invalid_signature_format, 401, "unauthorized", invalid_token},
        {error::invalid_signature, 401, "unauthorized", invalid_token},
        {error::token_expired, 401, "unauthorized", "The access token expired"},
        {error::token_not_yet_valid, 401, "unauthorized", invalid_token},
        {error::token_issued_in_future, 401, "unauthorized", invalid_token},
        {error::missing_expiration, 401, "unauthorized", invalid_token},
        {error::invalid_claim, 401, "unauthorized", invalid_token},
        {error::missing_issuer, 401, "unauthorized", invalid_token},
        {error::issuer_mismatch, 401, "unauthorized", invalid_token},
        {error::missing_audience, 401, "unauthorized", invalid_token},
        {error::audience_mismatch, 401, "unauthorized", invalid_token},
        {error::missing_subject, 401, "unauthorized", invalid_token},
        {error::weak_key, 500, "internal", internal},
        {error::invalid_key, 500, "internal", internal},
        {error::unsupported_key, 500, "internal", internal},
        {error::jwks_unavailable, 503, "unavailable", "Authentication is temporarily unavailable"},
        {error::invalid_jwks, 500, "internal", internal},
        {error::missing_token, 401, "unauthorized", "Authentication required"},
        {error::invalid_authorization_header, 401, "unauthorized", "Malformed Authorization header"},
        {error::missing_key_id, 401, "unauthorized", invalid_token},
        {error::cross_site_request, 403, "forbidden",
         "Cross-site request refused: cookie credentials need an allowed Origin and a JSON body"},
        {error::ambiguous_credentials, 400, "invalid_request", "More than one credential in the request"},
        // agents
        {error::model_request_failed, 500, "internal", internal},
        {error::model_stream_failed, 500, "internal", internal},
        {error::model_protocol_violation, 500, "internal", internal},
        {error::max_turns_exceeded, 500, "internal", internal},
        {error::unexpected_model_behavior, 500, "internal", internal},
        {error::agent_misconfigured, 500, "internal", internal},
        {error::input_guardrail_triggered, 500, "internal", internal},
        {error::output_guardrail_triggered, 500, "internal", internal},
        {error::invalid_tool_arguments, 500, "internal", internal},
        {error::mcp_misconfigured, 500, "internal", internal},
        {error::mcp_unreachable, 500, "internal", internal},
        {error::mcp_timeout, 500, "internal", internal},
        {error::mcp_http_error, 500, "internal", internal},
        {error::mcp_protocol_violation, 500, "internal", internal},
        {error::mcp_rpc_error, 500, "internal", internal},
        {error::mcp_tool_error, 500, "internal", internal},
        // transport: an outgoing request failed below HTTP; the message names hosts, so it is fixed
        {error::transport_invalid_url, 502, "upstream_error", upstream},
        {error::transport_invalid_request, 502, "upstream_error", upstream},
        {error::transport_resolve_failed, 502, "upstream_error", upstream},
        {error::transport_connect_failed, 502, "upstream_error", upstream},
        {error::transport_tls_failed, 502, "upstream_error", upstream},
        {error::transport_timeout, 502, "upstream_error", upstream},
        {error::transport_connection_closed, 502, "upstream_error", upstream},
        {error::transport_protocol_error, 502, "upstream_error", upstream},
        {error::transport_body_too_large, 502, "upstream_error", upstream},
    };
    return table;
}

}  // namespace chatkit_test
