// chatkit-cpp core: sans-io framing of server-sent events (text/event-stream): the encoder the server
// writes ChatKit streams with, and the decoder the model and MCP clients read upstream streams with.
#pragma once

#include <chatkit/core/config.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace chatkit {

/// The frame of one event carrying `data`: a `data: <line>\n` field per line of `data`, then the
/// blank line that dispatches it. `\n`, `\r\n` and a lone `\r` in `data` end lines (so nothing in
/// `data` can start another field or event); compact JSON text is one line, framed as
/// `data: <json>\n\n`. Takes `data` by value and frames it in place when it is one line.
CHATKIT_API std::string sse_data_frame(std::string data);

/// Appends the frame `sse_data_frame(data)` to `out`.
CHATKIT_API void append_sse_data_frame(std::string& out, std::string_view data);

/// A comment frame, which every client ignores: `: <text>\n\n` (keep-alive heartbeats). Line ends
/// in `text` start another comment line, never a field.
CHATKIT_API std::string sse_comment(std::string_view text);

/// One dispatched server-sent event.
struct SseEvent {
    /// The `event:` field (empty when the event had none; Chat Completions streams never set it).
    std::string event;
    /// The `data:` lines joined with `\n`.
    std::string data;
    /// The last event id seen so far in the stream (`id:` fields persist across events).
    std::string id;
    /// The non-standard `error:` field some llama.cpp builds send; a stream error when set.
    std::optional<std::string> error;

    /// True for the `data: [DONE]` sentinel of OpenAI-style streams.
    bool is_done() const noexcept { return data == "[DONE]"; }
};

/// Thrown when a line or an event grows past the decoder's size limit.
class CHATKIT_API SseError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Decodes a byte stream into server-sent events.
///
/// Implements the WHATWG framing: line terminators `\n`, `\r\n` or a lone `\r` (also when split
/// across `feed` calls), a leading UTF-8 BOM is skipped, `:` lines are comments, `name: value`
/// fields with one optional space stripped, a line without a colon is a field with an empty value,
/// several `data:` lines are joined with `\n`, `id:` (ignored when it contains NUL) persists,
/// `retry:` accepts ASCII digits only, unknown fields are ignored, and a blank line dispatches.
/// An event is dispatched when it has at least one `data:` line or an `error:` line. Bytes are
/// never decoded, so UTF-8 sequences split across reads are safe.
///
/// Policy at end of input (`finish`): a last line without terminator is processed and an event
/// still pending (no blank line after it, as llama.cpp has sent `data: [DONE]`) is dispatched.
///
/// @par Thread safety
/// Distinct objects: safe. Shared objects: unsafe.
class CHATKIT_API SseDecoder {
public:
    /// `max_event_bytes` bounds one line and one event's data (protects memory); exceeding it
    /// throws `SseError`.
    explicit SseDecoder(std::size_t max_event_bytes = 16 * 1024 * 1024) : max_(max_event_bytes) {}

    /// Feeds bytes and appends every completed event to `out`.
    void feed(std::string_view bytes, std::vector<SseEvent>& out);

    /// Feeds bytes and returns the completed events.
    std::vector<SseEvent> feed(std::string_view bytes) {
        std::vector<SseEvent> out;
        feed(bytes, out);
        return out;
    }

    /// Signals end of input: processes an unterminated last line and dispatches a pending event.
    void finish(std::vector<SseEvent>& out);

    /// `finish` returning the flushed events.
    std::vector<SseEvent> finish() {
        std::vector<SseEvent> out;
        finish(out);
        return out;
    }

    /// The reconnection time of the last valid `retry:` field, in milliseconds.
    std::optional<std::uint64_t> retry_ms() const noexcept { return retry_; }
    /// The last event id (persisting `id:` field).
    std::string const& last_event_id() const noexcept { return last_id_; }
    /// How many comment lines (keep-alives such as `: ping`) were seen.
    std::size_t comments() const noexcept { return comments_; }
    /// True when a line or an event is partially buffered.
    bool has_pending() const noexcept { return !line_.empty() || has_data_ || error_.has_value(); }

private:
    void process_line(std::string_view line, std::vector<SseEvent>& out);
    void dispatch(std::vector<SseEvent>& out);

    std::size_t max_;
    std::string line_;
    std::string data_;
    std::string event_;
    std::string last_id_;
    std::optional<std::string> error_;
    std::optional<std::uint64_t> retry_;
    std::size_t comments_ = 0;
    std::size_t bom_matched_ = 0;  // bytes of the UTF-8 BOM matched so far at stream start
    bool bom_done_ = false;
    bool has_data_ = false;
    bool skip_lf_ = false;  // the previous chunk ended with '\r': a leading '\n' belongs to it
};

}  // namespace chatkit
