// chatkit-cpp: the PostgreSQL core of PostgresStore.
//
// Layout (schema version 3; the versions applied are the rows of chatkit_migrations):
//
//   chatkit_threads     (owner, id) primary key; created_at (µs since the Unix epoch), seq (from the
//                       sequence chatkit_thread_seq, kept by updates), item_seq (the last sequence
//                       number given to an item of the thread), data (ThreadMetadata as store JSON).
//                       Unique index (owner, created_at, seq).
//   chatkit_items       (owner, thread_id, id) primary key; created_at, seq (per-thread insertion
//                       number, kept by upserts), data (the item as store JSON). Foreign key
//                       (owner, thread_id) -> chatkit_threads ON DELETE CASCADE. Unique index
//                       (owner, thread_id, created_at, seq).
//   chatkit_attachments (owner, id) primary key; data (the Attachment as store JSON, metadata included).
//   chatkit_usage_responses, chatkit_usage_threads, chatkit_usage_days (version 2): one row per
//                       recorded model response, and the running totals per (owner, thread_id) and
//                       per (owner, UTC day). A record updates the three in one transaction; the totals
//                       are upserts that add and return the new total (`ON CONFLICT DO UPDATE ...
//                       RETURNING`), so two instances recording at once are serialised on the row and
//                       each sees the total including the other's tokens: one source of truth.
//   chatkit_runs        (version 3) the shared run log's runs: (owner, thread_id) primary key, one run
//                       per thread (a new run replaces the last); run_id (unique), the instance that
//                       runs it, status (0 running, 1 done, 2 failed), cancel (a stop was asked),
//                       first_idx and size (the events kept), lease_until (its instance's lease, on
//                       the database's clock), ended_at. Index on ended_at (purge).
//   chatkit_run_events  (run_id, idx) primary key; frame (one SSE frame, as the client got it).
//                       Deleted with their run (claim replacing it, purge, trim to the newest).
//
// JSON is kept as text, byte for byte as written (jsonb would reorder keys and renormalise numbers,
// and the protocol's bytes must come back unchanged); ids and owners use the "C" collation.
//
// Pages are keyset scans: the cursor row's (created_at, seq) is looked up by id in the same
// statement, then the order index is entered right after it and `limit + 1` rows are read; a
// second statement in the same pipeline (one round trip) tells an unknown cursor from the end.
//
// A new item takes the next number of its thread with `UPDATE chatkit_threads SET item_seq =
// item_seq + 1 ... RETURNING`, which locks the thread's row until the insert commits: two
// instances appending to one thread at once are serialised there, so a thread's items have
// distinct, increasing numbers in commit order.

#include "connection.hpp"
#include "schema.hpp"
#include "pool.hpp"

#include <chatkit/protocol/json.hpp>
#include <chatkit/store/detail/rows.hpp>
#include <chatkit/store/postgres/backend.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <libpq-fe.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <exception>
#include <functional>
#include <iterator>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatkit::postgres::detail {
namespace {

constexpr char const* store_name = "PostgresStore";

[[noreturn]] void fail(error code, std::string message) {
    throw_error(code, "PostgresStore: " + std::move(message));
}

using schema::migrations;
static_assert(std::size(migrations) == backend::schema_version);

// The advisory lock the migrations run under: ("CKPG", hash of the schema name).
constexpr char const* migration_lock = "SELECT pg_advisory_xact_lock(1129009223, hashtext($1))";

// Every statement a call uses, prepared once per connection.
namespace sql {
constexpr char const* ping = "ck_ping";
constexpr char const* thread_get = "ck_thread_get";
constexpr char const* thread_put = "ck_thread_put";
constexpr char const* thread_del = "ck_thread_del";
constexpr char const* thread_exists = "ck_thread_exists";
constexpr char const* threads_first_asc = "ck_threads_first_asc";
constexpr char const* threads_first_desc = "ck_threads_first_desc";
constexpr char const* threads_after_asc = "ck_threads_after_asc";
constexpr char const* threads_after_desc = "ck_threads_after_desc";
constexpr char const* item_get = "ck_item_get";
constexpr char const* item_put = "ck_item_put";
constexpr char const* item_del = "ck_item_del";
constexpr char const* item_exists = "ck_item_exists";
constexpr char const* items_first_asc = "ck_items_first_asc";
constexpr char const* items_first_desc = "ck_items_first_desc";
constexpr char const* items_after_asc = "ck_items_after_asc";
constexpr char const* items_after_desc = "ck_items_after_desc";
constexpr char const* attachment_get = "ck_attachment_get";
constexpr char const* attachment_put = "ck_attachment_put";
constexpr char const* attachment_del = "ck_attachment_del";
constexpr char const* usage_insert = "ck_usage_insert";
constexpr char const* usage_thread_add = "ck_usage_thread_add";
constexpr char const* usage_day_add = "ck_usage_day_add";
constexpr char const* usage_thread_get = "ck_usage_thread_get";
constexpr char const* usage_day_get = "ck_usage_day_get";
constexpr char const* usage_total = "ck_usage_total";
constexpr char const* usage_top_threads = "ck_usage_top_threads";
constexpr char const* usage_records = "ck_usage_records";
constexpr char const* run_claim_clear = "ck_run_claim_clear";
constexpr char const* run_claim = "ck_run_claim";
constexpr char const* run_purge = "ck_run_purge";
constexpr char const* run_event_put = "ck_run_event_put";
constexpr char const* run_advance = "ck_run_advance";
constexpr char const* run_trim = "ck_run_trim";
constexpr char const* run_fail_lapsed = "ck_run_fail_lapsed";
constexpr char const* run_get = "ck_run_get";
constexpr char const* run_events = "ck_run_events";
constexpr char const* run_cancel = "ck_run_cancel";
}  // namespace sql

// A run "can be replaced" by a claim of instance $3: it ended, its lease lapsed, or it is the same
// instance's (whose in-process registry already knows that run ended).
#define CK_RUN_REPLACEABLE(r, instance) \
    "(" r ".status <> 0 OR " r ".lease_until < now() OR " r ".instance = " instance ")"
#define CK_MS(p) "(" p "::bigint * interval '1 millisecond')"

#define CK_THREAD_CURSOR \
    "WITH c AS (SELECT created_at, seq FROM chatkit_threads WHERE owner = $1 AND id = $2) "
#define CK_ITEM_CURSOR \
    "WITH c AS (SELECT created_at, seq FROM chatkit_items WHERE owner = $1 AND thread_id = $2 AND id = $3) "

constexpr statement_text statements[] = {
    {sql::ping, "SELECT 1"},
    {sql::thread_get, "SELECT created_at, data FROM chatkit_threads WHERE owner = $1 AND id = $2"},
    {sql::thread_put,
     "INSERT INTO chatkit_threads (owner, id, created_at, seq, data) "
     "VALUES ($1, $2, $3, nextval('chatkit_thread_seq'), $4) "
     "ON CONFLICT (owner, id) DO UPDATE SET created_at = excluded.created_at, data = excluded.data"},
    {sql::thread_del, "DELETE FROM chatkit_threads WHERE owner = $1 AND id = $2"},
    {sql::thread_exists, "SELECT 1 FROM chatkit_threads WHERE owner = $1 AND id = $2"},
    {sql::threads_first_asc,
     "SELECT id, created_at, data FROM chatkit_threads WHERE owner = $1 ORDER BY created_at, seq LIMIT $2"},
    {sql::threads_first_desc,
     "SELECT id, created_at, data FROM chatkit_threads WHERE owner = $1 ORDER BY created_at DESC, seq DESC "
     "LIMIT $2"},
    {sql::threads_after_asc,
     CK_THREAD_CURSOR "SELECT id, created_at, data FROM chatkit_threads WHERE owner = $1 "
                      "AND (created_at, seq) > ((SELECT created_at FROM c), (SELECT seq FROM c)) "
                      "ORDER BY created_at, seq LIMIT $3"},
    {sql::threads_after_desc,
     CK_THREAD_CURSOR "SELECT id, created_at, data FROM chatkit_threads WHERE owner = $1 "
                      "AND (created_at, seq) < ((SELECT created_at FROM c), (SELECT seq FROM c)) "
                      "ORDER BY created_at DESC, seq DESC LIMIT $3"},
    {sql::item_get,
     "SELECT created_at, data FROM chatkit_items WHERE owner = $1 AND thread_id = $2 AND id = $3"},
    // An existing item is updated in place (keeping its number); a new one takes its thread's next
    // number, which also checks that the thread exists for the owner. Returns 1, or 0 when the
    // thread does not exist.
    {sql::item_put,
     "WITH updated AS ("
     "  UPDATE chatkit_items SET created_at = $4, data = $5 WHERE owner = $1 AND thread_id = $2 AND id = $3 "
     "  RETURNING 1), "
     "numbered AS ("
     "  UPDATE chatkit_threads SET item_seq = item_seq + 1 WHERE owner = $1 AND id = $2 "
     "  AND NOT EXISTS (SELECT 1 FROM updated) RETURNING item_seq), "
     "inserted AS ("
     "  INSERT INTO chatkit_items (owner, thread_id, id, created_at, seq, data) "
     "  SELECT $1::text, $2::text, $3::text, $4::bigint, item_seq, $5::text FROM numbered "
     "  ON CONFLICT (owner, thread_id, id) DO UPDATE SET created_at = excluded.created_at, data = "
     "excluded.data "
     "  RETURNING 1) "
     "SELECT (SELECT count(*) FROM updated) + (SELECT count(*) FROM inserted)"},
    {sql::item_del, "DELETE FROM chatkit_items WHERE owner = $1 AND thread_id = $2 AND id = $3"},
    {sql::item_exists, "SELECT 1 FROM chatkit_items WHERE owner = $1 AND thread_id = $2 AND id = $3"},
    {sql::items_first_asc,
     "SELECT id, created_at, data FROM chatkit_items WHERE owner = $1 AND thread_id = $2 "
     "ORDER BY created_at, seq LIMIT $3"},
    {sql::items_first_desc,
     "SELECT id, created_at, data FROM chatkit_items WHERE owner = $1 AND thread_id = $2 "
     "ORDER BY created_at DESC, seq DESC LIMIT $3"},
    {sql::items_after_asc,
     CK_ITEM_CURSOR "SELECT id, created_at, data FROM chatkit_items WHERE owner = $1 AND thread_id = $2 "
                    "AND (created_at, seq) > ((SELECT created_at FROM c), (SELECT seq FROM c)) "
                    "ORDER BY created_at, seq LIMIT $4"},
    {sql::items_after_desc,
     CK_ITEM_CURSOR "SELECT id, created_at, data FROM chatkit_items WHERE owner = $1 AND thread_id = $2 "
                    "AND (created_at, seq) < ((SELECT created_at FROM c), (SELECT seq FROM c)) "
                    "ORDER BY created_at DESC, seq DESC LIMIT $4"},
    {sql::attachment_get, "SELECT data FROM chatkit_attachments WHERE owner = $1 AND id = $2"},
    {sql::attachment_put,
     "INSERT INTO chatkit_attachments (owner, id, data) VALUES ($1, $2, $3) "
     "ON CONFLICT (owner, id) DO UPDATE SET data = excluded.data"},
    {sql::attachment_del, "DELETE FROM chatkit_attachments WHERE owner = $1 AND id = $2"},
    {sql::usage_insert,
     "INSERT INTO chatkit_usage_responses (owner, thread_id, response_id, day, input, cached, output, reasoning) "
     "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"},
    {sql::usage_thread_add,
     "INSERT INTO chatkit_usage_threads AS t VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (owner, thread_id) DO "
     "UPDATE SET input = t.input + excluded.input, cached = t.cached + excluded.cached, "
     "output = t.output + excluded.output, reasoning = t.reasoning + excluded.reasoning "
     "RETURNING input, cached, output, reasoning"},
    {sql::usage_day_add,
     "INSERT INTO chatkit_usage_days AS d VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (owner, day) DO "
     "UPDATE SET input = d.input + excluded.input, cached = d.cached + excluded.cached, "
     "output = d.output + excluded.output, reasoning = d.reasoning + excluded.reasoning "
     "RETURNING input, cached, output, reasoning"},
    {sql::usage_thread_get,
     "SELECT input, cached, output, reasoning FROM chatkit_usage_threads WHERE owner = $1 AND thread_id = $2"},
    {sql::usage_day_get, "SELECT input, cached, output, reasoning FROM chatkit_usage_days WHERE owner = $1 AND day = $2"},
    {sql::usage_total,
     "SELECT coalesce(sum(input), 0)::bigint, coalesce(sum(cached), 0)::bigint, coalesce(sum(output), 0)::bigint, "
     "coalesce(sum(reasoning), 0)::bigint FROM chatkit_usage_days WHERE owner = $1"},
    {sql::usage_top_threads,
     "SELECT thread_id, input, cached, output, reasoning FROM chatkit_usage_threads WHERE owner = $1 "
     "ORDER BY input + output DESC, thread_id LIMIT $2"},
    {sql::usage_records,
     "SELECT response_id, day, input, cached, output, reasoning FROM chatkit_usage_responses "
     "WHERE owner = $1 AND thread_id = $2 ORDER BY id DESC LIMIT $3"},
    // Claim: the replaced run's events go (its row locked), then the row becomes the new run's —
    // or stays another instance's live run (no row returned).
    {sql::run_claim_clear,
     "DELETE FROM chatkit_run_events WHERE run_id IN (SELECT r.run_id FROM chatkit_runs r WHERE r.owner = $1 "
     "AND r.thread_id = $2 AND " CK_RUN_REPLACEABLE("r", "$3::text") " FOR UPDATE)"},
    {sql::run_claim,
     "INSERT INTO chatkit_runs AS r (owner, thread_id, run_id, instance, status, cancel, first_idx, size, "
     "lease_until, ended_at) VALUES ($1, $2, $4, $3, 0, false, 0, 0, now() + " CK_MS("$5") ", NULL) "
     "ON CONFLICT (owner, thread_id) DO UPDATE SET run_id = excluded.run_id, instance = excluded.instance, "
     "status = 0, cancel = false, first_idx = 0, size = 0, lease_until = excluded.lease_until, ended_at = NULL "
     "WHERE " CK_RUN_REPLACEABLE("r", "excluded.instance") " RETURNING 1"},
    {sql::run_purge,
     "WITH gone AS (DELETE FROM chatkit_runs WHERE (owner, thread_id, run_id) IN (SELECT owner, thread_id, run_id "
     "FROM chatkit_runs WHERE ended_at < now() - " CK_MS("$1") " LIMIT 64) RETURNING run_id) "
     "DELETE FROM chatkit_run_events WHERE run_id IN (SELECT run_id FROM gone)"},
    {sql::run_event_put,
     "INSERT INTO chatkit_run_events (run_id, idx, frame) SELECT run_id, $2, $3 FROM chatkit_runs "
     "WHERE run_id = $1 AND status = 0 ON CONFLICT DO NOTHING"},
    // $2 first index appended, $3 size after, $4 oldest index to keep, $5 lease, $6 1 to end the run.
    {sql::run_advance,
     "UPDATE chatkit_runs SET size = greatest(size, $3::bigint), "
     "first_idx = greatest(first_idx, $4::bigint, CASE WHEN $2::bigint > size THEN $2::bigint ELSE 0 END), "
     "lease_until = now() + " CK_MS("$5") ", status = CASE WHEN $6::bigint = 1 THEN 1 ELSE 0 END, "
     "ended_at = CASE WHEN $6::bigint = 1 THEN now() END WHERE run_id = $1 AND status = 0 RETURNING cancel"},
    {sql::run_trim,
     "DELETE FROM chatkit_run_events WHERE run_id = $1 AND idx < (SELECT first_idx FROM chatkit_runs WHERE run_id = $1)"},
    {sql::run_fail_lapsed,
     "WITH f AS (UPDATE chatkit_runs SET status = 2, ended_at = now(), size = size + 1 WHERE owner = $1 "
     "AND thread_id = $2 AND status = 0 AND lease_until < now() RETURNING run_id, size - 1 AS idx) "
     "INSERT INTO chatkit_run_events (run_id, idx, frame) SELECT run_id, idx, $3 FROM f ON CONFLICT DO NOTHING"},
    {sql::run_get,
     "SELECT run_id, status, cancel, first_idx, size, ended_at IS NOT NULL AND ended_at < now() - " CK_MS("$3")
     " FROM chatkit_runs WHERE owner = $1 AND thread_id = $2"},
    {sql::run_events,
     "SELECT idx, frame FROM chatkit_run_events WHERE run_id = (SELECT run_id FROM chatkit_runs WHERE owner = $1 "
     "AND thread_id = $2) AND idx >= $3 ORDER BY idx LIMIT $4"},
    {sql::run_cancel,
     "UPDATE chatkit_runs SET cancel = true WHERE owner = $1 AND thread_id = $2 AND status = 0 "
     "AND lease_until >= now() RETURNING 1"},
};

#undef CK_RUN_REPLACEABLE
#undef CK_MS
#undef CK_THREAD_CURSOR
#undef CK_ITEM_CURSOR

// ---------------------------------------------------------------------------------------------
// Errors

bool retryable(std::string const& state) { return state == "40001" || state == "40P01"; }

// The chatkit error for a statement the server refused.
[[noreturn]] void raise(server_error const& e, std::string const& what) {
    std::string const& s = e.sqlstate;
    std::string const detail = what + " failed: " + e.what() + (s.empty() ? "" : " (SQLSTATE " + s + ")");
    if (retryable(s)) fail(error::store_busy, detail + "; gave up after the configured retries");
    // Connection trouble, a server shutting down or starting, too many connections, out of memory,
    // a lock or statement timeout: the client may retry shortly.
    if (s.starts_with("08") || s == "57P01" || s == "57P02" || s == "57P03" || s == "53300" || s == "53200" ||
        s == "57014" || s == "55P03" || s == "25P03" || s == "55006")
        fail(error::store_busy, detail);
    if (s == "53100") fail(error::store_full, detail);
    if (s == "22021" || s == "22P05")
        throw_error(error::invalid_request,
                    "The text cannot be stored (it is not valid UTF-8 for the database)");
    if (s == "54000") throw_error(error::invalid_request, "An id or value is too large to be stored");
    fail(error::store_failure, detail);
}

// PostgreSQL text cannot hold NUL characters (libpq would cut the parameter at the first one).
bool storable(std::string const& text) noexcept { return text.find('\0') == std::string::npos; }

void check_storable(std::string const& text, char const* what) {
    if (!storable(text))
        throw_error(error::invalid_request,
                    std::string(what) + " holds a NUL character and cannot be stored");
}

void check_limit(int limit) {
    if (limit < 0) throw_error(error::invalid_request, "limit must not be negative");
}

// ---------------------------------------------------------------------------------------------
// Schema migration (blocking, in the constructor, before any call)

// Runs SQL without parameters on a blocking connection.
std::string exec(PGconn* pg, std::string const& text, std::vector<std::string> const& params = {}) {
    std::vector<char const*> values;
    values.reserve(params.size());
    for (auto const& p : params)
        values.push_back(p.c_str());
    result r(params.empty() ? PQexec(pg, text.c_str())
                            : PQexecParams(pg, text.c_str(), static_cast<int>(values.size()), nullptr,
                                           values.data(), nullptr, nullptr, 0));
    if (r.status() != PGRES_COMMAND_OK && r.status() != PGRES_TUPLES_OK) {
        if (PQstatus(pg) != CONNECTION_OK) throw connection_lost(last_error(pg));
        throw server_error(r.sqlstate(), r.error_message());
    }
    return r.rows() > 0 ? std::string(r.text(0, 0)) : std::string();
}

// The highest migration applied (0 when there is no chatkit_migrations table in the schema).
int applied_version(PGconn* pg) {
    if (exec(pg, "SELECT to_regclass('chatkit_migrations') IS NOT NULL") != "t") return 0;
    return std::stoi(exec(pg, "SELECT coalesce(max(version), 0) FROM chatkit_migrations"));
}

void refuse_newer(int version) {
    if (version > backend::schema_version)
        fail(error::store_failure, "the database schema is version " + std::to_string(version) +
                                       ", newer than this chatkit-cpp understands (" +
                                       std::to_string(backend::schema_version) +
                                       "); open it with a newer chatkit-cpp");
}

// Brings the schema to backend::schema_version, or refuses a newer one. A schema that is already
// current is only read (a role without DDL rights can open it). Otherwise the migration runs in one
// transaction under an advisory lock, and looks again once it holds it: another instance may have
// migrated meanwhile.
void migrate(PGconn* pg, Options const& options) {
    int version = applied_version(pg);
    refuse_newer(version);
    if (version == backend::schema_version) return;
    exec(pg, "BEGIN");
    try {
        exec(pg, migration_lock, {options.schema});
        if (!options.schema.empty() &&
            exec(pg, "SELECT to_regnamespace($1) IS NULL", {options.schema}) == "t")
            exec(pg, "CREATE SCHEMA " + options.schema);
        exec(pg,
             "CREATE TABLE IF NOT EXISTS chatkit_migrations (version integer PRIMARY KEY, description text "
             "NOT NULL, "
             "applied_at timestamptz NOT NULL DEFAULT now())");
        version = applied_version(pg);
        refuse_newer(version);
        for (int v = version; v < backend::schema_version; ++v) {
            auto const& m = migrations[static_cast<std::size_t>(v)];
            exec(pg, m.sql);
            exec(pg, "INSERT INTO chatkit_migrations (version, description) VALUES ($1, $2)",
                 {std::to_string(v + 1), m.description});
        }
        exec(pg, "COMMIT");
    } catch (...) {
        PQclear(PQexec(pg, "ROLLBACK"));
        throw;
    }
}

// ---------------------------------------------------------------------------------------------
// Rows

template <class T>
T parse_row(std::string_view data, std::string const& what) {
    return store_detail::parse_row<T>(data, store_name, what);
}

ThreadMetadata thread_from(result const& r, int row, int created_column, int data_column,
                           std::string const& id) {
    auto thread = parse_row<ThreadMetadata>(r.text(row, data_column), "thread " + id);
    thread.created_at = store_detail::timestamp(r.int64(row, created_column));
    return thread;
}

ThreadItem item_from(result const& r, int row, int created_column, int data_column, std::string const& id,
                     std::string const& thread_id) {
    auto item = parse_row<ThreadItem>(r.text(row, data_column), "item " + id + " of thread " + thread_id);
    store_detail::set_created_at(item, r.int64(row, created_column));
    return item;
}

// A page from `limit + 1` rows (id, created_at, data).
template <class T, class Parse>
Page<T> page_from(result const& r, int limit, Parse parse) {
    Page<T> page;
    for (int row = 0; row < r.rows(); ++row) {
        if (static_cast<int>(page.data.size()) == limit) {
            page.has_more = true;
            break;
        }
        page.data.push_back(parse(row));
    }
    return page;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Calls

struct backend::impl {
    Options options;
    pool connections;
    // PQconnectStartParams resolves the host name, which blocks: it runs here.
    asio::thread_pool blocking{1};

    explicit impl(Options o) : options(std::move(o)), connections(options.pool_size, options.max_idle) {}
    ~impl() { blocking.join(); }

    template <class R>
    using parser = std::function<R(std::vector<result>&)>;

    // Gets the leased slot a working connection: the idle one it holds when it still looks alive
    // (checked with a round trip first when it has been idle for long), else a new one; then
    // prepares the statements.
    asio::awaitable<void> ready(lease& slot) {
        if (connection* c = slot.get()) {
            bool alive = looks_alive(*c);
            if (alive && std::chrono::steady_clock::now() - c->last_used > options.health_check_after) {
                std::array<query, 1> ping{query(sql::ping)};
                try {
                    if (c->prepared)
                        (void)co_await run(*c, ping);
                    else
                        co_await prepare(*c, statements);
                } catch (connection_lost const&) {
                    alive = false;
                } catch (server_error const&) {
                    alive = false;
                }
            }
            if (!alive) slot.drop();
        }
        if (!slot.get()) {
            auto fresh = co_await connect(options, blocking.get_executor());
            connections.note_opened();
            slot.fill(std::move(fresh));
        }
        if (!slot.get()->prepared) co_await prepare(*slot.get(), statements);
    }

    // One call: a connection, the statements in one round trip, serialization failures retried.
    template <class R>
    asio::awaitable<R> attempts(std::string const& what, std::vector<query> const& queries,
                                parser<R> const& parse) {
        for (int attempt = 0;; ++attempt) {
            std::string lost;
            std::optional<server_error> refused;
            std::vector<result> results;
            {
                lease slot = co_await connections.acquire();
                try {
                    co_await ready(slot);
                    results = co_await run(*slot.get(), queries);
                } catch (connection_lost const& e) {
                    lost = e.what();
                } catch (server_error const& e) {
                    refused = e;
                }
            }
            if (!lost.empty()) {
                std::string message = what;
                message += ": the database connection failed: ";
                message += lost;
                fail(error::store_busy, std::move(message));
            }
            if (refused) {
                if (retryable(refused->sqlstate) && attempt < options.serialization_retries) {
                    co_await pause_before_retry(attempt);
                    continue;
                }
                raise(*refused, what);
            }
            co_return parse(results);
        }
    }

    // 1, 2, 4... ms plus as much jitter, so that two transactions that collided do not collide again.
    static asio::awaitable<void> pause_before_retry(int attempt) {
        thread_local std::minstd_rand random{std::random_device{}()};
        auto const base = std::chrono::milliseconds(1 << std::min(attempt, 8));
        std::uniform_int_distribution<long> jitter(0, base.count());
        auto const executor = co_await asio::this_coro::executor;
        asio::steady_timer timer(executor, base + std::chrono::milliseconds(jitter(random)));
        co_await timer.async_wait(asio::use_awaitable);
    }

    // Runs a call within call_timeout. It is shielded from the caller's cancellation: it ends with
    // its result, its error or the timeout (which interrupts it: a connection caught mid-statement
    // is closed, a waiting one left in line).
    template <class R>
    asio::awaitable<R> call(std::string what, std::vector<query> queries, parser<R> parse) {
        auto const executor = co_await asio::this_coro::executor;
        asio::steady_timer timer(executor, options.call_timeout);
        auto group = asio::experimental::make_parallel_group(
            asio::co_spawn(executor, attempts<R>(what, queries, parse), asio::deferred),
            timer.async_wait(asio::deferred));
        auto token = asio::bind_cancellation_slot(asio::cancellation_slot(), asio::use_awaitable);
        auto outcome = co_await group.async_wait(asio::experimental::wait_for_one(), std::move(token));
        if (std::get<0>(outcome)[0] == 1)
            fail(error::store_busy,
                 what + " did not complete within " + std::to_string(options.call_timeout.count()) + " ms");
        if (auto failure = std::get<1>(outcome)) std::rethrow_exception(failure);
        co_return std::move(std::get<2>(outcome));
    }
};

backend::backend(Options options) {
    validate(options);
    impl_ = std::make_unique<impl>(std::move(options));
    auto const& o = impl_->options;
    std::unique_ptr<connection> first;
    try {
        first = connect_blocking(o);
        check_encoding(*first);
        migrate(first->native(), o);
        setup(*first);
    } catch (connection_lost const& e) {
        fail(error::store_failure, "cannot use " + o.describe() + ": " + e.what());
    } catch (server_error const& e) {
        fail(error::store_failure, "cannot migrate the schema of " + o.describe() + ": " + e.what() +
                                       (e.sqlstate.empty() ? "" : " (SQLSTATE " + e.sqlstate + ")"));
    }
    impl_->connections.adopt(std::move(first));
}

backend::~backend() = default;

Options const& backend::options() const noexcept { return impl_->options; }

PoolStats backend::stats() const {
    auto const c = impl_->connections.counts();
    return {c.open, c.idle, c.waiting, c.opened, c.closed};
}

asio::awaitable<ThreadMetadata> backend::load_thread(std::string const& owner, std::string const& thread_id) {
    if (!storable(owner) || !storable(thread_id))
        throw_error(error::not_found, "Thread " + thread_id + " not found");
    std::vector<query> queries;
    queries.push_back(std::move(query(sql::thread_get).text(owner).text(thread_id)));
    impl::parser<ThreadMetadata> parse = [&thread_id](std::vector<result>& r) {
        if (r[0].rows() == 0) throw_error(error::not_found, "Thread " + thread_id + " not found");
        return thread_from(r[0], 0, 0, 1, thread_id);
    };
    co_return co_await impl_->call<ThreadMetadata>("load_thread", std::move(queries), std::move(parse));
}

asio::awaitable<void> backend::save_thread(std::string const& owner, ThreadMetadata const& thread) {
    check_storable(owner, "the owner key");
    check_storable(thread.id, "the thread id");
    std::string const data = store_detail::row_text(thread, "the thread");
    std::vector<query> queries;
    queries.push_back(std::move(query(sql::thread_put)
                                    .text(owner)
                                    .text(thread.id)
                                    .number(store_detail::micros(thread.created_at))
                                    .text(data)));
    impl::parser<bool> parse = [](std::vector<result>&) { return true; };
    co_await impl_->call<bool>("save_thread", std::move(queries), std::move(parse));
}

asio::awaitable<Page<ThreadMetadata>> backend::load_threads(std::string const& owner, int limit,
                                                            std::optional<std::string> const& after,
                                                            Order order) {
    check_limit(limit);
    bool const asc = order == Order::asc;
    bool const cursor = after && !after->empty();
    if (cursor && (!storable(*after) || !storable(owner)))
        throw_error(error::not_found, "Thread " + *after + " not found");
    if (!storable(owner)) co_return Page<ThreadMetadata>{};
    std::int64_t const rows = static_cast<std::int64_t>(limit) + 1;
    std::vector<query> queries;
    if (cursor) {
        queries.push_back(std::move(query(sql::thread_exists).text(owner).text(*after)));
        queries.push_back(std::move(query(asc ? sql::threads_after_asc : sql::threads_after_desc)
                                        .text(owner)
                                        .text(*after)
                                        .number(rows)));
    } else {
        queries.push_back(std::move(
            query(asc ? sql::threads_first_asc : sql::threads_first_desc).text(owner).number(rows)));
    }
    impl::parser<Page<ThreadMetadata>> parse = [&](std::vector<result>& r) {
        if (cursor && r[0].rows() == 0) throw_error(error::not_found, "Thread " + *after + " not found");
        auto const& rows_result = r.back();
        auto page = page_from<ThreadMetadata>(rows_result, limit, [&](int row) {
            return thread_from(rows_result, row, 1, 2, std::string(rows_result.text(row, 0)));
        });
        if (page.has_more && !page.data.empty()) page.after = page.data.back().id;
        return page;
    };
    co_return co_await impl_->call<Page<ThreadMetadata>>("load_threads", std::move(queries),
                                                         std::move(parse));
}

asio::awaitable<Page<ThreadItem>> backend::load_thread_items(std::string const& owner,
                                                             std::string const& thread_id,
                                                             std::optional<std::string> const& after,
                                                             int limit, Order order) {
    check_limit(limit);
    bool const asc = order == Order::asc;
    bool const cursor = after && !after->empty();
    bool const possible = storable(owner) && storable(thread_id);
    if (cursor && (!storable(*after) || !possible))
        throw_error(error::not_found, "Item " + *after + " not found");
    if (!possible) co_return Page<ThreadItem>{};
    std::int64_t const rows = static_cast<std::int64_t>(limit) + 1;
    std::vector<query> queries;
    if (cursor) {
        queries.push_back(std::move(query(sql::item_exists).text(owner).text(thread_id).text(*after)));
        queries.push_back(std::move(query(asc ? sql::items_after_asc : sql::items_after_desc)
                                        .text(owner)
                                        .text(thread_id)
                                        .text(*after)
                                        .number(rows)));
    } else {
        queries.push_back(std::move(query(asc ? sql::items_first_asc : sql::items_first_desc)
                                        .text(owner)
                                        .text(thread_id)
                                        .number(rows)));
    }
    impl::parser<Page<ThreadItem>> parse = [&](std::vector<result>& r) {
        if (cursor && r[0].rows() == 0) throw_error(error::not_found, "Item " + *after + " not found");
        auto const& rows_result = r.back();
        auto page = page_from<ThreadItem>(rows_result, limit, [&](int row) {
            return item_from(rows_result, row, 1, 2, std::string(rows_result.text(row, 0)), thread_id);
        });
        if (page.has_more && !page.data.empty()) page.after = item_id(page.data.back());
        return page;
    };
    co_return co_await impl_->call<Page<ThreadItem>>("load_thread_items", std::move(queries),
                                                     std::move(parse));
}

asio::awaitable<void> backend::save_item(std::string const& owner, std::string const& thread_id,
                                         ThreadItem const& item) {
    check_storable(owner, "the owner key");
    check_storable(thread_id, "the thread id");
    std::string const& id = item_id(item);
    check_storable(id, "the item id");
    std::string const data = store_detail::row_text(item, "the item");
    std::vector<query> queries;
    queries.push_back(std::move(query(sql::item_put)
                                    .text(owner)
                                    .text(thread_id)
                                    .text(id)
                                    .number(store_detail::micros(item_created_at(item)))
                                    .text(data)));
    impl::parser<bool> parse = [&thread_id](std::vector<result>& r) {
        if (r[0].rows() == 0 || r[0].int64(0, 0) == 0)
            throw_error(error::not_found, "Thread " + thread_id + " not found");
        return true;
    };
    co_await impl_->call<bool>("save_item", std::move(queries), std::move(parse));
}

asio::awaitable<ThreadItem> backend::load_item(std::string const& owner, std::string const& thread_id,
                                               std::string const& item_id_) {
    if (!storable(owner) || !storable(thread_id) || !storable(item_id_))
        throw_error(error::not_found, "Item " + item_id_ + " not found in thread " + thread_id);
    std::vector<query> queries;
    queries.push_back(std::move(query(sql::item_get).text(owner).text(thread_id).text(item_id_)));
    impl::parser<ThreadItem> parse = [&](std::vector<result>& r) {
        if (r[0].rows() == 0)
            throw_error(error::not_found, "Item " + item_id_ + " not found in thread " + thread_id);
        return item_from(r[0], 0, 0, 1, item_id_, thread_id);
    };
    co_return co_await impl_->call<ThreadItem>("load_item", std::move(queries), std::move(parse));
}

asio::awaitable<void> backend::delete_thread(std::string const& owner, std::string const& thread_id) {
    if (!storable(owner) || !storable(thread_id)) co_return;
    std::vector<query> queries;
    // The items go with it (ON DELETE CASCADE), in the same statement.
    queries.push_back(std::move(query(sql::thread_del).text(owner).text(thread_id)));
    impl::parser<bool> parse = [](std::vector<result>&) { return true; };
    co_await impl_->call<bool>("delete_thread", std::move(queries), std::move(parse));
}

asio::awaitable<void> backend::delete_thread_item(std::string const& owner, std::string const& thread_id,
                                                  std::string const& item_id_) {
    if (!storable(owner) || !storable(thread_id) || !storable(item_id_)) co_return;
    std::vector<query> queries;
    queries.push_back(std::move(query(sql::item_del).text(owner).text(thread_id).text(item_id_)));
    impl::parser<bool> parse = [](std::vector<result>&) { return true; };
    co_await impl_->call<bool>("delete_thread_item", std::move(queries), std::move(parse));
}

asio::awaitable<void> backend::save_attachment(std::string const& owner, Attachment const& attachment) {
    check_storable(owner, "the owner key");
    check_storable(attachment.id, "the attachment id");
    std::string const data = store_detail::row_text(attachment, "the attachment");
    std::vector<query> queries;
    queries.push_back(std::move(query(sql::attachment_put).text(owner).text(attachment.id).text(data)));
    impl::parser<bool> parse = [](std::vector<result>&) { return true; };
    co_await impl_->call<bool>("save_attachment", std::move(queries), std::move(parse));
}

asio::awaitable<Attachment> backend::load_attachment(std::string const& owner,
                                                     std::string const& attachment_id) {
    if (!storable(owner) || !storable(attachment_id))
        throw_error(error::not_found, "File " + attachment_id + " not found");
    std::vector<query> queries;
    queries.push_back(std::move(query(sql::attachment_get).text(owner).text(attachment_id)));
    impl::parser<Attachment> parse = [&attachment_id](std::vector<result>& r) {
        if (r[0].rows() == 0) throw_error(error::not_found, "File " + attachment_id + " not found");
        return parse_row<Attachment>(r[0].text(0, 0), "attachment " + attachment_id);
    };
    co_return co_await impl_->call<Attachment>("load_attachment", std::move(queries), std::move(parse));
}

asio::awaitable<void> backend::delete_attachment(std::string const& owner, std::string const& attachment_id) {
    if (!storable(owner) || !storable(attachment_id)) co_return;
    std::vector<query> queries;
    queries.push_back(std::move(query(sql::attachment_del).text(owner).text(attachment_id)));
    impl::parser<bool> parse = [](std::vector<result>&) { return true; };
    co_await impl_->call<bool>("delete_attachment", std::move(queries), std::move(parse));
}

// ---------------------------------------------------------------------------------------------
// Token usage

namespace {

std::int64_t as_count(std::uint64_t n) {
    constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    return static_cast<std::int64_t>(std::min(n, max));
}

query& with_usage(query& q, TokenUsage const& usage) {
    return q.number(as_count(usage.input_tokens))
        .number(as_count(usage.cached_input_tokens))
        .number(as_count(usage.output_tokens))
        .number(as_count(usage.reasoning_tokens));
}

TokenUsage usage_at(result const& r, int row, int first) {
    TokenUsage u;
    u.input_tokens = static_cast<std::uint64_t>(r.int64(row, first));
    u.cached_input_tokens = static_cast<std::uint64_t>(r.int64(row, first + 1));
    u.output_tokens = static_cast<std::uint64_t>(r.int64(row, first + 2));
    u.reasoning_tokens = static_cast<std::uint64_t>(r.int64(row, first + 3));
    return u;
}

}  // namespace

asio::awaitable<UsageTotals> backend::record_usage(std::string const& owner, UsageRecord const& record) {
    check_storable(owner, "the owner key");
    check_storable(record.thread_id, "the thread id");
    check_storable(record.response_id, "the response id");
    std::vector<query> queries;
    query insert(sql::usage_insert);
    insert.text(owner).text(record.thread_id).text(record.response_id).number(record.day);
    queries.push_back(std::move(with_usage(insert, record.usage)));
    query thread(sql::usage_thread_add);
    thread.text(owner).text(record.thread_id);
    queries.push_back(std::move(with_usage(thread, record.usage)));
    query day(sql::usage_day_add);
    day.text(owner).number(record.day);
    queries.push_back(std::move(with_usage(day, record.usage)));
    impl::parser<UsageTotals> parse = [](std::vector<result>& r) {
        if (r[1].rows() != 1 || r[2].rows() != 1) fail(error::store_failure, "record_usage: no total returned");
        return UsageTotals{usage_at(r[2], 0, 0), usage_at(r[1], 0, 0)};
    };
    co_return co_await impl_->call<UsageTotals>("record_usage", std::move(queries), std::move(parse));
}

asio::awaitable<UsageTotals> backend::load_usage_totals(std::string const& owner, std::string const& thread_id,
                                                        std::int64_t day) {
    if (!storable(owner) || !storable(thread_id)) co_return UsageTotals{};
    std::vector<query> queries;
    queries.push_back(std::move(query(sql::usage_thread_get).text(owner).text(thread_id)));
    queries.push_back(std::move(query(sql::usage_day_get).text(owner).number(day)));
    impl::parser<UsageTotals> parse = [](std::vector<result>& r) {
        UsageTotals totals;
        if (r[0].rows() > 0) totals.thread = usage_at(r[0], 0, 0);
        if (r[1].rows() > 0) totals.owner_day = usage_at(r[1], 0, 0);
        return totals;
    };
    co_return co_await impl_->call<UsageTotals>("load_usage_totals", std::move(queries), std::move(parse));
}

asio::awaitable<UsageSummary> backend::load_usage(std::string const& owner, std::size_t max_threads) {
    if (!storable(owner)) co_return UsageSummary{};
    std::vector<query> queries;
    queries.push_back(std::move(query(sql::usage_total).text(owner)));
    queries.push_back(std::move(query(sql::usage_top_threads).text(owner).number(as_count(max_threads))));
    impl::parser<UsageSummary> parse = [](std::vector<result>& r) {
        UsageSummary summary;
        if (r[0].rows() > 0) summary.total = usage_at(r[0], 0, 0);
        for (int row = 0; row < r[1].rows(); ++row)
            summary.threads.push_back(ThreadUsage{std::string(r[1].text(row, 0)), usage_at(r[1], row, 1)});
        return summary;
    };
    co_return co_await impl_->call<UsageSummary>("load_usage", std::move(queries), std::move(parse));
}

asio::awaitable<std::vector<UsageRecord>> backend::load_usage_records(std::string const& owner,
                                                                      std::string const& thread_id, int limit) {
    check_limit(limit);
    if (!storable(owner) || !storable(thread_id)) co_return std::vector<UsageRecord>{};
    std::vector<query> queries;
    queries.push_back(std::move(query(sql::usage_records).text(owner).text(thread_id).number(limit)));
    impl::parser<std::vector<UsageRecord>> parse = [&thread_id](std::vector<result>& r) {
        std::vector<UsageRecord> records;
        for (int row = r[0].rows() - 1; row >= 0; --row)
            records.push_back(UsageRecord{thread_id, std::string(r[0].text(row, 0)), usage_at(r[0], row, 2),
                                          r[0].int64(row, 1)});
        return records;
    };
    co_return co_await impl_->call<std::vector<UsageRecord>>("load_usage_records", std::move(queries),
                                                             std::move(parse));
}

// ---------------------------------------------------------------------------------------------
// Shared run log

namespace {
std::int64_t as_ms(std::chrono::milliseconds d) { return std::max<std::int64_t>(d.count(), 0); }
}  // namespace

asio::awaitable<bool> backend::claim(std::string const& owner, std::string const& thread_id,
                                     std::string const& run_id, std::string const& instance,
                                     std::chrono::milliseconds lease, std::chrono::milliseconds retention) {
    check_storable(owner, "the owner key");
    check_storable(thread_id, "the thread id");
    check_storable(run_id, "the run id");
    check_storable(instance, "the instance id");
    std::vector<query> queries;
    queries.push_back(std::move(query(sql::run_claim_clear).text(owner).text(thread_id).text(instance)));
    queries.push_back(std::move(
        query(sql::run_claim).text(owner).text(thread_id).text(instance).text(run_id).number(as_ms(lease))));
    queries.push_back(std::move(query(sql::run_purge).number(as_ms(retention))));
    impl::parser<bool> parse = [](std::vector<result>& r) { return r[1].rows() == 1; };
    co_return co_await impl_->call<bool>("claim_run", std::move(queries), std::move(parse));
}

asio::awaitable<SharedRunAppend> backend::append(std::string const& run_id, std::uint64_t first,
                                                 std::vector<std::string> const& frames, std::uint64_t keep_last,
                                                 std::chrono::milliseconds lease, bool end) {
    check_storable(run_id, "the run id");
    for (auto const& frame : frames) check_storable(frame, "a run event");
    std::uint64_t const size = first + frames.size();
    std::uint64_t const keep_from = size > keep_last ? size - keep_last : 0;
    std::vector<query> queries;
    for (std::size_t i = 0; i < frames.size(); ++i)
        queries.push_back(std::move(
            query(sql::run_event_put).text(run_id).number(as_count(first + i)).text(frames[i])));
    queries.push_back(std::move(query(sql::run_advance)
                                    .text(run_id)
                                    .number(as_count(first))
                                    .number(as_count(size))
                                    .number(as_count(keep_from))
                                    .number(as_ms(lease))
                                    .number(end ? 1 : 0)));
    queries.push_back(std::move(query(sql::run_trim).text(run_id)));
    impl::parser<SharedRunAppend> parse = [n = frames.size()](std::vector<result>& r) {
        auto const& advanced = r[n];
        SharedRunAppend out;
        out.owned = advanced.rows() == 1;
        out.cancel_requested = out.owned && advanced.text(0, 0) == "t";
        return out;
    };
    co_return co_await impl_->call<SharedRunAppend>("append_run", std::move(queries), std::move(parse));
}

asio::awaitable<SharedRunRead> backend::read(std::string const& owner, std::string const& thread_id,
                                             std::uint64_t after, std::size_t max_frames,
                                             std::chrono::milliseconds retention, std::string const& failed_frame) {
    if (!storable(owner) || !storable(thread_id)) co_return SharedRunRead{};
    check_storable(failed_frame, "a run event");
    std::vector<query> queries;
    queries.push_back(std::move(query(sql::run_fail_lapsed).text(owner).text(thread_id).text(failed_frame)));
    queries.push_back(std::move(query(sql::run_get).text(owner).text(thread_id).number(as_ms(retention))));
    if (max_frames > 0)
        queries.push_back(std::move(
            query(sql::run_events).text(owner).text(thread_id).number(as_count(after)).number(as_count(max_frames))));
    impl::parser<SharedRunRead> parse = [after](std::vector<result>& r) {
        SharedRunRead out;
        auto const& run = r[1];
        if (run.rows() != 1 || run.text(0, 5) == "t") return out;  // none, or ended before the retention window
        out.found = true;
        out.run_id = std::string(run.text(0, 0));
        auto const status = run.int64(0, 1);
        out.status = status == 0 ? SharedRunStatus::running
                     : status == 1 ? SharedRunStatus::done
                                   : SharedRunStatus::failed;
        out.cancel_requested = run.text(0, 2) == "t";
        out.first = static_cast<std::uint64_t>(run.int64(0, 3));
        out.size = static_cast<std::uint64_t>(run.int64(0, 4));
        if (r.size() > 2) {
            auto const& events = r[2];
            std::uint64_t next = after;
            for (int row = 0; row < events.rows(); ++row) {
                if (static_cast<std::uint64_t>(events.int64(row, 0)) != next) break;  // a gap: stop before it
                out.frames.emplace_back(events.text(row, 1));
                ++next;
            }
        }
        return out;
    };
    co_return co_await impl_->call<SharedRunRead>("read_run", std::move(queries), std::move(parse));
}

asio::awaitable<bool> backend::request_cancel(std::string const& owner, std::string const& thread_id) {
    if (!storable(owner) || !storable(thread_id)) co_return false;
    std::vector<query> queries;
    queries.push_back(std::move(query(sql::run_cancel).text(owner).text(thread_id)));
    impl::parser<bool> parse = [](std::vector<result>& r) { return r[0].rows() == 1; };
    co_return co_await impl_->call<bool>("cancel_run", std::move(queries), std::move(parse));
}

}  // namespace chatkit::postgres::detail
