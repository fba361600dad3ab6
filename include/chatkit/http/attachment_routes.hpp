// chatkit-cpp: the HTTP routes of a LocalAttachmentStore on the bundled server (http::Server).
#pragma once

#include <chatkit/http/server.hpp>
#include <chatkit/protocol/json.hpp>
#include <chatkit/store/local_attachment_store.hpp>

#include <string>
#include <string_view>

namespace chatkit {

namespace detail {

/// The upload a route request carries (`parse_upload` of its `Content-Type`, `X-File-Name` and body).
CHATKIT_API UploadedFile uploaded_file_of(http::RouteRequest const& request);

/// The GET answer for attachment bytes (type, `nosniff`, a sandboxing CSP, inline for images and
/// as a download otherwise).
CHATKIT_API http::RouteResponse content_response(AttachmentBytes bytes);

/// The attachment JSON a client sees.
CHATKIT_API std::string attachment_json(Attachment const& attachment);

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
/// Call it before `server.start()`. `attachments` and `records` must outlive the server.
template <class Context>
void mount_attachment_routes(http::Server<Context>& server, LocalAttachmentStore<Context>& attachments,
                             Store<Context>& records) {
    auto const& factory = server.context_factory();
    std::string const prefix = attachments.files().options().route_prefix;
    http::Route route;
    route.prefix = prefix;
    route.body_limit = attachments.files().options().max_bytes + 64 * 1024;
    route.handler = [&factory, &attachments, &records,
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

}  // namespace chatkit
