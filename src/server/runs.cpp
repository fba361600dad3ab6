// Runs (include/chatkit/server/runs.hpp): the in-process run log, the registry of a server's runs, the
// job that runs a streaming request as a run under its StreamPolicy, and the resume and cancel calls.
#include <chatkit/core/error.hpp>
#include <chatkit/core/ids.hpp>
#include <chatkit/core/sse.hpp>
#include <chatkit/protocol/json.hpp>
#include <chatkit/server/detail/runs.hpp>
#include <chatkit/server/detail/server_core.hpp>
#include <chatkit/server/response.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <optional>
#include <utility>

namespace chatkit::detail {

using steady_clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------
// run_state

namespace {
std::size_t frame_cost(std::string_view frame) { return frame.size() + run_log_event_overhead; }
}  // namespace

run_state::run_state(std::string thread_id, std::size_t max_events, std::weak_ptr<run_pool> pool)
    : thread_id_(std::move(thread_id)), id_("run_" + random_hex(16)), max_events_(std::max<std::size_t>(max_events, 1)), pool_(std::move(pool)) {
    if (auto p = pool_.lock()) pool_bytes_ = p->bytes;
}

run_state::~run_state() {
    if (pool_bytes_) pool_bytes_->fetch_sub(bytes_);
}

std::string_view run_state::frame_locked(std::size_t k) const noexcept {
    std::size_t const begin = k == 0 ? 0 : ends_[k - 1];
    return std::string_view(text_).substr(begin, ends_[k] - begin);
}

// Drops the oldest kept frame (there is one); returns its cost.
std::size_t run_state::drop_front_locked() {
    std::size_t const freed = frame_cost(frame_locked(head_));
    ++head_;
    ++first_;
    if (head_ == ends_.size()) {
        text_.clear();
        ends_.clear();
        head_ = 0;
    } else if (head_ >= kept_locked()) {
        std::size_t const cut = ends_[head_ - 1];
        text_.erase(0, cut);
        ends_.erase(ends_.begin(), ends_.begin() + static_cast<std::ptrdiff_t>(head_));
        for (auto& end : ends_) end -= cut;
        head_ = 0;
    }
    return freed;
}

run_state::read_result run_state::read(std::uint64_t next, std::size_t max_frames) const {
    std::lock_guard lock(mutex_);
    read_result out;
    if (next < first_) {
        out.truncated = true;
        return out;
    }
    std::uint64_t const end = first_ + kept_locked();
    for (std::uint64_t i = next; i < end && out.frames.size() < max_frames; ++i)
        out.frames.emplace_back(frame_locked(head_ + static_cast<std::size_t>(i - first_)));
    out.ended = ended_ && next + out.frames.size() >= end;
    return out;
}

void run_state::append(std::string_view frame) {
    {
        std::lock_guard lock(mutex_);
        std::size_t const added = frame_cost(frame);
        std::size_t freed = 0;
        text_.append(frame);
        ends_.push_back(text_.size());
        if (kept_locked() > max_events_) freed = drop_front_locked();
        bytes_ = bytes_ + added - freed;
        if (pool_bytes_) {
            pool_bytes_->fetch_add(added);
            pool_bytes_->fetch_sub(freed);
        }
        wake_locked();
    }
    if (!pool_bytes_) return;
    if (auto pool = pool_.lock(); pool && pool_bytes_->load() > pool->options.max_log_bytes) enforce_log_budget(*pool);
}

std::size_t run_state::drop_oldest(std::size_t excess) {
    std::lock_guard lock(mutex_);
    std::size_t freed = 0;
    if (excess >= bytes_ && kept_locked() > 0) {  // all of it: release the buffers too
        first_ += kept_locked();
        freed = bytes_;
        std::string().swap(text_);
        std::vector<std::size_t>().swap(ends_);
        head_ = 0;
    }
    while (freed < excess && kept_locked() > 0) freed += drop_front_locked();
    bytes_ -= freed;
    if (pool_bytes_) pool_bytes_->fetch_sub(freed);
    if (freed > 0) wake_locked();
    return freed;
}

std::size_t run_state::log_bytes() const {
    std::lock_guard lock(mutex_);
    return bytes_;
}

void run_state::finish() {
    asio::any_io_executor executor;  // released outside the lock
    steady_clock::time_point at;
    {
        std::lock_guard lock(mutex_);
        if (ended_) return;
        ended_ = true;
        ended_at_ = at = steady_clock::now();
        // Kept for the retention window: give back the room the buffers grew into.
        text_.shrink_to_fit();
        ends_.shrink_to_fit();
        wake_locked();
        // A finished run is kept for resumes (the retention window), possibly past its io_context: it
        // must not hold the executor (a strand whose implementation the io_context owns) any longer.
        executor = std::move(executor_);
        executor_ = asio::any_io_executor();
    }
    if (auto pool = pool_.lock()) {
        std::lock_guard lock(pool->mutex);
        pool->finished.push_back(finished_run{at, thread_id_, weak_from_this()});
    }
}

void run_state::request_cancel() {
    asio::any_io_executor executor;
    {
        std::lock_guard lock(mutex_);
        if (ended_ || cancel_requested_) return;
        cancel_requested_ = true;
        wake_locked();
        executor = executor_;
    }
    // The signal belongs to the run's executor: emit it there (a detached run is bound to it).
    if (executor)
        asio::post(executor, [self = shared_from_this()] { self->signal_.emit(asio::cancellation_type::terminal); });
}

bool run_state::ended() const {
    std::lock_guard lock(mutex_);
    return ended_;
}

bool run_state::cancel_requested() const {
    std::lock_guard lock(mutex_);
    return cancel_requested_;
}

std::uint64_t run_state::size() const {
    std::lock_guard lock(mutex_);
    return first_ + kept_locked();
}

std::uint64_t run_state::first_kept() const {
    std::lock_guard lock(mutex_);
    return first_;
}

steady_clock::time_point run_state::ended_at() const {
    std::lock_guard lock(mutex_);
    return ended_at_;
}

void run_state::set_executor(asio::any_io_executor executor) {
    std::lock_guard lock(mutex_);
    executor_ = std::move(executor);
}

bool run_state::add_follower(std::size_t max) {
    std::lock_guard lock(mutex_);
    if (followers_ >= max) return false;
    ++followers_;
    return true;
}

void run_state::remove_follower() {
    std::lock_guard lock(mutex_);
    if (followers_ > 0) --followers_;
}

void run_state::wake_locked() {
    for (auto& w : waiters_)
        asio::post(w.executor, [timer = w.timer] {
            if (auto t = timer.lock()) t->cancel();
        });
    waiters_.clear();
}

asio::awaitable<void> run_state::wait_change(std::uint64_t seen, bool wake_on_cancel, std::chrono::milliseconds poll) {
    auto const executor = co_await asio::this_coro::executor;
    auto timer = std::make_shared<asio::steady_timer>(executor, poll);
    bool ready = false;
    {
        std::lock_guard lock(mutex_);
        ready = first_ + kept_locked() != seen || ended_ || (wake_on_cancel && cancel_requested_);
        if (!ready) {
            std::erase_if(waiters_, [](waiter const& w) { return w.timer.expired(); });
            waiters_.push_back(waiter{executor, timer});
        }
    }
    if (ready) co_return;
    // Woken by a post to this executor (which runs only once this coroutine is suspended here, the
    // executor being a strand), or the poll bound passed, or cancelled.
    auto [ec] = co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;
}

// ---------------------------------------------------------------------------------------------
// run_registry

void enforce_log_budget(run_pool& pool) {
    std::lock_guard lock(pool.mutex);
    auto const limit = pool.options.max_log_bytes;
    auto over = [&] { return pool.bytes->load() > limit; };
    if (!over()) return;
    // Finished runs first, oldest first: forgotten (a resume answers 404) and their logs freed at
    // once (a follower still reading one sees it truncated), down to 7/8 of the budget so that the
    // scan does not run again at the next event.
    auto const target = limit - limit / 8;
    while (!pool.finished.empty() && pool.bytes->load() > target) {
        auto entry = std::move(pool.finished.front());
        pool.finished.pop_front();
        auto run = entry.run.lock();
        auto it = run ? pool.runs.find(entry.thread_id) : pool.runs.end();
        if (it == pool.runs.end() || it->second != run) {
            if (pool.stale_finished > 0) --pool.stale_finished;
            continue;
        }
        pool.runs.erase(it);
        (void)run->drop_oldest(static_cast<std::size_t>(-1));
    }
    if (!over()) return;
    // The active runs alone are over the budget: trim the largest log, then the next...
    while (over()) {
        std::shared_ptr<run_state> largest;
        std::size_t largest_bytes = 0;
        for (auto const& [id, run] : pool.runs) {
            auto const bytes = run->log_bytes();
            if (bytes > largest_bytes) {
                largest = run;
                largest_bytes = bytes;
            }
        }
        if (!largest) return;  // what is left is held by runs already forgotten
        auto const excess = pool.bytes->load() - limit;
        if (largest->drop_oldest(excess) == 0) return;
    }
}

run_registry::run_registry(RunOptions options)
    : pool_(std::make_shared<run_pool>(options)), instance_(random_hex(16)) {}

bool run_registry::add_remote_follower(std::string const& thread_id) {
    std::lock_guard lock(pool_->mutex);
    auto& n = remote_followers_[thread_id];
    if (n >= pool_->options.max_resumers_per_run) {
        if (n == 0) remote_followers_.erase(thread_id);
        return false;
    }
    ++n;
    return true;
}

void run_registry::remove_remote_follower(std::string const& thread_id) noexcept {
    std::lock_guard lock(pool_->mutex);
    auto it = remote_followers_.find(thread_id);
    if (it == remote_followers_.end()) return;
    if (--it->second == 0) remote_followers_.erase(it);
}

std::string const& failed_run_frame() {
    static std::string const frame =
        sse_data_frame(to_json_text(ThreadStreamEvent{ErrorEvent{"stream.error", std::nullopt, true}}));
    return frame;
}

void run_registry::purge_locked(steady_clock::time_point now) {
    auto& finished = pool_->finished;
    while (!finished.empty() && finished.front().at + pool_->options.retention <= now) {
        (void)forget_oldest_finished_locked();
    }
    // Entries of runs replaced by a newer run of their thread: dropped once they are half the queue.
    if (pool_->stale_finished > 64 && pool_->stale_finished * 2 > finished.size()) {
        std::erase_if(finished, [&](finished_run const& entry) {
            auto run = entry.run.lock();
            auto it = run ? pool_->runs.find(entry.thread_id) : pool_->runs.end();
            return it == pool_->runs.end() || it->second != run;
        });
        pool_->stale_finished = 0;
    }
}

bool run_registry::forget_oldest_finished_locked() {
    auto& finished = pool_->finished;
    while (!finished.empty()) {
        auto entry = std::move(finished.front());
        finished.pop_front();
        auto run = entry.run.lock();
        auto it = run ? pool_->runs.find(entry.thread_id) : pool_->runs.end();
        if (it == pool_->runs.end() || it->second != run) {
            if (pool_->stale_finished > 0) --pool_->stale_finished;
            continue;
        }
        pool_->runs.erase(it);
        return true;
    }
    return false;
}

namespace {
[[noreturn]] void throw_busy(std::string const& thread_id) {
    throw_error(error::conflict, "Thread " + thread_id.substr(0, 100) +
                                     " already has a reply running: follow it with GET <chatkit path>/runs/" +
                                     thread_id.substr(0, 100) + " or stop it with POST <chatkit path>/runs/" +
                                     thread_id.substr(0, 100) + "/cancel");
}
}  // namespace

std::shared_ptr<run_state> run_registry::begin(std::string const& thread_id) {
    std::lock_guard lock(pool_->mutex);
    purge_locked(steady_clock::now());
    if (pool_->queues.contains(thread_id)) throw_busy(thread_id);  // requests wait for their turn
    return begin_locked(thread_id);
}

std::uint64_t run_registry::enqueue(std::string const& thread_id) {
    std::lock_guard lock(pool_->mutex);
    purge_locked(steady_clock::now());
    auto it = pool_->runs.find(thread_id);
    bool const busy = it != pool_->runs.end() && !it->second->ended();
    auto& queue = pool_->queues[thread_id];
    if ((busy || !queue.empty()) && queue.size() >= pool_->options.max_queued_per_thread) {
        if (queue.empty()) pool_->queues.erase(thread_id);
        throw_error(error::too_many_requests, "Thread " + thread_id.substr(0, 100) + " already has " +
                                                  std::to_string(pool_->options.max_queued_per_thread) +
                                                  " messages waiting for its running reply; retry once it ended");
    }
    auto const ticket = ++pool_->next_ticket;
    queue.push_back(ticket);
    return ticket;
}

std::shared_ptr<run_state> run_registry::begin_queued(std::string const& thread_id, std::uint64_t ticket) {
    std::lock_guard lock(pool_->mutex);
    purge_locked(steady_clock::now());
    auto q = pool_->queues.find(thread_id);
    if (q == pool_->queues.end() || q->second.empty() || q->second.front() != ticket) return nullptr;
    auto it = pool_->runs.find(thread_id);
    if (it != pool_->runs.end() && !it->second->ended()) return nullptr;
    auto run = begin_locked(thread_id);
    q->second.pop_front();
    if (q->second.empty()) pool_->queues.erase(q);
    return run;
}

void run_registry::leave_queue(std::string const& thread_id, std::uint64_t ticket) noexcept {
    std::lock_guard lock(pool_->mutex);
    auto q = pool_->queues.find(thread_id);
    if (q == pool_->queues.end()) return;
    std::erase(q->second, ticket);
    if (q->second.empty()) pool_->queues.erase(q);
}

std::shared_ptr<run_state> run_registry::begin_locked(std::string const& thread_id) {
    auto& runs = pool_->runs;
    auto it = runs.find(thread_id);
    if (it != runs.end() && !it->second->ended())
        throw_error(error::conflict, "Thread " + thread_id.substr(0, 100) +
                                         " already has a reply running: follow it with GET <chatkit path>/runs/" +
                                         thread_id.substr(0, 100) + " or stop it with POST <chatkit path>/runs/" +
                                         thread_id.substr(0, 100) + "/cancel");
    if (it == runs.end() && runs.size() >= std::max<std::size_t>(pool_->options.max_runs, 1) &&
        !forget_oldest_finished_locked())
        throw_error(error::too_many_requests, "Too many replies are running; retry shortly");
    auto run = std::make_shared<run_state>(thread_id, pool_->options.max_events_per_run, pool_);
    if (it != runs.end()) {
        ++pool_->stale_finished;  // the thread's finished run, replaced: its queue entry is stale
        it->second = run;
    } else {
        runs.emplace(thread_id, run);
    }
    return run;
}

std::shared_ptr<run_state> run_registry::find(std::string const& thread_id) {
    std::lock_guard lock(pool_->mutex);
    purge_locked(steady_clock::now());
    auto it = pool_->runs.find(thread_id);
    return it == pool_->runs.end() ? nullptr : it->second;
}

void run_registry::cancel_all() {
    std::vector<std::shared_ptr<run_state>> active;
    {
        std::lock_guard lock(pool_->mutex);
        for (auto const& entry : pool_->runs)
            if (!entry.second->ended()) active.push_back(entry.second);
    }
    for (auto const& run : active) run->request_cancel();
}

void run_registry::release(run_state const& run) {
    std::lock_guard lock(pool_->mutex);
    auto it = pool_->runs.find(run.thread_id());
    if (it != pool_->runs.end() && it->second.get() == &run) pool_->runs.erase(it);
}

// ---------------------------------------------------------------------------------------------
// Following and waiting

asio::awaitable<bool> follow_run(std::shared_ptr<run_state> run, std::uint64_t next, StreamWriter& writer) {
    try {
        for (;;) {
            auto const state = co_await asio::this_coro::cancellation_state;
            if (state.cancelled() != asio::cancellation_type::none) co_return false;
            auto seen = run->read(next, 256);
            if (seen.truncated) co_return false;
            for (auto const& frame : seen.frames) {
                co_await writer.write(frame);
                ++next;
            }
            if (seen.ended) co_return true;
            if (seen.frames.empty()) co_await run->wait_change(next, false, 1s);
        }
    } catch (...) {
    }
    co_return false;
}

asio::awaitable<void> wait_for_ending_run(run_registry& registry, std::string const& thread_id) {
    auto run = registry.find(thread_id);
    if (!run || run->ended() || !run->cancel_requested()) co_return;
    co_await wait_run_end(std::move(run), 5s);
}

namespace {
// Takes the request out of its thread's queue unless it got its run.
struct queue_place {
    run_registry& registry;
    std::string const& thread_id;
    std::uint64_t ticket;
    bool started = false;
    queue_place(run_registry& r, std::string const& id, std::uint64_t t) : registry(r), thread_id(id), ticket(t) {}
    ~queue_place() {
        if (!started) registry.leave_queue(thread_id, ticket);
    }
    queue_place(queue_place const&) = delete;
    queue_place& operator=(queue_place const&) = delete;
};
}  // namespace

namespace {

[[noreturn]] void throw_queue_timeout(std::string const& thread_id, std::chrono::milliseconds waited) {
    throw_error(error::conflict, "Thread " + thread_id.substr(0, 100) + " still had a reply running after " +
                                     std::to_string(waited.count()) +
                                     " ms of waiting: retry, or stop it with POST <chatkit path>/runs/" +
                                     thread_id.substr(0, 100) + "/cancel");
}

// The in-process half of reserve_run.
asio::awaitable<std::shared_ptr<run_state>> reserve_local(run_registry& registry, std::string const& thread_id,
                                                          bool& waited, steady_clock::time_point deadline) {
    auto const& options = registry.options();
    if (options.on_busy_thread == BusyThreadPolicy::reject) {
        co_await wait_for_ending_run(registry, thread_id);
        co_return registry.begin(thread_id);
    }
    queue_place place{registry, thread_id, registry.enqueue(thread_id)};
    auto const executor = co_await asio::this_coro::executor;
    for (;;) {
        if (auto run = registry.begin_queued(thread_id, place.ticket)) {
            place.started = true;
            co_return run;
        }
        waited = true;
        auto const left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady_clock::now());
        if (left.count() <= 0) throw_queue_timeout(thread_id, options.max_queue_wait);
        auto active = registry.find(thread_id);
        if (active && !active->ended()) {
            auto const step = std::min<std::chrono::milliseconds>(left, 1s);
            co_await wait_run_end(active, step);
        } else {
            // A request ahead in the queue is taking its turn.
            asio::steady_timer pause(executor, std::min<std::chrono::milliseconds>(left, 10ms));
            auto [ec] = co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
            (void)ec;
        }
    }
}

// Forgets a reserved run unless it was claimed.
struct reservation {
    run_registry& registry;
    std::shared_ptr<run_state> run;
    bool kept = false;
    ~reservation() {
        if (!kept && run) registry.release(*run);
    }
};

}  // namespace

asio::awaitable<std::shared_ptr<run_state>> reserve_run(run_registry& registry, std::string const& owner,
                                                        std::string const& thread_id, bool& waited) {
    waited = false;
    auto const& options = registry.options();
    auto const deadline = steady_clock::now() + options.max_queue_wait;
    auto local = co_await reserve_local(registry, thread_id, waited, deadline);
    reservation held{registry, std::move(local)};
    auto* shared = registry.shared();
    if (!shared) {
        held.kept = true;
        co_return std::move(held.run);
    }
    // The thread may be running on another instance: the shared log holds one run per thread. While
    // this one waits for it, it stays reserved here, so requests to this instance queue behind it.
    auto const executor = co_await asio::this_coro::executor;
    bool const reject = options.on_busy_thread == BusyThreadPolicy::reject;
    auto const stop_deadline = steady_clock::now() + 5s;
    for (;;) {
        if (co_await shared->claim(owner, thread_id, held.run->id(), registry.instance(), options.shared_lease,
                                   options.retention)) {
            held.kept = true;
            co_return std::move(held.run);
        }
        if (reject) {
            // As wait_for_ending_run: a run being stopped (a cancel sent to any instance) is waited for.
            auto const other = co_await shared->read(owner, thread_id, 0, 0, options.retention, failed_run_frame());
            bool const stopping = other.found && other.status == SharedRunStatus::running && other.cancel_requested;
            if (!stopping || steady_clock::now() >= stop_deadline) throw_busy(thread_id);
        } else {
            waited = true;
        }
        auto const left = std::chrono::duration_cast<std::chrono::milliseconds>(
            (reject ? stop_deadline : deadline) - steady_clock::now());
        if (left.count() <= 0) {
            if (reject) throw_busy(thread_id);
            throw_queue_timeout(thread_id, options.max_queue_wait);
        }
        asio::steady_timer pause(executor, std::min(left, options.shared_poll));
        co_await pause.async_wait(asio::use_awaitable);
    }
}

asio::awaitable<void> wait_run_end(std::shared_ptr<run_state> run, std::chrono::milliseconds timeout) {
    auto const deadline = steady_clock::now() + timeout;
    while (!run->ended()) {
        auto const left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady_clock::now());
        if (left.count() <= 0) co_return;
        co_await run->wait_change(run->size(), false, std::min<std::chrono::milliseconds>(left, 1s));
    }
}

namespace {

// The writer of a run nobody is attached to: appends to the log; fails once cancellation was requested.
class log_writer final : public StreamWriter {
public:
    explicit log_writer(run_state& run) : run_(run) {}
    asio::awaitable<void> write(std::string_view frame) override {
        if (run_.cancel_requested()) throw Error(error::stream_cancelled, "the run was cancelled");
        run_.append(frame);
        co_return;
    }

private:
    run_state& run_;
};

// The writer of a run its client is attached to (cancel_on_disconnect): the log, then the client.
// `pass_ending`: the response ends right after the run (no wait for a shared log to publish its end),
// so the client's writer may hold the last events for the end of the body.
class tee_writer final : public StreamWriter {
public:
    tee_writer(run_state& run, StreamWriter& client, bool pass_ending)
        : run_(run), client_(client), pass_ending_(pass_ending) {}
    asio::awaitable<void> write(std::string_view frame) override {
        if (run_.cancel_requested()) throw Error(error::stream_cancelled, "the run was cancelled");
        run_.append(frame);
        co_await client_.write(frame);
    }
    void ending() noexcept override {
        if (pass_ending_) client_.ending();
    }

private:
    run_state& run_;
    StreamWriter& client_;
    bool pass_ending_;
};

// Runs `body` to its end as the run `run`, writing through `tee` (or the log alone), bounded by
// `max_time`, then marks the run ended. Cancellation of this coroutine thread (a disconnect under
// cancel_on_disconnect, a cancel request, the maximum run time) reaches the body, whose engine then
// runs handle_stream_cancelled: co_await must not throw after it (see run_events in the HTTP layer).
asio::awaitable<void> drive(std::shared_ptr<stream_job> body, std::shared_ptr<run_state> run, StreamWriter* tee,
                            std::chrono::milliseconds max_time) {
    co_await asio::this_coro::throw_if_cancelled(false);
    auto const executor = co_await asio::this_coro::executor;
    asio::steady_timer deadline(executor, max_time);
    std::weak_ptr<run_state> weak = run;
    deadline.async_wait([weak](boost::system::error_code const& ec) {
        if (ec) return;
        if (auto r = weak.lock()) r->request_cancel();
    });
    log_writer log(*run);
    StreamWriter& writer = tee ? *tee : static_cast<StreamWriter&>(log);
    try {
        co_await body->run(writer);
    } catch (...) {
    }
    writer.ending();  // the rest (ending the run, the race around it) writes nothing
    deadline.cancel();
    run->finish();
}

// Completes when cancellation of `run` is requested or it ended; ends (throwing) when this coroutine
// is cancelled.
asio::awaitable<void> wait_cancel(std::shared_ptr<run_state> run) {
    for (;;) {
        if (run->cancel_requested() || run->ended()) co_return;
        auto const state = co_await asio::this_coro::cancellation_state;
        if (state.cancelled() != asio::cancellation_type::none) {
            // The client left (or the run just ended): the run is ending, say so (see wait_for_ending_run).
            run->request_cancel();
            throw boost::system::system_error(asio::error::operation_aborted, "run cancel watcher");
        }
        co_await run->wait_change(run->size(), true, 1s);
    }
}

// Appends the run's events to the shared log as they come (one append at a time: what arrived during
// the previous one goes in the next), renews its lease at least every heartbeat, relays a stop
// requested on another instance, and marks the run done after its last event. A failed append is
// retried at the next heartbeat (the events stay in the in-process log meanwhile), for at most one
// lease after the run ended. A run whose lease was lost (another instance marked it failed) is
// stopped. Runs detached on the run's executor; the log must outlive that executor's io_context run.
asio::awaitable<void> publish(std::shared_ptr<run_state> run, SharedRunLog* log, RunOptions options) {
    auto const executor = co_await asio::this_coro::executor;
    auto pause = [&](std::chrono::milliseconds d) -> asio::awaitable<void> {
        asio::steady_timer timer(executor, d);
        auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        (void)ec;
    };
    constexpr std::size_t batch = 256;
    std::uint64_t next = 0;
    std::optional<steady_clock::time_point> ended_at;
    for (;;) {
        auto seen = run->read(next, batch);
        if (seen.truncated) {
            next = run->first_kept();  // dropped from the in-process log before it was shared
            continue;
        }
        std::optional<SharedRunAppend> r;
        try {
            r = co_await log->append(run->id(), next, seen.frames, options.max_events_per_run, options.shared_lease,
                                     seen.ended);
        } catch (...) {
        }
        if (!r) {
            if (seen.ended) {
                if (!ended_at) ended_at = steady_clock::now();
                if (steady_clock::now() - *ended_at > options.shared_lease) co_return;  // it is marked failed
            }
            co_await pause(options.shared_heartbeat);
            continue;
        }
        next += seen.frames.size();
        if (!r->owned || r->cancel_requested) run->request_cancel();
        if (seen.ended || !r->owned) co_return;
        if (seen.frames.size() == batch) continue;
        co_await run->wait_change(next, false, options.shared_heartbeat);
    }
}

class run_job final : public stream_job {
public:
    run_job(std::shared_ptr<stream_job> body, std::shared_ptr<run_state> run, run_registry& registry,
            StreamPolicy policy)
        : body_(std::move(body)), run_(std::move(run)), registry_(registry), policy_(policy) {}
    ~run_job() override {
        if (!started_) registry_.release(*run_);
    }
    run_job(run_job const&) = delete;
    run_job& operator=(run_job const&) = delete;

    asio::awaitable<void> run(StreamWriter& writer) override {
        started_ = true;
        auto const executor = co_await asio::this_coro::executor;
        run_->set_executor(executor);
        auto const max_time = registry_.options().max_run_time;
        // With a shared log, the response ends once the run's end is in it: a client that sends the
        // thread's next message to another instance right after finds the thread free.
        std::shared_ptr<asio::steady_timer> published;
        auto published_done = std::make_shared<std::atomic<bool>>(false);
        if (auto* shared = registry_.shared()) {
            published = std::make_shared<asio::steady_timer>(executor, steady_clock::time_point::max());
            asio::co_spawn(executor, publish(run_, shared, registry_.options()),
                           [published, published_done](std::exception_ptr const&) {
                               published_done->store(true);
                               published->cancel();
                           });
        }
        co_await run_body(executor, writer, max_time);
        if (published && !published_done->load()) {
            published->expires_after(registry_.options().shared_heartbeat * 5);
            auto [ec] = co_await published->async_wait(asio::as_tuple(asio::use_awaitable));
            (void)ec;
        }
    }

private:
    asio::awaitable<void> run_body(asio::any_io_executor executor, StreamWriter& writer,
                                   std::chrono::milliseconds max_time) {
        if (policy_ == StreamPolicy::continue_on_disconnect) {
            // The run goes on without this response: the client only follows its log, and leaving
            // (this coroutine cancelled, or a failed write) detaches it.
            // When it ends, co_spawn's handler is dropped from the run's signal: a finished run is
            // kept for resumes, possibly past its io_context, and must not hold its executor.
            asio::co_spawn(executor, drive(body_, run_, nullptr, max_time),
                           asio::bind_cancellation_slot(run_->cancel_slot(), [run = run_](std::exception_ptr const&) {
                               run->cancel_slot().clear();
                           }));
            (void)co_await follow_run(run_, 0, writer);
            co_return;
        }
        // cancel_on_disconnect: the run is this response's; a disconnect (this coroutine cancelled)
        // or a cancel request (wait_cancel completes) cancels it, and the race waits for its end.
        tee_writer tee(*run_, writer, registry_.shared() == nullptr);
        try {
            auto group = asio::experimental::make_parallel_group(
                asio::co_spawn(executor, drive(body_, run_, &tee, max_time), asio::deferred),
                asio::co_spawn(executor, wait_cancel(run_), asio::deferred));
            auto const one = asio::experimental::wait_for_one();
            auto outcome = co_await group.async_wait(one, asio::use_awaitable);
            (void)outcome;
        } catch (...) {
        }
    }

private:
    std::shared_ptr<stream_job> body_;
    std::shared_ptr<run_state> run_;
    run_registry& registry_;
    StreamPolicy policy_;
    bool started_ = false;
};

// The stream of GET .../runs/{thread_id}?after=N.
class resume_job final : public stream_job {
public:
    resume_job(std::shared_ptr<run_state> run, std::uint64_t after) : run_(std::move(run)), after_(after) {}
    ~resume_job() override { run_->remove_follower(); }
    resume_job(resume_job const&) = delete;
    resume_job& operator=(resume_job const&) = delete;

    asio::awaitable<void> run(StreamWriter& writer) override { (void)co_await follow_run(run_, after_, writer); }

private:
    std::shared_ptr<run_state> run_;
    std::uint64_t after_;
};

// The stream of GET .../runs/{thread_id}?after=N for a run another instance executes: polls the
// shared log every `shared_poll` and writes what is new, until the run ended (or was replaced by a
// newer run of the thread, or forgotten). A store failure ends the stream (the client resumes again).
class remote_follow_job final : public stream_job {
public:
    remote_follow_job(run_registry& registry, std::string owner, std::string thread_id, std::string run_id,
                      std::uint64_t after)
        : registry_(registry), owner_(std::move(owner)), thread_id_(std::move(thread_id)), run_id_(std::move(run_id)),
          next_(after) {}
    ~remote_follow_job() override { registry_.remove_remote_follower(thread_id_); }
    remote_follow_job(remote_follow_job const&) = delete;
    remote_follow_job& operator=(remote_follow_job const&) = delete;

    asio::awaitable<void> run(StreamWriter& writer) override {
        auto const& options = registry_.options();
        auto* log = registry_.shared();
        auto const executor = co_await asio::this_coro::executor;
        try {
            for (;;) {
                auto seen = co_await log->read(owner_, thread_id_, next_, 256, options.retention, failed_run_frame());
                if (!seen.found || seen.run_id != run_id_ || next_ < seen.first) co_return;
                for (auto const& frame : seen.frames) {
                    co_await writer.write(frame);
                    ++next_;
                }
                if (seen.status != SharedRunStatus::running && next_ >= seen.size) co_return;
                if (seen.frames.empty()) {
                    asio::steady_timer timer(executor, options.shared_poll);
                    co_await timer.async_wait(asio::use_awaitable);  // a disconnect cancels it
                }
            }
        } catch (...) {
        }
    }

private:
    run_registry& registry_;
    std::string owner_;
    std::string thread_id_;
    std::string run_id_;
    std::uint64_t next_;
};

}  // namespace

std::unique_ptr<stream_job> make_run_job(std::shared_ptr<stream_job> body, std::shared_ptr<run_state> run,
                                         run_registry& registry, StreamPolicy policy) {
    return std::make_unique<run_job>(std::move(body), std::move(run), registry, policy);
}

// ---------------------------------------------------------------------------------------------
// resume and cancel

namespace {

[[noreturn]] void throw_no_run(std::string const& thread_id) {
    throw_error(error::not_found, "Thread " + thread_id.substr(0, 100) + " has no recent run");
}

// Resume of a run the shared log knows and this instance does not run.
Response resume_remote(request_ops& ops, std::string const& thread_id, SharedRunRead const& seen,
                       std::uint64_t after) {
    if (after > seen.size)
        throw_error(error::invalid_request, "after: the run has " + std::to_string(seen.size) + " events so far");
    if (after < seen.first)
        return Response(410, error_body("run_log_truncated", "The run's events before " + std::to_string(seen.first) +
                                                                 " are no longer kept: re-read the thread"));
    auto& registry = ops.runs();
    if (!registry.add_remote_follower(thread_id))
        throw_error(error::too_many_requests, "Too many clients follow this run");
    return Response(std::make_unique<remote_follow_job>(registry, ops.owner(), thread_id, seen.run_id, after));
}

asio::awaitable<Response> resume_impl(request_ops& ops, std::string const& thread_id, std::uint64_t after) {
    (void)co_await ops.load_thread(thread_id);  // tenancy: another owner's thread is not found
    auto& registry = ops.runs();
    auto run = registry.find(thread_id);
    if (auto* shared = registry.shared(); shared && (!run || run->ended())) {
        // A newer run may execute on another instance (a running one here is the thread's only one).
        auto seen = co_await shared->read(ops.owner(), thread_id, after, 0, registry.options().retention,
                                          failed_run_frame());
        if (seen.found && (!run || seen.run_id != run->id())) co_return resume_remote(ops, thread_id, seen, after);
    }
    if (!run) throw_no_run(thread_id);
    auto const size = run->size();
    if (after > size)
        throw_error(error::invalid_request, "after: the run has " + std::to_string(size) + " events so far");
    if (after < run->first_kept())
        co_return Response(410, error_body("run_log_truncated",
                                           "The run's events before " + std::to_string(run->first_kept()) +
                                               " are no longer kept: re-read the thread"));
    if (!run->add_follower(ops.runs().options().max_resumers_per_run))
        throw_error(error::too_many_requests, "Too many clients follow this run");
    co_return Response(std::make_unique<resume_job>(std::move(run), after));
}

asio::awaitable<Response> cancel_impl(request_ops& ops, std::string const& thread_id) {
    (void)co_await ops.load_thread(thread_id);
    auto& registry = ops.runs();
    auto run = registry.find(thread_id);
    bool cancelled = false;
    if (run && !run->ended()) {
        run->request_cancel();
        cancelled = true;
        // Answer once the partial reply is saved (the engine's cancellation path ran), within bounds.
        co_await wait_run_end(run, 10s);
    } else if (auto* shared = registry.shared()) {
        // The run may execute on another instance: it sees the stop at its next heartbeat.
        auto const owner = ops.owner();
        cancelled = co_await shared->request_cancel(owner, thread_id);
        auto const executor = co_await asio::this_coro::executor;
        auto const deadline = steady_clock::now() + 10s;
        while (cancelled && steady_clock::now() < deadline) {
            auto seen = co_await shared->read(owner, thread_id, 0, 0, registry.options().retention, failed_run_frame());
            if (!seen.found || seen.status != SharedRunStatus::running) break;
            asio::steady_timer timer(executor, registry.options().shared_poll);
            co_await timer.async_wait(asio::use_awaitable);
        }
    }
    co_return Response(200, cancelled ? R"({"cancelled":true})" : R"({"cancelled":false})");
}

}  // namespace

asio::awaitable<Response> resume_run(std::unique_ptr<request_ops> ops, std::string thread_id, std::uint64_t after) {
    std::exception_ptr failure;
    try {
        co_return co_await resume_impl(*ops, thread_id, after);
    } catch (...) {
        failure = std::current_exception();
    }
    co_return failure_response(failure, ops->logger());
}

asio::awaitable<Response> cancel_run(std::unique_ptr<request_ops> ops, std::string thread_id) {
    std::exception_ptr failure;
    try {
        co_return co_await cancel_impl(*ops, thread_id);
    } catch (...) {
        failure = std::current_exception();
    }
    co_return failure_response(failure, ops->logger());
}

}  // namespace chatkit::detail
