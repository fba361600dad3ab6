// Shared helpers of the auth tests: keys generated at test time with OpenSSL (nothing committed),
// a pinned clock, standard claims and an error check through both API forms.
#pragma once

#include <chatkit/auth/jwt.hpp>
#include <chatkit/auth/keys.hpp>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <stdexcept>
#include <string>

namespace authtest {

namespace json = boost::json;
using namespace chatkit::auth;
using chatkit::base64url_decode;
using chatkit::base64url_encode;

/// "Now" for every verifier of these tests.
inline constexpr std::int64_t now_s = 1'800'000'000;
inline std::chrono::system_clock::time_point fixed_now() {
    return std::chrono::system_clock::time_point(std::chrono::seconds(now_s));
}

/// A private key (or secret) per algorithm, generated once per test run; kid = algorithm name.
inline Key const& signing_key(Algorithm alg) {
    static std::map<Algorithm, Key> keys;
    auto it = keys.find(alg);
    if (it == keys.end()) it = keys.emplace(alg, Key::generate(alg, algorithm_name(alg))).first;
    return it->second;
}

/// What the verifier holds for `alg`: the public key (through PEM), or the secret.
inline Key verification_key(Algorithm alg) {
    Key const& k = signing_key(alg);
    if (k.type() == KeyType::oct) return k;
    return Key::from_pem(k.public_pem(), k.kid());
}

/// Valid claims at `now_s`.
inline json::object good_claims() {
    return json::object{{"sub", "alice"}, {"iss", "https://issuer.test"}, {"aud", "chatkit"},
                        {"exp", now_s + 600}, {"iat", now_s - 10}};
}

/// A verifier allowing `algs`, with issuer, audience, the pinned clock and the keys of `algs`.
inline JwtVerifier verifier_for(std::initializer_list<Algorithm> algs) {
    JwtVerifier v;
    v.issuer("https://issuer.test").audience("chatkit").clock(fixed_now);
    for (Algorithm a : algs) v.allow(a).add_key(verification_key(a));
    return v;
}

/// A verifier allowing every algorithm, with every key.
inline JwtVerifier verifier_for_all() {
    JwtVerifier v;
    v.issuer("https://issuer.test").audience("chatkit").clock(fixed_now);
    for (Algorithm a : all_algorithms()) v.allow(a).add_key(verification_key(a));
    return v;
}

/// The standard header text of `alg` with kid = algorithm name.
inline std::string header_of(Algorithm alg) {
    return std::string(R"({"alg":")") + algorithm_name(alg) + R"(","typ":"JWT","kid":")" + algorithm_name(alg) + R"("})";
}

/// A token signed by the key of `alg` over the given header and payload texts.
inline std::string token(std::string const& header, std::string const& payload, Algorithm alg) {
    return sign_jwt_raw(header, payload, signing_key(alg), alg);
}

/// A token with standard header and `claims`.
inline std::string token(json::object const& claims, Algorithm alg) {
    return token(header_of(alg), json::serialize(claims), alg);
}

/// Why the token is rejected (the result form's code); throws when it is accepted, when the code is
/// outside the auth category, or when the throwing form disagrees.
inline boost::system::error_code rejection(JwtVerifier const& v, std::string const& t) {
    auto r = v.verify(t);
    if (r.has_value()) throw std::logic_error("the token was accepted");
    if (&r.error().category() != &auth_category())
        throw std::logic_error("rejected outside the auth category: " + r.error().message());
    try {
        (void)v.verify_or_throw(t);
    } catch (AuthError const& ex) {
        if (ex.code() != r.error())
            throw std::logic_error("verify_or_throw disagrees: " + ex.code().message() + " vs " + r.error().message());
        return r.error();
    }
    throw std::logic_error("verify_or_throw accepted the token");
}

/// The token is accepted and its subject is `sub`.
inline Claims check_accepted(JwtVerifier const& v, std::string const& t, std::string const& sub = "alice") {
    auto r = v.verify(t);
    if (!r) FAIL("rejected: " << r.error().message());
    CHECK(r->subject == sub);
    CHECK(v.verify_or_throw(t).subject == sub);
    return *r;
}

}  // namespace authtest
