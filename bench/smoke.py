#!/usr/bin/env python3
"""Smoke test of examples/bench_server against the shared load runner (ctest label `bench`).

    smoke.py BENCH_SERVER [--store memory|sqlite|postgres]

Starts BENCH_SERVER on port 0, reads its `listening on http://HOST:PORT` line, runs the load
runner's correctness checks (`ckbench.py check`: every contract event sequence and the store's
paging, update and delete; its pacing check is a timing assertion and is not held against the server) and a tiny closed-loop latency scenario (`ckbench.py latency`, 2
connections, 20 `stream 32` replies), then stops the server with SIGTERM and expects a clean exit.
No timing is asserted. The runner comes from $CHATKIT_SHARED_DIR/bench (default: ../shared beside
the repository); when it is not there the test is skipped (exit 77). With `--store postgres` the
server uses the throwaway cluster the ctest fixture describes in CHATKIT_TEST_POSTGRES (a schema of
its own); CHATKIT_SKIP_POSTGRES=1 skips it.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    server, store = sys.argv[1], "memory"
    if len(sys.argv) >= 4 and sys.argv[2] == "--store":
        store = sys.argv[3]
    shared = os.environ.get("CHATKIT_SHARED_DIR") or os.path.join(os.path.dirname(REPO), "shared")
    runner = os.path.join(shared, "bench", "load", "ckbench.py")
    if not os.path.isfile(runner):
        print(f"SKIP: no load runner at {runner} (set CHATKIT_SHARED_DIR)")
        return 77
    db = None
    if store == "postgres":
        if os.environ.get("CHATKIT_SKIP_POSTGRES") == "1":
            print("SKIPPED: CHATKIT_SKIP_POSTGRES=1")
            return 77
        state = os.environ.get("CHATKIT_TEST_POSTGRES")
        if not state:
            print("FAIL: --store postgres needs CHATKIT_TEST_POSTGRES (the ctest fixture postgres-cluster-start)")
            return 1
        with open(state) as f:
            db = json.load(f)["url"] + f"&schema=bench_smoke_{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix="chatkit-bench-smoke-") as tmp:
        args = [server, "--port", "0", "--store", store, "--db", db or os.path.join(tmp, "bench.db")]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline().strip()
            prefix = "listening on "
            if not line.startswith(prefix):
                print(f"FAIL: first line {line!r}, expected 'listening on http://HOST:PORT'")
                return 1
            url = line[len(prefix):] + "/chatkit"
            # The runner's own interpreter checks need no third-party package.
            check = subprocess.run([sys.executable, runner, "check", url], capture_output=True, text=True, timeout=60)
            print(check.stdout[-4000:])
            # Every check must pass except the runner's pacing check (`slow 3 100` deltas ~100 ms
            # apart), which is a timing assertion: a busy machine delays events by tens of ms.
            failed = [ln.split("FAIL", 1)[1].strip() for ln in check.stdout.splitlines()
                      if ln.strip().startswith("[") and " FAIL " in ln]
            real = [name for name in failed if "(pacing)" not in name]
            if real or not check.stdout.strip():
                print(f"FAIL: correctness checks failed: {real or check.stderr[-2000:]}")
                return 1
            lat = subprocess.run([sys.executable, runner, "latency", url, "--conc", "2", "--count", "20",
                                  "--max-s", "2"], capture_output=True, text=True, timeout=60)
            if lat.returncode != 0:
                print(f"FAIL: ckbench latency exited {lat.returncode}\n{lat.stderr[-2000:]}")
                return 1
            result = json.loads(lat.stdout)
            print(f"latency scenario: {result['requests']} replies, {result['errors']} errors")
            if result["errors"] or result["requests"] == 0:
                print(f"FAIL: latency scenario {result}")
                return 1
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    code = proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    print("FAIL: the server did not stop within 15 s of SIGTERM")
                    return 1
            else:
                code = proc.returncode
        if code != 0:
            print(f"FAIL: the server exited with {code}")
            return 1
    print(f"PASS: bench_server --store {store}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
