// chatkit-cpp HTTP layer: serve_core (JSON answers, the SSE writer, the disconnect watcher, heartbeats),
// the public helpers of routes and requests, and the stream transports of the two common streams.
#include "server_detail.hpp"

#include <chatkit/core/media_type.hpp>
#include <chatkit/core/sse.hpp>
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
#include <boost/beast/core/buffer_traits.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/file_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <algorithm>
#include <any>
#include <array>
#include <atomic>
#include <charconv>
#include <csignal>
#include <filesystem>
#include <mutex>
#include <span>
#include <thread>
#include <unordered_set>
#include <vector>

namespace chatkit::http {

namespace http_ = beast::http;
using error_code = boost::system::error_code;
using steady_clock = std::chrono::steady_clock;

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

using detail::fields_named;
using detail::trim;

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

// The heartbeat an idle stream gets: `: keepalive\n\n`.
std::string const& keepalive_comment() {
    static std::string const comment = sse_comment("keepalive");
    return comment;
}

// The bytes of a streamed response's head (status line and header fields), as Beast writes them.
std::string stream_head_bytes(request_line line, ServeOptions const& options) {
    http_::response<http_::empty_body> header{http_::status::ok, line.version};
    for (auto const& field : options.response_headers)
        header.insert(field.name_string(), field.value());
    header.set(http_::field::content_type, "text/event-stream; charset=utf-8");
    header.set(http_::field::cache_control, "no-cache");
    header.set("X-Accel-Buffering", "no");
    if (line.version >= 11) {
        header.chunked(true);
        header.keep_alive(line.keep_alive);
    } else {
        header.keep_alive(false);  // HTTP/1.0 has no chunked coding: close-delimited body
    }
    http_::response_serializer<http_::empty_body> serializer(header);
    serializer.split(true);
    std::string bytes;
    error_code ec;
    while (!ec && !serializer.is_header_done()) {
        serializer.next(ec, [&](error_code&, auto const& buffers) {
            for (auto const buffer : beast::buffers_range_ref(buffers))
                bytes.append(static_cast<char const*>(buffer.data()), buffer.size());
            serializer.consume(beast::buffer_bytes(buffers));
        });
    }
    return bytes;
}

// The StreamWriter of one SSE response. Frames are queued and written by a separate flusher
// coroutine (`flush_loop`), which writes everything queued since its previous write as one chunk:
// a producer that emits several events without suspending (a burst of deltas) costs one write
// instead of one per event, while a producer that waits between events (a model) still sees each
// event written as soon as it suspends. The response's head goes with the first write (the first
// frames, a heartbeat, or the end), and the last chunk with the last one: after `ending()` the queued
// frames wait for the end, so a reply produced in one burst is a single write. The producer waits
// only when more than `max_pending` bytes are queued (a slow reader) and at the end, until
// everything is written (`finish`). Each write runs under the write timeout; a failure is sticky and
// makes the next `write` throw.
class sse_writer final : public StreamWriter {
public:
    sse_writer(transport& stream, asio::any_io_executor const& executor, ServeOptions const& options,
               request_line line)
        : stream_(stream),
          data_ready_(executor),
          space_ready_(executor),
          options_(options),
          head_(stream_head_bytes(line, options)),
          chunked_(line.version >= 11),
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

    // Appends `data` to the queue and wakes the flusher (nothing once finishing or failed).
    void queue(std::string_view data) {
        if (finishing_ || failure_) return;
        pending_.append(data);
        holding_ = false;
        wake(data_ready_);
    }

    // The events are over: what is queued waits for finish() (or the next heartbeat), to be
    // written with the last chunk.
    void ending() noexcept override { holding_ = true; }

    // Ends the body: waits until every queued byte, the head if it was not sent yet and the last
    // chunk (chunked responses) are written, or a write failed. Later frames are dropped.
    asio::awaitable<void> finish() {
        finishing_ = true;
        wake(data_ready_);
        while (!failure_ && flusher_ != flusher_state::exited && !finished_) {
            auto const state = co_await asio::this_coro::cancellation_state;
            if (state.cancelled() != asio::cancellation_type::none) break;  // the flusher is cancelled too
            space_ready_.expires_at(asio::steady_timer::time_point::max());
            auto [ec] = co_await space_ready_.async_wait(asio::as_tuple(asio::use_awaitable));
            (void)ec;  // woken by the flusher, or cancelled (checked above)
        }
    }

    // Writes queued bytes as they come, and a `: keepalive` comment when nothing was written for
    // `heartbeat`. Returns normally only when a write failed (the client is gone or stopped
    // reading), which ends the stream's race; ends by throwing when cancelled.
    asio::awaitable<void> flush_loop(std::optional<std::chrono::milliseconds> heartbeat) {
        flusher_guard guard(*this);
        if (heartbeat) heartbeat = std::max(*heartbeat, std::chrono::milliseconds(1));
        for (;;) {
            while ((pending_.empty() || holding_) && !(finishing_ && !finished_)) {
                bool const beat = heartbeat && !finishing_;
                data_ready_.expires_at(beat ? last_write_ + *heartbeat : asio::steady_timer::time_point::max());
                auto [ec] = co_await data_ready_.async_wait(asio::as_tuple(asio::use_awaitable));
                auto const state = co_await asio::this_coro::cancellation_state;
                if (state.cancelled() != asio::cancellation_type::none)
                    throw boost::system::system_error(asio::error::operation_aborted, "SSE flusher");
                // The timer ran out (not woken by `queue`): time for a heartbeat on an idle stream,
                // and for held events to go out without waiting longer for the end.
                if (!ec && beat && !finishing_ && steady_clock::now() >= last_write_ + *heartbeat) {
                    if (pending_.empty()) pending_.append(keepalive_comment());
                    holding_ = false;
                }
            }
            writing_.swap(pending_);
            pending_.clear();
            bool const last = finishing_;  // nothing is queued after this write
            stream_.set_timeout(options_.write_timeout);
            auto const ec = co_await write_framed(last);
            stream_.set_timeout(std::nullopt);
            writing_.clear();
            if (writing_.capacity() > max_kept_capacity) writing_.shrink_to_fit();  // a held stream keeps little
            if (ec) {
                failure_ = ec;
            } else {
                last_write_ = steady_clock::now();
                finished_ = last;
            }
            wake(space_ready_);
            if (failure_) co_return;
        }
    }

    // True once the body's end was written.
    bool finished() const noexcept { return finished_; }

private:
    static constexpr std::size_t max_pending = 64 * 1024;
    static constexpr std::size_t max_kept_capacity = 1024;

    // The producer must not wait for a flusher that has not started yet to be gone: it may run to
    // its end before the flusher's first turn.
    enum class flusher_state { not_started, running, exited };

    // Marks the flusher running, and on its exit (a failed write, or cancelled) wakes a waiting
    // producer; unless the body was finished, the writer is unusable from then on (queued bytes
    // will never be written).
    struct flusher_guard {
        explicit flusher_guard(sse_writer& w) : w_(w) { w_.flusher_ = flusher_state::running; }
        ~flusher_guard() {
            w_.flusher_ = flusher_state::exited;
            if (!w_.failure_ && !w_.finished_) w_.failure_ = asio::error::operation_aborted;
            wake(w_.space_ready_);
        }
        flusher_guard(flusher_guard const&) = delete;
        flusher_guard& operator=(flusher_guard const&) = delete;
        sse_writer& w_;
    };

    // Writes `writing_` framed as one write: the head first if it was not sent, the bytes as one
    // chunk (raw bytes on a close-delimited body), then the last chunk when `last`.
    asio::awaitable<error_code> write_framed(bool last) {
        static constexpr std::string_view crlf = "\r\n";
        static constexpr std::string_view crlf_last = "\r\n0\r\n\r\n";
        std::array<asio::const_buffer, 4> buffers;
        std::size_t count = 0;
        std::array<char, 20> size_line{};
        if (!head_.empty()) buffers[count++] = asio::buffer(head_);
        if (!chunked_) {
            if (!writing_.empty()) buffers[count++] = asio::buffer(writing_);
        } else if (!writing_.empty()) {
            auto const [end, error] = std::to_chars(size_line.data(), size_line.data() + size_line.size() - 2,
                                                    writing_.size(), 16);
            (void)error;  // 16 hex digits always fit
            end[0] = '\r';
            end[1] = '\n';
            buffers[count++] = asio::buffer(size_line.data(), static_cast<std::size_t>(end + 2 - size_line.data()));
            buffers[count++] = asio::buffer(writing_);
            buffers[count++] = asio::buffer(last ? crlf_last : crlf);
        } else if (last) {
            buffers[count++] = asio::buffer(crlf_last.substr(2));
        }
        auto const ec = co_await stream_.write_bytes(std::span<asio::const_buffer const>(buffers.data(), count));
        if (!ec && !head_.empty()) std::string().swap(head_);
        co_return ec;
    }

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
    std::string head_;  // the response's head until it is written
    bool chunked_;
    bool holding_ = false;    // ending() was called and no frame came since
    bool finishing_ = false;  // finish() was called: no more frames
    bool finished_ = false;   // the body's end was written
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
        co_await writer.finish();
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
        // Small reads: the watcher usually sees nothing or EOF, and the room a pending read prepares
        // in the connection's buffer is held as long as the stream. 128 bytes while nothing came,
        // then up to 1 KiB at a time (a client pipelining its next request).
        std::size_t const room = buffer.size() == 0 ? 128 : 1024;
        auto const ec = co_await stream.read_some(buffer, std::min<std::size_t>(cap - buffer.size(), room));
        if (!ec) continue;
        // EOF or a reset counts even when the stream ended meanwhile (the read completed, then the
        // cancellation came): the socket reported it once, and a later read would wait for it forever.
        if (ec == asio::error::operation_aborted) {
            auto const state = co_await asio::this_coro::cancellation_state;
            if (state.cancelled() != asio::cancellation_type::none)
                throw boost::system::system_error(asio::error::operation_aborted, "disconnect watcher");
        }
        client_gone = true;
        co_return;
    }
}

asio::awaitable<bool> stream_response(transport& stream, beast::flat_buffer& buffer, Response& response,
                                      request_line line, ServeOptions const& options) {
    // The connection's read buffer (4 KiB after reading the request) would be held for the life of
    // the stream: release it when empty; the watcher reads at most 1 KiB at a time.
    if (buffer.size() == 0) buffer.shrink_to_fit();

    auto const executor = co_await asio::this_coro::executor;
    sse_writer writer(stream, executor, options, line);
    bool client_gone = false;
    bool interrupted = false;
    try {
        // One race of three (a single parallel group keeps the coroutine frames held by a long
        // stream few): the events finishing and being written, a failed write (the flusher
        // returns) or the client leaving (the watcher returns) ends the other two.
        //
        // The watcher comes first: the three start in this order, so its read is pending before
        // the flusher's first write. Beast's `expires_after` arms every direction without a
        // pending operation, so a read started after the flusher armed its write timeout would
        // inherit it, and a stream pausing longer than the write timeout would be cut.
        auto group = asio::experimental::make_parallel_group(
            asio::co_spawn(executor, watch_disconnect(stream, buffer, options.max_buffered_bytes, client_gone),
                           asio::deferred),
            asio::co_spawn(executor, run_events(response, writer), asio::deferred),
            asio::co_spawn(executor, writer.flush_loop(options.heartbeat), asio::deferred));
        auto const one_success = asio::experimental::wait_for_one_success();
        auto outcome = co_await group.async_wait(one_success, asio::use_awaitable);
        (void)outcome;
    } catch (std::exception const&) {
        interrupted = true;  // cancelled from outside before the race could start
    }

    auto const state = co_await asio::this_coro::cancellation_state;
    if (interrupted || client_gone || !writer.finished() || state.cancelled() != asio::cancellation_type::none)
        co_return false;
    co_return line.version >= 11 && line.keep_alive;  // a close-delimited body ends with the connection
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
        if (auto const delay = out.response->retry_after(); delay.count() > 0)
            out.answer->set(http_::field::retry_after, std::to_string(delay.count()));
        out.response.reset();
    }
    co_return out;
}

// The same for a run endpoint (`target` parsed): the factory sees a `threads.get_by_id` request of
// the thread (no metadata), then resume() or cancel_run() runs.
asio::awaitable<prepared_request> prepare_run_request(RequestInfo& info, run_target const& target, request_line line,
                                                      request_handler& handler, ServeOptions const& options) {
    prepared_request out;
    if (target.status != 0) {
        out.answer.emplace(json_response(target.status, error_body(status_code_name(target.status), target.message),
                                         line, options));
        if (target.allow) out.answer->set(http_::field::allow, target.allow);
        co_return out;
    }
    ChatKitRequest request;
    request.params = ThreadsGetByIdReq{target.thread_id};
    try {
        info.request = &request;
        auto work = handler.handle_run(target.thread_id, target.after, info);  // the factory runs here
        info.request = nullptr;
        out.response.emplace(co_await std::move(work));
    } catch (...) {
        auto const refused = current_rejection("context factory", handler.logger());
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

namespace {

// Runs the request up to its answer: writes it when it is immediate (an error, a JSON body) and
// returns whether the connection stays open, or leaves a streamed reply in `streaming`. (serve_core
// keeps only `streaming` while the reply streams, not this step's answers.)
asio::awaitable<bool> answer_or_prepare(transport& stream, RequestInfo& info, std::string_view body, request_line line,
                                        request_handler& handler, ServeOptions const& options,
                                        std::optional<Response>& streaming) {
    // No header that could split the response is ever written: the configured headers are checked
    // before the request runs, a prepared answer (WWW-Authenticate from the context factory) before
    // it is written.
    if (auto refusal = refuse_unsafe_headers(options.response_headers, line.version, handler.logger()))
        co_return co_await write_response(stream, *refusal, options);
    prepared_request prepared;
    if (auto const run = parse_run_target(info.target, line.method)) {
        prepared = co_await prepare_run_request(info, *run, line, handler, options);
    } else {
        prepared = co_await prepare_request(info, body, line, handler, options);
    }
    if (prepared.answer) {
        if (auto refusal = refuse_unsafe_headers(prepared.answer->base(), line.version, handler.logger()))
            *prepared.answer = std::move(*refusal);
        co_return co_await write_response(stream, *prepared.answer, options);
    }
    streaming = std::move(prepared.response);
    co_return true;
}

}  // namespace

asio::awaitable<bool> serve_core(transport& stream, beast::flat_buffer& buffer, RequestInfo& info,
                                 std::string_view body, request_line line, request_handler& handler,
                                 ServeOptions const& options) {
    std::optional<Response> streaming;
    bool const keep = co_await answer_or_prepare(stream, info, body, line, handler, options, streaming);
    if (!streaming) co_return keep;
    co_return co_await stream_response(stream, buffer, *streaming, line, options);
}

}  // namespace detail
}  // namespace chatkit::http
