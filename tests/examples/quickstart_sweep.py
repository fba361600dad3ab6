#!/usr/bin/env python3
"""The quickstart sweeps abandoned uploads periodically while it runs (issue 7).

Starts the quickstart with uploads enabled, a 2-second max age and a 1-second sweep interval, creates
two attachments (phase 1) and uploads the bytes of one of them. While the server keeps running, the
abandoned one must disappear from the uploads directory and from the SQLite store; the uploaded one
stays on both sides. Then SIGTERM must stop the server (and its sweep timer) with exit status 0.
Also checks `--help` documents the sweep options and the start-up lines name the dictation backend.
Prints `N passed, M failed`; exits non-zero on failure.
"""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

from example_support import Checks, clean_env, start_server, stop_server

binary = sys.argv[1]
check = Checks()


def start(args: list, stderr_path: str, env: dict) -> tuple:
    with open(stderr_path, "w") as err:  # run where the log is, so a default ./uploads lands there too
        return start_server([binary, "--host", "127.0.0.1", "--port", "0", "--word-delay-ms", "0", *args],
                            stderr=err, env=env, log_path=stderr_path, cwd=os.path.dirname(stderr_path))


def post(url: str, body: bytes, headers: dict) -> dict:
    request = urllib.request.Request(url, body, headers)
    with urllib.request.urlopen(request, timeout=20) as response:
        return json.loads(response.read())


def chatkit(base: str, type_: str, params: dict) -> dict:
    return post(base + "/chatkit", json.dumps({"type": type_, "params": params}).encode(),
                {"Content-Type": "application/json", "X-User-Id": "alice"})


def records(db: str) -> list:
    with sqlite3.connect(db) as conn:
        return sorted(row[0] for row in conn.execute("SELECT id FROM attachments WHERE owner = 'alice'"))


def wait_for(condition, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


help_text = subprocess.run([binary, "--help"], capture_output=True, text=True, env=clean_env()).stdout
check("--sweep-interval-s" in help_text and "CHATKIT_SWEEP_INTERVAL_S" in help_text,
      "--help documents --sweep-interval-s and CHATKIT_SWEEP_INTERVAL_S")
check("--upload-max-age-s" in help_text and "CHATKIT_UPLOAD_MAX_AGE_S" in help_text,
      "--help documents --upload-max-age-s and CHATKIT_UPLOAD_MAX_AGE_S")

with tempfile.TemporaryDirectory() as tmp:
    uploads = os.path.join(tmp, "uploads")
    db = os.path.join(tmp, "chatkit.db")
    stderr_path = os.path.join(tmp, "stderr.txt")
    proc, base = start(["--db", db, "--uploads-dir", uploads, "--upload-max-age-s", "2", "--sweep-interval-s", "1"],
                       stderr_path, clean_env())
    try:
        abandoned = chatkit(base, "attachments.create", {"name": "never.png", "size": 3, "mime_type": "image/png"})
        kept = chatkit(base, "attachments.create", {"name": "kept.png", "size": 3, "mime_type": "image/png"})
        upload = kept["upload_descriptor"]
        post(upload["url"], b"png", {"Content-Type": "image/png", "X-User-Id": "alice"})
        abandoned_id, kept_id = abandoned["id"], kept["id"]
        check(os.path.exists(os.path.join(uploads, abandoned_id + ".json")), "the pending upload has a sidecar")
        check(records(db) == sorted([abandoned_id, kept_id]), "the store records both attachments")

        gone = wait_for(lambda: not os.path.exists(os.path.join(uploads, abandoned_id + ".json"))
                        and abandoned_id not in records(db))
        check(gone, "while the server runs, the abandoned upload disappears from disk and store")
        check(proc.poll() is None, "the server is still running")
        check(sorted(os.listdir(uploads)) == sorted([kept_id + ".bin", kept_id + ".json"]),
              f"only the uploaded attachment's files remain (got {sorted(os.listdir(uploads))})")
        check(records(db) == [kept_id], "only the uploaded attachment's record remains")
    finally:
        status = stop_server(proc)
    check(status == 0, f"the quickstart exits 0 after SIGTERM with its sweep timer running (got {status})")
    with open(stderr_path) as f:
        log = f.read()
    check("removed 1 abandoned uploads" in log, "the sweep is logged on stderr")
    check("sweep every 1 s, abandoned after 2 s" in log, "the start-up lines give the sweep settings")
    check("dictation: off" in log, "without OPENAI_* the start-up lines say dictation is off")

    # With an OpenAI-compatible base URL the OpenAI transcriber is used (nothing is contacted at start-up).
    proc, base = start(["--db", ":memory:"], stderr_path,
                       clean_env(OPENAI_BASE_URL="http://127.0.0.1:9/v1", CHATKIT_TRANSCRIBE_MODEL="whisper-1"))
    status = stop_server(proc)
    with open(stderr_path) as f:
        log = f.read()
    check("dictation: OpenAI transcription, model whisper-1 at http://127.0.0.1:9/v1" in log,
          "with OPENAI_BASE_URL the start-up lines name the OpenAI transcriber")
    check(status == 0, f"that quickstart exits 0 after SIGTERM too (got {status})")

sys.exit(check.finish())
