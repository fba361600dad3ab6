// chatkit-cpp: shared parts of the OpenAI models (see openai_common.hpp).
#include "openai_common.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <random>

namespace chatkit::agents::detail {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

std::optional<double> parse_number(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    if (s.empty()) return std::nullopt;
    std::string text(s);
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size() || !std::isfinite(v)) return std::nullopt;
    return v;
}

std::optional<milliseconds> parse_http_date(std::string const& s) {
    std::tm tm{};
    char const* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end) return std::nullopt;
    auto when = std::chrono::system_clock::from_time_t(timegm(&tm));
    return std::chrono::duration_cast<milliseconds>(when - std::chrono::system_clock::now());
}

std::string code_text(json::value const* v) {
    if (!v || v->is_null()) return {};
    if (v->is_string()) return std::string(v->get_string());
    if (v->is_int64()) return std::to_string(v->get_int64());
    if (v->is_uint64()) return std::to_string(v->get_uint64());
    return json::serialize(*v);
}

std::string_view str(json::object const& o, char const* key) {
    auto const* v = o.if_contains(key);
    return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

double jitter_factor() {
    thread_local std::mt19937 rng{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.75, 1.0)(rng);
}

}  // namespace

std::optional<milliseconds> retry_hint(Headers const& headers) {
    if (auto ms = find_header(headers, "retry-after-ms")) {
        if (auto v = parse_number(*ms)) return milliseconds(static_cast<std::int64_t>(std::llround(*v)));
    }
    if (auto ra = find_header(headers, "retry-after")) {
        if (auto v = parse_number(*ra)) return milliseconds(static_cast<std::int64_t>(std::llround(*v * 1000.0)));
        if (auto d = parse_http_date(*ra)) return *d;
    }
    return std::nullopt;
}

std::optional<milliseconds> retry_delay(RetryPolicy const& policy, int attempt, std::optional<milliseconds> hint) {
    if (hint && hint->count() > 0) {
        if (*hint <= policy.max_server_hint) return *hint;
        return std::nullopt;  // the server asks for longer than we are willing to wait
    }
    double backoff = static_cast<double>(policy.initial.count()) * std::pow(policy.multiplier, attempt);
    backoff = std::min(backoff, static_cast<double>(policy.max_backoff.count()));
    if (policy.jitter) backoff *= jitter_factor();
    return milliseconds(static_cast<std::int64_t>(backoff));
}

ModelStreamError stream_error(json::value const& error, bool after_output) {
    std::string code = "stream_error", message;
    if (error.is_object()) {
        auto const& o = error.as_object();
        if (auto c = code_text(o.if_contains("code")); !c.empty()) code = c;
        else if (auto t = str(o, "type"); !t.empty()) code = std::string(t);
        message = std::string(str(o, "message"));
    } else if (error.is_string()) {
        message = std::string(error.get_string());
    }
    if (message.empty()) message = "The model stream reported an error.";
    return ModelStreamError(code, message, after_output);
}

ModelHttpError http_error(HttpResponse const& response, RetryPolicy const& policy) {
    std::string type, code, message, param;
    boost::system::error_code ec;
    auto body = json::parse(response.body, ec);
    if (!ec && body.is_object()) {
        auto const& o = body.as_object();
        json::object const* err = nullptr;
        if (auto const* e = o.if_contains("error"); e && e->is_object()) err = &e->as_object();
        else if (o.contains("message")) err = &o;  // vLLM (older): top-level {"object":"error",...}
        if (err) {
            type = std::string(str(*err, "type"));
            code = code_text(err->if_contains("code"));
            message = std::string(str(*err, "message"));
            param = code_text(err->if_contains("param"));
        } else if (auto const* e = o.if_contains("error"); e && e->is_string()) {
            message = std::string(e->get_string());
        }
    }
    if (message.empty()) {
        message = response.body.substr(0, 1000);
        if (message.empty()) message = "HTTP " + std::to_string(response.status);
    }
    auto request_id = response.header("x-request-id").value_or("");
    ModelHttpError err(static_cast<int>(response.status), message, code, type, request_id);
    err.param = param;
    err.raw_body = response.body;
    err.retry_after = retry_hint(response.headers);
    int const s = static_cast<int>(response.status);
    bool retry = std::find(policy.statuses.begin(), policy.statuses.end(), s) != policy.statuses.end() ||
                 (policy.retry_all_5xx && s >= 500);
    if (code == "insufficient_quota" || type == "insufficient_quota") retry = false;  // billing: never
    if (auto should = response.header("x-should-retry")) {
        if (*should == "true") retry = true;
        if (*should == "false") retry = false;
    }
    err.retryable = retry;
    return err;
}

task<void> StreamConsumer::flush_held() {
    if (held_.empty()) co_return;
    auto held = std::move(held_);
    held_.clear();
    for (auto& ev : held) co_await on_event_(ev);
}

task<void> StreamConsumer::emit(ModelStreamEvent event) {
    bool const lifecycle = event.kind == ModelEventKind::Created || event.kind == ModelEventKind::InProgress ||
                           event.type == "response.queued";
    if (lifecycle && !delivered_) {
        held_.push_back(std::move(event));
        co_return;
    }
    delivered_ = true;
    co_await flush_held();
    co_await on_event_(event);
}

json::object parse_payload(std::string_view data) {
    boost::system::error_code ec;
    auto v = json::parse(data, ec);
    if (ec || !v.is_object())
        throw ModelProtocolError("the model stream sent a payload that is not a JSON object: " +
                                 std::string(data.substr(0, 200)));
    return std::move(v.as_object());
}

HttpRequest make_request(OpenAIEndpoint const& endpoint, std::string path, json::object const& body,
                         ModelSettings const& settings) {
    HttpRequest r;
    r.method = "POST";
    std::string base = endpoint.base_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    r.url = base + path;
    if (!endpoint.api_key.empty()) r.headers.emplace_back("Authorization", "Bearer " + endpoint.api_key);
    r.headers.emplace_back("Content-Type", "application/json");
    r.headers.emplace_back("Accept", "text/event-stream");
    for (auto const& h : endpoint.default_headers) r.headers.push_back(h);
    for (auto const& h : settings.extra_headers) r.headers.push_back(h);
    r.body = json::serialize(body);
    r.connect_timeout = endpoint.connect_timeout;
    r.idle_timeout = settings.idle_timeout ? settings.idle_timeout : endpoint.idle_timeout;
    r.total_timeout = settings.total_timeout;
    return r;
}

void require_transport(OpenAIEndpoint const& endpoint, char const* who) {
    if (!endpoint.transport)
        throw UserError(std::string(who) + ": OpenAIEndpoint::transport is not set "
                        "(e.g. std::make_shared<chatkit::http::HttpClient>())");
}

namespace {

// The `ModelHttpError::model_code` of a transport failure.
char const* transport_code(boost::system::error_code const& ec) {
    switch (static_cast<chatkit::error>(ec.value())) {
        case chatkit::error::transport_timeout: return "timeout";
        case chatkit::error::transport_connect_failed:
        case chatkit::error::transport_resolve_failed: return "connection_error";
        case chatkit::error::transport_tls_failed: return "tls_error";
        case chatkit::error::transport_protocol_error: return "protocol_error";
        case chatkit::error::transport_body_too_large: return "body_too_large";
        case chatkit::error::transport_invalid_url: return "invalid_url";
        case chatkit::error::transport_invalid_request: return "invalid_request";
        default: return "connection_closed";
    }
}

}  // namespace

ModelHttpError transport_failure(chatkit::Error const& e) {
    ModelHttpError err(0, e.message(), transport_code(e.code()));
    err.retryable = is_retryable_transport_error(e.code());
    return err;
}

namespace {

// Logs the retry (one warning) and sleeps `wait`.
task<void> wait_before_retry(OpenAIEndpoint const& endpoint, HttpRequest const& request, RetryPolicy const& policy,
                             int attempt, milliseconds wait, std::string const& why) {
    endpoint.logger.log(LogLevel::warning, "request to " + request.url + " failed (" + why + "); retry " +
                                               std::to_string(attempt + 1) + "/" + std::to_string(policy.max_retries) +
                                               " in " + std::to_string(wait.count()) + " ms");
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer timer(executor, wait);
    co_await timer.async_wait(asio::use_awaitable);
}

}  // namespace

task<ModelResponse> stream_with_retries(OpenAIEndpoint const& endpoint, Transport& transport,
                                        RetryPolicy const& policy, HttpRequest const& request,
                                        std::function<std::unique_ptr<StreamConsumer>()> const& make_consumer) {
    for (int attempt = 0;; ++attempt) {
        auto consumer = make_consumer();
        SseDecoder decoder;
        std::string request_id;
        std::optional<milliseconds> wait;  // set when this attempt is to be retried
        std::string why;
        try {
            BodyHandler on_body = [&](std::string_view bytes) -> task<void> {
                std::vector<SseEvent> events;
                try {
                    decoder.feed(bytes, events);
                } catch (SseError const& e) {
                    throw ModelProtocolError(std::string("malformed event stream: ") + e.what());
                }
                for (auto const& ev : events) co_await consumer->on_sse(ev);
            };
            HeadHandler on_head = [&](HttpResponse const& head) {
                request_id = head.header("x-request-id").value_or("");
            };
            HttpRequest req = request;
            auto response = co_await transport.send(std::move(req), on_body, on_head);
            if (response.ok()) {
                std::vector<SseEvent> rest;
                decoder.finish(rest);
                for (auto const& ev : rest) co_await consumer->on_sse(ev);
                auto out = co_await consumer->finish();
                if (!request_id.empty()) out.request_id = request_id;
                if (out.usage.requests == 0) out.usage.requests = 1;
                co_return out;
            }
            auto err = http_error(response, policy);
            if (!err.retryable || attempt >= policy.max_retries) throw err;
            wait = retry_delay(policy, attempt, err.retry_after);
            if (!wait) throw err;
            why = "HTTP " + std::to_string(err.status) + (err.request_id.empty() ? "" : " (request id " + err.request_id + ")");
        } catch (ModelStreamError const& e) {
            // A transient failure before any event reached the consumer may be retried.
            if (e.after_output || consumer->delivered() || e.model_code != "server_error" ||
                attempt >= policy.max_retries)
                throw;
            wait = retry_delay(policy, attempt, std::nullopt);
            why = "stream error " + e.model_code + ": " + e.model_message;
        } catch (chatkit::Error const& e) {
            if (!is_transport_error(e.code())) throw;
            if (consumer->delivered()) throw ModelStreamError(transport_code(e.code()), e.message(), true);
            ModelHttpError err = transport_failure(e);
            err.request_id = request_id;
            if (!err.retryable || attempt >= policy.max_retries) throw err;
            wait = retry_delay(policy, attempt, std::nullopt);
            why = e.message();
        }
        co_await wait_before_retry(endpoint, request, policy, attempt, *wait, why);
    }
}

task<HttpResponse> send_with_retries(OpenAIEndpoint const& endpoint, Transport& transport,
                                      RetryPolicy const& policy, HttpRequest const& request) {
    for (int attempt = 0;; ++attempt) {
        std::optional<milliseconds> wait;
        std::string why;
        try {
            HttpRequest req = request;
            auto response = co_await transport.send(std::move(req));
            if (response.ok()) co_return response;
            auto err = http_error(response, policy);
            if (!err.retryable || attempt >= policy.max_retries) throw err;
            wait = retry_delay(policy, attempt, err.retry_after);
            if (!wait) throw err;
            why = "HTTP " + std::to_string(err.status) + (err.request_id.empty() ? "" : " (request id " + err.request_id + ")");
        } catch (chatkit::Error const& e) {
            if (!is_transport_error(e.code())) throw;
            ModelHttpError err = transport_failure(e);
            if (!err.retryable || attempt >= policy.max_retries) throw err;
            wait = retry_delay(policy, attempt, std::nullopt);
            why = e.message();
        }
        co_await wait_before_retry(endpoint, request, policy, attempt, *wait, why);
    }
}

std::string env(char const* name) {
    char const* v = std::getenv(name);
    return v ? std::string(v) : std::string();
}

void endpoint_from_env(OpenAIEndpoint& endpoint) {
    endpoint.api_key = env("OPENAI_API_KEY");
    if (auto base = env("OPENAI_BASE_URL"); !base.empty()) {
        while (!base.empty() && base.back() == '/') base.pop_back();
        try {
            (void)Url::parse(base);
        } catch (chatkit::Error const&) {
            throw UserError("OPENAI_BASE_URL is not an http(s) URL: " + base);
        }
        endpoint.base_url = base;
    }
}

}  // namespace chatkit::agents::detail
