// The compiled HTTP layer: serve_core (JSON answers, the SSE writer, the disconnect watcher, heartbeats),
// the stream transports of the two common streams, request validation (smuggling checks), CORS, static
// files and the bundled listener behind http::Server.
#include <chatkit/core/media_type.hpp>
#include <chatkit/http/serve.hpp>
#include <chatkit/http/server.hpp>
#include <chatkit/protocol/json.hpp>
#include <chatkit/server/response.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/file_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <algorithm>
#include <any>
#include <array>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

namespace chatkit::http {

namespace http_ = beast::http;
using error_code = boost::system::error_code;
using steady_clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// Public helpers

ChallengeError::ChallengeError(boost::system::error_code ec, std::string message,
                               std::string www_authenticate)
    : Error(ec, std::move(message)), www_authenticate_(std::move(www_authenticate)) {}

char const* status_code_name(unsigned status) noexcept {
    switch (status) {
        case 400: return "invalid_request";
        case 401: return "unauthorized";
        case 403: return "forbidden";
        case 404: return "not_found";
        case 405: return "method_not_allowed";
        case 408: return "request_timeout";
        case 409: return "conflict";
        case 413: return "payload_too_large";
        case 415: return "unsupported_media_type";
        case 429: return "rate_limited";
        case 431: return "headers_too_large";
        case 501: return "not_implemented";
        case 503: return "unavailable";
        default: return status < 500 ? "invalid_request" : "internal";
    }
}

namespace {

// The fields named `name`, as a range (`equal_range` gives an iterator pair).
struct field_range {
    beast::http::fields::const_iterator first, last;
    beast::http::fields::const_iterator begin() const noexcept { return first; }
    beast::http::fields::const_iterator end() const noexcept { return last; }
};

field_range fields_named(beast::http::fields const& fields, beast::http::field name) {
    auto const range = fields.equal_range(name);
    return {range.first, range.second};
}

std::string_view trim(std::string_view s) noexcept {
    auto const first = s.find_first_not_of(" \t");
    if (first == std::string_view::npos) return {};
    auto const last = s.find_last_not_of(" \t");
    return s.substr(first, last - first + 1);
}

}  // namespace

beast::http::fields const& RequestInfo::headers() const noexcept {
    static beast::http::fields const empty;
    return fields ? *fields : empty;
}

std::string_view RequestInfo::header(std::string_view name) const {
    auto const& all = headers();
    auto const it = all.find(name);
    if (it == all.end()) return {};
    return it->value();
}

std::string_view RequestInfo::header(beast::http::field name) const {
    auto const& all = headers();
    auto const it = all.find(name);
    if (it == all.end()) return {};
    return it->value();
}

std::optional<std::string_view> RequestInfo::cookie(std::string_view name) const {
    for (auto const& field : fields_named(headers(), beast::http::field::cookie)) {
        std::string_view rest = field.value();
        while (!rest.empty()) {
            auto const semicolon = rest.find(';');
            std::string_view const pair = trim(rest.substr(0, semicolon));
            rest = semicolon == std::string_view::npos ? std::string_view() : rest.substr(semicolon + 1);
            auto const equals = pair.find('=');
            if (equals == std::string_view::npos) continue;
            if (trim(pair.substr(0, equals)) != name) continue;
            std::string_view value = trim(pair.substr(equals + 1));
            if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
                value = value.substr(1, value.size() - 2);
            return value;
        }
    }
    return std::nullopt;
}

std::string_view RequestInfo::path() const noexcept { return target.substr(0, target.find('?')); }

std::string_view RouteRequest::path() const noexcept { return info ? info->path() : std::string_view(); }
beast::http::verb RouteRequest::method() const noexcept { return info ? info->method : beast::http::verb::unknown; }
std::string_view RouteRequest::header(std::string_view name) const {
    return info ? info->header(name) : std::string_view();
}

RouteResponse RouteResponse::json(unsigned status, std::string body) {
    RouteResponse r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

RouteResponse RouteResponse::error(unsigned status, std::string_view message) {
    return json(status, error_body(status_code_name(status), message));
}

bool is_safe_header_value(std::string_view value) noexcept {
    // RFC 9110 §5.5: field-vchar, SP, HTAB and obs-text; every other control character (CR, LF
    // and NUL among them) is refused.
    return std::none_of(value.begin(), value.end(), [](char c) {
        auto const u = static_cast<unsigned char>(c);
        return (u < 0x20 && u != '\t') || u == 0x7f;
    });
}

bool is_valid_header_name(std::string_view name) noexcept { return is_http_token(name); }

std::optional<std::string> unsafe_header_field(beast::http::fields const& fields) {
    for (auto const& field : fields)
        if (!is_valid_header_name(field.name_string()) || !is_safe_header_value(field.value()))
            return std::string(field.name_string().substr(0, 100));
    return std::nullopt;
}

namespace detail {

// The two streams of the bundled listener, compiled once here (see impl/http_serve.hpp).
template class stream_transport<beast::tcp_stream>;
template class stream_transport<beast::ssl_stream<beast::tcp_stream>>;

std::string format_endpoint(asio::ip::address const& address, unsigned short port) {
    std::string host = address.to_string();
    if (address.is_v6()) host = "[" + host + "]";
    return host + ":" + std::to_string(port);
}

namespace {

// When `fields` hold a header that must not be written (see unsafe_header_field), logs it and
// returns the answer that replaces the response: a 500 JSON error that closes the connection.
std::optional<http_::response<http_::string_body>> refuse_unsafe_headers(http_::fields const& fields, unsigned version,
                                                                         Logger const& logger) {
    auto const bad = unsafe_header_field(fields);
    if (!bad) return std::nullopt;
    logger.log(LogLevel::error, "refused to write response header \"" + *bad +
                                    "\": an invalid name, or a control character in its value");
    http_::response<http_::string_body> res{http_::status::internal_server_error, version};
    res.set(http_::field::content_type, "application/json");
    res.keep_alive(false);
    res.body() = error_body("internal", "Internal server error");
    res.prepare_payload();
    return res;
}

// The client-safe answer to what a context factory, header check or route handler threw: a
// chatkit::Error its mapped status, client code and client message (a ChallengeError also its
// WWW-Authenticate value, another 401 `Bearer`); anything else a 500 whose cause is logged, never sent.
// Cancellation of the caller (operation_aborted) is rethrown. Call it inside a catch block.
struct rejection {
    unsigned status = 500;
    std::string body;
    std::string www_authenticate;
};

rejection current_rejection(std::string_view what, Logger const& logger) {
    auto internal = [&](std::string_view cause) {
        logger.log(LogLevel::error, std::string(what) + " failed: " + std::string(cause));
        return rejection{500, error_body("internal", "Internal server error"), {}};
    };
    try {
        throw;
    } catch (Error const& e) {
        unsigned const status = http_status(e.code());
        if (status >= 500) {
            logger.log(LogLevel::error, std::string(what) + " failed: " + e.what());
        } else {
            logger.log(LogLevel::debug, std::string(what) + " rejected the request with HTTP " +
                                            std::to_string(status) + " (" + e.code().message() + ")");
        }
        auto const* challenge = dynamic_cast<ChallengeError const*>(&e);
        std::string www_authenticate =
            challenge ? challenge->www_authenticate() : std::string(status == 401 ? "Bearer" : "");
        return {status, error_body(client_code(e.code()), client_message(e)), std::move(www_authenticate)};
    } catch (boost::system::system_error const& e) {
        if (e.code() == asio::error::operation_aborted) throw;
        return internal(e.what());
    } catch (std::exception const& e) {
        return internal(e.what());
    } catch (...) {
        return internal("unknown exception");
    }
}

// A busy store (503) or a quota (429) is worth retrying: say when, unless the answer already does.
void add_retry_after(http_::fields& fields, unsigned status) {
    if ((status == 503 || status == 429) && fields.find(http_::field::retry_after) == fields.end())
        fields.set(http_::field::retry_after, "1");
}

}  // namespace

ServeOptions const& default_serve_options() noexcept {
    static ServeOptions const options;
    return options;
}

// ---------------------------------------------------------------------------------------------
// serve_core

namespace {

http_::response<http_::string_body> json_response(unsigned status, std::string body, request_line line,
                                                  ServeOptions const& options) {
    http_::response<http_::string_body> res{static_cast<http_::status>(status), line.version};
    for (auto const& field : options.response_headers)
        res.insert(field.name_string(), field.value());
    res.set(http_::field::content_type, "application/json");
    add_retry_after(res.base(), status);
    res.keep_alive(line.keep_alive);
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

// Writes a complete response under the write timeout; true when the connection stays usable.
asio::awaitable<bool> write_response(transport& stream, http_::response<http_::string_body>& res,
                                     ServeOptions const& options) {
    stream.set_timeout(options.write_timeout);
    auto const ec = co_await stream.write(res);
    stream.set_timeout(std::nullopt);
    co_return !ec && res.keep_alive();
}

// The StreamWriter of one SSE response. Frames are queued and written by a separate flusher
// coroutine (`flush_loop`), which writes everything queued since its previous write as one chunk:
// a producer that emits several events without suspending (a burst of deltas) costs one write
// instead of one per event, while a producer that waits between events (a model) still sees each
// event written as soon as it suspends. The producer waits only when more than `max_pending` bytes
// are queued (a slow reader) and at the end, until everything is written (`drain`). Each write runs
// under the write timeout; a failure is sticky and makes the next `write` throw.
class sse_writer final : public StreamWriter {
public:
    sse_writer(transport& stream, asio::any_io_executor const& executor, ServeOptions const& options,
               bool chunked)
        : stream_(stream),
          data_ready_(executor),
          space_ready_(executor),
          options_(options),
          chunked_(chunked),
          last_write_(steady_clock::now()) {}

    // Queues one frame. Throws once a write failed or this coroutine thread was cancelled (see
    // run_events); waits while the queue is over `max_pending`.
    asio::awaitable<void> write(std::string_view frame) override {
        co_await check_usable();
        queue(frame);
        while (pending_.size() > max_pending && !failure_ && flusher_ != flusher_state::exited) {
            space_ready_.expires_at(asio::steady_timer::time_point::max());
            auto [ec] = co_await space_ready_.async_wait(asio::as_tuple(asio::use_awaitable));
            (void)ec;  // woken by the flusher, or cancelled (checked below)
            co_await check_usable();
        }
        if (failure_) throw boost::system::system_error(failure_, "writing an SSE frame");
    }

    // Appends `data` to the queue and wakes the flusher (nothing once closed or failed).
    void queue(std::string_view data) {
        if (closed_ || failure_) return;
        pending_.append(data);
        wake(data_ready_);
    }

    // Waits until every queued byte is written (or a write failed); later frames are dropped.
    asio::awaitable<void> drain() {
        while (!failure_ && flusher_ != flusher_state::exited && (busy_ || !pending_.empty())) {
            auto const state = co_await asio::this_coro::cancellation_state;
            if (state.cancelled() != asio::cancellation_type::none) break;  // the flusher is cancelled too
            space_ready_.expires_at(asio::steady_timer::time_point::max());
            auto [ec] = co_await space_ready_.async_wait(asio::as_tuple(asio::use_awaitable));
            (void)ec;  // woken by the flusher, or cancelled (checked above)
        }
        closed_ = true;
    }

    // Writes queued bytes as they come, and a `: keepalive` comment when nothing was written for
    // `heartbeat`. Returns normally only when a write failed (the client is gone or stopped
    // reading), which ends the stream's race; ends by throwing when cancelled.
    asio::awaitable<void> flush_loop(std::optional<std::chrono::milliseconds> heartbeat) {
        flusher_guard guard(*this);
        if (heartbeat) heartbeat = std::max(*heartbeat, std::chrono::milliseconds(1));
        for (;;) {
            while (pending_.empty()) {
                data_ready_.expires_at(heartbeat ? last_write_ + *heartbeat : asio::steady_timer::time_point::max());
                auto [ec] = co_await data_ready_.async_wait(asio::as_tuple(asio::use_awaitable));
                auto const state = co_await asio::this_coro::cancellation_state;
                if (state.cancelled() != asio::cancellation_type::none)
                    throw boost::system::system_error(asio::error::operation_aborted, "SSE flusher");
                // The timer ran out (not woken by `queue`) on an idle stream: time for a heartbeat.
                if (!ec && heartbeat && !closed_ && pending_.empty() && steady_clock::now() >= last_write_ + *heartbeat)
                    pending_.append(": keepalive\n\n");
            }
            writing_.swap(pending_);
            pending_.clear();
            busy_ = true;
            stream_.set_timeout(options_.write_timeout);
            auto const ec = co_await stream_.write_chunk(writing_, chunked_);
            stream_.set_timeout(std::nullopt);
            busy_ = false;
            writing_.clear();
            if (writing_.capacity() > max_kept_capacity) writing_.shrink_to_fit();  // a held stream keeps little
            if (ec)
                failure_ = ec;
            else
                last_write_ = steady_clock::now();
            wake(space_ready_);
            if (failure_) co_return;
        }
    }

    bool failed() const noexcept { return static_cast<bool>(failure_); }

private:
    static constexpr std::size_t max_pending = 64 * 1024;
    static constexpr std::size_t max_kept_capacity = 1024;

    // The producer must not wait for a flusher that has not started yet to be gone: it may run to
    // its end before the flusher's first turn.
    enum class flusher_state { not_started, running, exited };

    // Marks the flusher running, and on its exit (a failed write, or cancelled) wakes a waiting
    // producer; unless the stream was already drained, the writer is unusable from then on (queued
    // bytes will never be written).
    struct flusher_guard {
        explicit flusher_guard(sse_writer& w) : w_(w) { w_.flusher_ = flusher_state::running; }
        ~flusher_guard() {
            w_.flusher_ = flusher_state::exited;
            if (!w_.failure_ && !w_.closed_) w_.failure_ = asio::error::operation_aborted;
            wake(w_.space_ready_);
        }
        flusher_guard(flusher_guard const&) = delete;
        flusher_guard& operator=(flusher_guard const&) = delete;
        sse_writer& w_;
    };

    static void wake(asio::steady_timer& timer) noexcept {
        try {
            timer.cancel();
        } catch (...) {
        }
    }

    // Throws when a write failed or this coroutine thread was cancelled (sticky from then on).
    asio::awaitable<void> check_usable() {
        auto const state = co_await asio::this_coro::cancellation_state;
        if (!failure_ && state.cancelled() != asio::cancellation_type::none) failure_ = asio::error::operation_aborted;
        if (failure_) throw boost::system::system_error(failure_, "writing an SSE frame");
    }

    transport& stream_;
    asio::steady_timer data_ready_;   // the flusher waits on it for queued bytes
    asio::steady_timer space_ready_;  // the producer waits on it for the queue to shrink
    ServeOptions const& options_;
    bool chunked_;
    bool busy_ = false;
    bool closed_ = false;
    flusher_state flusher_ = flusher_state::not_started;
    std::string pending_;
    std::string writing_;
    error_code failure_;
    steady_clock::time_point last_write_;
};

// Runs the engine, then waits until its frames are written. Never throws.
//
// Cancellation (the watcher saw the client leave, or the caller was cancelled) reaches respond() as an
// aborted operation, the engine then awaits its cancellation path (handle_stream_cancelled). With
// Asio's default every later co_await of this coroutine thread would throw `operation_aborted` at
// once, before the engine resets the cancellation state, and the cancellation path would never run;
// so this thread does not throw on co_await after cancellation. A respond() that swallows the aborted
// operation still cannot stream on: every write fails once cancelled (sse_writer::write), which the
// engine reports to it as `stream_cancelled`.
asio::awaitable<void> run_events(Response& response, sse_writer& writer) {
    co_await asio::this_coro::throw_if_cancelled(false);
    try {
        co_await response.stream(writer);
    } catch (...) {
    }
    try {
        co_await writer.drain();
    } catch (...) {
    }
}

// Reads the connection while a stream runs. EOF or an error means the client left: sets
// `client_gone` and returns (so `||` cancels the stream). Data is kept in `buffer` (a pipelined
// request) up to `cap` bytes; beyond that the watcher stops reading. Throws when cancelled.
asio::awaitable<void> watch_disconnect(transport& stream, beast::flat_buffer& buffer, std::size_t cap,
                                       bool& client_gone) {
    cap = std::min(cap, buffer.max_size());
    for (;;) {
        if (buffer.size() >= cap) {
            auto const executor = co_await asio::this_coro::executor;
            asio::steady_timer forever(executor, asio::steady_timer::time_point::max());
            co_await forever.async_wait(asio::use_awaitable);
            co_return;
        }
        // Small reads: the watcher usually sees nothing or EOF, and a large read would grow the
        // connection's buffer (held as long as the stream) for nothing.
        auto const ec = co_await stream.read_some(buffer, std::min<std::size_t>(cap - buffer.size(), 1024));
        if (!ec) continue;
        auto const state = co_await asio::this_coro::cancellation_state;
        if (state.cancelled() != asio::cancellation_type::none)
            throw boost::system::system_error(asio::error::operation_aborted, "disconnect watcher");
        client_gone = true;
        co_return;
    }
}

asio::awaitable<bool> stream_response(transport& stream, beast::flat_buffer& buffer, Response& response,
                                      request_line line, ServeOptions const& options) {
    bool const chunked = line.version >= 11;  // HTTP/1.0 has no chunked coding: close-delimited body
    http_::response<http_::empty_body> header{http_::status::ok, line.version};
    for (auto const& field : options.response_headers)
        header.insert(field.name_string(), field.value());
    header.set(http_::field::content_type, "text/event-stream; charset=utf-8");
    header.set(http_::field::cache_control, "no-cache");
    header.set("X-Accel-Buffering", "no");
    if (chunked) {
        header.chunked(true);
        header.keep_alive(line.keep_alive);
    } else {
        header.keep_alive(false);
    }

    stream.set_timeout(options.write_timeout);
    auto ec = co_await stream.write_header(header);
    stream.set_timeout(std::nullopt);
    if (ec) co_return false;  // gone before the stream started: nothing was saved yet

    // The connection's read buffer (4 KiB after reading the request) would be held for the life of
    // the stream: release it when empty; the watcher reads at most 1 KiB at a time.
    if (buffer.size() == 0) buffer.shrink_to_fit();

    auto const executor = co_await asio::this_coro::executor;
    sse_writer writer(stream, executor, options, chunked);
    bool client_gone = false;
    bool interrupted = false;
    try {
        // One race of three (a single parallel group keeps the coroutine frames held by a long
        // stream few): the events finishing and being written, a failed write (the flusher
        // returns) or the client leaving (the watcher returns) ends the other two.
        auto group = asio::experimental::make_parallel_group(
            asio::co_spawn(executor, run_events(response, writer), asio::deferred),
            asio::co_spawn(executor, writer.flush_loop(options.heartbeat), asio::deferred),
            asio::co_spawn(executor, watch_disconnect(stream, buffer, options.max_buffered_bytes, client_gone),
                           asio::deferred));
        auto const one_success = asio::experimental::wait_for_one_success();
        auto outcome = co_await group.async_wait(one_success, asio::use_awaitable);
        (void)outcome;
    } catch (std::exception const&) {
        interrupted = true;  // cancelled from outside before the race could start
    }

    auto const state = co_await asio::this_coro::cancellation_state;
    if (interrupted || client_gone || writer.failed() || state.cancelled() != asio::cancellation_type::none)
        co_return false;
    if (!chunked) co_return false;
    stream.set_timeout(options.write_timeout);
    ec = co_await stream.write_last_chunk();
    stream.set_timeout(std::nullopt);
    co_return !ec && line.keep_alive;
}

}  // namespace

namespace {

// What a request gets before anything is written: the processed request's Response, or an
// immediate answer (405, 400, the context factory's rejection). Kept apart from serve_core so the
// large locals of this step (the parsed request, error answers) are not held in a coroutine frame
// for the life of a stream.
struct prepared_request {
    std::optional<Response> response;
    std::optional<http_::response<http_::string_body>> answer;
};

asio::awaitable<prepared_request> prepare_request(RequestInfo& info, std::string_view body, request_line line,
                                                  request_handler& handler, ServeOptions const& options) {
    Logger const& logger = handler.logger();
    prepared_request out;
    if (line.method != http_::verb::post) {
        out.answer.emplace(json_response(
            405, error_body("method_not_allowed", "The ChatKit endpoint only accepts POST"), line, options));
        out.answer->set(http_::field::allow, "POST");
        co_return out;
    }

    boost::system::error_code ec;
    std::string diagnostics;
    ChatKitRequest request = parse_request(body, ec, diagnostics);
    if (ec) {
        out.answer.emplace(json_response(400, error_body("invalid_request", diagnostics), line, options));
        co_return out;
    }

    try {
        info.request = &request;
        auto work = handler.handle(request, info);  // the factory runs here and may throw
        info.request = nullptr;
        out.response.emplace(co_await std::move(work));
    } catch (...) {
        auto const refused = current_rejection("context factory", logger);
        out.answer.emplace(json_response(refused.status, refused.body, line, options));
        if (!refused.www_authenticate.empty()) out.answer->set(http_::field::www_authenticate, refused.www_authenticate);
    }
    info.request = nullptr;
    if (!out.answer && !out.response->is_streaming()) {
        out.answer.emplace(json_response(out.response->status(), out.response->body(), line, options));
        out.response.reset();
    }
    co_return out;
}

}  // namespace

asio::awaitable<bool> serve_core(transport& stream, beast::flat_buffer& buffer, RequestInfo& info,
                                 std::string_view body, request_line line, request_handler& handler,
                                 ServeOptions const& options) {
    // No header that could split the response is ever written: the configured headers are checked
    // before the request runs, a prepared answer (WWW-Authenticate from the context factory) before
    // it is written.
    if (auto refusal = refuse_unsafe_headers(options.response_headers, line.version, handler.logger()))
        co_return co_await write_response(stream, *refusal, options);
    auto prepared = co_await prepare_request(info, body, line, handler, options);
    if (prepared.answer) {
        if (auto refusal = refuse_unsafe_headers(prepared.answer->base(), line.version, handler.logger()))
            *prepared.answer = std::move(*refusal);
        co_return co_await write_response(stream, *prepared.answer, options);
    }
    co_return co_await stream_response(stream, buffer, *prepared.response, line, options);
}

// ---------------------------------------------------------------------------------------------
// Request validation, static files, CORS

namespace {

bool iequals(std::string_view a, std::string_view b) noexcept { return beast::iequals(a, b); }

// RFC 9112 §6.1/§6.3 checks Beast 1.81's parser does not make (SECURITY.md §1). Returns the reason
// for a 400 (the connection is then closed), or nullopt.
std::optional<std::string_view> smuggling_problem(http_::fields const& fields, unsigned version) {
    bool has_te = false;
    std::size_t codings = 0;
    bool chunked_only = true;
    for (auto const& field : fields_named(fields, http_::field::transfer_encoding)) {
        has_te = true;
        std::string_view rest = field.value();
        while (true) {
            auto const comma = rest.find(',');
            std::string_view const coding = trim(rest.substr(0, comma));
            if (!coding.empty()) {
                ++codings;
                if (!iequals(coding, "chunked")) chunked_only = false;
            }
            if (comma == std::string_view::npos) break;
            rest = rest.substr(comma + 1);
        }
    }
    if (has_te) {
        if (version < 11) return "Transfer-Encoding is not allowed in HTTP/1.0 requests";
        if (codings != 1 || !chunked_only)
            return "unsupported Transfer-Encoding (only a single chunked is accepted)";
        if (fields.count(http_::field::content_length) > 0)
            return "Transfer-Encoding together with Content-Length";
    }
    std::optional<std::string_view> length;
    for (auto const& field : fields_named(fields, http_::field::content_length)) {
        std::string_view rest = field.value();
        while (true) {
            auto const comma = rest.find(',');
            std::string_view const value = trim(rest.substr(0, comma));
            if (value.empty() || value.find_first_not_of("0123456789") != std::string_view::npos)
                return "invalid Content-Length";
            if (length && *length != value) return "conflicting Content-Length values";
            length = value;
            if (comma == std::string_view::npos) break;
            rest = rest.substr(comma + 1);
        }
    }
    return std::nullopt;
}

std::optional<std::string> percent_decode(std::string_view in) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '%') {
            out.push_back(in[i]);
            continue;
        }
        if (i + 2 >= in.size()) return std::nullopt;
        int const hi = hex(in[i + 1]);
        int const lo = hex(in[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
    }
    return out;
}

bool within(std::filesystem::path const& root, std::filesystem::path const& p) {
    auto const [r, q] = std::mismatch(root.begin(), root.end(), p.begin(), p.end());
    (void)q;
    return r == root.end();
}

// The file a GET of `raw_path` names under `root` (canonical), or nullopt: percent-decoded once,
// `.`/`..`/dot-file segments, NUL and backslashes rejected, symlinks resolved and required to stay
// inside the root, directories mapped to `index`.
std::optional<std::filesystem::path> resolve_static(std::filesystem::path const& root,
                                                    std::string_view raw_path, std::string const& index) {
    auto decoded = percent_decode(raw_path);
    if (!decoded || decoded->empty() || decoded->front() != '/') return std::nullopt;
    if (decoded->find('\0') != std::string::npos || decoded->find('\\') != std::string::npos)
        return std::nullopt;
    std::filesystem::path relative;
    std::string_view rest = *decoded;
    while (!rest.empty()) {
        auto const slash = rest.find('/');
        std::string_view const segment = rest.substr(0, slash);
        rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
        if (segment.empty()) continue;
        if (segment.front() == '.') return std::nullopt;  // `.`, `..`, and hidden files (.env, .git)
        relative /= std::filesystem::path(std::string(segment));
    }
    std::error_code ec;
    auto real = std::filesystem::canonical(root / relative, ec);
    if (ec || !within(root, real)) return std::nullopt;
    if (std::filesystem::is_directory(real, ec)) {
        real = std::filesystem::canonical(real / index, ec);
        if (ec || !within(root, real)) return std::nullopt;
    }
    if (!std::filesystem::is_regular_file(real, ec)) return std::nullopt;
    return real;
}

char const* mime_type(std::filesystem::path const& file) {
    std::string ext = file.extension().string();
    for (auto& c : ext)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    struct entry {
        char const* ext;
        char const* type;
    };
    static constexpr entry table[] = {
        {".html", "text/html; charset=utf-8"},
        {".htm", "text/html; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".json", "application/json"},
        {".map", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
        {".md", "text/markdown; charset=utf-8"},
        {".xml", "application/xml"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".gif", "image/gif"},
        {".webp", "image/webp"},
        {".avif", "image/avif"},
        {".ico", "image/x-icon"},
        {".woff", "font/woff"},
        {".woff2", "font/woff2"},
        {".ttf", "font/ttf"},
        {".otf", "font/otf"},
        {".wasm", "application/wasm"},
        {".pdf", "application/pdf"},
        {".mp3", "audio/mpeg"},
        {".mp4", "video/mp4"},
        {".webm", "video/webm"},
    };
    for (auto const& e : table)
        if (ext == e.ext) return e.type;
    return "application/octet-stream";
}

// The HTTP status a failed request read answers with, or nullopt to close silently (the peer left).
std::optional<unsigned> read_failure_status(error_code const& ec) {
    if (ec == http_::error::header_limit || ec == http_::error::buffer_overflow) return 431;
    if (ec == http_::error::body_limit) return 413;
    if (ec == http_::error::end_of_stream || ec == http_::error::partial_message) return std::nullopt;
    if (ec.category() == http_::make_error_code(http_::error::bad_target).category()) return 400;
    return std::nullopt;  // socket and TLS errors, cancellation
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The bundled listener

namespace {

// One connection's state, shared by its coroutine and the listener. `remote` and `accepted` are set
// before the coroutine starts; `idle_since` and `evicted` are read by the accept loop too; every
// other field is touched on the connection's strand only.
struct session_state {
    explicit session_state(asio::any_io_executor ex) : executor(std::move(ex)) {}
    asio::any_io_executor executor;
    asio::cancellation_signal signal;
    std::string remote;
    steady_clock::time_point accepted = steady_clock::now();  // the first header's deadline counts from here
    // When the connection last became idle (waiting for a request, or in the TLS handshake), in
    // steady_clock ticks; `busy` while a request is read or served. The accept loop reads it to
    // pick the connection to close at the cap.
    static constexpr std::int64_t busy = -1;
    std::atomic<std::int64_t> idle_since{steady_clock::now().time_since_epoch().count()};
    std::atomic<bool> evicted{false};  // chosen by the accept loop to make room: close when idle
    bool idle = true;       // waiting for a request (or in the TLS handshake): stop() closes it at once
    bool draining = false;  // stop() was called (or the connection was evicted): close after the current response
    bool finished = false;  // the coroutine completed: the signal must not be emitted any more

    void set_idle(bool now_idle) noexcept {
        idle = now_idle;
        idle_since.store(now_idle ? steady_clock::now().time_since_epoch().count() : busy, std::memory_order_relaxed);
    }
};

// The deadline of a connection's reads: one timer per connection, armed before a read and disarmed
// after it. When it fires first, the socket's pending operations are cancelled (the read completes
// with operation_aborted) and disarm() reports it; the connection stays usable to answer 408. No
// coroutine, parallel group or exception per read, as racing each read against its own timer costs.
// Used on the connection's strand only (the timer runs on the socket's executor).
class read_deadline {
public:
    explicit read_deadline(asio::ip::tcp::socket& socket)
        : state_(std::make_shared<state>(socket.get_executor(), socket)) {}
    read_deadline(read_deadline const&) = delete;
    read_deadline& operator=(read_deadline const&) = delete;
    ~read_deadline() { disarm(); }  // a handler already queued sees a new generation: no-op

    void arm(std::chrono::milliseconds timeout) { arm_until(steady_clock::now() + timeout); }

    void arm_until(steady_clock::time_point deadline) {
        auto& s = *state_;
        s.expired = false;
        s.timer.expires_at(deadline);
        s.timer.async_wait([st = state_, generation = ++s.generation](error_code const& ec) {
            if (ec || generation != st->generation) return;  // disarmed (or the connection ended)
            st->expired = true;
            error_code ignored;
            st->socket->cancel(ignored);
        });
    }

    // Stops the timer; true if it fired while armed.
    bool disarm() {
        ++state_->generation;
        state_->timer.cancel();
        return state_->expired;
    }

private:
    struct state {
        state(asio::any_io_executor const& ex, asio::ip::tcp::socket& s) : timer(ex), socket(&s) {}
        asio::steady_timer timer;
        asio::ip::tcp::socket* socket;
        std::uint64_t generation = 0;
        bool expired = false;
    };
    std::shared_ptr<state> state_;  // shared with a pending handler, which may outlive the connection
};

template <class Stream>
asio::awaitable<error_code> read_more(Stream& stream, beast::flat_buffer& buffer) {
    auto space = buffer.prepare(std::min<std::size_t>(4096, buffer.max_size() - buffer.size()));
    auto [ec, n] = co_await stream.async_read_some(space, asio::as_tuple(asio::use_awaitable));
    buffer.commit(n);
    co_return ec;
}

template <class Stream>
asio::awaitable<error_code> read_header(Stream& stream, beast::flat_buffer& buffer,
                                        http_::request_parser<http_::string_body>& parser) {
    auto [ec, n] =
        co_await http_::async_read_header(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    (void)n;
    co_return ec;
}

template <class Stream>
asio::awaitable<error_code> read_body(Stream& stream, beast::flat_buffer& buffer,
                                      http_::request_parser<http_::string_body>& parser) {
    auto [ec, n] = co_await http_::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    (void)n;
    co_return ec;
}

template <class Stream>
asio::awaitable<error_code> write_text(Stream& stream, std::string_view text) {
    auto [ec, n] = co_await asio::async_write(stream, asio::buffer(text.data(), text.size()),
                                              asio::as_tuple(asio::use_awaitable));
    (void)n;
    co_return ec;
}

// A request body's share of ServerOptions::body_budget, returned when the reservation is destroyed
// (after the request was answered).
class body_reservation {
public:
    explicit body_reservation(std::atomic<std::uint64_t>& in_flight) noexcept : in_flight_(in_flight) {}
    body_reservation(body_reservation const&) = delete;
    body_reservation& operator=(body_reservation const&) = delete;
    ~body_reservation() {
        if (bytes_ != 0) in_flight_.fetch_sub(bytes_, std::memory_order_relaxed);
    }

    // Takes `bytes` when the total stays within `budget`.
    bool take(std::uint64_t bytes, std::uint64_t budget) noexcept {
        std::uint64_t current = in_flight_.load(std::memory_order_relaxed);
        do {
            if (bytes > budget || current > budget - bytes) return false;
        } while (!in_flight_.compare_exchange_weak(current, current + bytes, std::memory_order_relaxed));
        bytes_ += bytes;
        return true;
    }

private:
    std::atomic<std::uint64_t>& in_flight_;
    std::uint64_t bytes_ = 0;
};

std::string service_unavailable_response() {
    std::string const body = error_body("unavailable", "Too many connections, retry later");
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\nRetry-After: 1\r\nConnection: close\r\n\r\n" + body;
}

}  // namespace

struct listener::impl {
    impl(ServerOptions o, request_handler& h)
        : options(std::move(o)),
          handler(h),
          ioc(static_cast<int>(std::max(1u, options.threads))),
          control(asio::make_strand(ioc)),
          acceptor(control),
          grace_timer(control),
          hard_timer(control),
          rejection_text(service_unavailable_response()) {}

    ~impl() {
        // Coroutines still queued (a server started but never run, or one whose io_context was
        // stopped) are destroyed with the io_context below; drop our references to their state so
        // nothing holding a strand outlives it.
        std::lock_guard lock(mutex);
        sessions.clear();
    }

    // Members are destroyed in reverse order: I/O objects before the io_context, the io_context
    // (and the coroutine frames it still holds) before the TLS context and the session registry.
    ServerOptions options;
    request_handler& handler;
    std::mutex mutex;
    std::unordered_set<std::shared_ptr<session_state>> sessions;
    std::atomic<std::size_t> active{0};
    std::atomic<std::size_t> rejecting{0};
    std::atomic<std::uint64_t> body_in_flight{0};  // bytes reserved by body_reservation
    std::atomic<bool> stopping{false};
    std::atomic<std::uint16_t> bound_port{0};
    std::filesystem::path static_root;
    std::optional<asio::ssl::context> ssl;
    asio::io_context ioc;
    asio::strand<asio::io_context::executor_type> control;  // acceptor, timers, signals
    asio::ip::tcp::acceptor acceptor;
    asio::steady_timer grace_timer;
    asio::steady_timer hard_timer;
    std::optional<asio::signal_set> signals;
    asio::ip::tcp::endpoint bound;
    std::string rejection_text;
    bool started = false;

    Logger const& logger() const noexcept { return handler.logger(); }
    void log(LogLevel level, std::string_view message) const noexcept { logger().log(level, message); }

    void log_failure(std::string_view what, std::exception_ptr const& e) const {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (boost::system::system_error const& x) {
            if (x.code() == asio::error::operation_aborted) {
                log(LogLevel::debug, std::string(what) + ": cancelled");
                return;
            }
            log(LogLevel::error, std::string(what) + " failed: " + x.what());
        } catch (std::exception const& x) {
            log(LogLevel::error, std::string(what) + " failed: " + x.what());
        } catch (...) {
            log(LogLevel::error, std::string(what) + " failed: unknown exception");
        }
    }

    std::optional<std::chrono::milliseconds> write_timeout() const { return options.serve.write_timeout; }

    // ---- lifecycle -------------------------------------------------------------------------

    asio::ip::tcp::endpoint start() {
        if (started) return bound;
        if (options.tls) {
            asio::ssl::context context(asio::ssl::context::tls_server);
            context.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                                asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                                asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
            context.use_certificate_chain_file(options.tls->certificate_chain_file.string());
            context.use_private_key_file(options.tls->private_key_file.string(), asio::ssl::context::pem);
            ssl.emplace(std::move(context));
        }
        if (options.static_dir) static_root = std::filesystem::canonical(*options.static_dir);

        asio::ip::tcp::resolver resolver(ioc);
        auto const results =
            resolver.resolve(options.host, std::to_string(options.port),
                             asio::ip::tcp::resolver::passive | asio::ip::tcp::resolver::numeric_service);
        auto const endpoint = results.begin()->endpoint();
        try {
            acceptor.open(endpoint.protocol());
            acceptor.set_option(asio::socket_base::reuse_address(true));
            acceptor.bind(endpoint);
            acceptor.listen(asio::socket_base::max_listen_connections);
            bound = acceptor.local_endpoint();
        } catch (...) {
            error_code ignored;
            acceptor.close(ignored);
            throw;
        }
        bound_port = bound.port();
        started = true;
        asio::co_spawn(control, accept_loop(),
                       [this](std::exception_ptr e) { log_failure("accept loop", e); });
        return bound;
    }

    std::string url() const {
        std::string host = options.host;
        if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
        return std::string(options.tls ? "https://" : "http://") + host + ":" +
               std::to_string(bound_port.load());
    }

    void run() {
        start();
        unsigned const n = std::max(1u, options.threads);
        std::vector<std::thread> threads;
        threads.reserve(n - 1);
        for (unsigned i = 1; i < n; ++i)
            threads.emplace_back([this] { run_thread(); });
        run_thread();
        for (auto& t : threads)
            t.join();
    }

    void run_thread() {
        for (;;) {
            try {
                ioc.run();
                return;
            } catch (std::exception const& e) {
                log(LogLevel::error, std::string("exception escaped to an I/O thread: ") + e.what());
            } catch (...) {
                log(LogLevel::error, "exception escaped to an I/O thread");
            }
        }
    }

    void run_until_signal() {
        asio::post(control, [this] {
            if (stopping) return;
            signals.emplace(control, SIGINT, SIGTERM);
            signals->async_wait([this](error_code ec, int number) {
                if (ec) return;
                log(LogLevel::info, "signal " + std::to_string(number) + " received: stopping");
                begin_stop();
            });
        });
        run();
    }

    void stop() {
        asio::post(control, [this] { begin_stop(); });
    }

    std::vector<std::shared_ptr<session_state>> snapshot() {
        std::lock_guard lock(mutex);
        return {sessions.begin(), sessions.end()};
    }

    // On `control`: stop accepting, close idle connections, let the others finish their request.
    void begin_stop() {
        if (stopping.exchange(true)) return;
        error_code ignored;
        acceptor.close(ignored);
        if (signals) signals->cancel(ignored);
        for (auto& s : snapshot()) {
            asio::dispatch(s->executor, [s] {
                s->draining = true;
                if (s->idle && !s->finished) s->signal.emit(asio::cancellation_type::terminal);
            });
        }
        if (active == 0) return;
        grace_timer.expires_after(options.shutdown_grace);
        grace_timer.async_wait([this](error_code ec) {
            if (!ec) cancel_sessions();
        });
    }

    // On `control`, after the grace period: cancel what still runs (streams end through
    // handle_stream_cancelled), and as a last resort stop the io_context.
    void cancel_sessions() {
        auto const remaining = snapshot();
        if (remaining.empty()) return;
        log(LogLevel::info, "cancelling " + std::to_string(remaining.size()) +
                                " connection(s) still busy after the shutdown grace period");
        for (auto& s : remaining) {
            asio::dispatch(s->executor, [s] {
                if (!s->finished) s->signal.emit(asio::cancellation_type::terminal);
            });
        }
        hard_timer.expires_after(std::chrono::seconds(5));
        hard_timer.async_wait([this](error_code ec) {
            if (ec || active == 0) return;
            log(LogLevel::warning, "connections still open 5 s after cancellation: stopping the io_context");
            ioc.stop();
        });
    }

    // On the session's strand (the co_spawn completion handler).
    void session_finished(std::shared_ptr<session_state> const& s, std::exception_ptr const& e) {
        s->finished = true;
        log_failure("connection " + s->remote, e);
        {
            std::lock_guard lock(mutex);
            sessions.erase(s);
        }
        if (--active == 0 && stopping) {
            asio::post(control, [this] {
                grace_timer.cancel();
                hard_timer.cancel();
            });
        }
    }

    // ---- accepting ---------------------------------------------------------------------------

    asio::awaitable<void> accept_loop() {
        for (;;) {
            asio::any_io_executor const strand = asio::make_strand(ioc);
            auto [ec, socket] = co_await acceptor.async_accept(strand, asio::as_tuple(asio::use_awaitable));
            if (stopping || !acceptor.is_open()) co_return;
            if (ec) {
                if (ec == asio::error::operation_aborted) co_return;
                log(LogLevel::warning, "accept failed: " + ec.message());
                asio::steady_timer pause(control, std::chrono::milliseconds(50));  // e.g. EMFILE: don't spin
                auto [wait_ec] = co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
                (void)wait_ec;
                continue;
            }
            if (active >= options.max_connections && !evict_idle()) {
                reject(std::move(socket));
                continue;
            }
            spawn_session(std::move(socket));
        }
    }

    // At the connection cap: closes the connection idle the longest to make room for a new one.
    // False when none is idle. The chosen one closes at once if still idle on its strand, else
    // after its current request; until then the count may exceed the cap by the evicted ones.
    bool evict_idle() {
        std::shared_ptr<session_state> oldest;
        std::int64_t oldest_since = 0;
        {
            std::lock_guard lock(mutex);
            for (auto const& s : sessions) {
                auto const since = s->idle_since.load(std::memory_order_relaxed);
                if (since == session_state::busy || s->evicted.load(std::memory_order_relaxed)) continue;
                if (!oldest || since < oldest_since) {
                    oldest = s;
                    oldest_since = since;
                }
            }
        }
        if (!oldest || oldest->evicted.exchange(true)) return false;
        log(LogLevel::info, "connection limit reached: closing the idle connection " + oldest->remote);
        asio::dispatch(oldest->executor, [oldest] {
            oldest->draining = true;
            if (oldest->idle && !oldest->finished) oldest->signal.emit(asio::cancellation_type::terminal);
        });
        return true;
    }

    void spawn_session(asio::ip::tcp::socket socket) {
        auto state = std::make_shared<session_state>(socket.get_executor());
        error_code ec;
        // No Nagle: a stream's small writes (the header, then a burst of events) must not wait for
        // the client's delayed ACK (40 ms per reply on Linux loopback).
        socket.set_option(asio::ip::tcp::no_delay(true), ec);
        ec.clear();
        auto const remote = socket.remote_endpoint(ec);
        if (!ec) state->remote = format_endpoint(remote.address(), remote.port());
        {
            std::lock_guard lock(mutex);
            sessions.insert(state);
        }
        ++active;
        auto const executor = state->executor;
        auto task = ssl ? run_tls(state, std::move(socket)) : run_plain(state, std::move(socket));
        asio::co_spawn(
            executor, std::move(task),
            asio::bind_cancellation_slot(
                state->signal.slot(), [this, state](std::exception_ptr e) { session_finished(state, e); }));
    }

    // Over the connection cap: answer 503 and close, spending at most 2 s on it.
    void reject(asio::ip::tcp::socket socket) {
        if (rejecting >= 64) {
            error_code ignored;
            socket.close(ignored);
            return;
        }
        ++rejecting;
        auto const executor = socket.get_executor();
        asio::co_spawn(executor, reject_connection(std::move(socket)), [this](std::exception_ptr e) {
            --rejecting;
            log_failure("rejected connection", e);
        });
    }

    asio::awaitable<void> reject_connection(asio::ip::tcp::socket socket) {
        log(LogLevel::warning, "connection limit reached: answering 503");
        if (ssl) {
            beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *ssl);
            beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
            auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server,
                                                        asio::as_tuple(asio::use_awaitable));
            if (!ec) {
                auto const write_ec = co_await write_text(stream, rejection_text);
                if (!write_ec) {
                    auto [shutdown_ec] = co_await stream.async_shutdown(asio::as_tuple(asio::use_awaitable));
                    (void)shutdown_ec;
                }
            }
            beast::get_lowest_layer(stream).close();
            co_return;
        }
        beast::tcp_stream stream(std::move(socket));
        stream.expires_after(std::chrono::seconds(2));
        auto const write_ec = co_await write_text(stream, rejection_text);
        if (!write_ec) co_await linger_close(stream);
        stream.close();
    }

    // ---- connections -------------------------------------------------------------------------

    asio::awaitable<void> run_plain(std::shared_ptr<session_state> state, asio::ip::tcp::socket socket) {
        beast::tcp_stream stream(std::move(socket));
        bool graceful = true;
        try {
            co_await serve_connection(*state, stream);
        } catch (boost::system::system_error const& e) {
            if (e.code() != asio::error::operation_aborted) throw;
            graceful = false;
        }
        co_await asio::this_coro::reset_cancellation_state();
        if (graceful) {
            stream.expires_after(std::chrono::seconds(1));
            co_await linger_close(stream);
        }
        stream.close();
    }

    asio::awaitable<void> run_tls(std::shared_ptr<session_state> state, asio::ip::tcp::socket socket) {
        beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *ssl);
        auto& lowest = beast::get_lowest_layer(stream);
        lowest.expires_after(options.handshake_timeout);
        auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server,
                                                    asio::as_tuple(asio::use_awaitable));
        lowest.expires_never();
        if (ec) {
            log(LogLevel::debug, "TLS handshake with " + state->remote + " failed: " + ec.message());
            lowest.close();
            co_return;
        }
        bool graceful = true;
        try {
            co_await serve_connection(*state, stream);
        } catch (boost::system::system_error const& e) {
            if (e.code() != asio::error::operation_aborted) throw;
            graceful = false;
        }
        co_await asio::this_coro::reset_cancellation_state();
        if (graceful) {
            // Send close_notify (and wait briefly for the peer's), so the peer can tell a complete
            // response from a truncated one.
            lowest.expires_after(std::chrono::seconds(1));
            auto [shutdown_ec] = co_await stream.async_shutdown(asio::as_tuple(asio::use_awaitable));
            (void)shutdown_ec;
        }
        lowest.close();
    }

    // Half-closes, then reads and drops what the client still sends until it closes (bounded by the
    // stream's timeout), so unread request bytes do not turn the close into a reset that destroys the
    // last response before the client read it.
    asio::awaitable<void> linger_close(beast::tcp_stream& stream) {
        error_code ec;
        stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
        if (ec) co_return;
        std::array<char, 4096> scratch{};
        std::size_t total = 0;
        for (;;) {
            auto [read_ec, n] =
                co_await stream.async_read_some(asio::buffer(scratch), asio::as_tuple(asio::use_awaitable));
            total += n;
            if (read_ec || total > 1024 * 1024) co_return;
        }
    }

    template <class Stream>
    asio::awaitable<void> serve_connection(session_state& st, Stream& stream) {
        std::size_t const buffer_limit =
            std::size_t{options.header_limit} + 65536 + options.serve.max_buffered_bytes;
        beast::flat_buffer buffer(buffer_limit);
        read_deadline deadline(beast::get_lowest_layer(stream).socket());
        // The first request's header is due header_timeout after the accept (TLS handshake and the
        // wait for its first byte included); a later one's header_timeout after its first byte.
        steady_clock::time_point header_due = st.accepted + options.header_timeout;
        bool first = true;
        for (;;) {
            // Wait for the first byte of a request: until the header deadline on a new connection, the
            // idle timeout on a kept-alive one. Nothing received: close without an answer.
            st.set_idle(true);
            if (st.draining) co_return;
            if (buffer.size() == 0) {
                if (first)
                    deadline.arm_until(header_due);
                else
                    deadline.arm(options.idle_timeout);
                auto const ec = co_await read_more(stream, buffer);
                if (deadline.disarm() || ec) co_return;
            }
            st.set_idle(false);
            if (!first) header_due = steady_clock::now() + options.header_timeout;
            first = false;

            http_::request_parser<http_::string_body> parser;
            parser.header_limit(options.header_limit);
            parser.body_limit(largest_body_limit());
            {
                deadline.arm_until(header_due);
                auto const ec = co_await read_header(stream, buffer, parser);
                if (deadline.disarm()) {
                    co_await send_error(stream, 408, "Request header timeout", 11, false);
                    co_return;
                }
                if (ec) {
                    if (auto const status = read_failure_status(ec)) {
                        std::string const message = *status == 413 ? body_limit_message() : ec.message();
                        co_await send_error(stream, *status, message, 11, false);
                    }
                    co_return;
                }
            }

            auto const& head = parser.get();
            unsigned const version = head.version();
            if (auto const problem = smuggling_problem(head.base(), version)) {
                co_await send_error(stream, 400, *problem, version, false);
                co_return;
            }
            // The header check (authentication) before any byte of the body is read.
            std::any admission;
            if (options.header_check && is_checked(head)) {
                std::optional<rejection> refused;
                RequestInfo info;
                info.method = head.method();
                info.target = head.target();
                info.remote_endpoint = st.remote;
                info.fields = &head.base();
                try {
                    admission = options.header_check(info);
                } catch (...) {
                    refused = current_rejection("header check", logger());
                }
                if (refused) {
                    co_await send_refusal(stream, *refused, head, version);
                    co_return;
                }
            }
            // The body limit of this request's route (the header was read with the largest one).
            std::uint64_t const body_limit = body_limit_for(head.target());
            if (auto const length = parser.content_length(); length && *length > body_limit) {
                co_await send_error(stream, 413, body_limit_message(body_limit), version, false);
                co_return;
            }
            parser.body_limit(body_limit);
            // Room for the body in the global budget, held until the request is answered.
            body_reservation reserved(body_in_flight);
            if (!parser.is_done()) {
                auto const length = parser.content_length();
                if (!reserved.take(length ? *length : body_limit, options.body_budget)) {
                    log(LogLevel::warning, "body budget exhausted: answering 503");
                    co_await send_error(stream, 503, "Too many request bodies in flight, retry later", version, false);
                    co_return;
                }
            }
            if (!parser.is_done() && version >= 11 && iequals(head[http_::field::expect], "100-continue")) {
                auto const ec = co_await write_text(stream, "HTTP/1.1 100 Continue\r\n\r\n");
                if (ec) co_return;
            }
            if (!parser.is_done()) {
                deadline.arm(options.body_timeout);
                auto const ec = co_await read_body(stream, buffer, parser);
                if (deadline.disarm()) {
                    co_await send_error(stream, 408, "Request body timeout", version, false);
                    co_return;
                }
                if (ec) {
                    if (auto const status = read_failure_status(ec)) {
                        std::string const message = *status == 413 ? body_limit_message(body_limit) : ec.message();
                        co_await send_error(stream, *status, message, version, false);
                    }
                    co_return;
                }
            }

            auto request = parser.release();
            if (st.draining) request.keep_alive(false);
            bool const keep = co_await dispatch_request(st, stream, buffer, request, admission);
            if (!keep) co_return;
        }
    }

    std::string body_limit_message(std::uint64_t limit) const {
        return "Request body is larger than " + std::to_string(limit) + " bytes";
    }
    std::string body_limit_message() const { return body_limit_message(options.body_limit); }

    // The route serving `target`, or null.
    Route const* route_for(std::string_view target) const {
        std::string_view const path = target.substr(0, target.find('?'));
        for (auto const& route : options.routes) {
            if (route.prefix.empty() || !path.starts_with(route.prefix)) continue;
            if (path.size() == route.prefix.size() || path[route.prefix.size()] == '/') return &route;
        }
        return nullptr;
    }

    std::uint64_t body_limit_for(std::string_view target) const {
        auto const* route = route_for(target);
        return route && route->body_limit ? *route->body_limit : options.body_limit;
    }

    std::uint64_t largest_body_limit() const {
        std::uint64_t limit = options.body_limit;
        for (auto const& route : options.routes)
            if (route.body_limit) limit = std::max(limit, *route.body_limit);
        return limit;
    }

    template <class Stream, class Body>
    asio::awaitable<bool> send(Stream& stream, http_::response<Body>& res) {
        // The one place every response of this server passes: a header that would split the
        // response is never written.
        if (auto refusal = refuse_unsafe_headers(res.base(), res.version(), logger()))
            co_return co_await send(stream, *refusal);
        auto& lowest = beast::get_lowest_layer(stream);
        if (auto const timeout = write_timeout())
            lowest.expires_after(*timeout);
        else
            lowest.expires_never();
        auto [ec, n] = co_await http_::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
        (void)n;
        lowest.expires_never();
        co_return !ec && res.keep_alive();
    }

    template <class Stream>
    asio::awaitable<bool> send_error(Stream& stream, unsigned status, std::string_view message,
                                     unsigned version, bool keep_alive) {
        http_::response<http_::string_body> res{static_cast<http_::status>(status), version};
        res.set(http_::field::content_type, "application/json");
        add_retry_after(res.base(), status);
        res.keep_alive(keep_alive);
        res.body() = error_body(status_code_name(status), message);
        res.prepare_payload();
        co_return co_await send(stream, res);
    }

    // Whether ServerOptions::header_check runs on this request: the ChatKit endpoint and the routes,
    // CORS preflights excepted (a browser sends them without credentials).
    bool is_checked(http_::request_header<> const& head) const {
        if (head.method() == http_::verb::options && head.find(http_::field::origin) != head.end() &&
            head.find(http_::field::access_control_request_method) != head.end())
            return false;
        std::string_view const target = head.target();
        return target.substr(0, target.find('?')) == options.chatkit_path || route_for(target) != nullptr;
    }

    // The answer to a request the header check refused; closes the connection (the body is unread).
    // An allowed origin gets its CORS headers, so the page can read the 401.
    template <class Stream>
    asio::awaitable<void> send_refusal(Stream& stream, rejection const& refused, http_::request_header<> const& head,
                                       unsigned version) {
        http_::response<http_::string_body> res{static_cast<http_::status>(refused.status), version};
        res.set(http_::field::content_type, "application/json");
        if (!refused.www_authenticate.empty()) res.set(http_::field::www_authenticate, refused.www_authenticate);
        std::string_view const origin = head[http_::field::origin];
        if (!origin.empty() && origin_allowed(origin)) add_cors(res.base(), origin);
        add_retry_after(res.base(), refused.status);
        res.keep_alive(false);
        res.body() = refused.body;
        res.prepare_payload();
        co_await send(stream, res);
    }

    bool origin_allowed(std::string_view origin) const {
        for (auto const& allowed : options.cors.allowed_origins)
            if (allowed == "*" || allowed == origin) return true;
        return false;
    }

    void add_cors(http_::fields& fields, std::string_view origin) const {
        bool const wildcard =
            std::find(options.cors.allowed_origins.begin(), options.cors.allowed_origins.end(), "*") !=
            options.cors.allowed_origins.end();
        if (wildcard) {
            fields.set(http_::field::access_control_allow_origin, "*");
            return;
        }
        fields.set(http_::field::access_control_allow_origin, origin);
        fields.set(http_::field::vary, "Origin");
        if (options.cors.allow_credentials)
            fields.set(http_::field::access_control_allow_credentials, "true");
    }

    template <class Stream>
    asio::awaitable<bool> dispatch_request(session_state& st, Stream& stream, beast::flat_buffer& buffer,
                                           http_::request<http_::string_body>& req, std::any const& admission) {
        std::string_view const target = req.target();
        std::string_view const path = target.substr(0, target.find('?'));
        std::string_view const origin = req[http_::field::origin];
        bool const cors_allowed = !origin.empty() && origin_allowed(origin);
        unsigned const version = req.version();
        bool const keep_alive = req.keep_alive();
        auto const method = req.method();

        // CORS preflight.
        if (method == http_::verb::options && !origin.empty() &&
            req.find(http_::field::access_control_request_method) != req.end()) {
            if (!cors_allowed)
                co_return co_await send_error(stream, 403, "Origin not allowed", version, keep_alive);
            http_::response<http_::empty_body> res{http_::status::no_content, version};
            add_cors(res.base(), origin);
            res.set(http_::field::access_control_allow_methods, options.cors.allowed_methods);
            res.set(http_::field::access_control_allow_headers, options.cors.allowed_headers);
            res.set(http_::field::access_control_max_age, std::to_string(options.cors.max_age.count()));
            res.keep_alive(keep_alive);
            co_return co_await send(stream, res);
        }

        if (auto const* route = route_for(target))
            co_return co_await serve_route(st, stream, *route, req, origin, cors_allowed, admission);

        if (path == options.chatkit_path) {
            ServeOptions const* serve_options = &options.serve;
            std::optional<ServeOptions> with_cors;
            if (cors_allowed) {
                with_cors.emplace(options.serve);
                add_cors(with_cors->response_headers, origin);
                serve_options = &*with_cors;
            }
            RequestInfo info;
            info.method = method;
            info.target = target;
            info.remote_endpoint = st.remote;
            info.fields = &req.base();
            if (options.header_check) info.admission = &admission;
            stream_transport<Stream> transport(stream);
            request_line const line{method, version, keep_alive};
            co_return co_await serve_core(transport, buffer, info, req.body(), line, handler, *serve_options);
        }

        if (path == options.health_path) {
            if (method != http_::verb::get && method != http_::verb::head) {
                http_::response<http_::string_body> res{http_::status::method_not_allowed, version};
                res.set(http_::field::content_type, "application/json");
                res.set(http_::field::allow, "GET, HEAD");
                res.keep_alive(keep_alive);
                res.body() = error_body("method_not_allowed", "Use GET");
                res.prepare_payload();
                co_return co_await send(stream, res);
            }
            http_::response<http_::string_body> res{http_::status::ok, version};
            res.set(http_::field::content_type, "text/plain; charset=utf-8");
            res.set(http_::field::cache_control, "no-store");
            res.keep_alive(keep_alive);
            res.body() = "ok";
            res.prepare_payload();
            if (method == http_::verb::head) res.body().clear();
            co_return co_await send(stream, res);
        }

        if (options.static_dir) {
            if (method == http_::verb::get || method == http_::verb::head)
                co_return co_await serve_file(stream, method, path, version, keep_alive);
            http_::response<http_::string_body> res{http_::status::method_not_allowed, version};
            res.set(http_::field::content_type, "application/json");
            res.set(http_::field::allow, "GET, HEAD");
            res.keep_alive(keep_alive);
            res.body() = error_body("method_not_allowed", "Only GET and HEAD are allowed here");
            res.prepare_payload();
            co_return co_await send(stream, res);
        }
        co_return co_await send_error(stream, 404, "Not found", version, keep_alive);
    }

    template <class Stream>
    asio::awaitable<bool> serve_route(session_state& st, Stream& stream, Route const& route,
                                      http_::request<http_::string_body>& req, std::string_view origin,
                                      bool cors_allowed, std::any const& admission) {
        RequestInfo info;
        info.method = req.method();
        info.target = req.target();
        info.remote_endpoint = st.remote;
        info.fields = &req.base();
        if (options.header_check) info.admission = &admission;
        RouteRequest request{&info, req.body()};
        RouteResponse answer;
        try {
            answer = co_await route.handler(request);
        } catch (...) {
            auto refused = current_rejection("route " + route.prefix, logger());
            answer = RouteResponse::json(refused.status, std::move(refused.body));
            if (!refused.www_authenticate.empty())
                answer.headers.emplace_back("WWW-Authenticate", std::move(refused.www_authenticate));
        }
        http_::response<http_::string_body> res{static_cast<http_::status>(answer.status), req.version()};
        res.set(http_::field::content_type, answer.content_type);
        for (auto const& [name, value] : answer.headers) res.insert(name, value);
        if (cors_allowed) add_cors(res.base(), origin);
        add_retry_after(res.base(), answer.status);
        res.keep_alive(req.keep_alive());
        res.body() = std::move(answer.body);
        res.prepare_payload();
        if (req.method() == http_::verb::head) res.body().clear();
        co_return co_await send(stream, res);
    }

    template <class Stream>
    asio::awaitable<bool> serve_file(Stream& stream, http_::verb method, std::string_view path,
                                     unsigned version, bool keep_alive) {
        auto const file = resolve_static(static_root, path, options.index_file);
        if (!file) co_return co_await send_error(stream, 404, "Not found", version, keep_alive);
        beast::error_code ec;
        http_::file_body::value_type body;
        body.open(file->c_str(), beast::file_mode::scan, ec);
        if (ec) co_return co_await send_error(stream, 404, "Not found", version, keep_alive);
        auto const size = body.size();
        char const* const type = mime_type(*file);
        if (method == http_::verb::head) {
            http_::response<http_::empty_body> res{http_::status::ok, version};
            res.set(http_::field::content_type, type);
            res.set("X-Content-Type-Options", "nosniff");
            res.set(http_::field::cache_control, "no-cache");
            res.content_length(size);
            res.keep_alive(keep_alive);
            co_return co_await send(stream, res);
        }
        http_::response<http_::file_body> res{std::piecewise_construct, std::make_tuple(std::move(body)),
                                              std::make_tuple(http_::status::ok, version)};
        res.set(http_::field::content_type, type);
        res.set("X-Content-Type-Options", "nosniff");
        res.set(http_::field::cache_control, "no-cache");
        res.content_length(size);
        res.keep_alive(keep_alive);
        co_return co_await send(stream, res);
    }
};

listener::listener(ServerOptions options, request_handler& handler)
    : impl_(std::make_unique<impl>(std::move(options), handler)) {}

listener::~listener() = default;

asio::ip::tcp::endpoint listener::start() { return impl_->start(); }
std::uint16_t listener::port() const noexcept { return impl_->bound_port.load(); }
std::string listener::url() const { return impl_->url(); }
void listener::run() { impl_->run(); }
void listener::stop() { impl_->stop(); }
void listener::run_until_signal() { impl_->run_until_signal(); }
asio::io_context& listener::context() noexcept { return impl_->ioc; }
ServerOptions const& listener::options() const noexcept { return impl_->options; }
void listener::add_route(Route route) {
    if (impl_->started) throw std::logic_error("http::Server::add_route after start()");
    if (route.prefix.empty() || route.prefix.front() != '/' || (route.prefix.size() > 1 && route.prefix.back() == '/'))
        throw std::invalid_argument("a route prefix starts with '/' and has no trailing '/': " + route.prefix);
    if (!route.handler) throw std::invalid_argument("a route needs a handler");
    impl_->options.routes.push_back(std::move(route));
}

}  // namespace detail
}  // namespace chatkit::http
