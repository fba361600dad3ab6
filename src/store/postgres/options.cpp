// chatkit-cpp: postgres::Options from a connection URL, and the libpq keywords they become.

#include "connection.hpp"

#include <chatkit/store/postgres/options.hpp>

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatkit::postgres {
namespace {

[[noreturn]] void bad_url(std::string const& why) { throw std::invalid_argument("PostgreSQL URL: " + why); }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string decode(std::string_view text, char const* part) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (i + 2 >= text.size()) bad_url(std::string("bad percent-encoding in the ") + part);
        int const hi = hex_value(text[i + 1]);
        int const lo = hex_value(text[i + 2]);
        if (hi < 0 || lo < 0) bad_url(std::string("bad percent-encoding in the ") + part);
        char const c = static_cast<char>(hi * 16 + lo);
        if (c == '\0') bad_url(std::string("the ") + part + " holds a NUL character");
        out += c;
        i += 2;
    }
    return out;
}

template <class Int>
Int parse_number(std::string_view text, char const* what, Int min, Int max) {
    Int value{};
    auto const [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max)
        bad_url(std::string(what) + " must be a number from " + std::to_string(min) + " to " +
                std::to_string(max) + ", not '" + std::string(text) + "'");
    return value;
}

// The keywords libpq knows (PQconndefaults), read once.
std::set<std::string> const& libpq_keywords() {
    static std::set<std::string> const keywords = [] {
        std::set<std::string> out;
        std::unique_ptr<PQconninfoOption, void (*)(PQconninfoOption*)> defaults(PQconndefaults(),
                                                                                PQconninfoFree);
        for (auto const* o = defaults.get(); o && o->keyword; ++o)
            out.insert(o->keyword);
        return out;
    }();
    return keywords;
}

// Keywords the store sets itself.
bool reserved(std::string_view keyword) {
    return keyword == "client_encoding" || keyword == "replication" || keyword == "dbname" ||
           keyword == "service";
}

}  // namespace

bool is_url(std::string_view text) noexcept {
    auto starts = [&](std::string_view prefix) {
        if (text.size() < prefix.size()) return false;
        for (std::size_t i = 0; i < prefix.size(); ++i) {
            char c = text[i];
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
            if (c != prefix[i]) return false;
        }
        return true;
    };
    return starts("postgresql://") || starts("postgres://");
}

Options Options::from_url(std::string_view url) {
    if (!is_url(url)) bad_url("it must start with postgresql:// or postgres://");
    Options options;
    std::string_view rest = url.substr(url.find("://") + 3);

    std::string_view query;
    if (auto const q = rest.find('?'); q != std::string_view::npos) {
        query = rest.substr(q + 1);
        rest = rest.substr(0, q);
    }
    std::string_view path;
    if (auto const slash = rest.find('/'); slash != std::string_view::npos) {
        path = rest.substr(slash + 1);
        rest = rest.substr(0, slash);
    }
    std::string_view authority = rest;
    if (authority.find('#') != std::string_view::npos || path.find('#') != std::string_view::npos)
        bad_url("a fragment (#...) is not allowed");

    if (auto const at = authority.rfind('@'); at != std::string_view::npos) {
        std::string_view const userinfo = authority.substr(0, at);
        authority = authority.substr(at + 1);
        auto const colon = userinfo.find(':');
        options.user = decode(userinfo.substr(0, colon), "user name");
        if (colon != std::string_view::npos)
            options.password = decode(userinfo.substr(colon + 1), "password");
    }
    if (authority.find(',') != std::string_view::npos)
        bad_url(
            "several hosts are not supported; give one host (and a load balancer or proxy in front of "
            "several)");
    std::string_view host = authority;
    std::string_view port;
    if (!host.empty() && host.front() == '[') {
        auto const close = host.find(']');
        if (close == std::string_view::npos) bad_url("an IPv6 address misses its closing ']'");
        std::string_view const after = host.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') bad_url("unexpected text after the IPv6 address");
            port = after.substr(1);
        }
        host = host.substr(1, close - 1);
    } else if (auto const colon = host.rfind(':'); colon != std::string_view::npos) {
        port = host.substr(colon + 1);
        host = host.substr(0, colon);
    }
    options.host = decode(host, "host");
    if (!port.empty()) options.port = parse_number<std::uint16_t>(port, "the port", 1, 65535);
    if (path.find('/') != std::string_view::npos) bad_url("the path must be one database name");
    options.dbname = decode(path, "database name");

    std::set<std::string> seen;
    while (!query.empty()) {
        auto const amp = query.find('&');
        std::string_view const pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (pair.empty()) continue;
        auto const eq = pair.find('=');
        if (eq == std::string_view::npos)
            bad_url("parameter '" + decode(pair, "parameter") + "' has no value");
        std::string const name = decode(pair.substr(0, eq), "parameter name");
        std::string value = decode(pair.substr(eq + 1), "parameter value");
        if (!seen.insert(name).second) bad_url("parameter '" + name + "' is given twice");

        if (name == "schema") {
            options.schema = std::move(value);
        } else if (name == "pool_size") {
            options.pool_size = parse_number<std::size_t>(value, "pool_size", 1, 10'000);
        } else if (name == "call_timeout_ms") {
            options.call_timeout = std::chrono::milliseconds(
                parse_number<std::int64_t>(value, "call_timeout_ms", 1, 86'400'000));
        } else if (name == "serialization_retries") {
            options.serialization_retries = parse_number<int>(value, "serialization_retries", 0, 100);
        } else if (name == "connect_timeout") {
            options.connect_timeout = std::chrono::seconds(
                parse_number<std::int64_t>(value, "connect_timeout (seconds)", 1, 86'400));
        } else if (name == "sslmode") {
            options.sslmode = std::move(value);
        } else if (name == "sslrootcert") {
            options.sslrootcert = std::move(value);
        } else if (name == "application_name") {
            options.application_name = std::move(value);
        } else if (name == "host") {
            options.host = std::move(value);
        } else if (name == "port") {
            options.port = parse_number<std::uint16_t>(value, "the port", 1, 65535);
        } else if (name == "user") {
            options.user = std::move(value);
        } else if (name == "password") {
            options.password = std::move(value);
        } else if (reserved(name) || !libpq_keywords().contains(name)) {
            bad_url("unknown or unsupported parameter '" + name + "'");
        } else {
            options.parameters[name] = std::move(value);
        }
    }
    detail::validate(options);
    return options;
}

std::string Options::describe() const {
    std::string out = "postgresql://";
    if (!user.empty()) out += user + "@";
    bool const v6 = host.find(':') != std::string::npos;
    out += v6 ? "[" + host + "]" : host;
    if (port != 0) out += ":" + std::to_string(port);
    out += "/" + dbname;
    std::vector<std::pair<std::string, std::string>> shown;
    if (!sslmode.empty()) shown.emplace_back("sslmode", sslmode);
    if (!schema.empty()) shown.emplace_back("schema", schema);
    char sep = '?';
    for (auto const& [k, v] : shown) {
        out += sep;
        out += k;
        out += '=';
        out += v;
        sep = '&';
    }
    return out;
}

namespace detail {

void validate(Options const& options) {
    static constexpr std::string_view modes[] = {"disable", "allow",     "prefer",
                                                 "require", "verify-ca", "verify-full"};
    if (!options.sslmode.empty() &&
        std::find(std::begin(modes), std::end(modes), options.sslmode) == std::end(modes))
        bad_url("sslmode must be disable, allow, prefer, require, verify-ca or verify-full, not '" +
                options.sslmode + "'");
    if (!options.schema.empty()) {
        bool ok = options.schema.size() <= 63 && !(options.schema[0] >= '0' && options.schema[0] <= '9');
        for (char const c : options.schema)
            ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
        if (!ok || options.schema.starts_with("pg_"))
            bad_url(
                "schema must be 1 to 63 lower-case letters, digits and '_', not start with a digit or 'pg_' "
                "('" +
                options.schema + "')");
    }
    if (options.pool_size == 0) throw std::invalid_argument("PostgresStore: pool_size must be at least 1");
    if (options.call_timeout.count() <= 0)
        throw std::invalid_argument("PostgresStore: call_timeout must be positive");
    if (options.serialization_retries < 0)
        throw std::invalid_argument("PostgresStore: serialization_retries must not be negative");
    for (auto const& [keyword, value] : options.parameters) {
        (void)value;
        if (reserved(keyword) || !libpq_keywords().contains(keyword))
            throw std::invalid_argument("PostgresStore: unknown or unsupported connection parameter '" +
                                        keyword + "'");
    }
}

std::vector<std::pair<std::string, std::string>> connection_keywords(Options const& options) {
    std::vector<std::pair<std::string, std::string>> out;
    auto add = [&](char const* keyword, std::string value) {
        if (!value.empty()) out.emplace_back(keyword, std::move(value));
    };
    add("host", options.host);
    if (options.port != 0) add("port", std::to_string(options.port));
    add("user", options.user);
    add("password", options.password);
    add("dbname", options.dbname);
    add("sslmode", options.sslmode);
    add("sslrootcert", options.sslrootcert);
    add("application_name", options.application_name);
    // libpq's connect_timeout is in whole seconds; it bounds the constructor's blocking connect (the
    // calls' own connects are bounded by call_timeout).
    auto const seconds =
        std::max<std::int64_t>(2, std::chrono::ceil<std::chrono::seconds>(options.connect_timeout).count());
    add("connect_timeout", std::to_string(seconds));
    // The store's text is UTF-8 whatever PGCLIENTENCODING says.
    add("client_encoding", "UTF8");
    // Keepalives find a dead server behind a silent network sooner than the OS default (2 hours).
    for (auto const& [keyword, value] :
         {std::pair{"keepalives_idle", "60"}, std::pair{"keepalives_interval", "10"},
          std::pair{"keepalives_count", "3"}})
        if (!options.parameters.contains(keyword)) add(keyword, value);
    // Session settings: the server stops statements nobody waits for any more, checks that the client is
    // still there during long statements, and resolves table names in the store's schema.
    std::string session = "-c statement_timeout=" + std::to_string(options.call_timeout.count()) +
                          " -c idle_in_transaction_session_timeout=" +
                          std::to_string(std::max<std::int64_t>(options.call_timeout.count() * 2, 1000)) +
                          " -c client_connection_check_interval=1000";
    if (!options.schema.empty()) session += " -c search_path=" + options.schema;
    std::string user_options;
    for (auto const& [keyword, value] : options.parameters) {
        if (keyword == "options") {
            user_options = value;
            continue;
        }
        add(keyword.c_str(), value);
    }
    if (!user_options.empty()) session += " " + user_options;
    add("options", session);
    return out;
}

}  // namespace detail
}  // namespace chatkit::postgres
