// widgets_demo: builds a widget with the typed builders and prints its JSON.
#include <chatkit/protocol/json.hpp>
#include <chatkit/protocol/widget_builders.hpp>

#include <iostream>

int main() {
    using namespace chatkit::widgets;
    //[card
    chatkit::WidgetRoot card =
        Card({
                 Title("Order #1234").size("sm"),
                 Text("Two items, arriving Tuesday").id("summary").color("secondary"),
                 Row({Badge("Paid").color("success"), Spacer(),
                      Button("Track").on_click({.type = "order.track", .payload = {{"order_id", "1234"}}})})
                     .gap(2),
             })
            .size("md")
            .padding(3);
    std::cout << chatkit::serialize(card) << '\n';
    //]
    return 0;
}
