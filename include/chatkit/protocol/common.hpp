// chatkit-cpp protocol: shared building blocks (timestamps, pages, enumerations, free-form JSON).
#pragma once

#include <chatkit/core/config.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatkit {

/// Free-form JSON (tool arguments, payloads, metadata). Nulls inside are kept on the wire.
using JsonValue = boost::json::value;
/// A free-form JSON object.
using JsonObject = boost::json::object;

/// A point in time with microsecond precision (`created_at` of threads and items).
using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;

/// The current time, truncated to microseconds.
CHATKIT_API Timestamp now();

/// How timestamps are written on the wire.
enum class TimestampStyle {
    /// `2025-06-01T12:00:00.100000` in the server's local time, as the reference writes them (default).
    naive_local,
    /// `2025-06-01T12:00:00.100000Z` in UTC.
    utc,
};

/// Sets the process-wide timestamp style used by every writer. Thread-safe.
CHATKIT_API void set_timestamp_style(TimestampStyle style) noexcept;
/// The process-wide timestamp style.
CHATKIT_API TimestampStyle timestamp_style() noexcept;

/// Writes a timestamp as the reference does: `YYYY-MM-DDTHH:MM:SS[.ffffff]` (fraction omitted when zero).
CHATKIT_API std::string format_timestamp(Timestamp t);
/// Parses an ISO-8601 date-time as pydantic accepts it (`T` or space, any fraction length, `Z` or
/// `+HH:MM` offsets, naive = local time) or a Unix timestamp. Returns nullopt when malformed.
CHATKIT_API std::optional<Timestamp> parse_timestamp(std::string_view text);

/// Sort order of paginated store reads.
enum class Order { asc, desc };

/// One page of a paginated listing.
template <class T>
struct Page {
    std::vector<T> data;  ///< The elements of this page, in the requested order.
    bool has_more = false;  ///< True when more elements follow (ask again with `after`).
    /// Cursor to pass as `after` for the next page (the id of the last element when `has_more`).
    std::optional<std::string> after;
};

/// Number of elements a list request returns when its `limit` is absent, null or 0.
inline constexpr int default_page_size = 20;

/// A ChatKit icon name (Appendix B names, or `vendor:...` / `lucide:...`).
using IconName = std::string;

/// True when `name` is one of the fixed icon names or a `vendor:`/`lucide:` name.
CHATKIT_API bool is_valid_icon_name(std::string_view name) noexcept;

}  // namespace chatkit
