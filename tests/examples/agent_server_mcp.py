#!/usr/bin/env python3
"""examples/agent_server with `--mcp-url`: MCP tools called with each caller's own bearer token.

Run by tests/mcp/run.sh, which starts the official TypeScript SDK's Streamable HTTP server
(tests/mcp/mcp_peer.mjs) and passes its URL in CHATKIT_MCP_PEER:

    tests/mcp/run.sh python3 tests/examples/agent_server_mcp.py build/examples/agent_server/agent_server

The agent_server runs offline (DemoModel calls a tool the message names). Checks: --help lists
--mcp-url; two users at once each reach the MCP server with their own token and read their own
identity; `user_id` is filled from X-User-Id, not by the model; a caller without a token still gets
an answer (the MCP tools are left out of that turn); a malformed Authorization header is 401; the
sessions are deleted when the server stops. Prints `N passed, M failed`; exits non-zero on failure.
"""
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

from example_support import Checks, clean_env, start_server, stop_server, user_input

binary = sys.argv[1]
peer = os.environ.get("CHATKIT_MCP_PEER")
if not peer:
    raise SystemExit("CHATKIT_MCP_PEER is not set: run this test through tests/mcp/run.sh")
check = Checks()


def post(url: str, body: dict, headers: dict) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


def peer_log() -> list:
    with urllib.request.urlopen(peer + "/control/log", timeout=10) as response:
        return json.loads(response.read())


def chat(base: str, text: str, headers: dict) -> tuple[int, list]:
    """threads.create with `text`; the HTTP status and the stream's events."""
    status, _, body = post(base + "/chatkit", {"type": "threads.create", "params": {"input": user_input(text)}},
                           headers)
    if status != 200:
        return status, [json.loads(body)]
    return status, [json.loads(f.removeprefix("data: ")) for f in body.decode().split("\n\n") if f.startswith("data: ")]


def answer_of(events: list) -> str:
    done = [e["item"] for e in events if e.get("type") == "thread.item.done" and e["item"]["type"] == "assistant_message"]
    return " ".join(part.get("text", "") for item in done for part in item["content"])


help_run = subprocess.run([binary, "--help"], capture_output=True, text=True, env=clean_env(), timeout=30)
check(help_run.returncode == 0 and "--mcp-url" in help_run.stdout and "CHATKIT_MCP_URL" in help_run.stdout,
      "--help lists --mcp-url and its environment variable")
lone_exchange = subprocess.run([binary, "--port", "0", "--db", ":memory:", "--mcp-token-exchange", "http://127.0.0.1:9/token"],
                               capture_output=True, text=True, env=clean_env(), timeout=30)
check(lone_exchange.returncode == 2 and "--mcp-url" in lone_exchange.stderr and "listening on" not in lone_exchange.stdout,
      "--mcp-token-exchange without --mcp-url is refused at start-up (exit 2, names --mcp-url)")

urllib.request.urlopen(urllib.request.Request(peer + "/control/reset", b"{}", {"Content-Type": "application/json"}),
                       timeout=10).read()
log_file = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
proc, base = start_server([binary, "--port", "0", "--db", ":memory:", "--mcp-url", peer + "/mcp"],
                          env=clean_env(), stderr=log_file, log_path=log_file.name)
try:
    # Two users at once: each MCP call carries that user's token.
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        futures = {user: pool.submit(chat, base, "whoami, please?",
                                     {"Authorization": f"Bearer token-{user}", "X-User-Id": user})
                   for user in ("alice", "bob")}
        results = {user: f.result() for user, f in futures.items()}
    for user, (status, events) in results.items():
        answer = answer_of(events)
        check(status == 200 and f"You are {user}." in answer,
              f"{user}'s whoami call reaches the MCP server with {user}'s own token (answer {answer!r})")
        check(not any(e.get("type") == "error" for e in events), f"{user}'s stream has no error event")
        tasks = [e for e in events if e.get("type") == "thread.item.done" and e["item"]["type"] == "workflow"
                 and "whoami" in json.dumps(e["item"])]
        check(len(tasks) == 1, f"{user}'s MCP call shows as a workflow task (got {len(tasks)} workflows naming it)")
    log = peer_log()
    calls = [(e["user"], e["session"]) for e in log if e.get("event") == "tool" and e.get("tool") == "whoami"]
    check(sorted(u for u, _ in calls) == ["alice", "bob"] and len({s for _, s in calls}) == 2,
          f"the MCP server saw one whoami call per user, on two sessions (got {calls})")
    check(not any(e.get("event") == "foreign-token" for e in log), "no session was used with another user's token")

    # A bound argument: user_id comes from X-User-Id, the model never fills it.
    status, events = chat(base, "lookup my open orders", {"Authorization": "Bearer token-alice", "X-User-Id": "alice"})
    lookups = [e for e in peer_log() if e.get("event") == "tool" and e.get("tool") == "lookup_orders"]
    check(status == 200 and len(lookups) == 1 and lookups[0]["args"] == {"user_id": "alice", "status": "open"},
          f"lookup_orders got user_id from X-User-Id, status from the model (calls {lookups})")
    answer = answer_of(events)
    check("A-2" in answer and "A-1" not in answer, f"alice's open orders reach the answer ({answer!r})")

    # No token: the MCP server refuses (401), its tools are left out of the turn, the user gets an answer.
    status, events = chat(base, "whoami, please?", {"X-User-Id": "carol"})
    check(status == 200 and answer_of(events).startswith("You said:")
          and not any(e.get("type") == "error" for e in events),
          f"a caller without a token gets an answer without the MCP tools (answer {answer_of(events)!r})")

    # A malformed Authorization header is refused before anything runs.
    status, _, body = post(base + "/chatkit", {"type": "threads.create", "params": {"input": user_input("hi")}},
                           {"Authorization": "Basic YWxpY2U6cHc="})
    check(status == 401 and json.loads(body)["error"]["code"] == "unauthorized",
          f"a non-Bearer Authorization header answers 401 (got {status} {body[:120]!r})")
finally:
    exit_status = stop_server(proc)
check(exit_status == 0, f"agent_server exits 0 after SIGTERM (got {exit_status})")
deleted = {e["user"] for e in peer_log() if e.get("event") == "delete"}
check({"alice", "bob"} <= deleted, f"the MCP sessions are deleted when the server stops (deleted: {sorted(deleted)})")
log_file.seek(0)
server_log = log_file.read()
check("token-alice" not in server_log and "token-bob" not in server_log, "no token appears in the server's log")
os.unlink(log_file.name)

sys.exit(check.finish())
