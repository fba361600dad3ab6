// SqliteStore micro-benchmarks (Google Benchmark): page latency against data size, and write throughput.
//
// Build (Release) and run:
//   cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DCHATKIT_BUILD_TESTS=OFF
//   cmake --build build/bench --target chatkit_sqlite_store_bench
//   build/bench/bench/chatkit_sqlite_store_bench [--benchmark_filter=...]
//
// The databases (10^2..10^6 items in one thread, 10^2..10^5 threads) are built on first use in
// $CHATKIT_BENCH_DIR (default: /tmp/chatkit-sqlite-bench) and reused by later runs; the 10^6-item one
// takes a few minutes to build and ~450 MB of disk. Results and the reading of them: docs/performance.md.
//
// Every measured call goes through SqliteStore, as a server makes it: a coroutine on an io_context
// awaits the store, which runs the statement on its own thread and resumes the coroutine. The
// `backend` variants call the compiled core directly, to show what the thread hop costs.
#include <chatkit/store/sqlite/store.hpp>

#include <benchmark/benchmark.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace chatkit;

struct Ctx {};

constexpr char const* bench_thread = "thr_bench";

fs::path bench_dir() {
    char const* env = std::getenv("CHATKIT_BENCH_DIR");
    fs::path dir = env && *env ? fs::path(env) : fs::temp_directory_path() / "chatkit-sqlite-bench";
    fs::create_directories(dir);
    return dir;
}

Timestamp at(std::int64_t i) {
    // Four items share each timestamp, so that the tie-breaking sequence number takes part.
    return Timestamp{std::chrono::seconds(1'750'000'000) + std::chrono::microseconds(i / 4)};
}

ThreadItem make_item(std::int64_t i) {
    AssistantMessageItem item;
    item.id = "msg_" + std::to_string(i);
    item.thread_id = bench_thread;
    item.created_at = at(i);
    item.content.push_back(
        AssistantMessageContent{{},
                                "Item " + std::to_string(i) +
                                    ": a short assistant answer of about one hundred and fifty characters, "
                                    "which is typical of a chat message in a thread."});
    return item;
}

ThreadMetadata make_thread(std::int64_t i) {
    ThreadMetadata thread;
    thread.id = "thr_" + std::to_string(i);
    thread.title = "Thread " + std::to_string(i);
    thread.created_at = at(i);
    return thread;
}

// Marks a database as completely built: a thread whose title says what it holds.
ThreadMetadata marker(std::string const& what) {
    ThreadMetadata thread;
    thread.id = "thr_marker";
    thread.title = what;
    thread.created_at = Timestamp{std::chrono::seconds(0)};
    return thread;
}

bool complete(sqlite::detail::backend& db, std::string const& owner, std::string const& what) {
    try {
        return db.load_thread(owner, "thr_marker").title == what;
    } catch (Error const&) {
        return false;
    }
}

// The owner keys: items live under "items", threads under "threads", so one file serves both.
std::string const items_owner = "items";
std::string const threads_owner = "threads";

// One database file per size, built once.
std::shared_ptr<SqliteStore<Ctx>> items_store(std::int64_t n) {
    static std::map<std::int64_t, std::shared_ptr<SqliteStore<Ctx>>> stores;
    if (auto it = stores.find(n); it != stores.end()) return it->second;
    SqliteOptions options;
    options.path = (bench_dir() / ("items_" + std::to_string(n) + ".db")).string();
    std::string const what = "items " + std::to_string(n);
    {
        sqlite::detail::backend db(options);
        if (!complete(db, items_owner, what)) {
            db.delete_thread(items_owner, bench_thread);
            ThreadMetadata thread = make_thread(0);
            thread.id = bench_thread;
            db.save_thread(items_owner, thread);
            for (std::int64_t i = 0; i < n; ++i)
                db.save_item(items_owner, bench_thread, make_item(i));
            db.save_thread(items_owner, marker(what));
        }
    }
    auto store = std::make_shared<SqliteStore<Ctx>>(options, [](Ctx const&) { return items_owner; });
    stores.emplace(n, store);
    return store;
}

std::shared_ptr<SqliteStore<Ctx>> threads_store(std::int64_t n) {
    static std::map<std::int64_t, std::shared_ptr<SqliteStore<Ctx>>> stores;
    if (auto it = stores.find(n); it != stores.end()) return it->second;
    SqliteOptions options;
    options.path = (bench_dir() / ("threads_" + std::to_string(n) + ".db")).string();
    std::string const what = "threads " + std::to_string(n);
    {
        sqlite::detail::backend db(options);
        if (!complete(db, threads_owner, what)) {
            for (std::int64_t i = 0; i < n; ++i)
                db.save_thread(threads_owner, make_thread(i + 1));
            // Another owner's threads share the table and the index, and must not slow this one down.
            for (std::int64_t i = 0; i < n; ++i)
                db.save_thread("someone else", make_thread(i + 1));
            db.save_thread(threads_owner, marker(what));
        }
    }
    auto store = std::make_shared<SqliteStore<Ctx>>(options, [](Ctx const&) { return threads_owner; });
    stores.emplace(n, store);
    return store;
}

// Runs `body(state)` as a coroutine on a one-thread io_context, as a request handler would.
template <class Body>
void run_in_coroutine(benchmark::State& state, Body body) {
    asio::io_context io;
    std::exception_ptr failure;
    asio::co_spawn(io, body(state), [&](std::exception_ptr e) { failure = e; });
    io.run();
    if (failure) {
        try {
            std::rethrow_exception(failure);
        } catch (std::exception const& e) {
            state.SkipWithError(e.what());
        }
    }
}

asio::awaitable<void> items_page(benchmark::State& state, SqliteStore<Ctx>& store,
                                 std::optional<std::string> after, Order order) {
    Ctx ctx;
    std::string const thread_id = bench_thread;
    for (auto _ : state) {
        auto page = co_await store.load_thread_items(thread_id, after, 20, order, ctx);
        if (page.data.size() != 20) throw std::runtime_error("short page");
        benchmark::DoNotOptimize(page);
    }
}

// items.list as ChatKit.js sends it first: the newest 20 items.
void BM_items_list_newest(benchmark::State& state) {
    auto store = items_store(state.range(0));
    run_in_coroutine(state,
                     [&](benchmark::State& s) { return items_page(s, *store, std::nullopt, Order::desc); });
}

// items.list scrolling back: 20 items older than a cursor in the middle of the thread.
void BM_items_list_after_desc(benchmark::State& state) {
    auto store = items_store(state.range(0));
    std::optional<std::string> after = "msg_" + std::to_string(state.range(0) / 2);
    run_in_coroutine(state, [&](benchmark::State& s) { return items_page(s, *store, after, Order::desc); });
}

// threads.get_by_id / oldest-first reading: 20 items newer than a cursor in the middle.
void BM_items_list_after_asc(benchmark::State& state) {
    auto store = items_store(state.range(0));
    std::optional<std::string> after = "msg_" + std::to_string(state.range(0) / 2);
    run_in_coroutine(state, [&](benchmark::State& s) { return items_page(s, *store, after, Order::asc); });
}

asio::awaitable<void> threads_page(benchmark::State& state, SqliteStore<Ctx>& store,
                                   std::optional<std::string> after) {
    Ctx ctx;
    for (auto _ : state) {
        auto page = co_await store.load_threads(20, after, Order::desc, ctx);
        if (page.data.size() != 20) throw std::runtime_error("short page");
        benchmark::DoNotOptimize(page);
    }
}

// threads.list: the newest 20 threads.
void BM_threads_list_newest(benchmark::State& state) {
    auto store = threads_store(state.range(0));
    run_in_coroutine(state, [&](benchmark::State& s) { return threads_page(s, *store, std::nullopt); });
}

// threads.list with a cursor in the middle.
void BM_threads_list_after(benchmark::State& state) {
    auto store = threads_store(state.range(0));
    std::optional<std::string> after = "thr_" + std::to_string(state.range(0) / 2);
    run_in_coroutine(state, [&](benchmark::State& s) { return threads_page(s, *store, after); });
}

// The same page as BM_items_list_after_desc, calling the compiled core directly (no thread hop).
void BM_backend_items_list_after_desc(benchmark::State& state) {
    auto const n = state.range(0);
    items_store(n);  // builds the file
    SqliteOptions options;
    options.path = (bench_dir() / ("items_" + std::to_string(n) + ".db")).string();
    sqlite::detail::backend db(options);
    std::optional<std::string> after = "msg_" + std::to_string(n / 2);
    for (auto _ : state) {
        auto page = db.load_thread_items(items_owner, bench_thread, after, 20, Order::desc);
        benchmark::DoNotOptimize(page);
    }
}

asio::awaitable<void> add_items(benchmark::State& state, SqliteStore<Ctx>& store) {
    Ctx ctx;
    std::string const thread_id = bench_thread;
    ThreadMetadata thread = make_thread(0);
    thread.id = thread_id;
    co_await store.save_thread(thread, ctx);
    std::int64_t i = 0;
    for (auto _ : state) {
        ThreadItem item = make_item(i++);
        co_await store.add_thread_item(thread_id, item, ctx);
    }
    state.SetItemsProcessed(i);
}

// add_thread_item, one committed transaction per call, with synchronous NORMAL (0) or FULL (1).
void BM_add_thread_item(benchmark::State& state) {
    fs::path const path = bench_dir() / "writes.db";
    for (char const* suffix : {"", "-wal", "-shm"})
        fs::remove(path.string() + suffix);
    SqliteOptions options;
    options.path = path.string();
    options.synchronous_full = state.range(0) == 1;
    SqliteStore<Ctx> store(options);
    run_in_coroutine(state, [&](benchmark::State& s) { return add_items(s, store); });
}

}  // namespace

BENCHMARK(BM_items_list_newest)
    ->RangeMultiplier(10)
    ->Range(100, 1'000'000)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_items_list_after_desc)
    ->RangeMultiplier(10)
    ->Range(100, 1'000'000)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_items_list_after_asc)
    ->RangeMultiplier(10)
    ->Range(100, 1'000'000)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_backend_items_list_after_desc)
    ->RangeMultiplier(10)
    ->Range(100, 1'000'000)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_threads_list_newest)
    ->RangeMultiplier(10)
    ->Range(100, 100'000)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_threads_list_after)
    ->RangeMultiplier(10)
    ->Range(100, 100'000)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_add_thread_item)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond)->UseRealTime();

BENCHMARK_MAIN();
