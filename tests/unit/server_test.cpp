// Behaviour of ChatKitServer::process() and the streaming engine (PROTOCOL.md §4, §6, checklist §10.1, §10.5).
#include "support/test_support.hpp"

#include <chatkit/core/base64.hpp>

#include <catch2/catch.hpp>

#include <boost/asio/steady_timer.hpp>

using namespace chatkit;
using test::Ctx;
using test::TestServer;
namespace json = boost::json;
namespace asio = boost::asio;

namespace {

struct Fixture {
    InMemoryStore<Ctx> store{[](Ctx const& c) { return c.user; }};
    TestServer server{{.store = store}};

    // Creates a thread whose respond() replies `text`; returns its id.
    std::string create_thread(std::string const& text = "hello") {
        auto saved = server.responder;
        server.responder = [](ThreadMetadata&, std::optional<UserMessageItem> const&, EventSink& events,
                              Ctx&) -> asio::awaitable<void> { co_await test::reply(events, "ok"); };
        auto result = test::call(server, test::create_request(text));
        server.responder = saved;
        REQUIRE(result.status == 200);
        return std::string(result.events.at(0).at("thread").at("id").as_string());
    }

    std::vector<ThreadItem> items(std::string const& thread_id, Order order = Order::asc, Ctx ctx = {}) {
        std::optional<std::string> after;
        return test::run(store.load_thread_items(thread_id, after, 1000, order, ctx)).data;
    }
};

json::value list_items(TestServer&, std::string const& thread_id, json::object extra = {}) {
    extra["thread_id"] = thread_id;
    return json::object{{"type", "items.list"}, {"params", extra}};
}

}  // namespace

TEST_CASE_METHOD(Fixture, "threads.create emits thread.created, the user message, stream_options, then respond's events",
                 "[server]") {
    server.responder = [](ThreadMetadata&, std::optional<UserMessageItem> const&, EventSink& events,
                          Ctx&) -> asio::awaitable<void> { co_await test::reply(events, "hi there"); };
    json::value body = test::create_request("Hello");
    body.at("params").at("input").as_object()["quoted_text"] = "Quoted text";
    auto result = test::call(server, body);
    REQUIRE(result.status == 200);
    REQUIRE(result.streaming);
    CHECK(result.detailed_types() == std::vector<std::string>{"thread.created", "thread.item.done/user_message",
                                                              "stream_options", "thread.item.done/assistant_message"});
    auto const& thread = result.events[0].at("thread").as_object();
    CHECK_FALSE(thread.contains("title"));
    CHECK(json::serialize(thread.at("items")) == R"({"data":[],"has_more":false})");
    CHECK(json::serialize(thread.at("metadata")) == "{}");
    auto const& user = result.events[1].at("item");
    CHECK(user.at("content").at(0).at("text") == "Hello");
    CHECK(user.at("quoted_text") == "Quoted text");
    CHECK(result.frames[2] == R"({"type":"stream_options","stream_options":{"allow_cancel":true}})");
    // Both items are stored.
    auto stored = items(std::string(thread.at("id").as_string()));
    REQUIRE(stored.size() == 2);
    CHECK(std::holds_alternative<UserMessageItem>(stored[0]));
    CHECK(std::holds_alternative<AssistantMessageItem>(stored[1]));
}

TEST_CASE_METHOD(Fixture, "the request context reaches respond and add_feedback", "[server]") {
    Ctx ctx;
    ctx.marker = 42;
    test::call(server, test::create_request("x"), ctx);
    REQUIRE(server.respond_markers == std::vector<int>{42});
    auto thread_id = create_thread();
    json::value feedback = json::object{
        {"type", "items.feedback"},
        {"params", json::object{{"thread_id", thread_id}, {"item_ids", json::array{"assistant_msg_1"}}, {"kind", "positive"}}}};
    auto result = test::call(server, feedback, ctx);
    CHECK(result.body == "{}");
    feedback.at("params").as_object()["item_ids"] = json::array{"widget_1"};
    feedback.at("params").as_object()["kind"] = "negative";
    test::call(server, feedback, ctx);
    REQUIRE(server.feedback.size() == 2);
    CHECK(server.feedback[0].item_ids == std::vector<std::string>{"assistant_msg_1"});
    CHECK(server.feedback[0].kind == FeedbackKind::positive);
    CHECK(server.feedback[1].kind == FeedbackKind::negative);
    CHECK(server.feedback[1].marker == 42);
}

TEST_CASE_METHOD(Fixture, "thread changes made by respond are saved and announced with thread.updated", "[server]") {
    SECTION("title, set without yielding: the last event is thread.updated") {
        server.responder = [](ThreadMetadata& thread, std::optional<UserMessageItem> const&, EventSink&,
                              Ctx&) -> asio::awaitable<void> {
            thread.title = "Greeting";
            co_return;
        };
        auto result = test::call(server, test::create_request("x"));
        REQUIRE(result.types().back() == "thread.updated");
        auto const& thread = result.events.back().at("thread");
        CHECK(thread.at("title") == "Greeting");
        CHECK_FALSE(thread.as_object().contains("allowed_image_domains"));
        CHECK(json::serialize(thread.at("metadata")) == "{}");
        auto id = std::string(thread.at("id").as_string());
        CHECK(test::run(store.load_thread(id, Ctx{})).title == std::optional<std::string>("Greeting"));
    }
    SECTION("metadata: stored, but clients always see {}") {
        server.responder = [](ThreadMetadata& thread, std::optional<UserMessageItem> const&, EventSink&,
                              Ctx&) -> asio::awaitable<void> {
            thread.metadata["secret"] = "kept server-side";
            co_return;
        };
        auto result = test::call(server, test::create_request("x"));
        REQUIRE(result.types().back() == "thread.updated");
        CHECK(json::serialize(result.events.back().at("thread").at("metadata")) == "{}");
        auto id = std::string(result.events.back().at("thread").at("id").as_string());
        CHECK(test::run(store.load_thread(id, Ctx{})).metadata.at("secret") == "kept server-side");
    }
    SECTION("locked status with a reason") {
        server.responder = [](ThreadMetadata& thread, std::optional<UserMessageItem> const&, EventSink&,
                              Ctx&) -> asio::awaitable<void> {
            thread.status = ThreadStatus::locked("Because");
            co_return;
        };
        auto result = test::call(server, test::create_request("x"));
        CHECK(json::serialize(result.events.back().at("thread").at("status")) ==
              R"({"type":"locked","reason":"Because"})");
    }
    SECTION("allowed image domains") {
        server.responder = [](ThreadMetadata& thread, std::optional<UserMessageItem> const&, EventSink&,
                              Ctx&) -> asio::awaitable<void> {
            thread.allowed_image_domains = std::vector<std::string>{"a.example", "b.example"};
            co_return;
        };
        auto result = test::call(server, test::create_request("x"));
        CHECK(json::serialize(result.events.back().at("thread").at("allowed_image_domains")) ==
              R"(["a.example","b.example"])");
    }
    SECTION("assigning an equal value is not a change") {
        server.responder = [](ThreadMetadata& thread, std::optional<UserMessageItem> const&, EventSink& events,
                              Ctx&) -> asio::awaitable<void> {
            thread.status = ThreadStatus::active();
            co_await test::reply(events, "same");
        };
        auto result = test::call(server, test::create_request("x"));
        CHECK(result.types().back() == "thread.item.done");
    }
}

TEST_CASE_METHOD(Fixture, "a title change mid-stream is announced right after the next event", "[server]") {
    server.responder = [](ThreadMetadata& thread, std::optional<UserMessageItem> const&, EventSink& events,
                          Ctx&) -> asio::awaitable<void> {
        co_await test::reply(events, "A");
        thread.title = "New";
        co_await test::reply(events, "B");
        co_await test::reply(events, "C");
    };
    auto result = test::call(server, test::create_request("x"));
    auto types = result.types();
    REQUIRE(types.size() == 7);
    CHECK(types[3] == "thread.item.done");
    CHECK(types[4] == "thread.item.done");
    CHECK(types[5] == "thread.updated");
    CHECK(result.events[5].at("thread").at("title") == "New");
    CHECK(types[6] == "thread.item.done");
    CHECK(result.events[6].at("item").at("content").at(0).at("text") == "C");
}

TEST_CASE_METHOD(Fixture, "client tool calls: the call, the output, the continuation", "[server]") {
    server.responder = [](ThreadMetadata&, std::optional<UserMessageItem> const& input, EventSink& events,
                          Ctx&) -> asio::awaitable<void> {
        if (input) {
            ClientToolCallItem call;
            call.id = "tool_call_1";
            call.thread_id = events.thread_id();
            call.created_at = now();
            call.call_id = "call_1";
            call.name = "tool_1";
            call.arguments = json::object{{"arg1", "val1"}, {"arg2", false}};
            ThreadStreamEvent done = ThreadItemDoneEvent{std::move(call)};
            co_await events.emit(std::move(done));
        } else {
            co_await test::reply(events, "after tool");
        }
    };
    auto created = test::call(server, test::create_request("x"));
    REQUIRE(created.detailed_types() == std::vector<std::string>{"thread.created", "thread.item.done/user_message",
                                                                 "stream_options",
                                                                 "thread.item.done/client_tool_call"});
    auto const& call = created.events[3].at("item");
    CHECK(call.at("call_id") == "call_1");
    CHECK(json::serialize(call.at("arguments")) == R"({"arg1":"val1","arg2":false})");
    CHECK_FALSE(call.as_object().contains("output"));
    auto thread_id = std::string(created.events[0].at("thread").at("id").as_string());

    json::value output = json::object{{"type", "threads.add_client_tool_output"},
                                      {"params", json::object{{"thread_id", thread_id}, {"result", json::object{{"text", "Wow!"}}}}}};
    auto continued = test::call(server, output);
    CHECK(continued.detailed_types() ==
          std::vector<std::string>{"stream_options", "thread.item.done/assistant_message"});
    REQUIRE(server.inputs.size() == 2);
    CHECK_FALSE(server.inputs[1].has_value());
    auto stored = std::get<ClientToolCallItem>(test::run(store.load_item(thread_id, "tool_call_1", Ctx{})));
    CHECK(stored.status == ToolCallStatus::completed);
    CHECK(json::serialize(stored.output) == R"({"text":"Wow!"})");

    SECTION("a second output finds no pending call and fails without emitting anything") {
        auto again = test::call(server, output);
        CHECK(again.status == 400);
        CHECK(again.json.at("error").at("message") ==
              json::value("Last thread item in " + thread_id + " was not a ClientToolCallItem"));
    }
}

TEST_CASE_METHOD(Fixture, "older pending client tool calls are deleted once the newest is answered", "[server]") {
    server.responder = [](ThreadMetadata&, std::optional<UserMessageItem> const& input, EventSink& events,
                          Ctx&) -> asio::awaitable<void> {
        if (!input) co_return;
        for (int i = 1; i <= 3; ++i) {
            ClientToolCallItem call;
            call.id = "call_item_" + std::to_string(i);
            call.thread_id = events.thread_id();
            call.created_at = now();
            call.call_id = "c" + std::to_string(i);
            call.name = "t";
            ThreadStreamEvent done = ThreadItemDoneEvent{std::move(call)};
            co_await events.emit(std::move(done));
        }
    };
    auto created = test::call(server, test::create_request("x"));
    auto thread_id = std::string(created.events[0].at("thread").at("id").as_string());
    json::value output = json::object{{"type", "threads.add_client_tool_output"},
                                      {"params", json::object{{"thread_id", thread_id}, {"result", nullptr}}}};
    auto result = test::call(server, output);
    CHECK(result.types() == std::vector<std::string>{"stream_options"});
    auto stored = items(thread_id);
    REQUIRE(stored.size() == 2);  // the user message and the completed call
    auto const& call = std::get<ClientToolCallItem>(stored[1]);
    CHECK(call.id == "call_item_3");
    CHECK(call.status == ToolCallStatus::completed);
    CHECK(call.output.is_null());
}

TEST_CASE_METHOD(Fixture, "progress updates are forwarded in place", "[server]") {
    server.responder = [](ThreadMetadata&, std::optional<UserMessageItem> const&, EventSink& events,
                          Ctx&) -> asio::awaitable<void> {
        ThreadStreamEvent progress = ProgressUpdateEvent{"search", "Looking"};
        co_await events.emit(std::move(progress));
        co_await test::reply(events, "done");
    };
    auto result = test::call(server, test::create_request("x"));
    CHECK(result.types() == std::vector<std::string>{"thread.created", "thread.item.done", "stream_options",
                                                     "progress_update", "thread.item.done"});
    CHECK(result.frames[3] == R"({"type":"progress_update","icon":"search","text":"Looking"})");
}

TEST_CASE_METHOD(Fixture, "threads.list and items.list paginate newest first", "[server]") {
    for (int i = 0; i < 25; ++i) create_thread();
    json::value list = json::object{{"type", "threads.list"}, {"params", json::object{{"limit", 20}}}};
    auto page1 = test::call(server, list);
    auto const& data = page1.json.at("data").as_array();
    REQUIRE(data.size() == 20);
    for (std::size_t i = 1; i < data.size(); ++i)
        CHECK(data[i - 1].at("created_at").as_string() >= data[i].at("created_at").as_string());
    CHECK(page1.json.at("has_more") == true);
    REQUIRE(page1.json.as_object().contains("after"));
    CHECK(page1.json.at("after") == data[19].at("id"));
    CHECK(json::serialize(data[0].at("items")) == R"({"data":[],"has_more":false})");

    json::value next = json::object{{"type", "threads.list"}, {"params", json::object{{"after", page1.json.at("after")}}}};
    auto page2 = test::call(server, next);
    CHECK(page2.json.at("data").as_array().size() == 5);
    CHECK(page2.json.at("has_more") == false);
    CHECK_FALSE(page2.json.as_object().contains("after"));

    // 26 items in one thread (13 turns).
    auto thread_id = create_thread();
    server.responder = [](ThreadMetadata&, std::optional<UserMessageItem> const&, EventSink& events,
                          Ctx&) -> asio::awaitable<void> { co_await test::reply(events, "r"); };
    for (int i = 0; i < 12; ++i) test::call(server, test::add_message_request(thread_id, "m"));
    auto items1 = test::call(server, list_items(server, thread_id));
    REQUIRE(items1.json.at("data").as_array().size() == 20);
    CHECK(items1.json.at("has_more") == true);
    CHECK(items1.json.at("data").at(0).at("type") == "assistant_message");  // newest first
    auto items2 = test::call(server, list_items(server, thread_id, {{"after", items1.json.at("after")}}));
    CHECK(items2.json.at("data").as_array().size() == 6);
    CHECK(items2.json.at("has_more") == false);
    CHECK(items2.json.at("data").as_array().back().at("type") == "user_message");  // the oldest
}

TEST_CASE_METHOD(Fixture, "limit 0 or null means 20; a negative limit is a 400", "[server]") {
    for (int i = 0; i < 22; ++i) create_thread();
    for (auto limit : {json::value(0), json::value(nullptr)}) {
        json::value list = json::object{{"type", "threads.list"}, {"params", json::object{{"limit", limit}}}};
        CHECK(test::call(server, list).json.at("data").as_array().size() == 20);
    }
    json::value negative = json::object{{"type", "threads.list"}, {"params", json::object{{"limit", -1}}}};
    CHECK(test::call(server, negative).status == 400);
}

TEST_CASE_METHOD(Fixture, "an unknown pagination cursor is a 404", "[server]") {
    json::value list = json::object{{"type", "threads.list"}, {"params", json::object{{"after", "thr_missing"}}}};
    auto result = test::call(server, list);
    CHECK(result.status == 404);
    CHECK(result.json.at("error").at("code") == "not_found");
}

TEST_CASE_METHOD(Fixture, "custom actions reach action() with the stored widget as sender", "[server]") {
    WidgetRoot card = json::object{{"type", "Card"}, {"children", json::array{json::object{{"type", "Text"}, {"value", "Hi"}}}}};
    server.responder = [card](ThreadMetadata&, std::optional<UserMessageItem> const&, EventSink& events,
                              Ctx&) -> asio::awaitable<void> {
        WidgetItem widget{"widget_1", events.thread_id(), now(), card, std::nullopt};
        ThreadStreamEvent done = ThreadItemDoneEvent{std::move(widget)};
        co_await events.emit(std::move(done));
    };
    auto created = test::call(server, test::create_request("x"));
    auto thread_id = std::string(created.events[0].at("thread").at("id").as_string());
    server.action_handler = [](ThreadMetadata&, Action const&, std::optional<WidgetItem> const& sender,
                               EventSink& events, Ctx&) -> asio::awaitable<void> {
        WidgetRoot next = json::object{{"type", "Card"}, {"children", json::array{json::object{{"type", "Text"}, {"value", "Bye"}}}}};
        ThreadStreamEvent updated = ThreadItemUpdatedEvent{sender->id, WidgetRootUpdated{next}};
        co_await events.emit(std::move(updated));
    };
    json::value action = json::object{
        {"type", "threads.custom_action"},
        {"params", json::object{{"thread_id", thread_id},
                                {"item_id", "widget_1"},
                                {"action", json::object{{"type", "create_user"}, {"payload", json::object{{"user_id", "123"}}}}}}}};
    auto result = test::call(server, action);
    CHECK(result.detailed_types() ==
          std::vector<std::string>{"stream_options", "thread.item.updated/widget.root.updated"});
    REQUIRE(server.actions.size() == 1);
    CHECK(server.actions[0].first.type == "create_user");
    CHECK(json::serialize(server.actions[0].first.payload) == R"({"user_id":"123"})");
    REQUIRE(server.actions[0].second.has_value());
    CHECK(server.actions[0].second->widget == card);

    SECTION("a sender that is not a widget gets one stream.error event and no handler call") {
        auto stored = items(thread_id);
        auto user_id = item_id(stored[0]);
        action.at("params").as_object()["item_id"] = user_id;
        auto bad = test::call(server, action);
        REQUIRE(bad.frames.size() == 1);
        CHECK(bad.frames[0] == R"({"type":"error","code":"stream.error","allow_retry":false})");
        CHECK(server.actions.size() == 1);
    }
    SECTION("no or empty item_id passes no sender") {
        action.at("params").as_object()["item_id"] = "";
        test::call(server, action);
        REQUIRE(server.actions.size() == 2);
        CHECK_FALSE(server.actions[1].second.has_value());
    }
    SECTION("sync actions: the handler's item is returned but not saved") {
        server.sync_handler = [](Action const&, std::optional<WidgetItem> const& sender) {
            WidgetItem changed = *sender;
            changed.copy_text = "changed";
            return SyncCustomActionResponse{ThreadItem(changed)};
        };
        action.at("type") = "threads.sync_custom_action";
        auto sync = test::call(server, action);
        REQUIRE(sync.status == 200);
        CHECK(sync.json.at("updated_item").at("copy_text") == "changed");
        auto stored = std::get<WidgetItem>(test::run(store.load_item(thread_id, "widget_1", Ctx{})));
        CHECK_FALSE(stored.copy_text.has_value());
        server.sync_handler = [](Action const&, std::optional<WidgetItem> const&) { return SyncCustomActionResponse{}; };
        CHECK(test::call(server, action).body == "{}");
    }
    SECTION("a sync action whose sender is not a widget is a 400") {
        action.at("type") = "threads.sync_custom_action";
        action.at("params").as_object()["item_id"] = item_id(items(thread_id)[0]);
        auto bad = test::call(server, action);
        CHECK(bad.status == 400);
        CHECK(bad.json.at("error").at("message") == "threads.sync_custom_action requires a widget sender item");
    }
}

TEST_CASE_METHOD(Fixture, "the default action() fails the stream with a retryable stream.error", "[server]") {
    auto thread_id = create_thread();
    json::value action = json::object{{"type", "threads.custom_action"},
                                      {"params", json::object{{"thread_id", thread_id}, {"action", json::object{{"type", "x"}}}}}};
    auto result = test::call(server, action);
    CHECK(result.frames == std::vector<std::string>{R"({"type":"stream_options","stream_options":{"allow_cancel":true}})",
                                                    R"({"type":"error","code":"stream.error","allow_retry":true})"});
}

TEST_CASE_METHOD(Fixture, "structured input answers replace the item and resume respond()", "[server]") {
    server.responder = [](ThreadMetadata&, std::optional<UserMessageItem> const& input, EventSink& events,
                          Ctx&) -> asio::awaitable<void> {
        if (!input) {
            co_await test::reply(events, "thanks");
            co_return;
        }
        StructuredInputItem item;
        item.id = "si_1";
        item.thread_id = events.thread_id();
        item.created_at = now();
        item.inputs.push_back(StructuredInputMultipleChoice{"subject", "Which subject?", std::nullopt,
                                                            {{"Math"}, {"Science"}}, false});
        item.inputs.push_back(StructuredInputFreeform{"notes", "Anything else?", std::nullopt, std::nullopt});
        ThreadStreamEvent done = ThreadItemDoneEvent{std::move(item)};
        co_await events.emit(std::move(done));
    };
    auto created = test::call(server, test::create_request("x"));
    auto thread_id = std::string(created.events[0].at("thread").at("id").as_string());
    auto submit = [&](json::object input) {
        json::value body = json::object{
            {"type", "threads.add_structured_input"},
            {"params", json::object{{"thread_id", thread_id}, {"item_id", "si_1"}, {"input", input}}}};
        return test::call(server, body);
    };

    SECTION("custom answers are accepted; extra values of a single choice are dropped") {
        auto result = submit({{"answers", json::object{{"subject", json::object{{"values", json::array{"Private class", "Math"}}}},
                                                       {"notes", json::object{{"values", json::array{"Please include group work."}}}},
                                                       {"unknown", json::object{{"values", json::array{"x"}}}}}}});
        REQUIRE(result.detailed_types() == std::vector<std::string>{"stream_options",
                                                                    "thread.item.replaced/structured_input",
                                                                    "thread.item.done/assistant_message"});
        auto const& item = result.events[1].at("item");
        CHECK(item.at("status") == "answered");
        CHECK(json::serialize(item.at("inputs").at(0).at("answer")) == R"({"values":["Private class"],"skipped":false})");
        CHECK(json::serialize(item.at("inputs").at(1).at("answer")) ==
              R"({"values":["Please include group work."],"skipped":false})");
        auto stored = test::run(store.load_item(thread_id, "si_1", Ctx{}));
        CHECK(chatkit::serialize(to_json(stored)) == result.frames[1].substr(result.frames[1].find("\"item\":") + 7,
                                                                     result.frames[1].size() - result.frames[1].find("\"item\":") - 8));
        CHECK_FALSE(server.inputs.back().has_value());
    }
    SECTION("an omitted answer is recorded as skipped") {
        auto result = submit({{"answers", json::object{{"subject", json::object{{"values", json::array{"Math"}}}}}}});
        CHECK(json::serialize(result.events[1].at("item").at("inputs").at(1).at("answer")) ==
              R"({"values":[],"skipped":true})");
    }
    SECTION("status skipped marks every question skipped") {
        auto result = submit({{"status", "skipped"}, {"answers", json::object{{"subject", json::object{{"values", json::array{"Math"}}}}}}});
        auto const& item = result.events[1].at("item");
        CHECK(item.at("status") == "skipped");
        CHECK(json::serialize(item.at("inputs").at(0).at("answer")) == R"({"values":[],"skipped":true})");
    }
    SECTION("a second submission finds the item no longer pending") {
        submit({});
        auto again = submit({});
        CHECK(again.status == 400);
        CHECK(again.json.at("error").at("message") == "Structured input item si_1 is not pending");
    }
    SECTION("submitting to an item that is not structured input is a 400") {
        auto user_id = item_id(items(thread_id)[0]);
        json::value body = json::object{
            {"type", "threads.add_structured_input"},
            {"params", json::object{{"thread_id", thread_id}, {"item_id", user_id}, {"input", json::object{}}}}};
        auto result = test::call(server, body);
        CHECK(result.status == 400);
        CHECK(result.json.at("error").at("message") == json::value("Item " + user_id + " is not a StructuredInputItem"));
    }
}

TEST_CASE_METHOD(Fixture, "threads.get_by_id returns the oldest 20 items ascending, hidden ones removed", "[server]") {
    server.responder = [](ThreadMetadata& thread, std::optional<UserMessageItem> const& input, EventSink& events,
                          Ctx&) -> asio::awaitable<void> {
        thread.title = "Title";
        HiddenContextItem hidden{events.generate_item_id(StoreItemType::message), events.thread_id(), now(), "secret"};
        ThreadStreamEvent done = ThreadItemDoneEvent{std::move(hidden)};
        co_await events.emit(std::move(done));
        std::string text = "reply to " + text_of(*input);
        co_await test::reply(events, std::move(text));
    };
    auto created = test::call(server, test::create_request("first"));
    // The title changed before the (swallowed) hidden item's event: thread.updated follows it.
    CHECK(created.types() == std::vector<std::string>{"thread.created", "thread.item.done", "stream_options",
                                                      "thread.updated", "thread.item.done"});
    auto thread_id = std::string(created.events[0].at("thread").at("id").as_string());
    json::value get = json::object{{"type", "threads.get_by_id"}, {"params", json::object{{"thread_id", thread_id}}}};
    auto result = test::call(server, get);
    CHECK(result.json.at("id") == json::value(thread_id));
    CHECK(result.json.at("title") == "Title");
    auto const& data = result.json.at("items").at("data").as_array();
    REQUIRE(data.size() == 2);
    CHECK(data[0].at("content").at(0).at("text") == "first");
    CHECK(data[1].at("type") == "assistant_message");
    CHECK(items(thread_id).size() == 3);  // the hidden item is stored
    auto listed = test::call(server, list_items(server, thread_id));
    CHECK(listed.json.at("data").as_array().size() == 2);
}

TEST_CASE_METHOD(Fixture, "attachments need an attachment store", "[server]") {
    json::value create = json::object{{"type", "attachments.create"},
                                      {"params", json::object{{"name", "a.txt"}, {"size", 3}, {"mime_type", "text/plain"}}}};
    auto created = test::call(server, create);
    CHECK(created.status == 500);
    json::value del = json::object{{"type", "attachments.delete"}, {"params", json::object{{"attachment_id", "atc_1"}}}};
    CHECK(test::call(server, del).status == 500);
}

namespace {
struct RecordingAttachments final : AttachmentStore<Ctx> {
    std::vector<std::string> deleted;
    asio::awaitable<Attachment> create_attachment(AttachmentCreateParams const& params, Ctx const& ctx) override {
        Attachment a;
        a.id = generate_attachment_id(params.mime_type, ctx);
        a.name = params.name;
        a.mime_type = params.mime_type;
        a.upload_descriptor = AttachmentUploadDescriptor{"https://example.com/" + a.id + "/upload", "PUT",
                                                         {{"X-My-Header", "my-value"}}};
        a.metadata = JsonObject{{"source", "test"}};
        if (params.mime_type.starts_with("image/")) {
            a.type = AttachmentType::image;
            a.preview_url = "https://example.com/" + a.id + "/preview";
        }
        co_return a;
    }
    asio::awaitable<void> delete_attachment(std::string const& id, Ctx const&) override {
        deleted.push_back(id);
        co_return;
    }
};

// A server with RecordingAttachments whose respond() emits nothing.
struct AttachmentsFixture {
    InMemoryStore<Ctx> store;
    RecordingAttachments attachments;
    TestServer server{{.store = store, .attachments = &attachments}};
    AttachmentsFixture() {
        server.responder = [](ThreadMetadata&, std::optional<UserMessageItem> const&, EventSink&,
                              Ctx&) -> asio::awaitable<void> { co_return; };
    }
    // attachments.create of a 3-byte file.
    test::Result create_attachment(std::string const& mime, std::string const& name = "a.txt") {
        json::value body = json::object{{"type", "attachments.create"},
                                        {"params", json::object{{"name", name}, {"size", 3}, {"mime_type", mime}}}};
        return test::call(server, body);
    }
};
}  // namespace

TEST_CASE_METHOD(AttachmentsFixture, "attachments: create, use in a message, delete", "[server]") {
    json::value create = json::object{{"type", "attachments.create"},
                                      {"params", json::object{{"name", "a.txt"}, {"size", 3}, {"mime_type", "text/plain"}}}};
    auto file = test::call(server, create);
    REQUIRE(file.status == 200);
    auto id = std::string(file.json.at("id").as_string());
    CHECK(file.body == R"({"id":")" + id +
                           R"(","name":"a.txt","mime_type":"text/plain","upload_descriptor":{"url":"https://example.com/)" +
                           id + R"(/upload","method":"PUT","headers":{"X-My-Header":"my-value"}},"type":"file"})");
    CHECK(test::run(store.load_attachment(id, Ctx{})).metadata->at("source") == "test");

    create.at("params").as_object()["mime_type"] = "image/png";
    auto image = test::call(server, create);
    CHECK(image.json.at("type") == "image");
    CHECK(image.json.at("preview_url") == json::value("https://example.com/" + std::string(image.json.at("id").as_string()) + "/preview"));

    // Used in threads.create: the record gets the thread id, the message carries no metadata.
    json::value body = test::create_request("see attachment");
    body.at("params").at("input").as_object()["attachments"] = json::array{json::value(id)};
    auto created = test::call(server, body);
    auto thread_id = std::string(created.events[0].at("thread").at("id").as_string());
    auto const& sent = created.events[1].at("item").at("attachments").at(0).as_object();
    CHECK_FALSE(sent.contains("metadata"));
    CHECK(sent.at("thread_id") == json::value(thread_id));
    CHECK(test::run(store.load_attachment(id, Ctx{})).thread_id == std::optional<std::string>(thread_id));

    // Used in threads.add_user_message on an existing thread.
    auto image_id = std::string(image.json.at("id").as_string());
    json::value add = test::add_message_request(thread_id, "another");
    add.at("params").at("input").as_object()["attachments"] = json::array{json::value(image_id)};
    test::call(server, add);
    CHECK(test::run(store.load_attachment(image_id, Ctx{})).thread_id == std::optional<std::string>(thread_id));

    json::value del = json::object{{"type", "attachments.delete"}, {"params", json::object{{"attachment_id", id}}}};
    CHECK(test::call(server, del).body == "{}");
    CHECK(attachments.deleted == std::vector<std::string>{id});
    CHECK_THROWS_AS(test::run(store.load_attachment(id, Ctx{})), chatkit::Error);
}

TEST_CASE_METHOD(Fixture, "a missing attachment fails the request before anything is stored", "[server]") {
    json::value body = test::create_request("x");
    body.at("params").at("input").as_object()["attachments"] = json::array{"atc_missing"};
    auto result = test::call(server, body);
    CHECK(result.status == 404);
    CHECK(result.json.at("error").at("message") == "File atc_missing not found");
    std::optional<std::string> after;
    CHECK(test::run(store.load_threads(10, after, Order::asc, Ctx{})).data.empty());
    CHECK(server.inputs.empty());
}

TEST_CASE_METHOD(Fixture, "threads.update, threads.delete", "[server]") {
    auto thread_id = create_thread();
    json::value update = json::object{{"type", "threads.update"},
                                      {"params", json::object{{"thread_id", thread_id}, {"title", "New Title"}}}};
    auto updated = test::call(server, update);
    CHECK(updated.json.at("title") == "New Title");
    json::value del = json::object{{"type", "threads.delete"}, {"params", json::object{{"thread_id", thread_id}}}};
    CHECK(test::call(server, del).body == "{}");
    json::value get = json::object{{"type", "threads.get_by_id"}, {"params", json::object{{"thread_id", thread_id}}}};
    auto missing = test::call(server, get);
    CHECK(missing.status == 404);
    CHECK(missing.body == R"({"error":{"code":"not_found","message":"Thread )" + thread_id + R"( not found"}})");
}

TEST_CASE_METHOD(Fixture, "removed and replaced events change the store", "[server]") {
    server.responder = [](ThreadMetadata&, std::optional<UserMessageItem> const&, EventSink& events,
                          Ctx&) -> asio::awaitable<void> {
        auto a = test::assistant(events, "draft");
        ThreadStreamEvent done = ThreadItemDoneEvent{a};
        co_await events.emit(std::move(done));
        a.content[0].text = "final";
        ThreadStreamEvent replaced = ThreadItemReplacedEvent{a};
        co_await events.emit(std::move(replaced));
        auto b = test::assistant(events, "temporary");
        ThreadStreamEvent done_b = ThreadItemDoneEvent{b};
        co_await events.emit(std::move(done_b));
        ThreadStreamEvent removed = ThreadItemRemovedEvent{b.id};
        co_await events.emit(std::move(removed));
    };
    auto result = test::call(server, test::create_request("x"));
    CHECK(result.types() == std::vector<std::string>{"thread.created", "thread.item.done", "stream_options",
                                                     "thread.item.done", "thread.item.replaced", "thread.item.done",
                                                     "thread.item.removed"});
    auto stored = items(std::string(result.events[0].at("thread").at("id").as_string()));
    REQUIRE(stored.size() == 2);
    CHECK(std::get<AssistantMessageItem>(stored[1]).content[0].text == "final");
}

TEST_CASE_METHOD(Fixture, "errors raised by respond() become error events", "[server]") {
    SECTION("an ordinary exception: retryable stream.error") {
        server.responder = [](ThreadMetadata&, std::optional<UserMessageItem> const&, EventSink&,
                              Ctx&) -> asio::awaitable<void> {
            throw std::runtime_error("secret detail");
            co_return;
        };
        auto result = test::call(server, test::create_request("x"));
        CHECK(result.frames.back() == R"({"type":"error","code":"stream.error","allow_retry":true})");
        CHECK(result.body.find("secret detail") == std::string::npos);
    }
    SECTION("StreamError without and with a retry flag") {
        server.responder = [](ThreadMetadata&, std::optional<UserMessageItem> const&, EventSink&,
                              Ctx&) -> asio::awaitable<void> {
            throw StreamError("stream.error", false);
            co_return;
        };
        CHECK(test::call(server, test::create_request("x")).frames.back() ==
              R"({"type":"error","code":"stream.error","allow_retry":false})");
        CHECK(StreamError().allow_retry());
    }
    SECTION("CustomStreamError after a title change: error, then thread.updated") {
        server.responder = [](ThreadMetadata& thread, std::optional<UserMessageItem> const&, EventSink& events,
                              Ctx&) -> asio::awaitable<void> {
            co_await test::reply(events, "a1");
            thread.title = "changed before error";
            throw CustomStreamError("nope", true);
        };
        auto result = test::call(server, test::create_request("x"));
        auto n = result.frames.size();
        CHECK(result.frames[n - 2] == R"({"type":"error","code":"custom","message":"nope","allow_retry":true})");
        CHECK(result.events[n - 1].at("type") == "thread.updated");
        CHECK(result.events[n - 1].at("thread").at("title") == "changed before error");
    }
}

namespace {
struct FailingStore final : InMemoryStore<Ctx> {
    bool fail_adds = false;
    asio::awaitable<void> add_thread_item(std::string const& thread_id, ThreadItem const& item, Ctx const& ctx) override {
        if (fail_adds && std::holds_alternative<AssistantMessageItem>(item))
            throw_error(error::store_failure, "disk full");
        co_await InMemoryStore<Ctx>::add_thread_item(thread_id, item, ctx);
    }
};
}  // namespace

TEST_CASE("a store failure while persisting an event becomes stream.error and the event is not sent", "[server]") {
    FailingStore store;
    store.fail_adds = true;
    TestServer server({.store = store});
    bool swallowed = false;
    server.responder = [&swallowed](ThreadMetadata&, std::optional<UserMessageItem> const&, EventSink& events,
                                    Ctx&) -> asio::awaitable<void> {
        try {
            co_await test::reply(events, "lost");
        } catch (...) {
            swallowed = true;  // even a responder that swallows the failure cannot hide it
        }
    };
    auto result = test::call(server, test::create_request("x"));
    CHECK(swallowed);
    CHECK(result.types() == std::vector<std::string>{"thread.created", "thread.item.done", "stream_options", "error"});
    CHECK(result.frames.back() == R"({"type":"error","code":"stream.error","allow_retry":true})");
}

TEST_CASE_METHOD(Fixture, "retry_after_item deletes everything after the user message and responds again", "[server]") {
    server.responder = [](ThreadMetadata&, std::optional<UserMessageItem> const& input, EventSink& events,
                          Ctx&) -> asio::awaitable<void> {
        std::string text = "Response to: " + text_of(*input);
        co_await test::reply(events, std::move(text));
    };
    auto created = test::call(server, test::create_request("First message"));
    auto thread_id = std::string(created.events[0].at("thread").at("id").as_string());
    test::call(server, test::add_message_request(thread_id, "Second message"));
    auto before = items(thread_id);
    REQUIRE(before.size() == 4);
    auto user2 = std::get<UserMessageItem>(before[2]);
    auto old_assistant = item_id(before[3]);

    json::value retry = json::object{{"type", "threads.retry_after_item"},
                                     {"params", json::object{{"thread_id", thread_id}, {"item_id", user2.id}}}};
    auto result = test::call(server, retry);
    CHECK(result.detailed_types() == std::vector<std::string>{"stream_options", "thread.item.done/assistant_message"});
    CHECK(server.inputs.back() == std::optional<UserMessageItem>(user2));
    auto after = items(thread_id);
    REQUIRE(after.size() == 4);
    CHECK(after[0] == before[0]);
    CHECK(after[1] == before[1]);
    CHECK(after[2] == before[2]);
    CHECK(item_id(after[3]) != old_assistant);
    CHECK(std::get<AssistantMessageItem>(after[3]).content[0].text == "Response to: Second message");

    SECTION("retrying on an assistant message is a 400") {
        retry.at("params").as_object()["item_id"] = item_id(after[3]);
        auto bad = test::call(server, retry);
        CHECK(bad.status == 400);
        CHECK(std::string(bad.json.at("error").at("message").as_string()).find("is not a user message") !=
              std::string::npos);
    }
    SECTION("an unknown item gives an empty stream and calls nothing") {
        auto calls = server.inputs.size();
        retry.at("params").as_object()["item_id"] = "msg_unknown";
        auto empty = test::call(server, retry);
        CHECK(empty.status == 200);
        CHECK(empty.streaming);
        CHECK(empty.body.empty());
        CHECK(server.inputs.size() == calls);
        CHECK(items(thread_id).size() == 4);
    }
}

TEST_CASE_METHOD(Fixture, "inference options reach respond() on the input message", "[server]") {
    json::value body = test::create_request("x");
    body.at("params").at("input").as_object()["inference_options"] =
        json::object{{"tool_choice", json::object{{"id", "tool_1"}}}, {"model", "gpt-4.1"}};
    test::call(server, body);
    REQUIRE(server.inputs.back().has_value());
    CHECK(server.inputs.back()->inference_options.tool_choice->id == "tool_1");
    CHECK(server.inputs.back()->inference_options.model == std::optional<std::string>("gpt-4.1"));
}

TEST_CASE_METHOD(Fixture, "input.transcribe decodes base64 and passes the media type", "[server]") {
    server.transcriber = [](AudioInput const& audio, Ctx& ctx) {
        CHECK(audio.data == "hello audio");
        CHECK(audio.mime_type == "audio/webm;codecs=opus");
        CHECK(audio.media_type() == "audio/webm");
        CHECK(ctx.marker == 7);
        return TranscriptionResult{"ok"};
    };
    json::value body = json::object{{"type", "input.transcribe"},
                                    {"params", json::object{{"audio_base64", base64_encode("hello audio")},
                                                            {"mime_type", "audio/webm;codecs=opus"}}}};
    Ctx ctx;
    ctx.marker = 7;
    CHECK(test::call(server, body, ctx).body == R"({"text":"ok"})");
    body.at("params").as_object()["audio_base64"] = "aGVsbG8";
    CHECK(test::call(server, body, ctx).status == 400);
    server.transcriber = nullptr;
    body.at("params").as_object()["audio_base64"] = "aGVsbG8=";
    CHECK(test::call(server, body, ctx).status == 500);
}

namespace {
struct CustomIdStore final : InMemoryStore<Ctx> {
    int n = 0;
    std::string generate_thread_id(Ctx const&) override { return "thr_custom_" + std::to_string(++n); }
    std::string generate_item_id(StoreItemType type, ThreadMetadata const& thread, Ctx const&) override {
        static char const* names[] = {"thread", "message", "tool_call", "task", "workflow", "attachment", "sdk_hidden_context"};
        return std::string(names[static_cast<int>(type)]) + "_custom_" + std::to_string(++n) + "_" + thread.id;
    }
};
}  // namespace

TEST_CASE("the server uses the store's id generators", "[server]") {
    CustomIdStore store;
    TestServer server({.store = store});
    auto result = test::call(server, test::create_request("x"));
    CHECK(result.events[0].at("thread").at("id") == "thr_custom_1");
    CHECK(result.events[1].at("item").at("id") == "message_custom_2_thr_custom_1");
}

TEST_CASE_METHOD(Fixture, "invalid requests answer 400 naming the field and change nothing", "[server]") {
    for (std::string body : {"{not json", "", "[]", R"({"type":"threads.rename","params":{}})", R"({"params":{}})",
                             R"({"type":"threads.list"})", R"({"type":"threads.get_by_id","params":{"thread_id":42}})"}) {
        auto result = test::call(server, body);
        INFO(body);
        CHECK(result.status == 400);
        CHECK(result.json.at("error").at("code") == "invalid_request");
    }
    auto result = test::call(server, R"({"type":"threads.get_by_id","params":{"thread_id":42}})");
    CHECK(std::string(result.json.at("error").at("message").as_string()).find("$.params.thread_id") != std::string::npos);
    CHECK(server.inputs.empty());
}

TEST_CASE_METHOD(Fixture, "another user's thread does not exist", "[server]") {
    auto thread_id = create_thread();
    Ctx bob;
    bob.user = "bob";
    json::value get = json::object{{"type", "threads.get_by_id"}, {"params", json::object{{"thread_id", thread_id}}}};
    CHECK(test::call(server, get, bob).status == 404);
    CHECK(test::call(server, test::add_message_request(thread_id, "hi"), bob).status == 404);
    auto listed = test::call(server, list_items(server, thread_id), bob);
    CHECK(listed.body == R"({"data":[],"has_more":false})");
    json::value list = json::object{{"type", "threads.list"}, {"params", json::object{}}};
    CHECK(test::call(server, list, bob).json.at("data").as_array().empty());
    CHECK(test::call(server, list).json.at("data").as_array().size() == 1);
}

TEST_CASE_METHOD(Fixture, "stream_options follow get_stream_options()", "[server]") {
    server.allow_cancel = false;
    auto result = test::call(server, test::create_request("x"));
    CHECK(result.frames[2] == R"({"type":"stream_options","stream_options":{"allow_cancel":false}})");
}

namespace {
// A store whose id generator repeats itself: every thread gets the same id.
struct RepeatingIdStore final : InMemoryStore<Ctx> {
    std::string generate_thread_id(Ctx const&) override { return "thr_always_the_same"; }
};

// A generator that made one default id and keeps returning it: only its first use is a fresh id.
struct CachedDefaultIdStore final : InMemoryStore<Ctx> {
    std::string id;
    std::string generate_thread_id(Ctx const& ctx) override {
        if (id.empty()) id = InMemoryStore<Ctx>::generate_thread_id(ctx);
        return id;
    }
};

// Two threads.create on `store`, whose generator gives both the id `thread_id` (read after them):
// the first is answered, the second is a 409 and leaves the first conversation as it was.
void check_second_create_conflicts(InMemoryStore<Ctx>& store, std::string const& thread_id) {
    TestServer server({.store = store});
    auto first = test::call(server, test::create_request("first conversation"));
    REQUIRE(first.status == 200);
    auto second = test::call(server, test::create_request("second conversation"));
    CHECK(second.status == 409);
    CHECK(second.json.at("error").at("code") == "conflict");
    std::optional<std::string> after;
    auto const items = test::run(store.load_thread_items(thread_id, after, 100, Order::asc, Ctx{})).data;
    REQUIRE_FALSE(items.empty());
    CHECK(json::serialize(to_json(items.front())).find("first conversation") != std::string::npos);
    for (auto const& item : items)
        CHECK(json::serialize(to_json(item)).find("second conversation") == std::string::npos);
}
}  // namespace

TEST_CASE("a generated thread id that is already in use is a 409, never a merge of two conversations", "[server]") {
    RepeatingIdStore store;
    check_second_create_conflicts(store, "thr_always_the_same");
}

TEST_CASE("a default thread id handed out twice is a 409 the second time", "[server]") {
    // The first use is a fresh id (created without a lookup); the second must still be looked up.
    // `store.id` is passed by reference: the check reads it once the generator has filled it.
    CachedDefaultIdStore store;
    check_second_create_conflicts(store, store.id);
}

TEST_CASE_METHOD(AttachmentsFixture, "ServerLimits bound the lists a request carries", "[server][limits]") {
    CHECK(server.limits().max_attachments_per_message == 16);
    CHECK(server.limits().max_page_limit == 100);
    std::vector<std::string> ids;
    ids.reserve(4);
    for (int i = 0; i < 4; ++i) ids.emplace_back(create_attachment("text/plain").json.at("id").as_string());
    auto message_with = [](std::vector<std::string> const& attachment_ids) {
        json::value body = test::create_request("see attachments");
        json::array list;
        for (auto const& id : attachment_ids) list.emplace_back(id);
        body.at("params").at("input").as_object()["attachments"] = list;
        return body;
    };
    // Repeated ids are refused whatever the limit; nothing is stored.
    auto repeated = test::call(server, message_with({ids[0], ids[1], ids[0]}));
    CHECK(repeated.status == 400);
    CHECK(std::string(repeated.json.at("error").at("message").as_string()).find("listed twice") != std::string::npos);
    std::optional<std::string> after;
    CHECK(test::run(store.load_threads(10, after, Order::asc, Ctx{})).data.empty());

    // The same store and attachments behind a server given tighter limits.
    TestServer limited({.store = store,
                        .attachments = &attachments,
                        .limits = {.max_attachments_per_message = 3, .max_page_limit = 2, .max_feedback_items = 1}});
    limited.responder = server.responder;
    CHECK(limited.limits().max_page_limit == 2);
    CHECK(test::call(limited, message_with({ids[0], ids[1], ids[2], ids[3]})).status == 400);
    auto three = test::call(limited, message_with({ids[0], ids[1], ids[2]}));
    REQUIRE(three.status == 200);
    CHECK(three.events[1].at("item").at("attachments").as_array().size() == 3);
    auto const thread_id = std::string(three.events[0].at("thread").at("id").as_string());
    for (int i = 0; i < 3; ++i) test::call(limited, test::add_message_request(thread_id, "more"));

    // A page never exceeds max_page_limit, whatever `limit` asks.
    json::value list = json::object{{"type", "items.list"},
                                    {"params", json::object{{"thread_id", thread_id}, {"limit", 1000000}}}};
    auto page = test::call(limited, list);
    REQUIRE(page.status == 200);
    CHECK(page.json.at("data").as_array().size() == 2);
    CHECK(page.json.at("has_more") == true);

    json::value feedback = json::object{
        {"type", "items.feedback"},
        {"params", json::object{{"thread_id", thread_id}, {"item_ids", json::array{"a", "b"}}, {"kind", "positive"}}}};
    CHECK(test::call(limited, feedback).status == 400);
}

TEST_CASE_METHOD(AttachmentsFixture, "attachments.create refuses a media type that is not one and stores the canonical form",
                 "[server][limits]") {
    auto create = [&](std::string const& mime) { return create_attachment(mime, "a"); };
    for (std::string const& bad : {std::string("image/png;\r\nX-Injected: 1"), std::string("image/png, text/html"),
                                   std::string("png"), std::string("image/png\n")}) {
        INFO(bad);
        auto const res = create(bad);
        CHECK(res.status == 400);
        CHECK(res.json.at("error").at("code") == "invalid_request");
    }
    auto const ok = create("Image/PNG; name=\"x\"");
    REQUIRE(ok.status == 200);
    CHECK(ok.json.at("mime_type") == "image/png");
    CHECK(ok.json.at("type") == "image");  // the store saw the canonical type
}
