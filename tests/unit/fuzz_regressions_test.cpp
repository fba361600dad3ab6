// Inputs found by the fuzzers in fuzz/ (docs/reliability.md), replayed against the fixed library.
// Each case names its fuzz target and states the behaviour a user would see.
#include <chatkit/protocol/json.hpp>
#include <chatkit/widgets.hpp>

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <variant>

using namespace chatkit;
namespace json = boost::json;

TEST_CASE("fuzz_diff_widget: text growing inside an array nested in children replaces the root",
          "[widgets][fuzz]") {
    // A Text node inside an array inside `children` is not reachable by id, so a streaming delta
    // cannot update it: the change must go out as a root replacement, not be dropped.
    auto const before = parse_json(R"({"type":"Card","children":[[{"type":"Text","id":"t","value":"a"}]]})");
    auto const after = parse_json(R"({"type":"Card","children":[[{"type":"Text","id":"t","value":"ab"}]]})");
    auto const updates = diff_widget(before.as_object(), after.as_object());
    REQUIRE(updates.size() == 1);
    auto const* root = std::get_if<WidgetRootUpdated>(&updates[0]);
    REQUIRE(root != nullptr);
    CHECK(json::value(root->widget) == after);
}

TEST_CASE("fuzz_diff_widget: text growing directly in children still streams as a delta", "[widgets][fuzz]") {
    auto const before = parse_json(R"({"type":"Card","children":[{"type":"Text","id":"t","value":"a"}]})");
    auto const after = parse_json(R"({"type":"Card","children":[{"type":"Text","id":"t","value":"ab"}]})");
    auto const updates = diff_widget(before.as_object(), after.as_object());
    REQUIRE(updates.size() == 1);
    CHECK(std::get<WidgetStreamingTextValueDelta>(updates[0]) == WidgetStreamingTextValueDelta{"t", "b", true});
}

TEST_CASE("fuzz_diff_widget: text growing inside a Transition is neither a delta nor a root replacement",
          "[widgets][fuzz]") {
    // The reference reaches streaming-text nodes only through `children` arrays; a Transition's single
    // child is compared as a component, so an append there sends nothing and shows in the final item.
    // The oracle once required a delta here; the library was right (fuzz/fuzz_diff_widget.cpp).
    auto const before = parse_json(
        R"({"type":"Card","children":[{"type":"Transition","children":{"type":"Text","id":"t","value":"a"}}]})");
    auto const after = parse_json(
        R"({"type":"Card","children":[{"type":"Transition","children":{"type":"Text","id":"t","value":"ab"}}]})");
    CHECK(diff_widget(before.as_object(), after.as_object()).empty());

    auto const changed = parse_json(
        R"({"type":"Card","children":[{"type":"Transition","children":{"type":"Text","id":"t","value":"x"}}]})");
    auto const updates = diff_widget(before.as_object(), changed.as_object());
    REQUIRE(updates.size() == 1);
    CHECK(std::holds_alternative<WidgetRootUpdated>(updates[0]));
}
