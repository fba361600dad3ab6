// chatkit-cpp: options of SqliteStore (target chatkit::sqlite).
#pragma once

#include <chatkit/core/config.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace chatkit {

/**
 * How a SqliteStore opens and uses its database.
 *
 * @par Durability
 * The database always runs in WAL mode. A write completes (its awaitable resumes) only after the
 * transaction holding it has committed (concurrent writes share one transaction, see SqliteStore),
 * so a completed write survives a crash or `kill -9` of the process whatever `synchronous_full`
 * says. The setting decides what survives a power loss or an OS crash:
 * - `false` (`PRAGMA synchronous=NORMAL`, the default): the database stays consistent (never
 *   corrupt), but the most recent commits (those since the last WAL checkpoint sync) may be lost.
 * - `true` (`PRAGMA synchronous=FULL`): every commit is fsync'ed before the write completes, so a
 *   completed write also survives a power loss, at the cost of one fsync per commit (one per group
 *   of concurrent writes).
 */
struct SqliteOptions {
    /** Path of the database file, created when missing (its directory must exist), or `":memory:"`
     *  for a private in-memory database that disappears with the store. */
    std::string path;

    /** `PRAGMA synchronous=FULL` instead of `NORMAL` (see Durability above). */
    bool synchronous_full = false;

    /** How long a statement waits for a lock held by another connection (another process or store
     *  on the same file) before failing with `error::store_failure` (`PRAGMA busy_timeout`). */
    std::chrono::milliseconds busy_timeout{5000};

    /** Number of read-only connections (each with its own thread) that serve reads next to the
     *  single writer connection; WAL lets them read while the writer writes. `0` runs reads on the
     *  writer's thread too. Ignored (treated as `0`) for `":memory:"`. */
    std::size_t read_connections = 2;

    /** How many writes may wait for the writer thread (see SqliteStore's group commit). A write
     *  that finds this many already waiting fails at once with `error::store_busy` (503, retry
     *  later) instead of queueing; values below 1 count as 1. Each waiting write holds only a
     *  pointer to its suspended caller. */
    std::size_t max_queued_writes = 10000;

    /** Upper bound, in bytes, of the WAL file kept on disk after a checkpoint
     *  (`PRAGMA journal_size_limit`). */
    std::int64_t journal_size_limit = 64 * 1024 * 1024;
};

}  // namespace chatkit
