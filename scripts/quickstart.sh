#!/usr/bin/env bash
# Installs what is missing, builds the quickstart example and starts it on http://127.0.0.1:8000.
#
#   scripts/quickstart.sh [quickstart options...]
#
# Extra arguments go to the quickstart server (try --help). Stop it with Ctrl-C.
# CHATKIT_JOBS=N sets the build parallelism (default 2).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/install-deps.sh

cmake_args=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo)
if command -v ccache >/dev/null 2>&1; then
    cmake_args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$ROOT}"
fi
cmake -S . -B build/release "${cmake_args[@]}"
cmake --build build/release --target quickstart -j "${CHATKIT_JOBS:-2}"

exec build/release/examples/quickstart/quickstart --host 127.0.0.1 --port 8000 "$@"
