// chatkit-cpp: template bodies of the Agent ↔ ChatKit bridge (chatkit/agents/chatkit/bridge.hpp).
#pragma once

#include <chatkit/agents/chatkit/bridge.hpp>

#include <boost/asio/this_coro.hpp>

#include <exception>

namespace chatkit::agents {

template <class Ctx>
boost::asio::awaitable<RunResult> stream_agent_response(AgentContext<Ctx>& ctx, Agent<AgentContext<Ctx>> const& agent,
                                                        std::vector<Item> input, EventSink& events, RunOptions options,
                                                        ResponseStreamConverter const& converter) {
    // The two newest items tell whether the previous turn left a workflow open (client tool round trip).
    Page<ThreadItem> recent = co_await ctx.store().load_thread_items(ctx.thread().id, std::nullopt, 2, Order::desc,
                                                                     ctx.request_context());
    detail::AgentStreamBridge bridge(ctx, events, converter, options.sink);
    co_await bridge.begin(recent.data);
    options.sink = &bridge;

    std::exception_ptr failure;
    RunResult result;
    try {
        result = co_await Runner::run(agent, std::move(input), ctx, std::move(options));
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        // A disconnect or cancellation goes up untouched: the server stores the partial reply.
        if (detail::AgentStreamBridge::is_cancellation(failure)) std::rethrow_exception(failure);
        auto state = co_await boost::asio::this_coro::cancellation_state;
        if (state.cancelled() != boost::asio::cancellation_type::none) std::rethrow_exception(failure);
        try {
            if (detail::AgentStreamBridge::is_tripwire(failure)) co_await bridge.roll_back();
            else co_await bridge.close_open_items();
        } catch (...) {
            // The original error matters more than a failure while tidying up.
        }
        std::rethrow_exception(failure);
    }

    auto open_workflow = co_await bridge.finish(result);
    if (open_workflow) {
        // Stored without a done event so that the next turn continues it.
        ThreadItem item = std::move(*open_workflow);
        co_await ctx.store().add_thread_item(ctx.thread().id, item, ctx.request_context());
    }
    co_await bridge.emit_client_tool_call(result);
    co_return result;
}

template <class Ctx>
boost::asio::awaitable<std::vector<ThreadItem>> load_recent_items(Store<Ctx>& store, std::string const& thread_id,
                                                                  int limit, Ctx const& ctx) {
    Page<ThreadItem> page = co_await store.load_thread_items(thread_id, std::nullopt, limit, Order::desc, ctx);
    std::vector<ThreadItem> items(std::make_move_iterator(page.data.rbegin()), std::make_move_iterator(page.data.rend()));
    co_return items;
}

template <class Ctx>
boost::asio::awaitable<std::vector<Item>> ThreadItemConverter<Ctx>::to_agent_input(std::vector<ThreadItem> const& items,
                                                                                  Ctx& ctx) {
    detail::attachment_budgets::scope const budget_scope(*budgets_, &ctx);
    // Newest first, so the attachment budget favours the latest messages; assembled oldest first.
    std::vector<std::vector<Item>> converted(items.size());
    for (std::size_t i = items.size(); i-- > 0;) {
        ThreadItem const& item = items[i];
        bool const is_last = i + 1 == items.size();
        auto& into = converted[i];
        if (auto const* user = std::get_if<UserMessageItem>(&item))
            into = co_await user_message_to_input(*user, is_last, ctx);
        else if (auto const* assistant = std::get_if<AssistantMessageItem>(&item))
            into = co_await assistant_message_to_input(*assistant);
        else if (auto const* call = std::get_if<ClientToolCallItem>(&item))
            into = co_await client_tool_call_to_input(*call);
        else if (auto const* eot = std::get_if<EndOfTurnItem>(&item))
            into = co_await end_of_turn_to_input(*eot);
        else if (auto const* widget = std::get_if<WidgetItem>(&item))
            into = co_await widget_to_input(*widget);
        else if (auto const* workflow = std::get_if<WorkflowItem>(&item))
            into = co_await workflow_to_input(*workflow);
        else if (auto const* task_item = std::get_if<TaskItem>(&item))
            into = co_await task_to_input(*task_item);
        else if (auto const* structured = std::get_if<StructuredInputItem>(&item))
            into = co_await structured_input_to_input(*structured);
        else if (auto const* hidden = std::get_if<HiddenContextItem>(&item))
            into = co_await hidden_context_to_input(*hidden);
        else if (auto const* sdk_hidden = std::get_if<SDKHiddenContextItem>(&item))
            into = co_await sdk_hidden_context_to_input(*sdk_hidden);
        else if (auto const* image = std::get_if<GeneratedImageItem>(&item))
            into = co_await generated_image_to_input(*image);
    }
    std::vector<Item> out;
    for (auto& part : converted)
        for (auto& c : part) out.push_back(std::move(c));
    co_return out;
}

template <class Ctx>
boost::asio::awaitable<std::vector<Item>> ThreadItemConverter<Ctx>::user_message_to_input(UserMessageItem const& item,
                                                                                        bool is_last_message,
                                                                                        Ctx& ctx) {
    std::vector<ContentPart> attachment_parts;
    for (auto const& attachment : item.attachments) {
        ContentPart part = co_await attachment_to_message_content(attachment, ctx);
        attachment_parts.push_back(std::move(part));
    }
    std::vector<ContentPart> tag_parts;
    for (auto const& tag : detail::unique_tags(item)) {
        ContentPart part = co_await tag_to_message_content(tag, ctx);
        tag_parts.push_back(std::move(part));
    }
    co_return detail::user_message_parts_to_input(item, is_last_message, std::move(attachment_parts),
                                                  std::move(tag_parts));
}

template <class Ctx>
boost::asio::awaitable<ContentPart> ThreadItemConverter<Ctx>::attachment_to_message_content(Attachment const& attachment,
                                                                                          Ctx& ctx) {
    if (loader_) {
        if (budgets_->exhausted(&ctx, attachment_budget_)) co_return detail::attachment_left_out(attachment);
        std::optional<AttachmentBytes> bytes = co_await loader_(attachment, ctx);
        if (bytes) {
            if (!budgets_->try_spend(&ctx, bytes->bytes.size(), attachment_budget_))
                co_return detail::attachment_left_out(attachment);
            co_return detail::attachment_bytes_to_content(attachment, *bytes);
        }
    }
    co_return detail::attachment_description(attachment);
}

template <class Ctx>
boost::asio::awaitable<ContentPart> ThreadItemConverter<Ctx>::tag_to_message_content(UserMessageTagContent const& tag,
                                                                                   Ctx& ctx) {
    (void)tag;
    (void)ctx;
    throw_error(error::not_implemented,
                "A Tag was included in a UserMessageItem but Converter.tag_to_message_content is not implemented");
    co_return ContentPart{};
}

template <class Ctx>
boost::asio::awaitable<std::vector<Item>> ThreadItemConverter<Ctx>::assistant_message_to_input(
    AssistantMessageItem const& item) {
    co_return detail::assistant_message_to_input(item);
}

template <class Ctx>
boost::asio::awaitable<std::vector<Item>> ThreadItemConverter<Ctx>::client_tool_call_to_input(
    ClientToolCallItem const& item) {
    co_return detail::client_tool_call_to_input(item);
}

template <class Ctx>
boost::asio::awaitable<std::vector<Item>> ThreadItemConverter<Ctx>::end_of_turn_to_input(EndOfTurnItem const& item) {
    (void)item;
    co_return std::vector<Item>{};
}

template <class Ctx>
boost::asio::awaitable<std::vector<Item>> ThreadItemConverter<Ctx>::widget_to_input(WidgetItem const& item) {
    co_return detail::widget_to_input(item);
}

template <class Ctx>
boost::asio::awaitable<std::vector<Item>> ThreadItemConverter<Ctx>::workflow_to_input(WorkflowItem const& item) {
    co_return detail::workflow_to_input(item);
}

template <class Ctx>
boost::asio::awaitable<std::vector<Item>> ThreadItemConverter<Ctx>::task_to_input(TaskItem const& item) {
    co_return detail::task_to_input(item);
}

template <class Ctx>
boost::asio::awaitable<std::vector<Item>> ThreadItemConverter<Ctx>::structured_input_to_input(
    StructuredInputItem const& item) {
    co_return detail::structured_input_to_input(item);
}

template <class Ctx>
boost::asio::awaitable<std::vector<Item>> ThreadItemConverter<Ctx>::hidden_context_to_input(HiddenContextItem const& item) {
    co_return detail::hidden_context_to_input(item);
}

template <class Ctx>
boost::asio::awaitable<std::vector<Item>> ThreadItemConverter<Ctx>::sdk_hidden_context_to_input(
    SDKHiddenContextItem const& item) {
    co_return detail::sdk_hidden_context_to_input(item);
}

template <class Ctx>
boost::asio::awaitable<std::vector<Item>> ThreadItemConverter<Ctx>::generated_image_to_input(
    GeneratedImageItem const& item) {
    co_return detail::generated_image_to_input(item);
}

}  // namespace chatkit::agents
