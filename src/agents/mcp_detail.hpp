// chatkit-cpp agents: what the MCP client's sources share (src/agents/mcp_session.cpp: sessions and
// the Streamable HTTP exchange; src/agents/mcp.cpp: tools, results, naming, the public API).
#pragma once

#include <chatkit/agents/mcp.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace chatkit::agents::mcp_detail {

using clock = std::chrono::steady_clock;

/// The credential headers of one operation and the session key made of them.
struct Credentials {
    Headers headers;  ///< static headers + the provider's, as sent
    std::string key;  ///< canonical form: one session per distinct key
};

/// One MCP session: the credentials it was opened with, the server's session id and revision, its
/// cached tool list. Mutable fields are guarded by `Impl::mutex`.
struct Session {
    std::string key;
    Headers headers;
    boost::asio::any_io_executor executor;  ///< a strand: background work (listener, close) runs there
    std::string id;                         ///< `Mcp-Session-Id` (empty: the server keeps none)
    std::string version;                    ///< negotiated protocol revision
    bool list_changed = false;              ///< the server announced `tools.listChanged`

    // Guarded by Impl::mutex.
    std::optional<std::vector<McpTool>> tools;
    std::uint64_t tools_generation = 0;
    clock::time_point last_used = clock::now();
    int in_use = 0;
    bool cached = false;     ///< held by Impl::sessions
    bool closed = false;     ///< closed or forgotten: never handed out again
    std::shared_ptr<boost::asio::cancellation_signal> listener;  ///< set while a listener runs
};
using SessionPtr = std::shared_ptr<Session>;

/// Thrown inside the client when the server answered 404 to a request carrying a session id: the
/// session is gone and a new one must be initialised.
struct SessionExpired {};

/// A session in use by one operation; released (and closed when it was not cached) on destruction.
class Lease {
public:
    Lease(std::shared_ptr<McpServer::Impl> impl, SessionPtr session) : impl_(std::move(impl)), session_(std::move(session)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    Lease(Lease const&) = delete;
    ~Lease();
    Session& operator*() const noexcept { return *session_; }
    Session* operator->() const noexcept { return session_.get(); }
    SessionPtr const& get() const noexcept { return session_; }

private:
    std::shared_ptr<McpServer::Impl> impl_;
    SessionPtr session_;
};

}  // namespace chatkit::agents::mcp_detail

namespace chatkit::agents {

/// The state shared by an `McpServer`, its function tools and its background coroutines.
struct McpServer::Impl : std::enable_shared_from_this<McpServer::Impl> {
    explicit Impl(McpServerOptions o);

    McpServerOptions options;
    Url url;

    mutable std::mutex mutex;
    std::map<std::string, mcp_detail::SessionPtr, std::less<>> sessions;  // by credentials key
    std::uint64_t tools_generation = 1;  // bumped by list_changed: cached lists older than it are stale
    std::atomic<std::int64_t> next_id{1};

    // --- credentials and sessions (mcp_session.cpp) ---
    /// Static headers + the provider's for `ctx`, checked, with their session key.
    task<mcp_detail::Credentials> credentials(RunContextBase const& ctx);
    /// The session of `credentials`, initialised on first use; in use until the lease is destroyed.
    task<mcp_detail::Lease> acquire(mcp_detail::Credentials credentials);
    /// A session the server no longer knows: never handed out again.
    void forget(mcp_detail::SessionPtr const& session);
    /// Ends a lease (see Lease).
    void release(mcp_detail::SessionPtr const& session) noexcept;
    /// Stops the session's listener and sends `DELETE` from a detached coroutine.
    void close_in_background(mcp_detail::SessionPtr session) noexcept;
    /// Stops the listener and sends `DELETE` (errors ignored).
    task<void> close_session(mcp_detail::SessionPtr session);
    /// Marks every cached tool list stale.
    void tools_changed() noexcept;

    // --- the exchange (mcp_session.cpp) ---
    /// Sends one JSON-RPC request on `session` and returns its `result`. Throws McpError,
    /// SessionExpired, or operation_aborted when cancelled.
    task<json::value> request(mcp_detail::SessionPtr session, std::string method, json::value params, std::int64_t id,
                              std::chrono::milliseconds timeout);
    /// Sends one notification (or a response to a server request); expects 2xx.
    task<void> notify(mcp_detail::SessionPtr session, json::object message);
    /// Sends `notifications/cancelled` for request `id` from a detached coroutine.
    void cancel_in_background(mcp_detail::SessionPtr session, std::int64_t id, std::string reason) noexcept;

    void log(LogLevel level, std::string const& message) const noexcept;
    /// `MCP server <name>`, the start of every error message.
    std::string who() const { return "MCP server " + options.name; }
};

}  // namespace chatkit::agents
