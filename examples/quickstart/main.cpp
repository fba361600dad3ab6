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
//     store is partitioned; the store is SQLite (`--db FILE`, the default ./chatkit.db) or PostgreSQL
//     (`--db postgresql://...`, which several quickstarts behind one load balancer can share);
//   * a widget (send a message containing "widget") whose button's action the server answers
//     (action() streams a reply; sync_action() updates the widget's counter);
//   * attachments (on by default, in ./uploads; `--uploads-dir ""` turns them off): a
//     LocalAttachmentStore scoped by user like the threads, served by http::mount_attachments (upload
//     and preview routes, and a sweep of abandoned uploads, files and records, on a timer);
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
#include "../common/limits.hpp"
#include "../common/on_disconnect.hpp"
#include "../common/store.hpp"

#include <chatkit/agents/chatkit/bridge.hpp>
#include <chatkit/agents/chatkit/transcriber.hpp>
#include <chatkit/agents/offline.hpp>
#include <chatkit/agents/openai.hpp>
#include <chatkit/http/attachment_routes.hpp>
#include <chatkit/http/client/http_client.hpp>
#include <chatkit/http/server.hpp>
#include <chatkit/http/usage_route.hpp>
#include <chatkit/protocol/widget_builders.hpp>
#include <chatkit/server/server.hpp>
#include <chatkit/server/streaming.hpp>
#include <chatkit/server/widgets.hpp>
#include <chatkit/store/local_attachment_store.hpp>

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

// --- text helpers --------------------------------------------------------------------------------

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

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
bool wants_widget(UserMessageItem const& input) { return text_of(input).find("widget") != std::string::npos; }

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
    /// A server over `options`; the model converter reads attachment bytes with `loader`.
    QuickstartServer(Options options, std::shared_ptr<agents::Model> model, agents::AttachmentLoader<Context> loader)
        : ChatKitServer<Context>(std::move(options)), converter_(std::move(loader)) {
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
            std::string title = title_from(text_of(*input));
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
            std::string const widget = sender ? sender->id : std::string("was not named");
            std::string text = "Hello " + ctx.user_id + "! The server received your button press (the widget " + widget + ").";
            co_await stream_assistant_message(events, std::move(text));
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
/// get_weather when a message mentions the weather), streaming one word per `word_delay`. The model
/// sends its requests through `transport` (the http layer's HttpClient).
std::pair<std::shared_ptr<agents::Model>, std::string> choose_model(std::shared_ptr<Transport> const& transport,
                                                                    std::chrono::milliseconds word_delay) {
    if (char const* base = std::getenv("OPENAI_BASE_URL"); base && *base) {
        auto provider = agents::OpenAIProvider::from_env(transport);
        return {provider.get_model(""), "model: " + provider.options().default_model + " at " + base};
    }
    agents::DemoModelOptions demo;
    demo.pacing = word_delay;
    return {std::make_shared<agents::DemoModel>(demo),
            "model: offline DemoModel (no network; try \"what is the weather in Paris?\")"};
}
//]

}  // namespace

int main(int argc, char** argv) try {
    std::string const playground = default_playground(argv[0]);

    examples::Cli cli("quickstart",
                      "A ChatKit backend with an echo assistant that streams its answers, and a browser "
                      "playground at http://HOST:PORT/.");
    cli.listener_options()
        .option("db", "CHATKIT_DB", "./chatkit.db",
                "where threads live: an SQLite file, :memory: (kept in memory), or a postgresql:// URL "
                "(shared by every quickstart on that database; docs/store.md)")
        .option("static-dir", "CHATKIT_STATIC_DIR", playground, "directory served at / (the playground)")
        .option("word-delay-ms", "CHATKIT_WORD_DELAY_MS", "30", "pause before each streamed word, in ms")
        .option("uploads-dir", "CHATKIT_UPLOADS_DIR", "./uploads",
                "directory for attachment uploads, created when missing; an empty value turns attachments off")
        .option("max-upload-mb", "CHATKIT_MAX_UPLOAD_MB", "10", "largest attachment, in MiB")
        .option("upload-max-age-s", "CHATKIT_UPLOAD_MAX_AGE_S", "3600",
                "an attachment created but not uploaded within this many seconds is abandoned")
        .option("sweep-interval-s", "CHATKIT_SWEEP_INTERVAL_S", "600",
                "seconds between sweeps removing abandoned uploads (files and records)")
        .flag("verbose", "CHATKIT_VERBOSE", "log requests that fail and cancelled streams to stderr");
    examples::on_disconnect_option(cli);  // --on-disconnect continue|cancel (issue 18)
    examples::limit_options(cli);
    cli.parse(argc, argv);
    examples::Limits const limits = examples::limits_from(cli);

    int word_delay_ms = 0;
    try {
        std::size_t used = 0;
        word_delay_ms = std::stoi(cli.get("word-delay-ms"), &used);
        if (used != cli.get("word-delay-ms").size() || word_delay_ms < 0 || word_delay_ms > 10000)
            throw std::out_of_range("delay");
    } catch (std::exception const&) {
        cli.fail("option '--word-delay-ms' must be 0-10000, got '" + cli.get("word-delay-ms") + "'");
    }
    auto const sweep_interval = seconds_option(cli, "sweep-interval-s", 24L * 3600);
    auto const upload_max_age = seconds_option(cli, "upload-max-age-s", 30L * 24 * 3600);

    // One HTTP client for every upstream call (model, transcription): its pool serves them all.
    auto const transport = std::make_shared<http::HttpClient>();
    // Throws on an invalid OPENAI_* / CHATKIT_MODEL_* variable: a start-up error, before any file is made.
    auto const [model, model_description] = choose_model(transport, std::chrono::milliseconds(word_delay_ms));
    auto const store = examples::open_store<Context>(cli.get("db"), owner_of);
    //[attachments_setup
    // Attachments (the playground's paper clip): bytes in --uploads-dir (./uploads, next to
    // ./chatkit.db, created when missing); an empty --uploads-dir turns them off.
    std::unique_ptr<LocalAttachmentStore<Context>> attachments;
    if (!cli.get("uploads-dir").empty()) {
        LocalAttachmentOptions files;
        files.directory = cli.get("uploads-dir");
        files.max_bytes = static_cast<std::uint64_t>(cli.positive("max-upload-mb")) * 1024 * 1024;
        files.pending_max_age = upload_max_age;
        attachments = std::make_unique<LocalAttachmentStore<Context>>(std::move(files), owner_of);
    }
    //]
    //[transcriber_setup
    // Dictation: OpenAI's transcription API when configured; otherwise input.transcribe answers 500
    // (not implemented) and the playground's microphone stays unused.
    std::unique_ptr<agents::OpenAITranscriber> const transcriber = agents::OpenAITranscriber::from_env_if_configured(transport);
    //]
    //[make_server
    // Everything the server works with, given once to its constructor.
    WidgetDemoServer app({.store = *store.store,
                          .attachments = attachments.get(),
                          .transcriber = transcriber.get(),
                          .logger = Logger::stderr_logger(cli.is_set("verbose") ? LogLevel::info : LogLevel::warning),
                          .runs = examples::run_options(cli),
                          .rate_limiter = limits.rate_limiter.get(),
                          .quotas = limits.quotas},
                         model, attachment_loader(attachments.get()));
    //]

    http::ServerOptions options = cli.server_options();
    fs::path const static_dir = cli.get("static-dir");
    std::error_code ec;
    if (fs::is_regular_file(static_dir / "index.html", ec)) {
        options.static_dir = static_dir;
    } else {
        log_line("warning: no playground at " + static_dir.string() + " (no index.html); serving the API only");
    }
    http::Server<Context> server(app, options, make_context);
    //[attachments_routes
    // The upload and preview routes, upload URLs on the bound port, and a sweep of abandoned uploads
    // (files and records) at start-up and every --sweep-interval-s, stopped with the server.
    if (attachments)
        http::mount_attachments(server, *attachments, *store.store,
                                {.context_of_owner = [](std::string const& user) { return Context{user}; },
                                 .sweep_interval = sweep_interval,
                                 .logger = Logger::stderr_logger(LogLevel::info),
                                 .rate_limiter = limits.rate_limiter.get()});
    //]
    http::mount_usage_route(server, *store.store);  // GET /chatkit/usage: the caller's token usage
    server.start();  // binds (throws if it cannot), so the lines below can give the URL
    log_line(model_description);
    log_line("store: " + store.description + "; partitioned by the X-User-Id header (default local-user)");
    log_line(limits.description);
    if (attachments)
        log_line("attachments: " + cli.get("uploads-dir") + " (POST " + server.url() + "/attachments); sweep every " +
                 std::to_string(sweep_interval.count()) + " s, abandoned after " + std::to_string(upload_max_age.count()) +
                 " s");
    else
        log_line("attachments: off (--uploads-dir is empty)");
    log_line(transcriber ? "dictation: OpenAI transcription, model " + transcriber->options().model + " at " +
                               transcriber->options().endpoint.base_url
                         : std::string("dictation: off (set OPENAI_API_KEY or OPENAI_BASE_URL to enable it)"));
    if (options.static_dir) log_line("playground: " + server.url() + "/ (files from " + static_dir.string() + ")");
    log_line("ChatKit endpoint: POST " + server.url() + options.chatkit_path + "; stop with Ctrl-C");
    server.run_until_signal();  // prints "listening on http://HOST:PORT"; SIGINT/SIGTERM stop it (and the sweep)
    log_line("quickstart: stopped");
    return 0;
} catch (std::exception const& e) {
    log_line(std::string("quickstart: ") + e.what());
    return 1;
}
