// mount_on_beast: chatkit::http::serve mounted on a hand-written Beast accept loop.
//
// The application owns the listener, the strands, the request reading and the routing (here a
// coroutine accept loop in the style of Beast's awaitable examples); only `POST /chatkit` is handed
// to chatkit::http::serve, which answers with JSON or an SSE stream and watches for disconnects.
// `GET /healthz` and the 404s stay the application's own. The ChatKit server echoes the user.
//
// Run:   ./mount_on_beast [--host 127.0.0.1] [--port 8000]      (env: CHATKIT_HOST, CHATKIT_PORT)
// Try:   curl -N http://127.0.0.1:8000/chatkit -H 'X-User: ada' -d '{"type":"threads.create",
//          "params":{"input":{"content":[{"type":"input_text","text":"hi"}],"attachments":[],
//          "inference_options":{}}}}'
// Stop:  Ctrl-C (SIGINT) or SIGTERM; exits 0.
#include "../common/cli.hpp"

#include <chatkit/http/serve.hpp>
#include <chatkit/server/streaming.hpp>
#include <chatkit/store/memory_store.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <cstdio>
#include <exception>
#include <string>

namespace example {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

/// What the application knows about the caller of one request.
struct Context {
    std::string user;
};

/// A ChatKit server that answers every message with a greeting and an echo.
class EchoServer final : public chatkit::ChatKitServer<Context> {
public:
    using ChatKitServer::ChatKitServer;

protected:
    asio::awaitable<void> respond(chatkit::ThreadMetadata&, std::optional<chatkit::UserMessageItem> const& input,
                                  chatkit::EventSink& events, Context& ctx) override {
        std::string text = "Hello " + ctx.user;
        if (input) text += ", you said: " + chatkit::text_of(*input);
        co_await chatkit::stream_assistant_message(events, std::move(text));
    }
};

// The application's own routes.
asio::awaitable<bool> answer_other(beast::tcp_stream& stream,
                                   http::request<http::string_body> const& request) {
    bool const health = request.target() == "/healthz";
    http::response<http::string_body> response{health ? http::status::ok : http::status::not_found,
                                               request.version()};
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    response.keep_alive(request.keep_alive());
    response.body() = health ? "ok" : "not found";
    response.prepare_payload();
    stream.expires_after(std::chrono::seconds(30));
    auto [ec, n] = co_await http::async_write(stream, response, asio::as_tuple(asio::use_awaitable));
    (void)n;
    co_return !ec && response.keep_alive();
}

/// Open connections, so that a shutdown ends as soon as the last one closed. One thread runs the
/// io_context in this example, so no locking is needed.
struct Connections {
    explicit Connections(asio::io_context& ioc) : deadline(ioc) {}
    void closed() {
        if (--open == 0 && stopping) deadline.cancel();
    }
    int open = 0;
    bool stopping = false;
    asio::steady_timer deadline;
};

//[mount_serve
// One connection. The application reads each request (with its own limits and timeouts) and routes
// it; `POST /chatkit` goes to chatkit::http::serve, which returns whether the connection may be
// reused. `buffer` is shared with serve(): bytes of a next request that arrive during a stream are
// kept there.
asio::awaitable<void> session(EchoServer& server, chatkit::http::ContextFactory<Context> const& factory,
                              asio::ip::tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(1024 * 1024);
        stream.expires_after(std::chrono::seconds(30));
        auto [ec, n] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
        (void)n;
        if (ec) break;
        stream.expires_never();  // serve() arms its own write timeouts
        auto request = parser.release();
        bool keep_alive = false;
        // The ChatKit endpoint and its run endpoints (GET /chatkit/runs/{id}?after=N, POST .../cancel).
        if (request.target() == "/chatkit" || request.target().starts_with("/chatkit/runs/"))
            keep_alive = co_await chatkit::http::serve(server, stream, buffer, request, factory);
        else
            keep_alive = co_await answer_other(stream, request);
        if (!keep_alive) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}
//]

//[mount_listen
// The accept loop: every connection runs on its own strand, behind an exception barrier that logs.
asio::awaitable<void> listen(asio::ip::tcp::acceptor& acceptor, EchoServer& server,
                             chatkit::http::ContextFactory<Context> const& factory,
                             Connections& connections) {
    for (;;) {
        asio::any_io_executor const strand = asio::make_strand(acceptor.get_executor());
        auto [ec, socket] = co_await acceptor.async_accept(strand, asio::as_tuple(asio::use_awaitable));
        if (ec) co_return;  // the acceptor was closed: shutting down
        beast::error_code ignored;
        socket.set_option(asio::ip::tcp::no_delay(true), ignored);  // no Nagle (docs/http.md)
        ++connections.open;
        asio::co_spawn(strand, session(server, factory, std::move(socket)),
                       [&server, &connections](std::exception_ptr e) {
                           connections.closed();
                           if (!e) return;
                           try {
                               std::rethrow_exception(e);
                           } catch (std::exception const& x) {
                               server.logger().log(chatkit::LogLevel::error,
                                                   std::string("connection failed: ") + x.what());
                           }
                       });
    }
}
//]

}  // namespace example

int main(int argc, char** argv) {
    namespace asio = example::asio;
    examples::Cli cli("mount_on_beast",
                      "An echo ChatKit server: chatkit::http::serve on a hand-written Beast listener.");
    cli.option("host", "CHATKIT_HOST", "127.0.0.1", "address to bind")
        .option("port", "CHATKIT_PORT", "8000", "port to bind; 0 picks a free port");
    cli.parse(argc, argv);
    try {
        std::string const host = cli.get("host");
        auto const port = cli.port("port");

        asio::io_context ioc;
        chatkit::InMemoryStore<example::Context> store;
        example::EchoServer server({.store = store, .logger = chatkit::Logger::stderr_logger(chatkit::LogLevel::info)});

        //[mount_factory
        // The context factory: runs before any work, may reject with an HTTP status.
        chatkit::http::ContextFactory<example::Context> const factory =
            [](chatkit::http::RequestInfo const& info) {
                std::string user(info.header("X-User"));
                if (user.empty()) user = std::string(info.cookie("user").value_or(""));
                if (user == "mallory")
                    throw chatkit::Error(chatkit::error::forbidden, "You may not chat here");
                return example::Context{user.empty() ? "guest" : user};
            };
        //]

        asio::ip::tcp::acceptor acceptor(ioc, {asio::ip::make_address(host), port});
        auto const bound = acceptor.local_endpoint();
        std::printf("listening on http://%s:%u\n", host.c_str(), static_cast<unsigned>(bound.port()));
        std::fflush(stdout);

        // SIGINT/SIGTERM: stop accepting; running requests get 5 s to finish, then the loop ends.
        example::Connections connections(ioc);
        asio::signal_set signals(ioc, SIGINT, SIGTERM);
        signals.async_wait([&](boost::system::error_code ec, int) {
            if (ec) return;
            connections.stopping = true;
            acceptor.close();
            if (connections.open == 0) return;
            connections.deadline.expires_after(std::chrono::seconds(5));
            connections.deadline.async_wait([&](boost::system::error_code timer_ec) {
                if (!timer_ec) ioc.stop();
            });
        });
        asio::co_spawn(ioc, example::listen(acceptor, server, factory, connections),
                       [](std::exception_ptr e) {
                           if (e) std::rethrow_exception(e);
                       });
        ioc.run();
        return 0;
    } catch (std::exception const& e) {
        std::fprintf(stderr, "mount_on_beast: %s\n", e.what());
        return 1;
    }
}
