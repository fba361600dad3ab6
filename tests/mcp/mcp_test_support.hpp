// What the MCP tests share: the peer (tests/mcp/mcp_peer.mjs, the official TypeScript SDK started by
// tests/mcp/run.sh, found through CHATKIT_MCP_PEER) with its control endpoints, run contexts for
// calling an McpServer directly, and Chat Completions transcripts for the mock LLM.
#pragma once

#include <chatkit/agents/mcp.hpp>
#include <chatkit/http/client/http_client.hpp>

#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mcp_test {

namespace asio = boost::asio;
namespace json = boost::json;
namespace agents = chatkit::agents;
using namespace std::chrono_literals;

/// The peer's base URL (`http://127.0.0.1:PORT`). Fails the test when the tests were not started by
/// tests/mcp/run.sh, which says how to install what is missing.
inline std::string peer_url() {
    char const* url = std::getenv("CHATKIT_MCP_PEER");
    if (!url || !*url) FAIL("CHATKIT_MCP_PEER is not set: run these tests through tests/mcp/run.sh (ctest -L mcp)");
    return url;
}

/// Runs `work` to completion on `io` (rethrows its failure).
template <class T>
T run_on(asio::io_context& io, asio::awaitable<T> work) {
    auto future = asio::co_spawn(io, std::move(work), asio::use_future);
    io.restart();
    io.run();
    return future.get();
}

/// The peer's control endpoints, through a real HTTP client.
class Peer {
public:
    Peer() : transport_(std::make_shared<chatkit::http::HttpClient>()), url_(peer_url()) {}

    std::string const& url() const noexcept { return url_; }
    std::shared_ptr<chatkit::Transport> transport() const { return transport_; }

    asio::awaitable<json::value> control(std::string method, std::string path, json::object body = {}) {
        chatkit::HttpRequest request;
        request.method = std::move(method);
        request.url = url_ + path;
        if (request.method == "POST") {
            request.headers.emplace_back("Content-Type", "application/json");
            request.body = json::serialize(body);
        }
        chatkit::HttpResponse response = co_await transport_->send(std::move(request));
        if (!response.ok()) throw std::runtime_error("peer control " + path + ": HTTP " + std::to_string(response.status));
        co_return json::parse(response.body);
    }
    asio::awaitable<json::array> log() {
        std::string const path = "/control/log";
        json::value v = co_await control("GET", path);
        co_return v.as_array();
    }
    asio::awaitable<void> reset() { co_await control("POST", "/control/reset"); }
    asio::awaitable<void> expire_sessions() { co_await control("POST", "/control/expire-sessions"); }
    asio::awaitable<void> barrier(int count) {
        json::object body;
        body["count"] = count;
        co_await control("POST", "/control/barrier", std::move(body));
    }
    asio::awaitable<void> delete_barrier(int count) {
        json::object body;
        body["count"] = count;
        co_await control("POST", "/control/delete-barrier", std::move(body));
    }
    asio::awaitable<void> add_tool(std::string name) {
        json::object body;
        body["name"] = name;
        co_await control("POST", "/control/add-tool", std::move(body));
    }

    /// Polls the log (every 50 ms, at most `timeout`) until `pred` holds for it; returns the last log.
    asio::awaitable<json::array> wait_for(std::function<bool(json::array const&)> pred, std::chrono::milliseconds timeout = 10s) {
        auto const deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            json::array entries = co_await log();
            if (pred(entries) || std::chrono::steady_clock::now() > deadline) co_return entries;
            asio::steady_timer timer(co_await asio::this_coro::executor, 50ms);
            co_await timer.async_wait(asio::use_awaitable);
        }
    }

private:
    std::shared_ptr<chatkit::http::HttpClient> transport_;
    std::string url_;
};

/// Log entries whose `key` equals `value` (strings), optionally also `key2 == value2`.
inline std::vector<json::object> entries(json::array const& log, std::string const& key, std::string const& value,
                                         std::string const& key2 = {}, std::string const& value2 = {}) {
    std::vector<json::object> out;
    for (auto const& v : log) {
        auto const& o = v.as_object();
        auto const* a = o.if_contains(key);
        if (!a || !a->is_string() || a->get_string() != value) continue;
        if (!key2.empty()) {
            auto const* b = o.if_contains(key2);
            if (!b || !b->is_string() || b->get_string() != value2) continue;
        }
        out.push_back(o);
    }
    return out;
}

/// The application context of the tests: who the user is (the peer accepts `token-<user>`).
struct User {
    std::string name = "alice";
};

/// Headers of the user of a run whose context is a `User`.
inline agents::McpHeaderProvider bearer_of_user() {
    return [](agents::RunContextBase const& run) -> asio::awaitable<chatkit::Headers> {
        auto const& user = *static_cast<User const*>(run.user_context());
        chatkit::Headers headers{{"Authorization", "Bearer token-" + user.name}};
        co_return headers;
    };
}

/// A run context and a tool context over `user`, for calling an McpServer directly.
struct Contexts {
    explicit Contexts(User& user, std::string call_id = "call_1")
        : run(&user, &usage, "Assistant", 1), tool(run, "tool", std::move(call_id), std::nullopt, "{}") {}
    agents::Usage usage;
    agents::RunContextBase run;
    agents::ToolContextBase tool;
};

/// Options of the accounts server (/mcp) with the user's bearer token.
inline agents::McpServerOptions accounts_options(Peer const& peer, std::string name = "accounts") {
    agents::McpServerOptions o;
    o.name = std::move(name);
    o.url = peer.url() + "/mcp";
    o.transport = peer.transport();
    o.header_provider = bearer_of_user();
    return o;
}

/// Options of the catalog server (/mcp-paged: JSON answers, pages of two tools).
inline agents::McpServerOptions catalog_options(Peer const& peer) {
    agents::McpServerOptions o = accounts_options(peer, "catalog");
    o.url = peer.url() + "/mcp-paged";
    return o;
}

inline std::vector<std::string> names(std::vector<agents::McpTool> const& tools) {
    std::vector<std::string> out;
    out.reserve(tools.size());
    for (auto const& t : tools) out.push_back(t.name);
    return out;
}

// --- Chat Completions transcripts for the mock LLM ----------------------------------------------------

/// A streamed answer calling `name` with `arguments` (JSON text).
inline std::string chat_tool_call(std::string const& name, std::string const& arguments, std::string const& call_id = "call_1") {
    json::object function{{"name", name}, {"arguments", arguments}};
    json::object call{{"index", 0}, {"id", call_id}, {"type", "function"}, {"function", std::move(function)}};
    json::object delta{{"role", "assistant"}, {"content", nullptr}, {"tool_calls", json::array{std::move(call)}}};
    json::object chunk{{"id", "chatcmpl-mcp"}, {"object", "chat.completion.chunk"}, {"created", 1700000000},
                       {"model", "gpt-4.1-mini"},
                       {"choices", json::array{json::object{{"index", 0}, {"delta", std::move(delta)}, {"finish_reason", nullptr}}}}};
    json::object end{{"id", "chatcmpl-mcp"}, {"object", "chat.completion.chunk"}, {"created", 1700000000},
                     {"model", "gpt-4.1-mini"},
                     {"choices", json::array{json::object{{"index", 0}, {"delta", json::object{}}, {"finish_reason", "tool_calls"}}}}};
    return "data: " + json::serialize(chunk) + "\n\ndata: " + json::serialize(end) + "\n\ndata: [DONE]\n\n";
}

/// A streamed text answer.
inline std::string chat_text(std::string const& text) {
    json::object delta{{"role", "assistant"}, {"content", text}};
    json::object chunk{{"id", "chatcmpl-mcp-text"}, {"object", "chat.completion.chunk"}, {"created", 1700000000},
                       {"model", "gpt-4.1-mini"},
                       {"choices", json::array{json::object{{"index", 0}, {"delta", std::move(delta)}, {"finish_reason", nullptr}}}}};
    json::object end{{"id", "chatcmpl-mcp-text"}, {"object", "chat.completion.chunk"}, {"created", 1700000000},
                     {"model", "gpt-4.1-mini"},
                     {"choices", json::array{json::object{{"index", 0}, {"delta", json::object{}}, {"finish_reason", "stop"}}}}};
    return "data: " + json::serialize(chunk) + "\n\ndata: " + json::serialize(end) + "\n\ndata: [DONE]\n\n";
}

}  // namespace mcp_test
