// Fuzz target: chatkit::diff_widget on two fuzzed widget roots.
//
// Input: two JSON texts separated by the first NUL byte, each parsed like a request body
// (chatkit::parse_json). When both are objects, diff_widget either throws std::invalid_argument
// (a streaming-text node without a cumulative value) or returns updates that, applied to the first
// root the way a client applies them, give the second root (nulls stripped) — checked when every
// streaming-text id is unique. Text a client only sees in the final item (a streaming-text node without
// an id, or one inside a single-component `children` such as Transition's) is left out of the check.
#include <chatkit/core/error.hpp>
#include <chatkit/protocol/json.hpp>
#include <chatkit/server/widgets.hpp>

#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>

namespace {

namespace json = boost::json;

bool is_streaming_text(json::object const& node) {
    auto const* type = node.if_contains("type");
    auto const* value = node.if_contains("value");
    return type && type->is_string() && (type->get_string() == "Text" || type->get_string() == "Markdown") &&
           value && value->is_string();
}

// Streaming-text nodes with a non-empty id, reached through `children` arrays; false on a duplicate id.
bool collect(json::object& node, std::map<std::string, json::object*>& out) {
    if (is_streaming_text(node)) {
        auto const* id = node.if_contains("id");
        if (id && id->is_string() && !id->get_string().empty())
            if (!out.emplace(std::string(id->get_string()), &node).second) return false;
    }
    auto* children = node.if_contains("children");
    if (!children || !children->is_array()) return true;
    for (auto& child : children->get_array())
        if (child.is_object() && !collect(child.get_object(), out)) return false;
    return true;
}

// Drops what a client may legitimately see differently (see the comparison below). `reached` is false
// below a `children` value that is a single component (Transition): like the reference, diff_widget
// looks for streaming-text nodes only through `children` arrays, so text growing there is sent with
// the final item, not as a delta.
void normalize(json::object& node, bool reached = true) {
    if (is_streaming_text(node)) {
        node.erase("streaming");
        auto const* id = node.if_contains("id");
        if (!reached || !id || !id->is_string() || id->get_string().empty()) node.erase("value");
    }
    auto* children = node.if_contains("children");
    if (!children) return;
    if (children->is_object()) {
        normalize(children->get_object(), false);
        return;
    }
    if (!children->is_array()) return;
    for (auto& child : children->get_array())
        if (child.is_object()) normalize(child.get_object(), reached);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    std::string_view const input(reinterpret_cast<char const*>(data), size);
    auto const split = input.find('\0');
    if (split == std::string_view::npos) return 0;

    json::value before_v, after_v;
    try {
        before_v = chatkit::parse_json(input.substr(0, split));
        after_v = chatkit::parse_json(input.substr(split + 1));
    } catch (chatkit::Error const&) {
        return 0;
    }
    if (!before_v.is_object() || !after_v.is_object()) return 0;
    auto const& before = before_v.get_object();
    auto const& after = after_v.get_object();

    std::vector<chatkit::ThreadItemUpdate> updates;
    try {
        updates = chatkit::diff_widget(before, after);
    } catch (std::invalid_argument const&) {
        return 0;
    }
    // Every update serializes.
    for (auto const& update : updates) (void)chatkit::serialize(chatkit::to_json(update));

    // Replay the updates on the first root, as a client does.
    json::value replayed = chatkit::strip_nulls(before);
    std::map<std::string, json::object*> nodes;
    if (!collect(replayed.get_object(), nodes)) return 0;
    {
        json::value after_copy = chatkit::strip_nulls(after);
        std::map<std::string, json::object*> after_nodes;
        if (!collect(after_copy.get_object(), after_nodes)) return 0;
    }
    for (auto const& update : updates) {
        if (auto const* root = std::get_if<chatkit::WidgetRootUpdated>(&update)) {
            if (updates.size() != 1) std::abort();  // a root replacement comes alone
            replayed = root->widget;
            continue;
        }
        auto const* delta = std::get_if<chatkit::WidgetStreamingTextValueDelta>(&update);
        if (!delta) std::abort();  // diff_widget makes no other update
        auto const it = nodes.find(delta->component_id);
        if (it == nodes.end()) std::abort();  // a delta names a node of the first root
        auto& value = (*it->second)["value"].as_string();
        value.append(delta->delta);
        if (delta->done)
            it->second->erase("streaming");
        else
            (*it->second)["streaming"] = true;
    }
    json::value expected = chatkit::strip_nulls(after);
    // `streaming` flags are client state the diff reports through `done`, and text appended to a
    // streaming-text node without an id is not sent until the widget is done (the reference's rule):
    // compare the rest.
    normalize(replayed.get_object());
    normalize(expected.get_object());
    if (replayed != expected) std::abort();
    return 0;
}
