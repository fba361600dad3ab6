// chatkit-cpp agents: MCP tools — listing (pagination, filter, cache), calls (bound arguments,
// cancellation, timeouts), results turned into tool outputs, and the names the model sees.
#include "mcp_detail.hpp"

#include <chatkit/core/media_type.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/serialize.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <set>
#include <utility>

namespace chatkit::agents {

namespace asio = boost::asio;
using namespace mcp_detail;

namespace {

using std::chrono::milliseconds;

bool valid_server_name(std::string_view name) {
    return !name.empty() && name.size() <= 32 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

bool valid_static_header(std::pair<std::string, std::string> const& h) {
    return is_http_token(h.first) && std::none_of(h.second.begin(), h.second.end(), [](char c) {
               auto const u = static_cast<unsigned char>(c);
               return (u < 0x20 && u != '\t') || u == 0x7f;
           });
}

std::string string_field(json::object const& o, std::string_view key, std::size_t max = 4096) {
    if (auto const* v = o.if_contains(key); v && v->is_string()) return std::string(v->get_string()).substr(0, max);
    return {};
}

/// A tool descriptor of a `tools/list` page, or nullopt when it is malformed.
std::optional<McpTool> read_tool(json::value const& v) {
    auto const* o = v.if_object();
    if (!o) return std::nullopt;
    McpTool t;
    t.name = string_field(*o, "name", 129);
    if (t.name.empty() || t.name.size() > 128) return std::nullopt;
    t.title = string_field(*o, "title", 256);
    t.description = string_field(*o, "description", 16384);
    if (auto const* a = o->if_contains("annotations"); a && a->is_object()) {
        t.annotations = a->get_object();
        if (t.title.empty()) t.title = string_field(t.annotations, "title", 256);
    }
    if (auto const* s = o->if_contains("inputSchema"); s && s->is_object()) t.input_schema = s->get_object();
    auto const* type = t.input_schema.if_contains("type");
    if (type && !(type->is_string() && type->get_string() == "object")) return std::nullopt;  // arguments are an object
    t.input_schema["type"] = "object";
    if (auto const* p = t.input_schema.if_contains("properties"); !p || !p->is_object())
        t.input_schema["properties"] = json::object{};
    return t;
}

/// Cuts `text` to at most `max` bytes at a UTF-8 boundary, with a note saying how much there was.
std::string bounded(std::string text, std::size_t max) {
    if (text.size() <= max) return text;
    std::size_t const total = text.size();
    std::size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text.resize(cut);
    text += "\n[output cut: the tool returned " + std::to_string(total) + " bytes]";
    return text;
}

std::string describe_binary(std::string_view kind, json::object const& part, std::string_view data_key) {
    std::string out = "[";
    out += kind;
    if (auto mime = string_field(part, "mimeType", 100); !mime.empty()) out += ": " + mime;
    if (auto const* d = part.if_contains(data_key); d && d->is_string())
        out += ", " + std::to_string(d->get_string().size() / 4 * 3) + " bytes";
    out += ", not shown]";
    return out;
}

/// The text of a `tools/call` result's content parts.
std::string content_text(json::array const& content) {
    std::string text;
    auto add = [&text](std::string piece) {
        if (!text.empty()) text += '\n';
        text += piece;
    };
    for (auto const& v : content) {
        auto const* part = v.if_object();
        if (!part) continue;
        auto const type = string_field(*part, "type", 64);
        if (type == "text") {
            if (auto const* t = part->if_contains("text"); t && t->is_string()) add(std::string(t->get_string()));
        } else if (type == "image" || type == "audio") {
            add(describe_binary(type, *part, "data"));
        } else if (type == "resource_link") {
            add("[resource link: " + string_field(*part, "name", 256) + " " + string_field(*part, "uri", 2048) + "]");
        } else if (type == "resource") {
            auto const* r = part->if_contains("resource");
            if (!r || !r->is_object()) continue;
            auto const& res = r->get_object();
            if (auto const* t = res.if_contains("text"); t && t->is_string()) add(std::string(t->get_string()));
            else add(describe_binary("resource " + string_field(res, "uri", 2048), res, "blob"));
        } else {
            add("[" + type + " content, not shown]");
        }
    }
    return text;
}

/// The schema the model sees: the tool's, without the bound arguments.
json::object model_schema(McpTool const& tool, std::vector<std::string> const& bound) {
    json::object schema = tool.input_schema;
    if (bound.empty()) return schema;
    if (auto* props = schema.if_contains("properties"); props && props->is_object())
        for (auto const& name : bound) props->get_object().erase(name);
    if (auto* req = schema.if_contains("required"); req && req->is_array()) {
        json::array kept;
        for (auto const& r : req->get_array())
            if (!r.is_string() || std::find(bound.begin(), bound.end(), std::string_view(r.get_string())) == bound.end())
                kept.push_back(r);
        *req = std::move(kept);
    }
    return schema;
}

/// The bound arguments `tool` declares.
std::vector<std::string> declared_bound(McpServerOptions const& o, McpTool const& tool) {
    std::vector<std::string> out;
    auto const* props = tool.input_schema.if_contains("properties");
    for (auto const& b : o.bound_arguments)
        if (props && props->is_object() && props->get_object().contains(b.name)) out.push_back(b.name);
    return out;
}

bool is_cancellation(std::exception_ptr const& e) {
    try {
        std::rethrow_exception(e);
    } catch (boost::system::system_error const& se) {
        return se.code() == asio::error::operation_aborted;
    } catch (...) {
        return false;
    }
}

std::string error_text(std::exception_ptr const& e) {
    try {
        std::rethrow_exception(e);
    } catch (std::exception const& x) {
        return x.what();
    } catch (...) {
        return "unknown error";
    }
}

task<void> observe(McpServerOptions const& o, ToolContextBase& ctx, McpCallEvent event) {
    if (o.on_call) co_await o.on_call(ctx, event);
}

/// Pages through `tools/list` on one session (filtered, bounded).
task<std::vector<McpTool>> fetch_tools(std::shared_ptr<McpServer::Impl> impl, SessionPtr s) {
    auto const& o = impl->options;
    std::vector<McpTool> tools;
    std::set<std::string> seen_cursors;
    std::optional<std::string> cursor;
    std::size_t dropped = 0;
    for (std::size_t page = 0;; ++page) {
        if (page >= o.limits.max_tool_pages) {
            impl->log(LogLevel::warning, "tools/list stopped after " + std::to_string(page) + " pages (limits.max_tool_pages)");
            break;
        }
        json::value params;
        if (cursor) {
            json::object p;
            p["cursor"] = *cursor;
            params = std::move(p);
        }
        std::string const method = "tools/list";
        json::value result = co_await impl->request(s, method, std::move(params), impl->next_id++, o.timeouts.request);
        auto const* r = result.if_object();
        auto const* list = r ? r->if_contains("tools") : nullptr;
        if (!list || !list->is_array()) throw McpError(McpError::Kind::protocol, impl->who() + " answered tools/list without a tool list");
        for (auto const& v : list->get_array()) {
            auto tool = read_tool(v);
            if (!tool) {
                impl->log(LogLevel::warning, "a malformed tool descriptor was ignored");
                continue;
            }
            if (!o.filter.allows(tool->name)) continue;
            if (tools.size() >= o.limits.max_tools) {
                ++dropped;
                continue;
            }
            tools.push_back(std::move(*tool));
        }
        auto const* next = r->if_contains("nextCursor");
        if (!next || !next->is_string() || next->get_string().empty()) break;
        std::string c(next->get_string());
        if (!seen_cursors.insert(c).second) break;  // a server repeating a cursor would loop forever
        cursor = std::move(c);
    }
    if (dropped) impl->log(LogLevel::warning, std::to_string(dropped) + " tools over limits.max_tools were ignored");
    co_return tools;
}

task<ToolOutput> call_impl(std::shared_ptr<McpServer::Impl> impl, ToolContextBase& ctx, std::string name, std::string title,
                           json::object arguments, std::vector<std::string> bound) {
    auto const& o = impl->options;
    for (auto const& b : o.bound_arguments) {
        if (std::find(bound.begin(), bound.end(), b.name) == bound.end()) continue;
        if (!b.value) throw McpError(McpError::Kind::config, impl->who() + ": bound argument " + b.name + " has no value function");
        arguments[b.name] = b.value(ctx);
    }
    McpCallEvent event;
    event.server = o.name;
    event.tool = name;
    event.title = title.empty() ? name : title;
    event.call_id = ctx.call_id();
    event.phase = McpCallEvent::Phase::started;
    co_await observe(o, ctx, event);

    std::exception_ptr failure;
    json::value result;
    try {
        Credentials credentials = co_await impl->credentials(ctx);
        json::object params;
        params["name"] = name;
        params["arguments"] = std::move(arguments);
        for (int attempt = 0;; ++attempt) {
            Lease lease = co_await impl->acquire(credentials);
            std::int64_t const id = impl->next_id++;
            std::exception_ptr e;
            bool expired = false;
            try {
                std::string const method = "tools/call";
                result = co_await impl->request(lease.get(), method, json::value(params), id, o.timeouts.tool_call);
            } catch (SessionExpired const&) {
                expired = true;
            } catch (McpError const& x) {
                if (x.kind == McpError::Kind::timeout) impl->cancel_in_background(lease.get(), id, "timed out");
                e = std::current_exception();
            } catch (...) {
                e = std::current_exception();
                if (is_cancellation(e)) impl->cancel_in_background(lease.get(), id, "cancelled by the client");
            }
            if (e) std::rethrow_exception(e);
            if (!expired) break;
            impl->forget(lease.get());
            if (attempt == 1) throw McpError(McpError::Kind::protocol, impl->who() + " lost two sessions in a row");
        }
    } catch (...) {
        failure = std::current_exception();
    }

    ToolOutput output;
    if (!failure) {
        try {
            auto const* r = result.if_object();
            if (!r) throw McpError(McpError::Kind::protocol, impl->who() + " answered tools/call without a result object");
            std::string text;
            if (auto const* c = r->if_contains("content"); c && c->is_array()) text = content_text(c->get_array());
            auto const* structured = r->if_contains("structuredContent");
            auto const* is_error = r->if_contains("isError");
            if (is_error && is_error->is_bool() && is_error->get_bool()) {
                throw McpError(McpError::Kind::tool,
                               bounded(text.empty() ? std::string("the tool reported an error") : text, o.limits.max_output_bytes));
            }
            if (text.empty() && structured && structured->is_object()) {
                std::string json_text = json::serialize(*structured);
                if (json_text.size() <= o.limits.max_output_bytes) output = ToolOutput(json::value(*structured));
                else output = ToolOutput(bounded(std::move(json_text), o.limits.max_output_bytes));
            } else {
                output = ToolOutput(bounded(std::move(text), o.limits.max_output_bytes));
            }
        } catch (...) {
            failure = std::current_exception();
        }
    }
    if (failure) {
        if (!is_cancellation(failure)) {
            event.phase = McpCallEvent::Phase::failed;
            event.error = error_text(failure);
            co_await observe(o, ctx, event);
        }
        std::rethrow_exception(failure);
    }
    event.phase = McpCallEvent::Phase::completed;
    co_await observe(o, ctx, event);
    co_return output;
}

task<std::vector<McpTool>> list_impl(std::shared_ptr<McpServer::Impl> impl, RunContextBase const& ctx) {
    auto const& o = impl->options;
    Credentials credentials = co_await impl->credentials(ctx);
    for (int attempt = 0;; ++attempt) {
        Lease lease = co_await impl->acquire(credentials);
        std::uint64_t generation = 0;
        {
            std::lock_guard lock(impl->mutex);
            generation = impl->tools_generation;
            if (o.cache_tools_list && lease->tools && lease->tools_generation == generation) {
                std::vector<McpTool> cached = *lease->tools;
                co_return cached;
            }
        }
        bool expired = false;
        std::vector<McpTool> tools;
        try {
            tools = co_await fetch_tools(impl, lease.get());
        } catch (SessionExpired const&) {
            expired = true;
        }
        if (!expired) {
            std::lock_guard lock(impl->mutex);
            lease->tools = tools;
            lease->tools_generation = generation;  // a change announced meanwhile makes it stale at once
            co_return tools;
        }
        impl->forget(lease.get());
        if (attempt == 1) throw McpError(McpError::Kind::protocol, impl->who() + " lost two sessions in a row");
    }
}

std::string model_name_of(std::string_view text) {
    std::string out;
    for (char c : text) {
        bool const ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        out += ok ? c : '_';
        if (out.size() == 64) break;
    }
    return out;
}

task<void> close_all(std::shared_ptr<McpServer::Impl> impl) {
    std::vector<SessionPtr> all;
    {
        std::lock_guard lock(impl->mutex);
        for (auto& [key, s] : impl->sessions) {
            s->cached = false;
            if (s->in_use == 0) {
                s->closed = true;
                all.push_back(s);
            }  // busy ones close when their lease ends
        }
        impl->sessions.clear();
    }
    if (all.empty()) co_return;
    // All deletions at once: a slow or hung MCP server costs one request timeout, not one per session.
    // Cancelling close() cancels the group, which cancels every deletion still in flight.
    using CloseOp = decltype(asio::co_spawn(all.front()->executor, impl->close_session(all.front()), asio::deferred));
    std::vector<CloseOp> ops;
    ops.reserve(all.size());
    for (auto& s : all) ops.push_back(asio::co_spawn(s->executor, impl->close_session(s), asio::deferred));
    auto group = asio::experimental::make_parallel_group(std::move(ops));
    auto [order, failures] = co_await group.async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    for (auto const& failure : failures)
        if (failure) std::rethrow_exception(failure);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

bool McpToolFilter::allows(std::string_view name) const {
    if (!allow.empty() && std::find(allow.begin(), allow.end(), name) == allow.end()) return false;
    return std::find(deny.begin(), deny.end(), name) == deny.end();
}

McpServer::Impl::Impl(McpServerOptions o) : options(std::move(o)) {
    using K = McpError::Kind;
    if (!valid_server_name(options.name))
        throw McpError(K::config, "MCP server name must be 1-32 letters, digits, '_' or '-'");
    if (!options.transport) throw McpError(K::config, who() + ": options.transport is required");
    try {
        url = Url::parse(options.url);
    } catch (chatkit::Error const&) {
        throw McpError(K::config, who() + ": options.url is not an absolute http(s) URL");
    }
    if (std::find(std::begin(mcp_protocol_versions), std::end(mcp_protocol_versions), options.protocol_version) ==
        std::end(mcp_protocol_versions))
        throw McpError(K::config, who() + ": protocol version " + options.protocol_version + " is not supported");
    for (auto const& h : options.headers)
        if (!valid_static_header(h)) throw McpError(K::config, who() + ": options.headers has an invalid header");
    for (auto const& b : options.bound_arguments)
        if (b.name.empty() || !b.value) throw McpError(K::config, who() + ": a bound argument needs a name and a value function");
    if (options.limits.max_sessions == 0 || options.limits.max_message_bytes == 0 || options.limits.max_tool_pages == 0)
        throw McpError(K::config, who() + ": limits must be positive");
}

std::shared_ptr<McpServer> McpServer::create(McpServerOptions options) {
    auto impl = std::make_shared<Impl>(std::move(options));
    return std::shared_ptr<McpServer>(new McpServer(std::move(impl)));
}

McpServer::McpServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

McpServer::~McpServer() {
    // Nothing is posted from here: the executors that opened the sessions may be gone already (an
    // application's McpServer often outlives its io_context). Sessions are abandoned without DELETE
    // (close() sends it); change listeners see their session closed at their next chunk and end.
    std::lock_guard lock(impl_->mutex);
    for (auto& [key, s] : impl_->sessions) {
        s->cached = false;
        s->closed = true;
    }
    impl_->sessions.clear();
}

McpServerOptions const& McpServer::options() const noexcept { return impl_->options; }

task<std::vector<McpTool>> McpServer::list_tools(RunContextBase const& ctx) { return list_impl(impl_, ctx); }

task<ToolOutput> McpServer::call_tool(ToolContextBase& ctx, std::string name, json::object arguments) {
    std::vector<std::string> all;
    for (auto const& b : impl_->options.bound_arguments) all.push_back(b.name);
    return call_impl(impl_, ctx, std::move(name), {}, std::move(arguments), std::move(all));
}

FunctionTool McpServer::function_tool(McpTool const& tool, std::string model_name) const {
    auto bound = declared_bound(impl_->options, tool);
    FunctionTool t;
    t.name = std::move(model_name);
    t.description = tool.description.empty() ? tool.title : tool.description;
    t.parameters = model_schema(tool, bound);
    t.strict = false;
    t.invoke = [impl = impl_, name = tool.name, title = tool.title, bound](ToolContextBase& ctx, json::object const& args) {
        return call_impl(impl, ctx, name, title, args, bound);
    };
    return t;
}

void McpServer::invalidate_tools_cache() noexcept { impl_->tools_changed(); }

task<void> McpServer::close() { return close_all(impl_); }

std::size_t McpServer::session_count() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->sessions.size();
}

// ---------------------------------------------------------------------------------------------

namespace detail {

std::vector<FunctionTool> mcp_function_tools(std::vector<McpListing> const& listings, std::vector<std::string> const& taken) {
    std::set<std::string, std::less<>> used(taken.begin(), taken.end());
    std::vector<FunctionTool> out;
    for (auto const& listing : listings) {
        auto const& o = listing.server->options();
        for (auto const& tool : listing.tools) {
            std::string const plain = model_name_of(tool.name);
            std::string const prefixed = model_name_of(o.name + "__" + tool.name);
            std::string name;
            switch (o.naming) {
                case McpToolNaming::keep: name = plain; break;
                case McpToolNaming::prefix: name = prefixed; break;
                case McpToolNaming::prefix_on_clash: name = used.contains(plain) ? prefixed : plain; break;
            }
            if (!used.insert(name).second) {
                o.logger.log(LogLevel::warning, "MCP server " + o.name + ": tool " + tool.name +
                                                    " left out: another tool of the agent is named " + name);
                continue;
            }
            out.push_back(listing.server->function_tool(tool, std::move(name)));
        }
    }
    return out;
}

task<std::vector<McpListing>> list_mcp_tools(std::vector<std::shared_ptr<McpServer>> servers, RunContextBase const& ctx) {
    std::vector<McpListing> out;
    for (auto& server : servers) {
        if (!server) continue;
        std::exception_ptr failure;
        std::vector<McpTool> tools;
        try {
            tools = co_await server->list_tools(ctx);
        } catch (...) {
            failure = std::current_exception();
        }
        if (failure) {
            if (is_cancellation(failure) || server->options().required) std::rethrow_exception(failure);
            server->options().logger.log(LogLevel::warning, "MCP server " + server->options().name +
                                                                 ": its tools are left out of this turn: " + error_text(failure));
            continue;
        }
        McpListing listing;
        listing.server = server;
        listing.tools = std::move(tools);
        out.push_back(std::move(listing));
    }
    co_return out;
}

}  // namespace detail

}  // namespace chatkit::agents
