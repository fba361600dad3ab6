#!/usr/bin/env python3
"""A reply running on one quickstart instance is followed, stopped and recovered through another (issue 18).

Starts quickstarts A and B on one PostgreSQL database (a throwaway cluster: the ctest fixture's, named
by CHATKIT_TEST_POSTGRES, or one this script starts and removes), both with `--on-disconnect continue`
and a 2 s run lease. A long reply starts on A and its client leaves after 3 deltas; a new message sent
to B meanwhile is refused with 409 (one run per thread across instances); `GET /chatkit/runs/{id}?after=N`
on B then gives exactly the events after N, in order, live, to the end (the same bytes A's own log
replays), two resumers at once included; the stored reply is whole; another user gets 404. A stop sent
to B ends a reply running on A with its partial text saved. Then A is killed with SIGKILL mid-reply: a
resume on B replays what A had logged, then ends with an `error` event once A's lease lapsed (the run is
marked failed, not left running), and B answers the next message of the thread. Prints `N passed, M
failed`; exits non-zero on failure, 77 when CHATKIT_SKIP_POSTGRES=1.

    quickstart_runs_instances.py QUICKSTART_BINARY
"""
import concurrent.futures
import http.client
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request

from example_support import (Checks, PostgresCluster, clean_env, finish_servers, skip_without_postgres, start_server,
                             user_input)

skip_without_postgres("a run followed across two quickstarts on one PostgreSQL database")
binary = sys.argv[1]
check = Checks()
LONG = "please answer " + " ".join(f"word{n}" for n in range(40))  # echoed word by word: 42 deltas


def post(base: str, body: dict, user: str, path: str = "/chatkit") -> tuple[int, bytes]:
    request = urllib.request.Request(base + path, json.dumps(body).encode(),
                                     {"Content-Type": "application/json", "X-User-Id": user})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class Stream:
    """One SSE response read frame by frame."""

    def __init__(self, base: str, method: str, path: str, user: str, body: dict = None) -> None:
        host, port = base.removeprefix("http://").rsplit(":", 1)
        self.connection = http.client.HTTPConnection(host, int(port), timeout=30)
        headers = {"X-User-Id": user}
        if body is not None:
            headers["Content-Type"] = "application/json"
        self.connection.request(method, path, json.dumps(body) if body is not None else None, headers)
        self.response = self.connection.getresponse()
        self.status = self.response.status
        self.frames: list[bytes] = []

    def next(self):
        """The next frame (b"data: ...\\n\\n"), or None at the end of the stream."""
        frame = b""
        while True:
            line = self.response.readline()  # chunked transfer decoded
            if not line:
                return None
            frame += line
            if line == b"\n":
                if frame.startswith(b"data: "):
                    self.frames.append(frame)
                    return frame
                frame = b""

    def rest(self) -> list:
        while self.next() is not None:
            pass
        return self.frames

    def close(self) -> None:
        self.connection.close()


def event(frame: bytes) -> dict:
    return json.loads(frame[len(b"data: "):])


def start_long(base: str, thread: str, deltas: int) -> Stream:
    """A long reply on `base`, read until `deltas` text deltas arrived."""
    stream = Stream(base, "POST", "/chatkit", "alice",
                    {"type": "threads.add_user_message", "params": {"thread_id": thread, "input": user_input(LONG)}})
    seen = 0
    while seen < deltas:
        frame = stream.next()
        if frame is None:
            break
        if event(frame)["type"] == "thread.item.updated":
            seen += 1
    return stream


def newest_assistant_text(base: str, thread: str) -> str:
    status, body = post(base, {"type": "items.list", "params": {"thread_id": thread, "order": "desc", "limit": 20}},
                        "alice")
    for item in json.loads(body).get("data", []) if status == 200 else []:
        if item["type"] == "assistant_message":
            return "".join(part.get("text", "") for part in item["content"])
    return ""


cluster = PostgresCluster()
url = cluster.url(schema=f"runs_{os.getpid()}", application_name="quickstart-runs-instances")
log_path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"quickstart-runs-instances-{os.getpid()}.log")
procs = []
try:
    with open(log_path, "w") as log:
        common = ["--host", "127.0.0.1", "--port", "0", "--db", url, "--threads", "2", "--uploads-dir", "",
                  "--on-disconnect", "continue", "--run-lease-s", "2", "--word-delay-ms", "60"]
        proc_a, a = start_server([binary, *common], stderr=log, env=clean_env(), log_path=log_path)
        procs.append(proc_a)
        proc_b, b = start_server([binary, *common], stderr=log, env=clean_env(), log_path=log_path)
        procs.append(proc_b)

        status, body = post(a, {"type": "threads.create", "params": {"input": user_input("hi")}}, "alice")
        check(status == 200, "alice creates a thread on A")
        thread = event(body.split(b"\n\n")[0] + b"\n\n")["thread"]["id"]

        # 1. The client of a long reply on A leaves after 3 deltas; B refuses a second run of the thread.
        first = start_long(a, thread, 3)
        check(first.status == 200, "A streams the long reply")
        have = len(first.frames)
        first.close()
        status, body = post(b, {"type": "threads.add_user_message",
                                "params": {"thread_id": thread, "input": user_input("me too")}}, "alice")
        check(status == 409 and json.loads(body)["error"]["code"] == "conflict",
              f"B answers 409 conflict to a message while the thread's reply runs on A ({status})")

        # 2. Two resumers on B follow A's run from where the client left, live, to the end.
        def resume(n: int) -> tuple[int, list]:
            stream = Stream(b, "GET", f"/chatkit/runs/{thread}?after={n}", "alice")
            frames = stream.rest() if stream.status == 200 else []
            stream.close()
            return stream.status, frames

        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            tails = list(pool.map(resume, [have, have]))
        check(all(s == 200 for s, _ in tails), f"both resumes on B answer 200 ({[s for s, _ in tails]})")
        check(tails[0][1] == tails[1][1] and len(tails[0][1]) > 40, f"both resumers get the same {len(tails[0][1])} events")
        whole = first.frames + tails[0][1]
        status, frames = 0, []
        stream = Stream(a, "GET", f"/chatkit/runs/{thread}?after=0", "alice")
        replay = stream.rest()
        stream.close()
        check(whole == replay, f"the events before and after the resume are A's whole run, no gap, no duplicate "
                               f"({len(whole)} vs {len(replay)})")
        check(event(whole[-1])["type"] == "thread.item.done", "the resumed stream ends with the reply's item.done")
        check(newest_assistant_text(b, thread) == "You said: " + LONG, "the stored reply is whole")
        status, frames = resume(have)
        check(status == 200 and frames == tails[0][1], "a resume after the end, inside retention, gives the tail again")
        stream = Stream(b, "GET", f"/chatkit/runs/{thread}?after=0", "mallory")
        check(stream.status == 404, f"another user's resume is 404 ({stream.status})")
        stream.close()

        # 3. A stop sent to B ends the reply running on A, its partial text saved.
        running = start_long(a, thread, 2)
        status, body = post(b, {}, "alice", f"/chatkit/runs/{thread}/cancel")
        check(status == 200 and json.loads(body) == {"cancelled": True}, f"B stops A's run ({status} {body[:80]!r})")
        rest = running.rest()
        running.close()
        check(not any(event(f)["type"] == "thread.item.done" and event(f)["item"]["type"] == "assistant_message"
                      for f in rest), "A's stream ends without completing the reply")
        partial = newest_assistant_text(b, thread)
        check(partial.startswith("You said:") and len(partial) < len("You said: " + LONG),
              f"the partial reply is saved ({partial[:40]!r}...)")
        status, body = post(b, {}, "alice", f"/chatkit/runs/{thread}/cancel")
        check(status == 200 and json.loads(body) == {"cancelled": False}, "a second stop finds nothing running")

        # 4. A dies mid-reply: B replays what A logged, then an error event once the lease lapsed.
        dying = start_long(a, thread, 3)
        time.sleep(0.3)  # A shares its events within 25 ms
        proc_a.send_signal(signal.SIGKILL)
        proc_a.wait(timeout=20)
        dying.close()
        started = time.monotonic()
        status, frames = resume(0)
        waited = time.monotonic() - started
        types = [event(f)["type"] for f in frames]
        check(status == 200 and "stream_options" in types[:2] and types.count("thread.item.updated") >= 3,
              f"a resume on B replays what A logged from the run's first event ({types[:6]}...)")
        check(types[-1:] == ["error"] and event(frames[-1]).get("allow_retry") is True,
              f"and ends with an error event once A's lease lapsed ({types[-3:]}, after {waited:.1f} s)")
        check(waited < 10, f"the dead run ended within the lease and a poll ({waited:.1f} s)")
        status, body = post(b, {"type": "threads.add_user_message",
                                "params": {"thread_id": thread, "input": user_input("still there?")}}, "alice")
        check(status == 200 and event(body.split(b"\n\n")[-2] + b"\n\n")["type"] == "thread.item.done",
              f"B answers the thread's next message ({status})")
        check(newest_assistant_text(b, thread) == "You said: still there?", "B's answer is stored")
finally:
    finish_servers(check, procs, log_path, cluster, "a surviving quickstart")

sys.exit(check.finish())
