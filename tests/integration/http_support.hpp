// Support for the HTTP integration tests: a small ChatKit server over InMemoryStore, a fixture that
// runs http::Server on 127.0.0.1:0, a blocking raw-socket client (optionally TLS through OpenSSL)
// with deadlines on every read, and a test certificate generated at run time.
#pragma once

#include <chatkit/http/server.hpp>
#include <chatkit/protocol/json.hpp>
#include <chatkit/server/server.hpp>
#include <chatkit/store/memory_store.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json.hpp>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <any>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

inline std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(steady::now().time_since_epoch()).count();
}

/// Polls `condition` every 2 ms until it holds or `timeout` passed (bounded polling, no sleeps for
/// synchronisation).
inline bool eventually(std::function<bool()> const& condition, std::chrono::milliseconds timeout = 5s) {
    auto const deadline = steady::now() + timeout;
    while (!condition()) {
        if (steady::now() > deadline) return false;
        std::this_thread::sleep_for(2ms);
    }
    return true;
}

/// Runs a coroutine to completion on a private io_context.
template <class T>
T run_sync(asio::awaitable<T> op) {
    asio::io_context ioc;
    auto future = asio::co_spawn(ioc, std::move(op), asio::use_future);
    ioc.run();
    return future.get();
}

// ---------------------------------------------------------------------------------------------
// The ChatKit server under test

struct TestContext {
    std::string user;
    std::string page;
    std::string remote;
};

class TestAttachments final : public chatkit::AttachmentStore<TestContext> {
public:
    asio::awaitable<chatkit::Attachment> create_attachment(chatkit::AttachmentCreateParams const& params,
                                                           TestContext const& ctx) override {
        chatkit::Attachment attachment;
        attachment.id = generate_attachment_id(params.mime_type, ctx);
        attachment.name = params.name;
        attachment.mime_type = params.mime_type;
        attachment.upload_descriptor =
            chatkit::AttachmentUploadDescriptor{"https://uploads.example.com/" + attachment.id, "PUT", {}};
        co_return attachment;
    }
    asio::awaitable<void> delete_attachment(std::string const&, TestContext const&) override { co_return; }
};

/// respond() commands (the user message text):
///   `slow`  an assistant message with text "partial answer" is added, then respond() waits 60 s;
///   `wait`  respond() waits 60 s before emitting anything;
///   `pause` replies "first", waits 300 ms, replies "second";
///   `tool`  a pending client tool call; `ask` a pending structured input;
///   `meta`  replies with what the context factory put in the context;
///   anything else: replies "echo: <text>". Continuations (no input) reply "continued".
class TestServer final : public chatkit::ChatKitServer<TestContext> {
public:
    using ChatKitServer::ChatKitServer;

    std::atomic<int> cancelled{0};
    std::atomic<int> waiting{0};
    std::atomic<std::int64_t> aborted_at_us{0};

protected:
    asio::awaitable<void> respond(chatkit::ThreadMetadata& thread,
                                  std::optional<chatkit::UserMessageItem> const& input,
                                  chatkit::EventSink& events, TestContext& ctx) override {
        if (!input) {
            co_await reply(events, thread, "continued");
            co_return;
        }
        std::string const text = chatkit::text_of(*input);
        if (text == "slow") {
            chatkit::AssistantMessageItem item;
            item.id = events.generate_item_id(chatkit::StoreItemType::message);
            item.thread_id = thread.id;
            item.created_at = chatkit::now();
            chatkit::ThreadStreamEvent added = chatkit::ThreadItemAddedEvent{item};
            co_await events.emit(std::move(added));
            chatkit::ThreadStreamEvent part =
                chatkit::ThreadItemUpdatedEvent{item.id, chatkit::AssistantMessageContentPartAdded{0, {}}};
            co_await events.emit(std::move(part));
            chatkit::ThreadStreamEvent delta = chatkit::ThreadItemUpdatedEvent{
                item.id, chatkit::AssistantMessageContentPartTextDelta{0, "partial answer"}};
            co_await events.emit(std::move(delta));
            co_await long_wait();
            co_return;
        }
        if (text == "wait") {
            co_await long_wait();
            co_return;
        }
        if (text == "pause") {
            co_await reply(events, thread, "first");
            auto const executor = co_await asio::this_coro::executor;
            asio::steady_timer timer(executor, 300ms);
            co_await timer.async_wait(asio::use_awaitable);
            co_await reply(events, thread, "second");
            co_return;
        }
        if (text == "tool") {
            chatkit::ClientToolCallItem call;
            call.id = events.generate_item_id(chatkit::StoreItemType::tool_call);
            call.thread_id = thread.id;
            call.created_at = chatkit::now();
            call.call_id = "call_1";
            call.name = "get_weather";
            call.arguments["city"] = "Paris";
            chatkit::ThreadStreamEvent done = chatkit::ThreadItemDoneEvent{std::move(call)};
            co_await events.emit(std::move(done));
            co_return;
        }
        if (text == "ask") {
            chatkit::StructuredInputItem item;
            item.id = events.generate_item_id(chatkit::StoreItemType::message);
            item.thread_id = thread.id;
            item.created_at = chatkit::now();
            item.inputs.push_back(
                chatkit::StructuredInputFreeform{"q1", "Your name?", std::nullopt, std::nullopt});
            chatkit::ThreadStreamEvent done = chatkit::ThreadItemDoneEvent{std::move(item)};
            co_await events.emit(std::move(done));
            co_return;
        }
        if (text == "meta") {
            std::string const answer = "user=" + ctx.user + " page=" + ctx.page +
                                       " remote=" + (ctx.remote.rfind("127.0.0.1:", 0) == 0 ? "yes" : "no");
            co_await reply(events, thread, answer);
            co_return;
        }
        std::string const answer = "echo: " + text;
        co_await reply(events, thread, answer);
    }

    asio::awaitable<void> action(chatkit::ThreadMetadata& thread, chatkit::Action const& action,
                                 std::optional<chatkit::WidgetItem> const&, chatkit::EventSink& events,
                                 TestContext&) override {
        std::string const answer = "action: " + action.type;
        co_await reply(events, thread, answer);
    }

    asio::awaitable<chatkit::SyncCustomActionResponse> sync_action(chatkit::ThreadMetadata&,
                                                                   chatkit::Action const&,
                                                                   std::optional<chatkit::WidgetItem> const&,
                                                                   TestContext&) override {
        co_return chatkit::SyncCustomActionResponse{};
    }

    asio::awaitable<chatkit::TranscriptionResult> transcribe(chatkit::AudioInput const& audio,
                                                             TestContext&) override {
        co_return chatkit::TranscriptionResult{"heard " + audio.data + " as " + audio.media_type()};
    }

    asio::awaitable<void> handle_stream_cancelled(chatkit::ThreadMetadata& thread,
                                                  std::vector<chatkit::ThreadItem> const& pending,
                                                  TestContext& ctx) override {
        co_await ChatKitServer::handle_stream_cancelled(thread, pending, ctx);
        ++cancelled;
    }

private:
    static asio::awaitable<void> reply(chatkit::EventSink& events, chatkit::ThreadMetadata const& thread,
                                       std::string_view text) {
        chatkit::AssistantMessageItem item;
        item.id = events.generate_item_id(chatkit::StoreItemType::message);
        item.thread_id = thread.id;
        item.created_at = chatkit::now();
        item.content.push_back(chatkit::AssistantMessageContent{{}, std::string(text)});
        chatkit::ThreadStreamEvent done = chatkit::ThreadItemDoneEvent{std::move(item)};
        co_await events.emit(std::move(done));
    }

    asio::awaitable<void> long_wait() {
        auto const executor = co_await asio::this_coro::executor;
        asio::steady_timer timer(executor, 60s);
        ++waiting;
        auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (ec) {
            aborted_at_us = now_us();
            throw boost::system::system_error(ec);
        }
    }
};

/// The context factory of the tests: `X-Reject` → 401 (a ChallengeError with its own challenge),
/// `X-Forbid` → 403 (chatkit::Error), `X-Error-Code: N` → `chatkit::Error(error(N), "test: N")`;
/// otherwise the user comes from the header check's answer, else the `session` cookie, and the page
/// from the body's metadata.
inline TestContext make_context(chatkit::http::RequestInfo const& info) {
    if (!info.header("X-Reject").empty())
        throw chatkit::http::ChallengeError(chatkit::error::unauthorized, "Missing credentials", "Bearer realm=\"chatkit\"");
    if (!info.header("X-Forbid").empty()) chatkit::throw_error(chatkit::error::forbidden, "Not allowed");
    if (auto const code = info.header("X-Error-Code"); !code.empty())
        throw chatkit::Error(static_cast<chatkit::error>(std::stoi(std::string(code))), "test: " + std::string(code));
    TestContext ctx;
    ctx.user = std::string(info.cookie("session").value_or("anonymous"));
    // A header check (ServerOptions::header_check) that returned a user name decides the user.
    if (auto const* checked = info.admission ? std::any_cast<std::string>(info.admission) : nullptr) ctx.user = *checked;
    if (info.request) {
        auto const* page = info.request->metadata.if_contains("page");
        if (page && page->is_string()) ctx.page = std::string(page->as_string());
    }
    ctx.remote = info.remote_endpoint;
    return ctx;
}

/// `ServerOptions` for a test server on 127.0.0.1:0 that prints no listening line (the test
/// program owns stdout). CHATKIT_TEST_SERVER_THREADS=N runs its io_context on N threads (the TSan
/// phase of scripts/test.sh uses 4, so connections really run concurrently); every http::Server the
/// integration tests start takes its options from here.
inline chatkit::http::ServerOptions test_server_options() {
    chatkit::http::ServerOptions options;
    options.port = 0;
    options.announce = false;
    if (char const* threads = std::getenv("CHATKIT_TEST_SERVER_THREADS"))
        options.threads = static_cast<unsigned>(std::max(1, std::atoi(threads)));
    return options;
}

/// A TestServer behind http::Server on 127.0.0.1:0, run by a background thread.
struct Fixture {
    explicit Fixture(std::function<void(chatkit::http::ServerOptions&)> const& configure = {}) {
        options.shutdown_grace = 2s;
        if (configure) configure(options);
        server = std::make_unique<chatkit::http::Server<TestContext>>(chatkit_server, options, make_context);
        server->start();
        runner = std::thread([this] { server->run(); });
    }
    ~Fixture() { stop(); }
    Fixture(Fixture const&) = delete;
    Fixture& operator=(Fixture const&) = delete;

    void stop() {
        if (!runner.joinable()) return;
        server->stop();
        runner.join();
    }

    std::uint16_t port() const { return server->port(); }

    std::vector<std::string> error_log() {
        std::lock_guard lock(log_mutex);
        return errors;
    }

    /// The items of a thread as the store has them (hidden ones included), oldest first.
    std::vector<chatkit::ThreadItem> stored_items(std::string const& thread_id) {
        TestContext ctx;
        std::optional<std::string> no_cursor;
        auto page = run_sync(store.load_thread_items(thread_id, no_cursor, 100, chatkit::Order::asc, ctx));
        return page.data;
    }

    /// Errors are collected (tests assert there are none); CHATKIT_TEST_LOG=1 echoes every line.
    chatkit::Logger collecting_logger() {
        bool const echo = std::getenv("CHATKIT_TEST_LOG") != nullptr;
        auto sink = [this, echo](chatkit::LogLevel level, std::string_view message) {
            if (echo)
                std::fprintf(stderr, "[log %d] %.*s\n", static_cast<int>(level),
                             static_cast<int>(message.size()), message.data());
            std::lock_guard lock(log_mutex);
            if (level == chatkit::LogLevel::error) errors.emplace_back(message);
        };
        return chatkit::Logger{echo ? chatkit::LogLevel::debug : chatkit::LogLevel::warning, sink};
    }

    std::mutex log_mutex;
    std::vector<std::string> errors;
    chatkit::InMemoryStore<TestContext> store;
    TestAttachments attachments;
    TestServer chatkit_server{{.store = store, .attachments = &attachments, .logger = collecting_logger()}};
    chatkit::http::ServerOptions options = test_server_options();
    std::unique_ptr<chatkit::http::Server<TestContext>> server;
    std::thread runner;
};

// ---------------------------------------------------------------------------------------------
// Request bodies

inline json::object user_input(std::string_view text) {
    json::object content;
    content["type"] = "input_text";
    content["text"] = text;
    json::object input;
    input["content"] = json::array{content};
    input["attachments"] = json::array();
    input["inference_options"] = json::object();
    return input;
}

inline std::string request_body(std::string_view type, json::object params, json::object metadata = {}) {
    json::object body;
    body["type"] = type;
    body["params"] = std::move(params);
    if (!metadata.empty()) body["metadata"] = std::move(metadata);
    return json::serialize(body);
}

inline std::string create_body(std::string_view text) {
    json::object params;
    params["input"] = user_input(text);
    return request_body("threads.create", std::move(params));
}

inline std::string post_request(std::string_view path, std::string_view body,
                                std::string_view extra_headers = {}, bool close = false) {
    std::string out = "POST " + std::string(path) +
                      " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n";
    out += extra_headers;
    if (close) out += "Connection: close\r\n";
    out += "\r\n";
    out += body;
    return out;
}

inline std::string get_request(std::string_view target, std::string_view method = "GET",
                               std::string_view extra_headers = {}) {
    return std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
           std::string(extra_headers) + "\r\n";
}

// ---------------------------------------------------------------------------------------------
// A blocking client on raw sockets (optionally TLS), every read bounded by a deadline

struct Response {
    unsigned status = 0;
    bhttp::fields headers;
    std::string body;
    std::vector<std::string> chunks;  // chunk payloads, in order (chunked responses)
    bool keep_alive = false;
    bool chunked = false;

    std::string header(std::string_view name) const {
        auto const it = headers.find(name);
        return it == headers.end() ? std::string() : std::string(it->value());
    }
    bool has_header(std::string_view name) const { return headers.find(name) != headers.end(); }
    json::value json() const { return json::parse(body); }
};

/// The SSE frames of a response body, in order, each with its closing blank line (`data: ...\n\n`,
/// `: keepalive\n\n`). How the frames were cut into HTTP chunks does not matter (the server writes
/// a burst of events as one chunk); a body that does not end on a frame boundary throws.
inline std::vector<std::string> frames_of(std::string_view body) {
    std::vector<std::string> frames;
    std::size_t start = 0;
    while (start < body.size()) {
        auto const end = body.find("\n\n", start);
        if (end == std::string_view::npos) throw std::runtime_error("unterminated SSE frame: " + std::string(body.substr(start)));
        frames.emplace_back(body.substr(start, end + 2 - start));
        start = end + 2;
    }
    return frames;
}

/// The events of an SSE response (comment frames such as heartbeats skipped); fails on frames that
/// are neither `data: <json>\n\n` nor a comment.
inline std::vector<json::value> events_of(Response const& response) {
    std::vector<json::value> events;
    for (auto const& frame : frames_of(response.body)) {
        if (frame.rfind(":", 0) == 0) continue;
        if (frame.rfind("data: ", 0) != 0 || frame.size() < 8)
            throw std::runtime_error("not an SSE data frame: " + frame);
        events.push_back(json::parse(frame.substr(6, frame.size() - 8)));
    }
    return events;
}

inline std::vector<std::string> event_types(std::vector<json::value> const& events) {
    std::vector<std::string> types;
    for (auto const& e : events)
        types.emplace_back(e.at("type").as_string());
    return types;
}

class Conn {
public:
    explicit Conn(std::uint16_t port, SSL_CTX* tls = nullptr) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd_ < 0) throw std::runtime_error("socket() failed");
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
            ::close(fd_);
            throw std::runtime_error("connect() failed");
        }
        if (tls) {
            ssl_ = SSL_new(tls);
            SSL_set_fd(ssl_, fd_);
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), "127.0.0.1");
            if (SSL_connect(ssl_) != 1) {
                SSL_free(ssl_);
                ::close(fd_);
                throw std::runtime_error("TLS handshake failed");
            }
        }
    }
    ~Conn() { close(); }
    Conn(Conn const&) = delete;
    Conn& operator=(Conn const&) = delete;

    void send(std::string_view data) {
        while (!data.empty()) {
            long n = ssl_ ? SSL_write(ssl_, data.data(), static_cast<int>(data.size()))
                          : ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
            if (n <= 0) throw std::runtime_error("send failed");
            data.remove_prefix(static_cast<std::size_t>(n));
        }
    }

    /// Reads more bytes into the pending input: >0 bytes read, 0 closed (or reset), -1 timeout.
    long fill(std::chrono::milliseconds timeout) {
        char buffer[16384];
        long n = 0;
        if (!(ssl_ && SSL_pending(ssl_) > 0)) {
            pollfd p{fd_, POLLIN, 0};
            int const ready = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(timeout.count(), 0)));
            if (ready <= 0) return -1;
        }
        if (ssl_)
            n = SSL_read(ssl_, buffer, sizeof buffer);
        else
            n = ::recv(fd_, buffer, sizeof buffer, 0);
        if (n <= 0) return 0;
        pending_.append(buffer, static_cast<std::size_t>(n));
        raw_.append(buffer, static_cast<std::size_t>(n));
        return n;
    }

    /// Reads until `needle` appeared in everything received so far.
    bool read_until(std::string_view needle, std::chrono::milliseconds timeout = 5s) {
        auto const deadline = steady::now() + timeout;
        while (raw_.find(needle) == std::string::npos) {
            auto const left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
            if (left.count() <= 0 || fill(left) <= 0) return false;
        }
        return true;
    }

    /// Reads one complete response (throws on timeout or malformed data).
    Response read_response(bool head_request = false, std::chrono::milliseconds timeout = 10s) {
        bhttp::response_parser<bhttp::string_body> parser;
        parser.eager(true);
        parser.skip(head_request);
        parser.body_limit(std::uint64_t{1} << 32);
        Response out;
        // Beast takes the callbacks by reference: they must outlive the parser's use of them.
        auto on_header = [&out](std::uint64_t, beast::string_view, beast::error_code&) {
            out.chunks.emplace_back();
        };
        auto on_body = [&out](std::uint64_t, beast::string_view data, beast::error_code&) -> std::size_t {
            out.chunks.back().append(data.data(), data.size());
            out.body.append(data.data(), data.size());
            return data.size();
        };
        parser.on_chunk_header(on_header);
        parser.on_chunk_body(on_body);
        auto const deadline = steady::now() + timeout;
        for (;;) {
            if (!pending_.empty()) {
                beast::error_code ec;
                auto const used = parser.put(asio::buffer(pending_), ec);
                pending_.erase(0, used);
                if (ec && ec != bhttp::error::need_more)
                    throw std::runtime_error("bad response: " + ec.message());
                if (parser.is_done()) break;
                if (used > 0 && !ec) continue;
            }
            auto const left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
            if (left.count() <= 0) throw std::runtime_error("timeout while reading a response");
            long const n = fill(left);
            if (n < 0) throw std::runtime_error("timeout while reading a response");
            if (n == 0) {
                beast::error_code ec;
                parser.put_eof(ec);
                if (ec) throw std::runtime_error("connection closed mid-response: " + ec.message());
                break;
            }
        }
        auto const& message = parser.get();
        out.status = message.result_int();
        out.headers = static_cast<bhttp::fields const&>(message);
        out.keep_alive = message.keep_alive();
        out.chunked = parser.chunked();
        if (!out.chunked) out.body = message.body();
        std::erase_if(out.chunks, [](std::string const& c) { return c.empty(); });  // the last chunk
        return out;
    }

    /// Half-closes: the server reads end-of-file, this side can still read.
    void shutdown_send() { ::shutdown(fd_, SHUT_WR); }

    /// True when the server closes the connection within `timeout`; what it sent meanwhile is in
    /// `*received` (when given).
    bool wait_closed(std::chrono::milliseconds timeout = 3s, std::string* received = nullptr) {
        auto const deadline = steady::now() + timeout;
        std::size_t const mark = raw_.size();
        for (;;) {
            auto const left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
            if (left.count() <= 0) return false;
            long const n = fill(left);
            if (n < 0) return false;
            if (n == 0) {
                if (received) *received = raw_.substr(mark) + pending_;
                return true;
            }
        }
    }

    std::string const& raw() const noexcept { return raw_; }

    void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

    void close() {
        if (ssl_) {
            SSL_free(ssl_);
            ssl_ = nullptr;
        }
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }

private:
    int fd_ = -1;
    SSL* ssl_ = nullptr;
    std::string pending_;
    std::string raw_;
};

/// Sends one request on a new connection and reads the answer.
inline Response exchange(std::uint16_t port, std::string_view request, bool head_request = false,
                         SSL_CTX* tls = nullptr) {
    Conn conn(port, tls);
    conn.send(request);
    return conn.read_response(head_request);
}

inline Response post(std::uint16_t port, std::string_view body, std::string_view extra_headers = {},
                     SSL_CTX* tls = nullptr) {
    auto const request = post_request("/chatkit", body, extra_headers, true);
    return exchange(port, request, false, tls);
}

// ---------------------------------------------------------------------------------------------
// Temporary files and a self-signed certificate for 127.0.0.1

struct TempDir {
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "chatkit-http-XXXXXX").string();
        if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        path = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    TempDir(TempDir const&) = delete;
    TempDir& operator=(TempDir const&) = delete;

    void write(std::filesystem::path const& relative, std::string_view content) const {
        auto const file = path / relative;
        std::filesystem::create_directories(file.parent_path());
        std::ofstream out(file, std::ios::binary);
        out << content;
    }

    std::filesystem::path path;
};

/// A P-256 key and a self-signed certificate with subjectAltName IP:127.0.0.1, as PEM files.
struct TestCertificate {
    TempDir dir;
    std::filesystem::path cert_file = dir.path / "cert.pem";
    std::filesystem::path key_file = dir.path / "key.pem";

    TestCertificate() {
        std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
        std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
        if (!key || !cert) throw std::runtime_error("OpenSSL key/certificate allocation failed");
        X509_set_version(cert.get(), 2);
        ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
        X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
        X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
        X509_set_pubkey(cert.get(), key.get());
        X509_NAME* name = X509_get_subject_name(cert.get());
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<unsigned char const*>("127.0.0.1"), -1, -1, 0);
        X509_set_issuer_name(cert.get(), name);
        X509V3_CTX ctx;
        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
        X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
        if (!san) throw std::runtime_error("subjectAltName extension failed");
        X509_add_ext(cert.get(), san, -1);
        X509_EXTENSION_free(san);
        if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) throw std::runtime_error("X509_sign failed");

        FILE* out = std::fopen(cert_file.c_str(), "w");
        PEM_write_X509(out, cert.get());
        std::fclose(out);
        out = std::fopen(key_file.c_str(), "w");
        PEM_write_PrivateKey(out, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
        std::fclose(out);
    }

    /// A client context trusting only this certificate (peer verification on).
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> client_context() const {
        std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
        SSL_CTX_load_verify_locations(ctx.get(), cert_file.c_str(), nullptr);
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
        return ctx;
    }
};

}  // namespace test
