#!/usr/bin/env bash
# Runs the playground browser test: tests/browser/run.sh PATH/TO/quickstart
#
# Installs the pinned playwright-core (package-lock.json) on first use; the browser is the system
# Chromium (scripts/install-deps.sh --test), never a downloaded one. CHROMIUM_PATH overrides
# /usr/bin/chromium.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"

# A Node.js of at least 20.19 (the system's, else the one install-deps.sh --test fetched), first on PATH.
# shellcheck source=scripts/node-env.sh
source "$HERE/../../scripts/node-env.sh"
chatkit_use_node

if (($# < 1)) && [[ -z "${QUICKSTART_BIN:-}" ]]; then
    echo "usage: $0 PATH/TO/quickstart (or set QUICKSTART_BIN)" >&2
    exit 2
fi

# (Re)install when node_modules is missing or was installed from another package-lock.json.
if [[ ! -d node_modules/playwright-core ]] || ! cmp -s package-lock.json node_modules/.installed-lock.json; then
    # Never let a Playwright install step try to fetch a browser of its own.
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
    cp package-lock.json node_modules/.installed-lock.json
fi

exec node playground.spec.mjs "$@"
