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
