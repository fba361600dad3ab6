// Loopback mock LLM server (see mock_llm.hpp).
#include "mock_llm.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <unistd.h>

namespace test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using boost::system::error_code;

std::string read_fixture(std::string const& relative_path) {
    std::ifstream in(std::string(CHATKIT_TEST_DATA_DIR) + "/" + relative_path, std::ios::binary);
    if (!in) throw std::runtime_error("missing test fixture " + relative_path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

MockReply MockReply::sse(std::string transcript) {
    MockReply r;
    r.body = std::move(transcript);
    return r;
}

MockReply MockReply::json(unsigned status, std::string body, std::vector<std::pair<std::string, std::string>> headers) {
    MockReply r;
    r.status = status;
    r.content_type = "application/json";
    r.body = std::move(body);
    r.headers = std::move(headers);
    r.split = Split::whole;
    r.chunked = false;
    return r;
}

std::optional<std::string> ReceivedRequest::header(std::string const& name) const {
    for (auto const& [k, v] : headers)
        if (k == name) return v;
    return std::nullopt;
}

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// Applies the delivery options: CRLF, keep-alive comments, then cuts the body into writes.
std::vector<std::string> pieces_of(MockReply const& r) {
    std::string body = r.body;
    if (r.keepalive_comments) {
        std::string out;
        std::size_t pos = 0;
        out += ": keep-alive\n\n";
        while (pos < body.size()) {
            auto end = body.find("\n\n", pos);
            end = end == std::string::npos ? body.size() : end + 2;
            out.append(body, pos, end - pos);
            out += ": keep-alive\n\n";
            pos = end;
        }
        body = std::move(out);
    }
    if (r.crlf) {
        std::string out;
        for (char c : body) {
            if (c == '\n') out += "\r\n";
            else out += c;
        }
        body = std::move(out);
    }
    std::vector<std::string> pieces;
    switch (r.split) {
        case Split::whole:
            if (!body.empty()) pieces.push_back(body);
            break;
        case Split::per_event: {
            std::string const sep = r.crlf ? "\r\n\r\n" : "\n\n";
            std::size_t pos = 0;
            while (pos < body.size()) {
                auto end = body.find(sep, pos);
                end = end == std::string::npos ? body.size() : end + sep.size();
                pieces.push_back(body.substr(pos, end - pos));
                pos = end;
            }
            break;
        }
        case Split::fixed:
            for (std::size_t pos = 0; pos < body.size(); pos += r.chunk) pieces.push_back(body.substr(pos, r.chunk));
            break;
        case Split::random: {
            std::mt19937 rng(r.seed);
            std::uniform_int_distribution<std::size_t> pick(1, std::max<std::size_t>(1, r.chunk));
            for (std::size_t pos = 0; pos < body.size();) {
                auto n = std::min(pick(rng), body.size() - pos);
                pieces.push_back(body.substr(pos, n));
                pos += n;
            }
            break;
        }
    }
    return pieces;
}

tcp::socket& socket_of(beast::tcp_stream& s) { return s.socket(); }
tcp::socket& socket_of(beast::ssl_stream<beast::tcp_stream>& s) { return beast::get_lowest_layer(s).socket(); }

}  // namespace

struct MockLlmServer::Impl {
    Options options;
    asio::io_context io;
    tcp::acceptor acceptor{io};
    std::thread thread;
    std::uint16_t port = 0;

    mutable std::mutex mutex;
    std::condition_variable changed;
    std::deque<MockReply> script;
    std::vector<ReceivedRequest> received;
    std::size_t accepted = 0, closed_by_client = 0, closed_mid = 0;

    void notify() { changed.notify_all(); }

    void bump(std::size_t& counter) {
        {
            std::lock_guard lock(mutex);
            ++counter;
        }
        notify();
    }

    asio::awaitable<void> accept_loop() {
        for (;;) {
            error_code ec;
            tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return;
            std::size_t index;
            {
                std::lock_guard lock(mutex);
                index = ++accepted;
            }
            notify();
            auto* self = this;
            if (options.tls) {
                asio::co_spawn(io, serve_tls(self, std::move(socket), index), asio::detached);
            } else {
                asio::co_spawn(io, serve_plain(self, std::move(socket), index), asio::detached);
            }
        }
    }

    static asio::awaitable<void> serve_plain(Impl* self, tcp::socket socket, std::size_t index) {
        beast::tcp_stream stream(std::move(socket));
        co_await self->session(stream, index);
    }

    static asio::awaitable<void> serve_tls(Impl* self, tcp::socket socket, std::size_t index) {
        beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *self->options.tls);
        error_code ec;
        co_await stream.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;  // the client rejected our certificate
        co_await self->session(stream, index);
    }

    // Resolves when the client closes (EOF/reset); bytes it sends meanwhile are kept in `buffer`.
    template <class Stream>
    asio::awaitable<void> watch_close(Stream& stream, beast::flat_buffer& buffer) {
        for (;;) {
            error_code ec;
            auto n = co_await socket_of(stream).async_read_some(buffer.prepare(4096),
                                                                asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return;
            buffer.commit(n);
        }
    }

    template <class Stream>
    asio::awaitable<bool> write_reply(Stream& stream, MockReply const& reply) {
        error_code ec;
        auto pieces = pieces_of(reply);
        http::response<http::empty_body> head{static_cast<http::status>(reply.status), 11};
        head.set(http::field::content_type, reply.content_type);
        for (auto const& [k, v] : reply.headers) head.set(k, v);
        bool const framed = !reply.chunked && reply.split == Split::whole && !reply.drop_after_bytes &&
                            !reply.stall && !reply.crlf && !reply.keepalive_comments &&
                            reply.content_type == "application/json";
        bool const close = reply.close_after || (!reply.chunked && !framed);
        if (reply.chunked) {
            head.chunked(true);
        } else if (framed) {
            head.content_length(reply.body.size());
        }
        head.keep_alive(!close);
        http::response_serializer<http::empty_body> sr{head};
        co_await http::async_write_header(stream, sr, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return false;
        std::size_t written = 0;
        bool first = true;
        asio::steady_timer timer(io);
        for (auto const& piece : pieces) {
            if (!first && reply.delay.count() > 0) {
                timer.expires_after(reply.delay);
                co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            }
            first = false;
            std::string_view data = piece;
            if (reply.drop_after_bytes) {
                if (written >= *reply.drop_after_bytes) break;
                data = data.substr(0, *reply.drop_after_bytes - written);
            }
            if (reply.chunked) {
                auto chunk = http::make_chunk(asio::buffer(data));
                co_await asio::async_write(stream, chunk, asio::redirect_error(asio::use_awaitable, ec));
            } else
                co_await asio::async_write(stream, asio::buffer(data), asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return false;
            written += data.size();
        }
        if (reply.drop_after_bytes && !reply.stall) co_return false;  // abrupt close
        if (reply.stall) {
            asio::steady_timer forever(io, std::chrono::hours(24));
            co_await forever.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            co_return false;
        }
        if (reply.chunked) {
            auto last = http::make_chunk_last();
            co_await asio::async_write(stream, last, asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return false;
        }
        co_return !close;
    }

    template <class Stream>
    asio::awaitable<void> session(Stream& stream, std::size_t index) {
        using namespace asio::experimental::awaitable_operators;
        beast::flat_buffer buffer;
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(64 * 1024 * 1024);
            error_code ec;
            co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
            if (ec) {
                if (ec != asio::error::operation_aborted) bump(closed_by_client);
                co_return;
            }
            auto& req = parser.get();
            ReceivedRequest rec;
            rec.method = std::string(req.method_string());
            rec.target = std::string(req.target());
            for (auto const& f : req) rec.headers.emplace_back(lower(f.name_string()), std::string(f.value()));
            rec.body = req.body();
            rec.connection = index;
            error_code jec;
            rec.json = json::parse(rec.body, jec);
            if (jec) rec.json = nullptr;
            MockReply reply;
            {
                std::lock_guard lock(mutex);
                received.push_back(std::move(rec));
                if (script.empty()) {
                    reply = MockReply::json(
                        500, R"({"error":{"message":"mock: no scripted reply","type":"server_error","param":null,"code":null}})");
                } else {
                    reply = std::move(script.front());
                    script.pop_front();
                }
            }
            notify();
            auto result = co_await (write_reply(stream, reply) || watch_close(stream, buffer));
            if (result.index() == 1) {
                bump(closed_by_client);
                bump(closed_mid);
                co_return;
            }
            if (!std::get<0>(result)) {
                error_code ignored;
                socket_of(stream).shutdown(tcp::socket::shutdown_both, ignored);
                socket_of(stream).close(ignored);
                co_return;
            }
        }
    }
};

MockLlmServer::MockLlmServer() : MockLlmServer(Options{}) {}

MockLlmServer::MockLlmServer(Options options) : impl_(std::make_shared<Impl>()) {
    impl_->options = std::move(options);
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    impl_->acceptor.open(ep.protocol());
    impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
    impl_->acceptor.bind(ep);
    impl_->acceptor.listen();
    impl_->port = impl_->acceptor.local_endpoint().port();
    asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
    impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

MockLlmServer::~MockLlmServer() { stop(); }

void MockLlmServer::stop() {
    if (!impl_->thread.joinable()) return;
    impl_->io.stop();
    impl_->thread.join();
}

std::string MockLlmServer::url(std::string const& host) const {
    std::string h = host.empty() ? (impl_->options.tls ? "localhost" : "127.0.0.1") : host;
    return std::string(impl_->options.tls ? "https://" : "http://") + h + ":" + std::to_string(impl_->port) +
           impl_->options.base_path;
}

std::uint16_t MockLlmServer::port() const { return impl_->port; }

void MockLlmServer::push(MockReply reply) {
    std::lock_guard lock(impl_->mutex);
    impl_->script.push_back(std::move(reply));
}

std::size_t MockLlmServer::pending() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->script.size();
}

std::vector<ReceivedRequest> MockLlmServer::requests() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->received;
}

std::size_t MockLlmServer::request_count() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->received.size();
}

std::size_t MockLlmServer::connections_accepted() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->accepted;
}

std::size_t MockLlmServer::connections_closed_by_client() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->closed_by_client;
}

std::size_t MockLlmServer::closed_mid_reply() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->closed_mid;
}

bool MockLlmServer::wait_until(std::function<bool()> const& pred, std::chrono::milliseconds timeout) {
    std::unique_lock lock(impl_->mutex);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        lock.unlock();
        bool ok = pred();
        lock.lock();
        if (ok) return true;
        if (impl_->changed.wait_until(lock, deadline) == std::cv_status::timeout) {
            lock.unlock();
            return pred();
        }
    }
}

// ---- TestPki ----------------------------------------------------------------------------------

namespace {

struct PkeyDel {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Del {
    void operator()(X509* p) const { X509_free(p); }
};

std::unique_ptr<EVP_PKEY, PkeyDel> make_key() {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    if (!key) throw std::runtime_error("EC key generation failed");
    return std::unique_ptr<EVP_PKEY, PkeyDel>(key);
}

void add_ext(X509* cert, X509* issuer, int nid, char const* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (!ext) throw std::runtime_error("bad X509 extension");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

std::unique_ptr<X509, X509Del> make_cert(EVP_PKEY* key, char const* cn, X509* issuer, EVP_PKEY* issuer_key, long serial,
                                         bool ca, std::string const& san) {
    std::unique_ptr<X509, X509Del> cert(X509_new());
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
    X509_set_pubkey(cert.get(), key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<unsigned char const*>(cn), -1, -1, 0);
    X509* iss = issuer ? issuer : cert.get();
    X509_set_issuer_name(cert.get(), X509_get_subject_name(iss));
    if (ca) {
        add_ext(cert.get(), iss, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(cert.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign");
        add_ext(cert.get(), iss, NID_subject_key_identifier, "hash");
    } else {
        add_ext(cert.get(), iss, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(cert.get(), iss, NID_ext_key_usage, "serverAuth");
        add_ext(cert.get(), iss, NID_subject_alt_name, san.c_str());
    }
    if (!X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256())) throw std::runtime_error("X509_sign failed");
    return cert;
}

std::string pem_of(X509* cert) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, cert);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return out;
}

std::string pem_of(EVP_PKEY* key) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return out;
}

}  // namespace

std::shared_ptr<TestPki> TestPki::generate(std::vector<std::string> dns_names) {
    auto ca_key = make_key();
    auto ca = make_cert(ca_key.get(), "chatkit test CA", nullptr, nullptr, 1, true, "");
    auto key = make_key();
    std::string san;
    for (auto const& n : dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + n;
    auto cert = make_cert(key.get(), dns_names.empty() ? "server" : dns_names.front().c_str(), ca.get(), ca_key.get(), 2,
                          false, san);
    auto pki = std::make_shared<TestPki>();
    pki->ca_pem = pem_of(ca.get());
    pki->cert_pem = pem_of(cert.get());
    pki->key_pem = pem_of(key.get());
    static std::atomic<int> counter{0};
    auto path = std::filesystem::temp_directory_path() /
                ("chatkit-test-ca-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + ".pem");
    std::ofstream(path) << pki->ca_pem;
    pki->ca_file = path.string();
    return pki;
}

std::shared_ptr<asio::ssl::context> TestPki::server_context() const {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    ctx->use_certificate_chain(asio::buffer(cert_pem));
    ctx->use_private_key(asio::buffer(key_pem), asio::ssl::context::pem);
    return ctx;
}

TestPki::~TestPki() {
    std::error_code ec;
    if (!ca_file.empty()) std::filesystem::remove(ca_file, ec);
}

std::uint16_t closed_port() {
    asio::io_context io;
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    auto port = a.local_endpoint().port();
    a.close();
    return port;
}

}  // namespace test
