#!/usr/bin/env python3
"""auth_server security regressions (issue 15, auth part) over real loopback HTTP:

* cookie CSRF: a cookie-authenticated POST needs an allowed Origin (--allowed-origin, or the
  server's own) and a JSON body (multipart for /attachments uploads); else 403 with a JSON body.
  Header-borne bearer tokens are not affected.
* two Authorization headers (or two auth cookies) answer 400, never first-wins;
* a token carrying `aud` is refused when the server names no audience;
* the store partition is issuer + sub: "alice" of one issuer does not see "alice" of another;
* the token is checked on the header: a client without one is answered 401 at once, without the
  server waiting for (or buffering) the body it announced, on /chatkit and on /attachments.

Usage: security_auth.py PATH/TO/auth_server. Prints `N passed, M failed`; exits non-zero on failure.
"""
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

from example_support import Checks, start_server, stop_server, user_input

binary = sys.argv[1]
check = Checks()
EVIL = "https://evil.example"
APP = "https://app.example"


def issue(keys: str, sub: str, *extra: str) -> str:
    out = subprocess.run([binary, "issue-token", "--sub", sub, "--keys-dir", keys, *extra],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise SystemExit(f"issue-token failed: {out.stderr}")
    return out.stdout.strip()


def request(base: str, path: str, body: bytes, headers: list[tuple[str, str]]) -> tuple[int, bytes]:
    """POST with exactly these header fields (repeats allowed)."""
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
    try:
        conn.putrequest("POST", path)
        for name, value in headers:
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def header_only(base: str, head: str) -> tuple[bytes, float]:
    """Sends a request header announcing a large body, never the body; returns what came back
    within 5 s and how long it took."""
    u = urllib.parse.urlsplit(base)
    with socket.create_connection((u.hostname, u.port), timeout=5) as s:
        started = time.monotonic()
        s.sendall(head.encode())
        received = b""
        try:
            while b"\r\n\r\n" not in received:
                chunk = s.recv(4096)
                if not chunk:
                    break
                received += chunk
        except socket.timeout:
            pass
        return received, time.monotonic() - started


def chatkit(base: str, body: dict, headers: list[tuple[str, str]]) -> tuple[int, bytes]:
    return request(base, "/chatkit", json.dumps(body).encode(), headers)


def is_json_error(body: bytes) -> bool:
    try:
        return "error" in json.loads(body)
    except ValueError:
        return False


def multipart(name: str, mime: str, data: bytes) -> tuple[str, bytes]:
    boundary = "ckboundary7MA4YWxkTrZu0gW"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            f"Content-Type: {mime}\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return "multipart/form-data; boundary=" + boundary, body


def start(args: list[str]) -> tuple[subprocess.Popen, str]:
    return start_server([binary, "--port", "0", *args])


LIST = {"type": "threads.list", "params": {}}
JSON = ("Content-Type", "application/json")
TEXT = ("Content-Type", "text/plain")

with tempfile.TemporaryDirectory() as tmp:
    keys = os.path.join(tmp, "keys")
    alice = issue(keys, "alice")  # the dev defaults: iss chatkit-dev, aud chatkit
    jwks = os.path.join(keys, "jwks.json")

    # --- server 1: the defaults (--issuer chatkit-dev --audience chatkit), cookie mode ------------
    proc, base = start(["--db", os.path.join(tmp, "one.db"), "--jwks-file", jwks, "--cookie-name", "ck",
                        "--allowed-origin", APP, "--uploads-dir", os.path.join(tmp, "uploads")])
    try:
        cookie = ("Cookie", "ck=" + alice)
        bearer = ("Authorization", "Bearer " + alice)
        status, _ = chatkit(base, LIST, [bearer, JSON])
        check(status == 200, "default --issuer/--audience accept the dev token of issue-token")

        status, body = chatkit(base, LIST, [cookie, TEXT, ("Origin", EVIL)])
        check(status == 403 and is_json_error(body), "cookie + text/plain + foreign Origin: 403 with a JSON body")
        status, body = chatkit(base, {"type": "threads.create", "params": {"input": user_input("csrf")}},
                               [cookie, JSON, ("Origin", EVIL)])
        check(status == 403 and b"Hello" not in body, "cookie + JSON + foreign Origin: 403, nothing created")
        status, body = chatkit(base, LIST, [cookie, JSON])
        check(status == 403 and is_json_error(body), "cookie without Origin: 403")
        status, body = chatkit(base, LIST, [cookie, TEXT, ("Origin", APP)])
        check(status == 403, "cookie + allowed Origin + text/plain: 403")
        status, body = chatkit(base, LIST, [cookie, JSON, ("Origin", APP)])
        check(status == 200 and json.loads(body)["data"] == [], "cookie + --allowed-origin + JSON: 200")
        status, _ = chatkit(base, LIST, [cookie, JSON, ("Origin", base)])
        check(status == 200, "cookie + the server's own origin + JSON: 200")
        status, body = chatkit(base, LIST, [bearer, TEXT, ("Origin", EVIL)])
        check(status == 200, "Authorization header with a foreign Origin and text/plain: unaffected (200)")

        content_type, upload = multipart("note.txt", "text/plain", b"hello")
        status, body = request(base, "/attachments", upload, [cookie, ("Content-Type", content_type), ("Origin", EVIL)])
        check(status == 403 and is_json_error(body), "multipart upload with the cookie + foreign Origin: 403")
        status, body = request(base, "/attachments", upload, [cookie, ("Content-Type", content_type), ("Origin", APP)])
        check(status == 200 and json.loads(body).get("name") == "note.txt",
              "multipart upload with the cookie + allowed Origin: 200")

        for path in ("/chatkit", "/attachments"):
            answer, took = header_only(base, f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                             "Content-Length: 900000\r\n\r\n")
            check(answer.startswith(b"HTTP/1.1 401") and b"WWW-Authenticate: Bearer" in answer and took < 3,
                  f"no token, 900 kB body announced on {path}: 401 at once, the body never waited for")
        answer, _ = header_only(base, "POST /chatkit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                      f"Authorization: Bearer {alice}\r\nContent-Length: 900000\r\n\r\n")
        check(answer == b"", "with a valid token the server waits for the announced body")

        bob = issue(keys, "bob")
        status, body = chatkit(base, LIST, [("Authorization", "Bearer " + alice), ("Authorization", "Bearer " + bob), JSON])
        check(status == 400 and is_json_error(body), "two Authorization headers: 400 with a JSON body")
        status, body = chatkit(base, LIST, [("Cookie", "ck=" + alice + "; ck=" + bob), JSON, ("Origin", APP)])
        check(status == 400 and is_json_error(body), "two ck cookies: 400 with a JSON body")
    finally:
        stop_server(proc)

    # --- server 2: no issuer, no audience configured ----------------------------------------------
    other_app = issue(keys, "alice", "--audience", "other-app")
    from_a = issue(keys, "alice", "--issuer", "https://a.example", "--audience", "")
    from_b = issue(keys, "alice", "--issuer", "https://b.example", "--audience", "")
    proc, base = start(["--db", os.path.join(tmp, "two.db"), "--jwks-file", jwks, "--issuer=", "--audience="])
    try:
        status, _ = chatkit(base, LIST, [("Authorization", "Bearer " + other_app), JSON])
        check(status == 401, "a token with aud other-app and no configured audience: 401")
        status, body = chatkit(base, {"type": "threads.create", "params": {"input": user_input("secret of a")}},
                               [("Authorization", "Bearer " + from_a), JSON])
        check(status == 200 and b"Hello alice" in body, "alice of issuer a creates a thread")
        status, body = chatkit(base, LIST, [("Authorization", "Bearer " + from_b), JSON])
        check(status == 200 and json.loads(body)["data"] == [], "alice of issuer b does not see it (other tenant)")
        status, body = chatkit(base, LIST, [("Authorization", "Bearer " + from_a), JSON])
        check(status == 200 and len(json.loads(body)["data"]) == 1, "alice of issuer a still sees her thread")
    finally:
        stop_server(proc)

sys.exit(check.finish())
