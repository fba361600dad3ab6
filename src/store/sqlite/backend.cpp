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

#include "sqlite_detail.hpp"

#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>

#include <sqlite3.h>
#include <pthread.h>

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

using store_detail::micros;
using store_detail::row_text;
using store_detail::set_created_at;
using store_detail::timestamp;

template <class T>
T parse_row(std::string_view data, std::string const& what) {
    return store_detail::parse_row<T>(data, "SqliteStore", what);
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
    // Named threads (top -H, perf, gdb; at most 15 characters): the writer and the read threads.
    asio::post(i.write_pool, [] { ::pthread_setname_np(::pthread_self(), "ck-sqlite-write"); });
    if (i.read_pool)
        for (std::size_t n = 0; n < readers; ++n) asio::post(*i.read_pool, [] { ::pthread_setname_np(::pthread_self(), "ck-sqlite-read"); });
    i.max_queued = std::max<std::size_t>(i.options.max_queued_writes, 1);
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
    impl::write_scope c(*impl_);
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
    c.commit();
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
    impl::write_scope c(*impl_);
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
    c.commit();
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
    impl::write_scope c(*impl_);
    {
        use u(c->thread_delete);  // the items go with it (ON DELETE CASCADE), in the same statement
        u.bind(1, owner).bind(2, thread_id).run();
    }
    c.commit();
}

void backend::delete_thread_item(std::string const& owner, std::string const& thread_id,
                                 std::string const& item_id_) {
    impl::write_scope c(*impl_);
    {
        use u(c->item_delete);
        u.bind(1, owner).bind(2, thread_id).bind(3, item_id_).run();
    }
    c.commit();
}

void backend::save_attachment(std::string const& owner, Attachment const& attachment) {
    std::string const data = row_text(attachment, "the attachment");
    impl::write_scope c(*impl_);
    {
        use u(c->attachment_upsert);
        u.bind(1, owner).bind(2, attachment.id).bind(3, data).run();
    }
    c.commit();
}

Attachment backend::load_attachment(std::string const& owner, std::string const& attachment_id) {
    impl::read_lease c(*impl_);
    use u(c->attachment_select);
    u.bind(1, owner).bind(2, attachment_id);
    if (!u.step()) throw_error(error::not_found, "File " + attachment_id + " not found");
    return parse_row<Attachment>(u.text(0), "attachment " + attachment_id);
}

void backend::delete_attachment(std::string const& owner, std::string const& attachment_id) {
    impl::write_scope c(*impl_);
    {
        use u(c->attachment_delete);
        u.bind(1, owner).bind(2, attachment_id).run();
    }
    c.commit();
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
    impl::write_scope c(*impl_);
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
    c.commit();
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
