// Fuzz target: the sans-io SSE decoder (chatkit::SseDecoder, include/chatkit/core/sse.hpp).
//
// The first byte picks how the rest is cut into `feed` calls (1 to 16 bytes, or all at once). A
// streaming decoder must not care where reads end: the events (and the retry, last id and comment
// count) of the chunked run equal those of a single feed, and a size-limit SseError happens in both
// runs or in neither.
#include <chatkit/core/sse.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using chatkit::SseDecoder;
using chatkit::SseError;
using chatkit::SseEvent;

struct Run {
    std::vector<SseEvent> events;
    bool failed = false;
    std::optional<std::uint64_t> retry;
    std::string last_id;
    std::size_t comments = 0;
};

Run decode(std::string_view input, std::size_t chunk) {
    SseDecoder decoder(4096);  // small, so the size limit is reached too
    Run run;
    try {
        for (std::size_t at = 0; at < input.size(); at += chunk)
            decoder.feed(input.substr(at, chunk), run.events);
        decoder.finish(run.events);
    } catch (SseError const&) {
        run.failed = true;
        return run;
    }
    if (decoder.has_pending()) std::abort();  // finish() flushes everything
    run.retry = decoder.retry_ms();
    run.last_id = decoder.last_event_id();
    run.comments = decoder.comments();
    return run;
}

bool same(SseEvent const& a, SseEvent const& b) {
    return a.event == b.event && a.data == b.data && a.id == b.id && a.error == b.error;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    if (size < 1) return 0;
    std::string_view const input(reinterpret_cast<char const*>(data) + 1, size - 1);
    std::size_t const chunk = data[0] % 17 == 0 ? 1 : data[0] % 17;

    Run const whole = decode(input, input.empty() ? 1 : input.size());
    Run const pieces = decode(input, chunk);
    if (whole.failed != pieces.failed) std::abort();
    if (whole.failed) return 0;
    if (whole.events.size() != pieces.events.size()) std::abort();
    for (std::size_t i = 0; i < whole.events.size(); ++i)
        if (!same(whole.events[i], pieces.events[i])) std::abort();
    if (whole.retry != pieces.retry || whole.last_id != pieces.last_id || whole.comments != pieces.comments)
        std::abort();
    for (auto const& event : whole.events) {
        // An event is dispatched only with data or an error line, and `id` never holds a NUL.
        if (event.id.find('\0') != std::string::npos) std::abort();
    }
    return 0;
}
