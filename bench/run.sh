#!/usr/bin/env bash
# bench/run.sh: chatkit-cpp against the Python reference, the Node SDK and the raw limit.
#
# Builds examples/bench_server (Release), then starts in turn, on 127.0.0.1, each server that
# implements the shared bench contract (../shared/bench/CONTRACT.md):
#   cpp         bench_server --store memory           (this SDK)
#   cpp-sqlite  bench_server --store sqlite           (this SDK, SqliteStore on a temp file)
#   cpp-postgres bench_server --store postgres        (this SDK, PostgresStore on a throwaway local
#                                                     PostgreSQL with its durable defaults, pinned
#                                                     to LOAD_CPUS; tests/support/pg_cluster.py)
#   python      the Python reference peer             (openai-chatkit on uvicorn, 1 worker)
#   node        the Node peer                         (chatkit-node-backend-sdk on Express)
#   limit       the raw Beast server of pre-serialized replies, 1 thread (the machine's limit)
# For each: times the first request after start (bench/first_request.py), runs every scenario of
# the shared load runner with the same settings (server pinned to SERVER_CPUS, load to LOAD_CPUS),
# stops it; then, for BIG_HOLD_CONFIGS and BIG_HOLD > 0, holds BIG_HOLD streams open on a fresh
# server to measure memory per open stream. Prints one table of figures and ratios (bench/compare.py).
#
#   bench/run.sh                      # everything: 7.5 minutes on a fresh 2-core machine, build included
#   CONFIGS="cpp limit" bench/run.sh  # a subset
#
# Env (defaults):
#   CHATKIT_SHARED_DIR   the shared folder holding bench/ (<repo>/../shared)
#   CHATKIT_BENCH_BUILD  build directory (<repo>/build/bench-release)
#   CHATKIT_BENCH_SERVER a prebuilt bench_server to use instead of building one
#   CHATKIT_HOLD_LOAD    the big hold's load tool (<build>/bench/chatkit_hold_load, built with
#                        bench_server; without it the runner's Python client holds the streams)
#   CHATKIT_PYTHON_SRC   a chatkit-python checkout for the Python peer (else an installed
#                        openai-chatkit); the peer also needs pydantic 2 and uvicorn with httptools
#                        and uvloop (Debian: apt-get install python3-uvicorn python3-httptools
#                        python3-uvloop). When it does not load, its column is skipped.
#   PEER_PYTHON          interpreter of the Python peer (python3)
#   PG_PARAMS            extra URL parameters for cpp-postgres, e.g. "pool_size=16" or
#                        "options=-c%20synchronous_commit%3Doff" (no fsync per commit, as SQLite's NORMAL)
#   CONFIGS              "cpp cpp-sqlite cpp-postgres python node limit"
#   SERVER_CPUS=0 LOAD_CPUS=1   taskset pinning (ignored on a 1-CPU machine)
#   DUR=5 WARMUP=2 CONNS=16 LAT_COUNT=300 HOLD_STREAMS=1000   load runner settings
#   BIG_HOLD=10000 BIG_HOLD_CONFIGS="cpp" BIG_HOLD_N=1 BIG_HOLD_MS=20000   the many-streams memory
#                        run: BIG_HOLD streams 'slow N MS' held open at once on a fresh server, after
#                        the runner's own hold of HOLD_STREAMS streams (BIG_HOLD=0 skips it; the
#                        runner's Python client opens a few hundred connections per second on a busy
#                        core, so the plateau it reports says how many were open at once)
#   BASE_PORT=18110      ports BASE_PORT..BASE_PORT+4
#   OUT                  results directory (<build>/results/<utc time>)
# Needs: cmake, a C++20 compiler, Boost 1.81 (the SDK's own dependencies), wrk, python3 >= 3.10,
# PostgreSQL 15's server programs for cpp-postgres (postgresql-15; skipped with a message without them),
# Node >= 18 + npm for the Node peer (npm installs its packages on first use). No PyPI access.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${CHATKIT_SHARED_DIR:-$REPO/../shared}
BUILD=${CHATKIT_BENCH_BUILD:-$REPO/build/bench-release}
CONFIGS=${CONFIGS:-"cpp cpp-sqlite cpp-postgres python node limit"}
SERVER_CPUS=${SERVER_CPUS:-0}
LOAD_CPUS=${LOAD_CPUS:-1}
BIG_HOLD=${BIG_HOLD:-10000}
BIG_HOLD_CONFIGS=${BIG_HOLD_CONFIGS:-cpp}
BIG_HOLD_N=${BIG_HOLD_N:-1}
BIG_HOLD_MS=${BIG_HOLD_MS:-20000}
BASE_PORT=${BASE_PORT:-18110}
export DUR=${DUR:-5} WARMUP=${WARMUP:-2} CONNS=${CONNS:-16} LAT_COUNT=${LAT_COUNT:-300} \
       HOLD_STREAMS=${HOLD_STREAMS:-1000}
OUT=${OUT:-$BUILD/results/$(date -u +%Y%m%d-%H%M%S)}
T_START=$(date +%s)

say() { echo "== $*" >&2; }
die() { echo "bench/run.sh: $*" >&2; exit 1; }
has_cfg() { case " $CONFIGS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

[ -f "$SHARED/bench/CONTRACT.md" ] || die "no bench contract at $SHARED/bench (set CHATKIT_SHARED_DIR)"
command -v wrk >/dev/null || die "wrk is missing (apt-get install -y wrk)"
command -v python3 >/dev/null || die "python3 is missing"
PIN_SERVER=() PIN_LOAD=""
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  PIN_SERVER=(taskset -c "$SERVER_CPUS"); PIN_LOAD=$LOAD_CPUS
fi
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
mkdir -p "$OUT" "$BUILD"

# The shared folder may be read-only: work on a copy (keeps the built limit and node_modules).
WORK=$BUILD/ckbench
if [ ! -f "$WORK/CONTRACT.md" ] || ! cmp -s "$SHARED/bench/load/ckbench.py" "$WORK/load/ckbench.py"; then
  rm -rf "$WORK"; cp -r "$SHARED/bench" "$WORK"; chmod -R u+w "$WORK"
fi

# 1. builds and installs
SERVER_BIN=${CHATKIT_BENCH_SERVER:-}
HOLD_BIN=${CHATKIT_HOLD_LOAD:-$BUILD/bench/chatkit_hold_load}
if has_cfg cpp || has_cfg cpp-sqlite || has_cfg cpp-postgres; then
  if [ -z "$SERVER_BIN" ]; then
    say "building bench_server (Release) in $BUILD"
    cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCHATKIT_BUILD_TESTS=OFF \
      -DCHATKIT_BUILD_EXAMPLES=ON ${CMAKE_GENERATOR:+-G "$CMAKE_GENERATOR"} >"$OUT/cmake.log" 2>&1 \
      || die "cmake configure failed: $OUT/cmake.log"
    cmake --build "$BUILD" --target bench_server chatkit_hold_load -j "${JOBS:-$(nproc)}" >"$OUT/build.log" 2>&1 \
      || die "build failed: $OUT/build.log"
    SERVER_BIN=$BUILD/examples/bench_server/bench_server
  fi
  [ -x "$SERVER_BIN" ] || die "no bench_server at $SERVER_BIN"
fi
if has_cfg limit && [ ! -x "$WORK/limit/build/limit-server" ]; then
  say "building the limit server"
  "$WORK/limit/build.sh" >"$OUT/limit-build.log" 2>&1 || die "limit build failed: $OUT/limit-build.log"
fi
if has_cfg node; then
  if ! command -v node >/dev/null; then
    say "node is missing: skipping the Node peer"; CONFIGS=${CONFIGS/node/}
  elif [ ! -d "$WORK/peers/node/node_modules/chatkit-node-backend-sdk" ]; then
    say "installing the Node peer's packages (npm ci)"
    (cd "$WORK/peers/node" && npm ci --no-audit --no-fund >"$OUT/npm.log" 2>&1) \
      || { say "npm ci failed ($OUT/npm.log): skipping the Node peer"; CONFIGS=${CONFIGS/node/}; }
  fi
fi
# cpp-postgres: one durable cluster for its runs, on the load CPU (the database is the server's
# dependency, not the server: it must not take the server's CPU), each server start in a new schema.
PGSTATE=""
PGSCHEMA=0
if has_cfg cpp-postgres; then
  PGSTATE=$OUT/postgres-cluster.json
  say "cpp-postgres: starting a throwaway PostgreSQL (durable settings) on cpus '${PIN_LOAD:-any}'"
  if ! python3 "$REPO/tests/support/pg_cluster.py" start --durable --watch-pid $$ --state "$PGSTATE" \
      ${PIN_LOAD:+--cpu "$PIN_LOAD"} >"$OUT/postgres-start.log" 2>&1; then
    say "no PostgreSQL cluster ($(tail -1 "$OUT/postgres-start.log")): skipping cpp-postgres"
    CONFIGS=${CONFIGS/cpp-postgres/}; PGSTATE=""
  fi
fi
PEER_PYTHON=${PEER_PYTHON:-python3}
PY_VERSIONS=""
if has_cfg python; then
  if PY_VERSIONS=$(cd "$WORK/peers/python" && "$PEER_PYTHON" server.py --versions 2>"$OUT/python-versions.err"); then :
  else
    say "the Python peer does not load ($(tail -1 "$OUT/python-versions.err")): skipping it"
    CONFIGS=${CONFIGS/python/}
  fi
fi

{
  echo "date: $(date -u +%FT%TZ)   commit: $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "host: $(nproc) cpus ($(awk -F: '/model name/{print $2; exit}' /proc/cpuinfo | sed 's/^ *//')), load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "server cpus '${PIN_SERVER[*]:-any}', load cpus '${PIN_LOAD:-any}'; DUR=$DUR WARMUP=$WARMUP CONNS=$CONNS HOLD_STREAMS=$HOLD_STREAMS BIG_HOLD=$BIG_HOLD"
  [ -z "$PY_VERSIONS" ] || echo "python peer: $PY_VERSIONS"
  ! has_cfg node || echo "node $(node --version)"
} | tee "$OUT/env.txt" >&2

# 2. the servers, one at a time
SPID=""
stop_server() {
  if [ -n "$SPID" ] && kill -0 "$SPID" 2>/dev/null; then
    kill "$SPID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SPID" 2>/dev/null || true
  fi
  SPID=""
}
stop_postgres() {
  [ -z "$PGSTATE" ] || python3 "$REPO/tests/support/pg_cluster.py" stop "$PGSTATE" >/dev/null 2>&1 || true
  PGSTATE=""
}
trap 'stop_server; stop_postgres' EXIT INT TERM

DBDIR=""
server_cmd() {  # config port -> the command line in CMD (run from the directory in CWD)
  local cfg=$1 port=$2
  CWD=$WORK
  case $cfg in
    cpp) CMD=("$SERVER_BIN" --port "$port" --store memory) ;;
    cpp-sqlite)
      rm -rf "$DBDIR"; DBDIR=$(mktemp -d "${TMPDIR:-/tmp}/chatkit-bench-db.XXXXXX")
      CMD=("$SERVER_BIN" --port "$port" --store sqlite --db "$DBDIR/bench.db") ;;
    cpp-postgres)
      PGSCHEMA=$((PGSCHEMA + 1))
      local url
      url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$PGSTATE")
      CMD=("$SERVER_BIN" --port "$port" --store postgres --db "$url&schema=bench_$PGSCHEMA${PG_PARAMS:+&$PG_PARAMS}") ;;
    python) CWD=$WORK/peers/python; CMD=(env "PORT=$port" "$PEER_PYTHON" server.py) ;;
    node) CWD=$WORK/peers/node; CMD=(env "PORT=$port" node server.mjs) ;;
    limit) CMD=("$WORK/limit/build/limit-server" --port "$port" --threads 1) ;;
    *) die "unknown config $cfg" ;;
  esac
}

start_server() {  # config port first-json -> SPID
  local cfg=$1 port=$2 json=$3
  server_cmd "$cfg" "$port"
  (cd "$CWD" && python3 "$REPO/bench/first_request.py" --port "$port" --log "$OUT/$cfg.server.log" \
      -- "${PIN_SERVER[@]}" "${CMD[@]}") >"$json" || { say "$cfg did not start (see $OUT/$cfg.server.log)"; return 1; }
  SPID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$json")
}

i=0
for cfg in $CONFIGS; do
  port=$((BASE_PORT + i)); i=$((i + 1))
  say "$cfg: start + first request"
  start_server "$cfg" "$port" "$OUT/$cfg.first.json" || continue
  say "$cfg: load runner (pid $SPID, port $port)"
  LOAD_CPUS=$PIN_LOAD JSON_OUT="$OUT/$cfg.json" SERVER_PID=$SPID \
    "$WORK/load/run.sh" "http://127.0.0.1:$port/chatkit" --quiet >"$OUT/$cfg.txt" 2>"$OUT/$cfg.err" \
    || say "$cfg: load run failed, see $OUT/$cfg.err"
  sed -n '1,30p' "$OUT/$cfg.txt" >&2
  stop_server
  case " $BIG_HOLD_CONFIGS " in *" $cfg "*)
    if [ "$BIG_HOLD" -gt 0 ]; then
      say "$cfg: $BIG_HOLD open streams 'slow $BIG_HOLD_N $BIG_HOLD_MS' on a fresh server"
      if start_server "$cfg" "$port" "$OUT/$cfg.first2.json"; then
        PIN=(); [ -z "$PIN_LOAD" ] || PIN=(taskset -c "$PIN_LOAD")
        if [ -x "$HOLD_BIN" ]; then  # C++: holds tens of thousands, from several loopback addresses
          timeout -k 5 150 "${PIN[@]}" "$HOLD_BIN" --url "http://127.0.0.1:$port/chatkit" --pid "$SPID" \
            --streams "$BIG_HOLD" --text "slow $BIG_HOLD_N $BIG_HOLD_MS" --timeout 140 \
            >"$OUT/$cfg.hold.json" 2>"$OUT/$cfg.hold.err" || say "$cfg: big hold failed, see $OUT/$cfg.hold.err"
        else
          SERVER_PID=$SPID timeout -k 5 150 "${PIN[@]}" python3 "$WORK/load/ckbench.py" hold \
            "http://127.0.0.1:$port/chatkit" --streams "$BIG_HOLD" --n "$BIG_HOLD_N" --ms "$BIG_HOLD_MS" \
            >"$OUT/$cfg.hold.json" 2>"$OUT/$cfg.hold.err" || say "$cfg: big hold failed, see $OUT/$cfg.hold.err"
        fi
        stop_server
      fi
    fi ;;
  esac
  sleep 1
done
[ -z "$DBDIR" ] || rm -rf "$DBDIR"
stop_postgres

# 3. the table
{
  echo
  cat "$OUT/env.txt"
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg); total $(( $(date +%s) - T_START )) s; results in $OUT"
  echo
  python3 "$REPO/bench/compare.py" "$OUT"
} | tee "$OUT/table.md"
