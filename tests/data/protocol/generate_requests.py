"""Generates tests/data/protocol/requests.json: request bodies with the reference's verdict.

Each entry: name, body (raw text), valid (what pydantic decides), path (JSON path our error names, for
rejected bodies) and, where chatkit-cpp deliberately differs (DESIGN.md decision 3), cpp_valid.
"""
# Re-recording (not needed to run the tests): needs pydantic 2.13 and a checkout of openai/chatkit-python
# at dacc133, e.g.  CHATKIT_PYTHON_SRC=/tmp/ref/chatkit-python python3 generate_requests.py tests/data/protocol
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

import json, sys
from chatkit.types import ChatKitReq
from pydantic import TypeAdapter, ValidationError

ta = TypeAdapter(ChatKitReq)
cases = []


def add(name, body, path=None, cpp_valid=None):
    raw = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    try:
        ta.validate_json(raw)
        valid = True
    except ValidationError:
        valid = False
    e = {"name": name, "body": raw, "valid": valid}
    expected_cpp = valid if cpp_valid is None else cpp_valid
    if cpp_valid is not None and cpp_valid != valid:
        e["cpp_valid"] = cpp_valid
    if not expected_cpp:
        assert path is not None, name
        e["path"] = path
    elif path is not None:
        raise SystemExit(f"{name}: accepted by the reference but a path was given")
    cases.append(e)


# The scenario files of the conformance kit.
for fname in ["invalid_bodies.json", "lenient_parsing.json"]:
    sc = json.load(open(os.path.join(os.environ.get("CHATKIT_CONFORMANCE_DIR", "/work/shared/conformance"), "scenarios", fname)))
    paths = {
        "not JSON": "$", "empty body": "$", "array instead of an object": "$", "a JSON string": "$",
        "trailing characters": "$", "unknown type": "$.type", "missing type": "$.type",
        "missing params": "$.params", "params null": "$.params", "null for a defaulted field": "$.params.order",
        "metadata null": "$.metadata", "literal outside the allowed values": "$.params.order",
        "fractional limit": "$.params.limit", "number where a string is required": "$.params.thread_id",
        "streaming request: inference_options null": "$.params.input.inference_options",
        "streaming request: attachments missing": "$.params.input.attachments",
        "unknown content part type": "$.params.input.content[0].type",
        "result key missing": "$.params.result",
    }
    for step in sc["steps"]:
        body = step.get("raw_body")
        if body is None:
            body = json.dumps(step["request"]).replace("{{thread_id}}", "thr_1")
        add(f"{fname}: {step['name']}", body, paths.get(step["name"]))

C = {"content": [{"type": "input_text", "text": "x"}], "attachments": [], "inference_options": {}}


def inp(**kw):
    d = json.loads(json.dumps(C))
    d.update(kw)
    return d


# One valid body per request type.
add("threads.create", {"type": "threads.create", "params": {"input": C}})
add("threads.add_user_message", {"type": "threads.add_user_message", "params": {"thread_id": "t", "input": C}})
add("threads.add_client_tool_output", {"type": "threads.add_client_tool_output", "params": {"thread_id": "t", "result": {"a": [1, None]}}})
add("threads.add_client_tool_output null result", {"type": "threads.add_client_tool_output", "params": {"thread_id": "t", "result": None}})
add("threads.add_structured_input", {"type": "threads.add_structured_input", "params": {"thread_id": "t", "item_id": "i", "input": {"answers": {"q": {"values": ["B", "C"]}, "zzz": {"values": ["x"]}}}}})
add("threads.add_structured_input empty input", {"type": "threads.add_structured_input", "params": {"thread_id": "t", "item_id": "i", "input": {}}})
add("threads.retry_after_item", {"type": "threads.retry_after_item", "params": {"thread_id": "t", "item_id": "i"}})
add("threads.custom_action", {"type": "threads.custom_action", "params": {"thread_id": "t", "item_id": "w", "action": {"type": "a", "payload": {"x": None}, "handler": "server", "loadingBehavior": "auto"}}})
add("threads.custom_action no item", {"type": "threads.custom_action", "params": {"thread_id": "t", "item_id": None, "action": {"type": "a"}}})
add("threads.sync_custom_action", {"type": "threads.sync_custom_action", "params": {"thread_id": "t", "action": {"type": "a", "payload": 1}}})
add("threads.get_by_id", {"type": "threads.get_by_id", "params": {"thread_id": "t"}})
add("threads.list empty params", {"type": "threads.list", "params": {}})
add("threads.list all params", {"type": "threads.list", "params": {"limit": 5, "order": "asc", "after": "t"}})
add("items.list", {"type": "items.list", "params": {"thread_id": "t", "limit": None, "order": "desc", "after": None}})
add("items.feedback", {"type": "items.feedback", "params": {"thread_id": "t", "item_ids": ["a", "b"], "kind": "positive"}})
add("attachments.create", {"type": "attachments.create", "params": {"name": "f.txt", "size": 12, "mime_type": "text/plain"}})
add("attachments.delete", {"type": "attachments.delete", "params": {"attachment_id": "a"}})
add("threads.update", {"type": "threads.update", "params": {"thread_id": "t", "title": "x"}})
add("threads.delete", {"type": "threads.delete", "params": {"thread_id": "t"}})
add("input.transcribe", {"type": "input.transcribe", "params": {"audio_base64": "aGVsbG8=", "mime_type": "audio/webm;codecs=opus"}})

# params missing / null for every type
for t in ["threads.create", "threads.add_user_message", "threads.add_client_tool_output", "threads.add_structured_input",
          "threads.retry_after_item", "threads.custom_action", "threads.sync_custom_action", "threads.get_by_id",
          "threads.list", "items.list", "items.feedback", "attachments.create", "attachments.delete", "threads.update",
          "threads.delete", "input.transcribe"]:
    add(f"{t}: params missing", {"type": t}, "$.params")
    add(f"{t}: params null", {"type": t, "params": None}, "$.params")
    add(f"{t}: params an array", {"type": t, "params": []}, "$.params")

# Envelope
add("body null", "null", "$")
add("body empty object", "{}", "$.type")
add("body with surrounding white space", ' \n {"type":"threads.list","params":{}} \n ')
add("type not a string", {"type": 5, "params": {}}, "$.type")
add("type null", {"type": None, "params": {}}, "$.type")
add("metadata an array", {"type": "threads.list", "params": {}, "metadata": []}, "$.metadata")
add("metadata object", {"type": "threads.list", "params": {}, "metadata": {"page": {"url": "u"}, "n": None}})
add("two documents", '{"type":"threads.list","params":{}}{}', "$")
add("NaN-free invalid literal", '{"type":"threads.list","params":{"limit":tru}}', "$")

# Integers
for name, v, ok in [("string", "12", True), ("padded string", " 3 ", True), ("underscores", "1_0", True),
                    ("integral float", 2.0, True), ("zero fraction string", "4.0", True), ("null", None, True),
                    ("negative", -1, True), ("bool", True, True), ("fraction", 1.5, False),
                    ("fractional string", "1.5", False), ("word", "abc", False), ("empty string", "", False),
                    ("exponent string", "1e3", False), ("array", [1], False), ("object", {}, False),
                    ("huge", 1e30, False)]:
    add(f"limit {name}", {"type": "threads.list", "params": {"limit": v}}, None if ok else "$.params.limit")
add("size as string", {"type": "attachments.create", "params": {"name": "n", "size": "12", "mime_type": "m"}})
add("size fractional", {"type": "attachments.create", "params": {"name": "n", "size": 1.5, "mime_type": "m"}}, "$.params.size")
add("size missing", {"type": "attachments.create", "params": {"name": "n", "mime_type": "m"}}, "$.params.size")
add("size null", {"type": "attachments.create", "params": {"name": "n", "size": None, "mime_type": "m"}}, "$.params.size")

# Literals and strings
add("order desc", {"type": "items.list", "params": {"thread_id": "t", "order": "desc"}})
add("order wrong", {"type": "items.list", "params": {"thread_id": "t", "order": "newest"}}, "$.params.order")
add("order number", {"type": "items.list", "params": {"thread_id": "t", "order": 1}}, "$.params.order")
add("items.list thread_id missing", {"type": "items.list", "params": {}}, "$.params.thread_id")
add("after number", {"type": "threads.list", "params": {"after": 5}}, "$.params.after")
add("kind wrong", {"type": "items.feedback", "params": {"thread_id": "t", "item_ids": [], "kind": "meh"}}, "$.params.kind")
add("kind missing", {"type": "items.feedback", "params": {"thread_id": "t", "item_ids": []}}, "$.params.kind")
add("item_ids a string", {"type": "items.feedback", "params": {"thread_id": "t", "item_ids": "a", "kind": "negative"}}, "$.params.item_ids")
add("item_ids with a number", {"type": "items.feedback", "params": {"thread_id": "t", "item_ids": ["a", 1], "kind": "negative"}}, "$.params.item_ids[1]")
add("thread_id null", {"type": "threads.get_by_id", "params": {"thread_id": None}}, "$.params.thread_id")
add("thread_id bool", {"type": "threads.delete", "params": {"thread_id": True}}, "$.params.thread_id")
add("title missing", {"type": "threads.update", "params": {"thread_id": "t"}}, "$.params.title")
add("title null", {"type": "threads.update", "params": {"thread_id": "t", "title": None}}, "$.params.title")
add("attachment_id missing", {"type": "attachments.delete", "params": {}}, "$.params.attachment_id")
add("audio_base64 missing", {"type": "input.transcribe", "params": {"mime_type": "m"}}, "$.params.audio_base64")
add("mime_type number", {"type": "input.transcribe", "params": {"audio_base64": "", "mime_type": 5}}, "$.params.mime_type")
add("retry item_id missing", {"type": "threads.retry_after_item", "params": {"thread_id": "t"}}, "$.params.item_id")
add("tool output thread_id missing", {"type": "threads.add_client_tool_output", "params": {"result": 1}}, "$.params.thread_id")

# User input
CR = "threads.create"
add("input missing", {"type": CR, "params": {}}, "$.params.input")
add("input null", {"type": CR, "params": {"input": None}}, "$.params.input")
add("add_user_message thread_id missing", {"type": "threads.add_user_message", "params": {"input": C}}, "$.params.thread_id")
add("content missing", {"type": CR, "params": {"input": {"attachments": [], "inference_options": {}}}}, "$.params.input.content")
add("content empty", {"type": CR, "params": {"input": inp(content=[])}})
add("content part without type", {"type": CR, "params": {"input": inp(content=[{"text": "x"}])}}, "$.params.input.content[0].type")
add("second content part bad", {"type": CR, "params": {"input": inp(content=[{"type": "input_text", "text": "a"}, {"type": "input_text"}])}}, "$.params.input.content[1].text")
add("text not a string", {"type": CR, "params": {"input": inp(content=[{"type": "input_text", "text": 1}])}}, "$.params.input.content[0].text")
add("tag full", {"type": CR, "params": {"input": inp(content=[{"type": "input_tag", "id": "i", "text": "t", "data": {"a": None}, "group": "g", "interactive": True}])}})
add("tag interactive string", {"type": CR, "params": {"input": inp(content=[{"type": "input_tag", "id": "i", "text": "t", "data": {}, "interactive": "yes"}])}})
add("tag interactive number 1", {"type": CR, "params": {"input": inp(content=[{"type": "input_tag", "id": "i", "text": "t", "data": {}, "interactive": 1}])}})
add("tag interactive bad", {"type": CR, "params": {"input": inp(content=[{"type": "input_tag", "id": "i", "text": "t", "data": {}, "interactive": "maybe"}])}}, "$.params.input.content[0].interactive")
add("tag interactive null", {"type": CR, "params": {"input": inp(content=[{"type": "input_tag", "id": "i", "text": "t", "data": {}, "interactive": None}])}}, "$.params.input.content[0].interactive")
add("tag data missing (DESIGN decision 3)", {"type": CR, "params": {"input": inp(content=[{"type": "input_tag", "id": "i", "text": "t"}])}}, cpp_valid=True)
add("tag data null", {"type": CR, "params": {"input": inp(content=[{"type": "input_tag", "id": "i", "text": "t", "data": None}])}}, "$.params.input.content[0].data")
add("tag data an array", {"type": CR, "params": {"input": inp(content=[{"type": "input_tag", "id": "i", "text": "t", "data": []}])}}, "$.params.input.content[0].data")
add("tag group number", {"type": CR, "params": {"input": inp(content=[{"type": "input_tag", "id": "i", "text": "t", "data": {}, "group": 1}])}}, "$.params.input.content[0].group")
add("tag id missing", {"type": CR, "params": {"input": inp(content=[{"type": "input_tag", "text": "t", "data": {}}])}}, "$.params.input.content[0].id")
add("attachments ids", {"type": CR, "params": {"input": inp(attachments=["a", "b"])}})
add("attachments null", {"type": CR, "params": {"input": inp(attachments=None)}}, "$.params.input.attachments")
add("attachments with a number", {"type": CR, "params": {"input": inp(attachments=["a", 2])}}, "$.params.input.attachments[1]")
add("quoted_text number", {"type": CR, "params": {"input": inp(quoted_text=3)}}, "$.params.input.quoted_text")
add("inference_options missing", {"type": CR, "params": {"input": {"content": [], "attachments": []}}}, "$.params.input.inference_options")
add("tool_choice without id", {"type": CR, "params": {"input": inp(inference_options={"tool_choice": {}})}}, "$.params.input.inference_options.tool_choice.id")
add("tool_choice a string", {"type": CR, "params": {"input": inp(inference_options={"tool_choice": "x"})}}, "$.params.input.inference_options.tool_choice")
add("model number", {"type": CR, "params": {"input": inp(inference_options={"model": 4})}}, "$.params.input.inference_options.model")
add("tool_choice and model", {"type": CR, "params": {"input": inp(inference_options={"tool_choice": {"id": "s", "x": 1}, "model": "m"})}})

# Structured input
SI = "threads.add_structured_input"
def si(input_):
    return {"type": SI, "params": {"thread_id": "t", "item_id": "i", "input": input_}}
add("structured input skipped", si({"status": "skipped"}))
add("structured status pending", si({"status": "pending"}), "$.params.input.status")
add("structured status null", si({"status": None}), "$.params.input.status")
add("structured answers null", si({"answers": None}), "$.params.input.answers")
add("structured answers array", si({"answers": []}), "$.params.input.answers")
add("structured answer empty object", si({"answers": {"q": {}}}))
add("structured answer values null", si({"answers": {"q": {"values": None}}}), "$.params.input.answers.q.values")
add("structured answer values number", si({"answers": {"q": {"values": [1]}}}), "$.params.input.answers.q.values[0]")
add("structured answer skipped string", si({"answers": {"q": {"skipped": "yes"}}}))
add("structured answer skipped bad", si({"answers": {"q": {"skipped": "maybe"}}}), "$.params.input.answers.q.skipped")
add("structured answer not an object", si({"answers": {"q": ["a"]}}), "$.params.input.answers.q")
add("structured input missing", {"type": SI, "params": {"thread_id": "t", "item_id": "i"}}, "$.params.input")

# Actions
CA = "threads.custom_action"
add("action missing", {"type": CA, "params": {"thread_id": "t"}}, "$.params.action")
add("action null", {"type": CA, "params": {"thread_id": "t", "action": None}}, "$.params.action")
add("action without type (DESIGN decision 3)", {"type": CA, "params": {"thread_id": "t", "action": {"payload": 1}}}, "$.params.action.type", cpp_valid=False)
add("action type number", {"type": CA, "params": {"thread_id": "t", "action": {"type": 5}}}, "$.params.action.type")
add("action item_id number", {"type": CA, "params": {"thread_id": "t", "item_id": 3, "action": {"type": "a"}}}, "$.params.item_id")
add("sync action payload null", {"type": "threads.sync_custom_action", "params": {"thread_id": "t", "action": {"type": "a", "payload": None}}})

# Depth limit of the JSON parser (200 nested containers in all).
def nested(depth):
    inner = "1"
    for _ in range(depth - 1):
        inner = '{"k":' + inner + "}"
    return '{"type":"threads.list","params":{},"metadata":' + inner + "}"
add("nesting depth 200", nested(200))
add("nesting depth 201", nested(201), "$")

with open(os.path.join(sys.argv[1], "requests.json"), "w", encoding="utf-8") as f:
    f.write("[\n" + ",\n".join(json.dumps(c, ensure_ascii=False) for c in cases) + "\n]\n")
print(len(cases), "cases;", sum(1 for c in cases if c.get("cpp_valid", c["valid"])), "valid")
