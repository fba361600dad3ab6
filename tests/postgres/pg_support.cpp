#include "postgres/pg_support.hpp"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace test::pg {
namespace {

std::string quote(std::string const& arg) {
    std::string out = "'";
    for (char c : arg) {
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    return out + "'";
}

// `python3 pg_cluster.py ARGS...` for a shell. (Appended piece by piece: g++ 12 -O2 reports a
// false -Warray-bounds on a chain of std::string operator+ here.)
std::string script_command(std::vector<std::string> const& arguments) {
    std::string command = CHATKIT_PYTHON;
    command += ' ';
    command += quote(CHATKIT_PG_CLUSTER_SCRIPT);
    for (auto const& a : arguments) {
        command += ' ';
        command += quote(a);
    }
    return command;
}

std::string read_file(std::string const& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

Cluster parse_cluster(std::string const& text) {
    auto const value = boost::json::parse(text).as_object();
    Cluster c;
    c.dir = std::string(value.at("dir").as_string());
    c.url = std::string(value.at("url").as_string());
    c.tls_url = std::string(value.at("tls_url").as_string());
    c.ca = std::string(value.at("ca").as_string());
    c.wrong_ca = std::string(value.at("wrong_ca").as_string());
    c.password = std::string(value.at("password").as_string());
    c.port = static_cast<int>(value.at("port").as_int64());
    return c;
}

// The cluster this process started itself (run outside ctest); removed at exit.
struct OwnCluster {
    std::optional<Cluster> cluster;
    ~OwnCluster() {
        if (!cluster) return;
        std::string command = script_command({"stop", cluster->dir});
        command += " >/dev/null 2>&1";
        if (std::system(command.c_str()) != 0)
            std::fprintf(stderr, "pg_support: could not remove %s\n", cluster->dir.c_str());
    }
};

}  // namespace

bool skipped() {
    char const* skip = std::getenv("CHATKIT_SKIP_POSTGRES");
    if (skip && std::string(skip) == "1") {
        WARN(
            "SKIPPED: CHATKIT_SKIP_POSTGRES=1 (the PostgreSQL tests need PostgreSQL 15: "
            "scripts/install-deps.sh --test)");
        return true;
    }
    return false;
}

std::string cluster_script(std::vector<std::string> const& arguments) {
    char errors_path[] = "/tmp/chatkit-pg-script-XXXXXX";
    int const fd = mkstemp(errors_path);
    if (fd < 0) FAIL("mkstemp failed");
    close(fd);
    std::string command = script_command(arguments);
    command += " 2>";
    command += quote(errors_path);
    std::string out;
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) FAIL("cannot run " << command);
    char buffer[4096];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe))
        out.append(buffer, n);
    int const status = pclose(pipe);
    std::string const errors = read_file(errors_path);
    std::remove(errors_path);
    if (status != 0) FAIL("tests/support/pg_cluster.py " << arguments.front() << " failed: " << errors);
    return out;
}

Cluster const* shared() {
    if (skipped()) return nullptr;
    static std::mutex mutex;
    static OwnCluster own;
    static std::optional<Cluster> cluster;
    static std::string failure;
    std::lock_guard lock(mutex);
    if (cluster) return &*cluster;
    if (!failure.empty()) FAIL(failure);
    try {
        if (char const* state = std::getenv("CHATKIT_TEST_POSTGRES")) {
            std::string const text = read_file(state);
            if (text.empty()) {
                failure = std::string("CHATKIT_TEST_POSTGRES names ") + state +
                          ", which is missing or empty: did the ctest fixture postgres-cluster-start fail?";
                FAIL(failure);
            }
            cluster = parse_cluster(text);
        } else {
            auto const text = cluster_script({"start", "--watch-pid", std::to_string(getpid())});
            cluster = parse_cluster(text);
            own.cluster = cluster;
        }
    } catch (std::exception const& e) {
        if (failure.empty()) failure = std::string("no PostgreSQL cluster: ") + e.what();
        throw;
    }
    return &*cluster;
}

PrivateCluster::PrivateCluster() {
    info_ = parse_cluster(cluster_script({"start", "--watch-pid", std::to_string(getpid())}));
}

PrivateCluster::~PrivateCluster() {
    std::string command = script_command({"stop", info_.dir});
    command += " >/dev/null 2>&1";
    (void)std::system(command.c_str());
}

void PrivateCluster::stop_server() { cluster_script({"stop-server", info_.dir}); }
void PrivateCluster::start_server() { cluster_script({"start-server", info_.dir}); }

std::string fresh_schema() {
    static std::atomic<int> counter{0};
    return "t_" + std::to_string(++counter) + "_" + std::to_string(getpid());
}

chatkit::postgres::Options options_for(std::string const& url, std::string const& application_name) {
    auto options = chatkit::postgres::Options::from_url(url);
    options.schema = fresh_schema();
    options.application_name = application_name;
    return options;
}

Raw::Raw(std::string const& url) : pg_(PQconnectdb(url.c_str())) {
    if (PQstatus(pg_) != CONNECTION_OK) {
        std::string const message = PQerrorMessage(pg_);
        PQfinish(pg_);
        pg_ = nullptr;
        FAIL("raw connection failed: " << message);
    }
    PQsetNoticeProcessor(
        pg_, [](void*, char const*) {}, nullptr);
}

Raw::~Raw() { PQfinish(pg_); }

void Raw::exec(std::string const& sql) {
    PGresult* r = PQexec(pg_, sql.c_str());
    auto const status = PQresultStatus(r);
    std::string const message = PQresultErrorMessage(r);
    PQclear(r);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) FAIL(sql << ": " << message);
}

std::vector<std::string> Raw::rows(std::string const& sql) {
    PGresult* r = PQexec(pg_, sql.c_str());
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        std::string const message = PQresultErrorMessage(r);
        PQclear(r);
        FAIL(sql << ": " << message);
    }
    std::vector<std::string> out;
    for (int row = 0; row < PQntuples(r); ++row) {
        std::string line;
        for (int column = 0; column < PQnfields(r); ++column) {
            if (column) line += '|';
            line += PQgetisnull(r, row, column) ? "NULL" : PQgetvalue(r, row, column);
        }
        out.push_back(std::move(line));
    }
    PQclear(r);
    return out;
}

std::string Raw::value(std::string const& sql) {
    auto r = rows(sql);
    return r.empty() ? std::string() : r.front();
}

std::optional<int> wait_for_lock_waiter(Raw& raw, std::string const& application_name) {
    auto const deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
        auto const pid = raw.value("SELECT pid FROM pg_stat_activity WHERE application_name = '" +
                                   application_name + "' AND wait_event_type = 'Lock'");
        if (!pid.empty()) return std::stoi(pid);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return std::nullopt;
}

}  // namespace test::pg
