// quickstart: the smallest complete ChatKit backend on chatkit-cpp, and the project's main example.
//
//   scripts/quickstart.sh                      # builds it and runs it on http://127.0.0.1:8000
//   quickstart --port 0                        # prints "listening on http://127.0.0.1:PORT" first
//
// What it shows:
//   * a ChatKitServer<Context> subclass whose respond() runs an Agent (chatkit::agents) and streams
//     its answer with stream_agent_response (thread.item.added, content_part.added, text deltas,
//     content_part.done, thread.item.done);
//   * a server tool, get_weather, that shows its work in the thread as a workflow task;
//   * the conversation history (the last 30 items) converted to model input by ThreadItemConverter;
//   * changing the thread in respond() (the title, from the first user message): the engine saves
//     it and sends thread.updated;
//   * a per-request context built from the HTTP request (the user id in `X-User-Id`), by which the
//     store is partitioned;
//   * a widget (send a message containing "widget") whose button's action the server answers
//     (action() streams a reply; sync_action() updates the widget's counter);
//   * attachments (`--uploads-dir DIR`): a LocalAttachmentStore with its upload and preview routes,
//     scoped by user like the threads; abandoned uploads (files and records) are swept on a timer;
//   * dictation (`input.transcribe`): OpenAI's transcription API when OPENAI_API_KEY or
//     OPENAI_BASE_URL is set;
//   * chatkit::http::Server with the playground page (playground/) served at `/`, `/healthz`, and a
//     graceful stop on SIGINT/SIGTERM. Press the playground's stop button mid-answer: the browser
//     closes the connection, the server cancels the run (the model stops) and saves the partial answer.
//
// The model is the offline DemoModel: it answers "You said: <your message>" word by word, and calls
// get_weather when a message mentions the weather. With OPENAI_BASE_URL set (and OPENAI_API_KEY,
// CHATKIT_MODEL as needed), a compatible server answers instead. See also examples/agent_server.
#include "../common/cli.hpp"

#include <chatkit/agents/chatkit/bridge.hpp>
#include <chatkit/agents/chatkit/transcriber.hpp>
#include <chatkit/agents/offline.hpp>
#include <chatkit/agents/openai.hpp>
#include <chatkit/http/attachment_routes.hpp>
#include <chatkit/http/server.hpp>
#include <chatkit/protocol/widget_builders.hpp>
#include <chatkit/server/server.hpp>
#include <chatkit/server/streaming.hpp>
#include <chatkit/server/widgets.hpp>
#include <chatkit/store/local_attachment_store.hpp>
#include <chatkit/store/sqlite/store.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
namespace agents = chatkit::agents;
namespace fs = std::filesystem;
using namespace chatkit;

// --- the request context -------------------------------------------------------------------------

/// Who is asking. Built per request from the `X-User-Id` header ("local-user" when absent): a real
/// deployment takes it from a verified token instead (chatkit::auth, docs/auth.md).
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
    if (!ok)
        throw chatkit::Error(chatkit::error::invalid_request,
                             "X-User-Id must be 1-128 characters of [A-Za-z0-9-_.@]");
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

using AgentCtx = agents::AgentContext<Context>;

//[weather_tool
/// `get_weather(city)`: demo data, no network. The tool shows its work in the thread as a workflow
/// task ("Checked the weather in Paris"), then gives the model a JSON answer.
agents::FunctionTool weather_tool() {
    json::object schema{{"type", "object"},
                        {"properties", json::object{{"city", json::object{{"type", "string"}}}}},
                        {"required", json::array{"city"}}};
    return agents::make_tool<AgentCtx, json::object>(
        "get_weather", "Current weather of a city (demo data).", std::move(schema),
        [](agents::ToolContext<AgentCtx>& tool, json::object args) -> asio::awaitable<json::value> {
            std::string city(args.at("city").as_string());
            CustomTask task;
            task.title = "Checked the weather in " + city;
            task.status_indicator = TaskStatusIndicator::complete;
            co_await tool.context().add_workflow_task(std::move(task));
            int const temperature = static_cast<int>(std::hash<std::string>{}(city) % 30) - 5;
            co_return json::object{{"city", city}, {"temperature_c", temperature}, {"condition", "sunny"}};
        });
}
//]

/// The model converter's view of uploaded files: image bytes go to the model inline, text files as
/// text (never uploaded to a third party). Without an attachment store, attachments are described.
agents::AttachmentLoader<Context> attachment_loader(LocalAttachmentStore<Context>* attachments) {
    if (!attachments) return {};
    return [attachments](Attachment const& attachment,
                         Context& ctx) -> asio::awaitable<std::optional<AttachmentBytes>> {
        try {
            co_return attachments->read(attachment.id, ctx);
        } catch (Error const&) {
            co_return std::nullopt;  // not uploaded (yet), or gone: the converter describes it instead
        }
    };
}

/// The quickstart's ChatKit server: an Agent answers, streamed through stream_agent_response.
class QuickstartServer : public ChatKitServer<Context> {
public:
    QuickstartServer(Store<Context>& store, std::shared_ptr<agents::Model> model,
                     LocalAttachmentStore<Context>* attachments = nullptr)
        : ChatKitServer<Context>(store, attachments), converter_(attachment_loader(attachments)) {
        agent_.name = "Assistant";
        agent_.instructions = std::string("You are a helpful assistant. Use get_weather for weather questions.");
        agent_.tools = {weather_tool()};
        agent_.model = std::move(model);
    }

protected:
    //[respond
    asio::awaitable<void> respond(ThreadMetadata& thread, std::optional<UserMessageItem> const& input,
                                  EventSink& events, Context& ctx) override {
        // Changing the thread is enough: the engine saves it and sends thread.updated.
        if (input && !thread.title) {
            std::string title = title_from(user_text(*input));
            if (!title.empty()) thread.title = std::move(title);
        }
        // The last 30 items of the thread (the new message included) become the model's input.
        std::vector<ThreadItem> history = co_await agents::load_recent_items(store(), thread.id, 30, ctx);
        std::vector<agents::Item> model_input = co_await converter_.to_agent_input(history, ctx);

        // Text deltas, tool tasks and reasoning stream to the client as the model produces them.
        agents::AgentContext<Context> agent_ctx(thread, store(), ctx);
        co_await agents::stream_agent_response(agent_ctx, agent_, std::move(model_input), events);
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
    agents::Agent<AgentCtx> agent_;
    agents::ThreadItemConverter<Context> converter_;
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

// --- the attachment sweep ------------------------------------------------------------------------

//[periodic_sweep
/// Removes abandoned uploads (created, never uploaded within the max age) on both sides, files and
/// Store records, at start-up and then every `interval`, on the server's threads until `stop()`.
class PeriodicSweep {
public:
    PeriodicSweep(asio::io_context& io, LocalAttachmentStore<Context>& attachments, Store<Context>& store,
                  std::chrono::seconds interval)
        : strand_(asio::make_strand(io)), timer_(strand_), attachments_(attachments), store_(store),
          interval_(interval) {}

    void start() { asio::co_spawn(strand_, run(), asio::detached); }

    /// Cancels the timer; an ongoing sweep finishes first. Thread-safe.
    void stop() {
        asio::post(strand_, [this] {
            stopped_ = true;
            timer_.cancel();
        });
    }

private:
    asio::awaitable<void> run() {
        while (!stopped_) {
            co_await sweep_once();
            if (stopped_) break;
            timer_.expires_after(interval_);
            boost::system::error_code ec;
            co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
    }

    asio::awaitable<void> sweep_once() {
        try {
            // A record is deleted in the context of the user who created the attachment.
            LocalAttachmentStore<Context>::ContextOfOwnerFn const context_of = [](std::string const& owner) {
                return Context{owner};
            };
            auto const swept = co_await attachments_.sweep(store_, context_of);
            if (!swept.empty()) log_line("attachments: removed " + std::to_string(swept.size()) + " abandoned uploads");
        } catch (std::exception const& e) {
            log_line(std::string("attachments: sweep failed: ") + e.what());
        }
    }

    asio::strand<asio::io_context::executor_type> strand_;
    asio::steady_timer timer_;
    LocalAttachmentStore<Context>& attachments_;
    Store<Context>& store_;
    std::chrono::seconds interval_;
    bool stopped_ = false;  // on the strand
};
//]

/// The value of option `name` as a whole number of seconds in [1, max].
std::chrono::seconds seconds_option(examples::Cli const& cli, std::string const& name, long max) {
    try {
        std::size_t used = 0;
        long const v = std::stol(cli.get(name), &used);
        if (used != cli.get(name).size() || v < 1 || v > max) throw std::out_of_range("seconds");
        return std::chrono::seconds(v);
    } catch (std::exception const&) {
        cli.fail("option '--" + name + "' must be 1-" + std::to_string(max) + " seconds, got '" + cli.get(name) + "'");
    }
}

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

//[choose_model
/// The model: a compatible server when OPENAI_BASE_URL is set (Ollama, vLLM, llama.cpp, OpenAI...),
/// otherwise the offline DemoModel (deterministic, no network: it echoes "You said: ...", and calls
/// get_weather when a message mentions the weather), streaming one word per `word_delay`.
std::pair<std::shared_ptr<agents::Model>, std::string> choose_model(std::chrono::milliseconds word_delay) {
    if (char const* base = std::getenv("OPENAI_BASE_URL"); base && *base) {
        auto provider = agents::OpenAIProvider::from_env();
        return {provider.get_model(""), "model: " + provider.options().default_model + " at " + base};
    }
    agents::DemoModelOptions demo;
    demo.pacing = word_delay;
    return {std::make_shared<agents::DemoModel>(demo),
            "model: offline DemoModel (no network; try \"what is the weather in Paris?\")"};
}
//]

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
        .option("upload-max-age-s", "CHATKIT_UPLOAD_MAX_AGE_S", "3600",
                "an attachment created but not uploaded within this many seconds is abandoned")
        .option("sweep-interval-s", "CHATKIT_SWEEP_INTERVAL_S", "600",
                "seconds between sweeps removing abandoned uploads (files and records)")
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
    std::shared_ptr<agents::Model> model;
    std::string model_description;
    try {
        std::tie(model, model_description) = choose_model(std::chrono::milliseconds(word_delay_ms));
    } catch (std::exception const& e) {  // an invalid OPENAI_*/CHATKIT_MODEL_* variable
        std::cerr << "quickstart: " << e.what() << "\n";
        return 1;
    }
    //[attachments_setup
    std::unique_ptr<LocalAttachmentStore<Context>> attachments;
    if (!cli.get("uploads-dir").empty()) {
        LocalAttachmentOptions files;
        files.directory = cli.get("uploads-dir");
        files.max_bytes = static_cast<std::uint64_t>(cli.positive("max-upload-mb")) * 1024 * 1024;
        files.pending_max_age = seconds_option(cli, "upload-max-age-s", 30L * 24 * 3600);
        try {
            attachments = std::make_unique<LocalAttachmentStore<Context>>(std::move(files), owner_of);
        } catch (std::exception const& e) {
            std::cerr << "quickstart: cannot use the uploads directory: " << e.what() << "\n";
            return 1;
        }
    }
    auto const sweep_interval = seconds_option(cli, "sweep-interval-s", 24L * 3600);
    WidgetDemoServer app(*store.store, model, attachments.get());
    //]
    //[transcriber_setup
    // Dictation: OpenAI's transcription API when configured; otherwise input.transcribe answers 500
    // (not implemented) and the playground's microphone stays unused.
    std::unique_ptr<agents::OpenAITranscriber> transcriber;
    try {
        transcriber = agents::OpenAITranscriber::from_env_if_configured();
    } catch (std::exception const& e) {
        std::cerr << "quickstart: " << e.what() << "\n";
        return 1;
    }
    if (transcriber) app.set_transcriber(transcriber.get());
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
        std::unique_ptr<PeriodicSweep> sweep;
        if (attachments) {
            attachments->files().set_base_url(server.url());
            sweep = std::make_unique<PeriodicSweep>(server.context(), *attachments, *store.store, sweep_interval);
            sweep->start();
        }
        //]
        // SIGINT/SIGTERM (handled from now on): stop the sweep timer, which would keep the io_context
        // running, and the server.
        asio::signal_set signals(server.context(), SIGINT, SIGTERM);
        signals.async_wait([&](boost::system::error_code failed, int) {
            if (failed) return;
            if (sweep) sweep->stop();
            server.stop();
        });
        std::cout << "listening on " << server.url() << std::endl;  // first stdout line, flushed
        log_line(model_description);
        log_line("store: " + store.description + "; partitioned by the X-User-Id header (default local-user)");
        if (attachments)
            log_line("attachments: " + cli.get("uploads-dir") + " (POST " + server.url() + "/attachments); sweep every " +
                     std::to_string(sweep_interval.count()) + " s, abandoned after " +
                     std::to_string(attachments->files().options().pending_max_age.count()) + " s");
        log_line(transcriber ? "dictation: OpenAI transcription, model " + transcriber->options().model + " at " +
                                   transcriber->options().endpoint.base_url
                             : std::string("dictation: off (set OPENAI_API_KEY or OPENAI_BASE_URL to enable it)"));
        if (options.static_dir) log_line("playground: " + server.url() + "/ (files from " + static_dir.string() + ")");
        log_line("ChatKit endpoint: POST " + server.url() + options.chatkit_path + "; stop with Ctrl-C");
        server.run();
    } catch (std::exception const& e) {
        log_line(std::string("quickstart: ") + e.what());
        return 1;
    }
    log_line("quickstart: stopped");
    return 0;
}
