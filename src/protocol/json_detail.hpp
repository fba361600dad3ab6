// chatkit-cpp protocol (private): what the JSON codec's translation units share. json_text.cpp
// writes JSON text, json_url.cpp normalizes URLs, json_write.cpp holds the writers, json_read.cpp
// the reading vocabulary and the shape readers, json_parse.cpp the request readers and JSON text
// parsing (see the comment at the top of json_write.cpp for how writers and readers are built).
#pragma once

#include <chatkit/protocol/json.hpp>

#include <boost/json.hpp>

#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace chatkit::json_detail {

namespace json = boost::json;

template <class... Ts>
struct overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
overloaded(Ts...) -> overloaded<Ts...>;

inline std::string_view sv(json::string const& s) noexcept { return {s.data(), s.size()}; }
inline json::string_view jsv(std::string_view s) noexcept { return {s.data(), s.size()}; }

// ASCII character classes (locale-free).
inline bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
inline char to_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// ---------------------------------------------------------------------------------------------
// Text output (json_text.cpp)

// Appends a quoted JSON string as the reference writes it: short escapes for \b \f \n \r \t,
// `\u00XX` (lowercase hex) for other control characters, everything else raw.
void write_string(std::string& out, std::string_view s);

template <class Int>
void write_integer(std::string& out, Int v) {
    char buf[24];
    auto const res = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, res.ptr);
}

// Appends a double as pydantic-core writes Python floats (shortest round-trip digits; NaN and
// infinities become `null`).
void write_double(std::string& out, double d);
// Appends any JSON value; when `strip` is set, nulls are dropped at every depth (widgets).
void write_value(std::string& out, json::value const& v, bool strip);
void write_object(std::string& out, json::object const& o, bool strip);

// ---------------------------------------------------------------------------------------------
// URLs (json_url.cpp)

// True when `s` is an absolute URL pydantic's AnyUrl accepts (a scheme; a host for special schemes).
bool is_absolute_url(std::string_view s) noexcept;
// Normalizes an absolute URL the way pydantic's AnyUrl serializes it.
std::string normalize_url(std::string_view input);

// ---------------------------------------------------------------------------------------------
// Reading vocabulary (json_read.cpp): paths, errors, lax scalars, field helpers

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

inline constexpr Path root_path{nullptr, "$", Path::no_index};

// Throws the invalid_request error `<path>: <reason>`.
[[noreturn]] void fail(Path const& path, std::string_view reason);

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

std::string read_string(JsonValue const& v, Path const& p);
// Index of the string `v` in `names`; fails with "expected one of ..." otherwise.
std::size_t read_choice(JsonValue const& v, Path const& p, std::span<std::string_view const> names);

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

JsonValue const& required(Obj const& o, std::string_view k);
std::string req_str(Obj const& o, std::string_view k);
std::optional<std::string> opt_str(Obj const& o, std::string_view k);
std::int64_t req_int(Obj const& o, std::string_view k);
std::optional<std::int64_t> opt_int(Obj const& o, std::string_view k);
bool def_bool(Obj const& o, std::string_view k, bool fallback);
JsonObject def_object(Obj const& o, std::string_view k);
// Any JSON; absent means null.
JsonValue any_value(Obj const& o, std::string_view k);
std::vector<std::string> req_strings(Obj const& o, std::string_view k);
std::vector<std::string> def_strings(Obj const& o, std::string_view k);

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

// ---------------------------------------------------------------------------------------------
// Shape readers (json_read.cpp) the request readers use, and the request reader the shape readers'
// public entry points use (json_parse.cpp)

UserMessageContent read_user_content(JsonValue const& v, Path const& p);
InferenceOptions read_inference_options(Obj const& o);
UserMessageInput read_user_message_input(Obj const& o);

}  // namespace chatkit::json_detail
