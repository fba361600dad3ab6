// chatkit-cpp auth: the default JWKS fetcher, on the project's HTTP client (chatkit::net::HttpClient:
// HTTPS with certificate and host-name verification and SNI, no redirects, timeouts, body cap).
#include <chatkit/auth/jwks.hpp>

#include <chatkit/http/client/http_client.hpp>

#include <stdexcept>

namespace chatkit::auth {

JwksFetcher default_jwks_fetcher(JwksOptions const& options) {
    net::HttpClientOptions client_options;
    client_options.connect_timeout = options.timeout;
    client_options.idle_timeout = options.timeout;
    client_options.total_timeout = options.timeout;
    client_options.max_body = options.max_body_size;
    client_options.max_error_body = 4096;
    client_options.max_idle_per_origin = 1;
    if (!options.ca_file.empty()) client_options.ca_file = options.ca_file;
    bool const allow_http = options.allow_http;
    net::HttpClient client(std::move(client_options));
    return [client, allow_http](std::string const& url) mutable -> asio::awaitable<JwksDocument> {
        net::Url const parsed = net::Url::parse(url);
        if (!parsed.tls() && !allow_http) throw std::invalid_argument("JWKS URL must use https://");
        net::Headers headers{{"Accept", "application/json, application/jwk-set+json"}};
        net::HttpResponse response = co_await client.get(url, std::move(headers));
        if (response.status != 200)  // redirects included: never followed
            throw std::runtime_error("JWKS endpoint answered HTTP " + std::to_string(response.status));
        JwksDocument doc;
        doc.body = std::move(response.body);
        doc.cache_control = response.header("cache-control").value_or(std::string());
        co_return doc;
    };
}

}  // namespace chatkit::auth
