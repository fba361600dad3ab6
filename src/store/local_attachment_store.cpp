// LocalAttachmentFiles: attachment bytes in a local directory (PROTOCOL.md §4.12-4.13, §7.4), and the
// context-free helpers of the attachment routes.
#include <chatkit/core/media_type.hpp>
#include <chatkit/protocol/json.hpp>
#include <chatkit/store/local_attachment_store.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <system_error>

namespace chatkit {
namespace fs = std::filesystem;

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

// `image/png; charset=x` -> `image/png`, lower case; "" for what is not a media type.
std::string media_type(std::string_view mime) {
    boost::system::error_code ec;
    std::string why;
    MediaType const parsed = parse_media_type(mime, ec, why);
    return ec ? std::string() : parsed.essence();
}

// The canonical `type/subtype` of a client-supplied media type; 400 when it is not one.
std::string canonical_media_type(std::string_view mime) {
    boost::system::error_code ec;
    std::string why;
    MediaType const parsed = parse_media_type(mime, ec, why);
    if (ec) throw_error(error::invalid_request, "Invalid media type: " + why);
    return parsed.essence();
}

// True when the canonical `type` matches one of `patterns` (`image/png`, `image/*`).
bool mime_allowed(std::vector<std::string> const& patterns, std::string const& type) {
    for (auto const& p : patterns) {
        std::string const pattern = media_type(p);
        if (pattern == type) return true;
        if (pattern.size() > 2 && pattern.ends_with("/*") && type.starts_with(pattern.substr(0, pattern.size() - 1)))
            return true;
    }
    return false;
}

bool is_image(std::string_view mime) { return media_type(mime).starts_with("image/"); }

// Ids become file names: only [A-Za-z0-9_-], 1-128 characters.
bool valid_id(std::string_view id) {
    if (id.empty() || id.size() > 128) return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    });
}

[[noreturn]] void not_found(std::string const& id) { throw_error(error::not_found, "File " + id + " not found"); }

std::int64_t unix_seconds(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::string random_suffix() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    std::ostringstream out;
    out << std::hex << rng();
    return out.str();
}

// Writes `data` to `path` through a temporary file and a rename.
void write_atomically(fs::path const& path, std::string_view data) {
    fs::path const tmp = path.parent_path() / (".tmp-" + path.filename().string() + "-" + random_suffix());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(data.data(), static_cast<std::streamsize>(data.size()));
        out.flush();
        if (!out) {
            std::error_code ignored;
            fs::remove(tmp, ignored);
            throw_error(error::store_failure, "cannot write an attachment file");
        }
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) {
        fs::remove(tmp, ec);
        throw_error(error::store_failure, "cannot write an attachment file");
    }
}

std::optional<std::string> read_file(fs::path const& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream out;
    out << in.rdbuf();
    return std::move(out).str();
}

// The sidecar of one attachment.
struct meta {
    std::string owner;
    std::string name;
    std::string mime_type;
    std::int64_t size = 0;
    std::int64_t created_at = 0;
    bool uploaded = false;
};

std::string meta_json(meta const& m) {
    boost::json::object o;
    o["owner"] = m.owner;
    o["name"] = m.name;
    o["mime_type"] = m.mime_type;
    o["size"] = m.size;
    o["created_at"] = m.created_at;
    o["uploaded"] = m.uploaded;
    return boost::json::serialize(o);
}

std::optional<meta> parse_meta(std::string const& text) {
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec);
    if (ec || !v.is_object()) return std::nullopt;
    auto const& o = v.get_object();
    auto str = [&](char const* k) -> std::string {
        auto const* x = o.if_contains(k);
        return x && x->is_string() ? std::string(x->get_string()) : std::string();
    };
    auto num = [&](char const* k) -> std::int64_t {
        auto const* x = o.if_contains(k);
        return x && x->is_int64() ? x->get_int64() : 0;
    };
    meta m;
    m.owner = str("owner");
    m.name = str("name");
    m.mime_type = str("mime_type");
    m.size = num("size");
    m.created_at = num("created_at");
    auto const* up = o.if_contains("uploaded");
    m.uploaded = up && up->is_bool() && up->get_bool();
    return m;
}

// ---- multipart/form-data ---------------------------------------------------------------------

// The value of parameter `name` in a header value such as `form-data; name="file"; filename="a.png"`.
std::optional<std::string> header_param(std::string_view value, std::string_view name) {
    std::size_t pos = 0;
    while (pos < value.size()) {
        auto const semi = value.find(';', pos);
        std::string_view part = trim(value.substr(pos, semi == std::string_view::npos ? value.npos : semi - pos));
        pos = semi == std::string_view::npos ? value.size() : semi + 1;
        auto const eq = part.find('=');
        if (eq == std::string_view::npos) continue;
        if (lower(trim(part.substr(0, eq))) != lower(name)) continue;
        std::string_view v = trim(part.substr(eq + 1));
        if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
            std::string out;
            for (std::size_t i = 1; i + 1 < v.size(); ++i) {
                if (v[i] == '\\' && i + 2 < v.size()) ++i;
                out += v[i];
            }
            return out;
        }
        return std::string(v);
    }
    return std::nullopt;
}

[[noreturn]] void bad_multipart(std::string const& why) {
    throw_error(error::invalid_request, "Invalid multipart/form-data body: " + why);
}

// A client-supplied file name, kept for display: path components and control characters removed.
std::string clean_name(std::string_view name) {
    if (auto slash = name.find_last_of("/\\"); slash != std::string_view::npos) name = name.substr(slash + 1);
    std::string out;
    for (char c : name)
        if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) out += c;
    if (out.size() > 255) out.resize(255);
    return out;
}

}  // namespace

UploadedFile parse_upload(std::string_view content_type, std::string_view file_name, std::string_view body) {
    if (media_type(content_type) == "multipart/form-data") return parse_multipart_file(content_type, body);
    UploadedFile file;
    file.name = clean_name(file_name);
    if (file.name.empty()) file.name = "upload";
    file.mime_type = content_type.empty() ? std::string("application/octet-stream") : std::string(content_type);
    file.bytes = std::string(body);
    return file;
}

UploadedFile parse_multipart_file(std::string_view content_type, std::string_view body, std::string_view field) {
    if (media_type(content_type) != "multipart/form-data") bad_multipart("the Content-Type is not multipart/form-data");
    auto const boundary = header_param(content_type, "boundary");
    if (!boundary || boundary->empty() || boundary->size() > 200) bad_multipart("no boundary");
    std::string const delimiter = "--" + *boundary;
    std::size_t pos = body.find(delimiter);
    if (pos == std::string_view::npos) bad_multipart("no part");
    for (;;) {
        pos += delimiter.size();
        if (body.substr(pos, 2) == "--") break;  // closing delimiter
        if (body.substr(pos, 2) != "\r\n") bad_multipart("a delimiter is not followed by CRLF");
        pos += 2;
        auto const headers_end = body.find("\r\n\r\n", pos);
        if (headers_end == std::string_view::npos) bad_multipart("a part has no header end");
        std::string_view const headers = body.substr(pos, headers_end - pos);
        // Part header lines end with CRLF; a bare CR or LF (or a NUL) inside one is refused, so no
        // value carries a line break into what is stored or served.
        for (std::size_t i = 0; i < headers.size(); ++i) {
            char const c = headers[i];
            if (c == '\0' || c == '\n' || (c == '\r' && (i + 1 >= headers.size() || headers[i + 1] != '\n')))
                bad_multipart("a part header holds a bare CR, LF or NUL");
            if (c == '\r') ++i;
        }
        std::size_t const content_start = headers_end + 4;
        // The next delimiter: CRLF, `--boundary`, then CRLF or `--` (a line that merely starts with
        // the boundary is content).
        std::size_t next = content_start;
        for (;;) {
            next = body.find("\r\n" + delimiter, next);
            if (next == std::string_view::npos) bad_multipart("a part is not terminated");
            std::string_view const after = body.substr(next + 2 + delimiter.size(), 2);
            if (after == "\r\n" || after == "--") break;
            next += 2;
        }
        std::optional<std::string> name, filename;
        std::string part_type;
        std::size_t line_start = 0;
        while (line_start <= headers.size()) {
            auto line_end = headers.find("\r\n", line_start);
            if (line_end == std::string_view::npos) line_end = headers.size();
            std::string_view const line = headers.substr(line_start, line_end - line_start);
            line_start = line_end + 2;
            auto const colon = line.find(':');
            if (colon == std::string_view::npos) continue;
            std::string const header = lower(trim(line.substr(0, colon)));
            std::string_view const value = trim(line.substr(colon + 1));
            if (header == "content-disposition") {
                name = header_param(value, "name");
                filename = header_param(value, "filename");
            } else if (header == "content-type") {
                part_type = std::string(value);
            }
        }
        if (name && *name == field) {
            UploadedFile file;
            file.name = clean_name(filename.value_or(""));
            file.mime_type = part_type.empty() ? std::string("application/octet-stream") : part_type;
            file.bytes = std::string(body.substr(content_start, next - content_start));
            return file;
        }
        pos = next + 2;
    }
    bad_multipart("no part named '" + std::string(field) + "'");
}

struct LocalAttachmentFiles::impl {
    mutable std::mutex mutex;      // the files
    mutable std::mutex url_mutex;  // base_url (read while `mutex` is held)
    std::string base_url;
};

LocalAttachmentFiles::LocalAttachmentFiles(LocalAttachmentOptions options)
    : options_(std::move(options)), impl_(std::make_unique<impl>()) {
    if (options_.directory.empty()) throw std::invalid_argument("LocalAttachmentOptions::directory is empty");
    fs::create_directories(options_.directory);
    impl_->base_url = options_.base_url;
    while (!impl_->base_url.empty() && impl_->base_url.back() == '/') impl_->base_url.pop_back();
}

LocalAttachmentFiles::~LocalAttachmentFiles() = default;

void LocalAttachmentFiles::set_base_url(std::string url) {
    while (!url.empty() && url.back() == '/') url.pop_back();
    std::lock_guard lock(impl_->url_mutex);
    impl_->base_url = std::move(url);
}

std::string LocalAttachmentFiles::base_url() const {
    std::lock_guard lock(impl_->url_mutex);
    return impl_->base_url;
}

std::string LocalAttachmentFiles::content_url(std::string const& id) const {
    return base_url() + options_.route_prefix + "/" + id;
}

std::string LocalAttachmentFiles::upload_url(std::string const& id) const { return content_url(id) + "/upload"; }

std::string LocalAttachmentFiles::check(std::string_view name, std::int64_t size, std::string_view mime_type) const {
    if (name.empty()) throw_error(error::invalid_request, "An attachment needs a name");
    if (size < 0) throw_error(error::invalid_request, "An attachment size cannot be negative");
    if (static_cast<std::uint64_t>(size) > options_.max_bytes)
        throw_error(error::payload_too_large, "Attachments are limited to " + std::to_string(options_.max_bytes) +
                                                  " bytes; this one has " + std::to_string(size));
    std::string canonical = canonical_media_type(mime_type);
    if (!mime_allowed(options_.allowed_mime_types, canonical))
        throw_error(error::unsupported_media_type, "Attachments of type '" + canonical.substr(0, 100) + "' are not accepted");
    return canonical;
}

namespace {

fs::path meta_path(fs::path const& dir, std::string const& id) { return dir / (id + ".json"); }
fs::path bytes_path(fs::path const& dir, std::string const& id) { return dir / (id + ".bin"); }

std::optional<meta> load_meta(fs::path const& dir, std::string const& id) {
    if (!valid_id(id)) return std::nullopt;
    auto text = read_file(meta_path(dir, id));
    if (!text) return std::nullopt;
    return parse_meta(*text);
}

}  // namespace

Attachment LocalAttachmentFiles::describe(std::string const& id, std::string const& owner) const {
    auto const m = load_meta(options_.directory, id);
    if (!m || m->owner != owner) not_found(id);
    Attachment a;
    a.type = is_image(m->mime_type) ? AttachmentType::image : AttachmentType::file;
    a.id = id;
    a.name = m->name;
    a.mime_type = m->mime_type;
    if (!m->uploaded) a.upload_descriptor = AttachmentUploadDescriptor{upload_url(id), "POST", {}};
    if (a.type == AttachmentType::image) a.preview_url = content_url(id);
    return a;
}

Attachment LocalAttachmentFiles::create(AttachmentCreateParams const& params, std::string const& id,
                                        std::string const& owner) {
    std::string canonical = check(params.name, params.size, params.mime_type);
    if (!valid_id(id)) throw_error(error::internal, "invalid attachment id");
    meta m;
    m.owner = owner;
    m.name = clean_name(params.name);
    m.mime_type = std::move(canonical);  // only the canonical form is stored
    m.size = params.size;
    m.created_at = unix_seconds(std::chrono::system_clock::now());
    {
        std::lock_guard lock(impl_->mutex);
        // An id is never reused, even across owners.
        if (fs::exists(meta_path(options_.directory, id)))
            throw_error(error::conflict, "attachment id collision");
        write_atomically(meta_path(options_.directory, id), meta_json(m));
    }
    return describe(id, owner);
}

Attachment LocalAttachmentFiles::upload(std::string const& id, std::string const& owner, UploadedFile const& file) {
    std::lock_guard lock(impl_->mutex);
    auto m = load_meta(options_.directory, id);
    if (!m || m->owner != owner) not_found(id);
    if (file.bytes.size() > options_.max_bytes)
        throw_error(error::payload_too_large, "Attachments are limited to " + std::to_string(options_.max_bytes) +
                                                  " bytes; this one has " + std::to_string(file.bytes.size()));
    // A typed part must be acceptable too (an octet-stream part takes the type given at creation).
    if (!file.mime_type.empty()) {
        std::string const canonical = canonical_media_type(file.mime_type);
        if (canonical != "application/octet-stream" && !mime_allowed(options_.allowed_mime_types, canonical))
            throw_error(error::unsupported_media_type, "Attachments of type '" + canonical.substr(0, 100) + "' are not accepted");
    }
    write_atomically(bytes_path(options_.directory, id), file.bytes);
    m->uploaded = true;
    m->size = static_cast<std::int64_t>(file.bytes.size());
    write_atomically(meta_path(options_.directory, id), meta_json(*m));
    Attachment a;
    a.type = is_image(m->mime_type) ? AttachmentType::image : AttachmentType::file;
    a.id = id;
    a.name = m->name;
    a.mime_type = m->mime_type;
    if (a.type == AttachmentType::image) a.preview_url = content_url(id);
    return a;
}

Attachment LocalAttachmentFiles::create_uploaded(UploadedFile const& file, std::string const& id,
                                                 std::string const& owner) {
    AttachmentCreateParams params{file.name.empty() ? std::string("upload") : file.name,
                                  static_cast<std::int64_t>(file.bytes.size()), file.mime_type};
    create(params, id, owner);
    try {
        return upload(id, owner, file);
    } catch (...) {
        remove(id, owner);
        throw;
    }
}

AttachmentBytes LocalAttachmentFiles::read(std::string const& id, std::string const& owner) const {
    std::lock_guard lock(impl_->mutex);
    auto const m = load_meta(options_.directory, id);
    if (!m || m->owner != owner || !m->uploaded) not_found(id);
    auto bytes = read_file(bytes_path(options_.directory, id));
    if (!bytes) not_found(id);
    return {m->mime_type, std::move(*bytes), m->name};
}

bool LocalAttachmentFiles::exists(std::string const& id, std::string const& owner) const {
    std::lock_guard lock(impl_->mutex);
    auto const m = load_meta(options_.directory, id);
    return m && m->owner == owner;
}

void LocalAttachmentFiles::remove(std::string const& id, std::string const& owner) {
    std::lock_guard lock(impl_->mutex);
    auto const m = load_meta(options_.directory, id);
    if (!m || m->owner != owner) return;
    std::error_code ec;
    fs::remove(bytes_path(options_.directory, id), ec);
    fs::remove(meta_path(options_.directory, id), ec);
}

std::vector<AbandonedAttachment> LocalAttachmentFiles::abandoned(std::chrono::system_clock::time_point now) const {
    std::vector<AbandonedAttachment> out;
    std::int64_t const cutoff = unix_seconds(now) - options_.pending_max_age.count();
    std::lock_guard lock(impl_->mutex);
    std::error_code ec;
    for (fs::directory_iterator it(options_.directory, ec), end; !ec && it != end; it.increment(ec)) {
        fs::path const path = it->path();
        if (path.extension() != ".json" || path.filename().string().starts_with(".tmp-")) continue;
        std::string const id = path.stem().string();
        auto const m = load_meta(options_.directory, id);
        if (!m || m->uploaded || m->created_at > cutoff) continue;
        out.push_back({id, m->owner});
    }
    return out;
}

bool LocalAttachmentFiles::remove_if_abandoned(std::string const& id, std::chrono::system_clock::time_point now) {
    std::int64_t const cutoff = unix_seconds(now) - options_.pending_max_age.count();
    std::lock_guard lock(impl_->mutex);
    auto const m = load_meta(options_.directory, id);
    if (!m || m->uploaded || m->created_at > cutoff) return false;
    std::error_code ignored;
    fs::remove(bytes_path(options_.directory, id), ignored);
    fs::remove(meta_path(options_.directory, id), ignored);
    return true;
}

void LocalAttachmentFiles::remove_stray_files() {
    std::lock_guard lock(impl_->mutex);
    std::error_code ec;
    for (fs::directory_iterator it(options_.directory, ec), end; !ec && it != end; it.increment(ec)) {
        fs::path const path = it->path();
        std::error_code ignored;
        if (path.filename().string().starts_with(".tmp-")) {
            // A write interrupted by a crash.
            auto const written = fs::last_write_time(path, ignored);
            if (!ignored) {
                auto const age = fs::file_time_type::clock::now() - written;
                if (age > options_.pending_max_age) fs::remove(path, ignored);
            }
            continue;
        }
        // Bytes whose sidecar is gone.
        if (path.extension() == ".bin" && !fs::exists(meta_path(options_.directory, path.stem().string()), ignored))
            fs::remove(path, ignored);
    }
}

std::vector<std::string> LocalAttachmentFiles::sweep(std::chrono::system_clock::time_point now) {
    std::vector<std::string> removed;
    for (auto const& a : abandoned(now))
        if (remove_if_abandoned(a.id, now)) removed.push_back(a.id);
    remove_stray_files();
    return removed;
}

namespace detail {

attachment_path parse_attachment_path(std::string_view prefix, std::string_view path) {
    attachment_path out;
    if (!path.starts_with(prefix)) return out;
    std::string_view rest = path.substr(prefix.size());
    if (rest.empty() || rest == "/") {
        out.valid = true;
        return out;
    }
    if (rest.front() != '/') return out;
    rest.remove_prefix(1);
    auto const slash = rest.find('/');
    std::string_view const id = rest.substr(0, slash);
    std::string_view const tail = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    if (!valid_id(id) || (!tail.empty() && tail != "/upload")) return out;
    out.id = std::string(id);
    out.rest = tail;
    out.valid = true;
    return out;
}

}  // namespace detail
}  // namespace chatkit
