#!/usr/bin/env python3
"""Two quickstart instances on one PostgreSQL database serve one conversation together (issue 17).

Starts quickstarts A and B with the same `--db postgresql://...` (a throwaway cluster: the ctest
fixture's, named by CHATKIT_TEST_POSTGRES, or one this script starts and removes). Two users'
conversations are interleaved and every request alternates between the instances: create on A, add a
message on B, list on A, rename on B, delete on A; each read is asked of both instances, which must
answer byte for byte the same. Then twelve messages are sent to one thread through A and B
at once: a thread runs one reply at a time across instances, so each is answered or refused with
409; every message and every answer is stored exactly once, each answer after a question, and
both instances list the thread in one order, the same whether read in one page or in small pages,
forward or backward. Then A is killed with SIGKILL in the middle of a streamed answer, and B
still serves every item A had acknowledged (each `thread.item.done` received) and, once A's run lease
(`--run-lease-s 2`) lapsed, goes on with the conversation. Prints `N passed, M failed`; exits non-zero on failure, 77 when CHATKIT_SKIP_POSTGRES=1.

    quickstart_instances.py QUICKSTART_BINARY
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

skip_without_postgres("two quickstarts on one PostgreSQL database")
binary = sys.argv[1]
check = Checks()


def post(base: str, body: dict, user: str) -> tuple[int, bytes]:
    request = urllib.request.Request(base + "/chatkit", json.dumps(body).encode(),
                                     {"Content-Type": "application/json", "X-User-Id": user})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def events(body: bytes) -> list:
    return [json.loads(frame.removeprefix("data: ")) for frame in body.decode().split("\n\n") if frame.startswith("data: ")]


def read_both(a: str, b: str, body: dict, user: str, what: str) -> dict:
    """Asks both instances; they must answer the same bytes. Returns the parsed answer."""
    status_a, answer_a = post(a, body, user)
    status_b, answer_b = post(b, body, user)
    check(status_a == status_b == 200, f"{what}: 200 from both instances (got {status_a}, {status_b})")
    check(answer_a == answer_b, f"{what}: both instances answer byte for byte the same")
    return json.loads(answer_a) if status_a == 200 else {}


def texts(items: dict) -> list:
    return [part.get("text") for item in items.get("data", []) for part in item.get("content", [])]


cluster = PostgresCluster()
url = cluster.url(schema=f"instances_{os.getpid()}", application_name="quickstart-instances")
log_path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"quickstart-instances-{os.getpid()}.log")
procs = []
try:
    with open(log_path, "w") as log:
        common = ["--host", "127.0.0.1", "--port", "0", "--db", url, "--threads", "2", "--uploads-dir", "",
                  "--run-lease-s", "2"]
        proc_a, a = start_server([binary, *common, "--word-delay-ms", "150"], stderr=log, env=clean_env(),
                                 log_path=log_path)
        procs.append(proc_a)
        proc_b, b = start_server([binary, *common, "--word-delay-ms", "0"], stderr=log, env=clean_env(),
                                 log_path=log_path)
        procs.append(proc_b)

        # Create: alice on A, bob on B.
        status, body = post(a, {"type": "threads.create", "params": {"input": user_input("Alice's first question")}}, "alice")
        check(status == 200, "alice creates a thread on A")
        alice_thread = events(body)[0]["thread"]["id"]
        status, body = post(b, {"type": "threads.create", "params": {"input": user_input("Bob's first question")}}, "bob")
        check(status == 200, "bob creates a thread on B")
        bob_thread = events(body)[0]["thread"]["id"]

        # Add a message: alice on B, bob on A (each continues a thread the other instance created).
        status, body = post(b, {"type": "threads.add_user_message",
                                "params": {"thread_id": alice_thread, "input": user_input("Alice again, on B")}}, "alice")
        check(status == 200 and events(body)[-1]["type"] == "thread.item.done",
              "alice adds a message on B to the thread A created, and B answers it")
        status, body = post(a, {"type": "threads.add_user_message",
                                "params": {"thread_id": bob_thread, "input": user_input("Bob again, on A")}}, "bob")
        check(status == 200, "bob adds a message on A to the thread B created")

        # List: the same items, in the same order, from both instances.
        items = read_both(a, b, {"type": "items.list", "params": {"thread_id": alice_thread, "order": "asc"}}, "alice",
                          "alice's items.list")
        check(texts(items) == ["Alice's first question", "You said: Alice's first question", "Alice again, on B",
                               "You said: Alice again, on B"], f"alice's thread holds all four messages in order ({texts(items)})")
        items = read_both(a, b, {"type": "items.list", "params": {"thread_id": bob_thread, "order": "desc"}}, "bob",
                          "bob's items.list")
        check(len(items.get("data", [])) == 4, "bob's thread holds four items")

        # Rename: alice on B, bob on A; both instances then show the new titles.
        status, _ = post(b, {"type": "threads.update", "params": {"thread_id": alice_thread, "title": "Renamed on B"}}, "alice")
        check(status == 200, "alice renames her thread on B")
        status, _ = post(a, {"type": "threads.update", "params": {"thread_id": bob_thread, "title": "Renamed on A"}}, "bob")
        check(status == 200, "bob renames his thread on A")
        thread = read_both(a, b, {"type": "threads.get_by_id", "params": {"thread_id": alice_thread}}, "alice",
                           "alice's threads.get_by_id")
        check(thread.get("title") == "Renamed on B", "A shows the title set on B")
        listed = read_both(a, b, {"type": "threads.list", "params": {}}, "bob", "bob's threads.list")
        check([t["id"] for t in listed.get("data", [])] == [bob_thread], "bob sees only his thread, on both instances")
        check(listed["data"][0].get("title") == "Renamed on A", "B shows the title set on A")
        status, _ = post(b, {"type": "threads.get_by_id", "params": {"thread_id": bob_thread}}, "alice")
        check(status == 404, "bob's thread does not exist for alice on B")

        # Delete: alice on A; gone on B too, bob's thread untouched.
        status, _ = post(a, {"type": "threads.delete", "params": {"thread_id": alice_thread}}, "alice")
        check(status == 200, "alice deletes her thread on A")
        status, _ = post(b, {"type": "threads.get_by_id", "params": {"thread_id": alice_thread}}, "alice")
        check(status == 404, "B no longer finds the thread deleted on A")
        read_both(a, b, {"type": "threads.list", "params": {}}, "alice", "alice's threads.list after the delete")

        # Concurrent appends: twelve messages to one thread, half through A and half through B, all
        # sent at once; the thread's order is one strict sequence both instances agree on. A thread
        # runs one reply at a time, across instances too (docs/concepts.md): a message that arrives
        # while A or B is answering another on the thread is refused with 409 and stored nowhere.
        status, body = post(b, {"type": "threads.create", "params": {"input": user_input("busy thread")}}, "alice")
        check(status == 200, "alice creates a thread on B for the concurrent messages")
        busy_thread = events(body)[0]["thread"]["id"]
        sent = [f"concurrent message {n}" for n in range(12)]

        def append(n: int) -> tuple[int, bytes]:
            return post(a if n % 2 == 0 else b, {"type": "threads.add_user_message",
                                                 "params": {"thread_id": busy_thread, "input": user_input(sent[n])}},
                        "alice")

        with concurrent.futures.ThreadPoolExecutor(max_workers=len(sent)) as pool:
            answers = list(pool.map(append, range(len(sent))))
        check(all((status == 200 and events(body)[-1]["type"] == "thread.item.done") or
                  (status == 409 and json.loads(body)["error"]["code"] == "conflict") for status, body in answers),
              f"each concurrent message is answered, or refused with 409 conflict ({[status for status, _ in answers]})")
        accepted = [sent[n] for n, (status, _) in enumerate(answers) if status == 200]
        check(len(accepted) >= 1, f"at least one of them was answered ({len(accepted)} answered)")
        for n, base in ((100, a), (101, b)):  # one more through each instance, once the thread is idle
            sent.append(f"concurrent message {n}")
            status, body = post(base, {"type": "threads.add_user_message",
                                       "params": {"thread_id": busy_thread, "input": user_input(sent[-1])}}, "alice")
            check(status == 200, f"{'A' if base == a else 'B'} answers a message to the idle thread ({status})")
            if status == 200:
                accepted.append(sent[-1])
        one_page = read_both(a, b, {"type": "items.list", "params": {"thread_id": busy_thread, "order": "asc", "limit": 100}},
                             "alice", "the busy thread's items.list")
        ids = [item["id"] for item in one_page.get("data", [])]
        order = texts(one_page)
        check(len(ids) == 2 + 2 * len(accepted) and len(set(ids)) == len(ids),
              f"every message and answer is stored exactly once ({len(ids)} items, {len(set(ids))} distinct)")
        # The DemoModel echoes the newest user message of the history it loads, which under concurrent
        # appends may be another request's message: each answer echoes one asked before it.
        questions = [t for t in order if not t.startswith("You said: ")]
        answers = [n for n, t in enumerate(order) if t.startswith("You said: ")]
        check(sorted(questions) == sorted(["busy thread", *accepted]) and len(answers) == 1 + len(accepted),
              f"the thread holds exactly the messages sent and one answer to each ({order})")
        check(all(order[n].removeprefix("You said: ") in order[:n] for n in answers),
              "each answer echoes a message stored before it")
        stamps = [item["created_at"] for item in one_page.get("data", [])]
        check(stamps == sorted(stamps), "created_at never decreases along the thread")

        def paged(base: str, order_name: str) -> list:
            seen, after = [], None
            for _ in range(50):
                params = {"thread_id": busy_thread, "order": order_name, "limit": 5}
                if after:
                    params["after"] = after
                status, body = post(base, {"type": "items.list", "params": params}, "alice")
                if status != 200:
                    return seen + [f"status {status}"]
                page = json.loads(body)
                seen += [item["id"] for item in page["data"]]
                if not page.get("has_more"):
                    return seen
                after = page.get("after")
            return seen + ["too many pages"]

        check(paged(a, "asc") == ids, "pages of 5 through A, oldest first, give the same sequence exactly once")
        check(paged(b, "desc") == ids[::-1], "pages of 5 through B, newest first, give it reversed")

        # SIGKILL A in the middle of a streamed answer; B serves what A acknowledged.
        host, port = a.removeprefix("http://").rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        body = json.dumps({"type": "threads.add_user_message",
                           "params": {"thread_id": bob_thread,
                                      "input": user_input("A long question that A will not finish answering")}})
        connection.request("POST", "/chatkit", body, {"Content-Type": "application/json", "X-User-Id": "bob"})
        response = connection.getresponse()
        check(response.status == 200, "A starts streaming bob's answer")
        acknowledged = []
        deltas = 0
        while deltas < 2:
            line = response.fp.readline()
            if not line:
                break
            if not line.startswith(b"data: "):
                continue
            event = json.loads(line[6:])
            if event["type"] == "thread.item.done":
                acknowledged.append(event["item"]["id"])
            if event["type"] == "thread.item.updated":
                deltas += 1
        check(deltas == 2 and len(acknowledged) >= 1, f"A acknowledged {acknowledged} and streamed part of the answer")
        proc_a.send_signal(signal.SIGKILL)
        proc_a.wait(timeout=20)
        connection.close()
        check(proc_a.returncode == -signal.SIGKILL, "A was killed mid-stream")

        status, body = post(b, {"type": "items.list", "params": {"thread_id": bob_thread, "order": "asc"}}, "bob")
        stored = [item["id"] for item in json.loads(body).get("data", [])] if status == 200 else []
        check(status == 200 and all(i in stored for i in acknowledged),
              f"B serves every item A acknowledged before it died ({acknowledged} in {stored})")
        # A's run of the thread holds it until its lease lapses (2 s after A's last heartbeat): 409 until then.
        deadline = time.monotonic() + 10
        while True:
            status, body = post(b, {"type": "threads.add_user_message",
                                    "params": {"thread_id": bob_thread, "input": user_input("Still there, B?")}}, "bob")
            if status != 409 or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        check(status == 200 and events(body)[-1]["type"] == "thread.item.done",
              f"B goes on with the conversation once A's run lease lapsed ({status})")
        status, body = post(b, {"type": "items.list", "params": {"thread_id": bob_thread, "order": "desc", "limit": 1}}, "bob")
        check(texts(json.loads(body))[-1:] == ["You said: Still there, B?"], "B's answer is the newest item")
finally:
    finish_servers(check, procs, log_path, cluster, "the surviving quickstart")

sys.exit(check.finish())
