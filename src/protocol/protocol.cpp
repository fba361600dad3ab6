// chatkit-cpp protocol: clock, timestamps, icon names, ids and the small accessors of the protocol types.
#include <chatkit/core/ids.hpp>
#include <chatkit/protocol/common.hpp>
#include <chatkit/protocol/events.hpp>
#include <chatkit/protocol/items.hpp>
#include <chatkit/protocol/requests.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cmath>
#include <ctime>
#include <type_traits>

namespace chatkit {
namespace {

using std::chrono::days;
using std::chrono::microseconds;
using std::chrono::seconds;

std::atomic<TimestampStyle> g_timestamp_style{TimestampStyle::naive_local};

// Range pydantic accepts for datetimes: years 1 through 9999.
constexpr std::int64_t min_unix_seconds = -62135596800;  // 0001-01-01T00:00:00Z
constexpr std::int64_t max_unix_seconds = 253402300799;  // 9999-12-31T23:59:59Z

// Appends `value` zero-padded to `width` digits.
void append_padded(std::string& out, long long value, int width) {
    char buf[24];
    bool const negative = value < 0;
    unsigned long long magnitude = negative ? 0ULL - static_cast<unsigned long long>(value)
                                            : static_cast<unsigned long long>(value);
    auto const res = std::to_chars(buf, buf + sizeof buf, magnitude);
    auto const len = static_cast<int>(res.ptr - buf);
    if (negative) out.push_back('-');
    for (int i = len; i < width; ++i) out.push_back('0');
    out.append(buf, res.ptr);
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// Reads exactly `n` digits at `pos`; advances `pos`.
bool read_digits(std::string_view s, std::size_t& pos, std::size_t n, int& value) noexcept {
    if (pos + n > s.size()) return false;
    int v = 0;
    for (std::size_t i = 0; i < n; ++i) {
        char const c = s[pos + i];
        if (!is_digit(c)) return false;
        v = v * 10 + (c - '0');
    }
    value = v;
    pos += n;
    return true;
}

bool is_leap(int y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) noexcept {
    static constexpr std::array<int, 12> table{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : table[static_cast<std::size_t>(m - 1)];
}

// Converts local wall-clock fields (naive date-time) to seconds since the epoch, like Python's
// `datetime.timestamp()` on a naive value: mktime with the DST flag left to the C library.
std::optional<std::int64_t> local_to_unix(int year, int month, int day, int hour, int minute, int second) {
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    tm.tm_isdst = -1;
    // mktime returns -1 both for errors and for 1969-12-31T23:59:59 local; tm_wday tells them apart.
    tm.tm_wday = -1;
    std::time_t const t = std::mktime(&tm);
    if (t == static_cast<std::time_t>(-1) && tm.tm_wday == -1) return std::nullopt;
    return static_cast<std::int64_t>(t);
}

// Seconds since the epoch of a UTC civil date-time.
std::int64_t utc_to_unix(int year, int month, int day, int hour, int minute, int second) noexcept {
    auto const ymd = std::chrono::year{year} / std::chrono::month{static_cast<unsigned>(month)} /
                     std::chrono::day{static_cast<unsigned>(day)};
    auto const d = std::chrono::sys_days{ymd}.time_since_epoch().count();
    return static_cast<std::int64_t>(d) * 86400 + std::int64_t{hour} * 3600 + std::int64_t{minute} * 60 + second;
}

// Builds a timestamp from whole seconds and microseconds, rejecting years outside 1..9999.
std::optional<Timestamp> make_timestamp(std::int64_t secs, std::int64_t micros) {
    if (secs < min_unix_seconds || secs > max_unix_seconds) return std::nullopt;
    return Timestamp{seconds{secs} + microseconds{micros}};
}

// A Unix timestamp as pydantic reads one: seconds, or milliseconds when its magnitude exceeds 2e10;
// the fraction is rounded to microseconds.
std::optional<Timestamp> timestamp_from_unix_number(double value) {
    if (!std::isfinite(value)) return std::nullopt;
    double const secs_f = std::fabs(value) > 2e10 ? value / 1000.0 : value;
    if (secs_f < static_cast<double>(min_unix_seconds) - 1 || secs_f > static_cast<double>(max_unix_seconds) + 1)
        return std::nullopt;
    double const whole = std::floor(secs_f);
    auto secs = static_cast<std::int64_t>(whole);
    auto micros = static_cast<std::int64_t>(std::llround((secs_f - whole) * 1e6));
    if (micros >= 1000000) {
        secs += 1;
        micros -= 1000000;
    }
    return make_timestamp(secs, micros);
}

// `[+-]digits[.digits]`, `[+-]digits.` or `[+-].digits`: a Unix timestamp written as a string.
bool looks_like_unix_number(std::string_view s) noexcept {
    std::size_t i = 0;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    std::size_t int_digits = 0;
    while (i < s.size() && is_digit(s[i])) ++i, ++int_digits;
    std::size_t frac_digits = 0;
    if (i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && is_digit(s[i])) ++i, ++frac_digits;
    }
    return i == s.size() && int_digits + frac_digits > 0;
}

std::optional<Timestamp> parse_unix_string(std::string_view s) {
    std::string text;
    text.reserve(s.size() + 1);
    std::size_t i = 0;
    if (s[0] == '+') i = 1;  // from_chars does not take a leading '+'
    text.append(s.substr(i));
    if (!text.empty() && text.back() == '.') text.push_back('0');
    double value = 0;
    auto const res = std::from_chars(text.data(), text.data() + text.size(), value);
    if (res.ec != std::errc{} || res.ptr != text.data() + text.size()) return std::nullopt;
    return timestamp_from_unix_number(value);
}

// Sorted list of the fixed icon names (PROTOCOL.md Appendix B).
constexpr std::array<std::string_view, 64> icon_names{
    "agent",         "analytics",    "atom",         "batch",         "bolt",
    "book-clock",    "book-closed",  "book-open",    "bug",           "calendar",
    "chart",         "check",        "check-circle", "check-circle-filled",
    "chevron-left",  "chevron-right", "circle-question", "clock",     "compass",
    "confetti",      "cube",         "desktop",      "document",      "dot",
    "dots-horizontal", "dots-vertical", "empty-circle", "external-link", "globe",
    "images",        "info",         "keys",         "lab",           "lifesaver",
    "lightbulb",     "mail",         "map-pin",      "maps",          "mobile",
    "name",          "notebook",     "notebook-pencil", "page-blank", "phone",
    "play",          "plus",         "profile",      "profile-card",  "reload",
    "search",        "settings-slider", "sparkle",   "sparkle-double", "square-code",
    "square-image",  "square-text",  "star",         "star-filled",   "suitcase",
    "user",          "wreath",       "write",        "write-alt",     "write-alt2",
};
static_assert(std::is_sorted(icon_names.begin(), icon_names.end()));

template <class... Ts>
struct overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
overloaded(Ts...) -> overloaded<Ts...>;

}  // namespace

// ---------------------------------------------------------------------------------------------
// Clock and timestamps

Timestamp now() { return std::chrono::floor<microseconds>(std::chrono::system_clock::now()); }

void set_timestamp_style(TimestampStyle style) noexcept { g_timestamp_style.store(style, std::memory_order_relaxed); }

TimestampStyle timestamp_style() noexcept { return g_timestamp_style.load(std::memory_order_relaxed); }

std::string format_timestamp(Timestamp t) {
    auto const secs = std::chrono::floor<seconds>(t);
    auto const micros = (t - secs).count();
    bool const utc = timestamp_style() == TimestampStyle::utc;

    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    std::tm tm{};
    std::time_t const tt = static_cast<std::time_t>(secs.time_since_epoch().count());
    bool const local = !utc && localtime_r(&tt, &tm) != nullptr;
    if (local) {
        year = tm.tm_year + 1900;
        month = tm.tm_mon + 1;
        day = tm.tm_mday;
        hour = tm.tm_hour;
        minute = tm.tm_min;
        second = tm.tm_sec;
    } else {
        auto const dp = std::chrono::floor<days>(secs);
        std::chrono::year_month_day const ymd{dp};
        std::chrono::hh_mm_ss const hms{secs - dp};
        year = static_cast<int>(ymd.year());
        month = static_cast<int>(static_cast<unsigned>(ymd.month()));
        day = static_cast<int>(static_cast<unsigned>(ymd.day()));
        hour = static_cast<int>(hms.hours().count());
        minute = static_cast<int>(hms.minutes().count());
        second = static_cast<int>(hms.seconds().count());
    }

    std::string out;
    out.reserve(28);
    append_padded(out, year, 4);
    out.push_back('-');
    append_padded(out, month, 2);
    out.push_back('-');
    append_padded(out, day, 2);
    out.push_back('T');
    append_padded(out, hour, 2);
    out.push_back(':');
    append_padded(out, minute, 2);
    out.push_back(':');
    append_padded(out, second, 2);
    if (micros != 0) {
        out.push_back('.');
        append_padded(out, micros, 6);
    }
    if (utc) out.push_back('Z');
    return out;
}

std::optional<Timestamp> parse_timestamp(std::string_view s) {
    if (s.empty()) return std::nullopt;
    if (looks_like_unix_number(s)) return parse_unix_string(s);

    // YYYY-MM-DD
    std::size_t pos = 0;
    int year = 0, month = 0, day = 0;
    if (!read_digits(s, pos, 4, year) || pos >= s.size() || s[pos++] != '-' || !read_digits(s, pos, 2, month) ||
        pos >= s.size() || s[pos++] != '-' || !read_digits(s, pos, 2, day))
        return std::nullopt;
    if (year < 1 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) return std::nullopt;

    int hour = 0, minute = 0, second = 0;
    std::int64_t micros = 0;
    std::optional<int> offset_seconds;
    if (pos < s.size()) {
        char const sep = s[pos++];
        if (sep != 'T' && sep != 't' && sep != ' ' && sep != '_') return std::nullopt;
        if (!read_digits(s, pos, 2, hour) || pos >= s.size() || s[pos++] != ':' || !read_digits(s, pos, 2, minute))
            return std::nullopt;
        if (pos < s.size() && s[pos] == ':') {
            ++pos;
            if (!read_digits(s, pos, 2, second)) return std::nullopt;
            if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
                ++pos;
                std::size_t digits = 0;
                while (pos < s.size() && is_digit(s[pos])) {
                    if (digits < 6) micros = micros * 10 + (s[pos] - '0');  // truncate beyond microseconds
                    ++digits;
                    ++pos;
                }
                if (digits == 0) return std::nullopt;
                for (std::size_t d = digits; d < 6; ++d) micros *= 10;
            }
        }
        if (hour > 23 || minute > 59 || second > 59) return std::nullopt;
        if (pos < s.size()) {
            char const tz = s[pos++];
            if (tz == 'Z' || tz == 'z') {
                offset_seconds = 0;
            } else if (tz == '+' || tz == '-') {
                int oh = 0, om = 0;
                if (!read_digits(s, pos, 2, oh)) return std::nullopt;
                if (pos < s.size() && s[pos] == ':') ++pos;
                if (!read_digits(s, pos, 2, om)) return std::nullopt;
                if (oh > 23 || om > 59) return std::nullopt;
                offset_seconds = (tz == '-' ? -1 : 1) * (oh * 3600 + om * 60);
            } else {
                return std::nullopt;
            }
        }
        if (pos != s.size()) return std::nullopt;
    }

    std::int64_t secs = 0;
    if (offset_seconds) {
        secs = utc_to_unix(year, month, day, hour, minute, second) - *offset_seconds;
    } else {
        auto const local = local_to_unix(year, month, day, hour, minute, second);
        if (!local) return std::nullopt;
        secs = *local;
    }
    return Timestamp{seconds{secs} + microseconds{micros}};
}

// ---------------------------------------------------------------------------------------------
// Icons

bool is_valid_icon_name(std::string_view name) noexcept {
    if (name.starts_with("vendor:") || name.starts_with("lucide:")) return true;
    return std::binary_search(icon_names.begin(), icon_names.end(), name);
}

// ---------------------------------------------------------------------------------------------
// Item accessors

std::string const& item_id(ThreadItem const& item) noexcept {
    return std::visit([](auto const& i) -> std::string const& { return i.id; }, item);
}

std::string const& item_thread_id(ThreadItem const& item) noexcept {
    return std::visit([](auto const& i) -> std::string const& { return i.thread_id; }, item);
}

Timestamp item_created_at(ThreadItem const& item) noexcept {
    return std::visit([](auto const& i) { return i.created_at; }, item);
}

char const* item_type(ThreadItem const& item) noexcept {
    return std::visit(overloaded{
                          [](UserMessageItem const&) { return "user_message"; },
                          [](AssistantMessageItem const&) { return "assistant_message"; },
                          [](ClientToolCallItem const&) { return "client_tool_call"; },
                          [](WidgetItem const&) { return "widget"; },
                          [](GeneratedImageItem const&) { return "generated_image"; },
                          [](StructuredInputItem const&) { return "structured_input"; },
                          [](WorkflowItem const&) { return "workflow"; },
                          [](TaskItem const&) { return "task"; },
                          [](EndOfTurnItem const&) { return "end_of_turn"; },
                          [](HiddenContextItem const&) { return "hidden_context_item"; },
                          [](SDKHiddenContextItem const&) { return "sdk_hidden_context"; },
                      },
                      item);
}

bool is_hidden(ThreadItem const& item) noexcept {
    return std::holds_alternative<HiddenContextItem>(item) || std::holds_alternative<SDKHiddenContextItem>(item);
}

std::string text_of(UserMessageItem const& message) {
    std::string text;
    for (auto const& part : message.content) {
        if (auto const* t = std::get_if<UserMessageTextContent>(&part)) {
            text += t->text;
        } else if (auto const* tag = std::get_if<UserMessageTagContent>(&part)) {
            text += '@';
            text += tag->text;
        }
    }
    return text;
}

// ---------------------------------------------------------------------------------------------
// Ids

char const* id_prefix(StoreItemType type) noexcept {
    switch (type) {
        case StoreItemType::thread: return "thr";
        case StoreItemType::message: return "msg";
        case StoreItemType::tool_call: return "tc";
        case StoreItemType::task: return "tsk";
        case StoreItemType::workflow: return "wf";
        case StoreItemType::attachment: return "atc";
        case StoreItemType::sdk_hidden_context: return "shcx";
    }
    return "id";
}

namespace {
thread_local std::string fresh_thread_id;  // the last default thread id made on this thread, unclaimed
}  // namespace

std::string default_generate_id(StoreItemType type) {
    std::string id = id_prefix(type);
    id.push_back('_');
    id += random_hex(id_random_bits / 8);
    if (type == StoreItemType::thread) fresh_thread_id = id;
    return id;
}

bool detail::claim_fresh_thread_id(std::string const& id) noexcept {
    if (fresh_thread_id.empty() || id != fresh_thread_id) return false;
    fresh_thread_id.clear();
    return true;
}

// ---------------------------------------------------------------------------------------------
// Events, updates, requests

char const* event_type(ThreadStreamEvent const& event) noexcept {
    return std::visit(overloaded{
                          [](ThreadCreatedEvent const&) { return "thread.created"; },
                          [](ThreadUpdatedEvent const&) { return "thread.updated"; },
                          [](ThreadItemAddedEvent const&) { return "thread.item.added"; },
                          [](ThreadItemUpdatedEvent const&) { return "thread.item.updated"; },
                          [](ThreadItemDoneEvent const&) { return "thread.item.done"; },
                          [](ThreadItemRemovedEvent const&) { return "thread.item.removed"; },
                          [](ThreadItemReplacedEvent const&) { return "thread.item.replaced"; },
                          [](StreamOptionsEvent const&) { return "stream_options"; },
                          [](ProgressUpdateEvent const&) { return "progress_update"; },
                          [](ClientEffectEvent const&) { return "client_effect"; },
                          [](ErrorEvent const&) { return "error"; },
                          [](NoticeEvent const&) { return "notice"; },
                      },
                      event);
}

char const* update_type(ThreadItemUpdate const& update) noexcept {
    return std::visit(
        overloaded{
            [](AssistantMessageContentPartAdded const&) { return "assistant_message.content_part.added"; },
            [](AssistantMessageContentPartTextDelta const&) { return "assistant_message.content_part.text_delta"; },
            [](AssistantMessageContentPartAnnotationAdded const&) {
                return "assistant_message.content_part.annotation_added";
            },
            [](AssistantMessageContentPartDone const&) { return "assistant_message.content_part.done"; },
            [](WidgetStreamingTextValueDelta const&) { return "widget.streaming_text.value_delta"; },
            [](WidgetRootUpdated const&) { return "widget.root.updated"; },
            [](WidgetComponentUpdated const&) { return "widget.component.updated"; },
            [](WorkflowTaskAdded const&) { return "workflow.task.added"; },
            [](WorkflowTaskUpdated const&) { return "workflow.task.updated"; },
            [](GeneratedImageUpdated const&) { return "generated_image.updated"; },
        },
        update);
}

char const* ChatKitRequest::type() const noexcept {
    return std::visit(overloaded{
                          [](ThreadsCreateReq const&) { return "threads.create"; },
                          [](ThreadsAddUserMessageReq const&) { return "threads.add_user_message"; },
                          [](ThreadsAddClientToolOutputReq const&) { return "threads.add_client_tool_output"; },
                          [](ThreadsAddStructuredInputReq const&) { return "threads.add_structured_input"; },
                          [](ThreadsRetryAfterItemReq const&) { return "threads.retry_after_item"; },
                          [](ThreadsCustomActionReq const&) { return "threads.custom_action"; },
                          [](ThreadsSyncCustomActionReq const&) { return "threads.sync_custom_action"; },
                          [](ThreadsGetByIdReq const&) { return "threads.get_by_id"; },
                          [](ThreadsListReq const&) { return "threads.list"; },
                          [](ItemsListReq const&) { return "items.list"; },
                          [](ItemsFeedbackReq const&) { return "items.feedback"; },
                          [](AttachmentsCreateReq const&) { return "attachments.create"; },
                          [](AttachmentsDeleteReq const&) { return "attachments.delete"; },
                          [](ThreadsUpdateReq const&) { return "threads.update"; },
                          [](ThreadsDeleteReq const&) { return "threads.delete"; },
                          [](InputTranscribeReq const&) { return "input.transcribe"; },
                      },
                      params);
}

bool ChatKitRequest::is_streaming() const noexcept {
    return std::holds_alternative<ThreadsCreateReq>(params) ||
           std::holds_alternative<ThreadsAddUserMessageReq>(params) ||
           std::holds_alternative<ThreadsAddClientToolOutputReq>(params) ||
           std::holds_alternative<ThreadsAddStructuredInputReq>(params) ||
           std::holds_alternative<ThreadsRetryAfterItemReq>(params) ||
           std::holds_alternative<ThreadsCustomActionReq>(params);
}

}  // namespace chatkit
