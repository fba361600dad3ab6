// chatkit-cpp auth: JWS algorithms, verification keys (JWK, PEM, HMAC secrets) and key sets.
#pragma once

#include <chatkit/core/base64.hpp>
#include <chatkit/core/config.hpp>
#include <chatkit/core/error.hpp>

#include <boost/json/object.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatkit::auth {

/// The JWS algorithms chatkit verifies (RFC 7518, RFC 8037). There is no `none`: an unsigned
/// token can never be accepted, whatever the configuration.
enum class Algorithm {
    rs256, rs384, rs512,  ///< RSASSA-PKCS1-v1_5 with SHA-2
    ps256, ps384, ps512,  ///< RSASSA-PSS with SHA-2 (salt length = hash length)
    es256, es384, es512,  ///< ECDSA on P-256, P-384, P-521 (raw `r||s` signatures)
    eddsa,                ///< Ed25519
    hs256, hs384, hs512,  ///< HMAC with SHA-2
};

/// The JOSE name of `alg` (`"RS256"`, `"EdDSA"`...).
CHATKIT_API char const* algorithm_name(Algorithm alg) noexcept;

/// The algorithm named exactly `name` (case-sensitive: `"rs256"` is not RS256); nullopt for
/// unknown names and for every spelling of `none`.
CHATKIT_API std::optional<Algorithm> algorithm_from_name(std::string_view name) noexcept;

/// All thirteen algorithms, in declaration order.
CHATKIT_API std::vector<Algorithm> const& all_algorithms();

/// Key families.
enum class KeyType {
    rsa,      ///< RSA (RS*, PS*), at least 2048 bits
    ec_p256,  ///< ECDSA P-256 (ES256)
    ec_p384,  ///< ECDSA P-384 (ES384)
    ec_p521,  ///< ECDSA P-521 (ES512)
    ed25519,  ///< Ed25519 (EdDSA)
    oct,      ///< HMAC secret (HS*), at least 32 bytes
};

namespace detail {
struct key_data;
}

/// One key: a public key (or private key, to sign development tokens) or an HMAC secret, with its
/// optional JWK `kid`, `alg` and `use`.
///
/// Keys are immutable and cheap to copy (shared). Every constructor enforces the minimum sizes
/// (RSA >= 2048 bits and public exponent >= 3, HMAC secret >= 32 bytes) and validates EC points.
class CHATKIT_API Key {
public:
    /// A key from one JWK object (RFC 7517): `kty` RSA (`n`, `e`), EC (`crv` P-256/P-384/P-521,
    /// `x`, `y`; the point must be on the curve), OKP (`crv` Ed25519, `x`) or oct (`k`). Private
    /// members (`d`...) are ignored: the key is public.
    /// @throws chatkit::Error `error::invalid_key`, `error::weak_key` or `error::unsupported_key`.
    static Key from_jwk(boost::json::object const& jwk);

    /// A key from PEM text: a public key (`BEGIN PUBLIC KEY`) or a private key (`BEGIN PRIVATE
    /// KEY`, PKCS#8 unencrypted), which can also sign.
    /// @throws chatkit::Error `error::invalid_key`, `error::weak_key` or `error::unsupported_key`.
    static Key from_pem(std::string_view pem, std::string kid = {});

    /// An HMAC secret (HS256/384/512). RFC 7518 requires at least the hash size: 32 bytes for
    /// HS256 (checked here), 48 for HS384 and 64 for HS512 (checked when binding to the algorithm).
    /// @throws chatkit::Error `error::weak_key` when shorter than 32 bytes.
    static Key hmac(std::string secret, std::string kid = {});

    /// Generates a fresh private key (or secret) for `alg` with OpenSSL: RSA 2048, the curve of
    /// ES*, Ed25519, or a random secret of the hash size. For tests and development tokens.
    static Key generate(Algorithm alg, std::string kid = {});

    /// The key family.
    KeyType type() const noexcept;
    /// The `kid` (empty when none).
    std::string const& kid() const noexcept;
    /// The JWK `alg` the key is restricted to, when given.
    std::optional<Algorithm> algorithm() const noexcept;
    /// Whether the key can sign (a private key or an HMAC secret).
    bool can_sign() const noexcept;
    /// Whether the key may verify signatures at all: false when its JWK `key_ops` is present
    /// without `"verify"`, or its JWK `use` is not `"sig"`. Such a key never verifies a token.
    bool may_verify() const noexcept;
    /// Size in bits (RSA modulus, curve size, 8 x secret length).
    std::size_t bits() const noexcept;

    /// Checks that this key may verify `alg`: the key type matches, the JWK `alg` (if any) is
    /// `alg`, the JWK `use` (if any) is `sig`, and an HMAC secret is at least the hash size.
    /// @throws chatkit::Error `error::key_algorithm_mismatch` or `error::weak_key`.
    void check_algorithm(Algorithm alg) const;
    /// Non-throwing form of `check_algorithm(alg)`: `ec` receives the failure, or is cleared.
    void check_algorithm(Algorithm alg, boost::system::error_code& ec) const noexcept;

    /// A copy with another `kid`.
    Key with_kid(std::string kid) const;
    /// A copy restricted to `alg` (as the JWK `alg` member would).
    Key with_algorithm(Algorithm alg) const;

    /// The public JWK of an asymmetric key (`kty`, `kid`, `alg` when set, `use`:"sig", and the
    /// public members). @throws chatkit::Error `error::unsupported_key` for HMAC secrets (never
    /// published).
    boost::json::object public_jwk() const;
    /// The public key as PEM (SubjectPublicKeyInfo). @throws chatkit::Error `error::unsupported_key`
    /// for secrets.
    std::string public_pem() const;
    /// The private key as PKCS#8 PEM. @throws chatkit::Error `error::unsupported_key` when not a
    /// private key.
    std::string private_pem() const;

    /// Implementation access (src/auth).
    detail::key_data const& data() const noexcept { return *data_; }

private:
    explicit Key(std::shared_ptr<detail::key_data const> data) noexcept : data_(std::move(data)) {}
    std::shared_ptr<detail::key_data const> data_;
};

/// Keys by `kid`.
///
/// A `kid` is an opaque string compared byte for byte (NUL bytes included): it never becomes a
/// path, a query or a command.
class CHATKIT_API KeySet {
public:
    KeySet() = default;

    /// Adds a key. A second key with the same `kid` makes that `kid` ambiguous: both are dropped
    /// and lookups of it fail (as for a JWKS with duplicate kids).
    void add(Key key);

    /// The key with this `kid`, or null (unknown or ambiguous).
    Key const* find(std::string_view kid) const noexcept;

    /// Key selection for a token: by `kid` when the token has one; otherwise the only key that
    /// may verify `alg`. Null when there is no such key.
    Key const* select(std::optional<std::string_view> kid, Algorithm alg) const noexcept;

    /// Number of usable keys.
    std::size_t size() const noexcept { return keys_.size(); }
    /// Whether there is no usable key.
    bool empty() const noexcept { return keys_.empty(); }
    /// The usable keys.
    std::vector<Key> const& keys() const noexcept { return keys_; }

    /// Parses a JWK Set for signature verification. Unusable entries are skipped and described in
    /// `skipped` (when given), never fatal: symmetric (`oct`) keys, `use` other than `sig`, weak or
    /// malformed keys, unsupported types, duplicate kids, and keys whose `alg` is unknown.
    /// @throws chatkit::Error `error::invalid_jwks` when the document is not `{"keys":[...]}` JSON.
    static KeySet from_jwks(std::string_view json, std::vector<std::string>* skipped = nullptr);

    /// The public JWK Set (`{"keys":[...]}`) of the asymmetric keys.
    std::string to_jwks() const;

private:
    std::vector<Key> keys_;
    std::vector<std::string> ambiguous_;
};

/// The JWS signature of `signing_input` (`base64url(header) "." base64url(payload)`) with `key`
/// (a private key or secret) under `alg`; ECDSA signatures are raw `r||s`.
/// @throws chatkit::Error `error::key_algorithm_mismatch` or `error::unsupported_key` when the key
///         cannot sign `alg`.
CHATKIT_API std::string jws_sign(Algorithm alg, Key const& key, std::string_view signing_input);

/// Checks a JWS signature (raw bytes, already base64url-decoded). The caller has checked the key
/// with `Key::check_algorithm`.
/// @throws chatkit::Error `error::invalid_signature_format` (wrong length, ECDSA `r`/`s` out of
///         range) or `error::invalid_signature`.
CHATKIT_API void jws_verify(Algorithm alg, Key const& key, std::string_view signing_input,
                            std::string_view signature);
/// Non-throwing form of `jws_verify`: `ec` receives the failure, or is cleared.
CHATKIT_API void jws_verify(Algorithm alg, Key const& key, std::string_view signing_input,
                            std::string_view signature, boost::system::error_code& ec) noexcept;

}  // namespace chatkit::auth
