// chatkit-cpp agents: item/event JSON codecs, usage, settings and the error types.
#include <chatkit/agents/model.hpp>

#include <boost/asio/this_coro.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <utility>

namespace chatkit::agents {

namespace {

json::value const* field(json::object const& o, std::string_view key) {
    auto const* v = o.if_contains(key);
    return (v && !v->is_null()) ? v : nullptr;
}

std::string str(json::object const& o, std::string_view key, std::string_view what) {
    auto const* v = field(o, key);
    if (!v) return {};
    if (auto const* s = v->if_string()) return std::string(*s);
    throw ModelProtocolError(std::string(what) + ": `" + std::string(key) + "` is not a string");
}

std::optional<std::string> opt_str(json::object const& o, std::string_view key) {
    auto const* v = field(o, key);
    if (!v) return std::nullopt;
    if (auto const* s = v->if_string()) return std::string(*s);
    return std::nullopt;
}

std::string required_str(json::object const& o, std::string_view key, std::string_view what) {
    auto const* v = field(o, key);
    if (!v || !v->is_string())
        throw ModelProtocolError(std::string(what) + ": missing string `" + std::string(key) + "`");
    return std::string(v->get_string());
}

std::optional<std::int64_t> opt_int(json::object const& o, std::string_view key) {
    auto const* v = field(o, key);
    if (!v) return std::nullopt;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
    if (v->is_double()) return static_cast<std::int64_t>(v->get_double());
    return std::nullopt;
}

std::uint64_t uint_field(json::object const& o, std::string_view key) {
    auto const* v = field(o, key);
    if (!v) return 0;
    if (v->is_uint64()) return v->get_uint64();
    if (v->is_int64()) return v->get_int64() < 0 ? 0 : static_cast<std::uint64_t>(v->get_int64());
    if (v->is_double()) return v->get_double() < 0 ? 0 : static_cast<std::uint64_t>(v->get_double());
    return 0;
}

template <class... F>
struct overloaded : F... {
    using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

}  // namespace

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

// ---------------------------------------------------------------------------------------------
// Events

namespace {
constexpr std::array<std::pair<ModelEventKind, std::string_view>, 24> kEventNames{{
    {ModelEventKind::Created, "response.created"},
    {ModelEventKind::InProgress, "response.in_progress"},
    {ModelEventKind::OutputItemAdded, "response.output_item.added"},
    {ModelEventKind::OutputItemDone, "response.output_item.done"},
    {ModelEventKind::ContentPartAdded, "response.content_part.added"},
    {ModelEventKind::ContentPartDone, "response.content_part.done"},
    {ModelEventKind::OutputTextDelta, "response.output_text.delta"},
    {ModelEventKind::OutputTextDone, "response.output_text.done"},
    {ModelEventKind::AnnotationAdded, "response.output_text.annotation.added"},
    {ModelEventKind::RefusalDelta, "response.refusal.delta"},
    {ModelEventKind::RefusalDone, "response.refusal.done"},
    {ModelEventKind::FunctionArgsDelta, "response.function_call_arguments.delta"},
    {ModelEventKind::FunctionArgsDone, "response.function_call_arguments.done"},
    {ModelEventKind::SummaryPartAdded, "response.reasoning_summary_part.added"},
    {ModelEventKind::SummaryPartDone, "response.reasoning_summary_part.done"},
    {ModelEventKind::SummaryTextDelta, "response.reasoning_summary_text.delta"},
    {ModelEventKind::SummaryTextDone, "response.reasoning_summary_text.done"},
    {ModelEventKind::ReasoningTextDelta, "response.reasoning_text.delta"},
    {ModelEventKind::ReasoningTextDone, "response.reasoning_text.done"},
    {ModelEventKind::ImagePartial, "response.image_generation_call.partial_image"},
    {ModelEventKind::Completed, "response.completed"},
    {ModelEventKind::Incomplete, "response.incomplete"},
    {ModelEventKind::Failed, "response.failed"},
    {ModelEventKind::Error, "error"},
}};

void put_opt(json::object& o, std::string_view key, std::optional<std::int64_t> const& v) {
    if (v) o[key] = *v;
}
}  // namespace

ModelEventKind model_event_kind(std::string_view type) noexcept {
    for (auto const& [k, n] : kEventNames)
        if (n == type) return k;
    return ModelEventKind::Other;
}

std::string_view model_event_type(ModelEventKind kind) noexcept {
    for (auto const& [k, n] : kEventNames)
        if (k == kind) return n;
    return {};
}

ModelStreamEvent parse_model_event(json::object const& o) {
    ModelStreamEvent ev;
    ev.type = required_str(o, "type", "model event");
    ev.kind = model_event_kind(ev.type);
    ev.raw = o;
    ev.sequence_number = opt_int(o, "sequence_number").value_or(0);
    ev.output_index = opt_int(o, "output_index");
    ev.content_index = opt_int(o, "content_index");
    ev.summary_index = opt_int(o, "summary_index");
    ev.annotation_index = opt_int(o, "annotation_index");
    ev.partial_image_index = opt_int(o, "partial_image_index");
    ev.item_id = opt_str(o, "item_id").value_or("");
    ev.delta = opt_str(o, "delta").value_or("");
    using K = ModelEventKind;
    switch (ev.kind) {
        case K::OutputItemAdded:
        case K::OutputItemDone: {
            auto const* item = field(o, "item");
            if (!item || !item->is_object()) throw ModelProtocolError(ev.type + ": missing `item`");
            ev.item = item_from_json(item->get_object());
            if (ev.item_id.empty()) ev.item_id = item_id(*ev.item).value_or("");
            break;
        }
        case K::ContentPartAdded:
        case K::ContentPartDone:
        case K::SummaryPartAdded:
        case K::SummaryPartDone:
            if (auto const* p = o.if_contains("part")) ev.part = *p;
            if (ev.part.is_object()) {
                if (auto t = opt_str(ev.part.get_object(), "text")) ev.text = *t;
                else if (auto r = opt_str(ev.part.get_object(), "refusal")) ev.text = *r;
            }
            break;
        case K::OutputTextDone:
        case K::SummaryTextDone:
        case K::ReasoningTextDone: ev.text = opt_str(o, "text").value_or(""); break;
        case K::RefusalDone: ev.text = opt_str(o, "refusal").value_or(""); break;
        case K::FunctionArgsDone:
            if (auto const* a = field(o, "arguments"))
                ev.text = a->is_string() ? std::string(a->get_string()) : json::serialize(*a);
            ev.name = opt_str(o, "name");
            break;
        case K::AnnotationAdded:
            if (auto const* a = o.if_contains("annotation")) ev.annotation = *a;
            break;
        case K::ImagePartial: ev.partial_image_b64 = opt_str(o, "partial_image_b64").value_or(""); break;
        case K::Created:
        case K::InProgress:
        case K::Completed:
        case K::Incomplete:
        case K::Failed:
            if (auto const* r = field(o, "response"); r && r->is_object()) ev.response = r->get_object();
            if (ev.kind == K::Failed && ev.response) {
                if (auto const* e = field(*ev.response, "error"); e && e->is_object()) {
                    ev.code = opt_str(e->get_object(), "code").value_or("");
                    ev.message = opt_str(e->get_object(), "message").value_or("");
                }
            }
            break;
        case K::Error: {
            // Both the flat form ({"type":"error","code","message"}) and a nested "error" object.
            json::object const* src = &o;
            if (auto const* e = field(o, "error"); e && e->is_object()) src = &e->get_object();
            if (auto const* c = field(*src, "code"))
                ev.code = c->is_string() ? std::string(c->get_string()) : json::serialize(*c);
            ev.message = opt_str(*src, "message").value_or("");
            break;
        }
        default: break;
    }
    return ev;
}

ModelStreamEvent parse_model_event(std::string_view payload) {
    boost::system::error_code ec;
    auto v = json::parse(payload, ec);
    if (ec || !v.is_object()) throw ModelProtocolError("model event: payload is not a JSON object");
    return parse_model_event(v.get_object());
}

json::object to_json(ModelStreamEvent const& ev) {
    using K = ModelEventKind;
    json::object o;
    std::string type = ev.type.empty() ? std::string(model_event_type(ev.kind)) : ev.type;
    if (ev.kind == K::Other) {
        o = ev.raw;
        o["type"] = type;
        o["sequence_number"] = ev.sequence_number;
        return o;
    }
    o["type"] = type;
    o["sequence_number"] = ev.sequence_number;
    auto ids = [&](bool content) {
        o["item_id"] = ev.item_id;
        put_opt(o, "output_index", ev.output_index);
        if (content) put_opt(o, "content_index", ev.content_index);
    };
    switch (ev.kind) {
        case K::Created:
        case K::InProgress:
        case K::Completed:
        case K::Incomplete:
        case K::Failed:
            o["response"] = ev.response ? *ev.response : json::object{};
            break;
        case K::OutputItemAdded:
        case K::OutputItemDone:
            put_opt(o, "output_index", ev.output_index);
            o["item"] = ev.item ? to_json(*ev.item) : json::object{};
            break;
        case K::ContentPartAdded:
        case K::ContentPartDone:
            ids(true);
            o["part"] = ev.part;
            break;
        case K::OutputTextDelta:
            ids(true);
            o["delta"] = ev.delta;
            o["logprobs"] = json::array{};
            break;
        case K::OutputTextDone:
            ids(true);
            o["text"] = ev.text;
            o["logprobs"] = json::array{};
            break;
        case K::AnnotationAdded:
            ids(true);
            put_opt(o, "annotation_index", ev.annotation_index);
            o["annotation"] = ev.annotation;
            break;
        case K::RefusalDelta:
            ids(true);
            o["delta"] = ev.delta;
            break;
        case K::RefusalDone:
            ids(true);
            o["refusal"] = ev.text;
            break;
        case K::FunctionArgsDelta:
            ids(false);
            o["delta"] = ev.delta;
            break;
        case K::FunctionArgsDone:
            ids(false);
            if (ev.name) o["name"] = *ev.name;
            o["arguments"] = ev.text;
            break;
        case K::SummaryPartAdded:
        case K::SummaryPartDone:
            ids(false);
            put_opt(o, "summary_index", ev.summary_index);
            o["part"] = ev.part;
            break;
        case K::SummaryTextDelta:
            ids(false);
            put_opt(o, "summary_index", ev.summary_index);
            o["delta"] = ev.delta;
            break;
        case K::SummaryTextDone:
            ids(false);
            put_opt(o, "summary_index", ev.summary_index);
            o["text"] = ev.text;
            break;
        case K::ReasoningTextDelta:
            ids(true);
            o["delta"] = ev.delta;
            break;
        case K::ReasoningTextDone:
            ids(true);
            o["text"] = ev.text;
            break;
        case K::ImagePartial:
            ids(false);
            put_opt(o, "partial_image_index", ev.partial_image_index);
            o["partial_image_b64"] = ev.partial_image_b64;
            break;
        case K::Error:
            o["code"] = ev.code.empty() ? json::value(nullptr) : json::value(ev.code);
            o["message"] = ev.message;
            o["param"] = nullptr;
            break;
        case K::Other: break;
    }
    return o;
}

json::object make_response_object(std::string id, std::string status, std::string model,
                                  std::vector<Item> const& output, json::value usage, std::int64_t created_at) {
    json::object r;
    r["id"] = std::move(id);
    r["object"] = "response";
    r["created_at"] = created_at;
    r["status"] = std::move(status);
    r["model"] = std::move(model);
    r["output"] = to_json(output);
    r["parallel_tool_calls"] = true;
    r["tool_choice"] = "auto";
    r["tools"] = json::array{};
    r["usage"] = std::move(usage);
    r["error"] = nullptr;
    r["incomplete_details"] = nullptr;
    return r;
}

// ---------------------------------------------------------------------------------------------
// Usage, settings, responses

void Usage::add(Usage const& other) {
    requests += other.requests;
    input_tokens += other.input_tokens;
    cached_input_tokens += other.cached_input_tokens;
    output_tokens += other.output_tokens;
    reasoning_tokens += other.reasoning_tokens;
    total_tokens += other.total_tokens;
    if (!other.per_request.empty()) {
        per_request.insert(per_request.end(), other.per_request.begin(), other.per_request.end());
    } else if (other.requests > 0) {
        per_request.push_back(other);
    }
}

json::object to_json(Usage const& u) {
    json::object o;
    o["input_tokens"] = u.input_tokens;
    o["input_tokens_details"] = json::object{{"cached_tokens", u.cached_input_tokens}};
    o["output_tokens"] = u.output_tokens;
    o["output_tokens_details"] = json::object{{"reasoning_tokens", u.reasoning_tokens}};
    o["total_tokens"] = u.total_tokens;
    return o;
}

Usage usage_from_json(json::object const& o) {
    Usage u;
    u.requests = 1;
    u.input_tokens = uint_field(o, "input_tokens");
    u.output_tokens = uint_field(o, "output_tokens");
    u.total_tokens = uint_field(o, "total_tokens");
    if (auto const* d = field(o, "input_tokens_details"); d && d->is_object())
        u.cached_input_tokens = uint_field(d->get_object(), "cached_tokens");
    if (auto const* d = field(o, "output_tokens_details"); d && d->is_object())
        u.reasoning_tokens = uint_field(d->get_object(), "reasoning_tokens");
    if (u.total_tokens == 0) u.total_tokens = u.input_tokens + u.output_tokens;
    return u;
}

ModelSettings ModelSettings::merged_with(ModelSettings const& o) const {
    ModelSettings r = *this;
    auto over = [](auto& dst, auto const& src) {
        if (src) dst = src;
    };
    over(r.temperature, o.temperature);
    over(r.top_p, o.top_p);
    over(r.frequency_penalty, o.frequency_penalty);
    over(r.presence_penalty, o.presence_penalty);
    over(r.tool_choice, o.tool_choice);
    over(r.parallel_tool_calls, o.parallel_tool_calls);
    over(r.store, o.store);
    over(r.include_usage, o.include_usage);
    over(r.max_tokens, o.max_tokens);
    over(r.reasoning_effort, o.reasoning_effort);
    over(r.reasoning_summary, o.reasoning_summary);
    over(r.retry, o.retry);
    over(r.idle_timeout, o.idle_timeout);
    over(r.total_timeout, o.total_timeout);
    for (auto const& kv : o.metadata) r.metadata[kv.key()] = kv.value();
    for (auto const& kv : o.extra_body) r.extra_body[kv.key()] = kv.value();
    r.extra_headers.insert(r.extra_headers.end(), o.extra_headers.begin(), o.extra_headers.end());
    return r;
}

ModelResponse response_from_json(json::object const& response) {
    ModelResponse r;
    r.response_id = opt_str(response, "id");
    if (auto const* out = field(response, "output"); out && out->is_array())
        r.output = items_from_json(out->get_array());
    if (auto const* u = field(response, "usage"); u && u->is_object()) {
        r.usage = usage_from_json(u->get_object());
    } else {
        r.usage.requests = 1;
    }
    return r;
}

task<ModelResponse> Model::complete(ModelRequest const& request) {
    ModelEventHandler ignore = [](ModelStreamEvent const&) -> task<void> { co_return; };
    co_return co_await stream(request, ignore);
}

// ---------------------------------------------------------------------------------------------
// Errors

namespace {
std::string http_what(int status, std::string const& message, std::string const& code,
                      std::string const& request_id) {
    std::string w = status ? "HTTP " + std::to_string(status) : std::string("connection failed");
    if (!code.empty()) w += " (" + code + ")";
    if (!message.empty()) w += ": " + message;
    if (!request_id.empty()) w += " [request id " + request_id + "]";
    return w;
}
}  // namespace

ModelHttpError::ModelHttpError(int http_code, std::string text, std::string body_code, std::string body_type,
                               std::string id)
    : Error(error::model_request_failed, http_what(http_code, text, body_code, id)),
      status(http_code),
      type(std::move(body_type)),
      model_code(std::move(body_code)),
      model_message(std::move(text)),
      request_id(std::move(id)) {}

ModelStreamError::ModelStreamError(std::string stream_code, std::string text, bool output_seen)
    : Error(error::model_stream_failed, stream_code.empty() ? text : stream_code + ": " + text),
      model_code(std::move(stream_code)),
      model_message(std::move(text)),
      after_output(output_seen) {}

MaxTurnsExceeded::MaxTurnsExceeded(int max_turns_)
    : Error(error::max_turns_exceeded, "Max turns (" + std::to_string(max_turns_) + ") exceeded"),
      max_turns(max_turns_) {}

InputGuardrailTripwire::InputGuardrailTripwire(std::string name, GuardrailOutput out)
    : Error(error::input_guardrail_triggered, "Guardrail " + name + " triggered tripwire"),
      guardrail_name(std::move(name)),
      output(std::move(out)) {}

OutputGuardrailTripwire::OutputGuardrailTripwire(std::string name, GuardrailOutput out)
    : Error(error::output_guardrail_triggered, "Guardrail " + name + " triggered tripwire"),
      guardrail_name(std::move(name)),
      output(std::move(out)) {}

}  // namespace chatkit::agents
