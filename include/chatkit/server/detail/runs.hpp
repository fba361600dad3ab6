// chatkit-cpp (private): the in-process run log of one run and the registry of a server's runs.
#pragma once

#include <chatkit/core/config.hpp>
#include <chatkit/server/event_sink.hpp>
#include <chatkit/server/runs.hpp>
#include <chatkit/store/run_log.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace chatkit::detail {

class run_state;

/// A finished run, in the order runs finished (`run_pool::finished`).
struct finished_run {
    std::chrono::steady_clock::time_point at;
    std::string thread_id;
    std::weak_ptr<run_state> run;
};

/// The shared state of a `run_registry`: its runs by thread id and the byte total of their logs.
/// Runs reach it through a weak pointer (a detached run may outlive its server).
struct run_pool {
    explicit run_pool(RunOptions o) : options(o) {}
    RunOptions options;
    std::mutex mutex;
    std::unordered_map<std::string, std::shared_ptr<run_state>> runs;
    /// Finished runs, oldest end first: what retention, `max_runs` and the byte budget forget first,
    /// each in O(1) per run. Entries whose run is no longer its thread's (replaced or forgotten) are
    /// skipped, and dropped in a compaction once they are half of the queue.
    std::deque<finished_run> finished;
    std::size_t stale_finished = 0;
    std::unordered_map<std::string, std::deque<std::uint64_t>> queues;  // tickets waiting, by thread
    std::uint64_t next_ticket = 0;
    std::shared_ptr<std::atomic<std::size_t>> bytes = std::make_shared<std::atomic<std::size_t>>(0);
};

/// Brings the pool's log bytes under `options.max_log_bytes`: forgets finished runs oldest first,
/// then drops the oldest events of the largest active logs. Call without holding any run's mutex.
CHATKIT_API void enforce_log_budget(run_pool& pool);

/// One run: its log of SSE frames (index 0 first), whether it ended, and its cancellation. Shared
/// by the run's coroutine and its followers, which may run on other strands (every member is
/// guarded by a mutex; wake-ups are posted to each waiter's executor).
class CHATKIT_API run_state : public std::enable_shared_from_this<run_state> {
public:
    /// `pool` is the registry the run belongs to (its byte budget), or null for a run on its own.
    run_state(std::string thread_id, std::size_t max_events, std::weak_ptr<run_pool> pool = {});
    ~run_state();
    run_state(run_state const&) = delete;
    run_state& operator=(run_state const&) = delete;

    std::string const& thread_id() const noexcept { return thread_id_; }
    /// The run's id (unguessable; names it in a shared run log).
    std::string const& id() const noexcept { return id_; }

    /// What `read` found from index `next`.
    struct read_result {
        std::vector<std::string> frames;  // frames next, next+1, ...
        bool ended = false;               // the run ended and `frames` reaches its last frame
        bool truncated = false;           // frame `next` was dropped (the log keeps the newest only)
    };
    read_result read(std::uint64_t next, std::size_t max_frames) const;

    /// Appends one frame and wakes the followers; then, when the pool is over its byte budget,
    /// enforces it (which may drop events of this log).
    void append(std::string_view frame);
    /// Drops the oldest frames until `excess` bytes were freed or the log is empty; returns the bytes
    /// freed. Followers needing a dropped frame see `truncated`.
    std::size_t drop_oldest(std::size_t excess);
    /// Bytes the log counts against the pool's budget (frames plus the per-event overhead).
    std::size_t log_bytes() const;
    /// Marks the run ended, wakes the followers and queues the run in its pool's `finished`.
    void finish();
    /// Requests cancellation: sets the flag, wakes the waiters and emits a terminal cancellation on
    /// the run's executor (reaching a detached run through `cancel_slot()`).
    void request_cancel();

    bool ended() const;
    bool cancel_requested() const;
    std::uint64_t size() const;  // frames appended so far
    std::uint64_t first_kept() const;
    std::chrono::steady_clock::time_point ended_at() const;

    /// Waits until the log grew past `seen` frames, the run ended or cancellation was requested, or
    /// at most `poll`. Run it on a strand (the wake-up is posted to this coroutine's executor).
    asio::awaitable<void> wait_change(std::uint64_t seen, bool seen_cancel, std::chrono::milliseconds poll);

    /// Sets the executor the run's coroutine runs on (before it starts).
    void set_executor(asio::any_io_executor executor);
    /// The slot a detached run is bound to (use on the run's executor only).
    asio::cancellation_slot cancel_slot() { return signal_.slot(); }

    /// Counts a resumer in; false when `max` already follow the run.
    bool add_follower(std::size_t max);
    void remove_follower();

private:
    struct waiter {
        asio::any_io_executor executor;
        std::weak_ptr<asio::steady_timer> timer;
    };
    void wake_locked();

    std::string thread_id_;
    std::string id_;
    std::size_t max_events_;
    std::weak_ptr<run_pool> pool_;
    std::shared_ptr<std::atomic<std::size_t>> pool_bytes_;  // the pool's total (kept alive by each run)
    mutable std::mutex mutex_;
    std::size_t bytes_ = 0;
    // The kept frames back to back in one buffer (one allocation per log, not one per frame):
    // frame k of `ends_` spans [k == 0 ? 0 : ends_[k - 1], ends_[k]) of `text_`. Dropped frames stay
    // in front (`head_` of them) until they are as many as the kept ones, then both are compacted.
    std::string text_;
    std::vector<std::size_t> ends_;
    std::size_t head_ = 0;
    std::uint64_t first_ = 0;  // index of the first kept frame (ends_[head_])
    std::size_t kept_locked() const noexcept { return ends_.size() - head_; }
    std::string_view frame_locked(std::size_t k) const noexcept;
    std::size_t drop_front_locked();
    bool ended_ = false;
    bool cancel_requested_ = false;
    std::size_t followers_ = 0;
    std::chrono::steady_clock::time_point ended_at_{};
    std::vector<waiter> waiters_;
    asio::any_io_executor executor_;
    asio::cancellation_signal signal_;
};

/// The runs of one server, by thread id: the active one of each thread and finished ones inside the
/// retention window. Thread-safe.
class CHATKIT_API run_registry {
public:
    explicit run_registry(RunOptions options);

    /// Shares the runs through `log` (the store's shared run log; null: in-process only). Call before
    /// the first request.
    void share(SharedRunLog* log) noexcept { shared_ = pool_->options.share_runs ? log : nullptr; }
    /// The shared run log, or null.
    SharedRunLog* shared() const noexcept { return shared_; }
    /// This registry's instance id in the shared log (random).
    std::string const& instance() const noexcept { return instance_; }
    /// Counts a follower of another instance's run of `thread_id` in; false when
    /// `max_resumers_per_run` already follow it from here.
    bool add_remote_follower(std::string const& thread_id);
    void remove_remote_follower(std::string const& thread_id) noexcept;

    RunOptions const& options() const noexcept { return pool_->options; }
    /// Bytes all run logs count against `RunOptions::max_log_bytes` now.
    std::size_t log_bytes() const noexcept { return pool_->bytes->load(); }

    /// Reserves a new run of `thread_id`. Throws `Error(conflict)` when the thread has an active run
    /// (or requests waiting in its queue), `Error(too_many_requests)` when `max_runs` runs are active.
    std::shared_ptr<run_state> begin(std::string const& thread_id);
    /// Takes a place in the thread's queue (BusyThreadPolicy::queue); throws
    /// `Error(too_many_requests)` when `max_queued_per_thread` already wait behind an active run.
    std::uint64_t enqueue(std::string const& thread_id);
    /// Reserves the run of the queue place `ticket` when it is first and no run is active; else null.
    std::shared_ptr<run_state> begin_queued(std::string const& thread_id, std::uint64_t ticket);
    /// Gives up a queue place.
    void leave_queue(std::string const& thread_id, std::uint64_t ticket) noexcept;
    /// The thread's active run, or its last one when it ended inside the retention window, or null.
    std::shared_ptr<run_state> find(std::string const& thread_id);
    /// Forgets a reserved run that never started.
    void release(run_state const& run);
    /// Requests cancellation of every active run (server shutdown).
    void cancel_all();

private:
    void purge_locked(std::chrono::steady_clock::time_point now);
    /// Forgets the oldest finished run still tracked; false when there is none.
    bool forget_oldest_finished_locked();
    std::shared_ptr<run_state> begin_locked(std::string const& thread_id);

    std::shared_ptr<run_pool> pool_;
    SharedRunLog* shared_ = nullptr;
    std::string instance_;
    std::unordered_map<std::string, std::size_t> remote_followers_;  // under pool_->mutex
};

/// A stream a streaming Response owns: runs once, writing SSE frames through `writer`.
class stream_job {
public:
    virtual ~stream_job() = default;
    virtual asio::awaitable<void> run(StreamWriter& writer) = 0;
};

/// The job of a streaming request: runs `body` as a run of `run` under `policy` (cancel: inline,
/// its frames teed into the log and to the client; continue: detached on the caller's executor,
/// the client following the log). Releases the reservation in `registry` when never run.
CHATKIT_API std::unique_ptr<stream_job> make_run_job(std::shared_ptr<stream_job> body, std::shared_ptr<run_state> run,
                                                     run_registry& registry, StreamPolicy policy);

/// Writes the frames of `run` from index `next` to `writer` until the run ends. Returns true when
/// the end was reached; false when the writer failed, this coroutine was cancelled, or a frame it
/// needed was dropped from the log.
CHATKIT_API asio::awaitable<bool> follow_run(std::shared_ptr<run_state> run, std::uint64_t next, StreamWriter& writer);

/// When the thread's active run is being cancelled (its client left under cancel_on_disconnect, or a
/// cancel request), waits until it ended (at most 5 s), so that a new message sent right after a
/// stop is not refused as a second run.
CHATKIT_API asio::awaitable<void> wait_for_ending_run(run_registry& registry, std::string const& thread_id);

/// Reserves the run of a new streaming request of `thread_id` per `RunOptions::on_busy_thread`:
/// reject (after `wait_for_ending_run`, `run_registry::begin`) or queue (waits for its turn, bounded
/// by `max_queue_wait`, then `Error(conflict)`); then, with a shared run log, claims the thread there
/// for `owner` (another instance's running run: 409, or a wait with queue). `waited` tells whether it
/// waited behind another run. Cancelling the coroutine gives up the queue place; `registry` must
/// outlive it.
CHATKIT_API asio::awaitable<std::shared_ptr<run_state>> reserve_run(run_registry& registry, std::string const& owner,
                                                                    std::string const& thread_id, bool& waited);

/// The `error` event that ends the log of a run whose instance died (a shared run log marks it failed).
CHATKIT_API std::string const& failed_run_frame();

/// Waits until `run` ended (bounded by `timeout`).
CHATKIT_API asio::awaitable<void> wait_run_end(std::shared_ptr<run_state> run, std::chrono::milliseconds timeout);

}  // namespace chatkit::detail
