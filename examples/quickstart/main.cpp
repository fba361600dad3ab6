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
//   * a widget (send a message containing "widget") whose button's action the server answers
//     (action() streams a reply; sync_action() updates the widget's counter);
//   * attachments (`--uploads-dir DIR`): a LocalAttachmentStore with its upload and preview routes,
//     scoped by user like the threads;
//   * chatkit::http::Server with the playground page (playground/) served at `/`, `/healthz`, and a
//     graceful stop on SIGINT/SIGTERM. Press the playground's stop button mid-answer: the browser
//     closes the connection, the server cancels respond() and saves the partial answer.
//
// The "model" is an offline echo until the Agent layer lands; then OPENAI_API_KEY / OPENAI_BASE_URL
// select a real one.
#include "../common/cli.hpp"

#include <chatkit/attachments/local_store.hpp>
#include <chatkit/attachments/routes.hpp>
#include <chatkit/http/server.hpp>
#include <chatkit/sqlite/store.hpp>
#include <chatkit/server.hpp>
#include <chatkit/streaming.hpp>
#include <chatkit/widgets.hpp>
#include <chatkit/widgets/builders.hpp>

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

// --- the widget ----------------------------------------------------------------------------------

/// True for a message asking for the demo widget (it contains the word "widget").
bool wants_widget(UserMessageItem const& input) {
    for (auto const& part : input.content)
        if (auto const* t = std::get_if<UserMessageTextContent>(&part))
            if (t->text.find("widget") != std::string::npos) return true;
    return false;
}

//[demo_widget
/// The demo widget: a card with a counter and two buttons. "Say hello" is a streaming action
/// (`threads.custom_action`): the server answers with an assistant message. "Count" goes through
/// `threads.sync_custom_action` in clients that use it, and updates the card in place.
WidgetRoot demo_widget(long long count) {
    using namespace chatkit::widgets;
    return Card({
                    Title("Widget demo").size("sm"),
                    Markdown("Built on the server with **chatkit::widgets**; the buttons call it back."),
                    Row({Badge("count " + std::to_string(count)).color("info").id("count"), Spacer(),
                         Caption("pressed " + std::to_string(count) + " times")})
                        .gap(2),
                    Divider(),
                    Row({Button("Say hello")
                             .style("primary")
                             .on_click({.type = "quickstart.hello", .payload = {{"count", count}}}),
                         Button("Count").variant("outline").on_click({.type = "quickstart.count"})})
                        .gap(2),
                })
        .size("md")
        .padding(3);
}
//]

/// The counter a demo widget shows (read back from its `count` badge).
long long widget_count(WidgetItem const& item) {
    auto const* row = item.widget.if_contains("children");
    if (!row || !row->is_array() || row->get_array().size() < 3) return 0;
    auto const* badge_row = row->get_array()[2].if_object();
    auto const* children = badge_row ? badge_row->if_contains("children") : nullptr;
    if (!children || !children->is_array() || children->get_array().empty()) return 0;
    auto const* badge = children->get_array()[0].if_object();
    auto const* label = badge ? badge->if_contains("label") : nullptr;
    if (!label || !label->is_string()) return 0;
    std::string_view const text = label->get_string();
    auto const space = text.rfind(' ');
    try {
        return space == std::string_view::npos ? 0 : std::stoll(std::string(text.substr(space + 1)));
    } catch (std::exception const&) {
        return 0;
    }
}

// --- the assistant -------------------------------------------------------------------------------

/// Serialises stderr lines written from several I/O threads.
void log_line(std::string const& line) {
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    std::cerr << line << std::endl;
}

/// The quickstart's ChatKit server: an echo "model" that streams its reply word by word.
class QuickstartServer : public ChatKitServer<Context> {
public:
    QuickstartServer(Store<Context>& store, std::chrono::milliseconds word_delay,
                     AttachmentStore<Context>* attachments = nullptr)
        : ChatKitServer<Context>(store, attachments), word_delay_(word_delay) {}

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

/// The quickstart with its widget demo: a message containing "widget" is answered with the demo
/// widget, whose buttons come back as actions. Everything else goes to QuickstartServer.
class WidgetDemoServer final : public QuickstartServer {
public:
    using QuickstartServer::QuickstartServer;

protected:
    asio::awaitable<void> respond(ThreadMetadata& thread, std::optional<UserMessageItem> const& input,
                                  EventSink& events, Context& ctx) override {
        if (input && wants_widget(*input)) {
            co_await stream_widget(events, demo_widget(0), std::string("Widget demo"));
            co_return;
        }
        co_await QuickstartServer::respond(thread, input, events, ctx);
    }

    //[widget_action
    /// A widget button was pressed (`threads.custom_action`): answer with a streamed message.
    asio::awaitable<void> action(ThreadMetadata&, Action const& action, std::optional<WidgetItem> const& sender,
                                 EventSink& events, Context& ctx) override {
        if (action.type == "quickstart.hello") {
            AssistantMessageStream message(events);
            co_await message.start();
            // Named first: a temporary built inside a co_await expression is miscompiled by g++ 12.
            std::string const widget = sender ? sender->id : std::string("was not named");
            std::string text = "Hello " + ctx.user_id + "! The server received your button press (the widget " + widget + ").";
            co_await message.append(std::move(text));
            co_await message.finish();
            co_return;
        }
        if (action.type == "quickstart.count" && sender) {
            // Streaming variant of "Count": replace the widget with the next count.
            WidgetItem item = *sender;
            item.widget = demo_widget(widget_count(*sender) + 1);
            ThreadStreamEvent replaced = ThreadItemReplacedEvent{item};
            co_await events.emit(std::move(replaced));
            co_return;
        }
        throw CustomStreamError("Unknown action: " + action.type);
    }

    /// `threads.sync_custom_action`: "Count" returns the updated widget, saved first.
    asio::awaitable<SyncCustomActionResponse> sync_action(ThreadMetadata& thread, Action const& action,
                                                          std::optional<WidgetItem> const& sender,
                                                          Context& ctx) override {
        if (action.type != "quickstart.count" || !sender)
            throw_error(error::invalid_request, "Unknown action: " + action.type);
        WidgetItem item = *sender;
        item.widget = demo_widget(widget_count(*sender) + 1);
        co_await store().save_item(thread.id, item, ctx);
        co_return SyncCustomActionResponse{ThreadItem(std::move(item))};
    }
    //]
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
        .option("uploads-dir", "CHATKIT_UPLOADS_DIR", "",
                "directory for attachment uploads (enables attachments; empty disables them)")
        .option("max-upload-mb", "CHATKIT_MAX_UPLOAD_MB", "10", "largest attachment, in MiB")
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
    //[attachments_setup
    std::unique_ptr<LocalAttachmentStore<Context>> attachments;
    if (!cli.get("uploads-dir").empty()) {
        LocalAttachmentOptions files;
        files.directory = cli.get("uploads-dir");
        files.max_bytes = static_cast<std::uint64_t>(cli.positive("max-upload-mb")) * 1024 * 1024;
        try {
            attachments = std::make_unique<LocalAttachmentStore<Context>>(std::move(files), owner_of);
        } catch (std::exception const& e) {
            std::cerr << "quickstart: cannot use the uploads directory: " << e.what() << "\n";
            return 1;
        }
    }
    WidgetDemoServer app(*store.store, std::chrono::milliseconds(word_delay_ms), attachments.get());
    //]
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
        //[attachments_routes
        http::Server<Context> server(app, options, make_context);
        if (attachments) mount_attachment_routes(server, *attachments, *store.store);
        server.start();
        if (attachments) {
            attachments->files().set_base_url(server.url());
            auto const swept = attachments->files().sweep();
            if (!swept.empty()) log_line("attachments: removed " + std::to_string(swept.size()) + " abandoned uploads");
        }
        //]
        std::cout << "listening on " << server.url() << std::endl;  // first stdout line, flushed
        log_line(model_line());
        log_line("store: " + store.description + "; partitioned by the X-User-Id header (default local-user)");
        if (attachments)
            log_line("attachments: " + cli.get("uploads-dir") + " (POST " + server.url() + "/attachments)");
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
