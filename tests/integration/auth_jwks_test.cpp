// JwksCache against a real loopback JWKS server (HTTP on 127.0.0.1, and HTTPS with a test
// certificate): caching and max-age, rotation with one refetch per cooldown, stale keys during an
// outage, one fetch shared by concurrent verifications, and bad documents that poison nothing.
// Time is a pinned steady clock advanced by the tests, so nothing sleeps.
#include "integration/http_support.hpp"

#include <chatkit/auth/jwks.hpp>
#include <chatkit/http/client/http_client.hpp>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <catch2/catch.hpp>

namespace {

namespace auth = chatkit::auth;
using namespace test;
using tcp = asio::ip::tcp;

constexpr std::int64_t now_s = 1'800'000'000;

/// A JWKS endpoint on 127.0.0.1:0 answering every GET with the configured status, body and
/// Cache-Control, counting requests. Optionally TLS (the certificate of `TestCertificate`).
class JwksServer {
public:
    explicit JwksServer(TestCertificate const* cert = nullptr) {
        if (cert) {
            tls_.emplace(asio::ssl::context::tls_server);
            tls_->use_certificate_chain_file(cert->cert_file.string());
            tls_->use_private_key_file(cert->key_file.string(), asio::ssl::context::pem);
        }
        acceptor_.open(tcp::v4());
        acceptor_.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        acceptor_.listen();
        thread_ = std::thread([this] { serve(); });
    }
    ~JwksServer() { stop(); }

    void stop() {
        if (!thread_.joinable()) return;
        stopping_ = true;
        boost::system::error_code ec;
        tcp::socket wake(io_);
        wake.connect(acceptor_.local_endpoint(), ec);  // unblocks accept()
        thread_.join();
        acceptor_.close(ec);
    }

    void set(std::string body, std::string cache_control = {}, unsigned status = 200) {
        std::lock_guard lock(mutex_);
        body_ = std::move(body);
        cache_control_ = std::move(cache_control);
        status_ = status;
    }

    std::string url(std::string_view host = "127.0.0.1") const {
        return std::string(tls_ ? "https://" : "http://") + std::string(host) + ":" +
               std::to_string(acceptor_.local_endpoint().port()) + "/.well-known/jwks.json";
    }

    int hits() const { return hits_; }

private:
    template <class Stream>
    void answer(Stream& stream) {
        beast::flat_buffer buffer;
        bhttp::request<bhttp::string_body> req;
        boost::system::error_code ec;
        bhttp::read(stream, buffer, req, ec);
        if (ec) return;
        ++hits_;
        bhttp::response<bhttp::string_body> res;
        {
            std::lock_guard lock(mutex_);
            res.result(status_);
            res.body() = body_;
            if (!cache_control_.empty()) res.set(bhttp::field::cache_control, cache_control_);
        }
        res.version(11);
        res.set(bhttp::field::content_type, "application/json");
        res.keep_alive(false);
        res.prepare_payload();
        bhttp::write(stream, res, ec);
    }

    void serve() {
        for (;;) {
            tcp::socket socket(io_);
            boost::system::error_code ec;
            acceptor_.accept(socket, ec);
            if (ec || stopping_) return;
            if (tls_) {
                asio::ssl::stream<tcp::socket&> stream(socket, *tls_);
                stream.handshake(asio::ssl::stream_base::server, ec);
                if (!ec) answer(stream);
                stream.shutdown(ec);
            } else {
                answer(socket);
            }
            socket.shutdown(tcp::socket::shutdown_both, ec);
        }
    }

    asio::io_context io_;
    std::optional<asio::ssl::context> tls_;
    tcp::acceptor acceptor_{io_};
    std::thread thread_;
    std::atomic<bool> stopping_{false};
    std::atomic<int> hits_{0};
    std::mutex mutex_;
    std::string body_;
    std::string cache_control_;
    unsigned status_ = 200;
};

/// A steady clock the test moves forward.
struct ManualClock {
    std::shared_ptr<std::atomic<std::int64_t>> seconds = std::make_shared<std::atomic<std::int64_t>>(1000);
    void advance(std::chrono::seconds s) const { *seconds += s.count(); }
    std::function<steady::time_point()> fn() const {
        return [s = seconds] { return steady::time_point(std::chrono::seconds(s->load())); };
    }
};

auth::Key const& key(std::string const& kid, auth::Algorithm alg = auth::Algorithm::es256) {
    static std::map<std::string, auth::Key> keys;
    auto it = keys.find(kid);
    if (it == keys.end()) it = keys.emplace(kid, auth::Key::generate(alg, kid)).first;
    return it->second;
}

std::string jwks_of(std::vector<std::string> const& kids) {
    auth::KeySet set;
    for (auto const& kid : kids) set.add(auth::Key::from_pem(key(kid).public_pem(), kid));
    return set.to_jwks();
}

std::string token_for(std::string const& kid, std::string const& sub = "alice") {
    json::object claims{{"sub", sub}, {"iss", "https://issuer.test"}, {"aud", "chatkit"}, {"exp", now_s + 600}};
    return auth::sign_jwt(claims, key(kid), auth::Algorithm::es256);
}

auth::JwtVerifier verifier() {
    auth::JwtVerifier v;
    v.allow(auth::Algorithm::es256).issuer("https://issuer.test").audience("chatkit").clock([] {
        return std::chrono::system_clock::time_point(std::chrono::seconds(now_s));
    });
    return v;
}

auth::JwksOptions options_for(JwksServer const& server, ManualClock const& clock) {
    auth::JwksOptions o;
    o.url = server.url();
    o.allow_http = true;
    o.clock = clock.fn();
    o.transport = std::make_shared<chatkit::http::HttpClient>();
    return o;
}

/// `cache.verify(verifier, token)` as a result: the claims, or the code of the chatkit::Error it threw.
asio::awaitable<boost::system::result<auth::Claims>> outcome(auth::JwksCache& cache, auth::JwtVerifier const& verifier,
                                                             std::string token) {
    try {
        co_return co_await cache.verify(verifier, std::move(token));
    } catch (chatkit::Error const& e) {
        co_return e.code();
    }
}

}  // namespace

TEST_CASE("JwksCache fetches once and serves cached keys while fresh", "[auth][jwks]") {
    JwksServer server;
    server.set(jwks_of({"k1"}), "public, max-age=120");
    ManualClock clock;
    asio::io_context io;
    auth::JwksCache cache(io.get_executor(), options_for(server, clock));
    auto v = verifier();
    auto check = [&](std::string const& t) {
        auto f = asio::co_spawn(io, outcome(cache, v, t), asio::use_future);
        io.restart();
        io.run();
        return f.get();
    };
    CHECK(check(token_for("k1")).value().subject == "alice");
    CHECK(check(token_for("k1", "bob")).value().subject == "bob");
    CHECK(server.hits() == 1);
    clock.advance(std::chrono::seconds(100));  // within max-age=120
    CHECK(check(token_for("k1")).has_value());
    CHECK(server.hits() == 1);
    clock.advance(std::chrono::seconds(30));  // past it: refetched
    CHECK(check(token_for("k1")).has_value());
    CHECK(server.hits() == 2);
    // max-age below the minimum (60 s) is raised to it; no-store counts as the minimum
    server.set(jwks_of({"k1"}), "max-age=1");
    clock.advance(std::chrono::seconds(200));
    CHECK(check(token_for("k1")).has_value());
    CHECK(server.hits() == 3);
    clock.advance(std::chrono::seconds(30));
    CHECK(check(token_for("k1")).has_value());
    CHECK(server.hits() == 3);
}

TEST_CASE("JwksCache follows key rotation, refetching at most once per cooldown", "[auth][jwks]") {
    JwksServer server;
    server.set(jwks_of({"old"}));
    ManualClock clock;
    asio::io_context io;
    auth::JwksCache cache(io.get_executor(), options_for(server, clock));
    auto run = [&](std::string const& t) {
        auto v = verifier();
        auto f = asio::co_spawn(io, outcome(cache, v, t), asio::use_future);
        io.restart();
        io.run();
        return f.get();
    };
    CHECK(run(token_for("old")).has_value());
    CHECK(server.hits() == 1);
    // the issuer rotates: a token with the new kid triggers one refetch
    server.set(jwks_of({"new"}));
    clock.advance(std::chrono::seconds(31));
    CHECK(run(token_for("new")).has_value());
    CHECK(server.hits() == 2);
    // the removed key no longer verifies, and unknown kids within the cooldown fetch nothing
    CHECK(run(token_for("old")).error() == make_error_code(chatkit::error::unknown_key_id));
    for (int i = 0; i < 20; ++i)
        CHECK(run(token_for("attacker-" + std::to_string(i % 2))).error() ==
              make_error_code(chatkit::error::unknown_key_id));
    CHECK(server.hits() == 2);
    // after the cooldown, one more refetch is allowed
    clock.advance(std::chrono::seconds(31));
    CHECK(run(token_for("attacker-0")).error() == make_error_code(chatkit::error::unknown_key_id));
    CHECK(server.hits() == 3);
    CHECK(cache.fetch_count() == 3);
}

TEST_CASE("JwksCache serves stale keys while the issuer is unreachable, then fails closed", "[auth][jwks]") {
    auto server = std::make_unique<JwksServer>();
    server->set(jwks_of({"k1"}), "max-age=600");
    ManualClock clock;
    asio::io_context io;
    auto options = options_for(*server, clock);
    options.max_stale = std::chrono::hours(1);
    auth::JwksCache cache(io.get_executor(), options);
    auto run = [&](std::string const& t) {
        auto v = verifier();
        auto f = asio::co_spawn(io, outcome(cache, v, t), asio::use_future);
        io.restart();
        io.run();
        return f.get();
    };
    CHECK(run(token_for("k1")).has_value());
    // the issuer answers 503
    server->set("{\"error\":\"down\"}", {}, 503);
    clock.advance(std::chrono::seconds(700));
    CHECK(run(token_for("k1")).has_value());  // stale keys served
    CHECK(server->hits() == 2);
    CHECK(run(token_for("k1")).has_value());  // no new attempt within the cooldown
    CHECK(server->hits() == 2);
    // the issuer is gone entirely (connection refused)
    server->stop();
    clock.advance(std::chrono::seconds(40));
    CHECK(run(token_for("k1")).has_value());
    CHECK(cache.fetch_count() == 3);
    // beyond max_stale, verification fails closed
    clock.advance(std::chrono::hours(2));
    CHECK(run(token_for("k1")).error() == make_error_code(chatkit::error::jwks_unavailable));
}

TEST_CASE("JwksCache shares one fetch between concurrent verifications", "[auth][jwks]") {
    JwksServer server;
    server.set(jwks_of({"k1", "k2"}));
    ManualClock clock;
    SECTION("coroutines on one thread") {
        asio::io_context io;
        auth::JwksCache cache(io.get_executor(), options_for(server, clock));
        auto v = verifier();
        std::vector<std::future<boost::system::result<auth::Claims>>> results;
        results.reserve(25);
        for (int i = 0; i < 25; ++i)
            results.push_back(asio::co_spawn(io, outcome(cache, v, token_for(i % 2 ? "k1" : "k2", "u" + std::to_string(i))),
                                             asio::use_future));
        io.run();
        for (int i = 0; i < 25; ++i) CHECK(results[static_cast<std::size_t>(i)].get().value().subject == "u" + std::to_string(i));
        CHECK(server.hits() == 1);
    }
    SECTION("coroutines on four threads") {
        asio::io_context io;
        auth::JwksCache cache(io.get_executor(), options_for(server, clock));
        auto v = verifier();
        std::vector<std::future<boost::system::result<auth::Claims>>> results;
        results.reserve(40);
        for (int i = 0; i < 40; ++i)
            results.push_back(asio::co_spawn(asio::make_strand(io), outcome(cache, v, token_for("k1")), asio::use_future));
        std::vector<std::thread> threads;
        threads.reserve(4);
        for (int i = 0; i < 4; ++i) threads.emplace_back([&] { io.run(); });
        for (auto& t : threads) t.join();
        for (auto& r : results) CHECK(r.get().has_value());
        CHECK(server.hits() == 1);
    }
}

TEST_CASE("JwksCache skips bad entries and never replaces keys with a bad document", "[auth][jwks]") {
    JwksServer server;
    server.set("this is not json");
    ManualClock clock;
    asio::io_context io;
    auth::JwksCache cache(io.get_executor(), options_for(server, clock));
    auto run = [&](std::string const& t) {
        auto v = verifier();
        auto f = asio::co_spawn(io, outcome(cache, v, t), asio::use_future);
        io.restart();
        io.run();
        return f.get();
    };
    CHECK(run(token_for("k1")).error() == make_error_code(chatkit::error::jwks_unavailable));
    CHECK(run(token_for("k1")).error() == make_error_code(chatkit::error::jwks_unavailable));
    CHECK(server.hits() == 1);  // a failed fetch is not retried within the cooldown
    // a set with bad entries around a good one
    json::array keys = json::parse(jwks_of({"k1"})).as_object().at("keys").as_array();
    keys.push_back(json::object{{"kty", "oct"}, {"kid", "k2"}, {"k", chatkit::base64url_encode(std::string(32, 'a'))}});
    keys.push_back(json::object{{"kty", "EC"}, {"kid", "k3"}, {"crv", "P-256"}, {"x", "AA"}, {"y", "AA"}});
    keys.push_back("junk");
    server.set(json::serialize(json::object{{"keys", keys}}));
    clock.advance(std::chrono::seconds(31));
    CHECK(run(token_for("k1")).has_value());
    CHECK(cache.skipped().size() == 3);
    CHECK(cache.snapshot()->size() == 1);
    // later documents without usable keys keep the good ones
    for (std::string const& bad : {std::string("{\"keys\":[]}"), std::string("[]"), std::string("{\"keys\":[{\"kty\":\"oct\",\"k\":\"AAAA\"}]}")}) {
        server.set(bad);
        clock.advance(std::chrono::seconds(700));
        CHECK(run(token_for("k1")).has_value());
        CHECK(cache.snapshot()->find("k1"));
    }
}

TEST_CASE("JwksCache::verify_cached never blocks and warms the cache in the background", "[auth][jwks]") {
    JwksServer server;
    server.set(jwks_of({"k1"}));
    ManualClock clock;
    asio::io_context io;
    auth::JwksCache cache(io.get_executor(), options_for(server, clock));
    auto v = verifier();
    auto cached = [&](std::string const& t) {
        boost::system::error_code ec;
        auth::Claims const claims = cache.verify_cached(v, t, ec);
        if (ec) {
            CHECK_THROWS_AS(cache.verify_cached(v, t), chatkit::Error);
            return boost::system::result<auth::Claims>(ec);
        }
        return boost::system::result<auth::Claims>(claims);
    };
    CHECK(cached(token_for("k1")).error() == make_error_code(chatkit::error::jwks_unavailable));
    io.run();  // the background fetch
    CHECK(cached(token_for("k1")).has_value());
    // rotation seen through the synchronous path: the first token with the new kid fails and
    // starts the refetch; after it, the token verifies
    server.set(jwks_of({"k1", "k2"}));
    clock.advance(std::chrono::seconds(31));
    CHECK(cached(token_for("k2")).error() == make_error_code(chatkit::error::unknown_key_id));
    io.restart();
    io.run();
    CHECK(cache.verify_cached(v, token_for("k2")).subject == "alice");
    CHECK(server.hits() == 2);
}

// Also a regression test: a fetch that failed before its first suspension (the refused http:// URL
// below) used to deadlock the cache, which started the fetch inline with its mutex held.
TEST_CASE("the default fetcher requires HTTPS and verifies the certificate and host name", "[auth][jwks][tls]") {
    TestCertificate cert;
    JwksServer server(&cert);
    server.set(jwks_of({"k1"}));
    ManualClock clock;
    auto fetch_with = [&](auth::JwksOptions o) {
        asio::io_context io;
        auth::JwksCache cache(io.get_executor(), o);
        auto v = verifier();
        auto f = asio::co_spawn(io, outcome(cache, v, token_for("k1")), asio::use_future);
        io.run();
        return f.get();
    };
    auth::JwksOptions o;
    o.url = server.url();
    o.clock = clock.fn();
    // without a transport (and no fetcher of its own) the cache cannot be made
    {
        asio::io_context io;
        CHECK_THROWS_AS(auth::JwksCache(io.get_executor(), o), std::invalid_argument);
    }
    o.transport = std::make_shared<chatkit::http::HttpClient>();
    // the test certificate is not trusted by the system store
    CHECK(fetch_with(o).error() == make_error_code(chatkit::error::jwks_unavailable));
    chatkit::http::HttpClientOptions trusting;
    trusting.ca_file = cert.cert_file.string();
    o.transport = std::make_shared<chatkit::http::HttpClient>(trusting);
    CHECK(fetch_with(o).has_value());
    // the certificate names 127.0.0.1, not localhost
    o.url = server.url("localhost");
    CHECK(fetch_with(o).error() == make_error_code(chatkit::error::jwks_unavailable));
    // plain http is refused unless allowed
    JwksServer plain;
    plain.set(jwks_of({"k1"}));
    auth::JwksOptions p;
    p.url = plain.url();
    p.clock = clock.fn();
    p.transport = std::make_shared<chatkit::http::HttpClient>();
    CHECK(fetch_with(p).error() == make_error_code(chatkit::error::jwks_unavailable));
    CHECK(plain.hits() == 0);
    p.allow_http = true;
    CHECK(fetch_with(p).has_value());
    // redirects are not followed
    plain.set("", {}, 302);
    p.url = plain.url();
    CHECK(fetch_with(p).error() == make_error_code(chatkit::error::jwks_unavailable));
}
