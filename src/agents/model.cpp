// chatkit-cpp agents: usage, model settings and responses (model.hpp).
#include <chatkit/agents/model.hpp>

#include "json_fields.hpp"

#include <utility>

namespace chatkit::agents {

using namespace detail;

// ---------------------------------------------------------------------------------------------
// Usage, settings, responses

void Usage::add(Usage const& other) {
    requests += other.requests;
    input_tokens += other.input_tokens;
    cached_input_tokens += other.cached_input_tokens;
    output_tokens += other.output_tokens;
    reasoning_tokens += other.reasoning_tokens;
    total_tokens += other.total_tokens;
    if (!other.per_request.empty()) {
        per_request.insert(per_request.end(), other.per_request.begin(), other.per_request.end());
    } else if (other.requests > 0) {
        per_request.push_back(other);
    }
}

json::object to_json(Usage const& u) {
    json::object o;
    o["input_tokens"] = u.input_tokens;
    o["input_tokens_details"] = json::object{{"cached_tokens", u.cached_input_tokens}};
    o["output_tokens"] = u.output_tokens;
    o["output_tokens_details"] = json::object{{"reasoning_tokens", u.reasoning_tokens}};
    o["total_tokens"] = u.total_tokens;
    return o;
}

Usage usage_from_json(json::object const& o) {
    Usage u;
    u.requests = 1;
    u.input_tokens = uint_field(o, "input_tokens");
    u.output_tokens = uint_field(o, "output_tokens");
    u.total_tokens = uint_field(o, "total_tokens");
    if (auto const* d = field(o, "input_tokens_details"); d && d->is_object())
        u.cached_input_tokens = uint_field(d->get_object(), "cached_tokens");
    if (auto const* d = field(o, "output_tokens_details"); d && d->is_object())
        u.reasoning_tokens = uint_field(d->get_object(), "reasoning_tokens");
    if (u.total_tokens == 0) u.total_tokens = u.input_tokens + u.output_tokens;
    return u;
}

ModelSettings ModelSettings::merged_with(ModelSettings const& o) const {
    ModelSettings r = *this;
    auto over = [](auto& dst, auto const& src) {
        if (src) dst = src;
    };
    over(r.temperature, o.temperature);
    over(r.top_p, o.top_p);
    over(r.frequency_penalty, o.frequency_penalty);
    over(r.presence_penalty, o.presence_penalty);
    over(r.tool_choice, o.tool_choice);
    over(r.parallel_tool_calls, o.parallel_tool_calls);
    over(r.store, o.store);
    over(r.include_usage, o.include_usage);
    over(r.max_tokens, o.max_tokens);
    over(r.reasoning_effort, o.reasoning_effort);
    over(r.reasoning_summary, o.reasoning_summary);
    over(r.retry, o.retry);
    over(r.idle_timeout, o.idle_timeout);
    over(r.total_timeout, o.total_timeout);
    for (auto const& kv : o.metadata) r.metadata[kv.key()] = kv.value();
    for (auto const& kv : o.extra_body) r.extra_body[kv.key()] = kv.value();
    r.extra_headers.insert(r.extra_headers.end(), o.extra_headers.begin(), o.extra_headers.end());
    return r;
}

ModelResponse response_from_json(json::object const& response) {
    ModelResponse r;
    r.response_id = opt_str(response, "id");
    if (auto const* out = field(response, "output"); out && out->is_array())
        r.output = items_from_json(out->get_array());
    if (auto const* u = field(response, "usage"); u && u->is_object()) {
        r.usage = usage_from_json(u->get_object());
    } else {
        r.usage.requests = 1;
    }
    return r;
}

task<ModelResponse> Model::complete(ModelRequest const& request) {
    ModelEventHandler ignore = [](ModelStreamEvent const&) -> task<void> { co_return; };
    co_return co_await stream(request, ignore);
}

}  // namespace chatkit::agents
