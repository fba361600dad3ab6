// chatkit-cpp auth: the default JWKS fetcher — one HTTP/1.1 GET over Beast, HTTPS with peer and
// host-name verification (and SNI), a deadline, a body cap and no redirects.
#include <chatkit/auth/jwks.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/ssl.h>

#include <stdexcept>

namespace chatkit::auth {

namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

struct parsed_url {
    bool tls = false;
    std::string host;
    std::string port;
    std::string target;
};

parsed_url parse_url(std::string_view url) {
    parsed_url u;
    if (url.rfind("https://", 0) == 0) {
        u.tls = true;
        url.remove_prefix(8);
    } else if (url.rfind("http://", 0) == 0) {
        url.remove_prefix(7);
    } else {
        throw std::invalid_argument("JWKS URL must start with https:// (or http://)");
    }
    std::size_t const slash = url.find_first_of("/?#");
    std::string_view authority = url.substr(0, slash);
    u.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
    if (auto hash = u.target.find('#'); hash != std::string::npos) u.target.resize(hash);
    if (u.target.empty() || u.target[0] != '/') u.target.insert(0, "/");
    if (authority.find('@') != std::string_view::npos) throw std::invalid_argument("JWKS URL must not carry credentials");
    if (!authority.empty() && authority.front() == '[') {
        auto close = authority.find(']');
        if (close == std::string_view::npos) throw std::invalid_argument("bad IPv6 literal in JWKS URL");
        u.host = std::string(authority.substr(1, close - 1));
        authority.remove_prefix(close + 1);
        if (!authority.empty() && authority.front() == ':') u.port = std::string(authority.substr(1));
    } else {
        auto colon = authority.rfind(':');
        u.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) u.port = std::string(authority.substr(colon + 1));
    }
    if (u.host.empty()) throw std::invalid_argument("JWKS URL has no host");
    if (u.port.empty()) u.port = u.tls ? "443" : "80";
    return u;
}

template <class Stream>
asio::awaitable<JwksDocument> exchange(Stream& stream, parsed_url const& u, std::size_t max_body) {
    bhttp::request<bhttp::empty_body> req{bhttp::verb::get, u.target, 11};
    bool const default_port = u.port == (u.tls ? "443" : "80");
    req.set(bhttp::field::host, default_port ? u.host : u.host + ":" + u.port);
    req.set(bhttp::field::user_agent, "chatkit-cpp jwks");
    req.set(bhttp::field::accept, "application/json, application/jwk-set+json");
    req.set(bhttp::field::connection, "close");
    co_await bhttp::async_write(stream, req, asio::use_awaitable);
    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(max_body);
    co_await bhttp::async_read(stream, buffer, parser, asio::use_awaitable);
    auto& res = parser.get();
    if (res.result_int() != 200)  // redirects included: never followed
        throw std::runtime_error("JWKS endpoint answered HTTP " + std::to_string(res.result_int()));
    JwksDocument doc;
    doc.cache_control = std::string(res[bhttp::field::cache_control]);
    doc.body = std::move(res.body());
    co_return doc;
}

}  // namespace

JwksFetcher default_jwks_fetcher(JwksOptions const& options) {
    auto const timeout = options.timeout;
    auto const max_body = options.max_body_size;
    bool const allow_http = options.allow_http;
    std::string const ca_file = options.ca_file;
    return [=](std::string const& url) -> asio::awaitable<JwksDocument> {
        parsed_url const u = parse_url(url);
        if (!u.tls && !allow_http) throw std::invalid_argument("JWKS URL must use https://");
        auto ex = co_await asio::this_coro::executor;
        tcp::resolver resolver(ex);
        beast::tcp_stream tcp_stream(ex);
        tcp_stream.expires_after(timeout);
        auto const endpoints = co_await resolver.async_resolve(u.host, u.port, asio::use_awaitable);
        co_await tcp_stream.async_connect(endpoints, asio::use_awaitable);
        if (!u.tls) {
            JwksDocument doc = co_await exchange(tcp_stream, u, max_body);
            co_return doc;
        }
        asio::ssl::context ctx(asio::ssl::context::tls_client);
        ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                        asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
        ctx.set_default_verify_paths();
        if (!ca_file.empty()) ctx.load_verify_file(ca_file);
        ctx.set_verify_mode(asio::ssl::verify_peer);
        beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp_stream), ctx);
        if (!SSL_set_tlsext_host_name(stream.native_handle(), u.host.c_str()))
            throw std::runtime_error("cannot set SNI");
        stream.set_verify_callback(asio::ssl::host_name_verification(u.host));
        co_await stream.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
        JwksDocument doc = co_await exchange(stream, u, max_body);
        co_return doc;
    };
}

}  // namespace chatkit::auth
