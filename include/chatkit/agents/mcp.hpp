// chatkit-cpp agents: tools of MCP servers (Model Context Protocol, Streamable HTTP transport,
// revisions 2025-11-25 and 2025-06-18), called with the credentials of each request.
//
// One configured `McpServer` serves every user: a header provider turns the run's context into the
// headers of that user (`Authorization`, tenant headers), MCP sessions are keyed by those headers
// (never shared between users), and bound arguments fill tool arguments (a `user_id`) from the
// context instead of asking the model. Nothing of it enters a prompt.
#pragma once

#include <chatkit/agents/tool.hpp>
#include <chatkit/core/logging.hpp>
#include <chatkit/core/transport.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatkit::agents {

/// The MCP protocol revisions this client speaks, newest first. `initialize` offers
/// `McpServerOptions::protocol_version` and accepts any of these in the answer.
inline constexpr std::string_view mcp_protocol_versions[] = {"2025-11-25", "2025-06-18"};

/// Gives the headers of one request from the run's context: the user's `Authorization`, a tenant
/// header... Awaited once per operation (listing the tools of a turn, one tool call); its headers go
/// on every HTTP request of that operation, and the session it uses is the one of exactly these
/// headers. It may await (a token exchange, a cache). Header names must be HTTP tokens and values
/// free of control characters; the transport's own headers (`Content-Type`, `Accept`, `Host`,
/// `Content-Length`, `Mcp-Session-Id`, `MCP-Protocol-Version`, `Last-Event-ID`, ...) are refused.
///
/// @par Cancellation and lifetimes
/// Runs on the run's executor inside the tool call or the turn; cancelled with it. The context it
/// receives lives until its awaitable completes.
using McpHeaderProvider = std::function<task<Headers>(RunContextBase const&)>;

/// A tool argument filled from the run's context instead of by the model: removed from the schema
/// the model sees (`properties` and `required`) and set on every call of a tool whose input schema
/// declares it, replacing whatever the model sent.
struct McpBoundArgument {
    std::string name;                                       ///< the argument (a top-level property)
    std::function<json::value(RunContextBase const&)> value;  ///< its value for this run
};

/// Which tools of a server the model is offered, by MCP tool name.
struct McpToolFilter {
    std::vector<std::string> allow;  ///< when not empty, only these
    std::vector<std::string> deny;   ///< never these

    /// Whether the tool `name` passes the filter.
    CHATKIT_API bool allows(std::string_view name) const;
};

/// How MCP tool names become function tool names.
enum class McpToolNaming {
    /// The MCP name, or `<server name>__<tool name>` when another tool of the agent (a function tool,
    /// a handoff, a tool of another server listed before this one) already has that name.
    prefix_on_clash,
    /// Always `<server name>__<tool name>`.
    prefix,
    /// Always the MCP name; a clashing tool is left out (and logged).
    keep,
};

/// Bounds of one `McpServer`. Every list and size the client reads from a server is bounded.
struct McpLimits {
    /// `tools/list` pages followed (`nextCursor`) for one listing.
    std::size_t max_tool_pages = 16;
    /// Tools taken from one listing; later ones are ignored (and logged).
    std::size_t max_tools = 128;
    /// One JSON-RPC message: a JSON response body, or the data of one SSE event.
    std::size_t max_message_bytes = 4 * 1024 * 1024;
    /// Messages read from one SSE response (notifications, server requests, then the answer).
    std::size_t max_stream_messages = 1000;
    /// Bytes read from one SSE response (all its events together).
    std::size_t max_stream_bytes = 16 * 1024 * 1024;
    /// Characters of tool output given to the model; the rest is cut with a note.
    std::size_t max_output_bytes = 64 * 1024;
    /// Sessions kept open (one per distinct set of credential headers); the least recently used idle
    /// one is closed to make room, and a request finding every session busy uses a session of its
    /// own that is closed after it.
    std::size_t max_sessions = 128;
    /// A session unused this long is closed (`DELETE`) the next time the server is used.
    std::chrono::seconds session_idle_timeout{300};
    /// Reconnections (`GET` with `Last-Event-ID`) to resume one answer after the server closed its
    /// stream early (2025-11-25 polling).
    std::size_t max_resumptions = 5;
    /// The longest `retry:` delay honoured before resuming a stream (a larger one fails the request).
    std::chrono::milliseconds max_retry_delay{10000};
};

/// Timeouts of one `McpServer`.
struct McpTimeouts {
    /// Resolve, connect and TLS handshake of each HTTP request.
    std::chrono::milliseconds connect{10000};
    /// Each request that is not a tool call (`initialize`, `tools/list`, notifications, `DELETE`),
    /// from connect to last byte.
    std::chrono::milliseconds request{30000};
    /// One `tools/call`, resumptions included. When it passes, the server is sent
    /// `notifications/cancelled` and the model gets a timeout error.
    std::chrono::milliseconds tool_call{120000};
    /// Silence after which the change listener (`GET` stream) reconnects.
    std::chrono::milliseconds listen_idle{300000};
};

/// A tool call, as `McpServerOptions::on_call` sees it: once when it starts, once when it ends.
struct McpCallEvent {
    /// Where the call is: started, then completed or failed (a cancelled call ends without either).
    enum class Phase {
        started,    ///< the call is about to be sent
        completed,  ///< the server answered with a result
        failed,     ///< a tool error, a protocol or transport failure, a timeout (not cancellation)
    } phase = Phase::started;  ///< which of the two moments this event reports
    std::string server;  ///< `McpServerOptions::name`
    std::string tool;    ///< the MCP tool name
    std::string title;   ///< the tool's `title` (or its annotations' title), else its name
    std::string call_id; ///< the model's call id
    std::string error;   ///< `failed`: what the model is told
};

/// Observes the tool calls of a server (e.g. to show them as workflow tasks: see
/// `mcp_workflow_tasks` in <chatkit/agents/chatkit/mcp.hpp>). Awaited on the run's executor;
/// the tool context lives until the awaitable completes. An exception from it fails the call.
using McpCallObserver = std::function<task<void>(ToolContextBase&, McpCallEvent const&)>;

/// The configuration of an MCP server: where it is, how each request's credentials are made, which
/// tools are offered, and the bounds of everything read from it.
struct McpServerOptions {
    /// A short name: the prefix of clashing tool names (`<name>__<tool>`) and the name in errors and
    /// logs. Letters, digits, `_` and `-`, at most 32 characters.
    std::string name = "mcp";
    /// The MCP endpoint, an absolute http(s) URL.
    std::string url;
    /// The HTTP client (e.g. `std::make_shared<chatkit::http::HttpClient>()`); required.
    std::shared_ptr<Transport> transport;
    /// Headers sent on every request whatever the user (an API key of the server itself).
    Headers headers;
    /// The headers of each request's user (see `McpHeaderProvider`); empty: every run shares the
    /// static `headers` and so one session.
    McpHeaderProvider header_provider;
    /// Arguments filled from the context (see `McpBoundArgument`).
    std::vector<McpBoundArgument> bound_arguments;
    /// Which tools are offered.
    McpToolFilter filter;
    /// How tool names are formed.
    McpToolNaming naming = McpToolNaming::prefix_on_clash;
    /// Keep each session's tool list until the server says it changed
    /// (`notifications/tools/list_changed`); false lists the tools before every turn.
    bool cache_tools_list = true;
    /// Keep a `GET` stream open per session when the server announces `tools.listChanged`, so its
    /// change notifications arrive between requests too.
    bool listen_for_changes = true;
    /// A failed `tools/list` fails the run. Default: the server's tools are left out of that turn
    /// (logged), and the run goes on without them.
    bool required = false;
    /// The revision offered at `initialize` (one of `mcp_protocol_versions`).
    std::string protocol_version = std::string(mcp_protocol_versions[0]);
    /// `clientInfo` sent at `initialize`.
    std::string client_name = "chatkit-cpp";
    std::string client_version = "0.1.0";  ///< `clientInfo.version` sent at `initialize`
    McpLimits limits;      ///< bounds on what the server may send (sizes, list lengths, pages)
    McpTimeouts timeouts;  ///< deadlines of the connection, each request and each tool call
    /// Observes every tool call (see `McpCallObserver`).
    McpCallObserver on_call;
    /// Where failures the model does not see go (a server left out of a turn, dropped tools...).
    Logger logger;
};

/// A tool as an MCP server describes it.
struct McpTool {
    std::string name;         ///< the MCP name
    std::string title;        ///< `title` or `annotations.title` (may be empty)
    std::string description;     ///< `description` (may be empty); offered to the model as is
    json::object input_schema;   ///< `inputSchema` as the server sent it
    json::object annotations;    ///< `annotations` (hints), may be empty
};

/// The error of an MCP operation. Its message is what the model is told when a call fails, so it
/// never contains a header value or a response body beyond the server's own error message. Its
/// code is one of the agents block of `chatkit::error`, one per `Kind` (`mcp_misconfigured`,
/// `mcp_unreachable`, `mcp_timeout`, `mcp_http_error`, `mcp_protocol_violation`, `mcp_rpc_error`,
/// `mcp_tool_error`).
class CHATKIT_API McpError : public Error {
public:
    /// What failed.
    enum class Kind {
        config,     ///< the options or the header provider's headers are invalid
        transport,  ///< the server could not be reached or the connection failed
        timeout,    ///< a request took longer than its timeout
        http,       ///< the server answered with an HTTP error status
        protocol,   ///< the answer is not valid MCP (JSON-RPC, SSE, content type, version, sizes)
        rpc,        ///< the server answered with a JSON-RPC error
        tool,       ///< the tool ran and reported an error (`isError`)
    };
    /// An error of kind `what` (its code is `code_of(what)`).
    McpError(Kind what, std::string message, int status = 0, std::int64_t code = 0)
        : Error(code_of(what), std::move(message)), kind(what), http_status(status), rpc_code(code) {}

    /// The `chatkit::error` code of a kind.
    static constexpr error code_of(Kind what) noexcept {
        switch (what) {
            case Kind::config: return error::mcp_misconfigured;
            case Kind::transport: return error::mcp_unreachable;
            case Kind::timeout: return error::mcp_timeout;
            case Kind::http: return error::mcp_http_error;
            case Kind::protocol: return error::mcp_protocol_violation;
            case Kind::rpc: return error::mcp_rpc_error;
            case Kind::tool: return error::mcp_tool_error;
        }
        return error::mcp_protocol_violation;
    }

    Kind kind;                 ///< what failed (see `Kind`); `code()` is its chatkit error code
    int http_status = 0;       ///< `http`: the status
    std::int64_t rpc_code = 0; ///< `rpc`: the JSON-RPC error code
};

/// One MCP server used by agents (`Agent::mcp_servers`). Create it once with `McpServer::create`
/// and share it between agents, runs and threads: it keeps one MCP session per distinct set of
/// credential headers, each with its tool list.
///
/// The runner lists the tools before every turn (`function_tools`), through the session of the
/// run's credentials; the tools it returns call the server through the session of the credentials
/// of the run that calls them.
///
/// @par Failures
/// A failing call (server unreachable, HTTP error, JSON-RPC error, `isError` result, timeout)
/// throws `McpError`, which the runner gives the model as the tool's error output. A session the
/// server no longer knows (HTTP 404) is initialised again, once per request.
///
/// @par Cancellation
/// Every coroutine honours the awaiting coroutine's cancellation slot (terminal): the HTTP request is
/// abandoned and `operation_aborted` propagates. A cancelled `tools/call` also sends the server
/// `notifications/cancelled` with the request's id, from a detached coroutine.
///
/// @par Thread safety
/// One server may be used from any number of coroutines and threads at once.
///
/// @par Executors and lifetimes
/// A session's background work (its change listener, its `DELETE` when it is evicted or expires, a
/// `notifications/cancelled`) runs on a strand of the executor of the request that opened it; that
/// execution context must run until `close()` has completed. Call `close()` before the application
/// stops its io_context (e.g. from `http::Server::on_stop`). Destroying a server posts nothing: its
/// sessions are abandoned without `DELETE` (the MCP server expires them) and its change listeners end
/// at their next keep-alive or after `timeouts.listen_idle`.
class CHATKIT_API McpServer {
public:
    /// Checks the options (a transport, an absolute http(s) URL, a valid name and protocol version,
    /// well-formed static headers) and throws `McpError(config)` otherwise. Nothing is sent yet.
    static std::shared_ptr<McpServer> create(McpServerOptions options);
    ~McpServer();
    McpServer(McpServer const&) = delete;
    McpServer& operator=(McpServer const&) = delete;

    /// The options it was created with.
    McpServerOptions const& options() const noexcept;

    /// The tools the server offers to the credentials of `ctx` (after the filter), from the session's
    /// cache when it is valid. Throws `McpError`.
    /// @par Cancellation and lifetimes
    /// `ctx` must outlive the awaitable; cancellation as in the class comment.
    task<std::vector<McpTool>> list_tools(RunContextBase const& ctx);

    /// Calls tool `name` with `arguments` (bound arguments are set here) with the credentials of
    /// `ctx`, and turns the result into the tool's output: text parts joined, images and other
    /// binary parts described, `structuredContent` as JSON when there is no text; at most
    /// `limits.max_output_bytes`. An `isError` result throws `McpError(tool)` with its text.
    /// @par Cancellation and lifetimes
    /// `ctx` must outlive the awaitable; cancellation as in the class comment.
    task<ToolOutput> call_tool(ToolContextBase& ctx, std::string name, json::object arguments);

    /// The function tools of one listing: schemas without bound arguments, non-strict, named
    /// `model_name` (see `McpToolNaming`), each calling `call_tool` on this server.
    FunctionTool function_tool(McpTool const& tool, std::string model_name) const;

    /// Forgets every cached tool list (the next turn lists again).
    void invalidate_tools_cache() noexcept;

    /// Closes every session (`DELETE`, change listeners stopped) and waits for the deletions, which
    /// run at the same time, each bounded by `timeouts.request` (so a hung server delays it by one
    /// request timeout); a session busy with a call is closed when the call ends. Later use opens
    /// new sessions.
    /// @par Cancellation
    /// Honours the awaiting coroutine's cancellation slot (the deletions in flight are cancelled).
    task<void> close();

    /// Sessions currently kept (for tests and monitoring).
    std::size_t session_count() const;

    struct Impl;

private:
    explicit McpServer(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

namespace detail {

/// One server's listing for a turn, as the runner gathers them.
struct McpListing {
    std::shared_ptr<McpServer> server;
    std::vector<McpTool> tools;
};

/// The MCP tools of a turn as function tools, named by each server's `McpToolNaming` so that no
/// name repeats one of `taken` (the agent's function tools and handoffs) or an earlier tool. Names
/// are made valid for model APIs (`[A-Za-z0-9_-]`, at most 64 characters).
CHATKIT_API std::vector<FunctionTool> mcp_function_tools(std::vector<McpListing> const& listings,
                                                         std::vector<std::string> const& taken);

/// Lists the tools of every server of a turn; a server that fails is logged and left out, unless it
/// is `required` (then its error propagates).
CHATKIT_API task<std::vector<McpListing>> list_mcp_tools(std::vector<std::shared_ptr<McpServer>> servers,
                                                         RunContextBase const& ctx);

}  // namespace detail

}  // namespace chatkit::agents
