// chatkit-cpp protocol: JSON text output as the Python reference writes it (strings, numbers, free-form
// values) and `serialize`.
#include "json_detail.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

namespace chatkit::json_detail {

namespace {

// Characters that need an escape inside a JSON string: control characters, `"` and `\`.
constexpr std::array<bool, 256> make_escape_table() {
    std::array<bool, 256> table{};
    for (int c = 0; c < 0x20; ++c) table[static_cast<std::size_t>(c)] = true;
    table['"'] = true;
    table['\\'] = true;
    return table;
}
constexpr std::array<bool, 256> needs_escape = make_escape_table();

}  // namespace

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

}  // namespace chatkit::json_detail

namespace chatkit {

using namespace json_detail;

std::string serialize(JsonValue const& value) {
    std::string out;
    serialize_to(out, value);
    return out;
}

void serialize_to(std::string& out, JsonValue const& value) { write_value(out, value, false); }

}  // namespace chatkit
