// chatkit-cpp agents: content parts and items of the Responses vocabulary, their JSON codecs and
// message helpers (items.hpp).
#include <chatkit/agents/items.hpp>

#include "json_fields.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <utility>

namespace chatkit::agents {

using namespace detail;

// ---------------------------------------------------------------------------------------------
// Content parts

json::object to_json(ContentPart const& part) {
    return std::visit(
        overloaded{
            [](InputText const& p) {
                json::object o;
                o["type"] = "input_text";
                o["text"] = p.text;
                return o;
            },
            [](InputImage const& p) {
                json::object o;
                o["type"] = "input_image";
                if (p.image_url) o["image_url"] = *p.image_url;
                if (p.file_id) o["file_id"] = *p.file_id;
                o["detail"] = p.detail;
                return o;
            },
            [](InputFile const& p) {
                json::object o;
                o["type"] = "input_file";
                if (p.file_id) o["file_id"] = *p.file_id;
                if (p.file_data) o["file_data"] = *p.file_data;
                if (p.file_url) o["file_url"] = *p.file_url;
                if (p.filename) o["filename"] = *p.filename;
                return o;
            },
            [](OutputText const& p) {
                json::object o;
                o["type"] = "output_text";
                o["text"] = p.text;
                o["annotations"] = p.annotations;
                if (p.logprobs) o["logprobs"] = *p.logprobs;
                return o;
            },
            [](RefusalPart const& p) {
                json::object o;
                o["type"] = "refusal";
                o["refusal"] = p.refusal;
                return o;
            },
        },
        part);
}

ContentPart content_part_from_json(json::object const& o) {
    auto type = required_str(o, "type", "content part");
    if (type == "input_text" || type == "text") return InputText{str(o, "text", "input_text")};
    if (type == "output_text") {
        OutputText p{str(o, "text", "output_text"), {}, std::nullopt};
        if (auto const* a = field(o, "annotations"); a && a->is_array()) p.annotations = a->get_array();
        if (auto const* l = o.if_contains("logprobs"); l && l->is_array()) p.logprobs = l->get_array();
        return p;
    }
    if (type == "refusal") return RefusalPart{str(o, "refusal", "refusal")};
    if (type == "input_image") {
        InputImage p;
        p.image_url = opt_str(o, "image_url");
        p.file_id = opt_str(o, "file_id");
        if (auto d = opt_str(o, "detail")) p.detail = *d;
        return p;
    }
    if (type == "input_file") {
        InputFile p;
        p.file_id = opt_str(o, "file_id");
        p.file_data = opt_str(o, "file_data");
        p.file_url = opt_str(o, "file_url");
        p.filename = opt_str(o, "filename");
        return p;
    }
    throw ModelProtocolError("content part: unsupported type `" + type + "`");
}

// ---------------------------------------------------------------------------------------------
// Items

json::object to_json(Item const& item) {
    return std::visit(
        overloaded{
            [](MessageItem const& m) {
                json::object o;
                if (m.id) o["id"] = *m.id;
                o["type"] = "message";
                if (m.status) o["status"] = *m.status;
                o["role"] = m.role;
                json::array content;
                for (auto const& p : m.content) content.push_back(to_json(p));
                o["content"] = std::move(content);
                return o;
            },
            [](FunctionCallItem const& c) {
                json::object o;
                if (c.id) o["id"] = *c.id;
                o["type"] = "function_call";
                if (c.status) o["status"] = *c.status;
                o["call_id"] = c.call_id;
                o["name"] = c.name;
                o["arguments"] = c.arguments;
                return o;
            },
            [](FunctionCallOutput const& c) {
                json::object o;
                if (c.id) o["id"] = *c.id;
                o["type"] = "function_call_output";
                if (c.status) o["status"] = *c.status;
                o["call_id"] = c.call_id;
                o["output"] = c.output;
                return o;
            },
            [](ReasoningItem const& r) {
                json::object o;
                o["id"] = r.id;
                o["type"] = "reasoning";
                if (r.status) o["status"] = *r.status;
                json::array summary;
                for (auto const& s : r.summary) {
                    json::object p;
                    p["type"] = "summary_text";
                    p["text"] = s;
                    summary.push_back(std::move(p));
                }
                o["summary"] = std::move(summary);
                if (!r.content.empty()) {
                    json::array content;
                    for (auto const& s : r.content) {
                        json::object p;
                        p["type"] = "reasoning_text";
                        p["text"] = s;
                        content.push_back(std::move(p));
                    }
                    o["content"] = std::move(content);
                }
                if (r.encrypted_content) o["encrypted_content"] = *r.encrypted_content;
                return o;
            },
            [](OpaqueItem const& x) { return x.raw; },
        },
        item);
}

Item item_from_json(json::object const& o) {
    std::string type;
    if (auto const* t = field(o, "type")) {
        if (!t->is_string()) throw ModelProtocolError("item: `type` is not a string");
        type = std::string(t->get_string());
    } else if (field(o, "role")) {
        type = "message";
    } else {
        throw ModelProtocolError("item: missing `type`");
    }

    if (type == "message") {
        MessageItem m;
        m.id = opt_str(o, "id");
        m.role = required_str(o, "role", "message");
        m.status = opt_str(o, "status");
        auto const* c = field(o, "content");
        if (c && c->is_string()) {
            if (m.role == "assistant")
                m.content.push_back(OutputText{std::string(c->get_string()), {}, std::nullopt});
            else
                m.content.push_back(InputText{std::string(c->get_string())});
        } else if (c && c->is_array()) {
            for (auto const& p : c->get_array()) {
                if (!p.is_object()) throw ModelProtocolError("message: content part is not an object");
                m.content.push_back(content_part_from_json(p.get_object()));
            }
        } else if (c) {
            throw ModelProtocolError("message: `content` is neither a string nor an array");
        }
        return m;
    }
    if (type == "function_call") {
        FunctionCallItem c;
        c.id = opt_str(o, "id");
        c.call_id = required_str(o, "call_id", "function_call");
        c.name = required_str(o, "name", "function_call");
        if (auto const* a = field(o, "arguments")) {
            c.arguments = a->is_string() ? std::string(a->get_string()) : json::serialize(*a);
        }
        c.status = opt_str(o, "status");
        return c;
    }
    if (type == "function_call_output") {
        FunctionCallOutput c;
        c.call_id = required_str(o, "call_id", "function_call_output");
        if (auto const* out = field(o, "output")) {
            c.output = out->is_string() ? std::string(out->get_string()) : json::serialize(*out);
        }
        c.id = opt_str(o, "id");
        c.status = opt_str(o, "status");
        return c;
    }
    if (type == "reasoning") {
        ReasoningItem r;
        r.id = str(o, "id", "reasoning");
        r.status = opt_str(o, "status");
        r.encrypted_content = opt_str(o, "encrypted_content");
        if (auto const* s = field(o, "summary"); s && s->is_array()) {
            for (auto const& p : s->get_array())
                if (p.is_object()) r.summary.push_back(str(p.get_object(), "text", "summary_text"));
        }
        if (auto const* s = field(o, "content"); s && s->is_array()) {
            for (auto const& p : s->get_array())
                if (p.is_object()) r.content.push_back(str(p.get_object(), "text", "reasoning_text"));
        }
        return r;
    }
    return OpaqueItem{o};
}

Item item_from_json(json::value const& item) {
    if (!item.is_object()) throw ModelProtocolError("item: not a JSON object");
    return item_from_json(item.get_object());
}

json::array to_json(std::vector<Item> const& items) {
    json::array a;
    a.reserve(items.size());
    for (auto const& i : items) a.push_back(to_json(i));
    return a;
}

std::vector<Item> items_from_json(json::array const& items) {
    std::vector<Item> out;
    out.reserve(items.size());
    for (auto const& i : items) out.push_back(item_from_json(i));
    return out;
}

std::string item_type(Item const& item) {
    return std::visit(overloaded{
                          [](MessageItem const&) { return std::string("message"); },
                          [](FunctionCallItem const&) { return std::string("function_call"); },
                          [](FunctionCallOutput const&) { return std::string("function_call_output"); },
                          [](ReasoningItem const&) { return std::string("reasoning"); },
                          [](OpaqueItem const& x) {
                              auto const* t = x.raw.if_contains("type");
                              return (t && t->is_string()) ? std::string(t->get_string()) : std::string();
                          },
                      },
                      item);
}

std::optional<std::string> item_id(Item const& item) {
    return std::visit(overloaded{
                          [](MessageItem const& m) { return m.id; },
                          [](FunctionCallItem const& c) { return c.id; },
                          [](FunctionCallOutput const& c) { return c.id; },
                          [](ReasoningItem const& r) {
                              return r.id.empty() ? std::nullopt : std::optional<std::string>(r.id);
                          },
                          [](OpaqueItem const& x) { return opt_str(x.raw, "id"); },
                      },
                      item);
}

namespace {
MessageItem text_message(std::string role, std::string text) {
    MessageItem m;
    m.role = std::move(role);
    m.content.push_back(InputText{std::move(text)});
    return m;
}
}  // namespace

MessageItem user_message(std::string text) { return text_message("user", std::move(text)); }
MessageItem system_message(std::string text) { return text_message("system", std::move(text)); }
MessageItem developer_message(std::string text) { return text_message("developer", std::move(text)); }

MessageItem assistant_message(std::string text, std::optional<std::string> id) {
    MessageItem m;
    m.id = std::move(id);
    m.role = "assistant";
    m.status = "completed";
    m.content.push_back(OutputText{std::move(text), {}, std::nullopt});
    return m;
}

std::string message_text(MessageItem const& message) {
    std::string out;
    for (auto const& p : message.content) {
        if (auto const* t = std::get_if<OutputText>(&p)) out += t->text;
        else if (auto const* i = std::get_if<InputText>(&p)) out += i->text;
    }
    return out;
}

std::string message_refusal(MessageItem const& message) {
    std::string out;
    for (auto const& p : message.content)
        if (auto const* r = std::get_if<RefusalPart>(&p)) out += r->refusal;
    return out;
}

namespace {

constexpr std::size_t item_overhead = 4;       // role/type framing of one item or part
constexpr std::size_t image_tokens = 1105;     // the most a high-detail image costs
constexpr std::size_t low_image_tokens = 85;   // a `detail: "low"` image

std::size_t text_tokens(std::size_t bytes) { return (bytes + 3) / 4; }

/// The decoded size of the base64 payload of a `data:` URL (or of plain base64).
std::size_t decoded_bytes(std::string_view data) {
    if (auto const comma = data.find(','); data.starts_with("data:") && comma != std::string_view::npos)
        data.remove_prefix(comma + 1);
    return data.size() / 4 * 3;
}

std::size_t part_tokens(ContentPart const& part) {
    if (auto const* t = std::get_if<InputText>(&part)) return text_tokens(t->text.size());
    if (auto const* o = std::get_if<OutputText>(&part)) return text_tokens(o->text.size());
    if (auto const* r = std::get_if<RefusalPart>(&part)) return text_tokens(r->refusal.size());
    if (auto const* image = std::get_if<InputImage>(&part)) return image->detail == "low" ? low_image_tokens : image_tokens;
    auto const& file = std::get<InputFile>(part);
    return file.file_data ? text_tokens(decoded_bytes(*file.file_data)) : image_tokens;
}

}  // namespace

std::size_t estimate_tokens(Item const& item) {
    std::size_t tokens = item_overhead;
    if (auto const* m = std::get_if<MessageItem>(&item)) {
        for (auto const& part : m->content) tokens += item_overhead + part_tokens(part);
    } else if (auto const* call = std::get_if<FunctionCallItem>(&item)) {
        tokens += text_tokens(call->call_id.size() + call->name.size() + call->arguments.size());
    } else if (auto const* output = std::get_if<FunctionCallOutput>(&item)) {
        tokens += text_tokens(output->call_id.size() + output->output.size());
    } else if (auto const* reasoning = std::get_if<ReasoningItem>(&item)) {
        std::size_t bytes = 0;
        for (auto const& text : reasoning->summary) bytes += text.size();
        for (auto const& text : reasoning->content) bytes += text.size();
        if (reasoning->encrypted_content) bytes += decoded_bytes(*reasoning->encrypted_content);
        tokens += text_tokens(bytes);
    } else {
        tokens += text_tokens(json::serialize(std::get<OpaqueItem>(item).raw).size());
    }
    return tokens;
}

}  // namespace chatkit::agents
