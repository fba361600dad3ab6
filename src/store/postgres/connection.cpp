// chatkit-cpp: one libpq connection driven without blocking (see connection.hpp).

#include "connection.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <poll.h>

#include <charconv>
#include <string>
#include <utility>
#include <vector>

namespace chatkit::postgres::detail {
namespace {

using wait_type = asio::posix::descriptor_base::wait_type;

// libpq prints notices (CREATE ... IF NOT EXISTS skipping, ...) to stderr by default.
void ignore_notice(void*, char const*) {}

// Waits until the socket is ready, on the caller's executor. The descriptor is registered for this
// wait only and given back with release(): libpq owns it (and may replace it while connecting).
asio::awaitable<void> wait_socket(int fd, wait_type what) {
    if (fd < 0) throw connection_lost("the connection has no socket");
    auto const executor = co_await asio::this_coro::executor;
    asio::posix::stream_descriptor socket(executor, fd);
    struct give_back {
        asio::posix::stream_descriptor& socket;
        ~give_back() { (void)socket.release(); }
    } const guard{socket};
    co_await socket.async_wait(what, asio::use_awaitable);
}

// Runs PQconnectStartParams (a host name lookup) on `blocking` and resumes on the caller's executor.
asio::awaitable<PGconn*> start_on(asio::any_io_executor blocking,
                                  std::vector<std::pair<std::string, std::string>> const& keywords) {
    PGconn* pg = nullptr;
    auto initiation = [&blocking, &keywords, &pg](auto handler) {
        auto caller =
            asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked);
        asio::post(blocking,
                   [&keywords, &pg, handler = std::move(handler), caller = std::move(caller)]() mutable {
                       std::vector<char const*> names;
                       std::vector<char const*> values;
                       for (auto const& [k, v] : keywords) {
                           names.push_back(k.c_str());
                           values.push_back(v.c_str());
                       }
                       names.push_back(nullptr);
                       values.push_back(nullptr);
                       pg = PQconnectStartParams(names.data(), values.data(), 0);
                       asio::dispatch(caller, std::move(handler));
                   });
    };
    co_await asio::async_initiate<asio::use_awaitable_t<> const, void()>(std::move(initiation),
                                                                         asio::use_awaitable);
    co_return pg;
}

}  // namespace

// After the handshake: non-blocking pipeline mode, and the session must speak UTF-8 to a UTF-8 database.
void check_encoding(connection& c) {
    char const* encoding = PQparameterStatus(c.native(), "server_encoding");
    if (!encoding || std::string_view(encoding) != "UTF8")
        throw connection_lost(std::string("the database's encoding is ") + (encoding ? encoding : "unknown") +
                              ", not UTF8 (create it with ENCODING 'UTF8')");
}

void setup(connection& c) {
    PGconn* pg = c.native();
    PQsetNoticeProcessor(pg, ignore_notice, nullptr);
    check_encoding(c);
    if (PQsetnonblocking(pg, 1) != 0)
        throw connection_lost("cannot make the connection non-blocking: " + last_error(pg));
    if (PQenterPipelineMode(pg) != 1) throw connection_lost("cannot enter pipeline mode: " + last_error(pg));
}

namespace {

// Sends what is buffered. While the socket is full, waits until it can take more (libpq reads what
// the server sends meanwhile itself).
asio::awaitable<void> flush(connection& c) {
    PGconn* pg = c.native();
    for (;;) {
        int const rc = PQflush(pg);
        if (rc == 0) co_return;
        if (rc < 0) throw connection_lost(last_error(pg));
        co_await wait_socket(PQsocket(pg), wait_type::wait_write);
    }
}

// The next result (nullptr at the end of a statement's results), waiting for the server as needed.
asio::awaitable<result> next_result(connection& c) {
    PGconn* pg = c.native();
    for (;;) {
        if (PQisBusy(pg) == 0) co_return result(PQgetResult(pg));
        if (PQconsumeInput(pg) == 0) throw connection_lost(last_error(pg));
        if (PQisBusy(pg) == 0) continue;
        // With TLS, a record larger than libpq's free buffer leaves decrypted bytes inside OpenSSL that
        // no socket readiness announces: read again (libpq grows its buffer for a long message) before
        // sleeping on the socket.
        if (PQsslInUse(pg) != 0) {
            bool ready = false;
            for (int i = 0; i < 4 && !ready; ++i) {
                if (PQconsumeInput(pg) == 0) throw connection_lost(last_error(pg));
                ready = PQisBusy(pg) == 0;
            }
            if (ready) continue;
        }
        co_await wait_socket(PQsocket(pg), wait_type::wait_read);
    }
}

// Reads `count` statements' results and the sync that follows, then throws server_error for the
// first statement the server refused (the pipeline is in step again: the connection stays usable).
asio::awaitable<std::vector<result>> collect(connection& c, std::size_t count) {
    PGconn* pg = c.native();
    co_await flush(c);
    std::vector<result> results;
    results.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        result r = co_await next_result(c);
        if (PQstatus(pg) == CONNECTION_BAD) throw connection_lost(last_error(pg));
        if (!r.has_value())
            throw connection_lost("the server's answers are out of step with the statements sent");
        results.push_back(std::move(r));
        // Each statement's results end with a null result.
        result const end = co_await next_result(c);
        if (PQstatus(pg) == CONNECTION_BAD) throw connection_lost(last_error(pg));
        if (end.has_value())
            throw connection_lost("the server's answers are out of step with the statements sent");
    }
    result const sync = co_await next_result(c);
    if (PQstatus(pg) == CONNECTION_BAD) throw connection_lost(last_error(pg));
    if (sync.status() != PGRES_PIPELINE_SYNC)
        throw connection_lost("the server's answers are out of step with the statements sent");
    c.busy = false;
    for (auto const& r : results) {
        auto const status = r.status();
        if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) continue;
        if (status == PGRES_FATAL_ERROR) throw server_error(r.sqlstate(), r.error_message());
        if (status != PGRES_PIPELINE_ABORTED)
            throw server_error("", std::string("unexpected result status ") + PQresStatus(status));
    }
    co_return results;
}

}  // namespace

std::int64_t result::int64(int row, int column) const {
    auto const text = this->text(row, column);
    std::int64_t value = 0;
    auto const [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size())
        throw connection_lost("the server sent '" + std::string(text) + "' for a bigint column");
    return value;
}

std::int64_t result::affected() const {
    char const* text = PQcmdTuples(r_);
    std::int64_t value = 0;
    if (text && *text) std::from_chars(text, text + std::char_traits<char>::length(text), value);
    return value;
}

std::string result::error_message() const {
    char const* primary = PQresultErrorField(r_, PG_DIAG_MESSAGE_PRIMARY);
    std::string text = primary ? primary : PQresultErrorMessage(r_);
    for (auto& ch : text)
        if (ch == '\n' || ch == '\t') ch = ' ';
    while (!text.empty() && text.back() == ' ')
        text.pop_back();
    return text;
}

std::string last_error(PGconn* pg) {
    std::string text = pg ? PQerrorMessage(pg) : "out of memory";
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    for (auto& ch : text)
        if (ch == '\n' || ch == '\t') ch = ' ';
    return text.empty() ? "connection failed" : text;
}

asio::awaitable<std::unique_ptr<connection>> connect(Options const& options, asio::any_io_executor blocking) {
    auto const keywords = connection_keywords(options);
    PGconn* pg = co_await start_on(std::move(blocking), keywords);
    if (!pg) throw connection_lost("out of memory");
    auto c = std::make_unique<connection>(pg);
    if (PQstatus(pg) == CONNECTION_BAD) throw connection_lost(last_error(pg));
    // libpq's protocol: start as if PQconnectPoll had asked to wait for writing; the socket may
    // change between polls (another address, a retry without TLS).
    auto poll = PGRES_POLLING_WRITING;
    for (;;) {
        if (poll == PGRES_POLLING_OK) break;
        if (poll == PGRES_POLLING_FAILED) throw connection_lost(last_error(pg));
        co_await wait_socket(PQsocket(pg),
                             poll == PGRES_POLLING_READING ? wait_type::wait_read : wait_type::wait_write);
        poll = PQconnectPoll(pg);
    }
    setup(*c);
    co_return c;
}

std::unique_ptr<connection> connect_blocking(Options const& options) {
    auto const keywords = connection_keywords(options);
    std::vector<char const*> names;
    std::vector<char const*> values;
    for (auto const& [k, v] : keywords) {
        names.push_back(k.c_str());
        values.push_back(v.c_str());
    }
    names.push_back(nullptr);
    values.push_back(nullptr);
    PGconn* pg = PQconnectdbParams(names.data(), values.data(), 0);
    if (!pg) throw connection_lost("out of memory");
    auto c = std::make_unique<connection>(pg);
    if (PQstatus(pg) != CONNECTION_OK) throw connection_lost(last_error(pg));
    PQsetNoticeProcessor(pg, ignore_notice, nullptr);
    return c;
}

asio::awaitable<void> prepare(connection& c, std::span<statement_text const> statements) {
    PGconn* pg = c.native();
    c.busy = true;
    for (auto const& s : statements)
        if (PQsendPrepare(pg, s.name, s.sql, 0, nullptr) != 1) throw connection_lost(last_error(pg));
    if (PQpipelineSync(pg) != 1) throw connection_lost(last_error(pg));
    (void)co_await collect(c, statements.size());
    c.prepared = true;
}

asio::awaitable<std::vector<result>> run(connection& c, std::span<query const> queries) {
    PGconn* pg = c.native();
    c.busy = true;
    for (auto const& q : queries) {
        auto const& values = q.values();
        if (PQsendQueryPrepared(pg, q.statement(), static_cast<int>(values.size()), values.data(), nullptr,
                                nullptr, 0) != 1)
            throw connection_lost(last_error(pg));
    }
    if (PQpipelineSync(pg) != 1) throw connection_lost(last_error(pg));
    co_return co_await collect(c, queries.size());
}

bool looks_alive(connection& c) noexcept {
    PGconn* pg = c.native();
    if (PQstatus(pg) != CONNECTION_OK || c.busy) return false;
    pollfd p{};
    p.fd = PQsocket(pg);
    p.events = POLLIN;
    if (p.fd < 0) return false;
    int const rc = ::poll(&p, 1, 0);
    return rc == 0;
}

}  // namespace chatkit::postgres::detail
