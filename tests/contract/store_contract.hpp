// The Store contract (PROTOCOL.md §7, checklist §10.2), written once and run against every store.
//
// A store type is tested by providing a factory: `struct F { std::unique_ptr<chatkit::Store<test::Ctx>> make(); }`
// whose stores partition data by `Ctx::user`, then instantiating `CHATKIT_STORE_CONTRACT(F, "name")`.
#pragma once

#include "support/test_support.hpp"

#include <catch2/catch.hpp>
#include <chatkit/core/ids.hpp>

#include <memory>

namespace test::contract {

using namespace chatkit;

inline Timestamp at(int seconds, int micros = 0) {
    return Timestamp{std::chrono::seconds(1'750'000'000 + seconds) + std::chrono::microseconds(micros)};
}

inline ThreadMetadata thread(std::string id, int t, std::optional<std::string> title = std::nullopt) {
    ThreadMetadata meta;
    meta.id = std::move(id);
    meta.created_at = at(t);
    meta.title = std::move(title);
    return meta;
}

inline AssistantMessageItem message(std::string id, std::string thread_id, int t, std::string text = "text") {
    return AssistantMessageItem{std::move(id), std::move(thread_id), at(t), {AssistantMessageContent{{}, std::move(text)}}};
}

inline Attachment file_attachment(std::string id) {
    Attachment a;
    a.id = std::move(id);
    a.name = "notes.txt";
    a.mime_type = "text/plain";
    a.upload_descriptor = AttachmentUploadDescriptor{"https://up.example.com/x", "POST", {{"X-Token", "t"}}};
    a.metadata = JsonObject{{"secret", 1}, {"nested", JsonObject{{"a", nullptr}}}};
    return a;
}

inline Attachment image_attachment(std::string id) {
    Attachment a = file_attachment(std::move(id));
    a.type = AttachmentType::image;
    a.mime_type = "image/png";
    a.preview_url = "https://example.com/preview.png";
    a.thread_id = "thr_1";
    return a;
}

/// Runs the contract (one SECTION per Catch run); returns true when a section ran, so that callers
/// can assert the contract was exercised.
template <class Factory>
bool run_store_contract() {
    bool ran = false;
    Factory factory;
    auto store_ptr = factory.make();
    auto& store = *store_ptr;
    Ctx alice;
    Ctx bob;
    bob.user = "bob";
    std::optional<std::string> none;

    SECTION("threads round-trip every field, including null titles and metadata") {
        ran = true;
        ThreadMetadata t = thread("thr_1", 1, "Title");
        t.status = ThreadStatus::closed("done");
        t.allowed_image_domains = std::vector<std::string>{"a.example"};
        t.metadata = JsonObject{{"x", 1}, {"y", JsonObject{{"z", nullptr}}}};
        run(store.save_thread(t, alice));
        CHECK(run(store.load_thread("thr_1", alice)) == t);
        ThreadMetadata untitled = thread("thr_2", 2);
        run(store.save_thread(untitled, alice));
        CHECK_FALSE(run(store.load_thread("thr_2", alice)).title.has_value());
        t.title = "New title";
        run(store.save_thread(t, alice));
        CHECK(run(store.load_thread("thr_1", alice)).title == std::optional<std::string>("New title"));
    }

    SECTION("a missing thread is not found") {
        ran = true;
        try {
            run(store.load_thread("thr_missing", alice));
            FAIL("expected not_found");
        } catch (Error const& e) {
            CHECK(e.code() == make_error_code(error::not_found));
            CHECK(e.message() == "Thread thr_missing not found");
        }
    }

    SECTION("items of every kind round-trip in ascending order") {
        ran = true;
        run(store.save_thread(thread("thr_1", 0), alice));
        UserMessageItem user{"msg_1", "thr_1", at(1), {UserMessageTextContent{"hi"}}, {file_attachment("atc_1")},
                             "quoted", InferenceOptions{ToolChoice{"tool"}, "model"}};
        JsonObject text{{"type", "Text"}, {"value", "v"}};
        JsonObject col{{"type", "Col"}, {"children", boost::json::array{text}}, {"gap", 2}};
        JsonObject card{{"type", "Card"}, {"children", boost::json::array{col}}};
        WidgetItem widget{"msg_3", "thr_1", at(3), card, "copy"};
        std::vector<ThreadItem> items{user, message("msg_2", "thr_1", 2), widget};
        for (auto const& item : items) run(store.add_thread_item("thr_1", item, alice));
        auto page = run(store.load_thread_items("thr_1", none, 10, Order::asc, alice));
        CHECK(page.data == items);
        CHECK_FALSE(page.has_more);
        CHECK_FALSE(page.after.has_value());
        auto desc = run(store.load_thread_items("thr_1", none, 10, Order::desc, alice));
        REQUIRE(desc.data.size() == 3);
        CHECK(item_id(desc.data[0]) == "msg_3");
        CHECK(item_id(desc.data[2]) == "msg_1");
    }

    SECTION("file and image attachments round-trip") {
        ran = true;
        run(store.save_attachment(file_attachment("atc_1"), alice));
        run(store.save_attachment(image_attachment("atc_2"), alice));
        CHECK(run(store.load_attachment("atc_1", alice)) == file_attachment("atc_1"));
        CHECK(run(store.load_attachment("atc_2", alice)) == image_attachment("atc_2"));
        run(store.delete_attachment("atc_1", alice));
        CHECK_THROWS_AS(run(store.load_attachment("atc_1", alice)), Error);
        run(store.delete_attachment("atc_missing", alice));  // no error
    }

    SECTION("threads paginate with cursors in both orders") {
        ran = true;
        for (int i = 1; i <= 3; ++i) run(store.save_thread(thread("thread" + std::to_string(i), i), alice));
        auto page = run(store.load_threads(2, none, Order::asc, alice));
        REQUIRE(page.data.size() == 2);
        CHECK(page.data[0].id == "thread1");
        CHECK(page.data[1].id == "thread2");
        CHECK(page.has_more);
        CHECK(page.after == std::optional<std::string>("thread2"));
        auto next = run(store.load_threads(2, page.after, Order::asc, alice));
        REQUIRE(next.data.size() == 1);
        CHECK(next.data[0].id == "thread3");
        CHECK_FALSE(next.has_more);
        CHECK_FALSE(next.after.has_value());
        auto desc = run(store.load_threads(2, none, Order::desc, alice));
        CHECK(desc.data[0].id == "thread3");
        auto desc_next = run(store.load_threads(5, desc.after, Order::desc, alice));
        REQUIRE(desc_next.data.size() == 1);
        CHECK(desc_next.data[0].id == "thread1");
        std::optional<std::string> empty_cursor = std::string();
        CHECK(run(store.load_threads(5, empty_cursor, Order::asc, alice)).data.size() == 3);
        std::optional<std::string> unknown = std::string("thread9");
        CHECK_THROWS_AS(run(store.load_threads(5, unknown, Order::asc, alice)), Error);
    }

    SECTION("items paginate with cursors") {
        ran = true;
        run(store.save_thread(thread("thr_1", 0), alice));
        for (int i = 0; i < 5; ++i) {
            ThreadItem item = message("msg" + std::to_string(i), "thr_1", i);
            run(store.add_thread_item("thr_1", item, alice));
        }
        auto first = run(store.load_thread_items("thr_1", none, 2, Order::asc, alice));
        REQUIRE(first.data.size() == 2);
        CHECK(item_id(first.data[0]) == "msg0");
        CHECK(first.has_more);
        CHECK(first.after == std::optional<std::string>("msg1"));
        std::optional<std::string> cursor = std::string("msg1");
        auto rest = run(store.load_thread_items("thr_1", cursor, 3, Order::asc, alice));
        REQUIRE(rest.data.size() == 3);
        CHECK(item_id(rest.data[0]) == "msg2");
        CHECK(item_id(rest.data[2]) == "msg4");
        CHECK_FALSE(rest.has_more);
        CHECK_FALSE(rest.after.has_value());
        auto older = run(store.load_thread_items("thr_1", cursor, 10, Order::desc, alice));
        REQUIRE(older.data.size() == 1);
        CHECK(item_id(older.data[0]) == "msg0");
        std::optional<std::string> unknown = std::string("msg9");
        try {
            run(store.load_thread_items("thr_1", unknown, 3, Order::asc, alice));
            FAIL("expected not_found");
        } catch (Error const& e) {
            CHECK(e.code() == make_error_code(error::not_found));
        }
    }

    SECTION("items with equal created_at keep insertion order, in both orders") {
        ran = true;
        run(store.save_thread(thread("thr_1", 0), alice));
        for (auto id : {"b", "a", "c"}) {
            ThreadItem item = message(id, "thr_1", 5);
            run(store.add_thread_item("thr_1", item, alice));
        }
        auto asc = run(store.load_thread_items("thr_1", none, 2, Order::asc, alice));
        CHECK(item_id(asc.data[0]) == "b");
        CHECK(item_id(asc.data[1]) == "a");
        auto asc2 = run(store.load_thread_items("thr_1", asc.after, 2, Order::asc, alice));
        REQUIRE(asc2.data.size() == 1);
        CHECK(item_id(asc2.data[0]) == "c");
        auto desc = run(store.load_thread_items("thr_1", none, 3, Order::desc, alice));
        CHECK(item_id(desc.data[0]) == "c");
        CHECK(item_id(desc.data[2]) == "b");
    }

    SECTION("save_item replaces in place; add_thread_item upserts; load_item of a missing id is not found") {
        ran = true;
        run(store.save_thread(thread("thr_1", 0), alice));
        ThreadItem a = message("m1", "thr_1", 1, "old");
        ThreadItem b = message("m2", "thr_1", 2);
        run(store.add_thread_item("thr_1", a, alice));
        run(store.add_thread_item("thr_1", b, alice));
        ThreadItem replaced = message("m1", "thr_1", 1, "new");
        run(store.save_item("thr_1", replaced, alice));
        CHECK(run(store.load_item("thr_1", "m1", alice)) == replaced);
        auto page = run(store.load_thread_items("thr_1", none, 10, Order::asc, alice));
        REQUIRE(page.data.size() == 2);
        CHECK(item_id(page.data[0]) == "m1");
        ThreadItem widget = WidgetItem{"m1", "thr_1", at(1), JsonObject{{"type", "Card"}, {"children", boost::json::array{}}}, std::nullopt};
        run(store.add_thread_item("thr_1", widget, alice));  // upsert, type may change
        CHECK(run(store.load_item("thr_1", "m1", alice)) == widget);
        CHECK(run(store.load_thread_items("thr_1", none, 10, Order::asc, alice)).data.size() == 2);
        try {
            run(store.load_item("thr_1", "missing", alice));
            FAIL("expected not_found");
        } catch (Error const& e) {
            CHECK(e.code() == make_error_code(error::not_found));
            CHECK(e.message() == "Item missing not found in thread thr_1");
        }
    }

    SECTION("deletes remove threads with their items; deleting missing objects is fine") {
        ran = true;
        run(store.save_thread(thread("thr_1", 0), alice));
        ThreadItem a = message("m1", "thr_1", 1);
        ThreadItem b = message("m2", "thr_1", 2);
        run(store.add_thread_item("thr_1", a, alice));
        run(store.add_thread_item("thr_1", b, alice));
        run(store.delete_thread_item("thr_1", "m1", alice));
        CHECK(run(store.load_thread_items("thr_1", none, 10, Order::asc, alice)).data.size() == 1);
        run(store.delete_thread_item("thr_1", "missing", alice));
        run(store.delete_thread("thr_1", alice));
        CHECK_THROWS_AS(run(store.load_thread("thr_1", alice)), Error);
        CHECK(run(store.load_thread_items("thr_1", none, 10, Order::asc, alice)).data.empty());
        run(store.delete_thread("thr_missing", alice));
    }

    SECTION("one owner's data does not exist for another") {
        ran = true;
        run(store.save_thread(thread("thr_1", 0), alice));
        ThreadItem a = message("m1", "thr_1", 1);
        run(store.add_thread_item("thr_1", a, alice));
        run(store.save_attachment(file_attachment("atc_1"), alice));
        CHECK_THROWS_AS(run(store.load_thread("thr_1", bob)), Error);
        CHECK(run(store.load_threads(10, none, Order::asc, bob)).data.empty());
        CHECK(run(store.load_thread_items("thr_1", none, 10, Order::asc, bob)).data.empty());
        CHECK_THROWS_AS(run(store.load_item("thr_1", "m1", bob)), Error);
        CHECK_THROWS_AS(run(store.load_attachment("atc_1", bob)), Error);
        // Bob's deletes do not touch Alice's data.
        run(store.delete_thread("thr_1", bob));
        run(store.delete_thread_item("thr_1", "m1", bob));
        run(store.delete_attachment("atc_1", bob));
        CHECK(run(store.load_thread("thr_1", alice)).id == "thr_1");
        CHECK(run(store.load_item("thr_1", "m1", alice)) == a);
        CHECK(run(store.load_attachment("atc_1", alice)).id == "atc_1");
    }

    SECTION("the same id under two owners, or in two threads, names two rows that never merge") {
        ran = true;
        // Bob saves a thread and items with ids Alice already uses: nothing of Alice's changes.
        run(store.save_thread(thread("thr_same", 0, std::string("alice's")), alice));
        run(store.save_thread(thread("thr_same", 5, std::string("bob's")), bob));
        ThreadItem const alice_item = message("msg_same", "thr_same", 1, "alice says");
        ThreadItem const bob_item = message("msg_same", "thr_same", 2, "bob says");
        run(store.add_thread_item("thr_same", alice_item, alice));
        run(store.add_thread_item("thr_same", bob_item, bob));
        CHECK(run(store.load_thread("thr_same", alice)).title == std::optional<std::string>("alice's"));
        CHECK(run(store.load_thread("thr_same", bob)).title == std::optional<std::string>("bob's"));
        CHECK(run(store.load_item("thr_same", "msg_same", alice)) == alice_item);
        CHECK(run(store.load_item("thr_same", "msg_same", bob)) == bob_item);
        // One owner, one item id in two threads: two items.
        run(store.save_thread(thread("thr_other", 3), alice));
        ThreadItem const other_item = message("msg_same", "thr_other", 4, "elsewhere");
        run(store.add_thread_item("thr_other", other_item, alice));
        CHECK(run(store.load_item("thr_same", "msg_same", alice)) == alice_item);
        CHECK(run(store.load_item("thr_other", "msg_same", alice)) == other_item);
        CHECK(run(store.load_thread_items("thr_same", none, 10, Order::asc, alice)).data.size() == 1);
        // Deleting Bob's copy leaves Alice's.
        run(store.delete_thread("thr_same", bob));
        CHECK(run(store.load_thread_items("thr_same", none, 10, Order::asc, alice)).data.size() == 1);
    }

    SECTION("default id generators use the reference prefixes") {
        ran = true;
        ThreadMetadata t = thread("thr_1", 0);
        CHECK(store.generate_thread_id(alice).starts_with("thr_"));
        CHECK(store.generate_item_id(StoreItemType::message, t, alice).starts_with("msg_"));
        CHECK(store.generate_item_id(StoreItemType::tool_call, t, alice).starts_with("tc_"));
        CHECK(store.generate_item_id(StoreItemType::task, t, alice).starts_with("tsk_"));
        CHECK(store.generate_item_id(StoreItemType::workflow, t, alice).starts_with("wf_"));
        CHECK(store.generate_item_id(StoreItemType::sdk_hidden_context, t, alice).starts_with("shcx_"));
        auto id = store.generate_thread_id(alice);
        CHECK(id.size() == 4 + id_random_bits / 4);  // thr_ + 128 bits in hex
        CHECK(id != store.generate_thread_id(alice));
    }

    SECTION("usage is recorded per response, per thread and per owner and day, and read back") {
        ran = true;
        TokenUsage const first{100, 40, 20, 5};
        TokenUsage const second{7, 0, 3, 1};
        TokenUsage const other_thread{1000, 0, 1, 0};
        auto totals = run(store.record_usage(UsageRecord{"thr_1", "resp_1", first, 20000}, alice));
        CHECK(totals.thread == first);
        CHECK(totals.owner_day == first);
        totals = run(store.record_usage(UsageRecord{"thr_1", "resp_2", second, 20000}, alice));
        TokenUsage both = first;
        both += second;
        CHECK(totals.thread == both);
        CHECK(totals.owner_day == both);
        CHECK(both.total_tokens() == 130);
        // Another thread the next day: the thread total starts at zero, so does the day's.
        totals = run(store.record_usage(UsageRecord{"thr_2", "", other_thread, 20001}, alice));
        CHECK(totals.thread == other_thread);
        CHECK(totals.owner_day == other_thread);

        auto loaded = run(store.load_usage_totals("thr_1", 20000, alice));
        CHECK(loaded.thread == both);
        CHECK(loaded.owner_day == both);
        CHECK(run(store.load_usage_totals("thr_none", 19999, alice)).owner_day == TokenUsage{});

        auto summary = run(store.load_usage(10, alice));
        TokenUsage everything = both;
        everything += other_thread;
        CHECK(summary.total == everything);
        REQUIRE(summary.threads.size() == 2);
        CHECK(summary.threads[0].thread_id == "thr_2");  // the most tokens first
        CHECK(summary.threads[0].usage == other_thread);
        CHECK(summary.threads[1].thread_id == "thr_1");
        CHECK(run(store.load_usage(1, alice)).threads.size() == 1);
        CHECK(run(store.load_usage(0, alice)).threads.empty());

        auto records = run(store.load_usage_records("thr_1", 10, alice));
        REQUIRE(records.size() == 2);
        CHECK(records[0].response_id == "resp_1");
        CHECK(records[0].usage == first);
        CHECK(records[0].day == 20000);
        CHECK(records[1].response_id == "resp_2");
        auto newest = run(store.load_usage_records("thr_1", 1, alice));
        REQUIRE(newest.size() == 1);
        CHECK(newest[0].response_id == "resp_2");

        // Another owner sees nothing; usage outlives the thread.
        CHECK(run(store.load_usage(10, bob)).total == TokenUsage{});
        CHECK(run(store.load_usage_records("thr_1", 10, bob)).empty());
        run(store.delete_thread("thr_1", alice));
        CHECK(run(store.load_usage(10, alice)).total == everything);
    }

    SECTION("loads return copies") {
        ran = true;
        run(store.save_thread(thread("thr_1", 0, "t"), alice));
        auto loaded = run(store.load_thread("thr_1", alice));
        loaded.title = "changed locally";
        CHECK(run(store.load_thread("thr_1", alice)).title == std::optional<std::string>("t"));
    }
    return ran;
}

}  // namespace test::contract
