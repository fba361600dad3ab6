// chatkit-cpp: how the database stores (SqliteStore, PostgresStore) write and read a row's JSON.
#pragma once

#include <chatkit/core/error.hpp>
#include <chatkit/protocol/json.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <variant>

namespace chatkit::store_detail {

/// The stored text of an object: its store-form JSON (`JsonMode::store`, server-only metadata
/// included). An object that would nest deeper than `parse_row` reads is refused before it is
/// written (`error::invalid_request`, naming `what`), so one odd item cannot make its thread
/// unreadable.
template <class T>
std::string row_text(T const& object, char const* what) {
    std::string data = to_json_text(object, JsonMode::store);
    if (json_text_depth(data) > max_json_depth)
        throw_error(error::invalid_request, std::string(what) + " nests deeper than " +
                                                std::to_string(max_json_depth) + " levels and was not saved");
    return data;
}

/// Parses a stored row. A row that does not parse is `error::store_failure` with the message
/// `<store>: <what> has corrupt data: ...` (or `unreadable data` when the JSON is valid but not a
/// `T`), never a crash. Rows are read with the same parser and nesting limit as requests.
template <class T>
T parse_row(std::string_view data, std::string_view store, std::string const& what) {
    JsonValue value;
    try {
        value = parse_json(data);
    } catch (Error const& e) {
        throw_error(error::store_failure,
                    std::string(store) + ": " + what + " has corrupt data: " + e.message());
    }
    try {
        return from_json<T>(value);
    } catch (Error const& e) {
        throw_error(error::store_failure,
                    std::string(store) + ": " + what + " has unreadable data: " + e.message());
    } catch (std::exception const& e) {
        throw_error(error::store_failure,
                    std::string(store) + ": " + what + " has unreadable data: " + e.what());
    }
}

/// A timestamp as the integer microseconds since the Unix epoch that the stores index.
inline std::int64_t micros(Timestamp t) { return static_cast<std::int64_t>(t.time_since_epoch().count()); }

/// The timestamp of `micros` microseconds since the Unix epoch.
inline Timestamp timestamp(std::int64_t us) { return Timestamp{std::chrono::microseconds(us)}; }

/// Makes a loaded item agree with the indexed `created_at` column, which is authoritative for
/// ordering (the JSON form may be written in local time, which a change of time zone would shift).
inline void set_created_at(ThreadItem& item, std::int64_t us) {
    std::visit([us](auto& i) { i.created_at = timestamp(us); }, item);
}

}  // namespace chatkit::store_detail
