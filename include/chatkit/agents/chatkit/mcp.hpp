// chatkit-cpp: MCP tool calls shown in the ChatKit thread as workflow tasks, the way a function tool
// shows its work with `AgentContext::add_workflow_task`.
#pragma once

#include <chatkit/agents/chatkit/bridge.hpp>
#include <chatkit/agents/mcp.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace chatkit::agents {

/// An `McpServerOptions::on_call` observer for agents of type `Agent<AgentContext<Ctx>>`: each tool
/// call adds a custom task to the open workflow ("Calling <title>", loading) when it starts, and
/// replaces it when it ends ("<title>", complete; or "<title> failed", with the error as content).
/// A task whose workflow was closed meanwhile (a widget or a message appeared) is added again,
/// finished, to the workflow now open.
///
/// Only use it with agents whose context is `AgentContext<Ctx>` (the observer reaches the context
/// through the run's type-erased context pointer, as `ToolContext<Ctx>` does).
template <class Ctx>
McpCallObserver mcp_workflow_tasks() {
    struct Open {
        std::string workflow_id;
        std::size_t index = 0;
    };
    struct State {
        std::mutex mutex;
        std::map<std::pair<AgentContextBase const*, std::string>, Open> open;
    };
    auto state = std::make_shared<State>();
    return [state](ToolContextBase& tool, McpCallEvent const& event) -> boost::asio::awaitable<void> {
        AgentContextBase& ctx = ToolContext<AgentContext<Ctx>>(tool).context();
        auto const key = std::make_pair(static_cast<AgentContextBase const*>(&ctx), event.call_id);
        CustomTask task;
        if (event.phase == McpCallEvent::Phase::started) {
            task.title = "Calling " + event.title;
            task.status_indicator = TaskStatusIndicator::loading;
            // The task's place, taken before adding it: other calls may add theirs while this one's
            // event is being sent.
            Open where;
            bool const had_workflow = ctx.workflow_item.has_value();
            if (had_workflow) {
                where.workflow_id = ctx.workflow_item->id;
                where.index = ctx.workflow_item->workflow.tasks.size();
            }
            co_await ctx.add_workflow_task(std::move(task));
            if (!had_workflow && ctx.workflow_item) where.workflow_id = ctx.workflow_item->id;
            std::lock_guard lock(state->mutex);
            state->open[key] = std::move(where);
            co_return;
        }
        task.title = event.phase == McpCallEvent::Phase::completed ? event.title : event.title + " failed";
        if (event.phase == McpCallEvent::Phase::failed) task.content = event.error;
        task.status_indicator = TaskStatusIndicator::complete;
        std::optional<Open> where;
        {
            std::lock_guard lock(state->mutex);
            if (auto it = state->open.find(key); it != state->open.end()) {
                where = std::move(it->second);
                state->open.erase(it);
            }
        }
        if (where && ctx.workflow_item && ctx.workflow_item->id == where->workflow_id &&
            where->index < ctx.workflow_item->workflow.tasks.size()) {
            co_await ctx.update_workflow_task(std::move(task), where->index);
        } else {
            co_await ctx.add_workflow_task(std::move(task));
        }
    };
}

}  // namespace chatkit::agents
