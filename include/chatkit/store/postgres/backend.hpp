// chatkit-cpp: the compiled, context-free core of PostgresStore (target chatkit::postgres).
#pragma once

#include <chatkit/core/error.hpp>
#include <chatkit/protocol/items.hpp>
#include <chatkit/store/run_log.hpp>
#include <chatkit/store/usage.hpp>
#include <chatkit/store/postgres/options.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace chatkit::postgres {

/// What a PostgresStore's connection pool holds right now, and what it did so far.
struct PoolStats {
    /// Connections open or being opened (at most `Options::pool_size`).
    std::size_t open = 0;
    /// Of those, the ones waiting in the pool for a call.
    std::size_t idle = 0;
    /// Calls waiting for a connection because all are in use.
    std::size_t waiting = 0;
    /// Connections opened since the store was built (the constructor's first one included).
    std::uint64_t opened = 0;
    /// Connections closed because they were dead, out of step with the server or idle too long.
    std::uint64_t closed = 0;
};

namespace detail {

namespace asio = boost::asio;

/**
 * The PostgreSQL database behind a PostgresStore: a bounded pool of non-blocking libpq
 * connections driven on the callers' executors, every row partitioned by an owner key.
 *
 * The data methods are coroutines. They run on the awaiting coroutine's executor (the socket of
 * the connection they use is awaited there), never block it, and complete within
 * `Options::call_timeout`. They cannot be cancelled from outside: once started, a call ends with
 * its result or its error (a cancelled request simply ignores it), so a write is never left
 * half-known because the client went away.
 *
 * Failures throw `chatkit::Error`: `error::not_found` as the Store contract says;
 * `error::store_busy` when the database cannot answer now (no connection within the timeout, the
 * connection lost mid-call, serialization failures past the retries, the server shutting down);
 * `error::store_full` when the server's disk is full; `error::invalid_request` for objects the
 * database cannot hold (nesting deeper than `max_json_depth`, NUL characters); `error::store_failure`
 * for the rest (rows that cannot be read back name the row).
 */
class CHATKIT_API backend final : public SharedRunLog {
public:
    /** The schema version this library writes (the highest row of `chatkit_migrations`). */
    static constexpr int schema_version = 3;

    /**
     * Connects (blocking, within `Options::connect_timeout`) and migrates the schema under an
     * advisory lock, so that several instances starting together migrate once.
     * @throws std::invalid_argument for invalid options.
     * @throws Error `error::store_failure` when the database cannot be reached or used: a refused
     *         connection or password, a database that is not UTF-8, a schema version newer than this
     *         library's.
     */
    explicit backend(Options options);
    /** Closes the idle connections. Every call must have completed. */
    ~backend() override;
    backend(backend const&) = delete;
    backend& operator=(backend const&) = delete;

    /** The options the store was opened with. */
    Options const& options() const noexcept;
    /** The pool's counts. */
    PoolStats stats() const;

    // The Store operations (see chatkit::Store) within `owner`'s partition. Reference arguments must
    // stay valid until the returned awaitable completes; the awaitable runs on the awaiting
    // coroutine's executor and is not cancellable (see the class comment).

    /** Store::load_thread. */
    asio::awaitable<ThreadMetadata> load_thread(std::string const& owner, std::string const& thread_id);
    /** Store::save_thread. */
    asio::awaitable<void> save_thread(std::string const& owner, ThreadMetadata const& thread);
    /** Store::load_threads. */
    asio::awaitable<Page<ThreadMetadata>> load_threads(std::string const& owner, int limit,
                                                       std::optional<std::string> const& after, Order order);
    /** Store::load_thread_items. */
    asio::awaitable<Page<ThreadItem>> load_thread_items(std::string const& owner,
                                                        std::string const& thread_id,
                                                        std::optional<std::string> const& after, int limit,
                                                        Order order);
    /** Store::add_thread_item and Store::save_item: upserts an item by id, keeping the position of
     *  an existing one; `error::not_found` when the thread does not exist for `owner`. */
    asio::awaitable<void> save_item(std::string const& owner, std::string const& thread_id,
                                    ThreadItem const& item);
    /** Store::load_item. */
    asio::awaitable<ThreadItem> load_item(std::string const& owner, std::string const& thread_id,
                                          std::string const& item_id);
    /** Store::delete_thread. */
    asio::awaitable<void> delete_thread(std::string const& owner, std::string const& thread_id);
    /** Store::delete_thread_item. */
    asio::awaitable<void> delete_thread_item(std::string const& owner, std::string const& thread_id,
                                             std::string const& item_id);
    /** Store::save_attachment. */
    asio::awaitable<void> save_attachment(std::string const& owner, Attachment const& attachment);
    /** Store::load_attachment. */
    asio::awaitable<Attachment> load_attachment(std::string const& owner, std::string const& attachment_id);
    /** Store::delete_attachment. */
    asio::awaitable<void> delete_attachment(std::string const& owner, std::string const& attachment_id);
    /** Store::record_usage: the response row and both totals in one transaction (one round trip). */
    asio::awaitable<UsageTotals> record_usage(std::string const& owner, UsageRecord const& record);
    /** Store::load_usage_totals. */
    asio::awaitable<UsageTotals> load_usage_totals(std::string const& owner, std::string const& thread_id,
                                                   std::int64_t day);
    /** Store::load_usage. */
    asio::awaitable<UsageSummary> load_usage(std::string const& owner, std::size_t max_threads);
    /** Store::load_usage_records. */
    asio::awaitable<std::vector<UsageRecord>> load_usage_records(std::string const& owner,
                                                                 std::string const& thread_id, int limit);

    // The shared run log (SharedRunLog; tables chatkit_runs and chatkit_run_events): leases and the
    // retention window are on the database server's clock, so instances need no clock agreement.

    asio::awaitable<bool> claim(std::string const& owner, std::string const& thread_id, std::string const& run_id,
                                std::string const& instance, std::chrono::milliseconds lease,
                                std::chrono::milliseconds retention) override;
    asio::awaitable<SharedRunAppend> append(std::string const& run_id, std::uint64_t first,
                                            std::vector<std::string> const& frames, std::uint64_t keep_last,
                                            std::chrono::milliseconds lease, bool end) override;
    asio::awaitable<SharedRunRead> read(std::string const& owner, std::string const& thread_id, std::uint64_t after,
                                        std::size_t max_frames, std::chrono::milliseconds retention,
                                        std::string const& failed_frame) override;
    asio::awaitable<bool> request_cancel(std::string const& owner, std::string const& thread_id) override;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace detail
}  // namespace chatkit::postgres
