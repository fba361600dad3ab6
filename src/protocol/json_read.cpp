// chatkit-cpp protocol: the JSON readers of the protocol shapes, as tolerant as the reference (pydantic's
// lax mode): unknown keys ignored, nullable keys absent or null, defaulted keys absent but not null,
// integers from integral floats and numeric strings, and every failure naming the JSON path of the
// offending value.
#include "json_detail.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace chatkit::json_detail {

// =============================================================================================
// Readers: paths, errors and lax scalar conversions

// Throws the invalid_request error `<path>: <reason>` (declared in json_detail.hpp).
[[noreturn]] void fail(Path const& path, std::string_view reason) {
    std::string message;
    path.append_to(message);
    message.append(": ");
    message.append(reason);
    throw_error(error::invalid_request, std::move(message));
}

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

}  // namespace chatkit::json_detail

namespace chatkit {

using namespace json_detail;

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

}  // namespace chatkit
