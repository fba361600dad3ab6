// chatkit-cpp agents (private): reading the fields of provider JSON objects, shared by the item,
// event and model codecs (items.cpp, events.cpp, model.cpp).
#pragma once

#include <chatkit/agents/errors.hpp>

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chatkit::agents::detail {

namespace json = boost::json;

inline json::value const* field(json::object const& o, std::string_view key) {
    auto const* v = o.if_contains(key);
    return (v && !v->is_null()) ? v : nullptr;
}

inline std::string str(json::object const& o, std::string_view key, std::string_view what) {
    auto const* v = field(o, key);
    if (!v) return {};
    if (auto const* s = v->if_string()) return std::string(*s);
    throw ModelProtocolError(std::string(what) + ": `" + std::string(key) + "` is not a string");
}

inline std::optional<std::string> opt_str(json::object const& o, std::string_view key) {
    auto const* v = field(o, key);
    if (!v) return std::nullopt;
    if (auto const* s = v->if_string()) return std::string(*s);
    return std::nullopt;
}

inline std::string required_str(json::object const& o, std::string_view key, std::string_view what) {
    auto const* v = field(o, key);
    if (!v || !v->is_string())
        throw ModelProtocolError(std::string(what) + ": missing string `" + std::string(key) + "`");
    return std::string(v->get_string());
}

inline std::optional<std::int64_t> opt_int(json::object const& o, std::string_view key) {
    auto const* v = field(o, key);
    if (!v) return std::nullopt;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
    if (v->is_double()) return static_cast<std::int64_t>(v->get_double());
    return std::nullopt;
}

inline std::uint64_t uint_field(json::object const& o, std::string_view key) {
    auto const* v = field(o, key);
    if (!v) return 0;
    if (v->is_uint64()) return v->get_uint64();
    if (v->is_int64()) return v->get_int64() < 0 ? 0 : static_cast<std::uint64_t>(v->get_int64());
    if (v->is_double()) return v->get_double() < 0 ? 0 : static_cast<std::uint64_t>(v->get_double());
    return 0;
}

template <class... F>
struct overloaded : F... {
    using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

}  // namespace chatkit::agents::detail
