// chatkit-cpp protocol: JSON writers and readers, byte-compatible with the Python reference
// (PROTOCOL.md §1.2 and §2).
//
// Writers describe each shape once, as a sequence of calls on a "sink": `ValueSink` builds a
// boost::json::value (for to_json), `TextSink` writes compact JSON text directly (for sse_frame), so
// both forms always agree on key order and omitted fields.
//
// Readers follow pydantic's lax JSON mode: unknown keys are ignored, nullable keys may be absent or
// null, defaulted keys may be absent but not null, integers accept integral floats and numeric
// strings, and every failure names the JSON path of the offending value.
#include <chatkit/protocol/json.hpp>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace chatkit {
namespace {

namespace json = boost::json;

template <class... Ts>
struct overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
overloaded(Ts...) -> overloaded<Ts...>;

std::string_view sv(json::string const& s) noexcept { return {s.data(), s.size()}; }
json::string_view jsv(std::string_view s) noexcept { return {s.data(), s.size()}; }

// =============================================================================================
// Text output: strings, numbers, free-form values

// Characters that need an escape inside a JSON string: control characters, `"` and `\`.
constexpr std::array<bool, 256> make_escape_table() {
    std::array<bool, 256> table{};
    for (int c = 0; c < 0x20; ++c) table[static_cast<std::size_t>(c)] = true;
    table['"'] = true;
    table['\\'] = true;
    return table;
}
constexpr std::array<bool, 256> needs_escape = make_escape_table();

// Appends a quoted JSON string as the reference writes it: short escapes for \b \f \n \r \t,
// `\u00XX` (lowercase hex) for other control characters, everything else raw.
void write_string(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    if (out.capacity() - out.size() < s.size() + 2) out.reserve(out.size() + s.size() + 2);
    out.push_back('"');
    std::size_t start = 0;
    std::size_t i = 0;
    for (; i < s.size(); ++i) {
        // Skip 8 bytes at a time while none of them needs an escape (SWAR test for bytes < 0x20,
        // '"' and '\').
        while (i + 8 <= s.size()) {
            std::uint64_t w = 0;
            std::memcpy(&w, s.data() + i, 8);
            constexpr std::uint64_t ones = 0x0101010101010101ULL;
            constexpr std::uint64_t highs = 0x8080808080808080ULL;
            auto const has_zero = [](std::uint64_t v) { return (v - ones) & ~v & highs; };
            std::uint64_t const special =
                ((w - ones * 0x20) & ~w & highs) | has_zero(w ^ (ones * '"')) | has_zero(w ^ (ones * '\\'));
            if (special != 0) break;
            i += 8;
        }
        if (i >= s.size()) break;
        auto const c = static_cast<unsigned char>(s[i]);
        if (!needs_escape[c]) continue;
        out.append(s.data() + start, i - start);
        start = i + 1;
        switch (c) {
            case '"': out.append("\\\""); break;
            case '\\': out.append("\\\\"); break;
            case '\b': out.append("\\b"); break;
            case '\f': out.append("\\f"); break;
            case '\n': out.append("\\n"); break;
            case '\r': out.append("\\r"); break;
            case '\t': out.append("\\t"); break;
            default: {
                char const esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
                out.append(esc, sizeof esc);
            }
        }
    }
    out.append(s.data() + start, s.size() - start);
    out.push_back('"');
}

template <class Int>
void write_integer(std::string& out, Int v) {
    char buf[24];
    auto const res = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, res.ptr);
}

// Appends a double as pydantic-core writes Python floats: shortest round-trip digits, fixed
// notation (with `.0` when integral) for decimal exponents -5..15, `d[.ddd]e[+-]X` otherwise;
// NaN and infinities become `null`.
void write_double(std::string& out, double d) {
    if (!std::isfinite(d)) {
        out.append("null");
        return;
    }
    if (d == 0) {
        out.append(std::signbit(d) ? "-0.0" : "0.0");
        return;
    }
    char buf[40];
    auto const res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    char const* p = buf;
    char const* const end = res.ptr;
    if (*p == '-') {
        out.push_back('-');
        ++p;
    }
    char digits[24];
    int nd = 0;
    for (; p != end && *p != 'e'; ++p) {
        if (*p != '.') digits[nd++] = *p;
    }
    int exponent = 0;
    if (p != end) {
        ++p;  // 'e'
        bool const negative = *p == '-';
        if (*p == '-' || *p == '+') ++p;
        for (; p != end; ++p) exponent = exponent * 10 + (*p - '0');
        if (negative) exponent = -exponent;
    }
    int const kk = exponent + 1;  // position of the decimal point relative to the digits
    if (kk > 0 && kk <= 16) {
        if (nd <= kk) {
            out.append(digits, static_cast<std::size_t>(nd));
            out.append(static_cast<std::size_t>(kk - nd), '0');
            out.append(".0");
        } else {
            out.append(digits, static_cast<std::size_t>(kk));
            out.push_back('.');
            out.append(digits + kk, static_cast<std::size_t>(nd - kk));
        }
    } else if (kk > -5 && kk <= 0) {
        out.append("0.");
        out.append(static_cast<std::size_t>(-kk), '0');
        out.append(digits, static_cast<std::size_t>(nd));
    } else {
        out.push_back(digits[0]);
        if (nd > 1) {
            out.push_back('.');
            out.append(digits + 1, static_cast<std::size_t>(nd - 1));
        }
        out.push_back('e');
        out.push_back(exponent < 0 ? '-' : '+');
        write_integer(out, exponent < 0 ? -exponent : exponent);
    }
}

void write_object(std::string& out, json::object const& o, bool strip);

// Appends any JSON value; when `strip` is set, nulls are dropped at every depth (widgets).
void write_value(std::string& out, json::value const& v, bool strip) {
    switch (v.kind()) {
        case json::kind::null: out.append("null"); return;
        case json::kind::bool_: out.append(v.get_bool() ? "true" : "false"); return;
        case json::kind::int64: write_integer(out, v.get_int64()); return;
        case json::kind::uint64: write_integer(out, v.get_uint64()); return;
        case json::kind::double_: write_double(out, v.get_double()); return;
        case json::kind::string: write_string(out, sv(v.get_string())); return;
        case json::kind::array: {
            out.push_back('[');
            bool first = true;
            for (auto const& e : v.get_array()) {
                if (strip && e.is_null()) continue;
                if (!first) out.push_back(',');
                first = false;
                write_value(out, e, strip);
            }
            out.push_back(']');
            return;
        }
        case json::kind::object: write_object(out, v.get_object(), strip); return;
    }
}

void write_object(std::string& out, json::object const& o, bool strip) {
    out.push_back('{');
    bool first = true;
    for (auto const& kv : o) {
        if (strip && kv.value().is_null()) continue;
        if (!first) out.push_back(',');
        first = false;
        write_string(out, {kv.key().data(), kv.key().size()});
        out.push_back(':');
        write_value(out, kv.value(), strip);
    }
    out.push_back('}');
}

// =============================================================================================
// URLs (pydantic AnyUrl normalization on output)

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

bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
char to_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Length of the URL scheme at the start of `s` (0 when there is none).
std::size_t scheme_length(std::string_view s) noexcept {
    if (s.empty() || !is_alpha(s[0])) return 0;
    std::size_t i = 1;
    while (i < s.size() && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')) ++i;
    return i < s.size() && s[i] == ':' ? i : 0;
}

// `s` without leading/trailing C0 controls and spaces, as URL parsers strip them.
std::string_view trim_url(std::string_view s) noexcept {
    while (!s.empty() && static_cast<unsigned char>(s.front()) <= 0x20) s.remove_prefix(1);
    while (!s.empty() && static_cast<unsigned char>(s.back()) <= 0x20) s.remove_suffix(1);
    return s;
}

// True when `s` is an absolute URL pydantic's AnyUrl accepts (a scheme; a host for special schemes).
bool is_absolute_url(std::string_view s) noexcept {
    s = trim_url(s);
    std::size_t const n = scheme_length(s);
    if (n == 0) return false;
    std::string scheme;
    for (std::size_t i = 0; i < n; ++i) scheme.push_back(to_lower(s[i]));
    std::string_view rest = s.substr(n + 1);
    bool const special = is_special_scheme(scheme);
    if (scheme == "file") return true;
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
    return !special || !authority.empty();
}

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

// Normalizes an absolute URL the way pydantic's AnyUrl serializes it: lowercase scheme (and host for
// special schemes), default port dropped, empty path of special URLs written as `/`, dot segments
// resolved, unsafe characters percent-encoded. IDNA host conversion is not done.
std::string normalize_url(std::string_view input) {
    std::string_view s = trim_url(input);
    std::string cleaned;
    if (s.find_first_of("\t\n\r") != std::string_view::npos) {
        for (char c : s)
            if (c != '\t' && c != '\n' && c != '\r') cleaned.push_back(c);
        s = cleaned;
    }
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
    if (path.empty() && special) path = "/";
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

// =============================================================================================
// Sinks

// Writes compact JSON text.
class TextSink {
public:
    explicit TextSink(std::string& out) : out_(out) {}

    void begin_object() { open('{'); }
    void end_object() { close('}'); }
    void begin_array() { open('['); }
    void end_array() { close(']'); }
    void key(std::string_view k) {
        if (need_comma_) out_.push_back(',');
        write_string(out_, k);
        out_.push_back(':');
        after_key_ = true;
    }
    void string(std::string_view v) {
        separate();
        write_string(out_, v);
        need_comma_ = true;
    }
    void integer(std::int64_t v) {
        separate();
        write_integer(out_, v);
        need_comma_ = true;
    }
    void number(double v) {
        separate();
        write_double(out_, v);
        need_comma_ = true;
    }
    void boolean(bool v) {
        separate();
        out_.append(v ? "true" : "false");
        need_comma_ = true;
    }
    // A free-form value, written as is (nulls kept).
    void value(json::value const& v) {
        separate();
        write_value(out_, v, false);
        need_comma_ = true;
    }
    void object_value(JsonObject const& o) {
        separate();
        write_object(out_, o, false);
        need_comma_ = true;
    }
    // A widget tree: nulls dropped at every depth.
    void widget_object(JsonObject const& o) {
        separate();
        write_object(out_, o, true);
        need_comma_ = true;
    }

private:
    void separate() {
        if (after_key_) {
            after_key_ = false;
        } else if (need_comma_) {
            out_.push_back(',');
        }
    }
    void open(char c) {
        separate();
        out_.push_back(c);
        need_comma_ = false;
    }
    void close(char c) {
        out_.push_back(c);
        need_comma_ = true;
    }

    std::string& out_;
    bool need_comma_ = false;
    bool after_key_ = false;
};

// Builds a boost::json::value.
class ValueSink {
public:
    void begin_object() { open(json::object()); }
    void end_object() { stack_.pop_back(); }
    void begin_array() { open(json::array()); }
    void end_array() { stack_.pop_back(); }
    void key(std::string_view k) { key_ = k; }
    void string(std::string_view v) { place(json::string(jsv(v))); }
    void integer(std::int64_t v) { place(v); }
    void number(double v) { place(v); }
    void boolean(bool v) { place(v); }
    void value(json::value const& v) { place(json::value(v)); }
    void object_value(JsonObject const& o) { place(json::value(o)); }
    void widget_object(JsonObject const& o) {
        json::object copy;
        copy.reserve(o.size());
        for (auto const& kv : o)
            if (!kv.value().is_null()) copy.emplace(kv.key(), strip_nulls(kv.value()));
        place(std::move(copy));
    }

    json::value release() { return std::move(root_); }

private:
    json::value& place(json::value v) {
        if (stack_.empty()) {
            root_ = std::move(v);
            return root_;
        }
        json::value& top = *stack_.back();
        if (auto* o = top.if_object()) return o->insert_or_assign(jsv(key_), std::move(v)).first->value();
        auto& a = top.get_array();
        a.push_back(std::move(v));
        return a.back();
    }
    void open(json::value v) { stack_.push_back(&place(std::move(v))); }

    json::value root_;
    std::vector<json::value*> stack_;
    std::string_view key_;
};

// =============================================================================================
// Writers (one per shape, in the reference's declaration order)

template <class S>
void put_str(S& s, std::string_view k, std::string_view v) {
    s.key(k);
    s.string(v);
}
template <class S>
void put_opt_str(S& s, std::string_view k, std::optional<std::string> const& v) {
    if (v) put_str(s, k, *v);
}
template <class S>
void put_int(S& s, std::string_view k, std::int64_t v) {
    s.key(k);
    s.integer(v);
}
template <class S>
void put_bool(S& s, std::string_view k, bool v) {
    s.key(k);
    s.boolean(v);
}
template <class S>
void put_timestamp(S& s, std::string_view k, Timestamp t) {
    s.key(k);
    s.string(format_timestamp(t));
}
template <class S>
void put_object(S& s, std::string_view k, JsonObject const& o) {
    s.key(k);
    s.object_value(o);
}
template <class S>
void put_strings(S& s, std::string_view k, std::vector<std::string> const& v) {
    s.key(k);
    s.begin_array();
    for (auto const& e : v) s.string(e);
    s.end_array();
}
template <class S, class T, class F>
void put_array(S& s, std::string_view k, std::vector<T> const& v, F&& each) {
    s.key(k);
    s.begin_array();
    for (auto const& e : v) each(e);
    s.end_array();
}

template <class S>
void emit_source_head(S& s, std::string const& title, std::optional<std::string> const& description,
                      std::optional<std::string> const& timestamp, std::optional<std::string> const& group) {
    put_str(s, "title", title);
    put_opt_str(s, "description", description);
    put_opt_str(s, "timestamp", timestamp);
    put_opt_str(s, "group", group);
}

template <class S>
void emit(S& s, FileSource const& x) {
    s.begin_object();
    emit_source_head(s, x.title, x.description, x.timestamp, x.group);
    put_str(s, "type", "file");
    put_str(s, "filename", x.filename);
    s.end_object();
}

template <class S>
void emit(S& s, URLSource const& x) {
    s.begin_object();
    emit_source_head(s, x.title, x.description, x.timestamp, x.group);
    put_str(s, "type", "url");
    put_str(s, "url", x.url);
    put_opt_str(s, "attribution", x.attribution);
    s.end_object();
}

template <class S>
void emit(S& s, EntitySource const& x) {
    s.begin_object();
    emit_source_head(s, x.title, x.description, x.timestamp, x.group);
    put_str(s, "type", "entity");
    put_str(s, "id", x.id);
    put_opt_str(s, "icon", x.icon);
    put_opt_str(s, "label", x.label);
    put_opt_str(s, "inline_label", x.inline_label);
    put_bool(s, "interactive", x.interactive);
    put_object(s, "data", x.data);
    put_opt_str(s, "preview", x.preview);
    s.end_object();
}

template <class S>
void emit(S& s, Source const& x) {
    std::visit([&](auto const& v) { emit(s, v); }, x);
}

template <class S>
void emit(S& s, Annotation const& x) {
    s.begin_object();
    put_str(s, "type", "annotation");
    s.key("source");
    emit(s, x.source);
    if (x.index) put_int(s, "index", *x.index);
    s.end_object();
}

template <class S>
void emit(S& s, AssistantMessageContent const& x) {
    s.begin_object();
    put_array(s, "annotations", x.annotations, [&](Annotation const& a) { emit(s, a); });
    put_str(s, "text", x.text);
    put_str(s, "type", "output_text");
    s.end_object();
}

template <class S>
void emit(S& s, UserMessageContent const& x) {
    s.begin_object();
    std::visit(overloaded{
                   [&](UserMessageTextContent const& c) {
                       put_str(s, "type", "input_text");
                       put_str(s, "text", c.text);
                   },
                   [&](UserMessageTagContent const& c) {
                       put_str(s, "type", "input_tag");
                       put_str(s, "id", c.id);
                       put_str(s, "text", c.text);
                       put_object(s, "data", c.data);
                       put_opt_str(s, "group", c.group);
                       put_bool(s, "interactive", c.interactive);
                   },
               },
               x);
    s.end_object();
}

template <class S>
void emit(S& s, InferenceOptions const& x) {
    s.begin_object();
    if (x.tool_choice) {
        s.key("tool_choice");
        s.begin_object();
        put_str(s, "id", x.tool_choice->id);
        s.end_object();
    }
    put_opt_str(s, "model", x.model);
    s.end_object();
}

template <class S>
void emit(S& s, AttachmentUploadDescriptor const& x) {
    s.begin_object();
    put_str(s, "url", normalize_url(x.url));
    put_str(s, "method", x.method);
    s.key("headers");
    s.begin_object();
    // A header repeated in the list is written once, at its first position, with its last value
    // (what a Python dict built from the pairs would hold).
    auto const& h = x.headers;
    for (std::size_t i = 0; i < h.size(); ++i) {
        bool seen = false;
        for (std::size_t j = 0; j < i && !seen; ++j) seen = h[j].first == h[i].first;
        if (seen) continue;
        std::size_t last = i;
        for (std::size_t j = i + 1; j < h.size(); ++j)
            if (h[j].first == h[i].first) last = j;
        put_str(s, h[i].first, h[last].second);
    }
    s.end_object();
    s.end_object();
}

template <class S>
void emit(S& s, Attachment const& x, JsonMode mode) {
    s.begin_object();
    put_str(s, "id", x.id);
    put_str(s, "name", x.name);
    put_str(s, "mime_type", x.mime_type);
    if (x.upload_descriptor) {
        s.key("upload_descriptor");
        emit(s, *x.upload_descriptor);
    }
    put_opt_str(s, "thread_id", x.thread_id);
    if (mode == JsonMode::store && x.metadata) put_object(s, "metadata", *x.metadata);
    if (x.type == AttachmentType::image) {
        put_str(s, "type", "image");
        put_str(s, "preview_url", normalize_url(x.preview_url));
    } else {
        put_str(s, "type", "file");
    }
    s.end_object();
}

char const* status_indicator_name(TaskStatusIndicator v) noexcept {
    switch (v) {
        case TaskStatusIndicator::loading: return "loading";
        case TaskStatusIndicator::complete: return "complete";
        case TaskStatusIndicator::none: break;
    }
    return "none";
}

template <class S>
void emit_task_head(S& s, TaskStatusIndicator indicator, char const* type, std::optional<std::string> const& title) {
    put_str(s, "status_indicator", status_indicator_name(indicator));
    put_str(s, "type", type);
    put_opt_str(s, "title", title);
}

template <class S>
void emit(S& s, Task const& x) {
    s.begin_object();
    std::visit(overloaded{
                   [&](CustomTask const& t) {
                       emit_task_head(s, t.status_indicator, "custom", t.title);
                       put_opt_str(s, "icon", t.icon);
                       put_opt_str(s, "content", t.content);
                   },
                   [&](WebSearchTask const& t) {
                       emit_task_head(s, t.status_indicator, "web_search", t.title);
                       put_opt_str(s, "title_query", t.title_query);
                       put_strings(s, "queries", t.queries);
                       put_array(s, "sources", t.sources, [&](URLSource const& u) { emit(s, u); });
                   },
                   [&](ThoughtTask const& t) {
                       emit_task_head(s, t.status_indicator, "thought", t.title);
                       put_str(s, "content", t.content);
                   },
                   [&](FileTask const& t) {
                       emit_task_head(s, t.status_indicator, "file", t.title);
                       put_array(s, "sources", t.sources, [&](FileSource const& f) { emit(s, f); });
                   },
                   [&](ImageTask const& t) { emit_task_head(s, t.status_indicator, "image", t.title); },
               },
               x);
    s.end_object();
}

template <class S>
void emit(S& s, Workflow const& x) {
    s.begin_object();
    put_str(s, "type", x.type == WorkflowType::reasoning ? "reasoning" : "custom");
    put_array(s, "tasks", x.tasks, [&](Task const& t) { emit(s, t); });
    if (x.summary) {
        s.key("summary");
        s.begin_object();
        std::visit(overloaded{
                       [&](CustomSummary const& c) {
                           put_str(s, "title", c.title);
                           put_opt_str(s, "icon", c.icon);
                       },
                       [&](DurationSummary const& d) { put_int(s, "duration", d.duration); },
                   },
                   *x.summary);
        s.end_object();
    }
    put_bool(s, "expanded", x.expanded);
    s.end_object();
}

template <class S>
void emit_structured_head(S& s, std::string const& id, std::string const& question,
                          std::optional<StructuredInputAnswer> const& answer) {
    put_str(s, "id", id);
    put_str(s, "question", question);
    if (answer) {
        s.key("answer");
        s.begin_object();
        put_strings(s, "values", answer->values);
        put_bool(s, "skipped", answer->skipped);
        s.end_object();
    }
}

template <class S>
void emit(S& s, StructuredInput const& x) {
    s.begin_object();
    std::visit(overloaded{
                   [&](StructuredInputMultipleChoice const& q) {
                       emit_structured_head(s, q.id, q.question, q.answer);
                       put_str(s, "type", "multiple_choice");
                       put_array(s, "options", q.options, [&](StructuredInputMultipleChoiceOption const& o) {
                           s.begin_object();
                           put_str(s, "value", o.value);
                           s.end_object();
                       });
                       put_bool(s, "multiple", q.multiple);
                   },
                   [&](StructuredInputFreeform const& q) {
                       emit_structured_head(s, q.id, q.question, q.answer);
                       put_str(s, "type", "freeform");
                       put_opt_str(s, "description", q.description);
                   },
               },
               x);
    s.end_object();
}

template <class S>
void emit(S& s, GeneratedImage const& x) {
    s.begin_object();
    put_str(s, "id", x.id);
    put_str(s, "url", x.url);
    s.end_object();
}

char const* tool_call_status_name(ToolCallStatus v) noexcept {
    return v == ToolCallStatus::completed ? "completed" : "pending";
}

char const* structured_status_name(StructuredInputStatus v) noexcept {
    switch (v) {
        case StructuredInputStatus::answered: return "answered";
        case StructuredInputStatus::skipped: return "skipped";
        case StructuredInputStatus::pending: break;
    }
    return "pending";
}

template <class S>
void emit(S& s, ThreadItem const& item, JsonMode mode) {
    s.begin_object();
    put_str(s, "id", item_id(item));
    put_str(s, "thread_id", item_thread_id(item));
    put_timestamp(s, "created_at", item_created_at(item));
    put_str(s, "type", item_type(item));
    std::visit(overloaded{
                   [&](UserMessageItem const& x) {
                       put_array(s, "content", x.content, [&](UserMessageContent const& c) { emit(s, c); });
                       put_array(s, "attachments", x.attachments, [&](Attachment const& a) { emit(s, a, mode); });
                       put_opt_str(s, "quoted_text", x.quoted_text);
                       s.key("inference_options");
                       emit(s, x.inference_options);
                   },
                   [&](AssistantMessageItem const& x) {
                       put_array(s, "content", x.content, [&](AssistantMessageContent const& c) { emit(s, c); });
                   },
                   [&](ClientToolCallItem const& x) {
                       put_str(s, "status", tool_call_status_name(x.status));
                       put_str(s, "call_id", x.call_id);
                       put_str(s, "name", x.name);
                       put_object(s, "arguments", x.arguments);
                       if (!x.output.is_null()) {
                           s.key("output");
                           s.value(x.output);
                       }
                   },
                   [&](WidgetItem const& x) {
                       s.key("widget");
                       s.widget_object(x.widget);
                       put_opt_str(s, "copy_text", x.copy_text);
                   },
                   [&](GeneratedImageItem const& x) {
                       if (x.image) {
                           s.key("image");
                           emit(s, *x.image);
                       }
                   },
                   [&](StructuredInputItem const& x) {
                       put_str(s, "status", structured_status_name(x.status));
                       put_array(s, "inputs", x.inputs, [&](StructuredInput const& i) { emit(s, i); });
                   },
                   [&](WorkflowItem const& x) {
                       s.key("workflow");
                       emit(s, x.workflow);
                   },
                   [&](TaskItem const& x) {
                       s.key("task");
                       emit(s, x.task);
                   },
                   [&](EndOfTurnItem const&) {},
                   [&](HiddenContextItem const& x) {
                       if (!x.content.is_null()) {
                           s.key("content");
                           s.value(x.content);
                       }
                   },
                   [&](SDKHiddenContextItem const& x) { put_str(s, "content", x.content); },
               },
               item);
    s.end_object();
}

template <class S>
void emit_page_tail(S& s, bool has_more, std::optional<std::string> const& after) {
    put_bool(s, "has_more", has_more);
    put_opt_str(s, "after", after);
}

template <class S>
void emit(S& s, Page<ThreadItem> const& page, JsonMode mode) {
    s.begin_object();
    put_array(s, "data", page.data, [&](ThreadItem const& i) { emit(s, i, mode); });
    emit_page_tail(s, page.has_more, page.after);
    s.end_object();
}

template <class S>
void emit(S& s, ThreadStatus const& x) {
    s.begin_object();
    switch (x.type) {
        case ThreadStatusType::active: put_str(s, "type", "active"); break;
        case ThreadStatusType::locked:
            put_str(s, "type", "locked");
            put_opt_str(s, "reason", x.reason);
            break;
        case ThreadStatusType::closed:
            put_str(s, "type", "closed");
            put_opt_str(s, "reason", x.reason);
            break;
    }
    s.end_object();
}

template <class S>
void emit_empty_items(S& s) {
    s.key("items");
    s.begin_object();
    s.key("data");
    s.begin_array();
    s.end_array();
    put_bool(s, "has_more", false);
    s.end_object();
}

// A thread: the metadata fields, then `items` when given. In wire mode `metadata` is always `{}`.
template <class S>
void emit_thread(S& s, ThreadMetadata const& x, Page<ThreadItem> const* items, JsonMode mode) {
    s.begin_object();
    put_opt_str(s, "title", x.title);
    put_str(s, "id", x.id);
    put_timestamp(s, "created_at", x.created_at);
    s.key("status");
    emit(s, x.status);
    if (x.allowed_image_domains) put_strings(s, "allowed_image_domains", *x.allowed_image_domains);
    if (mode == JsonMode::store) {
        put_object(s, "metadata", x.metadata);
    } else {
        s.key("metadata");
        s.begin_object();
        s.end_object();
    }
    if (items) {
        s.key("items");
        emit(s, *items, mode);
    } else if (mode == JsonMode::wire) {
        // Clients always get a thread with an items page (empty for a bare ThreadMetadata).
        emit_empty_items(s);
    }
    s.end_object();
}

template <class S>
void emit(S& s, ThreadItemUpdate const& x) {
    s.begin_object();
    put_str(s, "type", update_type(x));
    std::visit(overloaded{
                   [&](AssistantMessageContentPartAdded const& u) {
                       put_int(s, "content_index", u.content_index);
                       s.key("content");
                       emit(s, u.content);
                   },
                   [&](AssistantMessageContentPartTextDelta const& u) {
                       put_int(s, "content_index", u.content_index);
                       put_str(s, "delta", u.delta);
                   },
                   [&](AssistantMessageContentPartAnnotationAdded const& u) {
                       put_int(s, "content_index", u.content_index);
                       put_int(s, "annotation_index", u.annotation_index);
                       s.key("annotation");
                       emit(s, u.annotation);
                   },
                   [&](AssistantMessageContentPartDone const& u) {
                       put_int(s, "content_index", u.content_index);
                       s.key("content");
                       emit(s, u.content);
                   },
                   [&](WidgetStreamingTextValueDelta const& u) {
                       put_str(s, "component_id", u.component_id);
                       put_str(s, "delta", u.delta);
                       put_bool(s, "done", u.done);
                   },
                   [&](WidgetRootUpdated const& u) {
                       s.key("widget");
                       s.widget_object(u.widget);
                   },
                   [&](WidgetComponentUpdated const& u) {
                       put_str(s, "component_id", u.component_id);
                       s.key("component");
                       s.widget_object(u.component);
                   },
                   [&](WorkflowTaskAdded const& u) {
                       put_int(s, "task_index", u.task_index);
                       s.key("task");
                       emit(s, u.task);
                   },
                   [&](WorkflowTaskUpdated const& u) {
                       put_int(s, "task_index", u.task_index);
                       s.key("task");
                       emit(s, u.task);
                   },
                   [&](GeneratedImageUpdated const& u) {
                       s.key("image");
                       emit(s, u.image);
                       if (u.progress) {
                           s.key("progress");
                           s.number(*u.progress);
                       }
                   },
               },
               x);
    s.end_object();
}

char const* notice_level_name(NoticeLevel v) noexcept {
    switch (v) {
        case NoticeLevel::warning: return "warning";
        case NoticeLevel::danger: return "danger";
        case NoticeLevel::info: break;
    }
    return "info";
}

template <class S>
void emit(S& s, ThreadStreamEvent const& x) {
    s.begin_object();
    put_str(s, "type", event_type(x));
    std::visit(overloaded{
                   [&](ThreadCreatedEvent const& e) {
                       s.key("thread");
                       emit_thread(s, e.thread, &e.thread.items, JsonMode::wire);
                   },
                   [&](ThreadUpdatedEvent const& e) {
                       s.key("thread");
                       emit_thread(s, e.thread, &e.thread.items, JsonMode::wire);
                   },
                   [&](ThreadItemAddedEvent const& e) {
                       s.key("item");
                       emit(s, e.item, JsonMode::wire);
                   },
                   [&](ThreadItemUpdatedEvent const& e) {
                       put_str(s, "item_id", e.item_id);
                       s.key("update");
                       emit(s, e.update);
                   },
                   [&](ThreadItemDoneEvent const& e) {
                       s.key("item");
                       emit(s, e.item, JsonMode::wire);
                   },
                   [&](ThreadItemRemovedEvent const& e) { put_str(s, "item_id", e.item_id); },
                   [&](ThreadItemReplacedEvent const& e) {
                       s.key("item");
                       emit(s, e.item, JsonMode::wire);
                   },
                   [&](StreamOptionsEvent const& e) {
                       s.key("stream_options");
                       s.begin_object();
                       put_bool(s, "allow_cancel", e.stream_options.allow_cancel);
                       s.end_object();
                   },
                   [&](ProgressUpdateEvent const& e) {
                       put_opt_str(s, "icon", e.icon);
                       put_str(s, "text", e.text);
                   },
                   [&](ClientEffectEvent const& e) {
                       put_str(s, "name", e.name);
                       put_object(s, "data", e.data);
                   },
                   [&](ErrorEvent const& e) {
                       put_str(s, "code", e.code);
                       put_opt_str(s, "message", e.message);
                       put_bool(s, "allow_retry", e.allow_retry);
                   },
                   [&](NoticeEvent const& e) {
                       put_str(s, "level", notice_level_name(e.level));
                       put_str(s, "message", e.message);
                       put_opt_str(s, "title", e.title);
                   },
               },
               x);
    s.end_object();
}

// Runs `fn(sink)` on a ValueSink and returns the built value.
template <class F>
JsonValue build(F&& fn) {
    ValueSink sink;
    fn(sink);
    return sink.release();
}


// =============================================================================================
// Readers: paths, errors and lax scalar conversions

// A JSON path, kept as a chain of stack frames and turned into text only when an error is reported.
struct Path {
    static constexpr std::size_t no_index = static_cast<std::size_t>(-1);

    Path const* parent = nullptr;
    std::string_view key;
    std::size_t index = no_index;

    Path field(std::string_view k) const { return {this, k, no_index}; }
    Path element(std::size_t i) const { return {this, {}, i}; }

    void append_to(std::string& out) const {
        if (parent == nullptr) {
            out.append(key);
            return;
        }
        parent->append_to(out);
        if (index != no_index) {
            out.push_back('[');
            write_integer(out, index);
            out.push_back(']');
        } else {
            out.push_back('.');
            out.append(key);
        }
    }
};

constexpr Path root_path{nullptr, "$", Path::no_index};

// Throws the invalid_request error `<path>: <reason>`.
[[noreturn]] void fail(Path const& path, std::string_view reason) {
    std::string message;
    path.append_to(message);
    message.append(": ");
    message.append(reason);
    throw_error(error::invalid_request, std::move(message));
}

// A JSON object being read, with the path it was found at.
class Obj {
public:
    Obj(JsonValue const& v, Path const& path) : path_(path) {
        obj_ = v.if_object();
        if (obj_ == nullptr) fail(path, "expected an object");
    }

    // The value of `k`, or nullptr when the key is absent.
    JsonValue const* get(std::string_view k) const {
        auto const it = obj_->find(jsv(k));
        return it == obj_->end() ? nullptr : &it->value();
    }
    Path at(std::string_view k) const { return path_.field(k); }
    JsonObject const& object() const noexcept { return *obj_; }

private:
    JsonObject const* obj_ = nullptr;
    Path const& path_;
};

// Byte length of the Unicode white-space character (Rust's char::is_whitespace, as pydantic-core
// strips numeric strings) at the start of `s`, 0 when there is none.
std::size_t leading_space(std::string_view s) noexcept {
    if (s.empty()) return 0;
    auto const b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    unsigned char const c = b(0);
    if (c == ' ' || (c >= 0x09 && c <= 0x0D)) return 1;
    if (c == 0xC2 && s.size() >= 2 && (b(1) == 0x85 || b(1) == 0xA0)) return 2;
    if (s.size() < 3) return 0;
    if (c == 0xE1 && b(1) == 0x9A && b(2) == 0x80) return 3;
    if (c == 0xE2 && b(1) == 0x80 && ((b(2) >= 0x80 && b(2) <= 0x8A) || b(2) == 0xA8 || b(2) == 0xA9 || b(2) == 0xAF))
        return 3;
    if (c == 0xE2 && b(1) == 0x81 && b(2) == 0x9F) return 3;
    if (c == 0xE3 && b(1) == 0x80 && b(2) == 0x80) return 3;
    return 0;
}

// Byte length of the white-space character at the end of `s`, 0 when there is none.
std::size_t trailing_space(std::string_view s) noexcept {
    for (std::size_t n = 1; n <= 3 && n <= s.size(); ++n) {
        if (leading_space(s.substr(s.size() - n)) == n) return n;
    }
    return 0;
}

std::string_view trim_space(std::string_view s) noexcept {
    while (std::size_t n = leading_space(s)) s.remove_prefix(n);
    while (std::size_t n = trailing_space(s)) s.remove_suffix(n);
    return s;
}

// Appends the digits of `s` to `out`, dropping single underscores between digits (Python's int()
// syntax). False when `s` is empty or an underscore is misplaced.
bool append_digit_run(std::string& out, std::string_view s) {
    if (s.empty()) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (is_digit(s[i])) {
            out.push_back(s[i]);
        } else if (s[i] == '_' && i > 0 && i + 1 < s.size() && is_digit(s[i - 1]) && is_digit(s[i + 1])) {
            continue;
        } else {
            return false;
        }
    }
    return true;
}

enum class IntParse { ok, syntax, range };

// Parses an integer written as a string the way pydantic's lax mode does: surrounding white space,
// a sign, `_` separators and a fraction made of zeros (`"12.0"`) are accepted.
IntParse parse_int_string(std::string_view s, std::int64_t& value) {
    s = trim_space(s);
    std::string digits;
    digits.reserve(s.size() + 1);
    if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
        if (s.front() == '-') digits.push_back('-');
        s.remove_prefix(1);
    }
    std::string_view int_part = s;
    if (auto const dot = s.find('.'); dot != std::string_view::npos) {
        int_part = s.substr(0, dot);
        std::string_view const frac = s.substr(dot + 1);
        if (frac.empty() || frac.find_first_not_of('0') != std::string_view::npos) return IntParse::syntax;
    }
    if (!append_digit_run(digits, int_part)) return IntParse::syntax;
    auto const res = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (res.ec == std::errc::result_out_of_range) return IntParse::range;
    return res.ec == std::errc{} ? IntParse::ok : IntParse::syntax;
}

std::string read_string(JsonValue const& v, Path const& p) {
    if (auto const* s = v.if_string()) return std::string(sv(*s));
    fail(p, "expected a string");
}

// Integers: JSON integers, integral floats, numeric strings and booleans (pydantic lax mode).
std::int64_t read_int(JsonValue const& v, Path const& p) {
    switch (v.kind()) {
        case json::kind::int64: return v.get_int64();
        case json::kind::uint64:
            if (v.get_uint64() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
                fail(p, "integer out of range");
            return static_cast<std::int64_t>(v.get_uint64());
        case json::kind::double_: {
            double const d = v.get_double();
            if (!std::isfinite(d) || d != std::trunc(d)) fail(p, "expected an integer");
            if (d < -9223372036854775808.0 || d >= 9223372036854775808.0) fail(p, "integer out of range");
            return static_cast<std::int64_t>(d);
        }
        case json::kind::bool_: return v.get_bool() ? 1 : 0;
        case json::kind::string: {
            std::int64_t value = 0;
            switch (parse_int_string(sv(v.get_string()), value)) {
                case IntParse::ok: return value;
                case IntParse::range: fail(p, "integer out of range");
                case IntParse::syntax: break;
            }
            break;
        }
        default: break;
    }
    fail(p, "expected an integer");
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return to_lower(x) == to_lower(y); });
}

// Floats: numbers, booleans and numeric strings (with `_` separators, `inf`, `nan`).
double read_float(JsonValue const& v, Path const& p) {
    switch (v.kind()) {
        case json::kind::int64: return static_cast<double>(v.get_int64());
        case json::kind::uint64: return static_cast<double>(v.get_uint64());
        case json::kind::double_: return v.get_double();
        case json::kind::bool_: return v.get_bool() ? 1.0 : 0.0;
        case json::kind::string: {
            std::string_view s = trim_space(sv(v.get_string()));
            bool negative = false;
            if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
                negative = s.front() == '-';
                s.remove_prefix(1);
            }
            double value = 0;
            if (iequals(s, "inf") || iequals(s, "infinity")) {
                value = std::numeric_limits<double>::infinity();
            } else if (iequals(s, "nan")) {
                value = std::numeric_limits<double>::quiet_NaN();
            } else {
                std::string text;
                text.reserve(s.size());
                for (std::size_t i = 0; i < s.size(); ++i) {
                    if (s[i] == '_' && i > 0 && i + 1 < s.size() && is_digit(s[i - 1]) && is_digit(s[i + 1])) continue;
                    text.push_back(s[i]);
                }
                if (text.empty() || !(is_digit(text.front()) || text.front() == '.')) fail(p, "expected a number");
                auto const res = std::from_chars(text.data(), text.data() + text.size(), value);
                if (res.ec != std::errc{} || res.ptr != text.data() + text.size()) fail(p, "expected a number");
            }
            return negative ? -value : value;
        }
        default: break;
    }
    fail(p, "expected a number");
}

// Booleans: true/false, 0/1 (integers or floats) and the strings pydantic accepts, in any case.
bool read_bool(JsonValue const& v, Path const& p) {
    switch (v.kind()) {
        case json::kind::bool_: return v.get_bool();
        case json::kind::int64:
            if (v.get_int64() == 0 || v.get_int64() == 1) return v.get_int64() == 1;
            break;
        case json::kind::uint64:
            if (v.get_uint64() <= 1) return v.get_uint64() == 1;
            break;
        case json::kind::double_:
            if (v.get_double() == 0.0 || v.get_double() == 1.0) return v.get_double() == 1.0;
            break;
        case json::kind::string: {
            std::string_view const s = sv(v.get_string());
            for (std::string_view t : {"1", "on", "t", "true", "y", "yes"})
                if (iequals(s, t)) return true;
            for (std::string_view f : {"0", "off", "f", "false", "n", "no"})
                if (iequals(s, f)) return false;
            break;
        }
        default: break;
    }
    fail(p, "expected a boolean");
}

// Date-times: ISO-8601 strings or Unix timestamps (numbers or numeric strings).
Timestamp read_timestamp(JsonValue const& v, Path const& p) {
    std::optional<Timestamp> t;
    char buf[400];
    switch (v.kind()) {
        case json::kind::string: t = parse_timestamp(sv(v.get_string())); break;
        case json::kind::int64: {
            auto const res = std::to_chars(buf, buf + sizeof buf, v.get_int64());
            t = parse_timestamp({buf, static_cast<std::size_t>(res.ptr - buf)});
            break;
        }
        case json::kind::uint64: {
            auto const res = std::to_chars(buf, buf + sizeof buf, v.get_uint64());
            t = parse_timestamp({buf, static_cast<std::size_t>(res.ptr - buf)});
            break;
        }
        case json::kind::double_: {
            auto const res = std::to_chars(buf, buf + sizeof buf, v.get_double(), std::chars_format::fixed);
            if (res.ec == std::errc{}) t = parse_timestamp({buf, static_cast<std::size_t>(res.ptr - buf)});
            break;
        }
        default: break;
    }
    if (!t) fail(p, "expected an ISO 8601 date-time");
    return *t;
}

JsonObject read_object(JsonValue const& v, Path const& p) {
    if (auto const* o = v.if_object()) return *o;
    fail(p, "expected an object");
}

// Index of the string `v` in `names`; fails with "expected one of ..." otherwise.
std::size_t read_choice(JsonValue const& v, Path const& p, std::span<std::string_view const> names) {
    if (auto const* s = v.if_string()) {
        auto const it = std::find(names.begin(), names.end(), sv(*s));
        if (it != names.end()) return static_cast<std::size_t>(it - names.begin());
    }
    std::string message = names.size() == 1 ? "expected " : "expected one of ";
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i != 0) message.append(", ");
        message.append(names[i]);
    }
    fail(p, message);
}

template <class F>
auto read_array(JsonValue const& v, Path const& p, F&& element) {
    using T = std::invoke_result_t<F&, JsonValue const&, Path const&>;
    auto const* a = v.if_array();
    if (a == nullptr) fail(p, "expected an array");
    std::vector<T> out;
    out.reserve(a->size());
    for (std::size_t i = 0; i < a->size(); ++i) {
        Path const ep = p.element(i);
        out.push_back(element((*a)[i], ep));
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Field helpers: required / nullable / defaulted keys of an object

JsonValue const& required(Obj const& o, std::string_view k) {
    auto const* v = o.get(k);
    if (v == nullptr) fail(o.at(k), "field required");
    return *v;
}

// The value of a nullable key; nullptr when absent or null.
JsonValue const* nullable(Obj const& o, std::string_view k) {
    auto const* v = o.get(k);
    return v != nullptr && !v->is_null() ? v : nullptr;
}

std::string req_str(Obj const& o, std::string_view k) { return read_string(required(o, k), o.at(k)); }

std::optional<std::string> opt_str(Obj const& o, std::string_view k) {
    if (auto const* v = nullable(o, k)) return read_string(*v, o.at(k));
    return std::nullopt;
}

std::optional<IconName> opt_icon(Obj const& o, std::string_view k) {
    auto icon = opt_str(o, k);
    if (icon && !is_valid_icon_name(*icon)) fail(o.at(k), "expected an icon name");
    return icon;
}

std::int64_t req_int(Obj const& o, std::string_view k) { return read_int(required(o, k), o.at(k)); }

std::optional<std::int64_t> opt_int(Obj const& o, std::string_view k) {
    if (auto const* v = nullable(o, k)) return read_int(*v, o.at(k));
    return std::nullopt;
}

bool req_bool(Obj const& o, std::string_view k) { return read_bool(required(o, k), o.at(k)); }

bool def_bool(Obj const& o, std::string_view k, bool fallback) {
    auto const* v = o.get(k);
    return v != nullptr ? read_bool(*v, o.at(k)) : fallback;
}

JsonObject req_object(Obj const& o, std::string_view k) { return read_object(required(o, k), o.at(k)); }

JsonObject def_object(Obj const& o, std::string_view k) {
    auto const* v = o.get(k);
    return v != nullptr ? read_object(*v, o.at(k)) : JsonObject{};
}

std::optional<JsonObject> opt_object(Obj const& o, std::string_view k) {
    if (auto const* v = nullable(o, k)) return read_object(*v, o.at(k));
    return std::nullopt;
}

// Any JSON; absent means null.
JsonValue any_value(Obj const& o, std::string_view k) {
    auto const* v = o.get(k);
    return v != nullptr ? *v : JsonValue{};
}

template <std::size_t N, class E>
E req_choice(Obj const& o, std::string_view k, std::array<std::string_view, N> const& names,
             std::array<E, N> const& values) {
    return values[read_choice(required(o, k), o.at(k), names)];
}

template <std::size_t N, class E>
E def_choice(Obj const& o, std::string_view k, std::array<std::string_view, N> const& names,
             std::array<E, N> const& values, E fallback) {
    auto const* v = o.get(k);
    return v != nullptr ? values[read_choice(*v, o.at(k), names)] : fallback;
}

// A literal-typed key with a default (`"type":"output_text"`): may be absent, else must match.
void check_literal(Obj const& o, std::string_view k, std::string_view expected) {
    if (auto const* v = o.get(k)) {
        std::array<std::string_view, 1> const names{expected};
        read_choice(*v, o.at(k), names);
    }
}

// The discriminator of a tagged union: required, one of `names`.
std::size_t read_tag(Obj const& o, std::span<std::string_view const> names) {
    return read_choice(required(o, "type"), o.at("type"), names);
}

std::vector<std::string> read_strings(JsonValue const& v, Path const& p) {
    return read_array(v, p, [](JsonValue const& e, Path const& ep) { return read_string(e, ep); });
}

std::vector<std::string> req_strings(Obj const& o, std::string_view k) { return read_strings(required(o, k), o.at(k)); }

std::vector<std::string> def_strings(Obj const& o, std::string_view k) {
    auto const* v = o.get(k);
    return v != nullptr ? read_strings(*v, o.at(k)) : std::vector<std::string>{};
}

template <class F>
auto req_array(Obj const& o, std::string_view k, F&& element) {
    Path const p = o.at(k);
    return read_array(required(o, k), p, element);
}

template <class F>
auto def_array(Obj const& o, std::string_view k, F&& element) {
    Path const p = o.at(k);
    auto const* v = o.get(k);
    using T = std::invoke_result_t<F&, JsonValue const&, Path const&>;
    return v != nullptr ? read_array(*v, p, element) : std::vector<T>{};
}

// Runs `fn(Obj)` on the object stored under a required key.
template <class F>
auto req_nested(Obj const& o, std::string_view k, F&& fn) {
    Path const p = o.at(k);
    Obj const nested(required(o, k), p);
    return fn(nested);
}

// Absolute URLs (pydantic AnyUrl), kept as written; normalized when written out.
std::string req_url(Obj const& o, std::string_view k) {
    std::string url = req_str(o, k);
    if (!is_absolute_url(url)) fail(o.at(k), "expected an absolute URL");
    return url;
}

// ---------------------------------------------------------------------------------------------
// Shape readers

WidgetRoot read_widget_root(JsonValue const& v, Path const& p) {
    Obj const o(v, p);
    static constexpr std::array<std::string_view, 3> roots{"Card", "ListView", "Basic"};
    read_tag(o, roots);
    return o.object();
}

WidgetComponent read_widget_component(JsonValue const& v, Path const& p) {
    Obj const o(v, p);
    req_str(o, "type");
    return o.object();
}

template <class T>
void read_source_head(Obj const& o, T& x) {
    x.title = req_str(o, "title");
    x.description = opt_str(o, "description");
    x.timestamp = opt_str(o, "timestamp");
    x.group = opt_str(o, "group");
}

FileSource read_file_source(Obj const& o) {
    FileSource x;
    read_source_head(o, x);
    x.filename = req_str(o, "filename");
    return x;
}

URLSource read_url_source(Obj const& o) {
    URLSource x;
    read_source_head(o, x);
    x.url = req_str(o, "url");
    x.attribution = opt_str(o, "attribution");
    return x;
}

EntitySource read_entity_source(Obj const& o) {
    EntitySource x;
    read_source_head(o, x);
    x.id = req_str(o, "id");
    x.icon = opt_icon(o, "icon");
    x.label = opt_str(o, "label");
    x.inline_label = opt_str(o, "inline_label");
    x.interactive = def_bool(o, "interactive", false);
    x.data = def_object(o, "data");
    if (auto const* v = nullable(o, "preview")) {
        std::array<std::string_view, 1> const names{"lazy"};
        read_choice(*v, o.at("preview"), names);
        x.preview = "lazy";
    }
    return x;
}

constexpr std::array<std::string_view, 3> source_tags{"url", "file", "entity"};

Source read_source_of_kind(Obj const& o, std::size_t kind) {
    switch (kind) {
        case 0: return read_url_source(o);
        case 1: return read_file_source(o);
        default: return read_entity_source(o);
    }
}

// `Source` as a tagged union: `type` is required.
Source read_source(JsonValue const& v, Path const& p) {
    Obj const o(v, p);
    return read_source_of_kind(o, read_tag(o, source_tags));
}

// `Annotation.source` is a plain union in the reference: the `type` may be left out, in which case the
// variant whose required key is present wins.
Source read_annotation_source(JsonValue const& v, Path const& p) {
    Obj const o(v, p);
    if (o.get("type") != nullptr) return read_source_of_kind(o, read_tag(o, source_tags));
    if (o.get("url") != nullptr) return read_url_source(o);
    if (o.get("filename") != nullptr) return read_file_source(o);
    if (o.get("id") != nullptr) return read_entity_source(o);
    fail(o.at("type"), "field required");
}

URLSource read_url_source_element(JsonValue const& v, Path const& p) {
    Obj const o(v, p);
    check_literal(o, "type", "url");
    return read_url_source(o);
}

FileSource read_file_source_element(JsonValue const& v, Path const& p) {
    Obj const o(v, p);
    check_literal(o, "type", "file");
    return read_file_source(o);
}

Annotation read_annotation(JsonValue const& v, Path const& p) {
    Obj const o(v, p);
    check_literal(o, "type", "annotation");
    Annotation x{read_annotation_source(required(o, "source"), o.at("source")), std::nullopt};
    x.index = opt_int(o, "index");
    return x;
}

AssistantMessageContent read_assistant_content(JsonValue const& v, Path const& p) {
    Obj const o(v, p);
    AssistantMessageContent x;
    x.annotations = def_array(o, "annotations", read_annotation);
    x.text = req_str(o, "text");
    check_literal(o, "type", "output_text");
    return x;
}

UserMessageContent read_user_content(JsonValue const& v, Path const& p) {
    Obj const o(v, p);
    static constexpr std::array<std::string_view, 2> tags{"input_text", "input_tag"};
    if (read_tag(o, tags) == 0) return UserMessageTextContent{req_str(o, "text")};
    UserMessageTagContent x;
    x.id = req_str(o, "id");
    x.text = req_str(o, "text");
    x.data = def_object(o, "data");  // required by the reference; DESIGN decision 3 defaults it to {}
    x.group = opt_str(o, "group");
    x.interactive = def_bool(o, "interactive", false);
    return x;
}

InferenceOptions read_inference_options(Obj const& o) {
    InferenceOptions x;
    if (auto const* tc = nullable(o, "tool_choice")) {
        Path const p = o.at("tool_choice");
        Obj const t(*tc, p);
        x.tool_choice = ToolChoice{req_str(t, "id")};
    }
    x.model = opt_str(o, "model");
    return x;
}

AttachmentUploadDescriptor read_upload_descriptor(Obj const& o) {
    AttachmentUploadDescriptor x;
    x.url = req_url(o, "url");
    static constexpr std::array<std::string_view, 2> methods{"POST", "PUT"};
    x.method = std::string(methods[read_choice(required(o, "method"), o.at("method"), methods)]);
    if (auto const* h = o.get("headers")) {
        Path const hp = o.at("headers");
        Obj const headers(*h, hp);
        x.headers.reserve(headers.object().size());
        for (auto const& kv : headers.object()) {
            std::string_view const name{kv.key().data(), kv.key().size()};
            x.headers.emplace_back(std::string(name), read_string(kv.value(), hp.field(name)));
        }
    }
    return x;
}

Attachment read_attachment(JsonValue const& v, Path const& p) {
    Obj const o(v, p);
    static constexpr std::array<std::string_view, 2> tags{"file", "image"};
    Attachment x;
    x.type = read_tag(o, tags) == 0 ? AttachmentType::file : AttachmentType::image;
    x.id = req_str(o, "id");
    x.name = req_str(o, "name");
    x.mime_type = req_str(o, "mime_type");
    if (auto const* ud = nullable(o, "upload_descriptor")) {
        Path const up = o.at("upload_descriptor");
        x.upload_descriptor = read_upload_descriptor(Obj(*ud, up));
    }
    x.thread_id = opt_str(o, "thread_id");
    x.metadata = opt_object(o, "metadata");
    if (x.type == AttachmentType::image) x.preview_url = req_url(o, "preview_url");
    return x;
}

constexpr std::array<std::string_view, 3> status_indicator_names{"none", "loading", "complete"};
constexpr std::array<TaskStatusIndicator, 3> status_indicator_values{
    TaskStatusIndicator::none, TaskStatusIndicator::loading, TaskStatusIndicator::complete};

Task read_task(JsonValue const& v, Path const& p) {
    Obj const o(v, p);
    static constexpr std::array<std::string_view, 5> tags{"custom", "web_search", "thought", "file", "image"};
    std::size_t const tag = read_tag(o, tags);
    auto const indicator =
        def_choice(o, "status_indicator", status_indicator_names, status_indicator_values, TaskStatusIndicator::none);
    switch (tag) {
        case 0: {
            CustomTask t{indicator, opt_str(o, "title"), std::nullopt, std::nullopt};
            t.icon = opt_icon(o, "icon");
            t.content = opt_str(o, "content");
            return t;
        }
        case 1: {
            WebSearchTask t;
            t.status_indicator = indicator;
            t.title = opt_str(o, "title");
            t.title_query = opt_str(o, "title_query");
            t.queries = def_strings(o, "queries");
            t.sources = def_array(o, "sources", read_url_source_element);
            return t;
        }
        case 2: {
            ThoughtTask t{indicator, opt_str(o, "title"), {}};
            t.content = req_str(o, "content");
            return t;
        }
        case 3: {
            FileTask t{indicator, opt_str(o, "title"), {}};
            t.sources = def_array(o, "sources", read_file_source_element);
            return t;
        }
        default: return ImageTask{indicator, opt_str(o, "title")};
    }
}

Workflow read_workflow(Obj const& o) {
    Workflow x;
    static constexpr std::array<std::string_view, 2> types{"custom", "reasoning"};
    static constexpr std::array<WorkflowType, 2> values{WorkflowType::custom, WorkflowType::reasoning};
    x.type = req_choice(o, "type", types, values);
    x.tasks = req_array(o, "tasks", read_task);
    if (auto const* sv_ = nullable(o, "summary")) {
        Path const sp = o.at("summary");
        Obj const s(*sv_, sp);
        if (s.get("duration") != nullptr) {
            x.summary = DurationSummary{req_int(s, "duration")};
        } else {
            CustomSummary c{req_str(s, "title"), std::nullopt};
            c.icon = opt_icon(s, "icon");
            x.summary = std::move(c);
        }
    }
    x.expanded = def_bool(o, "expanded", false);
    return x;
}

StructuredInput read_structured_input(JsonValue const& v, Path const& p) {
    Obj const o(v, p);
    static constexpr std::array<std::string_view, 2> tags{"multiple_choice", "freeform"};
    std::size_t const tag = read_tag(o, tags);
    std::string id = req_str(o, "id");
    std::string question = req_str(o, "question");
    std::optional<StructuredInputAnswer> answer;
    if (auto const* a = nullable(o, "answer")) {
        Path const ap = o.at("answer");
        Obj const ao(*a, ap);
        answer = StructuredInputAnswer{def_strings(ao, "values"), def_bool(ao, "skipped", false)};
    }
    if (tag == 0) {
        StructuredInputMultipleChoice x{std::move(id), std::move(question), std::move(answer), {}, false};
        x.options = req_array(o, "options", [](JsonValue const& ov, Path const& op) {
            Obj const oo(ov, op);
            return StructuredInputMultipleChoiceOption{req_str(oo, "value")};
        });
        x.multiple = def_bool(o, "multiple", false);
        return x;
    }
    StructuredInputFreeform x{std::move(id), std::move(question), std::move(answer), std::nullopt};
    x.description = opt_str(o, "description");
    return x;
}

GeneratedImage read_generated_image(Obj const& o) { return GeneratedImage{req_str(o, "id"), req_str(o, "url")}; }

template <class T>
T item_head(Obj const& o) {
    T x;
    x.id = req_str(o, "id");
    x.thread_id = req_str(o, "thread_id");
    x.created_at = read_timestamp(required(o, "created_at"), o.at("created_at"));
    return x;
}

ThreadItem read_item(JsonValue const& v, Path const& p) {
    Obj const o(v, p);
    static constexpr std::array<std::string_view, 11> tags{
        "user_message", "assistant_message", "client_tool_call", "widget",        "generated_image",
        "structured_input", "workflow",      "task",             "end_of_turn",   "hidden_context_item",
        "sdk_hidden_context"};
    switch (read_tag(o, tags)) {
        case 0: {
            auto x = item_head<UserMessageItem>(o);
            x.content = req_array(o, "content", read_user_content);
            x.attachments = def_array(o, "attachments", read_attachment);
            x.quoted_text = opt_str(o, "quoted_text");
            x.inference_options = req_nested(o, "inference_options", read_inference_options);
            return x;
        }
        case 1: {
            auto x = item_head<AssistantMessageItem>(o);
            x.content = req_array(o, "content", read_assistant_content);
            return x;
        }
        case 2: {
            auto x = item_head<ClientToolCallItem>(o);
            static constexpr std::array<std::string_view, 2> names{"pending", "completed"};
            static constexpr std::array<ToolCallStatus, 2> values{ToolCallStatus::pending, ToolCallStatus::completed};
            x.status = def_choice(o, "status", names, values, ToolCallStatus::pending);
            x.call_id = req_str(o, "call_id");
            x.name = req_str(o, "name");
            x.arguments = req_object(o, "arguments");
            x.output = any_value(o, "output");
            return x;
        }
        case 3: {
            auto x = item_head<WidgetItem>(o);
            x.widget = read_widget_root(required(o, "widget"), o.at("widget"));
            x.copy_text = opt_str(o, "copy_text");
            return x;
        }
        case 4: {
            auto x = item_head<GeneratedImageItem>(o);
            if (auto const* img = nullable(o, "image")) {
                Path const ip = o.at("image");
                x.image = read_generated_image(Obj(*img, ip));
            }
            return x;
        }
        case 5: {
            auto x = item_head<StructuredInputItem>(o);
            static constexpr std::array<std::string_view, 3> names{"pending", "answered", "skipped"};
            static constexpr std::array<StructuredInputStatus, 3> values{
                StructuredInputStatus::pending, StructuredInputStatus::answered, StructuredInputStatus::skipped};
            x.status = def_choice(o, "status", names, values, StructuredInputStatus::pending);
            x.inputs = req_array(o, "inputs", read_structured_input);
            return x;
        }
        case 6: {
            auto x = item_head<WorkflowItem>(o);
            x.workflow = req_nested(o, "workflow", read_workflow);
            return x;
        }
        case 7: {
            auto x = item_head<TaskItem>(o);
            x.task = read_task(required(o, "task"), o.at("task"));
            return x;
        }
        case 8: return item_head<EndOfTurnItem>(o);
        case 9: {
            // `content` is required by the reference but written out only when not null, so an absent
            // key reads as null (the store form must round-trip).
            auto x = item_head<HiddenContextItem>(o);
            x.content = any_value(o, "content");
            return x;
        }
        default: {
            auto x = item_head<SDKHiddenContextItem>(o);
            x.content = req_str(o, "content");
            return x;
        }
    }
}

ThreadStatus read_thread_status(JsonValue const& v, Path const& p) {
    Obj const o(v, p);
    static constexpr std::array<std::string_view, 3> tags{"active", "locked", "closed"};
    switch (read_tag(o, tags)) {
        case 0: return ThreadStatus::active();
        case 1: return ThreadStatus::locked(opt_str(o, "reason"));
        default: return ThreadStatus::closed(opt_str(o, "reason"));
    }
}

void read_thread_metadata_into(Obj const& o, ThreadMetadata& x) {
    x.title = opt_str(o, "title");
    x.id = req_str(o, "id");
    x.created_at = read_timestamp(required(o, "created_at"), o.at("created_at"));
    if (auto const* s = o.get("status")) x.status = read_thread_status(*s, o.at("status"));
    if (auto const* d = nullable(o, "allowed_image_domains"))
        x.allowed_image_domains = read_strings(*d, o.at("allowed_image_domains"));
    x.metadata = def_object(o, "metadata");
}

ThreadMetadata read_thread_metadata(JsonValue const& v, Path const& p) {
    Obj const o(v, p);
    ThreadMetadata x;
    read_thread_metadata_into(o, x);
    return x;
}

template <class T, class F>
Page<T> read_page(JsonValue const& v, Path const& p, F&& element) {
    Obj const o(v, p);
    Page<T> page;
    page.data = def_array(o, "data", element);
    page.has_more = def_bool(o, "has_more", false);
    page.after = opt_str(o, "after");
    return page;
}

Thread read_thread(JsonValue const& v, Path const& p) {
    Obj const o(v, p);
    Thread x;
    read_thread_metadata_into(o, x);
    x.items = read_page<ThreadItem>(required(o, "items"), o.at("items"), read_item);
    return x;
}

ThreadItemUpdate read_update(JsonValue const& v, Path const& p) {
    Obj const o(v, p);
    static constexpr std::array<std::string_view, 10> tags{
        "assistant_message.content_part.added",
        "assistant_message.content_part.text_delta",
        "assistant_message.content_part.annotation_added",
        "assistant_message.content_part.done",
        "widget.streaming_text.value_delta",
        "widget.root.updated",
        "widget.component.updated",
        "workflow.task.added",
        "workflow.task.updated",
        "generated_image.updated"};
    auto content = [&] { return read_assistant_content(required(o, "content"), o.at("content")); };
    auto task = [&] { return read_task(required(o, "task"), o.at("task")); };
    switch (read_tag(o, tags)) {
        case 0: {
            AssistantMessageContentPartAdded u;
            u.content_index = req_int(o, "content_index");
            u.content = content();
            return u;
        }
        case 1: {
            AssistantMessageContentPartTextDelta u;
            u.content_index = req_int(o, "content_index");
            u.delta = req_str(o, "delta");
            return u;
        }
        case 2: {
            AssistantMessageContentPartAnnotationAdded u{req_int(o, "content_index"), req_int(o, "annotation_index"),
                                                         read_annotation(required(o, "annotation"), o.at("annotation"))};
            return u;
        }
        case 3: {
            AssistantMessageContentPartDone u;
            u.content_index = req_int(o, "content_index");
            u.content = content();
            return u;
        }
        case 4: {
            WidgetStreamingTextValueDelta u;
            u.component_id = req_str(o, "component_id");
            u.delta = req_str(o, "delta");
            u.done = req_bool(o, "done");
            return u;
        }
        case 5: return WidgetRootUpdated{read_widget_root(required(o, "widget"), o.at("widget"))};
        case 6: {
            WidgetComponentUpdated u;
            u.component_id = req_str(o, "component_id");
            u.component = read_widget_component(required(o, "component"), o.at("component"));
            return u;
        }
        case 7: {
            WorkflowTaskAdded u{req_int(o, "task_index"), task()};
            return u;
        }
        case 8: {
            WorkflowTaskUpdated u{req_int(o, "task_index"), task()};
            return u;
        }
        default: {
            GeneratedImageUpdated u{req_nested(o, "image", read_generated_image), std::nullopt};
            if (auto const* pr = nullable(o, "progress")) u.progress = read_float(*pr, o.at("progress"));
            return u;
        }
    }
}

ThreadStreamEvent read_event(JsonValue const& v, Path const& p) {
    Obj const o(v, p);
    static constexpr std::array<std::string_view, 12> tags{
        "thread.created",   "thread.updated", "thread.item.added", "thread.item.updated",
        "thread.item.done", "thread.item.removed", "thread.item.replaced", "stream_options",
        "progress_update",  "client_effect",  "error",             "notice"};
    auto thread = [&] { return read_thread(required(o, "thread"), o.at("thread")); };
    auto item = [&] { return read_item(required(o, "item"), o.at("item")); };
    switch (read_tag(o, tags)) {
        case 0: return ThreadCreatedEvent{thread()};
        case 1: return ThreadUpdatedEvent{thread()};
        case 2: return ThreadItemAddedEvent{item()};
        case 3: {
            ThreadItemUpdatedEvent e{req_str(o, "item_id"), read_update(required(o, "update"), o.at("update"))};
            return e;
        }
        case 4: return ThreadItemDoneEvent{item()};
        case 5: return ThreadItemRemovedEvent{req_str(o, "item_id")};
        case 6: return ThreadItemReplacedEvent{item()};
        case 7:
            return StreamOptionsEvent{
                req_nested(o, "stream_options", [](Obj const& so) { return StreamOptions{req_bool(so, "allow_cancel")}; })};
        case 8: {
            ProgressUpdateEvent e;
            e.icon = opt_icon(o, "icon");
            e.text = req_str(o, "text");
            return e;
        }
        case 9: {
            ClientEffectEvent e;
            e.name = req_str(o, "name");
            e.data = def_object(o, "data");
            return e;
        }
        case 10: {
            ErrorEvent e;
            static constexpr std::array<std::string_view, 2> codes{"stream.error", "custom"};
            if (auto const* c = o.get("code")) e.code = std::string(codes[read_choice(*c, o.at("code"), codes)]);
            e.message = opt_str(o, "message");
            e.allow_retry = def_bool(o, "allow_retry", false);
            return e;
        }
        default: {
            NoticeEvent e;
            static constexpr std::array<std::string_view, 3> names{"info", "warning", "danger"};
            static constexpr std::array<NoticeLevel, 3> values{NoticeLevel::info, NoticeLevel::warning,
                                                               NoticeLevel::danger};
            e.level = req_choice(o, "level", names, values);
            e.message = req_str(o, "message");
            e.title = opt_str(o, "title");
            return e;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Request readers

UserMessageInput read_user_message_input(Obj const& o) {
    UserMessageInput x;
    x.content = req_array(o, "content", read_user_content);
    x.attachments = req_strings(o, "attachments");
    x.quoted_text = opt_str(o, "quoted_text");
    x.inference_options = req_nested(o, "inference_options", read_inference_options);
    return x;
}

StructuredInputSubmission read_structured_submission(Obj const& o) {
    StructuredInputSubmission x;
    static constexpr std::array<std::string_view, 2> names{"answered", "skipped"};
    static constexpr std::array<StructuredInputStatus, 2> values{StructuredInputStatus::answered,
                                                                 StructuredInputStatus::skipped};
    x.status = def_choice(o, "status", names, values, StructuredInputStatus::answered);
    if (auto const* a = o.get("answers")) {
        Path const ap = o.at("answers");
        Obj const answers(*a, ap);
        x.answers.reserve(answers.object().size());
        for (auto const& kv : answers.object()) {
            std::string_view const qid{kv.key().data(), kv.key().size()};
            Path const qp = ap.field(qid);
            Obj const ao(kv.value(), qp);
            x.answers.emplace_back(std::string(qid),
                                   StructuredInputAnswerSubmission{def_strings(ao, "values"), def_bool(ao, "skipped", false)});
        }
    }
    return x;
}

Action read_action(Obj const& o) { return Action{req_str(o, "type"), any_value(o, "payload")}; }

constexpr std::array<std::string_view, 2> order_names{"asc", "desc"};
constexpr std::array<Order, 2> order_values{Order::asc, Order::desc};

constexpr std::array<std::string_view, 16> request_types{
    "threads.create",        "threads.add_user_message", "threads.add_client_tool_output",
    "threads.add_structured_input", "threads.retry_after_item", "threads.custom_action",
    "threads.sync_custom_action", "threads.get_by_id",     "threads.list",
    "items.list",            "items.feedback",           "attachments.create",
    "attachments.delete",    "threads.update",           "threads.delete",
    "input.transcribe"};

RequestParams read_params(std::size_t type, Obj const& o) {
    switch (type) {
        case 0: return ThreadsCreateReq{req_nested(o, "input", read_user_message_input)};
        case 1: {
            ThreadsAddUserMessageReq r{req_nested(o, "input", read_user_message_input), {}};
            r.thread_id = req_str(o, "thread_id");
            return r;
        }
        case 2: {
            ThreadsAddClientToolOutputReq r{req_str(o, "thread_id"), {}};
            r.result = required(o, "result");  // key required, null allowed
            return r;
        }
        case 3: {
            ThreadsAddStructuredInputReq r{req_str(o, "thread_id"), req_str(o, "item_id"), {}};
            r.input = req_nested(o, "input", read_structured_submission);
            return r;
        }
        case 4: return ThreadsRetryAfterItemReq{req_str(o, "thread_id"), req_str(o, "item_id")};
        case 5: {
            ThreadsCustomActionReq r{req_str(o, "thread_id"), opt_str(o, "item_id"), {}};
            r.action = req_nested(o, "action", read_action);
            return r;
        }
        case 6: {
            ThreadsSyncCustomActionReq r{req_str(o, "thread_id"), opt_str(o, "item_id"), {}};
            r.action = req_nested(o, "action", read_action);
            return r;
        }
        case 7: return ThreadsGetByIdReq{req_str(o, "thread_id")};
        case 8: {
            ThreadsListReq r;
            r.limit = opt_int(o, "limit");
            r.order = def_choice(o, "order", order_names, order_values, Order::desc);
            r.after = opt_str(o, "after");
            return r;
        }
        case 9: {
            ItemsListReq r;
            r.thread_id = req_str(o, "thread_id");
            r.limit = opt_int(o, "limit");
            r.order = def_choice(o, "order", order_names, order_values, Order::desc);
            r.after = opt_str(o, "after");
            return r;
        }
        case 10: {
            ItemsFeedbackReq r;
            r.thread_id = req_str(o, "thread_id");
            r.item_ids = req_strings(o, "item_ids");
            static constexpr std::array<std::string_view, 2> names{"positive", "negative"};
            static constexpr std::array<FeedbackKind, 2> values{FeedbackKind::positive, FeedbackKind::negative};
            r.kind = req_choice(o, "kind", names, values);
            return r;
        }
        case 11: {
            AttachmentCreateParams params;
            params.name = req_str(o, "name");
            params.size = req_int(o, "size");
            params.mime_type = req_str(o, "mime_type");
            return AttachmentsCreateReq{std::move(params)};
        }
        case 12: return AttachmentsDeleteReq{req_str(o, "attachment_id")};
        case 13: return ThreadsUpdateReq{req_str(o, "thread_id"), req_str(o, "title")};
        case 14: return ThreadsDeleteReq{req_str(o, "thread_id")};
        default: return InputTranscribeReq{req_str(o, "audio_base64"), req_str(o, "mime_type")};
    }
}

// ---------------------------------------------------------------------------------------------
// JSON text parsing with correctly rounded doubles

// A basic_parser handler that builds a value like boost::json::parser, but converts every
// non-integer number from its text with std::from_chars (Boost 1.81's own conversion can be off
// by one unit in the last place, which would change the bytes written back).
class PreciseHandler {
public:
    static constexpr std::size_t max_object_size = json::object::max_size();
    static constexpr std::size_t max_array_size = json::array::max_size();
    static constexpr std::size_t max_key_size = json::string::max_size();
    static constexpr std::size_t max_string_size = json::string::max_size();

    json::value_stack st;
    // Set before parsing a request: a member name repeated at the top level or in `params` is
    // recorded in `duplicate` (the value stack would keep the last one silently).
    bool find_duplicates = false;
    std::optional<std::string> duplicate;

    void reset() {
        st.reset();
        duplicate.reset();
        depth_ = 0;
        in_params_ = pending_params_ = false;
        key_.clear();
        top_keys_.clear();
        params_keys_.clear();
    }

    bool on_document_begin(json::error_code&) { return true; }
    bool on_document_end(json::error_code&) {
        if (find_duplicates) {
            find_duplicate(top_keys_, "$");
            find_duplicate(params_keys_, "$.params");
        }
        return true;
    }
    bool on_object_begin(json::error_code&) {
        ++depth_;
        if (depth_ == 2) in_params_ = pending_params_;
        return true;
    }
    bool on_object_end(std::size_t n, json::error_code&) {
        --depth_;
        st.push_object(n);
        return true;
    }
    bool on_array_begin(json::error_code&) {
        ++depth_;
        if (depth_ == 2) in_params_ = false;
        return true;
    }
    bool on_array_end(std::size_t n, json::error_code&) {
        --depth_;
        st.push_array(n);
        return true;
    }
    bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
        if (find_duplicates && depth_ <= 2) key_.append(s.data(), s.size());
        st.push_chars(s);
        return true;
    }
    bool on_key(json::string_view s, std::size_t, json::error_code&) {
        if (find_duplicates && depth_ <= 2) {
            key_.append(s.data(), s.size());
            if (depth_ == 1) {
                pending_params_ = key_ == "params";
                top_keys_.push_back(key_);
            } else if (in_params_) {
                params_keys_.push_back(key_);
            }
            key_.clear();
        }
        st.push_key(s);
        return true;
    }
    bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
        st.push_chars(s);
        return true;
    }
    bool on_string(json::string_view s, std::size_t, json::error_code&) {
        st.push_string(s);
        return true;
    }
    bool on_number_part(json::string_view s, json::error_code&) {
        number_.append(s.data(), s.size());
        return true;
    }
    bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
        number_.clear();
        st.push_int64(i);
        return true;
    }
    bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) {
        number_.clear();
        st.push_uint64(u);
        return true;
    }
    bool on_double(double d, json::string_view s, json::error_code&) {
        std::string_view text{s.data(), s.size()};
        if (!number_.empty()) {
            number_.append(s.data(), s.size());
            text = number_;
        }
        double precise = 0;
        auto const res = std::from_chars(text.data(), text.data() + text.size(), precise);
        if (res.ec == std::errc{} && res.ptr == text.data() + text.size()) d = precise;
        number_.clear();
        st.push_double(d);
        return true;
    }
    bool on_bool(bool b, json::error_code&) {
        st.push_bool(b);
        return true;
    }
    bool on_null(json::error_code&) {
        st.push_null();
        return true;
    }
    bool on_comment_part(json::string_view, json::error_code&) { return true; }
    bool on_comment(json::string_view, json::error_code&) { return true; }

private:
    // Records the first repeated name of `keys` in `duplicate` (sorting: O(n log n) however many
    // members a hostile body has).
    void find_duplicate(std::vector<std::string>& keys, char const* where) {
        if (duplicate) return;
        std::sort(keys.begin(), keys.end());
        auto const twice = std::adjacent_find(keys.begin(), keys.end());
        if (twice != keys.end()) duplicate = std::string(where) + ": duplicate member \"" + *twice + "\"";
    }

    std::string number_;
    std::size_t depth_ = 0;
    bool in_params_ = false;
    bool pending_params_ = false;
    std::string key_;
    std::vector<std::string> top_keys_;     // member names of the top-level object
    std::vector<std::string> params_keys_;  // member names of `params`
};


// =============================================================================================
// Base64

constexpr std::array<std::int8_t, 256> make_base64_table() {
    std::array<std::int8_t, 256> table{};
    for (auto& e : table) e = -1;
    constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) table[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    return table;
}
constexpr std::array<std::int8_t, 256> base64_table = make_base64_table();

}  // namespace

// =============================================================================================
// Public API: writers

namespace {

// The writer of each top-level shape, run on a ValueSink by to_json and on a TextSink by
// to_json_text, so the two forms cannot drift apart.
auto writer(ThreadMetadata const& thread, JsonMode mode) {
    return [&thread, mode](auto& s) { emit_thread(s, thread, nullptr, mode); };
}
auto writer(Thread const& thread, JsonMode mode) {
    return [&thread, mode](auto& s) { emit_thread(s, thread, &thread.items, mode); };
}
auto writer(ThreadItem const& item, JsonMode mode) {
    return [&item, mode](auto& s) { emit(s, item, mode); };
}
auto writer(Attachment const& attachment, JsonMode mode) {
    return [&attachment, mode](auto& s) { emit(s, attachment, mode); };
}
auto writer(Page<ThreadItem> const& page, JsonMode mode) {
    return [&page, mode](auto& s) { emit(s, page, mode); };
}
auto writer(Page<ThreadMetadata> const& page, JsonMode mode) {
    return [&page, mode](auto& s) {
        s.begin_object();
        put_array(s, "data", page.data, [&](ThreadMetadata const& t) { emit_thread(s, t, nullptr, mode); });
        emit_page_tail(s, page.has_more, page.after);
        s.end_object();
    };
}
auto writer(SyncCustomActionResponse const& response) {
    return [&response](auto& s) {
        s.begin_object();
        if (response.updated_item) {
            s.key("updated_item");
            emit(s, *response.updated_item, JsonMode::wire);
        }
        s.end_object();
    };
}
auto writer(TranscriptionResult const& result) {
    return [&result](auto& s) {
        s.begin_object();
        put_str(s, "text", result.text);
        s.end_object();
    };
}

// Runs `fn(sink)` on a TextSink and returns the text.
template <class F>
std::string build_text(F&& fn) {
    std::string out;
    out.reserve(512);
    TextSink sink(out);
    fn(sink);
    return out;
}

}  // namespace

JsonValue to_json(ThreadMetadata const& thread, JsonMode mode) { return build(writer(thread, mode)); }
JsonValue to_json(Thread const& thread, JsonMode mode) { return build(writer(thread, mode)); }
JsonValue to_json(ThreadItem const& item, JsonMode mode) { return build(writer(item, mode)); }
JsonValue to_json(Attachment const& attachment, JsonMode mode) { return build(writer(attachment, mode)); }

JsonValue to_json(ThreadStreamEvent const& event) {
    return build([&](ValueSink& s) { emit(s, event); });
}

JsonValue to_json(ThreadItemUpdate const& update) {
    return build([&](ValueSink& s) { emit(s, update); });
}

JsonValue to_json(Task const& task) {
    return build([&](ValueSink& s) { emit(s, task); });
}

JsonValue to_json(Source const& source) {
    return build([&](ValueSink& s) { emit(s, source); });
}

JsonValue to_json(Annotation const& annotation) {
    return build([&](ValueSink& s) { emit(s, annotation); });
}

JsonValue to_json(AssistantMessageContent const& content) {
    return build([&](ValueSink& s) { emit(s, content); });
}

JsonValue to_json(Workflow const& workflow) {
    return build([&](ValueSink& s) { emit(s, workflow); });
}

JsonValue to_json(StructuredInput const& input) {
    return build([&](ValueSink& s) { emit(s, input); });
}

JsonValue to_json(Page<ThreadItem> const& page, JsonMode mode) { return build(writer(page, mode)); }
JsonValue to_json(Page<ThreadMetadata> const& page, JsonMode mode) { return build(writer(page, mode)); }
JsonValue to_json(SyncCustomActionResponse const& response) { return build(writer(response)); }
JsonValue to_json(TranscriptionResult const& result) { return build(writer(result)); }

std::string to_json_text(ThreadMetadata const& thread, JsonMode mode) { return build_text(writer(thread, mode)); }
std::string to_json_text(Thread const& thread, JsonMode mode) { return build_text(writer(thread, mode)); }
std::string to_json_text(ThreadItem const& item, JsonMode mode) { return build_text(writer(item, mode)); }
std::string to_json_text(Attachment const& attachment, JsonMode mode) {
    return build_text(writer(attachment, mode));
}
std::string to_json_text(Page<ThreadItem> const& page, JsonMode mode) { return build_text(writer(page, mode)); }
std::string to_json_text(Page<ThreadMetadata> const& page, JsonMode mode) {
    return build_text(writer(page, mode));
}
std::string to_json_text(SyncCustomActionResponse const& response) { return build_text(writer(response)); }
std::string to_json_text(TranscriptionResult const& result) { return build_text(writer(result)); }

JsonValue strip_nulls(JsonValue const& widget) {
    switch (widget.kind()) {
        case json::kind::object: {
            json::object out;
            out.reserve(widget.get_object().size());
            for (auto const& kv : widget.get_object())
                if (!kv.value().is_null()) out.emplace(kv.key(), strip_nulls(kv.value()));
            return out;
        }
        case json::kind::array: {
            json::array out;
            out.reserve(widget.get_array().size());
            for (auto const& e : widget.get_array())
                if (!e.is_null()) out.push_back(strip_nulls(e));
            return out;
        }
        default: return widget;
    }
}

std::string serialize(JsonValue const& value) {
    std::string out;
    serialize_to(out, value);
    return out;
}

void serialize_to(std::string& out, JsonValue const& value) { write_value(out, value, false); }

std::string sse_frame(ThreadStreamEvent const& event) {
    std::string out;
    out.reserve(256);
    out.append("data: ");
    TextSink sink(out);
    emit(sink, event);
    out.append("\n\n");
    return out;
}

// =============================================================================================
// Public API: readers

template <>
ThreadMetadata from_json<ThreadMetadata>(JsonValue const& value) {
    return read_thread_metadata(value, root_path);
}

template <>
Thread from_json<Thread>(JsonValue const& value) {
    return read_thread(value, root_path);
}

template <>
ThreadItem from_json<ThreadItem>(JsonValue const& value) {
    return read_item(value, root_path);
}

template <>
Attachment from_json<Attachment>(JsonValue const& value) {
    return read_attachment(value, root_path);
}

template <>
ThreadStreamEvent from_json<ThreadStreamEvent>(JsonValue const& value) {
    return read_event(value, root_path);
}

template <>
ThreadItemUpdate from_json<ThreadItemUpdate>(JsonValue const& value) {
    return read_update(value, root_path);
}

template <>
Task from_json<Task>(JsonValue const& value) {
    return read_task(value, root_path);
}

template <>
Source from_json<Source>(JsonValue const& value) {
    return read_source(value, root_path);
}

template <>
UserMessageInput from_json<UserMessageInput>(JsonValue const& value) {
    return read_user_message_input(Obj(value, root_path));
}

template <>
Page<ThreadItem> from_json<Page<ThreadItem>>(JsonValue const& value) {
    return read_page<ThreadItem>(value, root_path, read_item);
}

template <>
Page<ThreadMetadata> from_json<Page<ThreadMetadata>>(JsonValue const& value) {
    return read_page<ThreadMetadata>(value, root_path, read_thread_metadata);
}

namespace {
JsonValue parse_json_text(std::string_view text, bool find_duplicates);
}  // namespace

ChatKitRequest parse_request(std::string_view body) {
    // Unlike the reference (whose parser keeps the last of two equal member names), a request that
    // names a top-level member or a parameter twice is refused: two readers of one body (a proxy, a
    // WAF, this server) must not see two different requests.
    JsonValue const value = parse_json_text(body, true);
    Obj const o(value, root_path);
    std::size_t const type = read_choice(required(o, "type"), o.at("type"), request_types);
    Path const params_path = o.at("params");
    Obj const params(required(o, "params"), params_path);
    ChatKitRequest request{read_params(type, params), {}};
    request.metadata = def_object(o, "metadata");
    return request;
}

ChatKitRequest parse_request(std::string_view body, boost::system::error_code& ec,
                             std::string& diagnostics) noexcept {
    try {
        ChatKitRequest request = parse_request(body);
        ec = {};
        diagnostics.clear();
        return request;
    } catch (Error const& e) {
        ec = e.code();
        diagnostics = e.message();
    } catch (std::exception const& e) {
        ec = error::internal;
        diagnostics = e.what();
    }
    return {};
}

namespace {

JsonValue parse_json_text(std::string_view text, bool find_duplicates) {
    json::parse_options options;
    options.max_depth = max_json_depth;
    json::basic_parser<PreciseHandler> parser(options);
    parser.handler().reset();
    parser.handler().find_duplicates = find_duplicates;
    json::error_code ec;
    std::size_t const consumed = parser.write_some(false, text.data(), text.size(), ec);
    if (ec == json::error::too_deep)
        throw_error(error::invalid_request, "$: body nests deeper than " + std::to_string(max_json_depth) + " levels");
    if (ec || consumed != text.size() || !parser.done())
        throw_error(error::invalid_request, "$: body is not valid JSON");
    if (parser.handler().duplicate) throw_error(error::invalid_request, *parser.handler().duplicate);
    return parser.handler().st.release();
}

}  // namespace

JsonValue parse_json(std::string_view text) { return parse_json_text(text, false); }

std::size_t json_text_depth(std::string_view text) noexcept {
    std::size_t depth = 0;
    std::size_t deepest = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char const c = text[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
            continue;
        }
        switch (c) {
            case '"': in_string = true; break;
            case '{':
            case '[':
                if (++depth > deepest) deepest = depth;
                break;
            case '}':
            case ']':
                if (depth > 0) --depth;
                break;
            default: break;
        }
    }
    return deepest;
}

std::string decode_base64(std::string_view text) {
    // Mirrors binascii.a2b_base64 in non-strict mode (what base64.b64decode uses by default).
    for (char c : text)
        if (static_cast<unsigned char>(c) >= 0x80)
            throw_error(error::invalid_request,
                        "$.params.audio_base64: string argument should contain only ASCII characters");
    std::string out;
    out.reserve(text.size() / 4 * 3 + 3);
    int quad_pos = 0;
    int pads = 0;
    unsigned left = 0;
    for (char ch : text) {
        if (ch == '=') {
            if (quad_pos >= 2 && quad_pos + ++pads >= 4) {
                quad_pos = 0;  // a complete padded quad ends the data
                break;
            }
            continue;
        }
        std::int8_t const v = base64_table[static_cast<unsigned char>(ch)];
        if (v < 0) continue;
        auto const bits = static_cast<unsigned>(v);
        pads = 0;
        switch (quad_pos) {
            case 0:
                left = bits;
                quad_pos = 1;
                break;
            case 1:
                out.push_back(static_cast<char>(((left << 2) | (bits >> 4)) & 0xFF));
                left = bits & 0x0F;
                quad_pos = 2;
                break;
            case 2:
                out.push_back(static_cast<char>(((left << 4) | (bits >> 2)) & 0xFF));
                left = bits & 0x03;
                quad_pos = 3;
                break;
            default:
                out.push_back(static_cast<char>(((left << 6) | bits) & 0xFF));
                left = 0;
                quad_pos = 0;
                break;
        }
    }
    if (quad_pos == 1) {
        std::string message = "$.params.audio_base64: Invalid base64-encoded string: number of data characters (";
        write_integer(message, out.size() / 3 * 4 + 1);
        message.append(") cannot be 1 more than a multiple of 4");
        throw_error(error::invalid_request, std::move(message));
    }
    if (quad_pos != 0) throw_error(error::invalid_request, "$.params.audio_base64: Incorrect padding");
    return out;
}

std::string encode_base64(std::string_view bytes) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    auto const byte = [&](std::size_t k) { return static_cast<unsigned>(static_cast<unsigned char>(bytes[k])); };
    for (; i + 3 <= bytes.size(); i += 3) {
        unsigned const n = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
        out.push_back(alphabet[(n >> 18) & 63]);
        out.push_back(alphabet[(n >> 12) & 63]);
        out.push_back(alphabet[(n >> 6) & 63]);
        out.push_back(alphabet[n & 63]);
    }
    if (std::size_t const rest = bytes.size() - i; rest > 0) {
        unsigned n = byte(i) << 16;
        if (rest == 2) n |= byte(i + 1) << 8;
        out.push_back(alphabet[(n >> 18) & 63]);
        out.push_back(alphabet[(n >> 12) & 63]);
        out.push_back(rest == 2 ? alphabet[(n >> 6) & 63] : '=');
        out.push_back('=');
    }
    return out;
}

}  // namespace chatkit
