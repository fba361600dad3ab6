// chatkit-cpp: default conversions of thread items into model input (AGENTS.md §2.3). The
// model-visible texts are byte-identical to the reference's.
#include <chatkit/agents/chatkit/bridge.hpp>
#include <chatkit/core/base64.hpp>
#include <chatkit/protocol/json.hpp>

#include <algorithm>
#include <charconv>
#include <mutex>
#include <set>

namespace chatkit::agents {

namespace {

MessageItem user_text_message(std::string text) {
    MessageItem message;
    message.role = "user";
    InputText part;
    part.text = std::move(text);
    message.content.emplace_back(std::move(part));
    return message;
}

std::vector<Item> one(MessageItem message) {
    std::vector<Item> out;
    out.emplace_back(std::move(message));
    return out;
}

// "title: content", or whichever exists; nullopt for non-custom or empty tasks.
std::optional<std::string> custom_task_text(Task const& task) {
    auto const* custom = std::get_if<CustomTask>(&task);
    if (!custom) return std::nullopt;
    std::string title = custom->title.value_or("");
    std::string content = custom->content.value_or("");
    if (title.empty() && content.empty()) return std::nullopt;
    std::string task_text = !title.empty() && !content.empty() ? title + ": " + content : (!title.empty() ? title : content);
    return "A message was displayed to the user that the following task was performed:\n<Task>\n" + task_text +
           "\n</Task>";
}

std::string hidden_context_text(std::string const& content) {
    return "Hidden context for the agent (not shown to the user):\n<HiddenContext>\n" + content + "\n</HiddenContext>";
}

void dump_string(std::string& out, std::string_view s) {
    out += '"';
    std::size_t i = 0;
    auto hex4 = [&](unsigned v) {
        static char const digits[] = "0123456789abcdef";
        out += "\\u";
        for (int shift = 12; shift >= 0; shift -= 4) out += digits[(v >> shift) & 0xF];
    };
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            switch (c) {
                case '"': out += "\\\""; break;
                case '\\': out += "\\\\"; break;
                case '\n': out += "\\n"; break;
                case '\r': out += "\\r"; break;
                case '\t': out += "\\t"; break;
                case '\b': out += "\\b"; break;
                case '\f': out += "\\f"; break;
                default:
                    if (c < 0x20 || c == 0x7F) {
                        if (c == 0x7F) out += static_cast<char>(c);
                        else hex4(c);
                    } else {
                        out += static_cast<char>(c);
                    }
            }
            ++i;
            continue;
        }
        // Decode one UTF-8 sequence (Boost.JSON strings are valid UTF-8); escape as \uXXXX like ensure_ascii.
        unsigned cp = 0;
        std::size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        cp = c & (len == 4 ? 0x07 : len == 3 ? 0x0F : 0x1F);
        for (std::size_t k = 1; k < len && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
        i += len;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            hex4(0xD800 + (cp >> 10));
            hex4(0xDC00 + (cp & 0x3FF));
        } else {
            hex4(cp);
        }
    }
    out += '"';
}

void dump_double(std::string& out, double d) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
    std::string text(buf, ec == std::errc{} ? end : buf);
    if (text.find_first_of(".eEn") == std::string::npos) text += ".0";  // Python repr of a whole float
    out += text;
}

void dump(std::string& out, boost::json::value const& v) {
    switch (v.kind()) {
        case boost::json::kind::null: out += "null"; break;
        case boost::json::kind::bool_: out += v.get_bool() ? "true" : "false"; break;
        case boost::json::kind::int64: out += std::to_string(v.get_int64()); break;
        case boost::json::kind::uint64: out += std::to_string(v.get_uint64()); break;
        case boost::json::kind::double_: dump_double(out, v.get_double()); break;
        case boost::json::kind::string: dump_string(out, v.get_string()); break;
        case boost::json::kind::array: {
            out += '[';
            bool first = true;
            for (auto const& e : v.get_array()) {
                if (!first) out += ", ";
                first = false;
                dump(out, e);
            }
            out += ']';
            break;
        }
        case boost::json::kind::object: {
            out += '{';
            bool first = true;
            for (auto const& [k, e] : v.get_object()) {
                if (!first) out += ", ";
                first = false;
                dump_string(out, k);
                out += ": ";
                dump(out, e);
            }
            out += '}';
            break;
        }
    }
}

bool is_text_mime(std::string const& mime) {
    std::string base = mime.substr(0, mime.find(';'));
    if (base.rfind("text/", 0) == 0) return true;
    for (char const* t : {"application/json", "application/xml", "application/yaml", "application/x-yaml",
                          "application/javascript", "application/x-sh", "application/sql", "application/toml"})
        if (base == t) return true;
    return base.ends_with("+json") || base.ends_with("+xml");
}

}  // namespace

std::string python_json_dumps(boost::json::value const& value) {
    std::string out;
    dump(out, value);
    return out;
}

namespace detail {

std::vector<UserMessageTagContent> unique_tags(UserMessageItem const& item) {
    std::vector<UserMessageTagContent> tags;
    std::set<std::string> seen;
    for (auto const& part : item.content)
        if (auto const* tag = std::get_if<UserMessageTagContent>(&part))
            if (seen.insert(tag->text).second) tags.push_back(*tag);
    return tags;
}

std::vector<Item> user_message_parts_to_input(UserMessageItem const& item, bool is_last,
                                              std::vector<ContentPart> attachment_parts,
                                              std::vector<ContentPart> tag_parts) {
    // The text exactly as typed (parts joined without separator), tags rendered as @text.
    std::vector<Item> out;
    MessageItem message = user_text_message(text_of(item));
    for (auto& part : attachment_parts) message.content.push_back(std::move(part));
    out.emplace_back(std::move(message));

    if (is_last && item.quoted_text && !item.quoted_text->empty())
        out.emplace_back(user_text_message("The user is referring to this in particular: \n" + *item.quoted_text));

    if (!tag_parts.empty()) {
        MessageItem context = user_text_message(
            "# User-provided context for @-mentions\n"
            "- When referencing resolved entities, use their canonical names **without** '@'.\n"
            "- The '@' form appears only in user text and should not be echoed.");
        for (auto& part : tag_parts) context.content.push_back(std::move(part));
        out.emplace_back(std::move(context));
    }
    return out;
}

std::vector<Item> assistant_message_to_input(AssistantMessageItem const& item) {
    MessageItem message;
    message.role = "assistant";
    for (auto const& part : item.content) {
        OutputText text;
        text.text = part.text;  // annotations are not replayed (as the reference)
        message.content.emplace_back(std::move(text));
    }
    return one(std::move(message));
}

std::vector<Item> client_tool_call_to_input(ClientToolCallItem const& item) {
    std::vector<Item> out;
    if (item.status == ToolCallStatus::pending) return out;  // an unanswered call is never sent
    FunctionCallItem call;
    call.call_id = item.call_id;
    call.name = item.name;
    call.arguments = python_json_dumps(item.arguments);
    out.emplace_back(std::move(call));
    FunctionCallOutput output;
    output.call_id = item.call_id;
    output.output = python_json_dumps(item.output);
    out.emplace_back(std::move(output));
    return out;
}

std::vector<Item> widget_to_input(WidgetItem const& item) {
    std::string json = chatkit::serialize(strip_nulls(boost::json::value(item.widget)));
    return one(user_text_message("The following graphical UI widget (id: " + item.id + ") was displayed to the user:" +
                                 json));
}

std::vector<Item> workflow_to_input(WorkflowItem const& item) {
    std::vector<Item> out;
    for (auto const& task : item.workflow.tasks)
        if (auto text = custom_task_text(task)) out.emplace_back(user_text_message(std::move(*text)));
    return out;
}

std::vector<Item> task_to_input(TaskItem const& item) {
    std::vector<Item> out;
    if (auto text = custom_task_text(item.task)) out.emplace_back(user_text_message(std::move(*text)));
    return out;
}

std::vector<Item> structured_input_to_input(StructuredInputItem const& item) {
    std::string lines;
    for (auto const& input : item.inputs) {
        auto const& [question, answer] = std::visit(
            [](auto const& q) { return std::pair<std::string const&, std::optional<StructuredInputAnswer> const&>(q.question, q.answer); },
            input);
        if (!lines.empty()) lines += "\n";
        if (!answer) {
            lines += "- " + question + ": unanswered";
        } else if (answer->skipped) {
            lines += "- " + question + ": skipped";
        } else {
            std::string values;
            for (auto const& v : answer->values) values += (values.empty() ? "" : ", ") + v;
            lines += "- " + question + ": " + values;
        }
    }
    char const* status = item.status == StructuredInputStatus::pending    ? "pending"
                         : item.status == StructuredInputStatus::answered ? "answered"
                                                                          : "skipped";
    return one(user_text_message(std::string("A structured input request was displayed to the user with the following status: ") +
                                 status + "\n<StructuredInput>\n" + lines + "\n</StructuredInput>"));
}

std::vector<Item> hidden_context_to_input(HiddenContextItem const& item) {
    if (!item.content.is_string())
        throw_error(error::not_implemented,
                    "HiddenContextItems with non-string content were present in a user message but a "
                    "Converter.hidden_context_to_input was not implemented");
    return one(user_text_message(hidden_context_text(std::string(item.content.get_string()))));
}

std::vector<Item> sdk_hidden_context_to_input(SDKHiddenContextItem const& item) {
    return one(user_text_message(hidden_context_text(item.content)));
}

std::vector<Item> generated_image_to_input(GeneratedImageItem const& item) {
    std::vector<Item> out;
    if (!item.image) return out;
    MessageItem message = user_text_message("The following image was generated by the agent.");
    InputImage image;
    image.detail = "auto";
    image.image_url = item.image->url;
    message.content.emplace_back(std::move(image));
    out.emplace_back(std::move(message));
    return out;
}

ContentPart attachment_bytes_to_content(Attachment const& attachment, AttachmentBytes const& bytes) {
    std::string mime = bytes.mime_type.empty() ? attachment.mime_type : bytes.mime_type;
    if (attachment.type == AttachmentType::image || mime.rfind("image/", 0) == 0) {
        InputImage image;
        image.detail = "auto";
        image.image_url = "data:" + mime + ";base64," + base64_encode(bytes.bytes);
        return image;
    }
    if (is_text_mime(mime)) {
        InputText text;
        text.text = "Attached file " + attachment.name + " (" + mime + "):\n" + bytes.bytes;
        return text;
    }
    if (mime == "application/pdf") {
        InputFile file;
        file.filename = attachment.name;
        file.file_data = "data:" + mime + ";base64," + base64_encode(bytes.bytes);
        return file;
    }
    return attachment_description(attachment);
}

ContentPart attachment_description(Attachment const& attachment) {
    InputText text;
    text.text = std::string("The user attached ") + (attachment.type == AttachmentType::image ? "an image" : "a file") +
                ": " + attachment.name + " (" + attachment.mime_type + "). Its content is not available to you.";
    return text;
}

ContentPart attachment_left_out(Attachment const& attachment) {
    InputText text;
    text.text = std::string("The user attached ") + (attachment.type == AttachmentType::image ? "an image" : "a file") +
                ": " + attachment.name + " (" + attachment.mime_type +
                "). It was left out of this request: the attachments exceed its size budget.";
    return text;
}

attachment_budgets::scope::scope(attachment_budgets& budgets, void const* key) : budgets_(budgets), key_(key) {
    std::lock_guard lock(budgets_.mutex_);
    ++budgets_.calls_[key_].open;
}

attachment_budgets::scope::~scope() {
    std::lock_guard lock(budgets_.mutex_);
    auto const it = budgets_.calls_.find(key_);
    if (it != budgets_.calls_.end() && --it->second.open == 0) budgets_.calls_.erase(it);
}

bool attachment_budgets::exhausted(void const* key, std::size_t budget) const {
    std::lock_guard lock(mutex_);
    auto const it = calls_.find(key);
    return budget == 0 || (it != calls_.end() && it->second.spent >= budget);
}

bool attachment_budgets::try_spend(void const* key, std::size_t bytes, std::size_t budget) {
    std::lock_guard lock(mutex_);
    auto const it = calls_.find(key);
    if (it == calls_.end()) return bytes <= budget;
    if (bytes > budget - std::min(budget, it->second.spent)) return false;
    it->second.spent += bytes;
    return true;
}

}  // namespace detail
}  // namespace chatkit::agents
