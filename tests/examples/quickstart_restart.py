#!/usr/bin/env python3
"""The quickstart keeps every conversation across a restart (issue 4: SqliteStore is its store).

Starts the quickstart on a fresh database file, creates a thread and adds a second message over HTTP,
stops the server with SIGTERM (it must exit 0), starts it again on the same file and checks that
threads.list and items.list return everything. Prints `N passed, M failed`; exits non-zero on failure.
"""
import json
import os
import subprocess
import sys
import tempfile
import urllib.request

from example_support import Checks, start_server, stop_server, user_input

binary = sys.argv[1]
check = Checks()


def start(db: str) -> tuple[subprocess.Popen, str]:
    proc, base = start_server([binary, "--host", "127.0.0.1", "--port", "0", "--db", db, "--word-delay-ms", "0"],
                              cwd=os.path.dirname(db))  # its ./uploads goes next to the database
    return proc, base + "/chatkit"


def post(url: str, body: dict) -> bytes:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=20) as response:
        return response.read()


with tempfile.TemporaryDirectory() as tmp:
    db = os.path.join(tmp, "chatkit.db")
    proc, url = start(db)
    try:
        stream = post(url, {"type": "threads.create", "params": {"input": user_input("Remember this conversation")}})
        first = json.loads(stream.decode().split("\n\n")[0].removeprefix("data: "))
        thread_id = first["thread"]["id"]
        post(url, {"type": "threads.add_user_message",
                   "params": {"thread_id": thread_id, "input": user_input("And this second message")}})
    finally:
        status = stop_server(proc)
    check(status == 0, f"the quickstart exits 0 after SIGTERM (got {status})")

    proc, url = start(db)
    try:
        threads = json.loads(post(url, {"type": "threads.list", "params": {}}))
        check([t["id"] for t in threads["data"]] == [thread_id], "threads.list after the restart shows the thread")
        check(threads["data"][0].get("title") == "Remember this conversation", "the title survived the restart")
        items = json.loads(post(url, {"type": "items.list", "params": {"thread_id": thread_id, "order": "asc"}}))
        texts = [part["text"] for item in items["data"] for part in item["content"]]
        check(texts == ["Remember this conversation", "You said: Remember this conversation",
                        "And this second message", "You said: And this second message"],
              f"items.list after the restart shows all four messages in order (got {texts})")
    finally:
        status = stop_server(proc)
    check(status == 0, f"the restarted quickstart exits 0 after SIGTERM (got {status})")

sys.exit(check.finish())
