// chatkit-cpp: options of PostgresStore and the connection URL they are read from (target chatkit::postgres).
#pragma once

#include <chatkit/core/config.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace chatkit::postgres {

/**
 * Where a PostgresStore connects and how it uses its connections.
 *
 * Most deployments write a URL and call `Options::from_url`:
 * `postgresql://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem`.
 * Empty members mean libpq's defaults (its `PG*` environment variables, then the local Unix socket,
 * the operating-system user name, a database named after the user).
 *
 * @par TLS
 * libpq does TLS. `sslmode=verify-full` with `sslrootcert` (the CA that signed the server's
 * certificate) encrypts the connection and checks both the certificate chain and that the
 * certificate names `host`; anything weaker than `verify-full` over an untrusted network lets a
 * man in the middle read the conversations.
 */
struct Options {
    /** Host name, IP address, or the directory of a Unix socket (starts with `/`). */
    std::string host;
    /** TCP port (or the Unix socket's number); 0: libpq's default (5432). */
    std::uint16_t port = 0;
    /** Database role. */
    std::string user;
    /** Its password (never written to logs or error messages; `describe()` leaves it out). */
    std::string password;
    /** Database name. */
    std::string dbname;
    /** libpq `sslmode`: `disable`, `allow`, `prefer` (libpq's default), `require`, `verify-ca` or
     *  `verify-full`. */
    std::string sslmode;
    /** File of the CA certificate(s) that verify the server (`verify-ca`, `verify-full`). */
    std::string sslrootcert;
    /** Other libpq connection keywords (`sslcert`, `sslkey`, `keepalives_idle`,
     *  `target_session_attrs`...), passed through; `from_url` accepts only keywords libpq knows. */
    std::map<std::string, std::string> parameters;

    /** `application_name` of the store's sessions (shown in `pg_stat_activity`). */
    std::string application_name = "chatkit-cpp";

    /** Schema of the store's tables (created when missing; lower-case letters, digits and `_`).
     *  Empty: the first schema of the role's `search_path` (usually `public`). Several
     *  applications, or several independent stores, can share a database with one schema each. */
    std::string schema;

    /** Most connections the store opens at once (its pool). A call that finds every connection
     *  busy waits for one, within its `call_timeout`. */
    std::size_t pool_size = 10;

    /** Every store call completes within this time, or fails with `error::store_busy` (HTTP 503
     *  with `Retry-After`): waiting for a connection, connecting, the statements and their retries
     *  included. Also the sessions' `statement_timeout`, so the server stops work nobody waits for. */
    std::chrono::milliseconds call_timeout{10'000};

    /** Time allowed to open the connection the constructor uses to migrate the schema. */
    std::chrono::milliseconds connect_timeout{10'000};

    /** How many times a call whose transaction hit a serialization failure or a deadlock (SQLSTATE
     *  40001, 40P01) is run again before it fails with `error::store_busy`. */
    int serialization_retries = 3;

    /** A connection idle for longer than this is checked with a round trip before a call uses it;
     *  a younger one only with a look at its socket (a server that went away has closed it). */
    std::chrono::milliseconds health_check_after{30'000};

    /** A connection idle for longer than this is closed (the pool shrinks back after a peak). */
    std::chrono::milliseconds max_idle{300'000};

    /**
     * Reads a connection URL: `postgresql://` or `postgres://`, then `[user[:password]@]`,
     * `[host][:port]` (an IPv6 address in brackets; a Unix-socket directory percent-encoded, or
     * given as the `host` parameter), `[/database]` and `[?name=value&...]`, every part
     * percent-decoded.
     *
     * Parameters: `sslmode`, `sslrootcert`, `application_name`, `connect_timeout` (seconds), and
     * the store's own `schema`, `pool_size`, `call_timeout_ms` and `serialization_retries`; any other
     * libpq keyword goes to `parameters`.
     *
     * @throws std::invalid_argument naming the problem (never the password): another scheme,
     *         several hosts, a bad port, an unknown or repeated parameter, an invalid `sslmode`,
     *         `schema` or number.
     */
    CHATKIT_API static Options from_url(std::string_view url);

    /** The connection target for logs: the URL without the password
     * (`postgresql://user@host:port/db?sslmode=...`). */
    CHATKIT_API std::string describe() const;
};

/** True when `text` is a PostgreSQL connection URL (`postgresql://` or `postgres://`), which the
 *  examples' `--db` tells apart from an SQLite file path. */
CHATKIT_API bool is_url(std::string_view text) noexcept;

}  // namespace chatkit::postgres
