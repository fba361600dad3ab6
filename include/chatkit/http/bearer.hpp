// chatkit-cpp auth: bearer tokens on the HTTP layer — extraction (Authorization header or cookie),
// RFC 6750 rejections, and helpers that build a request Context (claims, headers, page context).
#pragma once

#include <chatkit/auth/jwks.hpp>
#include <chatkit/auth/jwt.hpp>
#include <chatkit/core/config.hpp>
#include <chatkit/core/error.hpp>
#include <chatkit/http/serve.hpp>

#include <boost/system/error_code.hpp>

#include <any>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace chatkit::auth {

/// Where the token comes from and how rejections look.
struct BearerOptions {
    /// `realm` of the `WWW-Authenticate` challenge.
    std::string realm = "chatkit";
    /// Accept `Authorization: Bearer <token>`.
    bool use_authorization_header = true;
    /// When set, also accept the token in this cookie (an httpOnly cookie set by your login
    /// endpoint: the browser sends it, page scripts cannot read it). The header wins when both are
    /// present.
    std::string cookie_name;
    /// Origins (`scheme://host[:port]`, compared exactly, case-insensitively) allowed to send
    /// state-changing requests (POST, PUT, PATCH, DELETE) authenticated by the cookie, besides
    /// the server's own origin (`http://` + the request's `Host`). Such a request also needs
    /// `Content-Type: application/json` (`multipart/form-data` for uploads to `/attachments...`),
    /// which a cross-site HTML form cannot send. A cookie request without `Origin` is refused
    /// too. Failing requests answer 403 (CSRF defence). Header-borne tokens are not affected.
    std::vector<std::string> allowed_origins;
};

/// Where a request's credential came from.
enum class CredentialSource {
    /// `Authorization: Bearer`.
    authorization_header,
    /// The `BearerOptions::cookie_name` cookie.
    cookie,
};

/// A request's credential and where it came from.
struct Credential {
    /// The token.
    std::string_view token;
    /// Header or cookie.
    CredentialSource source = CredentialSource::authorization_header;
};

/// The credential of a request, like `extract_token`, with its source.
/// @throws chatkit::Error `error::missing_token`, `error::invalid_authorization_header`, or
///         `error::ambiguous_credentials` (two `Authorization` headers, or two cookies of the name).
CHATKIT_API Credential extract_credential(http::RequestInfo const& request, BearerOptions const& options);
/// Non-throwing form of `extract_credential(request, options)`.
CHATKIT_API Credential extract_credential(http::RequestInfo const& request, BearerOptions const& options,
                                          boost::system::error_code& ec);

/// The CSRF check of a cookie-authenticated request (see `BearerOptions::allowed_origins`).
/// Safe methods (GET, HEAD, OPTIONS) always pass.
/// @throws chatkit::Error `error::cross_site_request` when the request fails it.
CHATKIT_API void check_cookie_request(http::RequestInfo const& request, BearerOptions const& options);
/// Non-throwing form of `check_cookie_request(request, options)`.
CHATKIT_API void check_cookie_request(http::RequestInfo const& request, BearerOptions const& options,
                                      boost::system::error_code& ec);

/// The token of a request: the `Authorization: Bearer` credentials, else the cookie.
/// @throws chatkit::Error `error::missing_token`, `error::invalid_authorization_header` (another
///         scheme, an empty or malformed token) or `error::ambiguous_credentials` (two
///         `Authorization` headers or two cookies of the name: never first-wins).
CHATKIT_API std::string_view extract_token(http::RequestInfo const& request, BearerOptions const& options);
/// Non-throwing form of `extract_token(request, options)`.
CHATKIT_API std::string_view extract_token(http::RequestInfo const& request, BearerOptions const& options,
                                           boost::system::error_code& ec);

/// The answer for an authentication failure `why` (a code of the auth block, as `ec` of
/// `BearerAuthenticator::authenticate(request, ec)` gives it), to throw from a context factory.
///
/// Its code is `why`, so `http_status`, `client_code` and `client_message` give the answer: 401
/// with an RFC 6750 §3 challenge — `WWW-Authenticate: Bearer realm="..."` alone when the request
/// had no token, with `error="invalid_request"` for a malformed header and
/// `error="invalid_token"` (plus a generic description) for a token that failed verification; 503
/// for `jwks_unavailable`, 400 for `ambiguous_credentials`, 403 for `cross_site_request` (those
/// three without a challenge). A verification failure whose code is no 401 (`weak_key`: the
/// token's algorithm needs a longer secret than the key has) or of another category answers as
/// `error::unauthorized` with "The access token is invalid". Never echoes the token.
CHATKIT_API http::ChallengeError unauthorized(boost::system::error_code const& why,
                                              BearerOptions const& options);

/// The 403 answer for a valid caller who may not do this: `error::forbidden`, "Not allowed", and
/// `WWW-Authenticate: Bearer realm="...", error="insufficient_scope"` (with the `scope` that would
/// be needed when given).
CHATKIT_API http::ChallengeError forbidden(BearerOptions const& options, std::string_view scope = {});

/// Authenticates requests: extracts the token and verifies it with static keys or a JwksCache.
///
/// @par Thread safety
/// `authenticate` may be called concurrently (context factories run on several threads).
class CHATKIT_API BearerAuthenticator {
public:
    /// Verifies with the verifier's own key set.
    BearerAuthenticator(JwtVerifier verifier, BearerOptions options = {});
    /// Verifies with the keys of `jwks` (`JwksCache::verify_cached`: never blocks; an unknown kid
    /// or expired keys start a background refetch).
    BearerAuthenticator(JwtVerifier verifier, std::shared_ptr<JwksCache> jwks, BearerOptions options = {});

    /// The verified claims of the request's token. A cookie-borne token must also pass
    /// `check_cookie_request`. When `admit` of this authenticator already ran on the request's
    /// header (`RequestInfo::admission`), its claims are returned without verifying again.
    /// @throws http::ChallengeError `unauthorized(ec, options())` for the failure `ec`: 401 when
    ///         there is no valid token, 400 for two credentials, 403 for a cross-site cookie
    ///         request, 503 when no keys are available.
    Claims authenticate(http::RequestInfo const& request) const;
    /// Non-throwing form of `authenticate(request)`: `ec` receives the precise failure
    /// (`error::token_expired`, `error::missing_token`...).
    Claims authenticate(http::RequestInfo const& request, boost::system::error_code& ec) const;

    /// The header check of `http::Server` (`ServerOptions::header_check`): authenticates the
    /// request's header before its body is read, throwing like `authenticate`, and returns the
    /// claims in the form `authenticate` later finds in `RequestInfo::admission`. With it an
    /// unauthenticated client is answered without the server ever buffering its body.
    std::any admit(http::RequestInfo const& request) const;

    /// The options.
    BearerOptions const& options() const noexcept { return options_; }
    /// The verifier.
    JwtVerifier const& verifier() const noexcept { return verifier_; }

private:
    JwtVerifier verifier_;
    std::shared_ptr<JwksCache> jwks_;
    BearerOptions options_;
};

/// @throws http::ChallengeError `forbidden(options, scope)` (403) unless `claims` grant `scope`
///         (in `scope` — a space-separated string — or `scp`/`permissions` arrays).
CHATKIT_API void require_scope(Claims const& claims, std::string_view scope, BearerOptions const& options = {});

/// Size caps of `page_context`.
struct PageContextLimits {
    /// Longest url, title, path or description kept (longer values are cut at a UTF-8 boundary).
    std::size_t max_field_bytes = 2048;
    /// Most headings kept.
    std::size_t max_headings = 32;
    /// Longest heading kept.
    std::size_t max_heading_bytes = 256;
};

/// What the page hosting the chat said about itself, sent by the front end in the request's
/// `metadata.page` (see examples/web). Untrusted input: show it to the model, never use it for
/// authorization.
struct PageContext {
    std::string url;                    ///< `page.url`: the page's address as the browser reported it
    std::string title;                  ///< `page.title`: the document title
    std::string path;                   ///< `page.path`: the URL path
    std::string description;            ///< `page.description`: e.g. its meta description
    std::vector<std::string> headings;  ///< `page.headings`: its headings, in page order

    /// Whether nothing was sent.
    bool empty() const noexcept;
    /// A short plain-text rendering for a model prompt ("Page: title (url)\nHeadings: ...").
    std::string to_prompt() const;
};

/// The page context of a request (`metadata.page`), with wrong-typed members ignored and every
/// field capped by `limits`. Empty when the request has none.
CHATKIT_API PageContext page_context(http::RequestInfo const& request, PageContextLimits const& limits = {});

/// The values of the named request headers that are present (names as given; values longer than
/// `max_value_bytes` are cut). For forwarding chosen headers (`X-Request-Id`, `Accept-Language`)
/// into the Context.
CHATKIT_API std::map<std::string, std::string> chosen_headers(http::RequestInfo const& request,
                                                              std::vector<std::string> const& names,
                                                              std::size_t max_value_bytes = 1024);

/// A ready-made request context for authenticated deployments: the caller, the verified claims,
/// the page context and chosen headers. Use `owner_key` as the store owner key.
struct AuthContext {
    /// The caller (`sub`), for display.
    std::string user_id;
    /// The store owner key: `Claims::tenant_key()` (issuer + subject). Partition data by this,
    /// not by `user_id`: two issuers may both have a user "alice".
    std::string owner_key;
    /// The verified token claims.
    Claims claims;
    /// The page the chat is embedded in (untrusted).
    PageContext page;
    /// Chosen request headers.
    std::map<std::string, std::string> headers;
};

/// A context factory for `http::Server<AuthContext>` / `http::serve`: authenticates every request
/// (401 before any work) and fills the context. `forwarded_headers` names the headers copied into
/// `AuthContext::headers`.
CHATKIT_API http::ContextFactory<AuthContext> auth_context_factory(std::shared_ptr<BearerAuthenticator const> auth,
                                                                   std::vector<std::string> forwarded_headers = {},
                                                                   PageContextLimits limits = {});

}  // namespace chatkit::auth
