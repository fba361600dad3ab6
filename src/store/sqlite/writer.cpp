// chatkit-cpp: the writer thread of SqliteStore's backend and its group commit.
//
// Writes wait in a bounded queue. While the queue is not empty, one drain is posted to (or running
// on) the writer thread; it takes every queued write and runs them as one group: BEGIN IMMEDIATE,
// then for each write SAVEPOINT / the write's statements / RELEASE (ROLLBACK TO on failure, so a
// failing write undoes only itself and fails alone), then one COMMIT, and only then completes every
// write of the group. Writes queued while a group runs wait for the next drain, so under load the
// writer wakes once per group, not once per write, and commits once per group.
//
// When SQLite ends the whole transaction itself (a full disk or an I/O error can), or the COMMIT
// fails, the writes that had not failed yet are run again, each in a transaction of its own, so
// that every caller still gets the outcome of its own write.

#include <chatkit/store/sqlite/backend.hpp>

#include "sqlite_detail.hpp"

#include <boost/asio/post.hpp>

#include <sqlite3.h>

#include <cstddef>
#include <exception>
#include <mutex>
#include <utility>
#include <vector>

namespace chatkit::sqlite::detail {
namespace {

// Rolls back what is left of the open transaction, if any. Errors are ignored: SQLite may already
// have rolled back (SQLITE_FULL, SQLITE_IOERR).
void rollback_quietly(connection& c) noexcept {
    if (sqlite3_get_autocommit(c.db)) return;
    sqlite3_reset(c.rollback.get());
    sqlite3_step(c.rollback.get());
    sqlite3_reset(c.rollback.get());
}

bool busy(std::exception_ptr const& failure) {
    try {
        std::rethrow_exception(failure);
    } catch (Error const& e) {
        return e.code() == make_error_code(error::store_busy);
    } catch (...) {
        return false;
    }
}

// Runs the writes of `group` not failed yet in one transaction, a SAVEPOINT each. Returns false,
// with the transaction rolled back, when it could not be kept: SQLite ended it after a write's
// failure, or the COMMIT failed (whose error is then in `commit_failure`).
bool run_together(connection& c, std::vector<write_op*> const& group, std::vector<std::exception_ptr>& failures,
                  std::exception_ptr& commit_failure) {
    use(c.begin).run();
    for (std::size_t n = 0; n < group.size(); ++n) {
        if (failures[n]) continue;
        try {
            use(c.savepoint).run();
            group[n]->run();
            use(c.release).run();
        } catch (...) {
            failures[n] = std::current_exception();
            if (sqlite3_get_autocommit(c.db)) return false;  // SQLite rolled the whole transaction back
            try {
                use(c.rollback_to).run();
                use(c.release).run();
            } catch (...) {
                rollback_quietly(c);
                return false;
            }
        }
    }
    try {
        use(c.commit).run();
    } catch (...) {
        commit_failure = std::current_exception();
        rollback_quietly(c);
        return false;
    }
    return true;
}

// Runs one write in a transaction of its own; its failure, if any.
std::exception_ptr run_alone(connection& c, write_op& op) {
    try {
        use(c.begin).run();
        op.run();
        use(c.commit).run();
        return nullptr;
    } catch (...) {
        rollback_quietly(c);
        return std::current_exception();
    }
}

}  // namespace

bool backend::submit(write_op& op) {
    auto& i = *impl_;
    bool start = false;
    {
        std::lock_guard lock(i.queue_mutex);
        if (i.queue.size() >= i.max_queued) return false;
        i.queue.push_back(&op);
        start = !std::exchange(i.draining, true);
    }
    if (start) asio::post(i.write_pool, [&i] { i.drain(); });
    return true;
}

void backend::impl::drain() {
    std::vector<write_op*> group;
    {
        std::lock_guard lock(queue_mutex);
        group.swap(queue);
        queue.reserve(group.size());
    }
    run_group(group);
    bool more = false;
    {
        std::lock_guard lock(queue_mutex);
        more = !queue.empty();
        if (!more) draining = false;
    }
    // The writes queued meanwhile run in the next group, after whatever else waits for this thread
    // (the reads, when there are no read connections).
    if (more) asio::post(write_pool, [this] { drain(); });
}

void backend::impl::run_group(std::vector<write_op*>& group) {
    if (group.empty()) return;
    std::vector<std::exception_ptr> failures(group.size());
    {
        std::lock_guard lock(writer_mutex);
        connection& c = *writer;
        group_of_this_thread = this;
        std::exception_ptr lost;  // why the shared transaction could not be kept
        bool together = false;
        try {
            // A group of one needs no SAVEPOINT: its transaction is its own.
            if (group.size() == 1) failures[0] = run_alone(c, *group[0]);
            together = group.size() == 1 || run_together(c, group, failures, lost);
        } catch (...) {  // BEGIN failed (the database stayed locked past busy_timeout, ...)
            lost = std::current_exception();
            rollback_quietly(c);
        }
        if (!together) {
            // A failed BEGIN or COMMIT fails the writes it would have held when the database is
            // locked (each retry would wait busy_timeout again); otherwise each write is retried
            // alone and gets its own outcome.
            bool const locked = lost && busy(lost);
            for (std::size_t n = 0; n < group.size(); ++n) {
                if (failures[n]) continue;
                failures[n] = locked ? lost : run_alone(c, *group[n]);
            }
        }
        group_of_this_thread = nullptr;
    }
    for (std::size_t n = 0; n < group.size(); ++n) group[n]->complete(std::move(failures[n]));
}

}  // namespace chatkit::sqlite::detail
