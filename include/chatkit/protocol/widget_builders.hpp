// chatkit-cpp: typed widget builders (PROTOCOL.md §8.1-8.2, ActionConfig §3.10).
//
// Each component X of §8.2 has a factory function `X(...)` returning an `XNode`, a small value type
// wrapping the JSON object it produces (`Node` is the common base). Required props
// are factory arguments; optional props are fluent setters named in snake_case that write the
// camelCase wire name (`Text("hi").line_through(true)` -> `"lineThrough":true`):
//
//     chatkit::WidgetRoot w = Card({Title("Hello"), Text("world").id("t").streaming(true)})
//                                 .size("sm")
//                                 .padding(2);
//
// Rules:
// * Key order: the reference's (pydantic declaration order), so a typed tree serializes byte for
//   byte like the reference's `model_dump_json(exclude_none=True)` whatever the order of the setter
//   calls: `key, id, type`, then the props as declared (`Card.asForm` before `children`,
//   `Button.submit` before `label`); Box/Row/Col/Form put their box props, `children` included,
//   before `key, id, type`, as the reference does. Props the reference does not declare for the
//   component (`prop()`, unknown components) follow, in the order they were first set. Setting a
//   prop again replaces its value in place.
// * Nulls are never written: a setter given `std::nullopt` (or an empty `std::optional`), or `prop()`
//   given a JSON null, removes the prop; nulls nested in values (e.g. action payloads) are stripped.
// * Props typed `float` in the reference (`padding`, `margin` of Card/Box, box `height`/`width`/`size`,
//   `Text.width`, `aspectRatio`) store integers as doubles, so `padding(2)` is written `2.0` like the
//   reference does. Other numeric props keep integers.
// * `prop(key, value)` sets any prop verbatim (unknown props pass through).
// * `json()` returns the component's object; converting to `chatkit::WidgetRoot` (the item root)
//   requires a `Card`, `ListView` or `Basic` and throws `std::invalid_argument` otherwise.
// * `ListViewItem`s are accepted only as `ListView` children (`std::invalid_argument` elsewhere).
#pragma once

#include <chatkit/core/config.hpp>
#include <chatkit/protocol/common.hpp>
#include <chatkit/protocol/widgets.hpp>

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatkit::widgets {

/// A widget's action (PROTOCOL.md §3.10), e.g. `Button.onClickAction`. Serialized as
/// `{"type", "payload"?, "handler", "loadingBehavior", "streaming"}` with the defaults written;
/// `payload` is omitted when null and nulls inside it are stripped.
struct CHATKIT_API ActionConfig {
    std::string type;
    JsonValue payload = nullptr;
    std::string handler = "server";          ///< "server" | "client"
    std::string loading_behavior = "auto";   ///< "auto" | "none" | "self" | "container"
    bool streaming = true;

    /// Throws `std::invalid_argument` for an empty type or an unknown handler / loading behavior.
    JsonObject to_json() const;
};

/// Any JSON prop value, implicitly built from strings, numbers, bools and JSON values.
struct PropValue {
    JsonValue v;
    PropValue(char const* s) : v(s) {}
    PropValue(std::string_view s) : v(s) {}
    PropValue(std::string const& s) : v(s) {}
    PropValue(bool b) : v(b) {}
    template <std::integral I>
        requires(!std::same_as<I, bool>)
    PropValue(I i) : v(i) {}
    template <std::floating_point F>
    PropValue(F f) : v(static_cast<double>(f)) {}
    PropValue(JsonObject o) : v(std::move(o)) {}
    PropValue(boost::json::array a) : v(std::move(a)) {}
    PropValue(JsonValue j) : v(std::move(j)) {}
};

/// The base of every component: a JSON object with `type`.
class CHATKIT_API Node {
public:
    explicit Node(std::string_view type);

    /// The component's `type`.
    std::string_view type() const;
    /// The component's JSON object (no root check).
    JsonObject const& json() const& noexcept { return obj_; }
    JsonObject json() && noexcept { return std::move(obj_); }
    /// The component as a widget root; throws `std::invalid_argument` unless it is a Card, ListView or Basic.
    operator WidgetRoot() const&;
    operator WidgetRoot() &&;

    Node& prop(std::string_view key, JsonValue value) & { set_(key, std::move(value)); return *this; }
    Node prop(std::string_view key, JsonValue value) && { set_(key, std::move(value)); return std::move(*this); }
    Node& id(std::optional<std::string> v) & { set_identity_("id", std::move(v)); return *this; }
    Node id(std::optional<std::string> v) && { set_identity_("id", std::move(v)); return std::move(*this); }
    Node& key(std::optional<std::string> v) & { set_identity_("key", std::move(v)); return *this; }
    Node key(std::optional<std::string> v) && { set_identity_("key", std::move(v)); return std::move(*this); }

    friend bool operator==(Node const& a, Node const& b) { return a.obj_ == b.obj_; }

protected:
    /// Sets `key` (in place when present, appended otherwise); null removes it; nested nulls are stripped.
    void set_(std::string_view key, JsonValue value);
    /// Sets `key`/`id`, keeping `key, id, type` at the front.
    void set_identity_(std::string_view which, std::optional<std::string> value);
    /// `children` as an array; ListViewItems are rejected unless `allow_list_items`.
    void set_children_(std::vector<Node> children, bool allow_list_items = false);

    JsonObject obj_;
};

namespace detail {
inline JsonValue as_float(PropValue p) {
    if (p.v.is_int64()) return static_cast<double>(p.v.get_int64());
    if (p.v.is_uint64()) return static_cast<double>(p.v.get_uint64());
    return std::move(p.v);
}
inline JsonValue as_json(PropValue p) { return std::move(p.v); }
inline JsonValue as_json(std::string_view s) { return JsonValue(s); }
inline JsonValue as_json(bool b) { return JsonValue(b); }
inline JsonValue as_json(std::int64_t i) { return JsonValue(i); }
inline JsonValue as_json(ActionConfig const& a) { return a.to_json(); }
CHATKIT_API JsonValue as_json(Timestamp t);
}  // namespace detail

/// Fluent setters returning the concrete component type.
template <class Self>
class Component : public Node {
public:
    using Node::Node;

    Self& prop(std::string_view k, JsonValue v) & { return put_(k, std::move(v)); }
    Self prop(std::string_view k, JsonValue v) && { return std::move(put_(k, std::move(v))); }
    Self& id(std::optional<std::string> v) & { set_identity_("id", std::move(v)); return self_(); }
    Self id(std::optional<std::string> v) && { set_identity_("id", std::move(v)); return std::move(self_()); }
    Self& key(std::optional<std::string> v) & { set_identity_("key", std::move(v)); return self_(); }
    Self key(std::optional<std::string> v) && { set_identity_("key", std::move(v)); return std::move(self_()); }

protected:
    Self& self_() { return static_cast<Self&>(*this); }
    Self& put_(std::string_view k, JsonValue v) { set_(k, std::move(v)); return self_(); }
};

// One optional prop: `name(T)`, `name(std::nullopt)` and `name(std::optional<U>)`, each for lvalues
// (returning Self&) and rvalues (returning Self by value).
#define CHATKIT_WIDGET_PROP_(name, wire, T, conv)                                                   \
    Self& name(T v) & { return this->put_(wire, conv(std::move(v))); }                              \
    Self name(T v) && { return std::move(this->put_(wire, conv(std::move(v)))); }                   \
    Self& name(std::nullopt_t) & { return this->put_(wire, nullptr); }                              \
    Self name(std::nullopt_t) && { return std::move(this->put_(wire, nullptr)); }                   \
    template <class U>                                                                              \
    Self& name(std::optional<U> v) & {                                                              \
        return v ? this->put_(wire, conv(static_cast<T>(std::move(*v)))) : this->put_(wire, nullptr);            \
    }                                                                                               \
    template <class U>                                                                              \
    Self name(std::optional<U> v) && {                                                              \
        return std::move(v ? this->put_(wire, conv(static_cast<T>(std::move(*v)))) : this->put_(wire, nullptr)); \
    }

// Only `name(T)` (an extra value type for a prop already declared with CHATKIT_WIDGET_PROP_).
#define CHATKIT_WIDGET_PROP_ALT_(name, wire, T, conv)                                             \
    Self& name(T v) & { return this->put_(wire, conv(std::move(v))); }                              \
    Self name(T v) && { return std::move(this->put_(wire, conv(std::move(v)))); }

#define CHATKIT_WP_ANY(name, wire) CHATKIT_WIDGET_PROP_(name, wire, PropValue, detail::as_json)
#define CHATKIT_WP_FLOAT(name, wire) CHATKIT_WIDGET_PROP_(name, wire, PropValue, detail::as_float)
#define CHATKIT_WP_STR(name, wire) CHATKIT_WIDGET_PROP_(name, wire, std::string_view, detail::as_json)
#define CHATKIT_WP_BOOL(name, wire) CHATKIT_WIDGET_PROP_(name, wire, bool, detail::as_json)
#define CHATKIT_WP_INT(name, wire) CHATKIT_WIDGET_PROP_(name, wire, std::int64_t, detail::as_json)
#define CHATKIT_WP_ACTION(name, wire) CHATKIT_WIDGET_PROP_(name, wire, ActionConfig const&, detail::as_json)

// Box props (PROTOCOL.md §8.2), shared by Box, Row, Col and Form.
#define CHATKIT_WP_BOX_PROPS                  \
    CHATKIT_WP_STR(align, "align")            \
    CHATKIT_WP_STR(justify, "justify")        \
    CHATKIT_WP_STR(wrap, "wrap")              \
    CHATKIT_WP_ANY(flex, "flex")              \
    CHATKIT_WP_ANY(gap, "gap")                \
    CHATKIT_WP_FLOAT(height, "height")        \
    CHATKIT_WP_FLOAT(width, "width")          \
    CHATKIT_WP_FLOAT(size, "size")            \
    CHATKIT_WP_ANY(min_height, "minHeight")   \
    CHATKIT_WP_ANY(min_width, "minWidth")     \
    CHATKIT_WP_ANY(min_size, "minSize")       \
    CHATKIT_WP_ANY(max_height, "maxHeight")   \
    CHATKIT_WP_ANY(max_width, "maxWidth")     \
    CHATKIT_WP_ANY(max_size, "maxSize")       \
    CHATKIT_WP_FLOAT(padding, "padding")      \
    CHATKIT_WP_FLOAT(margin, "margin")        \
    CHATKIT_WP_ANY(border, "border")          \
    CHATKIT_WP_ANY(radius, "radius")          \
    CHATKIT_WP_ANY(background, "background")  \
    CHATKIT_WP_FLOAT(aspect_ratio, "aspectRatio")

// Integer-or-string size props (Image, Chart).
#define CHATKIT_WP_SIZES                      \
    CHATKIT_WP_ANY(flex, "flex")              \
    CHATKIT_WP_ANY(height, "height")          \
    CHATKIT_WP_ANY(width, "width")            \
    CHATKIT_WP_ANY(size, "size")              \
    CHATKIT_WP_ANY(min_height, "minHeight")   \
    CHATKIT_WP_ANY(min_width, "minWidth")     \
    CHATKIT_WP_ANY(min_size, "minSize")       \
    CHATKIT_WP_ANY(max_height, "maxHeight")   \
    CHATKIT_WP_ANY(max_width, "maxWidth")     \
    CHATKIT_WP_ANY(max_size, "maxSize")       \
    CHATKIT_WP_FLOAT(aspect_ratio, "aspectRatio")

using Children = std::vector<Node>;

// ---- Roots ---------------------------------------------------------------------------------------

/// `Card` root: a bordered container (optionally a form with confirm/cancel actions).
class CardNode : public Component<CardNode> {
public:
    using Self = CardNode;
    explicit CardNode(Children children) : Component("Card") { set_children_(std::move(children)); }
    CHATKIT_WP_BOOL(as_form, "asForm")
    CHATKIT_WP_ANY(background, "background")
    CHATKIT_WP_STR(size, "size")
    CHATKIT_WP_FLOAT(padding, "padding")
    CHATKIT_WP_ANY(status, "status")
    CHATKIT_WP_BOOL(collapsed, "collapsed")
    CHATKIT_WP_STR(theme, "theme")
    /// `confirm: {label, action}`.
    Self& confirm(std::string_view label, ActionConfig const& action) & { return put_("confirm", card_action(label, action)); }
    Self confirm(std::string_view label, ActionConfig const& action) && { return std::move(put_("confirm", card_action(label, action))); }
    /// `cancel: {label, action}`.
    Self& cancel(std::string_view label, ActionConfig const& action) & { return put_("cancel", card_action(label, action)); }
    Self cancel(std::string_view label, ActionConfig const& action) && { return std::move(put_("cancel", card_action(label, action))); }

private:
    static JsonValue card_action(std::string_view label, ActionConfig const& action) {
        return JsonObject{{"label", label}, {"action", action.to_json()}};
    }
};

/// `ListViewItem`: one row of a ListView, clickable through `onClickAction`.
class ListViewItemNode : public Component<ListViewItemNode> {
public:
    using Self = ListViewItemNode;
    explicit ListViewItemNode(Children children) : Component("ListViewItem") { set_children_(std::move(children)); }
    CHATKIT_WP_ACTION(on_click, "onClickAction")
    CHATKIT_WP_ANY(gap, "gap")
    CHATKIT_WP_STR(align, "align")
};

/// `ListView` root: a list of ListViewItem rows with an optional limit.
class ListViewNode : public Component<ListViewNode> {
public:
    using Self = ListViewNode;
    explicit ListViewNode(std::vector<ListViewItemNode> items) : Component("ListView") {
        set_children_(Children(std::make_move_iterator(items.begin()), std::make_move_iterator(items.end())), true);
    }
    CHATKIT_WP_ANY(limit, "limit")
    CHATKIT_WP_ANY(status, "status")
    CHATKIT_WP_STR(theme, "theme")
};

/// `Basic` root (entity previews); free props pass through `prop()`.
class BasicNode : public Component<BasicNode> {
public:
    using Self = BasicNode;
    BasicNode() : Component("Basic") {}
    explicit BasicNode(Children children) : Component("Basic") { set_children_(std::move(children)); }
    CHATKIT_WP_STR(direction, "direction")
    CHATKIT_WP_ANY(gap, "gap")
    CHATKIT_WP_ANY(padding, "padding")
    CHATKIT_WP_STR(align, "align")
    CHATKIT_WP_STR(justify, "justify")
    CHATKIT_WP_STR(theme, "theme")
};

// ---- Layout --------------------------------------------------------------------------------------

/// `Box`: a flex container (direction, gap, padding, alignment...).
class BoxNode : public Component<BoxNode> {
public:
    using Self = BoxNode;
    BoxNode() : Component("Box") {}
    explicit BoxNode(Children children) : Component("Box") { set_children_(std::move(children)); }
    CHATKIT_WP_BOX_PROPS
    CHATKIT_WP_STR(direction, "direction")
};

/// `Row`: a horizontal Box.
class RowNode : public Component<RowNode> {
public:
    using Self = RowNode;
    RowNode() : Component("Row") {}
    explicit RowNode(Children children) : Component("Row") { set_children_(std::move(children)); }
    CHATKIT_WP_BOX_PROPS
};

/// `Col`: a vertical Box.
class ColNode : public Component<ColNode> {
public:
    using Self = ColNode;
    ColNode() : Component("Col") {}
    explicit ColNode(Children children) : Component("Col") { set_children_(std::move(children)); }
    CHATKIT_WP_BOX_PROPS
};

/// `Form`: a Box whose inputs are submitted with `onSubmitAction`.
class FormNode : public Component<FormNode> {
public:
    using Self = FormNode;
    FormNode() : Component("Form") {}
    explicit FormNode(Children children) : Component("Form") { set_children_(std::move(children)); }
    CHATKIT_WP_BOX_PROPS
    CHATKIT_WP_ACTION(on_submit, "onSubmitAction")
    CHATKIT_WP_STR(direction, "direction")
};

/// `Transition` holds one child (or none).
class TransitionNode : public Component<TransitionNode> {
public:
    using Self = TransitionNode;
    TransitionNode() : Component("Transition") {}
    explicit TransitionNode(Node child);
};

/// `Divider`: a horizontal rule.
class DividerNode : public Component<DividerNode> {
public:
    using Self = DividerNode;
    DividerNode() : Component("Divider") {}
    CHATKIT_WP_ANY(color, "color")
    CHATKIT_WP_ANY(size, "size")
    CHATKIT_WP_ANY(spacing, "spacing")
    CHATKIT_WP_BOOL(flush, "flush")
};

/// `Spacer`: flexible empty space.
class SpacerNode : public Component<SpacerNode> {
public:
    using Self = SpacerNode;
    SpacerNode() : Component("Spacer") {}
    CHATKIT_WP_ANY(min_size, "minSize")
};

// ---- Text ----------------------------------------------------------------------------------------

/// `Text`: plain text; `streaming(true)` lets its value grow by deltas.
class TextNode : public Component<TextNode> {
public:
    using Self = TextNode;
    explicit TextNode(std::string_view value) : Component("Text") { set_("value", JsonValue(value)); }
    CHATKIT_WP_BOOL(streaming, "streaming")
    CHATKIT_WP_BOOL(italic, "italic")
    CHATKIT_WP_BOOL(line_through, "lineThrough")
    CHATKIT_WP_ANY(color, "color")
    CHATKIT_WP_STR(weight, "weight")
    CHATKIT_WP_FLOAT(width, "width")
    CHATKIT_WP_STR(size, "size")
    CHATKIT_WP_STR(text_align, "textAlign")
    CHATKIT_WP_BOOL(truncate, "truncate")
    CHATKIT_WP_INT(min_lines, "minLines")
    CHATKIT_WP_INT(max_lines, "maxLines")
    /// `false` or `{name, required?, pattern?, placeholder?, autoFocus?, ...}`.
    CHATKIT_WP_ANY(editable, "editable")
};

/// `Title`: heading text.
class TitleNode : public Component<TitleNode> {
public:
    using Self = TitleNode;
    explicit TitleNode(std::string_view value) : Component("Title") { set_("value", JsonValue(value)); }
    CHATKIT_WP_ANY(color, "color")
    CHATKIT_WP_STR(weight, "weight")
    CHATKIT_WP_STR(size, "size")
    CHATKIT_WP_STR(text_align, "textAlign")
    CHATKIT_WP_BOOL(truncate, "truncate")
    CHATKIT_WP_INT(max_lines, "maxLines")
};

/// `Caption`: small secondary text.
class CaptionNode : public Component<CaptionNode> {
public:
    using Self = CaptionNode;
    explicit CaptionNode(std::string_view value) : Component("Caption") { set_("value", JsonValue(value)); }
    CHATKIT_WP_ANY(color, "color")
    CHATKIT_WP_STR(weight, "weight")
    CHATKIT_WP_STR(size, "size")
    CHATKIT_WP_STR(text_align, "textAlign")
    CHATKIT_WP_BOOL(truncate, "truncate")
    CHATKIT_WP_INT(max_lines, "maxLines")
};

/// `Markdown`: markdown text; may stream like Text.
class MarkdownNode : public Component<MarkdownNode> {
public:
    using Self = MarkdownNode;
    explicit MarkdownNode(std::string_view value) : Component("Markdown") { set_("value", JsonValue(value)); }
    CHATKIT_WP_BOOL(streaming, "streaming")
};

/// `Badge`: a small coloured label.
class BadgeNode : public Component<BadgeNode> {
public:
    using Self = BadgeNode;
    explicit BadgeNode(std::string_view label) : Component("Badge") { set_("label", JsonValue(label)); }
    CHATKIT_WP_ANY(color, "color")
    CHATKIT_WP_STR(variant, "variant")
    CHATKIT_WP_STR(size, "size")
    CHATKIT_WP_BOOL(pill, "pill")
};

/// `Label`: the label of a form field.
class LabelNode : public Component<LabelNode> {
public:
    using Self = LabelNode;
    LabelNode(std::string_view value, std::string_view field_name) : Component("Label") {
        set_("value", JsonValue(value));
        set_("fieldName", JsonValue(field_name));
    }
    CHATKIT_WP_STR(size, "size")
    CHATKIT_WP_STR(weight, "weight")
    CHATKIT_WP_STR(text_align, "textAlign")
    CHATKIT_WP_ANY(color, "color")
};

// ---- Media ---------------------------------------------------------------------------------------

/// `Icon`: a named icon.
class IconNode : public Component<IconNode> {
public:
    using Self = IconNode;
    /// `name` is an IconName (§3.11); it is not validated here.
    explicit IconNode(std::string_view name) : Component("Icon") { set_("name", JsonValue(name)); }
    CHATKIT_WP_ANY(color, "color")
    CHATKIT_WP_STR(size, "size")
};

/// `Image`: an image by URL.
class ImageNode : public Component<ImageNode> {
public:
    using Self = ImageNode;
    explicit ImageNode(std::string_view src) : Component("Image") { set_("src", JsonValue(src)); }
    CHATKIT_WP_STR(alt, "alt")
    CHATKIT_WP_STR(fit, "fit")
    CHATKIT_WP_STR(position, "position")
    CHATKIT_WP_ANY(radius, "radius")
    CHATKIT_WP_BOOL(frame, "frame")
    CHATKIT_WP_BOOL(flush, "flush")
    CHATKIT_WP_SIZES
    CHATKIT_WP_ANY(margin, "margin")
    CHATKIT_WP_ANY(background, "background")
};

/// `Chart`: `data` rows, `series` (`{type, label, dataKey, ...}`) and `xAxis` (string or object).
class ChartNode : public Component<ChartNode> {
public:
    using Self = ChartNode;
    ChartNode(boost::json::array data, boost::json::array series, PropValue x_axis) : Component("Chart") {
        set_("data", std::move(data));
        set_("series", std::move(series));
        set_("xAxis", std::move(x_axis.v));
    }
    CHATKIT_WP_BOOL(show_y_axis, "showYAxis")
    CHATKIT_WP_BOOL(show_legend, "showLegend")
    CHATKIT_WP_BOOL(show_tooltip, "showTooltip")
    CHATKIT_WP_INT(bar_gap, "barGap")
    CHATKIT_WP_INT(bar_category_gap, "barCategoryGap")
    CHATKIT_WP_SIZES
};

// ---- Controls ------------------------------------------------------------------------------------

/// `Button`: sends `onClickAction` when pressed.
class ButtonNode : public Component<ButtonNode> {
public:
    using Self = ButtonNode;
    ButtonNode() : Component("Button") {}
    explicit ButtonNode(std::string_view label) : Component("Button") { set_("label", JsonValue(label)); }
    CHATKIT_WP_BOOL(submit, "submit")
    CHATKIT_WP_STR(label, "label")
    CHATKIT_WP_ACTION(on_click, "onClickAction")
    CHATKIT_WP_STR(icon_start, "iconStart")
    CHATKIT_WP_STR(icon_end, "iconEnd")
    CHATKIT_WP_STR(style, "style")
    CHATKIT_WP_STR(icon_size, "iconSize")
    CHATKIT_WP_ANY(color, "color")
    CHATKIT_WP_STR(variant, "variant")
    CHATKIT_WP_STR(size, "size")
    CHATKIT_WP_BOOL(pill, "pill")
    CHATKIT_WP_BOOL(uniform, "uniform")
    CHATKIT_WP_BOOL(block, "block")
    CHATKIT_WP_BOOL(disabled, "disabled")
};

/// `options`: `[{value, label, disabled?, description?}]`.
class SelectNode : public Component<SelectNode> {
public:
    using Self = SelectNode;
    SelectNode(std::string_view name, boost::json::array options) : Component("Select") {
        set_("name", JsonValue(name));
        set_("options", std::move(options));
    }
    CHATKIT_WP_ACTION(on_change, "onChangeAction")
    CHATKIT_WP_STR(placeholder, "placeholder")
    CHATKIT_WP_STR(default_value, "defaultValue")
    CHATKIT_WP_STR(variant, "variant")
    CHATKIT_WP_STR(size, "size")
    CHATKIT_WP_BOOL(pill, "pill")
    CHATKIT_WP_BOOL(block, "block")
    CHATKIT_WP_BOOL(clearable, "clearable")
    CHATKIT_WP_BOOL(disabled, "disabled")
    CHATKIT_WP_BOOL(searchable, "searchable")
};

/// Date-time props take a `Timestamp` (written like every protocol date-time, §2.6) or a string.
class DatePickerNode : public Component<DatePickerNode> {
public:
    using Self = DatePickerNode;
    explicit DatePickerNode(std::string_view name) : Component("DatePicker") { set_("name", JsonValue(name)); }
    CHATKIT_WP_ACTION(on_change, "onChangeAction")
    CHATKIT_WP_STR(placeholder, "placeholder")
    CHATKIT_WP_STR(default_value, "defaultValue")
    CHATKIT_WIDGET_PROP_ALT_(default_value, "defaultValue", Timestamp, detail::as_json)
    CHATKIT_WP_STR(min, "min")
    CHATKIT_WIDGET_PROP_ALT_(min, "min", Timestamp, detail::as_json)
    CHATKIT_WP_STR(max, "max")
    CHATKIT_WIDGET_PROP_ALT_(max, "max", Timestamp, detail::as_json)
    CHATKIT_WP_STR(variant, "variant")
    CHATKIT_WP_STR(size, "size")
    CHATKIT_WP_STR(side, "side")
    CHATKIT_WP_STR(align, "align")
    CHATKIT_WP_BOOL(pill, "pill")
    CHATKIT_WP_BOOL(block, "block")
    CHATKIT_WP_BOOL(clearable, "clearable")
    CHATKIT_WP_BOOL(disabled, "disabled")
};

/// `Checkbox`: a boolean form field.
class CheckboxNode : public Component<CheckboxNode> {
public:
    using Self = CheckboxNode;
    explicit CheckboxNode(std::string_view name) : Component("Checkbox") { set_("name", JsonValue(name)); }
    CHATKIT_WP_STR(label, "label")
    CHATKIT_WP_BOOL(default_checked, "defaultChecked")
    CHATKIT_WP_ACTION(on_change, "onChangeAction")
    CHATKIT_WP_BOOL(disabled, "disabled")
    CHATKIT_WP_BOOL(required, "required")
};

/// `Input`: a one-line form field.
class InputNode : public Component<InputNode> {
public:
    using Self = InputNode;
    explicit InputNode(std::string_view name) : Component("Input") { set_("name", JsonValue(name)); }
    CHATKIT_WP_STR(input_type, "inputType")
    CHATKIT_WP_STR(default_value, "defaultValue")
    CHATKIT_WP_BOOL(required, "required")
    CHATKIT_WP_STR(pattern, "pattern")
    CHATKIT_WP_STR(placeholder, "placeholder")
    CHATKIT_WP_BOOL(allow_autofill_extensions, "allowAutofillExtensions")
    CHATKIT_WP_BOOL(auto_select, "autoSelect")
    CHATKIT_WP_BOOL(auto_focus, "autoFocus")
    CHATKIT_WP_BOOL(disabled, "disabled")
    CHATKIT_WP_STR(variant, "variant")
    CHATKIT_WP_STR(size, "size")
    CHATKIT_WP_STR(gutter_size, "gutterSize")
    CHATKIT_WP_BOOL(pill, "pill")
};

/// `Textarea`: a multi-line form field.
class TextareaNode : public Component<TextareaNode> {
public:
    using Self = TextareaNode;
    explicit TextareaNode(std::string_view name) : Component("Textarea") { set_("name", JsonValue(name)); }
    CHATKIT_WP_STR(default_value, "defaultValue")
    CHATKIT_WP_BOOL(required, "required")
    CHATKIT_WP_STR(pattern, "pattern")
    CHATKIT_WP_STR(placeholder, "placeholder")
    CHATKIT_WP_BOOL(auto_select, "autoSelect")
    CHATKIT_WP_BOOL(auto_focus, "autoFocus")
    CHATKIT_WP_BOOL(disabled, "disabled")
    CHATKIT_WP_STR(variant, "variant")
    CHATKIT_WP_STR(size, "size")
    CHATKIT_WP_STR(gutter_size, "gutterSize")
    CHATKIT_WP_INT(rows, "rows")
    CHATKIT_WP_BOOL(auto_resize, "autoResize")
    CHATKIT_WP_INT(max_rows, "maxRows")
    CHATKIT_WP_BOOL(allow_autofill_extensions, "allowAutofillExtensions")
};

/// `options` (`[{label, value, disabled?}]`) is optional, like in the reference.
class RadioGroupNode : public Component<RadioGroupNode> {
public:
    using Self = RadioGroupNode;
    explicit RadioGroupNode(std::string_view name) : Component("RadioGroup") { set_("name", JsonValue(name)); }
    CHATKIT_WP_ANY(options, "options")
    CHATKIT_WP_STR(aria_label, "ariaLabel")
    CHATKIT_WP_ACTION(on_change, "onChangeAction")
    CHATKIT_WP_STR(default_value, "defaultValue")
    CHATKIT_WP_STR(direction, "direction")
    CHATKIT_WP_BOOL(disabled, "disabled")
    CHATKIT_WP_BOOL(required, "required")
};

#undef CHATKIT_WP_SIZES
#undef CHATKIT_WP_BOX_PROPS
#undef CHATKIT_WP_ACTION
#undef CHATKIT_WP_INT
#undef CHATKIT_WP_BOOL
#undef CHATKIT_WP_STR
#undef CHATKIT_WP_FLOAT
#undef CHATKIT_WP_ANY
// ---- Factory functions (what applications call) -------------------------------------------------
// Functions rather than constructors so that a single same-type child (`Col({Col(...)})`) nests
// instead of selecting the copy constructor.
inline CardNode Card(Children children) { return CardNode(std::move(children)); }
inline ListViewItemNode ListViewItem(Children children) { return ListViewItemNode(std::move(children)); }
inline ListViewNode ListView(std::vector<ListViewItemNode> items) { return ListViewNode(std::move(items)); }
inline BasicNode Basic() { return BasicNode(); }
inline BasicNode Basic(Children children) { return BasicNode(std::move(children)); }
inline BoxNode Box() { return BoxNode(); }
inline BoxNode Box(Children children) { return BoxNode(std::move(children)); }
inline RowNode Row() { return RowNode(); }
inline RowNode Row(Children children) { return RowNode(std::move(children)); }
inline ColNode Col() { return ColNode(); }
inline ColNode Col(Children children) { return ColNode(std::move(children)); }
inline FormNode Form() { return FormNode(); }
inline FormNode Form(Children children) { return FormNode(std::move(children)); }
inline TransitionNode Transition() { return TransitionNode(); }
inline TransitionNode Transition(Node child) { return TransitionNode(std::move(child)); }
inline DividerNode Divider() { return DividerNode(); }
inline SpacerNode Spacer() { return SpacerNode(); }
inline TextNode Text(std::string_view value) { return TextNode(std::move(value)); }
inline TitleNode Title(std::string_view value) { return TitleNode(std::move(value)); }
inline CaptionNode Caption(std::string_view value) { return CaptionNode(std::move(value)); }
inline MarkdownNode Markdown(std::string_view value) { return MarkdownNode(std::move(value)); }
inline BadgeNode Badge(std::string_view label) { return BadgeNode(std::move(label)); }
inline LabelNode Label(std::string_view value, std::string_view field_name) { return LabelNode(std::move(value), std::move(field_name)); }
inline IconNode Icon(std::string_view name) { return IconNode(std::move(name)); }
inline ImageNode Image(std::string_view src) { return ImageNode(std::move(src)); }
inline ChartNode Chart(boost::json::array data, boost::json::array series, PropValue x_axis) { return ChartNode(std::move(data), std::move(series), std::move(x_axis)); }
inline ButtonNode Button() { return ButtonNode(); }
inline ButtonNode Button(std::string_view label) { return ButtonNode(std::move(label)); }
inline SelectNode Select(std::string_view name, boost::json::array options) { return SelectNode(std::move(name), std::move(options)); }
inline DatePickerNode DatePicker(std::string_view name) { return DatePickerNode(std::move(name)); }
inline CheckboxNode Checkbox(std::string_view name) { return CheckboxNode(std::move(name)); }
inline InputNode Input(std::string_view name) { return InputNode(std::move(name)); }
inline TextareaNode Textarea(std::string_view name) { return TextareaNode(std::move(name)); }
inline RadioGroupNode RadioGroup(std::string_view name) { return RadioGroupNode(std::move(name)); }

#undef CHATKIT_WIDGET_PROP_ALT_
#undef CHATKIT_WIDGET_PROP_

}  // namespace chatkit::widgets
