// The connection pool of PostgresStore (private, src/store/postgres/pool.hpp): slots are bounded,
// handed to waiters first come first served, and a waiter whose call times out leaves the line.
// No server needed: the slots here stay empty (a call would open a connection in its slot).
#include "pool.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <optional>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
using chatkit::postgres::detail::lease;
using chatkit::postgres::detail::pool;

}  // namespace

TEST_CASE("a pool caller waiting for a slot leaves the line when its call times out", "[postgres][pool]") {
    pool slots(1, std::chrono::hours(1));
    asio::io_context io;
    bool finished = false;
    auto body = [&]() -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        std::optional<lease> held = co_await slots.acquire();  // the only slot
        CHECK(held->get() == nullptr);                         // empty: the caller would connect
        CHECK(slots.counts().open == 1);

        auto const executor = co_await asio::this_coro::executor;
        asio::steady_timer timeout(executor, std::chrono::milliseconds(30));
        auto waited = co_await (slots.acquire() || timeout.async_wait(asio::use_awaitable));
        CHECK(waited.index() == 1);  // the timeout won
        CHECK(slots.counts().waiting == 0);

        held.reset();  // the slot comes back and nobody waits for it
        CHECK(slots.counts().open == 0);
        lease again = co_await slots.acquire();
        CHECK(slots.counts().open == 1);
        finished = true;
    };
    asio::co_spawn(io, body, asio::detached);
    io.run();
    CHECK(finished);
}

TEST_CASE("a pool hands returned slots to the waiters in arrival order", "[postgres][pool]") {
    pool slots(2, std::chrono::hours(1));
    asio::io_context io;
    std::vector<std::string> served;
    std::optional<lease> first;
    std::optional<lease> second;
    auto holder = [&]() -> asio::awaitable<void> {
        first = co_await slots.acquire();
        second = co_await slots.acquire();
    };
    auto waiter = [&](std::string name) {
        return [&served, &slots, name]() -> asio::awaitable<void> {
            lease l = co_await slots.acquire();
            served.push_back(name);
        };
    };
    asio::co_spawn(io, holder, asio::detached);
    io.run_one();
    io.restart();
    while (io.poll() > 0) {
    }
    REQUIRE(slots.counts().open == 2);
    asio::co_spawn(io, waiter("a"), asio::detached);
    asio::co_spawn(io, waiter("b"), asio::detached);
    asio::co_spawn(io, waiter("c"), asio::detached);
    io.restart();
    while (io.poll() > 0) {
    }
    CHECK(slots.counts().waiting == 3);
    first.reset();  // a gets it, uses it, gives it back: b gets it, then c
    io.restart();
    io.run();
    CHECK(served == std::vector<std::string>{"a", "b", "c"});
    CHECK(slots.counts().waiting == 0);
    second.reset();
    CHECK(slots.counts().open == 0);
}
