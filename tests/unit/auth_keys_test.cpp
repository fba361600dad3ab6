// Keys from JWK and PEM, minimum sizes, EC point validation, and JWK Set parsing that skips bad
// entries without losing the good ones.
#include "auth_test_keys.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>

using namespace authtest;

namespace {

error code_of(std::function<void()> f) {
    try {
        f();
    } catch (Error const& e) {
        REQUIRE(e.code().category() == chatkit::chatkit_category());
        return static_cast<error>(e.code().value());
    }
    FAIL("no chatkit::Error thrown");
    return error::invalid_key;
}

/// The code of the non-throwing `check_algorithm`, after checking the throwing form agrees.
boost::system::error_code algorithm_check(Key const& key, Algorithm alg) {
    boost::system::error_code ec;
    key.check_algorithm(alg, ec);
    if (ec) CHECK(code_of([&] { key.check_algorithm(alg); }) == static_cast<error>(ec.value()));
    else CHECK_NOTHROW(key.check_algorithm(alg));
    return ec;
}

/// PEM of a freshly generated key of an OpenSSL algorithm (for sizes/types Key::generate refuses).
std::string openssl_public_pem(EVP_PKEY* p) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, p);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    EVP_PKEY_free(p);
    return out;
}

}  // namespace

TEST_CASE("keys round-trip through JWK and PEM and verify tokens", "[auth][keys]") {
    for (Algorithm alg : all_algorithms()) {
        Key const& k = signing_key(alg);
        if (k.type() == KeyType::oct) continue;
        INFO(algorithm_name(alg));
        json::object const jwk = k.public_jwk();
        CHECK(jwk.at("use") == "sig");
        CHECK(jwk.at("kid") == algorithm_name(alg));
        CHECK_FALSE(jwk.contains("d"));
        Key const from_jwk = Key::from_jwk(jwk);
        CHECK_FALSE(from_jwk.can_sign());
        CHECK(from_jwk.type() == k.type());
        CHECK_FALSE(algorithm_check(from_jwk, alg));
        Key const from_pem = Key::from_pem(k.private_pem(), "p");
        CHECK(from_pem.can_sign());
        JwtVerifier v;
        v.allow(alg).audience("chatkit").clock(fixed_now).add_key(from_jwk);  // the token carries aud (issue 15)
        check_accepted(v, sign_jwt(good_claims(), from_pem.with_kid(algorithm_name(alg)), alg));
    }
    // oct JWK
    Key const oct = Key::from_jwk(json::object{{"kty", "oct"}, {"kid", "s"}, {"k", base64url_encode(std::string(64, 'z'))}});
    CHECK(oct.type() == KeyType::oct);
    CHECK_FALSE(algorithm_check(oct, Algorithm::hs512));
    CHECK(code_of([&] { (void)oct.public_jwk(); }) == error::unsupported_key);
}

TEST_CASE("weak and malformed keys are refused", "[auth][keys]") {
    // RSA 1024: PEM and JWK
    std::string const pem1024 = openssl_public_pem(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{1024}));
    CHECK(code_of([&] { (void)Key::from_pem(pem1024); }) == error::weak_key);
    // a 2048-bit modulus with e = 1
    json::object rsa = verification_key(Algorithm::rs256).public_jwk();
    json::object e1 = rsa;
    e1["e"] = base64url_encode(std::string(1, '\x01'));
    CHECK(code_of([&] { (void)Key::from_jwk(e1); }) == error::invalid_key);
    // truncated modulus -> fewer than 2048 bits
    json::object shortn = rsa;
    shortn["n"] = base64url_encode(base64url_decode(std::string(rsa.at("n").as_string())).value().substr(0, 128));
    CHECK(code_of([&] { (void)Key::from_jwk(shortn); }) == error::weak_key);
    // EC point not on the curve
    json::object ec = verification_key(Algorithm::es256).public_jwk();
    json::object off = ec;
    std::string y = base64url_decode(std::string(ec.at("y").as_string())).value();
    y.back() = static_cast<char>(y.back() ^ 1);
    off["y"] = base64url_encode(y);
    CHECK(code_of([&] { (void)Key::from_jwk(off); }) == error::invalid_key);
    json::object wrong_len = ec;
    wrong_len["x"] = base64url_encode(std::string(31, '\x01'));
    CHECK(code_of([&] { (void)Key::from_jwk(wrong_len); }) == error::invalid_key);
    json::object k1 = ec;
    k1["crv"] = "secp256k1";
    CHECK(code_of([&] { (void)Key::from_jwk(k1); }) == error::unsupported_key);
    CHECK(code_of([&] { (void)Key::from_jwk(json::object{{"kty", "OKP"}, {"crv", "Ed448"}, {"x", "AA"}}); }) ==
          error::unsupported_key);
    CHECK(code_of([&] { (void)Key::from_jwk(json::object{{"kty", "RSA"}, {"e", "AQAB"}}); }) == error::invalid_key);
    CHECK(code_of([&] { (void)Key::from_jwk(json::object{{"kty", 3}}); }) == error::invalid_key);
    CHECK(code_of([&] { (void)Key::from_jwk(json::object{{"kty", "oct"}, {"k", base64url_encode("short")}}); }) ==
          error::weak_key);
    CHECK(code_of([&] { (void)Key::from_jwk(json::object{{"kty", "oct"}, {"k", "not base64!"}}); }) == error::invalid_key);
    CHECK(code_of([&] { (void)Key::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"); }) ==
          error::invalid_key);
    std::string const ed448 = openssl_public_pem(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED448"));
    CHECK(code_of([&] { (void)Key::from_pem(ed448); }) == error::unsupported_key);
    json::object alg_bad = rsa;
    alg_bad["alg"] = "none";
    CHECK(code_of([&] { (void)Key::from_jwk(alg_bad); }) == error::unsupported_key);
}

TEST_CASE("a JWK Set keeps its good keys and skips bad entries", "[auth][keys][jwks]") {
    json::object const rsa = verification_key(Algorithm::rs256).public_jwk();
    json::object const ec = verification_key(Algorithm::es256).public_jwk();
    json::object const ed = verification_key(Algorithm::eddsa).public_jwk();
    json::object weak = Key::from_pem(Key::generate(Algorithm::rs256).public_pem()).public_jwk();
    weak["n"] = base64url_encode(std::string(128, '\x7f'));
    weak["kid"] = "weak";
    json::object off = ec;
    off["kid"] = "off-curve";
    off["x"] = base64url_encode(std::string(32, '\x01'));
    json::object enc = ed;
    enc["kid"] = "enc";
    enc["use"] = "enc";
    json::object mismatch = rsa;
    mismatch["kid"] = "mismatch";
    mismatch["alg"] = "ES256";
    json::object dup_a = ec, dup_b = ed;
    dup_a["kid"] = "dup";
    dup_b["kid"] = "dup";
    json::array keys{rsa, ec, ed, json::object{{"kty", "oct"}, {"kid", "HS256"}, {"k", base64url_encode(std::string(32, 'a'))}},
                     weak, off, enc, mismatch, dup_a, dup_b, "not an object", json::object{{"kty", "XYZ"}}};
    std::vector<std::string> skipped;
    KeySet const set = KeySet::from_jwks(json::serialize(json::object{{"keys", keys}}), &skipped);
    CHECK(set.size() == 3);
    CHECK(set.find("RS256"));
    CHECK(set.find("ES256"));
    CHECK(set.find("EdDSA"));
    CHECK_FALSE(set.find("HS256"));
    CHECK_FALSE(set.find("dup"));
    CHECK(skipped.size() == 8);  // the duplicate kid is reported once; both of its entries are dropped
    // the good keys verify
    JwtVerifier v = verifier_for({Algorithm::rs256, Algorithm::es256, Algorithm::eddsa, Algorithm::hs256});
    for (Algorithm alg : {Algorithm::rs256, Algorithm::es256, Algorithm::eddsa})
        CHECK_NOTHROW(v.verify(token(good_claims(), alg), set));
    // the oct entry was not taken: an HS256 token naming it finds no key
    boost::system::error_code why;
    (void)v.verify(sign_jwt(good_claims(), Key::hmac(std::string(32, 'a'), "HS256"), Algorithm::hs256), set, why);
    CHECK(why == make_error_code(error::unknown_key_id));
    // round trip
    CHECK(KeySet::from_jwks(set.to_jwks()).size() == 3);
    // not a JWK Set
    for (char const* doc : {"", "[]", "{}", R"({"keys":{}})", "{\"keys\":[", "null"}) {
        INFO(doc);
        CHECK(code_of([&] { (void)KeySet::from_jwks(doc); }) == error::invalid_jwks);
    }
    CHECK(KeySet::from_jwks(R"({"keys":[]})").empty());
}

TEST_CASE("a JWK whose key_ops lacks verify, or whose use is not sig, never verifies", "[auth][keys][key_ops]") {
    json::object const ec = verification_key(Algorithm::es256).public_jwk();
    auto with = [&](char const* name, json::value value) {
        json::object j = ec;
        j[name] = std::move(value);
        return Key::from_jwk(j);
    };
    CHECK(Key::from_jwk(ec).may_verify());
    CHECK(with("key_ops", json::array{"verify"}).may_verify());
    CHECK(with("key_ops", json::array{"sign", "verify"}).may_verify());
    CHECK_FALSE(with("key_ops", json::array{"encrypt"}).may_verify());
    CHECK_FALSE(with("key_ops", json::array{"sign"}).may_verify());
    CHECK_FALSE(with("key_ops", json::array{}).may_verify());
    CHECK_FALSE(with("key_ops", json::array{"VERIFY"}).may_verify());  // case-sensitive (RFC 7517 §4.3)
    CHECK_FALSE(with("use", "enc").may_verify());
    CHECK(code_of([&] { (void)with("key_ops", "verify"); }) == error::invalid_key);
    CHECK(code_of([&] { (void)with("key_ops", json::array{1}); }) == error::invalid_key);

    // a verifier holding it refuses the token the matching private key signed, with or without kid
    std::string const signed_token = token(good_claims(), Algorithm::es256);
    JwtVerifier v;
    v.issuer("https://issuer.test").audience("chatkit").clock(fixed_now).allow(Algorithm::es256);
    v.add_key(with("key_ops", json::array{"encrypt"}));
    CHECK(rejection(v, signed_token) == make_error_code(error::key_algorithm_mismatch));
    CHECK(rejection(v, token(R"({"alg":"ES256"})", json::serialize(good_claims()), Algorithm::es256)) ==
          make_error_code(error::unknown_key_id));
    JwtVerifier ok = v;
    ok.keys(KeySet{}).add_key(with("key_ops", json::array{"verify"}));
    check_accepted(ok, signed_token);

    // a JWK Set drops it
    json::object no_verify = ec;
    no_verify["key_ops"] = json::array{"encrypt"};
    std::vector<std::string> skipped;
    KeySet const set = KeySet::from_jwks(json::serialize(json::object{{"keys", json::array{no_verify}}}), &skipped);
    CHECK(set.size() == 0);
    CHECK(skipped.size() == 1);
}
