// chatkit-cpp HTTP layer: the compiled parts of the attachment routes (http/attachment_routes.hpp).
#include <chatkit/http/attachment_routes.hpp>

#include <chatkit/core/media_type.hpp>

#include <cctype>

namespace chatkit::detail {

UploadedFile uploaded_file_of(http::RouteRequest const& request) {
    return parse_upload(request.header("Content-Type"), request.header("X-File-Name"), request.body);
}

http::RouteResponse content_response(AttachmentBytes bytes) {
    http::RouteResponse res;
    res.status = 200;
    // Only the canonical `type/subtype` is written (rows stored before it was canonical included);
    // what does not parse is served as bytes.
    boost::system::error_code ec;
    std::string why;
    MediaType const media = parse_media_type(bytes.mime_type, ec, why);
    res.content_type = ec ? std::string("application/octet-stream") : media.essence();
    // Raster images may show inline; SVG, text/*, HTML and XML only ever download.
    bool const inline_ok = !ec && media.type == "image" && !is_active_media_type(media);
    res.body = std::move(bytes.bytes);
    res.headers.emplace_back("X-Content-Type-Options", "nosniff");
    res.headers.emplace_back("Cache-Control", "private, max-age=300");
    // Never run as a page of this origin, whatever the bytes are.
    res.headers.emplace_back("Content-Security-Policy", "default-src 'none'; img-src 'self' data:; sandbox");
    std::string name;
    for (char c : bytes.name)
        if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == ' ') name += c;
    if (name.empty()) name = "attachment";
    res.headers.emplace_back("Content-Disposition",
                             std::string(inline_ok ? "inline" : "attachment") + "; filename=\"" +
                                 name + "\"");
    return res;
}

std::string attachment_json(Attachment const& attachment) {
    return to_json_text(attachment, JsonMode::wire);
}

}  // namespace chatkit::detail
