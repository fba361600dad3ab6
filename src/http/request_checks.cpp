// chatkit-cpp HTTP layer: the checks of the bundled listener on incoming requests (request smuggling,
// read failures) and the static files it serves.
#include "server_detail.hpp"

#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <filesystem>

namespace chatkit::http {

namespace http_ = beast::http;
using error_code = boost::system::error_code;

namespace detail {

// ---------------------------------------------------------------------------------------------
// Request validation, static files

// RFC 9112 §6.1/§6.3 checks Beast 1.81's parser does not make (SECURITY.md §1). Returns the reason
// for a 400 (the connection is then closed), or nullopt.
std::optional<std::string_view> smuggling_problem(http_::fields const& fields, unsigned version) {
    bool has_te = false;
    std::size_t codings = 0;
    bool chunked_only = true;
    for (auto const& field : fields_named(fields, http_::field::transfer_encoding)) {
        has_te = true;
        std::string_view rest = field.value();
        while (true) {
            auto const comma = rest.find(',');
            std::string_view const coding = trim(rest.substr(0, comma));
            if (!coding.empty()) {
                ++codings;
                if (!iequals(coding, "chunked")) chunked_only = false;
            }
            if (comma == std::string_view::npos) break;
            rest = rest.substr(comma + 1);
        }
    }
    if (has_te) {
        if (version < 11) return "Transfer-Encoding is not allowed in HTTP/1.0 requests";
        if (codings != 1 || !chunked_only)
            return "unsupported Transfer-Encoding (only a single chunked is accepted)";
        if (fields.count(http_::field::content_length) > 0)
            return "Transfer-Encoding together with Content-Length";
    }
    std::optional<std::string_view> length;
    for (auto const& field : fields_named(fields, http_::field::content_length)) {
        std::string_view rest = field.value();
        while (true) {
            auto const comma = rest.find(',');
            std::string_view const value = trim(rest.substr(0, comma));
            if (value.empty() || value.find_first_not_of("0123456789") != std::string_view::npos)
                return "invalid Content-Length";
            if (length && *length != value) return "conflicting Content-Length values";
            length = value;
            if (comma == std::string_view::npos) break;
            rest = rest.substr(comma + 1);
        }
    }
    return std::nullopt;
}

namespace {

std::optional<std::string> percent_decode(std::string_view in) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '%') {
            out.push_back(in[i]);
            continue;
        }
        if (i + 2 >= in.size()) return std::nullopt;
        int const hi = hex(in[i + 1]);
        int const lo = hex(in[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
    }
    return out;
}

bool within(std::filesystem::path const& root, std::filesystem::path const& p) {
    auto const [r, q] = std::mismatch(root.begin(), root.end(), p.begin(), p.end());
    (void)q;
    return r == root.end();
}

}  // namespace

// The file a GET of `raw_path` names under `root` (canonical), or nullopt: percent-decoded once,
// `.`/`..`/dot-file segments, NUL and backslashes rejected, symlinks resolved and required to stay
// inside the root, directories mapped to `index`.
std::optional<std::filesystem::path> resolve_static(std::filesystem::path const& root,
                                                    std::string_view raw_path, std::string const& index) {
    auto decoded = percent_decode(raw_path);
    if (!decoded || decoded->empty() || decoded->front() != '/') return std::nullopt;
    if (decoded->find('\0') != std::string::npos || decoded->find('\\') != std::string::npos)
        return std::nullopt;
    std::filesystem::path relative;
    std::string_view rest = *decoded;
    while (!rest.empty()) {
        auto const slash = rest.find('/');
        std::string_view const segment = rest.substr(0, slash);
        rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
        if (segment.empty()) continue;
        if (segment.front() == '.') return std::nullopt;  // `.`, `..`, and hidden files (.env, .git)
        relative /= std::filesystem::path(std::string(segment));
    }
    std::error_code ec;
    auto real = std::filesystem::canonical(root / relative, ec);
    if (ec || !within(root, real)) return std::nullopt;
    if (std::filesystem::is_directory(real, ec)) {
        real = std::filesystem::canonical(real / index, ec);
        if (ec || !within(root, real)) return std::nullopt;
    }
    if (!std::filesystem::is_regular_file(real, ec)) return std::nullopt;
    return real;
}

char const* mime_type(std::filesystem::path const& file) {
    std::string ext = file.extension().string();
    for (auto& c : ext)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    struct entry {
        char const* ext;
        char const* type;
    };
    static constexpr entry table[] = {
        {".html", "text/html; charset=utf-8"},
        {".htm", "text/html; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".json", "application/json"},
        {".map", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
        {".md", "text/markdown; charset=utf-8"},
        {".xml", "application/xml"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".gif", "image/gif"},
        {".webp", "image/webp"},
        {".avif", "image/avif"},
        {".ico", "image/x-icon"},
        {".woff", "font/woff"},
        {".woff2", "font/woff2"},
        {".ttf", "font/ttf"},
        {".otf", "font/otf"},
        {".wasm", "application/wasm"},
        {".pdf", "application/pdf"},
        {".mp3", "audio/mpeg"},
        {".mp4", "video/mp4"},
        {".webm", "video/webm"},
    };
    for (auto const& e : table)
        if (ext == e.ext) return e.type;
    return "application/octet-stream";
}

// The HTTP status a failed request read answers with, or nullopt to close silently (the peer left).
std::optional<unsigned> read_failure_status(error_code const& ec) {
    if (ec == http_::error::header_limit || ec == http_::error::buffer_overflow) return 431;
    if (ec == http_::error::body_limit) return 413;
    if (ec == http_::error::end_of_stream || ec == http_::error::partial_message) return std::nullopt;
    if (ec.category() == http_::make_error_code(http_::error::bad_target).category()) return 400;
    return std::nullopt;  // socket and TLS errors, cancellation
}

}  // namespace detail
}  // namespace chatkit::http
