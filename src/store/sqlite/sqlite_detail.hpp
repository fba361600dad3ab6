// chatkit-cpp: internals of SqliteStore's backend shared by its source files (not installed).
#pragma once

#include <chatkit/store/sqlite/backend.hpp>

#include <boost/asio/thread_pool.hpp>

#include <sqlite3.h>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatkit::sqlite::detail {

inline constexpr std::int64_t min_key = std::numeric_limits<std::int64_t>::min();
inline constexpr std::int64_t max_key = std::numeric_limits<std::int64_t>::max();

[[noreturn]] inline void fail(std::string message) {
    throw_error(error::store_failure, "SqliteStore: " + std::move(message));
}

// A failed SQLite call, with the code a client can act on: a lock held past busy_timeout is
// store_busy (503, retry later), a full disk or database store_full (507); the rest store_failure.
[[noreturn]] inline void fail_rc(int rc, std::string message) {
    int const primary = rc & 0xff;
    error const code = primary == SQLITE_BUSY || primary == SQLITE_LOCKED ? error::store_busy
                       : primary == SQLITE_FULL                           ? error::store_full
                                                                          : error::store_failure;
    throw_error(code, "SqliteStore: " + std::move(message));
}

inline std::string describe(sqlite3* db, int rc) {
    std::string text = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    text += " (SQLite error " + std::to_string(db ? sqlite3_extended_errcode(db) : rc) + ")";
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
        text += "; another connection held the lock for longer than busy_timeout";
    return text;
}

// One prepared statement, prepared once per connection and reused.
class statement {
public:
    statement() = default;
    statement(sqlite3* db, char const* sql) : db_(db) {
        int const rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
        if (rc != SQLITE_OK) fail("cannot prepare \"" + std::string(sql) + "\": " + describe(db, rc));
    }
    statement(statement const&) = delete;
    statement& operator=(statement const&) = delete;
    statement(statement&& other) noexcept : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)) {}
    statement& operator=(statement&& other) noexcept {
        std::swap(db_, other.db_);
        std::swap(stmt_, other.stmt_);
        return *this;
    }
    ~statement() { sqlite3_finalize(stmt_); }

    sqlite3* db() const noexcept { return db_; }
    sqlite3_stmt* get() const noexcept { return stmt_; }

private:
    sqlite3* db_ = nullptr;
    sqlite3_stmt* stmt_ = nullptr;
};

// One execution of a prepared statement: binds parameters, steps, and resets the statement (and
// clears its bindings) when it goes out of scope. Text is bound without copying, so bound strings
// must outlive the `use`.
class use {
public:
    explicit use(statement& s) : s_(s) {}
    use(use const&) = delete;
    use& operator=(use const&) = delete;
    ~use() {
        sqlite3_reset(s_.get());
        sqlite3_clear_bindings(s_.get());
    }

    use& bind(int index, std::string_view text) {
        check(sqlite3_bind_text64(s_.get(), index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8));
        return *this;
    }
    use& bind(int index, std::int64_t value) {
        check(sqlite3_bind_int64(s_.get(), index, value));
        return *this;
    }

    // True when a row is available, false when the statement is done.
    bool step() {
        int const rc = sqlite3_step(s_.get());
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        fail_rc(rc, describe(s_.db(), rc));
    }
    // Runs a statement that returns no rows.
    void run() {
        while (step()) {
        }
    }

    std::int64_t int64(int column) const { return sqlite3_column_int64(s_.get(), column); }
    std::string_view text(int column) const {
        auto const* p = reinterpret_cast<char const*>(sqlite3_column_text(s_.get(), column));
        return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(s_.get(), column)))
                 : std::string_view();
    }

private:
    void check(int rc) {
        if (rc != SQLITE_OK) fail("cannot bind a parameter: " + describe(s_.db(), rc));
    }

    statement& s_;
};

// Runs SQL text that needs no parameters (pragmas, DDL).
inline void exec(sqlite3* db, char const* sql) {
    char* message = nullptr;
    int const rc = sqlite3_exec(db, sql, nullptr, nullptr, &message);
    if (rc != SQLITE_OK) {
        std::string text = message ? message : sqlite3_errstr(rc);
        sqlite3_free(message);
        fail_rc(rc, std::string("\"") + sql + "\" failed: " + text + " (SQLite error " +
                        std::to_string(sqlite3_extended_errcode(db)) + ")");
    }
}

// The first column of the first row of a parameterless query, as text.
inline std::string query_text(sqlite3* db, char const* sql) {
    statement s(db, sql);
    use u(s);
    return u.step() ? std::string(u.text(0)) : std::string();
}

inline std::int64_t query_int(sqlite3* db, char const* sql) {
    statement s(db, sql);
    use u(s);
    return u.step() ? u.int64(0) : 0;
}

// A connection with its prepared statements. Used by one thread at a time.
struct connection {
    sqlite3* db = nullptr;

    // reads
    statement thread_select;
    statement thread_cursor;
    statement threads_asc;
    statement threads_desc;
    statement item_select;
    statement item_cursor;
    statement items_asc;
    statement items_desc;
    statement attachment_select;
    // writes (prepared on the writer only)
    statement begin;
    statement commit;
    statement rollback;
    statement savepoint;
    statement release;
    statement rollback_to;
    statement thread_update;
    statement thread_next_seq;
    statement thread_insert;
    statement thread_delete;
    statement item_update;
    statement item_next_seq;
    statement item_insert;
    statement item_delete;
    statement attachment_upsert;
    statement attachment_delete;

    connection() = default;
    connection(connection const&) = delete;
    connection& operator=(connection const&) = delete;
    // sqlite3_close_v2 defers the close until the statements (members, destroyed after this body)
    // are finalized.
    ~connection() { sqlite3_close_v2(db); }

    void prepare_reads() {
        thread_select = {db, "SELECT created_at, data FROM threads WHERE owner = ?1 AND id = ?2"};
        thread_cursor = {db, "SELECT created_at, seq FROM threads WHERE owner = ?1 AND id = ?2"};
        threads_asc = {
            db,
            "SELECT id, created_at, data FROM threads WHERE owner = ?1 AND (created_at, seq) > (?2, ?3) "
            "ORDER BY created_at ASC, seq ASC LIMIT ?4"};
        threads_desc = {
            db,
            "SELECT id, created_at, data FROM threads WHERE owner = ?1 AND (created_at, seq) < (?2, ?3) "
            "ORDER BY created_at DESC, seq DESC LIMIT ?4"};
        item_select = {db,
                       "SELECT created_at, data FROM items WHERE owner = ?1 AND thread_id = ?2 AND id = ?3"};
        item_cursor = {db,
                       "SELECT created_at, seq FROM items WHERE owner = ?1 AND thread_id = ?2 AND id = ?3"};
        items_asc = {db,
                     "SELECT id, created_at, data FROM items WHERE owner = ?1 AND thread_id = ?2 "
                     "AND (created_at, seq) > (?3, ?4) ORDER BY created_at ASC, seq ASC LIMIT ?5"};
        items_desc = {db,
                      "SELECT id, created_at, data FROM items WHERE owner = ?1 AND thread_id = ?2 "
                      "AND (created_at, seq) < (?3, ?4) ORDER BY created_at DESC, seq DESC LIMIT ?5"};
        attachment_select = {db, "SELECT data FROM attachments WHERE owner = ?1 AND id = ?2"};
    }

    void prepare_writes() {
        begin = {db, "BEGIN IMMEDIATE"};
        commit = {db, "COMMIT"};
        rollback = {db, "ROLLBACK"};
        savepoint = {db, "SAVEPOINT chatkit_write"};
        release = {db, "RELEASE chatkit_write"};
        rollback_to = {db, "ROLLBACK TO chatkit_write"};
        thread_update = {db, "UPDATE threads SET created_at = ?3, data = ?4 WHERE owner = ?1 AND id = ?2"};
        thread_next_seq = {db,
                           "UPDATE sequences SET value = value + 1 WHERE name = 'threads' RETURNING value"};
        thread_insert = {
            db, "INSERT INTO threads (owner, id, created_at, seq, data) VALUES (?1, ?2, ?3, ?4, ?5)"};
        thread_delete = {db, "DELETE FROM threads WHERE owner = ?1 AND id = ?2"};
        item_update = {
            db,
            "UPDATE items SET created_at = ?4, data = ?5 WHERE owner = ?1 AND thread_id = ?2 AND id = ?3"};
        item_next_seq = {db,
                         "UPDATE threads SET item_seq = item_seq + 1 WHERE owner = ?1 AND id = ?2 "
                         "RETURNING item_seq"};
        item_insert = {db,
                       "INSERT INTO items (owner, thread_id, id, created_at, seq, data) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"};
        item_delete = {db, "DELETE FROM items WHERE owner = ?1 AND thread_id = ?2 AND id = ?3"};
        attachment_upsert = {db,
                             "INSERT INTO attachments (owner, id, data) VALUES (?1, ?2, ?3) "
                             "ON CONFLICT (owner, id) DO UPDATE SET data = excluded.data"};
        attachment_delete = {db, "DELETE FROM attachments WHERE owner = ?1 AND id = ?2"};
    }
};

// BEGIN IMMEDIATE ... COMMIT, rolled back when left without commit() (SQLiteCpp's Transaction).
class transaction {
public:
    explicit transaction(connection& c) : c_(c) { use(c_.begin).run(); }
    transaction(transaction const&) = delete;
    transaction& operator=(transaction const&) = delete;
    ~transaction() {
        if (done_) return;
        // Errors are ignored: SQLite may already have rolled back (SQLITE_FULL, SQLITE_IOERR).
        sqlite3_reset(c_.rollback.get());
        sqlite3_step(c_.rollback.get());
        sqlite3_reset(c_.rollback.get());
    }
    void commit() {
        use(c_.commit).run();
        done_ = true;
    }

private:
    connection& c_;
    bool done_ = false;
};

struct backend::impl {
    SqliteOptions options;
    bool memory = false;

    std::unique_ptr<connection> writer;
    std::mutex writer_mutex;

    std::vector<std::unique_ptr<connection>> readers;
    std::mutex readers_mutex;
    std::condition_variable readers_cv;
    std::vector<connection*> free_readers;

    asio::thread_pool write_pool{1};
    std::optional<asio::thread_pool> read_pool;

    ~impl() {
        // Let queued work (reads, and drains of queued writes) finish before the connections close.
        write_pool.join();
        if (read_pool) read_pool->join();
    }

    // A read connection borrowed for one call (the writer, locked, when there are no readers).
    class read_lease {
    public:
        explicit read_lease(impl& i) : i_(i) {
            if (i_.readers.empty()) {
                writer_lock_ = std::unique_lock(i_.writer_mutex);
                c_ = i_.writer.get();
                return;
            }
            std::unique_lock lock(i_.readers_mutex);
            i_.readers_cv.wait(lock, [&] { return !i_.free_readers.empty(); });
            c_ = i_.free_readers.back();
            i_.free_readers.pop_back();
        }
        read_lease(read_lease const&) = delete;
        read_lease& operator=(read_lease const&) = delete;
        ~read_lease() {
            if (writer_lock_) return;
            {
                std::lock_guard lock(i_.readers_mutex);
                i_.free_readers.push_back(c_);
            }
            i_.readers_cv.notify_one();
        }
        connection& operator*() const noexcept { return *c_; }
        connection* operator->() const noexcept { return c_; }

    private:
        impl& i_;
        connection* c_ = nullptr;
        std::unique_lock<std::mutex> writer_lock_;
    };

    // The writer connection for one write. On the writer thread inside a group commit (run_group),
    // the group's open transaction, in which the group has opened a SAVEPOINT for this write;
    // anywhere else (the backend called directly), the writer locked for a transaction of its own
    // (BEGIN IMMEDIATE, rolled back unless commit() is called).
    class write_scope {
    public:
        explicit write_scope(impl& i) : c_(*i.writer) {
            if (group_of_this_thread == &i) return;
            lock_ = std::unique_lock(i.writer_mutex);
            tx_.emplace(c_);
        }
        write_scope(write_scope const&) = delete;
        write_scope& operator=(write_scope const&) = delete;
        // Commits the write's own transaction; inside a group, the group commits.
        void commit() {
            if (tx_) tx_->commit();
        }
        connection& operator*() const noexcept { return c_; }
        connection* operator->() const noexcept { return &c_; }

    private:
        connection& c_;
        std::unique_lock<std::mutex> lock_;
        std::optional<transaction> tx_;  // declared after lock_: rolled back before the unlock
    };

    // The backend whose group commit the current thread is running (see write_scope).
    static inline thread_local impl const* group_of_this_thread = nullptr;

    // Group commit (writer.cpp): writes wait in `queue` (at most `max_queued`); one drain at a time
    // is posted to or running on the writer thread while the queue is not empty.
    std::mutex queue_mutex;
    std::vector<write_op*> queue;
    std::size_t max_queued = 1;
    bool draining = false;

    // Takes every queued write and runs them as one group; posts itself again while writes wait.
    void drain();
    // Runs `group` in one transaction, a SAVEPOINT per write, then completes every write.
    void run_group(std::vector<write_op*>& group);

    // Reads `limit + 1` rows after the cursor key in `order` and builds the page.
    template <class T, class Parse>
    static Page<T> read_page(use& u, int limit, Parse parse) {
        Page<T> page;
        while (u.step()) {
            if (static_cast<int>(page.data.size()) == limit) {
                page.has_more = true;
                break;
            }
            page.data.push_back(parse(u));
        }
        return page;
    }
};
}  // namespace chatkit::sqlite::detail
