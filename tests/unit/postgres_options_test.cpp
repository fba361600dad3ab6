// postgres::Options: the connection URL a deployment writes (no server needed).
#include <chatkit/store/postgres/options.hpp>

#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

using chatkit::postgres::Options;

namespace {

// The message of the std::invalid_argument `url` is refused with.
std::string refusal(std::string const& url) {
    try {
        (void)Options::from_url(url);
    } catch (std::invalid_argument const& e) {
        return e.what();
    }
    FAIL("accepted " << url);
    return {};
}

}  // namespace

TEST_CASE("a PostgreSQL URL gives every part, percent-decoded", "[postgres][options]") {
    auto const o = Options::from_url(
        "postgresql://chat%40kit:p%40ss%3Aw%2Frd@db.example.com:6432/chat%20db"
        "?sslmode=verify-full&sslrootcert=/etc/ssl/ca.pem&application_name=web-1&connect_timeout=3"
        "&schema=chat_1&pool_size=25&call_timeout_ms=2500&serialization_retries=5&keepalives_idle=30");
    CHECK(o.user == "chat@kit");
    CHECK(o.password == "p@ss:w/rd");
    CHECK(o.host == "db.example.com");
    CHECK(o.port == 6432);
    CHECK(o.dbname == "chat db");
    CHECK(o.sslmode == "verify-full");
    CHECK(o.sslrootcert == "/etc/ssl/ca.pem");
    CHECK(o.application_name == "web-1");
    CHECK(o.connect_timeout == std::chrono::seconds(3));
    CHECK(o.schema == "chat_1");
    CHECK(o.pool_size == 25);
    CHECK(o.call_timeout == std::chrono::milliseconds(2500));
    CHECK(o.serialization_retries == 5);
    CHECK(o.parameters.at("keepalives_idle") == "30");
}

TEST_CASE("a PostgreSQL URL may leave everything to libpq's defaults", "[postgres][options]") {
    auto const o = Options::from_url("postgres://");
    CHECK(o.host.empty());
    CHECK(o.port == 0);
    CHECK(o.user.empty());
    CHECK(o.dbname.empty());
    CHECK(o.sslmode.empty());
    CHECK(o.pool_size == 10);
    CHECK(Options::from_url("POSTGRESQL://localhost/chat").dbname == "chat");
    auto const v6 = Options::from_url("postgresql://u@[::1]:5433/db");
    CHECK(v6.host == "::1");
    CHECK(v6.port == 5433);
    auto const socket = Options::from_url("postgresql://%2Fvar%2Frun%2Fpostgresql/chat");
    CHECK(socket.host == "/var/run/postgresql");
    CHECK(Options::from_url("postgresql:///chat?host=/tmp&port=5499").host == "/tmp");
}

TEST_CASE("a bad PostgreSQL URL is refused with the reason and never the password", "[postgres][options]") {
    CHECK(refusal("mysql://u:secret@h/db").find("postgresql://") != std::string::npos);
    CHECK(refusal("postgresql://u:secret@h:99999/db").find("port") != std::string::npos);
    CHECK(refusal("postgresql://u:secret@h:5x/db").find("port") != std::string::npos);
    CHECK(refusal("postgresql://u:secret@a,b/db").find("several hosts") != std::string::npos);
    CHECK(refusal("postgresql://u:secret@h/db?sslmode=maybe").find("sslmode") != std::string::npos);
    CHECK(refusal("postgresql://u:secret@h/db?colour=blue").find("'colour'") != std::string::npos);
    CHECK(refusal("postgresql://u:secret@h/db?client_encoding=LATIN1").find("client_encoding") !=
          std::string::npos);
    CHECK(refusal("postgresql://u:secret@h/db?sslmode=require&sslmode=disable").find("twice") !=
          std::string::npos);
    CHECK(refusal("postgresql://u:secret@h/db?schema=Chat").find("schema") != std::string::npos);
    CHECK(refusal("postgresql://u:secret@h/db?schema=x;drop").find("schema") != std::string::npos);
    CHECK(refusal("postgresql://u:secret@h/db?schema=pg_catalog").find("schema") != std::string::npos);
    CHECK(refusal("postgresql://u:secret@h/db?pool_size=0").find("pool_size") != std::string::npos);
    CHECK(refusal("postgresql://u:secret@h/db?call_timeout_ms=-1").find("call_timeout_ms") !=
          std::string::npos);
    CHECK(refusal("postgresql://u:secret@h/a/b").find("database") != std::string::npos);
    CHECK(refusal("postgresql://u:se%2cret@h/db%zz").find("percent") != std::string::npos);
    CHECK(refusal("postgresql://u:secret@h/db%00x").find("NUL") != std::string::npos);
    for (auto const* url : {"postgresql://u:secret@h:99999/db", "postgresql://u:secret@h/db?colour=blue",
                            "postgresql://u:secret@h/db?sslmode=maybe"})
        CHECK(refusal(url).find("secret") == std::string::npos);
}

TEST_CASE("describe() names the target without the password", "[postgres][options]") {
    auto const o = Options::from_url("postgresql://chat:hunter2@db:5432/chat?sslmode=verify-full&schema=app");
    CHECK(o.describe() == "postgresql://chat@db:5432/chat?sslmode=verify-full&schema=app");
    CHECK(Options::from_url("postgresql://[::1]/x").describe() == "postgresql://[::1]/x");
}

TEST_CASE("is_url tells a PostgreSQL URL from an SQLite path", "[postgres][options]") {
    CHECK(chatkit::postgres::is_url("postgresql://localhost/chat"));
    CHECK(chatkit::postgres::is_url("Postgres://x"));
    CHECK_FALSE(chatkit::postgres::is_url("./chatkit.db"));
    CHECK_FALSE(chatkit::postgres::is_url(":memory:"));
    CHECK_FALSE(chatkit::postgres::is_url("postgresql:/x"));
    CHECK_FALSE(chatkit::postgres::is_url("/var/lib/postgresql://x"));
}
