// chatkit-cpp auth: the default JWKS fetcher.
#include <chatkit/auth/jwks.hpp>

namespace chatkit::auth {

JwksFetcher default_jwks_fetcher(JwksOptions const& options) {
    (void)options;
    return [](std::string const&) -> asio::awaitable<JwksDocument> {
        throw AuthError(auth_error::jwks_unavailable, "no HTTP client");
        co_return JwksDocument{};
    };
}

}  // namespace chatkit::auth
