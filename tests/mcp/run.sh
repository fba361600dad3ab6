#!/usr/bin/env bash
# Starts the MCP test peer (mcp_peer.mjs: the official TypeScript SDK's Streamable HTTP server) on a
# free loopback port, runs COMMAND with CHATKIT_MCP_PEER=http://127.0.0.1:PORT, stops the peer and
# exits with COMMAND's status:
#
#   tests/mcp/run.sh build/tests/mcp/chatkit_mcp_tests [catch arguments]
#   tests/mcp/run.sh python3 tests/examples/agent_server_mcp.py build/examples/agent_server/agent_server
#
# Installs the pinned @modelcontextprotocol/sdk (package-lock.json) with `npm ci` on first use. Fails,
# saying what to do, when Node.js, npm or the npm registry is missing: the tests never pass empty.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if (($# < 1)); then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 2
fi

# A Node.js of at least 20.19 (the system's, else the one install-deps.sh --test fetched), first on PATH.
# shellcheck source=scripts/node-env.sh
source "$HERE/../../scripts/node-env.sh"
if ! chatkit_use_node; then
    echo "mcp tests: FAILED, no usable Node.js: run scripts/install-deps.sh --test" >&2
    exit 1
fi
if ! command -v npm > /dev/null; then
    echo "mcp tests: FAILED, npm is missing: run scripts/install-deps.sh --test (Debian package npm)" >&2
    exit 1
fi

# (Re)install when node_modules is missing or was installed from another package-lock.json.
if [[ ! -d "$HERE/node_modules/@modelcontextprotocol/sdk" ]] ||
    ! cmp -s "$HERE/package-lock.json" "$HERE/node_modules/.installed-lock.json"; then
    if ! (cd "$HERE" && npm ci --no-audit --no-fund); then
        echo "mcp tests: FAILED, 'npm ci' in tests/mcp could not install @modelcontextprotocol/sdk:" \
            "the npm registry must be reachable (npm config get registry), or copy a node_modules" \
            "installed from tests/mcp/package-lock.json" >&2
        exit 1
    fi
    cp "$HERE/package-lock.json" "$HERE/node_modules/.installed-lock.json"
fi

LOG="$(mktemp)"
node "$HERE/mcp_peer.mjs" --port 0 > "$LOG" 2>&1 &
PEER=$!
stop_peer() {
    kill "$PEER" 2> /dev/null || true
    wait "$PEER" 2> /dev/null || true
    rm -f "$LOG"
}
trap stop_peer EXIT

URL=""
for _ in $(seq 1 200); do
    LINE="$(head -n 1 "$LOG" 2> /dev/null || true)"
    if [[ "$LINE" == "listening on http://"* ]]; then
        URL="${LINE#listening on }"
        break
    fi
    if ! kill -0 "$PEER" 2> /dev/null; then break; fi
    sleep 0.05
done
if [[ -z "$URL" ]]; then
    echo "mcp tests: FAILED, the MCP peer did not start:" >&2
    cat "$LOG" >&2
    exit 1
fi
echo "mcp peer: $URL (@modelcontextprotocol/sdk $(node -p "require('$HERE/node_modules/@modelcontextprotocol/sdk/package.json').version"))"

set +e
CHATKIT_MCP_PEER="$URL" "$@"
STATUS=$?
set -e
exit "$STATUS"
