#!/usr/bin/env bash
# Installs what chatkit-cpp needs on Debian bookworm, and only what is missing.
#
#   scripts/install-deps.sh          build dependencies (compiler, CMake, Ninja, Boost, OpenSSL, SQLite,
#                                    libpq, Catch2)
#   scripts/install-deps.sh --test   also what the test suite needs (Chromium, Node.js + npm, curl,
#                                    clang 14 with libFuzzer, clang-tidy, Doxygen, the PostgreSQL 15 server
#                                    the PostgreSQL tests start throwaway clusters of); when the system's Node.js
#                                    is older than the JavaScript tests need (20.19; bookworm has 18),
#                                    the pinned Node.js of the npm registry goes into .cache/node
#
# Idempotent: every package is checked with dpkg-query first; `apt-get update` and `apt-get install`
# run only when something is missing, the Node.js download only when it is not installed and
# working. Runs as root, or through sudo otherwise (the Node.js download never needs root).
set -euo pipefail

usage() {
    sed -n '2,11s/^# \{0,1\}//p' "$0"
}

with_test=0
for arg in "$@"; do
    case "$arg" in
        --test) with_test=1 ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            echo "install-deps: unknown argument '$arg' (try --help)" >&2
            exit 2
            ;;
    esac
done

# Keep this list in step with README.md and DESIGN.md ("No vendored code").
build_packages=(
    build-essential g++ cmake ninja-build ccache pkg-config
    libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
    libssl-dev libsqlite3-dev sqlite3 libpq-dev catch2
    python3 openssl git
)
# clang 14 + its runtimes (libFuzzer, sanitizers) for fuzz/run.sh, clang-tidy for the clang-tidy phase,
# doxygen for the `lint: doxygen` test (docs/Doxyfile), the PostgreSQL server (initdb, pg_ctl; its
# Debian service is never used) for the postgres phase.
test_packages=(chromium nodejs npm curl clang-14 libclang-rt-14-dev clang-tidy-14 doxygen postgresql-15)

packages=("${build_packages[@]}")
if ((with_test)); then
    packages+=("${test_packages[@]}")
fi

log() { printf 'install-deps: %s\n' "$*"; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# With --test: a Node.js the JavaScript tests can use (scripts/node-env.sh decides). When the
# system's is too old, `npm ci` of scripts/node into a fresh folder next to CHATKIT_NODE_HOME, checked
# (the binary runs and prints the pinned version), then moved into place: an interrupted download
# leaves nothing that looks installed. Fails (status 3) when it cannot be fetched.
ensure_node() {
    # shellcheck source=scripts/node-env.sh
    source "$here/node-env.sh"
    local system
    system="$(chatkit_system_node_version)"
    if [[ -n "$system" ]] && chatkit_node_new_enough "$system"; then
        log "node: system $system"
        return 0
    fi
    local why="no system Node.js"
    [[ -n "$system" ]] && why="system $system is older than $CHATKIT_NODE_MIN"
    if chatkit_node_cached_ok; then
        log "node: v$CHATKIT_NODE_PINNED from the npm registry, already in $CHATKIT_NODE_HOME ($why)"
        return 0
    fi
    local package
    if ! package="$(chatkit_node_package)"; then
        echo "install-deps: $why, and the npm registry has no Node.js build for $(uname -m):" \
            "install Node.js >= $CHATKIT_NODE_MIN yourself" >&2
        return 3
    fi
    if ! command -v npm >/dev/null 2>&1; then
        echo "install-deps: $why, and npm is missing to fetch $package@$CHATKIT_NODE_PINNED" >&2
        return 3
    fi
    log "node: $why: installing $package@$CHATKIT_NODE_PINNED from the npm registry into $CHATKIT_NODE_HOME"
    local partial="$CHATKIT_NODE_HOME.partial"
    rm -rf "$partial"
    mkdir -p "$partial"
    cp "$here/node/package.json" "$here/node/package-lock.json" "$partial/"
    # Short network timeouts: an unreachable registry fails in well under a minute. The packages are
    # optional dependencies (one per CPU), so npm skips one it cannot fetch without failing: the
    # binary's presence is the test.
    (cd "$partial" && npm ci --no-audit --no-fund --loglevel=error --fetch-timeout=20000 \
        --fetch-retries=1 --fetch-retry-mintimeout=2000 --fetch-retry-maxtimeout=5000) || true
    if [[ ! -e "$partial/node_modules/$package/bin/node" ]]; then
        rm -rf "$partial"
        echo "install-deps: could not fetch $package@$CHATKIT_NODE_PINNED from the npm registry" \
            "($(npm config get registry 2>/dev/null || echo 'registry unknown')); the JavaScript tests need it" >&2
        return 3
    fi
    local version
    version="$("$partial/node_modules/$package/bin/node" --version 2>/dev/null || true)"
    if [[ "$version" != "v$CHATKIT_NODE_PINNED" ]]; then
        rm -rf "$partial"
        echo "install-deps: $package@$CHATKIT_NODE_PINNED did not run (printed '${version:-nothing}')" >&2
        return 3
    fi
    rm -rf "$CHATKIT_NODE_HOME"
    mv "$partial" "$CHATKIT_NODE_HOME"
    log "node: v$CHATKIT_NODE_PINNED from the npm registry ($why), in $CHATKIT_NODE_HOME"
}

# The last step of every successful run.
finish() {
    if ((with_test)); then
        ensure_node || exit $?
    fi
    exit 0
}

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: dpkg-query/apt-get not found; this script supports Debian bookworm only." >&2
    echo "install-deps: install these packages (or their equivalents) by hand: ${packages[*]}" >&2
    exit 1
fi

if [[ -r /etc/os-release ]]; then
    # shellcheck source=/dev/null
    codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
    if [[ "$codename" != "bookworm" ]]; then
        log "warning: this is '${codename:-unknown}', not Debian bookworm; package names may differ"
    fi
fi

# True when the package itself is installed.
is_installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

# Prints the installed package that provides the virtual package "$1", if any. Example: the NodeSource
# build of nodejs bundles npm and declares "Provides: npm" (and conflicts with Debian's npm package),
# so installing Debian's npm there would fail.
provider_of() {
    # awk reads all of its input (no early `exit`), so dpkg-query never dies of SIGPIPE under pipefail.
    dpkg-query -W -f='${Package}\t${Status}\t${Provides}\n' 2>/dev/null |
        awk -F'\t' -v want="$1" '
            found == "" && $2 == "install ok installed" {
                n = split($3, provided, /, */)
                for (i = 1; i <= n; i++) {
                    name = provided[i]
                    sub(/ .*/, "", name)
                    if (name == want) found = $1
                }
            }
            END { if (found != "") print found }'
}

missing=()
for pkg in "${packages[@]}"; do
    if is_installed "$pkg"; then
        continue
    fi
    provider="$(provider_of "$pkg")"
    if [[ -n "$provider" ]]; then
        log "$pkg: provided by installed package '$provider'"
        continue
    fi
    missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
    log "all ${#packages[@]} packages present, nothing to do"
    finish
fi

log "missing: ${missing[*]}"

sudo_cmd=()
if ((EUID != 0)); then
    if command -v sudo >/dev/null 2>&1; then
        sudo_cmd=(sudo)
        log "not root: using sudo"
    else
        echo "install-deps: not root and sudo is not available; run as root:" >&2
        echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
        exit 1
    fi
fi

# sudo drops the environment, so the frontend setting goes through env(1). The lock timeout lets
# us wait for an apt run that is already in progress instead of failing at once.
apt=("${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300)

log "apt-get update"
"${apt[@]}" update -q

# Installing postgresql-15 normally creates and starts Debian's "main" cluster on port 5432. The tests
# never use it (they run throwaway clusters of their own), so for the length of this install a
# postgresql-common drop-in says not to create it. The drop-in is removed afterwards, so a PostgreSQL
# installed later by hand behaves as Debian intends.
no_main_cluster=""
if [[ " ${missing[*]} " == *" postgresql-15 "* ]]; then
    no_main_cluster=/etc/postgresql-common/createcluster.d/zz-chatkit-install-deps.conf
    if [[ -e "$no_main_cluster" ]]; then
        no_main_cluster=""
    else
        "${sudo_cmd[@]}" mkdir -p "$(dirname "$no_main_cluster")"
        echo "create_main_cluster = false" | "${sudo_cmd[@]}" tee "$no_main_cluster" >/dev/null
        trap '"${sudo_cmd[@]}" rm -f "$no_main_cluster"' EXIT
        log "postgresql-15: no 'main' cluster will be created (the tests make their own)"
    fi
fi

log "apt-get install ${missing[*]}"
"${apt[@]}" install -y -q --no-install-recommends "${missing[@]}"
if [[ -n "$no_main_cluster" ]]; then
    "${sudo_cmd[@]}" rm -f "$no_main_cluster"
    trap - EXIT
fi

still_missing=()
for pkg in "${missing[@]}"; do
    if ! is_installed "$pkg" && [[ -z "$(provider_of "$pkg")" ]]; then
        still_missing+=("$pkg")
    fi
done
if ((${#still_missing[@]} > 0)); then
    echo "install-deps: still missing after apt-get install: ${still_missing[*]}" >&2
    exit 1
fi
log "installed ${#missing[@]} package(s): ${missing[*]}"
finish
