// chatkit-cpp auth: the error codes of token and key verification (one per failure).
#pragma once

#include <chatkit/core/config.hpp>

#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <string>
#include <type_traits>

namespace chatkit::auth {

/// Why a token, a key or a key set was rejected. Every check of the verification pipeline has its
/// own code, so logs and tests can tell them apart; clients only ever see a generic 401.
enum class auth_error {
    /// The token is longer than `JwtVerifier::max_token_size`.
    token_too_large = 1,
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
    /// `alg` is not in the verifier's allow-list (`none` never is).
    algorithm_not_allowed,
    /// The header has a `crit` member (no extension is implemented, so any `crit` is rejected).
    unsupported_critical_header,
    /// No key has the token's `kid` (or the token has no `kid` and no single key fits).
    unknown_key_id,
    /// The selected key cannot verify this algorithm (key type, curve, JWK `alg` or `use`).
    key_algorithm_mismatch,
    /// The signature has the wrong length or, for ECDSA, `r` or `s` outside [1, n-1].
    invalid_signature_format,
    /// The signature does not verify.
    invalid_signature,
    /// `exp` is in the past (beyond the leeway).
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
    /// A key is below the minimum size (RSA < 2048 bits, HMAC secret shorter than the hash).
    weak_key,
    /// A key (JWK, PEM) is malformed: bad members, point not on the curve, public exponent < 3...
    invalid_key,
    /// A key type or curve this library does not support (Ed448, secp256k1, ...).
    unsupported_key,
    /// The key set could not be fetched and nothing usable is cached.
    jwks_unavailable,
    /// The document is not a JWK Set (`{"keys":[...]}`).
    invalid_jwks,
    /// The request carries no token (no `Authorization: Bearer`, no auth cookie).
    missing_token,
    /// The `Authorization` header is not `Bearer <token>`.
    invalid_authorization_header,
    /// The token has no `kid` and the verifier requires one (`JwtVerifier::require_key_id`).
    missing_key_id,
    /// A cookie-borne credential on a state-changing request without an allowed `Origin` or with
    /// a Content-Type a cross-site form can send (CSRF defence; answered with 403).
    cross_site_request,
    /// The request carries two `Authorization` headers or two auth cookies (answered with 400).
    ambiguous_credentials,
};

/// The category of `auth_error` (name "chatkit.auth").
CHATKIT_API boost::system::error_category const& auth_category() noexcept;

/// Makes an error_code of the auth category.
inline boost::system::error_code make_error_code(auth_error e) noexcept {
    return {static_cast<int>(e), auth_category()};
}

/// Thrown by the throwing forms of the auth API (`JwtVerifier::verify_or_throw`, key parsing).
/// `what()` is a short English description that may name the failing check but never echoes
/// token or key material.
class CHATKIT_API AuthError : public boost::system::system_error {
public:
    explicit AuthError(auth_error e) : boost::system::system_error(make_error_code(e)) {}
    AuthError(auth_error e, std::string const& detail) : boost::system::system_error(make_error_code(e), detail) {}
};

/// Throws `AuthError(e, detail)`.
[[noreturn]] CHATKIT_API void throw_auth_error(auth_error e, std::string const& detail = {});

}  // namespace chatkit::auth

template <>
struct boost::system::is_error_code_enum<chatkit::auth::auth_error> : std::true_type {};
