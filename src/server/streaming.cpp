// Helpers that stream common items through an EventSink.
#include <chatkit/server/streaming.hpp>

#include <stdexcept>

namespace chatkit {

AssistantMessageStream::AssistantMessageStream(EventSink& events) : events_(&events) {
    item_.id = events.generate_item_id(StoreItemType::message);
    item_.thread_id = events.thread_id();
    item_.created_at = now();
}

asio::awaitable<void> AssistantMessageStream::start() {
    if (started_) throw std::logic_error("AssistantMessageStream::start() called twice");
    started_ = true;
    ThreadStreamEvent added = ThreadItemAddedEvent{item_};
    co_await events_->emit(std::move(added));
    ThreadStreamEvent part = ThreadItemUpdatedEvent{item_.id, AssistantMessageContentPartAdded{0, {}}};
    co_await events_->emit(std::move(part));
}

asio::awaitable<void> AssistantMessageStream::append(std::string delta) {
    if (!started_ || finished_) throw std::logic_error("AssistantMessageStream::append() outside start()/finish()");
    if (delta.empty()) co_return;
    part_.text += delta;
    ThreadStreamEvent event = ThreadItemUpdatedEvent{item_.id, AssistantMessageContentPartTextDelta{0, std::move(delta)}};
    co_await events_->emit(std::move(event));
}

asio::awaitable<void> AssistantMessageStream::annotate(Annotation annotation) {
    if (!started_ || finished_) throw std::logic_error("AssistantMessageStream::annotate() outside start()/finish()");
    auto const index = static_cast<std::int64_t>(part_.annotations.size());
    part_.annotations.push_back(annotation);
    ThreadStreamEvent event =
        ThreadItemUpdatedEvent{item_.id, AssistantMessageContentPartAnnotationAdded{0, index, std::move(annotation)}};
    co_await events_->emit(std::move(event));
}

asio::awaitable<void> AssistantMessageStream::finish() {
    if (!started_ || finished_) throw std::logic_error("AssistantMessageStream::finish() outside start()");
    finished_ = true;
    ThreadStreamEvent part_done = ThreadItemUpdatedEvent{item_.id, AssistantMessageContentPartDone{0, part_}};
    co_await events_->emit(std::move(part_done));
    item_.content = {part_};
    ThreadStreamEvent done = ThreadItemDoneEvent{item_};
    co_await events_->emit(std::move(done));
}

asio::awaitable<void> stream_assistant_message(EventSink& events, std::string text) {
    AssistantMessageStream message(events);
    co_await message.start();
    co_await message.append(std::move(text));
    co_await message.finish();
}

}  // namespace chatkit
