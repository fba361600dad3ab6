// LocalAttachmentFiles on a real directory, the multipart parser, the attachment route paths, and
// the Transcriber hook of ChatKitServer.
#include "support/test_support.hpp"

#include <chatkit/core/base64.hpp>
#include <chatkit/core/media_type.hpp>
#include <chatkit/http/attachment_routes.hpp>
#include <chatkit/store/local_attachment_store.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

using namespace chatkit;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

struct TempDir {
    fs::path path = fs::temp_directory_path() /
                    ("chatkit-unit-attachments-" + std::to_string(::getpid()) + "-" +
                     std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

LocalAttachmentOptions options_in(fs::path const& dir) {
    LocalAttachmentOptions o;
    o.directory = dir;
    o.base_url = "https://chat.example.com/";
    o.max_bytes = 100;
    o.allowed_mime_types = {"image/*", "application/pdf"};
    return o;
}

error error_of(std::function<void()> const& f) {
    try {
        f();
    } catch (Error const& e) {
        return static_cast<error>(e.code().value());
    }
    return error::internal;
}

}  // namespace

TEST_CASE("multipart: the file part is found among others", "[attachments]") {
    std::string const body =
        "preamble\r\n--b1\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhello\r\n"
        "--b1\r\nContent-Disposition: form-data; name=\"file\"; filename=\"C:\\\\tmp\\\\a \\\"b\\\".png\"\r\n"
        "Content-Type: image/png\r\n\r\n\x89PNG\r\n--b1 not a delimiter\r\n--b1--\r\n";
    auto const file = parse_multipart_file("multipart/form-data; boundary=\"b1\"", body);
    CHECK(file.name == "a \"b\".png");
    CHECK(file.mime_type == "image/png");
    CHECK(file.bytes == "\x89PNG\r\n--b1 not a delimiter");
}

TEST_CASE("multipart: malformed bodies are invalid requests", "[attachments]") {
    auto bad = [](std::string_view type, std::string_view body) {
        return error_of([&] { parse_multipart_file(type, body); });
    };
    CHECK(bad("application/json", "{}") == error::invalid_request);
    CHECK(bad("multipart/form-data", "--x\r\n") == error::invalid_request);  // no boundary
    CHECK(bad("multipart/form-data; boundary=x", "") == error::invalid_request);
    CHECK(bad("multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nno end") ==
          error::invalid_request);
    CHECK(bad("multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n--x--") ==
          error::invalid_request);
    CHECK(bad("multipart/form-data; boundary=x", "--x--\r\n") == error::invalid_request);
}

TEST_CASE("attachment route paths", "[attachments]") {
    using detail::parse_attachment_path;
    CHECK(parse_attachment_path("/attachments", "/attachments").valid);
    CHECK(parse_attachment_path("/attachments", "/attachments").id.empty());
    auto p = parse_attachment_path("/attachments", "/attachments/atc_12/upload");
    CHECK(p.valid);
    CHECK(p.id == "atc_12");
    CHECK(p.rest == "/upload");
    CHECK(parse_attachment_path("/attachments", "/attachments/atc_12").rest.empty());
    CHECK_FALSE(parse_attachment_path("/attachments", "/attachments/atc_12/other").valid);
    CHECK_FALSE(parse_attachment_path("/attachments", "/attachments/../x").valid);
    CHECK_FALSE(parse_attachment_path("/attachments", "/attachments/a.b").valid);
    CHECK_FALSE(parse_attachment_path("/attachments", "/attachmentsX").valid);
}

TEST_CASE("LocalAttachmentFiles: limits, owners, URLs, delete", "[attachments]") {
    TempDir dir;
    LocalAttachmentFiles files(options_in(dir.path));
    CHECK(error_of([&] { files.create({"a.png", 101, "image/png"}, "atc_1", "u"); }) == error::payload_too_large);
    CHECK(error_of([&] { files.create({"a.txt", 1, "text/plain"}, "atc_1", "u"); }) ==
          error::unsupported_media_type);
    // What is not a media type at all is a bad request (400), not an unsupported type.
    CHECK(error_of([&] { files.create({"a.png", 1, "nonsense"}, "atc_1", "u"); }) == error::invalid_request);
    CHECK(error_of([&] { files.create({"", 1, "image/png"}, "atc_1", "u"); }) == error::invalid_request);
    CHECK(error_of([&] { files.create({"a.png", -1, "image/png"}, "atc_1", "u"); }) == error::invalid_request);

    // Parameters and case of the type are ignored by the check; the recorded type is the canonical one.
    auto const a = files.create({"Doc.PDF", 10, "Application/PDF; x=y"}, "atc_1", "u");
    CHECK(a.mime_type == "application/pdf");
    CHECK(a.type == AttachmentType::file);
    CHECK(a.preview_url.empty());
    REQUIRE(a.upload_descriptor);
    CHECK(a.upload_descriptor->url == "https://chat.example.com/attachments/atc_1/upload");
    CHECK(a.upload_descriptor->method == "POST");
    // An id is never reused, even by another owner.
    CHECK(error_of([&] { files.create({"b.png", 1, "image/png"}, "atc_1", "v"); }) == error::conflict);

    auto const img = files.create({"i.png", 3, "image/png"}, "atc_2", "u");
    CHECK(img.type == AttachmentType::image);
    CHECK(img.preview_url == "https://chat.example.com/attachments/atc_2");
    CHECK(error_of([&] { files.read("atc_2", "u"); }) == error::not_found);  // not uploaded yet
    CHECK(error_of([&] { files.upload("atc_2", "v", {"i.png", "image/png", "abc"}); }) == error::not_found);
    CHECK(error_of([&] { files.upload("atc_2", "u", {"i.png", "image/png", std::string(101, 'x')}); }) ==
          error::payload_too_large);
    CHECK(error_of([&] { files.upload("atc_2", "u", {"i.png", "text/html", "<b>"}); }) ==
          error::unsupported_media_type);
    auto const done = files.upload("atc_2", "u", {"i.png", "application/octet-stream", "abc"});
    CHECK_FALSE(done.upload_descriptor);
    auto const bytes = files.read("atc_2", "u");
    CHECK(bytes.bytes == "abc");
    CHECK(bytes.mime_type == "image/png");
    CHECK(error_of([&] { files.read("atc_2", "v"); }) == error::not_found);
    CHECK(error_of([&] { files.read("../atc_2", "u"); }) == error::not_found);

    files.remove("atc_2", "v");  // another owner: nothing happens
    CHECK(files.read("atc_2", "u").bytes == "abc");
    files.remove("atc_2", "u");
    CHECK(error_of([&] { files.read("atc_2", "u"); }) == error::not_found);
    CHECK_FALSE(fs::exists(dir.path / "atc_2.bin"));
    CHECK_FALSE(fs::exists(dir.path / "atc_2.json"));
    files.remove("atc_missing", "u");  // no error
}

TEST_CASE("LocalAttachmentFiles: the sweep removes abandoned uploads and stray files only", "[attachments]") {
    TempDir dir;
    auto o = options_in(dir.path);
    o.pending_max_age = std::chrono::minutes(5);
    LocalAttachmentFiles files(o);
    files.create({"p.png", 3, "image/png"}, "atc_pending", "u");
    files.create({"d.png", 3, "image/png"}, "atc_done", "u");
    files.upload("atc_done", "u", {"d.png", "image/png", "abc"});
    std::ofstream(dir.path / "atc_orphan.bin") << "orphan bytes";
    auto const now = std::chrono::system_clock::now();
    CHECK(files.sweep(now).empty());
    CHECK_FALSE(fs::exists(dir.path / "atc_orphan.bin"));  // bytes without a sidecar
    auto const removed = files.sweep(now + std::chrono::minutes(6));
    CHECK(removed == std::vector<std::string>{"atc_pending"});
    CHECK_FALSE(files.exists("atc_pending", "u"));
    CHECK(files.read("atc_done", "u").bytes == "abc");
}

namespace {
/// A transcriber that reports what it received (the application side of the hook).
class EchoTranscriber final : public Transcriber {
public:
    asio::awaitable<TranscriptionResult> transcribe(AudioInput const& audio) override {
        if (audio.data.empty()) throw_error(error::invalid_request, "No audio");
        co_return TranscriptionResult{std::to_string(audio.data.size()) + " bytes of " + audio.media_type()};
    }
};
}  // namespace

TEST_CASE("input.transcribe uses the server's Transcriber", "[attachments][dictation]") {
    InMemoryStore<test::Ctx> store;
    test::TestServer server{{.store = store}};
    json::value body = json::object{{"type", "input.transcribe"},
                                    {"params", json::object{{"audio_base64", base64_encode("hello audio")},
                                                            {"mime_type", "audio/ogg;codecs=opus"}}}};
    CHECK(test::call(server, body).status == 500);  // none configured
    EchoTranscriber transcriber;
    test::TestServer dictating({.store = store, .transcriber = &transcriber});
    auto const ok = test::call(dictating, body);
    CHECK(ok.status == 200);
    CHECK(ok.body == R"({"text":"11 bytes of audio/ogg"})");
    body.at("params").as_object()["audio_base64"] = "";
    auto const refused = test::call(dictating, body);
    CHECK(refused.status == 400);
    CHECK(refused.json.at("error").at("message") == "No audio");
}

TEST_CASE("parse_media_type follows RFC 9110 and refuses what could split a header", "[attachments][media-type]") {
    CHECK(parse_media_type("IMAGE/PNG").essence() == "image/png");
    auto const text = parse_media_type(" text/plain ; charset=\"utf-8\" ;; format=flowed ");
    CHECK(text.essence() == "text/plain");
    REQUIRE(text.parameters.size() == 2);
    CHECK(text.parameters[0] == std::pair<std::string, std::string>{"charset", "utf-8"});
    CHECK(text.parameters[1] == std::pair<std::string, std::string>{"format", "flowed"});
    CHECK(parse_media_type(R"(a/b; x="q\"uo ted")").parameters.at(0).second == "q\"uo ted");
    CHECK(parse_media_type("application/vnd.api+json").essence() == "application/vnd.api+json");
    boost::system::error_code ec = make_error_code(error::internal);
    std::string why = "stale";
    CHECK(parse_media_type("image/png", ec, why).essence() == "image/png");
    CHECK_FALSE(ec);
    CHECK(why.empty());

    for (std::string const& bad :
         {std::string("image/png;\r\nX-Injected: 1"), std::string("image/png\n"), std::string("image/png\r"),
          std::string("image/png\0", 10), std::string("image/png, text/html"), std::string("image/"),
          std::string("/png"), std::string("image"), std::string(""), std::string("image/png; q"),
          std::string("image/png; q="), std::string("image/png; q=\"open"), std::string("image/p ng"),
          std::string("image/png x"), std::string("ima ge/png"), std::string("image/png; a=b c"),
          std::string("image/png\x7f"), std::string("a/") + std::string(max_media_type_length, 'b')}) {
        INFO(bad);
        MediaType const refused = parse_media_type(bad, ec, why);
        CHECK(ec == make_error_code(error::invalid_request));
        CHECK_FALSE(why.empty());
        CHECK(refused.essence() == "/");  // the empty result
        try {
            (void)parse_media_type(bad);
            FAIL("the throwing form accepted it");
        } catch (Error const& e) {
            CHECK(e.code() == ec);
            CHECK(e.message() == why);
        }
    }
}

TEST_CASE("attachments are stored and served with the canonical media type only", "[attachments][media-type]") {
    TempDir dir;
    auto options = options_in(dir.path);
    options.allowed_mime_types.emplace_back("text/plain");
    LocalAttachmentFiles files(options);
    AttachmentCreateParams params{"Notes.TXT", 5, "Text/Plain; charset=utf-8"};
    auto const created = files.create(params, "atc_canon", "alice");
    CHECK(created.mime_type == "text/plain");
    files.upload("atc_canon", "alice", UploadedFile{"notes.txt", "text/plain", "hello"});
    auto const served = detail::content_response(files.read("atc_canon", "alice"));
    CHECK(served.content_type == "text/plain");
    auto const header = [&](std::string_view name) {
        for (auto const& [n, v] : served.headers)
            if (n == name) return v;
        return std::string();
    };
    CHECK(header("Content-Disposition").starts_with("attachment"));  // text/* never inline
    CHECK(header("X-Content-Type-Options") == "nosniff");

    // A client value that could split a header is refused before anything is stored.
    AttachmentCreateParams split{"x.png", 3, "image/png;\r\nX-Injected: 1"};
    CHECK_THROWS_MATCHES(files.create(split, "atc_split", "alice"), Error,
                         Catch::Matchers::Predicate<Error>([](Error const& e) {
                             return e.code() == make_error_code(error::invalid_request);
                         }));
    CHECK_FALSE(files.exists("atc_split", "alice"));
    // An upload whose type could split a header is refused too.
    files.create(AttachmentCreateParams{"y.png", 3, "image/png"}, "atc_up", "alice");
    CHECK_THROWS_AS(files.upload("atc_up", "alice", UploadedFile{"y.png", "image/png\nX-Injected: 1", "png"}), Error);

    // Bytes stored before types were canonical (a raw value on disk) are served as octet-stream,
    // and an SVG never shows inline.
    auto const legacy = detail::content_response(AttachmentBytes{"image/png;\r\nX-Injected: 1", "png", "old.png"});
    CHECK(legacy.content_type == "application/octet-stream");
    auto const svg = detail::content_response(AttachmentBytes{"image/svg+xml", "<svg/>", "a.svg"});
    CHECK(svg.content_type == "image/svg+xml");
    bool svg_inline = false;
    for (auto const& [n, v] : svg.headers)
        if (n == "Content-Disposition") svg_inline = v.starts_with("inline");
    CHECK_FALSE(svg_inline);
    auto const gif = detail::content_response(AttachmentBytes{"image/gif", "GIF89a", "a.gif"});
    bool gif_inline = false;
    for (auto const& [n, v] : gif.headers)
        if (n == "Content-Disposition") gif_inline = v.starts_with("inline");
    CHECK(gif_inline);
}

TEST_CASE("multipart: a part header with a bare CR or LF is refused", "[attachments][media-type]") {
    std::string const type = "multipart/form-data; boundary=B";
    auto const body = [](std::string_view part_headers) {
        return "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n" +
               std::string(part_headers) + "\r\n\r\npng\r\n--B--\r\n";
    };
    CHECK(parse_multipart_file(type, body("Content-Type: image/png")).mime_type == "image/png");
    CHECK_THROWS_AS(parse_multipart_file(type, body("Content-Type: image/png\nX-Injected: 1")), Error);
    CHECK_THROWS_AS(parse_multipart_file(type, body("Content-Type: image/png\rX-Injected: 1")), Error);
    CHECK_THROWS_AS(parse_multipart_file(type, body(std::string("Content-Type: image/png\0", 24))), Error);
}

TEST_CASE("header values with control characters and bad names are recognised", "[http][headers]") {
    CHECK(http::is_safe_header_value("text/plain; charset=utf-8"));
    CHECK(http::is_safe_header_value(""));
    CHECK_FALSE(http::is_safe_header_value("a\r\nb"));
    CHECK_FALSE(http::is_safe_header_value("a\nb"));
    CHECK_FALSE(http::is_safe_header_value(std::string_view("a\0b", 3)));
    CHECK_FALSE(http::is_safe_header_value("a\x01b"));
    CHECK_FALSE(http::is_safe_header_value("a\x7f"));
    CHECK(http::is_safe_header_value("tab\there, and obs-text \xc3\xa9"));
    CHECK(http::is_valid_header_name("X-Content-Type-Options"));
    CHECK_FALSE(http::is_valid_header_name(""));
    CHECK_FALSE(http::is_valid_header_name("X Bad"));
    CHECK_FALSE(http::is_valid_header_name("X:Bad"));
    boost::beast::http::fields fields;
    fields.set("X-Fine", "1");
    CHECK_FALSE(http::unsafe_header_field(fields));
    fields.set("X-Split", std::string("1\r\nX-Injected: 1"));
    CHECK(http::unsafe_header_field(fields) == std::optional<std::string>("X-Split"));
}
