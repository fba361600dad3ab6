// MCP tools in agents answering ChatKit requests: the loopback mock LLM (Chat Completions over real
// HTTP) calls the tools of the TypeScript SDK's server; each user's calls carry that user's token,
// the model never sees one, failures are tool errors, cancelling the ChatKit stream cancels the call.
#include "agents/bridge_support.hpp"
#include "agents/mock_llm.hpp"
#include "mcp/mcp_test_support.hpp"

#include <chatkit/agents/chatkit/mcp.hpp>
#include <chatkit/agents/openai.hpp>
#include <chatkit/server/response.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include <map>
#include <set>
#include <tuple>

using namespace mcp_test;
using bridge_test::AgentCtx;
using bridge_test::Fixture;

namespace {

/// The bearer token of the ChatKit request's user: the simple case of a header provider.
agents::McpHeaderProvider bearer_of_request() {
    return [](agents::RunContextBase const& run) -> asio::awaitable<chatkit::Headers> {
        test::Ctx const& request = agents::RunContext<AgentCtx>(run).context().request_context();
        chatkit::Headers headers{{"Authorization", "Bearer token-" + request.user}};
        co_return headers;
    };
}

agents::McpServerOptions options_for(Peer const& peer, std::string name, std::string path) {
    agents::McpServerOptions o;
    o.name = std::move(name);
    o.url = peer.url() + path;
    o.transport = peer.transport();
    o.header_provider = bearer_of_request();
    o.on_call = agents::mcp_workflow_tasks<test::Ctx>();
    return o;
}

/// One ChatKit request through `process()` and its whole stream, on the caller's io_context.
asio::awaitable<test::Result> chat(test::TestServer& server, std::string text, std::string user) {
    test::Ctx ctx;
    ctx.user = std::move(user);
    std::string body = json::serialize(test::create_request(text));
    chatkit::Response response = co_await server.process(body, ctx);
    test::Result result;
    result.status = response.status();
    result.streaming = response.is_streaming();
    result.body = co_await response.collect();
    test::split_sse_frames(result);
    co_return result;
}

struct McpFixture : Fixture {
    test::MockLlmServer mock;
    Peer peer;
    asio::io_context io;

    McpFixture() {
        agents::OpenAIEndpoint endpoint;
        endpoint.transport = std::make_shared<chatkit::http::HttpClient>();
        endpoint.base_url = mock.url();
        endpoint.api_key = "test-key";
        agent.model = std::make_shared<agents::OpenAIChatCompletionsModel>(endpoint, "gpt-4.1-mini");
        run_on(io, peer.reset());
    }

    /// The JSON text of every model request, headers included.
    std::vector<std::string> model_requests() const {
        std::vector<std::string> out;
        for (auto const& r : mock.requests()) {
            std::string all = r.body;
            for (auto const& [name, value] : r.headers) {
                all += '\n';
                all += name;
                all += ": ";
                all += value;
            }
            out.push_back(std::move(all));
        }
        return out;
    }

    /// The `function` objects of the tools offered in model request `i`.
    std::map<std::string, json::object> offered(std::size_t i) const {
        std::map<std::string, json::object> out;
        auto const requests = mock.requests();
        for (auto const& t : requests.at(i).json.at("tools").as_array()) {
            auto const& f = t.at("function").as_object();
            out[std::string(f.at("name").as_string())] = f;
        }
        return out;
    }

    /// The tool outputs (`role: tool` messages) of model request `i`.
    std::vector<std::string> tool_outputs(std::size_t i) const {
        std::vector<std::string> out;
        auto const requests = mock.requests();
        for (auto const& m : requests.at(i).json.at("messages").as_array())
            if (m.at("role") == "tool") out.emplace_back(m.at("content").as_string());
        return out;
    }
};

bool contains(std::vector<std::string> const& v, std::string const& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

std::string last_text(test::Result const& r) {
    auto done = bridge_test::of_type(r, "thread.item.done/assistant_message");
    if (done.empty()) return {};
    return std::string(done.back().at("item").at("content").at(0).at("text").as_string());
}

}  // namespace

TEST_CASE_METHOD(McpFixture, "mcp agents: two users at once, each call with that user's token, no token in any model request",
                 "[mcp][agents]") {
    auto mcp = agents::McpServer::create(options_for(peer, "accounts", "/mcp"));
    agent.mcp_servers = {mcp};
    for (int i = 0; i < 2; ++i) mock.push(test::MockReply::sse(chat_tool_call("whoami", "{}", "call_" + std::to_string(i))));
    for (int i = 0; i < 2; ++i) mock.push(test::MockReply::sse(chat_text("Done.")));

    auto [alice, bob] = run_on(io, [&]() -> asio::awaitable<std::tuple<test::Result, test::Result>> {
        using namespace asio::experimental::awaitable_operators;
        co_await peer.barrier(2);  // both whoami calls run at the same time
        auto both = co_await (chat(server, "who am I?", "alice") && chat(server, "who am I?", "bob"));
        co_await mcp->close();
        co_return both;
    }());
    CHECK(last_text(alice) == "Done.");
    CHECK(last_text(bob) == "Done.");
    CHECK(alice.types().back() != "error");

    json::array log = run_on(io, peer.log());
    auto const calls = entries(log, "event", "tool", "tool", "whoami");
    REQUIRE(calls.size() == 2);
    std::set<std::string> users;
    for (auto const& c : calls) users.emplace(c.at("user").as_string());
    CHECK(users == std::set<std::string>{"alice", "bob"});
    CHECK(entries(log, "event", "foreign-token").empty());
    CHECK(entries(log, "event", "session").size() == 2);

    // Each user's second model request carries that user's answer, and no request carries a token.
    REQUIRE(mock.requests().size() == 4);
    std::vector<std::string> outputs;
    for (std::size_t i = 0; i < 4; ++i)
        for (auto& o : tool_outputs(i)) outputs.push_back(o);
    CHECK(contains(outputs, "You are alice."));
    CHECK(contains(outputs, "You are bob."));
    for (auto const& request : model_requests()) {
        CHECK(request.find("token-alice") == std::string::npos);
        CHECK(request.find("token-bob") == std::string::npos);
        CHECK(request.find("Mcp-Session-Id") == std::string::npos);
    }

    // The call showed as a workflow task: "Calling whoami" (loading), then "whoami" (complete).
    auto added = bridge_test::of_type(alice, "thread.item.added/workflow");
    REQUIRE(added.size() == 1);
    CHECK(added[0].at("item").at("workflow").at("tasks").at(0).at("title") == "Calling whoami");
    CHECK(added[0].at("item").at("workflow").at("tasks").at(0).at("status_indicator") == "loading");
    auto updated = bridge_test::of_type(alice, "thread.item.updated/workflow.task.updated");
    REQUIRE(updated.size() == 1);
    CHECK(updated[0].at("update").at("task").at("title") == "whoami");
    CHECK(updated[0].at("update").at("task").at("status_indicator") == "complete");
}

TEST_CASE_METHOD(McpFixture, "mcp agents: a bound argument is hidden from the model and set from the context",
                 "[mcp][agents]") {
    auto options = options_for(peer, "accounts", "/mcp");
    options.bound_arguments.push_back(
        {"user_id", [](agents::RunContextBase const& run) -> json::value {
             return json::value(agents::RunContext<AgentCtx>(run).context().request_context().user);
         }});
    auto mcp = agents::McpServer::create(options);
    agent.mcp_servers = {mcp};
    // The model tries to read someone else's orders; the bound argument wins.
    mock.push(test::MockReply::sse(chat_tool_call("lookup_orders", R"({"status":"open","user_id":"bob"})")));
    mock.push(test::MockReply::sse(chat_text("You have one open order.")));
    auto result = run_on(io, [&]() -> asio::awaitable<test::Result> {
        auto r = co_await chat(server, "my open orders?", "alice");
        co_await mcp->close();
        co_return r;
    }());
    CHECK(last_text(result) == "You have one open order.");

    auto tools = offered(0);
    REQUIRE(tools.count("lookup_orders"));
    auto const& parameters = tools["lookup_orders"].at("parameters").as_object();
    CHECK(!parameters.at("properties").as_object().contains("user_id"));
    CHECK(parameters.at("properties").as_object().contains("status"));
    for (auto const& r : parameters.at("required").as_array()) CHECK(r != "user_id");

    json::array log = run_on(io, peer.log());
    auto const calls = entries(log, "event", "tool", "tool", "lookup_orders");
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].at("args").at("user_id") == "alice");
    CHECK(calls[0].at("args").at("status") == "open");
    CHECK(tool_outputs(1) == std::vector<std::string>{R"([{"id":"A-2","status":"open"}])"});
}

TEST_CASE_METHOD(McpFixture, "mcp agents: a failing tool and an unreachable server are what the model sees, never a broken stream",
                 "[mcp][agents]") {
    auto broken_options = options_for(peer, "broken", "/broken");
    auto broken = agents::McpServer::create(broken_options);
    auto mcp = agents::McpServer::create(options_for(peer, "accounts", "/mcp"));
    agent.mcp_servers = {broken, mcp};
    mock.push(test::MockReply::sse(chat_tool_call("fail", "{}")));
    mock.push(test::MockReply::sse(chat_text("The ledger is closed, sorry.")));
    auto result = run_on(io, [&]() -> asio::awaitable<test::Result> {
        auto r = co_await chat(server, "close my account", "alice");
        co_await mcp->close();
        co_return r;
    }());
    CHECK(last_text(result) == "The ledger is closed, sorry.");
    for (auto const& type : result.types()) CHECK(type != "error");
    CHECK(tool_outputs(1) == std::vector<std::string>{
                                 "An error occurred while running the tool. Please try again. Error: the ledger is closed for "
                                 "maintenance"});
    // The broken server's tools were left out; the other server's were offered.
    auto tools = offered(0);
    CHECK(tools.count("fail") == 1);
    CHECK(tools.count("whoami") == 1);
    // The failure showed as a finished task.
    auto updated = bridge_test::of_type(result, "thread.item.updated/workflow.task.updated");
    REQUIRE(updated.size() == 1);
    CHECK(updated[0].at("update").at("task").at("title") == "fail failed");
    CHECK(updated[0].at("update").at("task").at("content") == "the ledger is closed for maintenance");
}

TEST_CASE_METHOD(McpFixture, "mcp agents: two servers with the same tool name: the later one's is prefixed; filters apply",
                 "[mcp][agents]") {
    auto accounts = agents::McpServer::create(options_for(peer, "accounts", "/mcp"));
    auto catalog_options = options_for(peer, "catalog", "/mcp-paged");
    catalog_options.filter.deny = {"alpha"};
    auto catalog = agents::McpServer::create(catalog_options);
    agent.mcp_servers = {accounts, catalog};
    mock.push(test::MockReply::sse(chat_tool_call("catalog__whoami", "{}")));
    mock.push(test::MockReply::sse(chat_text("The catalog knows you.")));
    auto result = run_on(io, [&]() -> asio::awaitable<test::Result> {
        auto r = co_await chat(server, "ask the catalog who I am", "bob");
        co_await accounts->close();
        co_await catalog->close();
        co_return r;
    }());
    CHECK(last_text(result) == "The catalog knows you.");
    auto tools = offered(0);
    std::vector<std::string> tool_names;
    tool_names.reserve(tools.size());
    for (auto const& [name, f] : tools) tool_names.push_back(name);
    CHECK(tools.count("whoami") == 1);           // the accounts server's, listed first
    CHECK(tools.count("catalog__whoami") == 1);  // the catalog's, prefixed
    CHECK(tools.count("echo") == 1);             // no clash: kept as is
    CHECK(tools.count("beta") == 1);
    CHECK(tools.count("alpha") == 0);  // denied
    CHECK(tools.count("catalog__alpha") == 0);
    CHECK(tool_outputs(1) == std::vector<std::string>{"catalog says you are bob."});
    CHECK(tools["whoami"].at("description") == "Who the caller is, from their bearer token.");
}

TEST_CASE_METHOD(McpFixture, "mcp agents: cancelling the ChatKit stream cancels the MCP call (notifications/cancelled)",
                 "[mcp][agents][cancel]") {
    auto mcp = agents::McpServer::create(options_for(peer, "accounts", "/mcp"));
    agent.mcp_servers = {mcp};
    mock.push(test::MockReply::sse(chat_tool_call("slow", R"({"seconds":30})")));

    struct KeepFrames final : chatkit::StreamWriter {
        std::vector<std::string> frames;
        asio::awaitable<void> write(std::string_view frame) override {
            frames.emplace_back(frame);
            co_return;
        }
    } writer;
    json::array log = run_on(io, [&]() -> asio::awaitable<json::array> {
        using namespace asio::experimental::awaitable_operators;
        test::Ctx ctx;
        std::string body = json::serialize(test::create_request("take your time"));
        chatkit::Response response = co_await server.process(body, ctx);
        // The user presses Stop once the slow tool runs on the MCP server.
        auto started = [](json::array const& l) { return !entries(l, "event", "tool", "tool", "slow").empty(); };
        co_await (response.stream(writer) || peer.wait_for(started));
        json::array after = co_await peer.wait_for(
            [](json::array const& l) { return !entries(l, "event", "tool-cancelled").empty(); });
        co_await mcp->close();
        co_return after;
    }());
    CHECK(server.cancelled_calls == 1);
    auto const cancelled = entries(log, "rpc", "notifications/cancelled");
    REQUIRE(cancelled.size() == 1);
    auto const call = entries(log, "rpc", "tools/call");
    REQUIRE(call.size() == 1);
    CHECK(cancelled[0].at("params").at("requestId") == call[0].at("id"));
    CHECK(cancelled[0].at("user") == "alice");
    CHECK(entries(log, "event", "tool-cancelled").size() == 1);
    CHECK(mock.requests().size() == 1);  // the model was not asked again
}
