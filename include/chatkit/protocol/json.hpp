// chatkit-cpp protocol: JSON readers and writers, byte-compatible with the Python reference (PROTOCOL.md §1.2, §2).
#pragma once

#include <chatkit/core/error.hpp>
#include <chatkit/protocol/events.hpp>
#include <chatkit/protocol/items.hpp>
#include <chatkit/protocol/requests.hpp>

#include <boost/system/error_code.hpp>

#include <string>
#include <string_view>

namespace chatkit {

/// Who a JSON form is for.
enum class JsonMode {
    /// What clients see: attachment `metadata` dropped, thread `metadata` written as `{}`.
    wire,
    /// What stores keep: every field, attachment and thread metadata included.
    store,
};

// ---------------------------------------------------------------------------------------------
// Writers. Keys come in the reference's declaration order, nulls of declared fields are omitted,
// defaults are always written, nulls inside free-form values are kept, nulls inside widgets are
// stripped at every depth.

CHATKIT_API JsonValue to_json(ThreadMetadata const& thread, JsonMode mode = JsonMode::wire);
CHATKIT_API JsonValue to_json(Thread const& thread, JsonMode mode = JsonMode::wire);
CHATKIT_API JsonValue to_json(ThreadItem const& item, JsonMode mode = JsonMode::wire);
CHATKIT_API JsonValue to_json(Attachment const& attachment, JsonMode mode = JsonMode::wire);
CHATKIT_API JsonValue to_json(ThreadStreamEvent const& event);
CHATKIT_API JsonValue to_json(ThreadItemUpdate const& update);
CHATKIT_API JsonValue to_json(Task const& task);
CHATKIT_API JsonValue to_json(Source const& source);
CHATKIT_API JsonValue to_json(Annotation const& annotation);
CHATKIT_API JsonValue to_json(AssistantMessageContent const& content);
CHATKIT_API JsonValue to_json(Workflow const& workflow);
CHATKIT_API JsonValue to_json(StructuredInput const& input);
CHATKIT_API JsonValue to_json(Page<ThreadItem> const& page, JsonMode mode = JsonMode::wire);
CHATKIT_API JsonValue to_json(Page<ThreadMetadata> const& page, JsonMode mode = JsonMode::wire);
CHATKIT_API JsonValue to_json(SyncCustomActionResponse const& response);
CHATKIT_API JsonValue to_json(TranscriptionResult const& result);

/// The compact JSON text of a value: the same bytes as `serialize(to_json(x, mode))`, written
/// directly without building a JsonValue (the server's non-streaming answers and SqliteStore's rows
/// use it).
CHATKIT_API std::string to_json_text(ThreadMetadata const& thread, JsonMode mode = JsonMode::wire);
CHATKIT_API std::string to_json_text(Thread const& thread, JsonMode mode = JsonMode::wire);
CHATKIT_API std::string to_json_text(ThreadItem const& item, JsonMode mode = JsonMode::wire);
CHATKIT_API std::string to_json_text(Attachment const& attachment, JsonMode mode = JsonMode::wire);
CHATKIT_API std::string to_json_text(Page<ThreadItem> const& page, JsonMode mode = JsonMode::wire);
CHATKIT_API std::string to_json_text(Page<ThreadMetadata> const& page, JsonMode mode = JsonMode::wire);
CHATKIT_API std::string to_json_text(SyncCustomActionResponse const& response);
/// The JSON text of a stream event (the server frames it as SSE with `sse_data_frame`).
CHATKIT_API std::string to_json_text(ThreadStreamEvent const& event);
CHATKIT_API std::string to_json_text(TranscriptionResult const& result);

/// A copy of a widget tree with every null removed at every depth (objects and arrays).
CHATKIT_API JsonValue strip_nulls(JsonValue const& widget);

/// Serializes JSON exactly as the reference does. Call it qualified (`chatkit::serialize(v)`): an
/// unqualified call also finds `boost::json::serialize` by argument-dependent lookup. The form is
/// compact, raw UTF-8, `\uXXXX` for control characters, floats in shortest round-trip form with
/// Python's layout (`1.0`, `1e-7`, `1e+22`), NaN and infinities as `null`.
CHATKIT_API std::string serialize(JsonValue const& value);
/// Appends the serialized form of `value` to `out`.
CHATKIT_API void serialize_to(std::string& out, JsonValue const& value);


// ---------------------------------------------------------------------------------------------
// Readers. Exactly as tolerant as the reference (pydantic lax mode): unknown keys are ignored,
// nullable keys may be absent or null, a null for a non-nullable key is rejected even when it has a
// default, integers accept integral floats and numeric strings, literals and tags are checked.
// Failures throw `Error(error::invalid_request, "<json path>: <reason>")`.

/// Reads a value of type T (any protocol shape declared above).
template <class T>
T from_json(JsonValue const& value);

template <> CHATKIT_API ThreadMetadata from_json<ThreadMetadata>(JsonValue const&);
template <> CHATKIT_API Thread from_json<Thread>(JsonValue const&);
template <> CHATKIT_API ThreadItem from_json<ThreadItem>(JsonValue const&);
template <> CHATKIT_API Attachment from_json<Attachment>(JsonValue const&);
template <> CHATKIT_API ThreadStreamEvent from_json<ThreadStreamEvent>(JsonValue const&);
template <> CHATKIT_API ThreadItemUpdate from_json<ThreadItemUpdate>(JsonValue const&);
template <> CHATKIT_API Task from_json<Task>(JsonValue const&);
template <> CHATKIT_API Source from_json<Source>(JsonValue const&);
template <> CHATKIT_API UserMessageInput from_json<UserMessageInput>(JsonValue const&);
template <> CHATKIT_API Page<ThreadItem> from_json<Page<ThreadItem>>(JsonValue const&);
template <> CHATKIT_API Page<ThreadMetadata> from_json<Page<ThreadMetadata>>(JsonValue const&);

/// Parses a request body. Throws `Error(error::invalid_request, ...)` naming the offending JSON path
/// (`$.params.input.content[0].type: ...`) when the body is not a valid ChatKit request.
CHATKIT_API ChatKitRequest parse_request(std::string_view body);

/// Non-throwing form of `parse_request(body)`: on failure `ec` receives the code
/// (`error::invalid_request`), `diagnostics` the message the throwing form would carry, and the
/// result is empty; on success both are cleared.
CHATKIT_API ChatKitRequest parse_request(std::string_view body, boost::system::error_code& ec,
                                         std::string& diagnostics) noexcept;

/// The deepest nesting (objects and arrays) chatkit-cpp reads, in requests and in stored rows alike:
/// 200 levels, the limit of the reference's JSON parser (jiter). Stores refuse to write a row
/// deeper than this, so whatever was accepted can always be read back.
inline constexpr std::size_t max_json_depth = 200;

/// Parses a JSON text with Boost.JSON as the reference would: invalid JSON, trailing characters
/// and nesting deeper than `max_json_depth` throw `Error(error::invalid_request, ...)`.
CHATKIT_API JsonValue parse_json(std::string_view text);

/// The nesting depth of a JSON text (0 for a scalar), without parsing it; strings are skipped.
/// Meant for text chatkit-cpp wrote itself (a store checks a row against `max_json_depth`).
CHATKIT_API std::size_t json_text_depth(std::string_view text) noexcept;

/// Decodes the `audio_base64` of an `input.transcribe` request as the reference does
/// (`base64_decode_lenient`: characters outside the alphabet are skipped); incorrect padding and
/// non-ASCII text are `invalid_request` errors with the reference's messages. Encode with
/// `chatkit::base64_encode` (core/base64.hpp).
CHATKIT_API std::string decode_base64(std::string_view text);

}  // namespace chatkit
