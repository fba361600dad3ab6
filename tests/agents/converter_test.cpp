// ThreadItemConverter: thread items become model input with the reference's model-visible texts
// (AGENTS.md §2.3, edge cases 6-12 of §2.4), attachments through the application's loader, and the
// history window read from a real store.
#include <chatkit/agents/chatkit/bridge.hpp>

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <set>

namespace agents = chatkit::agents;
namespace json = boost::json;
namespace asio = boost::asio;
using namespace chatkit;
using test::Ctx;

namespace {

template <class T>
T at(std::string id, T item) {
    item.id = std::move(id);
    item.thread_id = "thr_1";
    item.created_at = chatkit::now();
    return item;
}

UserMessageItem user(std::string id, std::string text, std::optional<std::string> quoted = std::nullopt) {
    UserMessageItem item = at(std::move(id), UserMessageItem{});
    item.content.emplace_back(UserMessageTextContent{std::move(text)});
    item.quoted_text = std::move(quoted);
    return item;
}

/// The model input as wire JSON (what a Responses request would carry in `input`).
json::array to_wire(std::vector<agents::Item> const& items) {
    json::array out;
    for (auto const& item : items) out.push_back(agents::to_json(item));
    return out;
}

json::value user_json(std::string text) {
    return json::value{{"type", "message"}, {"role", "user"},
                       {"content", json::array{json::object{{"type", "input_text"}, {"text", std::move(text)}}}}};
}

std::string text_of(json::value const& message, std::size_t part = 0) {
    return std::string(message.at("content").at(part).at("text").as_string());
}

json::array convert(std::vector<ThreadItem> items) {
    agents::ThreadItemConverter<Ctx> converter;
    Ctx ctx;
    return to_wire(test::run(converter.to_agent_input(items, ctx)));
}

}  // namespace

TEST_CASE("converter: only the last user message brings its quoted text", "[agents][converter]") {
    auto input = convert({user("msg_1", "Hello!", "Hi!"), user("msg_2", "I'm well, thank you!", "How are you doing?")});
    REQUIRE(input.size() == 3);
    CHECK(input[0] == user_json("Hello!"));
    CHECK(input[1] == user_json("I'm well, thank you!"));
    CHECK(input[2] == user_json("The user is referring to this in particular: \nHow are you doing?"));
}

TEST_CASE("converter: mixed history keeps order; assistant parts replay without annotations; widgets as JSON text",
          "[agents][converter]") {
    AssistantMessageItem assistant = at("msg_3", AssistantMessageItem{});
    FileSource source;
    source.filename = "a.txt";
    source.title = "a.txt";
    assistant.content.push_back({{Annotation{source, 3}}, "How are you doing?"});
    assistant.content.push_back({{}, "Can't do that"});
    WidgetItem widget = at("wd_123", WidgetItem{});
    widget.widget = json::object{{"type", "Card"},
                                 {"children", json::array{json::object{{"type", "Text"}, {"value", "Hello, world!"}}}}};

    auto input = convert({user("msg_1", "Hello!", "Hi!"), user("msg_2", "I'm well, thank you!", "How are you doing?"),
                          assistant, widget});
    REQUIRE(input.size() == 4);
    CHECK(input[0] == user_json("Hello!"));
    CHECK(input[1] == user_json("I'm well, thank you!"));  // its quote is dropped: it is not the last item
    auto const& replay = input[2].as_object();
    CHECK(replay.at("role") == "assistant");
    CHECK(replay.at("type") == "message");
    REQUIRE(replay.at("content").as_array().size() == 2);
    for (auto const& part : replay.at("content").as_array()) {
        CHECK(part.at("type") == "output_text");
        CHECK(part.at("annotations").as_array().empty());
    }
    CHECK(replay.at("content").at(0).at("text") == "How are you doing?");
    CHECK(replay.at("content").at(1).at("text") == "Can't do that");
    std::string const widget_text = text_of(input[3]);
    CHECK(input[3].at("role") == "user");
    CHECK(widget_text.starts_with("The following graphical UI widget (id: wd_123) was displayed to the user:{"));
    CHECK(widget_text.find("Hello, world!") != std::string::npos);
    CHECK(widget_text.find("created_at") == std::string::npos);
}

namespace {
struct TagConverter : agents::ThreadItemConverter<Ctx> {
    asio::awaitable<agents::ContentPart> tag_to_message_content(UserMessageTagContent const& tag, Ctx&) override {
        agents::InputText text;
        text.text = tag.text + " " + std::string(tag.data.at("key").as_string());
        co_return text;
    }
};
}  // namespace

TEST_CASE("converter: @-mentions render as @text and add a context message through the tag hook", "[agents][converter]") {
    UserMessageItem item = at("msg_1", UserMessageItem{});
    UserMessageTagContent tag{"hello", "Hello!", json::object{{"key", "value"}}, std::nullopt, false};
    item.content.emplace_back(tag);
    item.content.emplace_back(UserMessageTextContent{" and "});
    item.content.emplace_back(tag);  // the same entity twice: one context part

    TagConverter converter;
    Ctx ctx;
    std::vector<ThreadItem> items{item};
    auto input = to_wire(test::run(converter.to_agent_input(items, ctx)));
    REQUIRE(input.size() == 2);
    CHECK(input[0] == user_json("@Hello! and @Hello!"));
    json::value expected{
        {"type", "message"},
        {"role", "user"},
        {"content",
         json::array{json::object{{"type", "input_text"},
                                  {"text", "# User-provided context for @-mentions\n- When referencing resolved entities, "
                                           "use their canonical names **without** '@'.\n- The '@' form appears only in "
                                           "user text and should not be echoed."}},
                     json::object{{"type", "input_text"}, {"text", "Hello! value"}}}}};
    CHECK(input[1] == expected);

    SECTION("without the hook, a tag is an error naming the hook") {
        try {
            convert({item});
            FAIL("no error");
        } catch (chatkit::Error const& e) {
            CHECK(e.code() == make_error_code(error::not_implemented));
            CHECK(e.message().find("tag_to_message_content") != std::string::npos);
        }
    }
}

TEST_CASE("converter: a generated image is replayed as input_image, a missing one not at all", "[agents][converter]") {
    GeneratedImageItem image = at("img_item_1", GeneratedImageItem{});
    CHECK(convert({image}).empty());
    image.image = GeneratedImage{"img_1", "https://example.com/img.png"};
    auto input = convert({image});
    REQUIRE(input.size() == 1);
    auto const& content = input[0].at("content").as_array();
    REQUIRE(content.size() == 2);
    CHECK(content[0] == json::value{{"type", "input_text"}, {"text", "The following image was generated by the agent."}});
    CHECK(content[1].at("type") == "input_image");
    CHECK(content[1].at("image_url") == "https://example.com/img.png");
    CHECK(content[1].at("detail") == "auto");
    auto const* file_id = content[1].as_object().if_contains("file_id");
    CHECK((file_id == nullptr || file_id->is_null()));
}

namespace {
struct HiddenConverter : agents::ThreadItemConverter<Ctx> {
    asio::awaitable<std::vector<agents::Item>> hidden_context_to_input(HiddenContextItem const& item) override {
        std::string keys;
        for (auto const& [k, v] : item.content.as_object()) keys += (keys.empty() ? "" : ",") + std::string(k);
        agents::MessageItem message;
        message.role = "user";
        agents::InputText text;
        text.text = "<HIDDEN>" + keys + "</HIDDEN>";
        message.content.emplace_back(text);
        co_return std::vector<agents::Item>{message};
    }
};
}  // namespace

TEST_CASE("converter: hidden context is wrapped for the model; JSON content needs a hook", "[agents][converter]") {
    HiddenContextItem hidden = at("hc_1", HiddenContextItem{});
    hidden.content = "User pressed the red button";
    CHECK(convert({hidden}) ==
          json::array{user_json("Hidden context for the agent (not shown to the user):\n<HiddenContext>\nUser pressed "
                                "the red button\n</HiddenContext>")});

    SDKHiddenContextItem sdk = at("shcx_1", SDKHiddenContextItem{});
    sdk.content = "The user cancelled the stream. Stop responding to the prior request.";
    CHECK(convert({sdk}) ==
          json::array{user_json("Hidden context for the agent (not shown to the user):\n<HiddenContext>\nThe user "
                                "cancelled the stream. Stop responding to the prior request.\n</HiddenContext>")});

    hidden.content = json::object{{"harry", "potter"}, {"hermione", "granger"}};
    CHECK_THROWS_AS(convert({hidden}), chatkit::Error);

    HiddenConverter custom;
    Ctx ctx;
    std::vector<ThreadItem> items{hidden};
    CHECK(to_wire(test::run(custom.to_agent_input(items, ctx))) == json::array{user_json("<HIDDEN>harry,hermione</HIDDEN>")});
}

TEST_CASE("converter: client tool calls replay as call + output with Python json.dumps text; pending ones are skipped",
          "[agents][converter]") {
    TaskItem task = at("tsk_123", TaskItem{});
    CustomTask custom;
    custom.title = "Called xyx";
    task.task = custom;
    ClientToolCallItem pending = at("ctc_123", ClientToolCallItem{});
    pending.name = "xyz";
    pending.arguments = json::object{{"foo", "bar"}};
    pending.call_id = "ctc_123";
    ClientToolCallItem done = pending;
    done.id = "ctc_123_done";
    done.status = ToolCallStatus::completed;
    done.output = json::object{{"success", true}};

    auto input = convert({user("msg_1", "Call a client tool call xyz", "Hi!"), task, pending, done});
    REQUIRE(input.size() == 4);
    CHECK(input[0] == user_json("Call a client tool call xyz"));
    CHECK(input[1] == user_json("A message was displayed to the user that the following task was performed:\n<Task>\n"
                                "Called xyx\n</Task>"));
    CHECK(input[2].at("type") == "function_call");
    CHECK(input[2].at("name") == "xyz");
    CHECK(input[2].at("call_id") == "ctc_123");
    CHECK(input[2].at("arguments") == "{\"foo\": \"bar\"}");
    CHECK(input[3].at("type") == "function_call_output");
    CHECK(input[3].at("call_id") == "ctc_123");
    CHECK(input[3].at("output") == "{\"success\": true}");
}

TEST_CASE("converter: python_json_dumps matches json.dumps spacing and ASCII escaping", "[agents][converter]") {
    CHECK(agents::python_json_dumps(json::parse(R"({"a":[1,2.5,null,false],"b":{"c":"x\"y"}})")) ==
          R"({"a": [1, 2.5, null, false], "b": {"c": "x\"y"}})");
    CHECK(agents::python_json_dumps(json::value("caf\xc3\xa9 \xf0\x9f\x98\x80\n")) == R"("caf\u00e9 \ud83d\ude00\n")");
    CHECK(agents::python_json_dumps(json::value(1.0)) == "1.0");
    CHECK(agents::python_json_dumps(json::value(nullptr)) == "null");
    CHECK(agents::python_json_dumps(json::array{}) == "[]");
    CHECK(agents::python_json_dumps(json::object{}) == "{}");
}

TEST_CASE("converter: structured input, workflows and tasks use the reference texts", "[agents][converter]") {
    StructuredInputItem si = at("si_123", StructuredInputItem{});
    si.status = StructuredInputStatus::answered;
    StructuredInputMultipleChoice subject;
    subject.id = "subject";
    subject.question = "Which subject is this lesson for?";
    subject.options = {{"Math"}, {"Science"}};
    subject.answer = StructuredInputAnswer{{"Math"}, false};
    StructuredInputFreeform details;
    details.id = "details";
    details.question = "Anything else to know?";
    details.answer = StructuredInputAnswer{{}, true};
    StructuredInputFreeform open;
    open.id = "open";
    open.question = "Favourite colours?";
    si.inputs = {subject, details};
    CHECK(convert({si}) == json::array{user_json(
                               "A structured input request was displayed to the user with the following status: "
                               "answered\n<StructuredInput>\n- Which subject is this lesson for?: Math\n- Anything "
                               "else to know?: skipped\n</StructuredInput>")});
    si.status = StructuredInputStatus::pending;
    si.inputs = {open};
    CHECK(text_of(convert({si})[0]).find("status: pending\n<StructuredInput>\n- Favourite colours?: unanswered\n") !=
          std::string::npos);

    WorkflowItem wf = at("wf_1", WorkflowItem{});
    CustomTask both;
    both.title = "Searched";
    both.content = "3 results";
    CustomTask content_only;
    content_only.content = "Only content";
    ThoughtTask thought;
    thought.content = "hidden reasoning";
    wf.workflow.tasks = {both, thought, CustomTask{}, content_only};
    CHECK(convert({wf}) ==
          json::array{user_json("A message was displayed to the user that the following task was performed:\n<Task>\n"
                                "Searched: 3 results\n</Task>"),
                      user_json("A message was displayed to the user that the following task was performed:\n<Task>\n"
                                "Only content\n</Task>")});

    TaskItem thought_item = at("tsk_2", TaskItem{});
    thought_item.task = thought;
    EndOfTurnItem eot = at("eot_1", EndOfTurnItem{});
    CHECK(convert({thought_item, eot}).empty());
}

TEST_CASE("converter: attachments reach the model through the application's loader, else as a description",
          "[agents][converter]") {
    Attachment image;
    image.type = AttachmentType::image;
    image.id = "atc_img";
    image.name = "cat.png";
    image.mime_type = "image/png";
    image.preview_url = "https://example.com/cat.png";
    Attachment notes;
    notes.id = "atc_txt";
    notes.name = "notes.md";
    notes.mime_type = "text/markdown";
    Attachment archive;
    archive.id = "atc_zip";
    archive.name = "data.zip";
    archive.mime_type = "application/zip";
    UserMessageItem message = user("msg_1", "Look at these");
    message.attachments = {image, notes, archive};

    SECTION("without a loader: described by name and type, never fetched") {
        auto input = convert({message});
        REQUIRE(input.size() == 1);
        auto const& content = input[0].at("content").as_array();
        REQUIRE(content.size() == 4);
        CHECK(content[0].at("text") == "Look at these");
        CHECK(content[1].at("type") == "input_text");
        CHECK(std::string(content[1].at("text").as_string()).find("cat.png (image/png)") != std::string::npos);
        CHECK(std::string(content[2].at("text").as_string()).find("notes.md (text/markdown)") != std::string::npos);
    }

    SECTION("with a loader: image as a data URL, text inline, unreadable types described") {
        std::vector<std::string> asked;
        agents::AttachmentLoader<Ctx> loader =
            [&](Attachment const& a, Ctx& ctx) -> asio::awaitable<std::optional<agents::AttachmentBytes>> {
            asked.push_back(a.id + "/" + ctx.user);
            if (a.id == "atc_img") co_return agents::AttachmentBytes{"image/png", std::string("\x89PNG", 4), "photo.png"};
            if (a.id == "atc_txt") co_return agents::AttachmentBytes{"text/markdown", "# Notes\nbuy milk", "notes.md"};
            co_return std::nullopt;
        };
        agents::ThreadItemConverter<Ctx> converter(loader);
        Ctx ctx;
        std::vector<ThreadItem> items{message};
        auto input = to_wire(test::run(converter.to_agent_input(items, ctx)));
        CHECK(asked == std::vector<std::string>{"atc_img/alice", "atc_txt/alice", "atc_zip/alice"});
        auto const& content = input.at(0).at("content").as_array();
        REQUIRE(content.size() == 4);
        CHECK(content[1].at("type") == "input_image");
        CHECK(content[1].at("image_url") == "data:image/png;base64,iVBORw==");
        CHECK(content[2].at("type") == "input_text");
        CHECK(std::string(content[2].at("text").as_string()).ends_with(":\n# Notes\nbuy milk"));
        CHECK(content[3].at("type") == "input_text");
        CHECK(std::string(content[3].at("text").as_string()).find("data.zip") != std::string::npos);
    }
}

TEST_CASE("converter: one call gives the model at most the attachment budget, the latest messages first",
          "[agents][converter]") {
    auto text_file = [](std::string id) {
        Attachment a;
        a.id = std::move(id);
        a.name = a.id + ".txt";
        a.mime_type = "text/plain";
        return a;
    };
    UserMessageItem older = user("msg_1", "older");
    older.attachments = {text_file("atc_1"), text_file("atc_2")};
    UserMessageItem newer = user("msg_2", "newer");
    newer.attachments = {text_file("atc_3"), text_file("atc_4")};
    std::vector<ThreadItem> items{older, newer};

    std::vector<std::string> asked;
    agents::AttachmentLoader<Ctx> loader =
        [&](Attachment const& a, Ctx&) -> asio::awaitable<std::optional<agents::AttachmentBytes>> {
        asked.push_back(a.id);
        co_return agents::AttachmentBytes{"text/plain", std::string(1000, 'x'), a.name};
    };
    agents::ThreadItemConverter<Ctx> converter(loader);
    CHECK(converter.attachment_budget() == 16 * 1024 * 1024);
    converter.set_attachment_budget(2500);  // two files and a half
    Ctx ctx;
    auto input = to_wire(test::run(converter.to_agent_input(items, ctx)));
    REQUIRE(input.size() == 2);
    auto text_of = [&](std::size_t message, std::size_t part) {
        return std::string(input.at(message).at("content").as_array().at(part).at("text").as_string());
    };
    // The newest message keeps both files; neither file of the older one fits in the 500 bytes left.
    CHECK(text_of(1, 1).ends_with(std::string(1000, 'x')));
    CHECK(text_of(1, 2).ends_with(std::string(1000, 'x')));
    CHECK(text_of(0, 1).find("atc_1.txt (text/plain). It was left out of this request") != std::string::npos);
    CHECK(text_of(0, 2).find("atc_2.txt (text/plain). It was left out of this request") != std::string::npos);
    CHECK(asked == std::vector<std::string>{"atc_3", "atc_4", "atc_1", "atc_2"});
    // The order of the model input is the thread's.
    CHECK(text_of(0, 0) == "older");
    CHECK(text_of(1, 0) == "newer");

    // Once the budget is spent, the loader is not asked any more.
    converter.set_attachment_budget(2000);
    asked.clear();
    input = to_wire(test::run(converter.to_agent_input(items, ctx)));
    CHECK(asked == std::vector<std::string>{"atc_3", "atc_4"});
    CHECK(text_of(0, 1).find("It was left out of this request") != std::string::npos);

    // The budget is per call: the next call has it all again.
    asked.clear();
    auto again = to_wire(test::run(converter.to_agent_input(std::vector<ThreadItem>{newer}, ctx)));
    CHECK(asked == std::vector<std::string>{"atc_3", "atc_4"});
    CHECK(std::string(again.at(0).at("content").as_array().at(2).at("text").as_string()).ends_with("xxx"));
}

TEST_CASE("converter: load_recent_items gives the last N items of the thread, oldest first", "[agents][converter]") {
    InMemoryStore<Ctx> store;
    Ctx ctx;
    ThreadMetadata thread;
    thread.id = "thr_1";
    thread.created_at = chatkit::now();
    test::run([&]() -> asio::awaitable<void> {
        co_await store.save_thread(thread, ctx);
        for (int i = 1; i <= 5; ++i) {
            ThreadItem item = user("msg_" + std::to_string(i), "m" + std::to_string(i));
            co_await store.add_thread_item(thread.id, item, ctx);
        }
    }());
    auto items = test::run(agents::load_recent_items(store, thread.id, 3, ctx));
    REQUIRE(items.size() == 3);
    CHECK(item_id(items[0]) == "msg_3");
    CHECK(item_id(items[2]) == "msg_5");
    auto input = convert(items);
    CHECK(input == json::array{user_json("m3"), user_json("m4"), user_json("m5")});
}

namespace {

/// A thread of `count` items: turns of a user question, every third turn a completed client tool
/// call, an assistant reply of varying length, every fourth turn an end-of-turn marker.
std::vector<ThreadItem> long_thread(std::size_t count) {
    std::vector<ThreadItem> items;
    items.reserve(count);
    auto add = [&](ThreadItem item) {
        if (items.size() < count) items.push_back(std::move(item));
    };
    for (int turn = 0; items.size() < count; ++turn) {
        std::string const n = std::to_string(turn);
        add(user("msg_u" + n, "question " + n + " " + std::string(static_cast<std::size_t>(turn * 37 % 400), 'q')));
        if (turn % 3 == 0) {
            ClientToolCallItem call = at("tc_" + n, ClientToolCallItem{});
            call.status = ToolCallStatus::completed;
            call.call_id = "call_" + n;
            call.name = "lookup";
            call.arguments = json::object{{"q", turn}};
            call.output = json::object{{"rows", std::string(static_cast<std::size_t>(turn * 11 % 300), 'r')}};
            add(call);
        }
        AssistantMessageItem reply = at("msg_a" + n, AssistantMessageItem{});
        reply.content.push_back({{}, "answer " + n + " " + std::string(static_cast<std::size_t>(turn * 53 % 900), 'a')});
        add(reply);
        if (turn % 4 == 0) add(at("eot_" + n, EndOfTurnItem{}));
    }
    return items;
}

bool is_question(json::value const& item) {
    return item.at("type") == "message" && item.at("role") == "user" && text_of(item).starts_with("question ");
}

std::size_t tokens_of(std::vector<agents::Item> const& items, std::size_t from = 0, std::size_t to = SIZE_MAX) {
    std::size_t total = 0;
    for (std::size_t i = from; i < std::min(to, items.size()); ++i) total += agents::estimate_tokens(items[i]);
    return total;
}

}  // namespace

TEST_CASE("converter: a history budget windows a 10,000-item thread by whole turns, newest first",
          "[agents][converter]") {
    InMemoryStore<Ctx> store;
    Ctx ctx;
    ThreadMetadata thread;
    thread.id = "thr_1";
    thread.created_at = chatkit::now();
    auto const written = long_thread(10000);
    test::run([&]() -> asio::awaitable<void> {
        co_await store.save_thread(thread, ctx);
        for (auto const& item : written) co_await store.add_thread_item(thread.id, item, ctx);
    }());
    auto const items = test::run(agents::load_recent_items(store, thread.id, 10000, ctx));
    REQUIRE(items.size() == 10000);

    agents::ThreadItemConverter<Ctx> unbounded;
    auto const everything = test::run(unbounded.to_agent_input(items, ctx));
    json::array const all = to_wire(everything);

    agents::ThreadItemConverter<Ctx> converter;
    agents::HistoryBudget budget;
    budget.context_tokens = 8000;
    budget.reply_tokens = 1000;
    budget.reserved_tokens = 500;
    converter.set_history_budget(budget);
    CHECK(converter.history_budget().history_tokens() == 6500);
    auto const window = test::run(converter.to_agent_input(items, ctx));
    json::array const kept = to_wire(window);

    // Within the budget, and not trivially: a good part of it is used.
    CHECK(tokens_of(window) <= 6500);
    CHECK(tokens_of(window) > 6500 / 2);
    // The newest items of the whole conversion, unchanged, starting at a turn.
    REQUIRE(!kept.empty());
    REQUIRE(kept.size() < all.size());
    std::size_t const start = all.size() - kept.size();
    for (std::size_t i = 0; i < kept.size(); ++i) REQUIRE(kept[i] == all[start + i]);
    CHECK(is_question(kept[0]));
    // The turn just before the window did not fit.
    std::size_t previous = start;
    while (previous > 0 && !is_question(all[--previous])) {}
    REQUIRE(is_question(all[previous]));
    CHECK(tokens_of(everything, previous, start) + tokens_of(window) > 6500);
    // Every tool call has its output and every output its call.
    std::set<std::string> calls, outputs;
    for (auto const& item : kept) {
        if (item.at("type") == "function_call") calls.insert(std::string(item.at("call_id").as_string()));
        if (item.at("type") == "function_call_output") outputs.insert(std::string(item.at("call_id").as_string()));
    }
    CHECK(!calls.empty());
    CHECK(calls == outputs);
}

TEST_CASE("converter: the newest turn is kept whole even over the budget; no budget keeps everything",
          "[agents][converter]") {
    auto const items = long_thread(35);  // its newest turn: a question, a client tool call, the reply, end of turn
    Ctx ctx;
    agents::ThreadItemConverter<Ctx> unbounded;
    json::array const all = to_wire(test::run(unbounded.to_agent_input(items, ctx)));

    agents::ThreadItemConverter<Ctx> tiny;
    agents::HistoryBudget budget;
    budget.context_tokens = 100;
    budget.reply_tokens = 4096;  // more than the window: only the newest turn is left
    tiny.set_history_budget(budget);
    CHECK(tiny.history_budget().history_tokens() == 0);
    json::array const newest = to_wire(test::run(tiny.to_agent_input(items, ctx)));
    std::size_t last_question = all.size();
    while (!is_question(all[--last_question])) {}
    REQUIRE(newest.size() == all.size() - last_question);
    for (std::size_t i = 0; i < newest.size(); ++i) CHECK(newest[i] == all[last_question + i]);
    REQUIRE(newest.size() == 4);  // the question, the call, its output, the reply
    CHECK(newest[1].at("type") == "function_call");
    CHECK(newest[2].at("type") == "function_call_output");
    CHECK(newest[3].at("role") == "assistant");

    agents::ThreadItemConverter<Ctx> roomy;
    budget.context_tokens = 10'000'000;
    budget.reply_tokens = 0;
    roomy.set_history_budget(budget);
    CHECK(to_wire(test::run(roomy.to_agent_input(items, ctx))) == all);
}

TEST_CASE("converter: token estimates count text by bytes, images and files by their kind", "[agents][converter]") {
    CHECK(agents::estimate_tokens(agents::user_message("")) == 8);                // item + part framing
    CHECK(agents::estimate_tokens(agents::user_message(std::string(400, 'x'))) == 108);
    agents::MessageItem picture;
    picture.role = "user";
    agents::InputImage image{std::string("data:image/png;base64,") + std::string(40000, 'A'), {}, "low"};
    picture.content.emplace_back(std::move(image));
    CHECK(agents::estimate_tokens(picture) == 8 + 85);
    std::get<agents::InputImage>(picture.content[0]).detail = "auto";
    CHECK(agents::estimate_tokens(picture) == 8 + 1105);
    agents::MessageItem file;
    file.role = "user";
    agents::InputFile pdf{{}, std::string("data:application/pdf;base64,") + std::string(4000, 'A'), {}, "a.pdf"};
    file.content.emplace_back(std::move(pdf));
    CHECK(agents::estimate_tokens(file) == 8 + 750);  // 3,000 decoded bytes
    agents::FunctionCallOutput output;
    output.call_id = "call_1";
    output.output = std::string(94, 'o');
    CHECK(agents::estimate_tokens(output) == 4 + 25);
}
