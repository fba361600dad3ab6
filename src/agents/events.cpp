// chatkit-cpp agents: model stream events, their names and JSON codecs (events.hpp).
#include <chatkit/agents/events.hpp>

#include "json_fields.hpp"

#include <boost/json/serialize.hpp>

#include <array>
#include <utility>

namespace chatkit::agents {

using namespace detail;

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

}  // namespace chatkit::agents
