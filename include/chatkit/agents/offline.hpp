// chatkit-cpp agents: models that need no network. ScriptedModel replays scripted turns (tests);
// DemoModel answers deterministically (offline quickstart); OfflineProvider resolves names to them.
#pragma once

#include <chatkit/agents/model.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatkit::agents {

/// A function_call item for scripts: `{type:function_call, call_id, name, arguments}` (ids are
/// filled in by ScriptedModel when left empty).
CHATKIT_API FunctionCallItem function_call(std::string name, std::string arguments = "{}", std::string call_id = {});
/// A reasoning item with one summary text, for scripts.
CHATKIT_API ReasoningItem reasoning(std::string summary);

/// One scripted model call.
struct ScriptedTurn {
    /// Output items; streamed in canonical order (created, in_progress, per item: added → parts /
    /// deltas → done, completed). Text is streamed word by word (`"Hello world"` → `"Hello"`, `" world"`).
    std::vector<Item> output;
    /// If set: with no output and no events the call throws it before any event; otherwise it is
    /// thrown after the events (instead of `response.completed`).
    std::exception_ptr error;
    /// If non-empty: these events are emitted verbatim instead of the canonical ones. The response
    /// is read from a `response.completed` among them; `response.failed` / `error` throw
    /// `ModelStreamError`; no terminal event throws `error`, or `ModelProtocolError`.
    std::vector<ModelStreamEvent> events;
    Usage usage;                               ///< reported usage (`requests` is forced to 1)
    std::optional<std::string> response_id;    ///< default `resp_<n>`

    /// A turn answering with one assistant message.
    CHATKIT_API static ScriptedTurn text(std::string text);
    /// A turn with these output items.
    CHATKIT_API static ScriptedTurn items(std::vector<Item> output);
    /// A turn calling one tool.
    CHATKIT_API static ScriptedTurn tool_call(std::string name, std::string arguments = "{}", std::string call_id = {});
    /// A turn that fails with `error` before any event.
    CHATKIT_API static ScriptedTurn failure(std::exception_ptr error);
    /// A turn emitting exactly these events.
    CHATKIT_API static ScriptedTurn raw(std::vector<ModelStreamEvent> events, std::exception_ptr error = nullptr);
};

/// A model that plays back scripted turns, one per call, and records every request.
/// Ids are deterministic per model instance: `resp_<n>`, `msg_<n>`, `fc_<n>`, `call_<n>`, `rs_<n>`
/// (n counts from 1 per kind). Running out of turns throws `UserError("ScriptedModel: no scripted turn left")`.
class CHATKIT_API ScriptedModel : public Model {
public:
    ScriptedModel() = default;
    /// A model that plays `turns` in order.
    explicit ScriptedModel(std::vector<ScriptedTurn> turns);

    /// Appends a turn.
    ScriptedModel& push(ScriptedTurn turn);
    /// Appends a text turn.
    ScriptedModel& then_text(std::string text);
    /// Appends a turn with these items.
    ScriptedModel& then_items(std::vector<Item> output);

    /// Every request received, in order.
    std::vector<ModelRequest> requests;
    /// Turns not yet played.
    std::size_t remaining() const noexcept { return turns_.size(); }

    task<ModelResponse> stream(ModelRequest const& request, ModelEventHandler const& on_event) override;

    /// The canonical event sequence of a response with these output items (ids must be set),
    /// numbered from sequence 0. Used by ScriptedModel and DemoModel; handy for bridge tests.
    static std::vector<ModelStreamEvent> canonical_events(std::string const& response_id, std::string const& model,
                                                          std::vector<Item> const& output, Usage const& usage);

private:
    void assign_ids(std::vector<Item>& output);

    std::deque<ScriptedTurn> turns_;
    std::map<std::string, int, std::less<>> counters_;
};

/// Options of DemoModel.
struct DemoModelOptions {
    /// Delay between streamed words (0 = none).
    std::chrono::milliseconds pacing{0};
    /// Emit a reasoning item with a one-line summary before each answer.
    bool reasoning = false;
    /// Middle part of item ids (`msg_<token>_<n>`); empty = 8 random hex digits per instance, so
    /// ids stay unique across restarts. Set it in tests for deterministic ids.
    std::string id_token;
};

/// An offline, deterministic model for demos and smoke tests (no network):
/// - the last input is a user message mentioning a tool's name → one call of that tool, with
///   arguments derived from the text: each required string property `city`/`location`/`place`
///   gets the word after "in" (`"weather in Paris?"` → `{"city":"Paris"}`), a property with an
///   `enum` gets the value the message names (else the first value when required, else nothing),
///   other string properties get the whole message; no schema properties → `{}`;
/// - the last input is a `function_call_output` → `The <tool> tool says: <output>`;
/// - otherwise → `You said: <text of the last user message>`.
/// Text streams word by word; usage counts words (input = words of all input messages).
class CHATKIT_API DemoModel : public Model {
public:
    /// Draws the random id token now when `options.id_token` is empty.
    explicit DemoModel(DemoModelOptions options = {});
    task<ModelResponse> stream(ModelRequest const& request, ModelEventHandler const& on_event) override;

private:
    DemoModelOptions options_;
    int calls_ = 0;
};

/// A provider for offline runs: named models are registered; unknown or empty names fall back to
/// the default model (a DemoModel unless given).
class CHATKIT_API OfflineProvider : public ModelProvider {
public:
    /// `default_model` answers unknown and empty names (null: a new `DemoModel`).
    explicit OfflineProvider(std::shared_ptr<Model> default_model = nullptr);
    /// Registers `model` under `name`.
    OfflineProvider& add(std::string name, std::shared_ptr<Model> model);
    std::shared_ptr<Model> get_model(std::string_view name) override;

private:
    std::shared_ptr<Model> default_;
    std::map<std::string, std::shared_ptr<Model>, std::less<>> models_;
};

}  // namespace chatkit::agents
