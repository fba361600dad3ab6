// Typed widget builders (include/chatkit/protocol/widget_builders.hpp). Expected strings are the reference's
// `model_dump_json(exclude_none=True)` of the same typed widgets (chatkit-python, chatkit/widgets.py,
// pydantic 2.13), byte for byte: the builders write the reference's key order whatever the order of
// the setter calls.
#include <catch2/catch.hpp>

#include <chatkit/protocol/json.hpp>
#include <chatkit/protocol/widget_builders.hpp>
#include <chatkit/server/widgets.hpp>

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
    // Card.asForm is declared before children in the reference.
    WidgetRoot w = Card({Divider(), Icon("star"), Image("https://x/y.png"), Spacer(), Checkbox("c"), Textarea("t"),
                         RadioGroup("r"), DatePicker("d"), Markdown("**m**").streaming(false)})
                       .as_form(true);
    CHECK(chatkit::serialize(w) ==
          R"({"type":"Card","asForm":true,"children":[{"type":"Divider"},{"type":"Icon","name":"star"},{"type":"Image","src":"https://x/y.png"},{"type":"Spacer"},{"type":"Checkbox","name":"c"},{"type":"Textarea","name":"t"},{"type":"RadioGroup","name":"r"},{"type":"DatePicker","name":"d"},{"type":"Markdown","value":"**m**","streaming":false}]})");
    WidgetRoot basic = Basic({Caption("c")}).gap(2);
    CHECK(chatkit::serialize(basic) == R"({"type":"Basic","children":[{"type":"Caption","value":"c"}],"gap":2})");
}

TEST_CASE("builders: box components put their box props before type, like the reference", "[widgets]") {
    // Box/Row/Col/Form inherit the box props from a base class listed after the component base.
    CHECK(js(Row({Badge("new")}).gap(2)) == R"({"children":[{"type":"Badge","label":"new"}],"gap":2,"type":"Row"})");
    CHECK(js(Col({Col({Text("a")})})) == R"({"children":[{"children":[{"type":"Text","value":"a"}],"type":"Col"}],"type":"Col"})");
    CHECK(js(Box({}).direction("col").gap(2)) == R"({"children":[],"gap":2,"type":"Box","direction":"col"})");
    CHECK(js(Col().margin("4px").padding(1)) == R"({"padding":1.0,"margin":"4px","type":"Col"})");
    CHECK(js(Box({Text("a")}).id("b").key("k").direction("row").padding(2)) ==
          R"({"children":[{"type":"Text","value":"a"}],"padding":2.0,"key":"k","id":"b","type":"Box","direction":"row"})");
    CHECK(js(Form({Input("email").input_type("email")}).on_submit({.type = "submit"})) ==
          R"({"children":[{"type":"Input","name":"email","inputType":"email"}],"type":"Form","onSubmitAction":{"type":"submit","handler":"server","loadingBehavior":"auto","streaming":true}})");
}

TEST_CASE("builders: every component of PROTOCOL.md 8.2, setters called out of order, matches the reference",
          "[widgets]") {
    ActionConfig const go{.type = "go", .payload = {{"n", 1}}};
    boost::json::array select_options{boost::json::object{{"value", "a"}, {"label", "A"}}};
    boost::json::array radio_options{boost::json::object{{"label", "A"}, {"value", "a"}}};
    boost::json::array data{boost::json::object{{"m", "Jan"}, {"v", 3}}};
    boost::json::array series{boost::json::object{{"type", "bar"}, {"label", "V"}, {"dataKey", "v"}}};
    WidgetRoot card =
        Card({Box({Text("t").max_lines(2).width(3).id("txt").weight("bold").streaming(true).color("red")})
                  .id("box")
                  .padding(1)
                  .direction("row")
                  .gap(2)
                  .align("center"),
              Row({Title("T").size("lg").color("blue")}).key("r").margin("4px").justify("between"),
              Col({Caption("c").text_align("center").weight("normal")}).aspect_ratio(2).flex(1).gap("8px"),
              Form({Input("e").required(true).placeholder("p").input_type("email"),
                    Textarea("ta").rows(3).placeholder("x"), Checkbox("cb").default_checked(true).label("L"),
                    Select("s", select_options).clearable(true).placeholder("pick"),
                    RadioGroup("rg").aria_label("rg").direction("row").options(radio_options),
                    DatePicker("d").side("top").placeholder("when"), Label("Lbl", "e").weight("bold")})
                  .direction("col")
                  .gap(3)
                  .on_submit(go),
              Markdown("**m**").streaming(false).id("md"),
              Badge("new").pill(true).variant("soft").color("success"),
              Divider().flush(true).spacing(2),
              Icon("star").size("lg").color("red"),
              Image("https://x/y.png").radius("full").height(30).width(40).fit("cover").alt("a"),
              Button("Go").block(true).icon_start("sparkle").style("primary").on_click(go).submit(true),
              Spacer().min_size(4),
              Transition(Text("x")),
              Chart(data, series, "m").aspect_ratio(2).height(200).show_legend(true)})
            .theme("dark")
            .confirm("OK", {.type = "ok"})
            .collapsed(false)
            .status(boost::json::object{{"text", "S"}, {"icon", "star"}})
            .key("k")
            .id("card")
            .size("md")
            .padding(2)
            .background("surface")
            .as_form(true);
    // Reference: Card(asForm=True, padding=2, size="md", id="card", key="k", status=..., collapsed=False,
    // confirm=..., theme="dark", background="surface", children=[...same components...]).
    CHECK(chatkit::serialize(card) ==
          R"({"key":"k","id":"card","type":"Card","asForm":true,"children":[{"children":[{"id":"txt","type":"Text","value":"t","streaming":true,"color":"red","weight":"bold","width":3.0,"maxLines":2}],"align":"center","gap":2,"padding":1.0,"id":"box","type":"Box","direction":"row"},{"children":[{"type":"Title","value":"T","color":"blue","size":"lg"}],"justify":"between","margin":"4px","key":"r","type":"Row"},{"children":[{"type":"Caption","value":"c","weight":"normal","textAlign":"center"}],"flex":1,"gap":"8px","aspectRatio":2.0,"type":"Col"},{"children":[{"type":"Input","name":"e","inputType":"email","required":true,"placeholder":"p"},{"type":"Textarea","name":"ta","placeholder":"x","rows":3},{"type":"Checkbox","name":"cb","label":"L","defaultChecked":true},{"type":"Select","name":"s","options":[{"value":"a","label":"A"}],"placeholder":"pick","clearable":true},{"type":"RadioGroup","name":"rg","options":[{"label":"A","value":"a"}],"ariaLabel":"rg","direction":"row"},{"type":"DatePicker","name":"d","placeholder":"when","side":"top"},{"type":"Label","value":"Lbl","fieldName":"e","weight":"bold"}],"gap":3,"type":"Form","onSubmitAction":{"type":"go","payload":{"n":1},"handler":"server","loadingBehavior":"auto","streaming":true},"direction":"col"},{"id":"md","type":"Markdown","value":"**m**","streaming":false},{"type":"Badge","label":"new","color":"success","variant":"soft","pill":true},{"type":"Divider","spacing":2,"flush":true},{"type":"Icon","name":"star","color":"red","size":"lg"},{"type":"Image","src":"https://x/y.png","alt":"a","fit":"cover","radius":"full","height":30,"width":40},{"type":"Button","submit":true,"label":"Go","onClickAction":{"type":"go","payload":{"n":1},"handler":"server","loadingBehavior":"auto","streaming":true},"iconStart":"sparkle","style":"primary","block":true},{"type":"Spacer","minSize":4},{"type":"Transition","children":{"type":"Text","value":"x"}},{"type":"Chart","data":[{"m":"Jan","v":3}],"series":[{"type":"bar","label":"V","dataKey":"v"}],"xAxis":"m","showLegend":true,"height":200,"aspectRatio":2.0}],"background":"surface","size":"md","padding":2.0,"status":{"text":"S","icon":"star"},"collapsed":false,"confirm":{"label":"OK","action":{"type":"ok","handler":"server","loadingBehavior":"auto","streaming":true}},"theme":"dark"})");

    WidgetRoot lv = ListView({ListViewItem({Text("i")}).align("center").gap(2).on_click(go)}).theme("light").limit(3);
    CHECK(chatkit::serialize(lv) ==
          R"({"type":"ListView","children":[{"type":"ListViewItem","children":[{"type":"Text","value":"i"}],"onClickAction":{"type":"go","payload":{"n":1},"handler":"server","loadingBehavior":"auto","streaming":true},"gap":2,"align":"center"}],"limit":3,"theme":"light"})");
}

TEST_CASE("builders: key/id/type first; declared props in reference order; set again in place", "[widgets]") {
    auto t = Text("v").size("sm").color("red").key("k").id("i").color("blue");
    CHECK(js(t) == R"({"key":"k","id":"i","type":"Text","value":"v","color":"blue","size":"sm"})");
    t.id(std::nullopt);
    CHECK(js(t) == R"({"key":"k","type":"Text","value":"v","color":"blue","size":"sm"})");
    // Undeclared props follow the declared ones, in the order they were first set.
    CHECK(js(Text("v").prop("zeta", 1).prop("alpha", 2).italic(true)) ==
          R"({"type":"Text","value":"v","italic":true,"zeta":1,"alpha":2})");
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
          R"({"type":"Image","src":"u","alt":"a","radius":"full","width":40})");
    CHECK(js(Button().style("primary").label("Send").icon_start("sparkle").submit(true)) ==
          R"({"type":"Button","submit":true,"label":"Send","iconStart":"sparkle","style":"primary"})");
}
