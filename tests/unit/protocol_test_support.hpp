// Helpers of the protocol codec tests (protocol_json_test.cpp, protocol_read_test.cpp): golden
// payloads, time-zone and timestamp-style guards, error messages.
#pragma once

#include <chatkit/core/sse.hpp>
#include <chatkit/protocol/protocol.hpp>

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace protocol_test {

using namespace chatkit;

// The SSE frame the server writes for an event (protocol gives the JSON, core/sse the framing).
inline std::string sse_frame(ThreadStreamEvent const& event) { return sse_data_frame(to_json_text(event)); }

inline std::string data_path(std::string const& name) {
    std::string path = CHATKIT_TEST_DATA_DIR;  // appended step by step: g++ 12 -O2 warns falsely on a + chain here
    path += "/protocol/";
    path += name;
    return path;
}

inline std::string read_text(std::string const& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in.good());
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// A golden file entry: the reference's wire form and (for stored shapes) its store form.
struct Golden {
    std::string name;
    std::string wire;
    std::string store;
};

inline std::vector<Golden> load_goldens(std::string const& file) {
    auto const doc = boost::json::parse(read_text(data_path(file)));
    std::vector<Golden> out;
    for (auto const& e : doc.as_array()) {
        auto const& o = e.as_object();
        Golden g{std::string(o.at("name").as_string()), std::string(o.at("wire").as_string()), {}};
        if (auto const* s = o.if_contains("store")) g.store = std::string(s->as_string());
        out.push_back(std::move(g));
    }
    REQUIRE_FALSE(out.empty());
    return out;
}

// Sets TZ for the duration of a test (and restores it), so naive local timestamps are deterministic.
class TzGuard {
public:
    explicit TzGuard(char const* tz) {
        if (char const* old = std::getenv("TZ")) old_ = old;
        ::setenv("TZ", tz, 1);
        ::tzset();
    }
    ~TzGuard() {
        if (old_) {
            ::setenv("TZ", old_->c_str(), 1);
        } else {
            ::unsetenv("TZ");
        }
        ::tzset();
    }
    TzGuard(TzGuard const&) = delete;
    TzGuard& operator=(TzGuard const&) = delete;

private:
    std::optional<std::string> old_;
};

// Sets the process-wide timestamp style for the duration of a test.
class StyleGuard {
public:
    explicit StyleGuard(TimestampStyle style) : old_(timestamp_style()) { set_timestamp_style(style); }
    ~StyleGuard() { set_timestamp_style(old_); }
    StyleGuard(StyleGuard const&) = delete;
    StyleGuard& operator=(StyleGuard const&) = delete;

private:
    TimestampStyle old_;
};

// A timestamp from a naive local date-time string (what the reference writes).
inline Timestamp ts(std::string_view text) {
    auto t = parse_timestamp(text);
    REQUIRE(t.has_value());
    return *t;
}

inline Timestamp from_micros(std::int64_t us) { return Timestamp{std::chrono::microseconds{us}}; }

inline std::string wire(ThreadItem const& item) { return chatkit::serialize(to_json(item, JsonMode::wire)); }

// The message of the invalid_request error `fn` throws ("" when it does not throw).
template <class F>
inline std::string error_of(F&& fn) {
    try {
        fn();
    } catch (Error const& e) {
        CHECK(e.code() == make_error_code(error::invalid_request));
        return e.message();
    }
    return {};
}

inline ThreadItem item_from(std::string const& text) { return from_json<ThreadItem>(parse_json(text)); }

inline std::string item_json(std::string const& type_and_fields) {
    return R"({"id":"i","thread_id":"t","created_at":"2025-01-02T03:04:05","type":)" + type_and_fields + "}";
}

}  // namespace protocol_test
