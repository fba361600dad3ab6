#!/usr/bin/env python3
"""Model-provider faults against the real quickstart (issue 9): each ends in a clear `error` event
and the server stays healthy.

    provider_faults.py QUICKSTART_BINARY

An invalid model setting in the environment stops the quickstart with exit 1 and a message. Then it
starts the quickstart with OPENAI_BASE_URL pointing at a loopback fake Chat Completions server
(tests/examples/fake_llm.py) that refuses, stalls, answers 5xx or 4xx, drops the connection before
or in the middle of the answer, or sends events that are not JSON; and once at a port where nothing
listens. For each fault a `threads.add_user_message` stream must answer 200, end with exactly one
`error` event `{"code":"stream.error","allow_retry":true}` (then at most `thread.updated`, as in the
reference) with no exception text, and close its
chunked body properly; afterwards `/healthz` answers 200 and the next message on the same thread gets
a complete answer. `allow_retry` is true for every fault, as in the Python reference, whose
`respond()` exceptions all become `ErrorEvent(code=STREAM_ERROR, allow_retry=True)` (chatkit/server.py);
a 5xx that the retry succeeds is invisible to the user. Prints `N passed, M failed`; exits 1 on a failure.
"""
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from example_support import Checks, start_server, stop_server, user_input  # noqa: E402
from fake_llm import FakeLlm  # noqa: E402

binary = sys.argv[1]
check = Checks()


def start(db: str, base_url: str) -> tuple[subprocess.Popen, int]:
    env = dict(os.environ, OPENAI_BASE_URL=base_url, OPENAI_API_KEY="", CHATKIT_MODEL="fake",
               CHATKIT_MODEL_IDLE_TIMEOUT_MS="1000", CHATKIT_MODEL_CONNECT_TIMEOUT_MS="2000",
               CHATKIT_MODEL_MAX_RETRIES="2")
    env.pop("CHATKIT_OPENAI_API", None)
    # The server's warnings (one per model retry) go to a file: a pipe could fill up.
    with open(db + ".log", "w") as log:
        proc, base = start_server([binary, "--host", "127.0.0.1", "--port", "0", "--db", db], stderr=log, env=env,
                                  log_path=db + ".log", cwd=os.path.dirname(db))
    return proc, int(base.rsplit(":", 1)[1])


def post(port: int, body: dict) -> tuple[int, bytes]:
    """POSTs to /chatkit; reads the whole (chunked) body, which raises if it is cut short."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", "/chatkit", json.dumps(body), {"Content-Type": "application/json"})
        res = conn.getresponse()
        return res.status, res.read()
    finally:
        conn.close()


def events(data: bytes) -> list[dict]:
    return [json.loads(line[6:]) for frame in data.split(b"\n\n") for line in frame.split(b"\n")
            if line.startswith(b"data: ")]


def healthz(port: int) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status
    finally:
        conn.close()


def send(port: int, thread_id: str | None, text: str) -> tuple[int, list[dict], str | None, float]:
    if thread_id is None:
        body = {"type": "threads.create", "params": {"input": user_input(text)}}
    else:
        body = {"type": "threads.add_user_message", "params": {"thread_id": thread_id, "input": user_input(text)}}
    began = time.monotonic()
    try:
        status, data = post(port, body)
    except (http.client.HTTPException, OSError) as e:
        check(False, f"'{text}': the stream is a complete HTTP response ({type(e).__name__}: {e})")
        return 0, [], thread_id, time.monotonic() - began
    evs = events(data)
    for e in evs:
        if e.get("type") == "thread.created":
            thread_id = e["thread"]["id"]
    return status, evs, thread_id, time.monotonic() - began


def answer_text(evs: list[dict]) -> str:
    done = [e["item"] for e in evs if e.get("type") == "thread.item.done" and e["item"]["type"] == "assistant_message"]
    return "".join(p.get("text", "") for item in done for p in item.get("content", []))


def ends_with_error(evs: list[dict]) -> bool:
    """One error event, followed at most by thread.updated (a title set before the failure is saved
    after it, as in the reference)."""
    kinds = [e.get("type") for e in evs]
    if kinds.count("error") != 1:
        return False
    return all(k == "thread.updated" for k in kinds[kinds.index("error") + 1:])


def expect_fault(port: int, thread_id: str, name: str) -> None:
    status, evs, _, took = send(port, thread_id, f"fault {name}")
    errors = [e for e in evs if e.get("type") == "error"]
    check(status == 200, f"{name}: the stream answers 200 (got {status})")
    check(ends_with_error(evs), f"{name}: the stream ends with one error event ({[e.get('type') for e in evs][-4:]})")
    if errors:
        err = errors[0]
        check(err.get("code") == "stream.error" and err.get("allow_retry") is True,
              f"{name}: the error is stream.error with allow_retry true ({err})")
        check(set(err) <= {"type", "code", "message", "allow_retry"} and not err.get("message"),
              f"{name}: the error event carries no exception text ({err})")
    check(healthz(port) == 200, f"{name}: /healthz answers 200 afterwards")
    status, evs, _, _ = send(port, thread_id, f"after {name}")
    check(status == 200 and not [e for e in evs if e.get("type") == "error"] and "after" in answer_text(evs),
          f"{name}: the next message on the thread gets a complete answer ({answer_text(evs)!r})")
    print(f"    ({name}: the failed stream took {took:.1f} s)", flush=True)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        # 0. A misconfigured provider is a clear startup error, not a crash.
        env = dict(os.environ, OPENAI_BASE_URL="http://127.0.0.1:9/v1", CHATKIT_MODEL_IDLE_TIMEOUT_MS="soon")
        bad = subprocess.run([binary, "--host", "127.0.0.1", "--port", "0", "--db", ":memory:"], env=env,
                             capture_output=True, text=True, timeout=30, cwd=tmp)
        check(bad.returncode == 1 and "CHATKIT_MODEL_IDLE_TIMEOUT_MS" in bad.stderr and "terminate" not in bad.stderr,
              f"an invalid CHATKIT_MODEL_IDLE_TIMEOUT_MS stops the quickstart with a message "
              f"(exit {bad.returncode}: {bad.stderr.strip()[-200:]!r})")

        # 1. Nothing listens at the provider's address: connection refused on every attempt.
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            dead_port = probe.getsockname()[1]
        proc, port = start(os.path.join(tmp, "refused.db"), f"http://127.0.0.1:{dead_port}/v1")
        try:
            status, evs, thread_id, _ = send(port, None, "hello")
            errors = [e for e in evs if e.get("type") == "error"]
            check(status == 200 and ends_with_error(evs),
                  f"refused: the stream ends with one error event ({[e.get('type') for e in evs][-4:]})")
            check(bool(errors) and errors[0].get("code") == "stream.error" and errors[0].get("allow_retry") is True,
                  f"refused: the error is stream.error with allow_retry true ({errors})")
            check(healthz(port) == 200, "refused: /healthz answers 200 afterwards")
            status, data = post(port, {"type": "items.list", "params": {"thread_id": thread_id or "", "limit": 50}})
            kinds = [i["type"] for i in json.loads(data)["data"]] if status == 200 else []
            check(kinds == ["user_message"], f"refused: the thread keeps the user message once ({status}, {kinds})")
        finally:
            check(stop_server(proc, timeout=30) == 0, "refused: the server exits 0 after SIGTERM")

        # 2. A provider that misbehaves in each way in turn, on one thread of one server.
        llm = FakeLlm(word_delay=0.002, words=8)
        llm.stall_seconds = 20.0
        proc, port = start(os.path.join(tmp, "faults.db"), llm.base_url)
        try:
            status, evs, thread_id, _ = send(port, None, "hello")
            check(status == 200 and answer_text(evs).startswith("You said: hello"),
                  f"a healthy provider answers through the quickstart ({answer_text(evs)!r})")
            # Faults before any output are retried (CHATKIT_MODEL_MAX_RETRIES=2: three attempts), so
            # each is scripted three times; faults after output are not retried.
            cases = [("http_500", 3), ("http_400", 1), ("drop", 3), ("stall", 3), ("drop_mid", 1),
                     ("stall_mid", 1), ("garbage", 1)]
            for name, attempts in cases:
                before = llm.requests()
                llm.script(*([name] * attempts))
                expect_fault(port, thread_id, name)
                check(llm.requests() - before == attempts + 1,
                      f"{name}: the provider saw {attempts} attempt(s) and the next message "
                      f"({llm.requests() - before} requests)")

            # A 5xx that a retry gets past is invisible: a complete answer, no error event.
            llm.script("http_500", "ok")
            status, evs, _, _ = send(port, thread_id, "retried")
            check(status == 200 and not [e for e in evs if e.get("type") == "error"] and "retried" in answer_text(evs),
                  "a 500 followed by a good answer is retried transparently")

            status, data = post(port, {"type": "items.list", "params": {"thread_id": thread_id, "limit": 100}})
            items = json.loads(data)["data"] if status == 200 else []
            ids = [i["id"] for i in items]
            users = [i for i in items if i["type"] == "user_message"]
            check(len(ids) == len(set(ids)), "no item is stored twice")
            check(len(users) == 2 + 2 * len(cases),
                  f"every user message is stored once ({len(users)} of {2 + 2 * len(cases)})")
        finally:
            check(stop_server(proc, timeout=30) == 0, "faults: the server exits 0 after SIGTERM")
            llm.close()

    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
