#!/usr/bin/env bash
# The one command that builds chatkit-cpp and runs every test (README.md and .ci/run use it).
#
# Phases, in order:
#   deps           scripts/install-deps.sh --test
#   release-build  RelWithDebInfo, warnings as errors, Ninja, in build/release
#   release-tests  ctest in build/release (all labels but soak and postgres: unit, integration, packaging, ...)
#   soak           ctest label soak in build/release: tests/soak/soak.py against the quickstart on SQLite
#                  with a fake model provider that fails now and then, for CHATKIT_SOAK_SECONDS of load
#   asan           Debug + address,undefined sanitizers in build/asan; ctest labels unit, integration,
#                  agents, postgres
#   tsan           Debug + thread sanitizer in build/tsan; ctest labels integration (every test server on
#                  4 threads, CHATKIT_TEST_SERVER_THREADS=4) and postgres (PostgresStore's pool and
#                  connections under multi-threaded io_contexts), suppressions in tests/tsan.supp
#   conformance    conformance_server against the conformance kit (compare --strict-errors), on the
#                  memory and SQLite stores
#   postgres       ctest label postgres in build/release (a throwaway PostgreSQL cluster started by
#                  tests/support/pg_cluster.py: the store contract and the PostgreSQL tests of
#                  PostgresStore, two quickstart instances sharing one database), then the conformance
#                  kit against conformance_server --store postgres on a cluster of its own
#   install        cmake --install build/release into a temp prefix, then the tests/cmake/find_package
#                  consumer built against it
#   fuzz           fuzz/run.sh: the libFuzzer targets (clang, ASan + UBSan) in build/fuzz, each for
#                  CHATKIT_FUZZ_SECONDS
#   clang-tidy     scripts/clang-tidy-changed.py: clang-tidy (.clang-tidy) on the C++ files changed
#                  since the merge base with origin/main (else the last commit; nothing in a depth-1
#                  clone), with build/release/compile_commands.json; a finding on a changed line fails
#                  the phase; no translation unit starts after CHATKIT_TIDY_BUDGET seconds
#
# Environment (all optional):
#   CHATKIT_SKIP_DEPS=1 CHATKIT_SKIP_BUILD=1 CHATKIT_SKIP_TESTS=1 CHATKIT_SKIP_ASAN=1
#   CHATKIT_SKIP_TSAN=1 CHATKIT_SKIP_CONFORMANCE=1 CHATKIT_SKIP_INSTALL=1 CHATKIT_SKIP_FUZZ=1
#   CHATKIT_SKIP_TIDY=1 CHATKIT_SKIP_SOAK=1 CHATKIT_SKIP_POSTGRES=1
#                        skip a phase (SKIP_BUILD reuses build/release as it is; SKIP_TESTS skips the
#                        release ctest run; SKIP_POSTGRES also skips the PostgreSQL tests of the asan
#                        phase, which then say so)
#   CHATKIT_JOBS=N       build and ctest parallelism (default 2)
#   CHATKIT_CTEST_ARGS   extra ctest arguments for every ctest run, e.g. "-R protocol"
#   CHATKIT_CMAKE_ARGS   extra arguments for the release, asan and tsan configure steps
#   CHATKIT_SHARED_DIR   the shared/ folder that holds conformance/ (default: ../shared beside the repo)
#   CHATKIT_FUZZ_SECONDS seconds per fuzz target (default 30)
#   CHATKIT_SOAK_SECONDS seconds of soak load (default 40)
#   CHATKIT_TIDY_BASE    the git revision clang-tidy diffs against (default: merge base with origin/main)
#   CHATKIT_TIDY_BUDGET  seconds after which clang-tidy starts no further translation unit (default 600)
#
# Every phase runs by default; docs/reliability.md has each phase's CI time budget (90 minutes in all).
#
# Every phase runs even when an earlier one failed (unless it needs a build that failed); a summary
# closes the output and the exit status is non-zero when anything failed.

# The phase functions are called indirectly (run_phase NAME VAR FUNCTION), which shellcheck reads as
# unreachable code.
# shellcheck disable=SC2317
set -euo pipefail

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
    sed -n '2,/^$/{/^$/q;s/^# \{0,1\}//p}' "$0"
    exit 0
fi
if (($# > 0)); then
    echo "test.sh: takes no arguments (configure it with CHATKIT_* variables, see --help)" >&2
    exit 2
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

JOBS="${CHATKIT_JOBS:-2}"
: "${CHATKIT_SKIP_TSAN:=0}" "${CHATKIT_SKIP_FUZZ:=0}" "${CHATKIT_SKIP_TIDY:=0}" "${CHATKIT_SKIP_SOAK:=0}"
: "${CHATKIT_SKIP_POSTGRES:=0}"
export CHATKIT_SKIP_TSAN CHATKIT_SKIP_FUZZ CHATKIT_SKIP_TIDY CHATKIT_SKIP_SOAK CHATKIT_SKIP_POSTGRES
RELEASE_DIR="build/release"
ASAN_DIR="build/asan"
TSAN_DIR="build/tsan"
FUZZ_DIR="build/fuzz"
read -r -a CTEST_EXTRA <<<"${CHATKIT_CTEST_ARGS:-}"
read -r -a CMAKE_EXTRA <<<"${CHATKIT_CMAKE_ARGS:-}"

CMAKE_COMMON=(-G Ninja)
if command -v ccache >/dev/null 2>&1; then
    CMAKE_COMMON+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    # Relative paths in the cache key let a fresh clone elsewhere (CI) reuse this checkout's cache;
    # the sloppiness lets ccache cache the TUs that use the tests' precompiled header.
    export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$ROOT}"
    export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-pch_defines,time_macros}"
fi

STATE_DIR="$(mktemp -d "${TMPDIR:-/tmp}/chatkit-test.XXXXXX")"
trap 'rm -rf "$STATE_DIR"' EXIT
# Ctrl-C ends the whole run (bash acts on it once the running phase has cleaned up), not one phase.
trap 'echo; echo "test.sh: interrupted" >&2; exit 130' INT
trap 'echo "test.sh: terminated" >&2; exit 143' TERM

# ---------------------------------------------------------------------------------------------
# Helpers

say() { printf '\n==> %s\n' "$*"; }

fmt_duration() {
    local s=$1
    if ((s >= 60)); then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi
}

# record_counts PASSED FAILED: adds to the test totals of the final summary line.
record_counts() {
    printf '%d %d\n' "$1" "$2" >>"$STATE_DIR/counts"
}

# Runs ctest with the given arguments, streaming its output, and records its pass/fail counts.
run_ctest() {
    local log="$STATE_DIR/ctest.log" rc=0
    ctest --output-on-failure --no-tests=error -j "$JOBS" "${CTEST_EXTRA[@]}" "$@" 2>&1 | tee "$log" || rc=$?
    # "100% tests passed, 0 tests failed out of 42"
    local line
    line="$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)"
    if [[ "$line" =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
        record_counts $((BASH_REMATCH[2] - BASH_REMATCH[1])) "${BASH_REMATCH[1]}"
    fi
    return "$rc"
}

PHASES=()
declare -A RESULT DURATION NOTE

# run_phase NAME SKIP_VAR FUNCTION: runs FUNCTION in a subshell with `set -e` in force (so a
# failing command ends the phase, not the script) and records its result and duration.
run_phase() {
    local name=$1 skip_var=$2 fn=$3
    PHASES+=("$name")
    if [[ "${!skip_var:-0}" == "1" ]]; then
        RESULT[$name]=skipped
        NOTE[$name]="$skip_var=1"
        DURATION[$name]=0
        say "$name: skipped ($skip_var=1)"
        return 0
    fi
    say "$name"
    local start=$SECONDS rc=0
    # `set +e` around a plain subshell (not `( ... ) || rc=$?`, where bash would ignore `set -e`
    # inside the subshell).
    set +e
    (
        set -euo pipefail
        "$fn"
    )
    rc=$?
    set -e
    DURATION[$name]=$((SECONDS - start))
    if ((rc == 0)); then
        RESULT[$name]=ok
    else
        RESULT[$name]=FAILED
        NOTE[$name]="exit status $rc"
    fi
    printf -- '--> %s: %s in %s\n' "$name" "${RESULT[$name]}" "$(fmt_duration "${DURATION[$name]}")"
}

# skip_phase NAME REASON: records a phase that cannot run because something it needs failed.
skip_phase() {
    PHASES+=("$1")
    RESULT[$1]=FAILED
    NOTE[$1]="not run: $2"
    DURATION[$1]=0
    say "$1: not run ($2)"
}

# ---------------------------------------------------------------------------------------------
# Phases

phase_deps() {
    bash scripts/install-deps.sh --test
}

phase_release_build() {
    # compile_commands.json is for the clang-tidy phase.
    cmake -S . -B "$RELEASE_DIR" "${CMAKE_COMMON[@]}" \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCHATKIT_WARNINGS_AS_ERRORS=ON \
        -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
        "${CMAKE_EXTRA[@]}"
    cmake --build "$RELEASE_DIR" -j "$JOBS"
}

phase_release_tests() {
    # Which Node.js the web and browser tests use (their runners choose it the same way).
    # shellcheck source=scripts/node-env.sh
    source scripts/node-env.sh
    chatkit_use_node || true
    # The soak (label soak) and the PostgreSQL tests (label postgres) have their own phases.
    run_ctest --test-dir "$RELEASE_DIR" -LE '^(soak|postgres)$'
}

phase_soak() {
    export CHATKIT_SOAK_SECONDS="${CHATKIT_SOAK_SECONDS:-40}"
    run_ctest --test-dir "$RELEASE_DIR" -L '^soak$'
    if [[ -f "$RELEASE_DIR/soak-report.txt" ]]; then cat "$RELEASE_DIR/soak-report.txt"; fi
}

phase_asan() {
    # Examples are off here: this variant only runs the unit and integration tests.
    cmake -S . -B "$ASAN_DIR" "${CMAKE_COMMON[@]}" \
        -DCMAKE_BUILD_TYPE=Debug \
        -DCHATKIT_SANITIZE=address,undefined \
        -DCHATKIT_BUILD_EXAMPLES=OFF \
        "${CMAKE_EXTRA[@]}"
    cmake --build "$ASAN_DIR" -j "$JOBS"
    export ASAN_OPTIONS=detect_leaks=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    run_ctest --test-dir "$ASAN_DIR" -L '^(unit|integration|agents|postgres)$'
}

phase_tsan() {
    # Integration tests only: they run real servers whose connections share the store and the
    # server object across threads. Each test server gets a 4-thread io_context.
    cmake -S . -B "$TSAN_DIR" "${CMAKE_COMMON[@]}" \
        -DCMAKE_BUILD_TYPE=Debug \
        -DCHATKIT_SANITIZE=thread \
        -DCHATKIT_BUILD_EXAMPLES=OFF \
        "${CMAKE_EXTRA[@]}"
    local targets=(chatkit_integration_tests)
    # PostgresStore's tests, when this build has chatkit::postgres.
    if grep -q '^CHATKIT_WITH_POSTGRES:BOOL=ON' "$TSAN_DIR/CMakeCache.txt"; then targets+=(chatkit_postgres_tests); fi
    cmake --build "$TSAN_DIR" -j "$JOBS" --target "${targets[@]}"
    export CHATKIT_TEST_SERVER_THREADS=4
    export TSAN_OPTIONS="suppressions=$ROOT/tests/tsan.supp halt_on_error=1 second_deadlock_stack=1 history_size=4"
    run_ctest --test-dir "$TSAN_DIR" -L '^(integration|postgres)$'
}

phase_fuzz() {
    CHATKIT_FUZZ_BUILD_DIR="$ROOT/$FUZZ_DIR" CHATKIT_JOBS="$JOBS" \
        bash fuzz/run.sh "${CHATKIT_FUZZ_SECONDS:-30}"
}

phase_clang_tidy() {
    python3 scripts/clang-tidy-changed.py --build "$RELEASE_DIR" --jobs "$JOBS" \
        --budget "${CHATKIT_TIDY_BUDGET:-600}"
}

find_shared_dir() {
    local candidate
    for candidate in "${CHATKIT_SHARED_DIR:-}" "$ROOT/../shared"; do
        if [[ -n "$candidate" && -f "$candidate/conformance/run_scenarios.py" ]]; then
            (cd "$candidate" && pwd)
            return 0
        fi
    done
    return 1
}

phase_conformance() {
    local shared
    if ! shared="$(find_shared_dir)"; then
        echo "ERROR: conformance kit not found." >&2
        echo "  Looked for conformance/run_scenarios.py in:" >&2
        if [[ -n "${CHATKIT_SHARED_DIR:-}" ]]; then
            echo "    \$CHATKIT_SHARED_DIR = $CHATKIT_SHARED_DIR" >&2
        fi
        echo "    $ROOT/../shared" >&2
        echo "  Put the shared/ folder beside the repository or set CHATKIT_SHARED_DIR." >&2
        return 1
    fi
    echo "conformance kit: $shared/conformance"

    local server="$RELEASE_DIR/examples/conformance_server/conformance_server"
    if [[ ! -x "$server" ]]; then
        echo "ERROR: $server was not built (is examples/conformance_server in the build?)" >&2
        return 1
    fi

    # The kit runs against the in-memory store and against SqliteStore (issue 4: both must pass).
    local db_dir rc=0
    db_dir="$(mktemp -d "${TMPDIR:-/tmp}/chatkit-conformance.XXXXXX")"
    conformance_run memory "$shared" "$server" --store memory || rc=1
    conformance_run sqlite "$shared" "$server" --store sqlite --db "$db_dir/conformance.db" || rc=1
    rm -rf "$db_dir"
    return "$rc"
}

phase_postgres() {
    local rc=0
    run_ctest --test-dir "$RELEASE_DIR" -L '^postgres$' || rc=1

    local shared
    if ! shared="$(find_shared_dir)"; then
        echo "ERROR: conformance kit not found (see the conformance phase); not run on PostgreSQL" >&2
        return 1
    fi
    local server="$RELEASE_DIR/examples/conformance_server/conformance_server"
    if [[ ! -x "$server" ]]; then
        echo "ERROR: $server was not built (is examples/conformance_server in the build?)" >&2
        return 1
    fi
    # A cluster of its own, removed at the end (and by its watchdog if this phase is killed).
    local state="$STATE_DIR/postgres-conformance.json"
    python3 tests/support/pg_cluster.py start --watch-pid "$BASHPID" --state "$state" >/dev/null
    local url
    url="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["url"])' "$state")"
    conformance_run postgres "$shared" "$server" --store postgres --db "$url" || rc=1
    python3 tests/support/pg_cluster.py stop "$state"
    return "$rc"
}

# conformance_run LABEL SHARED SERVER [SERVER ARGS...]: one kit run against one server process.
conformance_run() {
    local label="$1" shared="$2" server="$3"
    shift 3
    echo "--- conformance kit against conformance_server ($label store) ---"
    local out="$RELEASE_DIR/conformance-server-$label.out" err="$RELEASE_DIR/conformance-server-$label.err"
    "$server" --host 127.0.0.1 --port 0 "$@" </dev/null >"$out" 2>"$err" &
    local pid=$!
    # The server runs in the background, where SIGINT is ignored: always stop it explicitly.
    # shellcheck disable=SC2064  # expand $pid now
    trap "kill $pid 2>/dev/null || true" EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    # DESIGN.md §4: the first stdout line is exactly "listening on http://HOST:PORT".
    local line="" deadline=$((SECONDS + 30))
    while :; do
        # A complete first line (newline included) is there.
        if [[ "$(wc -l <"$out")" -ge 1 ]]; then
            line="$(head -n 1 "$out")"
            break
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            local status=0
            wait "$pid" || status=$?
            echo "ERROR: conformance_server exited with status $status before it was listening" >&2
            tail -n 40 "$err" >&2 || true
            return 1
        fi
        if ((SECONDS >= deadline)); then
            echo "ERROR: no 'listening on' line from conformance_server within 30s (is stdout flushed?)" >&2
            tail -n 40 "$err" >&2 || true
            return 1
        fi
        sleep 0.1
    done
    line="${line%$'\r'}"
    if [[ ! "$line" =~ ^listening\ on\ (http://[^[:space:]/]+)/?$ ]]; then
        echo "ERROR: unexpected first line from conformance_server: '$line'" >&2
        echo "       (DESIGN.md §4 wants exactly 'listening on http://HOST:PORT')" >&2
        return 1
    fi
    local url="${BASH_REMATCH[1]}/chatkit"
    echo "conformance_server (pid $pid) at $url"

    local rc=0 log="$STATE_DIR/conformance-$label.log"
    python3 "$shared/conformance/run_scenarios.py" compare --strict-errors --url "$url" 2>&1 | tee "$log" || rc=$?
    local summary
    summary="$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1 || true)"
    if [[ "$summary" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
        record_counts "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
    fi

    # Graceful shutdown (DESIGN.md §4: SIGTERM, then exit status 0).
    kill -TERM "$pid" 2>/dev/null || true
    local waited=0
    while kill -0 "$pid" 2>/dev/null && ((waited < 50)); do
        sleep 0.1
        waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "warning: conformance_server did not stop within 5s of SIGTERM; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    local status=0
    wait "$pid" 2>/dev/null || status=$?
    trap - EXIT
    if ((status != 0)); then
        echo "warning: conformance_server exited with status $status after SIGTERM (DESIGN.md §4 wants 0)" >&2
    fi
    if ((rc != 0)) && [[ -s "$err" ]]; then
        echo "--- conformance_server stderr (last 40 lines) ---" >&2
        tail -n 40 "$err" >&2 || true
    fi
    return "$rc"
}

phase_install() {
    local tmp
    tmp="$(mktemp -d "${TMPDIR:-/tmp}/chatkit-install.XXXXXX")"
    # shellcheck disable=SC2064  # expand $tmp now
    trap "rm -rf '$tmp'" EXIT
    local prefix="$tmp/prefix" build="$tmp/find_package"

    cmake --install "$RELEASE_DIR" --prefix "$prefix"
    cmake -S tests/cmake/find_package -B "$build" "${CMAKE_COMMON[@]}" \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_PREFIX_PATH="$prefix"
    # Make sure the consumer found the installed package, not something else.
    local found
    found="$(sed -n 's/^chatkit_DIR:[A-Z]*=//p' "$build/CMakeCache.txt")"
    if [[ "$found" != "$prefix"/* ]]; then
        echo "ERROR: find_package(chatkit) used '$found', not the install in $prefix" >&2
        return 1
    fi
    cmake --build "$build" -j "$JOBS"
    local rc=0
    "$build/chatkit_consumer" || rc=$?
    if ((rc == 0)); then record_counts 1 0; else record_counts 0 1; fi
    return "$rc"
}

# ---------------------------------------------------------------------------------------------
# Main

TOTAL_START=$SECONDS
echo "chatkit-cpp test run in $ROOT (jobs: $JOBS)"

run_phase deps CHATKIT_SKIP_DEPS phase_deps
run_phase release-build CHATKIT_SKIP_BUILD phase_release_build
release_ok=1
if [[ "${RESULT[release-build]}" == FAILED ]]; then
    release_ok=0
fi

if ((release_ok)); then
    run_phase release-tests CHATKIT_SKIP_TESTS phase_release_tests
    run_phase soak CHATKIT_SKIP_SOAK phase_soak
else
    skip_phase release-tests "release-build failed"
    skip_phase soak "release-build failed"
fi
run_phase asan CHATKIT_SKIP_ASAN phase_asan
run_phase tsan CHATKIT_SKIP_TSAN phase_tsan
if ((release_ok)); then
    run_phase conformance CHATKIT_SKIP_CONFORMANCE phase_conformance
    run_phase postgres CHATKIT_SKIP_POSTGRES phase_postgres
    run_phase install CHATKIT_SKIP_INSTALL phase_install
else
    skip_phase conformance "release-build failed"
    skip_phase postgres "release-build failed"
    skip_phase install "release-build failed"
fi
run_phase fuzz CHATKIT_SKIP_FUZZ phase_fuzz
if ((release_ok)); then
    run_phase clang-tidy CHATKIT_SKIP_TIDY phase_clang_tidy
else
    skip_phase clang-tidy "release-build failed"
fi

passed=0
failed=0
if [[ -f "$STATE_DIR/counts" ]]; then
    while read -r p f; do
        passed=$((passed + p))
        failed=$((failed + f))
    done <"$STATE_DIR/counts"
fi

status=0
printf '\n==================== summary ====================\n'
for name in "${PHASES[@]}"; do
    printf '  %-14s %-8s %8s  %s\n' "$name" "${RESULT[$name]}" \
        "$(fmt_duration "${DURATION[$name]}")" "${NOTE[$name]:-}"
    if [[ "${RESULT[$name]}" == FAILED ]]; then
        status=1
    fi
done
printf '  %-14s %-8s %8s\n' total "$( ((status == 0)) && echo ok || echo FAILED)" \
    "$(fmt_duration $((SECONDS - TOTAL_START)))"
printf 'tests: %d passed, %d failed\n' "$passed" "$failed"
exit "$status"
