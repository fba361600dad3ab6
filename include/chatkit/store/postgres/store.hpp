// chatkit-cpp: PostgresStore, a Store kept in a PostgreSQL database (target chatkit::postgres).
#pragma once

#include <chatkit/store/postgres/backend.hpp>
#include <chatkit/store/postgres/options.hpp>
#include <chatkit/store/store.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace chatkit {

/**
 * A Store kept in a PostgreSQL database, shared by every server instance that opens it:
 * several processes behind one load balancer see the same threads, so no sticky sessions are needed.
 *
 * The data model and semantics are SqliteStore's: threads, items and attachment records are kept
 * as their full protocol JSON (store form, byte for byte) next to indexed columns for the owner,
 * the thread, `created_at` and a sequence number; pages are keyset scans (O(page size)); items with
 * equal `created_at` keep insertion order, also when two instances append to one thread at once;
 * `add_thread_item` and `save_item` upsert by id, keeping an existing item's position; adding an
 * item to a thread that does not exist for the owner throws `error::not_found`.
 *
 * @par Tenancy
 * Every query is filtered by `owner_key(ctx)` (one owner, the empty string, by default). Another
 * owner's thread, item or attachment is not found, never forbidden; cursors are looked up within
 * the owner too.
 *
 * @par Executor
 * A call runs on the awaiting coroutine's executor (its strand) and never blocks it: libpq works in
 * non-blocking mode and the coroutine is suspended on the connection's socket while the server
 * works (only the host-name lookup of a new connection runs on the store's own helper thread). The
 * statements of one call go in one round trip (pipeline mode), on a connection from a bounded pool
 * (`postgres::Options::pool_size`) used by one call at a time.
 *
 * @par Errors and cancellation
 * Every call completes within `postgres::Options::call_timeout` or throws `error::store_busy`
 * (503 with `Retry-After` for the client). A connection lost mid-call fails that call with
 * `error::store_busy`; the pool replaces dead connections by itself (including after a server
 * restart). Serialization failures and deadlocks are retried `serialization_retries` times. A call
 * cannot be cancelled from outside: once started it ends with its result or its error.
 *
 * @par Thread safety
 * Safe to call concurrently from any number of threads and strands.
 *
 * @par Durability
 * A completed write has committed on the server (with the server's `synchronous_commit`, the
 * default `on`, it survives a crash of the database server).
 *
 * @par Object lifetimes
 * Destroy the store only after every call on it has completed.
 */
template <class Context>
class PostgresStore : public Store<Context> {
public:
    /** Computes the owner (user, tenant) of a request from its context. */
    using OwnerKey = std::function<std::string(Context const&)>;

    /**
     * Connects (blocking, at start-up) and migrates the schema; a single-owner store.
     * @throws std::invalid_argument for invalid options.
     * @throws Error `error::store_failure` when the database cannot be reached or used (a refused
     *         connection or password, a database that is not UTF-8, a schema newer than this library).
     */
    explicit PostgresStore(postgres::Options options)
        : PostgresStore(std::move(options), [](Context const&) { return std::string(); }) {}

    /** Same, with data partitioned by `owner_key(ctx)`: one owner's data does not exist for another. */
    PostgresStore(postgres::Options options, OwnerKey owner_key)
        : owner_key_(std::move(owner_key)),
          backend_(std::make_unique<postgres::detail::backend>(std::move(options))) {}

    /** The options the store was opened with. */
    postgres::Options const& options() const noexcept { return backend_->options(); }

    /** What the connection pool holds right now, and what it did so far. */
    postgres::PoolStats stats() const { return backend_->stats(); }

    /** The owner key of `ctx` (the partition its data lives in). */
    std::string owner_of(Context const& ctx) const override { return owner_key_(ctx); }

    asio::awaitable<ThreadMetadata> load_thread(std::string const& thread_id, Context const& ctx) override {
        std::string const owner = owner_key_(ctx);
        co_return co_await backend_->load_thread(owner, thread_id);
    }

    asio::awaitable<void> save_thread(ThreadMetadata const& thread, Context const& ctx) override {
        std::string const owner = owner_key_(ctx);
        co_await backend_->save_thread(owner, thread);
    }

    asio::awaitable<Page<ThreadMetadata>> load_threads(int limit, std::optional<std::string> const& after,
                                                       Order order, Context const& ctx) override {
        std::string const owner = owner_key_(ctx);
        co_return co_await backend_->load_threads(owner, limit, after, order);
    }

    asio::awaitable<Page<ThreadItem>> load_thread_items(std::string const& thread_id,
                                                        std::optional<std::string> const& after, int limit,
                                                        Order order, Context const& ctx) override {
        std::string const owner = owner_key_(ctx);
        co_return co_await backend_->load_thread_items(owner, thread_id, after, limit, order);
    }

    asio::awaitable<void> add_thread_item(std::string const& thread_id, ThreadItem const& item,
                                          Context const& ctx) override {
        std::string const owner = owner_key_(ctx);
        co_await backend_->save_item(owner, thread_id, item);
    }

    asio::awaitable<void> save_item(std::string const& thread_id, ThreadItem const& item,
                                    Context const& ctx) override {
        std::string const owner = owner_key_(ctx);
        co_await backend_->save_item(owner, thread_id, item);
    }

    asio::awaitable<ThreadItem> load_item(std::string const& thread_id, std::string const& item_id,
                                          Context const& ctx) override {
        std::string const owner = owner_key_(ctx);
        co_return co_await backend_->load_item(owner, thread_id, item_id);
    }

    asio::awaitable<void> delete_thread(std::string const& thread_id, Context const& ctx) override {
        std::string const owner = owner_key_(ctx);
        co_await backend_->delete_thread(owner, thread_id);
    }

    asio::awaitable<void> delete_thread_item(std::string const& thread_id, std::string const& item_id,
                                             Context const& ctx) override {
        std::string const owner = owner_key_(ctx);
        co_await backend_->delete_thread_item(owner, thread_id, item_id);
    }

    asio::awaitable<void> save_attachment(Attachment const& attachment, Context const& ctx) override {
        std::string const owner = owner_key_(ctx);
        co_await backend_->save_attachment(owner, attachment);
    }

    asio::awaitable<Attachment> load_attachment(std::string const& attachment_id,
                                                Context const& ctx) override {
        std::string const owner = owner_key_(ctx);
        co_return co_await backend_->load_attachment(owner, attachment_id);
    }

    asio::awaitable<void> delete_attachment(std::string const& attachment_id, Context const& ctx) override {
        std::string const owner = owner_key_(ctx);
        co_await backend_->delete_attachment(owner, attachment_id);
    }

    asio::awaitable<UsageTotals> record_usage(UsageRecord const& record, Context const& ctx) override {
        std::string const owner = owner_key_(ctx);
        co_return co_await backend_->record_usage(owner, record);
    }

    asio::awaitable<UsageTotals> load_usage_totals(std::string const& thread_id, std::int64_t day,
                                                   Context const& ctx) override {
        std::string const owner = owner_key_(ctx);
        co_return co_await backend_->load_usage_totals(owner, thread_id, day);
    }

    asio::awaitable<UsageSummary> load_usage(std::size_t max_threads, Context const& ctx) override {
        std::string const owner = owner_key_(ctx);
        co_return co_await backend_->load_usage(owner, max_threads);
    }

    asio::awaitable<std::vector<UsageRecord>> load_usage_records(std::string const& thread_id, int limit,
                                                                 Context const& ctx) override {
        std::string const owner = owner_key_(ctx);
        co_return co_await backend_->load_usage_records(owner, thread_id, limit);
    }

    /** The run log every instance on this database shares (tables `chatkit_runs`,
     *  `chatkit_run_events`): a resume or a stop sent to any instance reaches a run executing on
     *  another, and a thread has one running run across instances (see SharedRunLog). */
    SharedRunLog* shared_run_log() noexcept override { return backend_.get(); }

private:
    OwnerKey owner_key_;
    std::unique_ptr<postgres::detail::backend> backend_;
};

}  // namespace chatkit
