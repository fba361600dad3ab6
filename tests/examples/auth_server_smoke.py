#!/usr/bin/env python3
"""auth_server end to end: issue-token creates development keys once, the server (DESIGN.md §4
conventions) answers 401 without a valid token and serves the token's user, per user.

Usage: auth_server_smoke.py PATH/TO/auth_server. Prints `N passed, M failed`; exits non-zero on failure.
"""
import json
import os
import stat
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

from example_support import Checks, stop_server, user_input

binary = sys.argv[1]
check = Checks()


def issue(keys: str, sub: str, *extra: str) -> str:
    out = subprocess.run([binary, "issue-token", "--sub", sub, "--keys-dir", keys, *extra],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise SystemExit(f"issue-token failed: {out.stderr}")
    return out.stdout.strip()


def post(url: str, body: dict, headers: dict) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


check(subprocess.run([binary, "--help"], capture_output=True, timeout=30).returncode == 0, "--help exits 0")
check(subprocess.run([binary, "--port", "0"], capture_output=True, timeout=30).returncode == 2,
      "starting without keys is a usage error")

with tempfile.TemporaryDirectory() as tmp:
    keys = os.path.join(tmp, "keys")
    alice = issue(keys, "alice")
    check(alice.count(".") == 2, "issue-token prints a compact JWT")
    jwks = os.path.join(keys, "jwks.json")
    check(os.path.exists(jwks), "issue-token writes jwks.json")
    pems = [f for f in os.listdir(keys) if f.endswith(".pem")]
    check(len(pems) == 1 and stat.S_IMODE(os.stat(os.path.join(keys, pems[0])).st_mode) == 0o600,
          "the private key is readable by its owner only")
    bob = issue(keys, "bob")
    check(len(os.listdir(keys)) == 2, "the keys are generated once")
    expired = issue(keys, "mallory", "--ttl", "-3600")

    proc = subprocess.Popen([binary, "--port", "0", "--db", os.path.join(tmp, "t.db"), "--jwks-file", jwks,
                             "--issuer", "chatkit-dev", "--audience", "chatkit", "--cookie-name", "ck"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline().strip()
        check(line.startswith("listening on http://127.0.0.1:"), "first stdout line is 'listening on ...'")
        base = line.removeprefix("listening on ")
        url = base + "/chatkit"
        with urllib.request.urlopen(base + "/healthz", timeout=10) as r:
            check(r.status == 200, "/healthz answers 200")
        status, headers, _ = post(url, {"type": "threads.list", "params": {}}, {})
        check(status == 401 and headers.get("WWW-Authenticate", "").startswith("Bearer"), "no token: 401 + WWW-Authenticate")
        status, _, _ = post(url, {"type": "threads.list", "params": {}}, {"Authorization": "Bearer " + expired})
        check(status == 401, "expired token: 401")
        status, _, body = post(url, {"type": "threads.create", "params": {"input": user_input("hi")}},
                               {"Authorization": "Bearer " + alice})
        check(status == 200 and b"Hello alice" in body, "alice's token: her own answer")
        # a cookie-borne token needs an allowed Origin on POST (CSRF defence): here the server's own
        status, _, body = post(url, {"type": "threads.list", "params": {}}, {"Cookie": "ck=" + bob, "Origin": base})
        check(status == 200 and json.loads(body)["data"] == [], "bob (cookie) sees none of alice's threads")
        status, _, body = post(url, {"type": "threads.list", "params": {}}, {"Authorization": "Bearer " + alice})
        check(status == 200 and len(json.loads(body)["data"]) == 1, "alice sees her thread")
    finally:
        code = stop_server(proc)
    check(code == 0, "SIGTERM stops the server with exit code 0")

sys.exit(check.finish())
