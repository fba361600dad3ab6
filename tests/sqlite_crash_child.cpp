// The child process of the SqliteStore crash-consistency test (tests/contract/sqlite_store_test.cpp).
//
// Usage: chatkit_sqlite_crash_child DB_PATH ROUND [MAX_ITEMS]
//
// Opens a SqliteStore on DB_PATH (default options: WAL, synchronous=NORMAL), makes sure thread
// `thr_crash` exists, then adds items `r<ROUND>_<n>` to it one after another, writing each id and a
// newline to stdout (unbuffered) right after its add_thread_item completed. The test SIGKILLs it at
// random moments and then checks that every id it printed is in the database. It stops by itself
// after MAX_ITEMS items (default 100000) so that it never runs unbounded.
#include <chatkit/store/sqlite/store.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

namespace {

namespace asio = boost::asio;

struct Ctx {};

// Writes all of `text` to stdout without buffering, so that what the parent reads is what completed.
void report(std::string const& text) {
    std::size_t done = 0;
    while (done < text.size()) {
        auto const n = ::write(STDOUT_FILENO, text.data() + done, text.size() - done);
        if (n <= 0) std::_Exit(3);
        done += static_cast<std::size_t>(n);
    }
}

asio::awaitable<void> write_items(chatkit::SqliteStore<Ctx>& store, std::string round, long max_items) {
    Ctx ctx;
    chatkit::ThreadMetadata thread;
    thread.id = "thr_crash";
    thread.created_at = chatkit::Timestamp{std::chrono::seconds(1'750'000'000)};
    thread.title = "crash test";
    co_await store.save_thread(thread, ctx);
    for (long n = 0; n < max_items; ++n) {
        std::string const id = "r" + round + "_" + std::to_string(n);
        chatkit::AssistantMessageItem message;
        message.id = id;
        message.thread_id = thread.id;
        message.created_at = chatkit::now();
        message.content.push_back(
            chatkit::AssistantMessageContent{{}, "item " + id + " " + std::string(200, 'x')});
        chatkit::ThreadItem item = std::move(message);
        co_await store.add_thread_item(thread.id, item, ctx);
        report(id + "\n");
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s DB_PATH ROUND [MAX_ITEMS]\n", argv[0]);
        return 2;
    }
    try {
        chatkit::SqliteOptions options;
        options.path = argv[1];
        chatkit::SqliteStore<Ctx> store(options);
        long const max_items = argc > 3 ? std::atol(argv[3]) : 100'000;
        asio::io_context io;
        std::exception_ptr failure;
        asio::co_spawn(io, write_items(store, argv[2], max_items),
                       [&](std::exception_ptr e) { failure = e; });
        io.run();
        if (failure) std::rethrow_exception(failure);
    } catch (std::exception const& e) {
        std::fprintf(stderr, "sqlite_crash_child: %s\n", e.what());
        return 1;
    }
    return 0;
}
