#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each one for a bounded time.
#
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]
#
# SECONDS_PER_TARGET defaults to 60. Each target starts from its seed corpus fuzz/corpus/<target>/
# (read-only) and keeps what it discovers in <build>/corpus/<target>/; a crash, leak, sanitizer
# report or timeout ends the target with the reproducer in <build>/artifacts/<target>/ and makes
# the script exit non-zero. Reproduce one with `<build>/fuzz/<target> <file>`.
#
# Environment (all optional):
#   CHATKIT_FUZZ_BUILD_DIR  build directory (default build/fuzz)
#   CHATKIT_FUZZ_CXX        the clang++ to use (default clang++-14, else clang++)
#   CHATKIT_JOBS            build parallelism (default 2)
#   CHATKIT_FUZZ_SKIP_BUILD=1  reuse the build directory as it is
#   CHATKIT_FUZZ_ARGS       extra libFuzzer flags, e.g. "-max_len=65536"
#   CHATKIT_FUZZ_SEED       libFuzzer -seed (default 1, so a run from the same corpus mutates the
#                           same way; 0 lets libFuzzer pick one)
#
# The run takes about SECONDS_PER_TARGET x targets plus the build; the summary prints each target's
# time, executions and result.
set -euo pipefail

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
    sed -n '2,23s/^# \{0,1\}//p' "$0"
    exit 0
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_PER_TARGET="${1:-60}"
shift || true
if [[ ! "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]]; then
    echo "fuzz/run.sh: SECONDS_PER_TARGET must be a number, not '$SECONDS_PER_TARGET'" >&2
    exit 2
fi

BUILD="${CHATKIT_FUZZ_BUILD_DIR:-$ROOT/build/fuzz}"
JOBS="${CHATKIT_JOBS:-2}"
CXX_BIN="${CHATKIT_FUZZ_CXX:-}"
if [[ -z "$CXX_BIN" ]]; then
    if command -v clang++-14 >/dev/null 2>&1; then CXX_BIN=clang++-14; else CXX_BIN=clang++; fi
fi
if ! command -v "$CXX_BIN" >/dev/null 2>&1; then
    echo "fuzz/run.sh: $CXX_BIN not found (scripts/install-deps.sh --test installs clang)" >&2
    exit 1
fi

TARGETS=("$@")

if [[ "${CHATKIT_FUZZ_SKIP_BUILD:-0}" != "1" ]]; then
    launcher=()
    if command -v ccache >/dev/null 2>&1; then
        launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
        export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$ROOT}"
        export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-pch_defines,time_macros}"
    fi
    # Debug info with optimisation: libFuzzer wants speed, the reports want line numbers.
    cmake -S "$ROOT" -B "$BUILD" -G Ninja "${launcher[@]}" \
        -DCMAKE_CXX_COMPILER="$CXX_BIN" \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCHATKIT_BUILD_FUZZERS=ON \
        -DCHATKIT_BUILD_TESTS=OFF -DCHATKIT_BUILD_EXAMPLES=OFF -DCHATKIT_WITH_SQLITE=OFF \
        -DCHATKIT_INSTALL=OFF
fi
# The configure step lists the targets this tree has (fuzz_sse and fuzz_jwt need the net and auth code).
if ((${#TARGETS[@]} == 0)); then
    while read -r name; do [[ -n "$name" ]] && TARGETS+=("$name"); done <"$BUILD/fuzz/targets.txt"
fi
if [[ "${CHATKIT_FUZZ_SKIP_BUILD:-0}" != "1" ]]; then
    cmake --build "$BUILD" -j "$JOBS" --target "${TARGETS[@]}"
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

SEED="${CHATKIT_FUZZ_SEED:-1}"
if [[ ! "$SEED" =~ ^[0-9]+$ ]]; then
    echo "fuzz/run.sh: CHATKIT_FUZZ_SEED must be a number, not '$SEED'" >&2
    exit 2
fi
seed_arg=()
if ((SEED != 0)); then seed_arg=(-seed="$SEED"); fi

status=0
declare -A RESULT
for target in "${TARGETS[@]}"; do
    bin="$BUILD/fuzz/$target"
    seeds="$ROOT/fuzz/corpus/$target"
    corpus="$BUILD/corpus/$target"
    artifacts="$BUILD/artifacts/$target"
    mkdir -p "$corpus" "$artifacts"
    dict=()
    if [[ -f "$ROOT/fuzz/$target.dict" ]]; then dict=(-dict="$ROOT/fuzz/$target.dict"); fi
    read -r -a extra <<<"${CHATKIT_FUZZ_ARGS:-}"
    printf '\n==> %s for %ss\n' "$target" "$SECONDS_PER_TARGET"
    rc=0
    began=$SECONDS
    log="$BUILD/artifacts/$target.log"
    # New inputs go to the first directory only; the seed corpus stays as committed.
    "$bin" "$corpus" "$seeds" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" "${seed_arg[@]}" "${dict[@]}" "${extra[@]}" \
        2>&1 | tee "$log" || rc=${PIPESTATUS[0]}
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    took="$((SECONDS - began))s, ${runs:-?} runs"
    if ((rc == 0)); then
        RESULT[$target]="ok ($took)"
    else
        RESULT[$target]="FAILED (exit $rc after $took; reproducer in $artifacts/)"
        status=1
    fi
done

printf '\n==================== fuzz summary ====================\n'
for target in "${TARGETS[@]}"; do printf '  %-22s %s\n' "$target" "${RESULT[$target]}"; done
exit "$status"
