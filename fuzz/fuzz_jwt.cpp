// Fuzz target: JWT verification and JWK Set parsing (include/chatkit/auth/).
//
// The first byte picks a mode, the rest is the input:
//   0  a compact token through both forms of JwtVerifier::verify and peek_key_id with an HS256 key:
//      the forms agree, an accepted token is in canonical form (each segment re-encodes to itself)
//      and has a non-empty `sub`;
//   1  a header and a payload JSON text (NUL-separated) signed with the verifier's own HMAC key,
//      then verified: whatever the JSON, the verifier answers (accept or a typed error) and an
//      accepted token's Claims match its payload;
//   2  a JWK Set document through KeySet::from_jwks: it returns keys or throws chatkit::Error.
#include <chatkit/auth/jwt.hpp>
#include <chatkit/auth/keys.hpp>
#include <chatkit/core/error.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace auth = chatkit::auth;

auth::JwtVerifier const& verifier() {
    static auth::JwtVerifier const instance = [] {
        auth::JwtVerifier v;
        v.allow(auth::Algorithm::hs256);
        v.add_key(auth::Key::hmac(std::string(32, 'k'), "fuzz"));
        // A fixed "now" so that expiry checks are deterministic: 2026-01-01T00:00:00Z.
        v.clock([] { return std::chrono::system_clock::time_point(std::chrono::seconds(1767225600)); });
        return v;
    }();
    return instance;
}

void check_accepted(std::string_view token, auth::Claims const& claims) {
    if (claims.subject.empty()) std::abort();
    std::size_t start = 0;
    for (int i = 0; i < 3; ++i) {
        auto const end = i < 2 ? token.find('.', start) : token.size();
        if (end == std::string_view::npos) std::abort();
        auto const segment = token.substr(start, end - start);
        auto const decoded = chatkit::base64url_decode(segment);
        if (!decoded || chatkit::base64url_encode(*decoded) != segment) std::abort();
        start = end + 1;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    if (size < 1) return 0;
    std::string_view const input(reinterpret_cast<char const*>(data) + 1, size - 1);
    switch (data[0] % 3) {
        case 0: {
            boost::system::error_code ec;
            auto const claims = verifier().verify(input, ec);
            boost::system::error_code peek;
            (void)verifier().peek_key_id(input, peek);
            if (!ec) check_accepted(input, claims);
            // The throwing form agrees.
            try {
                (void)verifier().verify(input);
                if (ec) std::abort();
            } catch (chatkit::Error const& e) {
                if (!ec || e.code() != ec) std::abort();
            }
            break;
        }
        case 1: {
            auto const split = input.find('\0');
            if (split == std::string_view::npos) return 0;
            static auth::Key const key = auth::Key::hmac(std::string(32, 'k'), "fuzz");
            std::string token;
            try {
                token = auth::sign_jwt_raw(input.substr(0, split), input.substr(split + 1), key,
                                           auth::Algorithm::hs256);
            } catch (chatkit::Error const&) {
                return 0;
            }
            boost::system::error_code ec;
            auto const claims = verifier().verify(token, ec);
            if (!ec) {
                check_accepted(token, claims);
                auto const* sub = claims.payload.if_contains("sub");
                if (!sub || !sub->is_string() || sub->get_string() != claims.subject) std::abort();
            }
            break;
        }
        default: {
            std::vector<std::string> skipped;
            try {
                auto const keys = auth::KeySet::from_jwks(input, &skipped);
                (void)keys.to_jwks();
            } catch (chatkit::Error const&) {
            }
            break;
        }
    }
    return 0;
}
