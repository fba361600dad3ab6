// chatkit-cpp: OpenAIChatCompletionsModel — POST {base}/chat/completions (AGENTS.md §3.1, §3.4,
// §1.11), CompatProfile presets and OpenAIProvider.
#include "chat_adapter.hpp"
#include "openai_common.hpp"

#include <chatkit/agents/openai.hpp>

#include <boost/json/parse.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>

namespace chatkit::agents {

namespace {

std::string joined_text(MessageItem const& m) {
    std::string out;
    bool first = true;
    for (auto const& part : m.content) {
        std::string const* text = nullptr;
        if (auto const* t = std::get_if<InputText>(&part)) text = &t->text;
        else if (auto const* o = std::get_if<OutputText>(&part)) text = &o->text;
        if (!text) continue;
        if (!first) out += "\n";
        out += *text;
        first = false;
    }
    return out;
}

json::value user_content(MessageItem const& m, CompatProfile const& profile) {
    // A message of text parts only is sent as one string; anything else as Chat content parts.
    bool text_only = std::all_of(m.content.begin(), m.content.end(), [](ContentPart const& p) {
        return std::holds_alternative<InputText>(p) || std::holds_alternative<OutputText>(p);
    });
    if (text_only && m.content.size() <= 1) return json::string(joined_text(m));
    json::array parts;
    for (auto const& part : m.content) {
        if (auto const* t = std::get_if<InputText>(&part)) {
            parts.push_back(json::object{{"type", "text"}, {"text", t->text}});
        } else if (auto const* o = std::get_if<OutputText>(&part)) {
            parts.push_back(json::object{{"type", "text"}, {"text", o->text}});
        } else if (auto const* img = std::get_if<InputImage>(&part)) {
            if (!img->image_url)
                throw UserError("Chat Completions cannot send an image by file id; use an image URL");
            if (profile.images_as_data_urls_only && img->image_url->rfind("data:", 0) != 0)
                throw UserError("the " + profile.name + " server only accepts images as data: URLs");
            parts.push_back(json::object{
                {"type", "image_url"}, {"image_url", json::object{{"url", *img->image_url}, {"detail", img->detail}}}});
        } else if (auto const* f = std::get_if<InputFile>(&part)) {
            json::object file;
            if (f->file_data) file["file_data"] = *f->file_data;
            if (f->file_id) file["file_id"] = *f->file_id;
            if (f->filename) file["filename"] = *f->filename;
            if (file.empty()) throw UserError("Chat Completions needs file_data or file_id for a file part");
            parts.push_back(json::object{{"type", "file"}, {"file", std::move(file)}});
        } else if (std::holds_alternative<RefusalPart>(part)) {
            throw UserError("a refusal part can only appear in an assistant message");
        }
    }
    return parts;
}

json::array to_messages(ModelRequest const& request, CompatProfile const& profile) {
    json::array messages;
    if (request.instructions)
        messages.push_back(json::object{{"role", profile.system_role}, {"content", *request.instructions}});
    constexpr std::size_t none = static_cast<std::size_t>(-1);
    std::size_t assistant = none;  // index of the assistant message collecting tool calls
    for (auto const& item : request.input) {
        if (auto const* m = std::get_if<MessageItem>(&item)) {
            if (m->role == "assistant") {
                json::object msg{{"role", "assistant"}};
                std::string text = joined_text(*m);
                std::string refusal = message_refusal(*m);
                if (!text.empty() || refusal.empty()) msg["content"] = text;
                else msg["content"] = nullptr;
                if (!refusal.empty()) msg["refusal"] = refusal;
                messages.push_back(std::move(msg));
                assistant = messages.size() - 1;
            } else if (m->role == "user" || m->role == "system" || m->role == "developer") {
                messages.push_back(json::object{{"role", m->role}, {"content", user_content(*m, profile)}});
                assistant = none;
            } else {
                throw UserError("unknown message role '" + m->role + "' for Chat Completions");
            }
        } else if (auto const* call = std::get_if<FunctionCallItem>(&item)) {
            if (assistant == none) {
                json::object msg{{"role", "assistant"}};
                switch (profile.assistant_toolcall_content) {
                    case CompatProfile::ToolCallContent::omit: break;
                    case CompatProfile::ToolCallContent::null: msg["content"] = nullptr; break;
                    case CompatProfile::ToolCallContent::empty_string: msg["content"] = ""; break;
                }
                messages.push_back(std::move(msg));
                assistant = messages.size() - 1;
            }
            auto& msg = messages[assistant].as_object();
            if (!msg.contains("tool_calls")) msg["tool_calls"] = json::array();
            msg["tool_calls"].as_array().push_back(json::object{
                {"id", call->call_id},
                {"type", "function"},
                {"function", json::object{{"name", call->name},
                                          {"arguments", call->arguments.empty() ? std::string("{}") : call->arguments}}}});
        } else if (auto const* out = std::get_if<FunctionCallOutput>(&item)) {
            messages.push_back(json::object{{"role", "tool"}, {"tool_call_id", out->call_id}, {"content", out->output}});
            assistant = none;
        } else if (std::holds_alternative<ReasoningItem>(item)) {
            // Reasoning is not replayed to Chat Completions servers.
        } else {
            throw UserError("item type '" + item_type(item) + "' cannot be sent to Chat Completions");
        }
    }
    return messages;
}

// Consumes one attempt's Chat Completions chunk stream and synthesises Responses events.
class ChatConsumer final : public detail::StreamConsumer {
public:
    ChatConsumer(ModelEventHandler const& on_event, bool reasoning_as_summary)
        : StreamConsumer(on_event), adapter_(reasoning_as_summary) {}

    task<void> on_sse(SseEvent const& sse) override {
        if (done_) co_return;
        if (sse.error) {
            boost::system::error_code ec;
            auto v = json::parse(*sse.error, ec);
            throw detail::stream_error(ec ? json::value(*sse.error) : v, delivered());
        }
        if (sse.is_done()) {
            done_ = true;
            co_return;
        }
        if (sse.data.empty()) co_return;
        auto chunk = detail::parse_payload(sse.data);
        if (auto const* e = chunk.if_contains("error"); e && !e->is_null())
            throw detail::stream_error(*e, delivered());
        auto events = adapter_.feed(chunk);
        for (auto& e : events) co_await emit(parse_model_event(e));
    }

    task<ModelResponse> finish() override {
        if (!done_ && !adapter_.saw_finish_reason())
            throw ModelProtocolError("the chat completion stream ended before a finish_reason or [DONE]");
        std::vector<json::object> events;
        try {
            events = adapter_.finish();
        } catch (detail::ChatAdapterError const& e) {
            throw ModelStreamError(e.code, e.message, delivered());
        }
        for (auto& e : events) co_await emit(parse_model_event(e));
        auto out = response_from_json(adapter_.response());
        out.response_id.reset();  // Chat Completions keeps no server-side response
        co_return out;
    }

private:
    detail::ChatStreamAdapter adapter_;
    bool done_ = false;
};

// An integer environment variable in [min, max], or nullopt when unset or empty.
std::optional<long long> env_count(char const* name, long long min, long long max) {
    auto const text = detail::env(name);
    if (text.empty()) return std::nullopt;
    long long value = 0;
    auto const [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max)
        throw UserError(std::string(name) + " must be an integer from " + std::to_string(min) + " to " + std::to_string(max) + ", not '" + text + "'");
    return value;
}

}  // namespace

bool OpenAIEndpoint::is_openai() const {
    try {
        return Url::parse(base_url).host == "api.openai.com";
    } catch (chatkit::Error const&) {
        return false;  // not an http(s) URL
    }
}

CompatProfile CompatProfile::openai() { return CompatProfile{}; }

CompatProfile CompatProfile::ollama() {
    CompatProfile p;
    p.name = "ollama";
    p.max_tokens_field = "max_tokens";
    p.send_parallel_tool_calls = false;
    p.send_strict = false;
    p.assistant_toolcall_content = ToolCallContent::empty_string;
    p.images_as_data_urls_only = true;
    return p;
}

CompatProfile CompatProfile::llamacpp() {
    CompatProfile p;
    p.name = "llamacpp";
    p.max_tokens_field = "max_tokens";
    p.send_strict = false;
    return p;
}

CompatProfile CompatProfile::vllm() {
    CompatProfile p;
    p.name = "vllm";
    p.max_tokens_field = "max_tokens";
    p.send_strict = false;
    return p;
}

CompatProfile CompatProfile::generic() {
    CompatProfile p;
    p.name = "generic";
    p.send_stream_options = false;
    p.max_tokens_field = "max_tokens";
    p.send_parallel_tool_calls = false;
    p.send_strict = false;
    p.allow_required_tool_choice = false;
    return p;
}

std::optional<CompatProfile> CompatProfile::by_name(std::string_view name) {
    if (name == "openai") return openai();
    if (name == "ollama") return ollama();
    if (name == "llamacpp" || name == "llama.cpp") return llamacpp();
    if (name == "vllm") return vllm();
    if (name == "generic") return generic();
    return std::nullopt;
}

OpenAIChatCompletionsModel::OpenAIChatCompletionsModel(OpenAIEndpoint endpoint, std::string model,
                                                       CompatProfile profile)
    : endpoint_(std::move(endpoint)),
      model_(std::move(model)),
      profile_(std::move(profile)) {
    detail::require_transport(endpoint_, "OpenAIChatCompletionsModel");
}

json::object OpenAIChatCompletionsModel::build_body(ModelRequest const& request) const {
    auto const& s = request.settings;
    auto const& p = profile_;
    json::object body;
    body["model"] = request.model.empty() ? model_ : request.model;
    body["messages"] = to_messages(request, p);
    if (!request.tools.empty()) {
        json::array tools;
        for (auto const& t : request.tools) {
            json::object fn{{"name", t.name}};
            if (!t.description.empty()) fn["description"] = t.description;
            fn["parameters"] = t.parameters;
            if (p.send_strict) fn["strict"] = t.strict;
            tools.push_back(json::object{{"type", "function"}, {"function", std::move(fn)}});
        }
        body["tools"] = std::move(tools);
    }
    if (s.tool_choice) {
        auto const& c = *s.tool_choice;
        switch (c.kind) {
            case ToolChoice::Kind::Auto: body["tool_choice"] = "auto"; break;
            case ToolChoice::Kind::None: body["tool_choice"] = "none"; break;
            case ToolChoice::Kind::Required:
                body["tool_choice"] = p.allow_required_tool_choice ? "required" : "auto";
                break;
            case ToolChoice::Kind::Named:
                body["tool_choice"] = json::object{{"type", "function"}, {"function", json::object{{"name", c.name}}}};
                break;
        }
    }
    if (s.parallel_tool_calls && !request.tools.empty() && p.send_parallel_tool_calls)
        body["parallel_tool_calls"] = *s.parallel_tool_calls;
    body["stream"] = true;
    if (p.send_stream_options && s.include_usage.value_or(true))
        body["stream_options"] = json::object{{"include_usage", true}};
    if (s.temperature) body["temperature"] = *s.temperature;
    if (s.top_p) body["top_p"] = *s.top_p;
    if (s.frequency_penalty) body["frequency_penalty"] = *s.frequency_penalty;
    if (s.presence_penalty) body["presence_penalty"] = *s.presence_penalty;
    if (s.max_tokens) body[p.max_tokens_field] = *s.max_tokens;
    if (s.reasoning_effort) body["reasoning_effort"] = *s.reasoning_effort;
    if (request.output_schema) {
        auto const& o = *request.output_schema;
        body["response_format"] = json::object{
            {"type", "json_schema"},
            {"json_schema", json::object{{"name", o.name}, {"strict", o.strict}, {"schema", o.schema}}}};
    }
    if (s.store) body["store"] = *s.store;
    if (!s.metadata.empty()) body["metadata"] = s.metadata;
    for (auto const& [k, v] : s.extra_body) body[k] = v;
    return body;
}

task<ModelResponse> OpenAIChatCompletionsModel::stream(ModelRequest const& request, ModelEventHandler const& on_event) {
    auto body = build_body(request);
    auto http = detail::make_request(endpoint_, "/chat/completions", body, request.settings);
    RetryPolicy const policy = request.settings.retry.value_or(endpoint_.retry);
    auto transport = endpoint_.transport;
    bool const summary = profile_.raw_reasoning_as_summary;
    std::function<std::unique_ptr<detail::StreamConsumer>()> make_consumer = [&]() {
        return std::make_unique<ChatConsumer>(on_event, summary);
    };
    auto response = co_await detail::stream_with_retries(endpoint_, *transport, policy, http, make_consumer);
    co_return response;
}

// ---- OpenAIProvider ---------------------------------------------------------------------------

OpenAIProvider::OpenAIProvider(Options options)
    : options_(std::move(options)) {
    detail::require_transport(options_.endpoint, "OpenAIProvider");
}

OpenAIProvider::Options OpenAIProvider::options_from_env() {
    Options o;
    detail::endpoint_from_env(o.endpoint);
    if (auto model = detail::env("CHATKIT_MODEL"); !model.empty()) o.default_model = model;
    bool const openai = o.endpoint.is_openai();
    auto api = detail::env("CHATKIT_OPENAI_API");
    if (api.empty()) o.api = openai ? Api::responses : Api::chat_completions;
    else if (api == "responses") o.api = Api::responses;
    else if (api == "chat_completions") o.api = Api::chat_completions;
    else throw UserError("CHATKIT_OPENAI_API must be 'responses' or 'chat_completions', not '" + api + "'");
    if (auto compat = detail::env("CHATKIT_OPENAI_COMPAT"); !compat.empty()) {
        auto p = CompatProfile::by_name(compat);
        if (!p) throw UserError("CHATKIT_OPENAI_COMPAT must be openai, ollama, llamacpp, vllm or generic, not '" + compat + "'");
        o.profile = *p;
    } else if (openai) {
        o.profile = CompatProfile::openai();
    } else if (Url::parse(o.endpoint.base_url).port == "11434") {
        o.profile = CompatProfile::ollama();
    } else {
        o.profile = CompatProfile::generic();
    }
    constexpr long long day_ms = 24LL * 3600 * 1000;
    if (auto ms = env_count("CHATKIT_MODEL_CONNECT_TIMEOUT_MS", 1, day_ms))
        o.endpoint.connect_timeout = std::chrono::milliseconds(*ms);
    if (auto ms = env_count("CHATKIT_MODEL_IDLE_TIMEOUT_MS", 1, day_ms))
        o.endpoint.idle_timeout = std::chrono::milliseconds(*ms);
    if (auto n = env_count("CHATKIT_MODEL_MAX_RETRIES", 0, 100)) o.endpoint.retry.max_retries = static_cast<int>(*n);
    return o;
}

OpenAIProvider OpenAIProvider::from_env(std::shared_ptr<Transport> transport) {
    Options o = options_from_env();
    o.endpoint.transport = std::move(transport);
    return OpenAIProvider(std::move(o));
}

std::optional<OpenAIProvider> OpenAIProvider::from_env_if_configured(std::shared_ptr<Transport> transport) {
    if (detail::env("OPENAI_API_KEY").empty() && detail::env("OPENAI_BASE_URL").empty()) return std::nullopt;
    return from_env(std::move(transport));
}

std::shared_ptr<Model> OpenAIProvider::get_model(std::string_view name) {
    std::string model = name.empty() ? options_.default_model : std::string(name);
    if (options_.api == Api::responses) return std::make_shared<OpenAIResponsesModel>(options_.endpoint, model);
    return std::make_shared<OpenAIChatCompletionsModel>(options_.endpoint, model, options_.profile);
}

}  // namespace chatkit::agents
