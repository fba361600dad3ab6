"""Generates tests/data/protocol/*.json from the Python reference (run by hand; not needed at test time)."""
# Re-recording (not needed to run the tests): needs pydantic 2.13 and a checkout of openai/chatkit-python
# at dacc133, e.g.  CHATKIT_PYTHON_SRC=/tmp/ref/chatkit-python python3 generate_goldens.py tests/data/protocol
import contextvars, os, sys, types, warnings

warnings.simplefilter("ignore", DeprecationWarning)

sys.path.insert(0, os.environ.get("CHATKIT_PYTHON_SRC", "/tmp/ref/chatkit-python"))


def _install_agents_stub():
    """chatkit imports three names from the OpenAI Agents SDK; no model is ever called here."""
    try:
        import agents  # noqa: F401
        return
    except ImportError:
        pass
    agents = types.ModuleType("agents")
    agents.__path__ = []
    models = types.ModuleType("agents.models")
    models.__path__ = []
    chatcmpl = types.ModuleType("agents.models.chatcmpl_helpers")
    chatcmpl.HEADERS_OVERRIDE = contextvars.ContextVar("h1", default=None)
    responses = types.ModuleType("agents.models.openai_responses")
    responses._HEADERS_OVERRIDE = contextvars.ContextVar("h2", default=None)
    agents.models, models.chatcmpl_helpers, models.openai_responses = models, chatcmpl, responses
    sys.modules.update({"agents": agents, "agents.models": models,
                        "agents.models.chatcmpl_helpers": chatcmpl, "agents.models.openai_responses": responses})


_install_agents_stub()

import json  # noqa: E402
from datetime import datetime  # noqa: E402

from chatkit.actions import ActionConfig  # noqa: E402
from chatkit.types import *  # noqa: E402,F401,F403
from chatkit.widgets import Box, Button, Card, ListView, ListViewItem, Markdown, Text  # noqa: E402
from pydantic import TypeAdapter  # noqa: E402

OUT = sys.argv[1]
T0 = datetime(2025, 1, 2, 3, 4, 5, 6)
T1 = datetime(2025, 6, 1, 12, 0, 0, 100000)
T2 = datetime(2024, 2, 29, 23, 59, 59)            # no fraction
T3 = datetime(1999, 12, 31, 8, 30, 0, 999999)


def wire(o):
    return o.model_dump_json(by_alias=True, exclude_none=True, context={"exclude_metadata": True})


def store(o):
    return o.model_dump_json(by_alias=True, exclude_none=True)


def client_thread(t):
    return t.model_copy(update={"metadata": {}})


# ------------------------------------------------------------------ sources, annotations, tasks
url_min = URLSource(title="t", url="u")
url_max = URLSource(title="T \u00e9\U0001F600", description="d", timestamp="2025", group="g", url="https://x.test/a?b=1", attribution="attr")
file_min = FileSource(title="t", filename="f")
file_max = FileSource(title="t", description="d", timestamp="ts", group="g", filename="f.pdf")
ent_min = EntitySource(title="t", id="e")
ent_max = EntitySource(title="t", description="d", timestamp="ts", group="g", id="e", icon="vendor:acme", label="L", inline_label="IL", interactive=True, data={"k": None, "n": [1, 2.5, None], "o": {"x": True}}, preview="lazy")
ent_icon = EntitySource(title="t", id="e2", icon="book-open")
sources = [("url_min", url_min), ("url_max", url_max), ("file_min", file_min), ("file_max", file_max),
           ("entity_min", ent_min), ("entity_max", ent_max), ("entity_icon", ent_icon)]

tasks = [
    ("custom_min", CustomTask()),
    ("custom_max", CustomTask(status_indicator="loading", title="T", icon="lucide:rocket", content="c\nd")),
    ("web_search_min", SearchTask()),
    ("web_search_max", SearchTask(status_indicator="complete", title="S", title_query="q", queries=["a", "b"], sources=[url_min, url_max])),
    ("thought_min", ThoughtTask(content="x")),
    ("thought_max", ThoughtTask(status_indicator="complete", title="Thinking", content="hmm")),
    ("file_min", FileTask()),
    ("file_max", FileTask(status_indicator="loading", title="F", sources=[file_min, file_max])),
    ("image_min", ImageTask()),
    ("image_max", ImageTask(status_indicator="complete", title="img")),
]

annotations = [
    ("plain", Annotation(source=url_min)),
    ("index", Annotation(source=file_max, index=3)),
    ("entity_zero", Annotation(source=ent_max, index=0)),
]

contents = [
    ("empty", AssistantMessageContent(text="")),
    ("annotated", AssistantMessageContent(text="see [1]", annotations=[a for _, a in annotations])),
]

# ------------------------------------------------------------------ attachments
ud_min = AttachmentUploadDescriptor(url="https://up.example.com/atc_1", method="POST")
ud_slash = AttachmentUploadDescriptor(url="https://example.com", method="PUT", headers={"X-A": "1", "Authorization": "Bearer t"})
att_file_min = FileAttachment(id="a", name="n", mime_type="text/plain")
att_file_max = FileAttachment(id="atc_1", name="f.txt", mime_type="text/plain", upload_descriptor=ud_min, thread_id="thr_1", metadata={"secret": 1, "nested": {"n": None}})
att_img = ImageAttachment(id="atc_2", name="p.png", mime_type="image/png", preview_url="https://example.com")
att_img_max = ImageAttachment(id="atc_3", name="p.png", mime_type="image/png", upload_descriptor=ud_slash, thread_id="t", metadata={}, preview_url="https://cdn.example.com/p.png?sig=1")
att_meta_only = FileAttachment(id="atc_4", name="m", mime_type="application/pdf", metadata={"a": [1, None]})
attachments = [("file_min", att_file_min), ("file_max", att_file_max), ("image_min", att_img),
               ("image_max", att_img_max), ("metadata_only", att_meta_only)]

# ------------------------------------------------------------------ widgets
card = Card(children=[Text(id="t", value="hello"), Button(label="b", onClickAction=ActionConfig(type="a", payload={"x": None, "y": [1, None]})),
                      Markdown(id="md", value="**x**", streaming=True)], padding=1, confirm={"label": "ok", "action": ActionConfig(type="c")})
lv = ListView(children=[ListViewItem(children=[Text(value="row")], gap=2)], limit="auto")
box = Box(children=[Text(value="v")], direction="row")

# ------------------------------------------------------------------ items
si_items = [
    StructuredInputMultipleChoice(id="q", question="Q?", options=[StructuredInputMultipleChoiceOption(value="A"), StructuredInputMultipleChoiceOption(value="B")]),
    StructuredInputMultipleChoice(id="q2", question="Q2", answer=StructuredInputAnswer(values=["A", "B"]), options=[], multiple=True),
    StructuredInputFreeform(id="f", question="F", answer=StructuredInputAnswer(skipped=True)),
    StructuredInputFreeform(id="f2", question="F2", description="desc"),
]

items = [
    ("user_message_min", UserMessageItem(id="u", thread_id="t", created_at=T0, content=[], inference_options=InferenceOptions())),
    ("user_message_max", UserMessageItem(id="msg_1", thread_id="thr_1", created_at=T1,
        content=[UserMessageTextContent(text="Hi \"there\"\n\t\u2028/\\ \u00e9"), UserMessageTagContent(id="x", text="@y", data={"k": None, "v": 1.5}, group="people", interactive=True),
                 UserMessageTagContent(id="z", text="z", data={})],
        attachments=[att_file_min, att_file_max, att_img, att_img_max], quoted_text="quoted",
        inference_options=InferenceOptions(tool_choice=ToolChoice(id="search"), model="gpt-4.1"))),
    ("user_message_model_only", UserMessageItem(id="u2", thread_id="t", created_at=T2, content=[UserMessageTextContent(text="")], inference_options=InferenceOptions(model="m"))),
    ("assistant_message_empty", AssistantMessageItem(id="m0", thread_id="t", created_at=T2, content=[])),
    ("assistant_message", AssistantMessageItem(id="m", thread_id="t", created_at=T0, content=[c for _, c in contents])),
    ("client_tool_call_pending", ClientToolCallItem(id="c0", thread_id="t", created_at=T0, call_id="cc", name="n", arguments={})),
    ("client_tool_call_completed", ClientToolCallItem(id="c", thread_id="t", created_at=T0, status="completed", call_id="cc", name="n", arguments={"a": None, "b": [1, 2.0, -0.5, 1e-7, 12345678901234567890]}, output={"k": None})),
    ("client_tool_call_output_string", ClientToolCallItem(id="c2", thread_id="t", created_at=T3, status="completed", call_id="cc", name="n", arguments={"q": "x"}, output="plain")),
    ("client_tool_call_output_list", ClientToolCallItem(id="c3", thread_id="t", created_at=T3, status="completed", call_id="cc", name="n", arguments={}, output=[1, None, False])),
    ("client_tool_call_output_zero", ClientToolCallItem(id="c4", thread_id="t", created_at=T3, call_id="cc", name="n", arguments={}, output=0)),
    ("widget", WidgetItem(id="w", thread_id="t", created_at=T0, widget=card, copy_text="copy")),
    ("widget_listview", WidgetItem(id="w2", thread_id="t", created_at=T1, widget=lv)),
    ("generated_image_empty", GeneratedImageItem(id="g0", thread_id="t", created_at=T0)),
    ("generated_image", GeneratedImageItem(id="g", thread_id="t", created_at=T0, image=GeneratedImage(id="img", url="data:image/png;base64,AAAA"))),
    ("structured_input_pending", StructuredInputItem(id="si", thread_id="t", created_at=T0, inputs=si_items)),
    ("structured_input_answered", StructuredInputItem(id="si2", thread_id="t", created_at=T0, status="answered", inputs=[si_items[1]])),
    ("structured_input_skipped", StructuredInputItem(id="si3", thread_id="t", created_at=T0, status="skipped", inputs=[])),
    ("workflow_custom", WorkflowItem(id="w", thread_id="t", created_at=T0, workflow=Workflow(type="custom", tasks=[ThoughtTask(content="c"), FileTask(), ImageTask()], summary=DurationSummary(duration=3)))),
    ("workflow_reasoning", WorkflowItem(id="wf", thread_id="t", created_at=T0, workflow=Workflow(type="reasoning", tasks=[t for _, t in tasks], summary=CustomSummary(title="Thought", icon="sparkle"), expanded=True))),
    ("workflow_summary_title", WorkflowItem(id="wf2", thread_id="t", created_at=T0, workflow=Workflow(type="custom", tasks=[], summary=CustomSummary(title="T")))),
    ("task_web_search", TaskItem(id="k", thread_id="t", created_at=T0, task=SearchTask())),
    ("task_custom", TaskItem(id="k2", thread_id="t", created_at=T0, task=tasks[1][1])),
    ("end_of_turn", EndOfTurnItem(id="e", thread_id="t", created_at=T2)),
    ("hidden_context_object", HiddenContextItem(id="h", thread_id="t", created_at=T0, content={"x": None, "y": "z"})),
    ("hidden_context_null", HiddenContextItem(id="h2", thread_id="t", created_at=T0, content=None)),
    ("hidden_context_string", HiddenContextItem(id="h3", thread_id="t", created_at=T0, content="ctx")),
    ("sdk_hidden_context", SDKHiddenContextItem(id="s", thread_id="t", created_at=T0, content="The user cancelled the stream.")),
]

# ------------------------------------------------------------------ threads
tm_min = ThreadMetadata(id="thr_1", created_at=T1)
tm_max = ThreadMetadata(id="t", title="Title \u00e9", created_at=T0, status=ClosedStatus(reason="r"), allowed_image_domains=[], metadata={"x": 1, "n": None})
tm_locked = ThreadMetadata(id="t2", created_at=T2, status=LockedStatus(), allowed_image_domains=["a.example", "b.example"], metadata={"k": "v"})
tm_locked_reason = ThreadMetadata(id="t3", created_at=T3, status=LockedStatus(reason="busy"))
tm_closed = ThreadMetadata(id="t4", created_at=T3, status=ClosedStatus())
thread_items = Thread(id="t", title="Greeting", created_at=T1, metadata={"secret": True},
                      items=Page(data=[items[1][1], items[4][1]], has_more=True, after="m"))
thread_empty = Thread(id="thr_0a1b2c3d", created_at=T1, items=Page())
threads_meta = [("min", tm_min), ("max", tm_max), ("locked", tm_locked), ("locked_reason", tm_locked_reason), ("closed", tm_closed)]
threads_full = [("with_items", thread_items), ("empty", thread_empty)]

# ------------------------------------------------------------------ events and updates
updates = [
    ("content_part_added", AssistantMessageContentPartAdded(content_index=0, content=AssistantMessageContent(text=""))),
    ("text_delta", AssistantMessageContentPartTextDelta(content_index=2, delta="Hello\u0000\u001f\u007f")),
    ("annotation_added", AssistantMessageContentPartAnnotationAdded(content_index=0, annotation_index=1, annotation=annotations[1][1])),
    ("content_part_done", AssistantMessageContentPartDone(content_index=1, content=contents[1][1])),
    ("value_delta", WidgetStreamingTextValueDelta(component_id="t", delta="ab", done=True)),
    ("value_delta_not_done", WidgetStreamingTextValueDelta(component_id="t", delta="", done=False)),
    ("root_updated", WidgetRootUpdated(widget=card)),
    ("component_updated", WidgetComponentUpdated(component_id="t", component=Text(id="t", value="x", color={"light": "red", "dark": "blue"}))),
    ("component_updated_box", WidgetComponentUpdated(component_id="b", component=box)),
    ("task_added", WorkflowTaskAdded(task_index=0, task=ThoughtTask(content="x"))),
    ("task_updated", WorkflowTaskUpdated(task_index=4, task=tasks[3][1])),
    ("generated_image_updated", GeneratedImageUpdated(image=GeneratedImage(id="g", url="u"), progress=0.5)),
    ("generated_image_updated_int", GeneratedImageUpdated(image=GeneratedImage(id="g", url="u"), progress=1)),
    ("generated_image_updated_small", GeneratedImageUpdated(image=GeneratedImage(id="g", url="u"), progress=1e-7)),
    ("generated_image_updated_none", GeneratedImageUpdated(image=GeneratedImage(id="g", url="u"))),
]
events = [
    ("thread_created", ThreadCreatedEvent(thread=client_thread(thread_empty))),
    ("thread_updated", ThreadUpdatedEvent(thread=client_thread(Thread(**tm_max.model_dump(), items=Page())))),
    ("item_added", ThreadItemAddedEvent(item=items[3][1])),
    ("item_done_user", ThreadItemDoneEvent(item=items[1][1])),
    ("item_done_widget", ThreadItemDoneEvent(item=items[10][1])),
    ("item_removed", ThreadItemRemovedEvent(item_id="i")),
    ("item_replaced", ThreadItemReplacedEvent(item=items[14][1])),
    ("stream_options", StreamOptionsEvent(stream_options=StreamOptions(allow_cancel=True))),
    ("stream_options_false", StreamOptionsEvent(stream_options=StreamOptions(allow_cancel=False))),
    ("progress_update", ProgressUpdateEvent(icon="search", text="x")),
    ("progress_update_no_icon", ProgressUpdateEvent(text="working")),
    ("client_effect", ClientEffectEvent(name="x")),
    ("client_effect_data", ClientEffectEvent(name="x", data={"a": None, "b": [{}]})),
    ("error_default", ErrorEvent()),
    ("error_custom", ErrorEvent(code="custom", message="boom", allow_retry=False)),
    ("error_stream", ErrorEvent(code="stream.error", allow_retry=True)),
    ("notice", NoticeEvent(level="warning", message="m", title="t")),
    ("notice_info", NoticeEvent(level="info", message="[Upgrade](https://x)")),
    ("notice_danger", NoticeEvent(level="danger", message="d")),
] + [("updated_" + n, ThreadItemUpdatedEvent(item_id="i", update=u)) for n, u in updates]

misc = [
    ("page_items", Page[ThreadItem](data=[items[4][1], items[22][1]], has_more=True, after="e")),
    ("page_empty", Page[ThreadItem]()),
    ("sync_response_item", SyncCustomActionResponse(updated_item=items[10][1])),
    ("sync_response_empty", SyncCustomActionResponse()),
    ("transcription", TranscriptionResult(text="hello \u00e9")),
]


def entries(pairs, with_store=True):
    out = []
    for name, obj in pairs:
        e = {"name": name, "wire": wire(obj)}
        if with_store:
            e["store"] = store(obj)
        out.append(e)
    return out


def dump(name, data):
    with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
        f.write("\n")


dump("items.json", entries(items))
dump("attachments.json", entries(attachments))
dump("sources.json", entries(sources, False))
dump("tasks.json", entries(tasks, False))
dump("annotations.json", entries(annotations, False))
dump("assistant_contents.json", entries(contents, False))
dump("events.json", entries(events, False))
dump("updates.json", entries(updates, False))
dump("structured_inputs.json", [{"name": i.id, "wire": TypeAdapter(StructuredInput).dump_json(i, by_alias=True, exclude_none=True).decode()} for i in si_items])
dump("workflows.json", [{"name": n, "wire": wire(i.workflow)} for n, i in items if isinstance(i, WorkflowItem)])
# Threads: "wire" is the client view (metadata {}), "store" the stored form.
# A bare ThreadMetadata in wire mode is the client view the server builds (_to_thread_response).
dump("thread_metadata.json", [{"name": n, "wire": wire(client_thread(Thread(**t.model_dump(), items=Page()))), "store": store(t)} for n, t in threads_meta])
# threads.list response: Page of client views.
dump("thread_pages.json", [{"name": "two_threads", "wire": wire(Page[Thread](data=[client_thread(Thread(**t.model_dump(), items=Page())) for _, t in threads_meta[:2]], has_more=True, after="t")),
                            "store": Page[ThreadMetadata](data=[t for _, t in threads_meta[:2]], has_more=True, after="t").model_dump_json(exclude_none=True)}])
dump("threads.json", [{"name": n, "wire": wire(client_thread(t)), "store": store(t)} for n, t in threads_full])
dump("misc.json", entries(misc, False))
print("ok")
