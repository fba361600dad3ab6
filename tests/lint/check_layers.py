#!/usr/bin/env python3
"""Checks that the source tree is the layer diagram of docs/concepts.md ("Layers").

Rules, over include/ and src/ (angle-bracket `<chatkit/...>` includes and relative `"..."` ones):

  include   a file of one layer includes only the layers the table below allows it;
  net       only http/** includes Beast, Asio's ip/ssl parts (or all of Asio through
            <boost/asio.hpp>) or OpenSSL's SSL/TLS headers (auth keeps libcrypto);
  folder    every header under include/chatkit/ and every file under src/ sits in a layer folder
            (include/chatkit/chatkit.hpp, the umbrella, is the one exception), and every src/
            folder has the include/chatkit/ folder of the same name (src mirrors include);
  lines     no source file has more than 1,000 lines (include/, src/ and the examples, tests,
            benchmarks and fuzzers too).

Each violation is printed as `path:line: [rule] message`; the exit status is 1 when there is any.
`--self-test` builds a synthetic tree in a temporary folder with one violation of each kind (and a
clean tree) and checks that each is reported, so the lint cannot silently pass.
"""
import argparse
import pathlib
import re
import sys
import tempfile

# The allowed includes, lower layers only: core <- protocol <- store <- server <- agents/chatkit;
# agents (outside agents/chatkit/) and auth use core only; http may use everything.
LAYERS = ("core", "protocol", "store", "server", "agents", "agents/chatkit", "auth", "http")
ALLOWED = {
    "core": {"core"},
    "protocol": {"core", "protocol"},
    "store": {"core", "protocol", "store"},
    "server": {"core", "protocol", "store", "server"},
    "agents": {"core", "agents"},
    "agents/chatkit": {"core", "protocol", "store", "server", "agents", "agents/chatkit"},
    "auth": {"core", "auth"},
    "http": set(LAYERS),
    # chatkit/chatkit.hpp: everything but agents, auth, http and chatkit::sqlite (store/sqlite/).
    "umbrella": {"core", "protocol", "store", "server"},
}
UMBRELLA = "chatkit.hpp"
MAX_LINES = 1000

# Headers only http/** may include.
NET_INCLUDES = (
    (re.compile(r"^boost/beast(/|\.hpp$)"), "Beast"),
    (re.compile(r"^boost/asio/ip/"), "Asio's ip/ (sockets, resolvers)"),
    (re.compile(r"^boost/asio/ssl(/|\.hpp$)"), "Asio's ssl"),
    (re.compile(r"^boost/asio\.hpp$"), "all of Asio (ip/ included)"),
    (re.compile(r"^openssl/(ssl|ssl2|ssl3|tls1|dtls1|srtp)\.h$"), "OpenSSL's SSL/TLS"),
)
SOURCE_SUFFIXES = {".cpp", ".hpp", ".h", ".cc", ".ipp"}
# Folders checked by the line rule only, and the kinds of source file counted there.
OTHER_FOLDERS = ("examples", "tests", "bench", "fuzz")
OTHER_SUFFIXES = SOURCE_SUFFIXES | {".py", ".js", ".mjs", ".ts", ".tsx", ".jsx", ".sh", ".cmake"}
SKIPPED_PARTS = {"node_modules", "dist", "build", "data", "corpus"}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def layer_of(relative):
    """The layer of a path relative to include/chatkit/ or src/ (a PurePosixPath), or None."""
    parts = relative.parts
    if len(parts) < 2 or parts[0] not in {"core", "protocol", "store", "server", "agents", "auth", "http"}:
        return None
    if parts[0] == "agents" and len(parts) > 2 and parts[1] == "chatkit":
        return "agents/chatkit"
    return parts[0]


class Checker:
    def __init__(self, root):
        self.root = pathlib.Path(root).resolve()
        self.include_root = self.root / "include" / "chatkit"
        self.src_root = self.root / "src"
        self.violations = []

    def report(self, path, line, rule, message):
        self.violations.append(f"{path.relative_to(self.root)}:{line}: [{rule}] {message}")

    def files(self, folder, suffixes):
        if not folder.is_dir():
            return []
        out = []
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix in suffixes:
                if not SKIPPED_PARTS.intersection(path.relative_to(folder).parts[:-1]):
                    out.append(path)
        return out

    def where(self, path):
        """(layer or 'umbrella' or None, path relative to its root) of a file under include/chatkit or src."""
        for base in (self.include_root, self.src_root):
            try:
                relative = pathlib.PurePosixPath(path.relative_to(base).as_posix())
            except ValueError:
                continue
            if base == self.include_root and str(relative) == UMBRELLA:
                return "umbrella", relative
            return layer_of(relative), relative
        return None, None

    def target_layer(self, path, kind, name):
        """The layer an include refers to, or None when it is not chatkit's own file."""
        if kind == "<":
            if not name.startswith("chatkit/"):
                return None
            relative = pathlib.PurePosixPath(name[len("chatkit/"):])
            if str(relative) == UMBRELLA:
                return "umbrella"
            return layer_of(relative) or "(outside the layers)"
        resolved = (path.parent / name).resolve()
        layer, relative = self.where(resolved)
        if relative is None:
            return None
        return layer or "(outside the layers)"

    def check_file(self, path):
        layer, relative = self.where(path)
        if layer is None:
            what = "header under include/chatkit/" if path.is_relative_to(self.include_root) else "file under src/"
            self.report(path, 1, "folder", f"{what} outside a layer folder ({', '.join(LAYERS)})")
        text = path.read_text(errors="replace")
        lines = text.splitlines()
        for number, line in enumerate(lines, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            kind, name = m.group(1), m.group(2).strip()
            if layer != "http":
                for pattern, what in NET_INCLUDES:
                    if pattern.search(name):
                        self.report(path, number, "net",
                                    f"includes {name} ({what}): only http/** may include it")
            if layer is None:
                continue
            target = self.target_layer(path, kind, name)
            if target is None:
                continue
            if layer == "umbrella" and name.startswith("chatkit/store/sqlite/"):
                self.report(path, number, "include",
                            f"the umbrella includes {name}: store/sqlite/ is chatkit::sqlite, a separate library")
                continue
            if target not in ALLOWED[layer]:
                allowed = ", ".join(sorted(ALLOWED[layer]))
                self.report(path, number, "include",
                            f"{layer} includes {name} ({target}); {layer} may include only: {allowed}")
        self.check_lines(path, len(lines))

    def check_lines(self, path, count):
        if count > MAX_LINES:
            self.report(path, MAX_LINES + 1, "lines", f"{count} lines; split it (at most {MAX_LINES})")

    def run(self):
        for path in self.files(self.include_root.parent, SOURCE_SUFFIXES):
            if not path.is_relative_to(self.include_root):
                self.report(path, 1, "folder", "public header outside include/chatkit/")
                continue
            self.check_file(path)
        for path in self.files(self.src_root, SOURCE_SUFFIXES):
            self.check_file(path)
        if self.src_root.is_dir():
            for folder in sorted(p for p in self.src_root.rglob("*") if p.is_dir()):
                mirror = self.include_root / folder.relative_to(self.src_root)
                if not mirror.is_dir():
                    self.report(folder, 0, "folder",
                                f"src folder without include/chatkit/{folder.relative_to(self.src_root).as_posix()}/"
                                " (src mirrors include folder for folder)")
        for name in OTHER_FOLDERS:
            for path in self.files(self.root / name, OTHER_SUFFIXES):
                with path.open("rb") as f:
                    self.check_lines(path, sum(1 for _ in f))
        return self.violations


def write(root, relative, text):
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def self_test():
    """One violation of each kind in a synthetic tree; each must be reported, a clean tree passes."""
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        clean = pathlib.Path(tmp) / "clean"
        write(clean, "include/chatkit/chatkit.hpp", "#include <chatkit/server/server.hpp>\n")
        write(clean, "include/chatkit/core/error.hpp", "#include <boost/system/error_code.hpp>\n")
        write(clean, "include/chatkit/protocol/json.hpp", "#include <chatkit/core/error.hpp>\n")
        write(clean, "include/chatkit/server/server.hpp", "#include <chatkit/store/store.hpp>\n")
        write(clean, "include/chatkit/store/store.hpp", "#include <chatkit/protocol/json.hpp>\n")
        write(clean, "include/chatkit/agents/chatkit/bridge.hpp",
              "#include <chatkit/agents/model.hpp>\n#include <chatkit/server/server.hpp>\n")
        write(clean, "include/chatkit/agents/model.hpp", "#include <chatkit/core/error.hpp>\n")
        write(clean, "include/chatkit/http/serve.hpp",
              "#include <boost/beast/http/message.hpp>\n#include <chatkit/agents/chatkit/bridge.hpp>\n")
        write(clean, "src/agents/common.hpp", "#include <chatkit/agents/model.hpp>\n")
        write(clean, "src/agents/chatkit/bridge.cpp", '#include "../common.hpp"\n#include <openssl/evp.h>\n')
        write(clean, "src/http/client/client.cpp", "#include <openssl/ssl.h>\n#include <boost/asio/ssl/context.hpp>\n")
        write(clean, "include/chatkit/http/client/client.hpp", "#pragma once\n")
        write(clean, "include/chatkit/auth/jwt.hpp", "#include <chatkit/core/error.hpp>\n")
        write(clean, "tests/unit/long_test.cpp", "int x;\n" * MAX_LINES)
        found = Checker(clean).run()
        if found:
            failures.append("a clean tree reported violations:\n  " + "\n  ".join(found))

        cases = {
            # name: (files to add to a copy of the clean tree, text every report must contain)
            "upward include": ({"include/chatkit/store/bad.hpp": "#include <chatkit/server/server.hpp>\n"},
                               "include/chatkit/store/bad.hpp:1: [include] store includes chatkit/server/server.hpp"),
            "agents use core only": ({"include/chatkit/agents/bad.hpp": "#include <chatkit/protocol/json.hpp>\n"},
                                     "[include] agents includes chatkit/protocol/json.hpp"),
            "auth includes http": ({"src/auth/jwks.cpp": "#include <chatkit/http/serve.hpp>\n"},
                                   "src/auth/jwks.cpp:1: [include] auth includes"),
            "relative include upward": ({"src/agents/bad.cpp": '#include "chatkit/bridge.cpp"\n'},
                                        "src/agents/bad.cpp:1: [include] agents includes chatkit/bridge.cpp (agents/chatkit)"),
            "relative include to a private header": ({"src/core/bad.cpp": '\n#include "../agents/common.hpp"\n'},
                                                     "src/core/bad.cpp:2: [include] core includes ../agents/common.hpp"),
            "umbrella includes http": ({"include/chatkit/chatkit.hpp": "#include <chatkit/http/serve.hpp>\n"},
                                       "include/chatkit/chatkit.hpp:1: [include] umbrella includes"),
            "umbrella includes sqlite": ({"include/chatkit/chatkit.hpp": "#include <chatkit/store/sqlite/store.hpp>\n"},
                                         "[include] the umbrella includes chatkit/store/sqlite/store.hpp"),
            "Beast outside http": ({"include/chatkit/server/bad.hpp": "#include <boost/beast/core.hpp>\n"},
                                   "include/chatkit/server/bad.hpp:1: [net] includes boost/beast/core.hpp"),
            "Asio ip outside http": ({"src/store/bad.cpp": "#include <boost/asio/ip/tcp.hpp>\n"},
                                     "src/store/bad.cpp:1: [net] includes boost/asio/ip/tcp.hpp"),
            "Asio ssl outside http": ({"src/auth/bad.cpp": "#include <boost/asio/ssl.hpp>\n"},
                                      "src/auth/bad.cpp:1: [net] includes boost/asio/ssl.hpp"),
            "all of Asio outside http": ({"src/server/bad.cpp": "#include <boost/asio.hpp>\n"},
                                         "src/server/bad.cpp:1: [net] includes boost/asio.hpp"),
            "OpenSSL SSL outside http": ({"src/auth/keys.cpp": "#include <openssl/evp.h>\n#include <openssl/ssl.h>\n"},
                                         "src/auth/keys.cpp:2: [net] includes openssl/ssl.h"),
            "header outside a layer folder": ({"include/chatkit/loose.hpp": "#pragma once\n"},
                                              "include/chatkit/loose.hpp:1: [folder] header under include/chatkit/ outside a layer folder"),
            "header in an unknown folder": ({"include/chatkit/impl/thing.hpp": "#pragma once\n"},
                                            "include/chatkit/impl/thing.hpp:1: [folder]"),
            "public header outside include/chatkit": ({"include/other.hpp": "#pragma once\n"},
                                                      "include/other.hpp:1: [folder] public header outside include/chatkit/"),
            "source outside a layer folder": ({"src/loose.cpp": "int x;\n"},
                                              "src/loose.cpp:1: [folder] file under src/ outside a layer folder"),
            "src folder without include folder": ({"src/server/extra/a.cpp": "int x;\n"},
                                                  "src/server/extra:0: [folder] src folder without include/chatkit/server/extra/"),
            "long source file": ({"src/protocol/json.cpp": "int x;\n" * (MAX_LINES + 1)},
                                 f"src/protocol/json.cpp:{MAX_LINES + 1}: [lines] {MAX_LINES + 1} lines"),
            "long header": ({"include/chatkit/protocol/big.hpp": "//\n" * (MAX_LINES + 5)},
                            "include/chatkit/protocol/big.hpp:1001: [lines]"),
            "long test": ({"tests/unit/long_test.cpp": "int x;\n" * (MAX_LINES + 1)},
                          "tests/unit/long_test.cpp:1001: [lines]"),
            "long example script": ({"examples/web/app.js": "x;\n" * (MAX_LINES + 1)},
                                    "examples/web/app.js:1001: [lines]"),
        }
        for index, (name, (files, expected)) in enumerate(cases.items()):
            tree = pathlib.Path(tmp) / f"case{index}"
            for path in sorted(clean.rglob("*")):
                if path.is_file():
                    write(tree, path.relative_to(clean), path.read_text())
            for relative, text in files.items():
                write(tree, relative, text)
            found = Checker(tree).run()
            if not any(expected in v for v in found):
                failures.append(f"{name}: expected a report containing {expected!r}, got {found!r}")
            elif len(found) != 1:
                failures.append(f"{name}: expected exactly one report, got {found!r}")
    for f in failures:
        print("self-test FAILED: " + f)
    if not failures:
        print(f"self-test passed: a clean tree passes and each of {len(cases)} violations is reported")
    return 1 if failures else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=pathlib.Path(__file__).resolve().parents[2],
                        help="the repository to check (default: this one)")
    parser.add_argument("--self-test", action="store_true", help="check the checker on a synthetic tree")
    args = parser.parse_args()
    if args.self_test:
        return self_test()
    violations = Checker(args.root).run()
    for v in violations:
        print(v)
    print(f"layers: {len(violations)} violation(s)" if violations else "layers: the tree follows the layer table")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
