// SseDecoder: every framing rule of AGENTS.md §3.0, checked at every split point of the input.
#include <chatkit/core/sse.hpp>

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

using chatkit::SseDecoder;
using chatkit::SseEvent;

namespace {

struct Ev {
    std::string event, data, id;
    std::optional<std::string> error;
    bool operator==(Ev const&) const = default;
};

std::vector<Ev> simplify(std::vector<SseEvent> const& in) {
    std::vector<Ev> out;
    for (auto const& e : in) out.push_back({e.event, e.data, e.id, e.error});
    return out;
}

std::vector<Ev> decode(std::vector<std::string_view> const& parts, bool finish = true) {
    SseDecoder d;
    std::vector<SseEvent> out;
    for (auto p : parts) d.feed(p, out);
    if (finish) d.finish(out);
    return simplify(out);
}

// Decodes `input` whole, split in two at every position, byte by byte and in random 3-way splits,
// and returns what the whole input gave; throws, naming the split, when any other way disagrees.
std::vector<Ev> decode_every_way(std::string_view input, bool finish = true) {
    std::vector<Ev> const whole = decode({input}, finish);
    auto agree = [&](std::vector<std::string_view> const& parts, std::string const& how) {
        if (decode(parts, finish) != whole)
            throw std::logic_error("decoding " + how + " differs from decoding the whole input");
    };
    for (std::size_t i = 0; i <= input.size(); ++i)
        agree({input.substr(0, i), input.substr(i)}, "split at " + std::to_string(i));
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < input.size(); ++i) bytes.push_back(input.substr(i, 1));
    agree(bytes, "byte by byte");
    std::mt19937 rng(42);
    for (int round = 0; round < 20 && input.size() > 2; ++round) {
        std::uniform_int_distribution<std::size_t> pick(0, input.size());
        auto a = pick(rng), b = pick(rng);
        if (a > b) std::swap(a, b);
        agree({input.substr(0, a), input.substr(a, b - a), input.substr(b)},
              "split at " + std::to_string(a) + " and " + std::to_string(b));
    }
    return whole;
}

}  // namespace

TEST_CASE("SSE: LF, CRLF and lone CR all terminate lines", "[sse]") {
    std::vector<Ev> expected{{"", "one", "", {}}, {"", "two\nthree", "", {}}};
    CHECK(decode_every_way("data: one\n\ndata: two\ndata: three\n\n") == expected);
    CHECK(decode_every_way("data: one\r\n\r\ndata: two\r\ndata: three\r\n\r\n") == expected);
    CHECK(decode_every_way("data: one\r\rdata: two\rdata: three\r\r") == expected);
    CHECK(decode_every_way("data: one\r\n\ndata: two\rdata: three\n\r\n") == expected);
}

TEST_CASE("SSE: a CRLF split between CR and LF is one terminator, not a blank line", "[sse]") {
    CHECK(decode({"data: a\r", "\ndata: b\r\n\r\n"}) == std::vector<Ev>{{"", "a\nb", "", {}}});
}

TEST_CASE("SSE: a leading UTF-8 BOM is skipped, only at the very start", "[sse]") {
    CHECK(decode_every_way("\xEF\xBB\xBF" "data: x\n\n") == std::vector<Ev>{{"", "x", "", {}}});
    // A BOM later in the stream is part of a field name (an unknown field, ignored).
    CHECK(decode_every_way("data: x\n\n\xEF\xBB\xBF" "data: y\n\n") == std::vector<Ev>{{"", "x", "", {}}});
    // Bytes that only start like a BOM are kept.
    CHECK(decode_every_way("\xEF" "data: x\n\n") == std::vector<Ev>{});
    CHECK(decode_every_way("\xEF\xBB") == std::vector<Ev>{});
}

TEST_CASE("SSE: comments and keep-alives are ignored and counted", "[sse]") {
    std::string input = ": ping\n\ndata: a\n: OPENROUTER PROCESSING\ndata: b\n\n:\n\n";
    CHECK(decode_every_way(input) == std::vector<Ev>{{"", "a\nb", "", {}}});
    SseDecoder d;
    d.feed(input);
    CHECK(d.comments() == 3);
}

TEST_CASE("SSE: event, id and retry fields", "[sse]") {
    CHECK(decode_every_way("event: response.created\nid: 7\ndata: {}\n\ndata: next\n\n") == std::vector<Ev>{{"response.created", "{}", "7", {}}, {"", "next", "7", {}}});
    // id with NUL is ignored; retry takes digits only.
    static constexpr char with_nul[] = "id: 1\ndata: a\n\nid: x\0y\ndata: b\n\n";
    CHECK(decode_every_way(std::string_view(with_nul, sizeof with_nul - 1)) == std::vector<Ev>{{"", "a", "1", {}}, {"", "b", "1", {}}});
    SseDecoder d;
    d.feed("retry: 1500\n\nretry: 12x\n\n");
    CHECK(d.retry_ms() == 1500u);
    // An empty id resets the last event id.
    CHECK(decode_every_way("id: 5\ndata: a\n\nid\ndata: b\n\n") == std::vector<Ev>{{"", "a", "5", {}}, {"", "b", "", {}}});
}

TEST_CASE("SSE: one optional space after the colon is stripped, lines without colon are fields", "[sse]") {
    CHECK(decode_every_way("data:x\n\ndata:  two spaces\n\ndata\n\ndata:\n\n") == std::vector<Ev>{{"", "x", "", {}}, {"", " two spaces", "", {}}, {"", "", "", {}}, {"", "", "", {}}});
    // Data values keep colons.
    CHECK(decode_every_way("data: {\"a\":\"b:c\"}\n\n") == std::vector<Ev>{{"", "{\"a\":\"b:c\"}", "", {}}});
}

TEST_CASE("SSE: a blank line without data dispatches nothing and resets the event name", "[sse]") {
    CHECK(decode_every_way("event: ignored\n\ndata: a\n\n") == std::vector<Ev>{{"", "a", "", {}}});
    CHECK(decode_every_way("unknown: field\nevent: x\n\n\n\n") == std::vector<Ev>{});
}

TEST_CASE("SSE: the final event without a blank line is flushed at end of input", "[sse]") {
    CHECK(decode_every_way("data: a\n\ndata: [DONE]\n") == std::vector<Ev>{{"", "a", "", {}}, {"", "[DONE]", "", {}}});
    CHECK(decode_every_way("data: a\n\ndata: [DONE]") == std::vector<Ev>{{"", "a", "", {}}, {"", "[DONE]", "", {}}});
    // Without finish() nothing partial comes out.
    CHECK(decode({"data: a\n\ndata: [DONE]"}, false) == std::vector<Ev>{{"", "a", "", {}}});
    SseDecoder d;
    auto evs = d.feed("data: [DONE]\n\n");
    REQUIRE(evs.size() == 1);
    CHECK(evs[0].is_done());
}

TEST_CASE("SSE: the non-standard error field is dispatched as a stream error", "[sse]") {
    CHECK(decode_every_way("error: {\"code\":500,\"message\":\"boom\"}\n\ndata: [DONE]\n\n") == std::vector<Ev>{{"", "", "", std::string("{\"code\":500,\"message\":\"boom\"}")}, {"", "[DONE]", "", {}}});
}

TEST_CASE("SSE: multi-byte UTF-8 split anywhere arrives intact", "[sse]") {
    std::string text = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80";
    CHECK(decode_every_way("data: " + text + "\r\n\r\n") == std::vector<Ev>{{"", text, "", {}}});
}

TEST_CASE("SSE: an oversized line or event is rejected", "[sse]") {
    SseDecoder d(16);
    CHECK_THROWS_AS(d.feed(std::string(20, 'a')), chatkit::SseError);
    SseDecoder e(16);
    CHECK_THROWS_AS(e.feed("data: 0123456789\ndata: 0123456789\n"), chatkit::SseError);
}

TEST_CASE("SSE: every LLM transcript decodes identically at every split point", "[sse]") {
    namespace fs = std::filesystem;
    std::size_t files = 0;
    for (auto const& entry : fs::directory_iterator(fs::path(CHATKIT_TEST_DATA_DIR) / "llm")) {
        if (entry.path().extension() != ".sse") continue;
        ++files;
        std::ifstream in(entry.path(), std::ios::binary);
        std::string input((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        INFO(entry.path().filename().string());
        auto whole = decode({input});
        REQUIRE_FALSE(whole.empty());
        for (auto const& ev : whole) {
            // Every payload is JSON, the [DONE] sentinel, or a llama.cpp error line.
            if (ev.error) continue;
            if (ev.data == "[DONE]") continue;
            boost::system::error_code ec;
            (void)boost::json::parse(ev.data, ec);
            CHECK_FALSE(ec);
        }
        std::string crlf;
        for (char c : input) {
            if (c == '\n') crlf += "\r\n";
            else crlf += c;
        }
        for (std::size_t i = 0; i <= input.size(); ++i) {
            INFO("split at " << i);
            auto got = decode({std::string_view(input).substr(0, i), std::string_view(input).substr(i)});
            if (got != whole) FAIL_CHECK("differs when split at " << i);
        }
        for (std::size_t i = 0; i <= crlf.size(); i += 3) {
            auto got = decode({std::string_view(crlf).substr(0, i), std::string_view(crlf).substr(i)});
            if (got != whole) FAIL_CHECK("CRLF variant differs when split at " << i);
        }
    }
    CHECK(files >= 15);
}
