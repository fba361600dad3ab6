// chatkit-cpp HTTP layer: the bundled listener behind http::Server (accept loop, connections, limits,
// TLS, CORS, routes, static files, graceful shutdown).
#include "read_deadline.hpp"
#include "server_detail.hpp"

#include <chatkit/core/media_type.hpp>
#include <chatkit/core/sse.hpp>
#include <chatkit/http/serve.hpp>
#include <chatkit/http/server.hpp>
#include <chatkit/protocol/json.hpp>
#include <chatkit/server/response.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/file_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <algorithm>
#include <any>
#include <array>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <functional>
#include <iostream>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

namespace chatkit::http {

namespace http_ = beast::http;
using error_code = boost::system::error_code;
using steady_clock = std::chrono::steady_clock;

namespace detail {

// ---------------------------------------------------------------------------------------------
// The bundled listener

namespace {

// One connection's state, shared by its coroutine and the listener. `remote` and `accepted` are set
// before the coroutine starts; `idle_since` and `evicted` are read by the accept loop too; every
// other field is touched on the connection's strand only.
struct session_state {
    explicit session_state(asio::any_io_executor ex) : executor(std::move(ex)) {}
    asio::any_io_executor executor;
    asio::cancellation_signal signal;
    std::string remote;
    steady_clock::time_point accepted = steady_clock::now();  // the first header's deadline counts from here
    // When the connection last became idle (waiting for a request, or in the TLS handshake), in
    // steady_clock ticks; `busy` while a request is read or served. The accept loop reads it to
    // pick the connection to close at the cap.
    static constexpr std::int64_t busy = -1;
    std::atomic<std::int64_t> idle_since{steady_clock::now().time_since_epoch().count()};
    std::atomic<bool> evicted{false};  // chosen by the accept loop to make room: close when idle
    bool idle = true;       // waiting for a request (or in the TLS handshake): stop() closes it at once
    bool draining = false;  // stop() was called (or the connection was evicted): close after the current response
    bool finished = false;  // the coroutine completed: the signal must not be emitted any more

    void set_idle(bool now_idle) noexcept {
        idle = now_idle;
        idle_since.store(now_idle ? steady_clock::now().time_since_epoch().count() : busy, std::memory_order_relaxed);
    }
};

template <class Stream>
asio::awaitable<error_code> read_more(Stream& stream, beast::flat_buffer& buffer) {
    auto space = buffer.prepare(std::min<std::size_t>(4096, buffer.max_size() - buffer.size()));
    auto [ec, n] = co_await stream.async_read_some(space, asio::as_tuple(asio::use_awaitable));
    buffer.commit(n);
    co_return ec;
}

template <class Stream>
asio::awaitable<error_code> read_header(Stream& stream, beast::flat_buffer& buffer,
                                        http_::request_parser<http_::string_body>& parser) {
    auto [ec, n] =
        co_await http_::async_read_header(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    (void)n;
    co_return ec;
}

template <class Stream>
asio::awaitable<error_code> read_body(Stream& stream, beast::flat_buffer& buffer,
                                      http_::request_parser<http_::string_body>& parser) {
    auto [ec, n] = co_await http_::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    (void)n;
    co_return ec;
}

template <class Stream>
asio::awaitable<error_code> write_text(Stream& stream, std::string_view text) {
    auto [ec, n] = co_await asio::async_write(stream, asio::buffer(text.data(), text.size()),
                                              asio::as_tuple(asio::use_awaitable));
    (void)n;
    co_return ec;
}

std::string service_unavailable_response() {
    std::string const body = error_body("unavailable", "Too many connections, retry later");
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\nRetry-After: 1\r\nConnection: close\r\n\r\n" + body;
}

}  // namespace

struct listener::impl {
    impl(ServerOptions o, request_handler& h)
        : options(std::move(o)),
          handler(h),
          ioc(static_cast<int>(std::max(1u, options.threads))),
          control(asio::make_strand(ioc)),
          acceptor(control),
          grace_timer(control),
          hard_timer(control),
          rejection_text(service_unavailable_response()) {}

    ~impl() {
        // Coroutines still queued (a server started but never run, or one whose io_context was
        // stopped) are destroyed with the io_context below; drop our references to their state so
        // nothing holding a strand outlives it.
        std::lock_guard lock(mutex);
        sessions.clear();
    }

    // Members are destroyed in reverse order: I/O objects before the io_context, the io_context
    // (and the coroutine frames it still holds) before the TLS context and the session registry.
    ServerOptions options;
    request_handler& handler;
    std::mutex mutex;
    std::unordered_set<std::shared_ptr<session_state>> sessions;
    std::atomic<std::size_t> active{0};
    std::atomic<std::size_t> rejecting{0};
    std::atomic<std::uint64_t> body_in_flight{0};  // bytes reserved by body_reservation
    std::atomic<bool> stopping{false};
    std::atomic<std::uint16_t> bound_port{0};
    std::filesystem::path static_root;
    std::optional<asio::ssl::context> ssl;
    asio::io_context ioc;
    asio::strand<asio::io_context::executor_type> control;  // acceptor, timers, signals
    asio::ip::tcp::acceptor acceptor;
    asio::steady_timer grace_timer;
    asio::steady_timer hard_timer;
    std::optional<asio::signal_set> signals;
    asio::ip::tcp::endpoint bound;
    std::string rejection_text;
    bool started = false;
    // Application hooks (Server::on_start / on_stop); destroyed before the io_context, which the
    // work they hold (timers on its strands) needs. `stop_hooks` is only touched on `control`.
    std::vector<std::function<void()>> start_hooks;
    std::vector<std::function<void()>> stop_hooks;

    Logger const& logger() const noexcept { return handler.logger(); }
    void log(LogLevel level, std::string_view message) const noexcept { logger().log(level, message); }

    void log_failure(std::string_view what, std::exception_ptr const& e) const {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (boost::system::system_error const& x) {
            if (x.code() == asio::error::operation_aborted) {
                log(LogLevel::debug, std::string(what) + ": cancelled");
                return;
            }
            log(LogLevel::error, std::string(what) + " failed: " + x.what());
        } catch (std::exception const& x) {
            log(LogLevel::error, std::string(what) + " failed: " + x.what());
        } catch (...) {
            log(LogLevel::error, std::string(what) + " failed: unknown exception");
        }
    }

    std::optional<std::chrono::milliseconds> write_timeout() const { return options.serve.write_timeout; }

    // ---- lifecycle -------------------------------------------------------------------------

    asio::ip::tcp::endpoint start() {
        if (started) return bound;
        if (options.tls) {
            asio::ssl::context context(asio::ssl::context::tls_server);
            context.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                                asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                                asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
            context.use_certificate_chain_file(options.tls->certificate_chain_file.string());
            context.use_private_key_file(options.tls->private_key_file.string(), asio::ssl::context::pem);
            ssl.emplace(std::move(context));
        }
        if (options.static_dir) static_root = std::filesystem::canonical(*options.static_dir);

        asio::ip::tcp::resolver resolver(ioc);
        auto const results =
            resolver.resolve(options.host, std::to_string(options.port),
                             asio::ip::tcp::resolver::passive | asio::ip::tcp::resolver::numeric_service);
        auto const endpoint = results.begin()->endpoint();
        try {
            acceptor.open(endpoint.protocol());
            acceptor.set_option(asio::socket_base::reuse_address(true));
            acceptor.bind(endpoint);
            acceptor.listen(asio::socket_base::max_listen_connections);
            bound = acceptor.local_endpoint();
        } catch (...) {
            error_code ignored;
            acceptor.close(ignored);
            throw;
        }
        bound_port = bound.port();
        started = true;
        asio::co_spawn(control, accept_loop(),
                       [this](std::exception_ptr e) { log_failure("accept loop", e); });
        for (auto& hook : start_hooks) hook();
        return bound;
    }

    void on_start(std::function<void()> hook) {
        if (started)
            hook();
        else
            start_hooks.push_back(std::move(hook));
    }

    // On `control`: a stop hook never takes the shutdown down with it.
    void run_stop_hook(std::function<void()> const& hook) {
        try {
            hook();
        } catch (...) {
            log_failure("a shutdown hook (Server::on_stop)", std::current_exception());
        }
    }

    void on_stop(std::function<void()> hook) {
        asio::post(control, [this, hook = std::move(hook)]() mutable {
            if (stopping)
                run_stop_hook(hook);
            else
                stop_hooks.push_back(std::move(hook));
        });
    }

    std::string url() const {
        std::string host = options.host;
        if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
        return std::string(options.tls ? "https://" : "http://") + host + ":" +
               std::to_string(bound_port.load());
    }

    void run() {
        start();
        // Printed once the server is about to serve (and, under run_until_signal(), once SIGINT and
        // SIGTERM are handled): a script that reads this line may send requests and signals.
        if (options.announce) std::cout << "listening on " << url() << std::endl;  // flushed
        unsigned const n = std::max(1u, options.threads);
        std::vector<std::thread> threads;
        threads.reserve(n - 1);
        for (unsigned i = 1; i < n; ++i)
            threads.emplace_back([this] { run_thread(); });
        run_thread();
        for (auto& t : threads)
            t.join();
    }

    void run_thread() {
        for (;;) {
            try {
                ioc.run();
                return;
            } catch (std::exception const& e) {
                log(LogLevel::error, std::string("exception escaped to an I/O thread: ") + e.what());
            } catch (...) {
                log(LogLevel::error, "exception escaped to an I/O thread");
            }
        }
    }

    void run_until_signal() {
        // Installed here, before run() prints the listening line and before any thread runs the
        // io_context, so a signal sent as soon as that line is read already stops gracefully.
        if (!stopping) {
            signals.emplace(control, SIGINT, SIGTERM);
            signals->async_wait([this](error_code ec, int number) {
                if (ec) return;
                log(LogLevel::info, "signal " + std::to_string(number) + " received: stopping");
                begin_stop();
            });
        }
        run();
    }

    void stop() {
        asio::post(control, [this] { begin_stop(); });
    }

    std::vector<std::shared_ptr<session_state>> snapshot() {
        std::lock_guard lock(mutex);
        return {sessions.begin(), sessions.end()};
    }

    // On `control`: stop accepting, close idle connections, let the others finish their request.
    void begin_stop() {
        if (stopping.exchange(true)) return;
        for (auto const& hook : stop_hooks) run_stop_hook(hook);
        stop_hooks.clear();
        error_code ignored;
        acceptor.close(ignored);
        if (signals) signals->cancel(ignored);
        for (auto& s : snapshot()) {
            asio::dispatch(s->executor, [s] {
                s->draining = true;
                if (s->idle && !s->finished) s->signal.emit(asio::cancellation_type::terminal);
            });
        }
        if (active == 0) {
            handler.cancel_runs();  // replies that outlived their clients (continue_on_disconnect)
            return;
        }
        grace_timer.expires_after(options.shutdown_grace);
        grace_timer.async_wait([this](error_code ec) {
            if (!ec) cancel_sessions();
        });
    }

    // On `control`, after the grace period: cancel what still runs (streams end through
    // handle_stream_cancelled), and as a last resort stop the io_context.
    void cancel_sessions() {
        handler.cancel_runs();
        auto const remaining = snapshot();
        if (remaining.empty()) return;
        log(LogLevel::info, "cancelling " + std::to_string(remaining.size()) +
                                " connection(s) still busy after the shutdown grace period");
        for (auto& s : remaining) {
            asio::dispatch(s->executor, [s] {
                if (!s->finished) s->signal.emit(asio::cancellation_type::terminal);
            });
        }
        hard_timer.expires_after(std::chrono::seconds(5));
        hard_timer.async_wait([this](error_code ec) {
            if (ec || active == 0) return;
            log(LogLevel::warning, "connections still open 5 s after cancellation: stopping the io_context");
            ioc.stop();
        });
    }

    // On the session's strand (the co_spawn completion handler).
    void session_finished(std::shared_ptr<session_state> const& s, std::exception_ptr const& e) {
        s->finished = true;
        log_failure("connection " + s->remote, e);
        {
            std::lock_guard lock(mutex);
            sessions.erase(s);
        }
        if (--active == 0 && stopping) {
            asio::post(control, [this] {
                grace_timer.cancel();
                hard_timer.cancel();
                handler.cancel_runs();  // what still runs has no client left
            });
        }
    }

    // ---- accepting ---------------------------------------------------------------------------

    asio::awaitable<void> accept_loop() {
        for (;;) {
            asio::any_io_executor const strand = asio::make_strand(ioc);
            auto [ec, socket] = co_await acceptor.async_accept(strand, asio::as_tuple(asio::use_awaitable));
            if (stopping || !acceptor.is_open()) co_return;
            if (ec) {
                if (ec == asio::error::operation_aborted) co_return;
                log(LogLevel::warning, "accept failed: " + ec.message());
                asio::steady_timer pause(control, std::chrono::milliseconds(50));  // e.g. EMFILE: don't spin
                auto [wait_ec] = co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
                (void)wait_ec;
                continue;
            }
            if (active >= options.max_connections && !evict_idle()) {
                reject(std::move(socket));
                continue;
            }
            spawn_session(std::move(socket));
        }
    }

    // At the connection cap: closes the connection idle the longest to make room for a new one.
    // False when none is idle. The chosen one closes at once if still idle on its strand, else
    // after its current request; until then the count may exceed the cap by the evicted ones.
    bool evict_idle() {
        std::shared_ptr<session_state> oldest;
        std::int64_t oldest_since = 0;
        {
            std::lock_guard lock(mutex);
            for (auto const& s : sessions) {
                auto const since = s->idle_since.load(std::memory_order_relaxed);
                if (since == session_state::busy || s->evicted.load(std::memory_order_relaxed)) continue;
                if (!oldest || since < oldest_since) {
                    oldest = s;
                    oldest_since = since;
                }
            }
        }
        if (!oldest || oldest->evicted.exchange(true)) return false;
        log(LogLevel::info, "connection limit reached: closing the idle connection " + oldest->remote);
        asio::dispatch(oldest->executor, [oldest] {
            oldest->draining = true;
            if (oldest->idle && !oldest->finished) oldest->signal.emit(asio::cancellation_type::terminal);
        });
        return true;
    }

    void spawn_session(asio::ip::tcp::socket socket) {
        auto state = std::make_shared<session_state>(socket.get_executor());
        error_code ec;
        // No Nagle: a stream's small writes (the header, then a burst of events) must not wait for
        // the client's delayed ACK (40 ms per reply on Linux loopback).
        socket.set_option(asio::ip::tcp::no_delay(true), ec);
        ec.clear();
        auto const remote = socket.remote_endpoint(ec);
        if (!ec) state->remote = format_endpoint(remote.address(), remote.port());
        {
            std::lock_guard lock(mutex);
            sessions.insert(state);
        }
        ++active;
        auto const executor = state->executor;
        auto task = ssl ? run_tls(state, std::move(socket)) : run_plain(state, std::move(socket));
        asio::co_spawn(
            executor, std::move(task),
            asio::bind_cancellation_slot(
                state->signal.slot(), [this, state](std::exception_ptr e) { session_finished(state, e); }));
    }

    // Over the connection cap: answer 503 and close, spending at most 2 s on it.
    void reject(asio::ip::tcp::socket socket) {
        if (rejecting >= 64) {
            error_code ignored;
            socket.close(ignored);
            return;
        }
        ++rejecting;
        auto const executor = socket.get_executor();
        asio::co_spawn(executor, reject_connection(std::move(socket)), [this](std::exception_ptr e) {
            --rejecting;
            log_failure("rejected connection", e);
        });
    }

    asio::awaitable<void> reject_connection(asio::ip::tcp::socket socket) {
        log(LogLevel::warning, "connection limit reached: answering 503");
        if (ssl) {
            beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *ssl);
            beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
            auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server,
                                                        asio::as_tuple(asio::use_awaitable));
            if (!ec) {
                auto const write_ec = co_await write_text(stream, rejection_text);
                if (!write_ec) {
                    auto [shutdown_ec] = co_await stream.async_shutdown(asio::as_tuple(asio::use_awaitable));
                    (void)shutdown_ec;
                }
            }
            beast::get_lowest_layer(stream).close();
            co_return;
        }
        beast::tcp_stream stream(std::move(socket));
        stream.expires_after(std::chrono::seconds(2));
        auto const write_ec = co_await write_text(stream, rejection_text);
        if (!write_ec) co_await linger_close(stream);
        stream.close();
    }

    // ---- connections -------------------------------------------------------------------------

    asio::awaitable<void> run_plain(std::shared_ptr<session_state> state, asio::ip::tcp::socket socket) {
        beast::tcp_stream stream(std::move(socket));
        bool graceful = true;
        try {
            co_await serve_connection(*state, stream);
        } catch (boost::system::system_error const& e) {
            if (e.code() != asio::error::operation_aborted) throw;
            graceful = false;
        }
        co_await asio::this_coro::reset_cancellation_state();
        if (graceful) {
            stream.expires_after(std::chrono::seconds(1));
            co_await linger_close(stream);
        }
        stream.close();
    }

    asio::awaitable<void> run_tls(std::shared_ptr<session_state> state, asio::ip::tcp::socket socket) {
        beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *ssl);
        auto& lowest = beast::get_lowest_layer(stream);
        lowest.expires_after(options.handshake_timeout);
        auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server,
                                                    asio::as_tuple(asio::use_awaitable));
        lowest.expires_never();
        if (ec) {
            log(LogLevel::debug, "TLS handshake with " + state->remote + " failed: " + ec.message());
            lowest.close();
            co_return;
        }
        bool graceful = true;
        try {
            co_await serve_connection(*state, stream);
        } catch (boost::system::system_error const& e) {
            if (e.code() != asio::error::operation_aborted) throw;
            graceful = false;
        }
        co_await asio::this_coro::reset_cancellation_state();
        if (graceful) {
            // Send close_notify (and wait briefly for the peer's), so the peer can tell a complete
            // response from a truncated one.
            lowest.expires_after(std::chrono::seconds(1));
            auto [shutdown_ec] = co_await stream.async_shutdown(asio::as_tuple(asio::use_awaitable));
            (void)shutdown_ec;
        }
        lowest.close();
    }

    // Half-closes, then reads and drops what the client still sends until it closes (bounded by the
    // stream's timeout), so unread request bytes do not turn the close into a reset that destroys the
    // last response before the client read it.
    asio::awaitable<void> linger_close(beast::tcp_stream& stream) {
        error_code ec;
        stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
        if (ec) co_return;
        std::array<char, 4096> scratch{};
        std::size_t total = 0;
        for (;;) {
            auto [read_ec, n] =
                co_await stream.async_read_some(asio::buffer(scratch), asio::as_tuple(asio::use_awaitable));
            total += n;
            if (read_ec || total > 1024 * 1024) co_return;
        }
    }

    template <class Stream>
    asio::awaitable<void> serve_connection(session_state& st, Stream& stream) {
        std::size_t const buffer_limit =
            std::size_t{options.header_limit} + 65536 + options.serve.max_buffered_bytes;
        beast::flat_buffer buffer(buffer_limit);
        read_deadline deadline(beast::get_lowest_layer(stream).socket());
        // The first request's header is due header_timeout after the accept (TLS handshake and the
        // wait for its first byte included); a later one's header_timeout after its first byte.
        steady_clock::time_point header_due = st.accepted + options.header_timeout;
        bool first = true;
        for (;;) {
            // Wait for the first byte of a request: until the header deadline on a new connection, the
            // idle timeout on a kept-alive one. Nothing received: close without an answer.
            st.set_idle(true);
            if (st.draining) co_return;
            if (buffer.size() == 0) {
                if (first)
                    deadline.arm_until(header_due);
                else
                    deadline.arm(options.idle_timeout);
                auto const ec = co_await read_more(stream, buffer);
                if (deadline.disarm() || ec) co_return;
            }
            st.set_idle(false);
            if (!first) header_due = steady_clock::now() + options.header_timeout;
            first = false;

            // Room for the body in the global budget, held until the request is answered.
            body_reservation reserved(body_in_flight);
            auto incoming = co_await read_request(st, stream, buffer, deadline, header_due, reserved);
            if (!incoming) co_return;
            if (st.draining) incoming->request.keep_alive(false);
            bool const keep = co_await dispatch_request(st, stream, buffer, incoming->request, incoming->admission);
            if (!keep) co_return;
        }
    }

    // A request read whole and admitted by the header check (its admission kept for the handler).
    struct incoming_request {
        http_::request<http_::string_body> request;
        std::any admission;
    };

    // Reads one request's header, runs the header check, then reads its body (taking its room in
    // `reserved`), answering the errors itself (400, 401/403 from the check, 408, 413, 503); nullopt:
    // the connection ends. Its own
    // coroutine, so that the parser and the error paths' locals are not kept in serve_connection's
    // frame while a reply streams.
    template <class Stream>
    asio::awaitable<std::optional<incoming_request>> read_request(session_state& st, Stream& stream,
                                                                  beast::flat_buffer& buffer, read_deadline& deadline,
                                                                  steady_clock::time_point header_due,
                                                                  body_reservation& reserved) {
        http_::request_parser<http_::string_body> parser;
        parser.header_limit(options.header_limit);
        parser.body_limit(largest_body_limit());
        {
            deadline.arm_until(header_due);
            auto const ec = co_await read_header(stream, buffer, parser);
            if (deadline.disarm()) {
                co_await send_error(stream, 408, "Request header timeout", 11, false);
                co_return std::nullopt;
            }
            if (ec) {
                if (auto const status = read_failure_status(ec)) {
                    std::string const message = *status == 413 ? body_limit_message() : ec.message();
                    co_await send_error(stream, *status, message, 11, false);
                }
                co_return std::nullopt;
            }
        }

        auto const& head = parser.get();
        unsigned const version = head.version();
        if (auto const problem = smuggling_problem(head.base(), version)) {
            co_await send_error(stream, 400, *problem, version, false);
            co_return std::nullopt;
        }
        // The header check (authentication) before any byte of the body is read.
        std::optional<incoming_request> out;
        out.emplace();
        std::any& admission = out->admission;
        if (options.header_check && is_checked(head)) {
            std::optional<rejection> refused;
            RequestInfo const info = request_info(st, head.base(), nullptr);
            try {
                admission = options.header_check(info);
            } catch (...) {
                refused = current_rejection("header check", logger());
            }
            if (refused) {
                co_await send_refusal(stream, *refused, head, version);
                co_return std::nullopt;
            }
        }
        // The body limit of this request's route (the header was read with the largest one).
        std::uint64_t const body_limit = body_limit_for(head.target());
        if (auto const length = parser.content_length(); length && *length > body_limit) {
            co_await send_error(stream, 413, body_limit_message(body_limit), version, false);
            co_return std::nullopt;
        }
        parser.body_limit(body_limit);
        if (!parser.is_done()) {
            auto const length = parser.content_length();
            if (!reserved.take(length ? *length : body_limit, options.body_budget)) {
                log(LogLevel::warning, "body budget exhausted: answering 503");
                co_await send_error(stream, 503, "Too many request bodies in flight, retry later", version, false);
                co_return std::nullopt;
            }
        }
        if (!parser.is_done() && version >= 11 && iequals(head[http_::field::expect], "100-continue")) {
            auto const ec = co_await write_text(stream, "HTTP/1.1 100 Continue\r\n\r\n");
            if (ec) co_return std::nullopt;
        }
        if (!parser.is_done()) {
            deadline.arm(options.body_timeout);
            auto const ec = co_await read_body(stream, buffer, parser);
            if (deadline.disarm()) {
                co_await send_error(stream, 408, "Request body timeout", version, false);
                co_return std::nullopt;
            }
            if (ec) {
                if (auto const status = read_failure_status(ec)) {
                    std::string const message = *status == 413 ? body_limit_message(body_limit) : ec.message();
                    co_await send_error(stream, *status, message, version, false);
                }
                co_return std::nullopt;
            }
        }

        out->request = parser.release();
        co_return out;
    }

    std::string body_limit_message(std::uint64_t limit) const {
        return "Request body is larger than " + std::to_string(limit) + " bytes";
    }
    std::string body_limit_message() const { return body_limit_message(options.body_limit); }

    // The route serving `target`, or null.
    Route const* route_for(std::string_view target) const {
        std::string_view const path = target.substr(0, target.find('?'));
        for (auto const& route : options.routes) {
            if (route.prefix.empty() || !path.starts_with(route.prefix)) continue;
            if (path.size() == route.prefix.size() || path[route.prefix.size()] == '/') return &route;
        }
        return nullptr;
    }

    std::uint64_t body_limit_for(std::string_view target) const {
        auto const* route = route_for(target);
        return route && route->body_limit ? *route->body_limit : options.body_limit;
    }

    std::uint64_t largest_body_limit() const {
        std::uint64_t limit = options.body_limit;
        for (auto const& route : options.routes)
            if (route.body_limit) limit = std::max(limit, *route.body_limit);
        return limit;
    }

    template <class Stream, class Body>
    asio::awaitable<bool> send(Stream& stream, http_::response<Body>& res) {
        // The one place every response of this server passes: a header that would split the
        // response is never written.
        if (auto refusal = refuse_unsafe_headers(res.base(), res.version(), logger()))
            co_return co_await send(stream, *refusal);
        auto& lowest = beast::get_lowest_layer(stream);
        if (auto const timeout = write_timeout())
            lowest.expires_after(*timeout);
        else
            lowest.expires_never();
        auto [ec, n] = co_await http_::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
        (void)n;
        lowest.expires_never();
        co_return !ec && res.keep_alive();
    }

    template <class Stream>
    asio::awaitable<bool> send_error(Stream& stream, unsigned status, std::string_view message,
                                     unsigned version, bool keep_alive) {
        http_::response<http_::string_body> res{static_cast<http_::status>(status), version};
        res.set(http_::field::content_type, "application/json");
        add_retry_after(res.base(), status);
        res.keep_alive(keep_alive);
        res.body() = error_body(status_code_name(status), message);
        res.prepare_payload();
        co_return co_await send(stream, res);
    }

    // The ChatKit endpoint, or one of its run endpoints (`<chatkit path>/runs/...`, see run_endpoints.cpp).
    bool is_chatkit_path(std::string_view path) const {
        if (path == options.chatkit_path) return true;
        std::string_view const base = options.chatkit_path;
        return path.size() > base.size() + 6 && path.substr(0, base.size()) == base &&
               path.substr(base.size(), 6) == "/runs/";
    }

    // Whether ServerOptions::header_check runs on this request: the ChatKit endpoint and the routes,
    // CORS preflights excepted (a browser sends them without credentials).
    bool is_checked(http_::request_header<> const& head) const {
        if (head.method() == http_::verb::options && head.find(http_::field::origin) != head.end() &&
            head.find(http_::field::access_control_request_method) != head.end())
            return false;
        std::string_view const target = head.target();
        return is_chatkit_path(target.substr(0, target.find('?'))) || route_for(target) != nullptr;
    }

    // The answer to a request the header check refused; closes the connection (the body is unread).
    // An allowed origin gets its CORS headers, so the page can read the 401.
    template <class Stream>
    asio::awaitable<void> send_refusal(Stream& stream, rejection const& refused, http_::request_header<> const& head,
                                       unsigned version) {
        http_::response<http_::string_body> res{static_cast<http_::status>(refused.status), version};
        res.set(http_::field::content_type, "application/json");
        if (!refused.www_authenticate.empty()) res.set(http_::field::www_authenticate, refused.www_authenticate);
        std::string_view const origin = head[http_::field::origin];
        if (!origin.empty() && origin_allowed(origin)) add_cors(res.base(), origin);
        add_retry_after(res.base(), refused.status);
        res.keep_alive(false);
        res.body() = refused.body;
        res.prepare_payload();
        co_await send(stream, res);
    }

    bool origin_allowed(std::string_view origin) const {
        for (auto const& allowed : options.cors.allowed_origins)
            if (allowed == "*" || allowed == origin) return true;
        return false;
    }

    void add_cors(http_::fields& fields, std::string_view origin) const {
        bool const wildcard =
            std::find(options.cors.allowed_origins.begin(), options.cors.allowed_origins.end(), "*") !=
            options.cors.allowed_origins.end();
        if (wildcard) {
            fields.set(http_::field::access_control_allow_origin, "*");
            return;
        }
        fields.set(http_::field::access_control_allow_origin, origin);
        fields.set(http_::field::vary, "Origin");
        if (options.cors.allow_credentials)
            fields.set(http_::field::access_control_allow_credentials, "true");
    }

    // What the handlers see of a request from `st` (`admission`: the header check's, or null).
    static RequestInfo request_info(session_state const& st, http_::request_header<> const& head,
                                    std::any const* admission) {
        RequestInfo info;
        info.method = head.method();
        info.target = head.target();
        info.remote_endpoint = st.remote;
        info.fields = &head;
        info.admission = admission;
        return info;
    }

    // A CORS preflight (OPTIONS with Access-Control-Request-Method and an Origin).
    static bool is_preflight(http_::request<http_::string_body> const& req) {
        return req.method() == http_::verb::options && !req[http_::field::origin].empty() &&
               req.find(http_::field::access_control_request_method) != req.end();
    }

    // Serves one request. ChatKit requests go to serve_chatkit, everything else to serve_other: a
    // streamed reply keeps this frame and serve_chatkit's for its whole life, not the locals of the
    // other answers (g++ keeps every local of a coroutine in its frame).
    template <class Stream>
    asio::awaitable<bool> dispatch_request(session_state& st, Stream& stream, beast::flat_buffer& buffer,
                                           http_::request<http_::string_body>& req, std::any const& admission) {
        std::string_view const target = req.target();
        if (!is_preflight(req) && route_for(target) == nullptr && is_chatkit_path(target.substr(0, target.find('?'))))
            return serve_chatkit(st, stream, buffer, req, admission);
        return serve_other(st, stream, req, admission);
    }

    template <class Stream>
    asio::awaitable<bool> serve_chatkit(session_state& st, Stream& stream, beast::flat_buffer& buffer,
                                        http_::request<http_::string_body>& req, std::any const& admission) {
        std::string_view const origin = req[http_::field::origin];
        ServeOptions const* serve_options = &options.serve;
        std::optional<ServeOptions> with_cors;
        if (!origin.empty() && origin_allowed(origin)) {
            with_cors.emplace(options.serve);
            add_cors(with_cors->response_headers, origin);
            serve_options = &*with_cors;
        }
        RequestInfo info = request_info(st, req.base(), options.header_check ? &admission : nullptr);
        stream_transport<Stream> transport(stream);
        request_line const line{req.method(), req.version(), req.keep_alive()};
        co_return co_await serve_core(transport, buffer, info, req.body(), line, handler, *serve_options);
    }

    template <class Stream>
    asio::awaitable<bool> serve_other(session_state& st, Stream& stream, http_::request<http_::string_body>& req,
                                      std::any const& admission) {
        std::string_view const target = req.target();
        std::string_view const path = target.substr(0, target.find('?'));
        std::string_view const origin = req[http_::field::origin];
        bool const cors_allowed = !origin.empty() && origin_allowed(origin);
        unsigned const version = req.version();
        bool const keep_alive = req.keep_alive();
        auto const method = req.method();

        // CORS preflight.
        if (is_preflight(req)) {
            if (!cors_allowed)
                co_return co_await send_error(stream, 403, "Origin not allowed", version, keep_alive);
            http_::response<http_::empty_body> res{http_::status::no_content, version};
            add_cors(res.base(), origin);
            res.set(http_::field::access_control_allow_methods, options.cors.allowed_methods);
            res.set(http_::field::access_control_allow_headers, options.cors.allowed_headers);
            res.set(http_::field::access_control_max_age, std::to_string(options.cors.max_age.count()));
            res.keep_alive(keep_alive);
            co_return co_await send(stream, res);
        }

        if (auto const* route = route_for(target))
            co_return co_await serve_route(st, stream, *route, req, origin, cors_allowed, admission);

        if (path == options.health_path) {
            if (method != http_::verb::get && method != http_::verb::head) {
                http_::response<http_::string_body> res{http_::status::method_not_allowed, version};
                res.set(http_::field::content_type, "application/json");
                res.set(http_::field::allow, "GET, HEAD");
                res.keep_alive(keep_alive);
                res.body() = error_body("method_not_allowed", "Use GET");
                res.prepare_payload();
                co_return co_await send(stream, res);
            }
            http_::response<http_::string_body> res{http_::status::ok, version};
            res.set(http_::field::content_type, "text/plain; charset=utf-8");
            res.set(http_::field::cache_control, "no-store");
            res.keep_alive(keep_alive);
            res.body() = "ok";
            res.prepare_payload();
            if (method == http_::verb::head) res.body().clear();
            co_return co_await send(stream, res);
        }

        if (options.static_dir) {
            if (method == http_::verb::get || method == http_::verb::head)
                co_return co_await serve_file(stream, method, path, version, keep_alive);
            http_::response<http_::string_body> res{http_::status::method_not_allowed, version};
            res.set(http_::field::content_type, "application/json");
            res.set(http_::field::allow, "GET, HEAD");
            res.keep_alive(keep_alive);
            res.body() = error_body("method_not_allowed", "Only GET and HEAD are allowed here");
            res.prepare_payload();
            co_return co_await send(stream, res);
        }
        co_return co_await send_error(stream, 404, "Not found", version, keep_alive);
    }

    template <class Stream>
    asio::awaitable<bool> serve_route(session_state& st, Stream& stream, Route const& route,
                                      http_::request<http_::string_body>& req, std::string_view origin,
                                      bool cors_allowed, std::any const& admission) {
        RequestInfo info = request_info(st, req.base(), options.header_check ? &admission : nullptr);
        RouteRequest request{&info, req.body()};
        RouteResponse answer;
        try {
            answer = co_await route.handler(request);
        } catch (...) {
            auto refused = current_rejection("route " + route.prefix, logger());
            answer = RouteResponse::json(refused.status, std::move(refused.body));
            if (!refused.www_authenticate.empty())
                answer.headers.emplace_back("WWW-Authenticate", std::move(refused.www_authenticate));
        }
        http_::response<http_::string_body> res{static_cast<http_::status>(answer.status), req.version()};
        res.set(http_::field::content_type, answer.content_type);
        for (auto const& [name, value] : answer.headers) res.insert(name, value);
        if (cors_allowed) add_cors(res.base(), origin);
        add_retry_after(res.base(), answer.status);
        res.keep_alive(req.keep_alive());
        res.body() = std::move(answer.body);
        res.prepare_payload();
        if (req.method() == http_::verb::head) res.body().clear();
        co_return co_await send(stream, res);
    }

    template <class Stream>
    asio::awaitable<bool> serve_file(Stream& stream, http_::verb method, std::string_view path,
                                     unsigned version, bool keep_alive) {
        auto const file = resolve_static(static_root, path, options.index_file);
        if (!file) co_return co_await send_error(stream, 404, "Not found", version, keep_alive);
        beast::error_code ec;
        http_::file_body::value_type body;
        body.open(file->c_str(), beast::file_mode::scan, ec);
        if (ec) co_return co_await send_error(stream, 404, "Not found", version, keep_alive);
        auto const size = body.size();
        char const* const type = mime_type(*file);
        if (method == http_::verb::head) {
            http_::response<http_::empty_body> res{http_::status::ok, version};
            res.set(http_::field::content_type, type);
            res.set("X-Content-Type-Options", "nosniff");
            res.set(http_::field::cache_control, "no-cache");
            res.content_length(size);
            res.keep_alive(keep_alive);
            co_return co_await send(stream, res);
        }
        http_::response<http_::file_body> res{std::piecewise_construct, std::make_tuple(std::move(body)),
                                              std::make_tuple(http_::status::ok, version)};
        res.set(http_::field::content_type, type);
        res.set("X-Content-Type-Options", "nosniff");
        res.set(http_::field::cache_control, "no-cache");
        res.content_length(size);
        res.keep_alive(keep_alive);
        co_return co_await send(stream, res);
    }
};

listener::listener(ServerOptions options, request_handler& handler)
    : impl_(std::make_unique<impl>(std::move(options), handler)) {}

listener::~listener() = default;

asio::ip::tcp::endpoint listener::start() { return impl_->start(); }
std::uint16_t listener::port() const noexcept { return impl_->bound_port.load(); }
std::string listener::url() const { return impl_->url(); }
void listener::run() { impl_->run(); }
void listener::stop() { impl_->stop(); }
void listener::run_until_signal() { impl_->run_until_signal(); }
asio::io_context& listener::context() noexcept { return impl_->ioc; }
ServerOptions const& listener::options() const noexcept { return impl_->options; }
void listener::add_route(Route route) {
    if (impl_->started) throw std::logic_error("http::Server::add_route after start()");
    if (route.prefix.empty() || route.prefix.front() != '/' || (route.prefix.size() > 1 && route.prefix.back() == '/'))
        throw std::invalid_argument("a route prefix starts with '/' and has no trailing '/': " + route.prefix);
    if (!route.handler) throw std::invalid_argument("a route needs a handler");
    impl_->options.routes.push_back(std::move(route));
}
void listener::on_start(std::function<void()> hook) { impl_->on_start(std::move(hook)); }
void listener::on_stop(std::function<void()> hook) { impl_->on_stop(std::move(hook)); }

}  // namespace detail
}  // namespace chatkit::http
