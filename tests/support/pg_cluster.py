#!/usr/bin/env python3
"""A throwaway PostgreSQL cluster for the tests (and the benchmark), never a system service.

    pg_cluster.py start [--dir DIR] [--watch-pid PID | --watch-parent] [--cpu LIST] [--durable] [--state FILE]
    pg_cluster.py stop  CLUSTER
    pg_cluster.py stop-server CLUSTER      (pg_ctl stop -m fast; the data stays)
    pg_cluster.py start-server CLUSTER     (pg_ctl start again, same port)
    pg_cluster.py createdb CLUSTER NAME
    pg_cluster.py psql CLUSTER SQL         (runs SQL in the test database, prints the rows)

CLUSTER is the cluster's directory or a state file written by `start --state`.

`start` runs `initdb` into a fresh temporary directory (as the unprivileged `postgres` user through
`runuser` when running as root, as the current user otherwise), writes a test CA, a server
certificate for localhost/127.0.0.1 and a second, unrelated CA, starts the server with `pg_ctl` on a
free port of 127.0.0.1 (TLS on, the Unix socket inside the directory), creates the database
`chatkit_test`, and prints the cluster description (JSON, also kept in DIR/cluster.json and in
`--state FILE`):

    {"dir", "bindir", "port", "host", "socket_dir", "user", "password", "database",
     "url", "tls_url", "ca", "wrong_ca"}

With CHATKIT_SKIP_POSTGRES=1, `start` starts nothing and exits with status 77 (skipped). With
`--state FILE` naming a cluster a killed run left behind, that cluster is removed first.

`--watch-pid PID` (or `--watch-parent`) leaves a detached watchdog behind that removes the cluster
(`pg_ctl stop -m immediate`, then the directory) as soon as PID is gone, so a test that fails or is
killed never leaves a server running. `stop` does the same at once. `--cpu` pins the server to CPUs
(taskset list, for the benchmark). Test clusters run without fsync (their data is thrown away);
`--durable` keeps PostgreSQL's defaults (fsync, synchronous_commit=on), as the benchmark wants.

The server binaries come from $CHATKIT_PG_BINDIR, else the newest /usr/lib/postgresql/*/bin, else
PATH. When they are missing, this exits with status 3 and says what to install.
"""
import glob
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

USER = "chatkit"
DATABASE = "chatkit_test"
MISSING_STATUS = 3
SKIPPED_STATUS = 77


def fail(message: str, status: int = 1) -> "NoReturn":
    print(f"pg_cluster: {message}", file=sys.stderr)
    sys.exit(status)


def find_bindir() -> str:
    candidates = []
    if os.environ.get("CHATKIT_PG_BINDIR"):
        candidates.append(os.environ["CHATKIT_PG_BINDIR"])
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                      key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0, reverse=True)
    candidates += versions
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(os.path.dirname(on_path))
    for c in candidates:
        if os.access(os.path.join(c, "initdb"), os.X_OK) and os.access(os.path.join(c, "pg_ctl"), os.X_OK):
            return c
    fail("the PostgreSQL server programs (initdb, pg_ctl) were not found: install Debian's postgresql-15 "
         "(scripts/install-deps.sh --test does) or set CHATKIT_PG_BINDIR; CHATKIT_SKIP_POSTGRES=1 skips the "
         "PostgreSQL tests", MISSING_STATUS)


def as_owner(cmd: list) -> list:
    """`cmd` as the unprivileged postgres user when we are root (initdb and postgres refuse root)."""
    if os.geteuid() != 0:
        return cmd
    if not shutil.which("runuser"):
        fail("running as root needs runuser (util-linux) to start PostgreSQL as the postgres user")
    return ["runuser", "-u", "postgres", "--"] + cmd


def owner_ids() -> tuple:
    if os.geteuid() != 0:
        return os.getuid(), os.getgid()
    import pwd
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError:
        fail("running as root needs the unprivileged 'postgres' user (created by Debian's postgresql-15 package)",
             MISSING_STATUS)
    return entry.pw_uid, entry.pw_gid


def check_reachable(d: str) -> None:
    """As root, the postgres user must be able to walk down to `d` (a TMPDIR under /root is not)."""
    if os.geteuid() != 0:
        return
    parent = os.path.dirname(os.path.abspath(d))
    while True:
        if not os.stat(parent).st_mode & 0o001:
            fail(f"the postgres user cannot enter {parent} (no search permission for others), so it cannot "
                 f"reach the cluster directory {d}: set TMPDIR to a directory it can reach, such as /tmp")
        if parent == "/":
            return
        parent = os.path.dirname(parent)


def run(cmd: list, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)
    if result.returncode != 0:
        fail(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}")
    return result


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_certificates(d: str) -> None:
    """A test CA, a server certificate it signs (localhost, 127.0.0.1) and an unrelated second CA."""
    def ossl(*args):
        run(["openssl", *args], cwd=d)
    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=chatkit test CA",
         "-keyout", "ca.key", "-out", "ca.crt")
    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=chatkit wrong CA",
         "-keyout", "wrong-ca.key", "-out", "wrong-ca.crt")
    ossl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key",
         "-out", "server.csr")
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    ossl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
         "-days", "2", "-extfile", "server.ext", "-out", "server.crt")
    os.chmod(os.path.join(d, "server.key"), 0o600)


def describe(d: str, bindir: str, port: int, password: str) -> dict:
    tls = f"postgresql://{USER}:{password}@localhost:{port}/{DATABASE}?sslmode=verify-full&sslrootcert={d}/ca.crt"
    return {
        "dir": d, "bindir": bindir, "port": port, "host": "127.0.0.1", "socket_dir": os.path.join(d, "sock"),
        "user": USER, "password": password, "database": DATABASE,
        "url": f"postgresql://{USER}:{password}@127.0.0.1:{port}/{DATABASE}?sslmode=disable",
        "tls_url": tls, "ca": os.path.join(d, "ca.crt"), "wrong_ca": os.path.join(d, "wrong-ca.crt"),
    }


def load(target: str) -> dict:
    path = target if target.endswith(".json") else os.path.join(target, "cluster.json")
    with open(path) as f:
        return json.load(f)


def pg_ctl_start(info: dict, cpu: str = None) -> bool:
    d = info["dir"]
    # Throwaway data: no fsync, unless the cluster is --durable. Tests open many pools at once.
    fast = [] if info.get("durable") else ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
    cpu = cpu or info.get("cpu")
    settings = [
        f"-p {info['port']}", f"-k {info['socket_dir']}", "-c listen_addresses=127.0.0.1",
        *fast, "-c max_connections=300", "-c shared_buffers=32MB", "-c ssl=on", f"-c ssl_cert_file={d}/server.crt", f"-c ssl_key_file={d}/server.key",
        f"-c ssl_ca_file={d}/ca.crt", "-c log_min_messages=warning", "-c logging_collector=off",
    ]
    cmd = [os.path.join(info["bindir"], "pg_ctl"), "-D", os.path.join(d, "data"), "-l", os.path.join(d, "server.log"),
           "-w", "-t", "60", "-o", " ".join(settings), "start"]
    if cpu:
        cmd = ["taskset", "-c", cpu] + cmd
    result = subprocess.run(as_owner(cmd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return result.returncode == 0


def pg_ctl_stop(info: dict, mode: str) -> None:
    data = os.path.join(info["dir"], "data")
    if not os.path.exists(os.path.join(data, "postmaster.pid")):
        return
    subprocess.run(as_owner([os.path.join(info["bindir"], "pg_ctl"), "-D", data, "-m", mode, "-w", "-t", "30", "stop"]),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def remove(info: dict) -> None:
    pg_ctl_stop(info, "immediate")
    shutil.rmtree(info["dir"], ignore_errors=True)


def psql(info: dict, sql: str, database: str = None) -> str:
    cmd = [os.path.join(info["bindir"], "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
           "-h", info["socket_dir"], "-p", str(info["port"]), "-U", info["user"], "-d", database or info["database"],
           "-c", sql]
    return run(cmd, env=dict(os.environ, PGPASSWORD=info["password"])).stdout


def watchdog(pid: int, info: dict) -> None:
    """Forks a detached process that removes the cluster once `pid` is gone (or the cluster is)."""
    if os.fork() != 0:
        return
    os.setsid()
    if os.fork() != 0:
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.closerange(3, 1024)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while os.path.isdir(info["dir"]):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            remove(info)
            break
        except PermissionError:
            pass
        time.sleep(0.5)
    os._exit(0)


def start(args: list) -> None:
    target_dir = None
    watch = None
    cpu = None
    state = None
    durable = False
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--dir":
            target_dir = args[i + 1]
            i += 1
        elif a == "--watch-pid":
            watch = int(args[i + 1])
            i += 1
        elif a == "--watch-parent":
            watch = os.getppid()
        elif a == "--cpu":
            cpu = args[i + 1]
            i += 1
        elif a == "--durable":
            durable = True
        elif a == "--state":
            state = args[i + 1]
            i += 1
        else:
            fail(f"unknown argument {a!r} (see --help)", 2)
        i += 1

    if os.environ.get("CHATKIT_SKIP_POSTGRES") == "1":
        print("SKIPPED: CHATKIT_SKIP_POSTGRES=1, no PostgreSQL cluster started")
        sys.exit(SKIPPED_STATUS)
    if state and os.path.exists(state):
        # What a killed run left behind (its watchdog normally removes it).
        try:
            remove(load(state))
        except (OSError, ValueError, KeyError):
            pass
        os.remove(state)
    bindir = find_bindir()
    uid, gid = owner_ids()
    if target_dir:
        os.makedirs(target_dir, exist_ok=False)
        d = os.path.abspath(target_dir)
    else:
        d = tempfile.mkdtemp(prefix="chatkit-pg-")
    os.chmod(d, 0o700)
    try:
        check_reachable(d)
    except SystemExit:
        shutil.rmtree(d, ignore_errors=True)
        raise
    password = secrets.token_hex(16)
    def describe_all(port: int) -> dict:
        out = describe(d, bindir, port, password)
        out.update(durable=durable, cpu=cpu)
        return out

    info = describe_all(0)
    try:
        os.makedirs(info["socket_dir"])
        make_certificates(d)
        with open(os.path.join(d, "pwfile"), "w") as f:
            f.write(password + "\n")
        for root, dirs, files in os.walk(d):
            for name in dirs + files:
                os.chown(os.path.join(root, name), uid, gid)
        os.chown(d, uid, gid)
        run(as_owner([os.path.join(bindir, "initdb"), "-D", os.path.join(d, "data"), "-U", USER,
                      f"--pwfile={d}/pwfile", "--auth-local=trust", "--auth-host=scram-sha-256",
                      "-E", "UTF8", "--locale=C", "--no-sync"]))
        if watch:
            watchdog(watch, info)
        for _ in range(5):
            info.update(describe_all(free_port()))
            if pg_ctl_start(info, cpu):
                break
        else:
            with open(os.path.join(d, "server.log")) as f:
                log = f.read()[-3000:]
            fail(f"pg_ctl start failed five times; server log:\n{log}")
        psql(info, f"CREATE DATABASE {DATABASE}", database="postgres")
    except BaseException:
        remove(info)
        raise
    text = json.dumps(info, indent=1)
    with open(os.path.join(d, "cluster.json"), "w") as f:
        f.write(text)
    if state:
        with open(state, "w") as f:
            f.write(text)
    print(text, flush=True)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        sys.exit(0 if len(sys.argv) >= 2 else 2)
    command, args = sys.argv[1], sys.argv[2:]
    if command == "start":
        start(args)
    elif command == "stop" and len(args) == 1:
        target = args[0]
        if not os.path.exists(target):
            return
        info = load(target)
        remove(info)
        if target.endswith(".json"):
            os.remove(target)
    elif command == "stop-server" and len(args) == 1:
        pg_ctl_stop(load(args[0]), "fast")
    elif command == "start-server" and len(args) == 1:
        if not pg_ctl_start(load(args[0])):
            fail("pg_ctl start failed")
    elif command == "createdb" and len(args) == 2:
        psql(load(args[0]), f'CREATE DATABASE "{args[1]}"', database="postgres")
    elif command == "psql" and len(args) == 2:
        sys.stdout.write(psql(load(args[0]), args[1]))
    else:
        fail(f"bad command line {sys.argv[1:]!r} (see --help)", 2)


if __name__ == "__main__":
    main()
