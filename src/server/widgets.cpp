// Widget diffs and streaming (PROTOCOL.md §8.3-8.4).
#include <chatkit/protocol/json.hpp>
#include <chatkit/server/widgets.hpp>

#include <stdexcept>
#include <unordered_map>

namespace chatkit {
namespace {

using boost::json::object;
using boost::json::value;

value const null_value;

value const& prop(object const& node, std::string_view key) {
    auto const* v = node.if_contains(key);
    return v ? *v : null_value;
}

bool is_streaming_text(object const& node) {
    auto const& type = prop(node, "type");
    return type.is_string() && (type.get_string() == "Text" || type.get_string() == "Markdown") &&
           prop(node, "value").is_string();
}

bool starts_with(value const& longer, value const& prefix) {
    return longer.get_string().subview().starts_with(prefix.get_string().subview());
}

bool full_replace(object const& before, object const& after);

// True when two prop values differ. With `children`, x and y are the values of a `children` prop:
// the objects directly in those arrays (or a single object as the whole value) are components and
// compare as such (a streaming text value may grow). Anything deeper (an array inside `children`, an
// object in another prop) compares by value: collect_text_nodes() does not look there.
bool differs(value const& x, value const& y, bool children) {
    if (x.is_array() && y.is_array()) {
        auto const& a = x.get_array();
        auto const& b = y.get_array();
        if (a.size() != b.size()) return true;
        for (std::size_t i = 0; i < a.size(); ++i) {
            if (a[i] == b[i]) continue;
            if (children && a[i].is_object() && b[i].is_object()) {
                if (full_replace(a[i].get_object(), b[i].get_object())) return true;
                continue;
            }
            return true;
        }
        return false;
    }
    if (x == y) return false;
    // A single component as the whole `children` value (Transition): compared as a component, as the
    // reference does (a growing streaming text there shows only in the final item).
    if (children && x.is_object() && y.is_object()) return full_replace(x.get_object(), y.get_object());
    return true;
}

bool full_replace(object const& before, object const& after) {
    for (auto key : {"type", "id", "key"})
        if (prop(before, key) != prop(after, key)) return true;
    bool const both_text = is_streaming_text(before) && is_streaming_text(after);
    auto check = [&](std::string_view key) {
        auto const& b = prop(before, key);
        auto const& a = prop(after, key);
        if (both_text && key == "value" && starts_with(a, b)) return false;
        return differs(b, a, key == "children");
    };
    for (auto const& entry : before)
        if (check(entry.key())) return true;
    for (auto const& entry : after)
        if (!before.contains(entry.key()) && check(entry.key())) return true;
    return false;
}

// Streaming-text nodes with a non-empty id, in pre-order through `children` arrays only, one per
// id: like the reference's dict, a repeated id keeps its first position and its last node.
using text_nodes = std::vector<std::pair<std::string, object const*>>;

void collect_text_nodes(object const& node, text_nodes& out, std::unordered_map<std::string, std::size_t>& index) {
    if (is_streaming_text(node)) {
        auto const& id = prop(node, "id");
        if (id.is_string() && !id.get_string().empty()) {
            std::string key(id.get_string());
            if (auto it = index.find(key); it != index.end()) {
                out[it->second].second = &node;
            } else {
                index.emplace(key, out.size());
                out.emplace_back(std::move(key), &node);
            }
        }
    }
    auto const& children = prop(node, "children");
    if (!children.is_array()) return;
    for (auto const& child : children.get_array())
        if (child.is_object()) collect_text_nodes(child.get_object(), out, index);
}

text_nodes collect_text_nodes(object const& root) {
    text_nodes out;
    std::unordered_map<std::string, std::size_t> index;
    collect_text_nodes(root, out, index);
    return out;
}

}  // namespace

std::vector<ThreadItemUpdate> diff_widget(WidgetRoot const& before_in, WidgetRoot const& after_in) {
    // Absent and null props are the same thing in a widget.
    auto const before_v = strip_nulls(before_in);
    auto const after_v = strip_nulls(after_in);
    auto const& before = before_v.get_object();
    auto const& after = after_v.get_object();

    if (full_replace(before, after)) return {WidgetRootUpdated{after}};

    auto const old_nodes = collect_text_nodes(before);
    auto const new_nodes = collect_text_nodes(after);
    std::unordered_map<std::string_view, object const*> old_by_id;
    for (auto const& [id, node] : old_nodes) old_by_id.emplace(id, node);

    std::vector<ThreadItemUpdate> updates;
    for (auto const& [id, node] : new_nodes) {
        auto it = old_by_id.find(id);
        if (it == old_by_id.end())
            throw std::invalid_argument("Node " + id +
                                        " was not present when the widget was initially rendered. All nodes with ID "
                                        "must persist across all widget updates.");
        auto const& old_value = prop(*it->second, "value");
        auto const& new_value = prop(*node, "value");
        if (old_value == new_value) continue;
        if (!starts_with(new_value, old_value))
            throw std::invalid_argument("Node " + id +
                                        " was updated with a new value that is not a prefix of the initial value. "
                                        "All widget updates must be cumulative.");
        auto const& streaming = prop(*node, "streaming");
        bool const still_streaming = streaming.is_bool() && streaming.get_bool();
        auto const& text = new_value.get_string();
        updates.emplace_back(WidgetStreamingTextValueDelta{
            id, std::string(text.subview().substr(old_value.get_string().size())), !still_streaming});
    }
    return updates;
}

WidgetStream::WidgetStream(EventSink& events, std::optional<std::string> copy_text) : events_(&events) {
    item_.id = events.generate_item_id(StoreItemType::message);
    item_.thread_id = events.thread_id();
    item_.created_at = now();
    item_.copy_text = std::move(copy_text);
}

asio::awaitable<void> WidgetStream::update(WidgetRoot state) {
    if (!started_) {
        started_ = true;
        item_.widget = std::move(state);
        ThreadStreamEvent added = ThreadItemAddedEvent{item_};
        co_await events_->emit(std::move(added));
        co_return;
    }
    auto updates = diff_widget(item_.widget, state);
    item_.widget = std::move(state);
    for (auto& update : updates) {
        ThreadStreamEvent event = ThreadItemUpdatedEvent{item_.id, std::move(update)};
        co_await events_->emit(std::move(event));
    }
}

asio::awaitable<void> WidgetStream::done() {
    if (!started_) throw std::logic_error("WidgetStream::done() before any state");
    ThreadStreamEvent event = ThreadItemDoneEvent{item_};
    co_await events_->emit(std::move(event));
}

asio::awaitable<void> stream_widget(EventSink& events, WidgetRoot widget, std::optional<std::string> copy_text) {
    WidgetItem item{events.generate_item_id(StoreItemType::message), events.thread_id(), now(), std::move(widget),
                    std::move(copy_text)};
    ThreadStreamEvent event = ThreadItemDoneEvent{std::move(item)};
    co_await events.emit(std::move(event));
}

asio::awaitable<void> stream_widget(EventSink& events, std::vector<WidgetRoot> states,
                                    std::optional<std::string> copy_text) {
    if (states.empty()) throw std::invalid_argument("stream_widget needs at least one widget state");
    WidgetStream stream(events, std::move(copy_text));
    for (auto& state : states) co_await stream.update(std::move(state));
    co_await stream.done();
}

}  // namespace chatkit
