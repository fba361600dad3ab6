// The ChatKit endpoint over real loopback HTTP: every request type, SSE framing, keep-alive,
// pipelining, disconnects and cancellation, heartbeats, the context factory.
#include "http_support.hpp"
#include "support/error_table.hpp"

#include <catch2/catch.hpp>

using namespace test;

namespace {

std::string thread_id_of(std::vector<json::value> const& events) {
    for (auto const& e : events)
        if (e.at("type") == "thread.created") return std::string(e.at("thread").at("id").as_string());
    throw std::runtime_error("no thread.created event");
}

// The last assistant message text of a stream.
std::string reply_text(std::vector<json::value> const& events) {
    std::string text;
    for (auto const& e : events) {
        if (e.at("type") != "thread.item.done") continue;
        auto const& item = e.at("item");
        if (item.at("type") == "assistant_message")
            text = std::string(item.at("content").at(0).at("text").as_string());
    }
    return text;
}

std::string id_of_item(std::vector<json::value> const& events, std::string_view type) {
    for (auto const& e : events)
        if (e.at("type") == "thread.item.done" && e.at("item").at("type").as_string() == type)
            return std::string(e.at("item").at("id").as_string());
    throw std::runtime_error("no item of type " + std::string(type));
}

// The thread id in raw (chunked) response bytes.
std::string thread_id_in(std::string const& raw) {
    auto const at = raw.find("\"thread.created\",\"thread\":{\"id\":\"");
    if (at == std::string::npos) return {};
    auto const start = at + std::string_view("\"thread.created\",\"thread\":{\"id\":\"").size();
    return raw.substr(start, raw.find('"', start) - start);
}

}  // namespace

TEST_CASE("threads.create streams SSE: headers, whole frames per chunk, byte-exact frames",
          "[integration][http]") {
    Fixture f;
    auto const r = post(f.port(), create_body("hello"));
    REQUIRE(r.status == 200);
    CHECK(r.header("Content-Type") == "text/event-stream; charset=utf-8");
    CHECK(r.header("Cache-Control") == "no-cache");
    CHECK(r.header("X-Accel-Buffering") == "no");
    CHECK(r.chunked);
    CHECK_FALSE(r.has_header("Content-Length"));
    CHECK_FALSE(r.has_header("Content-Encoding"));

    auto const events = events_of(r);
    CHECK(event_types(events) == std::vector<std::string>{"thread.created", "thread.item.done",
                                                          "stream_options", "thread.item.done"});
    CHECK(reply_text(events) == "echo: hello");
    // Exactly `data: ` + the compact JSON the SDK writes + two line feeds per event.
    auto const frames = frames_of(r.body);
    REQUIRE(frames.size() == events.size());
    for (std::size_t i = 0; i < frames.size(); ++i)
        CHECK(frames[i] == "data: " + chatkit::serialize(events[i]) + "\n\n");
    // Each chunk holds whole frames; events emitted in one burst share a chunk (one write).
    std::string joined;
    for (auto const& chunk : r.chunks) {
        CHECK(chunk.ends_with("\n\n"));
        joined += chunk;
    }
    CHECK(r.chunks.size() < events.size());
    CHECK(r.chunks.size() == 1);
    CHECK(joined == r.body);
    CHECK(f.error_log().empty());
}

TEST_CASE("every request type works over HTTP", "[integration][http]") {
    Fixture f;
    auto const port = f.port();

    // threads.create (stream)
    auto created = events_of(post(port, create_body("hello")));
    std::string const thread_id = thread_id_of(created);
    std::string const first_user = id_of_item(created, "user_message");
    CHECK(reply_text(created) == "echo: hello");

    // threads.add_user_message (stream): respond() leaves a pending client tool call
    json::object add;
    add["thread_id"] = thread_id;
    add["input"] = user_input("tool");
    auto tool = events_of(post(port, request_body("threads.add_user_message", add)));
    CHECK(id_of_item(tool, "client_tool_call").rfind("tc_", 0) == 0);

    // threads.add_client_tool_output (stream)
    json::object output;
    output["thread_id"] = thread_id;
    output["result"] = json::object{{"ok", true}};
    auto continued = events_of(post(port, request_body("threads.add_client_tool_output", output)));
    CHECK(reply_text(continued) == "continued");

    // threads.add_structured_input (stream)
    add["input"] = user_input("ask");
    auto asked = events_of(post(port, request_body("threads.add_user_message", add)));
    std::string const question = id_of_item(asked, "structured_input");
    json::object answer;
    answer["thread_id"] = thread_id;
    answer["item_id"] = question;
    answer["input"] = json::parse(R"({"status":"answered","answers":{"q1":{"values":["Zoe"]}}})").as_object();
    auto answered = events_of(post(port, request_body("threads.add_structured_input", answer)));
    CHECK(event_types(answered) ==
          std::vector<std::string>{"stream_options", "thread.item.replaced", "thread.item.done"});
    CHECK(reply_text(answered) == "continued");

    // threads.retry_after_item (stream)
    json::object retry;
    retry["thread_id"] = thread_id;
    retry["item_id"] = first_user;
    auto retried = events_of(post(port, request_body("threads.retry_after_item", retry)));
    CHECK(reply_text(retried) == "echo: hello");

    // threads.custom_action (stream)
    json::object action;
    action["thread_id"] = thread_id;
    action["action"] = json::object{{"type", "ping"}};
    auto acted = events_of(post(port, request_body("threads.custom_action", action)));
    CHECK(reply_text(acted) == "action: ping");

    // threads.sync_custom_action
    auto synced = post(port, request_body("threads.sync_custom_action", action));
    CHECK(synced.status == 200);
    CHECK(synced.header("Content-Type") == "application/json");
    CHECK(synced.body == "{}");

    // threads.get_by_id
    json::object by_id;
    by_id["thread_id"] = thread_id;
    auto thread = post(port, request_body("threads.get_by_id", by_id));
    REQUIRE(thread.status == 200);
    CHECK(thread.json().at("id") == thread_id.c_str());
    CHECK(thread.header("Content-Length") == std::to_string(thread.body.size()));

    // threads.list
    auto list = post(port, request_body("threads.list", {}));
    REQUIRE(list.status == 200);
    CHECK(list.json().at("data").as_array().size() == 1);

    // items.list
    auto items = post(port, request_body("items.list", by_id));
    REQUIRE(items.status == 200);
    CHECK(items.json().at("data").as_array().size() >= 2);

    // items.feedback
    json::object feedback;
    feedback["thread_id"] = thread_id;
    feedback["item_ids"] = json::array{first_user.c_str()};
    feedback["kind"] = "positive";
    CHECK(post(port, request_body("items.feedback", feedback)).body == "{}");

    // attachments.create, attachments.delete
    json::object attachment;
    attachment["name"] = "notes.txt";
    attachment["size"] = 12;
    attachment["mime_type"] = "text/plain";
    auto created_attachment = post(port, request_body("attachments.create", attachment));
    REQUIRE(created_attachment.status == 200);
    auto const attachment_json = created_attachment.json();
    CHECK(attachment_json.at("name") == "notes.txt");
    json::object remove;
    remove["attachment_id"] = attachment_json.at("id");
    CHECK(post(port, request_body("attachments.delete", remove)).body == "{}");

    // threads.update
    json::object update;
    update["thread_id"] = thread_id;
    update["title"] = "Renamed";
    auto updated = post(port, request_body("threads.update", update));
    REQUIRE(updated.status == 200);
    CHECK(updated.json().at("title") == "Renamed");

    // input.transcribe
    json::object audio;
    audio["audio_base64"] = "aGVsbG8=";
    audio["mime_type"] = "audio/webm;codecs=opus";
    auto transcribed = post(port, request_body("input.transcribe", audio));
    REQUIRE(transcribed.status == 200);
    CHECK(transcribed.body == R"({"text":"heard hello as audio/webm"})");

    // threads.delete, then the thread is gone (404 with the JSON error body)
    CHECK(post(port, request_body("threads.delete", by_id)).body == "{}");
    auto gone = post(port, request_body("threads.get_by_id", by_id));
    CHECK(gone.status == 404);
    CHECK(gone.json().at("error").at("code") == "not_found");
    CHECK(f.error_log().empty());
}

TEST_CASE("invalid bodies answer 400 invalid_request, other methods 405", "[integration][http]") {
    Fixture f;
    auto const bad = post(f.port(), "{not json");
    CHECK(bad.status == 400);
    CHECK(bad.header("Content-Type") == "application/json");
    CHECK(bad.json().at("error").at("code") == "invalid_request");

    auto const unknown = post(f.port(), R"({"type":"threads.nope","params":{}})");
    CHECK(unknown.status == 400);

    auto const get = exchange(f.port(), get_request("/chatkit"));
    CHECK(get.status == 405);
    CHECK(get.header("Allow") == "POST");
    CHECK(get.json().at("error").at("code") == "method_not_allowed");
}

TEST_CASE("several requests share one keep-alive connection, streams included", "[integration][http]") {
    Fixture f;
    Conn conn(f.port());
    for (int i = 0; i < 3; ++i) {
        conn.send(post_request("/chatkit", request_body("threads.list", {})));
        auto const list = conn.read_response();
        CHECK(list.status == 200);
        CHECK(list.keep_alive);

        conn.send(post_request("/chatkit", create_body("again")));
        auto const stream = conn.read_response();
        CHECK(stream.status == 200);
        CHECK(stream.keep_alive);
        CHECK(reply_text(events_of(stream)) == "echo: again");

        conn.send(get_request("/healthz"));
        CHECK(conn.read_response().body == "ok");
    }
    conn.send(post_request("/chatkit", request_body("threads.list", {}), {}, true));
    auto const last = conn.read_response();
    CHECK(last.json().at("data").as_array().size() == 3);
    CHECK_FALSE(last.keep_alive);
    CHECK(conn.wait_closed());
}

TEST_CASE("a request sent while a stream runs is kept and answered after it", "[integration][http]") {
    Fixture f;
    Conn conn(f.port());
    conn.send(post_request("/chatkit", create_body("pause")));
    REQUIRE(conn.read_until("\"first\""));
    conn.send(get_request("/healthz"));  // read by the disconnect watcher while the stream runs
    auto const stream = conn.read_response();
    CHECK(reply_text(events_of(stream)) == "second");
    auto const health = conn.read_response();
    CHECK(health.status == 200);
    CHECK(health.body == "ok");
}

TEST_CASE("disconnect mid-stream runs handle_stream_cancelled, which saves the partial message",
          "[integration][http]") {
    Fixture f;
    std::string thread_id;
    {
        Conn conn(f.port());
        conn.send(post_request("/chatkit", create_body("slow")));
        REQUIRE(conn.read_until("partial answer"));
        thread_id = thread_id_in(conn.raw());
        REQUIRE(!thread_id.empty());
    }  // closed here
    REQUIRE(eventually([&] { return f.chatkit_server.cancelled.load() == 1; }));

    auto const items = f.stored_items(thread_id);
    REQUIRE(items.size() == 3);
    CHECK(std::holds_alternative<chatkit::UserMessageItem>(items[0]));
    auto const* partial = std::get_if<chatkit::AssistantMessageItem>(&items[1]);
    REQUIRE(partial);
    REQUIRE(partial->content.size() == 1);
    CHECK(partial->content[0].text == "partial answer");
    auto const* note = std::get_if<chatkit::SDKHiddenContextItem>(&items[2]);
    REQUIRE(note);
    CHECK(note->content == chatkit::detail::cancelled_stream_note);

    // items.list over HTTP shows the partial answer but never the hidden note.
    json::object params;
    params["thread_id"] = thread_id;
    params["order"] = "asc";
    auto const listed = post(f.port(), request_body("items.list", params)).json();
    auto const& data = listed.at("data").as_array();
    REQUIRE(data.size() == 2);
    CHECK(data[1].at("content").at(0).at("text") == "partial answer");
    CHECK(f.error_log().empty());
}

TEST_CASE("cancellation reaches respond() within 100 ms while it waits on a timer", "[integration][http]") {
    Fixture f;
    Conn conn(f.port());
    conn.send(post_request("/chatkit", create_body("wait")));
    REQUIRE(conn.read_until("stream_options"));
    REQUIRE(eventually([&] { return f.chatkit_server.waiting.load() == 1; }));
    auto const closed_at = now_us();
    conn.close();
    REQUIRE(eventually([&] { return f.chatkit_server.aborted_at_us.load() != 0; }, 2s));
    auto const latency_us = f.chatkit_server.aborted_at_us.load() - closed_at;
    CHECK(latency_us < 100'000);
    REQUIRE(eventually([&] { return f.chatkit_server.cancelled.load() == 1; }));
}

TEST_CASE("heartbeat comments fill silences without interleaving with events", "[integration][http]") {
    Fixture f([](chatkit::http::ServerOptions& o) { o.serve.heartbeat = 40ms; });
    auto const r = post(f.port(), create_body("pause"));
    REQUIRE(r.status == 200);
    std::size_t comments = 0;
    for (auto const& frame : frames_of(r.body))
        if (frame == ": keepalive\n\n") ++comments;
    CHECK(comments >= 2);
    // Heartbeats sit between whole events: every other frame still parses as one event.
    auto const events = events_of(r);
    CHECK(reply_text(events) == "second");
}

TEST_CASE("a stream that pauses longer than the write timeout is not cut while the client reads",
          "[integration][http]") {
    // The first events are written before respond() pauses; the write timeout of those writes
    // must not become a deadline for the read that watches for the client leaving.
    Fixture f([](chatkit::http::ServerOptions& o) { o.serve.write_timeout = 100ms; });
    for (int round = 0; round < 3; ++round) {
        auto const r = post(f.port(), create_body("pause"));
        REQUIRE(r.status == 200);
        CHECK(reply_text(events_of(r)) == "second");
        CHECK(f.chatkit_server.cancelled.load() == 0);
    }
    CHECK(f.error_log().empty());
}

TEST_CASE("a client that leaves as a stream ends gets its connection closed at once", "[integration][http]") {
    // The client's end-of-file can reach the server while the stream is still winding up (the last
    // bytes written, the stream's coroutines not yet done); the server must see it then, not wait
    // for the idle timeout (75 s) to close. Several I/O threads make that window likely.
    Fixture f([](chatkit::http::ServerOptions& o) { o.threads = 4; });
    for (int round = 0; round < 300; ++round) {
        Conn conn(f.port());
        conn.send(post_request("/chatkit", create_body("hello")));
        auto const r = conn.read_response();
        REQUIRE(reply_text(events_of(r)) == "echo: hello");
        conn.shutdown_send();
        REQUIRE(conn.wait_closed(2s));
    }
}

TEST_CASE("HTTP/1.0 streams are close-delimited", "[integration][http]") {
    Fixture f;
    auto const body = create_body("old client");
    std::string request = "POST /chatkit HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body;
    Conn conn(f.port());
    conn.send(request);
    auto const r = conn.read_response();
    CHECK(r.status == 200);
    CHECK_FALSE(r.chunked);
    CHECK_FALSE(r.has_header("Content-Length"));
    CHECK(r.body.find("data: {\"type\":\"stream_options\"") != std::string::npos);
    CHECK(r.body.find("echo: old client") != std::string::npos);
    CHECK(r.body.substr(r.body.size() - 2) == "\n\n");
}

TEST_CASE("a chatkit::Error from the context factory answers with its code's status, client code and message",
          "[integration][http][errors]") {
    Fixture f;
    auto const body = request_body("threads.list", {});
    for (auto const& row : chatkit_test::documented_errors()) {
        auto const value = std::to_string(static_cast<int>(row.code));
        INFO("code " << value << " (" << make_error_code(row.code).message() << ")");
        auto const r = post(f.port(), body, "X-Error-Code: " + value + "\r\n");
        CHECK(r.status == row.status);
        CHECK(r.header("Content-Type") == "application/json");
        auto const body_error = r.json().at("error");
        CHECK(std::string(body_error.at("code").as_string()) == row.client_code);
        CHECK(std::string(body_error.at("message").as_string()) == row.fixed_message.value_or("test: " + value));
        // A plain Error with a 401 code challenges for a bearer token; nothing else challenges.
        CHECK(r.header("WWW-Authenticate") == (row.status == 401 ? "Bearer" : ""));
        CHECK(r.has_header("Retry-After") == (row.status == 503 || row.status == 429));
    }
}

TEST_CASE("the context factory sees cookies, metadata and the peer, and it can reject with 401 or 403",
          "[integration][http]") {
    Fixture f;
    json::object params;
    params["input"] = user_input("meta");
    json::object metadata;
    metadata["page"] = "https://docs.example.com/start";
    auto const body = request_body("threads.create", params, metadata);
    auto const r = post(f.port(), body, "Cookie: theme=dark; session=\"u-42\"\r\n");
    CHECK(reply_text(events_of(r)) == "user=u-42 page=https://docs.example.com/start remote=yes");

    auto const rejected = post(f.port(), body, "X-Reject: 1\r\n");
    CHECK(rejected.status == 401);
    CHECK(rejected.header("WWW-Authenticate") == "Bearer realm=\"chatkit\"");
    CHECK(rejected.json().at("error").at("code") == "unauthorized");
    CHECK(rejected.json().at("error").at("message") == "Missing credentials");

    auto const forbidden = post(f.port(), body, "X-Forbid: 1\r\n");
    CHECK(forbidden.status == 403);
    CHECK(forbidden.json().at("error").at("code") == "forbidden");

    // Nothing ran for the rejected requests: only the first thread exists.
    CHECK(post(f.port(), request_body("threads.list", {})).json().at("data").as_array().size() == 1);
}
