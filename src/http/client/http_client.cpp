// chatkit-cpp HTTP layer: the HTTP(S) client on Beast + OpenSSL implementing chatkit::Transport (the
// only TU instantiating its Beast operations).
#include <chatkit/http/client/http_client.hpp>
#include <chatkit/http/route.hpp>

#include <chatkit/core/media_type.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <cctype>
#include <map>
#include <mutex>

namespace chatkit::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using boost::system::error_code;

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool is_ip_literal(std::string const& host) {
    error_code ec;
    (void)asio::ip::make_address(host, ec);
    return !ec;
}

// One connection: plain TCP or TLS, plus the read buffer that may hold bytes of the next message.
struct Conn {
    std::unique_ptr<beast::tcp_stream> plain;
    std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
    beast::flat_buffer buffer;
    clock_type::time_point idle_since{};

    beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
    void close() {
        error_code ec;
        lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
        lowest().socket().close(ec);
    }
};

// The timeouts of one exchange: arm() before every read, the idle timeout capped by the deadline.
struct Timer {
    std::chrono::milliseconds connect;
    std::chrono::milliseconds idle;
    std::optional<clock_type::time_point> deadline;

    void arm(beast::tcp_stream& s) const {
        auto d = clock_type::duration(idle);
        if (deadline) {
            auto left = *deadline - clock_type::now();
            if (left <= clock_type::duration::zero())
                throw Error(error::transport_timeout, "request deadline exceeded");
            d = std::min(d, left);
        }
        s.expires_after(d);
    }
    [[noreturn]] void throw_timeout() const {
        if (deadline && clock_type::now() >= *deadline)
            throw Error(error::transport_timeout, "request deadline exceeded");
        throw Error(error::transport_timeout, "idle timeout: no data from the server");
    }
};

// A failure reading the response head on a reused connection before any byte: the server closed
// the idle connection; the request is resent on a fresh one.
struct StaleConnection {};

[[noreturn]] void throw_io(error_code const& ec, Timer const& t, char const* what) {
    if (ec == asio::error::operation_aborted) throw boost::system::system_error(ec);
    if (ec == beast::error::timeout) t.throw_timeout();
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
        ec == asio::error::broken_pipe || ec == asio::ssl::error::stream_truncated || ec == bhttp::error::partial_message)
        throw Error(error::transport_connection_closed, std::string(what) + ": connection closed by the server");
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_version).category())
        throw Error(error::transport_protocol_error, std::string(what) + ": " + ec.message());
    throw Error(error::transport_connection_closed, std::string(what) + ": " + ec.message());
}

}  // namespace

namespace {

struct PoolService;

// The services a client parked connections in (so its destructor can purge them).
struct ClientRegistry {
    std::mutex mutex;
    std::set<PoolService*> services;
};

// Idle connections live in a service of the execution context that owns their sockets: when that
// context shuts down, they are closed while its reactor still exists, and a client never reuses a
// socket of a context that is gone.
struct PoolService : asio::execution_context::service {
    using key_type = PoolService;
    static asio::execution_context::id id;

    explicit PoolService(asio::execution_context& ctx) : asio::execution_context::service(ctx) {}

    void shutdown() override {
        decltype(pool) doomed;
        std::vector<std::weak_ptr<ClientRegistry>> registries;
        {
            std::lock_guard lock(mutex);
            doomed.swap(pool);
            registries.swap(clients);
        }
        for (auto& w : registries) {
            if (auto r = w.lock()) {
                std::lock_guard lock(r->mutex);
                r->services.erase(this);
            }
        }
        doomed.clear();
    }

    std::unique_ptr<Conn> take(std::uint64_t client, std::string const& origin, std::chrono::milliseconds ttl) {
        std::vector<std::unique_ptr<Conn>> expired;
        std::unique_ptr<Conn> found;
        {
            std::lock_guard lock(mutex);
            auto it = pool.find({client, origin});
            if (it == pool.end()) return nullptr;
            auto& list = it->second;
            while (!list.empty() && !found) {
                auto c = std::move(list.back());
                list.pop_back();
                if (clock_type::now() - c->idle_since < ttl && c->lowest().socket().is_open()) found = std::move(c);
                else expired.push_back(std::move(c));
            }
        }
        return found;
    }

    void give_back(std::uint64_t client, std::string const& origin, std::unique_ptr<Conn> c, std::size_t max,
                   std::shared_ptr<ClientRegistry> const& registry) {
        {
            std::lock_guard lock(mutex);
            auto& list = pool[{client, origin}];
            if (list.size() >= max) return;  // dropped: closes on destruction
            c->lowest().expires_never();
            c->idle_since = clock_type::now();
            list.push_back(std::move(c));
            clients.push_back(registry);
        }
        std::lock_guard lock(registry->mutex);
        registry->services.insert(this);
    }

    std::size_t count(std::uint64_t client) {
        std::lock_guard lock(mutex);
        std::size_t n = 0;
        for (auto const& [owner, list] : pool)
            if (owner.first == client) n += list.size();
        return n;
    }

    void purge(std::uint64_t client) {
        std::vector<std::unique_ptr<Conn>> doomed;
        std::lock_guard lock(mutex);
        for (auto it = pool.begin(); it != pool.end();) {
            if (it->first.first == client) {
                for (auto& c : it->second) doomed.push_back(std::move(c));
                it = pool.erase(it);
            } else {
                ++it;
            }
        }
    }

    std::mutex mutex;
    std::map<std::pair<std::uint64_t, std::string>, std::vector<std::unique_ptr<Conn>>> pool;
    std::vector<std::weak_ptr<ClientRegistry>> clients;
};

asio::execution_context::id PoolService::id;

std::atomic<std::uint64_t> next_client_id{1};

}  // namespace

struct HttpClient::Impl {
    HttpClientOptions options;
    asio::ssl::context ssl{asio::ssl::context::tls_client};
    std::uint64_t const id = next_client_id++;
    std::shared_ptr<ClientRegistry> registry = std::make_shared<ClientRegistry>();
    std::atomic<std::size_t> opened{0};

    explicit Impl(HttpClientOptions opts) : options(std::move(opts)) {
        ssl.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                        asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                        asio::ssl::context::no_tlsv1_1);
        ssl.set_verify_mode(asio::ssl::verify_peer);
        if (options.use_default_verify_paths) ssl.set_default_verify_paths();
        if (options.ca_file) {
            error_code ec;
            ssl.load_verify_file(*options.ca_file, ec);
            if (ec) throw Error(error::transport_tls_failed, "cannot load CA file " + *options.ca_file + ": " + ec.message());
        }
    }

    ~Impl() { close_idle(); }

    std::vector<PoolService*> services() {
        std::lock_guard lock(registry->mutex);
        return {registry->services.begin(), registry->services.end()};
    }

    std::size_t idle() {
        std::size_t n = 0;
        for (auto* s : services()) n += s->count(id);
        return n;
    }

    void close_idle() {
        for (auto* s : services()) s->purge(id);
    }

    asio::awaitable<std::unique_ptr<Conn>> connect(Url const& url, Timer const& timer) {
        using namespace asio::experimental::awaitable_operators;
        auto executor = co_await asio::this_coro::executor;
        auto conn = std::make_unique<Conn>();
        auto deadline_for_connect = [&]() {
            auto d = clock_type::duration(timer.connect);
            if (timer.deadline) d = std::min(d, *timer.deadline - clock_type::now());
            return std::max(d, clock_type::duration(std::chrono::milliseconds(1)));
        };
        tcp::resolver resolver(executor);
        asio::steady_timer guard(executor, deadline_for_connect());
        auto resolved = co_await (resolver.async_resolve(url.host, url.port, asio::as_tuple(asio::use_awaitable)) ||
                                  guard.async_wait(asio::use_awaitable));
        if (resolved.index() == 1)
            throw Error(error::transport_resolve_failed, "timed out resolving " + url.host);
        auto [resolve_error, endpoints] = std::get<0>(std::move(resolved));
        if (resolve_error == asio::error::operation_aborted) throw boost::system::system_error(resolve_error);
        if (resolve_error)
            throw Error(error::transport_resolve_failed, "cannot resolve " + url.host + ": " + resolve_error.message());

        auto stream = std::make_unique<beast::tcp_stream>(executor);
        stream->expires_after(deadline_for_connect());
        error_code ec;
        co_await stream->async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::operation_aborted) throw boost::system::system_error(ec);
        if (ec == beast::error::timeout)
            throw Error(error::transport_connect_failed, "timed out connecting to " + url.origin());
        if (ec) throw Error(error::transport_connect_failed, "cannot connect to " + url.origin() + ": " + ec.message());
        stream->socket().set_option(tcp::no_delay(true), ec);
        ++opened;
        if (!url.tls()) {
            conn->plain = std::move(stream);
            co_return conn;
        }
        conn->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(*stream), ssl);
        auto& tls = *conn->tls;
        if (!is_ip_literal(url.host)) SSL_set_tlsext_host_name(tls.native_handle(), url.host.c_str());
        tls.set_verify_mode(asio::ssl::verify_peer);
        tls.set_verify_callback(asio::ssl::host_name_verification(url.host));
        beast::get_lowest_layer(tls).expires_after(deadline_for_connect());
        co_await tls.async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::operation_aborted) throw boost::system::system_error(ec);
        if (ec) {
            std::string why = ec == beast::error::timeout ? std::string("timed out") : ec.message();
            long verify = SSL_get_verify_result(tls.native_handle());
            if (verify != X509_V_OK) why += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
            throw Error(error::transport_tls_failed, "TLS handshake with " + url.origin() + " failed: " + why);
        }
        co_return conn;
    }
};

namespace {

template <class Stream>
asio::awaitable<HttpResponse> exchange(HttpClientOptions const& options, std::size_t max_body, Stream& stream, Conn& conn,
                                       bhttp::request<bhttp::string_body>& req, Timer const& timer, bool reused,
                                       BodyHandler const& on_body, HeadHandler const& on_head, bool& reusable) {
    auto& lowest = conn.lowest();
    error_code ec;
    timer.arm(lowest);
    co_await bhttp::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
        if (reused && ec != asio::error::operation_aborted) throw StaleConnection{};
        throw_io(ec, timer, "sending the request");
    }

    bhttp::response_parser<bhttp::buffer_body> parser;
    parser.header_limit(64 * 1024);
    parser.body_limit(boost::none);
    if (req.method() == bhttp::verb::head) parser.skip(true);
    char chunk[16 * 1024];
    while (!parser.is_header_done()) {
        timer.arm(lowest);
        parser.get().body().data = chunk;
        parser.get().body().size = sizeof chunk;
        co_await bhttp::async_read_some(stream, conn.buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
        lowest.expires_never();
        if (ec == bhttp::error::need_buffer) ec = {};
        if (ec) {
            if (reused && !parser.got_some() && ec != asio::error::operation_aborted && ec != beast::error::timeout)
                throw StaleConnection{};
            throw_io(ec, timer, "reading the response head");
        }
    }

    HttpResponse response;
    auto& head = parser.get();
    response.status = head.result_int();
    for (auto const& field : head) response.headers.emplace_back(lower(field.name_string()), std::string(field.value()));

    bool const stream_body = response.ok() && on_body;
    std::size_t const cap = response.ok() ? max_body : options.max_error_body;
    if (stream_body && on_head) on_head(response);

    // Bytes the header read already pulled into the body buffer.
    auto deliver = [&](std::size_t n) -> asio::awaitable<void> {
        if (n == 0) co_return;
        if (stream_body) {
            co_await on_body(std::string_view(chunk, n));
        } else if (response.body.size() < cap) {
            std::size_t keep = std::min(n, cap - response.body.size());
            response.body.append(chunk, keep);
            if (keep < n) {
                if (response.ok())
                    throw Error(error::transport_body_too_large, "response body larger than the limit");
                response.body_truncated = true;
            }
        } else {
            if (response.ok())
                throw Error(error::transport_body_too_large, "response body larger than the limit");
            response.body_truncated = true;
        }
    };
    co_await deliver(sizeof chunk - parser.get().body().size);

    while (!parser.is_done()) {
        if (response.body_truncated) {
            reusable = false;  // stop reading an oversized error body
            co_return response;
        }
        parser.get().body().data = chunk;
        parser.get().body().size = sizeof chunk;
        timer.arm(lowest);
        co_await bhttp::async_read_some(stream, conn.buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
        lowest.expires_never();
        if (ec == bhttp::error::need_buffer) ec = {};
        if (ec) throw_io(ec, timer, "reading the response body");
        co_await deliver(sizeof chunk - parser.get().body().size);
    }
    reusable = parser.keep_alive() && !response.body_truncated;
    co_return response;
}

}  // namespace

HttpClient::HttpClient(HttpClientOptions options) : impl_(std::make_shared<Impl>(std::move(options))) {}

HttpClientOptions const& HttpClient::options() const noexcept { return impl_->options; }

std::size_t HttpClient::connections_opened() const noexcept { return impl_->opened; }

std::size_t HttpClient::idle_connections() const noexcept { return impl_->idle(); }

void HttpClient::close_idle() { impl_->close_idle(); }

HttpClient::~HttpClient() = default;

asio::awaitable<HttpResponse> HttpClient::do_send(HttpRequest request, BodyHandler on_body, HeadHandler on_head) {
    auto impl = impl_;  // keeps the pool alive for the duration of the call
    Url const url = Url::parse(request.url);
    if (!is_http_token(request.method))
        throw Error(error::transport_invalid_request, "the request method is not an HTTP token");
    for (auto const& [name, value] : request.headers) {
        if (!is_valid_header_name(name) || !is_safe_header_value(value))
            throw Error(error::transport_invalid_request, "the request header " + name.substr(0, 100) + " cannot be written");
    }
    std::size_t const max_body = request.max_body.value_or(impl->options.max_body);
    Timer timer{request.connect_timeout.value_or(impl->options.connect_timeout),
                request.idle_timeout.value_or(impl->options.idle_timeout), std::nullopt};
    if (auto total = request.total_timeout ? request.total_timeout : impl->options.total_timeout)
        timer.deadline = clock_type::now() + *total;

    bhttp::request<bhttp::string_body> req;
    auto verb = bhttp::string_to_verb(request.method);
    if (verb == bhttp::verb::unknown) req.method_string(request.method);
    else req.method(verb);
    req.target(url.target);
    req.version(11);
    bool default_port = (url.tls() && url.port == "443") || (!url.tls() && url.port == "80");
    std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
    req.set(bhttp::field::host, default_port ? host : host + ":" + url.port);
    req.set(bhttp::field::user_agent, impl->options.user_agent);
    for (auto const& [k, v] : request.headers) req.set(k, v);
    req.body() = std::move(request.body);
    req.keep_alive(true);
    if (!req.body().empty() || verb == bhttp::verb::post || verb == bhttp::verb::put || verb == bhttp::verb::patch)
        req.prepare_payload();

    std::string const origin = url.origin();
    auto executor = co_await asio::this_coro::executor;
    auto& pool = asio::use_service<PoolService>(asio::query(executor, asio::execution::context));
    for (int attempt = 0;; ++attempt) {
        auto conn = attempt == 0 ? pool.take(impl->id, origin, impl->options.pool_idle_ttl) : nullptr;
        bool const reused = conn != nullptr;
        if (!conn) conn = co_await impl->connect(url, timer);
        bool reusable = false;
        std::optional<HttpResponse> response;
        try {
            if (conn->tls)
                response = co_await exchange(impl->options, max_body, *conn->tls, *conn, req, timer, reused, on_body, on_head, reusable);
            else
                response = co_await exchange(impl->options, max_body, *conn->plain, *conn, req, timer, reused, on_body, on_head, reusable);
        } catch (StaleConnection const&) {
            conn->close();
            continue;  // reused connection was closed by the server: one fresh attempt
        } catch (...) {
            conn->close();  // cancellation, timeouts, handler errors: the upstream sees the close
            throw;
        }
        if (reusable && impl->options.max_idle_per_origin > 0)
            pool.give_back(impl->id, origin, std::move(conn), impl->options.max_idle_per_origin, impl->registry);
        else
            conn->close();
        co_return std::move(*response);
    }
}

}  // namespace chatkit::http
