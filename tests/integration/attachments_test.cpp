// LocalAttachmentStore behind http::Server: two-phase and direct uploads, previews, limits, tenancy,
// deletion and the sweep of abandoned uploads, over real loopback HTTP and a real directory.
#include "http_support.hpp"

#include <chatkit/http/attachment_routes.hpp>
#include <chatkit/store/local_attachment_store.hpp>

#include <catch2/catch.hpp>

using namespace test;
namespace fs = std::filesystem;

namespace {

std::string owner_of(TestContext const& ctx) { return ctx.user; }

/// A fresh directory under the system temp directory, removed at the end.
struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() / ("chatkit-attachments-" + std::to_string(::getpid()) + "-" +
                                            std::to_string(now_us()));
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::size_t file_count() const {
        std::size_t n = 0;
        for (auto const& entry : fs::directory_iterator(path)) {
            (void)entry;
            ++n;
        }
        return n;
    }
};

/// A TestServer with a LocalAttachmentStore and its routes, on 127.0.0.1:0.
struct AttachmentFixture {
    explicit AttachmentFixture(std::uint64_t max_bytes = 1024) {
        chatkit::LocalAttachmentOptions files;
        files.directory = dir.path;
        files.max_bytes = max_bytes;
        files.allowed_mime_types = {"image/*", "text/plain"};
        files.pending_max_age = std::chrono::seconds(60);
        local = std::make_unique<chatkit::LocalAttachmentStore<TestContext>>(files, owner_of);
        chatkit_server = std::make_unique<TestServer>(TestServer::Options{.store = store, .attachments = local.get()});
        chatkit::http::ServerOptions options = test_server_options();
        options.shutdown_grace = 2s;
        server = std::make_unique<chatkit::http::Server<TestContext>>(*chatkit_server, options, make_context);
        // Routes and the base URL; the sweep is tested in attachment_sweep_test.cpp.
        chatkit::http::mount_attachments(*server, *local, store, {.sweep_interval = std::chrono::seconds(0)});
        server->start();
        runner = std::thread([this] { server->run(); });
    }
    ~AttachmentFixture() {
        server->stop();
        runner.join();
    }

    std::uint16_t port() const { return server->port(); }

    /// A POST whose header fields (Content-Type included) are all in `headers`.
    Response post(std::string_view path, std::string_view body, std::string_view headers) {
        Conn conn(port());
        conn.send("POST " + std::string(path) + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\n" + std::string(headers) + "\r\n" + std::string(body));
        return conn.read_response();
    }
    Response chatkit(std::string_view type, json::object params, std::string_view user) {
        return post("/chatkit", request_body(type, std::move(params)),
                    "Content-Type: application/json\r\n" + cookie(user));
    }
    Response get(std::string_view path, std::string_view user) {
        Conn conn(port());
        conn.send(get_request(path, "GET", cookie(user)));
        return conn.read_response();
    }
    static std::string cookie(std::string_view user) { return "Cookie: session=" + std::string(user) + "\r\n"; }

    /// Phase 1 as `user`; returns the attachment JSON.
    json::object create(std::string_view user, std::string_view name, std::int64_t size, std::string_view mime) {
        json::object params{{"name", name}, {"size", size}, {"mime_type", mime}};
        auto const r = chatkit("attachments.create", params, user);
        REQUIRE(r.status == 200);
        return r.json().as_object();
    }

    TempDir dir;
    chatkit::InMemoryStore<TestContext> store{owner_of};  // partitioned by user, like the files
    std::unique_ptr<chatkit::LocalAttachmentStore<TestContext>> local;
    std::unique_ptr<TestServer> chatkit_server;
    std::unique_ptr<chatkit::http::Server<TestContext>> server;
    std::thread runner;
};

/// A multipart/form-data body with one `file` part.
std::string multipart(std::string_view filename, std::string_view type, std::string_view bytes,
                      std::string_view field = "file") {
    std::string body = "--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nignored\r\n";
    body += "--XyZ\r\nContent-Disposition: form-data; name=\"" + std::string(field) + "\"; filename=\"" +
            std::string(filename) + "\"\r\nContent-Type: " + std::string(type) + "\r\n\r\n";
    body += bytes;
    body += "\r\n--XyZ--\r\n";
    return body;
}

constexpr std::string_view multipart_type = "Content-Type: multipart/form-data; boundary=XyZ\r\n";

std::string path_of(std::string_view url) {
    auto const scheme = url.find("://");
    return std::string(url.substr(url.find('/', scheme + 3)));
}

std::string error_code_of(Response const& r) { return std::string(r.json().at("error").at("code").as_string()); }

}  // namespace

TEST_CASE("attachments: two-phase upload, preview, use in a message, delete", "[integration][attachments]") {
    AttachmentFixture f;
    std::string const png = std::string("\x89PNG\r\n\x1a\n", 8) + std::string(100, 'p');

    auto const created = f.create("alice", "cat.png", static_cast<std::int64_t>(png.size()), "image/png");
    std::string const id(created.at("id").as_string());
    CHECK(created.at("type") == "image");
    CHECK(created.at("name") == "cat.png");
    auto const& descriptor = created.at("upload_descriptor").as_object();
    CHECK(descriptor.at("method") == "POST");
    CHECK(std::string(descriptor.at("url").as_string()) == f.server->url() + "/attachments/" + id + "/upload");
    CHECK(std::string(created.at("preview_url").as_string()) == f.server->url() + "/attachments/" + id);

    // Not uploaded yet: no bytes to show.
    CHECK(f.get("/attachments/" + id, "alice").status == 404);

    // Phase 2: the multipart body goes to the descriptor's URL.
    std::string headers = std::string(multipart_type) + AttachmentFixture::cookie("alice");
    auto const uploaded = f.post(path_of(descriptor.at("url").as_string()), multipart("cat.png", "image/png", png), headers);
    REQUIRE(uploaded.status == 200);
    CHECK(std::string(uploaded.json().at("id").as_string()) == id);
    CHECK_FALSE(uploaded.json().as_object().contains("upload_descriptor"));

    auto const preview = f.get("/attachments/" + id, "alice");
    CHECK(preview.status == 200);
    CHECK(preview.body == png);
    CHECK(preview.header("Content-Type") == "image/png");
    CHECK(preview.header("X-Content-Type-Options") == "nosniff");

    // The message carries the attachment; its record no longer has an upload descriptor.
    json::object input = user_input("look");
    input["attachments"] = json::array{json::value(id)};
    auto const stream = f.chatkit("threads.create", json::object{{"input", input}}, "alice");
    REQUIRE(stream.status == 200);
    bool seen = false;
    for (auto const& e : events_of(stream)) {
        if (e.at("type") != "thread.item.done" || e.at("item").at("type") != "user_message") continue;
        auto const& a = e.at("item").at("attachments").at(0).as_object();
        CHECK(std::string(a.at("id").as_string()) == id);
        CHECK_FALSE(a.contains("upload_descriptor"));
        seen = true;
    }
    CHECK(seen);

    // The loader a model converter uses.
    TestContext alice;
    alice.user = "alice";
    auto const loaded = f.local->loader()(id, alice);
    CHECK(loaded.mime_type == "image/png");
    CHECK(loaded.bytes == png);

    // Deleting removes the bytes and the record.
    REQUIRE(f.chatkit("attachments.delete", json::object{{"attachment_id", id}}, "alice").status == 200);
    CHECK(f.get("/attachments/" + id, "alice").status == 404);
    CHECK(f.dir.file_count() == 0);
    CHECK_THROWS_AS(f.local->read(id, alice), chatkit::Error);
}

TEST_CASE("attachments: direct upload answers the attachment JSON", "[integration][attachments]") {
    AttachmentFixture f;
    std::string headers = std::string(multipart_type) + AttachmentFixture::cookie("bob");
    auto const r = f.post("/attachments", multipart("../../notes.txt", "text/plain", "hello notes"), headers);
    REQUIRE(r.status == 200);
    auto const a = r.json().as_object();
    CHECK(a.at("type") == "file");
    CHECK(a.at("name") == "notes.txt");  // path components dropped
    CHECK(a.at("mime_type") == "text/plain");
    CHECK_FALSE(a.contains("upload_descriptor"));
    std::string const id(a.at("id").as_string());
    // The record is in the store: a message can use it.
    json::object input = user_input("read this");
    input["attachments"] = json::array{json::value(id)};
    CHECK(f.chatkit("threads.create", json::object{{"input", input}}, "bob").status == 200);
    auto const content = f.get("/attachments/" + id, "bob");
    CHECK(content.body == "hello notes");
    CHECK(content.header("Content-Disposition").rfind("attachment;", 0) == 0);
}

TEST_CASE("attachments: size and type limits answer 413 and 415 with JSON bodies", "[integration][attachments]") {
    AttachmentFixture f(1024);
    // Phase 1 checks the declared size and type.
    auto too_big = f.chatkit("attachments.create",
                             json::object{{"name", "big.png"}, {"size", 4096}, {"mime_type", "image/png"}}, "alice");
    CHECK(too_big.status == 413);
    CHECK(error_code_of(too_big) == "payload_too_large");
    auto wrong_type = f.chatkit(
        "attachments.create", json::object{{"name", "x.exe"}, {"size", 10}, {"mime_type", "application/x-msdownload"}},
        "alice");
    CHECK(wrong_type.status == 415);
    CHECK(error_code_of(wrong_type) == "unsupported_media_type");
    CHECK(f.dir.file_count() == 0);

    // Phase 2 checks the real bytes: a declared small file that is not.
    auto const created = f.create("alice", "small.png", 10, "image/png");
    std::string const upload = "/attachments/" + std::string(created.at("id").as_string()) + "/upload";
    std::string headers = std::string(multipart_type) + AttachmentFixture::cookie("alice");
    auto const oversize = f.post(upload, multipart("small.png", "image/png", std::string(2000, 'x')), headers);
    CHECK(oversize.status == 413);
    CHECK(error_code_of(oversize) == "payload_too_large");
    // Beyond the route's body limit the listener itself answers 413, before reading the body.
    auto const huge = f.post(upload, std::string(200 * 1024, 'x'), "Content-Type: image/png\r\n" + AttachmentFixture::cookie("alice"));
    CHECK(huge.status == 413);
    CHECK(error_code_of(huge) == "payload_too_large");
    // A part typed with a type that is not accepted.
    auto const typed = f.post(upload, multipart("a.html", "text/html", "<script>"), headers);
    CHECK(typed.status == 415);
    // Direct uploads too.
    auto const direct = f.post("/attachments", multipart("a.html", "text/html", "<script>"), headers);
    CHECK(direct.status == 415);
    // Malformed multipart bodies and missing file parts: 400.
    CHECK(f.post(upload, "--XyZ\r\nno end", headers).status == 400);
    CHECK(f.post(upload, multipart("a.png", "image/png", "x", "other"), headers).status == 400);
    // Wrong method.
    Conn conn(f.port());
    conn.send(get_request("/attachments", "DELETE", AttachmentFixture::cookie("alice")));
    CHECK(conn.read_response().status == 405);
}

TEST_CASE("attachments: another user's attachment and unknown ids are 404", "[integration][attachments]") {
    AttachmentFixture f;
    auto const created = f.create("alice", "a.png", 3, "image/png");
    std::string const id(created.at("id").as_string());
    std::string const alice_headers = std::string(multipart_type) + AttachmentFixture::cookie("alice");
    std::string const mallory_headers = std::string(multipart_type) + AttachmentFixture::cookie("mallory");
    // Mallory can neither upload over it...
    CHECK(f.post("/attachments/" + id + "/upload", multipart("a.png", "image/png", "bad"), mallory_headers).status == 404);
    REQUIRE(f.post("/attachments/" + id + "/upload", multipart("a.png", "image/png", "abc"), alice_headers).status == 200);
    // ...nor read it...
    auto const stolen = f.get("/attachments/" + id, "mallory");
    CHECK(stolen.status == 404);
    CHECK(error_code_of(stolen) == "not_found");
    // ...nor attach it to a message...
    json::object input = user_input("mine now");
    input["attachments"] = json::array{json::value(id)};
    CHECK(f.chatkit("threads.create", json::object{{"input", input}}, "mallory").status == 404);
    // ...nor delete its bytes.
    f.chatkit("attachments.delete", json::object{{"attachment_id", id}}, "mallory");
    CHECK(f.get("/attachments/" + id, "alice").body == "abc");

    // Unknown and malformed ids.
    CHECK(f.get("/attachments/atc_00000000", "alice").status == 404);
    CHECK(f.get("/attachments/..%2f..%2fetc", "alice").status == 404);
    CHECK(f.get("/attachments/a/b/c", "alice").status == 404);
    CHECK(f.post("/attachments/atc_missing/upload", multipart("a.png", "image/png", "x"), alice_headers).status == 404);
    json::object unknown = user_input("ghost");
    unknown["attachments"] = json::array{json::value("atc_missing")};
    CHECK(f.chatkit("threads.create", json::object{{"input", unknown}}, "alice").status == 404);
}

TEST_CASE("attachments: abandoned uploads are swept, uploaded ones stay", "[integration][attachments]") {
    AttachmentFixture f;
    auto const pending = f.create("alice", "never.png", 3, "image/png");
    auto const done = f.create("alice", "done.png", 3, "image/png");
    std::string const done_id(done.at("id").as_string());
    std::string headers = std::string(multipart_type) + AttachmentFixture::cookie("alice");
    REQUIRE(f.post("/attachments/" + done_id + "/upload", multipart("done.png", "image/png", "abc"), headers).status == 200);

    auto& files = f.local->files();
    CHECK(files.sweep().empty());  // younger than pending_max_age (60 s)
    auto const later = std::chrono::system_clock::now() + std::chrono::seconds(120);
    auto const swept = files.sweep(later);
    REQUIRE(swept.size() == 1);
    CHECK(swept[0] == std::string(pending.at("id").as_string()));
    // The abandoned one is gone, the uploaded one is intact.
    CHECK(f.post("/attachments/" + swept[0] + "/upload", multipart("never.png", "image/png", "abc"), headers).status ==
          404);
    CHECK(f.get("/attachments/" + done_id, "alice").body == "abc");
    CHECK(f.dir.file_count() == 2);  // done's sidecar and bytes
}
