#!/usr/bin/env python3
"""Bounded loopback soak of the quickstart (label `soak`): many concurrent clients on a real SQLite file,
with a model provider that fails now and then.

    soak.py QUICKSTART_BINARY [--seconds N] [--clients N] [--fault-rate F] [--report FILE]

Starts a fake OpenAI-compatible model server (tests/examples/fake_llm.py: it streams a dozen words and,
for a share `--fault-rate` of its requests, answers 500, stalls, drops the connection before or in the
middle of the answer, or sends events that are not JSON), then QUICKSTART_BINARY (any server keeping
DESIGN.md §4 and `--db`, reading OPENAI_BASE_URL) on a fresh database with 4 I/O threads. It warms the
server up, records its open file descriptors and RSS, and runs concurrent clients in two equal rounds
of half the given time each. Each client loops over one kind of behaviour:

  complete    threads.create, then threads.add_user_message on the same thread, reading every stream
              to its end (a stream the model fault ends with an `error` event counts as failed);
  disconnect  threads.create, then closes the socket (half of the time with a TCP reset) as soon as
              the first text delta of the answer arrives;
  malformed   invalid JSON, an unknown request type, a non-HTTP line, a GET, a wrong user id: each must
              get a 4xx answer (or a close), never a 5xx;
  oversize    a 2 MiB Content-Length (413) and a 16 KiB header (431);
  slow        a complete request sent a few bytes at a time.

Afterwards, with every client gone:
  * descriptors: the server's count returns to the post-warm-up baseline (within 15 s);
  * memory: after each round and a settle period, RSS is within 64 MiB of the post-warm-up baseline,
    and the second round (the same load again) grew it by at most max(8 MiB, 10 %) over the first —
    allocator arenas and SQLite's page cache grow once, a leak grows with every round;
  * errors: every `error` event is `stream.error` with `allow_retry: true` and there are no more of
    them than model faults injected;
  * the store, read through the protocol (threads.list) and then directly from the SQLite file once
    the server has stopped: every completed answer and every user message once, each cancelled
    answer's partial assistant message followed by the hidden cancellation note, no duplicate item,
    and `PRAGMA integrity_check` ok.

Prints a report (requests by kind, faults injected, items checked, memory and descriptors before and
after; `--report FILE` also writes it there) and `N passed, M failed`; exits 1 on a failure.
CHATKIT_SOAK_SECONDS, CHATKIT_SOAK_CLIENTS and CHATKIT_SOAK_FAULT_RATE set the defaults.
"""
import argparse
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))
from fake_llm import END, FakeLlm  # noqa: E402

CHECKS = {"passed": 0, "failed": 0}
LOCK = threading.Lock()


def check(condition: bool, what: str) -> None:
    with LOCK:
        CHECKS["passed" if condition else "failed"] += 1
    print(("PASS " if condition else "FAIL ") + what, flush=True)


def user_input(text: str) -> dict:
    return {"content": [{"type": "input_text", "text": text}], "attachments": [], "inference_options": {}}


def http_request(body: bytes, user: str, extra: str = "") -> bytes:
    head = (f"POST /chatkit HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"X-User-Id: {user}\r\nContent-Length: {len(body)}\r\n{extra}\r\n")
    return head.encode() + body


class Response:
    """One HTTP/1.1 response read from a socket (Content-Length or chunked body)."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = b""
        self.status = 0
        self.headers: dict[str, str] = {}

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        if not data:
            return False
        self.buf += data
        return True

    def read_head(self) -> None:
        while b"\r\n\r\n" not in self.buf:
            if not self._fill():
                raise ConnectionError("closed before the response header")
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split(" ")[1])
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()

    def chunks(self):
        """Yields the body in pieces as they arrive (chunked or Content-Length)."""
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                while b"\r\n" not in self.buf:
                    if not self._fill():
                        raise ConnectionError("closed inside a chunk header")
                size_line, self.buf = self.buf.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                while len(self.buf) < size + 2:
                    if not self._fill():
                        raise ConnectionError("closed inside a chunk")
                data, self.buf = self.buf[:size], self.buf[size + 2:]
                if size == 0:
                    return
                yield data
        else:
            length = int(self.headers.get("content-length", "0"))
            while len(self.buf) < length:
                if not self._fill():
                    raise ConnectionError("closed inside the body")
            data, self.buf = self.buf[:length], self.buf[length:]
            yield data


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def call_json(port: int, user: str, body: dict) -> tuple[int, object]:
    with connect(port) as sock:
        sock.sendall(http_request(json.dumps(body).encode(), user, "Connection: close\r\n"))
        res = Response(sock)
        res.read_head()
        data = b"".join(res.chunks())
        return res.status, json.loads(data) if data else None


def events_of(data: bytes, pending: bytearray):
    """Splits SSE bytes into events; keeps an incomplete tail in `pending`."""
    pending += data
    while b"\n\n" in pending:
        frame, _, rest = bytes(pending).partition(b"\n\n")
        pending[:] = rest
        for line in frame.split(b"\n"):
            if line.startswith(b"data: "):
                yield json.loads(line[6:])


class Ledger:
    """What the clients saw, to compare with the store afterwards."""

    def __init__(self):
        self.lock = threading.Lock()
        self.user_messages: dict[str, list[str]] = {}   # thread id -> user message ids
        self.completed: dict[str, list[str]] = {}       # thread id -> assistant item ids (done)
        self.cancelled: dict[str, str] = {}             # thread id -> text streamed before leaving
        self.owner: dict[str, str] = {}                 # thread id -> user
        self.errors: list[str] = []
        self.requests: dict[str, int] = {}              # request kind -> count
        self.error_events = 0                           # `error` events (model faults)
        self.bad_error_events: list[dict] = []          # error events that are not stream.error/allow_retry

    def count(self, kind: str) -> None:
        with self.lock:
            self.requests[kind] = self.requests.get(kind, 0) + 1

    def error(self, what: str) -> None:
        with self.lock:
            if len(self.errors) < 20:
                self.errors.append(what)


def stream(port: int, user: str, body: dict, ledger: Ledger, leave_after_delta: bool) -> str | None:
    """Runs one streaming request; returns the thread id. Records what it saw in the ledger."""
    sock = connect(port)
    try:
        sock.sendall(http_request(json.dumps(body).encode(), user))
        res = Response(sock)
        res.read_head()
        if res.status != 200:
            ledger.error(f"stream answered {res.status}")
            return None
        thread_id = body["params"].get("thread_id")
        user_ids, done_ids, text, pending = [], [], "", bytearray()
        for piece in res.chunks():
            for event in events_of(piece, pending):
                kind = event.get("type")
                if kind == "thread.created":
                    thread_id = event["thread"]["id"]
                elif kind == "thread.item.done":
                    item = event["item"]
                    (user_ids if item["type"] == "user_message" else done_ids).append(item["id"])
                elif kind == "thread.item.updated":
                    update = event["update"]
                    if update.get("type") == "assistant_message.content_part.text_delta":
                        text += update["delta"]
                        if leave_after_delta and thread_id:
                            with ledger.lock:
                                ledger.owner[thread_id] = user
                                ledger.user_messages.setdefault(thread_id, []).extend(user_ids)
                                ledger.cancelled[thread_id] = text
                            if random.random() < 0.5:  # a TCP reset instead of a FIN
                                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
                            return thread_id
                elif kind == "error":
                    with ledger.lock:
                        ledger.error_events += 1
                        if event.get("code") != "stream.error" or event.get("allow_retry") is not True:
                            ledger.bad_error_events.append(event)
        with ledger.lock:
            if thread_id:
                ledger.owner[thread_id] = user
                ledger.user_messages.setdefault(thread_id, []).extend(user_ids)
                ledger.completed.setdefault(thread_id, []).extend(i for i in done_ids)
        return thread_id
    finally:
        sock.close()


def client_complete(port, user, ledger, stop):
    while not stop.is_set():
        ledger.count("complete: threads.create")
        thread_id = stream(port, user, {"type": "threads.create",
                                        "params": {"input": user_input("soak: tell me something")}}, ledger, False)
        if thread_id and not stop.is_set():
            ledger.count("complete: threads.add_user_message")
            stream(port, user, {"type": "threads.add_user_message",
                                "params": {"thread_id": thread_id, "input": user_input("and more")}}, ledger, False)


def client_disconnect(port, user, ledger, stop):
    while not stop.is_set():
        ledger.count("disconnect mid-stream")
        stream(port, user, {"type": "threads.create",
                            "params": {"input": user_input("soak: a long answer please " * 10)}}, ledger, True)


MALFORMED = [
    b"{not json",
    b'{"type":"threads.rename","params":{}}',
    b'{"type":"threads.get_by_id","params":{"thread_id":5}}',
    b"[" * 100000,
]


def client_malformed(port, user, ledger, stop):
    while not stop.is_set():
        choice = random.randrange(len(MALFORMED) + 3)
        ledger.count("malformed")
        with connect(port) as sock:
            if choice < len(MALFORMED):
                sock.sendall(http_request(MALFORMED[choice], user, "Connection: close\r\n"))
            elif choice == len(MALFORMED):
                sock.sendall(b"HELLO THERE\r\n\r\n")
            elif choice == len(MALFORMED) + 1:
                sock.sendall(b"GET /chatkit HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            else:
                sock.sendall(http_request(b'{"type":"threads.list","params":{}}', "bad user!", "Connection: close\r\n"))
            res = Response(sock)
            try:
                res.read_head()
            except (ConnectionError, OSError):
                continue  # a close is an acceptable answer to garbage
            if not 400 <= res.status < 500:
                ledger.error(f"malformed request {choice} answered {res.status}")


def client_oversize(port, user, ledger, stop):
    while not stop.is_set():
        with connect(port) as sock:
            ledger.count("oversize")
            if random.random() < 0.5:
                head = (f"POST /chatkit HTTP/1.1\r\nHost: x\r\nX-User-Id: {user}\r\n"
                        f"Content-Length: {2 * 1024 * 1024}\r\n\r\n").encode()
                want = 413
            else:
                head = b"POST /chatkit HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 16384 + b"\r\n\r\n"
                want = 431
            try:
                sock.sendall(head + b"x" * 65536)
                res = Response(sock)
                res.read_head()
                if res.status != want:
                    ledger.error(f"oversize request answered {res.status}, not {want}")
            except (ConnectionError, OSError):
                pass  # the server may close before reading everything we send


def client_slow(port, user, ledger, stop):
    while not stop.is_set():
        body = json.dumps({"type": "threads.list", "params": {"limit": 5}}).encode()
        data = http_request(body, user, "Connection: close\r\n")
        ledger.count("slow")
        with connect(port) as sock:
            for i in range(0, len(data), 16):
                sock.sendall(data[i:i + 16])
                time.sleep(0.02)
            res = Response(sock)
            res.read_head()
            b"".join(res.chunks())
            if res.status != 200:
                ledger.error(f"slow request answered {res.status}")


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def fd_table(pid: int) -> dict:
    """fd -> what it is: a path, or for a TCP socket `tcp local->remote state` (from /proc/net/tcp*)."""
    sockets = {}
    states = {"01": "ESTABLISHED", "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT", "0A": "LISTEN",
              "04": "FIN_WAIT1", "05": "FIN_WAIT2", "09": "LAST_ACK", "0B": "CLOSING"}
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as f:
                next(f)
                for line in f:
                    cols = line.split()
                    local, remote, state, inode = cols[1], cols[2], cols[3], cols[9]
                    port = lambda a: int(a.split(":")[1], 16)  # noqa: E731
                    sockets[inode] = f"tcp :{port(local)}->:{port(remote)} {states.get(state, state)}"
        except OSError:
            pass
    out = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            target = sockets.get(target[8:-1], target)
        out[int(fd)] = target
    return out


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def settle(pid: int, baseline: int, timeout: float = 15.0) -> int:
    """Waits for the descriptor count to come back to `baseline`; returns the last count."""
    deadline = time.monotonic() + timeout
    count = fd_count(pid)
    while count > baseline and time.monotonic() < deadline:
        time.sleep(0.2)
        count = fd_count(pid)
    return count


def run_round(port: int, plan, ledger: Ledger, seconds: float) -> bool:
    """Runs every client of `plan` for `seconds`; true when all of them stopped within 60 s after."""
    stop = threading.Event()
    workers = []

    def run(kind, n):
        try:
            kind(port, f"user-{n % 6}", ledger, stop)
        except Exception as e:  # noqa: BLE001 - any client failure is a finding
            ledger.error(f"{kind.__name__} client {n}: {type(e).__name__}: {e}")

    for n, kind in enumerate(plan):
        t = threading.Thread(target=run, args=(kind, n), daemon=True)
        t.start()
        workers.append(t)
    time.sleep(seconds)
    stop.set()
    for t in workers:
        t.join(timeout=60)
    return not any(t.is_alive() for t in workers)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("binary")
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("CHATKIT_SOAK_SECONDS", "40")),
                        help="load time, split into two equal rounds (default 40)")
    parser.add_argument("--clients", type=int, default=int(os.environ.get("CHATKIT_SOAK_CLIENTS", "24")))
    parser.add_argument("--fault-rate", type=float, default=float(os.environ.get("CHATKIT_SOAK_FAULT_RATE", "0.05")),
                        help="share of model calls the fake provider fails (default 0.05)")
    parser.add_argument("--report", help="also write the report to this file")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    random.seed(args.seed)
    started = time.monotonic()
    report: list[str] = []

    llm = FakeLlm(word_delay=0.005, words=12, seed=args.seed)
    llm.stall_seconds = 10.0
    env = dict(os.environ, OPENAI_BASE_URL=llm.base_url, OPENAI_API_KEY="", CHATKIT_MODEL="fake",
               CHATKIT_MODEL_IDLE_TIMEOUT_MS="1000", CHATKIT_MODEL_MAX_RETRIES="2")
    env.pop("CHATKIT_OPENAI_API", None)
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "soak.db")
        # --on-disconnect cancel: the `disconnect` clients check the cancel semantics of a disconnect
        # (partial reply, then the hidden note); the quickstart's default lets replies run on.
        # --run-retention-s 1: finished replies' events are kept in memory for resumes (10 minutes by
        # default, bounded by RunOptions::max_log_bytes, 64 MiB), which the rounds' RSS comparison
        # would count as growth; with 1 s they are dropped as the next round starts, and what grows
        # round after round is a leak again.
        proc = subprocess.Popen([args.binary, "--host", "127.0.0.1", "--port", "0", "--db", db, "--threads", "4",
                                 "--static-dir", tmp, "--on-disconnect", "cancel", "--run-retention-s", "1"],
                                env=env, cwd=tmp,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = proc.stdout.readline().strip()
        if not line.startswith("listening on http://"):
            proc.kill()
            print(f"FAIL unexpected first line {line!r}")
            return 1
        port = int(line.rsplit(":", 1)[1])
        ledger = Ledger()
        try:
            # Warm-up: every code path once, so lazily opened files and grown pools count in the baseline.
            for n in range(3):
                for kind in (client_complete, client_disconnect):
                    stream(port, "warmup", {"type": "threads.create", "params": {"input": user_input("warm up")}},
                           ledger, kind is client_disconnect)
            time.sleep(1.0)
            fd_base = fd_count(proc.pid)
            fds_before = fd_table(proc.pid)
            rss_base = rss_kib(proc.pid)
            llm.fault_rate = args.fault_rate  # the warm-up ran without faults

            kinds = [client_complete, client_disconnect, client_malformed, client_oversize, client_slow]
            weights = [8, 6, 4, 2, 2]
            plan = [kinds[i % len(kinds)] for i in range(len(kinds))]
            while len(plan) < args.clients:
                plan.append(random.choices(kinds, weights)[0])

            rss_rounds, fd_rounds = [], []
            for round_no in (1, 2):
                finished = run_round(port, plan, ledger, args.seconds / 2)
                check(finished, f"round {round_no}: every client finished within 60 s of the stop")
                time.sleep(2.0)  # cancelled streams finish saving, stalled model calls time out
                fd_rounds.append(settle(proc.pid, fd_base))
                if fd_rounds[-1] > fd_base:  # name what stayed open, for the report
                    extra = {fd: what for fd, what in fd_table(proc.pid).items() if fds_before.get(fd) != what}
                    print(f"round {round_no}: descriptors still open beyond the baseline: {extra}")
                time.sleep(1.0)
                rss_rounds.append(rss_kib(proc.pid))
            check(proc.poll() is None, "the server is still running after the soak")
            check(not ledger.errors, f"no client saw a wrong answer ({ledger.errors[:5]})")
            completed = sum(len(v) for v in ledger.completed.values())
            print(f"soak: {len(ledger.owner)} threads, {completed} completed answers, "
                  f"{len(ledger.cancelled)} cancelled streams, {ledger.error_events} error events")
            check(completed > 0 and len(ledger.cancelled) > 0, "the soak completed and cancelled streams")
            faults = llm.faults()
            injected = sum(faults.values())
            check(not ledger.bad_error_events,
                  f"every error event is stream.error with allow_retry true ({ledger.bad_error_events[:3]})")
            check(ledger.error_events <= injected,
                  f"no more error events ({ledger.error_events}) than model faults injected ({injected})")

            fd_after = fd_rounds[-1]
            check(max(fd_rounds) <= fd_base, f"descriptors back to the baseline ({fd_base} before, {fd_rounds} after each round)")
            rss_limit = rss_base + 64 * 1024
            check(max(rss_rounds) <= rss_limit,
                  f"RSS within 64 MiB of its baseline after each round ({rss_base} KiB before, {rss_rounds} KiB after)")
            growth = rss_rounds[1] - rss_rounds[0]
            check(growth <= max(8 * 1024, rss_rounds[0] // 10),
                  f"the second round grew RSS by at most max(8 MiB, 10 %) ({growth} KiB)")

            # Through the protocol: each user sees exactly their threads, with every user message.
            for user in sorted({u for u in ledger.owner.values()}):
                mine = {t for t, u in ledger.owner.items() if u == user}
                seen, after = set(), None
                while True:
                    params = {"limit": 100, "order": "asc"}
                    if after:
                        params["after"] = after
                    status, page = call_json(port, user, {"type": "threads.list", "params": params})
                    if status != 200:
                        break
                    seen |= {t["id"] for t in page["data"]}
                    if not page["has_more"]:
                        break
                    after = page["data"][-1]["id"]
                check(mine <= seen, f"threads.list of {user} shows all {len(mine)} of its threads")
                check(all(ledger.owner.get(t, user) == user for t in seen), f"threads.list of {user} shows only its own")
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                status = proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                status = -1
            llm.close()
        check(status == 0, f"the server exits 0 after SIGTERM (got {status})")

        # Directly from the file, hidden items included (the table layout of SqliteStore).
        con = sqlite3.connect(db)
        check(con.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "PRAGMA integrity_check is ok")
        check(not con.execute("PRAGMA foreign_key_check").fetchall(), "PRAGMA foreign_key_check is empty")
        items: dict[str, list[dict]] = {}
        for thread_id, data in con.execute("SELECT thread_id, data FROM items ORDER BY created_at, seq"):
            items.setdefault(thread_id, []).append(json.loads(data))
        con.close()
        all_ids = [item["id"] for thread in items.values() for item in thread]
        check(len(all_ids) == len(set(all_ids)), f"no item id is stored twice ({len(all_ids)} items)")

        missing_user, missing_done, bad_cancel, dup_user = [], [], [], []
        cancel_ok = finished_first = 0
        fault_first: list[str] = []
        for thread_id, user_ids in ledger.user_messages.items():
            stored = items.get(thread_id, [])
            ids = [i["id"] for i in stored]
            missing_user += [u for u in user_ids if u not in ids]
            stored_user = [i for i in stored if i["type"] == "user_message"]
            if len(stored_user) != len(set(user_ids)):
                dup_user.append(thread_id)
            missing_done += [d for d in ledger.completed.get(thread_id, []) if d not in ids]
            if thread_id in ledger.cancelled:
                partial = [i for i in stored if i["type"] == "assistant_message"]
                text = "".join(p.get("text", "") for i in partial for p in i.get("content", []))
                notes = [n for n, i in enumerate(stored) if i["type"] == "sdk_hidden_context"]
                last_partial = max((n for n, i in enumerate(stored) if i["type"] == "assistant_message"), default=-1)
                if not text.startswith(ledger.cancelled[thread_id]) or last_partial < 0:
                    bad_cancel.append(thread_id)
                elif notes and notes[-1] > last_partial:
                    cancel_ok += 1
                elif not notes and text.rstrip().endswith(END):
                    finished_first += 1  # the answer was complete before the server saw the client leave
                elif not notes:
                    fault_first.append(thread_id)  # a mid-stream model fault ended it first (checked below)
                else:
                    bad_cancel.append(thread_id)
        user_checked = sum(len(set(v)) for v in ledger.user_messages.values())
        done_checked = sum(len(v) for v in ledger.completed.values())
        check(not missing_user, f"every user message a client saw is stored ({user_checked} checked; missing {missing_user[:3]})")
        check(not dup_user, f"no user message is stored twice ({dup_user[:3]})")
        check(not missing_done, f"every completed item is stored ({done_checked} checked; missing {missing_done[:3]})")
        mid_faults = faults.get("drop_mid", 0) + faults.get("stall_mid", 0)
        check(len(fault_first) <= mid_faults,
              f"a partial answer without a cancellation note only where a mid-stream model fault ended the stream "
              f"before the server saw the client leave ({len(fault_first)}, {mid_faults} mid-stream faults)")
        bad_cancel += fault_first if len(fault_first) > mid_faults else []
        for thread_id in bad_cancel[:3]:
            print(f"  cancelled {thread_id}: the client saw {ledger.cancelled[thread_id]!r}; stored: "
                  + json.dumps([{k: v for k, v in i.items() if k in ("type", "id", "content", "created_at")}
                                for i in items.get(thread_id, [])])[:1500])
        check(not bad_cancel, f"every cancelled stream left its partial answer and a cancellation note "
                              f"({len(bad_cancel)} of {len(ledger.cancelled)} did not: {bad_cancel[:3]}; "
                              f"{finished_first} answers were complete before the server saw the client leave)")

    total = sum(ledger.requests.values())
    report.append(f"soak report: {args.clients} clients, {args.seconds:g} s of load in 2 rounds, "
                  f"model fault rate {args.fault_rate:g}, seed {args.seed}, {time.monotonic() - started:.0f} s in all")
    report.append(f"requests: {total}")
    for kind, n in sorted(ledger.requests.items()):
        report.append(f"  {kind:34} {n}")
    report.append(f"model calls: {llm.requests()}; faults injected: {injected} "
                  + (", ".join(f"{k} {v}" for k, v in sorted(faults.items())) or "none"))
    report.append(f"client-side faults: {ledger.requests.get('disconnect mid-stream', 0)} disconnects "
                  f"({len(ledger.cancelled)} after a text delta), {ledger.requests.get('malformed', 0)} malformed, "
                  f"{ledger.requests.get('oversize', 0)} oversize, {ledger.requests.get('slow', 0)} slow")
    report.append(f"streams ended by an error event: {ledger.error_events} (all stream.error, allow_retry true: "
                  f"{not ledger.bad_error_events})")
    report.append(f"items checked: {len(all_ids)} stored items in {len(items)} threads; {user_checked} user messages, "
                  f"{done_checked} completed items, {cancel_ok} cancelled answers with their partial message and note "
                  f"(+{finished_first} complete and {len(fault_first)} ended by a model fault before the server saw the "
                  f"disconnect)")
    report.append(f"memory (RSS): {rss_base / 1024:.1f} MiB after warm-up, "
                  + ", ".join(f"{r / 1024:.1f} MiB after round {n + 1}" for n, r in enumerate(rss_rounds)))
    report.append(f"descriptors: {fd_base} after warm-up, " + ", ".join(
        f"{f} after round {n + 1}" for n, f in enumerate(fd_rounds)))
    report.append(f"checks: {CHECKS['passed']} passed, {CHECKS['failed']} failed")
    text = "\n".join(report)
    print("\n" + text)
    if args.report:
        with open(args.report, "w") as f:
            f.write(text + "\n")
    print(f"{CHECKS['passed']} passed, {CHECKS['failed']} failed")
    return 1 if CHECKS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
