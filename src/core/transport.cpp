// chatkit-cpp core: the sans-io parts of the HTTP-client interface (see transport.hpp).
#include <chatkit/core/transport.hpp>

#include <algorithm>
#include <cctype>

namespace chatkit {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

}  // namespace

std::optional<std::string> find_header(Headers const& headers, std::string_view name) {
    for (auto const& [k, v] : headers)
        if (iequals(k, name)) return v;
    return std::nullopt;
}

std::string Url::origin() const { return scheme + "://" + host + ":" + port; }

Url Url::parse(std::string_view url) {
    auto fail = [&]() -> Error { return Error(error::transport_invalid_url, "invalid URL: " + std::string(url)); };
    Url u;
    auto sep = url.find("://");
    if (sep == std::string_view::npos) throw fail();
    u.scheme = lower(url.substr(0, sep));
    if (u.scheme != "http" && u.scheme != "https") throw fail();
    auto rest = url.substr(sep + 3);
    auto slash = rest.find_first_of("/?#");
    auto authority = rest.substr(0, slash);
    std::string_view target = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
    if (auto hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
    if (authority.find('@') != std::string_view::npos) throw fail();  // no userinfo
    if (!authority.empty() && authority.front() == '[') {
        auto close = authority.find(']');
        if (close == std::string_view::npos) throw fail();
        u.host = std::string(authority.substr(1, close - 1));
        auto after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') throw fail();
            u.port = std::string(after.substr(1));
        }
    } else {
        auto colon = authority.rfind(':');
        u.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) u.port = std::string(authority.substr(colon + 1));
    }
    if (u.host.empty()) throw fail();
    if (u.port.empty()) u.port = u.tls() ? "443" : "80";
    if (u.port.size() > 5 || !std::all_of(u.port.begin(), u.port.end(), [](char c) { return c >= '0' && c <= '9'; }))
        throw fail();
    u.target = target.empty() ? "/" : std::string(target);
    if (u.target.front() == '?') u.target.insert(u.target.begin(), '/');
    return u;
}

bool is_transport_error(boost::system::error_code const& ec) noexcept {
    if (ec.category() != chatkit_category()) return false;
    int const v = ec.value();
    return v >= static_cast<int>(error::transport_invalid_url) && v <= static_cast<int>(error::transport_body_too_large);
}

bool is_retryable_transport_error(boost::system::error_code const& ec) noexcept {
    return ec == error::transport_resolve_failed || ec == error::transport_connect_failed ||
           ec == error::transport_tls_failed || ec == error::transport_timeout ||
           ec == error::transport_connection_closed;
}

Transport::~Transport() = default;

boost::asio::awaitable<HttpResponse> Transport::get(std::string url, Headers headers) {
    HttpRequest request;
    request.method = "GET";
    request.url = std::move(url);
    request.headers = std::move(headers);
    BodyHandler no_body;
    HeadHandler no_head;
    auto response = co_await do_send(std::move(request), std::move(no_body), std::move(no_head));
    co_return response;
}

}  // namespace chatkit
