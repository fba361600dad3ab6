#!/usr/bin/env bash
# Builds and unit-tests examples/web outside the source tree: tests/web/run.sh SRC_DIR WORK_DIR
#
# Copies the app (without node_modules/ and dist/) into WORK_DIR, installs the pinned packages
# (package-lock.json, `npm ci`) when they changed, runs the Vitest tests and the Vite build.
set -euo pipefail

# A Node.js of at least 20.19 (the system's, else the one install-deps.sh --test fetched), first on PATH.
# shellcheck source=scripts/node-env.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/node-env.sh"
chatkit_use_node

SRC="$1"
WORK="$2"
mkdir -p "$WORK"
(cd "$SRC" && tar --exclude=./node_modules --exclude=./dist -cf - .) | (cd "$WORK" && tar -xf -)
cd "$WORK"
if [[ ! -d node_modules ]] || ! cmp -s package-lock.json node_modules/.installed-lock.json; then
    npm ci --no-audit --no-fund
    cp package-lock.json node_modules/.installed-lock.json
fi
npx vitest run
CHATKIT_WEB_OUT_DIR="$WORK/dist" npx vite build
test -f "$WORK/dist/index.html"
