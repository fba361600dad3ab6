// stream_agent_response: how model stream events become ChatKit thread events (AGENTS.md §2.2,
// edge cases 13-23 of §2.4), observed on the wire of a real ChatKitServer and in its store.
#include "bridge_support.hpp"

#include <catch2/catch.hpp>

using namespace bridge_test;
using namespace chatkit;

TEST_CASE_METHOD(Fixture, "bridge: a text answer streams as one assistant message and is stored", "[agents][bridge]") {
    model->then_text("Hello there, world");
    auto r = test::call(server, test::create_request("hi"));
    REQUIRE(r.status == 200);
    auto types = agent_types(r);
    REQUIRE(types.size() >= 5);
    CHECK(types.front() == "thread.item.added/assistant_message");
    CHECK(types[1] == "thread.item.updated/assistant_message.content_part.added");
    CHECK(std::count(types.begin(), types.end(), "thread.item.updated/assistant_message.content_part.text_delta") == 3);
    CHECK(types[types.size() - 2] == "thread.item.updated/assistant_message.content_part.done");
    CHECK(types.back() == "thread.item.done/assistant_message");

    // Deltas concatenate to the final text, and the same id runs through added, updates and done.
    std::string streamed;
    for (auto const& e : of_type(r, "thread.item.updated/assistant_message.content_part.text_delta"))
        streamed += std::string(e.at("update").at("delta").as_string());
    CHECK(streamed == "Hello there, world");
    auto const id = of_type(r, "thread.item.added/assistant_message").at(0).at("item").at("id");
    CHECK(of_type(r, "thread.item.done/assistant_message").at(0).at("item").at("id") == id);

    auto stored = items(Fixture::thread_of(r));
    REQUIRE(stored.size() == 2);
    auto const& answer = std::get<AssistantMessageItem>(stored[1]);
    CHECK(answer.id == std::string(id.as_string()));
    CHECK(answer.content.at(0).text == "Hello there, world");
    // The model received the user message converted from the thread.
    REQUIRE(model->requests.size() == 1);
    CHECK(agents::to_json(model->requests[0].input) ==
          json::array{json::object{{"type", "message"}, {"role", "user"},
                                   {"content", json::array{json::object{{"type", "input_text"}, {"text", "hi"}}}}}});
}

TEST_CASE_METHOD(Fixture, "bridge: reasoning becomes a workflow whose first thought streams, closed by the message",
                 "[agents][bridge][reasoning]") {
    std::vector<agents::ModelStreamEvent> events;
    events.push_back(item_added(reasoning_item("rs_1")));
    events.push_back(summary_delta("rs_1", 0, "Think"));
    events.push_back(summary_delta("rs_1", 0, "ing 1"));
    events.push_back(summary_done("rs_1", 0, "Thinking 1"));
    events.push_back(summary_delta("rs_1", 1, "Thinking 2"));  // second thought: not streamed
    events.push_back(summary_done("rs_1", 1, "Thinking 2"));
    auto done_reasoning = reasoning_item("rs_1");
    done_reasoning.summary = {"Thinking 1", "Thinking 2"};
    events.push_back(item_done(done_reasoning));
    append(events, message_events("msg_a", {"The ", "answer"}, 1));
    events.push_back(completed({done_reasoning, message("msg_a", {out_text("The answer")})}));
    model->push(agents::ScriptedTurn::raw(events));

    auto r = test::call(server, test::create_request("think"));
    auto types = agent_types(r);
    std::vector<std::string> const expected_start{
        "thread.item.added/workflow",
        "thread.item.updated/workflow.task.added",
        "thread.item.updated/workflow.task.updated",
        "thread.item.updated/workflow.task.updated",
        "thread.item.updated/workflow.task.added",
        "thread.item.done/workflow",
        "thread.item.added/assistant_message",
    };
    REQUIRE(types.size() > expected_start.size());
    CHECK(std::vector<std::string>(types.begin(), types.begin() + 7) == expected_start);

    auto added = of_type(r, "thread.item.added/workflow").at(0).at("item");
    CHECK(added.at("workflow").at("type") == "reasoning");
    CHECK(added.at("workflow").at("tasks").as_array().empty());
    auto task_added = of_type(r, "thread.item.updated/workflow.task.added");
    CHECK(task_added.at(0).at("update").at("task_index") == 0);
    CHECK(task_added.at(0).at("update").at("task").at("content") == "Think");
    CHECK(task_added.at(0).at("update").at("task").at("type") == "thought");
    auto task_updated = of_type(r, "thread.item.updated/workflow.task.updated");
    CHECK(task_updated.at(0).at("update").at("task").at("content") == "Thinking 1");  // the whole task, not a delta
    CHECK(task_updated.at(1).at("update").at("task").at("content") == "Thinking 1");
    CHECK(task_added.at(1).at("update").at("task_index") == 1);
    CHECK(task_added.at(1).at("update").at("task").at("content") == "Thinking 2");

    auto done = of_type(r, "thread.item.done/workflow").at(0).at("item");
    CHECK(done.at("id") == added.at("id"));
    CHECK(done.at("workflow").at("expanded") == false);
    CHECK(done.at("workflow").at("summary").as_object().contains("duration"));  // "Thought for N seconds"
    CHECK(done.at("workflow").at("summary").at("duration").as_int64() >= 0);

    auto stored = items(Fixture::thread_of(r));
    REQUIRE(stored.size() == 3);
    auto const& wf = std::get<WorkflowItem>(stored[1]);
    CHECK(wf.workflow.tasks.size() == 2);
    CHECK(std::holds_alternative<DurationSummary>(*wf.workflow.summary));
    CHECK(std::get<AssistantMessageItem>(stored[2]).content.at(0).text == "The answer");
}

TEST_CASE_METHOD(Fixture, "bridge: raw reasoning text of local models is shown as a thought", "[agents][bridge][reasoning]") {
    std::vector<agents::ModelStreamEvent> events;
    events.push_back(item_added(reasoning_item("rs_local")));
    auto delta = event("response.reasoning_text.delta");
    delta.item_id = "rs_local";
    delta.content_index = 0;
    delta.delta = "Let me think";
    events.push_back(delta);
    auto text_done_ev = event("response.reasoning_text.done");
    text_done_ev.item_id = "rs_local";
    text_done_ev.content_index = 0;
    text_done_ev.text = "Let me think.";
    events.push_back(text_done_ev);
    append(events, message_events("msg_b", {"Done"}, 1));
    events.push_back(completed({reasoning_item("rs_local"), message("msg_b", {out_text("Done")})}));
    model->push(agents::ScriptedTurn::raw(events));

    auto r = test::call(server, test::create_request("think locally"));
    auto stored = items(Fixture::thread_of(r));
    REQUIRE(stored.size() == 3);
    auto const& wf = std::get<WorkflowItem>(stored[1]);
    REQUIRE(wf.workflow.tasks.size() == 1);
    CHECK(std::get<ThoughtTask>(wf.workflow.tasks[0]).content == "Let me think.");
}

TEST_CASE_METHOD(Fixture, "bridge: a custom workflow closed by the message keeps its own summary", "[agents][bridge]") {
    before_run = [](AgentCtx& ctx) -> asio::awaitable<void> {
        Workflow workflow;
        workflow.type = WorkflowType::custom;
        CustomTask task;
        task.title = "Prepared";
        workflow.tasks.push_back(task);
        workflow.summary = CustomSummary{"Test", std::nullopt};
        co_await ctx.start_workflow(workflow);
    };
    model->then_text("Answer");
    auto r = test::call(server, test::create_request("go"));
    auto types = agent_types(r);
    REQUIRE(types.size() >= 3);
    CHECK(types[0] == "thread.item.added/workflow");
    CHECK(types[1] == "thread.item.done/workflow");
    CHECK(types[2] == "thread.item.added/assistant_message");
    auto done = of_type(r, "thread.item.done/workflow").at(0).at("item");
    CHECK(done.at("workflow").at("summary").at("title") == "Test");
    CHECK(done.at("workflow").at("expanded") == false);
}

TEST_CASE_METHOD(Fixture, "bridge: context events come before any model event; the stream ends with the run",
                 "[agents][bridge]") {
    before_run = [](AgentCtx& ctx) -> asio::awaitable<void> {
        ThreadStreamEvent progress = ProgressUpdateEvent{std::nullopt, "Loading your data"};
        co_await ctx.stream(std::move(progress));
    };
    model->then_text("Ready");
    auto r = test::call(server, test::create_request("hi"));
    auto types = agent_types(r);
    REQUIRE(types.size() >= 2);
    CHECK(types.front() == "progress_update");
    CHECK(types.back() == "thread.item.done/assistant_message");
    CHECK(of_type(r, "progress_update").at(0).at("text") == "Loading your data");
}

TEST_CASE_METHOD(Fixture, "bridge: content parts, deltas, done texts and file citations map to ChatKit updates",
                 "[agents][bridge][annotations]") {
    std::vector<agents::ModelStreamEvent> events;
    events.push_back(item_added(message("msg_1")));
    events.push_back(part_added("msg_1", 1, output_text_part("New content")));
    events.push_back(text_delta("msg_1", "more", 1));
    events.push_back(annotation_added(
        "msg_1", json::object{{"type", "file_citation"}, {"file_id", "file_1"}, {"filename", "test.txt"}, {"index", 5}}, 1));
    events.push_back(text_done("msg_1", "New contentmore", 1));
    events.push_back(item_done(message("msg_1", {out_text(""), out_text("New contentmore")})));
    events.push_back(completed({message("msg_1", {out_text(""), out_text("New contentmore")})}));
    model->push(agents::ScriptedTurn::raw(events));

    auto r = test::call(server, test::create_request("cite"));
    auto part = of_type(r, "thread.item.updated/assistant_message.content_part.added").at(0).at("update");
    CHECK(part.at("content_index") == 1);
    CHECK(part.at("content").at("text") == "New content");
    CHECK(part.at("content").at("annotations").as_array().empty());
    auto delta = of_type(r, "thread.item.updated/assistant_message.content_part.text_delta").at(0).at("update");
    CHECK(delta.at("content_index") == 1);
    CHECK(delta.at("delta") == "more");
    auto ann = of_type(r, "thread.item.updated/assistant_message.content_part.annotation_added").at(0).at("update");
    CHECK(ann.at("annotation_index") == 0);
    CHECK(ann.at("annotation").at("index") == 5);
    CHECK(ann.at("annotation").at("source") ==
          json::parse(R"({"title":"test.txt","type":"file","filename":"test.txt"})"));
    auto part_done = of_type(r, "thread.item.updated/assistant_message.content_part.done").at(0).at("update");
    CHECK(part_done.at("content").at("text") == "New contentmore");
    // Unlike the reference, the streamed annotation is kept on the finished part.
    CHECK(part_done.at("content").at("annotations").as_array().size() == 1);
}

TEST_CASE_METHOD(Fixture, "bridge: annotation indices count converted annotations only (typed or plain JSON)",
                 "[agents][bridge][annotations]") {
    std::vector<agents::ModelStreamEvent> events;
    events.push_back(item_added(message("msg_1")));
    events.push_back(part_added("msg_1", 0, output_text_part("")));
    events.push_back(annotation_added("msg_1", json::object{{"type", "file_citation"}, {"file_id", "f"}, {"filename", ""}, {"index", 1}}));
    events.push_back(annotation_added("msg_1", json::object{{"type", "container_file_citation"}, {"container_id", "c"},
                                                             {"file_id", "f2"}, {"filename", "data.csv"},
                                                             {"start_index", 0}, {"end_index", 3}}));
    events.push_back(annotation_added("msg_1", json::object{{"type", "url_citation"}, {"url", "https://example.com"},
                                                             {"title", "Example"}, {"start_index", 0}, {"end_index", 5}}));
    events.push_back(text_done("msg_1", "Hello"));
    events.push_back(item_done(message("msg_1", {out_text("Hello")})));
    events.push_back(completed({message("msg_1", {out_text("Hello")})}));
    model->push(agents::ScriptedTurn::raw(events));

    auto r = test::call(server, test::create_request("cite"));
    auto anns = of_type(r, "thread.item.updated/assistant_message.content_part.annotation_added");
    REQUIRE(anns.size() == 2);  // the empty-filename citation is dropped
    CHECK(anns[0].at("update").at("annotation_index") == 0);
    CHECK(anns[0].at("update").at("annotation").at("index") == 3);
    CHECK(anns[0].at("update").at("annotation").at("source").at("filename") == "data.csv");
    CHECK(anns[1].at("update").at("annotation_index") == 1);
    CHECK(anns[1].at("update").at("annotation").at("index") == 5);
    CHECK(anns[1].at("update").at("annotation").at("source") ==
          json::parse(R"({"title":"Example","type":"url","url":"https://example.com"})"));
}

namespace {
struct RecordingConverter : agents::ResponseStreamConverter {
    using agents::ResponseStreamConverter::ResponseStreamConverter;
    mutable std::vector<std::string> calls;
    asio::awaitable<std::optional<Annotation>> file_citation_to_annotation(json::object const& c) const override {
        calls.push_back("file_citation");
        FileSource source;
        source.filename = std::string(c.at("filename").as_string());
        source.title = "Custom " + source.filename;
        co_return Annotation{source, 0};
    }
    asio::awaitable<std::optional<Annotation>> url_citation_to_annotation(json::object const& c) const override {
        calls.push_back("url_citation");
        URLSource source;
        source.url = std::string(c.at("url").as_string());
        source.title = "Custom URL";
        co_return Annotation{source, 1};
    }
    asio::awaitable<std::string> base64_image_to_url(std::string const& image_id, std::string const& b64,
                                                     std::optional<std::int64_t> index) const override {
        calls.push_back("image:" + image_id + ":" + b64 + ":" + (index ? std::to_string(*index) : "none"));
        co_return "https://cdn.example.com/" + image_id + ".png";
    }
};
}  // namespace

TEST_CASE_METHOD(Fixture, "bridge: custom converter hooks shape streamed and final annotations", "[agents][bridge][annotations]") {
    auto recording = std::make_shared<RecordingConverter>();
    converter = recording;
    json::array anns{json::object{{"type", "file_citation"}, {"file_id", "f"}, {"filename", "a.txt"}, {"index", 2}},
                     json::object{{"type", "url_citation"}, {"url", "https://x.test"}, {"title", "X"},
                                  {"start_index", 0}, {"end_index", 4}},
                     json::object{{"type", "file_path"}, {"file_id", "f3"}, {"index", 1}}};
    auto final_message = message("msg_1", {out_text("Hello", anns), out_text("Second part")});
    std::vector<agents::ModelStreamEvent> events;
    events.push_back(item_added(message("msg_1")));
    events.push_back(annotation_added("msg_1", anns[0]));
    events.push_back(annotation_added("msg_1", anns[1]));
    events.push_back(item_done(final_message));
    auto search = agents::OpaqueItem{json::object{{"type", "file_search_call"}, {"id", "fs_1"}, {"status", "completed"}}};
    events.push_back(item_done(search, 1));  // ignored
    events.push_back(completed({final_message}));
    model->push(agents::ScriptedTurn::raw(events));

    auto r = test::call(server, test::create_request("cite"));
    CHECK(recording->calls == std::vector<std::string>{"file_citation", "url_citation", "file_citation", "url_citation"});
    auto streamed = of_type(r, "thread.item.updated/assistant_message.content_part.annotation_added");
    REQUIRE(streamed.size() == 2);
    CHECK(streamed[0].at("update").at("annotation").at("source").at("title") == "Custom a.txt");
    CHECK(streamed[1].at("update").at("annotation").at("source").at("title") == "Custom URL");

    auto stored = items(Fixture::thread_of(r));
    REQUIRE(stored.size() == 2);
    auto const& answer = std::get<AssistantMessageItem>(stored[1]);
    CHECK(answer.id == "msg_1");
    REQUIRE(answer.content.size() == 2);
    REQUIRE(answer.content[0].annotations.size() == 2);  // file_path dropped
    CHECK(std::get<FileSource>(answer.content[0].annotations[0].source).title == "Custom a.txt");
    CHECK(std::get<URLSource>(answer.content[0].annotations[1].source).url == "https://x.test");
    CHECK(answer.content[1].text == "Second part");
    CHECK(answer.content[1].annotations.empty());
}

TEST_CASE_METHOD(Fixture, "bridge: final message content keeps file, container and URL citations", "[agents][bridge][annotations]") {
    json::array anns{json::object{{"type", "file_citation"}, {"file_id", "f"}, {"filename", "a.txt"}, {"index", 2}},
                     json::object{{"type", "container_file_citation"}, {"container_id", "c"}, {"file_id", "f2"},
                                  {"filename", "b.csv"}, {"start_index", 0}, {"end_index", 3}},
                     json::object{{"type", "url_citation"}, {"url", "https://x.test"}, {"title", "X"},
                                  {"start_index", 0}, {"end_index", 4}},
                     json::object{{"type", "file_path"}, {"file_id", "f3"}, {"index", 1}}};
    model->then_items({message("msg_9", {out_text("Cited", anns)})});
    auto r = test::call(server, test::create_request("cite"));
    auto done = of_type(r, "thread.item.done/assistant_message").at(0).at("item");
    auto const& a = done.at("content").at(0).at("annotations").as_array();
    REQUIRE(a.size() == 3);
    CHECK(a[0].at("index") == 2);
    CHECK(a[1].at("index") == 3);
    CHECK(a[1].at("source").at("filename") == "b.csv");
    CHECK(a[2].at("index") == 4);
    CHECK(a[2].at("source").at("type") == "url");
}

TEST_CASE_METHOD(Fixture, "bridge: image generation streams partial images with progress, then the final image",
                 "[agents][bridge][image]") {
    auto recording = std::make_shared<RecordingConverter>(3);
    converter = recording;
    agents::OpaqueItem call{json::object{{"type", "image_generation_call"}, {"id", "img_call_1"}, {"status", "in_progress"}}};
    agents::OpaqueItem result{json::object{{"type", "image_generation_call"}, {"id", "img_call_1"},
                                           {"status", "completed"}, {"result", "QUJD"}}};
    std::vector<agents::ModelStreamEvent> events;
    events.push_back(item_added(call));
    events.push_back(partial_image("img_call_1", 1, "UEFS"));
    events.push_back(item_done(result));
    append(events, message_events("msg_i", {"Here it is"}, 1));
    events.push_back(completed({result, message("msg_i", {out_text("Here it is")})}));
    model->push(agents::ScriptedTurn::raw(events));

    auto r = test::call(server, test::create_request("draw"));
    auto added = of_type(r, "thread.item.added/generated_image").at(0).at("item");
    CHECK(std::string(added.at("id").as_string()).starts_with("msg_"));
    auto const* image = added.as_object().if_contains("image");
    CHECK((image == nullptr || image->is_null()));
    auto updated = of_type(r, "thread.item.updated/generated_image.updated").at(0).at("update");
    CHECK(updated.at("progress").as_double() == Approx(1.0 / 3.0));
    CHECK(updated.at("image").at("id") == "img_call_1");
    auto done = of_type(r, "thread.item.done/generated_image").at(0).at("item");
    CHECK(done.at("id") == added.at("id"));
    CHECK(done.at("image").at("url") == "https://cdn.example.com/img_call_1.png");
    CHECK(recording->calls == std::vector<std::string>{"image:img_call_1:UEFS:1", "image:img_call_1:QUJD:none"});
}

TEST_CASE("bridge: the default converter inlines images as PNG data URLs and reports no progress", "[agents][bridge][image]") {
    agents::ResponseStreamConverter plain;
    CHECK(test::run(plain.base64_image_to_url("img", "QUJD", std::nullopt)) == "data:image/png;base64,QUJD");
    CHECK(plain.partial_image_index_to_progress(2) == 0.0);
    agents::ResponseStreamConverter three(3);
    CHECK(three.partial_image_index_to_progress(6) == 1.0);
}
