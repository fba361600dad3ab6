#!/usr/bin/env python3
"""Runs clang-tidy (the repository's .clang-tidy) on the C++ lines a branch changes.

    scripts/clang-tidy-changed.py [--build build/release] [--base REV] [--jobs N] [--budget S]
    scripts/clang-tidy-changed.py [--build build/release] PATH...   # whole files, e.g. src

The base is --base (or $CHATKIT_TIDY_BASE), else the merge base with origin/main when that is not
HEAD itself, else HEAD~1 (a fresh clone of main: the last commit's files). Without any of them (a
depth-1 clone, the first commit) there is nothing to compare with and the script says so and exits 0.
Every changed .cpp that is in BUILD/compile_commands.json is analysed; a changed header is analysed
through one translation unit that includes it. Findings are reported only on the lines the diff adds
or changes, so old code does not fail a new branch. With PATHs, every C++ file under them is
analysed and every line counts.

The analysis uses a copy of the compile database without -Werror (the g++ build enforces warnings;
here only the .clang-tidy checks count) and without g++'s precompiled headers, which clang cannot
read (the headers themselves are included instead). Translation units not started within --budget
seconds (default $CHATKIT_TIDY_BUDGET or 600) are listed as not checked, so the phase stays bounded
on a large merge. Exits 1 when there is a finding (or clang-tidy fails), 0 otherwise.
"""
import argparse
import concurrent.futures
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

FINDING = re.compile(r"^(?P<file>[^:\s][^:]*):(?P<line>\d+):(?P<col>\d+): (?P<kind>warning|error): ")
CPP_SUFFIXES = (".cpp", ".hpp")


def git(*args: str) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout


def resolves(rev: str) -> bool:
    return subprocess.run(["git", "rev-parse", "--verify", "-q", rev + "^{commit}"],
                          capture_output=True).returncode == 0


def base_revision(explicit: str | None) -> str | None:
    """The revision to diff against, or None when there is none (depth-1 clone, first commit)."""
    if explicit:
        if not resolves(explicit):
            raise SystemExit(f"clang-tidy-changed: base revision '{explicit}' does not exist")
        return explicit
    head = git("rev-parse", "HEAD").strip()
    if resolves("origin/main"):
        merge_base = subprocess.run(["git", "merge-base", "HEAD", "origin/main"], capture_output=True, text=True)
        base = merge_base.stdout.strip()
        if merge_base.returncode == 0 and base and base != head:
            return base
    return "HEAD~1" if resolves("HEAD~1") else None


def changed_lines(base: str) -> dict[str, set[int]]:
    """File -> line numbers added or changed since `base` (C++ sources and headers only)."""
    out: dict[str, set[int]] = {}
    current = None
    diff = git("diff", "-U0", "--no-color", "--no-ext-diff", "--diff-filter=ACMR", base, "HEAD",
               "--", "*.cpp", "*.hpp")
    for line in diff.splitlines():
        if line.startswith("+++ "):
            current = line[6:] if line.startswith("+++ b/") else None
            if current:
                out.setdefault(current, set())
        elif line.startswith("@@") and current:
            m = re.search(r"\+(\d+)(?:,(\d+))?", line)
            start, count = int(m.group(1)), int(m.group(2) or "1")
            out[current].update(range(start, start + count))
    return {f: lines for f, lines in out.items() if lines}


def whole_files(paths: list[str]) -> dict[str, set[int]]:
    """File -> every line number, for the C++ files git tracks under `paths`."""
    out: dict[str, set[int]] = {}
    for f in git("ls-files", "--", *paths).splitlines():
        if f.endswith(CPP_SUFFIXES) and os.path.isfile(f):
            with open(f, errors="replace") as fh:
                out[f] = set(range(1, sum(1 for _ in fh) + 2))
    return out


def sanitized_database(build: str, into: str) -> list[str]:
    """Writes a copy of BUILD/compile_commands.json into `into` for clang-tidy and returns the
    repository-relative sources it compiles. Drops -Werror and replaces each `-include X` whose
    X.gch/X.pch (a g++ precompiled header) exists with a copy of X that has no PCH beside it."""
    with open(os.path.join(build, "compile_commands.json")) as fh:
        entries = json.load(fh)
    root = os.getcwd()
    copies: dict[str, str] = {}

    def pch_free(header: str) -> str:
        if not any(os.path.exists(header + ext) for ext in (".gch", ".pch")):
            return header
        if header not in copies:
            copy = os.path.join(into, f"pch{len(copies)}", os.path.basename(header))
            os.makedirs(os.path.dirname(copy))
            shutil.copyfile(header, copy)
            copies[header] = copy
        return copies[header]

    sources = []
    for e in entries:
        args = e["arguments"] if "arguments" in e else shlex.split(e["command"])
        out_args, i = [], 0
        while i < len(args):
            a = args[i]
            if a == "-Werror" or a.startswith("-Werror="):
                i += 1
                continue
            if a == "-include" and i + 1 < len(args):
                header = os.path.join(e["directory"], args[i + 1])
                out_args += ["-include", pch_free(header)]
                i += 2
                continue
            out_args.append(a)
            i += 1
        e.pop("command", None)
        e["arguments"] = out_args
        path = os.path.relpath(os.path.join(e["directory"], e["file"]), root)
        if not path.startswith("..") and not path.startswith("build") and path.endswith(".cpp") \
                and path not in sources:
            sources.append(path)
    with open(os.path.join(into, "compile_commands.json"), "w") as fh:
        json.dump(entries, fh)
    return sources


def translation_units(sources: list[str], changed: list[str]) -> list[str]:
    units = [f for f in changed if f in sources]
    for header in (f for f in changed if f.endswith(".hpp")):
        pattern = re.compile(r'#\s*include\s*[<"]([^">]*/)?' + re.escape(os.path.basename(header)) + r'[">]')
        if any(pattern.search(open(u, errors="replace").read()) for u in units):
            continue
        for source in sources:
            if pattern.search(open(source, errors="replace").read()):
                units.append(source)
                break
    return units


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default="build/release")
    parser.add_argument("--base", default=os.environ.get("CHATKIT_TIDY_BASE"))
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("CHATKIT_JOBS", "2")))
    parser.add_argument("--budget", type=int, default=int(os.environ.get("CHATKIT_TIDY_BUDGET", "600")),
                        help="seconds after which no further translation unit is started")
    parser.add_argument("paths", nargs="*", help="analyse every C++ file under these paths instead of a diff")
    args = parser.parse_args()

    tidy = shutil.which("clang-tidy-14") or shutil.which("clang-tidy")
    if not tidy:
        print("clang-tidy-changed: clang-tidy not found (scripts/install-deps.sh --test installs it)", file=sys.stderr)
        return 1
    if not os.path.isfile(os.path.join(args.build, "compile_commands.json")):
        print(f"clang-tidy-changed: {args.build}/compile_commands.json is missing "
              "(configure with -DCMAKE_EXPORT_COMPILE_COMMANDS=ON)", file=sys.stderr)
        return 1

    if args.paths:
        lines = whole_files(args.paths)
        print(f"clang-tidy: {len(lines)} C++ file(s) under {' '.join(args.paths)}")
    else:
        base = base_revision(args.base)
        if base is None:
            print("clang-tidy: no revision to compare with (no origin/main apart from HEAD and no HEAD~1: "
                  "a depth-1 clone or the first commit); nothing to check. Clone with history or set "
                  "CHATKIT_TIDY_BASE.")
            return 0
        lines = changed_lines(base)
        print(f"clang-tidy: {len(lines)} C++ file(s) changed since {git('rev-parse', '--short', base).strip()}")
    if not lines:
        return 0

    with tempfile.TemporaryDirectory(prefix="chatkit-tidy.") as database:
        units = translation_units(sanitized_database(args.build, database), sorted(lines))
        if not units:
            print("clang-tidy: the changed files are in no translation unit of the compile database")
            return 0
        return analyse(tidy, database, units, lines, args.jobs, args.budget)


def analyse(tidy: str, database: str, units: list[str], lines: dict[str, set[int]], jobs: int, budget: int) -> int:
    deadline = time.monotonic() + budget

    def run(unit: str) -> tuple[str, int | None, str, float]:
        if time.monotonic() > deadline:
            return unit, None, "", 0.0
        start = time.monotonic()
        proc = subprocess.run([tidy, "--quiet", "-p", database, unit], capture_output=True, text=True)
        return unit, proc.returncode, proc.stdout + proc.stderr, time.monotonic() - start

    root = os.getcwd()
    findings, seen, failed, skipped = 0, set(), False, []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for unit, code, output, seconds in pool.map(run, units):
            if code is None:
                skipped.append(unit)
                continue
            print(f"clang-tidy {unit} ({seconds:.0f}s)")
            report, keep = [], False
            for line in output.splitlines():
                m = FINDING.match(line)
                if m:
                    path = os.path.relpath(m.group("file"), root)
                    key = (path, m.group("line"), m.group("col"), line)
                    keep = int(m.group("line")) in lines.get(path, ()) and key not in seen
                    if keep:
                        seen.add(key)
                        findings += 1
                if keep:
                    report.append(line)
            if report:
                print("\n".join(report))
            # clang-tidy exits non-zero on compiler errors; those are findings too.
            if code != 0 and not report:
                failed = True
                errors = [line for line in output.splitlines() if "error:" in line][:20]
                print(f"clang-tidy failed on {unit} (exit {code})" + "".join("\n  " + e for e in errors))
    if skipped:
        print(f"clang-tidy: {len(skipped)} translation unit(s) not checked within the {budget}s budget: "
              + " ".join(skipped))
    print(f"clang-tidy: {findings} finding(s) on changed lines in {len(units) - len(skipped)} translation unit(s)")
    return 1 if findings or failed else 0


if __name__ == "__main__":
    sys.exit(main())
