// Typed widget builders (PROTOCOL.md §8.1-8.2, §3.10).
#include <chatkit/protocol/json.hpp>
#include <chatkit/protocol/widget_builders.hpp>

#include <span>
#include <stdexcept>

namespace chatkit::widgets {
namespace {

bool is_one_of(std::string_view v, std::initializer_list<std::string_view> allowed) {
    for (auto a : allowed)
        if (v == a) return true;
    return false;
}

bool is_root_type(std::string_view type) { return is_one_of(type, {"Card", "ListView", "Basic"}); }

// The reference's field order per component (pydantic declaration order, base classes first:
// Box/Row/Col/Form inherit their box props from a base listed after the component base, so those
// props come before `key, id, type`). Props not listed follow, in the order they were first set.
struct field_order {
    std::string_view type;
    std::span<std::string_view const> fields;
};

#define CHATKIT_BOX_FIELDS_                                                                            \
    "children", "align", "justify", "wrap", "flex", "gap", "height", "width", "size", "minHeight",   \
        "minWidth", "minSize", "maxHeight", "maxWidth", "maxSize", "padding", "margin", "border", "radius", \
        "background", "aspectRatio"

constexpr std::string_view card_fields[] = {
    "key", "id", "type", "asForm", "children", "background", "size", "padding", "status", "collapsed",
    "confirm", "cancel", "theme"};
constexpr std::string_view list_view_fields[] = {"key", "id", "type", "children", "limit",
                                                                     "status", "theme"};
constexpr std::string_view list_view_item_fields[] = {"key", "id", "type", "children",
                                                                          "onClickAction", "gap", "align"};
constexpr std::string_view box_fields[] = {CHATKIT_BOX_FIELDS_, "key", "id", "type",
                                                               "direction"};
constexpr std::string_view row_col_fields[] = {CHATKIT_BOX_FIELDS_, "key", "id", "type"};
constexpr std::string_view form_fields[] = {CHATKIT_BOX_FIELDS_, "key", "id", "type",
                                                                "onSubmitAction", "direction"};
constexpr std::string_view text_fields[] = {
    "key", "id", "type", "value", "streaming", "italic", "lineThrough", "color", "weight", "width", "size",
    "textAlign", "truncate", "minLines", "maxLines", "editable"};
constexpr std::string_view title_fields[] = {"key",  "id",        "type",     "value",   "color",
                                                                 "weight", "size", "textAlign", "truncate", "maxLines"};
constexpr std::string_view markdown_fields[] = {"key", "id", "type", "value", "streaming"};
constexpr std::string_view badge_fields[] = {"key", "id", "type", "label",
                                                                 "color", "variant", "size", "pill"};
constexpr std::string_view divider_fields[] = {"key", "id", "type", "color",
                                                                   "size", "spacing", "flush"};
constexpr std::string_view icon_fields[] = {"key", "id", "type", "name", "color", "size"};
constexpr std::string_view image_fields[] = {
    "key", "id", "type", "src", "alt", "fit", "position", "radius", "frame", "flush", "height", "width", "size",
    "minHeight", "minWidth", "minSize", "maxHeight", "maxWidth", "maxSize", "margin", "background", "aspectRatio",
    "flex"};
constexpr std::string_view button_fields[] = {
    "key", "id", "type", "submit", "label", "onClickAction", "iconStart", "iconEnd", "style", "iconSize", "color",
    "variant", "size", "pill", "uniform", "block", "disabled"};
constexpr std::string_view spacer_fields[] = {"key", "id", "type", "minSize"};
constexpr std::string_view select_fields[] = {
    "key", "id", "type", "name", "options", "onChangeAction", "placeholder", "defaultValue", "variant", "size",
    "pill", "block", "clearable", "disabled", "searchable"};
constexpr std::string_view date_picker_fields[] = {
    "key", "id", "type", "name", "onChangeAction", "placeholder", "defaultValue", "min", "max", "variant", "size",
    "side", "align", "pill", "block", "clearable", "disabled"};
constexpr std::string_view checkbox_fields[] = {
    "key", "id", "type", "name", "label", "defaultChecked", "onChangeAction", "disabled", "required"};
constexpr std::string_view input_fields[] = {
    "key", "id", "type", "name", "inputType", "defaultValue", "required", "pattern", "placeholder",
    "allowAutofillExtensions", "autoSelect", "autoFocus", "disabled", "variant", "size", "gutterSize", "pill"};
constexpr std::string_view label_fields[] = {"key",  "id",     "type",      "value", "fieldName",
                                                                 "size", "weight", "textAlign", "color"};
constexpr std::string_view radio_group_fields[] = {
    "key", "id", "type", "name", "options", "ariaLabel", "onChangeAction", "defaultValue", "direction", "disabled",
    "required"};
constexpr std::string_view textarea_fields[] = {
    "key", "id", "type", "name", "defaultValue", "required", "pattern", "placeholder", "autoSelect", "autoFocus",
    "disabled", "variant", "size", "gutterSize", "rows", "autoResize", "maxRows", "allowAutofillExtensions"};
constexpr std::string_view children_only_fields[] = {"key", "id", "type", "children"};
constexpr std::string_view chart_fields[] = {
    "key", "id", "type", "data", "series", "xAxis", "showYAxis", "showLegend", "showTooltip", "barGap",
    "barCategoryGap", "flex", "height", "width", "size", "minHeight", "minWidth", "minSize", "maxHeight",
    "maxWidth", "maxSize", "aspectRatio"};
constexpr std::string_view default_fields[] = {"key", "id", "type"};

#undef CHATKIT_BOX_FIELDS_

std::span<std::string_view const> fields_of(std::string_view type) {
    static constexpr field_order table[] = {
        {"Card", card_fields},         {"ListView", list_view_fields},
        {"ListViewItem", list_view_item_fields},
        {"Box", box_fields},           {"Row", row_col_fields},
        {"Col", row_col_fields},       {"Form", form_fields},
        {"Text", text_fields},         {"Title", title_fields},
        {"Caption", title_fields},     {"Markdown", markdown_fields},
        {"Badge", badge_fields},       {"Divider", divider_fields},
        {"Icon", icon_fields},         {"Image", image_fields},
        {"Button", button_fields},     {"Spacer", spacer_fields},
        {"Select", select_fields},     {"DatePicker", date_picker_fields},
        {"Checkbox", checkbox_fields}, {"Input", input_fields},
        {"Label", label_fields},       {"RadioGroup", radio_group_fields},
        {"Textarea", textarea_fields}, {"Transition", children_only_fields},
        {"Chart", chart_fields},       {"Basic", children_only_fields},
    };
    for (auto const& entry : table)
        if (entry.type == type) return entry.fields;
    return default_fields;
}

bool listed(std::span<std::string_view const> fields, std::string_view key) {
    for (auto f : fields)
        if (f == key) return true;
    return false;
}

// Puts the component's keys in the reference's order: its declared fields first (in declaration
// order), then the others in their current order.
void canonicalize(JsonObject& obj) {
    auto const* t = obj.if_contains("type");
    std::string_view const type = t && t->is_string() ? std::string_view(t->get_string()) : std::string_view();
    auto const fields = fields_of(type);
    JsonObject out(obj.storage());
    out.reserve(obj.size());
    for (auto f : fields)
        if (auto* v = obj.if_contains(f)) out.emplace(f, std::move(*v));
    for (auto& kv : obj)
        if (!listed(fields, kv.key())) out.emplace(kv.key(), std::move(kv.value()));
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
        canonicalize(obj_);
    }
}

void Node::set_identity_(std::string_view which, std::optional<std::string> value) {
    if (!value) {
        erase_stable(obj_, which);
        return;
    }
    obj_[which] = *value;
    canonicalize(obj_);
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
    canonicalize(obj_);
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
