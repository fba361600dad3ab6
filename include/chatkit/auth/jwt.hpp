// chatkit-cpp auth: JwtVerifier, the JWS compact-serialization verifier (RFC 7515/7519/8725), and
// sign_jwt for tests and development tokens.
#pragma once

#include <chatkit/auth/keys.hpp>
#include <chatkit/core/config.hpp>
#include <chatkit/core/error.hpp>

#include <boost/json/object.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace chatkit::auth {

/// What a verified token says: its header and claims, with the registered claims decoded.
struct Claims {
    /// The JOSE header (`alg`, `kid`, `typ`...).
    boost::json::object header;
    /// Every claim of the payload, registered or not.
    boost::json::object payload;
    /// The algorithm the signature was verified with.
    Algorithm algorithm = Algorithm::rs256;
    /// The header `kid` (empty when absent).
    std::string key_id;
    /// `sub`: the caller, a non-empty string (use it as the store owner key).
    std::string subject;
    /// `iss` (empty when absent).
    std::string issuer;
    /// `aud` as a list (a string `aud` becomes one element).
    std::vector<std::string> audience;
    /// `exp`, `nbf`, `iat` when present.
    ///@{
    std::optional<std::chrono::system_clock::time_point> expires_at, not_before, issued_at;
    ///@}

    /// The tenant (store owner) key: issuer + subject, as `escape(iss) "|" sub`, where `escape`
    /// percent-encodes `%` (as `%25`) and `|` (as `%7C`) so the first `|` always ends the issuer.
    /// A token without `iss` gives `"|" sub`. Two tokens share a key only when both `iss` and
    /// `sub` are equal, so one issuer cannot reach another issuer's users.
    std::string tenant_key() const;

    /// The string claim `name`, or nullopt when absent or not a string.
    std::optional<std::string> string_claim(std::string_view name) const;
    /// The claim `name` as a list of strings: a string gives one element, an array its string
    /// elements, a space-separated `scope` or `scp` string its words.
    std::vector<std::string> string_list_claim(std::string_view name) const;
};

/// Verifies compact JWS tokens against a pinned algorithm allow-list and a key set.
///
/// The pipeline, in this order (SECURITY.md §7): size cap; exactly three segments; strict
/// base64url; header and payload UTF-8 JSON objects with no duplicate member names and depth
/// <= 32; `alg` a string in the allow-list; no `crit`; a `kid` when required; the key selected by
/// exact `kid`, checked against the algorithm (type, curve, JWK `alg`/`use`/`key_ops`, minimum size); the
/// signature (ECDSA: raw `r||s` of the exact length with r, s in [1, n-1]; HMAC: full length, constant-time
/// compare); then the claims against the injected clock. `jku`, `x5u`, `jwk` and `x5c` are never used.
///
/// Every failure has its own `chatkit::error` code (the auth block of the enum). The verifier is
/// immutable once configured, so one instance may verify from many threads at once.
///
/// @par Example
/// @code
/// auth::JwtVerifier verifier;
/// verifier.allow(auth::Algorithm::rs256).issuer("https://issuer.example").audience("chatkit")
///         .keys(auth::KeySet::from_jwks(jwks_text));
/// auth::Claims claims = verifier.verify(token);  // throws chatkit::Error
/// boost::system::error_code ec;
/// auth::Claims maybe = verifier.verify(token, ec);  // never throws chatkit::Error
/// @endcode
class CHATKIT_API JwtVerifier {
public:
    /// The clock type: returns "now".
    using Clock = std::function<std::chrono::system_clock::time_point()>;

    /// Largest leeway `leeway()` accepts.
    static constexpr std::chrono::seconds max_leeway{300};

    /// A verifier that allows no algorithm (so it accepts nothing until `allow` is called), with
    /// 60 s leeway, `exp` and `sub` required, 8 KiB maximum token size and the system clock.
    JwtVerifier();

    /// Adds `alg` to the allow-list.
    JwtVerifier& allow(Algorithm alg);
    /// Adds the comma- or space-separated algorithm names (`"RS256,ES256"`).
    /// @throws chatkit::Error `error::algorithm_not_allowed` for an unknown name or any spelling
    ///         of `none`.
    JwtVerifier& allow(std::string_view names);
    /// The allowed algorithms.
    std::set<Algorithm> const& allowed() const noexcept { return allowed_; }

    /// Requires `iss` to equal `issuer` exactly.
    /// @throws std::invalid_argument when `issuer` is empty (an empty value never disables the check).
    JwtVerifier& issuer(std::string issuer);
    /// Requires `aud` (a string or an array) to contain `audience` exactly; calling it again adds
    /// another accepted audience. Without any audience configured, a token that carries `aud` is
    /// rejected (`audience_mismatch`), as PyJWT does: it was minted for someone else.
    /// @throws std::invalid_argument when `audience` is empty.
    JwtVerifier& audience(std::string audience);
    /// Whether a token without a header `kid` is rejected (`missing_key_id`; default false). Turn it
    /// on for JWK Sets: key rotation needs `kid`, and a kid-less token would otherwise be tried
    /// against the single key that fits its algorithm.
    JwtVerifier& require_key_id(bool on);
    /// Clock skew allowed on `exp`, `nbf` and `iat`.
    /// @throws std::invalid_argument when negative or above `max_leeway`.
    JwtVerifier& leeway(std::chrono::seconds leeway);
    /// Where "now" comes from (tests pin it).
    JwtVerifier& clock(Clock clock);
    /// Tokens longer than this are rejected before decoding (default 8192 bytes).
    JwtVerifier& max_token_size(std::size_t bytes);
    /// Whether a token without `exp` is rejected (default true: no immortal tokens).
    JwtVerifier& require_expiration(bool on);
    /// Whether a token without a non-empty string `sub` is rejected (default true: `sub` is the
    /// tenant key).
    JwtVerifier& require_subject(bool on);
    /// The static key set used by `verify(token)`.
    JwtVerifier& keys(KeySet keys);
    /// Adds one key to the static key set.
    JwtVerifier& add_key(Key key);

    /// Verifies `token` with the static key set.
    /// @throws chatkit::Error with the failing check's code (`error::token_expired`...).
    Claims verify(std::string_view token) const;
    /// Non-throwing form of `verify(token)`: on failure `ec` receives the failing check's code and
    /// the result is empty.
    Claims verify(std::string_view token, boost::system::error_code& ec) const;
    /// Verifies `token` with `keys` (a JwksCache snapshot).
    /// @throws chatkit::Error with the failing check's code.
    Claims verify(std::string_view token, KeySet const& keys) const;
    /// Non-throwing form of `verify(token, keys)`.
    Claims verify(std::string_view token, KeySet const& keys, boost::system::error_code& ec) const;

    /// The header `kid` of a token that passes the structural checks (size, segments, base64url,
    /// JSON, duplicates, alg allowed, crit), nullopt when it has none; used by `JwksCache` to
    /// decide whether to refetch. Performs no signature check: never trust the result.
    /// @throws chatkit::Error with the failing structural check's code.
    std::optional<std::string> peek_key_id(std::string_view token) const;
    /// Non-throwing form of `peek_key_id(token)`.
    std::optional<std::string> peek_key_id(std::string_view token, boost::system::error_code& ec) const;

private:
    boost::system::result<Claims> check(std::string_view token, KeySet const& keys) const;

    std::set<Algorithm> allowed_;
    std::string issuer_;
    std::vector<std::string> audiences_;
    std::chrono::seconds leeway_{60};
    Clock clock_;
    std::size_t max_token_size_ = 8192;
    bool require_exp_ = true;
    bool require_sub_ = true;
    bool require_kid_ = false;
    KeySet keys_;
};

/// The deepest nesting `parse_json_object_strict` accepts.
inline constexpr std::size_t max_strict_json_depth = 32;

/// Parses a JSON object text like `boost::json::parse`, but rejects duplicate member names at any
/// depth (Boost.JSON keeps the last one silently) and nesting deeper than `max_strict_json_depth`.
/// @throws chatkit::Error `error::invalid_json` or `error::duplicate_member`.
CHATKIT_API boost::json::object parse_json_object_strict(std::string_view text);
/// Non-throwing form of `parse_json_object_strict(text)`.
CHATKIT_API boost::json::object parse_json_object_strict(std::string_view text,
                                                         boost::system::error_code& ec);

/// Signs `claims` into a compact JWS with `key` (a private key or secret): header
/// `{"alg":...,"typ":"JWT","kid":...}` (kid when the key has one). For tests and development
/// tokens; production tokens come from your identity provider.
/// @throws chatkit::Error (`error::key_algorithm_mismatch`, `error::unsupported_key`) when the key
///         cannot sign `alg`.
CHATKIT_API std::string sign_jwt(boost::json::object const& claims, Key const& key, Algorithm alg);

/// Lower-level signing: `base64url(header_json) "." base64url(payload_json) "." signature`, with
/// the JSON texts used verbatim (tests build hostile headers with it).
CHATKIT_API std::string sign_jwt_raw(std::string_view header_json, std::string_view payload_json, Key const& key,
                                     Algorithm alg);

}  // namespace chatkit::auth
