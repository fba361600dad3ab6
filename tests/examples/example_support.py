"""What the example-server tests (tests/examples/*.py) share.

PASS/FAIL bookkeeping, starting an example server the way DESIGN.md says every example runs
(`--port 0`, first stdout line `listening on http://HOST:PORT`), stopping it with SIGTERM, an
environment without the caller's OPENAI_* / CHATKIT_* settings, and the user input every test sends.
"""
import os
import signal
import subprocess


class Checks:
    """`check(condition, what)` prints PASS/FAIL and counts; `finish()` prints the tally and gives the exit status."""

    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def __call__(self, condition: bool, what: str) -> None:
        if condition:
            self.passed += 1
        else:
            self.failed += 1
        print(("PASS " if condition else "FAIL ") + what, flush=True)

    def finish(self) -> int:
        print(f"{self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0


def clean_env(**extra: str) -> dict:
    """This process's environment without OPENAI_* and CHATKIT_* variables, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_") and not k.startswith("CHATKIT_")}
    env.update(extra)
    return env


def start_server(command: list, *, stderr=subprocess.DEVNULL, env: dict = None, log_path: str = None,
                 cwd: str = None) -> tuple:
    """Starts `command` (which passes `--port 0`) in `cwd` (where its default files, such as the
    quickstart's ./uploads, go); returns (process, base URL `http://HOST:PORT`).

    Exits the test when the first stdout line is not `listening on http://...`, with the tail of
    `log_path` (where the server's stderr goes) when given.
    """
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env, cwd=cwd)
    line = proc.stdout.readline().strip()
    if not line.startswith("listening on http"):
        proc.kill()
        tail = ""
        if log_path:
            with open(log_path) as f:
                tail = ": " + f.read()[-2000:]
        raise SystemExit(f"{os.path.basename(command[0])} did not start, first line {line!r}{tail}")
    return proc, line.removeprefix("listening on ")


def stop_server(proc: subprocess.Popen, timeout: float = 20) -> int:
    """SIGTERM, then the exit status (-1 and a kill when it does not exit within `timeout` seconds)."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return -1


def user_input(text: str) -> dict:
    """The `input` of threads.create / threads.add_user_message for a plain text message."""
    return {"content": [{"type": "input_text", "text": text}], "attachments": [], "inference_options": {}}


# --- PostgreSQL (tests of the examples on PostgresStore) -------------------------------------------

PG_CLUSTER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support", "pg_cluster.py")


def skip_without_postgres(what: str) -> None:
    """Exits 77 (ctest: skipped), saying so, when CHATKIT_SKIP_POSTGRES=1."""
    if os.environ.get("CHATKIT_SKIP_POSTGRES") == "1":
        print(f"SKIPPED: CHATKIT_SKIP_POSTGRES=1 ({what} not tested)")
        raise SystemExit(77)


class PostgresCluster:
    """The ctest fixture's cluster (CHATKIT_TEST_POSTGRES names its description), or a throwaway one
    started here (tests/support/pg_cluster.py; removed by `close()`, or by its watchdog when this
    process dies). `info` holds url, bindir, socket_dir, port, user, password, database."""

    def __init__(self) -> None:
        import json
        import sys
        state = os.environ.get("CHATKIT_TEST_POSTGRES")
        self.own = not state
        if state:
            with open(state) as f:
                self.info = json.load(f)
            return
        out = subprocess.run([sys.executable, PG_CLUSTER_SCRIPT, "start", "--watch-pid", str(os.getpid())],
                             stdout=subprocess.PIPE, text=True)
        if out.returncode != 0:
            raise SystemExit(f"no PostgreSQL cluster: pg_cluster.py start failed with status {out.returncode}")
        self.info = json.loads(out.stdout)

    def url(self, **params: str) -> str:
        """The cluster's URL with extra query parameters (schema=..., application_name=...)."""
        return self.info["url"] + "".join(f"&{k}={v}" for k, v in params.items())

    def sql(self, statement: str) -> str:
        """Runs SQL in the test database (psql over the Unix socket); its rows, one per line."""
        return subprocess.run(self.psql_command(), input=statement, stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, PGPASSWORD=self.info["password"]), check=True).stdout

    def session(self) -> subprocess.Popen:
        """A psql session reading SQL from its stdin (to hold a transaction open between requests)."""
        return subprocess.Popen(self.psql_command(), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                                env=dict(os.environ, PGPASSWORD=self.info["password"]))

    def psql_command(self) -> list:
        i = self.info
        return [os.path.join(i["bindir"], "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                "-h", i["socket_dir"], "-p", str(i["port"]), "-U", i["user"], "-d", i["database"]]

    def close(self) -> None:
        import sys
        if self.own:
            subprocess.run([sys.executable, PG_CLUSTER_SCRIPT, "stop", self.info["dir"]])


def finish_servers(check: Checks, procs: list, log_path: str, cluster=None,
                   what: str = "a surviving quickstart") -> None:
    """The end of a test that started servers logging to `log_path`: stops each one still running
    (checking it exits 0 after SIGTERM), prints the log's tail when a check failed, removes the log,
    and closes `cluster` (a PostgresCluster) when given."""
    for proc in procs:
        if proc is not None and proc.poll() is None:
            check(stop_server(proc) == 0, f"{what} exits 0 after SIGTERM")
    if check.failed:
        with open(log_path) as f:
            print("--- server stderr ---\n" + f.read()[-4000:])
    os.remove(log_path)
    if cluster is not None:
        cluster.close()
