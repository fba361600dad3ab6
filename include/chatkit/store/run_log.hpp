// chatkit-cpp: SharedRunLog, the run log several server instances share through their store (issue 18).
#pragma once

#include <chatkit/core/config.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace chatkit {

namespace asio = boost::asio;

/// Where a run stands in a shared run log.
enum class SharedRunStatus {
    running,  ///< its instance holds the lease and appends its events
    done,     ///< it ended (its last events, a cancelled run's included, are in the log)
    failed,   ///< its instance stopped renewing the lease (it died); the log ends with an error event
};

/// What `SharedRunLog::read` found for a thread.
struct SharedRunRead {
    bool found = false;        ///< the thread has a run (running, or ended inside the retention window)
    std::string run_id;        ///< the run's id (a new run of the thread replaces the old one)
    SharedRunStatus status = SharedRunStatus::running;  ///< where the run stands
    bool cancel_requested = false;  ///< a stop was requested (`request_cancel`)
    std::uint64_t first = 0;   ///< index of the first event kept
    std::uint64_t size = 0;    ///< events appended so far
    std::vector<std::string> frames;  ///< the SSE frames from the index asked for (at most the count asked for)
};

/// What `SharedRunLog::append` learnt about its run.
struct SharedRunAppend {
    bool owned = true;              ///< false: the run is no longer this instance's (its lease ran out and
                                    ///< it was marked failed or replaced): stop it
    bool cancel_requested = false;  ///< another instance asked to stop it
};

/// A run log kept where every instance of a deployment can read it (a database), so that
/// `GET <chatkit path>/runs/{thread_id}` on instance B follows a run executing on instance A, a stop
/// sent to B stops it, and a thread has one running run across all instances.
///
/// A store that can hold one returns it from `Store::shared_run_log()` (PostgresStore does); the
/// server then uses it next to its in-process log (`RunOptions::share_runs`). Runs are keyed by
/// (owner, thread id); one run per thread is kept, a new one replaces the last. The running one is
/// held with a lease that its instance renews; once it lapses (the instance died, or lost the
/// database for longer than the lease) the next `read` or `claim` marks it failed, its events kept.
///
/// Every call is a coroutine on the awaiting coroutine's executor that completes within the store's
/// call timeout and cannot be cancelled from outside; failures throw `chatkit::Error`
/// (`error::store_busy` when the database cannot answer now). Reference arguments must stay valid
/// until the call completes. Thread-safe. Must outlive every call (the store outlives the server and
/// the io_context's run).
class CHATKIT_API SharedRunLog {
public:
    virtual ~SharedRunLog() = default;

    /// Makes `run_id` (held by `instance` for `lease`) the thread's run, replacing an ended one or one
    /// whose lease lapsed (whose events are dropped). False when another run of the thread is running
    /// under a live lease. Also forgets runs that ended more than `retention` ago (a bounded batch).
    virtual asio::awaitable<bool> claim(std::string const& owner, std::string const& thread_id,
                                        std::string const& run_id, std::string const& instance,
                                        std::chrono::milliseconds lease, std::chrono::milliseconds retention) = 0;

    /// Appends `frames` as events `first`, `first + 1`... of `run_id` (already stored ones are kept),
    /// keeps its `keep_last` newest events, renews its lease to `lease` from now, and when `end` is
    /// set marks it done. Does nothing to a run that is no longer running under this lease.
    virtual asio::awaitable<SharedRunAppend> append(std::string const& run_id, std::uint64_t first,
                                                    std::vector<std::string> const& frames, std::uint64_t keep_last,
                                                    std::chrono::milliseconds lease, bool end) = 0;

    /// The thread's run and at most `max_frames` of its events from index `after`. A running run whose
    /// lease lapsed is first marked failed, `failed_frame` appended as its last event. A run that ended
    /// more than `retention` ago is not found.
    virtual asio::awaitable<SharedRunRead> read(std::string const& owner, std::string const& thread_id,
                                                std::uint64_t after, std::size_t max_frames,
                                                std::chrono::milliseconds retention, std::string const& failed_frame) = 0;

    /// Asks the thread's running run to stop (its instance sees it at its next append or heartbeat).
    /// False when no run of the thread is running.
    virtual asio::awaitable<bool> request_cancel(std::string const& owner, std::string const& thread_id) = 0;
};

}  // namespace chatkit
