// chatkit-cpp (private): one libpq connection driven without blocking, on the caller's executor.
//
// A connection is used by one store call at a time (the pool hands it out). While a call waits for
// the server, its coroutine is suspended on the connection's socket: a
// `boost::asio::posix::stream_descriptor` made on the caller's executor for that one wait, which
// gives the descriptor back with release() (libpq owns it and closes it in PQfinish). libpq runs in
// non-blocking and pipeline mode: the statements of a call are sent together, followed by one sync,
// and their results read back in one round trip.
#pragma once

#include <chatkit/store/postgres/options.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatkit::postgres::detail {

namespace asio = boost::asio;

/// Throws std::invalid_argument for options no connection could use.
void validate(Options const& options);

/// The libpq keywords and values a connection is opened with (password included: never log them).
std::vector<std::pair<std::string, std::string>> connection_keywords(Options const& options);

/// The server answered a statement with an error; the connection is still usable.
struct server_error : std::runtime_error {
    server_error(std::string state, std::string const& message)
        : std::runtime_error(message), sqlstate(std::move(state)) {}
    /// The SQLSTATE (`40001`...), empty when the server gave none.
    std::string sqlstate;
};

/// The connection failed (closed by the server, network error, protocol error); it is discarded.
struct connection_lost : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// A PGresult, cleared when destroyed.
class result {
public:
    result() = default;
    explicit result(PGresult* r) noexcept : r_(r) {}
    result(result&& other) noexcept : r_(std::exchange(other.r_, nullptr)) {}
    result& operator=(result&& other) noexcept {
        std::swap(r_, other.r_);
        return *this;
    }
    result(result const&) = delete;
    result& operator=(result const&) = delete;
    ~result() { PQclear(r_); }

    ExecStatusType status() const noexcept { return PQresultStatus(r_); }
    int rows() const noexcept { return PQntuples(r_); }
    /// Text of a column; empty for NULL.
    std::string_view text(int row, int column) const noexcept {
        return {PQgetvalue(r_, row, column), static_cast<std::size_t>(PQgetlength(r_, row, column))};
    }
    /// A bigint column (text format).
    std::int64_t int64(int row, int column) const;
    /// Affected rows of an INSERT/UPDATE/DELETE.
    std::int64_t affected() const;
    /// False for the null result that ends a statement's results.
    bool has_value() const noexcept { return r_ != nullptr; }
    /// The SQLSTATE of an error result (empty when none).
    std::string sqlstate() const {
        char const* s = PQresultErrorField(r_, PG_DIAG_SQLSTATE);
        return s ? s : "";
    }
    /// The primary message of an error result, on one line.
    std::string error_message() const;

private:
    PGresult* r_ = nullptr;
};

/// One statement of a pipeline: a prepared statement's name and its text parameters.
///
/// Text parameters are referenced, not copied: the strings must outlive the call. Numbers are kept
/// in the query itself (a deque, so moving the query keeps their addresses).
class query {
public:
    explicit query(char const* statement) : statement_(statement) {}
    query(query&&) = default;
    query& operator=(query&&) = default;
    query(query const&) = delete;
    query& operator=(query const&) = delete;

    /// Appends a text parameter (must not hold a NUL character: libpq sends text up to the first NUL).
    query& text(std::string const& value) {
        values_.push_back(value.c_str());
        return *this;
    }
    /// Appends a bigint parameter.
    query& number(std::int64_t value) {
        owned_.push_back(std::to_string(value));
        values_.push_back(owned_.back().c_str());
        return *this;
    }

    char const* statement() const noexcept { return statement_; }
    std::vector<char const*> const& values() const noexcept { return values_; }

private:
    char const* statement_;
    std::vector<char const*> values_;
    std::deque<std::string> owned_;
};

/// A statement prepared on every connection.
struct statement_text {
    char const* name;
    char const* sql;
};

/// An open connection (non-blocking, pipeline mode).
class connection {
public:
    explicit connection(PGconn* pg) noexcept : pg_(pg) {}
    ~connection() { PQfinish(pg_); }
    connection(connection const&) = delete;
    connection& operator=(connection const&) = delete;

    PGconn* native() const noexcept { return pg_; }

    /// True while statements are sent or their results not all read: a connection left in this
    /// state (an exception, a cancelled wait) is out of step with the server and must be closed.
    bool busy = false;
    /// The store's statements are prepared on it.
    bool prepared = false;
    /// When it was last handed back to the pool.
    std::chrono::steady_clock::time_point last_used = std::chrono::steady_clock::now();

private:
    PGconn* pg_;
};

/// libpq's message for the connection's last error, on one line.
std::string last_error(PGconn* pg);

/// Opens a connection without blocking the caller: libpq's PQconnectStartParams (which resolves
/// the host name) runs on `blocking`, the handshake (TLS included) on the caller's executor.
/// @throws connection_lost when the server cannot be reached or refuses the connection.
asio::awaitable<std::unique_ptr<connection>> connect(Options const& options, asio::any_io_executor blocking);

/// Opens a connection, blocking (the store's constructor, before any request), with libpq's connect_timeout.
/// @throws connection_lost
std::unique_ptr<connection> connect_blocking(Options const& options);

/// Refuses a database whose encoding is not UTF8 (connection_lost saying so).
void check_encoding(connection& c);

/// Makes a connection opened with connect_blocking ready for run(): refuses a database that is not
/// UTF-8, ignores notices, turns on non-blocking and pipeline mode (after which PQexec is unusable).
/// connect() does this itself.
/// @throws connection_lost
void setup(connection& c);

/// Prepares `statements` on the connection (one round trip).
/// @throws server_error, connection_lost
asio::awaitable<void> prepare(connection& c, std::span<statement_text const> statements);

/// Runs `queries` as one pipeline and returns their results, one per query (one round trip).
/// @throws server_error for the first statement the server refused (the connection stays usable),
///         connection_lost when the connection failed.
asio::awaitable<std::vector<result>> run(connection& c, std::span<query const> queries);

/// A look at an idle connection's socket without waiting: false when the server has closed it or
/// sent something (an idle session receives nothing unless it is being terminated).
bool looks_alive(connection& c) noexcept;

}  // namespace chatkit::postgres::detail
