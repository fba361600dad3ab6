// hello: a complete ChatKit backend that streams back what the user says.
//   hello --port 0     # prints "listening on http://127.0.0.1:PORT"; POST /chatkit; Ctrl-C stops it
#include "../common/cli.hpp"

#include <chatkit/http/server.hpp>
#include <chatkit/server/streaming.hpp>
#include <chatkit/store/memory_store.hpp>

#include <iostream>

struct Context {};  // what the server knows about a request: nothing, here

//[hello_server
class Echo final : public chatkit::ChatKitServer<Context> {
public:
    using ChatKitServer::ChatKitServer;

protected:
    // Each user message is answered with one assistant message, streamed: "You said: <text>".
    boost::asio::awaitable<void> respond(chatkit::ThreadMetadata&,
                                         std::optional<chatkit::UserMessageItem> const& input,
                                         chatkit::EventSink& events, Context&) override {
        std::string reply = "You said: " + (input ? chatkit::text_of(*input) : std::string());
        co_await chatkit::stream_assistant_message(events, std::move(reply));
    }
};

int main(int argc, char** argv) try {
    examples::Cli cli("hello", "A ChatKit backend that streams back what the user says.");
    cli.listener_options().parse(argc, argv);  // --host, --port, --threads, --help
    chatkit::InMemoryStore<Context> store;     // threads live in memory until the server stops
    Echo app({.store = store});
    chatkit::http::Server server(app, cli.server_options());
    server.run_until_signal();  // prints "listening on ...", serves, stops gracefully on SIGINT/SIGTERM
} catch (std::exception const& e) {
    std::cerr << "hello: " << e.what() << "\n";
    return 1;
}
//]
