// chatkit-cpp protocol: parsing requests and JSON text (correctly rounded doubles, depth limit,
// duplicate members refused in requests), and `audio_base64` decoding.
#include "json_detail.hpp"

#include <chatkit/core/base64.hpp>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace chatkit::json_detail {

// ---------------------------------------------------------------------------------------------
// Request readers

UserMessageInput read_user_message_input(Obj const& o) {
    UserMessageInput x;
    x.content = req_array(o, "content", read_user_content);
    x.attachments = req_strings(o, "attachments");
    x.quoted_text = opt_str(o, "quoted_text");
    x.inference_options = req_nested(o, "inference_options", read_inference_options);
    return x;
}

StructuredInputSubmission read_structured_submission(Obj const& o) {
    StructuredInputSubmission x;
    static constexpr std::array<std::string_view, 2> names{"answered", "skipped"};
    static constexpr std::array<StructuredInputStatus, 2> values{StructuredInputStatus::answered,
                                                                 StructuredInputStatus::skipped};
    x.status = def_choice(o, "status", names, values, StructuredInputStatus::answered);
    if (auto const* a = o.get("answers")) {
        Path const ap = o.at("answers");
        Obj const answers(*a, ap);
        x.answers.reserve(answers.object().size());
        for (auto const& kv : answers.object()) {
            std::string_view const qid{kv.key().data(), kv.key().size()};
            Path const qp = ap.field(qid);
            Obj const ao(kv.value(), qp);
            x.answers.emplace_back(std::string(qid),
                                   StructuredInputAnswerSubmission{def_strings(ao, "values"), def_bool(ao, "skipped", false)});
        }
    }
    return x;
}

Action read_action(Obj const& o) { return Action{req_str(o, "type"), any_value(o, "payload")}; }

constexpr std::array<std::string_view, 2> order_names{"asc", "desc"};
constexpr std::array<Order, 2> order_values{Order::asc, Order::desc};

constexpr std::array<std::string_view, 16> request_types{
    "threads.create",        "threads.add_user_message", "threads.add_client_tool_output",
    "threads.add_structured_input", "threads.retry_after_item", "threads.custom_action",
    "threads.sync_custom_action", "threads.get_by_id",     "threads.list",
    "items.list",            "items.feedback",           "attachments.create",
    "attachments.delete",    "threads.update",           "threads.delete",
    "input.transcribe"};

RequestParams read_params(std::size_t type, Obj const& o) {
    switch (type) {
        case 0: return ThreadsCreateReq{req_nested(o, "input", read_user_message_input)};
        case 1: {
            ThreadsAddUserMessageReq r{req_nested(o, "input", read_user_message_input), {}};
            r.thread_id = req_str(o, "thread_id");
            return r;
        }
        case 2: {
            ThreadsAddClientToolOutputReq r{req_str(o, "thread_id"), {}};
            r.result = required(o, "result");  // key required, null allowed
            return r;
        }
        case 3: {
            ThreadsAddStructuredInputReq r{req_str(o, "thread_id"), req_str(o, "item_id"), {}};
            r.input = req_nested(o, "input", read_structured_submission);
            return r;
        }
        case 4: return ThreadsRetryAfterItemReq{req_str(o, "thread_id"), req_str(o, "item_id")};
        case 5: {
            ThreadsCustomActionReq r{req_str(o, "thread_id"), opt_str(o, "item_id"), {}};
            r.action = req_nested(o, "action", read_action);
            return r;
        }
        case 6: {
            ThreadsSyncCustomActionReq r{req_str(o, "thread_id"), opt_str(o, "item_id"), {}};
            r.action = req_nested(o, "action", read_action);
            return r;
        }
        case 7: return ThreadsGetByIdReq{req_str(o, "thread_id")};
        case 8: {
            ThreadsListReq r;
            r.limit = opt_int(o, "limit");
            r.order = def_choice(o, "order", order_names, order_values, Order::desc);
            r.after = opt_str(o, "after");
            return r;
        }
        case 9: {
            ItemsListReq r;
            r.thread_id = req_str(o, "thread_id");
            r.limit = opt_int(o, "limit");
            r.order = def_choice(o, "order", order_names, order_values, Order::desc);
            r.after = opt_str(o, "after");
            return r;
        }
        case 10: {
            ItemsFeedbackReq r;
            r.thread_id = req_str(o, "thread_id");
            r.item_ids = req_strings(o, "item_ids");
            static constexpr std::array<std::string_view, 2> names{"positive", "negative"};
            static constexpr std::array<FeedbackKind, 2> values{FeedbackKind::positive, FeedbackKind::negative};
            r.kind = req_choice(o, "kind", names, values);
            return r;
        }
        case 11: {
            AttachmentCreateParams params;
            params.name = req_str(o, "name");
            params.size = req_int(o, "size");
            params.mime_type = req_str(o, "mime_type");
            return AttachmentsCreateReq{std::move(params)};
        }
        case 12: return AttachmentsDeleteReq{req_str(o, "attachment_id")};
        case 13: return ThreadsUpdateReq{req_str(o, "thread_id"), req_str(o, "title")};
        case 14: return ThreadsDeleteReq{req_str(o, "thread_id")};
        default: return InputTranscribeReq{req_str(o, "audio_base64"), req_str(o, "mime_type")};
    }
}

// ---------------------------------------------------------------------------------------------
// JSON text parsing with correctly rounded doubles

namespace {

// A basic_parser handler that builds a value like boost::json::parser, but converts every
// non-integer number from its text with std::from_chars (Boost 1.81's own conversion can be off
// by one unit in the last place, which would change the bytes written back).
class PreciseHandler {
public:
    static constexpr std::size_t max_object_size = json::object::max_size();
    static constexpr std::size_t max_array_size = json::array::max_size();
    static constexpr std::size_t max_key_size = json::string::max_size();
    static constexpr std::size_t max_string_size = json::string::max_size();

    json::value_stack st;
    // Set before parsing a request: a member name repeated at the top level or in `params` is
    // recorded in `duplicate` (the value stack would keep the last one silently).
    bool find_duplicates = false;
    std::optional<std::string> duplicate;

    void reset() {
        st.reset();
        duplicate.reset();
        depth_ = 0;
        in_params_ = pending_params_ = false;
        key_.clear();
        top_keys_.clear();
        params_keys_.clear();
    }

    bool on_document_begin(json::error_code&) { return true; }
    bool on_document_end(json::error_code&) {
        if (find_duplicates) {
            find_duplicate(top_keys_, "$");
            find_duplicate(params_keys_, "$.params");
        }
        return true;
    }
    bool on_object_begin(json::error_code&) {
        ++depth_;
        if (depth_ == 2) in_params_ = pending_params_;
        return true;
    }
    bool on_object_end(std::size_t n, json::error_code&) {
        --depth_;
        st.push_object(n);
        return true;
    }
    bool on_array_begin(json::error_code&) {
        ++depth_;
        if (depth_ == 2) in_params_ = false;
        return true;
    }
    bool on_array_end(std::size_t n, json::error_code&) {
        --depth_;
        st.push_array(n);
        return true;
    }
    bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
        if (find_duplicates && depth_ <= 2) key_.append(s.data(), s.size());
        st.push_chars(s);
        return true;
    }
    bool on_key(json::string_view s, std::size_t, json::error_code&) {
        if (find_duplicates && depth_ <= 2) {
            key_.append(s.data(), s.size());
            if (depth_ == 1) {
                pending_params_ = key_ == "params";
                top_keys_.push_back(key_);
            } else if (in_params_) {
                params_keys_.push_back(key_);
            }
            key_.clear();
        }
        st.push_key(s);
        return true;
    }
    bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
        st.push_chars(s);
        return true;
    }
    bool on_string(json::string_view s, std::size_t, json::error_code&) {
        st.push_string(s);
        return true;
    }
    bool on_number_part(json::string_view s, json::error_code&) {
        number_.append(s.data(), s.size());
        return true;
    }
    bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
        number_.clear();
        st.push_int64(i);
        return true;
    }
    bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) {
        number_.clear();
        st.push_uint64(u);
        return true;
    }
    bool on_double(double d, json::string_view s, json::error_code&) {
        std::string_view text{s.data(), s.size()};
        if (!number_.empty()) {
            number_.append(s.data(), s.size());
            text = number_;
        }
        double precise = 0;
        auto const res = std::from_chars(text.data(), text.data() + text.size(), precise);
        if (res.ec == std::errc{} && res.ptr == text.data() + text.size()) d = precise;
        number_.clear();
        st.push_double(d);
        return true;
    }
    bool on_bool(bool b, json::error_code&) {
        st.push_bool(b);
        return true;
    }
    bool on_null(json::error_code&) {
        st.push_null();
        return true;
    }
    bool on_comment_part(json::string_view, json::error_code&) { return true; }
    bool on_comment(json::string_view, json::error_code&) { return true; }

private:
    // Records the first repeated name of `keys` in `duplicate` (sorting: O(n log n) however many
    // members a hostile body has).
    void find_duplicate(std::vector<std::string>& keys, char const* where) {
        if (duplicate) return;
        std::sort(keys.begin(), keys.end());
        auto const twice = std::adjacent_find(keys.begin(), keys.end());
        if (twice != keys.end()) duplicate = std::string(where) + ": duplicate member \"" + *twice + "\"";
    }

    std::string number_;
    std::size_t depth_ = 0;
    bool in_params_ = false;
    bool pending_params_ = false;
    std::string key_;
    std::vector<std::string> top_keys_;     // member names of the top-level object
    std::vector<std::string> params_keys_;  // member names of `params`
};

JsonValue parse_json_text(std::string_view text, bool find_duplicates) {
    json::parse_options options;
    options.max_depth = max_json_depth;
    json::basic_parser<PreciseHandler> parser(options);
    parser.handler().reset();
    parser.handler().find_duplicates = find_duplicates;
    json::error_code ec;
    std::size_t const consumed = parser.write_some(false, text.data(), text.size(), ec);
    if (ec == json::error::too_deep)
        throw_error(error::invalid_request, "$: body nests deeper than " + std::to_string(max_json_depth) + " levels");
    if (ec || consumed != text.size() || !parser.done())
        throw_error(error::invalid_request, "$: body is not valid JSON");
    if (parser.handler().duplicate) throw_error(error::invalid_request, *parser.handler().duplicate);
    return parser.handler().st.release();
}

}  // namespace

}  // namespace chatkit::json_detail

namespace chatkit {

using namespace json_detail;

ChatKitRequest parse_request(std::string_view body) {
    // Unlike the reference (whose parser keeps the last of two equal member names), a request that
    // names a top-level member or a parameter twice is refused: two readers of one body (a proxy, a
    // WAF, this server) must not see two different requests.
    JsonValue const value = parse_json_text(body, true);
    Obj const o(value, root_path);
    std::size_t const type = read_choice(required(o, "type"), o.at("type"), request_types);
    Path const params_path = o.at("params");
    Obj const params(required(o, "params"), params_path);
    ChatKitRequest request{read_params(type, params), {}};
    request.metadata = def_object(o, "metadata");
    return request;
}

ChatKitRequest parse_request(std::string_view body, boost::system::error_code& ec,
                             std::string& diagnostics) noexcept {
    try {
        ChatKitRequest request = parse_request(body);
        ec = {};
        diagnostics.clear();
        return request;
    } catch (Error const& e) {
        ec = e.code();
        diagnostics = e.message();
    } catch (std::exception const& e) {
        ec = error::internal;
        diagnostics = e.what();
    }
    return {};
}

JsonValue parse_json(std::string_view text) { return parse_json_text(text, false); }

std::size_t json_text_depth(std::string_view text) noexcept {
    std::size_t depth = 0;
    std::size_t deepest = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char const c = text[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
            continue;
        }
        switch (c) {
            case '"': in_string = true; break;
            case '{':
            case '[':
                if (++depth > deepest) deepest = depth;
                break;
            case '}':
            case ']':
                if (depth > 0) --depth;
                break;
            default: break;
        }
    }
    return deepest;
}

std::string decode_base64(std::string_view text) {
    auto decoded = base64_decode_lenient(text);
    switch (decoded.failure) {
        case Base64Failure::none: break;
        case Base64Failure::non_ascii:
            throw_error(error::invalid_request,
                        "$.params.audio_base64: string argument should contain only ASCII characters");
        case Base64Failure::excess_data_character: {
            std::string message = "$.params.audio_base64: Invalid base64-encoded string: number of data characters (";
            write_integer(message, decoded.data_chars);
            message.append(") cannot be 1 more than a multiple of 4");
            throw_error(error::invalid_request, std::move(message));
        }
        case Base64Failure::incorrect_padding:
            throw_error(error::invalid_request, "$.params.audio_base64: Incorrect padding");
    }
    return std::move(decoded.bytes);
}

}  // namespace chatkit
