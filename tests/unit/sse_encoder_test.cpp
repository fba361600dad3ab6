// core/sse.hpp, the encoder side: the frames the server writes (data frames, comments), and that the
// decoder reads every frame back as the data that was framed, whatever line ends the data holds.
#include <chatkit/core/sse.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace chatkit;

TEST_CASE("sse_data_frame frames one line of data as `data: <line>` and a blank line", "[core][sse]") {
    CHECK(sse_data_frame(R"({"type":"thread.created"})") == "data: {\"type\":\"thread.created\"}\n\n");
    CHECK(sse_data_frame("") == "data: \n\n");
    std::string out = "x";
    append_sse_data_frame(out, "[DONE]");
    CHECK(out == "xdata: [DONE]\n\n");
}

TEST_CASE("sse_data_frame splits data at every line end, so data never starts a field", "[core][sse]") {
    CHECK(sse_data_frame("a\nb") == "data: a\ndata: b\n\n");
    CHECK(sse_data_frame("a\r\nevent: evil\rid: 7\n") == "data: a\ndata: event: evil\ndata: id: 7\ndata: \n\n");
    for (std::string const data : {"one", "", "a\nb", "a\r\nb", "a\rb", "a\n\nb", "trailing\n", "\n", "\r\n\r",
                                   "data: nested\n\ndata: x"}) {
        INFO(data);
        SseDecoder decoder;
        auto events = decoder.feed(sse_data_frame(data));
        REQUIRE(events.size() == 1);
        std::string expected;  // what any SSE reader gives: line ends normalised to \n
        for (std::size_t i = 0; i < data.size(); ++i) {
            if (data[i] == '\r') {
                expected.push_back('\n');
                if (i + 1 < data.size() && data[i + 1] == '\n') ++i;
            } else {
                expected.push_back(data[i]);
            }
        }
        CHECK(events[0].data == expected);
        CHECK(events[0].event.empty());
        CHECK(events[0].id.empty());
        CHECK_FALSE(decoder.has_pending());
    }
}

TEST_CASE("sse_comment writes comments every reader skips", "[core][sse]") {
    CHECK(sse_comment("keepalive") == ": keepalive\n\n");
    CHECK(sse_comment("a\ndata: injected") == ": a\n: data: injected\n\n");
    SseDecoder decoder;
    auto events = decoder.feed(sse_comment("keepalive") + sse_comment("x\r\ndata: no") + sse_data_frame("yes"));
    REQUIRE(events.size() == 1);
    CHECK(events[0].data == "yes");
    CHECK(decoder.comments() == 3);
}
