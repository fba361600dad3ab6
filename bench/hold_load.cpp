// chatkit_hold_load: holds many ChatKit streams open at once against one server and measures what
// each open stream costs it (resident memory per stream) and how fast the first event of each
// arrives, from 1,000 to 50,000 streams and more.
//
//   chatkit_hold_load --url http://127.0.0.1:PORT/chatkit --pid SERVER_PID --streams 50000
//                     [--text "slow 1 20000"] [--sources 16] [--ramp 5000] [--timeout 60]
//
// Each stream is one connection posting `threads.create` with the given text (bench contract:
// `slow N MS` streams N deltas, MS apart) and reading its SSE body to the end. A single loopback
// address gives about 28,000 ephemeral ports (Linux's 32768-60999), so connections are bound to
// `--sources` addresses 127.0.0.1, 127.0.0.2, ... (all of 127/8 is loopback on Linux). The
// descriptor limit is raised to what the streams need (as root, the hard limit too).
//
// Phases: the server's RSS (from /proc/PID/status) is sampled for 1 s before anything opens
// (baseline); streams open at `--ramp` per second; once every stream got its first event (or
// failed), 1 s of settling, then 2 s of RSS samples (plateau) while the streams are held; then it
// waits for every stream to end. One JSON object on stdout, the same fields as ckbench.py's hold:
//   streams, ok, failed, open_at_plateau, seconds, ttfe_p50, ttfe_p99 (ms, request written to first
//   event), rss_base_kib, rss_plateau_kib, rss_peak_kib, kib_per_stream, events.
// A stream is ok when it answered 200 with text/event-stream and ended after at least two events.
//
// Single-threaded: pin it to the load core (`taskset -c 1`), the server to the other.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

struct Options {
    std::string host = "127.0.0.1";
    unsigned short port = 0;
    std::string path = "/chatkit";
    long pid = 0;
    std::size_t streams = 1000;
    std::string text = "slow 1 20000";
    unsigned sources = 16;
    std::size_t ramp = 5000;  // streams opened per second
    std::chrono::seconds timeout{60};
};

[[noreturn]] void usage(std::string const& why) {
    std::cerr << "chatkit_hold_load: " << why << "\n"
              << "usage: chatkit_hold_load --url http://HOST:PORT/PATH --pid SERVER_PID [--streams N] [--text T]\n"
              << "                         [--sources N] [--ramp PER_SECOND] [--timeout SECONDS]\n";
    std::exit(2);
}

std::size_t number(std::string_view name, std::string_view text) {
    std::size_t value = 0;
    auto const [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value == 0)
        usage("--" + std::string(name) + " wants a positive integer, got '" + std::string(text) + "'");
    return value;
}

Options parse(int argc, char** argv) {
    Options o;
    std::string url;
    for (int i = 1; i < argc; ++i) {
        std::string_view const arg = argv[i];
        if (i + 1 >= argc) usage("missing value after " + std::string(arg));
        std::string_view const value = argv[++i];
        if (arg == "--url") url = value;
        else if (arg == "--pid") o.pid = static_cast<long>(number("pid", value));
        else if (arg == "--streams") o.streams = number("streams", value);
        else if (arg == "--text") o.text = value;
        else if (arg == "--sources") o.sources = static_cast<unsigned>(std::min<std::size_t>(number("sources", value), 250));
        else if (arg == "--ramp") o.ramp = number("ramp", value);
        else if (arg == "--timeout") o.timeout = std::chrono::seconds(number("timeout", value));
        else usage("unknown option " + std::string(arg));
    }
    constexpr std::string_view scheme = "http://";
    if (!url.starts_with(scheme)) usage("--url must be http://HOST:PORT/PATH");
    std::string_view rest = std::string_view(url).substr(scheme.size());
    auto const slash = rest.find('/');
    std::string_view const authority = rest.substr(0, slash);
    if (slash != std::string_view::npos) o.path = std::string(rest.substr(slash));
    auto const colon = authority.rfind(':');
    if (colon == std::string_view::npos) usage("--url needs a port");
    o.host = std::string(authority.substr(0, colon));
    o.port = static_cast<unsigned short>(number("url port", authority.substr(colon + 1)));
    if (o.pid == 0) usage("--pid is required (the server whose memory is measured)");
    return o;
}

/// The server's resident set in KiB (VmRSS), or nothing when it cannot be read.
std::optional<double> rss_kib(long pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.starts_with("VmRSS:")) return std::strtod(line.c_str() + 6, nullptr);
    return std::nullopt;
}

double percentile(std::vector<double> values, double p) {
    if (values.empty()) return -1;
    std::sort(values.begin(), values.end());
    auto const rank = static_cast<std::size_t>(std::lround(p / 100.0 * static_cast<double>(values.size() - 1)));
    return values[std::min(rank, values.size() - 1)];
}

double median(std::vector<double> values) { return percentile(std::move(values), 50); }

/// Raises the descriptor limit to `wanted` (the hard limit too when allowed). Returns the soft limit.
rlim_t raise_descriptor_limit(rlim_t wanted) {
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_cur >= wanted) return limit.rlim_cur;
    rlimit raised{wanted, std::max(wanted, limit.rlim_max)};
    if (::setrlimit(RLIMIT_NOFILE, &raised) != 0) {  // not allowed to raise the hard limit: up to it
        raised = {limit.rlim_max, limit.rlim_max};
        ::setrlimit(RLIMIT_NOFILE, &raised);
    }
    ::getrlimit(RLIMIT_NOFILE, &limit);
    return limit.rlim_cur;
}

struct Totals {
    std::size_t opened = 0;     // connections started
    std::size_t settled = 0;    // got their first event or failed before it
    std::size_t open_now = 0;   // connected and not yet ended
    std::size_t ok = 0;
    std::size_t failed = 0;
    std::size_t events = 0;
    std::vector<double> first_event_ms;
    std::string first_failure;
};

/// One held stream: connect from `source`, post, read the SSE body to the end counting events.
class Stream : public std::enable_shared_from_this<Stream> {
public:
    Stream(asio::io_context& io, tcp::endpoint server, asio::ip::address source, std::string const& request, Totals& totals)
        : socket_(io), server_(server), source_(source), request_(request), totals_(totals) {}

    void start() {
        beast::error_code ec;
        socket_.open(tcp::v4(), ec);
        if (!ec) socket_.bind(tcp::endpoint(source_, 0), ec);
        if (ec) return fail("bind", ec);
        socket_.async_connect(server_, [self = shared_from_this()](beast::error_code e) { self->on_connect(e); });
    }

private:
    void on_connect(beast::error_code ec) {
        if (ec) return fail("connect", ec);
        ++totals_.open_now;
        connected_ = true;
        sent_ = clock_type::now();
        asio::async_write(socket_, asio::buffer(request_),
                          [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_written(e); });
    }

    void on_written(beast::error_code ec) {
        if (ec) return fail("write", ec);
        parser_.body_limit(boost::none);
        http::async_read_header(socket_, buffer_, parser_,
                                [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_header(e); });
    }

    void on_header(beast::error_code ec) {
        if (ec) return fail("read header", ec);
        auto const& head = parser_.get();
        if (head.result() != http::status::ok || !head[http::field::content_type].starts_with("text/event-stream"))
            return fail("answer", {}, "HTTP " + std::to_string(head.result_int()));
        read_body();
    }

    void read_body() {
        parser_.get().body().data = chunk_.data();
        parser_.get().body().size = chunk_.size();
        http::async_read_some(socket_, buffer_, parser_,
                              [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_body(e); });
    }

    void on_body(beast::error_code ec) {
        if (ec == http::error::need_buffer) ec = {};
        if (ec) return fail("read body", ec);
        std::size_t const got = chunk_.size() - parser_.get().body().size;
        count_events(std::string_view(chunk_.data(), got));
        if (!parser_.is_done()) return read_body();
        end(events_ >= 2);
    }

    void count_events(std::string_view bytes) {
        for (char const c : bytes) {
            if (c == '\n' && last_ == '\n') {
                if (events_++ == 0) {
                    totals_.first_event_ms.push_back(
                        std::chrono::duration<double, std::milli>(clock_type::now() - sent_).count());
                    ++totals_.settled;
                }
            }
            last_ = c;
        }
    }

    void fail(char const* where, beast::error_code ec, std::string what = {}) {
        if (totals_.first_failure.empty())
            totals_.first_failure = std::string(where) + ": " + (what.empty() ? ec.message() : what);
        end(false);
    }

    void end(bool ok) {
        if (ended_) return;
        ended_ = true;
        if (events_ == 0) ++totals_.settled;  // failed before its first event
        if (connected_) --totals_.open_now;
        (ok ? totals_.ok : totals_.failed) += 1;
        totals_.events += events_;
        beast::error_code ignored;
        socket_.close(ignored);
    }

    tcp::socket socket_;
    tcp::endpoint server_;
    asio::ip::address source_;
    std::string const& request_;
    Totals& totals_;
    beast::flat_buffer buffer_{4096};
    http::response_parser<http::buffer_body> parser_;
    std::array<char, 2048> chunk_{};
    clock_type::time_point sent_{};
    std::size_t events_ = 0;
    char last_ = 0;
    bool connected_ = false;
    bool ended_ = false;
};

/// Calls `step` every `period` until it returns false (on the io_context's thread).
class Ticker : public std::enable_shared_from_this<Ticker> {
public:
    Ticker(asio::io_context& io, std::chrono::milliseconds period, std::function<bool()> step)
        : timer_(io), period_(period), step_(std::move(step)) {}
    void start() {
        timer_.expires_after(period_);
        timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
            if (!ec && self->step_()) self->start();
        });
    }

private:
    asio::steady_timer timer_;
    std::chrono::milliseconds period_;
    std::function<bool()> step_;
};

void every(asio::io_context& io, std::chrono::milliseconds period, std::function<bool()> step) {
    std::make_shared<Ticker>(io, period, std::move(step))->start();
}

/// `text` as the inside of a JSON string.
std::string json_escape(std::string_view text) {
    std::string out;
    for (char const c : text) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20) continue;
        out += c;
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    Options const options = parse(argc, argv);
    rlim_t const wanted = static_cast<rlim_t>(options.streams + 64);
    if (rlim_t const have = raise_descriptor_limit(wanted); have < wanted) {
        std::cerr << "chatkit_hold_load: the descriptor limit is " << have << ", " << wanted
                  << " are needed (run as root, or raise `ulimit -Hn`)\n";
        return 1;
    }
    std::ostringstream body;
    body << R"({"type":"threads.create","params":{"input":{"content":[{"type":"input_text","text":")" << json_escape(options.text)
         << R"("}],"attachments":[],"inference_options":{}}}})";
    std::string const payload = body.str();
    std::string const request = "POST " + options.path + " HTTP/1.1\r\nHost: " + options.host + ":" +
                                std::to_string(options.port) +
                                "\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\nContent-Length: " +
                                std::to_string(payload.size()) + "\r\n\r\n" + payload;

    asio::io_context io(1);
    tcp::endpoint const server(asio::ip::make_address(options.host), options.port);
    Totals totals;
    totals.first_event_ms.reserve(options.streams);
    std::vector<double> base, plateau;
    double peak = 0;
    auto sample = [&](std::vector<double>* into) {
        if (auto const kib = rss_kib(options.pid)) {
            peak = std::max(peak, *kib);
            if (into) into->push_back(*kib);
        }
    };

    // Baseline: 1 s of samples before anything opens.
    auto const start = clock_type::now();
    while (clock_type::now() - start < std::chrono::seconds(1)) {
        sample(&base);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }

    // Ramp: `ramp` streams per second, in 10 ms batches, spread over the source addresses.
    auto const opened_at = clock_type::now();
    std::size_t const per_batch = std::max<std::size_t>(1, options.ramp / 100);
    every(io, std::chrono::milliseconds(10), [&] {
        for (std::size_t i = 0; i < per_batch && totals.opened < options.streams; ++i, ++totals.opened) {
            auto const n = static_cast<unsigned>(totals.opened % options.sources) + 1;
            asio::ip::address_v4 const source(asio::ip::address_v4::bytes_type{127, 0, 0, static_cast<unsigned char>(n)});
            std::make_shared<Stream>(io, server, source, request, totals)->start();
        }
        return totals.opened < options.streams;
    });

    // Plateau: once every stream has its first event (or failed), 1 s of settling, 2 s of samples.
    std::optional<clock_type::time_point> all_settled;
    std::size_t open_at_plateau = 0;
    bool plateau_done = false;
    every(io, std::chrono::milliseconds(50), [&] {
        auto const now = clock_type::now();
        if (!all_settled && totals.settled >= options.streams) all_settled = now;
        if (all_settled && now - *all_settled >= std::chrono::seconds(1)) {
            sample(&plateau);
            open_at_plateau = std::max(open_at_plateau, totals.open_now);
            if (now - *all_settled >= std::chrono::seconds(3)) plateau_done = true;
        } else {
            sample(nullptr);
        }
        return !plateau_done;
    });

    // Every stream ends by itself; the timeout bounds the whole run.
    io.run_for(options.timeout);
    auto const seconds = std::chrono::duration<double>(clock_type::now() - opened_at).count();

    double const rss_base = base.empty() ? -1 : median(base);
    double const rss_plateau = plateau.empty() ? -1 : median(plateau);
    bool const measured = rss_base > 0 && rss_plateau > 0 && open_at_plateau > 0;
    std::cout << "{\"streams\": " << options.streams << ", \"ok\": " << totals.ok << ", \"failed\": " << totals.failed
              << ", \"unfinished\": " << (options.streams - totals.ok - totals.failed)
              << ", \"open_at_plateau\": " << open_at_plateau << ", \"seconds\": " << seconds
              << ", \"events\": " << totals.events << ", \"ttfe_p50\": " << percentile(totals.first_event_ms, 50)
              << ", \"ttfe_p99\": " << percentile(totals.first_event_ms, 99) << ", \"rss_base_kib\": " << rss_base
              << ", \"rss_plateau_kib\": " << rss_plateau << ", \"rss_peak_kib\": " << peak << ", \"kib_per_stream\": ";
    if (measured) std::cout << (rss_plateau - rss_base) / static_cast<double>(open_at_plateau);
    else std::cout << "null";
    std::cout << ", \"first_failure\": \"" << json_escape(totals.first_failure) << "\"}\n";
    return totals.ok == options.streams ? 0 : 1;
}
