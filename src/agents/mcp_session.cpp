// chatkit-cpp agents: the MCP client's sessions and its Streamable HTTP exchange — credentials and
// session keys, initialisation and version negotiation, JSON-RPC over POST answered as JSON or SSE,
// resumption with Last-Event-ID, server requests and notifications, the change listener (GET), and
// DELETE on close.
#include "mcp_detail.hpp"

#include <chatkit/core/media_type.hpp>
#include <chatkit/core/sse.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cctype>
#include <set>
#include <utility>

namespace chatkit::agents {

namespace asio = boost::asio;
using namespace mcp_detail;

namespace {

using std::chrono::milliseconds;

// Headers the client sets itself; a header provider may not set them.
constexpr std::string_view kReserved[] = {"accept", "content-type", "content-length", "host", "connection",
                                          "transfer-encoding", "mcp-session-id", "mcp-protocol-version",
                                          "last-event-id", "te", "upgrade", "expect"};
constexpr std::size_t kMaxHeaders = 64;
constexpr std::size_t kMaxHeaderValue = 8192;
constexpr std::size_t kMaxSessionId = 1024;
constexpr int kListenerFailures = 5;

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool valid_header_value(std::string_view v) {
    if (v.size() > kMaxHeaderValue) return false;
    return std::none_of(v.begin(), v.end(), [](char c) {
        auto const u = static_cast<unsigned char>(c);
        return (u < 0x20 && u != '\t') || u == 0x7f;
    });
}

std::string seconds_text(milliseconds d) {
    auto const ms = d.count();
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
    return std::to_string(ms) + " ms";
}

bool is_id(json::value const* v, std::int64_t want) {
    if (!v) return false;
    if (v->is_int64()) return v->get_int64() == want;
    if (v->is_uint64()) return want >= 0 && v->get_uint64() == static_cast<std::uint64_t>(want);
    return false;
}

bool is_aborted(boost::system::system_error const& e) { return e.code() == asio::error::operation_aborted; }

/// Stops reading an SSE answer once the result is in and the server keeps the stream open.
struct StreamDone {};

/// Reads the answers of one JSON-RPC request (or of the listener's stream): a JSON body or SSE
/// events, dispatching each message: our response, server requests (answered), notifications.
class Reader {
public:
    Reader(std::shared_ptr<McpServer::Impl> impl, SessionPtr session, std::optional<std::int64_t> want)
        : impl_(std::move(impl)), session_(std::move(session)), want_(want),
          decoder_(impl_->options.limits.max_message_bytes) {}

    enum class Mode { none, json, sse, invalid };

    void head(HttpResponse const& h) {
        head_ = h;
        mode_ = Mode::invalid;
        if (auto ct = h.header("content-type")) {
            boost::system::error_code ec;
            std::string why;
            MediaType const media = parse_media_type(*ct, ec, why);
            if (!ec) {
                if (media.essence() == "application/json") mode_ = Mode::json;
                else if (media.essence() == "text/event-stream") mode_ = Mode::sse;
            }
        }
    }

    /// A new HTTP response continues the stream (resumption): fresh framing, same cursor.
    void new_response() {
        decoder_ = SseDecoder(impl_->options.limits.max_message_bytes);
        json_.clear();
        mode_ = Mode::none;
    }

    task<void> body(std::string_view chunk) {
        if (answered_) throw StreamDone{};
        if (!want_) {  // the change listener ends at the first chunk after its session closed
            std::lock_guard lock(impl_->mutex);
            if (session_->closed) throw StreamDone{};
        }
        auto const& limits = impl_->options.limits;
        if (mode_ == Mode::invalid) {
            throw McpError(McpError::Kind::protocol,
                           impl_->who() + " answered with a content type that is neither JSON nor an event stream");
        }
        if (mode_ == Mode::json) {
            if (json_.size() + chunk.size() > limits.max_message_bytes) throw too_large();
            json_.append(chunk);
            co_return;
        }
        stream_bytes_ += chunk.size();
        if (stream_bytes_ > limits.max_stream_bytes) throw too_large();
        events_.clear();
        try {
            decoder_.feed(chunk, events_);
        } catch (SseError const&) {
            throw too_large();
        }
        co_await dispatch_events();
    }

    /// The end of one HTTP response body.
    task<void> finish() {
        if (mode_ == Mode::json) {
            std::string text = std::move(json_);
            json_.clear();
            co_await message(text);
        } else if (mode_ == Mode::sse) {
            events_.clear();
            try {
                decoder_.finish(events_);
            } catch (SseError const&) {
                throw too_large();
            }
            co_await dispatch_events();
        }
    }

    HttpResponse const& response_head() const noexcept { return head_; }
    Mode mode() const noexcept { return mode_; }
    bool answered() const noexcept { return answered_; }
    std::size_t messages() const noexcept { return messages_; }
    std::string const& last_event_id() const noexcept { return last_event_id_; }
    std::optional<std::uint64_t> retry_ms() const noexcept { return retry_ms_; }
    json::value take_result() { return std::move(result_); }
    std::optional<McpError> const& rpc_error() const noexcept { return error_; }

private:
    McpError too_large() const {
        return McpError(McpError::Kind::protocol, impl_->who() + " sent a message or stream over this client's size limit");
    }

    task<void> dispatch_events() {
        for (std::size_t i = 0; i < events_.size() && !answered_; ++i) {
            if (!events_[i].id.empty()) last_event_id_ = events_[i].id;
            if (events_[i].data.empty()) continue;  // a priming event (an id and empty data)
            if (!events_[i].event.empty() && events_[i].event != "message") continue;
            std::string data = std::move(events_[i].data);
            co_await message(data);
        }
        if (auto r = decoder_.retry_ms()) retry_ms_ = r;
        if (!decoder_.last_event_id().empty()) last_event_id_ = decoder_.last_event_id();
    }

    task<void> message(std::string const& text) {
        if (++messages_ > impl_->options.limits.max_stream_messages) {
            throw McpError(McpError::Kind::protocol, impl_->who() + " sent more messages than this client reads for one request");
        }
        boost::system::error_code ec;
        json::value v = json::parse(text, ec);
        if (ec) throw McpError(McpError::Kind::protocol, impl_->who() + " sent a message that is not JSON");
        if (auto* batch = v.if_array()) {
            for (auto& m : *batch) {
                if (!m.is_object()) throw not_jsonrpc();
                co_await one(m.get_object());
            }
        } else if (v.is_object()) {
            co_await one(v.get_object());
        } else {
            throw not_jsonrpc();
        }
    }

    McpError not_jsonrpc() const {
        return McpError(McpError::Kind::protocol, impl_->who() + " sent a message that is not JSON-RPC");
    }

    task<void> one(json::object& m) {
        json::value const* method = m.if_contains("method");
        json::value const* id = m.if_contains("id");
        if (method && method->is_string()) {
            if (id && !id->is_null()) co_await answer_server_request(method->get_string(), *id);
            else if (method->get_string() == "notifications/tools/list_changed") impl_->tools_changed();
            co_return;
        }
        if (!want_ || !is_id(id, *want_)) co_return;  // not ours (or an error without id): ignored
        answered_ = true;
        if (auto* r = m.if_contains("result")) {
            result_ = std::move(*r);
        } else if (auto const* e = m.if_contains("error"); e && e->is_object()) {
            std::int64_t code = 0;
            if (auto const* c = e->get_object().if_contains("code"); c && c->is_int64()) code = c->get_int64();
            std::string text;
            if (auto const* msg = e->get_object().if_contains("message"); msg && msg->is_string())
                text = std::string(msg->get_string()).substr(0, 500);
            error_ = McpError(McpError::Kind::rpc,
                              impl_->who() + " answered with error " + std::to_string(code) + (text.empty() ? "" : ": " + text),
                              0, code);
        } else {
            throw not_jsonrpc();
        }
    }

    // The client offers no capabilities, so the only request a server may send it is `ping`;
    // anything else gets "Method not found".
    task<void> answer_server_request(json::string const& method, json::value const& id) {
        json::object reply;
        reply["jsonrpc"] = "2.0";
        reply["id"] = id;
        if (method == "ping") {
            reply["result"] = json::object{};
        } else {
            json::object error;
            error["code"] = -32601;
            error["message"] = "Method not found";
            reply["error"] = std::move(error);
        }
        co_await impl_->notify(session_, std::move(reply));
    }

    std::shared_ptr<McpServer::Impl> impl_;
    SessionPtr session_;
    std::optional<std::int64_t> want_;
    SseDecoder decoder_;
    std::vector<SseEvent> events_;
    HttpResponse head_;
    Mode mode_ = Mode::none;
    std::string json_;
    std::size_t stream_bytes_ = 0;
    std::size_t messages_ = 0;
    std::string last_event_id_;
    std::optional<std::uint64_t> retry_ms_;
    bool answered_ = false;
    json::value result_;
    std::optional<McpError> error_;
};

HttpRequest base_request(McpServer::Impl const& impl, Session const& s, std::string method, milliseconds timeout) {
    HttpRequest r;
    r.method = std::move(method);
    r.url = impl.options.url;
    r.headers = s.headers;
    if (!s.id.empty()) r.headers.emplace_back("Mcp-Session-Id", s.id);
    if (!s.version.empty()) r.headers.emplace_back("MCP-Protocol-Version", s.version);
    r.connect_timeout = std::min(impl.options.timeouts.connect, timeout);
    r.idle_timeout = timeout;
    r.total_timeout = timeout;
    r.max_body = impl.options.limits.max_message_bytes;
    return r;
}

HttpRequest post_request(McpServer::Impl const& impl, Session const& s, std::string body, milliseconds timeout) {
    HttpRequest r = base_request(impl, s, "POST", timeout);
    r.headers.emplace_back("Content-Type", "application/json");
    r.headers.emplace_back("Accept", "application/json, text/event-stream");
    r.body = std::move(body);
    return r;
}

HttpRequest get_request(McpServer::Impl const& impl, Session const& s, std::string const& last_event_id,
                        std::optional<milliseconds> timeout, milliseconds idle) {
    HttpRequest r = base_request(impl, s, "GET", timeout.value_or(idle));
    r.headers.emplace_back("Accept", "text/event-stream");
    if (!last_event_id.empty()) r.headers.emplace_back("Last-Event-ID", last_event_id);
    r.idle_timeout = idle;
    r.total_timeout = timeout;
    return r;
}

/// The McpError for a transport failure of `what` (`tools/call`, ...).
McpError transport_failure(McpServer::Impl const& impl, boost::system::error_code const& ec, std::string const& what,
                           milliseconds timeout) {
    using K = McpError::Kind;
    if (ec == error::transport_timeout)
        return McpError(K::timeout, impl.who() + " did not answer " + what + " within " + seconds_text(timeout));
    if (ec == error::transport_resolve_failed) return McpError(K::transport, impl.who() + " could not be reached (host not found)");
    if (ec == error::transport_connect_failed) return McpError(K::transport, impl.who() + " could not be reached (connection failed)");
    if (ec == error::transport_tls_failed) return McpError(K::transport, impl.who() + " could not be reached (TLS handshake failed)");
    if (ec == error::transport_connection_closed)
        return McpError(K::transport, impl.who() + " closed the connection before answering " + what);
    if (ec == error::transport_body_too_large)
        return McpError(K::protocol, impl.who() + " sent a message over this client's size limit");
    if (ec == error::transport_invalid_request || ec == error::transport_invalid_url)
        return McpError(K::config, impl.who() + ": the request could not be sent (invalid URL or header)");
    return McpError(K::protocol, impl.who() + " sent an invalid HTTP answer to " + what);
}

/// Throws for a non-2xx answer: SessionExpired for 404 on a session, McpError otherwise.
[[noreturn]] void fail_status(McpServer::Impl const& impl, Session const& s, HttpResponse const& r, std::string const& what) {
    if (r.status == 404 && !s.id.empty()) throw SessionExpired{};
    if (r.status == 401 || r.status == 403) {
        throw McpError(McpError::Kind::http,
                       impl.who() + " refused the credentials of this request (HTTP " + std::to_string(r.status) + ")",
                       static_cast<int>(r.status));
    }
    throw McpError(McpError::Kind::http, impl.who() + " answered HTTP " + std::to_string(r.status) + " to " + what,
                   static_cast<int>(r.status));
}

/// One HTTP exchange read by `reader`; maps transport failures, stops at StreamDone.
task<HttpResponse> exchange(McpServer::Impl& impl, HttpRequest request, Reader& reader, std::string const& what,
                            milliseconds timeout) {
    BodyHandler on_body = [&reader](std::string_view chunk) { return reader.body(chunk); };
    HeadHandler on_head = [&reader](HttpResponse const& h) { reader.head(h); };
    std::optional<McpError> failure;
    HttpResponse head;
    bool stopped = false;
    try {
        head = co_await impl.options.transport->send(std::move(request), on_body, on_head);
    } catch (StreamDone const&) {
        stopped = true;
    } catch (chatkit::Error const& e) {
        if (!is_transport_error(e.code())) throw;
        failure = transport_failure(impl, e.code(), what, timeout);
    }
    if (failure) throw *failure;
    if (stopped) co_return reader.response_head();
    if (head.ok()) co_await reader.finish();
    co_return head;
}

task<void> wait_for(milliseconds delay) {
    asio::steady_timer timer(co_await asio::this_coro::executor, delay);
    co_await timer.async_wait(asio::use_awaitable);
}

// Detached coroutines: parameters by value, never a capturing lambda.

task<void> send_cancelled(std::shared_ptr<McpServer::Impl> impl, SessionPtr s, std::int64_t id, std::string reason) {
    json::object params;
    params["requestId"] = id;
    params["reason"] = reason;
    json::object message;
    message["jsonrpc"] = "2.0";
    message["method"] = "notifications/cancelled";
    message["params"] = std::move(params);
    try {
        co_await impl->notify(s, std::move(message));
    } catch (std::exception const& e) {
        impl->log(LogLevel::info, std::string("notifications/cancelled not delivered: ") + e.what());
    } catch (SessionExpired const&) {
    }
}

task<void> close_detached(std::shared_ptr<McpServer::Impl> impl, SessionPtr s) {
    co_await impl->close_session(std::move(s));
}

/// The change listener of a session: a GET stream reconnected (with Last-Event-ID) until the
/// session closes, the server says it offers none (405) or forgot the session (404), or it fails
/// kListenerFailures times in a row.
task<void> listen(std::shared_ptr<McpServer::Impl> impl, SessionPtr s) {
    auto const& o = impl->options;
    int failures = 0;
    std::string last_event_id;
    for (;;) {
        {
            std::lock_guard lock(impl->mutex);
            if (s->closed) co_return;
        }
        Reader reader(impl, s, std::nullopt);
        HttpRequest request = get_request(*impl, *s, last_event_id, std::nullopt, o.timeouts.listen_idle);
        HttpResponse head;
        bool failed = false;
        try {
            head = co_await exchange(*impl, std::move(request), reader, "the change stream", o.timeouts.listen_idle);
        } catch (McpError const& e) {  // before system_error, its base
            failed = e.kind != McpError::Kind::timeout;  // an idle stream is reopened quietly
        } catch (boost::system::system_error const& e) {
            if (is_aborted(e)) co_return;
            failed = true;
        } catch (StreamDone const&) {
        } catch (SessionExpired const&) {
            failed = true;
        }
        if (!failed && head.status == 405) {
            impl->log(LogLevel::info, "the server offers no change stream (GET answered 405)");
            co_return;
        }
        if (!failed && head.status == 404) {
            impl->forget(s);
            co_return;
        }
        if (!failed && head.status != 0 && !head.ok()) failed = true;
        if (!failed && reader.mode() != Reader::Mode::sse && head.ok()) failed = true;
        if (reader.messages() > 0) failures = 0;
        if (failed && ++failures >= kListenerFailures) {
            impl->log(LogLevel::warning, "the change stream failed " + std::to_string(failures) +
                                             " times in a row; tool list changes are no longer followed");
            co_return;
        }
        if (!reader.last_event_id().empty()) last_event_id = reader.last_event_id();
        milliseconds delay(reader.retry_ms().value_or(1000));
        if (failures > 1) delay = std::max(delay, milliseconds(1000) * (1 << std::min(failures, 5)));
        delay = std::min(delay, milliseconds(30000));
        co_await wait_for(delay);  // throws operation_aborted when the session closes
    }
}

void ignore_completion(std::exception_ptr) noexcept {}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Leases

mcp_detail::Lease::~Lease() {
    if (impl_ && session_) impl_->release(session_);
}

// ---------------------------------------------------------------------------------------------
// Credentials and sessions

void McpServer::Impl::log(LogLevel level, std::string const& message) const noexcept {
    try {
        options.logger.log(level, "MCP server " + options.name + ": " + message);
    } catch (...) {
    }
}

task<Credentials> McpServer::Impl::credentials(RunContextBase const& ctx) {
    Credentials c;
    c.headers = options.headers;
    if (options.header_provider) {
        Headers extra = co_await options.header_provider(ctx);
        if (extra.size() > kMaxHeaders)
            throw McpError(McpError::Kind::config, who() + ": the header provider gave too many headers");
        for (auto& [name, value] : extra) {
            if (!is_http_token(name) || name.size() > 256)
                throw McpError(McpError::Kind::config, who() + ": the header provider gave an invalid header name");
            auto const l = lower(name);
            if (std::find(std::begin(kReserved), std::end(kReserved), l) != std::end(kReserved))
                throw McpError(McpError::Kind::config, who() + ": the header provider may not set " + name);
            if (!valid_header_value(value))
                throw McpError(McpError::Kind::config, who() + ": the header provider gave an invalid value for " + name);
            c.headers.emplace_back(std::move(name), std::move(value));
        }
    }
    std::vector<std::pair<std::string, std::string>> canonical;
    canonical.reserve(c.headers.size());
    for (auto const& [name, value] : c.headers) canonical.emplace_back(lower(name), value);
    std::sort(canonical.begin(), canonical.end());
    for (auto const& [name, value] : canonical) {
        c.key += name;
        c.key += ':';
        c.key += value;
        c.key += '\n';  // never inside a checked name or value
    }
    co_return c;
}

void McpServer::Impl::tools_changed() noexcept {
    std::lock_guard lock(mutex);
    ++tools_generation;
}

void McpServer::Impl::forget(SessionPtr const& session) {
    std::shared_ptr<asio::cancellation_signal> listener;
    {
        std::lock_guard lock(mutex);
        session->closed = true;
        if (session->cached) {
            auto it = sessions.find(session->key);
            if (it != sessions.end() && it->second == session) sessions.erase(it);
            session->cached = false;
        }
        listener = std::move(session->listener);
    }
    if (listener) asio::post(session->executor, [listener] { listener->emit(asio::cancellation_type::terminal); });
}

void McpServer::Impl::release(SessionPtr const& session) noexcept {
    bool close = false;
    {
        std::lock_guard lock(mutex);
        --session->in_use;
        session->last_used = clock::now();
        if (!session->cached && !session->closed && session->in_use == 0) {
            session->closed = true;
            close = true;
        }
    }
    if (close) close_in_background(session);
}

void McpServer::Impl::close_in_background(SessionPtr session) noexcept {
    try {
        auto ex = session->executor;
        asio::co_spawn(ex, close_detached(shared_from_this(), std::move(session)), ignore_completion);
    } catch (...) {
    }
}

task<void> McpServer::Impl::close_session(SessionPtr s) {
    std::shared_ptr<asio::cancellation_signal> listener;
    {
        std::lock_guard lock(mutex);
        s->closed = true;
        listener = std::move(s->listener);
    }
    if (listener) asio::post(s->executor, [listener] { listener->emit(asio::cancellation_type::terminal); });
    if (s->id.empty()) co_return;
    HttpRequest request = base_request(*this, *s, "DELETE", options.timeouts.request);
    try {
        co_await options.transport->send(std::move(request));  // 2xx, 404 or 405: nothing more to do
    } catch (chatkit::Error const& e) {
        if (!is_transport_error(e.code())) throw;
        log(LogLevel::info, std::string("DELETE of a session failed: ") +
                                 transport_failure(*this, e.code(), "DELETE", options.timeouts.request).what());
    }
}

task<Lease> McpServer::Impl::acquire(Credentials credentials) {
    auto self = shared_from_this();
    std::vector<SessionPtr> to_close;
    SessionPtr found;
    auto const now = clock::now();
    {
        std::lock_guard lock(mutex);
        for (auto it = sessions.begin(); it != sessions.end();) {
            auto& s = it->second;
            if (s->in_use == 0 && now - s->last_used > options.limits.session_idle_timeout) {
                s->cached = false;
                s->closed = true;
                to_close.push_back(s);
                it = sessions.erase(it);
            } else {
                ++it;
            }
        }
        if (auto it = sessions.find(credentials.key); it != sessions.end()) {
            ++it->second->in_use;
            it->second->last_used = now;
            found = it->second;
        }
    }
    for (auto& s : to_close) close_in_background(s);  // never under the mutex
    to_close.clear();
    if (found) co_return Lease(self, std::move(found));

    auto s = std::make_shared<Session>();
    s->key = std::move(credentials.key);
    s->headers = std::move(credentials.headers);
    asio::any_io_executor caller = co_await asio::this_coro::executor;
    s->executor = asio::make_strand(caller);
    s->in_use = 1;  // leased from here on: released (and closed when not cached) by the lease
    std::optional<Lease> lease;
    lease.emplace(self, s);

    // initialize → notifications/initialized
    json::object client_info;
    client_info["name"] = options.client_name;
    client_info["version"] = options.client_version;
    json::object params;
    params["protocolVersion"] = options.protocol_version;
    params["capabilities"] = json::object{};
    params["clientInfo"] = std::move(client_info);
    json::value init_params(std::move(params));
    std::string const init_method = "initialize";
    json::value result = co_await request(s, init_method, std::move(init_params), next_id++, options.timeouts.request);
    auto const* r = result.if_object();
    json::value const* version = r ? r->if_contains("protocolVersion") : nullptr;
    if (!version || !version->is_string()) throw McpError(McpError::Kind::protocol, who() + " answered initialize without a protocol version");
    std::string const v(version->get_string());
    if (std::find(std::begin(mcp_protocol_versions), std::end(mcp_protocol_versions), v) == std::end(mcp_protocol_versions)) {
        throw McpError(McpError::Kind::protocol, who() + " speaks protocol revision " + v.substr(0, 40) +
                                                     "; this client speaks 2025-11-25 and 2025-06-18");
    }
    s->version = v;
    if (auto const* caps = r->if_contains("capabilities"); caps && caps->is_object()) {
        if (auto const* tools = caps->get_object().if_contains("tools"); tools && tools->is_object()) {
            auto const* lc = tools->get_object().if_contains("listChanged");
            s->list_changed = lc && lc->is_bool() && lc->get_bool();
        }
    }
    json::object initialized;
    initialized["jsonrpc"] = "2.0";
    initialized["method"] = "notifications/initialized";
    co_await notify(s, std::move(initialized));

    // Keep it (or adopt one a concurrent request of the same credentials opened meanwhile).
    bool start_listener = false;
    SessionPtr adopted;
    {
        std::lock_guard lock(mutex);
        if (auto it = sessions.find(s->key); it != sessions.end()) {
            ++it->second->in_use;
            it->second->last_used = clock::now();
            adopted = it->second;
            s->closed = true;  // so its lease does not close it too
            to_close.push_back(s);
        } else {
            if (sessions.size() >= options.limits.max_sessions) {
                // Make room: the least recently used idle session goes.
                auto victim = sessions.end();
                for (auto candidate = sessions.begin(); candidate != sessions.end(); ++candidate) {
                    if (candidate->second->in_use > 0) continue;
                    if (victim == sessions.end() || candidate->second->last_used < victim->second->last_used)
                        victim = candidate;
                }
                if (victim != sessions.end()) {
                    victim->second->cached = false;
                    victim->second->closed = true;
                    to_close.push_back(victim->second);
                    sessions.erase(victim);
                }
            }
            if (sessions.size() < options.limits.max_sessions) {
                s->cached = true;
                sessions.emplace(s->key, s);
                if (s->list_changed && options.listen_for_changes && !s->id.empty()) {
                    s->listener = std::make_shared<asio::cancellation_signal>();
                    start_listener = true;
                }
            }
        }
    }
    if (adopted) {
        lease.reset();
        lease.emplace(self, std::move(adopted));
    }
    for (auto& c : to_close) close_in_background(c);
    if (start_listener) {
        // The completion handler holds the signal, so it outlives the listener.
        auto listener = s->listener;
        auto& slot_owner = *listener;
        asio::co_spawn(s->executor, listen(self, s),
                       asio::bind_cancellation_slot(slot_owner.slot(), [listener](std::exception_ptr) {}));
    }
    co_return std::move(*lease);
}

// ---------------------------------------------------------------------------------------------
// The exchange

task<json::value> McpServer::Impl::request(SessionPtr s, std::string method, json::value params, std::int64_t id,
                                           milliseconds timeout) {
    auto self = shared_from_this();
    json::object message;
    message["jsonrpc"] = "2.0";
    message["id"] = id;
    message["method"] = method;
    if (!params.is_null()) message["params"] = std::move(params);
    auto const deadline = clock::now() + timeout;

    Reader reader(self, s, id);
    HttpRequest post = post_request(*this, *s, json::serialize(message), timeout);
    HttpResponse head = co_await exchange(*this, std::move(post), reader, method, timeout);
    if (!head.ok()) fail_status(*this, *s, head, method);
    if (method == "initialize") {
        if (auto sid = head.header("mcp-session-id")) {
            bool const visible = !sid->empty() && sid->size() <= kMaxSessionId &&
                                 std::all_of(sid->begin(), sid->end(), [](char c) { return c >= 0x21 && c <= 0x7e; });
            if (!visible) throw McpError(McpError::Kind::protocol, who() + " sent an invalid session id");
            s->id = *sid;
        }
    }
    if (!reader.answered() && (head.status == 202 || reader.mode() == Reader::Mode::none))
        throw McpError(McpError::Kind::protocol, who() + " accepted " + method + " without answering it (HTTP " +
                                                     std::to_string(head.status) + ")");
    if (!reader.answered() && reader.mode() == Reader::Mode::invalid)
        throw McpError(McpError::Kind::protocol, who() + " answered " + method + " with a content type that is neither JSON nor an event stream");

    // 2025-11-25: the server may end the stream early and let the client poll with Last-Event-ID.
    std::size_t resumptions = 0;
    while (!reader.answered()) {
        if (reader.mode() != Reader::Mode::sse || reader.last_event_id().empty())
            throw McpError(McpError::Kind::protocol, who() + " ended its answer to " + method + " without a result");
        if (resumptions++ >= options.limits.max_resumptions)
            throw McpError(McpError::Kind::protocol, who() + " did not finish its answer to " + method + " after " +
                                                         std::to_string(options.limits.max_resumptions) + " reconnections");
        auto delay = std::min(milliseconds(static_cast<milliseconds::rep>(reader.retry_ms().value_or(1000))),
                              options.limits.max_retry_delay);
        auto const left = std::chrono::duration_cast<milliseconds>(deadline - clock::now());
        if (left <= delay) throw McpError(McpError::Kind::timeout, who() + " did not answer " + method + " within " + seconds_text(timeout));
        co_await wait_for(delay);
        HttpRequest get = get_request(*this, *s, reader.last_event_id(), left - delay, left - delay);
        reader.new_response();
        head = co_await exchange(*this, std::move(get), reader, method, timeout);
        if (head.status == 405)
            throw McpError(McpError::Kind::protocol, who() + " ended its answer to " + method + " early and cannot resume it");
        if (!head.ok()) fail_status(*this, *s, head, method);
    }
    if (auto const& e = reader.rpc_error()) throw *e;
    co_return reader.take_result();
}

task<void> McpServer::Impl::notify(SessionPtr s, json::object message) {
    std::string what = "a notification";
    if (auto const* m = message.if_contains("method"); m && m->is_string()) what = std::string(m->get_string());
    HttpRequest post = post_request(*this, *s, json::serialize(message), options.timeouts.request);
    HttpResponse response;
    std::optional<McpError> failure;
    try {
        response = co_await options.transport->send(std::move(post));
    } catch (chatkit::Error const& e) {
        if (!is_transport_error(e.code())) throw;
        failure = transport_failure(*this, e.code(), what, options.timeouts.request);
    }
    if (failure) throw *failure;
    if (!response.ok()) fail_status(*this, *s, response, what);
}

void McpServer::Impl::cancel_in_background(SessionPtr session, std::int64_t id, std::string reason) noexcept {
    try {
        auto ex = session->executor;
        asio::co_spawn(ex, send_cancelled(shared_from_this(), std::move(session), id, std::move(reason)), ignore_completion);
    } catch (...) {
    }
}

}  // namespace chatkit::agents
