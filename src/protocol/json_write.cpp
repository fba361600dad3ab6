// chatkit-cpp protocol: the JSON writers (to_json, to_json_text), byte-compatible with the Python
// reference (PROTOCOL.md §1.2 and §2). The codec is split in json_text, json_url, json_write,
// json_read and json_parse; json_detail.hpp holds what they share.
//
// Writers describe each shape once, as a sequence of calls on a "sink": `ValueSink` builds a
// boost::json::value (for to_json), `TextSink` writes compact JSON text directly (to_json_text), so
// both forms always agree on key order and omitted fields.
#include "json_detail.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace chatkit::json_detail {

namespace {

// =============================================================================================
// Sinks

// Writes compact JSON text.
class TextSink {
public:
    explicit TextSink(std::string& out) : out_(out) {}

    void begin_object() { open('{'); }
    void end_object() { close('}'); }
    void begin_array() { open('['); }
    void end_array() { close(']'); }
    void key(std::string_view k) {
        if (need_comma_) out_.push_back(',');
        write_string(out_, k);
        out_.push_back(':');
        after_key_ = true;
    }
    void string(std::string_view v) {
        separate();
        write_string(out_, v);
        need_comma_ = true;
    }
    void integer(std::int64_t v) {
        separate();
        write_integer(out_, v);
        need_comma_ = true;
    }
    void number(double v) {
        separate();
        write_double(out_, v);
        need_comma_ = true;
    }
    void boolean(bool v) {
        separate();
        out_.append(v ? "true" : "false");
        need_comma_ = true;
    }
    // A free-form value, written as is (nulls kept).
    void value(json::value const& v) {
        separate();
        write_value(out_, v, false);
        need_comma_ = true;
    }
    void object_value(JsonObject const& o) {
        separate();
        write_object(out_, o, false);
        need_comma_ = true;
    }
    // A widget tree: nulls dropped at every depth.
    void widget_object(JsonObject const& o) {
        separate();
        write_object(out_, o, true);
        need_comma_ = true;
    }

private:
    void separate() {
        if (after_key_) {
            after_key_ = false;
        } else if (need_comma_) {
            out_.push_back(',');
        }
    }
    void open(char c) {
        separate();
        out_.push_back(c);
        need_comma_ = false;
    }
    void close(char c) {
        out_.push_back(c);
        need_comma_ = true;
    }

    std::string& out_;
    bool need_comma_ = false;
    bool after_key_ = false;
};

// Builds a boost::json::value.
class ValueSink {
public:
    void begin_object() { open(json::object()); }
    void end_object() { stack_.pop_back(); }
    void begin_array() { open(json::array()); }
    void end_array() { stack_.pop_back(); }
    void key(std::string_view k) { key_ = k; }
    void string(std::string_view v) { place(json::string(jsv(v))); }
    void integer(std::int64_t v) { place(v); }
    void number(double v) { place(v); }
    void boolean(bool v) { place(v); }
    void value(json::value const& v) { place(json::value(v)); }
    void object_value(JsonObject const& o) { place(json::value(o)); }
    void widget_object(JsonObject const& o) {
        json::object copy;
        copy.reserve(o.size());
        for (auto const& kv : o)
            if (!kv.value().is_null()) copy.emplace(kv.key(), strip_nulls(kv.value()));
        place(std::move(copy));
    }

    json::value release() { return std::move(root_); }

private:
    json::value& place(json::value v) {
        if (stack_.empty()) {
            root_ = std::move(v);
            return root_;
        }
        json::value& top = *stack_.back();
        if (auto* o = top.if_object()) return o->insert_or_assign(jsv(key_), std::move(v)).first->value();
        auto& a = top.get_array();
        a.push_back(std::move(v));
        return a.back();
    }
    void open(json::value v) { stack_.push_back(&place(std::move(v))); }

    json::value root_;
    std::vector<json::value*> stack_;
    std::string_view key_;
};

// =============================================================================================
// Writers (one per shape, in the reference's declaration order)

template <class S>
void put_str(S& s, std::string_view k, std::string_view v) {
    s.key(k);
    s.string(v);
}
template <class S>
void put_opt_str(S& s, std::string_view k, std::optional<std::string> const& v) {
    if (v) put_str(s, k, *v);
}
template <class S>
void put_int(S& s, std::string_view k, std::int64_t v) {
    s.key(k);
    s.integer(v);
}
template <class S>
void put_bool(S& s, std::string_view k, bool v) {
    s.key(k);
    s.boolean(v);
}
template <class S>
void put_timestamp(S& s, std::string_view k, Timestamp t) {
    s.key(k);
    s.string(format_timestamp(t));
}
template <class S>
void put_object(S& s, std::string_view k, JsonObject const& o) {
    s.key(k);
    s.object_value(o);
}
template <class S>
void put_strings(S& s, std::string_view k, std::vector<std::string> const& v) {
    s.key(k);
    s.begin_array();
    for (auto const& e : v) s.string(e);
    s.end_array();
}
template <class S, class T, class F>
void put_array(S& s, std::string_view k, std::vector<T> const& v, F&& each) {
    s.key(k);
    s.begin_array();
    for (auto const& e : v) each(e);
    s.end_array();
}

template <class S>
void emit_source_head(S& s, std::string const& title, std::optional<std::string> const& description,
                      std::optional<std::string> const& timestamp, std::optional<std::string> const& group) {
    put_str(s, "title", title);
    put_opt_str(s, "description", description);
    put_opt_str(s, "timestamp", timestamp);
    put_opt_str(s, "group", group);
}

template <class S>
void emit(S& s, FileSource const& x) {
    s.begin_object();
    emit_source_head(s, x.title, x.description, x.timestamp, x.group);
    put_str(s, "type", "file");
    put_str(s, "filename", x.filename);
    s.end_object();
}

template <class S>
void emit(S& s, URLSource const& x) {
    s.begin_object();
    emit_source_head(s, x.title, x.description, x.timestamp, x.group);
    put_str(s, "type", "url");
    put_str(s, "url", x.url);
    put_opt_str(s, "attribution", x.attribution);
    s.end_object();
}

template <class S>
void emit(S& s, EntitySource const& x) {
    s.begin_object();
    emit_source_head(s, x.title, x.description, x.timestamp, x.group);
    put_str(s, "type", "entity");
    put_str(s, "id", x.id);
    put_opt_str(s, "icon", x.icon);
    put_opt_str(s, "label", x.label);
    put_opt_str(s, "inline_label", x.inline_label);
    put_bool(s, "interactive", x.interactive);
    put_object(s, "data", x.data);
    put_opt_str(s, "preview", x.preview);
    s.end_object();
}

template <class S>
void emit(S& s, Source const& x) {
    std::visit([&](auto const& v) { emit(s, v); }, x);
}

template <class S>
void emit(S& s, Annotation const& x) {
    s.begin_object();
    put_str(s, "type", "annotation");
    s.key("source");
    emit(s, x.source);
    if (x.index) put_int(s, "index", *x.index);
    s.end_object();
}

template <class S>
void emit(S& s, AssistantMessageContent const& x) {
    s.begin_object();
    put_array(s, "annotations", x.annotations, [&](Annotation const& a) { emit(s, a); });
    put_str(s, "text", x.text);
    put_str(s, "type", "output_text");
    s.end_object();
}

template <class S>
void emit(S& s, UserMessageContent const& x) {
    s.begin_object();
    std::visit(overloaded{
                   [&](UserMessageTextContent const& c) {
                       put_str(s, "type", "input_text");
                       put_str(s, "text", c.text);
                   },
                   [&](UserMessageTagContent const& c) {
                       put_str(s, "type", "input_tag");
                       put_str(s, "id", c.id);
                       put_str(s, "text", c.text);
                       put_object(s, "data", c.data);
                       put_opt_str(s, "group", c.group);
                       put_bool(s, "interactive", c.interactive);
                   },
               },
               x);
    s.end_object();
}

template <class S>
void emit(S& s, InferenceOptions const& x) {
    s.begin_object();
    if (x.tool_choice) {
        s.key("tool_choice");
        s.begin_object();
        put_str(s, "id", x.tool_choice->id);
        s.end_object();
    }
    put_opt_str(s, "model", x.model);
    s.end_object();
}

template <class S>
void emit(S& s, AttachmentUploadDescriptor const& x) {
    s.begin_object();
    put_str(s, "url", normalize_url(x.url));
    put_str(s, "method", x.method);
    s.key("headers");
    s.begin_object();
    // A header repeated in the list is written once, at its first position, with its last value
    // (what a Python dict built from the pairs would hold).
    auto const& h = x.headers;
    for (std::size_t i = 0; i < h.size(); ++i) {
        bool seen = false;
        for (std::size_t j = 0; j < i && !seen; ++j) seen = h[j].first == h[i].first;
        if (seen) continue;
        std::size_t last = i;
        for (std::size_t j = i + 1; j < h.size(); ++j)
            if (h[j].first == h[i].first) last = j;
        put_str(s, h[i].first, h[last].second);
    }
    s.end_object();
    s.end_object();
}

template <class S>
void emit(S& s, Attachment const& x, JsonMode mode) {
    s.begin_object();
    put_str(s, "id", x.id);
    put_str(s, "name", x.name);
    put_str(s, "mime_type", x.mime_type);
    if (x.upload_descriptor) {
        s.key("upload_descriptor");
        emit(s, *x.upload_descriptor);
    }
    put_opt_str(s, "thread_id", x.thread_id);
    if (mode == JsonMode::store && x.metadata) put_object(s, "metadata", *x.metadata);
    if (x.type == AttachmentType::image) {
        put_str(s, "type", "image");
        put_str(s, "preview_url", normalize_url(x.preview_url));
    } else {
        put_str(s, "type", "file");
    }
    s.end_object();
}

char const* status_indicator_name(TaskStatusIndicator v) noexcept {
    switch (v) {
        case TaskStatusIndicator::loading: return "loading";
        case TaskStatusIndicator::complete: return "complete";
        case TaskStatusIndicator::none: break;
    }
    return "none";
}

template <class S>
void emit_task_head(S& s, TaskStatusIndicator indicator, char const* type, std::optional<std::string> const& title) {
    put_str(s, "status_indicator", status_indicator_name(indicator));
    put_str(s, "type", type);
    put_opt_str(s, "title", title);
}

template <class S>
void emit(S& s, Task const& x) {
    s.begin_object();
    std::visit(overloaded{
                   [&](CustomTask const& t) {
                       emit_task_head(s, t.status_indicator, "custom", t.title);
                       put_opt_str(s, "icon", t.icon);
                       put_opt_str(s, "content", t.content);
                   },
                   [&](WebSearchTask const& t) {
                       emit_task_head(s, t.status_indicator, "web_search", t.title);
                       put_opt_str(s, "title_query", t.title_query);
                       put_strings(s, "queries", t.queries);
                       put_array(s, "sources", t.sources, [&](URLSource const& u) { emit(s, u); });
                   },
                   [&](ThoughtTask const& t) {
                       emit_task_head(s, t.status_indicator, "thought", t.title);
                       put_str(s, "content", t.content);
                   },
                   [&](FileTask const& t) {
                       emit_task_head(s, t.status_indicator, "file", t.title);
                       put_array(s, "sources", t.sources, [&](FileSource const& f) { emit(s, f); });
                   },
                   [&](ImageTask const& t) { emit_task_head(s, t.status_indicator, "image", t.title); },
               },
               x);
    s.end_object();
}

template <class S>
void emit(S& s, Workflow const& x) {
    s.begin_object();
    put_str(s, "type", x.type == WorkflowType::reasoning ? "reasoning" : "custom");
    put_array(s, "tasks", x.tasks, [&](Task const& t) { emit(s, t); });
    if (x.summary) {
        s.key("summary");
        s.begin_object();
        std::visit(overloaded{
                       [&](CustomSummary const& c) {
                           put_str(s, "title", c.title);
                           put_opt_str(s, "icon", c.icon);
                       },
                       [&](DurationSummary const& d) { put_int(s, "duration", d.duration); },
                   },
                   *x.summary);
        s.end_object();
    }
    put_bool(s, "expanded", x.expanded);
    s.end_object();
}

template <class S>
void emit_structured_head(S& s, std::string const& id, std::string const& question,
                          std::optional<StructuredInputAnswer> const& answer) {
    put_str(s, "id", id);
    put_str(s, "question", question);
    if (answer) {
        s.key("answer");
        s.begin_object();
        put_strings(s, "values", answer->values);
        put_bool(s, "skipped", answer->skipped);
        s.end_object();
    }
}

template <class S>
void emit(S& s, StructuredInput const& x) {
    s.begin_object();
    std::visit(overloaded{
                   [&](StructuredInputMultipleChoice const& q) {
                       emit_structured_head(s, q.id, q.question, q.answer);
                       put_str(s, "type", "multiple_choice");
                       put_array(s, "options", q.options, [&](StructuredInputMultipleChoiceOption const& o) {
                           s.begin_object();
                           put_str(s, "value", o.value);
                           s.end_object();
                       });
                       put_bool(s, "multiple", q.multiple);
                   },
                   [&](StructuredInputFreeform const& q) {
                       emit_structured_head(s, q.id, q.question, q.answer);
                       put_str(s, "type", "freeform");
                       put_opt_str(s, "description", q.description);
                   },
               },
               x);
    s.end_object();
}

template <class S>
void emit(S& s, GeneratedImage const& x) {
    s.begin_object();
    put_str(s, "id", x.id);
    put_str(s, "url", x.url);
    s.end_object();
}

char const* tool_call_status_name(ToolCallStatus v) noexcept {
    return v == ToolCallStatus::completed ? "completed" : "pending";
}

char const* structured_status_name(StructuredInputStatus v) noexcept {
    switch (v) {
        case StructuredInputStatus::answered: return "answered";
        case StructuredInputStatus::skipped: return "skipped";
        case StructuredInputStatus::pending: break;
    }
    return "pending";
}

template <class S>
void emit(S& s, ThreadItem const& item, JsonMode mode) {
    s.begin_object();
    put_str(s, "id", item_id(item));
    put_str(s, "thread_id", item_thread_id(item));
    put_timestamp(s, "created_at", item_created_at(item));
    put_str(s, "type", item_type(item));
    std::visit(overloaded{
                   [&](UserMessageItem const& x) {
                       put_array(s, "content", x.content, [&](UserMessageContent const& c) { emit(s, c); });
                       put_array(s, "attachments", x.attachments, [&](Attachment const& a) { emit(s, a, mode); });
                       put_opt_str(s, "quoted_text", x.quoted_text);
                       s.key("inference_options");
                       emit(s, x.inference_options);
                   },
                   [&](AssistantMessageItem const& x) {
                       put_array(s, "content", x.content, [&](AssistantMessageContent const& c) { emit(s, c); });
                   },
                   [&](ClientToolCallItem const& x) {
                       put_str(s, "status", tool_call_status_name(x.status));
                       put_str(s, "call_id", x.call_id);
                       put_str(s, "name", x.name);
                       put_object(s, "arguments", x.arguments);
                       if (!x.output.is_null()) {
                           s.key("output");
                           s.value(x.output);
                       }
                   },
                   [&](WidgetItem const& x) {
                       s.key("widget");
                       s.widget_object(x.widget);
                       put_opt_str(s, "copy_text", x.copy_text);
                   },
                   [&](GeneratedImageItem const& x) {
                       if (x.image) {
                           s.key("image");
                           emit(s, *x.image);
                       }
                   },
                   [&](StructuredInputItem const& x) {
                       put_str(s, "status", structured_status_name(x.status));
                       put_array(s, "inputs", x.inputs, [&](StructuredInput const& i) { emit(s, i); });
                   },
                   [&](WorkflowItem const& x) {
                       s.key("workflow");
                       emit(s, x.workflow);
                   },
                   [&](TaskItem const& x) {
                       s.key("task");
                       emit(s, x.task);
                   },
                   [&](EndOfTurnItem const&) {},
                   [&](HiddenContextItem const& x) {
                       if (!x.content.is_null()) {
                           s.key("content");
                           s.value(x.content);
                       }
                   },
                   [&](SDKHiddenContextItem const& x) { put_str(s, "content", x.content); },
               },
               item);
    s.end_object();
}

template <class S>
void emit_page_tail(S& s, bool has_more, std::optional<std::string> const& after) {
    put_bool(s, "has_more", has_more);
    put_opt_str(s, "after", after);
}

template <class S>
void emit(S& s, Page<ThreadItem> const& page, JsonMode mode) {
    s.begin_object();
    put_array(s, "data", page.data, [&](ThreadItem const& i) { emit(s, i, mode); });
    emit_page_tail(s, page.has_more, page.after);
    s.end_object();
}

template <class S>
void emit(S& s, ThreadStatus const& x) {
    s.begin_object();
    switch (x.type) {
        case ThreadStatusType::active: put_str(s, "type", "active"); break;
        case ThreadStatusType::locked:
            put_str(s, "type", "locked");
            put_opt_str(s, "reason", x.reason);
            break;
        case ThreadStatusType::closed:
            put_str(s, "type", "closed");
            put_opt_str(s, "reason", x.reason);
            break;
    }
    s.end_object();
}

template <class S>
void emit_empty_items(S& s) {
    s.key("items");
    s.begin_object();
    s.key("data");
    s.begin_array();
    s.end_array();
    put_bool(s, "has_more", false);
    s.end_object();
}

// A thread: the metadata fields, then `items` when given. In wire mode `metadata` is always `{}`.
template <class S>
void emit_thread(S& s, ThreadMetadata const& x, Page<ThreadItem> const* items, JsonMode mode) {
    s.begin_object();
    put_opt_str(s, "title", x.title);
    put_str(s, "id", x.id);
    put_timestamp(s, "created_at", x.created_at);
    s.key("status");
    emit(s, x.status);
    if (x.allowed_image_domains) put_strings(s, "allowed_image_domains", *x.allowed_image_domains);
    if (mode == JsonMode::store) {
        put_object(s, "metadata", x.metadata);
    } else {
        s.key("metadata");
        s.begin_object();
        s.end_object();
    }
    if (items) {
        s.key("items");
        emit(s, *items, mode);
    } else if (mode == JsonMode::wire) {
        // Clients always get a thread with an items page (empty for a bare ThreadMetadata).
        emit_empty_items(s);
    }
    s.end_object();
}

template <class S>
void emit(S& s, ThreadItemUpdate const& x) {
    s.begin_object();
    put_str(s, "type", update_type(x));
    std::visit(overloaded{
                   [&](AssistantMessageContentPartAdded const& u) {
                       put_int(s, "content_index", u.content_index);
                       s.key("content");
                       emit(s, u.content);
                   },
                   [&](AssistantMessageContentPartTextDelta const& u) {
                       put_int(s, "content_index", u.content_index);
                       put_str(s, "delta", u.delta);
                   },
                   [&](AssistantMessageContentPartAnnotationAdded const& u) {
                       put_int(s, "content_index", u.content_index);
                       put_int(s, "annotation_index", u.annotation_index);
                       s.key("annotation");
                       emit(s, u.annotation);
                   },
                   [&](AssistantMessageContentPartDone const& u) {
                       put_int(s, "content_index", u.content_index);
                       s.key("content");
                       emit(s, u.content);
                   },
                   [&](WidgetStreamingTextValueDelta const& u) {
                       put_str(s, "component_id", u.component_id);
                       put_str(s, "delta", u.delta);
                       put_bool(s, "done", u.done);
                   },
                   [&](WidgetRootUpdated const& u) {
                       s.key("widget");
                       s.widget_object(u.widget);
                   },
                   [&](WidgetComponentUpdated const& u) {
                       put_str(s, "component_id", u.component_id);
                       s.key("component");
                       s.widget_object(u.component);
                   },
                   [&](WorkflowTaskAdded const& u) {
                       put_int(s, "task_index", u.task_index);
                       s.key("task");
                       emit(s, u.task);
                   },
                   [&](WorkflowTaskUpdated const& u) {
                       put_int(s, "task_index", u.task_index);
                       s.key("task");
                       emit(s, u.task);
                   },
                   [&](GeneratedImageUpdated const& u) {
                       s.key("image");
                       emit(s, u.image);
                       if (u.progress) {
                           s.key("progress");
                           s.number(*u.progress);
                       }
                   },
               },
               x);
    s.end_object();
}

char const* notice_level_name(NoticeLevel v) noexcept {
    switch (v) {
        case NoticeLevel::warning: return "warning";
        case NoticeLevel::danger: return "danger";
        case NoticeLevel::info: break;
    }
    return "info";
}

template <class S>
void emit(S& s, ThreadStreamEvent const& x) {
    s.begin_object();
    put_str(s, "type", event_type(x));
    std::visit(overloaded{
                   [&](ThreadCreatedEvent const& e) {
                       s.key("thread");
                       emit_thread(s, e.thread, &e.thread.items, JsonMode::wire);
                   },
                   [&](ThreadUpdatedEvent const& e) {
                       s.key("thread");
                       emit_thread(s, e.thread, &e.thread.items, JsonMode::wire);
                   },
                   [&](ThreadItemAddedEvent const& e) {
                       s.key("item");
                       emit(s, e.item, JsonMode::wire);
                   },
                   [&](ThreadItemUpdatedEvent const& e) {
                       put_str(s, "item_id", e.item_id);
                       s.key("update");
                       emit(s, e.update);
                   },
                   [&](ThreadItemDoneEvent const& e) {
                       s.key("item");
                       emit(s, e.item, JsonMode::wire);
                   },
                   [&](ThreadItemRemovedEvent const& e) { put_str(s, "item_id", e.item_id); },
                   [&](ThreadItemReplacedEvent const& e) {
                       s.key("item");
                       emit(s, e.item, JsonMode::wire);
                   },
                   [&](StreamOptionsEvent const& e) {
                       s.key("stream_options");
                       s.begin_object();
                       put_bool(s, "allow_cancel", e.stream_options.allow_cancel);
                       s.end_object();
                   },
                   [&](ProgressUpdateEvent const& e) {
                       put_opt_str(s, "icon", e.icon);
                       put_str(s, "text", e.text);
                   },
                   [&](ClientEffectEvent const& e) {
                       put_str(s, "name", e.name);
                       put_object(s, "data", e.data);
                   },
                   [&](ErrorEvent const& e) {
                       put_str(s, "code", e.code);
                       put_opt_str(s, "message", e.message);
                       put_bool(s, "allow_retry", e.allow_retry);
                   },
                   [&](NoticeEvent const& e) {
                       put_str(s, "level", notice_level_name(e.level));
                       put_str(s, "message", e.message);
                       put_opt_str(s, "title", e.title);
                   },
               },
               x);
    s.end_object();
}

// Runs `fn(sink)` on a ValueSink and returns the built value.
template <class F>
JsonValue build(F&& fn) {
    ValueSink sink;
    fn(sink);
    return sink.release();
}

// The writer of each top-level shape, run on a ValueSink by to_json and on a TextSink by
// to_json_text, so the two forms cannot drift apart.
auto writer(ThreadMetadata const& thread, JsonMode mode) {
    return [&thread, mode](auto& s) { emit_thread(s, thread, nullptr, mode); };
}
auto writer(Thread const& thread, JsonMode mode) {
    return [&thread, mode](auto& s) { emit_thread(s, thread, &thread.items, mode); };
}
auto writer(ThreadItem const& item, JsonMode mode) {
    return [&item, mode](auto& s) { emit(s, item, mode); };
}
auto writer(Attachment const& attachment, JsonMode mode) {
    return [&attachment, mode](auto& s) { emit(s, attachment, mode); };
}
auto writer(Page<ThreadItem> const& page, JsonMode mode) {
    return [&page, mode](auto& s) { emit(s, page, mode); };
}
auto writer(Page<ThreadMetadata> const& page, JsonMode mode) {
    return [&page, mode](auto& s) {
        s.begin_object();
        put_array(s, "data", page.data, [&](ThreadMetadata const& t) { emit_thread(s, t, nullptr, mode); });
        emit_page_tail(s, page.has_more, page.after);
        s.end_object();
    };
}
auto writer(SyncCustomActionResponse const& response) {
    return [&response](auto& s) {
        s.begin_object();
        if (response.updated_item) {
            s.key("updated_item");
            emit(s, *response.updated_item, JsonMode::wire);
        }
        s.end_object();
    };
}
auto writer(TranscriptionResult const& result) {
    return [&result](auto& s) {
        s.begin_object();
        put_str(s, "text", result.text);
        s.end_object();
    };
}

// Runs `fn(sink)` on a TextSink and returns the text.
template <class F>
std::string build_text(F&& fn) {
    std::string out;
    out.reserve(512);
    TextSink sink(out);
    fn(sink);
    return out;
}

}  // namespace

}  // namespace chatkit::json_detail

namespace chatkit {

using namespace json_detail;

// =============================================================================================
// Public API: writers

JsonValue to_json(ThreadMetadata const& thread, JsonMode mode) { return build(writer(thread, mode)); }
JsonValue to_json(Thread const& thread, JsonMode mode) { return build(writer(thread, mode)); }
JsonValue to_json(ThreadItem const& item, JsonMode mode) { return build(writer(item, mode)); }
JsonValue to_json(Attachment const& attachment, JsonMode mode) { return build(writer(attachment, mode)); }

JsonValue to_json(ThreadStreamEvent const& event) {
    return build([&](ValueSink& s) { emit(s, event); });
}

JsonValue to_json(ThreadItemUpdate const& update) {
    return build([&](ValueSink& s) { emit(s, update); });
}

JsonValue to_json(Task const& task) {
    return build([&](ValueSink& s) { emit(s, task); });
}

JsonValue to_json(Source const& source) {
    return build([&](ValueSink& s) { emit(s, source); });
}

JsonValue to_json(Annotation const& annotation) {
    return build([&](ValueSink& s) { emit(s, annotation); });
}

JsonValue to_json(AssistantMessageContent const& content) {
    return build([&](ValueSink& s) { emit(s, content); });
}

JsonValue to_json(Workflow const& workflow) {
    return build([&](ValueSink& s) { emit(s, workflow); });
}

JsonValue to_json(StructuredInput const& input) {
    return build([&](ValueSink& s) { emit(s, input); });
}

JsonValue to_json(Page<ThreadItem> const& page, JsonMode mode) { return build(writer(page, mode)); }
JsonValue to_json(Page<ThreadMetadata> const& page, JsonMode mode) { return build(writer(page, mode)); }
JsonValue to_json(SyncCustomActionResponse const& response) { return build(writer(response)); }
JsonValue to_json(TranscriptionResult const& result) { return build(writer(result)); }

std::string to_json_text(ThreadMetadata const& thread, JsonMode mode) { return build_text(writer(thread, mode)); }
std::string to_json_text(Thread const& thread, JsonMode mode) { return build_text(writer(thread, mode)); }
std::string to_json_text(ThreadItem const& item, JsonMode mode) { return build_text(writer(item, mode)); }
std::string to_json_text(Attachment const& attachment, JsonMode mode) {
    return build_text(writer(attachment, mode));
}
std::string to_json_text(Page<ThreadItem> const& page, JsonMode mode) { return build_text(writer(page, mode)); }
std::string to_json_text(Page<ThreadMetadata> const& page, JsonMode mode) {
    return build_text(writer(page, mode));
}
std::string to_json_text(SyncCustomActionResponse const& response) { return build_text(writer(response)); }
std::string to_json_text(TranscriptionResult const& result) { return build_text(writer(result)); }

JsonValue strip_nulls(JsonValue const& widget) {
    switch (widget.kind()) {
        case json::kind::object: {
            json::object out;
            out.reserve(widget.get_object().size());
            for (auto const& kv : widget.get_object())
                if (!kv.value().is_null()) out.emplace(kv.key(), strip_nulls(kv.value()));
            return out;
        }
        case json::kind::array: {
            json::array out;
            out.reserve(widget.get_array().size());
            for (auto const& e : widget.get_array())
                if (!e.is_null()) out.push_back(strip_nulls(e));
            return out;
        }
        default: return widget;
    }
}

std::string to_json_text(ThreadStreamEvent const& event) {
    std::string out;
    out.reserve(256);  // most events fit, with room for the framing the server adds in place
    TextSink sink(out);
    emit(sink, event);
    return out;
}

}  // namespace chatkit
