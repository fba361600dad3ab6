// The PostgreSQL the tests of chatkit::postgres run against: a throwaway cluster
// (tests/support/pg_cluster.py), never a system service.
//
// Under ctest the fixture `postgres-cluster-start` starts one cluster for every test and names its
// description in CHATKIT_TEST_POSTGRES; the fixture `postgres-cluster-stop` removes it. Run by hand,
// the executable starts its own cluster on first use and removes it at exit (a watchdog removes it
// when the process is killed). CHATKIT_SKIP_POSTGRES=1 skips, saying so.
#pragma once

#include <chatkit/store/postgres/options.hpp>

#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace test::pg {

/// A running cluster (see pg_cluster.py for the fields).
struct Cluster {
    std::string dir;
    std::string url;      ///< postgresql://chatkit:PW@127.0.0.1:PORT/chatkit_test?sslmode=disable
    std::string tls_url;  ///< ...@localhost:PORT/...?sslmode=verify-full&sslrootcert=CA
    std::string ca;
    std::string wrong_ca;
    std::string password;
    int port = 0;
};

/// The shared cluster, or nullptr when CHATKIT_SKIP_POSTGRES=1 (after printing why). Fails the
/// test (with what to install) when PostgreSQL is missing.
Cluster const* shared();

/// True when the tests are skipped; prints the skip message (ctest marks the test skipped).
bool skipped();

/// A private cluster the test may stop and start (removed when the object is destroyed).
class PrivateCluster {
public:
    PrivateCluster();
    ~PrivateCluster();
    PrivateCluster(PrivateCluster const&) = delete;
    PrivateCluster& operator=(PrivateCluster const&) = delete;
    Cluster const& info() const { return info_; }
    void stop_server();   ///< pg_ctl stop -m fast (the data stays)
    void start_server();  ///< pg_ctl start again on the same port

private:
    Cluster info_;
};

/// Runs pg_cluster.py with `arguments`; its stdout. Fails the test when it fails.
std::string cluster_script(std::vector<std::string> const& arguments);

/// A fresh schema name (`t_<counter>_<pid>`), so that each store of a test starts empty.
std::string fresh_schema();

/// Options for `url` in a fresh schema, with a recognisable application_name.
chatkit::postgres::Options options_for(std::string const& url,
                                       std::string const& application_name = "chatkit-test");

/// A blocking libpq connection for what the Store API cannot do (locks, triggers, pg_stat_activity).
class Raw {
public:
    explicit Raw(std::string const& url);
    ~Raw();
    Raw(Raw const&) = delete;
    Raw& operator=(Raw const&) = delete;

    /// Runs SQL (several statements allowed); fails the test on an error.
    void exec(std::string const& sql);
    /// Every row of a query, columns joined with '|' (NULL as "NULL").
    std::vector<std::string> rows(std::string const& sql);
    /// The first column of the first row ("" when none).
    std::string value(std::string const& sql);

private:
    PGconn* pg_;
};

/// The pid of a session of `application_name` waiting for a lock, waiting up to 20 s for it to appear.
std::optional<int> wait_for_lock_waiter(Raw& raw, std::string const& application_name);

}  // namespace test::pg
