// chatkit-cpp (private): the bounded, thread-safe connection pool of a PostgresStore.
#pragma once

#include "connection.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace chatkit::postgres::detail {

class pool;

/**
 * A slot of the pool held by one call: the connection in it, or none yet (the call opens one).
 *
 * Destroying the lease gives the slot back: its connection goes back to the pool when it is in
 * step with the server (not `busy`, status OK), and is closed otherwise; an empty slot is freed.
 * A lease lost on the way (a result a cancelled race drops) therefore never leaks a slot.
 */
class lease {
public:
    lease() = default;
    lease(pool* owner, std::unique_ptr<connection> c) noexcept : pool_(owner), conn_(std::move(c)) {}
    lease(lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)), conn_(std::move(other.conn_)) {}
    lease& operator=(lease&& other) noexcept;
    lease(lease const&) = delete;
    lease& operator=(lease const&) = delete;
    ~lease();

    /// The connection, or nullptr while the slot is empty.
    connection* get() const noexcept { return conn_.get(); }
    /// Closes the connection (a dead one), keeping the slot.
    void drop() noexcept;
    /// Puts a freshly opened connection in the slot.
    void fill(std::unique_ptr<connection> c) noexcept { conn_ = std::move(c); }

private:
    pool* pool_ = nullptr;
    std::unique_ptr<connection> conn_;
};

/// What the pool holds right now, and what it did so far.
struct pool_counts {
    std::size_t open = 0;      ///< slots taken: idle connections + those lent (or being opened)
    std::size_t idle = 0;      ///< connections waiting in the pool
    std::size_t waiting = 0;   ///< calls waiting for a slot
    std::uint64_t opened = 0;  ///< connections opened since the start
    std::uint64_t closed = 0;  ///< connections closed (dead, out of step, idle too long)
};

/**
 * At most `size` connections; idle ones are reused most-recently-used first. A call that finds no
 * idle connection and no free slot waits in line (first come, first served); the wait is cancelled
 * through the awaiting coroutine's cancellation slot (the store's call timeout).
 *
 * Thread-safe: calls on any executor acquire and release concurrently (one mutex, never held while
 * a connection is closed or a handler runs).
 */
class pool {
public:
    pool(std::size_t size, std::chrono::milliseconds max_idle) : size_(size), max_idle_(max_idle) {}
    ~pool();
    pool(pool const&) = delete;
    pool& operator=(pool const&) = delete;

    /// An idle connection, a free slot to open one in, or (when every slot is taken) the first of
    /// either to come back. Throws `operation_aborted` when cancelled while waiting.
    asio::awaitable<lease> acquire();

    /// Counts for tests and monitoring.
    pool_counts counts() const;

    /// Adds a connection opened outside a slot (the constructor's) to the idle ones, if there is room.
    void adopt(std::unique_ptr<connection> c);

    /// Records a connection opened into a slot.
    void note_opened() noexcept;
    /// Records a connection closed because it was dead or out of step.
    void note_closed() noexcept;

private:
    friend class lease;
    friend struct acquire_initiation;
    friend struct waiter_canceller;

    struct waiter {
        std::uint64_t id;
        asio::any_completion_handler<void(boost::system::error_code, lease)> handler;
        asio::any_io_executor executor;  // the handler's, tracking work while it waits
    };

    std::optional<lease> try_take_locked();
    void give_back(std::unique_ptr<connection> c) noexcept;
    void cancel(std::uint64_t id);
    static void complete(waiter w, boost::system::error_code ec, lease l);

    std::size_t const size_;
    std::chrono::milliseconds const max_idle_;
    mutable std::mutex mutex_;
    std::vector<std::unique_ptr<connection>> idle_;  // least recently used first
    std::deque<waiter> waiters_;
    std::size_t open_ = 0;
    std::uint64_t next_waiter_ = 0;
    std::uint64_t opened_ = 0;
    std::uint64_t closed_ = 0;
};

}  // namespace chatkit::postgres::detail
