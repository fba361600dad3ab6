// The compiled core of ChatKitServer: request routing (PROTOCOL.md §4) and the streaming engine (§6).
#include <chatkit/core/media_type.hpp>
#include <chatkit/core/sse.hpp>
#include <chatkit/protocol/json.hpp>
#include <chatkit/server/detail/runs.hpp>
#include <chatkit/server/detail/server_core.hpp>
#include <chatkit/server/response.hpp>

#include <boost/asio/this_coro.hpp>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <functional>
#include <iostream>
#include <string_view>
#include <unordered_set>
#include <utility>

namespace chatkit {

Logger Logger::stderr_logger(LogLevel level) {
    Logger logger;
    logger.level = level;
    logger.sink = [](LogLevel l, std::string_view message) {
        static char const* const names[] = {"debug", "info", "warning", "error"};
        std::fprintf(stderr, "[chatkit] %s: %.*s\n", names[static_cast<int>(l)], static_cast<int>(message.size()),
                     message.data());
    };
    return logger;
}

std::string error_body(std::string_view code, std::string_view message) {
    JsonObject inner;
    inner["code"] = code;
    inner["message"] = message;
    JsonObject outer;
    outer["error"] = std::move(inner);
    return chatkit::serialize(outer);
}

namespace detail {

bool has_visible_text(AssistantMessageItem const& item) noexcept {
    return std::any_of(item.content.begin(), item.content.end(), [](AssistantMessageContent const& part) {
        return part.text.find_first_not_of(" \t\n\r\f\v") != std::string::npos;
    });
}

namespace {

// Applies an item update to the engine's pending copy of a streaming item (PROTOCOL.md §6.6).
void apply_update(ThreadItem& item, ThreadItemUpdate const& update) {
    if (auto* message = std::get_if<AssistantMessageItem>(&item)) {
        auto part_at = [&](std::int64_t index) -> AssistantMessageContent* {
            if (index < 0 || index > 100000) return nullptr;  // not a sane part index: ignore the update
            auto const i = static_cast<std::size_t>(index);
            if (message->content.size() <= i) message->content.resize(i + 1);
            return &message->content[i];
        };
        std::visit(
            [&](auto const& u) {
                using U = std::decay_t<decltype(u)>;
                if constexpr (std::is_same_v<U, AssistantMessageContentPartAdded> ||
                              std::is_same_v<U, AssistantMessageContentPartDone>) {
                    if (auto* part = part_at(u.content_index)) *part = u.content;
                } else if constexpr (std::is_same_v<U, AssistantMessageContentPartTextDelta>) {
                    if (auto* part = part_at(u.content_index)) part->text += u.delta;
                } else if constexpr (std::is_same_v<U, AssistantMessageContentPartAnnotationAdded>) {
                    if (auto* part = part_at(u.content_index)) {
                        auto& list = part->annotations;
                        if (u.annotation_index >= 0 && static_cast<std::size_t>(u.annotation_index) <= list.size())
                            list.insert(list.begin() + u.annotation_index, u.annotation);
                        else
                            list.push_back(u.annotation);
                    }
                }
            },
            update);
    } else if (auto* workflow = std::get_if<WorkflowItem>(&item)) {
        auto& tasks = workflow->workflow.tasks;
        if (auto const* added = std::get_if<WorkflowTaskAdded>(&update)) {
            tasks.push_back(added->task);
        } else if (auto const* updated = std::get_if<WorkflowTaskUpdated>(&update)) {
            // DESIGN.md decision 11: an out-of-range index is forwarded but not applied.
            if (updated->task_index >= 0 && static_cast<std::size_t>(updated->task_index) < tasks.size())
                tasks[static_cast<std::size_t>(updated->task_index)] = updated->task;
        }
    }
}

bool cancellation_requested(asio::cancellation_state const& state) {
    return state.cancelled() != asio::cancellation_type::none;
}

// The error event for an exception that ended a stream (PROTOCOL.md §6.1-6.2).
ErrorEvent error_event_for(std::exception_ptr const& failure, Logger const& logger) {
    try {
        std::rethrow_exception(failure);
    } catch (CustomStreamError const& e) {
        return ErrorEvent{"custom", e.message(), e.allow_retry()};
    } catch (StreamError const& e) {
        return ErrorEvent{e.code(), std::nullopt, e.allow_retry()};
    } catch (std::exception const& e) {
        logger.log(LogLevel::error, std::string("error while generating streamed response: ") + e.what());
    } catch (...) {
        logger.log(LogLevel::error, "error while generating streamed response: unknown exception");
    }
    return ErrorEvent{"stream.error", std::nullopt, true};
}

}  // namespace

/// Drives one stream: persistence, pending-item tracking, hidden items, thread change detection,
/// errors and cancellation (PROTOCOL.md §6).
class stream_engine {
public:
    stream_engine(request_ops& ops, StreamWriter& writer, ThreadMetadata& thread)
        : ops_(ops), writer_(writer), thread_(thread) {}

    request_ops& ops() noexcept { return ops_; }
    ThreadMetadata& thread() noexcept { return thread_; }
    bool cancelled() const noexcept { return cancelled_; }

    // Writes an event without persistence (events the server produces itself). Pass a named event:
    // the frame is built before the coroutine starts, so no temporary spans a suspension.
    asio::awaitable<void> write(ThreadStreamEvent const& event) { return write_frame(frame_of(event)); }

    // The SSE frame of `event`. Coroutines that stay suspended for a whole reply (run, respond_to,
    // run_plan) keep a frame string, not the event: g++ keeps every local of a coroutine for its
    // life, and a ThreadStreamEvent is about 460 bytes of each held stream's memory.
    static std::string frame_of(ThreadStreamEvent const& event) { return sse_data_frame(to_json_text(event)); }

    asio::awaitable<void> write_frame(std::string frame) {
        if (cancelled_) throw Error(error::stream_cancelled, "the client went away");
        try {
            co_await writer_.write(frame);
        } catch (...) {
            cancelled_ = true;
        }
        if (cancelled_) throw Error(error::stream_cancelled, "the client went away");
    }

    // EventSink::emit: persist, track, forward, detect thread changes.
    asio::awaitable<void> emit(ThreadStreamEvent event) {
        if (cancelled_) throw Error(error::stream_cancelled, "the client went away");
        if (failure_) std::rethrow_exception(failure_);
        bool hidden = false;
        try {
            hidden = co_await persist(event);
        } catch (...) {
            failure_ = std::current_exception();
        }
        if (failure_) std::rethrow_exception(failure_);
        if (!hidden) co_await write(event);
        co_await check_thread_change();
    }

    // Runs `body` inside the engine: stream_options first, then the body's events, then the final
    // thread check; failures become error events, a disconnect runs handle_stream_cancelled.
    asio::awaitable<void> run(std::function<asio::awaitable<void>(EventSink&)> const& body) {
        std::exception_ptr failure;
        try {
            std::string options = frame_of(StreamOptionsEvent{ops_.get_stream_options(thread_)});
            co_await write_frame(std::move(options));
            snapshot_ = thread_;
            EventSink sink(*this);
            auto work = body(sink);
            co_await std::move(work);
            // The body may have swallowed a failed emit: the engine still knows.
            if (cancelled_) throw Error(error::stream_cancelled, "the client went away");
            if (failure_) std::rethrow_exception(failure_);
            co_await check_thread_change();
        } catch (...) {
            failure = std::current_exception();
        }
        if (!failure) co_return;

        auto state = co_await asio::this_coro::cancellation_state;
        if (cancelled_ || cancellation_requested(state)) {
            // Reset first: while the cancellation state is set, every co_await throws operation_aborted.
            co_await asio::this_coro::reset_cancellation_state();
            co_await finish_cancelled();
            co_return;
        }
        if (failure_) failure = failure_;  // a failed persist wins over what the body made of it
        try {
            std::string event = frame_of(error_event_for(failure, ops_.logger()));
            co_await write_frame(std::move(event));
            co_await check_thread_change();
        } catch (...) {
            failure = std::current_exception();
        }
        if (cancelled_) {
            co_await asio::this_coro::reset_cancellation_state();
            co_await finish_cancelled();
        }
    }

private:
    // Store side effects of an event; returns true when the event must not reach the client.
    asio::awaitable<bool> persist(ThreadStreamEvent const& event) {
        bool hidden = false;
        if (auto const* added = std::get_if<ThreadItemAddedEvent>(&event)) {
            track(added->item);
            hidden = is_hidden(added->item);
        } else if (auto const* done = std::get_if<ThreadItemDoneEvent>(&event)) {
            co_await ops_.add_thread_item(thread_.id, done->item);
            untrack(item_id(done->item));
            hidden = is_hidden(done->item);
        } else if (auto const* removed = std::get_if<ThreadItemRemovedEvent>(&event)) {
            co_await ops_.delete_thread_item(thread_.id, removed->item_id);
            untrack(removed->item_id);
        } else if (auto const* replaced = std::get_if<ThreadItemReplacedEvent>(&event)) {
            co_await ops_.save_item(thread_.id, replaced->item);
            untrack(item_id(replaced->item));
            hidden = is_hidden(replaced->item);
        } else if (auto const* updated = std::get_if<ThreadItemUpdatedEvent>(&event)) {
            for (auto& [id, item] : pending_)
                if (id == updated->item_id) apply_update(item, updated->update);
        }
        co_return hidden;
    }

    void track(ThreadItem const& item) {
        auto const& id = item_id(item);
        for (auto& entry : pending_)
            if (entry.first == id) {
                entry.second = item;
                return;
            }
        pending_.emplace_back(id, item);
    }

    void untrack(std::string const& id) {
        std::erase_if(pending_, [&](auto const& entry) { return entry.first == id; });
    }

    asio::awaitable<void> check_thread_change() {
        if (thread_ == snapshot_) co_return;
        snapshot_ = thread_;
        co_await ops_.save_thread(thread_);
        ThreadStreamEvent updated = ThreadUpdatedEvent{Thread{thread_, {}}};
        co_await write(updated);
    }

    // Runs handle_stream_cancelled with the pending items. The cancellation state must be reset.
    asio::awaitable<void> finish_cancelled() {
        std::vector<ThreadItem> pending;
        pending.reserve(pending_.size());
        for (auto& entry : pending_) pending.push_back(std::move(entry.second));
        pending_.clear();
        ops_.logger().log(LogLevel::info, "stream cancelled by the client (thread " + thread_.id + ")");
        try {
            co_await ops_.handle_stream_cancelled(thread_, pending);
        } catch (std::exception const& e) {
            ops_.logger().log(LogLevel::error, std::string("handle_stream_cancelled failed: ") + e.what());
        }
    }

    request_ops& ops_;
    StreamWriter& writer_;
    ThreadMetadata& thread_;
    ThreadMetadata snapshot_;
    std::vector<std::pair<std::string, ThreadItem>> pending_;
    bool cancelled_ = false;
    std::exception_ptr failure_;
};

// ---------------------------------------------------------------------------------------------
// Streaming requests: what process() prepared (every check that can fail without side effects)
// and what stream() then does.

namespace {

struct create_plan {
    UserMessageInput input;
    std::vector<Attachment> attachments;
};
struct add_message_plan {
    UserMessageInput input;
    std::vector<Attachment> attachments;
};
struct tool_output_plan {
    ClientToolCallItem call;
    JsonValue result;
};
struct structured_input_plan {
    StructuredInputItem updated;
};
struct retry_plan {
    std::optional<UserMessageItem> message;  // empty: the item was not found, the stream is empty
    std::vector<std::string> newer;          // items to delete, newest first
};
struct action_plan {
    Action action;
    std::optional<ThreadItem> sender;
};

using plan = std::variant<create_plan, add_message_plan, tool_output_plan, structured_input_plan, retry_plan,
                          action_plan>;

}  // namespace

// What a streaming request does, run by its run_job (runs.cpp) as a run of the thread.
class request_run final : public stream_job {
public:
    request_run(std::unique_ptr<request_ops> ops, ThreadMetadata thread, plan p)
        : ops_(std::move(ops)), thread_(std::move(thread)), plan_(std::move(p)) {}

    asio::awaitable<void> run(StreamWriter& writer) override {
        stream_engine engine(*ops_, writer, thread_);
        bool failed_setup = false;
        std::string setup_error;
        try {
            auto work = std::visit([&](auto& p) { return run_plan(engine, p); }, plan_);
            co_await std::move(work);
        } catch (std::exception const& e) {
            // Failures before the engine started (a store error while saving the user message, or the
            // client leaving early): end the stream with a generic error event when the client is there.
            failed_setup = !engine.cancelled();
            setup_error = e.what();
        } catch (...) {
            failed_setup = !engine.cancelled();
            setup_error = "unknown exception";
        }
        if (failed_setup) {
            auto state = co_await asio::this_coro::cancellation_state;
            if (cancellation_requested(state)) co_return;  // the client left during setup: nothing to say
            ops_->logger().log(LogLevel::error, "stream setup failed: " + setup_error);
            try {
                std::string event = stream_engine::frame_of(ErrorEvent{"stream.error", std::nullopt, true});
                co_await engine.write_frame(std::move(event));
            } catch (...) {
            }
        }
    }

private:
    asio::awaitable<std::optional<UserMessageItem>> build_user_message(UserMessageInput& input,
                                                                       std::vector<Attachment>& attachments) {
        UserMessageItem message;
        message.id = ops_->generate_item_id(StoreItemType::message, thread_);
        message.thread_id = thread_.id;
        message.created_at = now();
        message.content = std::move(input.content);
        message.quoted_text = std::move(input.quoted_text);
        message.inference_options = std::move(input.inference_options);
        for (auto& attachment : attachments) {
            attachment.thread_id = thread_.id;
            co_await ops_->save_attachment(attachment);
            message.attachments.push_back(std::move(attachment));
        }
        co_return message;
    }

    // Stores the user message and sends it; it becomes `input_`. (Its own coroutine: its locals,
    // the item and the event, are gone before respond() runs for the rest of the reply.)
    asio::awaitable<void> store_user_message(stream_engine& engine, UserMessageInput& input,
                                             std::vector<Attachment>& attachments) {
        auto message = co_await build_user_message(input, attachments);
        ThreadItem item = *message;
        co_await ops_->add_thread_item(thread_.id, item);
        ThreadStreamEvent done = ThreadItemDoneEvent{std::move(item)};
        co_await engine.write(done);
        input_ = std::move(message);
    }

    // Stores the user message, sends it, then runs respond() in the engine (PROTOCOL.md §4.2).
    asio::awaitable<void> respond_to(stream_engine& engine, UserMessageInput& input,
                                     std::vector<Attachment>& attachments) {
        co_await store_user_message(engine, input, attachments);
        co_await run_respond(engine);
    }

    asio::awaitable<void> run_plan(stream_engine& engine, create_plan& p) {
        co_await ops_->save_thread(thread_);
        std::string created = stream_engine::frame_of(ThreadCreatedEvent{Thread{thread_, {}}});
        co_await engine.write_frame(std::move(created));
        co_await respond_to(engine, p.input, p.attachments);
    }

    asio::awaitable<void> run_plan(stream_engine& engine, add_message_plan& p) {
        co_await respond_to(engine, p.input, p.attachments);
    }

    asio::awaitable<void> run_plan(stream_engine& engine, tool_output_plan& p) {
        p.call.output = std::move(p.result);
        p.call.status = ToolCallStatus::completed;
        ThreadItem completed = p.call;
        co_await ops_->save_item(thread_.id, completed);
        // Older calls still pending among the newest items are abandoned: delete them (PROTOCOL.md §4.3).
        std::optional<std::string> no_cursor;
        auto recent = co_await ops_->load_thread_items(thread_.id, no_cursor, default_page_size, Order::desc);
        for (auto const& item : recent.data) {
            auto const* call = std::get_if<ClientToolCallItem>(&item);
            if (call && call->status == ToolCallStatus::pending) {
                ops_->logger().log(LogLevel::warning, "deleting abandoned pending client tool call " + call->id);
                co_await ops_->delete_thread_item(thread_.id, call->id);
            }
        }
        co_await run_respond(engine);
    }

    // Runs respond(thread, input_) in the engine.
    asio::awaitable<void> run_respond(stream_engine& engine) {
        std::function<asio::awaitable<void>(EventSink&)> body = [this](EventSink& sink) {
            return respond_within_quota(*ops_, thread_, input_, sink);
        };
        co_await engine.run(body);
    }

    static asio::awaitable<void> replaced_then_respond(request_ops& ops, ThreadMetadata& thread,
                                                       StructuredInputItem& updated,
                                                       std::optional<UserMessageItem>& no_input, EventSink& sink) {
        ThreadStreamEvent replaced = ThreadItemReplacedEvent{updated};
        co_await sink.emit(std::move(replaced));
        co_await ops.respond(thread, no_input, sink);
    }

    asio::awaitable<void> run_plan(stream_engine& engine, structured_input_plan& p) {
        std::function<asio::awaitable<void>(EventSink&)> body = [this, &p](EventSink& sink) {
            return replaced_then_respond(*ops_, thread_, p.updated, input_, sink);
        };
        co_await engine.run(body);
    }

    asio::awaitable<void> run_plan(stream_engine& engine, retry_plan& p) {
        if (!p.message) co_return;  // the item is not in the thread: an empty stream (PROTOCOL.md §4.5)
        for (auto const& id : p.newer) co_await ops_->delete_thread_item(thread_.id, id);
        input_ = std::move(p.message);
        co_await run_respond(engine);
    }

    asio::awaitable<void> run_plan(stream_engine& engine, action_plan& p) {
        if (p.sender && !std::holds_alternative<WidgetItem>(*p.sender)) {
            // PROTOCOL.md §4.6 step 3: one error event, no stream_options, no handler.
            ThreadStreamEvent event = ErrorEvent{"stream.error", std::nullopt, false};
            co_await engine.write(event);
            co_return;
        }
        if (p.sender) sender_ = std::get<WidgetItem>(std::move(*p.sender));
        std::function<asio::awaitable<void>(EventSink&)> body = [this, &p](EventSink& sink) {
            return ops_->action(thread_, p.action, sender_, sink);
        };
        co_await engine.run(body);
    }

    std::unique_ptr<request_ops> ops_;
    ThreadMetadata thread_;
    plan plan_;
    std::optional<UserMessageItem> input_;
    std::optional<WidgetItem> sender_;
};

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// EventSink and Response

asio::awaitable<void> EventSink::emit(ThreadStreamEvent event) { return engine_->emit(std::move(event)); }

std::string EventSink::generate_item_id(StoreItemType type) {
    return engine_->ops().generate_item_id(type, engine_->thread());
}

std::string const& EventSink::thread_id() const noexcept { return engine_->thread().id; }

asio::awaitable<void> EventSink::record_usage(TokenUsage usage, std::string response_id) {
    return detail::record_stream_usage(engine_->ops(), engine_->thread(), usage, std::move(response_id));
}

Response::Response() noexcept = default;
Response::Response(unsigned status, std::string json_body) : status_(status), body_(std::move(json_body)) {}
Response::Response(std::unique_ptr<detail::stream_job> job) : status_(200), job_(std::move(job)) {}
Response::Response(Response&&) noexcept = default;
Response& Response::operator=(Response&&) noexcept = default;
Response::~Response() = default;

asio::awaitable<void> Response::stream(StreamWriter& writer) {
    if (!job_) co_return;
    auto job = std::move(job_);
    co_await job->run(writer);
}

namespace {
class string_writer final : public StreamWriter {
public:
    std::string out;
    asio::awaitable<void> write(std::string_view frame) override {
        out.append(frame);
        co_return;
    }
};
}  // namespace

asio::awaitable<std::string> Response::collect() {
    string_writer writer;
    co_await stream(writer);
    co_return std::move(writer.out);
}

// ---------------------------------------------------------------------------------------------
// process()

namespace detail {
namespace {

Response json_response(std::string body) { return Response(200, std::move(body)); }

Response empty_object_response() { return Response(200, "{}"); }

int page_limit(std::optional<std::int64_t> const& limit, ServerLimits const& limits) {
    if (!limit || *limit == 0) return default_page_size;
    if (*limit < 0) throw_error(error::invalid_request, "$.params.limit: must not be negative");
    auto const cap = static_cast<std::int64_t>(std::min<std::size_t>(limits.max_page_limit, INT_MAX));
    return static_cast<int>(std::min<std::int64_t>(*limit, std::max<std::int64_t>(cap, 1)));
}

// The attachment ids of one user message: at most max_attachments_per_message, each once.
void check_attachment_ids(std::vector<std::string> const& ids, ServerLimits const& limits) {
    if (ids.size() > limits.max_attachments_per_message)
        throw_error(error::invalid_request, "$.params.input.attachments: at most " +
                                                std::to_string(limits.max_attachments_per_message) +
                                                " attachments per message");
    std::unordered_set<std::string_view> seen;
    for (std::size_t i = 0; i < ids.size(); ++i)
        if (!seen.insert(ids[i]).second)
            throw_error(error::invalid_request,
                        "$.params.input.attachments[" + std::to_string(i) + "]: attachment " + ids[i].substr(0, 100) + " is listed twice");
}

Thread client_thread(ThreadMetadata const& meta, Page<ThreadItem> items = {}) { return Thread{meta, std::move(items)}; }

void drop_hidden(Page<ThreadItem>& page) {
    std::erase_if(page.data, [](ThreadItem const& item) { return is_hidden(item); });
}

asio::awaitable<std::vector<Attachment>> load_attachments(request_ops& ops, std::vector<std::string> const& ids) {
    check_attachment_ids(ids, ops.limits());
    std::vector<Attachment> result;
    result.reserve(ids.size());
    for (auto const& id : ids) result.push_back(co_await ops.load_attachment(id));
    co_return result;
}

// Applies a structured input submission to a copy of the item (PROTOCOL.md §4.4 step 4).
StructuredInputItem answer_structured_input(StructuredInputItem item, StructuredInputSubmission const& submission) {
    for (auto& question : item.inputs) {
        std::visit(
            [&](auto& q) {
                StructuredInputAnswerSubmission const* answer = nullptr;
                for (auto const& [id, a] : submission.answers)
                    if (id == q.id) answer = &a;  // the last duplicate key wins, as in a JSON object read by Python
                if (submission.status == StructuredInputStatus::skipped || !answer || answer->skipped ||
                    answer->values.empty()) {
                    q.answer = StructuredInputAnswer{{}, true};
                    return;
                }
                std::vector<std::string> values = answer->values;
                if constexpr (std::is_same_v<std::decay_t<decltype(q)>, StructuredInputMultipleChoice>) {
                    if (!q.multiple) values.resize(1);
                }
                q.answer = StructuredInputAnswer{std::move(values), false};
            },
            question);
    }
    item.status = submission.status;
    return item;
}

asio::awaitable<std::optional<ThreadItem>> load_sender(request_ops& ops, std::string const& thread_id,
                                                       std::optional<std::string> const& item_id) {
    if (!item_id || item_id->empty()) co_return std::nullopt;
    co_return co_await ops.load_item(thread_id, *item_id);
}

// True when `thread_id` names a thread of the request's owner.
asio::awaitable<bool> thread_exists(request_ops& ops, std::string const& thread_id) {
    bool found = true;
    try {
        (void)co_await ops.load_thread(thread_id);
    } catch (Error const& e) {
        if (e.code() != make_error_code(error::not_found)) throw;
        found = false;
    }
    co_return found;
}

// The Response of a streaming request, run as `run` (reserved for the thread).
Response start_run(std::unique_ptr<request_ops>& ops, ThreadMetadata thread, plan p, std::shared_ptr<run_state> run) {
    auto& registry = ops->runs();
    StreamPolicy const policy = ops->stream_policy(thread);
    auto body = std::make_shared<request_run>(std::move(ops), std::move(thread), std::move(p));
    return Response(make_run_job(std::move(body), std::move(run), registry, policy));
}

// Reserves the thread's run per `RunOptions::on_busy_thread` (409 when one is active, or a wait in
// the thread's queue), then starts it. After a wait the thread is read again: the run before may
// have changed it (title, status), and this run saves it at its end.
asio::awaitable<Response> queue_and_start(std::unique_ptr<request_ops>& ops, ThreadMetadata thread, plan p) {
    auto& registry = ops->runs();
    bool waited = false;
    std::string const owner = ops->owner();
    auto run = co_await reserve_run(registry, owner, thread.id, waited);
    if (waited) {
        std::exception_ptr failure;
        try {
            auto fresh = co_await ops->load_thread(thread.id);
            thread = std::move(fresh);
        } catch (...) {
            failure = std::current_exception();
        }
        if (failure) {
            registry.release(*run);
            std::rethrow_exception(failure);
        }
    }
    co_return start_run(ops, std::move(thread), std::move(p), std::move(run));
}

// Prepares a streaming request or answers a non-streaming one.
asio::awaitable<Response> route(std::unique_ptr<request_ops>& ops, ChatKitRequest& request) {
    auto& params = request.params;

    if (auto* r = std::get_if<ThreadsCreateReq>(&params)) {
        auto attachments = co_await load_attachments(*ops, r->input.attachments);
        ThreadMetadata thread;
        thread.id = ops->generate_thread_id();
        // A generated id that names an existing thread is an error, never a merge of two
        // conversations. A default id just made carries 128 fresh random bits and is not looked up;
        // a custom generator's may repeat itself.
        bool const fresh = chatkit::detail::claim_fresh_thread_id(thread.id);
        if (!fresh && co_await thread_exists(*ops, thread.id))
            throw_error(error::conflict, "The generated thread id " + thread.id.substr(0, 100) + " is already in use");
        thread.created_at = now();
        create_plan p{std::move(r->input), std::move(attachments)};
        co_return co_await queue_and_start(ops, std::move(thread), std::move(p));
    }
    if (auto* r = std::get_if<ThreadsAddUserMessageReq>(&params)) {
        auto thread = co_await ops->load_thread(r->thread_id);
        auto attachments = co_await load_attachments(*ops, r->input.attachments);
        add_message_plan p{std::move(r->input), std::move(attachments)};
        co_return co_await queue_and_start(ops, std::move(thread), std::move(p));
    }
    if (auto* r = std::get_if<ThreadsAddClientToolOutputReq>(&params)) {
        auto thread = co_await ops->load_thread(r->thread_id);
        std::optional<std::string> no_cursor;
        auto newest = co_await ops->load_thread_items(thread.id, no_cursor, 1, Order::desc);
        ClientToolCallItem const* call =
            newest.data.empty() ? nullptr : std::get_if<ClientToolCallItem>(&newest.data.front());
        if (!call || call->status != ToolCallStatus::pending)
            throw_error(error::invalid_request, "Last thread item in " + thread.id + " was not a ClientToolCallItem");
        tool_output_plan p{*call, std::move(r->result)};
        co_return co_await queue_and_start(ops, std::move(thread), std::move(p));
    }
    if (auto* r = std::get_if<ThreadsAddStructuredInputReq>(&params)) {
        auto thread = co_await ops->load_thread(r->thread_id);
        auto item = co_await ops->load_item(r->thread_id, r->item_id);
        auto* structured = std::get_if<StructuredInputItem>(&item);
        if (!structured) throw_error(error::invalid_request, "Item " + r->item_id + " is not a StructuredInputItem");
        if (structured->status != StructuredInputStatus::pending)
            throw_error(error::invalid_request, "Structured input item " + r->item_id + " is not pending");
        structured_input_plan p{answer_structured_input(std::move(*structured), r->input)};
        co_return co_await queue_and_start(ops, std::move(thread), std::move(p));
    }
    if (auto* r = std::get_if<ThreadsRetryAfterItemReq>(&params)) {
        auto thread = co_await ops->load_thread(r->thread_id);
        retry_plan p;
        std::optional<std::string> after;
        for (;;) {
            auto page = co_await ops->load_thread_items(thread.id, after, default_page_size, Order::desc);
            bool found = false;
            for (auto& item : page.data) {
                if (item_id(item) == r->item_id) {
                    auto* message = std::get_if<UserMessageItem>(&item);
                    if (!message) throw_error(error::invalid_request, "Item " + r->item_id + " is not a user message");
                    p.message = std::move(*message);
                    found = true;
                    break;
                }
                p.newer.push_back(item_id(item));
            }
            if (found || !page.has_more || !page.after) break;
            after = page.after;
        }
        if (!p.message) p.newer.clear();
        co_return co_await queue_and_start(ops, std::move(thread), std::move(p));
    }
    if (auto* r = std::get_if<ThreadsCustomActionReq>(&params)) {
        auto thread = co_await ops->load_thread(r->thread_id);
        auto sender = co_await load_sender(*ops, r->thread_id, r->item_id);
        action_plan p{std::move(r->action), std::move(sender)};
        co_return co_await queue_and_start(ops, std::move(thread), std::move(p));
    }

    // Non-streaming requests.
    if (auto* r = std::get_if<ThreadsSyncCustomActionReq>(&params)) {
        auto thread = co_await ops->load_thread(r->thread_id);
        auto sender_item = co_await load_sender(*ops, r->thread_id, r->item_id);
        std::optional<WidgetItem> sender;
        if (sender_item) {
            auto* widget = std::get_if<WidgetItem>(&*sender_item);
            if (!widget)
                throw_error(error::invalid_request, "threads.sync_custom_action requires a widget sender item");
            sender = std::move(*widget);
        }
        auto result = co_await ops->sync_action(thread, r->action, sender);
        co_return json_response(to_json_text(result));
    }
    if (auto* r = std::get_if<ThreadsGetByIdReq>(&params)) {
        auto thread = co_await ops->load_thread(r->thread_id);
        std::optional<std::string> no_cursor;
        auto items = co_await ops->load_thread_items(r->thread_id, no_cursor, default_page_size, Order::asc);
        drop_hidden(items);
        co_return json_response(to_json_text(client_thread(thread, std::move(items))));
    }
    if (auto* r = std::get_if<ThreadsListReq>(&params)) {
        int const limit = page_limit(r->limit, ops->limits());
        auto page = co_await ops->load_threads(limit, r->after, r->order);
        co_return json_response(to_json_text(page, JsonMode::wire));
    }
    if (auto* r = std::get_if<ItemsListReq>(&params)) {
        int const limit = page_limit(r->limit, ops->limits());
        auto page = co_await ops->load_thread_items(r->thread_id, r->after, limit, r->order);
        drop_hidden(page);
        co_return json_response(to_json_text(page, JsonMode::wire));
    }
    if (auto* r = std::get_if<ItemsFeedbackReq>(&params)) {
        if (r->item_ids.size() > ops->limits().max_feedback_items)
            throw_error(error::invalid_request, "$.params.item_ids: at most " +
                                                    std::to_string(ops->limits().max_feedback_items) + " items");
        co_await ops->add_feedback(r->thread_id, r->item_ids, r->kind);
        co_return empty_object_response();
    }
    if (auto* r = std::get_if<AttachmentsCreateReq>(&params)) {
        if (!ops->has_attachment_store())
            throw_error(error::no_attachment_store,
                        "AttachmentStore is not configured. Provide a AttachmentStore to ChatKitServer to handle "
                        "file operations.");
        // The media type is parsed (RFC 9110) and only its canonical `type/subtype` goes on: a
        // value with CR/LF, commas or junk never reaches a store or a response header.
        AttachmentCreateParams create = r->params;
        boost::system::error_code ec;
        std::string why;
        MediaType const media = parse_media_type(create.mime_type, ec, why);
        if (ec) throw_error(error::invalid_request, "$.params.mime_type: " + why);
        create.mime_type = media.essence();
        auto attachment = co_await ops->create_attachment(create);
        co_await ops->save_attachment(attachment);
        co_return json_response(to_json_text(attachment, JsonMode::wire));
    }
    if (auto* r = std::get_if<AttachmentsDeleteReq>(&params)) {
        if (!ops->has_attachment_store())
            throw_error(error::no_attachment_store,
                        "AttachmentStore is not configured. Provide a AttachmentStore to ChatKitServer to handle "
                        "file operations.");
        co_await ops->delete_attachment_bytes(r->attachment_id);
        co_await ops->delete_attachment(r->attachment_id);
        co_return empty_object_response();
    }
    if (auto* r = std::get_if<ThreadsUpdateReq>(&params)) {
        auto thread = co_await ops->load_thread(r->thread_id);
        thread.title = r->title;
        co_await ops->save_thread(thread);
        co_return json_response(to_json_text(client_thread(thread)));
    }
    if (auto* r = std::get_if<ThreadsDeleteReq>(&params)) {
        co_await ops->delete_thread(r->thread_id);
        co_return empty_object_response();
    }
    if (auto* r = std::get_if<InputTranscribeReq>(&params)) {
        AudioInput audio{decode_base64(r->audio_base64), r->mime_type};
        auto result = co_await ops->transcribe(audio);
        co_return json_response(to_json_text(result));
    }
    throw_error(error::invalid_request, "$.type: unsupported request type");
}

}  // namespace

Response failure_response(std::exception_ptr const& failure, Logger const& logger) {
    try {
        std::rethrow_exception(failure);
    } catch (Error const& e) {
        unsigned const status = http_status(e.code());
        if (status >= 500) logger.log(LogLevel::error, std::string("request failed: ") + e.what());
        // Store and internal failures may describe the server's insides: clients get a generic text.
        return Response(status, error_body(client_code(e.code()), client_message(e)));
    } catch (std::exception const& e) {
        logger.log(LogLevel::error, std::string("request failed: ") + e.what());
    } catch (...) {
        logger.log(LogLevel::error, "request failed: unknown exception");
    }
    return Response(500, error_body("internal", "Internal server error"));
}

asio::awaitable<Response> process(std::unique_ptr<request_ops> ops, ChatKitRequest request) {
    Logger const& logger = ops->logger();  // the server's: it outlives the request
    std::exception_ptr failure;
    try {
        if (auto refused = admit_request(*ops, request)) co_return std::move(*refused);
        if (auto refused = co_await check_daily_quota(*ops, request)) co_return std::move(*refused);
        co_return co_await route(ops, request);
    } catch (...) {
        failure = std::current_exception();
    }
    co_return failure_response(failure, logger);
}

asio::awaitable<Response> process(std::unique_ptr<request_ops> ops, std::string_view body) {
    boost::system::error_code ec;
    std::string diagnostics;
    ChatKitRequest parsed = parse_request(body, ec, diagnostics);
    if (ec) co_return Response(400, error_body("invalid_request", diagnostics));
    co_return co_await process(std::move(ops), std::move(parsed));
}

}  // namespace detail
}  // namespace chatkit
