// diff_widget edge cases (PROTOCOL.md §8.3); expected results are what the reference's diff_widget
// (chatkit-python, chatkit/server.py) returns for the same typed widgets.
#include <catch2/catch.hpp>

#include <chatkit/protocol/json.hpp>
#include <chatkit/protocol/widget_builders.hpp>
#include <chatkit/server/widgets.hpp>

using namespace chatkit::widgets;
using chatkit::WidgetRoot;
using chatkit::WidgetRootUpdated;
using chatkit::WidgetStreamingTextValueDelta;

TEST_CASE("diff_widget: a repeated id behaves like the reference (first position, last node)", "[widgets]") {
    // Reference: one delta {"component_id":"x","delta":"2","done":false}.
    WidgetRoot before = Card({Text("a").id("x").streaming(true), Text("b").id("x").streaming(true)});
    WidgetRoot after = Card({Text("a1").id("x").streaming(true), Text("b2").id("x").streaming(true)});
    auto updates = chatkit::diff_widget(before, after);
    REQUIRE(updates.size() == 1);
    CHECK(std::get<WidgetStreamingTextValueDelta>(updates[0]) == WidgetStreamingTextValueDelta{"x", "2", false});
}

TEST_CASE("diff_widget: changes that break the cumulative-text rule replace the root", "[widgets]") {
    WidgetRoot before = Card({Markdown("Hello").id("m").streaming(true)});
    // Rewritten (not appended) text: the reference's structural check answers root.updated before its
    // "not a prefix" rule is reached.
    WidgetRoot rewritten = Card({Markdown("Goodbye").id("m").streaming(true)});
    auto updates = chatkit::diff_widget(before, rewritten);
    REQUIRE(updates.size() == 1);
    CHECK(std::get<WidgetRootUpdated>(updates[0]).widget == rewritten);
    // A streaming node that disappears (or gets another id): root.updated, never a partial update.
    WidgetRoot gone = Card({Markdown("Hello").streaming(true)});
    CHECK(std::holds_alternative<WidgetRootUpdated>(chatkit::diff_widget(before, gone).at(0)));
    WidgetRoot more = Card({Markdown("Hello").id("m").streaming(true), Text("new").id("n")});
    CHECK(std::holds_alternative<WidgetRootUpdated>(chatkit::diff_widget(before, more).at(0)));
    // Root type change.
    WidgetRoot list = ListView({});
    CHECK(std::get<WidgetRootUpdated>(chatkit::diff_widget(before, list).at(0)).widget == list);
}

TEST_CASE("diff_widget: several streaming nodes give one delta each, in walk order", "[widgets]") {
    WidgetRoot before = Card({Row({Text("a").id("t1").streaming(true)}), Markdown("").id("t2").streaming(true)});
    WidgetRoot after = Card({Row({Text("ab").id("t1").streaming(true)}), Markdown("xyz").id("t2")});
    // t2 loses `streaming` (a prop change): root.updated.
    CHECK(std::holds_alternative<WidgetRootUpdated>(chatkit::diff_widget(before, after).at(0)));
    WidgetRoot after2 = Card({Row({Text("ab").id("t1").streaming(true)}), Markdown("xyz").id("t2").streaming(true)});
    auto updates = chatkit::diff_widget(before, after2);
    REQUIRE(updates.size() == 2);
    CHECK(std::get<WidgetStreamingTextValueDelta>(updates[0]) == WidgetStreamingTextValueDelta{"t1", "b", false});
    CHECK(std::get<WidgetStreamingTextValueDelta>(updates[1]) == WidgetStreamingTextValueDelta{"t2", "xyz", false});
}

TEST_CASE("diff_widget: text inside a Transition only shows in the final item", "[widgets]") {
    WidgetRoot before = Card({Transition(Text("a").id("t").streaming(true))});
    WidgetRoot after = Card({Transition(Text("ab").id("t").streaming(true))});
    CHECK(chatkit::diff_widget(before, after).empty());
}

TEST_CASE("diff_widget: a component gaining or losing an undeclared prop replaces the root", "[widgets]") {
    // The reference throws AttributeError here for template-built components (PROTOCOL.md §8.3).
    WidgetRoot before = Basic({Text("a")});
    WidgetRoot after = Basic({Text("a")}).prop("custom", 1);
    CHECK(std::holds_alternative<WidgetRootUpdated>(chatkit::diff_widget(before, after).at(0)));
    CHECK(std::holds_alternative<WidgetRootUpdated>(chatkit::diff_widget(after, before).at(0)));
}
