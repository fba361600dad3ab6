// chatkit-cpp protocol: URLs as pydantic's AnyUrl reads (absolute URL check) and writes them
// (normalization on output).
#include "json_detail.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace chatkit::json_detail {

namespace {

bool is_special_scheme(std::string_view scheme) noexcept {
    return scheme == "http" || scheme == "https" || scheme == "ws" || scheme == "wss" || scheme == "ftp" ||
           scheme == "file";
}

std::string_view default_port(std::string_view scheme) noexcept {
    if (scheme == "http" || scheme == "ws") return "80";
    if (scheme == "https" || scheme == "wss") return "443";
    if (scheme == "ftp") return "21";
    return {};
}

// Length of the URL scheme at the start of `s` (0 when there is none).
std::size_t scheme_length(std::string_view s) noexcept {
    if (s.empty() || !is_alpha(s[0])) return 0;
    std::size_t i = 1;
    while (i < s.size() && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')) ++i;
    return i < s.size() && s[i] == ':' ? i : 0;
}

// `s` without leading/trailing C0 controls and spaces, and without ASCII tabs and newlines anywhere,
// as URL parsers read it (a copy in `storage` only when there are tabs or newlines).
std::string_view clean_url(std::string_view s, std::string& storage) {
    while (!s.empty() && static_cast<unsigned char>(s.front()) <= 0x20) s.remove_prefix(1);
    while (!s.empty() && static_cast<unsigned char>(s.back()) <= 0x20) s.remove_suffix(1);
    if (s.find_first_of("\t\n\r") == std::string_view::npos) return s;
    storage.clear();
    for (char c : s)
        if (c != '\t' && c != '\n' && c != '\r') storage.push_back(c);
    return storage;
}

}  // namespace

// True when `s` is an absolute URL pydantic's AnyUrl accepts (a scheme; a host for special schemes).
bool is_absolute_url(std::string_view s) noexcept {
    // Checked as normalize_url reads it: a tab among the slashes hid the host ("https:\\\t\\a<b"
    // passed with an empty-looking host, was written as "https://a<b/" and refused when read back:
    // fuzz_json_readers).
    std::string cleaned;
    s = clean_url(s, cleaned);
    std::size_t const n = scheme_length(s);
    if (n == 0) return false;
    std::string scheme;
    for (std::size_t i = 0; i < n; ++i) scheme.push_back(to_lower(s[i]));
    std::string_view rest = s.substr(n + 1);
    bool const special = is_special_scheme(scheme);
    if (scheme == "file") {
        // A file URL's host, when there is one, has no port, credentials or forbidden code point: AnyUrl
        // refuses them ("file://pleu.::" was written as "file://pleu.:", then read back as
        // "file://pleu.": not stable, fuzz_json_readers).
        if (!rest.starts_with("//")) return true;
        std::string_view const host = rest.substr(2, rest.find_first_of("/\\?#", 2) - 2);
        return host.starts_with('[') || host.find_first_of(":@ <>^|") == std::string_view::npos;
    }
    if (!special) {
        if (!rest.starts_with("//")) return true;  // no authority: an opaque path
        rest.remove_prefix(2);
        if (rest.empty() || rest.find_first_of("/?#") == 0) return true;  // an empty host
    }
    while (special && !rest.empty() && (rest.front() == '/' || rest.front() == '\\')) rest.remove_prefix(1);
    std::size_t const host_end = rest.find_first_of(special ? "/\\?#" : "/?#");
    std::string_view authority = rest.substr(0, host_end);
    if (auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
    if (auto colon = authority.rfind(':'); colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
        // The port is digits (or empty) and at most 65535, as pydantic checks.
        std::string_view const port = authority.substr(colon + 1);
        if (port.size() > 5 || !std::all_of(port.begin(), port.end(), is_digit)) return false;
        if (!port.empty() && std::stoul(std::string(port)) > 65535) return false;
        authority = authority.substr(0, colon);
    }
    // A host has no other ':' outside an IPv6 literal ("https://a::" is not a URL; normalizing it would
    // not be stable: fuzz_json_readers).
    if (!authority.starts_with('[') && authority.find(':') != std::string_view::npos) return false;
    // Nor a forbidden host code point AnyUrl refuses ("htt://a % :" normalized to "htt://a % ", then
    // to "htt://a %": not stable, fuzz_json_readers).
    if (authority.find_first_of(" <>^|") != std::string_view::npos) return false;
    return !special || !authority.empty();
}

namespace {

enum class UrlPart { path, query, fragment, opaque };

// Percent-encodes what the WHATWG URL serializer encodes in each part of a URL.
void append_url_part(std::string& out, std::string_view s, UrlPart part, bool special) {
    static constexpr char hex[] = "0123456789ABCDEF";
    for (char ch : s) {
        auto const c = static_cast<unsigned char>(ch);
        bool encode = c < 0x20 || c >= 0x7F;
        if (!encode && part != UrlPart::opaque) {
            switch (c) {
                case ' ':
                case '"':
                case '<':
                case '>': encode = true; break;
                case '`': encode = part != UrlPart::query; break;
                case '{':
                case '}': encode = part == UrlPart::path; break;
                case '\'': encode = part == UrlPart::query && special; break;
                default: break;
            }
        }
        if (encode) {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 0xF]);
        } else {
            out.push_back(ch);
        }
    }
}

// Removes `.` and `..` segments from an absolute path.
std::string remove_dot_segments(std::string_view path) {
    std::vector<std::string_view> segments;
    std::size_t pos = 1;  // path starts with '/'
    bool trailing_slash = false;
    while (pos <= path.size()) {
        std::size_t const next = std::min(path.find('/', pos), path.size());
        std::string_view const seg = path.substr(pos, next - pos);
        bool const last = next == path.size();
        if (seg == ".") {
            trailing_slash = last;
        } else if (seg == "..") {
            if (!segments.empty()) segments.pop_back();
            trailing_slash = last;
        } else {
            segments.push_back(seg);
            trailing_slash = false;
        }
        pos = next + 1;
    }
    std::string out;
    out.reserve(path.size());
    for (auto const seg : segments) {
        out.push_back('/');
        out.append(seg);
    }
    if (trailing_slash || out.empty()) out.push_back('/');
    return out;
}

}  // namespace

// Normalizes an absolute URL the way pydantic's AnyUrl serializes it: lowercase scheme (and host for
// special schemes), default port dropped, empty path of special URLs written as `/`, dot segments
// resolved, unsafe characters percent-encoded. IDNA host conversion is not done.
std::string normalize_url(std::string_view input) {
    std::string cleaned;
    std::string_view s = clean_url(input, cleaned);
    std::size_t const n = scheme_length(s);
    if (n == 0) return std::string(s);

    std::string out;
    out.reserve(s.size() + 4);
    for (std::size_t i = 0; i < n; ++i) out.push_back(to_lower(s[i]));
    std::string const scheme = out;
    out.push_back(':');
    std::string_view rest = s.substr(n + 1);
    bool const special = is_special_scheme(scheme);

    bool has_authority = false;
    if (special && scheme != "file") {
        while (!rest.empty() && (rest.front() == '/' || rest.front() == '\\')) rest.remove_prefix(1);
        has_authority = true;
    } else if (rest.starts_with("//")) {
        rest.remove_prefix(2);
        has_authority = true;
    }
    if (!has_authority) {
        append_url_part(out, rest, UrlPart::opaque, false);
        return out;
    }

    out.append("//");
    std::size_t const auth_end = rest.find_first_of(special ? "/\\?#" : "/?#");
    std::string_view authority = rest.substr(0, auth_end);
    rest = auth_end == std::string_view::npos ? std::string_view{} : rest.substr(auth_end);
    if (auto at = authority.rfind('@'); at != std::string_view::npos) {
        out.append(authority.substr(0, at + 1));
        authority.remove_prefix(at + 1);
    }
    std::string_view host = authority;
    std::string_view port;
    if (auto colon = authority.rfind(':');
        colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    for (char c : host) out.push_back(special ? to_lower(c) : c);
    if (!port.empty() && port != default_port(scheme)) {
        out.push_back(':');
        out.append(port);
    }

    std::size_t const query_pos = rest.find_first_of("?#");
    std::string path(rest.substr(0, query_pos));
    std::string_view tail = query_pos == std::string_view::npos ? std::string_view{} : rest.substr(query_pos);
    if (special) std::replace(path.begin(), path.end(), '\\', '/');
    if (path.empty() && special) path.assign(1, '/');  // (not `= "/"`: g++ 12 -O2 warns falsely, -Wrestrict)
    if (!path.empty() && path.front() == '/' &&
        (path.find("/.") != std::string::npos)) path = remove_dot_segments(path);
    append_url_part(out, path, UrlPart::path, special);

    if (!tail.empty() && tail.front() == '?') {
        std::size_t const hash = tail.find('#');
        out.push_back('?');
        append_url_part(out, tail.substr(1, hash == std::string_view::npos ? tail.npos : hash - 1), UrlPart::query,
                        special);
        tail = hash == std::string_view::npos ? std::string_view{} : tail.substr(hash);
    }
    if (!tail.empty() && tail.front() == '#') {
        out.push_back('#');
        append_url_part(out, tail.substr(1), UrlPart::fragment, special);
    }
    return out;
}

}  // namespace chatkit::json_detail
