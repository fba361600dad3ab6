// The thread store an example server opens from its options (DESIGN.md §4): `--db` names an SQLite
// file, `:memory:`, or a PostgreSQL database (`postgresql://...`), which several instances of the
// server can share. The scripted servers also take `--store memory|sqlite|postgres`.
#pragma once

#include <chatkit/store/memory_store.hpp>
#include <chatkit/store/sqlite/store.hpp>
#include <chatkit/store/store.hpp>

#if CHATKIT_EXAMPLES_WITH_POSTGRES
#include <chatkit/store/postgres/store.hpp>
#endif

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace examples {

/// A store an example opened, and what its start-up log says about it (never a password).
template <class Context>
struct OpenedStore {
    std::unique_ptr<chatkit::Store<Context>> store;
    std::string description;
};

/// True when `db` is a PostgreSQL URL (`postgresql://`, `postgres://`) rather than an SQLite path.
inline bool is_postgres_url(std::string_view db) {
#if CHATKIT_EXAMPLES_WITH_POSTGRES
    return chatkit::postgres::is_url(db);
#else
    return db.starts_with("postgresql://") || db.starts_with("postgres://");
#endif
}

/// Opens PostgresStore on the database `url` names (the URL format of docs/store.md).
/// @throws std::runtime_error when this build has no PostgreSQL support; otherwise what
///         PostgresStore's constructor throws (std::invalid_argument, chatkit::Error).
template <class Context>
OpenedStore<Context> open_postgres_store(std::string const& url, std::function<std::string(Context const&)> owner_key) {
#if CHATKIT_EXAMPLES_WITH_POSTGRES
    //[postgres_store
    auto options = chatkit::postgres::Options::from_url(url);  // postgresql://user:pass@host:5432/db?sslmode=verify-full
    std::string description = "postgresql " + options.describe();  // the target, without the password
    auto store = std::make_unique<chatkit::PostgresStore<Context>>(std::move(options), std::move(owner_key));
    //]
    return {std::move(store), std::move(description)};
#else
    (void)url;
    (void)owner_key;
    throw std::runtime_error(
        "this build has no PostgreSQL support: install libpq-dev (scripts/install-deps.sh) and configure again");
#endif
}

/// Opens the store `--db` names: a PostgreSQL URL, `:memory:` (SQLite in memory, lost at exit), or
/// the path of an SQLite file (created when missing). Data is partitioned by `owner_key`.
template <class Context>
OpenedStore<Context> open_store(std::string const& db, std::function<std::string(Context const&)> owner_key) {
    if (is_postgres_url(db)) return open_postgres_store<Context>(db, std::move(owner_key));
    chatkit::SqliteOptions options;
    options.path = db;
    std::string description = db == ":memory:" ? "sqlite in memory (lost on exit)" : "sqlite " + db;
    return {std::make_unique<chatkit::SqliteStore<Context>>(std::move(options), std::move(owner_key)),
            std::move(description)};
}

/// The scripted servers' `--store memory|sqlite|postgres` with `--db` (a file for sqlite, a URL for
/// postgres). @throws std::invalid_argument for another kind, or a `--db` that does not fit it.
template <class Context>
OpenedStore<Context> open_store(std::string const& kind, std::string const& db,
                                std::function<std::string(Context const&)> owner_key) {
    if (kind == "memory")
        return {std::make_unique<chatkit::InMemoryStore<Context>>(std::move(owner_key)), "memory (lost on exit)"};
    if (kind == "sqlite") {
        if (is_postgres_url(db)) throw std::invalid_argument("--store sqlite needs a file in --db, not a URL");
        return open_store<Context>(db, std::move(owner_key));
    }
    if (kind == "postgres") {
        if (!is_postgres_url(db))
            throw std::invalid_argument("--store postgres needs a postgresql:// URL in --db");
        return open_postgres_store<Context>(db, std::move(owner_key));
    }
    throw std::invalid_argument("--store must be memory, sqlite or postgres");
}

}  // namespace examples
