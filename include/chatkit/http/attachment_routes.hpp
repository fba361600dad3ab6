// chatkit-cpp: the HTTP routes of a LocalAttachmentStore on the bundled server (http::Server), and
// `http::mount_attachments`, which also sets the store's base URL and sweeps abandoned uploads.
#pragma once

#include <chatkit/http/server.hpp>
#include <chatkit/protocol/json.hpp>
#include <chatkit/server/rate_limiter.hpp>
#include <chatkit/store/local_attachment_store.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace chatkit {

namespace detail {

/// The upload a route request carries (`parse_upload` of its `Content-Type`, `X-File-Name` and body).
CHATKIT_API UploadedFile uploaded_file_of(http::RouteRequest const& request);

/// The GET answer for attachment bytes (type, `nosniff`, a sandboxing CSP, inline for images and
/// as a download otherwise).
CHATKIT_API http::RouteResponse content_response(AttachmentBytes bytes);

/// The attachment JSON a client sees.
CHATKIT_API std::string attachment_json(Attachment const& attachment);

/// The 429 answer to an upload over `owner`'s upload budget, or nothing when `limiter` admits it.
inline std::optional<http::RouteResponse> refuse_upload(RateLimiter* limiter, std::string const& owner) {
    if (!limiter) return std::nullopt;
    Admission const admission = limiter->admit(owner, RequestClass::upload);
    if (admission.allowed) return std::nullopt;
    auto answer = http::RouteResponse::error(429, admission.reason);
    answer.headers.emplace_back("Retry-After", std::to_string(admission.retry_after.count()));
    return answer;
}

}  // namespace detail

/// Mounts the routes of `attachments` on `server`, building each request's context with the
/// server's context factory (so uploads and previews are authenticated like ChatKit requests):
///
/// * `POST <prefix>`: direct upload (`multipart/form-data` with a `file` field); creates the
///   attachment, saves its record in `records` and answers its JSON (as `attachments.create` does,
///   without an upload descriptor).
/// * `POST <prefix>/<id>/upload` (or `PUT`): phase 2 of a two-phase upload (the URL of the
///   `upload_descriptor` that `attachments.create` returned); a `file` part or the raw bytes. The
///   record loses its upload descriptor. Answers the attachment JSON.
/// * `GET`/`HEAD <prefix>/<id>`: the bytes (the `preview_url` of images).
///
/// Errors are JSON (`{"error":{"code","message"}}`): 404 for unknown ids and other owners'
/// attachments, 413 beyond `max_bytes` (the route's body limit is `max_bytes` + 64 KiB of multipart
/// framing), 415 for a MIME type not allowed, 400 for a malformed body, 405 for other methods.
///
/// With a `limiter`, every upload (`POST <prefix>` and the phase-2 `POST`/`PUT`) spends one request
/// of the owner's `RequestClass::upload` budget (the budget `attachments.create` also spends, so a
/// two-phase upload costs two); over it: 429 with `Retry-After` and `{"error":{"code":"rate_limited",...}}`,
/// before the body is looked at.
///
/// Call it before `server.start()`. `attachments`, `records` and `limiter` must outlive the server.
template <class Context>
void mount_attachment_routes(http::Server<Context>& server, LocalAttachmentStore<Context>& attachments,
                             Store<Context>& records, RateLimiter* limiter = nullptr) {
    auto const& factory = server.context_factory();
    std::string const prefix = attachments.files().options().route_prefix;
    http::Route route;
    route.prefix = prefix;
    route.body_limit = attachments.files().options().max_bytes + 64 * 1024;
    route.handler = [&factory, &attachments, &records, limiter,
                     prefix](http::RouteRequest const& request) -> asio::awaitable<http::RouteResponse> {
        namespace bhttp = boost::beast::http;
        auto const where = detail::parse_attachment_path(prefix, request.path());
        if (!where.valid) co_return http::RouteResponse::error(404, "Not found");
        auto const method = request.method();
        Context ctx = factory(*request.info);
        std::string const owner = attachments.owner_of(ctx);
        auto& files = attachments.files();

        if (where.id.empty()) {  // direct upload
            if (method != bhttp::verb::post) {
                auto answer = http::RouteResponse::error(405, "Use POST to upload a file");
                answer.headers.emplace_back("Allow", "POST");
                co_return answer;
            }
            if (auto refused = detail::refuse_upload(limiter, owner)) co_return std::move(*refused);
            UploadedFile file = detail::uploaded_file_of(request);
            files.check(file.name, static_cast<std::int64_t>(file.bytes.size()), file.mime_type);
            std::string const id = attachments.generate_attachment_id(file.mime_type, ctx);
            Attachment attachment = files.create_uploaded(file, id, owner);
            co_await records.save_attachment(attachment, ctx);
            co_return http::RouteResponse::json(200, detail::attachment_json(attachment));
        }

        if (where.rest == "/upload") {  // phase 2
            if (method != bhttp::verb::post && method != bhttp::verb::put) {
                auto answer = http::RouteResponse::error(405, "Use POST or PUT to upload the file");
                answer.headers.emplace_back("Allow", "POST, PUT");
                co_return answer;
            }
            if (auto refused = detail::refuse_upload(limiter, owner)) co_return std::move(*refused);
            if (!files.exists(where.id, owner)) throw_error(error::not_found, "File " + where.id + " not found");
            UploadedFile file = detail::uploaded_file_of(request);
            Attachment attachment = files.upload(where.id, owner, file);
            // The record keeps what the client saw at creation; the upload is done now.
            Attachment record = co_await records.load_attachment(where.id, ctx);
            record.upload_descriptor.reset();
            co_await records.save_attachment(record, ctx);
            co_return http::RouteResponse::json(200, detail::attachment_json(record));
        }

        if (method != bhttp::verb::get && method != bhttp::verb::head) {
            auto answer = http::RouteResponse::error(405, "Use GET to read an attachment");
            answer.headers.emplace_back("Allow", "GET, HEAD");
            co_return answer;
        }
        co_return detail::content_response(files.read(where.id, owner));
    };
    server.add_route(std::move(route));
}

namespace http {

/// Options of `mount_attachments`.
template <class Context>
struct AttachmentMountOptions {
    /// Builds a context in which `owner`'s attachment records can be deleted from the Store: the
    /// inverse of the stores' `owner_of` (e.g. `[](std::string const& user) { return Context{user}; }`).
    /// Required when sweeping.
    typename LocalAttachmentStore<Context>::ContextOfOwnerFn context_of_owner{};
    /// Time between two sweeps of abandoned uploads (`LocalAttachmentStore::sweep`: attachments
    /// created more than `pending_max_age` ago and never uploaded lose their files and their record);
    /// the first sweep runs when the server starts. Zero: no sweep.
    std::chrono::seconds sweep_interval = std::chrono::minutes(10);
    /// Where each sweep reports: how many uploads it removed at `info`, a failure at `error`. Without
    /// a sink, the server's logger (`Server::logger()`).
    Logger logger{};
    /// The server's rate limiter (`ChatKitServerOptions::rate_limiter`): uploads spend its upload
    /// budget (see `mount_attachment_routes`). Null: uploads are not limited. Must outlive the server.
    RateLimiter* rate_limiter = nullptr;
};

namespace detail {

/// The periodic sweep behind `mount_attachments`, on its own strand of the server's io_context.
/// Shared by the server's start and stop hooks and by its running coroutine, which keeps it alive.
template <class Context>
class attachment_sweeper : public std::enable_shared_from_this<attachment_sweeper<Context>> {
public:
    attachment_sweeper(asio::io_context& io, LocalAttachmentStore<Context>& attachments,
                       Store<Context>& records, AttachmentMountOptions<Context> options)
        : strand_(asio::make_strand(io)), timer_(strand_), attachments_(attachments), records_(records),
          options_(std::move(options)) {}

    /// Starts sweeping: now, then every `sweep_interval`.
    void start() {
        auto self = this->shared_from_this();
        asio::co_spawn(strand_, run(self), [self](std::exception_ptr e) {
            if (e) self->options_.logger.log(LogLevel::error, "attachments: the sweep stopped on an error");
        });
    }

    /// Cancels the timer; a sweep under way finishes first. Thread-safe.
    void stop() {
        asio::post(strand_, [self = this->shared_from_this()] {
            self->stopped_ = true;
            self->timer_.cancel();
        });
    }

private:
    static asio::awaitable<void> run(std::shared_ptr<attachment_sweeper> self) {
        while (!self->stopped_) {
            co_await self->sweep_once();
            if (self->stopped_) break;
            self->timer_.expires_after(self->options_.sweep_interval);
            auto [ec] = co_await self->timer_.async_wait(asio::as_tuple(asio::use_awaitable));
            (void)ec;  // cancelled by stop(): the loop ends
        }
    }

    asio::awaitable<void> sweep_once() {
        try {
            auto const removed = co_await attachments_.sweep(records_, options_.context_of_owner);
            if (!removed.empty()) {
                std::string const count = std::to_string(removed.size());
                options_.logger.log(LogLevel::info, "attachments: removed " + count + " abandoned uploads");
            }
        } catch (std::exception const& e) {
            options_.logger.log(LogLevel::error, std::string("attachments: sweep failed: ") + e.what());
        }
    }

    asio::strand<asio::io_context::executor_type> strand_;
    asio::steady_timer timer_;
    LocalAttachmentStore<Context>& attachments_;
    Store<Context>& records_;
    AttachmentMountOptions<Context> options_;
    bool stopped_ = false;  // on the strand
};

}  // namespace detail

/// Serves `attachments` from `server` in one call:
///
/// * mounts its upload and preview routes (`mount_attachment_routes`, whose requests are
///   authenticated by the server's context factory);
/// * sets its base URL to the server's URL once the server is bound (`Server::on_start`), so upload
///   and preview URLs carry the real port, also with `--port 0`;
/// * sweeps abandoned uploads, files and Store records, when the server starts and then every
///   `options.sweep_interval`, on the server's threads; the sweep stops when the server stops
///   (`Server::on_stop`), so it never keeps `run()` from returning.
///
/// @code
/// http::mount_attachments(server, files, store,
///                         {.context_of_owner = [](std::string const& user) { return Context{user}; }});
/// @endcode
///
/// Call it before `server.start()`. `attachments` and `records` must outlive the server.
/// @throws std::logic_error once the server has started; std::invalid_argument when
///         `options.sweep_interval` is positive and `options.context_of_owner` is not set.
template <class Context>
void mount_attachments(Server<Context>& server, LocalAttachmentStore<Context>& attachments,
                       Store<Context>& records, AttachmentMountOptions<Context> options) {
    bool const sweeping = options.sweep_interval.count() > 0;
    if (sweeping && !options.context_of_owner)
        throw std::invalid_argument("mount_attachments: sweeping needs context_of_owner");
    if (!options.logger.sink) options.logger = server.logger();
    mount_attachment_routes(server, attachments, records, options.rate_limiter);
    std::shared_ptr<detail::attachment_sweeper<Context>> sweeper;
    if (sweeping)
        sweeper = std::make_shared<detail::attachment_sweeper<Context>>(server.context(), attachments,
                                                                        records, std::move(options));
    server.on_start([&server, &attachments, sweeper] {
        attachments.files().set_base_url(server.url());
        if (sweeper) sweeper->start();
    });
    if (sweeper) server.on_stop([sweeper] { sweeper->stop(); });
}

}  // namespace http

}  // namespace chatkit
