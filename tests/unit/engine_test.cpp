// The streaming engine under cancellation and failing transports (PROTOCOL.md §6.6, checklist §10.1 items 1-5).
#include "support/test_support.hpp"

#include <chatkit/server/streaming.hpp>

#include <catch2/catch.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

using namespace chatkit;
using test::Ctx;
using test::TestServer;
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// A transport that keeps frames and fails (the client is gone) from frame `fail_at` on.
class FlakyWriter final : public StreamWriter {
public:
    explicit FlakyWriter(std::size_t fail_at = SIZE_MAX) : fail_at_(fail_at) {}
    std::vector<std::string> frames;
    asio::awaitable<void> write(std::string_view frame) override {
        if (frames.size() >= fail_at_) throw std::runtime_error("connection reset by peer");
        frames.emplace_back(frame);
        co_return;
    }

private:
    std::size_t fail_at_;
};

asio::awaitable<void> wait_ms(int ms) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(std::chrono::milliseconds(ms));
    co_await timer.async_wait(asio::use_awaitable);
}

// Runs a stream raced against a "client disconnect" after `ms` milliseconds (what the HTTP layer's
// watcher does), like `http::serve`.
asio::awaitable<void> stream_until_disconnect(Response& response, StreamWriter& writer, int ms) {
    using namespace asio::experimental::awaitable_operators;
    auto stream = response.stream(writer);
    auto disconnect = wait_ms(ms);
    co_await (std::move(stream) || std::move(disconnect));
}

struct Fixture {
    InMemoryStore<Ctx> store;
    TestServer server{{.store = store}};

    std::vector<ThreadItem> items(std::string const& thread_id) {
        std::optional<std::string> after;
        return test::run(store.load_thread_items(thread_id, after, 100, Order::asc, Ctx{})).data;
    }
    static std::string thread_of_result(test::Result const& result) {
        return std::string(result.events.at(0).at("thread").at("id").as_string());
    }
    std::string thread_of(FlakyWriter const& writer) {
        return std::string(json::parse(writer.frames.at(0).substr(6)).at("thread").at("id").as_string());
    }
};

asio::awaitable<void> hello_world_then_wait(EventSink& events, int wait) {
    AssistantMessageItem item{"msg_partial", events.thread_id(), now(), {AssistantMessageContent{{}, "Hello, "}}};
    ThreadStreamEvent added = ThreadItemAddedEvent{item};
    co_await events.emit(std::move(added));
    ThreadStreamEvent delta = ThreadItemUpdatedEvent{"msg_partial", AssistantMessageContentPartTextDelta{0, "World!"}};
    co_await events.emit(std::move(delta));
    co_await wait_ms(wait);
    co_await test::reply(events, "never sent");
}

}  // namespace

TEST_CASE_METHOD(Fixture, "a disconnect while respond() waits saves the partial message and a cancellation note",
                 "[engine][cancel]") {
    server.responder = [](ThreadMetadata&, std::optional<UserMessageItem> const&, EventSink& events,
                          Ctx&) -> asio::awaitable<void> { co_await hello_world_then_wait(events, 10000); };
    auto response = test::run(server.process(json::serialize(test::create_request("hi")), Ctx{}));
    FlakyWriter writer;
    auto const started = std::chrono::steady_clock::now();
    test::run(stream_until_disconnect(response, writer, 50));
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
    CHECK(server.cancelled_calls == 1);

    auto stored = items(thread_of(writer));
    REQUIRE(stored.size() == 3);
    auto const& partial = std::get<AssistantMessageItem>(stored[1]);
    CHECK(partial.id == "msg_partial");
    CHECK(partial.content.at(0).text == "Hello, World!");
    auto const& note = std::get<SDKHiddenContextItem>(stored[2]);
    CHECK(note.content == "The user cancelled the stream. Stop responding to the prior request.");
    CHECK(note.id.starts_with("shcx_"));
    // Nothing after the disconnect reached the client: no error event, no final thread check.
    CHECK(writer.frames.size() == 5);
}

TEST_CASE_METHOD(Fixture, "a failing write cancels the stream the same way", "[engine][cancel]") {
    server.responder = [](ThreadMetadata&, std::optional<UserMessageItem> const&, EventSink& events,
                          Ctx&) -> asio::awaitable<void> { co_await hello_world_then_wait(events, 1); };
    auto response = test::run(server.process(json::serialize(test::create_request("hi")), Ctx{}));
    FlakyWriter writer(5);  // thread.created, user message, stream_options, added, delta; the reply fails
    test::run(response.stream(writer));
    CHECK(server.cancelled_calls == 1);
    // The reply was persisted before its write failed (persistence precedes the write), then the
    // pending message and the note were saved.
    auto stored = items(thread_of(writer));
    REQUIRE(stored.size() == 4);
    CHECK(std::get<AssistantMessageItem>(stored[1]).content.at(0).text == "Hello, World!");
    CHECK(std::get<AssistantMessageItem>(stored[2]).content.at(0).text == "never sent");
    CHECK(std::holds_alternative<SDKHiddenContextItem>(stored[3]));
}

TEST_CASE_METHOD(Fixture, "an empty pending assistant message is not saved, the note always is", "[engine][cancel]") {
    server.responder = [](ThreadMetadata&, std::optional<UserMessageItem> const&, EventSink& events,
                          Ctx&) -> asio::awaitable<void> {
        AssistantMessageItem item{"msg_empty", events.thread_id(), now(), {}};
        ThreadStreamEvent added = ThreadItemAddedEvent{item};
        co_await events.emit(std::move(added));
        ThreadStreamEvent blank = ThreadItemUpdatedEvent{"msg_empty", AssistantMessageContentPartAdded{0, {{}, "  \n"}}};
        co_await events.emit(std::move(blank));
        co_await wait_ms(10000);
    };
    auto response = test::run(server.process(json::serialize(test::create_request("hi")), Ctx{}));
    FlakyWriter writer;
    test::run(stream_until_disconnect(response, writer, 30));
    auto thread_id = thread_of(writer);
    CHECK_THROWS_AS(test::run(store.load_item(thread_id, "msg_empty", Ctx{})), Error);
    auto stored = items(thread_id);
    REQUIRE(stored.size() == 2);
    CHECK(std::holds_alternative<SDKHiddenContextItem>(stored[1]));
}

TEST_CASE_METHOD(Fixture, "a respond() that swallows the cancellation still ends in handle_stream_cancelled",
                 "[engine][cancel]") {
    server.responder = [](ThreadMetadata& thread, std::optional<UserMessageItem> const&, EventSink& events,
                          Ctx&) -> asio::awaitable<void> {
        for (int i = 0; i < 3; ++i) {
            try {
                co_await test::reply(events, "x");
            } catch (Error const&) {
            }
        }
        thread.title = "not saved after a cancel";
    };
    auto response = test::run(server.process(json::serialize(test::create_request("hi")), Ctx{}));
    FlakyWriter writer(3);
    test::run(response.stream(writer));
    CHECK(server.cancelled_calls == 1);
    auto thread_id = thread_of(writer);
    CHECK_FALSE(test::run(store.load_thread(thread_id, Ctx{})).title.has_value());
}

TEST_CASE_METHOD(Fixture, "pending-item tracking never mutates the application's objects", "[engine]") {
    server.responder = [](ThreadMetadata&, std::optional<UserMessageItem> const&, EventSink& events,
                          Ctx&) -> asio::awaitable<void> {
        WorkflowItem workflow{"wf_1", events.thread_id(), now(), Workflow{WorkflowType::custom, {}, std::nullopt, false}};
        ThreadStreamEvent added = ThreadItemAddedEvent{workflow};
        co_await events.emit(std::move(added));
        CustomTask task{TaskStatusIndicator::none, "Step", std::nullopt, std::nullopt};
        ThreadStreamEvent task_added = ThreadItemUpdatedEvent{"wf_1", WorkflowTaskAdded{0, task}};
        co_await events.emit(std::move(task_added));
        workflow.workflow.tasks.push_back(task);
        ThreadStreamEvent done = ThreadItemDoneEvent{workflow};
        co_await events.emit(std::move(done));
    };
    auto result = test::call(server, test::create_request("x"));
    auto const& done = result.events.back();
    CHECK(done.at("item").at("workflow").at("tasks").as_array().size() == 1);
    auto thread_id = std::string(result.events[0].at("thread").at("id").as_string());
    auto stored = std::get<WorkflowItem>(test::run(store.load_item(thread_id, "wf_1", Ctx{})));
    CHECK(stored.workflow.tasks.size() == 1);
}

TEST_CASE_METHOD(Fixture, "cancelled workflows and widgets are not saved; annotations of pending messages are kept",
                 "[engine][cancel]") {
    server.responder = [](ThreadMetadata&, std::optional<UserMessageItem> const&, EventSink& events,
                          Ctx&) -> asio::awaitable<void> {
        WorkflowItem workflow{"wf_1", events.thread_id(), now(), Workflow{}};
        ThreadStreamEvent wf = ThreadItemAddedEvent{workflow};
        co_await events.emit(std::move(wf));
        AssistantMessageItem message{"msg_1", events.thread_id(), now(), {}};
        ThreadStreamEvent added = ThreadItemAddedEvent{message};
        co_await events.emit(std::move(added));
        // A delta for part 1 pads part 0; an annotation beyond the end is appended.
        ThreadStreamEvent delta = ThreadItemUpdatedEvent{"msg_1", AssistantMessageContentPartTextDelta{1, "text"}};
        co_await events.emit(std::move(delta));
        Annotation note{FileSource{"f", {}, {}, {}, "f.txt"}, 2};
        ThreadStreamEvent annotation =
            ThreadItemUpdatedEvent{"msg_1", AssistantMessageContentPartAnnotationAdded{1, 5, note}};
        co_await events.emit(std::move(annotation));
        co_await wait_ms(10000);
    };
    auto response = test::run(server.process(json::serialize(test::create_request("hi")), Ctx{}));
    FlakyWriter writer;
    test::run(stream_until_disconnect(response, writer, 30));
    auto stored = items(thread_of(writer));
    REQUIRE(stored.size() == 3);
    auto const& message = std::get<AssistantMessageItem>(stored[1]);
    REQUIRE(message.content.size() == 2);
    CHECK(message.content[0].text.empty());
    CHECK(message.content[1].text == "text");
    CHECK(message.content[1].annotations.size() == 1);
    CHECK(std::holds_alternative<SDKHiddenContextItem>(stored[2]));
}

TEST_CASE_METHOD(Fixture, "hidden items are stored but never sent, in done, added or replaced events", "[engine]") {
    server.responder = [](ThreadMetadata&, std::optional<UserMessageItem> const&, EventSink& events,
                          Ctx&) -> asio::awaitable<void> {
        HiddenContextItem hidden{"hid_1", events.thread_id(), now(), json::object{{"k", nullptr}}};
        ThreadStreamEvent done = ThreadItemDoneEvent{hidden};
        co_await events.emit(std::move(done));
        SDKHiddenContextItem sdk{"shcx_1", events.thread_id(), now(), "note"};
        ThreadStreamEvent replaced = ThreadItemReplacedEvent{sdk};
        co_await events.emit(std::move(replaced));
        co_await test::reply(events, "visible");
    };
    auto result = test::call(server, test::create_request("x"));
    CHECK(result.types() == std::vector<std::string>{"thread.created", "thread.item.done", "stream_options",
                                                     "thread.item.done"});
    auto thread_id = std::string(result.events[0].at("thread").at("id").as_string());
    auto stored = items(thread_id);
    REQUIRE(stored.size() == 4);
    CHECK(json::serialize(std::get<HiddenContextItem>(stored[1]).content) == R"({"k":null})");
}

TEST_CASE_METHOD(Fixture, "an app-emitted error event does not end the stream", "[engine]") {
    server.responder = [](ThreadMetadata&, std::optional<UserMessageItem> const&, EventSink& events,
                          Ctx&) -> asio::awaitable<void> {
        ThreadStreamEvent error = ErrorEvent{"custom", "Handled problem", false};
        co_await events.emit(std::move(error));
        co_await test::reply(events, "recovered");
    };
    auto result = test::call(server, test::create_request("x"));
    CHECK(result.frames[3] == R"({"type":"error","code":"custom","message":"Handled problem","allow_retry":false})");
    CHECK(result.types().back() == "thread.item.done");
}

TEST_CASE_METHOD(Fixture, "an out-of-range task index is forwarded but not applied", "[engine]") {
    server.responder = [](ThreadMetadata&, std::optional<UserMessageItem> const&, EventSink& events,
                          Ctx&) -> asio::awaitable<void> {
        WorkflowItem workflow{"wf_1", events.thread_id(), now(), Workflow{}};
        ThreadStreamEvent added = ThreadItemAddedEvent{workflow};
        co_await events.emit(std::move(added));
        ThreadStreamEvent bad = ThreadItemUpdatedEvent{"wf_1", WorkflowTaskUpdated{7, ThoughtTask{}}};
        co_await events.emit(std::move(bad));
        co_await test::reply(events, "fine");
    };
    auto result = test::call(server, test::create_request("x"));
    CHECK(result.detailed_types().at(4) == "thread.item.updated/workflow.task.updated");
    CHECK(result.types().back() == "thread.item.done");
}

TEST_CASE_METHOD(Fixture, "widget streams: value deltas, root replacement, errors", "[engine][widgets]") {
    auto text = [](std::string value, bool streaming) {
        json::object node{{"id", "text"}, {"type", "Text"}, {"value", value}};
        if (streaming) node["streaming"] = true;
        return WidgetRoot{{"type", "Card"}, {"children", json::array{node}}};
    };
    SECTION("appended text gives one value_delta per state") {
        server.responder = [&text](ThreadMetadata&, std::optional<UserMessageItem> const&, EventSink& events,
                                   Ctx&) -> asio::awaitable<void> {
            std::vector<WidgetRoot> states{text("", true), text("Hel", true), text("Hello,", true), text("Hello, world", true)};
            co_await stream_widget(events, std::move(states));
        };
        auto result = test::call(server, test::create_request("x"));
        auto const all = result.detailed_types();
        REQUIRE(all.size() == 8);
        std::vector<std::string> tail(all.begin() + 3, all.end());
        CHECK(tail == std::vector<std::string>{"thread.item.added/widget",
                                               "thread.item.updated/widget.streaming_text.value_delta",
                                               "thread.item.updated/widget.streaming_text.value_delta",
                                               "thread.item.updated/widget.streaming_text.value_delta",
                                               "thread.item.done/widget"});
        CHECK(result.events[4].at("update").at("delta") == "Hel");
        CHECK(result.events[4].at("update").at("done") == false);  // the Text is still streaming
        CHECK(result.events[6].at("update").at("delta") == " world");
        CHECK(result.events[7].at("item").at("widget").at("children").at(0).at("value") == "Hello, world");
        CHECK(result.events[3].at("item").at("id") == result.events[7].at("item").at("id"));
    }
    SECTION("a changed text is a root replacement") {
        server.responder = [&text](ThreadMetadata&, std::optional<UserMessageItem> const&, EventSink& events,
                                   Ctx&) -> asio::awaitable<void> {
            std::vector<WidgetRoot> states{text("Hello", true), text("World", true)};
            co_await stream_widget(events, std::move(states));
        };
        auto result = test::call(server, test::create_request("x"));
        CHECK(result.detailed_types().at(4) == "thread.item.updated/widget.root.updated");
        CHECK(result.detailed_types().at(5) == "thread.item.done/widget");
    }
    SECTION("an empty sequence ends the stream with a stream.error") {
        server.responder = [](ThreadMetadata&, std::optional<UserMessageItem> const&, EventSink& events,
                              Ctx&) -> asio::awaitable<void> {
            std::vector<WidgetRoot> none;
            co_await stream_widget(events, std::move(none));
        };
        CHECK(test::call(server, test::create_request("x")).types().back() == "error");
    }
}

TEST_CASE("diff_widget follows the reference's rules", "[widgets]") {
    auto card = [](json::array children) { return WidgetRoot{{"type", "Card"}, {"children", std::move(children)}}; };
    auto text = [](json::object props) {
        json::object node{{"type", "Text"}};
        for (auto& p : props) node[p.key()] = p.value();
        return node;
    };
    CHECK(diff_widget(card({}), card({})).empty());
    auto a = card({text({{"id", "text"}, {"value", "Hello"}, {"streaming", true}})});
    auto b = card({text({{"id", "text"}, {"value", "Hello, world!"}, {"streaming", true}})});
    auto updates = diff_widget(a, b);
    REQUIRE(updates.size() == 1);
    CHECK(std::get<WidgetStreamingTextValueDelta>(updates[0]) == WidgetStreamingTextValueDelta{"text", ", world!", false});
    auto c = card({text({{"id", "text"}, {"value", "Hello, world!"}, {"streaming", false}})});
    REQUIRE(diff_widget(a, c).size() == 1);
    CHECK(std::holds_alternative<WidgetRootUpdated>(diff_widget(a, c)[0]));
    auto no_id_a = card({text({{"value", "Hello"}})});
    auto no_id_b = card({text({{"value", "world!"}})});
    CHECK(std::holds_alternative<WidgetRootUpdated>(diff_widget(no_id_a, no_id_b).at(0)));
    // Appended text without an id: no update until done.
    CHECK(diff_widget(no_id_a, card({text({{"value", "Hello there"}})})).empty());
    // Absent and null props are the same.
    CHECK(diff_widget(card({text({{"value", "x"}, {"color", nullptr}})}), card({text({{"value", "x"}})})).empty());
    // A component whose id changes is a structural change.
    auto renamed = card({text({{"id", "other"}, {"value", "Hello"}, {"streaming", true}})});
    CHECK(std::holds_alternative<WidgetRootUpdated>(diff_widget(a, renamed).at(0)));
}

TEST_CASE_METHOD(Fixture, "AssistantMessageStream emits the reference's event sequence", "[engine][streaming]") {
    server.responder = [](ThreadMetadata&, std::optional<UserMessageItem> const&, EventSink& events,
                          Ctx&) -> asio::awaitable<void> {
        AssistantMessageStream message(events);
        co_await message.start();
        co_await message.append("Hello");
        co_await message.append("");
        co_await message.append(", world!");
        Annotation cite{URLSource{"Docs", {}, {}, {}, "https://example.com", {}}, 5};
        co_await message.annotate(std::move(cite));
        co_await message.finish();
    };
    auto result = test::call(server, test::create_request("x"));
    std::vector<std::string> expected{"thread.item.added/assistant_message",
                                      "thread.item.updated/assistant_message.content_part.added",
                                      "thread.item.updated/assistant_message.content_part.text_delta",
                                      "thread.item.updated/assistant_message.content_part.text_delta",
                                      "thread.item.updated/assistant_message.content_part.annotation_added",
                                      "thread.item.updated/assistant_message.content_part.done",
                                      "thread.item.done/assistant_message"};
    auto all = result.detailed_types();
    REQUIRE(all.size() == 10);
    CHECK(std::vector<std::string>(all.begin() + 3, all.end()) == expected);
    auto const& done = result.events.back().at("item");
    CHECK(done.at("content").at(0).at("text") == "Hello, world!");
    CHECK(done.at("content").at(0).at("annotations").as_array().size() == 1);
    CHECK(done.at("id") == result.events[3].at("item").at("id"));
    CHECK(done.at("created_at") == result.events[3].at("item").at("created_at"));
    auto stored = items(thread_of_result(result));
    REQUIRE(stored.size() == 2);
    CHECK(std::get<AssistantMessageItem>(stored[1]).content.at(0).text == "Hello, world!");
}

namespace {
// The events of a stream with ids and timestamps blanked, to compare two streams.
json::value without_ids(json::value v) {
    if (auto* o = v.if_object()) {
        for (auto& [key, value] : *o) {
            if (key == "id" || key == "item_id" || key == "thread_id" || key == "created_at") value = "";
            else value = without_ids(value);
        }
    } else if (auto* a = v.if_array()) {
        for (auto& value : *a) value = without_ids(value);
    }
    return v;
}
}  // namespace

TEST_CASE_METHOD(Fixture, "stream_assistant_message streams a whole message as AssistantMessageStream does",
                 "[engine][streaming]") {
    for (std::string const text : {"Hello, world!", ""}) {
        server.responder = [text](ThreadMetadata&, std::optional<UserMessageItem> const&, EventSink& events,
                                  Ctx&) -> asio::awaitable<void> {
            AssistantMessageStream message(events);
            co_await message.start();
            co_await message.append(text);
            co_await message.finish();
        };
        auto by_hand = test::call(server, test::create_request("x"));
        server.responder = [text](ThreadMetadata&, std::optional<UserMessageItem> const&, EventSink& events,
                                  Ctx&) -> asio::awaitable<void> {
            co_await stream_assistant_message(events, text);
        };
        auto one_call = test::call(server, test::create_request("x"));

        REQUIRE(one_call.events.size() == by_hand.events.size());
        for (std::size_t i = 0; i < one_call.events.size(); ++i)
            CHECK(without_ids(one_call.events[i]) == without_ids(by_hand.events[i]));
        auto const types = one_call.detailed_types();
        CHECK(types.back() == "thread.item.done/assistant_message");
        CHECK(std::count(types.begin(), types.end(), "thread.item.updated/assistant_message.content_part.text_delta") ==
              (text.empty() ? 0 : 1));
        // Same id and created_at on added and done, and the message is stored with its text.
        auto const& done = one_call.events.back().at("item");
        CHECK(done.at("id") == one_call.events[3].at("item").at("id"));
        CHECK(done.at("created_at") == one_call.events[3].at("item").at("created_at"));
        auto stored = items(thread_of_result(one_call));
        REQUIRE(stored.size() == 2);
        CHECK(std::get<AssistantMessageItem>(stored[1]).content.at(0).text == text);
    }
}
