#!/usr/bin/env python3
"""Starts a server and times its first ChatKit request (python3 stdlib only; used by bench/run.sh).

    first_request.py --port P --log FILE -- COMMAND [ARGS...]

Spawns COMMAND (stdout discarded, stderr to FILE), polls 127.0.0.1:P every millisecond until it
accepts a connection ("ready": spawn -> accepting), then sends one `threads.create` request with
the text "stream 32" on that connection and reads the whole SSE reply ("first request": request
sent -> last byte, and the time to the first event, and the server's CPU time and run-queue wait during it from
/proc/PID/task/*/schedstat, which separate its own cost from a busy machine's). Prints one JSON line with those figures and
the server's PID, and leaves the server running (the caller stops it by PID). Exits 1 (after
killing the server) when it does not come up within 30 s or the reply is not a 200 event stream.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import time

BODY = json.dumps({"type": "threads.create", "params": {"input": {
    "content": [{"type": "input_text", "text": "stream 32"}], "attachments": [], "inference_options": {}}}},
    separators=(",", ":")).encode()


def read_reply(sock: socket.socket, t_sent: float) -> dict:
    """Reads one HTTP/1.1 response (chunked or Content-Length); returns status and timings."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed before the response header")
        buf += chunk
    head, body = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
    t_first = None
    events = 0
    raw = b""

    def more() -> bool:
        nonlocal body
        chunk = sock.recv(65536)
        if not chunk:
            return False
        body += chunk
        return True

    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            while b"\r\n" not in body:
                if not more():
                    raise RuntimeError("connection closed inside a chunk header")
            size_line, rest = body.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            while len(rest) < size + 2:
                if not more():
                    raise RuntimeError("connection closed inside a chunk")
                _, rest = body.split(b"\r\n", 1)
            raw += rest[:size]
            if t_first is None and b"\n\n" in raw:
                t_first = time.perf_counter()
            body = rest[size + 2:]
            if size == 0:
                break
    else:
        length = int(headers.get("content-length", "-1"))
        while length < 0 or len(body) < length:
            if t_first is None and b"\n\n" in body:
                t_first = time.perf_counter()
            if not more():
                break
        raw = body
    t_end = time.perf_counter()
    events = raw.count(b"\n\n")
    return {"status": status, "content_type": headers.get("content-type", ""), "events": events,
            "ttfe_ms": None if t_first is None else (t_first - t_sent) * 1000, "full_ms": (t_end - t_sent) * 1000}


def schedstat(pid: int) -> tuple[float, float]:
    """(ms on a CPU, ms waiting for a CPU) summed over the process' threads (0, 0 if unknown)."""
    run = wait = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                fields = f.read().split()
            run += int(fields[0])
            wait += int(fields[1])
    except (OSError, ValueError, IndexError):
        pass
    return run / 1e6, wait / 1e6


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", default="/dev/null")
    ap.add_argument("--path", default="/chatkit")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.command[1:] if a.command[:1] == ["--"] else a.command
    with open(a.log, "ab") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, stdin=subprocess.DEVNULL)
    sock = None
    deadline = t0 + 30
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            print(f"server exited with {proc.returncode} before accepting", file=sys.stderr)
            return 1
        try:
            sock = socket.create_connection(("127.0.0.1", a.port), timeout=10)
            break
        except OSError:
            time.sleep(0.001)
    if sock is None:
        proc.kill()
        print(f"server did not accept on port {a.port} within 30 s", file=sys.stderr)
        return 1
    t_ready = time.perf_counter()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    req = (f"POST {a.path} HTTP/1.1\r\nHost: 127.0.0.1:{a.port}\r\nContent-Type: application/json\r\n"
           f"Accept: text/event-stream\r\nContent-Length: {len(BODY)}\r\n\r\n").encode() + BODY
    cpu0, wait0 = schedstat(proc.pid)
    t_sent = time.perf_counter()
    try:
        sock.sendall(req)
        r = read_reply(sock, t_sent)
        # A thread still on a CPU has a stale schedstat (the kernel adds its run time when it stops
        # running): let the server finish its turn and block before reading the totals again.
        time.sleep(0.05)
        cpu1, wait1 = schedstat(proc.pid)
        r["server_cpu_ms"], r["server_wait_ms"] = cpu1 - cpu0, wait1 - wait0
    except Exception as e:  # noqa: BLE001
        proc.kill()
        print(f"first request failed: {e}", file=sys.stderr)
        return 1
    finally:
        sock.close()
    r.update({"pid": proc.pid, "ready_ms": (t_ready - t0) * 1000})
    print(json.dumps(r), flush=True)
    if r["status"] != 200 or not r["content_type"].startswith("text/event-stream") or r["events"] < 38:
        proc.kill()
        print(f"unexpected first reply: {r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
