// chatkit-cpp auth: JwksCache, a JWK Set fetched over HTTPS through a chatkit::Transport and cached
// (max age, unknown-kid refetch with a cooldown, stale keys during outages, one shared fetch).
#pragma once

#include <chatkit/auth/jwt.hpp>
#include <chatkit/auth/keys.hpp>
#include <chatkit/core/config.hpp>
#include <chatkit/core/transport.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace chatkit::auth {

namespace asio = boost::asio;

/// What a JWKS fetch returns: the body and the response's `Cache-Control` value.
struct JwksDocument {
    /// The response body (the JWK Set JSON).
    std::string body;
    /// The `Cache-Control` header (may be empty); its `max-age` sets how long the keys are fresh.
    std::string cache_control;
};

/// Fetches the document at a URL. Throws on any failure (network, TLS, non-200 status, body too
/// large). The default is `default_jwks_fetcher` (through `JwksOptions::transport`); applications
/// with their own HTTP stack implement a `chatkit::Transport`, or inject another fetcher.
using JwksFetcher = std::function<asio::awaitable<JwksDocument>(std::string const& url)>;

/// Options of a JwksCache. Defaults follow panva/jose's `createRemoteJWKSet`.
struct JwksOptions {
    /// The JWK Set URL (`https://issuer.example/.well-known/jwks.json`).
    std::string url;
    /// Freshness when the response has no usable `Cache-Control: max-age`.
    std::chrono::seconds default_max_age{600};
    /// Bounds applied to a `max-age` from the issuer (`no-cache`/`no-store` count as the minimum).
    std::chrono::seconds min_max_age{60};
    /// Upper bound of a `max-age` from the issuer: keys are refetched at least this often.
    std::chrono::seconds max_max_age{86400};
    /// An unknown `kid` triggers a refetch at most once per cooldown (and a failed fetch is not
    /// retried within it either).
    std::chrono::seconds cooldown{30};
    /// How long expired keys are still served while the issuer is unreachable (after that,
    /// verification fails closed with `jwks_unavailable`).
    std::chrono::seconds max_stale{std::chrono::hours(24)};
    /// The HTTP client of the default fetcher, required when no fetcher is given:
    /// `std::make_shared<chatkit::http::HttpClient>()` (its `HttpClientOptions::ca_file` adds
    /// trust anchors). The cache keeps it alive.
    std::shared_ptr<Transport> transport;
    /// Timeout of one fetch (default fetcher): connect, longest silence and whole request.
    std::chrono::milliseconds timeout{5000};
    /// Largest JWK Set body accepted (default fetcher).
    std::size_t max_body_size = 512 * 1024;
    /// Allows `http://` URLs in the default fetcher (loopback tests, local development). Off: JWKS
    /// must come over HTTPS with certificate and host-name verification.
    bool allow_http = false;
    /// "Now" for freshness and cooldown decisions (tests pin it).
    std::function<std::chrono::steady_clock::time_point()> clock;
};

/// The default fetcher: a GET through `options.transport` (with `http::HttpClient`: HTTPS with the
/// peer certificate and host name verified against the system trust store, SNI) of an `https://`
/// URL, or an `http://` one when `options.allow_http`; no redirects; `options.timeout` and
/// `options.max_body_size` apply. A non-200 status throws.
/// @throws std::invalid_argument when `options.transport` is not set.
CHATKIT_API JwksFetcher default_jwks_fetcher(JwksOptions const& options);

/// A JWK Set cache for one issuer.
///
/// * Keys are fetched on first use and kept for the response's `max-age` (bounded by
///   `min_max_age`/`max_max_age`, `default_max_age` without one).
/// * A token whose `kid` is unknown triggers one refetch, at most once per `cooldown`
///   (key rotation) — never more, whatever the token says.
/// * While the issuer is unreachable, expired keys keep being served for up to `max_stale`.
/// * Concurrent callers share one fetch (single flight); the fetch runs on the cache's executor,
///   so a caller that is cancelled does not cancel it for the others.
/// * A document that is not a JWK Set, or has no usable key, never replaces the cached keys;
///   unusable entries (oct keys, weak keys, `use:enc`, duplicate kids...) are skipped.
///
/// @par Thread safety
/// All members may be called concurrently from any thread.
///
/// @par Object lifetimes
/// Background fetches keep the cache's state alive; the executor must outlive them.
class CHATKIT_API JwksCache {
public:
    /// A cache fetching with `fetcher`, or `default_jwks_fetcher(options)` when empty (which
    /// throws `std::invalid_argument` when `options.transport` is not set either).
    JwksCache(asio::any_io_executor executor, JwksOptions options, JwksFetcher fetcher = {});
    ~JwksCache();
    JwksCache(JwksCache const&) = delete;
    JwksCache& operator=(JwksCache const&) = delete;

    /// The current keys: cached ones while fresh, otherwise after a (shared) fetch; stale ones
    /// when that fetch fails.
    /// @throws chatkit::Error `error::jwks_unavailable` when there are no keys to serve.
    ///
    /// Cancelling the caller (a cancellation slot on its completion) stops its wait with
    /// `operation_aborted`; the fetch itself runs on for the other callers. The cache must outlive
    /// the awaitable.
    asio::awaitable<std::shared_ptr<KeySet const>> keys();

    /// Verifies `token` with `verifier` and the cached keys, refetching once on an unknown `kid`
    /// (subject to the cooldown).
    /// @throws chatkit::Error with the failing check's code, or `error::jwks_unavailable` when no
    ///         keys can be obtained. Coroutine APIs only throw (docs/concepts.md, "Errors").
    ///
    /// Cancellation as `keys()`. The cache and `verifier` must outlive the awaitable.
    asio::awaitable<Claims> verify(JwtVerifier const& verifier, std::string token);

    /// Synchronous form for synchronous context factories: verifies with the keys cached now, and
    /// when they are missing or expired, or the `kid` is unknown, starts a background fetch
    /// (subject to the cooldown) so a retry can succeed. Never blocks.
    /// @throws chatkit::Error with the failing check's code, or `error::jwks_unavailable` when no
    ///         keys are cached.
    Claims verify_cached(JwtVerifier const& verifier, std::string_view token);
    /// Non-throwing form of `verify_cached(verifier, token)`.
    Claims verify_cached(JwtVerifier const& verifier, std::string_view token, boost::system::error_code& ec);

    /// Starts a background fetch now (unless one is running or the last one failed within the
    /// cooldown); for warming the cache at start-up.
    void refresh_in_background();

    /// The keys cached now (null before the first successful fetch).
    std::shared_ptr<KeySet const> snapshot() const;

    /// Descriptions of the entries the last successful fetch skipped.
    std::vector<std::string> skipped() const;

    /// Number of fetches started so far.
    std::size_t fetch_count() const;

    struct state;

private:
    std::shared_ptr<state> state_;
};

}  // namespace chatkit::auth
