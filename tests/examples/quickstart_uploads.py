#!/usr/bin/env python3
"""The quickstart's embedded default turns attachments on (issue 16): the playground offers the paper clip.

Started without --db and --uploads-dir in an empty directory, the quickstart keeps its threads in
./chatkit.db and attachment bytes in ./uploads (created when missing): a two-phase upload works and
its bytes land there, and the start-up lines say where. An explicit empty --uploads-dir turns
attachments off: attachments.create is refused (no attachment store) and no ./uploads appears.
Prints `N passed, M failed`; exits non-zero on failure.
"""
import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

from example_support import Checks, clean_env, start_server, stop_server

binary = sys.argv[1]
check = Checks()


def post(url: str, body: bytes, headers: dict) -> tuple[int, bytes]:
    request = urllib.request.Request(url, body, headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def create_attachment(base: str) -> tuple[int, dict]:
    body = {"type": "attachments.create", "params": {"name": "cat.png", "size": 3, "mime_type": "image/png"}}
    status, answer = post(base + "/chatkit", json.dumps(body).encode(), {"Content-Type": "application/json"})
    return status, json.loads(answer)


help_text = subprocess.run([binary, "--help"], capture_output=True, text=True, env=clean_env()).stdout
check("--uploads-dir" in help_text and "(default ./uploads)" in help_text,
      "--help gives ./uploads as the default of --uploads-dir")

with tempfile.TemporaryDirectory() as cwd:
    log_path = os.path.join(cwd, "stderr.txt")
    with open(log_path, "w") as log:
        proc, base = start_server([binary, "--port", "0", "--word-delay-ms", "0"], stderr=log, env=clean_env(),
                                  log_path=log_path, cwd=cwd)
    try:
        uploads = os.path.join(cwd, "uploads")
        check(os.path.isdir(uploads), "./uploads is created at start-up")
        check(os.path.isfile(os.path.join(cwd, "chatkit.db")), "./chatkit.db is next to it")
        status, attachment = create_attachment(base)
        check(status == 200 and "upload_descriptor" in attachment, f"attachments.create works (status {status})")
        if status == 200:
            url = attachment["upload_descriptor"]["url"]
            check(url.startswith(base + "/attachments/"), f"the upload URL is on the bound port ({url})")
            status, _ = post(url, b"png", {"Content-Type": "image/png"})
            check(status == 200, f"the upload is accepted (status {status})")
            check(os.path.isfile(os.path.join(uploads, attachment["id"] + ".bin")), "its bytes are in ./uploads")
    finally:
        status = stop_server(proc)
    check(status == 0, f"the quickstart exits 0 after SIGTERM (got {status})")
    with open(log_path) as f:
        log = f.read()
    check("attachments: ./uploads" in log, "the start-up lines say where uploads go")

with tempfile.TemporaryDirectory() as cwd:
    log_path = os.path.join(cwd, "stderr.txt")
    with open(log_path, "w") as log:
        proc, base = start_server([binary, "--port", "0", "--db", ":memory:", "--uploads-dir="], stderr=log,
                                  env=clean_env(), log_path=log_path, cwd=cwd)
    try:
        status, answer = create_attachment(base)
        check(status == 500 and "error" in answer and "upload_descriptor" not in answer,
              f"with --uploads-dir= attachments.create is refused, no attachment store (status {status}, {answer})")
        check(not os.path.exists(os.path.join(cwd, "uploads")), "and no ./uploads is created")
    finally:
        status = stop_server(proc)
    check(status == 0, f"that quickstart exits 0 after SIGTERM too (got {status})")
    with open(log_path) as f:
        check("attachments: off" in f.read(), "the start-up lines say attachments are off")

sys.exit(check.finish())
