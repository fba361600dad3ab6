// The MCP client against the official TypeScript SDK over Streamable HTTP on loopback: sessions per
// credentials, SSE and JSON answers, pagination, filters, expiry, resumption, list changes, limits,
// and every kind of failure as an McpError.
#include "mcp/mcp_test_support.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>

#include <set>

using namespace mcp_test;
using agents::McpError;

namespace {

/// The text of a tool output.
std::string text_of(agents::ToolOutput const& out) { return out.to_model_string(); }

/// A one-member arguments object (built outside co_await expressions, see docs/coroutines.md).
json::object args(std::string const& key, json::value value) {
    json::object o;
    o[key] = std::move(value);
    return o;
}

/// Awaits `call` and returns the McpError it threw, or nothing when it threw none.
template <class T>
asio::awaitable<std::optional<McpError>> mcp_error_of(asio::awaitable<T> call) {
    std::optional<McpError> error;
    try {
        co_await std::move(call);
    } catch (McpError const& e) {
        error = e;
    }
    co_return error;
}

bool has(std::vector<std::string> const& v, std::string const& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

}  // namespace

TEST_CASE("mcp: tools are listed and called with the request's bearer token; one session per user, reused",
          "[mcp][client]") {
    asio::io_context io;
    Peer peer;
    run_on(io, [&]() -> asio::awaitable<void> {
        co_await peer.reset();
        auto server = agents::McpServer::create(accounts_options(peer));
        User alice{"alice"};
        Contexts a(alice);
        std::vector<agents::McpTool> tools = co_await server->list_tools(a.run);
        auto const listed = names(tools);
        CHECK(has(listed, "whoami"));
        CHECK(has(listed, "lookup_orders"));
        CHECK(has(listed, "slow"));
        agents::ToolOutput out = co_await server->call_tool(a.tool, "whoami", json::object());
        CHECK(text_of(out) == "You are alice.");
        agents::ToolOutput again = co_await server->call_tool(a.tool, "whoami", json::object());
        CHECK(text_of(again) == "You are alice.");
        CHECK(server->session_count() == 1);

        json::array log = co_await peer.log();
        auto const inits = entries(log, "rpc", "initialize");
        REQUIRE(inits.size() == 1);  // one session for three operations
        CHECK(inits[0].at("params").at("protocolVersion") == "2025-11-25");
        CHECK(inits[0].at("protocolVersion").is_null());  // no version header before negotiation
        auto const calls = entries(log, "rpc", "tools/call");
        REQUIRE(calls.size() == 2);
        for (auto const& c : calls) {
            CHECK(c.at("protocolVersion") == "2025-11-25");
            CHECK(c.at("session") == entries(log, "event", "session").at(0).at("session"));
            CHECK(c.at("user") == "alice");
            CHECK(c.at("accept") == "application/json, text/event-stream");
        }
        CHECK(entries(log, "rpc", "notifications/initialized").size() == 1);
        co_await server->close();
        json::array after = co_await peer.log();
        CHECK(entries(after, "event", "delete").size() == 1);  // DELETE on close
        CHECK(server->session_count() == 0);
    }());
}

TEST_CASE("mcp: two users at once get two sessions, each call carrying its own token", "[mcp][client]") {
    asio::io_context io;
    Peer peer;
    run_on(io, [&]() -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        co_await peer.reset();
        co_await peer.barrier(2);  // both whoami calls are running before either answers
        auto server = agents::McpServer::create(accounts_options(peer));
        User alice{"alice"}, bob{"bob"};
        Contexts a(alice), b(bob);
        auto [ra, rb] = co_await (server->call_tool(a.tool, "whoami", json::object()) && server->call_tool(b.tool, "whoami", json::object()));
        CHECK(text_of(ra) == "You are alice.");
        CHECK(text_of(rb) == "You are bob.");
        CHECK(server->session_count() == 2);
        json::array log = co_await peer.log();
        auto const sessions = entries(log, "event", "session");
        REQUIRE(sessions.size() == 2);
        CHECK(sessions[0].at("user") != sessions[1].at("user"));
        CHECK(entries(log, "event", "foreign-token").empty());  // no request used another user's session
        co_await server->close();
    }());
}

TEST_CASE("mcp: close() deletes every user's session at the same time, so a slow server costs one wait",
          "[mcp][client]") {
    asio::io_context io;
    Peer peer;
    run_on(io, [&]() -> asio::awaitable<void> {
        co_await peer.reset();
        auto options = accounts_options(peer);
        options.timeouts.request = std::chrono::seconds(5);
        auto server = agents::McpServer::create(options);
        User alice{"alice"}, bob{"bob"}, carol{"carol"};
        Contexts a(alice), b(bob), c(carol);
        co_await server->list_tools(a.run);
        co_await server->list_tools(b.run);
        co_await server->list_tools(c.run);
        CHECK(server->session_count() == 3);
        // The peer answers no DELETE until all three are waiting: deleting one after the other
        // would leave the first waiting until its timeout.
        co_await peer.delete_barrier(3);
        co_await server->close();
        CHECK(server->session_count() == 0);
        json::array log = co_await peer.log();
        auto const deletes = entries(log, "event", "delete");
        REQUIRE(deletes.size() == 3);
        std::set<std::string> users;
        for (auto const& d : deletes) users.insert(std::string(d.at("user").as_string()));
        CHECK(users == std::set<std::string>{"alice", "bob", "carol"});
        auto const released = entries(log, "event", "delete-released");
        REQUIRE(released.size() == 1);
        CHECK(released[0].at("together") == true);
    }());
}

TEST_CASE("mcp: JSON answers, tools/list followed page by page, bounded by max_tool_pages; filters", "[mcp][client]") {
    asio::io_context io;
    Peer peer;
    run_on(io, [&]() -> asio::awaitable<void> {
        co_await peer.reset();
        User alice;
        Contexts a(alice);
        auto server = agents::McpServer::create(catalog_options(peer));
        auto tools = co_await server->list_tools(a.run);
        CHECK(names(tools) == std::vector<std::string>{"whoami", "echo", "alpha", "beta", "rpc_fail"});
        json::array log = co_await peer.log();
        auto const pages = entries(log, "event", "list");
        REQUIRE(pages.size() == 3);
        CHECK(pages[0].at("cursor").is_null());
        CHECK(pages[1].at("cursor") == "page-2");
        CHECK(pages[2].at("cursor") == "page-4");
        agents::ToolOutput echo = co_await server->call_tool(a.tool, "echo", args("text", "hi"));
        CHECK(text_of(echo) == "echo: hi");
        co_await server->close();

        auto options = catalog_options(peer);
        options.limits.max_tool_pages = 2;
        options.filter.deny = {"echo"};
        auto bounded = agents::McpServer::create(options);
        auto some = co_await bounded->list_tools(a.run);
        CHECK(names(some) == std::vector<std::string>{"whoami", "alpha", "beta"});
        co_await bounded->close();

        options = catalog_options(peer);
        options.filter.allow = {"beta", "whoami"};
        auto allowed = agents::McpServer::create(options);
        auto few = co_await allowed->list_tools(a.run);
        CHECK(names(few) == std::vector<std::string>{"whoami", "beta"});
        co_await allowed->close();
    }());
}

TEST_CASE("mcp: a session the server expired (404) is initialised again and the call succeeds", "[mcp][client]") {
    asio::io_context io;
    Peer peer;
    run_on(io, [&]() -> asio::awaitable<void> {
        co_await peer.reset();
        auto server = agents::McpServer::create(accounts_options(peer));
        User alice;
        Contexts a(alice);
        agents::ToolOutput first = co_await server->call_tool(a.tool, "whoami", json::object());
        CHECK(text_of(first) == "You are alice.");
        co_await peer.expire_sessions();
        agents::ToolOutput second = co_await server->call_tool(a.tool, "whoami", json::object());
        CHECK(text_of(second) == "You are alice.");
        json::array log = co_await peer.log();
        auto const sessions = entries(log, "event", "session");
        REQUIRE(sessions.size() == 2);
        CHECK(sessions[0].at("session") != sessions[1].at("session"));
        CHECK(entries(log, "rpc", "tools/call").size() == 3);  // the one answered 404, then the retry
        CHECK(server->session_count() == 1);
        co_await server->close();
    }());
}

TEST_CASE("mcp: an answer whose SSE stream the server closes early is resumed with Last-Event-ID", "[mcp][client]") {
    asio::io_context io;
    Peer peer;
    run_on(io, [&]() -> asio::awaitable<void> {
        co_await peer.reset();
        auto server = agents::McpServer::create(accounts_options(peer));
        User bob{"bob"};
        Contexts b(bob);
        agents::ToolOutput out = co_await server->call_tool(b.tool, "poll", json::object());
        CHECK(text_of(out) == "polled by bob");
        json::array log = co_await peer.log();
        bool resumed = false;
        for (auto const& e : entries(log, "method", "GET"))
            if (e.at("lastEventId").is_string() && e.at("user") == "bob") resumed = true;
        CHECK(resumed);
        co_await server->close();
    }());
}

TEST_CASE("mcp: protocol revision 2025-06-18 is negotiated when offered", "[mcp][client]") {
    asio::io_context io;
    Peer peer;
    run_on(io, [&]() -> asio::awaitable<void> {
        co_await peer.reset();
        auto options = accounts_options(peer);
        options.protocol_version = "2025-06-18";
        auto server = agents::McpServer::create(options);
        User alice;
        Contexts a(alice);
        agents::ToolOutput out = co_await server->call_tool(a.tool, "whoami", json::object());
        CHECK(text_of(out) == "You are alice.");
        json::array log = co_await peer.log();
        auto const calls = entries(log, "rpc", "tools/call");
        REQUIRE(calls.size() == 1);
        CHECK(calls[0].at("protocolVersion") == "2025-06-18");
        co_await server->close();
    }());
}

TEST_CASE("mcp: results become tool outputs: images described, structured content, output cut at the limit",
          "[mcp][client]") {
    asio::io_context io;
    Peer peer;
    run_on(io, [&]() -> asio::awaitable<void> {
        co_await peer.reset();
        auto options = accounts_options(peer);
        options.limits.max_output_bytes = 16;
        auto server = agents::McpServer::create(options);
        auto unbounded = agents::McpServer::create(accounts_options(peer));
        User alice;
        Contexts a(alice);
        agents::ToolOutput picture = co_await unbounded->call_tool(a.tool, "picture", json::object());
        CHECK(text_of(picture) == "A tiny picture.\n[image: image/png, 69 bytes, not shown]");
        agents::ToolOutput profile = co_await unbounded->call_tool(a.tool, "profile", json::object());
        CHECK(json::parse(text_of(profile)) == json::parse(R"({"name":"alice","plan":"pro"})"));
        agents::ToolOutput cut = co_await server->call_tool(a.tool, "picture", json::object());
        CHECK(text_of(cut).starts_with("A tiny picture.\n"));
        CHECK(text_of(cut).find("[output cut: the tool returned 55 bytes]") != std::string::npos);
        co_await server->close();
        co_await unbounded->close();
    }());
}

TEST_CASE("mcp: failures are McpErrors naming the server, never a header value", "[mcp][client]") {
    asio::io_context io;
    Peer peer;
    run_on(io, [&]() -> asio::awaitable<void> {
        co_await peer.reset();
        User alice;
        Contexts a(alice);

        auto accounts = agents::McpServer::create(accounts_options(peer));
        std::optional<McpError> tool_error = co_await mcp_error_of(accounts->call_tool(a.tool, "fail", json::object()));
        REQUIRE(tool_error);
        CHECK(tool_error->kind == McpError::Kind::tool);
        CHECK(std::string(tool_error->what()) == "the ledger is closed for maintenance");

        auto catalog = agents::McpServer::create(catalog_options(peer));
        std::optional<McpError> rpc_error = co_await mcp_error_of(catalog->call_tool(a.tool, "rpc_fail", json::object()));
        REQUIRE(rpc_error);
        CHECK(rpc_error->kind == McpError::Kind::rpc);
        CHECK(rpc_error->rpc_code == -32603);
        CHECK(std::string(rpc_error->what()) == "MCP server catalog answered with error -32603: MCP error -32603: catalog backend unavailable");

        auto broken_options = accounts_options(peer, "broken");
        broken_options.url = peer.url() + "/broken";
        auto broken = agents::McpServer::create(broken_options);
        std::optional<McpError> http_error = co_await mcp_error_of(broken->list_tools(a.run));
        REQUIRE(http_error);
        CHECK(http_error->kind == McpError::Kind::http);
        CHECK(http_error->http_status == 500);
        CHECK(std::string(http_error->what()) == "MCP server broken answered HTTP 500 to initialize");

        auto refused_options = accounts_options(peer, "refused");
        refused_options.url = "http://127.0.0.1:9/mcp";  // discard port: nothing listens
        auto refused = agents::McpServer::create(refused_options);
        std::optional<McpError> transport_error = co_await mcp_error_of(refused->call_tool(a.tool, "whoami", json::object()));
        REQUIRE(transport_error);
        CHECK(transport_error->kind == McpError::Kind::transport);
        CHECK(std::string(transport_error->what()) == "MCP server refused could not be reached (connection failed)");

        auto no_token_options = accounts_options(peer, "anonymous");
        no_token_options.header_provider = {};
        auto anonymous = agents::McpServer::create(no_token_options);
        std::optional<McpError> refused_credentials = co_await mcp_error_of(anonymous->list_tools(a.run));
        REQUIRE(refused_credentials);
        CHECK(refused_credentials->http_status == 401);
        CHECK(std::string(refused_credentials->what()) == "MCP server anonymous refused the credentials of this request (HTTP 401)");

        auto reserved_options = accounts_options(peer, "reserved");
        reserved_options.header_provider = [](agents::RunContextBase const&) -> asio::awaitable<chatkit::Headers> {
            chatkit::Headers headers{{"Mcp-Session-Id", "stolen"}};
            co_return headers;
        };
        auto reserved = agents::McpServer::create(reserved_options);
        std::optional<McpError> config_error = co_await mcp_error_of(reserved->list_tools(a.run));
        REQUIRE(config_error);
        CHECK(config_error->kind == McpError::Kind::config);
        auto injected_options = accounts_options(peer, "injected");
        injected_options.header_provider = [](agents::RunContextBase const&) -> asio::awaitable<chatkit::Headers> {
            chatkit::Headers headers{{"Authorization", "Bearer token-alice\r\nX-Evil: 1"}};
            co_return headers;
        };
        auto injected = agents::McpServer::create(injected_options);
        std::optional<McpError> injected_error = co_await mcp_error_of(injected->list_tools(a.run));
        REQUIRE(injected_error);
        CHECK(std::string(injected_error->what()).find("token") == std::string::npos);  // the value is never echoed
        co_await accounts->close();
        co_await catalog->close();
    }());
}

TEST_CASE("mcp: a tool call past its timeout fails and the server is told to cancel it", "[mcp][client][cancel]") {
    asio::io_context io;
    Peer peer;
    run_on(io, [&]() -> asio::awaitable<void> {
        co_await peer.reset();
        auto options = accounts_options(peer);
        options.timeouts.tool_call = 500ms;
        auto server = agents::McpServer::create(options);
        User alice;
        Contexts a(alice);
        std::optional<McpError> timeout = co_await mcp_error_of(server->call_tool(a.tool, "slow", args("seconds", 20)));
        REQUIRE(timeout);
        CHECK(timeout->kind == McpError::Kind::timeout);
        CHECK(std::string(timeout->what()) == "MCP server accounts did not answer tools/call within 500 ms");
        json::array log = co_await peer.wait_for([](json::array const& l) { return !entries(l, "event", "tool-cancelled").empty(); });
        auto const cancelled = entries(log, "rpc", "notifications/cancelled");
        REQUIRE(cancelled.size() == 1);
        auto const call = entries(log, "rpc", "tools/call");
        REQUIRE(call.size() == 1);
        CHECK(cancelled[0].at("params").at("requestId") == call[0].at("id"));
        CHECK(entries(log, "event", "tool-cancelled").size() == 1);
        co_await server->close();
    }());
}

TEST_CASE("mcp: cancelling the awaiting coroutine abandons the call and sends notifications/cancelled",
          "[mcp][client][cancel]") {
    asio::io_context io;
    Peer peer;
    run_on(io, [&]() -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        co_await peer.reset();
        auto server = agents::McpServer::create(accounts_options(peer));
        User alice;
        Contexts a(alice);
        asio::steady_timer give_up(co_await asio::this_coro::executor, 700ms);
        auto outcome = co_await (server->call_tool(a.tool, "slow", args("seconds", 20)) ||
                                 give_up.async_wait(asio::use_awaitable));
        CHECK(outcome.index() == 1);  // the timer won; the call was cancelled
        json::array log = co_await peer.wait_for([](json::array const& l) { return !entries(l, "event", "tool-cancelled").empty(); });
        auto const cancelled = entries(log, "rpc", "notifications/cancelled");
        REQUIRE(cancelled.size() == 1);
        CHECK(cancelled[0].at("params").at("requestId") == entries(log, "rpc", "tools/call").at(0).at("id"));
        CHECK(cancelled[0].at("user") == "alice");
        co_await server->close();
    }());
}

TEST_CASE("mcp: tool lists are cached per session and refreshed on notifications/tools/list_changed",
          "[mcp][client]") {
    asio::io_context io;
    Peer peer;
    run_on(io, [&]() -> asio::awaitable<void> {
        co_await peer.reset();
        auto server = agents::McpServer::create(accounts_options(peer));
        User alice;
        Contexts a(alice);
        auto first = co_await server->list_tools(a.run);
        auto second = co_await server->list_tools(a.run);
        CHECK(names(first) == names(second));
        CHECK(!has(names(first), "fresh"));
        // The change listener (GET) is open once the session is.
        co_await peer.wait_for([](json::array const& l) { return !entries(l, "method", "GET").empty(); });
        json::array log = co_await peer.log();
        CHECK(entries(log, "rpc", "tools/list").size() == 1);  // the second listing came from the cache

        co_await peer.add_tool("fresh");  // the SDK sends notifications/tools/list_changed on the GET stream
        bool seen = false;
        for (int i = 0; i < 100 && !seen; ++i) {
            auto tools = co_await server->list_tools(a.run);
            seen = has(names(tools), "fresh");
            if (!seen) {
                asio::steady_timer pause(co_await asio::this_coro::executor, 50ms);
                co_await pause.async_wait(asio::use_awaitable);
            }
        }
        CHECK(seen);
        log = co_await peer.log();
        CHECK(entries(log, "rpc", "tools/list").size() == 2);  // listed again once, after the change
        co_await server->close();
    }());
}

TEST_CASE("mcp: sessions are bounded: the least recently used idle one is closed, idle ones expire",
          "[mcp][client]") {
    asio::io_context io;
    Peer peer;
    run_on(io, [&]() -> asio::awaitable<void> {
        co_await peer.reset();
        auto options = accounts_options(peer);
        options.limits.max_sessions = 2;
        options.listen_for_changes = false;
        auto server = agents::McpServer::create(options);
        User alice{"alice"}, bob{"bob"}, carol{"carol"};
        Contexts a(alice), b(bob), c(carol);
        co_await server->call_tool(a.tool, "whoami", json::object());
        co_await server->call_tool(b.tool, "whoami", json::object());
        co_await server->call_tool(c.tool, "whoami", json::object());
        CHECK(server->session_count() == 2);
        json::array log = co_await peer.wait_for([](json::array const& l) { return !entries(l, "event", "delete").empty(); });
        auto const deleted = entries(log, "event", "delete");
        REQUIRE(deleted.size() == 1);
        CHECK(deleted[0].at("user") == "alice");  // the least recently used
        co_await server->close();

        co_await peer.reset();
        options.limits.session_idle_timeout = std::chrono::seconds(0);
        auto expiring = agents::McpServer::create(options);
        co_await expiring->call_tool(a.tool, "whoami", json::object());
        asio::steady_timer pause(co_await asio::this_coro::executor, 20ms);
        co_await pause.async_wait(asio::use_awaitable);
        co_await expiring->call_tool(b.tool, "whoami", json::object());  // sweeps alice's idle session
        log = co_await peer.wait_for([](json::array const& l) { return !entries(l, "event", "delete").empty(); });
        REQUIRE(entries(log, "event", "delete").size() == 1);
        CHECK(entries(log, "event", "delete")[0].at("user") == "alice");
        CHECK(expiring->session_count() == 1);
        co_await expiring->close();
    }());
}

TEST_CASE("mcp: invalid options are refused at creation", "[mcp][client]") {
    Peer peer;
    auto options = accounts_options(peer);
    options.url = "ftp://example.com/mcp";
    CHECK_THROWS_AS(agents::McpServer::create(options), McpError);
    options = accounts_options(peer);
    options.name = "has space";
    CHECK_THROWS_AS(agents::McpServer::create(options), McpError);
    options = accounts_options(peer);
    options.protocol_version = "2024-11-05";
    CHECK_THROWS_AS(agents::McpServer::create(options), McpError);
    options = accounts_options(peer);
    options.transport = nullptr;
    CHECK_THROWS_AS(agents::McpServer::create(options), McpError);
    options = accounts_options(peer);
    options.headers.emplace_back("X-Api-Key", "a\nb");
    CHECK_THROWS_AS(agents::McpServer::create(options), McpError);
}
