// Typed widget builders (include/chatkit/widgets/builders.hpp). Expected strings are the reference's
// `model_dump_json(exclude_none=True)` of the same typed widgets (chatkit-python, chatkit/widgets.py),
// except where noted: our key order is `key, id, type`, then props in call order.
#include <catch2/catch.hpp>

#include <chatkit/protocol/json.hpp>
#include <chatkit/widgets.hpp>
#include <chatkit/widgets/builders.hpp>

#include <boost/json/parse.hpp>

#include <stdexcept>

using namespace chatkit::widgets;
using chatkit::serialize;
using chatkit::WidgetRoot;

namespace {
std::string js(Node const& n) { return chatkit::serialize(n.json()); }
}  // namespace

TEST_CASE("builders: Card with Text matches the reference byte for byte", "[widgets]") {
    WidgetRoot w = Card({Text("hello").id("t").streaming(true).weight("semibold")}).size("sm").padding(2);
    CHECK(chatkit::serialize(w) ==
          R"({"type":"Card","children":[{"id":"t","type":"Text","value":"hello","streaming":true,"weight":"semibold"}],"size":"sm","padding":2.0})");
}

TEST_CASE("builders: ActionConfig defaults, payload nulls stripped", "[widgets]") {
    CHECK(js(Button("Go").on_click({.type = "go"})) ==
          R"({"type":"Button","label":"Go","onClickAction":{"type":"go","handler":"server","loadingBehavior":"auto","streaming":true}})");
    ActionConfig a{.type = "go",
                   .payload = boost::json::parse(R"({"x":null,"y":[1,null]})"),
                   .handler = "client",
                   .loading_behavior = "self",
                   .streaming = false};
    CHECK(js(Button("Go").on_click(a)) ==
          R"({"type":"Button","label":"Go","onClickAction":{"type":"go","payload":{"y":[1]},"handler":"client","loadingBehavior":"self","streaming":false}})");
    CHECK_THROWS_AS((ActionConfig{.type = "x", .handler = "browser"}.to_json()), std::invalid_argument);
    CHECK_THROWS_AS((ActionConfig{.type = "x", .loading_behavior = "later"}.to_json()), std::invalid_argument);
    CHECK_THROWS_AS(ActionConfig{}.to_json(), std::invalid_argument);
}

TEST_CASE("builders: ListView, Transition, Select, Label, DatePicker, Text match the reference", "[widgets]") {
    WidgetRoot lv = ListView({ListViewItem({Title("T")}).on_click({.type = "open", .payload = {{"id", 1}}})}).limit("auto");
    CHECK(chatkit::serialize(lv) ==
          R"({"type":"ListView","children":[{"type":"ListViewItem","children":[{"type":"Title","value":"T"}],"onClickAction":{"type":"open","payload":{"id":1},"handler":"server","loadingBehavior":"auto","streaming":true}}],"limit":"auto"})");
    CHECK(js(Transition(Text("x"))) == R"({"type":"Transition","children":{"type":"Text","value":"x"}})");
    CHECK(js(Transition()) == R"({"type":"Transition"})");
    boost::json::array options{boost::json::object{{"value", "a"}, {"label", "A"}}};
    CHECK(js(Select("s", options).placeholder("p")) ==
          R"({"type":"Select","name":"s","options":[{"value":"a","label":"A"}],"placeholder":"p"})");
    CHECK(js(Label("Email", "email")) == R"({"type":"Label","value":"Email","fieldName":"email"})");
    CHECK(js(DatePicker("d").default_value("2024-01-02T03:04:05")) ==
          R"({"type":"DatePicker","name":"d","defaultValue":"2024-01-02T03:04:05"})");
    // Text.width is a float in the reference; minLines an int.
    CHECK(js(Text("w").width(3).min_lines(2)) == R"({"type":"Text","value":"w","width":3.0,"minLines":2})");
    WidgetRoot card = Card({}).confirm("OK", {.type = "ok", .payload = {{"a", nullptr}}});
    CHECK(chatkit::serialize(card) ==
          R"({"type":"Card","children":[],"confirm":{"label":"OK","action":{"type":"ok","payload":{},"handler":"server","loadingBehavior":"auto","streaming":true}}})");
}

TEST_CASE("builders: leaf components with only required props match the reference", "[widgets]") {
    // Reference: Card(asForm=True, children=[...]) emits asForm before children (declaration order);
    // our builder emits it after, in call order.
    WidgetRoot w = Card({Divider(), Icon("star"), Image("https://x/y.png"), Spacer(), Checkbox("c"), Textarea("t"),
                         RadioGroup("r"), DatePicker("d"), Markdown("**m**").streaming(false)})
                       .as_form(true);
    CHECK(chatkit::serialize(w) ==
          R"({"type":"Card","children":[{"type":"Divider"},{"type":"Icon","name":"star"},{"type":"Image","src":"https://x/y.png"},{"type":"Spacer"},{"type":"Checkbox","name":"c"},{"type":"Textarea","name":"t"},{"type":"RadioGroup","name":"r"},{"type":"DatePicker","name":"d"},{"type":"Markdown","value":"**m**","streaming":false}],"asForm":true})");
    WidgetRoot basic = Basic({Caption("c")}).gap(2);
    CHECK(chatkit::serialize(basic) == R"({"type":"Basic","children":[{"type":"Caption","value":"c"}],"gap":2})");
}

TEST_CASE("builders: box components put type first (the reference puts box props first)", "[widgets]") {
    // Reference: {"children":[{"type":"Badge","label":"new"}],"gap":2,"type":"Row"}
    auto row = Row({Badge("new")}).gap(2);
    CHECK(js(row) == R"({"type":"Row","children":[{"type":"Badge","label":"new"}],"gap":2})");
    CHECK(row.json() == boost::json::parse(R"({"children":[{"type":"Badge","label":"new"}],"gap":2,"type":"Row"})"));
    // Reference: {"children":[],"gap":2,"type":"Box","direction":"col"}
    CHECK(js(Col({Col({Text("a")})})) == R"({"type":"Col","children":[{"type":"Col","children":[{"type":"Text","value":"a"}]}]})");
    CHECK(js(Box({}).direction("col").gap(2)) == R"({"type":"Box","children":[],"direction":"col","gap":2})");
    CHECK(js(Col().padding(1).margin("4px")) == R"({"type":"Col","padding":1.0,"margin":"4px"})");
    // Reference: {"children":[{"type":"Input",...}],"type":"Form","onSubmitAction":{...}}
    CHECK(js(Form({Input("email").input_type("email")}).on_submit({.type = "submit"})) ==
          R"({"type":"Form","children":[{"type":"Input","name":"email","inputType":"email"}],"onSubmitAction":{"type":"submit","handler":"server","loadingBehavior":"auto","streaming":true}})");
}

TEST_CASE("builders: key/id/type first; props in call order; set again in place", "[widgets]") {
    auto t = Text("v").color("red").key("k").size("sm").id("i").color("blue");
    CHECK(js(t) == R"({"key":"k","id":"i","type":"Text","value":"v","color":"blue","size":"sm"})");
    t.id(std::nullopt);
    CHECK(js(t) == R"({"key":"k","type":"Text","value":"v","color":"blue","size":"sm"})");
}

TEST_CASE("builders: nulls are never written", "[widgets]") {
    auto b = Badge("x").color("red").variant("soft").pill(true);
    b.color(std::nullopt);
    CHECK(js(b) == R"({"type":"Badge","label":"x","variant":"soft","pill":true})");
    b.variant(std::optional<std::string>{}).pill(std::optional<bool>{false});
    CHECK(js(b) == R"({"type":"Badge","label":"x","pill":false})");
    b.prop("pill", nullptr).prop("extra", boost::json::parse(R"({"a":null,"b":[null,2]})"));
    CHECK(js(b) == R"({"type":"Badge","label":"x","extra":{"b":[2]}})");
}

TEST_CASE("builders: unknown props pass through", "[widgets]") {
    WidgetRoot w = Card({Text("a").prop("fancyProp", boost::json::parse(R"({"x":[1,"y"]})"))})
                       .prop("border", 1)
                       .prop("dataTest", "z");
    CHECK(chatkit::serialize(w) ==
          R"({"type":"Card","children":[{"type":"Text","value":"a","fancyProp":{"x":[1,"y"]}}],"border":1,"dataTest":"z"})");
    CHECK_THROWS_AS(Text("a").prop("type", "Title"), std::invalid_argument);
    CHECK(js(Text("a").prop("id", "q")) == R"({"id":"q","type":"Text","value":"a"})");
    Node n("Table");
    n.prop("colSize", 3).id("tbl");
    CHECK(js(n) == R"({"id":"tbl","type":"Table","colSize":3})");
}

TEST_CASE("builders: root types are enforced", "[widgets]") {
    CHECK_THROWS_AS(static_cast<WidgetRoot>(Text("a")), std::invalid_argument);
    CHECK_THROWS_AS(static_cast<WidgetRoot>(Row({})), std::invalid_argument);
    CHECK_NOTHROW(static_cast<WidgetRoot>(Basic()));
    CHECK_NOTHROW(static_cast<WidgetRoot>(ListView({})));
    CHECK(Text("a").json().at("type") == "Text");  // json() has no root check
    CHECK_THROWS_AS(Card({ListViewItem({Text("a")})}), std::invalid_argument);
    CHECK_THROWS_AS(Transition(ListViewItem({})), std::invalid_argument);
    CHECK_THROWS_AS(ListView({ListViewItem({ListViewItem({})})}), std::invalid_argument);
}

TEST_CASE("builders: diff_widget works on built widgets", "[widgets]") {
    auto state = [](std::string_view text, bool streaming) -> WidgetRoot {
        return Card({Title("T"), Markdown(text).id("md").streaming(streaming)}).size("md");
    };
    CHECK(chatkit::diff_widget(state("Hel", true), state("Hel", true)).empty());
    auto deltas = chatkit::diff_widget(state("Hel", true), state("Hello", true));
    REQUIRE(deltas.size() == 1);
    auto const* d = std::get_if<chatkit::WidgetStreamingTextValueDelta>(&deltas[0]);
    REQUIRE(d != nullptr);
    CHECK(d->component_id == "md");
    CHECK(d->delta == "lo");
    CHECK_FALSE(d->done);
    // streaming true -> false is a prop change: the whole root is replaced (PROTOCOL.md §8.3).
    CHECK(std::holds_alternative<chatkit::WidgetRootUpdated>(chatkit::diff_widget(state("Hel", true), state("Hello", false)).at(0)));
    WidgetRoot other = Card({Title("U"), Markdown("Hel").id("md").streaming(true)}).size("md");
    auto replaced = chatkit::diff_widget(state("Hel", true), other);
    REQUIRE(replaced.size() == 1);
    CHECK(std::holds_alternative<chatkit::WidgetRootUpdated>(replaced[0]));
}

TEST_CASE("builders: Chart, Image and Button setters", "[widgets]") {
    auto c = Chart(boost::json::array{boost::json::object{{"m", "Jan"}, {"v", 3}}},
            boost::json::array{boost::json::object{{"type", "bar"}, {"label", "V"}, {"dataKey", "v"}}}, "m");
    c.show_legend(true).height(200).aspect_ratio(2);
    CHECK(js(c) ==
          R"({"type":"Chart","data":[{"m":"Jan","v":3}],"series":[{"type":"bar","label":"V","dataKey":"v"}],"xAxis":"m","showLegend":true,"height":200,"aspectRatio":2.0})");
    CHECK(js(Image("u").alt("a").width(40).radius("full")) ==
          R"({"type":"Image","src":"u","alt":"a","width":40,"radius":"full"})");
    CHECK(js(Button().submit(true).label("Send").icon_start("sparkle").style("primary")) ==
          R"({"type":"Button","submit":true,"label":"Send","iconStart":"sparkle","style":"primary"})");
}
