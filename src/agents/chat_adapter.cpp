// chatkit-cpp: Chat Completions chunks -> Responses events (see chat_adapter.hpp).
#include "chat_adapter.hpp"

#include <boost/json/serialize.hpp>

namespace chatkit::agents::detail {

namespace {

std::int64_t int_of(json::value const* v) {
    if (!v) return 0;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
    if (v->is_double()) return static_cast<std::int64_t>(v->get_double());
    return 0;
}

std::string_view str_of(json::object const& o, char const* key) {
    auto const* v = o.if_contains(key);
    return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

}  // namespace

json::object chat_usage_to_responses(json::object const& u) {
    json::object out;
    auto input = int_of(u.if_contains("prompt_tokens"));
    auto output = int_of(u.if_contains("completion_tokens"));
    std::int64_t cached = 0, reasoning = 0;
    if (auto const* d = u.if_contains("prompt_tokens_details"); d && d->is_object())
        cached = int_of(d->as_object().if_contains("cached_tokens"));
    if (auto const* d = u.if_contains("completion_tokens_details"); d && d->is_object())
        reasoning = int_of(d->as_object().if_contains("reasoning_tokens"));
    auto total = u.contains("total_tokens") ? int_of(u.if_contains("total_tokens")) : input + output;
    out["input_tokens"] = input;
    out["input_tokens_details"] = json::object{{"cached_tokens", cached}};
    out["output_tokens"] = output;
    out["output_tokens_details"] = json::object{{"reasoning_tokens", reasoning}};
    out["total_tokens"] = total;
    return out;
}

json::object ChatStreamAdapter::event(char const* type) {
    json::object e;
    e["type"] = type;
    e["sequence_number"] = seq_++;
    return e;
}

json::object ChatStreamAdapter::base_response(char const* status) const {
    json::object r;
    r["id"] = response_id_;
    r["object"] = "response";
    r["created_at"] = created_;
    r["status"] = status;
    r["model"] = model_;
    r["output"] = json::array();
    r["parallel_tool_calls"] = true;
    r["tool_choice"] = "auto";
    r["tools"] = json::array();
    r["usage"] = nullptr;
    r["error"] = nullptr;
    r["incomplete_details"] = nullptr;
    return r;
}

void ChatStreamAdapter::start(json::object const& chunk, std::vector<json::object>& out) {
    if (started_) return;
    started_ = true;
    model_ = std::string(str_of(chunk, "model"));
    created_ = int_of(chunk.if_contains("created"));
    auto e = event("response.created");
    e["response"] = base_response("in_progress");
    out.push_back(std::move(e));
}

std::vector<json::object> ChatStreamAdapter::feed(json::object const& chunk) {
    std::vector<json::object> out;
    start(chunk, out);
    if (auto const* u = chunk.if_contains("usage"); u && u->is_object()) usage_ = u->as_object();
    auto const* choices = chunk.if_contains("choices");
    if (!choices || !choices->is_array()) return out;
    for (auto const& cv : choices->as_array()) {
        if (!cv.is_object()) continue;
        auto const& choice = cv.as_object();
        if (int_of(choice.if_contains("index")) != 0) continue;  // only the first choice
        if (auto const* d = choice.if_contains("delta"); d && d->is_object()) {
            auto const& delta = d->as_object();
            for (char const* key : {"reasoning_content", "reasoning"}) {
                auto r = str_of(delta, key);
                if (!r.empty()) reasoning_delta(r, out);
            }
            if (auto c = str_of(delta, "content"); !c.empty()) text_delta(c, false, out);
            if (auto r = str_of(delta, "refusal"); !r.empty()) text_delta(r, true, out);
            if (auto const* tcs = delta.if_contains("tool_calls"); tcs && tcs->is_array()) {
                std::size_t position = 0;
                for (auto const& tc : tcs->as_array()) {
                    if (tc.is_object()) tool_delta(tc.as_object(), position, out);
                    ++position;
                }
            }
        }
        if (auto const* f = choice.if_contains("finish_reason"); f && f->is_string())
            finish_reason_ = std::string(f->get_string());
    }
    return out;
}

void ChatStreamAdapter::reasoning_delta(std::string_view text, std::vector<json::object>& out) {
    if (!reasoning_open_) {
        reasoning_open_ = true;
        reasoning_id_ = "rs_" + chatkit::random_hex(id_bytes);
        reasoning_text_.clear();
        reasoning_index_ = static_cast<std::int64_t>(order_.size());
        order_.push_back({Slot::reasoning, 0, {}});
        auto added = event("response.output_item.added");
        added["output_index"] = *reasoning_index_;
        added["item"] = json::object{{"id", reasoning_id_}, {"type", "reasoning"}, {"summary", json::array()}};
        out.push_back(std::move(added));
        if (reasoning_as_summary_) {
            auto part = event("response.reasoning_summary_part.added");
            part["item_id"] = reasoning_id_;
            part["output_index"] = *reasoning_index_;
            part["summary_index"] = 0;
            part["part"] = json::object{{"type", "summary_text"}, {"text", ""}};
            out.push_back(std::move(part));
        } else {
            auto part = event("response.content_part.added");
            part["item_id"] = reasoning_id_;
            part["output_index"] = *reasoning_index_;
            part["content_index"] = 0;
            part["part"] = json::object{{"type", "reasoning_text"}, {"text", ""}};
            out.push_back(std::move(part));
        }
    }
    reasoning_text_.append(text);
    auto e = event(reasoning_as_summary_ ? "response.reasoning_summary_text.delta" : "response.reasoning_text.delta");
    e["item_id"] = reasoning_id_;
    e["output_index"] = *reasoning_index_;
    e[reasoning_as_summary_ ? "summary_index" : "content_index"] = 0;
    e["delta"] = text;
    out.push_back(std::move(e));
}

void ChatStreamAdapter::close_reasoning(std::vector<json::object>& out) {
    if (!reasoning_open_) return;
    reasoning_open_ = false;
    json::object item{{"id", reasoning_id_}, {"type", "reasoning"}};
    if (reasoning_as_summary_) {
        auto done = event("response.reasoning_summary_text.done");
        done["item_id"] = reasoning_id_;
        done["output_index"] = *reasoning_index_;
        done["summary_index"] = 0;
        done["text"] = reasoning_text_;
        out.push_back(std::move(done));
        auto part = event("response.reasoning_summary_part.done");
        part["item_id"] = reasoning_id_;
        part["output_index"] = *reasoning_index_;
        part["summary_index"] = 0;
        part["part"] = json::object{{"type", "summary_text"}, {"text", reasoning_text_}};
        out.push_back(std::move(part));
        item["summary"] = json::array{json::object{{"type", "summary_text"}, {"text", reasoning_text_}}};
    } else {
        auto done = event("response.reasoning_text.done");
        done["item_id"] = reasoning_id_;
        done["output_index"] = *reasoning_index_;
        done["content_index"] = 0;
        done["text"] = reasoning_text_;
        out.push_back(std::move(done));
        auto part = event("response.content_part.done");
        part["item_id"] = reasoning_id_;
        part["output_index"] = *reasoning_index_;
        part["content_index"] = 0;
        part["part"] = json::object{{"type", "reasoning_text"}, {"text", reasoning_text_}};
        out.push_back(std::move(part));
        item["summary"] = json::array();
        item["content"] = json::array{json::object{{"type", "reasoning_text"}, {"text", reasoning_text_}}};
    }
    auto done = event("response.output_item.done");
    done["output_index"] = *reasoning_index_;
    done["item"] = item;
    out.push_back(std::move(done));
    order_[static_cast<std::size_t>(*reasoning_index_)].done_item = std::move(item);
}

void ChatStreamAdapter::open_message(std::vector<json::object>& out) {
    if (message_index_) return;
    close_reasoning(out);
    message_id_ = "msg_" + chatkit::random_hex(id_bytes);
    message_index_ = static_cast<std::int64_t>(order_.size());
    order_.push_back({Slot::message, 0, {}});
    auto added = event("response.output_item.added");
    added["output_index"] = *message_index_;
    added["item"] = json::object{{"id", message_id_}, {"type", "message"}, {"status", "in_progress"},
                                 {"role", "assistant"}, {"content", json::array()}};
    out.push_back(std::move(added));
}

void ChatStreamAdapter::text_delta(std::string_view text, bool refusal, std::vector<json::object>& out) {
    open_message(out);
    auto& part_index = refusal ? refusal_part_ : text_part_;
    if (!part_index) {
        part_index = (text_part_ ? 1 : 0) + (refusal_part_ ? 1 : 0);
        if (refusal && !text_part_) part_index = 0;
        auto part = event("response.content_part.added");
        part["item_id"] = message_id_;
        part["output_index"] = *message_index_;
        part["content_index"] = *part_index;
        if (refusal)
            part["part"] = json::object{{"type", "refusal"}, {"refusal", ""}};
        else
            part["part"] = json::object{{"type", "output_text"}, {"text", ""}, {"annotations", json::array()},
                                        {"logprobs", json::array()}};
        out.push_back(std::move(part));
    }
    (refusal ? refusal_ : text_).append(text);
    auto e = event(refusal ? "response.refusal.delta" : "response.output_text.delta");
    e["item_id"] = message_id_;
    e["output_index"] = *message_index_;
    e["content_index"] = *part_index;
    e["delta"] = text;
    if (!refusal) e["logprobs"] = json::array();
    out.push_back(std::move(e));
}

void ChatStreamAdapter::tool_delta(json::object const& tc, std::size_t position, std::vector<json::object>& out) {
    std::int64_t index = tc.contains("index") ? int_of(tc.if_contains("index")) : static_cast<std::int64_t>(position);
    auto id = str_of(tc, "id");
    std::string_view name;
    std::string args;
    if (auto const* f = tc.if_contains("function"); f && f->is_object()) {
        name = str_of(f->as_object(), "name");
        if (auto const* a = f->as_object().if_contains("arguments")) {
            if (a->is_string()) args = std::string(a->get_string());
            else if (a->is_object()) args = json::serialize(*a);  // some servers send an object
        }
    }
    Call* call = nullptr;
    for (auto& [idx, pos] : call_by_index_)
        if (idx == index) call = &calls_[pos];
    // A different id at the same index starts a new call (servers without `index`).
    if (call && !id.empty() && !call->call_id.empty() && call->call_id != id) call = nullptr;
    if (!call) {
        calls_.emplace_back();
        std::erase_if(call_by_index_, [&](auto const& p) { return p.first == index; });
        call_by_index_.emplace_back(index, calls_.size() - 1);
        call = &calls_.back();
    }
    if (call->call_id.empty() && !id.empty()) call->call_id = std::string(id);
    if (call->name.empty() && !name.empty()) call->name = std::string(name);
    call->arguments += args;
    if (!call->output_index && !call->call_id.empty() && !call->name.empty()) add_call(*call, out);
    if (call->output_index) flush_args(*call, out);
}

void ChatStreamAdapter::add_call(Call& c, std::vector<json::object>& out) {
    close_reasoning(out);
    c.output_index = static_cast<std::int64_t>(order_.size());
    order_.push_back({Slot::function_call, static_cast<std::size_t>(&c - calls_.data()), {}});
    auto added = event("response.output_item.added");
    added["output_index"] = *c.output_index;
    added["item"] = call_item(c, "in_progress");
    added["item"].as_object()["arguments"] = "";
    out.push_back(std::move(added));
}

void ChatStreamAdapter::flush_args(Call& c, std::vector<json::object>& out) {
    if (c.flushed == c.arguments.size()) return;
    auto e = event("response.function_call_arguments.delta");
    e["item_id"] = c.id;
    e["output_index"] = *c.output_index;
    e["delta"] = std::string_view(c.arguments).substr(c.flushed);
    c.flushed = c.arguments.size();
    out.push_back(std::move(e));
}

json::object ChatStreamAdapter::message_item(char const* status) const {
    json::array content;
    if (text_part_ && (!refusal_part_ || *text_part_ < *refusal_part_))
        content.push_back(json::object{{"type", "output_text"}, {"text", text_}, {"annotations", json::array()}, {"logprobs", json::array()}});
    if (refusal_part_) content.push_back(json::object{{"type", "refusal"}, {"refusal", refusal_}});
    if (text_part_ && refusal_part_ && *text_part_ > *refusal_part_)
        content.push_back(json::object{{"type", "output_text"}, {"text", text_}, {"annotations", json::array()}, {"logprobs", json::array()}});
    return json::object{{"id", message_id_}, {"type", "message"}, {"status", status}, {"role", "assistant"},
                        {"content", std::move(content)}};
}

json::object ChatStreamAdapter::call_item(Call const& c, char const* status) const {
    return json::object{{"id", c.id},
                        {"type", "function_call"},
                        {"status", status},
                        {"call_id", c.call_id},
                        {"name", c.name},
                        {"arguments", c.arguments.empty() ? std::string("{}") : c.arguments}};
}

std::vector<json::object> ChatStreamAdapter::finish() {
    std::vector<json::object> out;
    if (!started_) start(json::object{}, out);
    // Calls whose id or name never arrived are completed now (missing id -> call_<hex>).
    for (auto& c : calls_) {
        if (c.output_index) continue;
        if (c.call_id.empty()) c.call_id = "call_" + chatkit::random_hex(id_bytes);
        add_call(c, out);
        flush_args(c, out);
    }
    if (order_.empty() || (!message_index_ && calls_.empty() && !reasoning_index_)) {
        if (finish_reason_ == "content_filter") {
            text_delta("Response withheld by the provider's content filter.", true, out);
        } else if (finish_reason_ == "length") {
            throw ChatAdapterError{"length", "The model hit the output token limit before producing any output."};
        }
    }
    close_reasoning(out);
    json::array output;
    for (auto& slot : order_) {
        if (slot.kind == Slot::reasoning) {
            output.push_back(slot.done_item);
        } else if (slot.kind == Slot::message) {
            if (text_part_) {
                auto d = event("response.output_text.done");
                d["item_id"] = message_id_;
                d["output_index"] = *message_index_;
                d["content_index"] = *text_part_;
                d["text"] = text_;
                d["logprobs"] = json::array();
                out.push_back(std::move(d));
                auto p = event("response.content_part.done");
                p["item_id"] = message_id_;
                p["output_index"] = *message_index_;
                p["content_index"] = *text_part_;
                p["part"] = json::object{{"type", "output_text"}, {"text", text_}, {"annotations", json::array()},
                                         {"logprobs", json::array()}};
                out.push_back(std::move(p));
            }
            if (refusal_part_) {
                auto d = event("response.refusal.done");
                d["item_id"] = message_id_;
                d["output_index"] = *message_index_;
                d["content_index"] = *refusal_part_;
                d["refusal"] = refusal_;
                out.push_back(std::move(d));
                auto p = event("response.content_part.done");
                p["item_id"] = message_id_;
                p["output_index"] = *message_index_;
                p["content_index"] = *refusal_part_;
                p["part"] = json::object{{"type", "refusal"}, {"refusal", refusal_}};
                out.push_back(std::move(p));
            }
            auto item = message_item("completed");
            auto done = event("response.output_item.done");
            done["output_index"] = *message_index_;
            done["item"] = item;
            out.push_back(std::move(done));
            output.push_back(std::move(item));
        } else {
            auto const& c = calls_[slot.call];
            auto item = call_item(c, "completed");
            auto args = event("response.function_call_arguments.done");
            args["item_id"] = c.id;
            args["output_index"] = *c.output_index;
            args["name"] = c.name;
            args["arguments"] = item["arguments"];
            out.push_back(std::move(args));
            auto done = event("response.output_item.done");
            done["output_index"] = *c.output_index;
            done["item"] = item;
            out.push_back(std::move(done));
            output.push_back(std::move(item));
        }
    }
    response_ = base_response("completed");
    response_["output"] = std::move(output);
    if (usage_) response_["usage"] = chat_usage_to_responses(*usage_);
    auto completed = event("response.completed");
    completed["response"] = response_;
    out.push_back(std::move(completed));
    return out;
}

}  // namespace chatkit::agents::detail
