#!/usr/bin/env python3
"""Issue 15: the protocol-level holes a hostile client used against the quickstart stay closed.

Over real loopback HTTP against the built quickstart (SQLite file, uploads enabled):
  1. response splitting through an attachment's media type: `attachments.create` with CR/LF or a
     comma in `mime_type` is refused (400, JSON), a multipart part whose Content-Type carries a bare
     LF is refused, a valid but odd-cased type with parameters is stored and served as the canonical
     `type/subtype`, and a text/* attachment is only ever served as a download;
  2. fan-out: a message repeating one attachment id 2,000 times, or carrying more attachments than
     the limit (16), is refused with 400 and a small answer; `threads.list` never returns more than
     100 threads whatever `limit` asks for;
  3. poisoning: a request nested to exactly the request depth limit (200) is accepted, and the
     thread it creates reads back (`threads.get_by_id`, `items.list`: 200); one level deeper is 400;
  4. ids: every generated id carries at least 96 random bits (32 hex digits here) and none repeats;
  5. ambiguity: a body with a duplicate member at the top level or in `params` is 400.
Prints `N passed, M failed`; exits non-zero on failure.
"""
import json
import os
import re
import socket
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request

from example_support import Checks, clean_env, start_server, stop_server, user_input

binary = sys.argv[1]
check = Checks()
MAX_DEPTH = 200  # chatkit::max_json_depth


def start(args: list, stderr_path: str) -> tuple:
    with open(stderr_path, "w") as err:
        return start_server([binary, "--host", "127.0.0.1", "--port", "0", "--word-delay-ms", "0", *args],
                            stderr=err, env=clean_env(), log_path=stderr_path)


def request(url: str, body: bytes = None, headers: dict = None, method: str = None) -> tuple:
    """(status, headers, body bytes) for any status."""
    req = urllib.request.Request(url, body, {"X-User-Id": "alice", **(headers or {})}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def chatkit_raw(base: str, text: str) -> tuple:
    return request(base + "/chatkit", text.encode(), {"Content-Type": "application/json"})


def chatkit(base: str, type_: str, params: dict) -> tuple:
    return chatkit_raw(base, json.dumps({"type": type_, "params": params}))


def json_error(status: int, headers, body: bytes, expected: int) -> bool:
    if status != expected or not headers.get("Content-Type", "").startswith("application/json"):
        return False
    try:
        return "error" in json.loads(body) or "code" in json.loads(body)
    except ValueError:
        return False


def raw_http(base: str, data: bytes) -> bytes:
    parsed = urllib.parse.urlparse(base)
    with socket.create_connection((parsed.hostname, parsed.port), timeout=30) as s:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk


def message(text: str, attachments: list = (), content: list = None) -> dict:
    body = user_input(text)
    body["attachments"] = list(attachments)
    if content:
        body["content"] = content
    return {"input": body}


def events(body: bytes) -> list:
    return [json.loads(line[6:]) for line in body.decode().splitlines() if line.startswith("data: ")]


def nested(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels):
        value = {"a": value}
    return value


ID = re.compile(r"^[a-z]+_([0-9a-f]+)$")

with tempfile.TemporaryDirectory() as tmp:
    proc, base = start(["--db", os.path.join(tmp, "chatkit.db"), "--uploads-dir", os.path.join(tmp, "up")],
                       os.path.join(tmp, "stderr.txt"))
    try:
        # 1. Media types.
        split = "image/png;\r\nX-Injected: 1\r\nContent-Type: text/html\r\n\r\n<script>alert(1)</script>"
        for bad, what in ((split, "CR/LF"), ("image/png, text/html", "a comma"), ("image/png\x00", "a NUL"),
                          ("image/", "no subtype"), ("image/png; q", "a parameter without a value")):
            status, headers, body = chatkit(base, "attachments.create", {"name": "x.png", "size": 3, "mime_type": bad})
            check(json_error(status, headers, body, 400), f"attachments.create with {what} in mime_type -> 400 JSON "
                                                           f"(got {status} {body[:120]!r})")
        status, headers, body = chatkit(base, "attachments.create",
                                        {"name": "odd.txt", "size": 5, "mime_type": "TEXT/Plain; charset=\"utf-8\""})
        created = json.loads(body) if status == 200 else {}
        check(status == 200 and created.get("mime_type") == "text/plain",
              f"a valid odd-cased type with parameters is stored as the canonical text/plain (got {status} {body[:200]!r})")
        if created:
            upload = created["upload_descriptor"]["url"]
            status, _, _ = request(upload, b"hello", {"Content-Type": "text/plain"})
            check(status == 200, f"its bytes upload (got {status})")
            status, headers, body = request(base + "/attachments/" + created["id"])
            check(status == 200 and headers.get("Content-Type") == "text/plain",
                  f"it is served with the canonical Content-Type only (got {headers.get('Content-Type')!r})")
            check(headers.get("Content-Disposition", "").startswith("attachment"),
                  f"a text/* attachment is served as a download (got {headers.get('Content-Disposition')!r})")
            check(headers.get("X-Content-Type-Options") == "nosniff", "served with nosniff")

        # The multipart direct upload: a bare LF inside the part's Content-Type.
        boundary = "XyZzy"
        part = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n"
                f"Content-Type: image/png\nX-Injected: 1\r\n\r\npng\r\n--{boundary}--\r\n").encode()
        status, headers, body = request(base + "/attachments", part,
                                        {"Content-Type": f"multipart/form-data; boundary={boundary}"})
        check(json_error(status, headers, body, 400), f"a multipart part with a bare LF in its Content-Type -> 400 "
                                                       f"(got {status} {body[:120]!r})")
        part = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n"
                f"Content-Type: image/png;\r\n\r\npng\r\n--{boundary}--\r\n").encode()
        status, headers, body = request(base + "/attachments", part,
                                        {"Content-Type": f"multipart/form-data; boundary={boundary}"})
        uploaded = json.loads(body) if status == 200 else {}
        check(status == 200 and uploaded.get("mime_type") == "image/png",
              f"a clean multipart upload still works and is stored canonically (got {status} {body[:160]!r})")
        if uploaded:
            answer = raw_http(base, f"GET /attachments/{uploaded['id']} HTTP/1.1\r\nHost: x\r\nX-User-Id: alice\r\n"
                                    f"Connection: close\r\n\r\n".encode())
            head = answer.split(b"\r\n\r\n", 1)[0]
            check(b"X-Injected" not in head and b"\r\ncontent-type: image/png\r\n" in head.lower() + b"\r\n",
                  "the served image carries exactly one canonical Content-Type and no injected header")
            check(b"inline" in head, "a raster image may still show inline")

        # 2. Fan-out bounds.
        status, _, body = chatkit(base, "attachments.create", {"name": "p.png", "size": 3, "mime_type": "image/png"})
        one = json.loads(body)["id"] if status == 200 else "atc_missing"
        status, headers, body = chatkit(base, "threads.create", message("hi", [one] * 2000))
        check(json_error(status, headers, body, 400) and len(body) < 4096,
              f"one attachment id repeated 2,000 times -> a small 400 (got {status}, {len(body)} bytes)")
        status, headers, body = chatkit(base, "threads.create", message("hi", [one, one]))
        check(json_error(status, headers, body, 400), f"a repeated attachment id -> 400 (got {status})")
        many = [json.loads(chatkit(base, "attachments.create",
                                   {"name": f"{i}.png", "size": 3, "mime_type": "image/png"})[2])["id"]
                for i in range(17)]
        status, headers, body = chatkit(base, "threads.create", message("hi", many))
        check(json_error(status, headers, body, 400), f"17 attachments on one message (limit 16) -> 400 (got {status})")

        thread_ids = []
        for i in range(101):
            status, _, body = chatkit(base, "threads.create", message(f"thread {i}"))
            created = [e for e in events(body) if e.get("type") == "thread.created"]
            if created:
                thread_ids.append(created[0]["thread"]["id"])
        check(len(thread_ids) == 101, f"101 threads created (got {len(thread_ids)})")
        status, _, body = chatkit(base, "threads.list", {"limit": 100000})
        page = json.loads(body) if status == 200 else {}
        check(status == 200 and len(page.get("data", [])) == 100 and page.get("has_more") is True,
              f"threads.list with limit 100000 returns 100 threads and has_more (got {status}, "
              f"{len(page.get('data', []))})")

        # 3. Depth: the request limit and the stored-row limit are the same constant. The body's own
        # levels around `data`: body > params > input > content[] > tag > data.
        around = 6
        tag = {"type": "input_tag", "id": "t", "text": "deep", "data": nested(MAX_DEPTH - around), "interactive": False}
        status, _, body = chatkit(base, "threads.create", message("", content=[tag]))
        created = [e for e in events(body) if e.get("type") == "thread.created"] if status == 200 else []
        check(bool(created), f"a message nested to exactly {MAX_DEPTH} levels is accepted (got {status} {body[:160]!r})")
        if created:
            deep_id = created[0]["thread"]["id"]
            status, _, body = chatkit(base, "threads.get_by_id", {"thread_id": deep_id})
            check(status == 200, f"that thread reads back with threads.get_by_id (got {status} {body[:120]!r})")
            status, _, body = chatkit(base, "items.list", {"thread_id": deep_id})
            check(status == 200 and len(json.loads(body)["data"]) >= 1,
                  f"and with items.list (got {status} {body[:120]!r})")
        tag["data"] = nested(MAX_DEPTH - around + 1)
        status, headers, body = chatkit(base, "threads.create", message("", content=[tag]))
        check(json_error(status, headers, body, 400), f"one level deeper -> 400 (got {status})")

        # 4. Ids.
        ids = thread_ids + many + [one]
        hex_digits = [len(m.group(1)) if (m := ID.match(i)) else 0 for i in ids]
        check(min(hex_digits) * 4 >= 96, f"every generated id carries >= 96 random bits (fewest hex digits: "
                                         f"{min(hex_digits)}, e.g. {ids[0]})")
        check(len(set(ids)) == len(ids), "no generated id repeats")

        # 5. Duplicate members.
        status, headers, body = chatkit_raw(base, '{"type":"threads.list","type":"threads.delete","params":{}}')
        check(json_error(status, headers, body, 400), f"a duplicate top-level member -> 400 (got {status})")
        victim = thread_ids[0] if thread_ids else "thr_x"
        status, headers, body = chatkit_raw(
            base, '{"type":"threads.delete","params":{"thread_id":"thr_nothing","thread_id":"%s"}}' % victim)
        check(json_error(status, headers, body, 400), f"a duplicate member in params -> 400 (got {status})")
        status, _, _ = chatkit(base, "threads.get_by_id", {"thread_id": victim})
        check(status == 200, "and the thread it named is still there")
        check(proc.poll() is None, "the server is still running")
    finally:
        code = stop_server(proc)
    check(code == 0, f"the quickstart exits 0 after SIGTERM (got {code})")

sys.exit(check.finish())
