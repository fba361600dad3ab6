// Typed widget builders (PROTOCOL.md §8.1-8.2, §3.10).
#include <chatkit/protocol/json.hpp>
#include <chatkit/widgets/builders.hpp>

#include <stdexcept>

namespace chatkit::widgets {
namespace {

bool is_one_of(std::string_view v, std::initializer_list<std::string_view> allowed) {
    for (auto a : allowed)
        if (v == a) return true;
    return false;
}

bool is_root_type(std::string_view type) { return is_one_of(type, {"Card", "ListView", "Basic"}); }

// Moves `key, id, type` (those present) to the front, keeping the other keys' order.
void normalize_front(JsonObject& obj) {
    JsonObject out(obj.storage());
    out.reserve(obj.size());
    for (auto k : {"key", "id", "type"})
        if (auto* v = obj.if_contains(k)) out.emplace(k, std::move(*v));
    for (auto& kv : obj) {
        auto const k = kv.key();
        if (k != "key" && k != "id" && k != "type") out.emplace(k, std::move(kv.value()));
    }
    obj = std::move(out);
}

// Removes `key` keeping the order of the others (boost::json::object::erase moves the last element
// into the hole).
void erase_stable(JsonObject& obj, std::string_view key) {
    if (!obj.contains(key)) return;
    JsonObject out(obj.storage());
    out.reserve(obj.size());
    for (auto& kv : obj)
        if (kv.key() != key) out.emplace(kv.key(), std::move(kv.value()));
    obj = std::move(out);
}

}  // namespace

JsonObject ActionConfig::to_json() const {
    if (type.empty()) throw std::invalid_argument("ActionConfig.type must not be empty");
    if (!is_one_of(handler, {"server", "client"}))
        throw std::invalid_argument("ActionConfig.handler must be \"server\" or \"client\", got \"" + handler + "\"");
    if (!is_one_of(loading_behavior, {"auto", "none", "self", "container"}))
        throw std::invalid_argument("ActionConfig.loading_behavior must be auto, none, self or container, got \"" +
                                    loading_behavior + "\"");
    JsonObject o;
    o.reserve(5);
    o.emplace("type", type);
    if (!payload.is_null()) o.emplace("payload", strip_nulls(payload));
    o.emplace("handler", handler);
    o.emplace("loadingBehavior", loading_behavior);
    o.emplace("streaming", streaming);
    return o;
}

Node::Node(std::string_view type) { obj_.emplace("type", type); }

std::string_view Node::type() const {
    auto const* t = obj_.if_contains("type");
    return t && t->is_string() ? std::string_view(t->get_string()) : std::string_view();
}

Node::operator WidgetRoot() const& {
    if (!is_root_type(type()))
        throw std::invalid_argument("a widget root must be a Card, ListView or Basic, not " + std::string(type()));
    return obj_;
}

Node::operator WidgetRoot() && {
    if (!is_root_type(type()))
        throw std::invalid_argument("a widget root must be a Card, ListView or Basic, not " + std::string(type()));
    return std::move(obj_);
}

void Node::set_(std::string_view key, JsonValue value) {
    if (key == "key" || key == "id") {
        if (value.is_null()) {
            set_identity_(key, std::nullopt);
        } else if (value.is_string()) {
            set_identity_(key, std::string(value.get_string()));
        } else {
            throw std::invalid_argument("widget `" + std::string(key) + "` must be a string");
        }
        return;
    }
    if (key == "type") throw std::invalid_argument("a widget's `type` is set by its builder");
    if (value.is_null()) {
        erase_stable(obj_, key);
        return;
    }
    JsonValue clean = strip_nulls(value);
    if (auto* existing = obj_.if_contains(key)) {
        *existing = std::move(clean);
    } else {
        obj_.emplace(key, std::move(clean));
    }
}

void Node::set_identity_(std::string_view which, std::optional<std::string> value) {
    if (!value) {
        erase_stable(obj_, which);
        return;
    }
    obj_[which] = *value;
    normalize_front(obj_);
}

void Node::set_children_(std::vector<Node> children, bool allow_list_items) {
    boost::json::array arr;
    arr.reserve(children.size());
    for (auto& child : children) {
        bool const is_item = child.type() == "ListViewItem";
        if (is_item != allow_list_items) {
            throw std::invalid_argument(allow_list_items ? "ListView children must be ListViewItems, not " +
                                                               std::string(child.type())
                                                         : "a ListViewItem may appear only directly under a ListView");
        }
        arr.emplace_back(std::move(child.obj_));
    }
    obj_["children"] = std::move(arr);
}

TransitionNode::TransitionNode(Node child) : Component("Transition") {
    if (child.type() == "ListViewItem")
        throw std::invalid_argument("a ListViewItem may appear only directly under a ListView");
    set_("children", std::move(child).json());
}

namespace detail {
JsonValue as_json(Timestamp t) { return JsonValue(format_timestamp(t)); }
}  // namespace detail

}  // namespace chatkit::widgets
