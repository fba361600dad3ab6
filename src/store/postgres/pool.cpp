// chatkit-cpp: the connection pool of a PostgresStore (see pool.hpp).

#include "pool.hpp"

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <utility>

namespace chatkit::postgres::detail {

lease& lease::operator=(lease&& other) noexcept {
    if (this != &other) {
        lease old(std::move(*this));
        pool_ = std::exchange(other.pool_, nullptr);
        conn_ = std::move(other.conn_);
    }
    return *this;
}

lease::~lease() {
    if (!pool_) return;
    // A connection out of step with the server (a call interrupted between sending and reading its
    // results) or closed by it cannot serve another call.
    if (conn_ && (conn_->busy || PQstatus(conn_->native()) != CONNECTION_OK)) {
        conn_.reset();
        pool_->note_closed();
    }
    pool_->give_back(std::move(conn_));
}

void lease::drop() noexcept {
    if (!conn_) return;
    conn_.reset();
    if (pool_) pool_->note_closed();
}

// The cancellation handler of a waiting acquire: looks the waiter up by id, so it is harmless when
// the waiter was served first (asio may call it after the operation completed).
struct waiter_canceller {
    pool* self;
    std::uint64_t id;
    void operator()(asio::cancellation_type_t) const { self->cancel(id); }
};

struct acquire_initiation {
    pool* self;

    template <class Handler>
    void operator()(Handler&& handler) const {
        auto slot = asio::get_associated_cancellation_slot(handler);
        auto executor =
            asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked);
        std::unique_lock lock(self->mutex_);
        // Again under the lock: a connection may have come back since acquire() looked.
        if (auto ready = self->try_take_locked()) {
            lock.unlock();
            pool::waiter w{0, std::forward<Handler>(handler), std::move(executor)};
            pool::complete(std::move(w), {}, std::move(*ready));
            return;
        }
        auto const id = ++self->next_waiter_;
        self->waiters_.push_back(pool::waiter{id, std::forward<Handler>(handler), std::move(executor)});
        if (slot.is_connected()) slot.template emplace<waiter_canceller>(waiter_canceller{self, id});
    }
};

pool::~pool() {
    std::lock_guard lock(mutex_);
    idle_.clear();
}

std::optional<lease> pool::try_take_locked() {
    if (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        return lease(this, std::move(c));
    }
    if (open_ < size_) {
        ++open_;
        return lease(this, nullptr);
    }
    return std::nullopt;
}

asio::awaitable<lease> pool::acquire() {
    {
        std::lock_guard lock(mutex_);
        if (auto ready = try_take_locked()) co_return std::move(*ready);
    }
    acquire_initiation initiation{this};
    co_return co_await asio::async_initiate<asio::use_awaitable_t<> const,
                                            void(boost::system::error_code, lease)>(initiation,
                                                                                    asio::use_awaitable);
}

void pool::complete(waiter w, boost::system::error_code ec, lease l) {
    auto executor = w.executor;
    asio::post(executor, [handler = std::move(w.handler), ec, l = std::move(l)]() mutable {
        std::move(handler)(ec, std::move(l));
    });
}

void pool::give_back(std::unique_ptr<connection> c) noexcept {
    std::vector<std::unique_ptr<connection>> expired;
    std::optional<waiter> next;
    auto const now = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(mutex_);
        if (!waiters_.empty()) {
            // The slot (with its connection, or empty to open one in) passes to the first in line.
            next.emplace(std::move(waiters_.front()));
            waiters_.pop_front();
        } else if (c) {
            c->last_used = now;
            idle_.push_back(std::move(c));
        } else {
            --open_;
        }
        // Connections idle for too long are closed: the pool shrinks back after a peak.
        auto const keep = std::find_if(idle_.begin(), idle_.end(),
                                       [&](auto const& conn) { return now - conn->last_used < max_idle_; });
        for (auto it = idle_.begin(); it != keep; ++it)
            expired.push_back(std::move(*it));
        idle_.erase(idle_.begin(), keep);
        open_ -= expired.size();
        closed_ += expired.size();
    }
    if (next) {
        try {
            complete(std::move(*next), {}, lease(this, std::move(c)));
        } catch (...) {
            // post() failing (out of memory) leaves the waiter to its timeout.
        }
    }
    // `expired` closes its connections here, outside the lock.
}

void pool::cancel(std::uint64_t id) {
    std::optional<waiter> found;
    {
        std::lock_guard lock(mutex_);
        auto it =
            std::find_if(waiters_.begin(), waiters_.end(), [id](waiter const& w) { return w.id == id; });
        if (it == waiters_.end()) return;
        found.emplace(std::move(*it));
        waiters_.erase(it);
    }
    complete(std::move(*found), asio::error::operation_aborted, lease());
}

pool_counts pool::counts() const {
    std::lock_guard lock(mutex_);
    return {open_, idle_.size(), waiters_.size(), opened_, closed_};
}

void pool::adopt(std::unique_ptr<connection> c) {
    std::lock_guard lock(mutex_);
    ++opened_;
    if (open_ >= size_) return;  // closed when `c` goes out of scope
    ++open_;
    c->last_used = std::chrono::steady_clock::now();
    idle_.push_back(std::move(c));
}

void pool::note_closed() noexcept {
    std::lock_guard lock(mutex_);
    ++closed_;
}

void pool::note_opened() noexcept {
    std::lock_guard lock(mutex_);
    ++opened_;
}

}  // namespace chatkit::postgres::detail
