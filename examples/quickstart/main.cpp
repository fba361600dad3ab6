// quickstart: the smallest complete ChatKit backend on chatkit-cpp, and the project's main example.
//
//   scripts/quickstart.sh                      # builds it and runs it on http://127.0.0.1:8000
//   quickstart --port 0                        # prints "listening on http://127.0.0.1:PORT" first
//
// What it shows:
//   * a ChatKitServer<Context> subclass whose respond() streams its answer word by word
//     (thread.item.added, content_part.added, one text_delta per word, content_part.done,
//     thread.item.done), waiting on a cancellable timer between words;
//   * changing the thread in respond() (the title, from the first user message): the engine saves
//     it and sends thread.updated;
//   * a per-request context built from the HTTP request (the user id in `X-User-Id`), by which the
//     store is partitioned;
//   * chatkit::http::Server with the playground page (playground/) served at `/`, `/healthz`, and a
//     graceful stop on SIGINT/SIGTERM. Press the playground's stop button mid-answer: the browser
//     closes the connection, the server cancels respond() and saves the partial answer.
//
// The "model" is an offline echo until the Agent layer lands; then OPENAI_API_KEY / OPENAI_BASE_URL
// select a real one.
#include "../common/cli.hpp"

#include <chatkit/http/server.hpp>
#include <chatkit/sqlite/store.hpp>
#include <chatkit/server.hpp>
#include <chatkit/streaming.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace chatkit;

// --- the request context -------------------------------------------------------------------------

/// Who is asking. Built per request from the `X-User-Id` header ("local-user" when absent): a real
/// deployment takes it from a verified token instead (JwtVerifier, once the auth layer lands).
struct Context {
    std::string user_id = "local-user";
};

/// The store partition of a request: one user's threads do not exist for another.
std::string owner_of(Context const& ctx) { return ctx.user_id; }

/// Builds the context of one request. A malformed user id is refused before any work.
Context make_context(http::RequestInfo const& request) {
    Context ctx;
    std::string_view const user = request.header("X-User-Id");
    if (user.empty()) return ctx;
    bool const ok = user.size() <= 128 && user.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                                 "0123456789-_.@") == std::string_view::npos;
    if (!ok) throw http::HttpError(400, "X-User-Id must be 1-128 characters of [A-Za-z0-9-_.@]");
    ctx.user_id = std::string(user);
    return ctx;
}

// --- the store -----------------------------------------------------------------------------------

struct StoreChoice {
    std::unique_ptr<Store<Context>> store;
    std::string description;
};

/// The thread store: SqliteStore on `db_path` (conversations survive restarts), or memory for `:memory:`.
StoreChoice make_store(std::string const& db_path) {
    SqliteOptions options;
    options.path = db_path;
    auto description = db_path == ":memory:" ? std::string("sqlite in memory (lost on exit)") : "sqlite " + db_path;
    return {std::make_unique<SqliteStore<Context>>(std::move(options), owner_of), std::move(description)};
}

// --- text helpers --------------------------------------------------------------------------------

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

/// The user message as plain text: text parts as they are, @-mentions as `@label`.
std::string user_text(UserMessageItem const& input) {
    std::string text;
    for (auto const& part : input.content) {
        if (auto const* t = std::get_if<UserMessageTextContent>(&part))
            text += t->text;
        else if (auto const* tag = std::get_if<UserMessageTagContent>(&part))
            text += "@" + tag->text;
    }
    return text;
}

/// Splits `text` into words, each keeping the whitespace that follows it, so that concatenating the
/// pieces gives `text` back exactly (newlines included). Leading whitespace is dropped.
std::vector<std::string> words_of(std::string_view text) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < text.size() && is_space(text[i])) ++i;
    while (i < text.size()) {
        std::size_t j = i;
        while (j < text.size() && !is_space(text[j])) ++j;
        while (j < text.size() && is_space(text[j])) ++j;
        out.emplace_back(text.substr(i, j - i));
        i = j;
    }
    return out;
}

/// Length of the longest prefix of `s` of at most `max` bytes that does not split a UTF-8 sequence.
std::size_t utf8_prefix(std::string_view s, std::size_t max) {
    if (s.size() <= max) return s.size();
    std::size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // s[n] continues a sequence
    return n;
}

/// A thread title from the first user message: whitespace collapsed, at most ~40 bytes, cut at a
/// word boundary when there is one, with an ellipsis when shortened.
std::string title_from(std::string_view text) {
    std::string flat;
    for (char c : text) {
        if (is_space(c)) {
            if (!flat.empty() && flat.back() != ' ') flat += ' ';
        } else {
            flat += c;
        }
    }
    while (!flat.empty() && flat.back() == ' ') flat.pop_back();
    constexpr std::size_t max = 40;
    if (flat.size() <= max) return flat;
    std::size_t cut = utf8_prefix(flat, max);
    if (auto space = flat.rfind(' ', cut); space != std::string::npos && space >= max / 2) cut = space;
    return flat.substr(0, cut) + "\u2026";
}

// --- the assistant -------------------------------------------------------------------------------

/// Serialises stderr lines written from several I/O threads.
void log_line(std::string const& line) {
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    std::cerr << line << std::endl;
}

/// The quickstart's ChatKit server: an echo "model" that streams its reply word by word.
class QuickstartServer final : public ChatKitServer<Context> {
public:
    QuickstartServer(Store<Context>& store, std::chrono::milliseconds word_delay)
        : ChatKitServer<Context>(store), word_delay_(word_delay) {}

protected:
    //[respond
    asio::awaitable<void> respond(ThreadMetadata& thread, std::optional<UserMessageItem> const& input,
                                  EventSink& events, Context&) override {
        if (!input) {
            // A continuation (after a client tool output or a structured input). This app creates
            // neither, so there is nothing to continue; answer briefly instead of failing.
            co_await stream_reply(events, "There is nothing to continue: send a message.");
            co_return;
        }
        std::string const text = user_text(*input);
        // Changing the thread is enough: the engine saves it and sends thread.updated.
        if (!thread.title) {
            std::string title = title_from(text);
            if (!title.empty()) thread.title = std::move(title);
        }

        std::string reply = text.find_first_not_of(" \t\r\n\f\v") == std::string::npos
                                ? std::string("You sent an empty message.")
                                : "You said: " + text;
        co_await stream_reply(events, std::move(reply));
    }
    //]

    asio::awaitable<void> add_feedback(std::string const& thread_id, std::vector<std::string> const& item_ids,
                                       FeedbackKind kind, Context& ctx) override {
        std::string ids;
        for (auto const& id : item_ids) ids += (ids.empty() ? "" : ",") + id;
        log_line("feedback: user=" + ctx.user_id + " thread=" + thread_id + " items=" + ids +
                 " kind=" + (kind == FeedbackKind::positive ? "positive" : "negative"));
        co_return;
    }

private:
    //[stream_reply
    /// Streams `text` as one assistant message, one word per `word_delay_`.
    ///
    /// If the client goes away meanwhile, the timer wait (or the next emit) throws; the exception
    /// propagates and the engine saves what was streamed so far (handle_stream_cancelled).
    asio::awaitable<void> stream_reply(EventSink& events, std::string text) {
        AssistantMessageStream message(events);
        co_await message.start();
        asio::steady_timer timer(co_await asio::this_coro::executor);
        std::vector<std::string> words = words_of(text);
        for (std::string& word : words) {
            timer.expires_after(word_delay_);
            co_await timer.async_wait(asio::use_awaitable);  // cancelled when the client leaves
            co_await message.append(std::move(word));
        }
        co_await message.finish();
    }
    //]

    std::chrono::milliseconds word_delay_;
};

// --- start-up ------------------------------------------------------------------------------------

/// The directory of the running executable (from /proc/self/exe, else argv[0]).
fs::path executable_dir(char const* argv0) {
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (ec || exe.empty()) exe = fs::absolute(argv0, ec);
    return exe.parent_path();
}

/// Where the playground is when --static-dir is not given: next to the executable (build tree), or
/// in ../share/chatkit/quickstart/playground (installed).
std::string default_playground(char const* argv0) {
    fs::path const dir = executable_dir(argv0);
    for (fs::path candidate : {dir / "playground", dir / ".." / "share" / "chatkit" / "quickstart" / "playground"}) {
        std::error_code ec;
        if (fs::is_regular_file(candidate / "index.html", ec)) return fs::weakly_canonical(candidate, ec).string();
    }
    return (dir / "playground").string();
}

/// The start-up line about the model.
std::string model_line() {
    bool const configured = std::getenv("OPENAI_API_KEY") || std::getenv("OPENAI_BASE_URL");
    if (configured) return "model: offline echo (OPENAI_API_KEY/OPENAI_BASE_URL are set, but the Agent layer has not landed yet)";
    return "model: offline echo (set OPENAI_API_KEY or OPENAI_BASE_URL once the Agent layer lands)";
}

}  // namespace

int main(int argc, char** argv) {
    std::string const playground = default_playground(argv[0]);

    examples::Cli cli("quickstart",
                      "A ChatKit backend with an echo assistant that streams its answers, and a browser "
                      "playground at http://HOST:PORT/.");
    cli.option("host", "CHATKIT_HOST", "127.0.0.1", "address to bind")
        .option("port", "CHATKIT_PORT", "8000", "port to bind; 0 picks a free port")
        .option("threads", "CHATKIT_THREADS", "1", "I/O threads")
        .option("db", "CHATKIT_DB", "./chatkit.db", "SQLite database file for threads (:memory: keeps them in memory)")
        .option("static-dir", "CHATKIT_STATIC_DIR", playground, "directory served at / (the playground)")
        .option("word-delay-ms", "CHATKIT_WORD_DELAY_MS", "30", "pause before each streamed word, in ms")
        .flag("verbose", "CHATKIT_VERBOSE", "log requests that fail and cancelled streams to stderr");
    cli.parse(argc, argv);

    int word_delay_ms = 0;
    try {
        std::size_t used = 0;
        word_delay_ms = std::stoi(cli.get("word-delay-ms"), &used);
        if (used != cli.get("word-delay-ms").size() || word_delay_ms < 0 || word_delay_ms > 10000)
            throw std::out_of_range("delay");
    } catch (std::exception const&) {
        cli.fail("option '--word-delay-ms' must be 0-10000, got '" + cli.get("word-delay-ms") + "'");
    }

    StoreChoice store;
    try {
        store = make_store(cli.get("db"));
    } catch (std::exception const& e) {
        std::cerr << "quickstart: cannot open the store: " << e.what() << "\n";
        return 1;
    }
    QuickstartServer app(*store.store, std::chrono::milliseconds(word_delay_ms));
    app.set_logger(Logger::stderr_logger(cli.is_set("verbose") ? LogLevel::info : LogLevel::warning));

    http::ServerOptions options;
    options.host = cli.get("host");
    options.port = cli.port("port");
    options.threads = cli.positive("threads");

    fs::path const static_dir = cli.get("static-dir");
    std::error_code ec;
    if (fs::is_regular_file(static_dir / "index.html", ec)) {
        options.static_dir = static_dir;
    } else {
        log_line("warning: no playground at " + static_dir.string() + " (no index.html); serving the API only");
    }

    try {
        http::Server<Context> server(app, options, make_context);
        server.start();
        std::cout << "listening on " << server.url() << std::endl;  // first stdout line, flushed
        log_line(model_line());
        log_line("store: " + store.description + "; partitioned by the X-User-Id header (default local-user)");
        if (options.static_dir) log_line("playground: " + server.url() + "/ (files from " + static_dir.string() + ")");
        log_line("ChatKit endpoint: POST " + server.url() + options.chatkit_path + "; stop with Ctrl-C");
        server.run_until_signal();
    } catch (std::exception const& e) {
        log_line(std::string("quickstart: ") + e.what());
        return 1;
    }
    log_line("quickstart: stopped");
    return 0;
}
