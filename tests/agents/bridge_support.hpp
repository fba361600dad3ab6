// Shared helpers of the bridge tests: Responses events built in code, and a fixture that answers
// ChatKit requests with an agent through stream_agent_response on a real ChatKitServer + InMemoryStore.
#pragma once

#include <chatkit/agents/chatkit/bridge.hpp>
#include <chatkit/agents/offline.hpp>

#include "support/test_support.hpp"

#include <boost/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace bridge_test {

namespace agents = chatkit::agents;
namespace json = boost::json;
namespace asio = boost::asio;
using test::Ctx;

using AgentCtx = agents::AgentContext<Ctx>;
using TestAgent = agents::Agent<AgentCtx>;

inline agents::ModelStreamEvent event(std::string type) {
    agents::ModelStreamEvent ev;
    ev.kind = agents::model_event_kind(type);
    ev.type = std::move(type);
    return ev;
}

inline agents::ModelStreamEvent item_added(agents::Item item, std::int64_t output_index = 0) {
    auto ev = event("response.output_item.added");
    ev.output_index = output_index;
    ev.item = std::move(item);
    return ev;
}

inline agents::ModelStreamEvent item_done(agents::Item item, std::int64_t output_index = 0) {
    auto ev = event("response.output_item.done");
    ev.output_index = output_index;
    ev.item = std::move(item);
    return ev;
}

inline agents::ModelStreamEvent part_added(std::string item_id, std::int64_t index, json::value part) {
    auto ev = event("response.content_part.added");
    ev.item_id = std::move(item_id);
    ev.content_index = index;
    ev.part = std::move(part);
    return ev;
}

inline agents::ModelStreamEvent text_delta(std::string item_id, std::string delta, std::int64_t index = 0) {
    auto ev = event("response.output_text.delta");
    ev.item_id = std::move(item_id);
    ev.content_index = index;
    ev.delta = std::move(delta);
    return ev;
}

inline agents::ModelStreamEvent text_done(std::string item_id, std::string text, std::int64_t index = 0) {
    auto ev = event("response.output_text.done");
    ev.item_id = std::move(item_id);
    ev.content_index = index;
    ev.text = std::move(text);
    return ev;
}

inline agents::ModelStreamEvent annotation_added(std::string item_id, json::value annotation, std::int64_t index = 0) {
    auto ev = event("response.output_text.annotation.added");
    ev.item_id = std::move(item_id);
    ev.content_index = index;
    ev.annotation = std::move(annotation);
    return ev;
}

inline agents::ModelStreamEvent summary_delta(std::string item_id, std::int64_t summary_index, std::string delta) {
    auto ev = event("response.reasoning_summary_text.delta");
    ev.item_id = std::move(item_id);
    ev.summary_index = summary_index;
    ev.delta = std::move(delta);
    return ev;
}

inline agents::ModelStreamEvent summary_done(std::string item_id, std::int64_t summary_index, std::string text) {
    auto ev = event("response.reasoning_summary_text.done");
    ev.item_id = std::move(item_id);
    ev.summary_index = summary_index;
    ev.text = std::move(text);
    return ev;
}

inline agents::ModelStreamEvent partial_image(std::string item_id, std::int64_t index, std::string b64) {
    auto ev = event("response.image_generation_call.partial_image");
    ev.item_id = std::move(item_id);
    ev.partial_image_index = index;
    ev.partial_image_b64 = std::move(b64);
    return ev;
}

inline json::value output_text_part(std::string text, json::array annotations = {}) {
    return json::object{{"type", "output_text"}, {"text", std::move(text)}, {"annotations", std::move(annotations)}};
}

/// An assistant output message item (as output_item.added/done carry it).
inline agents::MessageItem message(std::string id, std::vector<agents::ContentPart> content = {}) {
    agents::MessageItem m;
    m.id = std::move(id);
    m.role = "assistant";
    m.content = std::move(content);
    return m;
}

inline agents::OutputText out_text(std::string text, json::array annotations = {}) {
    agents::OutputText t;
    t.text = std::move(text);
    t.annotations = std::move(annotations);
    return t;
}

inline agents::ReasoningItem reasoning_item(std::string id) {
    agents::ReasoningItem r;
    r.id = std::move(id);
    return r;
}

inline agents::FunctionCallItem call_item(std::string id, std::string call_id, std::string name,
                                              std::string arguments = "{}") {
    agents::FunctionCallItem c;
    c.id = std::move(id);
    c.call_id = std::move(call_id);
    c.name = std::move(name);
    c.arguments = std::move(arguments);
    return c;
}

/// The events a model emits for one complete text message (added, part, deltas, done).
inline std::vector<agents::ModelStreamEvent> message_events(std::string id, std::vector<std::string> deltas,
                                                            std::int64_t output_index = 0) {
    std::vector<agents::ModelStreamEvent> out;
    std::string full;
    for (auto const& d : deltas) full += d;
    out.push_back(item_added(message(id), output_index));
    out.push_back(part_added(id, 0, output_text_part("")));
    for (auto const& d : deltas) out.push_back(text_delta(id, d));
    out.push_back(text_done(id, full));
    out.push_back(item_done(message(id, {out_text(full)}), output_index));
    return out;
}

/// `response.completed` carrying `output` (ScriptedModel reads the response from it).
inline agents::ModelStreamEvent completed(std::vector<agents::Item> const& output, std::string id = "resp_raw") {
    auto ev = event("response.completed");
    ev.response = agents::make_response_object(std::move(id), "completed", "scripted", output);
    return ev;
}

/// Appends `more` to `events`.
inline void append(std::vector<agents::ModelStreamEvent>& events, std::vector<agents::ModelStreamEvent> more) {
    for (auto& e : more) events.push_back(std::move(e));
}

/// A ChatKit server whose respond() runs `agent` through stream_agent_response: history from the
/// store (last 30 items) → ThreadItemConverter → AgentContext → stream_agent_response. A guardrail
/// tripwire becomes a `custom` error event, as the reference's integration does.
struct Fixture {
    chatkit::InMemoryStore<Ctx> store;
    test::TestServer server{{.store = store}};
    std::shared_ptr<agents::ScriptedModel> model = std::make_shared<agents::ScriptedModel>();
    TestAgent agent;
    std::shared_ptr<agents::ResponseStreamConverter> converter = std::make_shared<agents::ResponseStreamConverter>();
    /// Runs inside respond() before the agent (context events streamed before the run).
    std::function<asio::awaitable<void>(AgentCtx&)> before_run;
    std::vector<agents::RunResult> results;
    int tripwires = 0;

    Fixture() {
        agent.name = "Assistant";
        agent.instructions = std::string("Be helpful.");
        agent.model = model;
        server.responder = [this](chatkit::ThreadMetadata& thread, std::optional<chatkit::UserMessageItem> const&,
                                  chatkit::EventSink& events, Ctx& ctx) -> asio::awaitable<void> {
            co_await respond(thread, events, ctx);
        };
    }

    asio::awaitable<void> respond(chatkit::ThreadMetadata& thread, chatkit::EventSink& events, Ctx& ctx) {
        AgentCtx agent_ctx(thread, store, ctx);
        std::vector<chatkit::ThreadItem> history = co_await agents::load_recent_items(store, thread.id, 30, ctx);
        agents::ThreadItemConverter<Ctx> items_to_input;
        std::vector<agents::Item> input = co_await items_to_input.to_agent_input(history, ctx);
        if (before_run) co_await before_run(agent_ctx);
        bool tripped = false;
        try {
            agents::RunResult result =
                co_await agents::stream_agent_response(agent_ctx, agent, std::move(input), events, {}, *converter);
            results.push_back(std::move(result));
        } catch (agents::InputGuardrailTripwire const&) {
            tripped = true;
        } catch (agents::OutputGuardrailTripwire const&) {
            tripped = true;
        }
        if (tripped) {
            ++tripwires;
            throw chatkit::CustomStreamError("Sorry, I can't help with that.");
        }
    }

    /// Items of a thread, oldest first.
    std::vector<chatkit::ThreadItem> items(std::string const& thread_id) {
        return test::run(store.load_thread_items(thread_id, std::nullopt, 100, chatkit::Order::asc, Ctx{})).data;
    }

    static std::string thread_of(test::Result const& r) {
        return std::string(r.events.at(0).at("thread").at("id").as_string());
    }
};

/// The events of `r` whose detailed type (see test::Result::detailed_types) is `type`.
inline std::vector<json::value> of_type(test::Result const& r, std::string const& type) {
    std::vector<json::value> out;
    auto types = r.detailed_types();
    for (std::size_t i = 0; i < types.size(); ++i)
        if (types[i] == type) out.push_back(r.events[i]);
    return out;
}

/// Detailed types without the leading stream_options / thread.created / user message events.
inline std::vector<std::string> agent_types(test::Result const& r) {
    std::vector<std::string> out;
    for (auto const& t : r.detailed_types())
        if (t != "stream_options" && t != "thread.created" && t != "thread.updated" &&
            t != "thread.item.done/user_message" && t != "thread.item.added/user_message")
            out.push_back(t);
    return out;
}

inline json::value add_client_tool_output(std::string const& thread_id, json::value result) {
    return json::object{{"type", "threads.add_client_tool_output"},
                        {"params", json::object{{"thread_id", thread_id}, {"result", std::move(result)}}}};
}

}  // namespace bridge_test
