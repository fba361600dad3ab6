// The `--on-disconnect continue|cancel` option of the quickstart and agent_server (issue 18): what a
// running reply does when its browser tab closes or reloads (docs/concepts.md, "Replies that outlive
// the connection").
#pragma once

#include "cli.hpp"

#include <chatkit/server/runs.hpp>

#include <chrono>
#include <string>

namespace examples {

/// Declares `--on-disconnect` (env `CHATKIT_ON_DISCONNECT`, default `continue`),
/// `--on-busy-thread` (env `CHATKIT_ON_BUSY_THREAD`, default `reject`) and
/// `--run-retention-s` (env `CHATKIT_RUN_RETENTION_S`, default 600) and `--run-lease-s` (env
/// `CHATKIT_RUN_LEASE_S`, default 15).
inline Cli& on_disconnect_option(Cli& cli) {
    return cli
        .option("on-disconnect", "CHATKIT_ON_DISCONNECT", "continue",
                "what a running reply does when its client leaves: continue (it runs to the end and "
                "GET /chatkit/runs/{thread_id}?after=N resumes it) or cancel (it stops, the partial "
                "reply is saved)")
        .option("on-busy-thread", "CHATKIT_ON_BUSY_THREAD", "reject",
                "what a new message on a thread whose reply is still running gets: reject (409 conflict) "
                "or queue (it waits, up to 4 per thread and 2 minutes, and is answered once the reply ended)")
        .option("run-retention-s", "CHATKIT_RUN_RETENTION_S", "600",
                "seconds a finished reply's events stay in memory for GET /chatkit/runs/{thread_id} (1-86400)")
        .option("run-lease-s", "CHATKIT_RUN_LEASE_S", "15",
                "with a PostgreSQL --db: seconds after which a reply whose instance stopped answering is "
                "marked failed and its thread can run again (2-3600)");
}

/// The run options `--on-disconnect`, `--on-busy-thread`, `--run-retention-s` and `--run-lease-s`
/// chose (exits with a usage error on another value).
inline chatkit::RunOptions run_options(Cli& cli) {
    chatkit::RunOptions runs;
    std::string const value = cli.get("on-disconnect");
    if (value == "continue")
        runs.on_disconnect = chatkit::StreamPolicy::continue_on_disconnect;
    else if (value == "cancel")
        runs.on_disconnect = chatkit::StreamPolicy::cancel_on_disconnect;
    else
        cli.fail("option '--on-disconnect' must be continue or cancel, got '" + value.substr(0, 40) + "'");
    std::string const busy = cli.get("on-busy-thread");
    if (busy == "reject")
        runs.on_busy_thread = chatkit::BusyThreadPolicy::reject;
    else if (busy == "queue")
        runs.on_busy_thread = chatkit::BusyThreadPolicy::queue;
    else
        cli.fail("option '--on-busy-thread' must be reject or queue, got '" + busy.substr(0, 40) + "'");
    runs.retention = std::chrono::seconds(cli.whole("run-retention-s", 86400));
    auto const lease = cli.whole("run-lease-s", 3600);
    if (lease < 2) cli.fail("option '--run-lease-s' must be 2-3600, got '" + cli.get("run-lease-s") + "'");
    runs.shared_lease = std::chrono::seconds(lease);
    return runs;
}

}  // namespace examples
