// chatkit-cpp agents: tools, handoff defaults and run result helpers.
#include <chatkit/agents/runner.hpp>

#include <boost/json/serialize.hpp>
#include <boost/system/system_error.hpp>

#include <cctype>
#include <set>

namespace chatkit::agents {

std::string ToolOutput::to_model_string() const {
    if (auto const* s = std::get_if<std::string>(&value)) return *s;
    auto const& v = std::get<json::value>(value);
    if (auto const* s = v.if_string()) return std::string(*s);
    return json::serialize(v);
}

json::value ToolOutput::to_json_value() const {
    if (auto const* s = std::get_if<std::string>(&value)) return json::value(*s);
    return std::get<json::value>(value);
}

std::optional<std::string> default_tool_error(ToolContextBase&, std::exception_ptr error) {
    try {
        std::rethrow_exception(error);
    } catch (ToolArgumentsError const& e) {
        return std::string("An error occurred while parsing tool arguments. Please try again with valid JSON. Error: ") +
               e.what();
    } catch (boost::system::system_error const& e) {
        return std::string("An error occurred while running the tool. Please try again. Error: ") + e.what();
    } catch (std::exception const& e) {
        return std::string("An error occurred while running the tool. Please try again. Error: ") + e.what();
    } catch (...) {
        return std::string("An error occurred while running the tool. Please try again. Error: unknown error");
    }
}

namespace {
void make_strict(json::value& v);

void make_strict_object(json::object& o) {
    auto const* type = o.if_contains("type");
    bool const is_object_type = (type && type->is_string() && type->get_string() == "object") ||
                                (!type && o.contains("properties"));
    if (is_object_type) {
        if (!o.contains("properties")) o["properties"] = json::object{};
        o["additionalProperties"] = false;
        json::array required;
        for (auto& kv : o["properties"].as_object()) {
            required.emplace_back(kv.key());
            make_strict(kv.value());
        }
        o["required"] = std::move(required);
    }
    for (auto key : {"items", "additionalItems"})
        if (auto* it = o.if_contains(key)) make_strict(*it);
    for (auto key : {"anyOf", "allOf", "oneOf", "prefixItems"})
        if (auto* arr = o.if_contains(key); arr && arr->is_array())
            for (auto& x : arr->get_array()) make_strict(x);
    for (auto key : {"$defs", "definitions"})
        if (auto* defs = o.if_contains(key); defs && defs->is_object())
            for (auto& kv : defs->get_object()) make_strict(kv.value());
}

void make_strict(json::value& v) {
    if (v.is_object()) make_strict_object(v.get_object());
}
}  // namespace

json::object strict_schema(json::object schema) {
    if (schema.empty()) return empty_object_schema();
    if (!schema.contains("type") && !schema.contains("properties") && !schema.contains("anyOf")) schema["type"] = "object";
    make_strict_object(schema);
    return schema;
}

json::object empty_object_schema() {
    json::object o;
    o["type"] = "object";
    o["properties"] = json::object{};
    o["required"] = json::array{};
    o["additionalProperties"] = false;
    return o;
}

FunctionTool client_tool(std::string name, std::string description, json::object schema) {
    FunctionTool t;
    t.name = std::move(name);
    t.description = std::move(description);
    t.parameters = strict_schema(std::move(schema));
    t.is_client_tool = true;
    return t;
}

std::string default_handoff_tool_name(std::string_view agent_name) {
    std::string out = "transfer_to_";
    for (char c : agent_name) {
        auto const u = static_cast<unsigned char>(c);
        if (std::isalnum(u) && u < 0x80) out += static_cast<char>(std::tolower(u));
        else out += '_';
    }
    return out;
}

std::string default_handoff_description(std::string_view agent_name,
                                        std::optional<std::string> const& handoff_description) {
    std::string out = "Handoff to the ";
    out += agent_name;
    out += " agent to handle the request. ";
    if (handoff_description) out += *handoff_description;
    return out;
}

std::string_view RunItem::type_name() const noexcept {
    switch (type) {
        case Type::MessageOutput: return "message_output_item";
        case Type::ToolCall: return "tool_call_item";
        case Type::ToolCallOutput: return "tool_call_output_item";
        case Type::HandoffCall: return "handoff_call_item";
        case Type::HandoffOutput: return "handoff_output_item";
        case Type::Reasoning: return "reasoning_item";
        case Type::Other: break;
    }
    return "tool_call_item";
}

std::string RunResult::final_text() const {
    if (final_output.is_null()) return {};
    if (auto const* s = final_output.if_string()) return std::string(*s);
    return json::serialize(final_output);
}

std::vector<Item> RunResult::to_input_list() const {
    std::vector<Item> out = input;
    std::set<std::string, std::less<>> answered;
    for (auto const& i : input)
        if (auto const* o = std::get_if<FunctionCallOutput>(&i)) answered.insert(o->call_id);
    for (auto const& ri : new_items)
        if (auto const* o = std::get_if<FunctionCallOutput>(&ri.raw_item)) answered.insert(o->call_id);
    for (auto const& ri : new_items) {
        if (auto const* c = std::get_if<FunctionCallItem>(&ri.raw_item); c && !answered.contains(c->call_id)) continue;
        out.push_back(ri.raw_item);
    }
    return out;
}

}  // namespace chatkit::agents
