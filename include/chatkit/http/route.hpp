// chatkit-cpp HTTP layer: application routes of the bundled listener (http::Server), for endpoints
// next to the ChatKit one (attachment uploads and previews, webhooks...).
#pragma once

#include <chatkit/core/config.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/verb.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatkit::http {

namespace asio = boost::asio;
namespace beast = boost::beast;

struct RequestInfo;

/// One request to an application route.
///
/// @par Object lifetimes
/// Everything here refers to the request being served: valid until the handler's awaitable completes.
struct RouteRequest {
    /// What a context factory needs (method, target, peer, header fields; `request` is null).
    RequestInfo const* info = nullptr;
    /// The complete request body.
    std::string_view body;

    /// The target's path (before any `?`).
    CHATKIT_API std::string_view path() const noexcept;
    /// The method.
    CHATKIT_API beast::http::verb method() const noexcept;
    /// The value of the first header field named `name` (case-insensitive), or empty.
    CHATKIT_API std::string_view header(std::string_view name) const;
};

/// The answer of a route handler.
struct RouteResponse {
    /// HTTP status.
    unsigned status = 200;
    /// `Content-Type` of the body.
    std::string content_type = "application/json";
    /// The body (not sent for HEAD requests; its length still is).
    std::string body;
    /// Extra header fields, in order.
    std::vector<std::pair<std::string, std::string>> headers;

    /// A JSON answer.
    CHATKIT_API static RouteResponse json(unsigned status, std::string body);
    /// The error answer every chatkit endpoint gives: `{"error":{"code":...,"message":...}}` with the
    /// code derived from `status` (`status_code_name`). `message` must be safe to show.
    CHATKIT_API static RouteResponse error(unsigned status, std::string_view message);
};

/// Handles the requests of one route. It runs on the connection's strand; an exception it throws
/// answers like a context factory's would (a `chatkit::Error` its mapped status, client code and
/// client message, a `ChallengeError` also its `WWW-Authenticate` value; anything else 500, logged).
using RouteHandler = std::function<asio::awaitable<RouteResponse>(RouteRequest const&)>;

/// A route of `http::Server`: every request (any method) whose path is `prefix` or starts with
/// `prefix + "/"`. Routes are matched in order, after CORS preflights and before the ChatKit
/// endpoint, the health check and static files.
struct Route {
    /// Path prefix, starting with `/`, without a trailing `/`.
    std::string prefix;
    /// The handler.
    RouteHandler handler;
    /// Largest request body of this route (413 beyond it); `ServerOptions::body_limit` when unset.
    std::optional<std::uint64_t> body_limit;
};

/// True when `value` may be written as an HTTP header field value: it holds no control character
/// but HTAB (RFC 9110 §5.5). CR, LF and NUL in particular would end the field and let the rest be
/// read as new header fields or a body.
CHATKIT_API bool is_safe_header_value(std::string_view value) noexcept;

/// True when `name` is a valid header field name: an RFC 9110 token (`chatkit::is_http_token`).
CHATKIT_API bool is_valid_header_name(std::string_view name) noexcept;

/// The name of the first field of `fields` that must not be written (an invalid name, or a value
/// that `is_safe_header_value` refuses), or nullopt when all can be. Every response of
/// `http::Server` and `serve()` passes this check before it is written; one that fails is replaced
/// by a 500 JSON answer and logged.
CHATKIT_API std::optional<std::string> unsafe_header_field(beast::http::fields const& fields);

}  // namespace chatkit::http
