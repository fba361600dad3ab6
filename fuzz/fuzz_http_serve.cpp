// Fuzz target: raw request bytes through Beast's request parser (with the bundled listener's limits)
// and chatkit::http::serve over an in-memory stream, against an InMemoryStore-backed server.
//
// Whatever the bytes, the answer must be one well-formed HTTP response, and a JSON error answer
// never carries the `internal` code (that would be a server bug, not bad input). A request with an
// `X-Fuzz-Disconnect` header is served with the client already gone (the disconnect watcher path).
#include <chatkit/http/serve.hpp>
#include <chatkit/protocol/json.hpp>
#include <chatkit/server/server.hpp>
#include <chatkit/store/memory_store.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

struct Ctx {
    std::string user;
};

// Answers every user message with one assistant message echoing its text, and every action with a
// widget; transcription answers a fixed text.
class EchoServer final : public chatkit::ChatKitServer<Ctx> {
public:
    EchoServer(chatkit::Store<Ctx>& store, chatkit::AttachmentStore<Ctx>& attachments)
        : ChatKitServer<Ctx>({.store = store, .attachments = &attachments}) {}

protected:
    asio::awaitable<void> respond(chatkit::ThreadMetadata&, std::optional<chatkit::UserMessageItem> const& input,
                                  chatkit::EventSink& events, Ctx&) override {
        std::string text = input ? chatkit::text_of(*input) : std::string();
        chatkit::AssistantMessageItem item;
        item.id = events.generate_item_id(chatkit::StoreItemType::message);
        item.thread_id = events.thread_id();
        item.created_at = chatkit::now();
        item.content.push_back(chatkit::AssistantMessageContent{{}, std::move(text)});
        chatkit::ThreadStreamEvent event = chatkit::ThreadItemDoneEvent{std::move(item)};
        co_await events.emit(std::move(event));
    }

    asio::awaitable<chatkit::TranscriptionResult> transcribe(chatkit::AudioInput const&, Ctx&) override {
        co_return chatkit::TranscriptionResult{"transcribed"};
    }
};

class Attachments final : public chatkit::AttachmentStore<Ctx> {
public:
    asio::awaitable<void> delete_attachment(std::string const&, Ctx const&) override { co_return; }
};

// Parses `bytes` as one request; false when they are not a complete, valid request.
bool parse(std::string_view bytes, beast::flat_buffer& buffer, http::request_parser<http::string_body>& parser) {
    if (bytes.empty()) return false;
    auto space = buffer.prepare(bytes.size());
    std::memcpy(space.data(), bytes.data(), bytes.size());
    buffer.commit(bytes.size());
    parser.eager(true);
    parser.header_limit(8 * 1024);
    parser.body_limit(64 * 1024);
    beast::error_code ec;
    while (!parser.is_done()) {
        auto const used = parser.put(buffer.data(), ec);
        buffer.consume(used);
        if (ec == http::error::need_more && used > 0) continue;
        if (ec || used == 0) return false;
    }
    return true;
}

void check_answer(std::string const& wire) {
    http::response_parser<http::string_body> parser;
    parser.eager(true);
    parser.body_limit(std::uint64_t{1} << 30);
    beast::error_code ec;
    auto used = parser.put(asio::buffer(wire), ec);
    while (!ec && !parser.is_done() && used < wire.size()) {
        auto const n = parser.put(asio::buffer(wire.data() + used, wire.size() - used), ec);
        if (n == 0) break;
        used += n;
    }
    if (!parser.is_done() && !ec) parser.put_eof(ec);  // close-delimited SSE body (HTTP/1.0)
    if (ec && ec != http::error::partial_message) std::abort();  // not HTTP
    if (!parser.is_header_done()) std::abort();
    auto const& res = parser.get();
    unsigned const status = res.result_int();
    if (status < 200 || status > 599) std::abort();
    if (status >= 500 && res[http::field::content_type].starts_with("application/json")) {
        boost::system::error_code jec;
        auto const body = boost::json::parse(res.body(), jec);
        if (jec || !body.is_object()) std::abort();
        auto const* error = body.get_object().if_contains("error");
        if (!error || !error->is_object()) std::abort();
        auto const* code = error->get_object().if_contains("code");
        if (!code || !code->is_string() || code->get_string() == "internal") std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    beast::flat_buffer buffer;
    http::request_parser<http::string_body> parser;
    if (!parse(std::string_view(reinterpret_cast<char const*>(data), size), buffer, parser)) return 0;
    auto request = parser.release();
    bool const disconnect = request.find("X-Fuzz-Disconnect") != request.end();

    asio::io_context io;
    beast::test::stream server_side(io);
    beast::test::stream client(io);
    server_side.connect(client);
    if (disconnect) client.close();

    chatkit::InMemoryStore<Ctx> store([](Ctx const& ctx) { return ctx.user; });
    Attachments attachments;
    EchoServer server(store, attachments);
    chatkit::http::ContextFactory<Ctx> const factory = [](chatkit::http::RequestInfo const& info) {
        return Ctx{std::string(info.header("X-User"))};
    };
    bool done = false;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            co_await chatkit::http::serve(server, server_side, buffer, request, factory);
            done = true;
        },
        asio::detached);
    // Run what is ready; a stream that has sent its events then waits for its disconnect watcher,
    // whose read beast::test::stream (Boost 1.81) does not cancel through the cancellation slot the
    // way a socket does. The client then closes, as a browser does once it has the answer.
    io.poll();
    if (!done) client.close();
    io.run();
    if (!done) std::abort();  // serve never finished or threw
    if (!disconnect) check_answer(client.str());
    return 0;
}
