// chatkit-cpp agents: provider-neutral conversation items in the shape of the OpenAI Responses API
// (input and output items, content parts) and their exact JSON wire codecs.
#pragma once

#include <chatkit/core/config.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

/// The Agent/Runner layer: items, models, tools, agents and the runner.
namespace chatkit::agents {

/// Every asynchronous function of the agent layer returns an Asio awaitable.
template <class T>
using task = boost::asio::awaitable<T>;

namespace json = boost::json;

// ---------------------------------------------------------------------------------------------
// Content parts

/// A text part of a user/system/developer message (`{"type":"input_text","text":...}`).
struct InputText {
    std::string text;  ///< the text
};

/// An image part of a user message (`input_image`): by URL (often a data URL) or by file id.
struct InputImage {
    std::optional<std::string> image_url;  ///< an image URL or a `data:<mime>;base64,...` URL
    std::optional<std::string> file_id;    ///< an id of the provider's Files API
    std::string detail = "auto";           ///< `low`, `high` or `auto` (always sent)
};

/// A file part of a user message (`input_file`).
struct InputFile {
    std::optional<std::string> file_id;    ///< an id of the provider's Files API
    std::optional<std::string> file_data;  ///< the contents as a `data:<mime>;base64,...` URL
    std::optional<std::string> file_url;   ///< a URL the provider fetches
    std::optional<std::string> filename;   ///< the name shown to the model
};

/// A text part of an assistant message (`output_text`), with its annotations as received.
struct OutputText {
    std::string text;          ///< the text
    json::array annotations;   ///< citations and the like, as received (always written)
    /// `logprobs` as received (written back only when present).
    std::optional<json::array> logprobs;
};

/// A refusal part of an assistant message (`{"type":"refusal","refusal":...}`).
struct RefusalPart {
    std::string refusal;  ///< the model's explanation of the refusal
};

/// One content part of a message.
using ContentPart = std::variant<InputText, InputImage, InputFile, OutputText, RefusalPart>;

// ---------------------------------------------------------------------------------------------
// Items

/// A message (`type: "message"`); `role` is `user`, `assistant`, `system` or `developer`.
/// Wire order: `id?`, `type`, `status?`, `role`, `content`.
struct MessageItem {
    std::optional<std::string> id;      ///< item id (`msg_...` from a provider; may be unset)
    std::string role;                   ///< `user`, `assistant`, `system` or `developer`
    std::vector<ContentPart> content;   ///< the parts, in order
    std::optional<std::string> status;  ///< `in_progress`, `completed` or `incomplete` when given
};

/// A function tool call emitted by the model (`type: "function_call"`). `arguments` is the raw
/// JSON string exactly as the model produced it.
struct FunctionCallItem {
    std::optional<std::string> id;      ///< the provider's item id (`fc_...`)
    std::string call_id;                ///< pairs the call with its `FunctionCallOutput`
    std::string name;                   ///< the tool called
    std::string arguments;              ///< the raw JSON arguments (may be invalid JSON)
    std::optional<std::string> status;  ///< `in_progress`, `completed` or `incomplete` when given
};

/// The result of a function call (`type: "function_call_output"`), matched by `call_id`.
struct FunctionCallOutput {
    std::string call_id;                ///< the `call_id` of the call it answers
    std::string output;                 ///< the tool's result as text (often JSON)
    std::optional<std::string> id;      ///< item id, when the provider assigned one
    std::optional<std::string> status;  ///< item status, when given
};

/// A reasoning item (`type: "reasoning"`): summary texts (`summary_text` parts), raw reasoning
/// texts (`reasoning_text` parts) and the opaque encrypted content to pass back.
struct ReasoningItem {
    std::string id;                                ///< the provider's item id (`rs_...`)
    std::vector<std::string> summary;              ///< the `summary_text` parts, in order
    std::vector<std::string> content;              ///< the `reasoning_text` parts, in order
    std::optional<std::string> encrypted_content;  ///< opaque; pass back unchanged (`store: false`)
    std::optional<std::string> status;             ///< item status, when given
};

/// Any other item (hosted tool calls, `image_generation_call`, unknown types), kept verbatim.
struct OpaqueItem {
    json::object raw;  ///< the item's JSON, written back as is
};

/// One conversation item: model input or model output.
using Item = std::variant<MessageItem, FunctionCallItem, FunctionCallOutput, ReasoningItem, OpaqueItem>;

// ---------------------------------------------------------------------------------------------
// JSON codecs (exact Responses wire shape)

/// The Responses JSON of a content part.
CHATKIT_API json::object to_json(ContentPart const& part);
/// Reads a content part; unknown part types throw `ModelProtocolError`.
CHATKIT_API ContentPart content_part_from_json(json::object const& part);

/// The Responses JSON of an item (what a `/responses` request's `input` holds).
CHATKIT_API json::object to_json(Item const& item);
/// Reads an item, tolerantly: unknown `type`s become `OpaqueItem`; a message whose `content` is a
/// plain string becomes one `input_text` part (`output_text` for the assistant role); an item
/// without `type` but with `role` is a message. Malformed known items throw `ModelProtocolError`.
CHATKIT_API Item item_from_json(json::object const& item);
/// Reads an item from any JSON value (must be an object).
CHATKIT_API Item item_from_json(json::value const& item);

/// A JSON array of items.
CHATKIT_API json::array to_json(std::vector<Item> const& items);
/// Reads a JSON array of items.
CHATKIT_API std::vector<Item> items_from_json(json::array const& items);

// ---------------------------------------------------------------------------------------------
// Helpers

/// A rough count of the tokens `item` takes in a model's context, for windowing history without a
/// tokenizer: a text is one token per 4 bytes (rounded up), plus 4 per item and per content part.
/// An image is 85 tokens with `detail: "low"` and 1,105 otherwise (the most a high-detail image
/// costs on OpenAI's vision models); a file given as data counts its decoded bytes as text, one given
/// by id or URL counts 1,105. Reasoning counts its texts and its encrypted content (decoded); any
/// other item its JSON text.
CHATKIT_API std::size_t estimate_tokens(Item const& item);

/// The wire `type` of an item (`message`, `function_call`, ..., or the opaque item's own type).
CHATKIT_API std::string item_type(Item const& item);

/// The item id if it has one (`call_id` is not an id).
CHATKIT_API std::optional<std::string> item_id(Item const& item);

/// A user message with one `input_text` part.
CHATKIT_API MessageItem user_message(std::string text);
/// A system message with one `input_text` part.
CHATKIT_API MessageItem system_message(std::string text);
/// A developer message with one `input_text` part.
CHATKIT_API MessageItem developer_message(std::string text);
/// An assistant output message with one `output_text` part (status `completed`).
CHATKIT_API MessageItem assistant_message(std::string text, std::optional<std::string> id = std::nullopt);

/// The concatenated text of a message: `input_text` / `output_text` parts (refusals excluded).
CHATKIT_API std::string message_text(MessageItem const& message);
/// The concatenated refusal text of a message (empty when it has none).
CHATKIT_API std::string message_refusal(MessageItem const& message);

}  // namespace chatkit::agents
