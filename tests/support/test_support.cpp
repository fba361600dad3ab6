#include "support/test_support.hpp"

namespace test {

std::vector<std::string> Result::types() const {
    std::vector<std::string> out;
    for (auto const& e : events) out.emplace_back(e.at("type").as_string());
    return out;
}

std::vector<std::string> Result::detailed_types() const {
    std::vector<std::string> out;
    for (auto const& e : events) {
        std::string t(e.at("type").as_string());
        auto const& o = e.as_object();
        if (auto const* item = o.if_contains("item")) t += "/" + std::string(item->at("type").as_string());
        if (auto const* update = o.if_contains("update")) t += "/" + std::string(update->at("type").as_string());
        out.push_back(std::move(t));
    }
    return out;
}

void split_sse_frames(Result& result) {
    std::string_view rest = result.body;
    while (!rest.empty()) {
        auto const end = rest.find("\n\n");
        if (end == std::string_view::npos || !rest.starts_with("data: ")) throw std::runtime_error("bad SSE framing");
        std::string frame(rest.substr(6, end - 6));
        result.events.push_back(json::parse(frame));
        result.frames.push_back(std::move(frame));
        rest.remove_prefix(end + 2);
    }
}

Result call(TestServer& server, std::string const& body, Ctx ctx) {
    auto response = run(server.process(body, std::move(ctx)));
    Result result;
    result.status = response.status();
    result.streaming = response.is_streaming();
    if (!response.is_streaming()) {
        result.body = response.body();
        result.json = json::parse(result.body);
        return result;
    }
    result.body = run(response.collect());
    split_sse_frames(result);
    return result;
}

Result call(TestServer& server, json::value const& body, Ctx ctx) {
    return call(server, json::serialize(body), std::move(ctx));
}

json::value user_input(std::string const& text) {
    return json::object{{"content", json::array{json::object{{"type", "input_text"}, {"text", text}}}},
                        {"attachments", json::array{}},
                        {"inference_options", json::object{}}};
}

json::value create_request(std::string const& text) {
    return json::object{{"type", "threads.create"}, {"params", json::object{{"input", user_input(text)}}}};
}

json::value add_message_request(std::string const& thread_id, std::string const& text) {
    return json::object{{"type", "threads.add_user_message"},
                        {"params", json::object{{"thread_id", thread_id}, {"input", user_input(text)}}}};
}

chatkit::AssistantMessageItem assistant(chatkit::EventSink& events, std::string text) {
    chatkit::AssistantMessageItem item;
    item.id = events.generate_item_id(chatkit::StoreItemType::message);
    item.thread_id = events.thread_id();
    item.created_at = chatkit::now();
    item.content.push_back(chatkit::AssistantMessageContent{{}, std::move(text)});
    return item;
}

asio::awaitable<void> reply(chatkit::EventSink& events, std::string text) {
    chatkit::ThreadStreamEvent event = chatkit::ThreadItemDoneEvent{assistant(events, std::move(text))};
    co_await events.emit(std::move(event));
}

}  // namespace test
