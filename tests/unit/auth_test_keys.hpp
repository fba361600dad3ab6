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
using chatkit::Error;
using chatkit::error;

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

/// Why the token is rejected (the non-throwing form's code); throws when it is accepted, when the
/// code is outside the chatkit category or not an auth code, or when the throwing form disagrees.
inline boost::system::error_code rejection(JwtVerifier const& v, std::string const& t) {
    boost::system::error_code ec;
    (void)v.verify(t, ec);
    if (!ec) throw std::logic_error("the token was accepted");
    if (ec.category() != chatkit::chatkit_category())
        throw std::logic_error("rejected outside the chatkit category: " + ec.message());
    if (ec.value() < static_cast<int>(error::token_too_large) || ec.value() > static_cast<int>(error::ambiguous_credentials))
        throw std::logic_error("rejected with a code outside the auth block: " + ec.message());
    try {
        (void)v.verify(t);
    } catch (Error const& ex) {
        if (ex.code() != ec)
            throw std::logic_error("the throwing form disagrees: " + ex.code().message() + " vs " + ec.message());
        return ec;
    }
    throw std::logic_error("the throwing form accepted the token");
}

/// The token is accepted and its subject is `sub`.
inline Claims check_accepted(JwtVerifier const& v, std::string const& t, std::string const& sub = "alice") {
    boost::system::error_code ec;
    Claims c = v.verify(t, ec);
    if (ec) FAIL("rejected: " << ec.message());
    CHECK(c.subject == sub);
    CHECK(v.verify(t).subject == sub);
    return c;
}

}  // namespace authtest
