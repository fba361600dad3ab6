// chatkit-cpp auth: the JwtVerifier pipeline, strict JSON parsing and token signing.
#include <chatkit/auth/jwt.hpp>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cmath>
#include <stdexcept>
#include <unordered_set>

namespace chatkit::auth {

namespace json = boost::json;
using boost::system::error_code;

// --- strict JSON ---------------------------------------------------------------------------------

namespace {

/// A basic_parser handler that only tracks object member names, to find duplicates.
struct duplicate_finder {
    static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
    static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
    static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
    static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);

    std::vector<std::unordered_set<std::string>> objects;
    std::string key;
    bool duplicate = false;

    bool on_document_begin(error_code&) { return true; }
    bool on_document_end(error_code&) { return true; }
    bool on_array_begin(error_code&) { return true; }
    bool on_array_end(std::size_t, error_code&) { return true; }
    bool on_object_begin(error_code&) {
        objects.emplace_back();
        return true;
    }
    bool on_object_end(std::size_t, error_code&) {
        objects.pop_back();
        return true;
    }
    bool on_string_part(json::string_view, std::size_t, error_code&) { return true; }
    bool on_string(json::string_view, std::size_t, error_code&) { return true; }
    bool on_key_part(json::string_view s, std::size_t, error_code&) {
        key.append(s.data(), s.size());
        return true;
    }
    bool on_key(json::string_view s, std::size_t, error_code& ec) {
        key.append(s.data(), s.size());
        bool const inserted = objects.back().insert(std::move(key)).second;
        key.clear();
        if (!inserted) {
            duplicate = true;
            ec = json::error::syntax;  // stop parsing
            return false;
        }
        return true;
    }
    bool on_number_part(json::string_view, error_code&) { return true; }
    bool on_int64(std::int64_t, json::string_view, error_code&) { return true; }
    bool on_uint64(std::uint64_t, json::string_view, error_code&) { return true; }
    bool on_double(double, json::string_view, error_code&) { return true; }
    bool on_bool(bool, error_code&) { return true; }
    bool on_null(error_code&) { return true; }
    bool on_comment_part(json::string_view, error_code&) { return true; }
    bool on_comment(json::string_view, error_code&) { return true; }
};

}  // namespace

namespace {

boost::system::result<json::object> strict_object(std::string_view text) {
    json::parse_options opts;
    opts.max_depth = max_strict_json_depth;
    {
        json::basic_parser<duplicate_finder> p(opts);
        error_code ec;
        p.write_some(false, text.data(), text.size(), ec);
        if (p.handler().duplicate) return make_error_code(error::duplicate_member);
        if (ec) return make_error_code(error::invalid_json);
    }
    error_code ec;
    json::value v = json::parse(json::string_view(text.data(), text.size()), ec, {}, opts);
    if (ec || !v.is_object()) return make_error_code(error::invalid_json);
    return std::move(v.get_object());
}

// The value of `r`, or a default `T` with `ec` set: the non-throwing forms.
template <class T>
T value_or_clear(boost::system::result<T>&& r, error_code& ec) {
    if (!r) {
        ec = r.error();
        return T();
    }
    ec = {};
    return std::move(*r);
}

// The value of `r`, or throws `chatkit::Error` with its code: the throwing forms.
template <class T>
T value_or_throw(boost::system::result<T>&& r) {
    if (!r) throw Error(r.error());
    return std::move(*r);
}

}  // namespace

json::object parse_json_object_strict(std::string_view text) { return value_or_throw(strict_object(text)); }

json::object parse_json_object_strict(std::string_view text, error_code& ec) {
    return value_or_clear(strict_object(text), ec);
}

// --- Claims --------------------------------------------------------------------------------------

std::string Claims::tenant_key() const {
    std::string out;
    out.reserve(issuer.size() + subject.size() + 1);
    for (char c : issuer) {
        if (c == '%') out += "%25";
        else if (c == '|') out += "%7C";
        else out += c;
    }
    out += '|';
    out += subject;
    return out;
}

std::optional<std::string> Claims::string_claim(std::string_view name) const {
    auto const* v = payload.if_contains(name);
    if (!v || !v->is_string()) return std::nullopt;
    return std::string(v->get_string());
}

std::vector<std::string> Claims::string_list_claim(std::string_view name) const {
    std::vector<std::string> out;
    auto const* v = payload.if_contains(name);
    if (!v) return out;
    if (v->is_string()) {
        std::string_view s = v->get_string();
        if (name != "scope" && name != "scp") {
            out.emplace_back(s);
            return out;
        }
        std::size_t i = 0;
        while (i < s.size()) {
            std::size_t j = s.find(' ', i);
            if (j == std::string_view::npos) j = s.size();
            if (j > i) out.emplace_back(s.substr(i, j - i));
            i = j + 1;
        }
    } else if (v->is_array()) {
        for (auto const& e : v->get_array())
            if (e.is_string()) out.emplace_back(e.get_string());
    }
    return out;
}

// --- JwtVerifier ---------------------------------------------------------------------------------

JwtVerifier::JwtVerifier() : clock_([] { return std::chrono::system_clock::now(); }) {}

JwtVerifier& JwtVerifier::allow(Algorithm alg) {
    allowed_.insert(alg);
    return *this;
}

JwtVerifier& JwtVerifier::allow(std::string_view names) {
    std::size_t i = 0;
    while (i < names.size()) {
        std::size_t j = names.find_first_of(", ", i);
        if (j == std::string_view::npos) j = names.size();
        std::string_view const name = names.substr(i, j - i);
        if (!name.empty()) {
            auto alg = algorithm_from_name(name);
            if (!alg)
                throw_error(error::algorithm_not_allowed,
                            "unknown or forbidden algorithm: " + std::string(name.substr(0, 32)));
            allowed_.insert(*alg);
        }
        i = j + 1;
    }
    return *this;
}

JwtVerifier& JwtVerifier::issuer(std::string issuer) {
    if (issuer.empty()) throw std::invalid_argument("JwtVerifier issuer must not be empty");
    issuer_ = std::move(issuer);
    return *this;
}

JwtVerifier& JwtVerifier::audience(std::string audience) {
    if (audience.empty()) throw std::invalid_argument("JwtVerifier audience must not be empty");
    audiences_.push_back(std::move(audience));
    return *this;
}

JwtVerifier& JwtVerifier::leeway(std::chrono::seconds leeway) {
    if (leeway.count() < 0 || leeway > max_leeway) throw std::invalid_argument("JwtVerifier leeway must be within [0, 300] s");
    leeway_ = leeway;
    return *this;
}

JwtVerifier& JwtVerifier::clock(Clock clock) {
    clock_ = std::move(clock);
    return *this;
}

JwtVerifier& JwtVerifier::max_token_size(std::size_t bytes) {
    max_token_size_ = bytes;
    return *this;
}

JwtVerifier& JwtVerifier::require_expiration(bool on) {
    require_exp_ = on;
    return *this;
}

JwtVerifier& JwtVerifier::require_subject(bool on) {
    require_sub_ = on;
    return *this;
}

JwtVerifier& JwtVerifier::require_key_id(bool on) {
    require_kid_ = on;
    return *this;
}

JwtVerifier& JwtVerifier::keys(KeySet keys) {
    keys_ = std::move(keys);
    return *this;
}

JwtVerifier& JwtVerifier::add_key(Key key) {
    keys_.add(std::move(key));
    return *this;
}

namespace {

/// The structurally checked parts of a token.
struct parsed_token {
    json::object header;
    json::object payload;
    Algorithm alg = Algorithm::rs256;
    std::optional<std::string> kid;
    std::string_view signing_input;
    std::string signature;
};

boost::system::result<parsed_token> parse_token(std::string_view token, std::size_t max_size,
                                                std::set<Algorithm> const& allowed) {
    if (token.size() > max_size) return make_error_code(error::token_too_large);
    std::size_t const d1 = token.find('.');
    if (d1 == std::string_view::npos) return make_error_code(error::malformed_token);
    std::size_t const d2 = token.find('.', d1 + 1);
    if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos)
        return make_error_code(error::malformed_token);
    std::string_view const h64 = token.substr(0, d1), p64 = token.substr(d1 + 1, d2 - d1 - 1), s64 = token.substr(d2 + 1);
    if (h64.empty() || p64.empty()) return make_error_code(error::malformed_token);

    auto header_text = base64url_decode(h64);
    auto payload_text = base64url_decode(p64);
    auto signature = base64url_decode(s64);
    if (!header_text || !payload_text || !signature) return make_error_code(error::invalid_base64url);

    parsed_token t;
    auto header = strict_object(*header_text);
    if (!header) return header.error();
    auto payload = strict_object(*payload_text);
    if (!payload) return payload.error();
    t.header = std::move(*header);
    t.payload = std::move(*payload);

    auto const* alg = t.header.if_contains("alg");
    if (!alg || !alg->is_string()) return make_error_code(error::missing_algorithm);
    auto a = algorithm_from_name(std::string_view(alg->get_string()));
    if (!a || !allowed.count(*a)) return make_error_code(error::algorithm_not_allowed);
    t.alg = *a;
    // No JWS extension is implemented, so any crit (even [] or a registered name) is rejected.
    if (t.header.contains("crit")) return make_error_code(error::unsupported_critical_header);
    if (auto const* kid = t.header.if_contains("kid")) {
        if (!kid->is_string()) return make_error_code(error::unknown_key_id);
        t.kid = std::string(kid->get_string());
    }
    if (signature->empty()) return make_error_code(error::invalid_signature_format);
    t.signing_input = token.substr(0, d2);
    t.signature = std::move(*signature);
    return t;
}

/// A NumericDate claim as seconds since the epoch (a JSON number; fractions allowed).
boost::system::result<std::optional<double>> numeric_date(json::object const& payload, std::string_view name) {
    auto const* v = payload.if_contains(name);
    if (!v) return std::optional<double>();
    if (v->is_int64()) return std::optional<double>(static_cast<double>(v->get_int64()));
    if (v->is_uint64()) return std::optional<double>(static_cast<double>(v->get_uint64()));
    if (v->is_double() && std::isfinite(v->get_double())) return std::optional<double>(v->get_double());
    return make_error_code(error::invalid_claim);
}

std::chrono::system_clock::time_point to_time_point(double seconds) {
    // Clamp before converting: casting 1e300 to an integer would be undefined behaviour.
    // system_clock counts nanoseconds in an int64 (about +-9.2e9 s): 9e9 s (year 2255) stays inside.
    constexpr double limit = 9e9;
    double const clamped = std::max(-limit, std::min(limit, seconds));
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(clamped)));
}

}  // namespace

namespace {

boost::system::result<std::optional<std::string>> key_id_of(std::string_view token, std::size_t max_size,
                                                            std::set<Algorithm> const& allowed) {
    auto t = parse_token(token, max_size, allowed);
    if (!t) return t.error();
    return std::move(t->kid);
}

}  // namespace

std::optional<std::string> JwtVerifier::peek_key_id(std::string_view token) const {
    return value_or_throw(key_id_of(token, max_token_size_, allowed_));
}

std::optional<std::string> JwtVerifier::peek_key_id(std::string_view token, error_code& ec) const {
    return value_or_clear(key_id_of(token, max_token_size_, allowed_), ec);
}

Claims JwtVerifier::verify(std::string_view token) const { return value_or_throw(check(token, keys_)); }

Claims JwtVerifier::verify(std::string_view token, error_code& ec) const {
    return value_or_clear(check(token, keys_), ec);
}

Claims JwtVerifier::verify(std::string_view token, KeySet const& keys) const {
    return value_or_throw(check(token, keys));
}

Claims JwtVerifier::verify(std::string_view token, KeySet const& keys, error_code& ec) const {
    return value_or_clear(check(token, keys), ec);
}

boost::system::result<Claims> JwtVerifier::check(std::string_view token, KeySet const& keys) const {
    auto parsed = parse_token(token, max_token_size_, allowed_);
    if (!parsed) return parsed.error();
    parsed_token& t = *parsed;

    if (require_kid_ && !t.kid) return make_error_code(error::missing_key_id);
    std::optional<std::string_view> kid;
    if (t.kid) kid = *t.kid;
    Key const* key = keys.select(kid, t.alg);
    if (!key) return make_error_code(error::unknown_key_id);
    error_code ec;
    key->check_algorithm(t.alg, ec);
    if (ec) return ec;
    if (!key->may_verify()) return make_error_code(error::key_algorithm_mismatch);
    jws_verify(t.alg, *key, t.signing_input, t.signature, ec);
    if (ec) return ec;

    // Claims, against the injected clock.
    Claims c;
    c.algorithm = t.alg;
    c.key_id = t.kid.value_or(std::string());
    double const now = std::chrono::duration<double>(clock_().time_since_epoch()).count();
    double const skew = static_cast<double>(leeway_.count());

    auto exp = numeric_date(t.payload, "exp");
    auto nbf = numeric_date(t.payload, "nbf");
    auto iat = numeric_date(t.payload, "iat");
    if (!exp || !nbf || !iat) return make_error_code(error::invalid_claim);
    if (*exp) {
        if (!(now < **exp + skew)) return make_error_code(error::token_expired);
        c.expires_at = to_time_point(**exp);
    } else if (require_exp_) {
        return make_error_code(error::missing_expiration);
    }
    if (*nbf) {
        if (now + skew < **nbf) return make_error_code(error::token_not_yet_valid);
        c.not_before = to_time_point(**nbf);
    }
    if (*iat) {
        if (now + skew < **iat) return make_error_code(error::token_issued_in_future);
        c.issued_at = to_time_point(**iat);
    }

    if (auto const* iss = t.payload.if_contains("iss")) {
        if (!iss->is_string()) return make_error_code(error::invalid_claim);
        c.issuer = std::string(iss->get_string());
    }
    if (!issuer_.empty()) {
        if (!t.payload.contains("iss")) return make_error_code(error::missing_issuer);
        if (c.issuer != issuer_) return make_error_code(error::issuer_mismatch);
    }

    if (auto const* aud = t.payload.if_contains("aud")) {
        if (aud->is_string()) {
            c.audience.emplace_back(aud->get_string());
        } else if (aud->is_array()) {
            for (auto const& e : aud->get_array()) {
                if (!e.is_string()) return make_error_code(error::invalid_claim);
                c.audience.emplace_back(e.get_string());
            }
        } else {
            return make_error_code(error::invalid_claim);
        }
    }
    if (audiences_.empty()) {
        // A token minted for some audience is not for a verifier that names none (PyJWT rule).
        if (t.payload.contains("aud")) return make_error_code(error::audience_mismatch);
    } else {
        if (!t.payload.contains("aud")) return make_error_code(error::missing_audience);
        bool found = false;
        for (auto const& want : audiences_)
            for (auto const& have : c.audience)
                if (have == want) found = true;
        if (!found) return make_error_code(error::audience_mismatch);
    }

    if (auto const* sub = t.payload.if_contains("sub")) {
        if (!sub->is_string()) return make_error_code(error::missing_subject);
        c.subject = std::string(sub->get_string());
        if (c.subject.empty() || c.subject.find('\0') != std::string::npos)
            return make_error_code(error::missing_subject);
    } else if (require_sub_) {
        return make_error_code(error::missing_subject);
    }

    c.header = std::move(t.header);
    c.payload = std::move(t.payload);
    return c;
}

// --- signing -------------------------------------------------------------------------------------

std::string sign_jwt_raw(std::string_view header_json, std::string_view payload_json, Key const& key, Algorithm alg) {
    std::string input = base64url_encode(header_json) + "." + base64url_encode(payload_json);
    std::string const sig = jws_sign(alg, key, input);
    return input + "." + base64url_encode(sig);
}

std::string sign_jwt(json::object const& claims, Key const& key, Algorithm alg) {
    json::object header;
    header["alg"] = algorithm_name(alg);
    header["typ"] = "JWT";
    if (!key.kid().empty()) header["kid"] = key.kid();
    return sign_jwt_raw(json::serialize(header), json::serialize(claims), key, alg);
}

}  // namespace chatkit::auth
