// Test helpers: running coroutines, a scriptable server, event parsing.
#pragma once

#include <chatkit/server/server.hpp>
#include <chatkit/server/widgets.hpp>
#include <chatkit/store/memory_store.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace test {

namespace asio = boost::asio;
namespace json = boost::json;

/// Runs a coroutine to completion on a fresh io_context and returns its result (rethrows failures).
template <class T>
T run(asio::awaitable<T> work) {
    asio::io_context io;
    auto future = asio::co_spawn(io, std::move(work), asio::use_future);
    io.run();
    return future.get();
}

/// The request context used by tests: a user id scoping the store.
struct Ctx {
    std::string user = "alice";
    int marker = 0;
};

using Responder = std::function<asio::awaitable<void>(chatkit::ThreadMetadata&,
                                                      std::optional<chatkit::UserMessageItem> const&,
                                                      chatkit::EventSink&, Ctx&)>;
using ActionHandler = std::function<asio::awaitable<void>(chatkit::ThreadMetadata&, chatkit::Action const&,
                                                          std::optional<chatkit::WidgetItem> const&,
                                                          chatkit::EventSink&, Ctx&)>;

/// A server whose hooks are set per test. Records what its hooks received.
class TestServer : public chatkit::ChatKitServer<Ctx> {
public:
    using ChatKitServer<Ctx>::ChatKitServer;

    Responder responder;
    ActionHandler action_handler;
    std::function<chatkit::SyncCustomActionResponse(chatkit::Action const&, std::optional<chatkit::WidgetItem> const&)>
        sync_handler;
    std::function<chatkit::TranscriptionResult(chatkit::AudioInput const&, Ctx&)> transcriber;

    std::vector<std::optional<chatkit::UserMessageItem>> inputs;  // what respond() received
    std::vector<int> respond_markers;                              // ctx.marker seen by respond()
    struct FeedbackCall {
        std::string thread_id;
        std::vector<std::string> item_ids;
        chatkit::FeedbackKind kind;
        int marker;
    };
    std::vector<FeedbackCall> feedback;
    std::vector<std::pair<chatkit::Action, std::optional<chatkit::WidgetItem>>> actions;
    int cancelled_calls = 0;
    std::optional<bool> allow_cancel;

protected:
    asio::awaitable<void> respond(chatkit::ThreadMetadata& thread, std::optional<chatkit::UserMessageItem> const& input,
                                  chatkit::EventSink& events, Ctx& ctx) override {
        inputs.push_back(input);
        respond_markers.push_back(ctx.marker);
        if (responder) co_await responder(thread, input, events, ctx);
    }
    asio::awaitable<void> action(chatkit::ThreadMetadata& thread, chatkit::Action const& action,
                                 std::optional<chatkit::WidgetItem> const& sender, chatkit::EventSink& events,
                                 Ctx& ctx) override {
        actions.emplace_back(action, sender);
        if (!action_handler) co_await ChatKitServer<Ctx>::action(thread, action, sender, events, ctx);
        else co_await action_handler(thread, action, sender, events, ctx);
    }
    asio::awaitable<chatkit::SyncCustomActionResponse> sync_action(chatkit::ThreadMetadata& thread,
                                                                   chatkit::Action const& action,
                                                                   std::optional<chatkit::WidgetItem> const& sender,
                                                                   Ctx& ctx) override {
        actions.emplace_back(action, sender);
        if (!sync_handler) co_return co_await ChatKitServer<Ctx>::sync_action(thread, action, sender, ctx);
        co_return sync_handler(action, sender);
    }
    asio::awaitable<void> add_feedback(std::string const& thread_id, std::vector<std::string> const& item_ids,
                                       chatkit::FeedbackKind kind, Ctx& ctx) override {
        feedback.push_back({thread_id, item_ids, kind, ctx.marker});
        co_return;
    }
    asio::awaitable<chatkit::TranscriptionResult> transcribe(chatkit::AudioInput const& audio, Ctx& ctx) override {
        if (!transcriber) co_return co_await ChatKitServer<Ctx>::transcribe(audio, ctx);
        co_return transcriber(audio, ctx);
    }
    chatkit::StreamOptions get_stream_options(chatkit::ThreadMetadata const& thread, Ctx& ctx) override {
        if (allow_cancel) return chatkit::StreamOptions{*allow_cancel};
        return ChatKitServer<Ctx>::get_stream_options(thread, ctx);
    }
    asio::awaitable<void> handle_stream_cancelled(chatkit::ThreadMetadata& thread,
                                                  std::vector<chatkit::ThreadItem> const& pending,
                                                  Ctx& ctx) override {
        ++cancelled_calls;
        co_await ChatKitServer<Ctx>::handle_stream_cancelled(thread, pending, ctx);
    }
};

/// The result of one request: status and either the JSON body or the parsed SSE events.
struct Result {
    unsigned status = 0;
    bool streaming = false;
    std::string body;                 // JSON body, or the raw SSE stream
    json::value json;                 // parsed JSON body (non-streaming)
    std::vector<json::value> events;  // parsed events (streaming)
    std::vector<std::string> frames;  // raw event JSON texts (streaming)

    /// The `type` of every event, in order.
    std::vector<std::string> types() const;
    /// The `type` of every event, with `/item.type` or `/update.type` appended where present.
    std::vector<std::string> detailed_types() const;
};

/// Splits `result.body` (a whole SSE stream) into `frames` and parsed `events`; throws on bad framing.
void split_sse_frames(Result& result);

/// Sends one request body (JSON text) through `process()` and runs the stream when there is one.
Result call(TestServer& server, std::string const& body, Ctx ctx = {});
/// Same with a string literal.
inline Result call(TestServer& server, char const* body, Ctx ctx = {}) { return call(server, std::string(body), std::move(ctx)); }
/// Same with a JSON value.
Result call(TestServer& server, json::value const& body, Ctx ctx = {});

/// `{"type":"input_text","text":...}` user input.
json::value user_input(std::string const& text);
/// A `threads.create` request body with one text part.
json::value create_request(std::string const& text);
/// A `threads.add_user_message` request body.
json::value add_message_request(std::string const& thread_id, std::string const& text);

/// Emits `thread.item.done` of a new assistant message with `text` (built outside the co_await).
asio::awaitable<void> reply(chatkit::EventSink& events, std::string text);
/// A new assistant message item of this stream's thread.
chatkit::AssistantMessageItem assistant(chatkit::EventSink& events, std::string text);

}  // namespace test
