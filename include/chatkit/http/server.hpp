// chatkit-cpp HTTP layer: http::Server, the bundled listener (plain or TLS, CORS, static files,
// health check, limits, graceful shutdown) around a ChatKitServer.
#pragma once

#include <chatkit/http/options.hpp>
#include <chatkit/http/serve.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace chatkit::http {

namespace detail {

/// The compiled listener behind `Server<Context>` (src/http/server.cpp); it sees the ChatKit server only
/// through a `request_handler`.
class CHATKIT_API listener {
public:
    listener(ServerOptions options, request_handler& handler);
    ~listener();
    listener(listener const&) = delete;
    listener& operator=(listener const&) = delete;

    asio::ip::tcp::endpoint start();
    std::uint16_t port() const noexcept;
    std::string url() const;
    void run();
    void stop();
    void run_until_signal();
    asio::io_context& context() noexcept;
    ServerOptions const& options() const noexcept;
    void add_route(Route route);
    void on_start(std::function<void()> hook);
    void on_stop(std::function<void()> hook);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace detail

/// A ready-made HTTP/1.1 server for a `ChatKitServer<Context>`: `POST <chatkit_path>` runs ChatKit
/// requests through `http::serve`, `GET <health_path>` answers `200 ok`, other GET/HEAD requests
/// serve files from `static_dir` when configured, CORS preflights are answered for the configured
/// origins, and everything else is a JSON 404/405.
///
/// Limits and defences (ServerOptions): header size (431), body size (413), header and body read
/// timeouts (408, then close), idle keep-alive timeout, a connection cap (503, then close), and the
/// request-smuggling checks Beast 1.81 lacks (a `Transfer-Encoding` other than one final `chunked`,
/// `Transfer-Encoding` with `Content-Length`, `Transfer-Encoding` on HTTP/1.0, differing
/// `Content-Length` values: 400, then close).
///
/// @par Thread safety
/// `stop()` and `on_stop()` may be called from any thread (or a signal handler's Asio completion);
/// the other members must not be called concurrently with each other.
///
/// @par Executor
/// One io_context run by `ServerOptions::threads` threads; every connection runs on its own strand,
/// so hooks of different requests run concurrently and the store must be thread-safe.
///
/// @par Start-up and shutdown
/// `start()` binds; `run()` prints the conventional `listening on http://HOST:PORT` line
/// (`ServerOptions::announce`) and serves; `run_until_signal()` does the same once SIGINT and SIGTERM
/// are handled, until one of them stops the server gracefully, then returns. Work of the application
/// that must follow the server's life (a periodic timer, a base URL that needs the bound port) goes
/// in `on_start()` and `on_stop()` hooks:
///
/// @code
/// http::Server<Context> server(app);                // 127.0.0.1:8000, one thread
/// server.on_stop([&] { my_timer.cancel(); });        // or run() would wait for the timer
/// server.run_until_signal();
/// @endcode
///
/// @par Object lifetimes
/// The ChatKitServer must outlive this object. A Server runs once: after `run()` returned it cannot
/// be started again. Destroying it while another thread is inside `run()` is undefined.
template <class Context>
class Server {
public:
    /// A server for `server`, building each request's context with `factory`.
    Server(ChatKitServer<Context>& server, ServerOptions options, ContextFactory<Context> factory)
        : factory_(std::move(factory)), handler_(server, factory_), listener_(std::move(options), handler_) {}

    /// A server whose contexts are value-initialized (`Context{}`) for every request; by default on
    /// 127.0.0.1:8000 with one thread (see ServerOptions).
    explicit Server(ChatKitServer<Context>& server, ServerOptions options = {})
        requires std::default_initializable<Context>
        : Server(server, std::move(options), [](RequestInfo const&) { return Context{}; }) {}

    Server(Server const&) = delete;
    Server& operator=(Server const&) = delete;

    /// Loads the TLS files, binds and starts accepting (connections are served once `run()` runs),
    /// then runs the `on_start()` hooks. Idempotent.
    /// @returns The bound endpoint.
    /// @throws boost::system::system_error when the host does not resolve, the address cannot be bound
    ///         or the TLS files cannot be loaded; std::filesystem::filesystem_error when `static_dir`
    ///         does not exist.
    asio::ip::tcp::endpoint start() { return listener_.start(); }

    /// The bound port (0 before `start()`).
    std::uint16_t port() const noexcept { return listener_.port(); }

    /// `http://HOST:PORT` (`https://` with TLS), HOST as configured and PORT as bound; examples
    /// print `listening on <url>` as their first line.
    std::string url() const { return listener_.url(); }

    /// Starts if needed, prints `listening on <url>` on stdout (one flushed line; not when
    /// `ServerOptions::announce` is false), then runs the io_context on `ServerOptions::threads`
    /// threads (the calling thread is one of them) until the server has stopped and its connections
    /// are closed.
    void run() { listener_.run(); }

    /// Graceful stop: stops accepting, closes idle connections, lets running requests finish for
    /// `ServerOptions::shutdown_grace`, then cancels the rest (a cancelled stream still runs
    /// `handle_stream_cancelled`, so its pending items are saved). Returns at once; `run()` returns
    /// when everything is closed. Thread-safe.
    void stop() { listener_.stop(); }

    /// `run()`, stopping gracefully on SIGINT or SIGTERM; returns normally after the stop. The signals
    /// are handled before the listening line is printed, so a script may signal as soon as it read it.
    void run_until_signal() { listener_.run_until_signal(); }

    /// The io_context the server runs on (to post application work onto the same threads).
    asio::io_context& context() noexcept { return listener_.context(); }

    /// The options the server was built with.
    ServerOptions const& options() const noexcept { return listener_.options(); }

    /// Adds an application route (see `Route`); call it before `start()`.
    /// @throws std::logic_error once the server has started.
    void add_route(Route route) { listener_.add_route(std::move(route)); }

    /// The factory that builds each request's context (for routes that need the same context).
    ContextFactory<Context> const& context_factory() const noexcept { return factory_; }

    /// Where the server logs: the ChatKitServer's logger.
    Logger const& logger() const noexcept { return handler_.logger(); }

    /// Runs `hook` once the server is bound: in `start()`, after binding (before `run()` prints the
    /// listening line), or at once when the server has started already. Hooks run on the thread
    /// that calls `start()`, in the order given; an exception from one leaves `start()` (the server
    /// is bound then: stop it or destroy it). For work that needs the bound URL or the server's
    /// threads.
    void on_start(std::function<void()> hook) { listener_.on_start(std::move(hook)); }

    /// Runs `hook` when the server begins to stop (`stop()`, or SIGINT/SIGTERM in
    /// `run_until_signal()`), once, on one of the server's threads, before running requests are
    /// drained; when the stop has begun already, as soon as one of those threads is free. Use it
    /// to stop application work that would keep `run()` from returning (a periodic timer).
    /// Exceptions are logged and ignored. Thread-safe.
    void on_stop(std::function<void()> hook) { listener_.on_stop(std::move(hook)); }

private:
    ContextFactory<Context> factory_;
    detail::bound_handler<Context> handler_;
    detail::listener listener_;
};

}  // namespace chatkit::http
