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
