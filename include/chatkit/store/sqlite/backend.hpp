// chatkit-cpp: the compiled, context-free core of SqliteStore (target chatkit::sqlite).
#pragma once

#include <chatkit/core/error.hpp>
#include <chatkit/protocol/items.hpp>
#include <chatkit/store/usage.hpp>
#include <chatkit/store/sqlite/options.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace chatkit::sqlite::detail {

namespace asio = boost::asio;

/**
 * A write waiting in a backend's queue for the writer thread (see `backend::submit`).
 *
 * The backend calls `run()` on the writer thread inside the transaction of a group of writes, then
 * `complete()` once that transaction has committed or the write has failed. The object must stay
 * valid until `complete()` is called; `complete()` may destroy it.
 */
class CHATKIT_API write_op {
public:
    /** Runs the write's statements through the backend's write methods, which join the group's
     *  transaction. What it throws fails this write alone (its SAVEPOINT is rolled back). May be
     *  called again when SQLite rolled back the whole group for another write's failure (a full
     *  disk): the write's earlier effects are then undone. */
    virtual void run() = 0;
    /** The write committed (`failure` is null) or failed with `failure`; called once, on the writer
     *  thread, after the group's transaction ended. Must not throw. */
    virtual void complete(std::exception_ptr failure) noexcept = 0;

protected:
    write_op() = default;
    write_op(write_op const&) = default;
    write_op& operator=(write_op const&) = default;
    virtual ~write_op() = default;
};

/**
 * The SQLite database behind a SqliteStore: one writer connection on its own thread, optional
 * read connections on a small pool of threads, every row partitioned by an owner key.
 *
 * The data methods are synchronous and block on SQLite; they are thread-safe (the writer
 * connection is guarded by a mutex, each read borrows a free read connection). Called directly, a
 * write method runs its own transaction. SqliteStore runs reads on `read_executor()` and submits
 * writes to the writer's queue (`submit`), so that they never block an I/O thread: the writer thread
 * takes every queued write at once and runs them as a group commit, one transaction with a SAVEPOINT
 * per write, so concurrent writes share one commit (one WAL append and lock round) and one wake-up
 * of the writer.
 *
 * Failures throw `chatkit::Error`: `error::not_found` as the Store contract says, and
 * `error::store_failure` for SQLite errors and rows that cannot be read back (the message names
 * the row). The constructor throws `error::store_failure` when the database cannot be opened,
 * is not a chatkit database, or has a newer schema than this library knows.
 */
class CHATKIT_API backend {
public:
    /** The schema version this library writes (`PRAGMA user_version`). */
    static constexpr int schema_version = 2;
    /** `PRAGMA application_id` of a chatkit-cpp database ("CKSQ"). */
    static constexpr int application_id = 0x434b5351;

    /** Opens (creating when missing) and migrates the database, then prepares every statement. */
    explicit backend(SqliteOptions options);
    /** Waits for queued work to finish, then closes the connections. */
    ~backend();
    backend(backend const&) = delete;
    backend& operator=(backend const&) = delete;

    /** The single thread that runs writes. */
    asio::any_io_executor write_executor() const noexcept;
    /**
     * Queues `op` for the writer thread: it runs with the writes queued with it in one transaction
     * (group commit), and `op.complete()` is called after that transaction has committed.
     * @returns false, without queueing `op` or calling it, when `SqliteOptions::max_queued_writes`
     *          writes are already waiting (the caller fails with `error::store_busy`).
     */
    bool submit(write_op& op);
    /** The threads that run reads (the writer's thread when there are no read connections). */
    asio::any_io_executor read_executor() const noexcept;

    /** The options the database was opened with. */
    SqliteOptions const& options() const noexcept;

    ThreadMetadata load_thread(std::string const& owner, std::string const& thread_id);
    void save_thread(std::string const& owner, ThreadMetadata const& thread);
    Page<ThreadMetadata> load_threads(std::string const& owner, int limit,
                                      std::optional<std::string> const& after, Order order);
    Page<ThreadItem> load_thread_items(std::string const& owner, std::string const& thread_id,
                                       std::optional<std::string> const& after, int limit, Order order);
    /** Upserts an item by id, keeping the position of an existing one; `error::not_found` when the
     *  thread does not exist for `owner`. */
    void save_item(std::string const& owner, std::string const& thread_id, ThreadItem const& item);
    ThreadItem load_item(std::string const& owner, std::string const& thread_id, std::string const& item_id);
    void delete_thread(std::string const& owner, std::string const& thread_id);
    void delete_thread_item(std::string const& owner, std::string const& thread_id,
                            std::string const& item_id);
    void save_attachment(std::string const& owner, Attachment const& attachment);
    Attachment load_attachment(std::string const& owner, std::string const& attachment_id);
    void delete_attachment(std::string const& owner, std::string const& attachment_id);
    /** Adds a response's usage and the thread's and day's totals in one transaction; returns the totals. */
    UsageTotals record_usage(std::string const& owner, UsageRecord const& record);
    UsageTotals load_usage_totals(std::string const& owner, std::string const& thread_id, std::int64_t day);
    UsageSummary load_usage(std::string const& owner, std::size_t max_threads);
    std::vector<UsageRecord> load_usage_records(std::string const& owner, std::string const& thread_id, int limit);

private:
    void open();

    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace chatkit::sqlite::detail
