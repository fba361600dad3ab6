// chatkit-cpp auth: the default JWKS fetcher, a GET through the application's chatkit::Transport
// (with http::HttpClient: HTTPS with certificate and host-name verification and SNI, no redirects,
// timeouts, body cap).
#include <chatkit/auth/jwks.hpp>

#include <stdexcept>

namespace chatkit::auth {

JwksFetcher default_jwks_fetcher(JwksOptions const& options) {
    if (!options.transport)
        throw std::invalid_argument("JwksOptions::transport is not set (e.g. std::make_shared<chatkit::http::HttpClient>())");
    std::shared_ptr<Transport> transport = options.transport;
    auto const timeout = options.timeout;
    std::size_t const max_body = options.max_body_size;
    bool const allow_http = options.allow_http;
    return [transport, timeout, max_body, allow_http](std::string const& url) -> asio::awaitable<JwksDocument> {
        Url const parsed = Url::parse(url);
        if (!parsed.tls() && !allow_http) throw std::invalid_argument("JWKS URL must use https://");
        HttpRequest request;
        request.method = "GET";
        request.url = url;
        request.headers = {{"Accept", "application/json, application/jwk-set+json"}};
        request.connect_timeout = timeout;
        request.idle_timeout = timeout;
        request.total_timeout = timeout;
        request.max_body = max_body;
        HttpResponse response = co_await transport->send(std::move(request));
        if (response.status != 200)  // redirects included: never followed
            throw std::runtime_error("JWKS endpoint answered HTTP " + std::to_string(response.status));
        JwksDocument doc;
        doc.body = std::move(response.body);
        doc.cache_control = response.header("cache-control").value_or(std::string());
        co_return doc;
    };
}

}  // namespace chatkit::auth
