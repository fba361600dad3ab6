// chatkit-cpp: template bodies of ChatKitServer<Context>.
#pragma once

#include <chatkit/server/server.hpp>

namespace chatkit {

/// Binds a server and one request's context to the compiled core's interface.
template <class Context>
class detail_bound_ops final : public detail::request_ops {
public:
    detail_bound_ops(ChatKitServer<Context>& server, Context ctx) : s_(server), ctx_(std::move(ctx)) {}

    std::string generate_thread_id() override { return s_.store_->generate_thread_id(ctx_); }
    std::string generate_item_id(StoreItemType type, ThreadMetadata const& thread) override {
        return s_.store_->generate_item_id(type, thread, ctx_);
    }
    asio::awaitable<ThreadMetadata> load_thread(std::string const& id) override {
        return s_.store_->load_thread(id, ctx_);
    }
    asio::awaitable<void> save_thread(ThreadMetadata const& thread) override {
        return s_.store_->save_thread(thread, ctx_);
    }
    asio::awaitable<Page<ThreadMetadata>> load_threads(int limit, std::optional<std::string> const& after,
                                                       Order order) override {
        return s_.store_->load_threads(limit, after, order, ctx_);
    }
    asio::awaitable<Page<ThreadItem>> load_thread_items(std::string const& thread_id,
                                                        std::optional<std::string> const& after, int limit,
                                                        Order order) override {
        return s_.store_->load_thread_items(thread_id, after, limit, order, ctx_);
    }
    asio::awaitable<void> add_thread_item(std::string const& thread_id, ThreadItem const& item) override {
        return s_.store_->add_thread_item(thread_id, item, ctx_);
    }
    asio::awaitable<void> save_item(std::string const& thread_id, ThreadItem const& item) override {
        return s_.store_->save_item(thread_id, item, ctx_);
    }
    asio::awaitable<ThreadItem> load_item(std::string const& thread_id, std::string const& item_id) override {
        return s_.store_->load_item(thread_id, item_id, ctx_);
    }
    asio::awaitable<void> delete_thread(std::string const& thread_id) override {
        return s_.store_->delete_thread(thread_id, ctx_);
    }
    asio::awaitable<void> delete_thread_item(std::string const& thread_id, std::string const& item_id) override {
        return s_.store_->delete_thread_item(thread_id, item_id, ctx_);
    }
    asio::awaitable<void> save_attachment(Attachment const& attachment) override {
        return s_.store_->save_attachment(attachment, ctx_);
    }
    asio::awaitable<Attachment> load_attachment(std::string const& attachment_id) override {
        return s_.store_->load_attachment(attachment_id, ctx_);
    }
    asio::awaitable<void> delete_attachment(std::string const& attachment_id) override {
        return s_.store_->delete_attachment(attachment_id, ctx_);
    }

    bool has_attachment_store() const override { return s_.attachments_ != nullptr; }
    asio::awaitable<Attachment> create_attachment(AttachmentCreateParams const& params) override {
        return s_.attachments_->create_attachment(params, ctx_);
    }
    asio::awaitable<void> delete_attachment_bytes(std::string const& attachment_id) override {
        return s_.attachments_->delete_attachment(attachment_id, ctx_);
    }

    ServerLimits const& limits() const override { return s_.limits_; }
    std::string owner() override { return s_.store_->owner_of(ctx_); }
    RateLimiter* rate_limiter() const override { return s_.rate_limiter_; }
    TokenQuotas const& quotas() const override { return s_.quotas_; }
    asio::awaitable<UsageTotals> record_usage(UsageRecord const& record) override {
        return s_.store_->record_usage(record, ctx_);
    }
    asio::awaitable<UsageTotals> load_usage_totals(std::string const& thread_id, std::int64_t day) override {
        return s_.store_->load_usage_totals(thread_id, day, ctx_);
    }

    asio::awaitable<void> respond(ThreadMetadata& thread, std::optional<UserMessageItem> const& input,
                                  EventSink& events) override {
        return s_.respond(thread, input, events, ctx_);
    }
    asio::awaitable<void> action(ThreadMetadata& thread, Action const& action, std::optional<WidgetItem> const& sender,
                                 EventSink& events) override {
        return s_.action(thread, action, sender, events, ctx_);
    }
    asio::awaitable<SyncCustomActionResponse> sync_action(ThreadMetadata& thread, Action const& action,
                                                          std::optional<WidgetItem> const& sender) override {
        return s_.sync_action(thread, action, sender, ctx_);
    }
    asio::awaitable<void> add_feedback(std::string const& thread_id, std::vector<std::string> const& item_ids,
                                       FeedbackKind kind) override {
        return s_.add_feedback(thread_id, item_ids, kind, ctx_);
    }
    asio::awaitable<TranscriptionResult> transcribe(AudioInput const& audio) override {
        return s_.transcribe(audio, ctx_);
    }
    StreamOptions get_stream_options(ThreadMetadata const& thread) override {
        return s_.get_stream_options(thread, ctx_);
    }
    asio::awaitable<void> handle_stream_cancelled(ThreadMetadata& thread,
                                                  std::vector<ThreadItem> const& pending) override {
        return s_.handle_stream_cancelled(thread, pending, ctx_);
    }
    Logger const& logger() const override { return s_.logger_; }
    detail::run_registry& runs() override { return *s_.runs_; }
    StreamPolicy stream_policy(ThreadMetadata const& thread) override { return s_.stream_policy(thread, ctx_); }

private:
    ChatKitServer<Context>& s_;
    Context ctx_;
};

template <class Context>
asio::awaitable<Response> ChatKitServer<Context>::process(std::string_view body, Context ctx) {
    auto ops = std::make_unique<detail_bound_ops<Context>>(*this, std::move(ctx));
    return detail::process(std::move(ops), body);
}

template <class Context>
asio::awaitable<Response> ChatKitServer<Context>::process(ChatKitRequest request, Context ctx) {
    auto ops = std::make_unique<detail_bound_ops<Context>>(*this, std::move(ctx));
    return detail::process(std::move(ops), std::move(request));
}

template <class Context>
asio::awaitable<Response> ChatKitServer<Context>::resume(std::string thread_id, std::uint64_t after, Context ctx) {
    auto ops = std::make_unique<detail_bound_ops<Context>>(*this, std::move(ctx));
    return detail::resume_run(std::move(ops), std::move(thread_id), after);
}

template <class Context>
asio::awaitable<Response> ChatKitServer<Context>::cancel_run(std::string thread_id, Context ctx) {
    auto ops = std::make_unique<detail_bound_ops<Context>>(*this, std::move(ctx));
    return detail::cancel_run(std::move(ops), std::move(thread_id));
}

template <class Context>
StreamPolicy ChatKitServer<Context>::stream_policy(ThreadMetadata const&, Context&) {
    return runs_->options().on_disconnect;
}

template <class Context>
asio::awaitable<void> ChatKitServer<Context>::action(ThreadMetadata&, Action const&,
                                                     std::optional<WidgetItem> const&, EventSink&, Context&) {
    throw_error(error::not_implemented, "action() is not implemented by this server");
    co_return;
}

template <class Context>
asio::awaitable<SyncCustomActionResponse> ChatKitServer<Context>::sync_action(ThreadMetadata&, Action const&,
                                                                              std::optional<WidgetItem> const&,
                                                                              Context&) {
    throw_error(error::not_implemented, "sync_action() is not implemented by this server");
    co_return SyncCustomActionResponse{};
}

template <class Context>
asio::awaitable<void> ChatKitServer<Context>::add_feedback(std::string const&, std::vector<std::string> const&,
                                                           FeedbackKind, Context&) {
    co_return;
}

template <class Context>
asio::awaitable<TranscriptionResult> ChatKitServer<Context>::transcribe(AudioInput const& audio, Context&) {
    if (!transcriber_) throw_error(error::not_implemented, "transcribe() is not implemented by this server");
    co_return co_await transcriber_->transcribe(audio);
}

template <class Context>
StreamOptions ChatKitServer<Context>::get_stream_options(ThreadMetadata const&, Context&) {
    return StreamOptions{true};
}

template <class Context>
asio::awaitable<void> ChatKitServer<Context>::handle_stream_cancelled(ThreadMetadata& thread,
                                                                      std::vector<ThreadItem> const& pending,
                                                                      Context& ctx) {
    for (auto const& item : pending) {
        auto const* message = std::get_if<AssistantMessageItem>(&item);
        if (message && detail::has_visible_text(*message)) co_await store_->add_thread_item(thread.id, item, ctx);
    }
    ThreadItem note = SDKHiddenContextItem{
        store_->generate_item_id(StoreItemType::sdk_hidden_context, thread, ctx),
        thread.id,
        now(),
        detail::cancelled_stream_note,
    };
    co_await store_->add_thread_item(thread.id, note, ctx);
}

}  // namespace chatkit
