// chatkit-cpp: the SQLite core of SqliteStore.
//
// Layout of the database (schema version 2, `PRAGMA user_version`):
//
//   threads     (owner, id) primary key; created_at (µs since the Unix epoch), seq (a global
//               insertion number, kept by updates), item_seq (the last sequence number given to an
//               item of the thread), data (ThreadMetadata as store JSON).
//               Index threads_by_order (owner, created_at, seq).
//   items       (owner, thread_id, id) primary key; created_at, seq (per-thread insertion number,
//               kept by upserts), data (the item as store JSON). Foreign key (owner, thread_id) ->
//               threads ON DELETE CASCADE. Index items_by_order (owner, thread_id, created_at, seq).
//   attachments (owner, id) primary key; data (the Attachment as store JSON, metadata included).
//   sequences   named counters ('threads').
//   usage_responses (version 2) one row per recorded model response (owner, thread_id, response_id,
//               UTC day, token counts); usage_threads (owner, thread_id) and usage_days (owner, day)
//               hold the running totals, updated in the same transaction.
//
// Pages are keyset scans: look the cursor row up by id (primary key), then seek the order index to
// `(created_at, seq) > (cursor)` (or `<` for descending) and read `limit + 1` rows. `seq` is a plain
// column, not the rowid: SQLite only seeks on a row-value range over ordinary index columns (with
// the rowid it seeks on created_at alone and then scans every row with that created_at).

#include <chatkit/protocol/json.hpp>
#include <chatkit/store/detail/rows.hpp>
#include <chatkit/store/sqlite/backend.hpp>

#include <boost/asio/thread_pool.hpp>
#include <boost/json/parse.hpp>

#include <sqlite3.h>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

namespace chatkit::sqlite::detail {
namespace {

constexpr std::int64_t min_key = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t max_key = std::numeric_limits<std::int64_t>::max();

[[noreturn]] void fail(std::string message) {
    throw_error(error::store_failure, "SqliteStore: " + std::move(message));
}

// A failed SQLite call, with the code a client can act on: a lock held past busy_timeout is
// store_busy (503, retry later), a full disk or database store_full (507); the rest store_failure.
[[noreturn]] void fail_rc(int rc, std::string message) {
    int const primary = rc & 0xff;
    error const code = primary == SQLITE_BUSY || primary == SQLITE_LOCKED ? error::store_busy
                       : primary == SQLITE_FULL                           ? error::store_full
                                                                          : error::store_failure;
    throw_error(code, "SqliteStore: " + std::move(message));
}

std::string describe(sqlite3* db, int rc) {
    std::string text = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    text += " (SQLite error " + std::to_string(db ? sqlite3_extended_errcode(db) : rc) + ")";
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
        text += "; another connection held the lock for longer than busy_timeout";
    return text;
}

using store_detail::micros;
using store_detail::row_text;
using store_detail::set_created_at;
using store_detail::timestamp;

template <class T>
T parse_row(std::string_view data, std::string const& what) {
    return store_detail::parse_row<T>(data, "SqliteStore", what);
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
void exec(sqlite3* db, char const* sql) {
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
std::string query_text(sqlite3* db, char const* sql) {
    statement s(db, sql);
    use u(s);
    return u.step() ? std::string(u.text(0)) : std::string();
}

std::int64_t query_int(sqlite3* db, char const* sql) {
    statement s(db, sql);
    use u(s);
    return u.step() ? u.int64(0) : 0;
}

// The schema, one entry per version: migrations[v] turns version v into v + 1. Never edit a
// released entry; append a new one and bump backend::schema_version.
constexpr char const* migrations[] = {
    // 0 -> 1
    R"sql(
    CREATE TABLE threads (
        owner      TEXT    NOT NULL,
        id         TEXT    NOT NULL,
        created_at INTEGER NOT NULL,
        seq        INTEGER NOT NULL,
        item_seq   INTEGER NOT NULL DEFAULT 0,
        data       TEXT    NOT NULL,
        PRIMARY KEY (owner, id)
    );
    CREATE UNIQUE INDEX threads_by_order ON threads (owner, created_at, seq);
    CREATE TABLE items (
        owner      TEXT    NOT NULL,
        thread_id  TEXT    NOT NULL,
        id         TEXT    NOT NULL,
        created_at INTEGER NOT NULL,
        seq        INTEGER NOT NULL,
        data       TEXT    NOT NULL,
        PRIMARY KEY (owner, thread_id, id),
        FOREIGN KEY (owner, thread_id) REFERENCES threads (owner, id) ON DELETE CASCADE
    );
    CREATE UNIQUE INDEX items_by_order ON items (owner, thread_id, created_at, seq);
    CREATE TABLE attachments (
        owner TEXT NOT NULL,
        id    TEXT NOT NULL,
        data  TEXT NOT NULL,
        PRIMARY KEY (owner, id)
    );
    CREATE TABLE sequences (
        name  TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    );
    INSERT INTO sequences (name, value) VALUES ('threads', 0);
    )sql",
    // 1 -> 2: token usage (per response, per thread, per owner and UTC day)
    R"sql(
    CREATE TABLE usage_responses (
        id          INTEGER PRIMARY KEY,
        owner       TEXT    NOT NULL,
        thread_id   TEXT    NOT NULL,
        response_id TEXT    NOT NULL,
        day         INTEGER NOT NULL,
        input       INTEGER NOT NULL,
        cached      INTEGER NOT NULL,
        output      INTEGER NOT NULL,
        reasoning   INTEGER NOT NULL
    );
    CREATE INDEX usage_responses_by_thread ON usage_responses (owner, thread_id, id);
    CREATE TABLE usage_threads (
        owner     TEXT    NOT NULL,
        thread_id TEXT    NOT NULL,
        input     INTEGER NOT NULL,
        cached    INTEGER NOT NULL,
        output    INTEGER NOT NULL,
        reasoning INTEGER NOT NULL,
        PRIMARY KEY (owner, thread_id)
    ) WITHOUT ROWID;
    CREATE TABLE usage_days (
        owner     TEXT    NOT NULL,
        day       INTEGER NOT NULL,
        input     INTEGER NOT NULL,
        cached    INTEGER NOT NULL,
        output    INTEGER NOT NULL,
        reasoning INTEGER NOT NULL,
        PRIMARY KEY (owner, day)
    ) WITHOUT ROWID;
    )sql",
};
static_assert(std::size(migrations) == backend::schema_version);

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

std::unique_ptr<connection> open_connection(SqliteOptions const& options, bool writer) {
    auto c = std::make_unique<connection>();
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    if (writer) flags |= SQLITE_OPEN_CREATE;
    int const rc = sqlite3_open_v2(options.path.c_str(), &c->db, flags, nullptr);
    if (rc != SQLITE_OK) fail(describe(c->db, rc));
    sqlite3_extended_result_codes(c->db, 1);
    auto const timeout = options.busy_timeout.count();
    sqlite3_busy_timeout(c->db, timeout > std::numeric_limits<int>::max()
                                    ? std::numeric_limits<int>::max()
                                    : static_cast<int>(timeout < 0 ? 0 : timeout));
    return c;
}

// The directory a database file would be created in must exist: SQLite's own message for this
// ("unable to open database file") does not say what is wrong.
void check_directory(std::string const& path) {
    namespace fs = std::filesystem;
    fs::path const dir = fs::path(path).parent_path();
    if (dir.empty()) return;
    std::error_code ec;
    auto const status = fs::status(dir, ec);
    if (!fs::exists(status)) fail("directory '" + dir.string() + "' does not exist");
    if (!fs::is_directory(status)) fail("'" + dir.string() + "' is not a directory");
}

// Refuses a file that is not chatkit-cpp's or that a newer chatkit-cpp wrote; returns its version.
// Reads only, so a refused file is left exactly as it was.
std::int64_t check_compatible(sqlite3* db) {
    auto const app_id = query_int(db, "PRAGMA application_id");
    if (app_id != 0 && app_id != backend::application_id)
        fail("not a chatkit-cpp database (application_id " + std::to_string(app_id) + ")");
    auto const version = query_int(db, "PRAGMA user_version");
    if (version > backend::schema_version)
        fail("schema version " + std::to_string(version) + " is newer than this chatkit-cpp understands (" +
             std::to_string(backend::schema_version) + "); open it with a newer chatkit-cpp");
    if (version == 0 && app_id == 0 && query_int(db, "SELECT count(*) FROM sqlite_schema") != 0)
        fail("the file already holds tables that are not chatkit-cpp's (user_version 0)");
    return version;
}

// Brings a freshly opened writer connection to the current schema, or refuses the file.
void migrate(connection& c) {
    if (check_compatible(c.db) == backend::schema_version) return;
    exec(c.db, "BEGIN IMMEDIATE");
    try {
        // Another process may have migrated (or created the schema) while we waited for the lock.
        auto const version = check_compatible(c.db);
        for (auto v = version; v < backend::schema_version; ++v)
            exec(c.db, migrations[static_cast<std::size_t>(v)]);
        std::string const pragmas = "PRAGMA application_id = " + std::to_string(backend::application_id) +
                                    "; PRAGMA user_version = " + std::to_string(backend::schema_version) +
                                    ";";
        exec(c.db, pragmas.c_str());
        exec(c.db, "COMMIT");
    } catch (...) {
        sqlite3_exec(c.db, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
}

void check_limit(int limit) {
    if (limit < 0) throw_error(error::invalid_request, "limit must not be negative");
}

}  // namespace

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
        // Let queued work finish before the connections close.
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

    // The writer connection, locked for one call.
    class write_lease {
    public:
        explicit write_lease(impl& i) : lock_(i.writer_mutex), c_(*i.writer) {}
        connection& operator*() const noexcept { return c_; }
        connection* operator->() const noexcept { return &c_; }

    private:
        std::unique_lock<std::mutex> lock_;
        connection& c_;
    };

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

backend::backend(SqliteOptions options) : impl_(std::make_unique<impl>()) {
    impl_->options = std::move(options);
    auto const& path = impl_->options.path;
    if (path.empty()) fail("SqliteOptions::path is empty (use \":memory:\" for an in-memory database)");
    try {
        open();
    } catch (Error const& e) {
        // Every open-time failure names the file.
        std::string_view reason = e.message();
        if (reason.starts_with("SqliteStore: ")) reason.remove_prefix(13);
        fail("cannot open database '" + path + "': " + std::string(reason));
    }
}

void backend::open() {
    auto& i = *impl_;
    auto const& path = i.options.path;
    i.memory = path == ":memory:";
    if (!i.memory) check_directory(path);

    i.writer = open_connection(i.options, true);
    sqlite3* db = i.writer->db;
    if (sqlite3_db_readonly(db, "main") == 1) fail("the file or its directory is read-only");
    // Before anything writes to the file (even a journal mode change). A file that is not a
    // database fails here, on its first read.
    check_compatible(db);
    if (!i.memory) {
        auto const mode = query_text(db, "PRAGMA journal_mode = WAL");
        if (mode != "wal")
            fail("cannot switch to WAL mode (journal_mode is '" + mode + "'); is the directory writable?");
    }
    exec(db, i.options.synchronous_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
    exec(db, "PRAGMA foreign_keys = ON");
    if (query_int(db, "PRAGMA foreign_keys") != 1) fail("this SQLite build does not enforce foreign keys");
    std::string const limit = "PRAGMA journal_size_limit = " + std::to_string(i.options.journal_size_limit);
    exec(db, limit.c_str());
    migrate(*i.writer);
    i.writer->prepare_reads();
    i.writer->prepare_writes();

    std::size_t const readers = i.memory ? 0 : i.options.read_connections;
    for (std::size_t n = 0; n < readers; ++n) {
        auto reader = open_connection(i.options, false);
        exec(reader->db, "PRAGMA query_only = ON");
        reader->prepare_reads();
        i.free_readers.push_back(reader.get());
        i.readers.push_back(std::move(reader));
    }
    if (readers > 0) i.read_pool.emplace(readers);
}

backend::~backend() = default;

asio::any_io_executor backend::write_executor() const noexcept { return impl_->write_pool.get_executor(); }

asio::any_io_executor backend::read_executor() const noexcept {
    return impl_->read_pool ? impl_->read_pool->get_executor() : impl_->write_pool.get_executor();
}

SqliteOptions const& backend::options() const noexcept { return impl_->options; }

ThreadMetadata backend::load_thread(std::string const& owner, std::string const& thread_id) {
    impl::read_lease c(*impl_);
    use u(c->thread_select);
    u.bind(1, owner).bind(2, thread_id);
    if (!u.step()) throw_error(error::not_found, "Thread " + thread_id + " not found");
    auto thread = parse_row<ThreadMetadata>(u.text(1), "thread " + thread_id);
    thread.created_at = timestamp(u.int64(0));
    return thread;
}

void backend::save_thread(std::string const& owner, ThreadMetadata const& thread) {
    std::string const data = row_text(thread, "the thread");
    std::int64_t const created = micros(thread.created_at);
    impl::write_lease c(*impl_);
    transaction tx(*c);
    {
        use u(c->thread_update);
        u.bind(1, owner).bind(2, thread.id).bind(3, created).bind(4, data).run();
    }
    if (sqlite3_changes(c->db) == 0) {
        std::int64_t seq = 0;
        {
            use u(c->thread_next_seq);
            if (!u.step()) fail("the 'threads' sequence is missing");
            seq = u.int64(0);
        }
        use u(c->thread_insert);
        u.bind(1, owner).bind(2, thread.id).bind(3, created).bind(4, seq).bind(5, data).run();
    }
    tx.commit();
}

Page<ThreadMetadata> backend::load_threads(std::string const& owner, int limit,
                                           std::optional<std::string> const& after, Order order) {
    check_limit(limit);
    impl::read_lease c(*impl_);
    std::int64_t created = order == Order::asc ? min_key : max_key;
    std::int64_t seq = created;
    if (after && !after->empty()) {
        use u(c->thread_cursor);
        u.bind(1, owner).bind(2, *after);
        if (!u.step()) throw_error(error::not_found, "Thread " + *after + " not found");
        created = u.int64(0);
        seq = u.int64(1);
    }
    use u(order == Order::asc ? c->threads_asc : c->threads_desc);
    u.bind(1, owner).bind(2, created).bind(3, seq).bind(4, static_cast<std::int64_t>(limit) + 1);
    auto page = impl::read_page<ThreadMetadata>(u, limit, [](use& row) {
        std::string const id(row.text(0));
        auto thread = parse_row<ThreadMetadata>(row.text(2), "thread " + id);
        thread.created_at = timestamp(row.int64(1));
        return thread;
    });
    if (page.has_more && !page.data.empty()) page.after = page.data.back().id;
    return page;
}

Page<ThreadItem> backend::load_thread_items(std::string const& owner, std::string const& thread_id,
                                            std::optional<std::string> const& after, int limit, Order order) {
    check_limit(limit);
    impl::read_lease c(*impl_);
    std::int64_t created = order == Order::asc ? min_key : max_key;
    std::int64_t seq = created;
    if (after && !after->empty()) {
        use u(c->item_cursor);
        u.bind(1, owner).bind(2, thread_id).bind(3, *after);
        if (!u.step()) throw_error(error::not_found, "Item " + *after + " not found");
        created = u.int64(0);
        seq = u.int64(1);
    }
    use u(order == Order::asc ? c->items_asc : c->items_desc);
    u.bind(1, owner)
        .bind(2, thread_id)
        .bind(3, created)
        .bind(4, seq)
        .bind(5, static_cast<std::int64_t>(limit) + 1);
    auto page = impl::read_page<ThreadItem>(u, limit, [&thread_id](use& row) {
        std::string const id(row.text(0));
        auto item = parse_row<ThreadItem>(row.text(2), "item " + id + " of thread " + thread_id);
        set_created_at(item, row.int64(1));
        return item;
    });
    if (page.has_more && !page.data.empty()) page.after = item_id(page.data.back());
    return page;
}

void backend::save_item(std::string const& owner, std::string const& thread_id, ThreadItem const& item) {
    std::string const data = row_text(item, "the item");
    std::string const& id = item_id(item);
    std::int64_t const created = micros(item_created_at(item));
    impl::write_lease c(*impl_);
    transaction tx(*c);
    {
        use u(c->item_update);
        u.bind(1, owner).bind(2, thread_id).bind(3, id).bind(4, created).bind(5, data).run();
    }
    if (sqlite3_changes(c->db) == 0) {
        std::int64_t seq = 0;
        {
            // Also checks that the thread exists for this owner.
            use u(c->item_next_seq);
            u.bind(1, owner).bind(2, thread_id);
            if (!u.step()) throw_error(error::not_found, "Thread " + thread_id + " not found");
            seq = u.int64(0);
        }
        use u(c->item_insert);
        u.bind(1, owner).bind(2, thread_id).bind(3, id).bind(4, created).bind(5, seq).bind(6, data).run();
    }
    tx.commit();
}

ThreadItem backend::load_item(std::string const& owner, std::string const& thread_id,
                              std::string const& item_id_) {
    impl::read_lease c(*impl_);
    use u(c->item_select);
    u.bind(1, owner).bind(2, thread_id).bind(3, item_id_);
    if (!u.step()) throw_error(error::not_found, "Item " + item_id_ + " not found in thread " + thread_id);
    auto item = parse_row<ThreadItem>(u.text(1), "item " + item_id_ + " of thread " + thread_id);
    set_created_at(item, u.int64(0));
    return item;
}

void backend::delete_thread(std::string const& owner, std::string const& thread_id) {
    impl::write_lease c(*impl_);
    use u(c->thread_delete);  // the items go with it (ON DELETE CASCADE), in the same statement
    u.bind(1, owner).bind(2, thread_id).run();
}

void backend::delete_thread_item(std::string const& owner, std::string const& thread_id,
                                 std::string const& item_id_) {
    impl::write_lease c(*impl_);
    use u(c->item_delete);
    u.bind(1, owner).bind(2, thread_id).bind(3, item_id_).run();
}

void backend::save_attachment(std::string const& owner, Attachment const& attachment) {
    std::string const data = row_text(attachment, "the attachment");
    impl::write_lease c(*impl_);
    use u(c->attachment_upsert);
    u.bind(1, owner).bind(2, attachment.id).bind(3, data).run();
}

Attachment backend::load_attachment(std::string const& owner, std::string const& attachment_id) {
    impl::read_lease c(*impl_);
    use u(c->attachment_select);
    u.bind(1, owner).bind(2, attachment_id);
    if (!u.step()) throw_error(error::not_found, "File " + attachment_id + " not found");
    return parse_row<Attachment>(u.text(0), "attachment " + attachment_id);
}

void backend::delete_attachment(std::string const& owner, std::string const& attachment_id) {
    impl::write_lease c(*impl_);
    use u(c->attachment_delete);
    u.bind(1, owner).bind(2, attachment_id).run();
}

// ---------------------------------------------------------------------------------------------
// Token usage (statements prepared per call: one call per model response)

namespace {

std::int64_t as_count(std::uint64_t n) {
    return n > static_cast<std::uint64_t>(max_key) ? max_key : static_cast<std::int64_t>(n);
}

TokenUsage usage_at(use const& row, int first) {
    TokenUsage u;
    u.input_tokens = static_cast<std::uint64_t>(row.int64(first));
    u.cached_input_tokens = static_cast<std::uint64_t>(row.int64(first + 1));
    u.output_tokens = static_cast<std::uint64_t>(row.int64(first + 2));
    u.reasoning_tokens = static_cast<std::uint64_t>(row.int64(first + 3));
    return u;
}

use& bind_usage(use& u, int first, TokenUsage const& usage) {
    return u.bind(first, as_count(usage.input_tokens))
        .bind(first + 1, as_count(usage.cached_input_tokens))
        .bind(first + 2, as_count(usage.output_tokens))
        .bind(first + 3, as_count(usage.reasoning_tokens));
}

}  // namespace

UsageTotals backend::record_usage(std::string const& owner, UsageRecord const& record) {
    impl::write_lease c(*impl_);
    statement insert(c->db,
                     "INSERT INTO usage_responses (owner, thread_id, response_id, day, input, cached, output, "
                     "reasoning) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    statement thread(c->db,
                     "INSERT INTO usage_threads VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (owner, thread_id) DO "
                     "UPDATE SET input = input + excluded.input, cached = cached + excluded.cached, output = output "
                     "+ excluded.output, reasoning = reasoning + excluded.reasoning "
                     "RETURNING input, cached, output, reasoning");
    statement day(c->db,
                  "INSERT INTO usage_days VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (owner, day) DO "
                  "UPDATE SET input = input + excluded.input, cached = cached + excluded.cached, output = output "
                  "+ excluded.output, reasoning = reasoning + excluded.reasoning "
                  "RETURNING input, cached, output, reasoning");
    UsageTotals totals;
    transaction tx(*c);
    {
        use u(insert);
        u.bind(1, owner).bind(2, record.thread_id).bind(3, record.response_id).bind(4, record.day);
        bind_usage(u, 5, record.usage).run();
    }
    {
        use u(thread);
        u.bind(1, owner).bind(2, record.thread_id);
        bind_usage(u, 3, record.usage);
        if (!u.step()) fail("the thread's usage total was not returned");
        totals.thread = usage_at(u, 0);
        u.run();
    }
    {
        use u(day);
        u.bind(1, owner).bind(2, record.day);
        bind_usage(u, 3, record.usage);
        if (!u.step()) fail("the day's usage total was not returned");
        totals.owner_day = usage_at(u, 0);
        u.run();
    }
    tx.commit();
    return totals;
}

UsageTotals backend::load_usage_totals(std::string const& owner, std::string const& thread_id, std::int64_t day) {
    impl::read_lease c(*impl_);
    UsageTotals totals;
    {
        statement s(c->db, "SELECT input, cached, output, reasoning FROM usage_threads WHERE owner = ?1 AND thread_id = ?2");
        use u(s);
        u.bind(1, owner).bind(2, thread_id);
        if (u.step()) totals.thread = usage_at(u, 0);
    }
    {
        statement s(c->db, "SELECT input, cached, output, reasoning FROM usage_days WHERE owner = ?1 AND day = ?2");
        use u(s);
        u.bind(1, owner).bind(2, day);
        if (u.step()) totals.owner_day = usage_at(u, 0);
    }
    return totals;
}

UsageSummary backend::load_usage(std::string const& owner, std::size_t max_threads) {
    impl::read_lease c(*impl_);
    UsageSummary summary;
    {
        statement s(c->db,
                    "SELECT coalesce(sum(input), 0), coalesce(sum(cached), 0), coalesce(sum(output), 0), "
                    "coalesce(sum(reasoning), 0) FROM usage_days WHERE owner = ?1");
        use u(s);
        u.bind(1, owner);
        if (u.step()) summary.total = usage_at(u, 0);
    }
    statement s(c->db,
                "SELECT thread_id, input, cached, output, reasoning FROM usage_threads WHERE owner = ?1 "
                "ORDER BY input + output DESC, thread_id LIMIT ?2");
    use u(s);
    u.bind(1, owner).bind(2, as_count(max_threads));
    while (u.step()) summary.threads.push_back(ThreadUsage{std::string(u.text(0)), usage_at(u, 1)});
    return summary;
}

std::vector<UsageRecord> backend::load_usage_records(std::string const& owner, std::string const& thread_id,
                                                     int limit) {
    check_limit(limit);
    impl::read_lease c(*impl_);
    statement s(c->db,
                "SELECT response_id, day, input, cached, output, reasoning FROM usage_responses "
                "WHERE owner = ?1 AND thread_id = ?2 ORDER BY id DESC LIMIT ?3");
    use u(s);
    u.bind(1, owner).bind(2, thread_id).bind(3, static_cast<std::int64_t>(limit));
    std::vector<UsageRecord> records;
    while (u.step()) records.push_back(UsageRecord{thread_id, std::string(u.text(0)), usage_at(u, 2), u.int64(1)});
    std::reverse(records.begin(), records.end());
    return records;
}

}  // namespace chatkit::sqlite::detail
