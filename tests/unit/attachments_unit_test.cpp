// LocalAttachmentFiles on a real directory, the multipart parser, the attachment route paths, and
// the Transcriber hook of ChatKitServer.
#include "support/test_support.hpp"

#include <chatkit/attachments/local_store.hpp>

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
    CHECK(error_of([&] { files.create({"a.png", 1, "nonsense"}, "atc_1", "u"); }) == error::unsupported_media_type);
    CHECK(error_of([&] { files.create({"", 1, "image/png"}, "atc_1", "u"); }) == error::invalid_request);
    CHECK(error_of([&] { files.create({"a.png", -1, "image/png"}, "atc_1", "u"); }) == error::invalid_request);

    // Parameters and case of the type are ignored by the check; the recorded type is the client's.
    auto const a = files.create({"Doc.PDF", 10, "Application/PDF; x=y"}, "atc_1", "u");
    CHECK(a.type == AttachmentType::file);
    CHECK(a.preview_url.empty());
    REQUIRE(a.upload_descriptor);
    CHECK(a.upload_descriptor->url == "https://chat.example.com/attachments/atc_1/upload");
    CHECK(a.upload_descriptor->method == "POST");
    // An id is never reused, even by another owner.
    CHECK(error_of([&] { files.create({"b.png", 1, "image/png"}, "atc_1", "v"); }) == error::internal);

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
    test::TestServer server{store};
    json::value body = json::object{{"type", "input.transcribe"},
                                    {"params", json::object{{"audio_base64", encode_base64("hello audio")},
                                                            {"mime_type", "audio/ogg;codecs=opus"}}}};
    CHECK(test::call(server, body).status == 500);  // none configured
    EchoTranscriber transcriber;
    server.set_transcriber(&transcriber);
    auto const ok = test::call(server, body);
    CHECK(ok.status == 200);
    CHECK(ok.body == R"({"text":"11 bytes of audio/ogg"})");
    body.at("params").as_object()["audio_base64"] = "";
    auto const refused = test::call(server, body);
    CHECK(refused.status == 400);
    CHECK(refused.json.at("error").at("message") == "No audio");
}
