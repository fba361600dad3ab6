#!/usr/bin/env python3
"""Runs Doxygen over include/chatkit/ with docs/Doxyfile and fails on any warning.

Every public entity has a doc comment and every comment is well-formed (docs/development.md, "API
reference"): the Doxyfile turns on WARN_IF_UNDOCUMENTED and WARN_IF_DOC_ERROR and leaves out only
what is not public API (`detail` namespaces, `detail_bound_ops`). This script runs it without HTML
output, prints each warning and fails when there is one. When Doxygen is not installed it fails too
(a reference check that is skipped would pass without checking anything).

Usage: check_doxygen.py [--doxygen PATH] [--self-test]
`--self-test` adds a header with an undocumented function to the input: that run must fail, so the
check is known to be able to.
"""
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]


def main():
    args = sys.argv[1:]
    doxygen = None
    self_test = False
    while args:
        if args[0] == "--doxygen" and len(args) > 1:
            doxygen, args = args[1], args[2:]
        elif args[0] == "--self-test":
            self_test, args = True, args[1:]
        else:
            print(__doc__)
            return 2
    doxygen = shutil.which(doxygen or "doxygen")
    if not doxygen:
        print("doxygen: not installed; run scripts/install-deps.sh --test (Debian package `doxygen`)")
        return 1
    version = subprocess.run([doxygen, "--version"], capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="chatkit-doxygen-") as tmp:
        log = pathlib.Path(tmp) / "warnings.txt"
        overrides = [
            f"OUTPUT_DIRECTORY = {tmp}",
            "GENERATE_HTML = NO",
            f"WARN_LOGFILE = {log}",
            # The log is read below; an early stop would hide the warnings after the first.
            "WARN_AS_ERROR = NO",
        ]
        if self_test:
            planted = pathlib.Path(tmp) / "undocumented.hpp"
            planted.write_text("#pragma once\n/// Documented namespace.\nnamespace planted {\n"
                               "int undocumented_function(int x);\n}\n")
            overrides.append(f"INPUT += {planted}")
        config = (ROOT / "docs" / "Doxyfile").read_text() + "\n" + "\n".join(overrides) + "\n"
        run = subprocess.run([doxygen, "-"], input=config, cwd=ROOT, capture_output=True, text=True)
        lines = log.read_text().splitlines() if log.exists() else []
        # A member inherited by many classes is reported once per class: print each line once.
        warnings = list(dict.fromkeys(line for line in lines if line.strip()))
    prefix = str(ROOT) + os.sep
    for line in warnings:
        print(line.replace(prefix, ""))
    if run.returncode != 0:
        print(run.stdout + run.stderr)
        print(f"doxygen {version}: exited with status {run.returncode}")
        return 1
    print(f"doxygen {version}: {len(warnings)} warning(s) over include/chatkit/")
    return 1 if warnings else 0


if __name__ == "__main__":
    sys.exit(main())
