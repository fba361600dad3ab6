#!/usr/bin/env python3
"""What a client of the quickstart sees when its PostgreSQL connections are killed (issue 17).

Starts the quickstart on a throwaway cluster (the ctest fixture's, or its own). A psql session holds
a lock so that the quickstart's store call waits on the server, then its backend is killed with
pg_terminate_backend:
  - before a stream starts (threads.list), the client gets 503 with Retry-After and a JSON error body;
  - in the middle of a stream (the assistant message's write), the stream ends with one `error` event
    and a clean end of the chunked body;
and afterwards the same server answers normally: the pool replaced the connection by itself.
Prints `N passed, M failed`; exits non-zero on failure, 77 when CHATKIT_SKIP_POSTGRES=1.

    quickstart_postgres_faults.py QUICKSTART_BINARY
"""
import http.client
import json
import os
import sys
import time

from example_support import (Checks, PostgresCluster, clean_env, finish_servers, skip_without_postgres, start_server,
                             user_input)

skip_without_postgres("the quickstart's answers to lost PostgreSQL connections")
binary = sys.argv[1]
check = Checks()
cluster = PostgresCluster()
schema = f"faults_{os.getpid()}"
app = f"qs-faults-{os.getpid()}"


def send(base: str, body: dict) -> http.client.HTTPConnection:
    """Sends a request without waiting for its answer (connection.getresponse() reads it)."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    # Connection: close, so that the end of a streamed body is the end of the connection.
    connection.request("POST", "/chatkit", json.dumps(body),
                       {"Content-Type": "application/json", "X-User-Id": "ann", "Connection": "close"})
    return connection


def request(base: str, body: dict) -> http.client.HTTPResponse:
    return send(base, body).getresponse()


def kill_waiting_backend() -> bool:
    """Terminates the quickstart's session once it waits for the lock (up to 20 s)."""
    deadline = time.time() + 20
    while time.time() < deadline:
        pids = cluster.sql(f"SELECT pid FROM pg_stat_activity WHERE application_name = '{app}' "
                           "AND wait_event_type = 'Lock'").split()
        if pids:
            cluster.sql(f"SELECT pg_terminate_backend({pids[0]})")
            return True
        time.sleep(0.02)
    return False


def hold_lock(table: str):
    """A psql session holding an exclusive lock on `table`, once the lock is granted."""
    session = cluster.session()
    session.stdin.write(f"BEGIN; LOCK TABLE {schema}.{table} IN ACCESS EXCLUSIVE MODE;\n")
    session.stdin.flush()
    deadline = time.time() + 20
    while time.time() < deadline:
        held = cluster.sql(f"SELECT count(*) FROM pg_locks WHERE relation = '{schema}.{table}'::regclass "
                           "AND mode = 'AccessExclusiveLock' AND granted").strip()
        if held == "1":
            return session
        time.sleep(0.02)
    raise SystemExit(f"the lock on {table} was not granted within 20 s")


def release(session) -> None:
    session.stdin.write("COMMIT;\n")
    session.stdin.close()
    session.wait(timeout=20)


log_path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"quickstart-pg-faults-{os.getpid()}.log")
proc = None
try:
    with open(log_path, "w") as log:
        proc, base = start_server([binary, "--host", "127.0.0.1", "--port", "0", "--word-delay-ms", "150",
                                   "--uploads-dir", "", "--db", cluster.url(schema=schema, application_name=app)],
                                  stderr=log, env=clean_env(), log_path=log_path)
        response = request(base, {"type": "threads.create", "params": {"input": user_input("First message")}})
        body = response.read().decode()
        thread_id = json.loads(body.split("\n\n")[0].removeprefix("data: "))["thread"]["id"]

        # Before a stream: 503 with Retry-After and a JSON body.
        lock = hold_lock("chatkit_threads")
        pending = send(base, {"type": "threads.list", "params": {}})
        killed = kill_waiting_backend()
        check(killed, "the quickstart's store call waited on the lock and its backend was terminated")
        answered = pending.getresponse()
        status, retry_after, answer = answered.status, answered.getheader("Retry-After"), answered.read()
        release(lock)
        check(status == 503, f"threads.list answers 503 when its connection is killed (got {status})")
        check(retry_after is not None and retry_after.isdigit(), f"with a Retry-After header (got {retry_after!r})")
        try:
            error = json.loads(answer)["error"]
            check(isinstance(error.get("code"), str) and isinstance(error.get("message"), str),
                  f"and a JSON error body ({answer!r})")
            check("PostgresStore" not in error["message"] and "SQLSTATE" not in error["message"],
                  "the body says nothing of the database's insides")
        except (ValueError, KeyError):
            check(False, f"a JSON error body (got {answer!r})")

        # Mid-stream: the assistant message's write fails, the stream ends with one error event.
        stream = request(base, {"type": "threads.add_user_message",
                                "params": {"thread_id": thread_id, "input": user_input("Tell me a long story please")}})
        check(stream.status == 200, "the second message streams")
        lock = None
        events = []
        raw = []  # the chunked body's lines as they arrive (chunk sizes included)
        while True:
            line = stream.fp.readline()
            if not line:
                break
            raw.append(line)
            if not line.startswith(b"data: "):
                continue
            event = json.loads(line[6:])
            events.append(event)
            if event["type"] == "thread.item.updated" and lock is None:
                lock = hold_lock("chatkit_items")  # the answer's final write will wait on it
                check(kill_waiting_backend(), "the answer's write waited on the lock and its backend was terminated")
        if lock:
            release(lock)
        errors = [e for e in events if e["type"] == "error"]
        check(len(errors) == 1 and errors[0] is events[-1], f"the stream ends with one error event ({[e['type'] for e in events][-3:]})")
        check(errors[:1] == [{"type": "error", "code": "stream.error", "allow_retry": True}],
              f"a retryable stream.error without details ({errors[:1]})")
        check(raw[-2:] == [b"0\r\n", b"\r\n"], f"the chunked body ends with its last chunk ({raw[-2:]})")

        # The pool recovered by itself: the same server answers normally.
        again = request(base, {"type": "items.list", "params": {"thread_id": thread_id, "order": "asc"}})
        items = json.loads(again.read()) if again.status == 200 else {}
        check(again.status == 200 and len(items.get("data", [])) >= 3,
              f"items.list answers afterwards ({again.status}, {len(items.get('data', []))} items)")
        final = request(base, {"type": "threads.add_user_message",
                               "params": {"thread_id": thread_id, "input": user_input("Are you back?")}})
        final_events = [json.loads(line[6:]) for line in final.read().split(b"\n") if line.startswith(b"data: ")]
        check(final.status == 200 and final_events[-1]["type"] == "thread.item.done", "a new message gets its whole answer")
finally:
    finish_servers(check, [proc], log_path, cluster, "the quickstart")

sys.exit(check.finish())
