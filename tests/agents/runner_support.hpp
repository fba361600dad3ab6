// Helpers of the runner tests: a recording event sink, a test context, running a run to completion.
#pragma once

#include <chatkit/agents/agents.hpp>

#include "support/test_support.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>
#include <string>
#include <vector>

namespace rt {

namespace ag = chatkit::agents;
namespace asio = boost::asio;
namespace json = boost::json;

/// The application context tools and callbacks see.
struct AppCtx {
    std::vector<std::string> log;
    int counter = 0;
};

/// Records every sink callback as a line: `agent:<name>`, `raw:<type>`, `item:<name>:<item type>`.
class RecordingSink : public ag::RunEventSink {
public:
    std::vector<std::string> lines;
    std::vector<ag::RunItem> items;

    ag::task<void> on_agent_updated(ag::AgentInfo const& agent) override {
        lines.push_back("agent:" + agent.name);
        co_return;
    }
    ag::task<void> on_raw_event(ag::ModelStreamEvent const& event) override {
        lines.push_back("raw:" + event.type);
        co_return;
    }
    ag::task<void> on_run_item(std::string_view name, ag::RunItem const& item) override {
        lines.push_back("item:" + std::string(name) + ":" + std::string(item.type_name()));
        items.push_back(item);
        co_return;
    }

    /// The lines that start with `prefix`.
    std::vector<std::string> with_prefix(std::string const& prefix) const {
        std::vector<std::string> out;
        for (auto const& l : lines)
            if (l.rfind(prefix, 0) == 0) out.push_back(l);
        return out;
    }
    /// Index of the first line equal to `line`, or -1.
    long index_of(std::string const& line) const {
        for (std::size_t i = 0; i < lines.size(); ++i)
            if (lines[i] == line) return static_cast<long>(i);
        return -1;
    }
    /// Index of the last line starting with `prefix`, or -1.
    long last_index_of_prefix(std::string const& prefix) const {
        long r = -1;
        for (std::size_t i = 0; i < lines.size(); ++i)
            if (lines[i].rfind(prefix, 0) == 0) r = static_cast<long>(i);
        return r;
    }
};

/// An agent using `model`.
inline ag::Agent<AppCtx> agent_with(std::string name, std::shared_ptr<ag::Model> model) {
    ag::Agent<AppCtx> a;
    a.name = std::move(name);
    a.instructions = std::string("You are " + a.name + ".");
    a.model = std::move(model);
    return a;
}

/// A tool returning `result` (string), logging `<name>(<raw args>)` into the context.
inline ag::FunctionTool echo_tool(std::string name, std::string result) {
    return ag::make_tool<AppCtx, json::object>(
        name, "Returns a fixed text.", json::object{},
        [name, result](ag::ToolContext<AppCtx>& ctx, json::object args) -> ag::task<std::string> {
            ctx.context().log.push_back(name + "(" + json::serialize(args) + ")");
            co_return result;
        });
}

/// Runs the agent to completion on a fresh io_context.
inline ag::RunResult run(ag::Agent<AppCtx> const& agent, std::string input, AppCtx& ctx, ag::RunOptions opts = {}) {
    return test::run(ag::Runner::run(agent, std::move(input), ctx, std::move(opts)));
}

/// The function_call_output items of a request input.
inline std::vector<ag::FunctionCallOutput> outputs_of(std::vector<ag::Item> const& input) {
    std::vector<ag::FunctionCallOutput> out;
    for (auto const& i : input)
        if (auto const* o = std::get_if<ag::FunctionCallOutput>(&i)) out.push_back(*o);
    return out;
}

/// True when every function_call of `items` has a function_call_output with its call_id.
inline bool no_orphan_calls(std::vector<ag::Item> const& items) {
    for (auto const& i : items) {
        auto const* c = std::get_if<ag::FunctionCallItem>(&i);
        if (!c) continue;
        bool found = false;
        for (auto const& j : items)
            if (auto const* o = std::get_if<ag::FunctionCallOutput>(&j); o && o->call_id == c->call_id) found = true;
        if (!found) return false;
    }
    return true;
}

}  // namespace rt
