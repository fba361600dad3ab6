// chatkit-cpp protocol: widget trees as JSON (PROTOCOL.md §8.1).
#pragma once

#include <chatkit/protocol/common.hpp>

namespace chatkit {

/// A widget tree: a JSON object whose `type` is `Card`, `ListView` or `Basic` at the root.
///
/// Widgets are JSON with camelCase props; every null is stripped at every depth when written.
/// `chatkit/protocol/widget_builders.hpp` has typed builders; `chatkit/server/widgets.hpp` has `diff_widget`
/// and `stream_widget`.
using WidgetRoot = JsonObject;

/// One component of a widget tree (any `type`).
using WidgetComponent = JsonObject;

}  // namespace chatkit
