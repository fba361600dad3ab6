// chatkit-cpp: runs, the streaming requests of a thread, and what happens to them when the client
// goes away (StreamPolicy, RunOptions).
#pragma once

#include <chrono>
#include <cstddef>

namespace chatkit {

/// What a running reply does when its client disconnects (closed tab, reload, dropped network).
enum class StreamPolicy {
    /// The reply is cancelled at once, as the Python reference does: the engine runs
    /// `handle_stream_cancelled` (the text streamed so far and a hidden "cancelled" note are
    /// saved). The default of `ChatKitServer`.
    cancel_on_disconnect,
    /// The client is only detached: `respond()` runs to its end (bounded by
    /// `RunOptions::max_run_time`), every item is saved as usual, and the rest of the reply can be
    /// followed with `GET <chatkit path>/runs/{thread_id}?after=N`. Only an explicit
    /// `POST <chatkit path>/runs/{thread_id}/cancel` (or the maximum run time) cancels it.
    continue_on_disconnect,
};

/// What a new streaming request on a thread whose run is still active gets.
enum class BusyThreadPolicy {
    /// 409 `{"error":{"code":"conflict",...}}` at once (the default).
    reject,
    /// It waits in the thread's queue (first come, first served; `RunOptions::max_queued_per_thread`
    /// waiting at most, one more answers 429 `rate_limited`) and starts once the runs before it
    /// ended; its response (and stream) starts only then. After `RunOptions::max_queue_wait` it
    /// answers 409 `conflict`, and nothing of it is stored.
    queue,
};

/// Bytes each run-log event counts against `RunOptions::max_log_bytes` besides its frame (the
/// bookkeeping of one stored frame).
inline constexpr std::size_t run_log_event_overhead = 64;

/// How a `ChatKitServer` keeps the runs of its threads (`ChatKitServerOptions::runs`).
///
/// A *run* is one streaming request of a thread (a user message, a client tool output, a custom
/// action, a retry...). Its events are appended to an in-process run log with their index (0 for
/// `stream_options`), which the original response and any resumer read; a thread has at most one
/// active run at a time. Every bound here has a clear failure mode, given with the field.
struct RunOptions {
    /// What a disconnect does (overridable per request with `ChatKitServer::stream_policy`).
    StreamPolicy on_disconnect = StreamPolicy::cancel_on_disconnect;
    /// What a new streaming request on a thread with an active run gets.
    BusyThreadPolicy on_busy_thread = BusyThreadPolicy::reject;
    /// With `BusyThreadPolicy::queue`: requests waiting per thread (one more: 429).
    std::size_t max_queued_per_thread = 4;
    /// With `BusyThreadPolicy::queue`: longest wait of a queued request (then: 409).
    std::chrono::milliseconds max_queue_wait = std::chrono::minutes(2);
    /// Longest time a run may take; it is then cancelled with the reference's cancel semantics
    /// (partial reply and hidden note saved), whichever the policy.
    std::chrono::milliseconds max_run_time = std::chrono::minutes(30);
    /// How long a finished run stays readable by `GET .../runs/{thread_id}` (then: 404).
    std::chrono::milliseconds retention = std::chrono::minutes(10);
    /// Events a run log keeps; beyond it the oldest are dropped, and a resume (or a slow client)
    /// that needs a dropped event gets 410 `{"error":{"code":"run_log_truncated",...}}` (a stream
    /// already running ends without its last events: re-read the thread).
    std::size_t max_events_per_run = 20000;
    /// Bytes all run logs of the server keep together: each event counts its SSE frame's size plus
    /// `run_log_event_overhead` (64). Over it, finished runs are forgotten oldest first (a resume
    /// of one then answers 404); if the active runs alone are over it, the oldest events of the
    /// largest active log are dropped (a resume needing them answers 410 `run_log_truncated`).
    ///
    /// Worst case memory of the run logs: `max_log_bytes` plus about 1 KiB per tracked run
    /// (`max_runs`), so about 74 MiB with the defaults, whatever the clients do; `max_events_per_run`
    /// and `retention` only bound one log and its lifetime below that.
    std::size_t max_log_bytes = std::size_t{64} << 20;
    /// Runs tracked at once (active, plus finished ones inside the retention window). When it is
    /// reached the oldest finished run is forgotten; when every one is active a new streaming
    /// request answers 429 (`rate_limited`).
    std::size_t max_runs = 10000;
    /// Resumers following one run at once; one more answers 429 (`rate_limited`).
    std::size_t max_resumers_per_run = 8;

    // Across instances (a store with a SharedRunLog, such as PostgresStore).

    /// Use the store's shared run log when it has one: every run is also appended to it, so a resume
    /// or a stop sent to another instance reaches it, and a thread has one running run across all
    /// instances (another instance's answers 409, or waits with BusyThreadPolicy::queue). False:
    /// in-process only, each instance on its own.
    bool share_runs = true;
    /// How long a run stays held without a sign of life from its instance: when the instance dies, the
    /// run is marked failed this long after its last heartbeat (its events kept, ending with an `error`
    /// event), and the thread can run again.
    std::chrono::milliseconds shared_lease = std::chrono::seconds(15);
    /// How often a running run appends its new events to the shared log, renews its lease and looks
    /// for a stop sent to another instance (at least this often while it is quiet; as soon as the
    /// previous append completed while it streams).
    std::chrono::milliseconds shared_heartbeat = std::chrono::seconds(1);
    /// How often an instance following another instance's run polls the shared log for new events
    /// (the largest extra delay such a resumer sees).
    std::chrono::milliseconds shared_poll = std::chrono::milliseconds(200);
};

}  // namespace chatkit
