#!/usr/bin/env python3
"""Runs clang-tidy (the repository's .clang-tidy) on the C++ lines a branch changes.

    scripts/clang-tidy-changed.py [--build build/release] [--base REV] [--jobs N]

The base is --base (or $CHATKIT_TIDY_BASE), else the merge base with origin/main (when that is not
HEAD itself), else HEAD~1. Every changed .cpp that is in BUILD/compile_commands.json is analysed; a
changed header is analysed through one translation unit that includes it. Findings are reported
only on the lines the diff adds or changes, so old code does not fail a new branch. Exits 1 when
there is a finding (or clang-tidy fails), 0 otherwise.
"""
import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys

FINDING = re.compile(r"^(?P<file>[^:\s][^:]*):(?P<line>\d+):(?P<col>\d+): (?P<kind>warning|error): ")


def git(*args: str) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout


def base_revision(explicit: str | None) -> str:
    if explicit:
        return explicit
    head = git("rev-parse", "HEAD").strip()
    if subprocess.run(["git", "rev-parse", "--verify", "-q", "origin/main"], capture_output=True).returncode == 0:
        base = git("merge-base", "HEAD", "origin/main").strip()
        if base and base != head:
            return base
    return "HEAD~1"


def changed_lines(base: str) -> dict[str, set[int]]:
    """File -> line numbers added or changed since `base` (C++ sources and headers only)."""
    out: dict[str, set[int]] = {}
    current = None
    diff = git("diff", "-U0", "--diff-filter=ACMR", base, "HEAD", "--", "*.cpp", "*.hpp")
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


def translation_units(build: str, changed: list[str]) -> list[str]:
    entries = json.load(open(os.path.join(build, "compile_commands.json")))
    root = os.getcwd()
    sources = []
    for e in entries:
        path = os.path.relpath(os.path.join(e["directory"], e["file"]), root)
        if not path.startswith("..") and not path.startswith("build") and path.endswith(".cpp") and path not in sources:
            sources.append(path)
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
    args = parser.parse_args()

    tidy = shutil.which("clang-tidy-14") or shutil.which("clang-tidy")
    if not tidy:
        print("clang-tidy-changed: clang-tidy not found (scripts/install-deps.sh --test installs it)", file=sys.stderr)
        return 1
    if not os.path.isfile(os.path.join(args.build, "compile_commands.json")):
        print(f"clang-tidy-changed: {args.build}/compile_commands.json is missing "
              "(configure with -DCMAKE_EXPORT_COMPILE_COMMANDS=ON)", file=sys.stderr)
        return 1

    base = base_revision(args.base)
    lines = changed_lines(base)
    print(f"clang-tidy: {len(lines)} C++ file(s) changed since {git('rev-parse', '--short', base).strip()}")
    if not lines:
        return 0
    units = translation_units(args.build, sorted(lines))
    if not units:
        print("clang-tidy: the changed files are in no translation unit of the compile database")
        return 0

    def run(unit: str) -> tuple[str, int, str]:
        proc = subprocess.run([tidy, "--quiet", "-p", args.build, unit], capture_output=True, text=True)
        return unit, proc.returncode, proc.stdout

    root = os.getcwd()
    findings, seen, failed = 0, set(), False
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for unit, code, output in pool.map(run, units):
            print(f"clang-tidy {unit}")
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
                print(f"clang-tidy failed on {unit} (exit {code})")
    print(f"clang-tidy: {findings} finding(s) on changed lines in {len(units)} translation unit(s)")
    return 1 if findings or failed else 0


if __name__ == "__main__":
    sys.exit(main())
