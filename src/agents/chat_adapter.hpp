// chatkit-cpp (internal): turns Chat Completions stream chunks into Responses API events
// (AGENTS.md §1.11, with unique ids and both reasoning spellings mapped to summary text).
#pragma once

#include <chatkit/core/ids.hpp>

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chatkit::agents::detail {

namespace json = boost::json;

/// Random bytes in the ids the adapter makes up (`msg_<hex>`, `call_<hex>`...): 96 bits
/// (`chatkit::random_hex`).
inline constexpr std::size_t id_bytes = 12;

/// Maps a Chat Completions `usage` object to the Responses shape.
json::object chat_usage_to_responses(json::object const& usage);

/// Raised by the adapter for a stream that cannot become a response.
struct ChatAdapterError {
    std::string code, message;
};

/// Stateful converter: `feed` one parsed chunk at a time, then `finish` once the stream ended.
/// Every call returns the Responses events (`{"type":..., "sequence_number":..., ...}`) to emit.
class ChatStreamAdapter {
public:
    explicit ChatStreamAdapter(bool raw_reasoning_as_summary = true) : reasoning_as_summary_(raw_reasoning_as_summary) {}

    std::vector<json::object> feed(json::object const& chunk);
    /// Ends the stream: closes open items and emits `response.completed`. Throws
    /// `ChatAdapterError` for `finish_reason:"length"` without output.
    std::vector<json::object> finish();

    bool saw_finish_reason() const noexcept { return finish_reason_.has_value(); }
    bool has_output() const noexcept { return !order_.empty(); }
    std::optional<json::object> const& usage() const noexcept { return usage_; }
    /// The completed response object (valid after `finish`).
    json::object const& response() const noexcept { return response_; }

private:
    struct Call {
        std::string id = "fc_" + chatkit::random_hex(id_bytes);
        std::string call_id, name, arguments;
        std::optional<std::int64_t> output_index;  // set once added
        std::size_t flushed = 0;                   // bytes of arguments already sent as deltas
    };
    struct Slot {
        enum Kind { reasoning, message, function_call } kind;
        std::size_t call = 0;       // index into calls_
        json::object done_item;     // reasoning items: the item as closed
    };

    json::object event(char const* type);
    json::object base_response(char const* status) const;
    void start(json::object const& chunk, std::vector<json::object>& out);
    void reasoning_delta(std::string_view text, std::vector<json::object>& out);
    void close_reasoning(std::vector<json::object>& out);
    void text_delta(std::string_view text, bool refusal, std::vector<json::object>& out);
    void open_message(std::vector<json::object>& out);
    void tool_delta(json::object const& tc, std::size_t position, std::vector<json::object>& out);
    void add_call(Call& c, std::vector<json::object>& out);
    void flush_args(Call& c, std::vector<json::object>& out);
    json::object message_item(char const* status) const;
    json::object call_item(Call const& c, char const* status) const;

    bool reasoning_as_summary_;
    bool started_ = false;
    std::int64_t seq_ = 0;
    std::string response_id_ = "resp_" + chatkit::random_hex(id_bytes);
    std::string model_;
    std::int64_t created_ = 0;
    std::vector<Slot> order_;  // output items in output_index order

    // reasoning
    std::optional<std::int64_t> reasoning_index_;
    bool reasoning_open_ = false;
    std::string reasoning_id_, reasoning_text_;
    // message
    std::optional<std::int64_t> message_index_;
    std::string message_id_;
    std::string text_, refusal_;
    std::optional<std::int64_t> text_part_, refusal_part_;
    // tool calls, keyed by the chunk-level index
    std::vector<Call> calls_;
    std::vector<std::pair<std::int64_t, std::size_t>> call_by_index_;
    std::optional<std::string> finish_reason_;
    std::optional<json::object> usage_;
    json::object response_;
};

}  // namespace chatkit::agents::detail
