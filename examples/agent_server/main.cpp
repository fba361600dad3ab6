// agent_server: a ChatKit backend whose answers come from an Agent (chatkit::agents) — tools, a client
// tool, streamed reasoning and durable threads.
//
//   agent_server --port 0 --db ./agent.db      # prints "listening on http://127.0.0.1:PORT" first
//   OPENAI_API_KEY=sk-... agent_server         # OpenAI (Responses API)
//   OPENAI_BASE_URL=http://127.0.0.1:11434/v1 OPENAI_API=chat agent_server   # Ollama, vLLM, llama.cpp
//
// What it shows:
//   * an Agent<AgentContext<Context>> with two server tools: `get_weather(city)` (deterministic demo
//     data, shown to the user as a workflow task) and `get_user_context()`, which reads the request
//     context (the user's name and the page they are on, from the request body's `metadata`) —
//     credentials and user data reach tools through ToolContext, never through the prompt;
//   * a client tool, `switch_theme(theme)`: the run stops, the browser runs it (ChatKit.js
//     `onClientTool`) and posts the result, and the agent continues;
//   * stream_agent_response(): text deltas, reasoning summaries as a "Thought for N seconds"
//     workflow, annotations; a client disconnect stops the model and keeps the partial answer;
//   * the history window: the last --history items of the thread, converted by ThreadItemConverter
//     and cut to whole turns that fit --context-tokens minus the reply's and the agent's own share;
//   * SqliteStore (--db FILE) or PostgresStore (--db postgresql://...), partitioned by the X-User-Id header;
//   * dictation (`input.transcribe`) through OpenAI's transcription API when OPENAI_API_KEY /
//     OPENAI_BASE_URL is set (model CHATKIT_TRANSCRIBE_MODEL, default gpt-4o-mini-transcribe);
//   * MCP tools (--mcp-url, repeatable): each request's MCP calls carry that caller's own
//     `Authorization: Bearer` token (or, with --mcp-token-exchange, a token exchanged for it,
//     RFC 8693), `user_id` arguments are filled from X-User-Id, and no credential enters a prompt.
//
// Without OPENAI_API_KEY / OPENAI_BASE_URL it runs offline on DemoModel (it says so at start-up).
#include "../common/cli.hpp"
#include "../common/limits.hpp"
#include "../common/on_disconnect.hpp"
#include "../common/store.hpp"

#include <chatkit/agents/chatkit/bridge.hpp>
#include <chatkit/agents/chatkit/mcp.hpp>
#include <chatkit/agents/chatkit/transcriber.hpp>
#include <chatkit/agents/mcp.hpp>
#include <chatkit/agents/offline.hpp>
#include <chatkit/agents/openai.hpp>
#include <chatkit/http/bearer.hpp>
#include <chatkit/http/client/http_client.hpp>
#include <chatkit/http/server.hpp>
#include <chatkit/http/usage_route.hpp>
#include <chatkit/server/server.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
namespace agents = chatkit::agents;
using namespace chatkit;

/// The token of the request's `Authorization: Bearer <token>` header; empty without one. A
/// malformed or doubled header answers 401 (`http::extract_token` checks it).
std::string bearer_token_of(http::RequestInfo const& request) {
    boost::system::error_code ec;
    std::string_view const token = auth::extract_token(request, auth::BearerOptions{}, ec);
    if (ec == chatkit::error::missing_token) return {};
    if (ec) throw chatkit::Error(ec);
    return std::string(token);
}

//[agent_context
/// What the application knows about one request. Built by the HTTP context factory; tools read it
/// through ToolContext. Secrets (access tokens, user ids) live here, never in the prompt.
struct Context {
    std::string user_id = "local-user";  ///< X-User-Id header: whose threads these are
    std::string user_name;               ///< body metadata.user_name (shown to the agent on request)
    std::string page;                    ///< body metadata.page: where the user is in the app
    std::string bearer_token;            ///< the caller's own Authorization: Bearer token (for MCP servers)
};

/// Builds the context of one request from its headers and the ChatKit body's `metadata`.
Context make_context(http::RequestInfo const& request) {
    Context ctx;
    if (auto user = request.header("X-User-Id"); !user.empty()) {
        if (user.size() > 128) throw chatkit::Error(chatkit::error::invalid_request, "X-User-Id is too long");
        ctx.user_id = std::string(user);
    }
    if (request.request) {
        auto const& metadata = request.request->metadata;
        if (auto const* name = metadata.if_contains("user_name"); name && name->is_string())
            ctx.user_name = std::string(name->get_string()).substr(0, 100);
        if (auto const* page = metadata.if_contains("page"); page && page->is_string())
            ctx.page = std::string(page->get_string()).substr(0, 200);
    }
    return ctx;
}
//]

using AgentCtx = agents::AgentContext<Context>;

// --- tools -------------------------------------------------------------------------------------

/// Demo weather: deterministic fake data derived from the city name (no network).
json::object fake_weather(std::string const& city) {
    std::uint32_t h = 2166136261u;
    for (unsigned char c : city) h = (h ^ static_cast<unsigned char>(std::tolower(c))) * 16777619u;
    static char const* const conditions[] = {"sunny", "cloudy", "rainy", "windy", "snowy", "foggy"};
    return json::object{{"city", city},
                        {"temperature_c", static_cast<int>(h % 35) - 5},
                        {"condition", conditions[(h / 35) % 6]},
                        {"note", "demo data, not a real forecast"}};
}

//[weather_tool
/// `get_weather(city)`: a server tool. It shows its work as a workflow task, then returns JSON.
agents::FunctionTool weather_tool() {
    json::object schema{{"type", "object"},
                        {"properties", json::object{{"city", json::object{{"type", "string"},
                                                                          {"description", "City name, e.g. Paris"}}}}},
                        {"required", json::array{"city"}}};
    return agents::make_tool<AgentCtx, json::object>(
        "get_weather", "Current weather of a city.", std::move(schema),
        [](agents::ToolContext<AgentCtx>& tool, json::object args) -> asio::awaitable<json::value> {
            std::string city(args.at("city").as_string());
            CustomTask task;
            task.title = "Checked the weather in " + city;
            task.status_indicator = TaskStatusIndicator::complete;
            co_await tool.context().add_workflow_task(std::move(task));  // visible progress in the thread
            co_return fake_weather(city);
        });
}
//]

//[context_tool
/// `get_user_context()`: reads the request context — who the user is and where they are. The model
/// asks for it when it needs it; nothing of it was ever put in the instructions.
agents::FunctionTool user_context_tool() {
    return agents::make_tool<AgentCtx, json::object>(
        "get_user_context", "The user's name and the page of the app they are looking at.",
        agents::empty_object_schema(),
        [](agents::ToolContext<AgentCtx>& tool, json::object) -> asio::awaitable<json::value> {
            Context const& request = tool.context().request_context();
            co_return json::object{{"name", request.user_name.empty() ? "unknown" : request.user_name},
                                   {"page", request.page.empty() ? "unknown" : request.page}};
        });
}
//]

//[client_tool
/// `switch_theme(theme)`: a client tool. The run stops at it; the browser switches the theme and
/// answers with threads.add_client_tool_output; respond() then runs again and the agent continues.
agents::FunctionTool switch_theme_tool() {
    json::object schema{
        {"type", "object"},
        {"properties", json::object{{"theme", json::object{{"type", "string"}, {"enum", json::array{"light", "dark"}}}}}},
        {"required", json::array{"theme"}}};
    return agents::client_tool("switch_theme", "Switches the app between the light and the dark theme.",
                               agents::strict_schema(std::move(schema)));
}
//]

// --- MCP servers (--mcp-url) ---------------------------------------------------------------------

/// `application/x-www-form-urlencoded` escaping of one value.
std::string form_escape(std::string_view text) {
    static char const hex[] = "0123456789ABCDEF";
    std::string out;
    for (char c : text) {
        auto const u = static_cast<unsigned char>(c);
        if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += c;
        } else {
            out += '%';
            out += hex[u >> 4];
            out += hex[u & 15];
        }
    }
    return out;
}

//[token_exchange
/// The production pattern, OAuth 2.0 Token Exchange (RFC 8693): the caller's token is traded at your
/// authorization server for one issued to this MCP server only (`audience` = its URL), so the MCP
/// server never holds a token that also opens your other APIs, and your server never forwards the
/// login token itself. Exchanged tokens are cached per caller token until a minute before they expire.
class TokenExchange {
public:
    TokenExchange(std::string token_endpoint, std::string audience, std::shared_ptr<Transport> transport)
        : endpoint_(std::move(token_endpoint)), audience_(std::move(audience)), transport_(std::move(transport)) {}

    /// The headers of an MCP request made for the caller holding `subject_token` (none without one).
    asio::awaitable<Headers> headers_for(std::string subject_token) {
        Headers headers;
        if (subject_token.empty()) co_return headers;
        if (auto cached = lookup(subject_token)) {
            headers.emplace_back("Authorization", "Bearer " + *cached);
            co_return headers;
        }
        HttpRequest request;
        request.method = "POST";
        request.url = endpoint_;
        request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
        request.body = "grant_type=" + form_escape("urn:ietf:params:oauth:grant-type:token-exchange") +
                       "&subject_token=" + form_escape(subject_token) +
                       "&subject_token_type=" + form_escape("urn:ietf:params:oauth:token-type:access_token") +
                       "&audience=" + form_escape(audience_);
        request.total_timeout = std::chrono::seconds(10);
        request.max_body = 64 * 1024;
        HttpResponse response = co_await transport_->send(std::move(request));
        if (!response.ok())
            throw Error(error::upstream_failure, "token exchange refused (HTTP " + std::to_string(response.status) + ")");
        boost::system::error_code ec;
        json::value const answer = json::parse(response.body, ec);
        json::value const* token_value = ec || !answer.is_object() ? nullptr : answer.get_object().if_contains("access_token");
        if (!token_value || !token_value->is_string() || token_value->get_string().empty())
            throw Error(error::upstream_failure, "token exchange answered without an access_token");
        std::string token(token_value->get_string());
        auto lifetime = std::chrono::seconds(300);
        if (auto const* e = answer.get_object().if_contains("expires_in"); e && e->is_int64())
            lifetime = std::chrono::seconds(std::clamp<std::int64_t>(e->get_int64(), 0, 86400));
        remember(subject_token, token, lifetime);
        headers.emplace_back("Authorization", "Bearer " + token);
        co_return headers;
    }

private:
    struct Entry {
        std::string token;
        std::chrono::steady_clock::time_point expires;
    };
    std::optional<std::string> lookup(std::string const& subject) {
        std::lock_guard lock(mutex_);
        auto it = cache_.find(subject);
        if (it == cache_.end() || it->second.expires <= std::chrono::steady_clock::now()) return std::nullopt;
        return it->second.token;
    }
    void remember(std::string const& subject, std::string token, std::chrono::seconds lifetime) {
        std::lock_guard lock(mutex_);
        auto const now = std::chrono::steady_clock::now();
        std::erase_if(cache_, [&](auto const& entry) { return entry.second.expires <= now; });
        if (cache_.size() >= 10000) cache_.clear();  // bounded: a burst of new callers starts over
        cache_[subject] = Entry{std::move(token), now + lifetime - std::min(lifetime, std::chrono::seconds(60))};
    }

    std::string endpoint_, audience_;
    std::shared_ptr<Transport> transport_;
    std::mutex mutex_;
    std::map<std::string, Entry> cache_;
};
//]

//[mcp_servers
/// One McpServer per --mcp-url, shared by every request and every user. The header provider gives
/// each request the caller's own bearer token (the simple case: the MCP server accepts the tokens
/// your users log in with) or, with --mcp-token-exchange, a token exchanged for it. `user_id` is a
/// bound argument: filled from the request context, hidden from the model.
std::shared_ptr<agents::McpServer> mcp_server(std::string name, std::string url, std::shared_ptr<Transport> transport,
                                              std::shared_ptr<TokenExchange> exchange) {
    agents::McpServerOptions options;
    options.name = std::move(name);
    options.url = std::move(url);
    options.transport = std::move(transport);
    options.logger = Logger::stderr_logger(LogLevel::warning);  // a server left out of a turn, and why
    if (exchange) {
        options.header_provider = [exchange](agents::RunContextBase const& run) {
            return exchange->headers_for(agents::RunContext<AgentCtx>(run).context().request_context().bearer_token);
        };
    } else {
        options.header_provider = [](agents::RunContextBase const& run) -> asio::awaitable<Headers> {
            Context const& request = agents::RunContext<AgentCtx>(run).context().request_context();
            Headers headers;
            if (!request.bearer_token.empty()) headers.emplace_back("Authorization", "Bearer " + request.bearer_token);
            co_return headers;
        };
    }
    options.bound_arguments.push_back({"user_id", [](agents::RunContextBase const& run) -> json::value {
                                           return json::value(agents::RunContext<AgentCtx>(run).context().request_context().user_id);
                                       }});
    options.on_call = agents::mcp_workflow_tasks<Context>();  // each call shows as a workflow task
    return agents::McpServer::create(std::move(options));
}
//]

/// Closes every MCP session (DELETE); run when the server stops.
asio::awaitable<void> close_all(std::vector<std::shared_ptr<agents::McpServer>> servers) {
    for (auto& server : servers) co_await server->close();
}

// --- the server --------------------------------------------------------------------------------

/// A thread title from the first user message (whitespace collapsed, at most ~40 bytes).
std::string title_from(UserMessageItem const& input) {
    std::string flat;
    for (char c : text_of(input)) {
        bool const space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
        if (space && (flat.empty() || flat.back() == ' ')) continue;
        flat += space ? ' ' : c;
    }
    while (!flat.empty() && flat.back() == ' ') flat.pop_back();
    if (flat.size() <= 40) return flat;
    std::size_t cut = 40;
    while (cut > 0 && (static_cast<unsigned char>(flat[cut]) & 0xC0) == 0x80) --cut;
    return flat.substr(0, cut) + "\u2026";
}

class AgentServer final : public ChatKitServer<Context> {
public:
    AgentServer(Options options, std::shared_ptr<agents::Model> model, int history, std::size_t context_tokens,
                std::vector<std::shared_ptr<agents::McpServer>> mcp_servers)
        : ChatKitServer<Context>(std::move(options)), history_(history) {
        //[make_agent
        agent_.name = "Assistant";
        agent_.instructions = std::string(
            "You are a concise assistant inside a web app. Use get_weather for weather questions, "
            "get_user_context when you need the user's name or the page they are on, and switch_theme "
            "when the user asks for a light or dark theme.");
        agent_.tools = {weather_tool(), user_context_tool(), switch_theme_tool()};
        agent_.model = std::move(model);
        agent_.model_settings.reasoning_summary = "auto";  // streamed thoughts where the model gives them
        //]
        if (!mcp_servers.empty()) {
            agent_.mcp_servers = std::move(mcp_servers);
            std::get<std::string>(agent_.instructions) += " Use the tools of the connected MCP servers when they fit.";
        }
        //[history_budget
        // History gets the model's context window minus the reply's share and the instructions'.
        agents::HistoryBudget budget;
        budget.context_tokens = context_tokens;
        budget.reply_tokens = static_cast<std::size_t>(agent_.model_settings.max_tokens.value_or(4096));
        budget.reserved_tokens = 2000 + std::get<std::string>(agent_.instructions).size() / 4;  // tools, instructions
        converter_.set_history_budget(budget);
        //]
    }

protected:
    //[respond
    asio::awaitable<void> respond(ThreadMetadata& thread, std::optional<UserMessageItem> const& input,
                                  EventSink& events, Context& ctx) override {
        if (input && !thread.title) thread.title = title_from(*input);

        // The conversation so far (the new message included), as model input.
        std::vector<ThreadItem> history = co_await agents::load_recent_items(store(), thread.id, history_, ctx);
        std::vector<agents::Item> model_input = co_await converter_.to_agent_input(history, ctx);

        agents::AgentContext<Context> agent_ctx(thread, store(), ctx);
        agents::RunResult result =
            co_await agents::stream_agent_response(agent_ctx, agent_, std::move(model_input), events);
        usage_line(thread, result.usage);
    }
    //]

private:
    static void usage_line(ThreadMetadata const& thread, agents::Usage const& usage) {
        std::cerr << "usage: thread=" << thread.id << " requests=" << usage.requests << " input_tokens="
                  << usage.input_tokens << " output_tokens=" << usage.output_tokens << std::endl;
    }

    agents::Agent<AgentCtx> agent_;
    agents::ThreadItemConverter<Context> converter_;
    int history_;
};

struct ModelChoice {
    std::shared_ptr<agents::Model> model;
    std::string description;
};

//[choose_model
/// The model: OpenAI or a compatible server when OPENAI_API_KEY / OPENAI_BASE_URL is set (see
/// OpenAIProvider::options_from_env for CHATKIT_MODEL, CHATKIT_OPENAI_API, CHATKIT_OPENAI_COMPAT),
/// otherwise the offline DemoModel (no network). The model sends its requests through `transport`.
ModelChoice choose_model(std::shared_ptr<Transport> const& transport) {
    if (auto provider = agents::OpenAIProvider::from_env_if_configured(transport)) {
        auto const& o = provider->options();
        bool const responses = o.api == agents::OpenAIProvider::Api::responses;
        return {provider->get_model(""), o.default_model + " at " + o.endpoint.base_url + " (" +
                                             (responses ? "Responses" : "Chat Completions") + " API)"};
    }
    agents::DemoModelOptions demo;
    demo.pacing = std::chrono::milliseconds(30);
    demo.reasoning = true;
    return {std::make_shared<agents::DemoModel>(demo),
            "offline DemoModel (no network; set OPENAI_API_KEY or OPENAI_BASE_URL for a real model)"};
}
//]

}  // namespace

int main(int argc, char** argv) try {
    examples::Cli cli("agent_server",
                      "A ChatKit backend answering with an agent: weather and user-context tools, a "
                      "switch_theme client tool, streamed reasoning, SQLite threads.");
    cli.listener_options()
        .option("db", "CHATKIT_DB", "./agent_server.db",
                "an SQLite database file (:memory: keeps nothing) or a postgresql:// URL")
        .option("history", "CHATKIT_HISTORY", "30", "thread items given to the model each turn")
        .option("context-tokens", "CHATKIT_CONTEXT_TOKENS", "128000",
                "the model's context window: history is cut to the whole turns that fit in it")
        .flag("verbose", "CHATKIT_VERBOSE", "log failed requests and cancelled streams to stderr")
        .repeatable("mcp-url", "CHATKIT_MCP_URL",
                    "an MCP server (Streamable HTTP) whose tools the agent uses, called with the caller's own "
                    "Authorization: Bearer token")
        .option("mcp-token-exchange", "CHATKIT_MCP_TOKEN_EXCHANGE", "",
                "an OAuth token endpoint (RFC 8693): MCP servers get a token exchanged for the caller's");
    examples::on_disconnect_option(cli);  // --on-disconnect continue|cancel (issue 18)
    examples::limit_options(cli);
    cli.parse(argc, argv);
    examples::Limits const limits = examples::limits_from(cli);
    int const history = static_cast<int>(cli.positive("history"));
    std::size_t const context_tokens = cli.whole("context-tokens", 100000000);
    if (!cli.get("mcp-token-exchange").empty() && cli.all("mcp-url").empty())
        cli.fail("--mcp-token-exchange is for MCP servers: give at least one --mcp-url");

    auto const store = examples::open_store<Context>(cli.get("db"), [](Context const& c) { return c.user_id; });
    auto const transport = std::make_shared<http::HttpClient>();  // one pool for the model and dictation
    ModelChoice const model = choose_model(transport);  // throws on an invalid OPENAI_* / CHATKIT_MODEL_* variable
    std::unique_ptr<agents::OpenAITranscriber> const transcriber =
        agents::OpenAITranscriber::from_env_if_configured(transport);
    std::vector<std::shared_ptr<agents::McpServer>> mcp_servers;
    for (auto const& url : cli.all("mcp-url")) {
        std::shared_ptr<TokenExchange> exchange;
        if (!cli.get("mcp-token-exchange").empty())
            exchange = std::make_shared<TokenExchange>(cli.get("mcp-token-exchange"), url, transport);
        mcp_servers.push_back(mcp_server("mcp" + std::to_string(mcp_servers.size() + 1), url, transport, exchange));
    }
    AgentServer app({.store = *store.store,
                     .transcriber = transcriber.get(),
                     .logger = Logger::stderr_logger(cli.is_set("verbose") ? LogLevel::info : LogLevel::warning),
                     .runs = examples::run_options(cli),
                     .rate_limiter = limits.rate_limiter.get(),
                     .quotas = limits.quotas},
                    model.model, history, context_tokens, mcp_servers);

    // With MCP servers, each request's own bearer token is kept for them (a malformed one is 401).
    auto context_factory = [read_bearer = !mcp_servers.empty()](http::RequestInfo const& request) {
        Context ctx = make_context(request);
        if (read_bearer) ctx.bearer_token = bearer_token_of(request);
        return ctx;
    };
    http::Server<Context> server(app, cli.server_options(), context_factory);
    http::mount_usage_route(server, *store.store);  // GET /chatkit/usage: the caller's token usage
    // MCP sessions are closed (DELETE) while the server's threads still run.
    server.on_stop([&server, mcp_servers] {
        asio::co_spawn(server.context(), close_all(mcp_servers), asio::detached);
    });
    server.start();  // binds (throws if it cannot), so the lines below can give the URL
    std::cerr << "model: " << model.description << "\n"
              << "store: " << store.description << ", partitioned by the X-User-Id header\n"
              << limits.description << "\n";
    if (transcriber)
        std::cerr << "dictation: OpenAI transcription, model " << transcriber->options().model << " at "
                  << transcriber->options().endpoint.base_url << "\n";
    else
        std::cerr << "dictation: off (set OPENAI_API_KEY or OPENAI_BASE_URL to enable it)\n";
    for (auto const& mcp : mcp_servers)
        std::cerr << "MCP server " << mcp->options().name << ": " << mcp->options().url
                  << (cli.get("mcp-token-exchange").empty() ? " (the caller's bearer token is forwarded)"
                                                            : " (tokens exchanged at " + cli.get("mcp-token-exchange") + ")")
                  << "\n";
    std::cerr << "ChatKit endpoint: POST " << server.url() << server.options().chatkit_path
              << " (metadata.user_name and metadata.page reach get_user_context); stop with Ctrl-C" << std::endl;
    server.run_until_signal();  // prints "listening on http://HOST:PORT" (the first stdout line); Ctrl-C stops it
    return 0;
} catch (std::exception const& e) {
    std::cerr << "agent_server: " << e.what() << "\n";
    return 1;
}
