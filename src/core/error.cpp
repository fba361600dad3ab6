#include <chatkit/core/error.hpp>

namespace chatkit {
namespace {

// boost::system::error_category has a protected non-virtual destructor by design (categories are
// static singletons never deleted through a base pointer).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class category final : public boost::system::error_category {
public:
    char const* name() const noexcept override { return "chatkit"; }

    std::string message(int ev) const override {
        switch (static_cast<error>(ev)) {
            case error::invalid_request: return "invalid request";
            case error::not_found: return "not found";
            case error::stream_cancelled: return "stream cancelled by the client";
            case error::not_implemented: return "not implemented";
            case error::no_attachment_store: return "no attachment store configured";
            case error::store_failure: return "store failure";
            case error::payload_too_large: return "payload too large";
            case error::unauthorized: return "unauthorized";
            case error::forbidden: return "forbidden";
            case error::internal: return "internal error";
            case error::unsupported_media_type: return "unsupported media type";
            case error::upstream_failure: return "upstream service failure";
            case error::store_busy: return "store busy";
            case error::store_full: return "store full";
            case error::conflict: return "conflict";
            case error::too_many_requests: return "too many requests";
            // transport
            case error::transport_invalid_url: return "invalid URL";
            case error::transport_invalid_request: return "request cannot be sent";
            case error::transport_resolve_failed: return "cannot resolve the host name";
            case error::transport_connect_failed: return "cannot connect";
            case error::transport_tls_failed: return "TLS handshake failed";
            case error::transport_timeout: return "timed out";
            case error::transport_connection_closed: return "connection closed by the server";
            case error::transport_protocol_error: return "malformed HTTP response";
            case error::transport_body_too_large: return "response body too large";
        }
        return "unknown chatkit error";
    }
};
#pragma GCC diagnostic pop

// The transport block of the enum (core/transport.hpp): an outgoing request failed below HTTP.
bool is_transport_code(int ev) noexcept {
    return ev >= static_cast<int>(error::transport_invalid_url) && ev <= static_cast<int>(error::transport_body_too_large);
}

}  // namespace

boost::system::error_category const& chatkit_category() noexcept {
    static category const instance;
    return instance;
}

unsigned http_status(boost::system::error_code const& ec) noexcept {
    if (ec.category() != chatkit_category()) return 500;
    if (is_transport_code(ec.value())) return 502;
    switch (static_cast<error>(ec.value())) {
        case error::invalid_request: return 400;
        case error::not_found: return 404;
        case error::payload_too_large: return 413;
        case error::unauthorized: return 401;
        case error::forbidden: return 403;
        case error::unsupported_media_type: return 415;
        case error::upstream_failure: return 502;
        case error::store_busy: return 503;
        case error::store_full: return 507;
        case error::conflict: return 409;
        case error::too_many_requests: return 429;
        default: return 500;
    }
}

char const* client_code(boost::system::error_code const& ec) noexcept {
    if (ec.category() != chatkit_category()) return "internal";
    if (is_transport_code(ec.value())) return "upstream_error";
    switch (static_cast<error>(ec.value())) {
        case error::invalid_request: return "invalid_request";
        case error::not_found: return "not_found";
        case error::payload_too_large: return "payload_too_large";
        case error::unauthorized: return "unauthorized";
        case error::forbidden: return "forbidden";
        case error::not_implemented: return "not_implemented";
        case error::unsupported_media_type: return "unsupported_media_type";
        case error::upstream_failure: return "upstream_error";
        case error::store_busy: return "unavailable";
        case error::store_full: return "insufficient_storage";
        case error::conflict: return "conflict";
        case error::too_many_requests: return "rate_limited";
        default: return "internal";
    }
}

std::string client_message(Error const& e) {
    if (e.code().category() != chatkit_category()) return "Internal server error";
    if (is_transport_code(e.code().value())) return "An upstream service failed";  // the message names hosts
    switch (static_cast<error>(e.code().value())) {
        case error::store_failure:
        case error::internal: return "Internal server error";
        case error::store_busy: return "The store is busy; retry shortly";
        case error::store_full: return "The store is full";
        default: return e.message();
    }
}

Error::Error(boost::system::error_code ec, std::string message)
    : boost::system::system_error(ec, message), message_(std::move(message)) {}

void throw_error(error e, std::string message) { throw Error(e, std::move(message)); }

StreamError::StreamError(std::string code, std::optional<bool> allow_retry)
    : code_(std::move(code)), allow_retry_(allow_retry.value_or(code_ == "stream.error")) {}

}  // namespace chatkit
