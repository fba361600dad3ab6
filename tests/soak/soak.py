#!/usr/bin/env python3
"""Bounded loopback soak of the quickstart (label `soak`): many concurrent clients on a real SQLite file.

    soak.py QUICKSTART_BINARY [--seconds N] [--clients N]

Starts QUICKSTART_BINARY (any server keeping DESIGN.md §4 and `--db`) on a fresh database with 4 I/O
threads, warms it up, records its open file descriptors and RSS, then runs concurrent clients for the
given time. Each client loops over one kind of behaviour:

  complete    threads.create, then threads.add_user_message on the same thread, reading every stream
              to its end;
  disconnect  threads.create, then closes the socket (half of the time with a TCP reset) as soon as
              the first text delta of the answer arrives;
  malformed   invalid JSON, an unknown request type, a non-HTTP line, a GET, a wrong user id: each must
              get a 4xx answer (or a close), never a 5xx;
  oversize    a 2 MiB Content-Length (413) and a 16 KiB header (431);
  slow        a complete request sent a few bytes at a time.

Afterwards, with every client gone: the server's descriptor count returns to its baseline, its RSS
stays near its baseline, and the store, read through the protocol (threads.list, items.list) and
then directly from the SQLite file once the server has stopped, holds exactly what the clients
saw — every completed answer, every user message once, each cancelled answer's partial assistant
message followed by the hidden cancellation note, no duplicate item, and `PRAGMA integrity_check` ok.

Only the HTTP protocol is assumed about the server's answers (no particular text), so it keeps
working when the quickstart's model changes. Prints `N passed, M failed`; exits 1 on a failure.
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
                    ledger.error(f"error event {event}")
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
        thread_id = stream(port, user, {"type": "threads.create",
                                        "params": {"input": user_input("soak: tell me something")}}, ledger, False)
        if thread_id and not stop.is_set():
            stream(port, user, {"type": "threads.add_user_message",
                                "params": {"thread_id": thread_id, "input": user_input("and more")}}, ledger, False)


def client_disconnect(port, user, ledger, stop):
    while not stop.is_set():
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("binary")
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("CHATKIT_SOAK_SECONDS", "20")))
    parser.add_argument("--clients", type=int, default=int(os.environ.get("CHATKIT_SOAK_CLIENTS", "24")))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "soak.db")
        proc = subprocess.Popen([args.binary, "--host", "127.0.0.1", "--port", "0", "--db", db, "--threads", "4",
                                 "--word-delay-ms", "5", "--static-dir", tmp],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = proc.stdout.readline().strip()
        if not line.startswith("listening on http://"):
            proc.kill()
            print(f"FAIL unexpected first line {line!r}: {proc.stderr.read()[-2000:]}")
            return 1
        port = int(line.rsplit(":", 1)[1])
        ledger = Ledger()
        try:
            # Warm-up: every code path once, so lazily opened files and grown pools count in the baseline.
            for kind in (client_complete, client_disconnect):
                stream(port, "warmup", {"type": "threads.create", "params": {"input": user_input("warm up")}},
                       ledger, kind is client_disconnect)
            time.sleep(1.0)
            fd_base = fd_count(proc.pid)
            rss_base = rss_kib(proc.pid)

            stop = threading.Event()
            kinds = [client_complete, client_disconnect, client_malformed, client_oversize, client_slow]
            weights = [8, 6, 4, 2, 2]
            plan = [kinds[i % len(kinds)] for i in range(len(kinds))]
            while len(plan) < args.clients:
                plan.append(random.choices(kinds, weights)[0])
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
            time.sleep(args.seconds)
            stop.set()
            for t in workers:
                t.join(timeout=60)
            check(not any(t.is_alive() for t in workers), "every client finished within 60 s of the stop")
            check(proc.poll() is None, "the server is still running after the soak")
            check(not ledger.errors, f"no client saw a wrong answer ({ledger.errors[:5]})")
            completed = sum(len(v) for v in ledger.completed.values())
            print(f"soak: {len(ledger.owner)} threads, {completed} completed answers, "
                  f"{len(ledger.cancelled)} cancelled streams")
            check(completed > 0 and len(ledger.cancelled) > 0, "the soak completed and cancelled streams")

            time.sleep(1.0)  # cancelled streams finish saving
            fd_after = settle(proc.pid, fd_base)
            check(fd_after <= fd_base, f"descriptors back to the baseline ({fd_base} before, {fd_after} after)")
            rss_after = rss_kib(proc.pid)
            # Allocator arenas and SQLite's page cache keep some memory; a leak grows with the load.
            limit = rss_base + max(rss_base // 2, 64 * 1024)
            check(rss_after <= limit, f"RSS near its baseline ({rss_base} KiB before, {rss_after} KiB after)")

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
        check(len(all_ids) == len(set(all_ids)), "no item id is stored twice")

        missing_user, missing_done, bad_cancel, dup_user = [], [], [], []
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
                if not (text.startswith(ledger.cancelled[thread_id]) and notes and notes[-1] > last_partial >= 0):
                    bad_cancel.append(thread_id)
        check(not missing_user, f"every user message a client saw is stored ({missing_user[:3]})")
        check(not dup_user, f"no user message is stored twice ({dup_user[:3]})")
        check(not missing_done, f"every completed answer is stored ({missing_done[:3]})")
        check(not bad_cancel, f"every cancelled stream left its partial answer and a cancellation note "
                              f"({len(bad_cancel)} of {len(ledger.cancelled)} did not: {bad_cancel[:3]})")

    print(f"{CHECKS['passed']} passed, {CHECKS['failed']} failed")
    return 1 if CHECKS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
