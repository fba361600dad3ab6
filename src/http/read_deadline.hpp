// chatkit-cpp HTTP layer (private): the per-connection read deadline and the per-request body
// reservation of the bundled listener (server.cpp).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace chatkit::http::detail {

namespace asio = boost::asio;

// The deadline of a connection's reads: one timer per connection, armed before a read and disarmed
// after it. When it fires first, the socket's pending operations are cancelled (the read completes
// with operation_aborted) and disarm() reports it; the connection stays usable to answer 408. No
// coroutine, parallel group or exception per read, as racing each read against its own timer costs.
// Used on the connection's strand only (the timer runs on the socket's executor).
class read_deadline {
public:
    explicit read_deadline(asio::ip::tcp::socket& socket)
        : state_(std::make_shared<state>(socket.get_executor(), socket)) {}
    read_deadline(read_deadline const&) = delete;
    read_deadline& operator=(read_deadline const&) = delete;
    ~read_deadline() { disarm(); }  // a handler already queued sees a new generation: no-op

    void arm(std::chrono::milliseconds timeout) { arm_until(std::chrono::steady_clock::now() + timeout); }

    void arm_until(std::chrono::steady_clock::time_point deadline) {
        auto& s = *state_;
        s.expired = false;
        s.timer.expires_at(deadline);
        s.timer.async_wait([st = state_, generation = ++s.generation](boost::system::error_code const& ec) {
            if (ec || generation != st->generation) return;  // disarmed (or the connection ended)
            st->expired = true;
            boost::system::error_code ignored;
            st->socket->cancel(ignored);
        });
    }

    // Stops the timer; true if it fired while armed.
    bool disarm() {
        ++state_->generation;
        state_->timer.cancel();
        return state_->expired;
    }

private:
    struct state {
        state(asio::any_io_executor const& ex, asio::ip::tcp::socket& s) : timer(ex), socket(&s) {}
        asio::steady_timer timer;
        asio::ip::tcp::socket* socket;
        std::uint64_t generation = 0;
        bool expired = false;
    };
    std::shared_ptr<state> state_;  // shared with a pending handler, which may outlive the connection
};

// A request body's share of ServerOptions::body_budget, returned when the reservation is destroyed
// (after the request was answered).
class body_reservation {
public:
    explicit body_reservation(std::atomic<std::uint64_t>& in_flight) noexcept : in_flight_(in_flight) {}
    body_reservation(body_reservation const&) = delete;
    body_reservation& operator=(body_reservation const&) = delete;
    ~body_reservation() {
        if (bytes_ != 0) in_flight_.fetch_sub(bytes_, std::memory_order_relaxed);
    }

    // Takes `bytes` when the total stays within `budget`.
    bool take(std::uint64_t bytes, std::uint64_t budget) noexcept {
        std::uint64_t current = in_flight_.load(std::memory_order_relaxed);
        do {
            if (bytes > budget || current > budget - bytes) return false;
        } while (!in_flight_.compare_exchange_weak(current, current + bytes, std::memory_order_relaxed));
        bytes_ += bytes;
        return true;
    }

private:
    std::atomic<std::uint64_t>& in_flight_;
    std::uint64_t bytes_ = 0;
};

}  // namespace chatkit::http::detail
