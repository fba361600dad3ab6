// chatkit-cpp auth: keys (JWK, PEM, HMAC), key sets, base64url and JWS signatures on the OpenSSL 3
// EVP API (no deprecated RSA_*/EC_KEY_* calls).
#include <chatkit/auth/keys.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace chatkit::auth {

namespace json = boost::json;

// --- algorithms ----------------------------------------------------------------------------------

namespace {

struct alg_info {
    Algorithm alg;
    char const* name;
};
constexpr std::array<alg_info, 13> algs{{
    {Algorithm::rs256, "RS256"}, {Algorithm::rs384, "RS384"}, {Algorithm::rs512, "RS512"},
    {Algorithm::ps256, "PS256"}, {Algorithm::ps384, "PS384"}, {Algorithm::ps512, "PS512"},
    {Algorithm::es256, "ES256"}, {Algorithm::es384, "ES384"}, {Algorithm::es512, "ES512"},
    {Algorithm::eddsa, "EdDSA"}, {Algorithm::hs256, "HS256"}, {Algorithm::hs384, "HS384"},
    {Algorithm::hs512, "HS512"},
}};

EVP_MD const* digest_of(Algorithm alg) noexcept {
    switch (alg) {
    case Algorithm::rs256: case Algorithm::ps256: case Algorithm::es256: case Algorithm::hs256: return EVP_sha256();
    case Algorithm::rs384: case Algorithm::ps384: case Algorithm::es384: case Algorithm::hs384: return EVP_sha384();
    case Algorithm::rs512: case Algorithm::ps512: case Algorithm::es512: case Algorithm::hs512: return EVP_sha512();
    case Algorithm::eddsa: return nullptr;
    }
    return nullptr;
}

char const* digest_name(Algorithm alg) noexcept {
    switch (alg) {
    case Algorithm::hs256: return "SHA256";
    case Algorithm::hs384: return "SHA384";
    default: return "SHA512";
    }
}

std::size_t hmac_size(Algorithm alg) noexcept {
    return alg == Algorithm::hs256 ? 32 : alg == Algorithm::hs384 ? 48 : 64;
}

KeyType key_type_for(Algorithm alg) noexcept {
    switch (alg) {
    case Algorithm::rs256: case Algorithm::rs384: case Algorithm::rs512:
    case Algorithm::ps256: case Algorithm::ps384: case Algorithm::ps512: return KeyType::rsa;
    case Algorithm::es256: return KeyType::ec_p256;
    case Algorithm::es384: return KeyType::ec_p384;
    case Algorithm::es512: return KeyType::ec_p521;
    case Algorithm::eddsa: return KeyType::ed25519;
    default: return KeyType::oct;
    }
}

bool is_pss(Algorithm alg) noexcept {
    return alg == Algorithm::ps256 || alg == Algorithm::ps384 || alg == Algorithm::ps512;
}

}  // namespace

char const* algorithm_name(Algorithm alg) noexcept {
    for (auto const& a : algs)
        if (a.alg == alg) return a.name;
    return "?";
}

std::optional<Algorithm> algorithm_from_name(std::string_view name) noexcept {
    for (auto const& a : algs)
        if (name == a.name) return a.alg;
    return std::nullopt;
}

std::vector<Algorithm> const& all_algorithms() {
    static std::vector<Algorithm> const all = [] {
        std::vector<Algorithm> v;
        for (auto const& a : algs) v.push_back(a.alg);
        return v;
    }();
    return all;
}

// --- OpenSSL helpers -----------------------------------------------------------------------------

namespace detail {

struct pkey_deleter {
    void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;

/// The key material behind `Key`.
struct key_data {
    KeyType type = KeyType::oct;
    std::string kid;
    std::optional<Algorithm> alg;
    std::string use;  // JWK `use`, empty when absent
    bool verify_allowed = true;  // false when JWK `key_ops` is present without "verify"
    std::shared_ptr<EVP_PKEY> pkey;  // asymmetric keys
    std::string secret;              // oct
    bool is_private = false;
    std::size_t bits = 0;
};

}  // namespace detail

namespace {

using detail::key_data;

struct bn_free {
    void operator()(BIGNUM* b) const noexcept { BN_free(b); }
};
using bn_ptr = std::unique_ptr<BIGNUM, bn_free>;
struct ctx_free {
    void operator()(EVP_PKEY_CTX* c) const noexcept { EVP_PKEY_CTX_free(c); }
};
using pctx_ptr = std::unique_ptr<EVP_PKEY_CTX, ctx_free>;
struct md_ctx_free {
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_free>;
struct bld_free {
    void operator()(OSSL_PARAM_BLD* b) const noexcept { OSSL_PARAM_BLD_free(b); }
};
struct params_free {
    void operator()(OSSL_PARAM* p) const noexcept { OSSL_PARAM_free(p); }
};
struct bio_free {
    void operator()(BIO* b) const noexcept { BIO_free(b); }
};
using bio_ptr = std::unique_ptr<BIO, bio_free>;

std::shared_ptr<EVP_PKEY> share(EVP_PKEY* p) { return std::shared_ptr<EVP_PKEY>(p, EVP_PKEY_free); }

std::string bn_bytes(BIGNUM const* bn, int pad = 0) {
    int const n = pad > 0 ? pad : BN_num_bytes(bn);
    std::string out(static_cast<std::size_t>(n), '\0');
    if (pad > 0)
        BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), n);
    else
        BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
    return out;
}

bn_ptr bn_from(std::string_view bytes) {
    return bn_ptr(BN_bin2bn(reinterpret_cast<unsigned char const*>(bytes.data()), static_cast<int>(bytes.size()), nullptr));
}

bn_ptr get_bn(EVP_PKEY const* pkey, char const* name) {
    BIGNUM* bn = nullptr;
    if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) return nullptr;
    return bn_ptr(bn);
}

struct curve_info {
    KeyType type;
    char const* jwk_name;
    char const* group;  // OpenSSL group name
    int nid;
    std::size_t field_bytes;
};
constexpr std::array<curve_info, 3> curves{{
    {KeyType::ec_p256, "P-256", "prime256v1", NID_X9_62_prime256v1, 32},
    {KeyType::ec_p384, "P-384", "secp384r1", NID_secp384r1, 48},
    {KeyType::ec_p521, "P-521", "secp521r1", NID_secp521r1, 66},
}};

curve_info const* curve_of(KeyType t) {
    for (auto const& c : curves)
        if (c.type == t) return &c;
    return nullptr;
}

/// The group order n of a curve (EC_GROUP is not deprecated in OpenSSL 3).
BIGNUM const* curve_order(KeyType t) {
    struct group_free {
        void operator()(EC_GROUP* g) const noexcept { EC_GROUP_free(g); }
    };
    static std::array<std::unique_ptr<EC_GROUP, group_free>, 3> const groups = [] {
        std::array<std::unique_ptr<EC_GROUP, group_free>, 3> g;
        for (std::size_t i = 0; i < curves.size(); ++i) g[i].reset(EC_GROUP_new_by_curve_name(curves[i].nid));
        return g;
    }();
    for (std::size_t i = 0; i < curves.size(); ++i)
        if (curves[i].type == t && groups[i]) return EC_GROUP_get0_order(groups[i].get());
    return nullptr;
}

/// Fills type/bits/private from an EVP_PKEY and enforces the minimum sizes.
void classify(key_data& d, EVP_PKEY* pkey) {
    int const id = EVP_PKEY_get_base_id(pkey);
    d.bits = static_cast<std::size_t>(EVP_PKEY_get_bits(pkey));
    if (id == EVP_PKEY_RSA) {
        d.type = KeyType::rsa;
        if (d.bits < 2048) throw_error(error::weak_key, "RSA keys must have at least 2048 bits");
        bn_ptr e = get_bn(pkey, OSSL_PKEY_PARAM_RSA_E);
        if (!e || BN_cmp(e.get(), BN_value_one()) <= 0 || !BN_is_odd(e.get()) || BN_num_bits(e.get()) < 2)
            throw_error(error::invalid_key, "RSA public exponent must be odd and at least 3");
        d.is_private = get_bn(pkey, OSSL_PKEY_PARAM_RSA_D) != nullptr;
    } else if (id == EVP_PKEY_EC) {
        char group[64] = {};
        std::size_t len = 0;
        if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) != 1)
            throw_error(error::unsupported_key, "EC key without a named curve");
        curve_info const* found = nullptr;
        for (auto const& c : curves)
            if (std::strcmp(group, c.group) == 0) found = &c;
        if (!found) throw_error(error::unsupported_key, "EC curve is not P-256, P-384 or P-521");
        d.type = found->type;
        d.is_private = get_bn(pkey, OSSL_PKEY_PARAM_PRIV_KEY) != nullptr;
    } else if (id == EVP_PKEY_ED25519) {
        d.type = KeyType::ed25519;
        std::size_t len = 0;
        d.is_private = EVP_PKEY_get_raw_private_key(pkey, nullptr, &len) == 1 && len == 32;
    } else {
        throw_error(error::unsupported_key, "unsupported key type");
    }
}

std::optional<std::string> string_member(json::object const& o, std::string_view name) {
    auto const* v = o.if_contains(name);
    if (!v) return std::nullopt;
    auto const* s = v->if_string();
    if (!s) throw_error(error::invalid_key, "JWK member " + std::string(name) + " is not a string");
    return std::string(s->data(), s->size());
}

std::string required_b64(json::object const& o, std::string_view name) {
    auto const* v = o.if_contains(name);
    if (!v || !v->is_string())
        throw_error(error::invalid_key, "JWK member " + std::string(name) + " missing");
    auto decoded = base64url_decode(std::string_view(v->get_string().data(), v->get_string().size()));
    if (!decoded || decoded->empty())
        throw_error(error::invalid_key, "JWK member " + std::string(name) + " is not base64url");
    return std::move(*decoded);
}

std::shared_ptr<EVP_PKEY> pkey_from_params(char const* type, OSSL_PARAM_BLD* bld) {
    std::unique_ptr<OSSL_PARAM, params_free> params(OSSL_PARAM_BLD_to_param(bld));
    pctx_ptr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
    EVP_PKEY* pkey = nullptr;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) != 1 || !pkey)
        throw_error(error::invalid_key, std::string("invalid ") + type + " key");
    return share(pkey);
}

void check_public(EVP_PKEY* pkey) {
    pctx_ptr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
    if (!ctx || EVP_PKEY_public_check(ctx.get()) != 1)
        throw_error(error::invalid_key, "public key fails validation (point not on the curve?)");
}

}  // namespace

// --- Key -----------------------------------------------------------------------------------------

Key Key::from_jwk(json::object const& jwk) {
    auto d = std::make_shared<key_data>();
    auto kty = string_member(jwk, "kty");
    if (!kty) throw_error(error::invalid_key, "JWK without kty");
    std::string const kty_value = *kty;
    if (auto kid = string_member(jwk, "kid")) d->kid = *kid;
    if (auto use = string_member(jwk, "use")) d->use = *use;
    if (auto const* ops = jwk.if_contains("key_ops")) {
        // RFC 7517 §4.3: the operations the key is intended for. Without "verify" it never verifies.
        if (!ops->is_array()) throw_error(error::invalid_key, "JWK member key_ops is not an array");
        d->verify_allowed = false;
        for (auto const& op : ops->get_array()) {
            if (!op.is_string()) throw_error(error::invalid_key, "JWK member key_ops has a non-string");
            if (op.get_string() == "verify") d->verify_allowed = true;
        }
    }
    if (auto alg = string_member(jwk, "alg")) {
        auto a = algorithm_from_name(*alg);
        if (!a) throw_error(error::unsupported_key, "JWK alg is not a supported algorithm");
        d->alg = a;
    }
    if (kty_value == "RSA") {
        std::string const n = required_b64(jwk, "n");
        std::string const e = required_b64(jwk, "e");
        bn_ptr bn_n = bn_from(n), bn_e = bn_from(e);
        std::unique_ptr<OSSL_PARAM_BLD, bld_free> bld(OSSL_PARAM_BLD_new());
        if (!bn_n || !bn_e || !bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
            OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1)
            throw_error(error::invalid_key, "invalid RSA JWK");
        d->pkey = pkey_from_params("RSA", bld.get());
    } else if (kty_value == "EC") {
        auto crv = string_member(jwk, "crv");
        if (!crv) throw_error(error::invalid_key, "EC JWK without crv");
        curve_info const* found = nullptr;
        for (auto const& c : curves)
            if (*crv == c.jwk_name) found = &c;
        if (!found) throw_error(error::unsupported_key, "EC curve is not P-256, P-384 or P-521");
        std::string const x = required_b64(jwk, "x");
        std::string const y = required_b64(jwk, "y");
        if (x.size() != found->field_bytes || y.size() != found->field_bytes)
            throw_error(error::invalid_key, "EC coordinates have the wrong length");
        std::string point = "\x04" + x + y;
        std::unique_ptr<OSSL_PARAM_BLD, bld_free> bld(OSSL_PARAM_BLD_new());
        if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, found->group, 0) != 1 ||
            OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1)
            throw_error(error::invalid_key, "invalid EC JWK");
        d->pkey = pkey_from_params("EC", bld.get());
        check_public(d->pkey.get());
    } else if (kty_value == "OKP") {
        auto crv = string_member(jwk, "crv");
        if (!crv || *crv != "Ed25519") throw_error(error::unsupported_key, "OKP curve is not Ed25519");
        std::string const x = required_b64(jwk, "x");
        if (x.size() != 32) throw_error(error::invalid_key, "Ed25519 key must be 32 bytes");
        EVP_PKEY* p = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                                  reinterpret_cast<unsigned char const*>(x.data()), x.size());
        if (!p) throw_error(error::invalid_key, "invalid Ed25519 key");
        d->pkey = share(p);
    } else if (kty_value == "oct") {
        std::string k = required_b64(jwk, "k");
        if (k.size() < 32) throw_error(error::weak_key, "HMAC secrets must have at least 32 bytes");
        d->type = KeyType::oct;
        d->bits = k.size() * 8;
        d->secret = std::move(k);
        d->is_private = true;
        return Key(std::move(d));
    } else {
        throw_error(error::unsupported_key, "unsupported kty");
    }
    classify(*d, d->pkey.get());
    d->is_private = false;
    return Key(std::move(d));
}

Key Key::from_pem(std::string_view pem, std::string kid) {
    auto d = std::make_shared<key_data>();
    d->kid = std::move(kid);
    bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    EVP_PKEY* p = nullptr;
    if (pem.find("PRIVATE KEY-----") != std::string_view::npos)
        p = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
    else
        p = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
    if (!p) throw_error(error::invalid_key, "not a PEM public or private key");
    d->pkey = share(p);
    classify(*d, p);
    if (!d->is_private && (d->type == KeyType::ec_p256 || d->type == KeyType::ec_p384 || d->type == KeyType::ec_p521))
        check_public(p);
    return Key(std::move(d));
}

Key Key::hmac(std::string secret, std::string kid) {
    if (secret.size() < 32) throw_error(error::weak_key, "HMAC secrets must have at least 32 bytes");
    auto d = std::make_shared<key_data>();
    d->type = KeyType::oct;
    d->kid = std::move(kid);
    d->bits = secret.size() * 8;
    d->secret = std::move(secret);
    d->is_private = true;
    return Key(std::move(d));
}

Key Key::generate(Algorithm alg, std::string kid) {
    KeyType const t = key_type_for(alg);
    if (t == KeyType::oct) {
        std::string secret(hmac_size(alg), '\0');
        if (RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()), static_cast<int>(secret.size())) != 1)
            throw_error(error::invalid_key, "RAND_bytes failed");
        return hmac(std::move(secret), std::move(kid));
    }
    EVP_PKEY* p = nullptr;
    if (t == KeyType::rsa)
        p = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048));
    else if (t == KeyType::ed25519)
        p = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    else
        p = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve_of(t)->group);
    if (!p) throw_error(error::invalid_key, "key generation failed");
    auto d = std::make_shared<key_data>();
    d->kid = std::move(kid);
    d->pkey = share(p);
    classify(*d, p);
    d->is_private = true;
    return Key(std::move(d));
}

KeyType Key::type() const noexcept { return data_->type; }
std::string const& Key::kid() const noexcept { return data_->kid; }
std::optional<Algorithm> Key::algorithm() const noexcept { return data_->alg; }
bool Key::can_sign() const noexcept { return data_->is_private; }
bool Key::may_verify() const noexcept { return data_->verify_allowed && (data_->use.empty() || data_->use == "sig"); }
std::size_t Key::bits() const noexcept { return data_->bits; }

void Key::check_algorithm(Algorithm alg, boost::system::error_code& ec) const noexcept {
    ec = {};
    if (data_->type != key_type_for(alg))
        ec = error::key_algorithm_mismatch;
    else if (data_->alg && *data_->alg != alg)
        ec = error::key_algorithm_mismatch;
    else if (!data_->use.empty() && data_->use != "sig")
        ec = error::key_algorithm_mismatch;
    else if (data_->type == KeyType::oct && data_->secret.size() < hmac_size(alg))
        ec = error::weak_key;
}

void Key::check_algorithm(Algorithm alg) const {
    boost::system::error_code ec;
    check_algorithm(alg, ec);
    throw_if(ec);
}

Key Key::with_kid(std::string kid) const {
    auto d = std::make_shared<key_data>(*data_);
    d->kid = std::move(kid);
    return Key(std::move(d));
}

Key Key::with_algorithm(Algorithm alg) const {
    auto d = std::make_shared<key_data>(*data_);
    d->alg = alg;
    return Key(std::move(d));
}

json::object Key::public_jwk() const {
    json::object jwk;
    key_data const& d = *data_;
    EVP_PKEY* p = d.pkey.get();
    switch (d.type) {
    case KeyType::rsa: {
        jwk["kty"] = "RSA";
        bn_ptr n = get_bn(p, OSSL_PKEY_PARAM_RSA_N), e = get_bn(p, OSSL_PKEY_PARAM_RSA_E);
        jwk["n"] = base64url_encode(bn_bytes(n.get()));
        jwk["e"] = base64url_encode(bn_bytes(e.get()));
        break;
    }
    case KeyType::ec_p256: case KeyType::ec_p384: case KeyType::ec_p521: {
        auto const* c = curve_of(d.type);
        jwk["kty"] = "EC";
        jwk["crv"] = c->jwk_name;
        bn_ptr x = get_bn(p, OSSL_PKEY_PARAM_EC_PUB_X), y = get_bn(p, OSSL_PKEY_PARAM_EC_PUB_Y);
        if (!x || !y) throw_error(error::invalid_key, "cannot export EC point");
        int const fb = static_cast<int>(c->field_bytes);
        jwk["x"] = base64url_encode(bn_bytes(x.get(), fb));
        jwk["y"] = base64url_encode(bn_bytes(y.get(), fb));
        break;
    }
    case KeyType::ed25519: {
        unsigned char raw[32];
        std::size_t len = sizeof raw;
        if (EVP_PKEY_get_raw_public_key(p, raw, &len) != 1)
            throw_error(error::invalid_key, "cannot export key");
        jwk["kty"] = "OKP";
        jwk["crv"] = "Ed25519";
        jwk["x"] = base64url_encode(std::string_view(reinterpret_cast<char const*>(raw), len));
        break;
    }
    case KeyType::oct: throw_error(error::unsupported_key, "HMAC secrets are never published");
    }
    if (!d.kid.empty()) jwk["kid"] = d.kid;
    if (d.alg) jwk["alg"] = algorithm_name(*d.alg);
    jwk["use"] = "sig";
    return jwk;
}

namespace {
std::string bio_text(BIO* bio) {
    char* data = nullptr;
    long const n = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(n));
}
}  // namespace

std::string Key::public_pem() const {
    if (!data_->pkey) throw_error(error::unsupported_key, "HMAC secrets have no PEM form");
    bio_ptr bio(BIO_new(BIO_s_mem()));
    if (PEM_write_bio_PUBKEY(bio.get(), data_->pkey.get()) != 1)
        throw_error(error::invalid_key, "PEM export failed");
    return bio_text(bio.get());
}

std::string Key::private_pem() const {
    if (!data_->pkey || !data_->is_private) throw_error(error::unsupported_key, "not a private key");
    bio_ptr bio(BIO_new(BIO_s_mem()));
    if (PEM_write_bio_PrivateKey(bio.get(), data_->pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
        throw_error(error::invalid_key, "PEM export failed");
    return bio_text(bio.get());
}

// --- KeySet --------------------------------------------------------------------------------------

void KeySet::add(Key key) {
    std::string const& kid = key.kid();
    if (!kid.empty()) {
        if (std::find(ambiguous_.begin(), ambiguous_.end(), kid) != ambiguous_.end()) return;
        auto it = std::find_if(keys_.begin(), keys_.end(), [&](Key const& k) { return k.kid() == kid; });
        if (it != keys_.end()) {
            keys_.erase(it);
            ambiguous_.push_back(kid);
            return;
        }
    }
    keys_.push_back(std::move(key));
}

Key const* KeySet::find(std::string_view kid) const noexcept {
    for (auto const& k : keys_)
        if (!k.kid().empty() && k.kid() == kid) return &k;
    return nullptr;
}

Key const* KeySet::select(std::optional<std::string_view> kid, Algorithm alg) const noexcept {
    if (kid) return find(*kid);
    Key const* only = nullptr;
    for (auto const& k : keys_) {
        boost::system::error_code ec;
        k.check_algorithm(alg, ec);
        if (ec || !k.may_verify()) continue;
        if (only) return nullptr;  // ambiguous: a token without kid needs a single candidate
        only = &k;
    }
    return only;
}

KeySet KeySet::from_jwks(std::string_view text, std::vector<std::string>* skipped) {
    boost::system::error_code ec;
    json::parse_options opts;
    opts.max_depth = 8;
    json::value doc = json::parse(text, ec, {}, opts);
    if (ec || !doc.is_object()) throw_error(error::invalid_jwks, "JWK Set is not a JSON object");
    auto const* keys = doc.get_object().if_contains("keys");
    if (!keys || !keys->is_array()) throw_error(error::invalid_jwks, "JWK Set has no keys array");
    KeySet set;
    std::size_t index = 0;
    for (auto const& entry : keys->get_array()) {
        std::string const where = "keys[" + std::to_string(index++) + "]: ";
        auto note = [&](std::string why) {
            if (skipped) skipped->push_back(where + why);
        };
        if (!entry.is_object()) {
            note("not an object");
            continue;
        }
        auto const& o = entry.get_object();
        if (auto const* kty = o.if_contains("kty"); kty && kty->is_string() && kty->get_string() == "oct") {
            note("symmetric keys are never taken from a JWK Set");
            continue;
        }
        try {
            Key k = Key::from_jwk(o);
            if (!k.data().use.empty() && k.data().use != "sig") {
                note("use is not sig");
                continue;
            }
            if (!k.may_verify()) {
                note("key_ops lacks verify");
                continue;
            }
            if (k.algorithm()) {
                boost::system::error_code mismatch;
                k.check_algorithm(*k.algorithm(), mismatch);
                if (mismatch) {
                    note("alg does not match the key type");
                    continue;
                }
            }
            std::size_t const before = set.size() + set.ambiguous_.size();
            set.add(std::move(k));
            if (set.size() + set.ambiguous_.size() == before) note("duplicate kid: every key with it is dropped");
        } catch (Error const& e) {
            note(e.what());
        }
    }
    return set;
}

std::string KeySet::to_jwks() const {
    json::array arr;
    for (auto const& k : keys_)
        if (k.type() != KeyType::oct) arr.push_back(k.public_jwk());
    json::object doc;
    doc["keys"] = std::move(arr);
    return json::serialize(doc);
}

// --- signatures ----------------------------------------------------------------------------------

std::string jws_sign(Algorithm alg, Key const& key, std::string_view input) {
    boost::system::error_code ec;
    key.check_algorithm(alg, ec);
    if (ec) throw Error(error::key_algorithm_mismatch, ec.message());
    if (!key.can_sign()) throw_error(error::unsupported_key, "a public key cannot sign");
    key_data const& d = key.data();
    if (d.type == KeyType::oct) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        std::size_t len = 0;
        if (!EVP_Q_mac(nullptr, "HMAC", nullptr, digest_name(alg), nullptr, d.secret.data(), d.secret.size(),
                       reinterpret_cast<unsigned char const*>(input.data()), input.size(), mac, sizeof mac, &len))
            throw_error(error::invalid_key, "HMAC failed");
        return std::string(reinterpret_cast<char*>(mac), len);
    }
    md_ctx_ptr md(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;
    if (!md || EVP_DigestSignInit(md.get(), &pctx, digest_of(alg), nullptr, d.pkey.get()) != 1)
        throw_error(error::invalid_key, "sign init failed");
    if (is_pss(alg) && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
        throw_error(error::invalid_key, "PSS setup failed");
    std::size_t len = 0;
    auto const* in = reinterpret_cast<unsigned char const*>(input.data());
    if (EVP_DigestSign(md.get(), nullptr, &len, in, input.size()) != 1)
        throw_error(error::invalid_key, "sign failed");
    std::string sig(len, '\0');
    if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in, input.size()) != 1)
        throw_error(error::invalid_key, "sign failed");
    sig.resize(len);
    if (auto const* c = curve_of(d.type)) {  // DER -> raw r||s
        auto const* p = reinterpret_cast<unsigned char const*>(sig.data());
        ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
        if (!es) throw_error(error::invalid_key, "bad ECDSA signature");
        int const fb = static_cast<int>(c->field_bytes);
        std::string raw = bn_bytes(ECDSA_SIG_get0_r(es), fb) + bn_bytes(ECDSA_SIG_get0_s(es), fb);
        ECDSA_SIG_free(es);
        return raw;
    }
    return sig;
}

namespace {

boost::system::error_code verify_signature(Algorithm alg, Key const& key, std::string_view input,
                                           std::string_view signature) noexcept {
    key_data const& d = key.data();
    auto const* in = reinterpret_cast<unsigned char const*>(input.data());
    if (d.type == KeyType::oct) {
        std::size_t const want = hmac_size(alg);
        if (signature.size() != want) return error::invalid_signature_format;
        unsigned char mac[EVP_MAX_MD_SIZE];
        std::size_t len = 0;
        if (!EVP_Q_mac(nullptr, "HMAC", nullptr, digest_name(alg), nullptr, d.secret.data(), d.secret.size(), in,
                       input.size(), mac, sizeof mac, &len) ||
            len != want)
            return error::invalid_signature;
        return CRYPTO_memcmp(mac, signature.data(), want) == 0 ? boost::system::error_code()
                                                               : make_error_code(error::invalid_signature);
    }
    std::string der;
    std::string_view sig = signature;
    if (auto const* c = curve_of(d.type)) {
        // JWS ECDSA signatures are exactly 2 x field size bytes of r||s, with r, s in [1, n-1]:
        // checked before any conversion (CVE-2022-21449 and its mod-n variant).
        if (signature.size() != 2 * c->field_bytes) return error::invalid_signature_format;
        bn_ptr r = bn_from(signature.substr(0, c->field_bytes));
        bn_ptr s = bn_from(signature.substr(c->field_bytes));
        BIGNUM const* n = curve_order(d.type);
        if (!r || !s || !n) return error::invalid_signature;
        if (BN_is_zero(r.get()) || BN_is_zero(s.get()) || BN_cmp(r.get(), n) >= 0 || BN_cmp(s.get(), n) >= 0)
            return error::invalid_signature_format;
        ECDSA_SIG* es = ECDSA_SIG_new();
        if (!es || ECDSA_SIG_set0(es, r.get(), s.get()) != 1) {
            ECDSA_SIG_free(es);
            return error::invalid_signature;
        }
        (void)r.release();
        (void)s.release();
        unsigned char* out = nullptr;
        int const len = i2d_ECDSA_SIG(es, &out);
        ECDSA_SIG_free(es);
        if (len <= 0) return error::invalid_signature;
        der.assign(reinterpret_cast<char*>(out), static_cast<std::size_t>(len));
        OPENSSL_free(out);
        sig = der;
    } else if (d.type == KeyType::rsa) {
        if (signature.size() != static_cast<std::size_t>(EVP_PKEY_get_size(d.pkey.get())))
            return error::invalid_signature_format;
    } else if (d.type == KeyType::ed25519) {
        if (signature.size() != 64) return error::invalid_signature_format;
    }
    md_ctx_ptr md(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;
    if (!md || EVP_DigestVerifyInit(md.get(), &pctx, digest_of(alg), nullptr, d.pkey.get()) != 1)
        return error::invalid_signature;
    if (is_pss(alg) && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
        return error::invalid_signature;
    int const ok = EVP_DigestVerify(md.get(), reinterpret_cast<unsigned char const*>(sig.data()), sig.size(), in,
                                    input.size());
    return ok == 1 ? boost::system::error_code() : make_error_code(error::invalid_signature);
}

}  // namespace

void jws_verify(Algorithm alg, Key const& key, std::string_view input, std::string_view signature,
                boost::system::error_code& ec) noexcept {
    ec = verify_signature(alg, key, input, signature);
}

void jws_verify(Algorithm alg, Key const& key, std::string_view input, std::string_view signature) {
    throw_if(verify_signature(alg, key, input, signature));
}

}  // namespace chatkit::auth
