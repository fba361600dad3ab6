// chatkit-cpp HTTP layer (private): the per-connection read deadline of the bundled listener
// (server.cpp).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

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

}  // namespace chatkit::http::detail
