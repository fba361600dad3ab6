#!/usr/bin/env python3
"""examples/hello, the first rung of the examples ladder, is a complete streaming echo server.

Checks its source stays within 40 lines (`wc -l`), starts it on `--port 0` and reads its first stdout
line, answers /healthz, streams `threads.create` back as one assistant message (after the thread and
the stored user message: stream options, item added, content part added, a text delta, content part
done, item done) that items.list then returns, and exits 0 on SIGTERM. Prints `N passed, M failed`; exits non-zero on failure.
"""
import json
import subprocess
import sys
import urllib.request

from example_support import Checks, clean_env, start_server, stop_server, user_input

binary, source = sys.argv[1], sys.argv[2]
check = Checks()

with open(source) as f:
    lines = f.read().count("\n")
check(lines <= 40, f"examples/hello/main.cpp has at most 40 lines (wc -l: {lines})")

help_run = subprocess.run([binary, "--help"], capture_output=True, text=True, env=clean_env(), timeout=30)
check(help_run.returncode == 0 and "--port" in help_run.stdout and "CHATKIT_PORT" in help_run.stdout,
      "--help lists --port and its environment variable")


def post(url: str, body: dict) -> tuple[str, bytes]:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=20) as response:
        return response.headers.get("Content-Type", ""), response.read()


proc, base = start_server([binary, "--port", "0"], env=clean_env())
try:
    check(base.startswith("http://127.0.0.1:") and not base.endswith(":0"),
          f"the listening line names 127.0.0.1 and the bound port ({base})")
    with urllib.request.urlopen(base + "/healthz", timeout=20) as health:
        check(health.read() == b"ok", "GET /healthz answers ok")

    content_type, body = post(base + "/chatkit",
                              {"type": "threads.create", "params": {"input": user_input("Hello, hello!")}})
    check(content_type.startswith("text/event-stream"), f"threads.create streams (Content-Type {content_type})")
    events = [json.loads(frame.removeprefix("data: ")) for frame in body.decode().split("\n\n") if frame]
    kinds = [e["type"] + ("/" + e["update"]["type"] if "update" in e else "") for e in events]
    check(kinds == ["thread.created", "thread.item.done", "stream_options", "thread.item.added",
                    "thread.item.updated/assistant_message.content_part.added",
                    "thread.item.updated/assistant_message.content_part.text_delta",
                    "thread.item.updated/assistant_message.content_part.done", "thread.item.done"],
          f"the answer is one streamed assistant message (got {kinds})")
    deltas = "".join(e["update"]["delta"] for e in events
                     if e.get("update", {}).get("type") == "assistant_message.content_part.text_delta")
    check(deltas == "You said: Hello, hello!", f"the deltas echo the message (got {deltas!r})")
    done = events[-1]["item"]
    check(done["type"] == "assistant_message" and done["content"][0]["text"] == "You said: Hello, hello!",
          "the finished message holds the whole echo")

    thread_id = events[0]["thread"]["id"]
    _, listed = post(base + "/chatkit", {"type": "items.list", "params": {"thread_id": thread_id, "order": "asc"}})
    texts = [part["text"] for item in json.loads(listed)["data"] for part in item["content"]]
    check(texts == ["Hello, hello!", "You said: Hello, hello!"], f"items.list returns both messages (got {texts})")
finally:
    status = stop_server(proc)
check(status == 0, f"hello exits 0 after SIGTERM (got {status})")

sys.exit(check.finish())
