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

/// Typed widget builders: one factory function and one component type per ChatKit widget component.
namespace chatkit::widgets {

/// A widget's action (PROTOCOL.md §3.10), such as `Button.onClickAction`. Serialized as
/// `{"type", "payload"?, "handler", "loadingBehavior", "streaming"}` with the defaults written;
/// `payload` is omitted when null and nulls inside it are stripped.
struct CHATKIT_API ActionConfig {
    /// The application's name for the action (required, non-empty); it comes back as the `type` of the
    /// `Action` in `threads.custom_action` / `threads.sync_custom_action`.
    std::string type;
    /// Data sent back with the action; null omits it. Forms merge their field values into it.
    JsonValue payload = nullptr;
    /// `"server"` (default: posted to this backend) or `"client"` (the page's `widgets.onAction` gets it).
    std::string handler = "server";
    /// `loadingBehavior`: what shows a loading state while the action runs: `"auto"` (default), `"none"`,
    /// `"self"` (the control) or `"container"` (the enclosing widget).
    std::string loading_behavior = "auto";
    /// When false the client sends `threads.sync_custom_action` (one JSON reply) instead of the streamed
    /// `threads.custom_action`.
    bool streaming = true;

    /// Throws `std::invalid_argument` for an empty type or an unknown handler / loading behavior.
    JsonObject to_json() const;
};

/// Any JSON prop value, implicitly built from strings, numbers, bools and JSON values.
struct PropValue {
    JsonValue v;  ///< The value as it will be written.
    /// Converts a string, bool, integer (kept an integer), floating-point number (as a double), JSON
    /// object, array or value. @{
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
    /// @}
};

/// The base of every component: a JSON object with `type`.
class CHATKIT_API Node {
public:
    /// An empty component of the given `type`; any type is accepted (its props then go through `prop()`).
    explicit Node(std::string_view type);

    /// The component's `type`.
    std::string_view type() const;
    /// The component's JSON object (no root check); called on an rvalue it moves the object out. @{
    JsonObject const& json() const& noexcept { return obj_; }
    JsonObject json() && noexcept { return std::move(obj_); }
    /// @}
    /// The component as a widget root; throws `std::invalid_argument` unless it is a Card, ListView or Basic.
    /// @{
    operator WidgetRoot() const&;
    operator WidgetRoot() &&;
    /// @}

    /// Sets the prop `key` to `value` verbatim (any name, written as given); a null `value` removes it. @{
    Node& prop(std::string_view key, JsonValue value) & { set_(key, std::move(value)); return *this; }
    Node prop(std::string_view key, JsonValue value) && { set_(key, std::move(value)); return std::move(*this); }
    /// @}
    /// Sets `id`, the component's stable identity (needed to stream a Text's or Markdown's value);
    /// `std::nullopt` removes it. @{
    Node& id(std::optional<std::string> v) & { set_identity_("id", std::move(v)); return *this; }
    Node id(std::optional<std::string> v) && { set_identity_("id", std::move(v)); return std::move(*this); }
    /// @}
    /// Sets `key`, the client's identity for the component across re-renders; `std::nullopt` removes it. @{
    Node& key(std::optional<std::string> v) & { set_identity_("key", std::move(v)); return *this; }
    Node key(std::optional<std::string> v) && { set_identity_("key", std::move(v)); return std::move(*this); }
    /// @}

    friend bool operator==(Node const& a, Node const& b) { return a.obj_ == b.obj_; }

protected:
    /// Sets `key` (in place when present, appended otherwise); null removes it; nested nulls are stripped.
    void set_(std::string_view key, JsonValue value);
    /// Sets `key`/`id`, keeping `key, id, type` at the front.
    void set_identity_(std::string_view which, std::optional<std::string> value);
    /// `children` as an array; ListViewItems are rejected unless `allow_list_items`.
    void set_children_(std::vector<Node> children, bool allow_list_items = false);

    /// The component's props in wire order, `type` included.
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

/// The base of each typed component `Self`: Node's setters returning `Self`, so calls chain
/// (`Text("hi").id("t").streaming(true)`). Every prop setter of a component also takes `std::nullopt`
/// or a `std::optional` (an empty one removes the prop); on an lvalue it returns `Self&`, on an rvalue
/// `Self` by value.
template <class Self>
class Component : public Node {
public:
    /// An empty component of the given `type` (see Node::Node).
    using Node::Node;

    // Each setter comes twice, for lvalues and for temporaries; not grouped, since Doxygen does not
    // carry a member group's documentation into the instantiations `Component<X>`.

    /// Sets the prop `k` to `v` verbatim, as Node::prop() does; a null `v` removes it.
    Self& prop(std::string_view k, JsonValue v) & { return put_(k, std::move(v)); }
    /// prop() on a temporary, returning it by value.
    Self prop(std::string_view k, JsonValue v) && { return std::move(put_(k, std::move(v))); }
    /// Sets `id`, the component's stable identity (needed to stream a Text's or Markdown's value);
    /// `std::nullopt` removes it.
    Self& id(std::optional<std::string> v) & { set_identity_("id", std::move(v)); return self_(); }
    /// id() on a temporary, returning it by value.
    Self id(std::optional<std::string> v) && { set_identity_("id", std::move(v)); return std::move(self_()); }
    /// Sets `key`, the client's identity for the component across re-renders; `std::nullopt` removes it.
    Self& key(std::optional<std::string> v) & { set_identity_("key", std::move(v)); return self_(); }
    /// key() on a temporary, returning it by value.
    Self key(std::optional<std::string> v) && { set_identity_("key", std::move(v)); return std::move(self_()); }

protected:
    /// `*this` as the concrete component.
    Self& self_() { return static_cast<Self&>(*this); }
    /// Sets prop `k` (see Node::set_()) and returns the concrete component.
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

// Box props (PROTOCOL.md §8.2), shared by Box, Row, Col and Form; their meanings are listed on BoxNode.
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

// Integer-or-string size props (Image, Chart), listed on ImageNode.
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

/// The children of a container, in display order.
using Children = std::vector<Node>;

// ---- Roots ---------------------------------------------------------------------------------------

/// `Card` root: a bordered container (optionally a form with confirm/cancel actions).
class CardNode : public Component<CardNode> {
public:
    using Self = CardNode;  ///< What the setters return.
    /// The card's content; applications call Card().
    explicit CardNode(Children children) : Component("Card") { set_children_(std::move(children)); }
    CHATKIT_WP_BOOL(as_form, "asForm")  ///< Make the card a form: `confirm`/`cancel` carry its field values.
    CHATKIT_WP_ANY(background, "background")  ///< Colour token (`surface`...), CSS colour or `{light, dark}`.
    CHATKIT_WP_STR(size, "size")  ///< Card width: `"sm"`, `"md"`, `"lg"` or `"full"`.
    CHATKIT_WP_FLOAT(padding, "padding")  ///< Spacing units, CSS or `{top, right, bottom, left, x, y}`.
    CHATKIT_WP_ANY(status, "status")  ///< Header line: `{text, favicon?, frame?}` or `{text, icon?}`.
    CHATKIT_WP_BOOL(collapsed, "collapsed")  ///< Collapse the body (once the main action is done).
    CHATKIT_WP_STR(theme, "theme")  ///< Force the `"light"` or `"dark"` theme for the card and its content.
    /// `confirm: {label, action}`: the footer's confirm button, reading `label` and sending `action`. @{
    Self& confirm(std::string_view label, ActionConfig const& action) & { return put_("confirm", card_action(label, action)); }
    Self confirm(std::string_view label, ActionConfig const& action) && { return std::move(put_("confirm", card_action(label, action))); }
    /// @}
    /// `cancel: {label, action}`: the footer's cancel button, reading `label` and sending `action`. @{
    Self& cancel(std::string_view label, ActionConfig const& action) & { return put_("cancel", card_action(label, action)); }
    Self cancel(std::string_view label, ActionConfig const& action) && { return std::move(put_("cancel", card_action(label, action))); }
    /// @}

private:
    static JsonValue card_action(std::string_view label, ActionConfig const& action) {
        return JsonObject{{"label", label}, {"action", action.to_json()}};
    }
};

/// `ListViewItem`: one row of a ListView, clickable through `onClickAction`.
class ListViewItemNode : public Component<ListViewItemNode> {
public:
    using Self = ListViewItemNode;  ///< What the setters return.
    /// The row's content; applications call ListViewItem().
    explicit ListViewItemNode(Children children) : Component("ListViewItem") { set_children_(std::move(children)); }
    CHATKIT_WP_ACTION(on_click, "onClickAction")  ///< `onClickAction`: sent when the row is clicked.
    CHATKIT_WP_ANY(gap, "gap")  ///< Space between the row's children: spacing units or CSS string.
    CHATKIT_WP_STR(align, "align")  ///< Vertical alignment of the children: `start`, `center`, `end`...
};

/// `ListView` root: a list of ListViewItem rows with an optional limit.
class ListViewNode : public Component<ListViewNode> {
public:
    using Self = ListViewNode;  ///< What the setters return.
    /// The rows; applications call ListView().
    explicit ListViewNode(std::vector<ListViewItemNode> items) : Component("ListView") {
        set_children_(Children(std::make_move_iterator(items.begin()), std::make_move_iterator(items.end())), true);
    }
    CHATKIT_WP_ANY(limit, "limit")  ///< Rows shown before "show more": a number or `"auto"`.
    CHATKIT_WP_ANY(status, "status")  ///< Header line: `{text, favicon?, frame?}` or `{text, icon?}`.
    CHATKIT_WP_STR(theme, "theme")  ///< Force the `"light"` or `"dark"` theme for the list.
};

/// `Basic` root (entity previews); free props pass through `prop()`.
class BasicNode : public Component<BasicNode> {
public:
    using Self = BasicNode;  ///< What the setters return.
    /// An empty Basic; applications call Basic().
    BasicNode() : Component("Basic") {}
    /// A Basic holding `children`.
    explicit BasicNode(Children children) : Component("Basic") { set_children_(std::move(children)); }
    CHATKIT_WP_STR(direction, "direction")  ///< Layout of the children: `"row"` or `"col"`.
    CHATKIT_WP_ANY(gap, "gap")  ///< Space between the children: spacing units or CSS string.
    CHATKIT_WP_ANY(padding, "padding")  ///< Inner spacing: units, CSS or `{top, right, bottom, left, x, y}`.
    CHATKIT_WP_STR(align, "align")  ///< Cross-axis alignment: `start`, `center`, `end`, `baseline`...
    CHATKIT_WP_STR(justify, "justify")  ///< Main-axis distribution: `start`, `center`, `between`...
    CHATKIT_WP_STR(theme, "theme")  ///< Force the `"light"` or `"dark"` theme.
};

// ---- Layout --------------------------------------------------------------------------------------

/// `Box`: a flex container whose `direction` is chosen (`"row"` or `"col"`).
///
/// Box, Row, Col and Form share the box props (PROTOCOL.md §8.2), each a setter: `align` (cross-axis
/// alignment of the children: `start`, `center`, `end`, `baseline`, `stretch`), `justify` (main-axis
/// distribution: also `between`, `around`, `evenly`), `wrap` (`nowrap`, `wrap`, `wrap-reverse`), `flex`
/// (grow/shrink factor), `gap` (space between children), `height`, `width`, `size` (both at once),
/// `min_height`, `min_width`, `min_size`, `max_height`, `max_width`, `max_size` (written camelCase:
/// `minHeight`...), `padding`, `margin` (spacing units, CSS strings or `{top, right, bottom, left, x, y}`),
/// `border` (px or a border object), `radius` (a radius token such as `"md"` or `"full"`), `background`
/// (colour token, CSS colour or `{light, dark}`) and `aspect_ratio` (`aspectRatio`, e.g. `16.0 / 9`).
/// Lengths are px numbers or CSS strings.
class BoxNode : public Component<BoxNode> {
public:
    using Self = BoxNode;  ///< What the setters return.
    /// An empty Box; applications call Box().
    BoxNode() : Component("Box") {}
    /// A Box holding `children`.
    explicit BoxNode(Children children) : Component("Box") { set_children_(std::move(children)); }
    CHATKIT_WP_BOX_PROPS
    CHATKIT_WP_STR(direction, "direction")  ///< Direction of the flex layout: `"row"` or `"col"`.
};

/// `Row`: a horizontal flex container; takes the box props (see BoxNode).
class RowNode : public Component<RowNode> {
public:
    using Self = RowNode;  ///< What the setters return.
    /// An empty Row; applications call Row().
    RowNode() : Component("Row") {}
    /// A Row holding `children`.
    explicit RowNode(Children children) : Component("Row") { set_children_(std::move(children)); }
    CHATKIT_WP_BOX_PROPS
};

/// `Col`: a vertical flex container; takes the box props (see BoxNode).
class ColNode : public Component<ColNode> {
public:
    using Self = ColNode;  ///< What the setters return.
    /// An empty Col; applications call Col().
    ColNode() : Component("Col") {}
    /// A Col holding `children`.
    explicit ColNode(Children children) : Component("Col") { set_children_(std::move(children)); }
    CHATKIT_WP_BOX_PROPS
};

/// `Form`: a flex container whose fields are submitted with `onSubmitAction`; takes the box props
/// (see BoxNode).
class FormNode : public Component<FormNode> {
public:
    using Self = FormNode;  ///< What the setters return.
    /// An empty Form; applications call Form().
    FormNode() : Component("Form") {}
    /// A Form holding `children`.
    explicit FormNode(Children children) : Component("Form") { set_children_(std::move(children)); }
    CHATKIT_WP_BOX_PROPS
    CHATKIT_WP_ACTION(on_submit, "onSubmitAction")  ///< `onSubmitAction`: sent with the fields on submit.
    CHATKIT_WP_STR(direction, "direction")  ///< Direction of the form's layout: `"row"` or `"col"`.
};

/// `Transition`: animates layout changes of the one child it holds (or none).
class TransitionNode : public Component<TransitionNode> {
public:
    using Self = TransitionNode;  ///< What the setters return.
    /// A Transition without a child; applications call Transition().
    TransitionNode() : Component("Transition") {}
    /// A Transition around `child` (written as the single object `children`).
    explicit TransitionNode(Node child);
};

/// `Divider`: a horizontal rule.
class DividerNode : public Component<DividerNode> {
public:
    using Self = DividerNode;  ///< What the setters return.
    /// A Divider with the default look; applications call Divider().
    DividerNode() : Component("Divider") {}
    CHATKIT_WP_ANY(color, "color")  ///< Token (`default`, `subtle`, `strong`), CSS colour or `{light, dark}`.
    CHATKIT_WP_ANY(size, "size")  ///< Line thickness: px or CSS string.
    CHATKIT_WP_ANY(spacing, "spacing")  ///< Space above and below the line: spacing units or CSS string.
    CHATKIT_WP_BOOL(flush, "flush")  ///< Run the line to the container's edges, ignoring its padding.
};

/// `Spacer`: flexible empty space.
class SpacerNode : public Component<SpacerNode> {
public:
    using Self = SpacerNode;  ///< What the setters return.
    /// A Spacer; applications call Spacer().
    SpacerNode() : Component("Spacer") {}
    CHATKIT_WP_ANY(min_size, "minSize")  ///< `minSize`: least room taken along the layout (px or CSS).
};

// ---- Text ----------------------------------------------------------------------------------------

/// `Text`: plain text; `streaming(true)` lets its value grow by deltas.
class TextNode : public Component<TextNode> {
public:
    using Self = TextNode;  ///< What the setters return.
    /// A Text showing `value`; applications call Text().
    explicit TextNode(std::string_view value) : Component("Text") { set_("value", JsonValue(value)); }
    CHATKIT_WP_BOOL(streaming, "streaming")  ///< Animate growth of `value` (deltas need an `id`).
    CHATKIT_WP_BOOL(italic, "italic")  ///< Italic text.
    CHATKIT_WP_BOOL(line_through, "lineThrough")  ///< `lineThrough`: strike the text through.
    CHATKIT_WP_ANY(color, "color")  ///< Token (`primary`, `secondary`...), CSS colour or `{light, dark}`.
    CHATKIT_WP_STR(weight, "weight")  ///< Font weight: `normal`, `medium`, `semibold` or `bold`.
    CHATKIT_WP_FLOAT(width, "width")  ///< Width of the text box: px or CSS string.
    CHATKIT_WP_STR(size, "size")  ///< Text size token: `xs`, `sm`, `md`, `lg` or `xl`.
    CHATKIT_WP_STR(text_align, "textAlign")  ///< `textAlign`: `start`, `center` or `end`.
    CHATKIT_WP_BOOL(truncate, "truncate")  ///< Cut overflowing text with an ellipsis.
    CHATKIT_WP_INT(min_lines, "minLines")  ///< `minLines`: room reserved for at least this many lines.
    CHATKIT_WP_INT(max_lines, "maxLines")  ///< `maxLines`: clamp the text to this many lines.
    /// Inline editing: `false`, or `{name, required?, pattern?, placeholder?, autoFocus?, ...}` to let the
    /// user edit the text as the form field `name`.
    CHATKIT_WP_ANY(editable, "editable")
};

/// `Title`: heading text.
class TitleNode : public Component<TitleNode> {
public:
    using Self = TitleNode;  ///< What the setters return.
    /// A Title showing `value`; applications call Title().
    explicit TitleNode(std::string_view value) : Component("Title") { set_("value", JsonValue(value)); }
    CHATKIT_WP_ANY(color, "color")  ///< Token (`primary`, `secondary`...), CSS colour or `{light, dark}`.
    CHATKIT_WP_STR(weight, "weight")  ///< Font weight: `normal`, `medium`, `semibold` or `bold`.
    CHATKIT_WP_STR(size, "size")  ///< Title size token: `sm`, `md`, `lg`, `xl`, `2xl` ... `5xl`.
    CHATKIT_WP_STR(text_align, "textAlign")  ///< `textAlign`: `start`, `center` or `end`.
    CHATKIT_WP_BOOL(truncate, "truncate")  ///< Cut overflowing text with an ellipsis.
    CHATKIT_WP_INT(max_lines, "maxLines")  ///< `maxLines`: clamp the title to this many lines.
};

/// `Caption`: small secondary text.
class CaptionNode : public Component<CaptionNode> {
public:
    using Self = CaptionNode;  ///< What the setters return.
    /// A Caption showing `value`; applications call Caption().
    explicit CaptionNode(std::string_view value) : Component("Caption") { set_("value", JsonValue(value)); }
    CHATKIT_WP_ANY(color, "color")  ///< Token (`primary`, `secondary`...), CSS colour or `{light, dark}`.
    CHATKIT_WP_STR(weight, "weight")  ///< Font weight: `normal`, `medium`, `semibold` or `bold`.
    CHATKIT_WP_STR(size, "size")  ///< Caption size token: `sm`, `md` or `lg`.
    CHATKIT_WP_STR(text_align, "textAlign")  ///< `textAlign`: `start`, `center` or `end`.
    CHATKIT_WP_BOOL(truncate, "truncate")  ///< Cut overflowing text with an ellipsis.
    CHATKIT_WP_INT(max_lines, "maxLines")  ///< `maxLines`: clamp the caption to this many lines.
};

/// `Markdown`: markdown text; may stream like Text.
class MarkdownNode : public Component<MarkdownNode> {
public:
    using Self = MarkdownNode;  ///< What the setters return.
    /// A Markdown rendering `value`; applications call Markdown().
    explicit MarkdownNode(std::string_view value) : Component("Markdown") { set_("value", JsonValue(value)); }
    CHATKIT_WP_BOOL(streaming, "streaming")  ///< Animate growth of `value` (deltas need an `id`).
};

/// `Badge`: a small coloured label.
class BadgeNode : public Component<BadgeNode> {
public:
    using Self = BadgeNode;  ///< What the setters return.
    /// A Badge reading `label`; applications call Badge().
    explicit BadgeNode(std::string_view label) : Component("Badge") { set_("label", JsonValue(label)); }
    CHATKIT_WP_ANY(color, "color")  ///< `secondary`, `success`, `danger`, `warning`, `info`, `discovery`.
    CHATKIT_WP_STR(variant, "variant")  ///< Style: `solid`, `soft` or `outline`.
    CHATKIT_WP_STR(size, "size")  ///< Size: `sm`, `md` or `lg`.
    CHATKIT_WP_BOOL(pill, "pill")  ///< Fully rounded ends.
};

/// `Label`: the label of a form field.
class LabelNode : public Component<LabelNode> {
public:
    using Self = LabelNode;  ///< What the setters return.
    /// A Label reading `value` for the field named `field_name` (`fieldName`); applications call Label().
    LabelNode(std::string_view value, std::string_view field_name) : Component("Label") {
        set_("value", JsonValue(value));
        set_("fieldName", JsonValue(field_name));
    }
    CHATKIT_WP_STR(size, "size")  ///< Text size token: `xs`, `sm`, `md`, `lg` or `xl`.
    CHATKIT_WP_STR(weight, "weight")  ///< Font weight: `normal`, `medium`, `semibold` or `bold`.
    CHATKIT_WP_STR(text_align, "textAlign")  ///< `textAlign`: `start`, `center` or `end`.
    CHATKIT_WP_ANY(color, "color")  ///< Token (`primary`, `secondary`...), CSS colour or `{light, dark}`.
};

// ---- Media ---------------------------------------------------------------------------------------

/// `Icon`: a named icon.
class IconNode : public Component<IconNode> {
public:
    using Self = IconNode;  ///< What the setters return.
    /// `name` is an IconName (§3.11); it is not validated here.
    explicit IconNode(std::string_view name) : Component("Icon") { set_("name", JsonValue(name)); }
    CHATKIT_WP_ANY(color, "color")  ///< Icon colour: text colour token, CSS colour or `{light, dark}`.
    CHATKIT_WP_STR(size, "size")  ///< Icon size token: `xs`, `sm`, `md`, `lg`, `xl`, `2xl` or `3xl`.
};

/// `Image`: an image by URL. Besides the setters below it takes the sizes `flex`, `height`, `width`,
/// `size` (both at once), `min_height`, `min_width`, `min_size`, `max_height`, `max_width`, `max_size`
/// (px numbers or CSS strings, written camelCase) and `aspect_ratio` (`aspectRatio`).
class ImageNode : public Component<ImageNode> {
public:
    using Self = ImageNode;  ///< What the setters return.
    /// An Image loading `src` (a URL the client fetches); applications call Image().
    explicit ImageNode(std::string_view src) : Component("Image") { set_("src", JsonValue(src)); }
    CHATKIT_WP_STR(alt, "alt")  ///< Alternative text for screen readers.
    CHATKIT_WP_STR(fit, "fit")  ///< `cover`, `contain`, `fill`, `scale-down` or `none`.
    CHATKIT_WP_STR(position, "position")  ///< Focal point: `center`, `top`, `top left`, `bottom right`...
    CHATKIT_WP_ANY(radius, "radius")  ///< Corner radius token (`xs` ... `4xl`, `full`, `none`...).
    CHATKIT_WP_BOOL(frame, "frame")  ///< Draw a thin frame around the image.
    CHATKIT_WP_BOOL(flush, "flush")  ///< Run the image to the container's edges, ignoring its padding.
    CHATKIT_WP_SIZES
    CHATKIT_WP_ANY(margin, "margin")  ///< Outer spacing: units, CSS or `{top, right, bottom, left, x, y}`.
    CHATKIT_WP_ANY(background, "background")  ///< Colour token (`surface`...), CSS colour or `{light, dark}`.
};

/// `Chart`: a bar, line or area chart.
///
/// `data` holds the rows (objects of name -> string or number), `series` says what to draw
/// (`{type: "bar"|"area"|"line", label, dataKey, stack?, color?, curveType?}`) and `xAxis` the categories
/// (a `dataKey` string or `{dataKey, hide?, labels?}`). Besides the setters below it takes the sizes
/// `flex`, `height`, `width`, `size`, `min_*`, `max_*` and `aspect_ratio` (see ImageNode).
class ChartNode : public Component<ChartNode> {
public:
    using Self = ChartNode;  ///< What the setters return.
    /// A Chart of `data` drawn by `series` along `x_axis`; applications call Chart().
    ChartNode(boost::json::array data, boost::json::array series, PropValue x_axis) : Component("Chart") {
        set_("data", std::move(data));
        set_("series", std::move(series));
        set_("xAxis", std::move(x_axis.v));
    }
    CHATKIT_WP_BOOL(show_y_axis, "showYAxis")  ///< `showYAxis`: draw the Y axis.
    CHATKIT_WP_BOOL(show_legend, "showLegend")  ///< `showLegend`: draw a legend of the series.
    CHATKIT_WP_BOOL(show_tooltip, "showTooltip")  ///< `showTooltip`: show values on hover.
    CHATKIT_WP_INT(bar_gap, "barGap")  ///< `barGap`: px between bars of one category.
    CHATKIT_WP_INT(bar_category_gap, "barCategoryGap")  ///< `barCategoryGap`: px between categories of bars.
    CHATKIT_WP_SIZES
};

// ---- Controls ------------------------------------------------------------------------------------

/// `Button`: sends `onClickAction` when pressed.
class ButtonNode : public Component<ButtonNode> {
public:
    using Self = ButtonNode;  ///< What the setters return.
    /// A Button without a label (an icon-only one); applications call Button().
    ButtonNode() : Component("Button") {}
    /// A Button reading `label`.
    explicit ButtonNode(std::string_view label) : Component("Button") { set_("label", JsonValue(label)); }
    CHATKIT_WP_BOOL(submit, "submit")  ///< Submit the enclosing form (Form or `asForm` Card) when pressed.
    CHATKIT_WP_STR(label, "label")  ///< Text on the button.
    CHATKIT_WP_ACTION(on_click, "onClickAction")  ///< `onClickAction`: sent when the button is pressed.
    CHATKIT_WP_STR(icon_start, "iconStart")  ///< `iconStart`: IconName before the label (or alone).
    CHATKIT_WP_STR(icon_end, "iconEnd")  ///< `iconEnd`: icon after the label (an IconName).
    CHATKIT_WP_STR(style, "style")  ///< Preset look: `"primary"` or `"secondary"`.
    CHATKIT_WP_STR(icon_size, "iconSize")  ///< `iconSize`: `sm`, `md`, `lg`, `xl` or `2xl`.
    CHATKIT_WP_ANY(color, "color")  ///< Colour token: `primary`, `secondary`, `success`, `danger`...
    CHATKIT_WP_STR(variant, "variant")  ///< Style: `solid`, `soft`, `outline` or `ghost`.
    CHATKIT_WP_STR(size, "size")  ///< Control size token: `3xs` ... `3xl`.
    CHATKIT_WP_BOOL(pill, "pill")  ///< Fully rounded ends.
    CHATKIT_WP_BOOL(uniform, "uniform")  ///< Same width as height (square, for icon-only buttons).
    CHATKIT_WP_BOOL(block, "block")  ///< Take the full available width.
    CHATKIT_WP_BOOL(disabled, "disabled")  ///< Show the button disabled; it cannot be pressed.
};

/// `Select`: a drop-down form field. `options`: `[{value, label, disabled?, description?}]`; the chosen
/// `value` is submitted under the field's `name`.
class SelectNode : public Component<SelectNode> {
public:
    using Self = SelectNode;  ///< What the setters return.
    /// A Select for the field `name` offering `options`; applications call Select().
    SelectNode(std::string_view name, boost::json::array options) : Component("Select") {
        set_("name", JsonValue(name));
        set_("options", std::move(options));
    }
    CHATKIT_WP_ACTION(on_change, "onChangeAction")  ///< `onChangeAction`: sent when the choice changes.
    CHATKIT_WP_STR(placeholder, "placeholder")  ///< Text shown while nothing is selected.
    CHATKIT_WP_STR(default_value, "defaultValue")  ///< `defaultValue`: the option value selected at first.
    CHATKIT_WP_STR(variant, "variant")  ///< Style: `solid`, `soft`, `outline` or `ghost`.
    CHATKIT_WP_STR(size, "size")  ///< Control size token: `3xs` ... `3xl`.
    CHATKIT_WP_BOOL(pill, "pill")  ///< Fully rounded ends.
    CHATKIT_WP_BOOL(block, "block")  ///< Take the full available width.
    CHATKIT_WP_BOOL(clearable, "clearable")  ///< Offer a control that clears the selection.
    CHATKIT_WP_BOOL(disabled, "disabled")  ///< Show the field disabled; it cannot be changed.
    CHATKIT_WP_BOOL(searchable, "searchable")  ///< Offer a search box (default: above 15 options).
};

/// `DatePicker`: a date form field. Date-time props take a `Timestamp` (written like every protocol
/// date-time, §2.6) or a string.
class DatePickerNode : public Component<DatePickerNode> {
public:
    using Self = DatePickerNode;  ///< What the setters return.
    /// A DatePicker for the field `name`; applications call DatePicker().
    explicit DatePickerNode(std::string_view name) : Component("DatePicker") { set_("name", JsonValue(name)); }
    CHATKIT_WP_ACTION(on_change, "onChangeAction")  ///< `onChangeAction`: sent when the date changes.
    CHATKIT_WP_STR(placeholder, "placeholder")  ///< Text shown while no date is chosen.
    CHATKIT_WP_STR(default_value, "defaultValue")  ///< `defaultValue`: the date chosen at first.
    /// The same, from a `Timestamp`.
    CHATKIT_WIDGET_PROP_ALT_(default_value, "defaultValue", Timestamp, detail::as_json)
    CHATKIT_WP_STR(min, "min")  ///< Earliest date the user may pick (inclusive).
    CHATKIT_WIDGET_PROP_ALT_(min, "min", Timestamp, detail::as_json)  ///< The same, from a `Timestamp`.
    CHATKIT_WP_STR(max, "max")  ///< Latest date the user may pick (inclusive).
    CHATKIT_WIDGET_PROP_ALT_(max, "max", Timestamp, detail::as_json)  ///< The same, from a `Timestamp`.
    CHATKIT_WP_STR(variant, "variant")  ///< Style: `solid`, `soft`, `outline` or `ghost`.
    CHATKIT_WP_STR(size, "size")  ///< Control size token: `3xs` ... `3xl`.
    CHATKIT_WP_STR(side, "side")  ///< Where the calendar opens: `top`, `bottom`, `left` or `right`.
    CHATKIT_WP_STR(align, "align")  ///< Calendar alignment against the field: `start`, `center` or `end`.
    CHATKIT_WP_BOOL(pill, "pill")  ///< Fully rounded ends.
    CHATKIT_WP_BOOL(block, "block")  ///< Take the full available width.
    CHATKIT_WP_BOOL(clearable, "clearable")  ///< Offer a control that clears the date.
    CHATKIT_WP_BOOL(disabled, "disabled")  ///< Show the field disabled; it cannot be changed.
};

/// `Checkbox`: a boolean form field.
class CheckboxNode : public Component<CheckboxNode> {
public:
    using Self = CheckboxNode;  ///< What the setters return.
    /// A Checkbox for the field `name`; applications call Checkbox().
    explicit CheckboxNode(std::string_view name) : Component("Checkbox") { set_("name", JsonValue(name)); }
    CHATKIT_WP_STR(label, "label")  ///< Text next to the box.
    CHATKIT_WP_BOOL(default_checked, "defaultChecked")  ///< `defaultChecked`: whether the box starts checked.
    CHATKIT_WP_ACTION(on_change, "onChangeAction")  ///< `onChangeAction`: sent when toggled.
    CHATKIT_WP_BOOL(disabled, "disabled")  ///< Show the box disabled; it cannot be toggled.
    CHATKIT_WP_BOOL(required, "required")  ///< The form cannot be submitted unless the box is checked.
};

/// `Input`: a one-line form field.
class InputNode : public Component<InputNode> {
public:
    using Self = InputNode;  ///< What the setters return.
    /// An Input for the field `name`; applications call Input().
    explicit InputNode(std::string_view name) : Component("Input") { set_("name", JsonValue(name)); }
    CHATKIT_WP_STR(input_type, "inputType")  ///< `inputType`: `text`, `number`, `email`, `password`...
    CHATKIT_WP_STR(default_value, "defaultValue")  ///< `defaultValue`: the text the field starts with.
    CHATKIT_WP_BOOL(required, "required")  ///< The form cannot be submitted while the field is empty.
    CHATKIT_WP_STR(pattern, "pattern")  ///< Regular expression the value must match.
    CHATKIT_WP_STR(placeholder, "placeholder")  ///< Text shown while the field is empty.
    /// `allowAutofillExtensions`: let password managers and autofill add-ons act.
    CHATKIT_WP_BOOL(allow_autofill_extensions, "allowAutofillExtensions")
    CHATKIT_WP_BOOL(auto_select, "autoSelect")  ///< `autoSelect`: select all on appearing.
    CHATKIT_WP_BOOL(auto_focus, "autoFocus")  ///< `autoFocus`: focus the field when it appears.
    CHATKIT_WP_BOOL(disabled, "disabled")  ///< Show the field disabled; it cannot be edited.
    CHATKIT_WP_STR(variant, "variant")  ///< Style: `soft` or `outline`.
    CHATKIT_WP_STR(size, "size")  ///< Control size token: `3xs` ... `3xl`.
    CHATKIT_WP_STR(gutter_size, "gutterSize")  ///< `gutterSize`: side padding, `2xs`...`xl`.
    CHATKIT_WP_BOOL(pill, "pill")  ///< Fully rounded ends.
};

/// `Textarea`: a multi-line form field.
class TextareaNode : public Component<TextareaNode> {
public:
    using Self = TextareaNode;  ///< What the setters return.
    /// A Textarea for the field `name`; applications call Textarea().
    explicit TextareaNode(std::string_view name) : Component("Textarea") { set_("name", JsonValue(name)); }
    CHATKIT_WP_STR(default_value, "defaultValue")  ///< `defaultValue`: the text the field starts with.
    CHATKIT_WP_BOOL(required, "required")  ///< The form cannot be submitted while the field is empty.
    CHATKIT_WP_STR(pattern, "pattern")  ///< Regular expression the value must match.
    CHATKIT_WP_STR(placeholder, "placeholder")  ///< Text shown while the field is empty.
    CHATKIT_WP_BOOL(auto_select, "autoSelect")  ///< `autoSelect`: select all on appearing.
    CHATKIT_WP_BOOL(auto_focus, "autoFocus")  ///< `autoFocus`: focus the field when it appears.
    CHATKIT_WP_BOOL(disabled, "disabled")  ///< Show the field disabled; it cannot be edited.
    CHATKIT_WP_STR(variant, "variant")  ///< Style: `soft` or `outline`.
    CHATKIT_WP_STR(size, "size")  ///< Control size token: `3xs` ... `3xl`.
    CHATKIT_WP_STR(gutter_size, "gutterSize")  ///< `gutterSize`: side padding, `2xs`...`xl`.
    CHATKIT_WP_INT(rows, "rows")  ///< Number of lines visible at first.
    CHATKIT_WP_BOOL(auto_resize, "autoResize")  ///< `autoResize`: grow and shrink with the text.
    CHATKIT_WP_INT(max_rows, "maxRows")  ///< `maxRows`: the most lines `auto_resize` grows to.
    /// `allowAutofillExtensions`: let password managers and autofill add-ons act.
    CHATKIT_WP_BOOL(allow_autofill_extensions, "allowAutofillExtensions")
};

/// `RadioGroup`: one choice among radio buttons, submitted under the field's `name`. `options`
/// (`[{label, value, disabled?}]`) is optional, like in the reference.
class RadioGroupNode : public Component<RadioGroupNode> {
public:
    using Self = RadioGroupNode;  ///< What the setters return.
    /// A RadioGroup for the field `name`; applications call RadioGroup().
    explicit RadioGroupNode(std::string_view name) : Component("RadioGroup") { set_("name", JsonValue(name)); }
    CHATKIT_WP_ANY(options, "options")  ///< The choices: `[{label, value, disabled?}]`.
    CHATKIT_WP_STR(aria_label, "ariaLabel")  ///< `ariaLabel`: name for screen readers.
    CHATKIT_WP_ACTION(on_change, "onChangeAction")  ///< `onChangeAction`: sent when the choice changes.
    CHATKIT_WP_STR(default_value, "defaultValue")  ///< `defaultValue`: the value chosen at first.
    CHATKIT_WP_STR(direction, "direction")  ///< Layout of the choices: `"row"` or `"col"`.
    CHATKIT_WP_BOOL(disabled, "disabled")  ///< Show the whole group disabled.
    CHATKIT_WP_BOOL(required, "required")  ///< The form cannot be submitted without a choice.
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
/// A `Card` root holding `children`.
inline CardNode Card(Children children) { return CardNode(std::move(children)); }
/// A `ListViewItem` row holding `children`; only valid as a ListView child.
inline ListViewItemNode ListViewItem(Children children) { return ListViewItemNode(std::move(children)); }
/// A `ListView` root of `items`.
inline ListViewNode ListView(std::vector<ListViewItemNode> items) { return ListViewNode(std::move(items)); }
/// A `Basic` root (entity previews), empty or holding `children`. @{
inline BasicNode Basic() { return BasicNode(); }
inline BasicNode Basic(Children children) { return BasicNode(std::move(children)); }
/// @}
/// A `Box`, empty or holding `children`. @{
inline BoxNode Box() { return BoxNode(); }
inline BoxNode Box(Children children) { return BoxNode(std::move(children)); }
/// @}
/// A `Row`, empty or holding `children`. @{
inline RowNode Row() { return RowNode(); }
inline RowNode Row(Children children) { return RowNode(std::move(children)); }
/// @}
/// A `Col`, empty or holding `children`. @{
inline ColNode Col() { return ColNode(); }
inline ColNode Col(Children children) { return ColNode(std::move(children)); }
/// @}
/// A `Form`, empty or holding `children`. @{
inline FormNode Form() { return FormNode(); }
inline FormNode Form(Children children) { return FormNode(std::move(children)); }
/// @}
/// A `Transition`, empty or around `child`. @{
inline TransitionNode Transition() { return TransitionNode(); }
inline TransitionNode Transition(Node child) { return TransitionNode(std::move(child)); }
/// @}
/// A `Divider`.
inline DividerNode Divider() { return DividerNode(); }
/// A `Spacer`.
inline SpacerNode Spacer() { return SpacerNode(); }
/// A `Text` showing `value`.
inline TextNode Text(std::string_view value) { return TextNode(std::move(value)); }
/// A `Title` showing `value`.
inline TitleNode Title(std::string_view value) { return TitleNode(std::move(value)); }
/// A `Caption` showing `value`.
inline CaptionNode Caption(std::string_view value) { return CaptionNode(std::move(value)); }
/// A `Markdown` rendering `value`.
inline MarkdownNode Markdown(std::string_view value) { return MarkdownNode(std::move(value)); }
/// A `Badge` reading `label`.
inline BadgeNode Badge(std::string_view label) { return BadgeNode(std::move(label)); }
/// A `Label` reading `value` for the form field named `field_name`.
inline LabelNode Label(std::string_view value, std::string_view field_name) { return LabelNode(std::move(value), std::move(field_name)); }
/// An `Icon` named `name` (an IconName, §3.11; not validated here).
inline IconNode Icon(std::string_view name) { return IconNode(std::move(name)); }
/// An `Image` loading `src`.
inline ImageNode Image(std::string_view src) { return ImageNode(std::move(src)); }
/// A `Chart` of `data` rows drawn by `series` along `x_axis` (see ChartNode).
inline ChartNode Chart(boost::json::array data, boost::json::array series, PropValue x_axis) { return ChartNode(std::move(data), std::move(series), std::move(x_axis)); }
/// A `Button`, without a label or reading `label`. @{
inline ButtonNode Button() { return ButtonNode(); }
inline ButtonNode Button(std::string_view label) { return ButtonNode(std::move(label)); }
/// @}
/// A `Select` for the form field `name` offering `options` (`[{value, label, ...}]`).
inline SelectNode Select(std::string_view name, boost::json::array options) { return SelectNode(std::move(name), std::move(options)); }
/// A `DatePicker` for the form field `name`.
inline DatePickerNode DatePicker(std::string_view name) { return DatePickerNode(std::move(name)); }
/// A `Checkbox` for the form field `name`.
inline CheckboxNode Checkbox(std::string_view name) { return CheckboxNode(std::move(name)); }
/// An `Input` for the form field `name`.
inline InputNode Input(std::string_view name) { return InputNode(std::move(name)); }
/// A `Textarea` for the form field `name`.
inline TextareaNode Textarea(std::string_view name) { return TextareaNode(std::move(name)); }
/// A `RadioGroup` for the form field `name`.
inline RadioGroupNode RadioGroup(std::string_view name) { return RadioGroupNode(std::move(name)); }

#undef CHATKIT_WIDGET_PROP_ALT_
#undef CHATKIT_WIDGET_PROP_

}  // namespace chatkit::widgets
