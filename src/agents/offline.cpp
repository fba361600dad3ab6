// chatkit-cpp agents: ScriptedModel, DemoModel and OfflineProvider (no network).
#include <chatkit/agents/offline.hpp>
#include <chatkit/core/ids.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cctype>
#include <set>

namespace chatkit::agents {

namespace asio = boost::asio;

FunctionCallItem function_call(std::string name, std::string arguments, std::string call_id) {
    FunctionCallItem c;
    c.name = std::move(name);
    c.arguments = std::move(arguments);
    c.call_id = std::move(call_id);
    return c;
}

ReasoningItem reasoning(std::string summary) {
    ReasoningItem r;
    r.summary.push_back(std::move(summary));
    return r;
}

ScriptedTurn ScriptedTurn::text(std::string text) {
    ScriptedTurn t;
    t.output.emplace_back(assistant_message(std::move(text)));
    return t;
}

ScriptedTurn ScriptedTurn::items(std::vector<Item> output) {
    ScriptedTurn t;
    t.output = std::move(output);
    return t;
}

ScriptedTurn ScriptedTurn::tool_call(std::string name, std::string arguments, std::string call_id) {
    ScriptedTurn t;
    t.output.emplace_back(function_call(std::move(name), std::move(arguments), std::move(call_id)));
    return t;
}

ScriptedTurn ScriptedTurn::failure(std::exception_ptr error) {
    ScriptedTurn t;
    t.error = std::move(error);
    return t;
}

ScriptedTurn ScriptedTurn::raw(std::vector<ModelStreamEvent> events, std::exception_ptr error) {
    ScriptedTurn t;
    t.events = std::move(events);
    t.error = std::move(error);
    return t;
}

namespace {

/// "Hello big world" -> "Hello", " big", " world".
std::vector<std::string> split_words(std::string const& text) {
    std::vector<std::string> out;
    std::string cur;
    bool seen_word = false;
    for (char c : text) {
        bool const space = std::isspace(static_cast<unsigned char>(c)) != 0;
        if (space && seen_word && !cur.empty()) {
            out.push_back(std::move(cur));
            cur.clear();
            seen_word = false;
        }
        if (!space) seen_word = true;
        cur += c;
    }
    if (!cur.empty()) out.push_back(std::move(cur));
    return out;
}

std::size_t word_count(std::string const& text) {
    std::size_t n = 0;
    bool in_word = false;
    for (char c : text) {
        bool const space = std::isspace(static_cast<unsigned char>(c)) != 0;
        if (!space && !in_word) ++n;
        in_word = !space;
    }
    return n;
}

class EventBuilder {
public:
    std::vector<ModelStreamEvent> events;

    ModelStreamEvent& add(ModelEventKind kind) {
        ModelStreamEvent ev;
        ev.kind = kind;
        ev.type = std::string(model_event_type(kind));
        ev.sequence_number = static_cast<std::int64_t>(events.size());
        events.push_back(std::move(ev));
        return events.back();
    }
};

json::object text_part(std::string const& text) {
    json::object p;
    p["type"] = "output_text";
    p["text"] = text;
    p["annotations"] = json::array{};
    p["logprobs"] = json::array{};
    return p;
}

json::object refusal_part(std::string const& text) {
    json::object p;
    p["type"] = "refusal";
    p["refusal"] = text;
    return p;
}

json::object summary_part(std::string const& text) {
    json::object p;
    p["type"] = "summary_text";
    p["text"] = text;
    return p;
}

/// Completed form of an output item (status and logprobs as a real server sends them).
Item completed(Item item) {
    if (auto* m = std::get_if<MessageItem>(&item)) {
        if (!m->status) m->status = "completed";
        if (m->role.empty()) m->role = "assistant";
        for (auto& p : m->content)
            if (auto* t = std::get_if<OutputText>(&p); t && !t->logprobs) t->logprobs = json::array{};
    } else if (auto* c = std::get_if<FunctionCallItem>(&item)) {
        if (!c->status) c->status = "completed";
    }
    return item;
}

void emit_item_events(EventBuilder& b, std::int64_t index, Item const& done_item) {
    using K = ModelEventKind;
    auto item_id_str = item_id(done_item).value_or("");
    if (auto const* m = std::get_if<MessageItem>(&done_item)) {
        MessageItem added = *m;
        added.content.clear();
        added.status = "in_progress";
        {
            auto& ev = b.add(K::OutputItemAdded);
            ev.output_index = index;
            ev.item = Item(added);
        }
        std::int64_t ci = 0;
        for (auto const& part : m->content) {
            auto base = [&](ModelEventKind k) -> ModelStreamEvent& {
                auto& ev = b.add(k);
                ev.item_id = item_id_str;
                ev.output_index = index;
                ev.content_index = ci;
                return ev;
            };
            if (auto const* t = std::get_if<OutputText>(&part)) {
                base(K::ContentPartAdded).part = text_part("");
                for (auto& w : split_words(t->text)) base(K::OutputTextDelta).delta = w;
                std::int64_t ai = 0;
                for (auto const& a : t->annotations) {
                    auto& ev = base(K::AnnotationAdded);
                    ev.annotation_index = ai++;
                    ev.annotation = a;
                }
                base(K::OutputTextDone).text = t->text;
                auto done = text_part(t->text);
                done["annotations"] = t->annotations;
                base(K::ContentPartDone).part = std::move(done);
            } else if (auto const* r = std::get_if<RefusalPart>(&part)) {
                base(K::ContentPartAdded).part = refusal_part("");
                if (!r->refusal.empty()) base(K::RefusalDelta).delta = r->refusal;
                base(K::RefusalDone).text = r->refusal;
                base(K::ContentPartDone).part = refusal_part(r->refusal);
            }
            ++ci;
        }
    } else if (auto const* c = std::get_if<FunctionCallItem>(&done_item)) {
        FunctionCallItem added = *c;
        added.arguments.clear();
        added.status = "in_progress";
        {
            auto& ev = b.add(K::OutputItemAdded);
            ev.output_index = index;
            ev.item = Item(added);
        }
        if (!c->arguments.empty()) {
            auto& ev = b.add(K::FunctionArgsDelta);
            ev.item_id = item_id_str;
            ev.output_index = index;
            ev.delta = c->arguments;
        }
        auto& ev = b.add(K::FunctionArgsDone);
        ev.item_id = item_id_str;
        ev.output_index = index;
        ev.name = c->name;
        ev.text = c->arguments;
    } else if (auto const* r = std::get_if<ReasoningItem>(&done_item)) {
        ReasoningItem added;
        added.id = r->id;
        {
            auto& ev = b.add(K::OutputItemAdded);
            ev.output_index = index;
            ev.item = Item(added);
        }
        std::int64_t si = 0;
        for (auto const& s : r->summary) {
            auto base = [&](ModelEventKind k) -> ModelStreamEvent& {
                auto& ev = b.add(k);
                ev.item_id = item_id_str;
                ev.output_index = index;
                ev.summary_index = si;
                return ev;
            };
            base(K::SummaryPartAdded).part = summary_part("");
            base(K::SummaryTextDelta).delta = s;
            base(K::SummaryTextDone).text = s;
            base(K::SummaryPartDone).part = summary_part(s);
            ++si;
        }
    } else {
        auto& ev = b.add(K::OutputItemAdded);
        ev.output_index = index;
        ev.item = done_item;
    }
    auto& done = b.add(K::OutputItemDone);
    done.output_index = index;
    done.item = done_item;
    done.item_id = item_id_str;
}

/// Fills `raw` of each event (so consumers that read `raw` see the wire payload).
void fill_raw(std::vector<ModelStreamEvent>& events) {
    for (auto& ev : events) {
        if (ev.kind == ModelEventKind::OutputItemAdded && ev.item) ev.item_id = item_id(*ev.item).value_or("");
        ev.raw = to_json(ev);
    }
}

}  // namespace

std::vector<ModelStreamEvent> ScriptedModel::canonical_events(std::string const& response_id, std::string const& model,
                                                              std::vector<Item> const& output, Usage const& usage) {
    using K = ModelEventKind;
    EventBuilder b;
    b.add(K::Created).response = make_response_object(response_id, "in_progress", model, {});
    b.add(K::InProgress).response = make_response_object(response_id, "in_progress", model, {});
    for (std::size_t i = 0; i < output.size(); ++i) emit_item_events(b, static_cast<std::int64_t>(i), output[i]);
    b.add(K::Completed).response = make_response_object(response_id, "completed", model, output, to_json(usage));
    fill_raw(b.events);
    return std::move(b.events);
}

ScriptedModel::ScriptedModel(std::vector<ScriptedTurn> turns) {
    for (auto& t : turns) turns_.push_back(std::move(t));
}

ScriptedModel& ScriptedModel::push(ScriptedTurn turn) {
    turns_.push_back(std::move(turn));
    return *this;
}

ScriptedModel& ScriptedModel::then_text(std::string text) { return push(ScriptedTurn::text(std::move(text))); }

ScriptedModel& ScriptedModel::then_items(std::vector<Item> output) { return push(ScriptedTurn::items(std::move(output))); }

void ScriptedModel::assign_ids(std::vector<Item>& output) {
    auto next = [this](std::string const& prefix) { return prefix + "_" + std::to_string(++counters_[prefix]); };
    for (auto& item : output) {
        if (auto* m = std::get_if<MessageItem>(&item)) {
            if (!m->id) m->id = next("msg");
        } else if (auto* c = std::get_if<FunctionCallItem>(&item)) {
            if (!c->id) c->id = next("fc");
            if (c->call_id.empty()) c->call_id = next("call");
        } else if (auto* r = std::get_if<ReasoningItem>(&item)) {
            if (r->id.empty()) r->id = next("rs");
        }
        item = completed(std::move(item));
    }
}

task<ModelResponse> ScriptedModel::stream(ModelRequest const& request, ModelEventHandler const& on_event) {
    requests.push_back(request);
    if (turns_.empty()) throw UserError("ScriptedModel: no scripted turn left");
    ScriptedTurn turn = std::move(turns_.front());
    turns_.pop_front();

    if (!turn.events.empty()) {
        std::optional<ModelResponse> response;
        bool output_seen = false;
        for (auto& ev : turn.events) {
            if (ev.raw.empty()) ev.raw = to_json(ev);
            co_await on_event(ev);
            switch (ev.kind) {
                case ModelEventKind::Completed:
                    response = response_from_json(ev.response ? *ev.response : json::object{});
                    break;
                case ModelEventKind::Failed:
                case ModelEventKind::Error: throw ModelStreamError(ev.code, ev.message, output_seen);
                case ModelEventKind::Incomplete: throw ModelStreamError("incomplete", "response.incomplete", output_seen);
                case ModelEventKind::Created:
                case ModelEventKind::InProgress:
                case ModelEventKind::Other: break;
                default: output_seen = true; break;
            }
            if (response) break;
        }
        if (!response) {
            if (turn.error) std::rethrow_exception(turn.error);
            throw ModelProtocolError("ScriptedModel: stream ended before response.completed");
        }
        if (response->usage.requests == 0) response->usage.requests = 1;
        co_return std::move(*response);
    }

    if (turn.error && turn.output.empty()) std::rethrow_exception(turn.error);

    assign_ids(turn.output);
    std::string const response_id = turn.response_id.value_or("resp_" + std::to_string(++counters_["resp"]));
    Usage usage = turn.usage;
    usage.requests = 1;
    usage.per_request.clear();
    auto events = canonical_events(response_id, request.model, turn.output, usage);
    if (turn.error) events.pop_back();  // fail instead of completing
    for (auto const& ev : events) co_await on_event(ev);
    if (turn.error) std::rethrow_exception(turn.error);

    ModelResponse r;
    r.output = std::move(turn.output);
    r.usage = usage;
    r.response_id = response_id;
    co_return r;
}

// ---------------------------------------------------------------------------------------------
// DemoModel

namespace {

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::vector<std::string> words_of(std::string const& text) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : text) {
        if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || (static_cast<unsigned char>(c) >= 0x80)) {
            cur += c;
        } else if (!cur.empty()) {
            out.push_back(std::move(cur));
            cur.clear();
        }
    }
    if (!cur.empty()) out.push_back(std::move(cur));
    return out;
}

/// Whether `text` mentions `tool`: the full name, or one of its `_`-separated words of 4+ letters.
bool mentions(std::string const& text, std::string const& tool) {
    auto const words = words_of(lower(text));
    auto const name = lower(tool);
    std::vector<std::string> keys{name};
    std::string part;
    for (char c : name + "_") {
        if (c == '_') {
            if (part.size() >= 4) keys.push_back(part);
            part.clear();
        } else {
            part += c;
        }
    }
    for (auto const& w : words)
        for (auto const& k : keys)
            if (w == k) return true;
    return false;
}

std::string place_in(std::string const& text) {
    auto const words = words_of(text);
    for (std::size_t i = 0; i + 1 < words.size(); ++i)
        if (lower(words[i]) == "in") return words[i + 1];
    return words.empty() ? std::string() : words.back();
}

// DemoModel's arguments for `tool` from the message `text`: an `enum` property gets the value the
// message names (else its first value when required, else nothing), strings the place or the text,
// numbers the first number, booleans false.
json::object demo_arguments(ToolSpec const& tool, std::string const& text) {
    json::object args;
    auto const* props = tool.parameters.if_contains("properties");
    if (!props || !props->is_object()) return args;
    auto const* required = tool.parameters.if_contains("required");
    auto const is_required = [&](std::string_view key) {
        if (!required || !required->is_array()) return false;
        auto const& names = required->get_array();
        return std::any_of(names.begin(), names.end(), [&](json::value const& n) { return n.is_string() && n.get_string() == key; });
    };
    auto const words = words_of(lower(text));
    for (auto const& kv : props->get_object()) {
        std::string type;
        json::array const* choices = nullptr;
        if (kv.value().is_object()) {
            if (auto const* t = kv.value().get_object().if_contains("type"); t && t->is_string())
                type = std::string(t->get_string());
            if (auto const* e = kv.value().get_object().if_contains("enum"); e && e->is_array()) choices = &e->get_array();
        }
        std::string const key(kv.key());
        if (choices && !choices->empty()) {
            // An enum: the value the message names, else the first one when required, else left out.
            json::value const* named = nullptr;
            for (auto const& c : *choices)
                if (!named && c.is_string() &&
                    std::find(words.begin(), words.end(), lower(std::string(c.get_string()))) != words.end())
                    named = &c;
            if (named) args[key] = *named;
            else if (is_required(key)) args[key] = choices->front();
        } else if (type == "string" || type.empty()) {
            static std::set<std::string> const places{"city", "location", "place", "where", "country", "town"};
            args[key] = places.contains(lower(key)) ? place_in(text) : text;
        } else if (type == "integer" || type == "number") {
            std::int64_t n = 0;
            for (auto const& w : words_of(text)) {
                if (!w.empty() && std::all_of(w.begin(), w.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
                    n = std::stoll(w.substr(0, 15));
                    break;
                }
            }
            args[key] = n;
        } else if (type == "boolean") {
            args[key] = false;
        }
    }
    return args;
}

std::size_t input_words(std::vector<Item> const& input) {
    std::size_t n = 0;
    for (auto const& item : input) {
        if (auto const* m = std::get_if<MessageItem>(&item)) n += word_count(message_text(*m));
        else if (auto const* o = std::get_if<FunctionCallOutput>(&item)) n += word_count(o->output);
    }
    return n;
}

}  // namespace

DemoModel::DemoModel(DemoModelOptions options) : options_(std::move(options)) {
    if (options_.id_token.empty()) options_.id_token = chatkit::random_hex(4);
}

task<ModelResponse> DemoModel::stream(ModelRequest const& request, ModelEventHandler const& on_event) {
    int const n = ++calls_;
    auto id = [&](char const* prefix) { return std::string(prefix) + "_" + options_.id_token + "_" + std::to_string(n); };

    // What to answer.
    std::string last_user;
    for (auto it = request.input.rbegin(); it != request.input.rend(); ++it) {
        if (auto const* m = std::get_if<MessageItem>(&*it); m && m->role == "user") {
            last_user = message_text(*m);
            break;
        }
    }
    std::vector<Item> output;
    if (options_.reasoning) {
        ReasoningItem r;
        r.id = id("rs");
        r.summary.push_back("Reading the message (" + std::to_string(word_count(last_user)) + " words).");
        output.emplace_back(std::move(r));
    }

    Item const* last = request.input.empty() ? nullptr : &request.input.back();
    std::string answer;
    bool called = false;
    if (last) {
        if (auto const* out = std::get_if<FunctionCallOutput>(last)) {
            std::string tool = "tool";
            for (auto const& item : request.input)
                if (auto const* c = std::get_if<FunctionCallItem>(&item); c && c->call_id == out->call_id) tool = c->name;
            answer = "The " + tool + " tool says: " + out->output;
        } else if (auto const* m = std::get_if<MessageItem>(last); m && m->role == "user") {
            for (auto const& tool : request.tools) {
                if (!mentions(last_user, tool.name)) continue;
                FunctionCallItem c;
                c.id = id("fc");
                c.call_id = id("call");
                c.name = tool.name;
                c.arguments = json::serialize(demo_arguments(tool, last_user));
                c.status = "completed";
                output.emplace_back(std::move(c));
                called = true;
                break;
            }
        }
    }
    if (!called && answer.empty()) answer = "You said: " + last_user;
    if (!called) output.emplace_back(assistant_message(answer, id("msg")));
    for (auto& item : output) item = completed(std::move(item));

    Usage usage;
    usage.requests = 1;
    usage.input_tokens = input_words(request.input);
    usage.output_tokens = called ? word_count(std::get<FunctionCallItem>(output.back()).arguments) : word_count(answer);
    usage.total_tokens = usage.input_tokens + usage.output_tokens;

    auto events = ScriptedModel::canonical_events(id("resp"), request.model.empty() ? "demo" : request.model, output, usage);
    for (auto const& ev : events) {
        if (options_.pacing.count() > 0 &&
            (ev.kind == ModelEventKind::OutputTextDelta || ev.kind == ModelEventKind::SummaryTextDelta)) {
            asio::steady_timer timer(co_await asio::this_coro::executor, options_.pacing);
            co_await timer.async_wait(asio::use_awaitable);
        }
        co_await on_event(ev);
    }

    ModelResponse r;
    r.output = std::move(output);
    r.usage = usage;
    r.response_id = id("resp");
    co_return r;
}

// ---------------------------------------------------------------------------------------------
// OfflineProvider

OfflineProvider::OfflineProvider(std::shared_ptr<Model> default_model)
    : default_(default_model ? std::move(default_model) : std::make_shared<DemoModel>()) {}

OfflineProvider& OfflineProvider::add(std::string name, std::shared_ptr<Model> model) {
    models_[std::move(name)] = std::move(model);
    return *this;
}

std::shared_ptr<Model> OfflineProvider::get_model(std::string_view name) {
    if (auto it = models_.find(name); it != models_.end()) return it->second;
    return default_;
}

}  // namespace chatkit::agents
