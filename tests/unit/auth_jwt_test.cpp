// JwtVerifier against the attack classes of SECURITY.md §3: one section per class, each failure
// checked through the result form and the throwing form with its own error code.
#include "auth_test_keys.hpp"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

using namespace authtest;

namespace {

std::string b64(std::string_view s) { return base64url_encode(s); }

/// header.payload.signature from raw segment texts (already encoded), signed over exactly them.
std::string signed_over(std::string const& h64, std::string const& p64, Algorithm alg) {
    std::string const input = h64 + "." + p64;
    return input + "." + b64(jws_sign(alg, signing_key(alg), input));
}

/// Replaces the signature segment of `t`.
std::string with_signature(std::string const& t, std::string const& raw_signature) {
    return t.substr(0, t.rfind('.') + 1) + b64(raw_signature);
}

std::string raw_signature(std::string const& t) { return *base64url_decode(t.substr(t.rfind('.') + 1)); }

std::string bn_fixed(BIGNUM const* bn, int size) {
    std::string out(static_cast<std::size_t>(size), '\0');
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), size);
    return out;
}

/// The P-256 group order n.
BIGNUM* p256_order() {
    BIGNUM* n = nullptr;
    BN_hex2bn(&n, "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");
    return n;
}

}  // namespace

TEST_CASE("JwtVerifier accepts a valid token of every algorithm", "[auth][jwt]") {
    JwtVerifier const v = verifier_for_all();
    for (Algorithm alg : all_algorithms()) {
        INFO(algorithm_name(alg));
        Claims c = check_accepted(v, token(good_claims(), alg));
        CHECK(c.algorithm == alg);
        CHECK(c.key_id == algorithm_name(alg));
        CHECK(c.issuer == "https://issuer.test");
        REQUIRE(c.audience.size() == 1);
        CHECK(c.audience[0] == "chatkit");
        REQUIRE(c.expires_at);
        CHECK(*c.expires_at == fixed_now() + std::chrono::seconds(600));
        // also through sign_jwt (header built by the library)
        check_accepted(v, sign_jwt(good_claims(), signing_key(alg), alg));
    }
}

TEST_CASE("alg none is rejected in every spelling, with or without a signature", "[auth][jwt][none]") {
    JwtVerifier const v = verifier_for_all();
    std::string const payload = b64(json::serialize(good_claims()));
    std::string const rs_sig = token(good_claims(), Algorithm::rs256).substr(token(good_claims(), Algorithm::rs256).rfind('.'));
    for (char const* none : {"none", "None", "NONE", "nOnE"}) {
        INFO(none);
        std::string header_json = R"({"alg":")";
        header_json += none;
        header_json += R"(","typ":"JWT"})";
        std::string unsigned_part = b64(header_json);
        unsigned_part += ".";
        unsigned_part += payload;
        CHECK(rejection(v, unsigned_part + ".") == make_error_code(error::algorithm_not_allowed));
        CHECK(rejection(v, unsigned_part + rs_sig) == make_error_code(error::algorithm_not_allowed));
        CHECK(rejection(v, unsigned_part) == make_error_code(error::malformed_token));  // two segments
        CHECK_THROWS_AS(JwtVerifier().allow(none), Error);
        CHECK_FALSE(algorithm_from_name(none).has_value());
    }
}

TEST_CASE("HS256 signed with the RSA public key is rejected (algorithm confusion)", "[auth][jwt][confusion]") {
    Key const rsa_public = verification_key(Algorithm::rs256);
    std::string const pem = rsa_public.public_pem();
    std::string const jwk_text = json::serialize(rsa_public.public_jwk());
    std::vector<std::string> secrets = {pem, pem.substr(0, pem.size() - 1), jwk_text};
    for (auto const& secret : secrets) {
        Key const attacker = Key::hmac(secret, "RS256");
        std::string const t = sign_jwt_raw(R"({"alg":"HS256","typ":"JWT","kid":"RS256"})", json::serialize(good_claims()),
                                           attacker, Algorithm::hs256);
        // asymmetric-only verifier: HS256 is simply not allowed
        CHECK(rejection(verifier_for({Algorithm::rs256}), t) == make_error_code(error::algorithm_not_allowed));
        // mixed verifier: the kid names an RSA key, which never verifies an HMAC
        JwtVerifier mixed = verifier_for({Algorithm::rs256});
        mixed.allow(Algorithm::hs256);
        CHECK(rejection(mixed, t) == make_error_code(error::key_algorithm_mismatch));
        // without kid, no single HMAC key exists
        std::string const no_kid =
            sign_jwt_raw(R"({"alg":"HS256"})", json::serialize(good_claims()), attacker, Algorithm::hs256);
        CHECK(rejection(mixed, no_kid) == make_error_code(error::unknown_key_id));
        // with a configured secret, the attacker's MAC does not verify
        JwtVerifier with_secret = verifier_for({Algorithm::rs256, Algorithm::hs256});
        CHECK(rejection(with_secret, no_kid) == make_error_code(error::invalid_signature));
    }
}

TEST_CASE("key type is bound to the algorithm", "[auth][jwt][keytype]") {
    JwtVerifier const v = verifier_for_all();
    // ES256 token naming the RSA key, RS256 token naming the EC key, EdDSA naming HS256...
    CHECK(rejection(v, token(R"({"alg":"ES256","kid":"RS256"})", json::serialize(good_claims()), Algorithm::es256)) == make_error_code(error::key_algorithm_mismatch));
    CHECK(rejection(v, token(R"({"alg":"RS256","kid":"ES256"})", json::serialize(good_claims()), Algorithm::rs256)) == make_error_code(error::key_algorithm_mismatch));
    CHECK(rejection(v, token(R"({"alg":"ES384","kid":"ES256"})", json::serialize(good_claims()), Algorithm::es384)) == make_error_code(error::key_algorithm_mismatch));
    CHECK(rejection(v, token(R"({"alg":"EdDSA","kid":"HS256"})", json::serialize(good_claims()), Algorithm::eddsa)) == make_error_code(error::key_algorithm_mismatch));
    // a PS256 token signed by the RSA key of RS256: type fits, the JWK alg restriction does not
    JwtVerifier restricted;
    restricted.allow("RS256,PS256").clock(fixed_now).add_key(verification_key(Algorithm::rs256).with_algorithm(Algorithm::rs256));
    std::string const ps = sign_jwt_raw(R"({"alg":"PS256","kid":"RS256"})", json::serialize(good_claims()),
                                        signing_key(Algorithm::rs256), Algorithm::ps256);
    CHECK(rejection(restricted, ps) == make_error_code(error::key_algorithm_mismatch));
    // a JWK with use "enc" never verifies
    json::object jwk = verification_key(Algorithm::es256).public_jwk();
    jwk["use"] = "enc";
    JwtVerifier enc;
    enc.allow(Algorithm::es256).clock(fixed_now).add_key(Key::from_jwk(jwk));
    CHECK(rejection(enc, token(good_claims(), Algorithm::es256)) == make_error_code(error::key_algorithm_mismatch));
    // HS384 needs a 48-byte secret
    JwtVerifier hs384;
    hs384.allow(Algorithm::hs384).clock(fixed_now).add_key(Key::hmac(std::string(32, 'k'), "k"));
    CHECK(rejection(hs384, sign_jwt_raw(R"({"alg":"HS384","kid":"k"})", json::serialize(good_claims()),
                                Key::hmac(std::string(32, 'k'), "k").with_kid("k"), Algorithm::hs256)) == make_error_code(error::weak_key));
}

TEST_CASE("only allowed algorithms are accepted; alg must be an exact string", "[auth][jwt][allowlist]") {
    JwtVerifier const rs_only = verifier_for({Algorithm::rs256});
    JwtVerifier const all = verifier_for_all();
    std::string const payload = json::serialize(good_claims());
    CHECK(rejection(rs_only, token(good_claims(), Algorithm::ps256)) == make_error_code(error::algorithm_not_allowed));
    CHECK(rejection(rs_only, token(good_claims(), Algorithm::rs512)) == make_error_code(error::algorithm_not_allowed));
    CHECK(rejection(verifier_for({Algorithm::hs256}), token(good_claims(), Algorithm::rs256)) == make_error_code(error::algorithm_not_allowed));
    CHECK(rejection(all, token(R"({"alg":"rs256","kid":"RS256"})", payload, Algorithm::rs256)) == make_error_code(error::algorithm_not_allowed));
    CHECK(rejection(all, token(R"({"alg":"ES256K","kid":"ES256"})", payload, Algorithm::es256)) == make_error_code(error::algorithm_not_allowed));
    CHECK(rejection(all, token(R"({"kid":"RS256"})", payload, Algorithm::rs256)) == make_error_code(error::missing_algorithm));
    CHECK(rejection(all, token(R"({"alg":["RS256"],"kid":"RS256"})", payload, Algorithm::rs256)) == make_error_code(error::missing_algorithm));
    CHECK(rejection(all, token(R"({"alg":null,"kid":"RS256"})", payload, Algorithm::rs256)) == make_error_code(error::missing_algorithm));
    // a verifier that allows nothing accepts nothing
    JwtVerifier none_allowed;
    none_allowed.add_key(verification_key(Algorithm::rs256)).clock(fixed_now);
    CHECK(rejection(none_allowed, token(good_claims(), Algorithm::rs256)) == make_error_code(error::algorithm_not_allowed));
    CHECK_THROWS_AS(JwtVerifier().allow("RS256,HS257"), Error);
}

TEST_CASE("kid is an opaque exact lookup key", "[auth][jwt][kid]") {
    JwtVerifier const v = verifier_for({Algorithm::rs256, Algorithm::es256});
    std::string const payload = json::serialize(good_claims());
    auto with_kid = [&](std::string const& kid_json) {
        return token(R"({"alg":"RS256","kid":)" + kid_json + "}", payload, Algorithm::rs256);
    };
    CHECK(rejection(v, with_kid(R"("../../../../dev/null")")) == make_error_code(error::unknown_key_id));
    CHECK(rejection(v, with_kid(R"("x' UNION SELECT 'attacker-key' --")")) == make_error_code(error::unknown_key_id));
    CHECK(rejection(v, with_kid(R"("RS256; rm -rf /")")) == make_error_code(error::unknown_key_id));
    CHECK(rejection(v, with_kid(R"("RS256\u0000evil")")) == make_error_code(error::unknown_key_id));  // real key signed it
    CHECK(rejection(v, with_kid(R"("rs256")")) == make_error_code(error::unknown_key_id));
    CHECK(rejection(v, with_kid("42")) == make_error_code(error::unknown_key_id));
    CHECK(rejection(v, with_kid("\"" + std::string(4000, 'k') + "\"")) == make_error_code(error::unknown_key_id));
    CHECK(rejection(v, with_kid(R"("unknown")")) == make_error_code(error::unknown_key_id));
    // HS256 keyed with the empty string ("as if /dev/null had been read") never verifies: no such key
    JwtVerifier hs = verifier_for({Algorithm::hs256});
    std::string const dev_null_input = b64(R"({"alg":"HS256","kid":"../../dev/null"})") + "." + b64(payload);
    unsigned char mac[64];
    std::size_t len = 0;
    EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, "", 0,
              reinterpret_cast<unsigned char const*>(dev_null_input.data()), dev_null_input.size(), mac, sizeof mac, &len);
    CHECK(rejection(hs, dev_null_input + "." + b64(std::string(reinterpret_cast<char*>(mac), len))) == make_error_code(error::unknown_key_id));
    // without a kid, the single key fitting the algorithm is used
    check_accepted(v, token(R"({"alg":"RS256"})", payload, Algorithm::rs256));
    // ...but two RSA keys make a kid-less token ambiguous
    JwtVerifier two = verifier_for({Algorithm::rs256});
    two.add_key(Key::generate(Algorithm::rs256, "second").with_kid("second"));
    CHECK(rejection(two, token(R"({"alg":"RS256"})", payload, Algorithm::rs256)) == make_error_code(error::unknown_key_id));
}

TEST_CASE("jku, x5u, jwk and x5c headers never supply a key", "[auth][jwt][jku]") {
    JwtVerifier const v = verifier_for({Algorithm::rs256});
    Key const attacker = Key::generate(Algorithm::rs256, "attacker");
    std::string const payload = json::serialize(good_claims());
    std::string const jwk = json::serialize(Key::from_pem(attacker.public_pem(), "attacker").public_jwk());
    for (std::string const& extra : {std::string(R"("jku":"http://127.0.0.1:18081/jwks.json")"),
                                     std::string(R"("x5u":"http://127.0.0.1:18081/cert.pem")"),
                                     R"("jwk":)" + jwk, std::string(R"("x5c":["MIIB"])")}) {
        INFO(extra);
        CHECK(rejection(v, sign_jwt_raw(R"({"alg":"RS256","kid":"attacker",)" + extra + "}", payload, attacker, Algorithm::rs256)) == make_error_code(error::unknown_key_id));
        CHECK(rejection(v, sign_jwt_raw(R"({"alg":"RS256","kid":"RS256",)" + extra + "}", payload, attacker, Algorithm::rs256)) == make_error_code(error::invalid_signature));
    }
}

TEST_CASE("exp, nbf and iat are checked against the clock with a bounded leeway", "[auth][jwt][time]") {
    JwtVerifier const v = verifier_for({Algorithm::es256});  // default leeway 60 s
    auto with = [](char const* name, json::value value) {
        json::object c = good_claims();
        c[name] = std::move(value);
        return token(c, Algorithm::es256);
    };
    CHECK(rejection(v, with("exp", now_s - 3600)) == make_error_code(error::token_expired));
    CHECK(rejection(v, with("exp", now_s - 61)) == make_error_code(error::token_expired));
    check_accepted(v, with("exp", now_s - 59));
    CHECK(rejection(v, with("nbf", now_s + 3600)) == make_error_code(error::token_not_yet_valid));
    CHECK(rejection(v, with("nbf", now_s + 61)) == make_error_code(error::token_not_yet_valid));
    check_accepted(v, with("nbf", now_s + 59));
    CHECK(rejection(v, with("iat", now_s + 61)) == make_error_code(error::token_issued_in_future));
    check_accepted(v, with("iat", now_s + 59));
    CHECK(rejection(v, with("exp", "1900000000")) == make_error_code(error::invalid_claim));
    CHECK(rejection(v, with("exp", nullptr)) == make_error_code(error::invalid_claim));
    CHECK(rejection(v, with("exp", true)) == make_error_code(error::invalid_claim));
    CHECK(rejection(v, with("nbf", json::array{1})) == make_error_code(error::invalid_claim));
    check_accepted(v, with("exp", static_cast<double>(now_s) + 0.5));
    check_accepted(v, with("exp", 1e300));  // far future: accepted, no undefined conversion
    CHECK(rejection(v, with("exp", -1e300)) == make_error_code(error::token_expired));
    json::object no_exp = good_claims();
    no_exp.erase("exp");
    CHECK(rejection(v, token(no_exp, Algorithm::es256)) == make_error_code(error::missing_expiration));
    JwtVerifier lenient = verifier_for({Algorithm::es256});
    lenient.require_expiration(false);
    check_accepted(lenient, token(no_exp, Algorithm::es256));
    // leeway 0 is exact; leeway beyond 300 s is refused
    JwtVerifier strict = verifier_for({Algorithm::es256});
    strict.leeway(std::chrono::seconds(0));
    CHECK(rejection(strict, with("exp", now_s)) == make_error_code(error::token_expired));
    check_accepted(strict, with("exp", now_s + 1));
    CHECK_THROWS_AS(JwtVerifier().leeway(std::chrono::seconds(301)), std::invalid_argument);
    CHECK_THROWS_AS(JwtVerifier().leeway(std::chrono::seconds(-1)), std::invalid_argument);
}

TEST_CASE("iss and aud are required and compared exactly when configured", "[auth][jwt][claims]") {
    JwtVerifier const v = verifier_for({Algorithm::eddsa});
    auto with = [](char const* name, json::value value) {
        json::object c = good_claims();
        c[name] = std::move(value);
        return token(c, Algorithm::eddsa);
    };
    auto without = [](char const* name) {
        json::object c = good_claims();
        c.erase(name);
        return token(c, Algorithm::eddsa);
    };
    CHECK(rejection(v, with("iss", "https://evil.test")) == make_error_code(error::issuer_mismatch));
    CHECK(rejection(v, with("iss", "https://issuer.test/")) == make_error_code(error::issuer_mismatch));
    CHECK(rejection(v, with("iss", "https://ISSUER.test")) == make_error_code(error::issuer_mismatch));
    CHECK(rejection(v, with("iss", json::array{"https://issuer.test"})) == make_error_code(error::invalid_claim));
    CHECK(rejection(v, without("iss")) == make_error_code(error::missing_issuer));
    CHECK(rejection(v, with("aud", "other")) == make_error_code(error::audience_mismatch));
    CHECK(rejection(v, with("aud", json::array{"a", "b"})) == make_error_code(error::audience_mismatch));
    CHECK(rejection(v, with("aud", "chat")) == make_error_code(error::audience_mismatch));
    CHECK(rejection(v, with("aud", "chatkit2")) == make_error_code(error::audience_mismatch));
    CHECK(rejection(v, with("aud", json::array{})) == make_error_code(error::audience_mismatch));
    CHECK(rejection(v, with("aud", 7)) == make_error_code(error::invalid_claim));
    CHECK(rejection(v, without("aud")) == make_error_code(error::missing_audience));
    Claims c = check_accepted(v, with("aud", json::array{"other", "chatkit"}));
    CHECK(c.audience.size() == 2);
    // unconfigured: not required; but a token minted for an audience is refused when the verifier
    // names none (PyJWT's rule; before issue 15 it was accepted)
    JwtVerifier open;
    open.allow(Algorithm::eddsa).clock(fixed_now).add_key(verification_key(Algorithm::eddsa));
    check_accepted(open, without("aud"));
    json::object no_iss_no_aud = good_claims();
    no_iss_no_aud.erase("iss");
    no_iss_no_aud.erase("aud");
    check_accepted(open, token(no_iss_no_aud, Algorithm::eddsa));
    CHECK(rejection(open, without("iss")) == make_error_code(error::audience_mismatch));
    CHECK(rejection(open, with("aud", "other-app")) == make_error_code(error::audience_mismatch));
    CHECK(rejection(open, with("aud", json::array{})) == make_error_code(error::audience_mismatch));
}

TEST_CASE("an empty issuer or audience throws instead of disabling the check", "[auth][jwt][claims]") {
    JwtVerifier v;
    CHECK_THROWS_AS(v.issuer(""), std::invalid_argument);
    CHECK_THROWS_AS(v.audience(""), std::invalid_argument);
    // the failed calls left nothing configured: a token with aud is still refused
    v.allow(Algorithm::eddsa).clock(fixed_now).add_key(verification_key(Algorithm::eddsa));
    CHECK(rejection(v, token(good_claims(), Algorithm::eddsa)) == make_error_code(error::audience_mismatch));
    // and a configured one stays in force after a failed empty call
    JwtVerifier w = verifier_for({Algorithm::eddsa});
    CHECK_THROWS_AS(w.issuer(""), std::invalid_argument);
    json::object evil = good_claims();
    evil["iss"] = "https://evil.test";
    CHECK(rejection(w, token(evil, Algorithm::eddsa)) == make_error_code(error::issuer_mismatch));
}

TEST_CASE("require_key_id refuses kid-less tokens", "[auth][jwt][kid]") {
    JwtVerifier v = verifier_for({Algorithm::es256});
    std::string const payload = json::serialize(good_claims());
    std::string const kidless = token(R"({"alg":"ES256"})", payload, Algorithm::es256);
    check_accepted(v, kidless);  // default off: the single fitting key is used
    v.require_key_id(true);
    CHECK(rejection(v, kidless) == make_error_code(error::missing_key_id));
    check_accepted(v, token(good_claims(), Algorithm::es256));  // kid "ES256"
    CHECK(rejection(v, token(R"({"alg":"ES256","kid":"other"})", payload, Algorithm::es256)) ==
          make_error_code(error::unknown_key_id));
    v.require_key_id(false);
    check_accepted(v, kidless);
}

TEST_CASE("tenant_key is issuer + subject, unambiguously encoded", "[auth][jwt][tenant]") {
    auto key = [](std::string iss, std::string sub) {
        Claims c;
        c.issuer = std::move(iss);
        c.subject = std::move(sub);
        return c.tenant_key();
    };
    CHECK(key("https://a.example", "alice") == "https://a.example|alice");
    CHECK(key("", "alice") == "|alice");
    CHECK(key("https://a.example", "alice") != key("https://b.example", "alice"));
    CHECK(key("a|b", "c") == "a%7Cb|c");
    CHECK(key("a%b", "c") == "a%25b|c");
    // a `|` moved between issuer and subject never collides
    CHECK(key("a|b", "c") != key("a", "b|c"));
    CHECK(key("a%7Cb", "c") != key("a|b", "c"));
    CHECK(key("", "a|b") != key("a", "b"));
    // from a verified token
    JwtVerifier const v = verifier_for({Algorithm::es256});
    CHECK(check_accepted(v, token(good_claims(), Algorithm::es256)).tenant_key() == "https://issuer.test|alice");
}

TEST_CASE("sub must be a non-empty string", "[auth][jwt][sub]") {
    JwtVerifier const v = verifier_for({Algorithm::hs256});
    auto with = [](json::value value) {
        json::object c = good_claims();
        c["sub"] = std::move(value);
        return token(c, Algorithm::hs256);
    };
    json::object c = good_claims();
    c.erase("sub");
    CHECK(rejection(v, token(c, Algorithm::hs256)) == make_error_code(error::missing_subject));
    CHECK(rejection(v, with("")) == make_error_code(error::missing_subject));
    CHECK(rejection(v, with(42)) == make_error_code(error::missing_subject));
    CHECK(rejection(v, with(json::string("user_alice\0x", 12))) == make_error_code(error::missing_subject));
    check_accepted(v, with("../alice' OR '1'='1"), "../alice' OR '1'='1");
}

TEST_CASE("oversized tokens are rejected before decoding", "[auth][jwt][size]") {
    JwtVerifier const v = verifier_for({Algorithm::rs256});
    auto padded = [](std::size_t target) {
        json::object c = good_claims();
        c["pad"] = "";
        std::string t = token(c, Algorithm::rs256);
        std::size_t const grow = (target - t.size()) * 3 / 4;
        c["pad"] = std::string(grow, 'p');
        return token(c, Algorithm::rs256);
    };
    std::string const near = padded(8192 - 100);
    REQUIRE(near.size() <= 8192);
    check_accepted(v, near);
    std::string over = padded(8192 + 30);
    REQUIRE(over.size() > 8192);
    CHECK(rejection(v, over) == make_error_code(error::token_too_large));
    CHECK(rejection(v, std::string(1400 * 1024, 'a')) == make_error_code(error::token_too_large));
    // deep nesting does not exhaust the stack: depth > 32 is invalid JSON
    JwtVerifier big = verifier_for({Algorithm::rs256});
    big.max_token_size(1 << 20);
    std::string const deep = R"({"sub":"alice","x":)" + std::string(1000, '[') + std::string(1000, ']') + "}";
    CHECK(rejection(big, token(header_of(Algorithm::rs256), deep, Algorithm::rs256)) == make_error_code(error::invalid_json));
}

TEST_CASE("duplicate member names are rejected in header and payload", "[auth][jwt][duplicates]") {
    JwtVerifier const v = verifier_for({Algorithm::rs256});
    std::string const payload = json::serialize(good_claims());
    CHECK(rejection(v, token(R"({"alg":"none","kid":"RS256","alg":"RS256"})", payload, Algorithm::rs256)) == make_error_code(error::duplicate_member));
    CHECK(rejection(v, token(R"({"alg":"RS256","kid":"nope","kid":"RS256"})", payload, Algorithm::rs256)) == make_error_code(error::duplicate_member));
    std::string const dup_sub = R"({"sub":"user_alice","iss":"https://issuer.test","aud":"chatkit","exp":)" +
                                std::to_string(now_s + 600) + R"(,"sub":"user_admin"})";
    CHECK(rejection(v, token(header_of(Algorithm::rs256), dup_sub, Algorithm::rs256)) == make_error_code(error::duplicate_member));
    std::string const dup_exp = R"({"sub":"alice","iss":"https://issuer.test","aud":"chatkit","exp":1,"exp":)" +
                                std::to_string(now_s + 600) + "}";
    CHECK(rejection(v, token(header_of(Algorithm::rs256), dup_exp, Algorithm::rs256)) == make_error_code(error::duplicate_member));
    std::string const nested = R"({"sub":"alice","iss":"https://issuer.test","aud":"chatkit","exp":)" +
                               std::to_string(now_s + 600) + R"(,"ctx":{"role":"user","role":"admin"}})";
    CHECK(rejection(v, token(header_of(Algorithm::rs256), nested, Algorithm::rs256)) == make_error_code(error::duplicate_member));
    // the same name in sibling objects is fine
    std::string const siblings = R"({"sub":"alice","iss":"https://issuer.test","aud":"chatkit","exp":)" +
                                 std::to_string(now_s + 600) + R"(,"a":{"x":1},"b":{"x":2}})";
    check_accepted(v, token(header_of(Algorithm::rs256), siblings, Algorithm::rs256));
    boost::system::error_code ec;
    (void)parse_json_object_strict(R"({"a":1,"a":1})", ec);
    CHECK(ec == make_error_code(error::duplicate_member));
    CHECK(parse_json_object_strict(R"({"a":1,"b":{"a":2}})", ec).size() == 2);
    CHECK_FALSE(ec);
    try {
        (void)parse_json_object_strict("[1]");
        FAIL("an array was accepted");
    } catch (Error const& e) {
        CHECK(e.code() == make_error_code(error::invalid_json));
    }
}

TEST_CASE("any crit header is rejected", "[auth][jwt][crit]") {
    JwtVerifier const v = verifier_for({Algorithm::rs256});
    std::string const payload = json::serialize(good_claims());
    for (char const* crit : {R"("crit":["exp"],"exp":1)", R"("crit":[])", R"("crit":["alg"])", R"("crit":"x")",
                             R"("crit":["b64"],"b64":false)", R"("crit":["dangling"])"}) {
        INFO(crit);
        CHECK(rejection(v, token(std::string(R"({"alg":"RS256","kid":"RS256",)") + crit + "}", payload, Algorithm::rs256)) == make_error_code(error::unsupported_critical_header));
    }
}

TEST_CASE("strict base64url and exactly three segments", "[auth][jwt][encoding]") {
    JwtVerifier const v = verifier_for({Algorithm::rs256});
    std::string const h64 = b64(header_of(Algorithm::rs256));
    std::string const p64 = b64(json::serialize(good_claims()));
    check_accepted(v, signed_over(h64, p64, Algorithm::rs256));
    // each malformation signed over the malformed text, so only the decoder can catch it
    std::string const p_plus = [&] {
        std::string s = p64;
        s[s.size() / 2] = '+';
        return s;
    }();
    CHECK(rejection(v, signed_over(h64 + "=", p64, Algorithm::rs256)) == make_error_code(error::invalid_base64url));
    CHECK(rejection(v, signed_over(h64, p64 + "==", Algorithm::rs256)) == make_error_code(error::invalid_base64url));
    CHECK(rejection(v, signed_over(h64, p_plus, Algorithm::rs256)) == make_error_code(error::invalid_base64url));
    CHECK(rejection(v, signed_over(h64, " " + p64, Algorithm::rs256)) == make_error_code(error::invalid_base64url));
    CHECK(rejection(v, signed_over(h64, p64 + "\n", Algorithm::rs256)) == make_error_code(error::invalid_base64url));
    std::string const std_b64 = signed_over(h64, p64, Algorithm::rs256);
    CHECK(rejection(v, std_b64.substr(0, std_b64.rfind('.') + 1) + "ab/c") == make_error_code(error::invalid_base64url));
    // non-canonical trailing bits: "QQ" is "A"; "QR" decodes to the same byte with bits set
    CHECK(base64url_decode("QQ") == std::optional<std::string>("A"));
    CHECK_FALSE(base64url_decode("QR").has_value());
    CHECK_FALSE(base64url_decode("Q").has_value());
    std::string const sig64 = std_b64.substr(std_b64.rfind('.') + 1);
    if (sig64.size() % 4 != 0) {
        std::string bad = sig64;
        char& last = bad.back();
        last = last == 'A' ? 'B' : static_cast<char>(last + 1);
        if (!base64url_decode(bad)) CHECK(rejection(v, std_b64.substr(0, std_b64.rfind('.') + 1) + bad) ==
                                                  make_error_code(error::invalid_base64url));
    }
    // structure
    CHECK(rejection(v, h64 + "." + p64) == make_error_code(error::malformed_token));
    CHECK(rejection(v, h64 + "." + p64 + ".sig.x.y") == make_error_code(error::malformed_token));  // JWE-like
    CHECK(rejection(v, "") == make_error_code(error::malformed_token));
    CHECK(rejection(v, "..") == make_error_code(error::malformed_token));
    CHECK(rejection(v, "." + p64 + ".c2ln") == make_error_code(error::malformed_token));
    CHECK(rejection(v, R"({"payload":"x","signatures":[]})") == make_error_code(error::malformed_token));  // JSON serialization
    // header and payload must be JSON objects, in UTF-8
    CHECK(rejection(v, signed_over(b64("[]"), p64, Algorithm::rs256)) == make_error_code(error::invalid_json));
    CHECK(rejection(v, signed_over(h64, b64("1"), Algorithm::rs256)) == make_error_code(error::invalid_json));
    CHECK(rejection(v, signed_over(h64, b64("{\"sub\":\"\xff\"}"), Algorithm::rs256)) == make_error_code(error::invalid_json));
    CHECK(rejection(v, signed_over(h64, b64("{\"sub\":"), Algorithm::rs256)) == make_error_code(error::invalid_json));
    CHECK(rejection(v, signed_over(h64, b64("{} {}"), Algorithm::rs256)) == make_error_code(error::invalid_json));
}

TEST_CASE("ECDSA signatures must be raw r||s of the exact length with r, s in [1, n-1]", "[auth][jwt][ecdsa]") {
    JwtVerifier const v = verifier_for({Algorithm::es256});
    std::string const good = token(good_claims(), Algorithm::es256);
    check_accepted(v, good);
    std::string const sig = raw_signature(good);
    REQUIRE(sig.size() == 64);

    BIGNUM* r = BN_bin2bn(reinterpret_cast<unsigned char const*>(sig.data()), 32, nullptr);
    BIGNUM* s = BN_bin2bn(reinterpret_cast<unsigned char const*>(sig.data()) + 32, 32, nullptr);
    BIGNUM* n = p256_order();
    // DER instead of raw (OpenSSL would accept these bytes as DER)
    ECDSA_SIG* es = ECDSA_SIG_new();
    ECDSA_SIG_set0(es, BN_dup(r), BN_dup(s));
    unsigned char* der = nullptr;
    int const der_len = i2d_ECDSA_SIG(es, &der);
    std::string const der_sig(reinterpret_cast<char*>(der), static_cast<std::size_t>(der_len));
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    CHECK(rejection(v, with_signature(good, der_sig)) == make_error_code(error::invalid_signature_format));
    CHECK(rejection(v, with_signature(good, sig.substr(1))) == make_error_code(error::invalid_signature_format));
    CHECK(rejection(v, with_signature(good, sig + '\0')) == make_error_code(error::invalid_signature_format));
    CHECK(rejection(v, with_signature(good, std::string(1, '\0') + sig)) == make_error_code(error::invalid_signature_format));
    CHECK(rejection(v, with_signature(good, std::string(64, '\0'))) == make_error_code(error::invalid_signature_format));  // r = s = 0
    BIGNUM* one = BN_new();
    BN_one(one);
    BIGNUM* zero = BN_new();
    BN_zero(zero);
    CHECK(rejection(v, with_signature(good, bn_fixed(zero, 32) + bn_fixed(one, 32))) == make_error_code(error::invalid_signature_format));
    CHECK(rejection(v, with_signature(good, bn_fixed(n, 32) + bn_fixed(n, 32))) == make_error_code(error::invalid_signature_format));  // r = s = n
    CHECK(rejection(v, with_signature(good, bn_fixed(r, 32) + bn_fixed(n, 32))) == make_error_code(error::invalid_signature_format));
    // r + n does not fit 32 bytes for P-256 in general; r = n - 1 is in range but wrong
    BIGNUM* n_minus_1 = BN_dup(n);
    BN_sub_word(n_minus_1, 1);
    CHECK(rejection(v, with_signature(good, bn_fixed(n_minus_1, 32) + bn_fixed(s, 32))) == make_error_code(error::invalid_signature));
    // (r, n - s) is mathematically valid too: JOSE does not require low-s, so it is accepted
    BIGNUM* malleated = BN_new();
    BN_sub(malleated, n, s);
    check_accepted(v, with_signature(good, bn_fixed(r, 32) + bn_fixed(malleated, 32)));
    for (BIGNUM* b : {r, s, n, one, zero, n_minus_1, malleated}) BN_free(b);
    // ES384 / ES512 lengths are 96 and 132
    JwtVerifier const v384 = verifier_for({Algorithm::es384, Algorithm::es512});
    CHECK(raw_signature(token(good_claims(), Algorithm::es384)).size() == 96);
    CHECK(raw_signature(token(good_claims(), Algorithm::es512)).size() == 132);
    CHECK(rejection(v384, with_signature(token(good_claims(), Algorithm::es512), std::string(128, '\1'))) == make_error_code(error::invalid_signature_format));
}

TEST_CASE("signature stripping, truncation and tampering are rejected", "[auth][jwt][tamper]") {
    JwtVerifier const v = verifier_for_all();
    for (Algorithm alg : all_algorithms()) {
        INFO(algorithm_name(alg));
        std::string const t = token(good_claims(), alg);
        std::string const sig = raw_signature(t);
        CHECK(rejection(v, t.substr(0, t.rfind('.') + 1)) == make_error_code(error::invalid_signature_format));  // stripped
        CHECK(rejection(v, with_signature(t, sig.substr(0, sig.size() - 1))) == make_error_code(error::invalid_signature_format));
        std::string flipped = sig;
        flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x01);
        auto const r = rejection(v, with_signature(t, flipped));
        // a flipped ECDSA byte may also push r or s out of range
        CHECK((r == make_error_code(error::invalid_signature) || r == make_error_code(error::invalid_signature_format)));
        // payload tampering: sub alice -> admin, signature kept
        json::object c = good_claims();
        c["sub"] = "admin";
        std::string const tampered =
            t.substr(0, t.find('.') + 1) + b64(json::serialize(c)) + t.substr(t.rfind('.'));
        CHECK(rejection(v, tampered) == make_error_code(error::invalid_signature));
        // header tampering: an added typ changes the signing input
        std::string const h2 = b64(std::string(R"({"alg":")") + algorithm_name(alg) + R"(","kid":")" + algorithm_name(alg) + R"(","typ":"at+jwt"})");
        CHECK(rejection(v, h2 + t.substr(t.find('.'))) == make_error_code(error::invalid_signature));
        // signed by another key with the same kid
        Key const attacker = Key::generate(alg, algorithm_name(alg));
        CHECK(rejection(v, sign_jwt(good_claims(), attacker, alg)) == make_error_code(error::invalid_signature));
    }
    // RSA signature with a leading zero byte: wrong length
    std::string const rs = token(good_claims(), Algorithm::rs256);
    CHECK(rejection(v, with_signature(rs, '\0' + raw_signature(rs))) == make_error_code(error::invalid_signature_format));
}

TEST_CASE("HMAC: minimum secret size, wrong and guessed secrets", "[auth][jwt][hmac]") {
    try {
        (void)Key::hmac("secret");
        FAIL("a 6-byte secret was accepted");
    } catch (Error const& e) {
        CHECK(e.code() == make_error_code(error::weak_key));
    }
    CHECK_THROWS_AS(Key::hmac(std::string(31, 'x')), Error);
    CHECK_NOTHROW(Key::hmac(std::string(32, 'x')));
    JwtVerifier const v = verifier_for({Algorithm::hs256});
    // signed with the dictionary secret "secret": MAC does not verify under the real secret
    std::string const input = b64(header_of(Algorithm::hs256)) + "." + b64(json::serialize(good_claims()));
    unsigned char mac[64];
    std::size_t len = 0;
    EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, "secret", 6,
              reinterpret_cast<unsigned char const*>(input.data()), input.size(), mac, sizeof mac, &len);
    CHECK(rejection(v, input + "." + b64(std::string(reinterpret_cast<char*>(mac), len))) == make_error_code(error::invalid_signature));
    CHECK(rejection(v, sign_jwt(good_claims(), Key::hmac(std::string(32, 'w'), "HS256"), Algorithm::hs256)) == make_error_code(error::invalid_signature));
    CHECK(rejection(v, input + ".") == make_error_code(error::invalid_signature_format));
}

TEST_CASE("every auth error code has its own message in the chatkit category", "[auth][errors]") {
    std::set<std::string> messages;
    int const first = static_cast<int>(error::token_too_large), last = static_cast<int>(error::ambiguous_credentials);
    for (int e = first; e <= last; ++e) {
        auto const ec = make_error_code(static_cast<error>(e));
        CHECK(std::string(ec.category().name()) == "chatkit");
        messages.insert(ec.message());
    }
    CHECK(messages.size() == static_cast<std::size_t>(last - first + 1));
    CHECK_FALSE(messages.count("unknown chatkit error"));
}

// Found by fuzz_jwt (UBSan): an `exp` of 3.69e10 s overflowed the nanosecond time point.
TEST_CASE("a token expiring centuries from now is accepted without overflowing the clock", "[auth][jwt][fuzz]") {
    JwtVerifier const v = verifier_for_all();
    json::object claims = good_claims();
    claims["exp"] = 36900000000.0;
    Claims c = check_accepted(v, token(claims, Algorithm::hs256));
    REQUIRE(c.expires_at);
    CHECK(*c.expires_at > fixed_now() + std::chrono::hours(24 * 365 * 200));
}
