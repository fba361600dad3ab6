// chatkit-cpp HTTP layer (template bodies): the transport adapter over a Beast stream and serve().
//
// serve() is a thin template: it wraps the stream in `stream_transport<AsyncStream>` (the only code
// that depends on the stream type), the server and factory in `bound_handler<Context>` (the only code
// that depends on the context type), and hands both to the compiled `serve_core` in src/http/server.cpp.
// `stream_transport` is explicitly instantiated there for `beast::tcp_stream` and
// `beast::ssl_stream<beast::tcp_stream>`, so applications using those streams compile no Beast
// write or read machinery of their own.
#pragma once

#include <chatkit/http/serve.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/system/error_code.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace chatkit::http::detail {

/// What serve() needs from the request line and header, whatever the request's body and fields types.
struct request_line {
    beast::http::verb method = beast::http::verb::unknown;
    unsigned version = 11;
    bool keep_alive = true;
};

/// The I/O serve() performs on one connection, behind a compiled interface. Every operation
/// reports failures as an error_code (never throws for I/O errors).
class transport {
public:
    virtual ~transport() = default;

    /// Writes a complete response.
    virtual asio::awaitable<boost::system::error_code> write(
        beast::http::response<beast::http::string_body>& message) = 0;
    /// Writes `buffers` in order as one write (a gathered `sendmsg` on a plain socket): the
    /// already framed bytes of a streamed response (its head, chunks, the last chunk).
    virtual asio::awaitable<boost::system::error_code> write_bytes(std::span<asio::const_buffer const> buffers) = 0;
    /// Reads at most `max_bytes` (and at least one) into `buffer`.
    virtual asio::awaitable<boost::system::error_code> read_some(beast::flat_buffer& buffer,
                                                                 std::size_t max_bytes) = 0;
    /// Arms (a duration) or disarms (nullopt) the timeout of the operations started next, on streams
    /// whose lowest layer is a `beast::basic_stream`; a no-op on others. Only directions without a
    /// pending operation are affected (Beast's rule), so a pending read keeps having no timeout.
    virtual void set_timeout(std::optional<std::chrono::milliseconds> timeout) = 0;
};

/// A stream whose lowest layer has Beast's timeouts.
template <class T>
concept timeout_stream = requires(T& s) {
    s.expires_never();
    s.expires_after(std::chrono::milliseconds(1));
};

/// A stream whose lowest layer has an IP socket.
template <class T>
concept ip_socket_stream = requires(T& s, boost::system::error_code& ec) {
    s.socket().remote_endpoint(ec).address();
    s.socket().remote_endpoint(ec).port();
};

/// The transport over one concrete stream type.
template <class AsyncStream>
class stream_transport final : public transport {
public:
    explicit stream_transport(AsyncStream& stream) noexcept : stream_(stream) {}

    asio::awaitable<boost::system::error_code> write(
        beast::http::response<beast::http::string_body>& message) override {
        auto [ec, n] =
            co_await beast::http::async_write(stream_, message, asio::as_tuple(asio::use_awaitable));
        (void)n;
        co_return ec;
    }

    asio::awaitable<boost::system::error_code> write_bytes(std::span<asio::const_buffer const> buffers) override {
        auto [ec, n] = co_await asio::async_write(stream_, buffers, asio::as_tuple(asio::use_awaitable));
        (void)n;
        co_return ec;
    }

    asio::awaitable<boost::system::error_code> read_some(beast::flat_buffer& buffer,
                                                         std::size_t max_bytes) override {
        std::size_t const room = std::min({max_bytes, buffer.max_size() - buffer.size(), std::size_t{16384}});
        auto space = buffer.prepare(std::max<std::size_t>(room, 1));
        auto [ec, n] = co_await stream_.async_read_some(space, asio::as_tuple(asio::use_awaitable));
        buffer.commit(n);
        co_return ec;
    }

    void set_timeout(std::optional<std::chrono::milliseconds> timeout) override {
        auto& lowest = beast::get_lowest_layer(stream_);
        if constexpr (timeout_stream<std::remove_reference_t<decltype(lowest)>>) {
            if (timeout)
                lowest.expires_after(*timeout);
            else
                lowest.expires_never();
        } else {
            (void)lowest;
            (void)timeout;
        }
    }

private:
    AsyncStream& stream_;
};

// The two streams the bundled listener uses are compiled once, in src/http/server.cpp.
extern template class CHATKIT_API stream_transport<beast::tcp_stream>;
extern template class CHATKIT_API stream_transport<beast::ssl_stream<beast::tcp_stream>>;

/// One request's view of a ChatKit server and its context factory (the context-typed part of serve()).
class request_handler {
public:
    virtual ~request_handler() = default;

    /// Builds the context with the factory (which may throw), then starts `process()`.
    /// `request` is moved from.
    virtual asio::awaitable<Response> handle(ChatKitRequest& request, RequestInfo const& info) = 0;
    /// Builds the context with the factory (which may throw), then starts `resume()` of the thread's
    /// run from event `*after`, or `cancel_run()` when `after` is empty.
    virtual asio::awaitable<Response> handle_run(std::string thread_id, std::optional<std::uint64_t> after,
                                                 RequestInfo const& info) = 0;
    /// The server's logger.
    virtual Logger const& logger() const noexcept = 0;
    /// Requests cancellation of the server's active runs (shutdown).
    virtual void cancel_runs() = 0;
};

/// The request_handler of a `ChatKitServer<Context>` and a factory, both referenced (not owned).
template <class Context>
class bound_handler final : public request_handler {
public:
    bound_handler(ChatKitServer<Context>& server, ContextFactory<Context> const& factory) noexcept
        : server_(server), factory_(factory) {}

    asio::awaitable<Response> handle(ChatKitRequest& request, RequestInfo const& info) override {
        Context ctx = factory_(info);
        return server_.process(std::move(request), std::move(ctx));
    }

    asio::awaitable<Response> handle_run(std::string thread_id, std::optional<std::uint64_t> after,
                                         RequestInfo const& info) override {
        Context ctx = factory_(info);
        if (after) return server_.resume(std::move(thread_id), *after, std::move(ctx));
        return server_.cancel_run(std::move(thread_id), std::move(ctx));
    }

    Logger const& logger() const noexcept override { return server_.logger(); }
    void cancel_runs() override { server_.cancel_runs(); }

private:
    ChatKitServer<Context>& server_;
    ContextFactory<Context> const& factory_;
};

/// The stream-independent part of serve() (src/http/server.cpp). `info.request` is set during the factory call.
CHATKIT_API asio::awaitable<bool> serve_core(transport& stream, beast::flat_buffer& buffer, RequestInfo& info,
                                             std::string_view body, request_line line,
                                             request_handler& handler, ServeOptions const& options);

/// `ip:port`, or `[ip]:port` for IPv6.
CHATKIT_API std::string format_endpoint(asio::ip::address const& address, unsigned short port);

/// Default-constructed ServeOptions with static storage duration.
CHATKIT_API ServeOptions const& default_serve_options() noexcept;

/// The peer of a stream with an IP socket underneath, else empty.
template <class Stream>
std::string remote_endpoint_of(Stream& stream) {
    auto& lowest = beast::get_lowest_layer(stream);
    if constexpr (ip_socket_stream<std::remove_reference_t<decltype(lowest)>>) {
        boost::system::error_code ec;
        auto endpoint = lowest.socket().remote_endpoint(ec);
        if (!ec) return format_endpoint(endpoint.address(), endpoint.port());
    } else {
        (void)lowest;
    }
    return {};
}

/// A body value stored as contiguous bytes (`std::vector<char>`, `std::array`...).
template <class T>
concept contiguous_bytes = requires(T const& t) {
    std::data(t);
    std::size(t);
}
&&sizeof(*std::data(std::declval<T const&>())) == 1;

/// The text of a request body: a view of string and contiguous bodies, a copy (in `owned`) of
/// dynamic-buffer bodies (`dynamic_body`, `flat_buffer`...).
template <class Value>
std::string_view body_text(Value const& body, std::string& owned) {
    if constexpr (std::is_convertible_v<Value const&, std::string_view>) {
        return std::string_view(body);
    } else if constexpr (contiguous_bytes<Value>) {
        return {reinterpret_cast<char const*>(std::data(body)), std::size(body)};
    } else {
        owned = beast::buffers_to_string(body.data());
        return owned;
    }
}

}  // namespace chatkit::http::detail

namespace chatkit::http {

template <class Context, class AsyncStream, class Body, class Allocator>
asio::awaitable<bool> serve(ChatKitServer<Context>& server, AsyncStream& stream, beast::flat_buffer& buffer,
                            beast::http::request<Body, beast::http::basic_fields<Allocator>> const& request,
                            std::type_identity_t<ContextFactory<Context>> const& factory,
                            ServeOptions const& options) {
    detail::stream_transport<AsyncStream> transport(stream);
    detail::bound_handler<Context> handler(server, factory);

    RequestInfo info;
    info.method = request.method();
    info.target = request.target();
    info.remote_endpoint = detail::remote_endpoint_of(stream);
    beast::http::fields copied;
    if constexpr (std::is_same_v<beast::http::basic_fields<Allocator>, beast::http::fields>) {
        info.fields = &request.base();
    } else {
        for (auto const& field : request.base())
            copied.insert(field.name_string(), field.value());
        info.fields = &copied;
    }

    std::string owned;
    std::string_view const body = detail::body_text(request.body(), owned);
    detail::request_line const line{request.method(), request.version(), request.keep_alive()};
    co_return co_await detail::serve_core(transport, buffer, info, body, line, handler, options);
}

template <class Context, class AsyncStream, class Body, class Allocator>
asio::awaitable<bool> serve(ChatKitServer<Context>& server, AsyncStream& stream, beast::flat_buffer& buffer,
                            beast::http::request<Body, beast::http::basic_fields<Allocator>> const& request,
                            std::type_identity_t<ContextFactory<Context>> const& factory) {
    return http::serve(server, stream, buffer, request, factory, detail::default_serve_options());
}

}  // namespace chatkit::http
