// The thread store an example server's `--db` option names, opened in one place for every example,
// so that a new kind of store is added here once.
#pragma once

#include <chatkit/store/sqlite/store.hpp>

#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace examples {

/// A store, and a line saying what it is for the start-up log.
template <class Context>
struct OpenedStore {
    std::unique_ptr<chatkit::Store<Context>> store;
    std::string description;
};

/// Opens the store `db` names: `:memory:` is SQLite in memory (threads are lost on exit), anything
/// else a SQLite database file (created when missing). `owner_of` partitions the store: one owner's
/// threads, items and attachments do not exist for another. Throws when the store cannot open.
template <class Context>
OpenedStore<Context> open_store(std::string const& db, std::function<std::string(Context const&)> owner_of) {
    chatkit::SqliteOptions options;
    options.path = db;
    std::string description =
        db == ":memory:" ? std::string("sqlite in memory (lost on exit)") : "sqlite " + db;
    return {std::make_unique<chatkit::SqliteStore<Context>>(std::move(options), std::move(owner_of)),
            std::move(description)};
}

}  // namespace examples
