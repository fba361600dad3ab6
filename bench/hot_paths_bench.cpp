// Micro-benchmarks (Google Benchmark) of the per-request hot paths a streamed reply goes through:
// encoding an event to JSON, framing it as SSE, parsing a request body, and the in-memory store's
// operations (the SQLite store has its own file, sqlite_store_bench.cpp; the add/load pair below
// runs on both stores for a side-by-side figure).
//
//   cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DCHATKIT_BUILD_TESTS=OFF
//   cmake --build build/bench --target chatkit_hot_paths_bench
//   build/bench/bench/chatkit_hot_paths_bench [--benchmark_filter=sse]
//
// The events are the ones bench/run.sh's scenarios stream (CONTRACT.md §2): a text delta, the
// final `thread.item.done` of a 32-delta message, and `thread.created`. Results: docs/performance.md.
#include <chatkit/core/sse.hpp>
#include <chatkit/protocol/json.hpp>
#include <chatkit/store/memory_store.hpp>
#include <chatkit/store/sqlite/store.hpp>

#include <benchmark/benchmark.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <filesystem>
#include <string>
#include <unistd.h>

namespace {

namespace asio = boost::asio;
using namespace chatkit;

struct Ctx {};

std::string tokens(int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += "token ";
    return s;
}

ThreadStreamEvent delta_event() {
    return ThreadItemUpdatedEvent{"msg_5f1e2d3c4b5a69788796a5b4", AssistantMessageContentPartTextDelta{0, "token "}};
}

AssistantMessageItem assistant_item(int n) {
    AssistantMessageItem item;
    item.id = "msg_5f1e2d3c4b5a69788796a5b4";
    item.thread_id = "thr_0a1b2c3d4e5f60718293a4b5";
    item.created_at = now();
    item.content.push_back(AssistantMessageContent{{}, tokens(n)});
    return item;
}

ThreadStreamEvent done_event() { return ThreadItemDoneEvent{assistant_item(32)}; }

ThreadStreamEvent created_event() {
    Thread thread;
    thread.id = "thr_0a1b2c3d4e5f60718293a4b5";
    thread.created_at = now();
    return ThreadCreatedEvent{thread};
}

// --- event JSON encoding: the generic path (a boost::json::value, then text) -----------------------

void event_to_json(benchmark::State& state, ThreadStreamEvent const& event) {
    std::size_t bytes = 0;
    for (auto _ : state) {
        std::string text = chatkit::serialize(to_json(event));
        bytes += text.size();
        benchmark::DoNotOptimize(text);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
void BM_event_json_delta(benchmark::State& state) { event_to_json(state, delta_event()); }
void BM_event_json_item_done32(benchmark::State& state) { event_to_json(state, done_event()); }
void BM_event_json_thread_created(benchmark::State& state) { event_to_json(state, created_event()); }
BENCHMARK(BM_event_json_delta);
BENCHMARK(BM_event_json_item_done32);
BENCHMARK(BM_event_json_thread_created);

// --- SSE framing: what the engine writes per event (direct text writer, `data: ...\n\n`) ----------

// The frame the engine writes: the event's JSON text, framed in place.
std::string sse_frame(ThreadStreamEvent const& event) { return sse_data_frame(to_json_text(event)); }

void event_sse(benchmark::State& state, ThreadStreamEvent const& event) {
    std::size_t bytes = 0;
    for (auto _ : state) {
        std::string frame = sse_frame(event);
        bytes += frame.size();
        benchmark::DoNotOptimize(frame);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
void BM_sse_frame_delta(benchmark::State& state) { event_sse(state, delta_event()); }
void BM_sse_frame_item_done32(benchmark::State& state) { event_sse(state, done_event()); }
void BM_sse_frame_thread_created(benchmark::State& state) { event_sse(state, created_event()); }
BENCHMARK(BM_sse_frame_delta);
BENCHMARK(BM_sse_frame_item_done32);
BENCHMARK(BM_sse_frame_thread_created);

// A whole `stream 32` reply's events, framed: 38 frames (CONTRACT.md §3.1 minus the user item).
void BM_sse_reply_stream32(benchmark::State& state) {
    ThreadStreamEvent const delta = delta_event();
    ThreadStreamEvent const done = done_event();
    ThreadStreamEvent const created = created_event();
    std::size_t bytes = 0;
    for (auto _ : state) {
        std::string out = sse_frame(created);
        for (int i = 0; i < 32; ++i) out += sse_frame(delta);
        out += sse_frame(done);
        bytes += out.size();
        benchmark::DoNotOptimize(out);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_sse_reply_stream32);

// --- request parsing ----------------------------------------------------------------------------

void parse(benchmark::State& state, std::string const& body) {
    for (auto _ : state) {
        ChatKitRequest request = parse_request(body);
        benchmark::DoNotOptimize(request);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
void BM_parse_threads_create(benchmark::State& state) {
    parse(state, R"({"type":"threads.create","params":{"input":{"content":[{"type":"input_text","text":"stream 32"}],)"
                 R"("attachments":[],"inference_options":{}}}})");
}
void BM_parse_add_user_message(benchmark::State& state) {
    parse(state, R"({"type":"threads.add_user_message","params":{"thread_id":"thr_0a1b2c3d4e5f60718293a4b5",)"
                 R"("input":{"content":[{"type":"input_text","text":"stream 32"}],"attachments":[],)"
                 R"("inference_options":{}}},"metadata":{"bench":true}})");
}
void BM_parse_items_list(benchmark::State& state) {
    parse(state, R"({"type":"items.list","params":{"thread_id":"thr_0a1b2c3d4e5f60718293a4b5","limit":20,"order":"desc"}})");
}
BENCHMARK(BM_parse_threads_create);
BENCHMARK(BM_parse_add_user_message);
BENCHMARK(BM_parse_items_list);

// --- store operations -----------------------------------------------------------------------------

// Runs one awaitable to completion on a private io_context (as a request handler would await it).
template <class F>
void run(asio::io_context& io, F f) {
    asio::co_spawn(io, std::move(f), asio::detached);
    io.restart();
    io.run();
}

ThreadMetadata make_thread(std::int64_t i) {
    ThreadMetadata thread;
    thread.id = "thr_" + std::to_string(i);
    thread.created_at = now();
    return thread;
}

ThreadItem make_item(std::string const& thread_id, std::int64_t i) {
    AssistantMessageItem item = assistant_item(8);
    item.id = "msg_" + std::to_string(i);
    item.thread_id = thread_id;
    return item;
}

// A thread with `items` items (in a store holding `threads` threads), then one measured operation.
struct StoreFixture {
    explicit StoreFixture(Store<Ctx>& s) : store(s) {}
    Store<Ctx>& store;
    asio::io_context io;
    Ctx ctx;
    std::int64_t next = 0;

    void fill(int threads, int items) {
        run(io, [&]() -> asio::awaitable<void> {
            for (int t = 0; t < threads; ++t) co_await store.save_thread(make_thread(t), ctx);
            for (int i = 0; i < items; ++i) co_await store.add_thread_item("thr_0", make_item("thr_0", next++), ctx);
        });
    }
};

std::filesystem::path fresh_db() {
    auto path = std::filesystem::temp_directory_path() / ("chatkit-hot-paths-" + std::to_string(::getpid()) + ".db");
    for (char const* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
    return path;
}

template <class Body>
void with_store(benchmark::State& state, bool sqlite, Body body) {
    std::unique_ptr<Store<Ctx>> store;
    std::filesystem::path db;
    if (sqlite) {
        db = fresh_db();
        SqliteOptions options;
        options.path = db.string();
        store = std::make_unique<SqliteStore<Ctx>>(options);
    } else {
        store = std::make_unique<InMemoryStore<Ctx>>();
    }
    {
        StoreFixture fx(*store);
        fx.fill(200, 200);
        body(state, fx);
    }
    store.reset();
    if (sqlite)
        for (char const* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db.string() + suffix);
}

void store_add_item(benchmark::State& state, bool sqlite) {
    with_store(state, sqlite, [](benchmark::State& st, StoreFixture& fx) {
        for (auto _ : st) {
            ThreadItem item = make_item("thr_1", fx.next++);
            run(fx.io, [&]() -> asio::awaitable<void> { co_await fx.store.add_thread_item("thr_1", item, fx.ctx); });
        }
    });
}
void store_items_page(benchmark::State& state, bool sqlite) {
    with_store(state, sqlite, [](benchmark::State& st, StoreFixture& fx) {
        for (auto _ : st) {
            run(fx.io, [&]() -> asio::awaitable<void> {
                auto page = co_await fx.store.load_thread_items("thr_0", std::nullopt, 20, Order::desc, fx.ctx);
                benchmark::DoNotOptimize(page);
            });
        }
    });
}
void store_threads_page(benchmark::State& state, bool sqlite) {
    with_store(state, sqlite, [](benchmark::State& st, StoreFixture& fx) {
        for (auto _ : st) {
            run(fx.io, [&]() -> asio::awaitable<void> {
                auto page = co_await fx.store.load_threads(20, std::string("thr_100"), Order::desc, fx.ctx);
                benchmark::DoNotOptimize(page);
            });
        }
    });
}
void store_load_thread(benchmark::State& state, bool sqlite) {
    with_store(state, sqlite, [](benchmark::State& st, StoreFixture& fx) {
        for (auto _ : st) {
            run(fx.io, [&]() -> asio::awaitable<void> {
                auto thread = co_await fx.store.load_thread("thr_150", fx.ctx);
                benchmark::DoNotOptimize(thread);
            });
        }
    });
}

void BM_memory_add_thread_item(benchmark::State& s) { store_add_item(s, false); }
void BM_memory_items_page20(benchmark::State& s) { store_items_page(s, false); }
void BM_memory_threads_page20(benchmark::State& s) { store_threads_page(s, false); }
void BM_memory_load_thread(benchmark::State& s) { store_load_thread(s, false); }
void BM_sqlite_add_thread_item(benchmark::State& s) { store_add_item(s, true); }
void BM_sqlite_items_page20(benchmark::State& s) { store_items_page(s, true); }
void BM_sqlite_threads_page20(benchmark::State& s) { store_threads_page(s, true); }
void BM_sqlite_load_thread(benchmark::State& s) { store_load_thread(s, true); }
BENCHMARK(BM_memory_add_thread_item);
BENCHMARK(BM_memory_items_page20);
BENCHMARK(BM_memory_threads_page20);
BENCHMARK(BM_memory_load_thread);
BENCHMARK(BM_sqlite_add_thread_item)->UseRealTime();
BENCHMARK(BM_sqlite_items_page20)->UseRealTime();
BENCHMARK(BM_sqlite_threads_page20)->UseRealTime();
BENCHMARK(BM_sqlite_load_thread)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
