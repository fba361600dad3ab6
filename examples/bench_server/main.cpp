// bench_server: the ChatKit bench contract (../shared/bench/CONTRACT.md) on chatkit-cpp.
//
// A plain ChatKitServer whose respond() streams canned text instead of calling a model, so the
// load runner measures the SDK (HTTP, request parsing, the store, event encoding, SSE framing):
//
//   "stream N"     N text deltas "token ", no pause
//   "slow N MS"    N deltas, MS milliseconds before each
//   anything else  32 deltas
//
// (N ≤ 100000, MS ≤ 60000). Run it, then point the runner at it (bench/run.sh does all of this):
//   bench_server --port 0                       # prints "listening on http://127.0.0.1:PORT"
//   ../shared/bench/load/run.sh http://127.0.0.1:PORT/chatkit
// `--store memory` (default) keeps threads in memory; `--store sqlite` uses SqliteStore on `--db FILE`,
// `--store postgres` PostgresStore on `--db postgresql://...`.
#include "../common/cli.hpp"
#include "../common/store.hpp"

#include <chatkit/http/server.hpp>
#include <chatkit/server/server.hpp>
#include <chatkit/server/streaming.hpp>
#include <chatkit/store/memory_store.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

namespace asio = boost::asio;

/// The bench serves one anonymous user: the context carries nothing.
struct Context {};

constexpr long max_deltas = 100000;
constexpr long max_pause_ms = 60000;
constexpr long default_deltas = 32;

/// What respond() streams for one user message.
struct Script {
    long deltas = default_deltas;
    long pause_ms = 0;
};

std::string_view trim(std::string_view s) {
    auto const first = s.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return {};
    return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

// Reads one decimal integer (digits only) at the front of `s`, clamped to `limit`; advances `s`.
bool take_number(std::string_view& s, long limit, long& out) {
    std::size_t n = 0;
    while (n < s.size() && s[n] >= '0' && s[n] <= '9') ++n;
    if (n == 0) return false;
    long value = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + n, value);
    out = (ec == std::errc::result_out_of_range || value > limit) ? limit : value;
    (void)ptr;
    s.remove_prefix(n);
    return true;
}

/// CONTRACT.md §2: the whole text is `stream N`, `slow N MS`, or anything else (32 deltas).
Script parse_script(std::string_view text) {
    Script script;
    long n = 0;
    long ms = 0;
    if (text.starts_with("stream ")) {
        std::string_view rest = text.substr(7);
        if (take_number(rest, max_deltas, n) && rest.empty()) script.deltas = n;
    } else if (text.starts_with("slow ")) {
        std::string_view rest = text.substr(5);
        if (take_number(rest, max_deltas, n) && rest.starts_with(' ')) {
            rest.remove_prefix(1);
            if (take_number(rest, max_pause_ms, ms) && rest.empty()) script = {n, ms};
        }
    }
    return script;
}

/// The input_text parts of a user message joined by a space, trimmed.
std::string message_text(chatkit::UserMessageItem const& input) {
    std::string joined;
    bool first = true;
    for (auto const& part : input.content) {
        if (auto const* text = std::get_if<chatkit::UserMessageTextContent>(&part)) {
            if (!first) joined += ' ';
            joined += text->text;
            first = false;
        }
    }
    return std::string(trim(joined));
}

/// The bench's ChatKit server: every reply is one assistant message of "token " deltas.
class BenchServer final : public chatkit::ChatKitServer<Context> {
public:
    using chatkit::ChatKitServer<Context>::ChatKitServer;

protected:
    asio::awaitable<void> respond(chatkit::ThreadMetadata&, std::optional<chatkit::UserMessageItem> const& input,
                                  chatkit::EventSink& events, Context&) override {
        Script const script = input ? parse_script(message_text(*input)) : Script{};
        chatkit::AssistantMessageStream message(events);
        co_await message.start();
        std::optional<asio::steady_timer> timer;
        if (script.pause_ms > 0) timer.emplace(co_await asio::this_coro::executor);
        for (long i = 0; i < script.deltas; ++i) {
            if (timer) {
                timer->expires_after(std::chrono::milliseconds(script.pause_ms));
                co_await timer->async_wait(asio::use_awaitable);
            }
            co_await message.append("token ");
        }
        co_await message.finish();
    }
};

// Thousands of held streams need as many descriptors: raise the soft limit to the hard one.
void raise_fd_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

unsigned long count_option(examples::Cli const& cli, std::string const& name) {
    try {
        std::size_t used = 0;
        unsigned long v = std::stoul(cli.get(name), &used);
        if (used != cli.get(name).size() || v == 0) throw std::out_of_range("count");
        return v;
    } catch (std::exception const&) {
        cli.fail("option '--" + name + "' must be a positive integer, got '" + cli.get(name) + "'");
    }
}

}  // namespace

int main(int argc, char** argv) try {
    examples::Cli cli("bench_server", "The ChatKit bench contract (../shared/bench/CONTRACT.md): canned streamed replies.");
    cli.listener_options()
        .option("store", "CHATKIT_STORE", "memory", "where threads live: memory, sqlite or postgres")
        .option("db", "CHATKIT_DB", "bench_server.db",
                "the SQLite file for --store sqlite, the postgresql:// URL for --store postgres")
        .option("max-connections", "CHATKIT_MAX_CONNECTIONS", "20000", "connections served at once");
    cli.parse(argc, argv);
    raise_fd_limit();

    std::unique_ptr<chatkit::Store<Context>> store;
    try {
        store = examples::open_store<Context>(cli.get("store"), cli.get("db"), [](Context const&) { return std::string(); })
                    .store;
    } catch (std::invalid_argument const& e) {
        cli.fail(e.what());
    }
    BenchServer app({.store = *store});

    chatkit::http::ServerOptions options = cli.server_options();
    options.max_connections = count_option(cli, "max-connections");
    chatkit::http::Server<Context> server(app, options);
    server.run_until_signal();  // prints "listening on ..."; SIGINT/SIGTERM stop it gracefully
    return 0;
} catch (std::exception const& e) {
    std::cerr << "bench_server: " << e.what() << "\n";
    return 1;
}
