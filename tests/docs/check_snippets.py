#!/usr/bin/env python3
"""Checks that every code snippet in docs/*.md that names a source comes from that compiled source.

A snippet in a guide is a fenced block whose first line is a comment naming its origin:

    ```cpp
    // from examples/quickstart/main.cpp: respond
    ...code...
    ```

The named file must contain a region `//[respond` ... `//]` whose lines (indentation-insensitive,
marker lines excluded) equal the block's remaining lines. Prints one line per snippet and a final
`N passed, M failed` line; exits non-zero when a snippet does not match its source.
"""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parents[2]
fence = re.compile(r"```[a-z+]*\n(.*?)```", re.S)
origin = re.compile(r"^\s*(?://|#)\s*from ([\w./-]+): ([\w-]+)\s*$")


def region(path: pathlib.Path, name: str) -> list[str] | None:
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        if line.strip() == f"//[{name}":
            out = []
            for body in lines[i + 1:]:
                if body.strip() == "//]":
                    return out
                out.append(body)
    return None


def normalize(lines: list[str]) -> list[str]:
    return [line.strip() for line in lines if line.strip()]


passed = failed = 0
for doc in sorted((root / "docs").glob("*.md")):
    for block in fence.findall(doc.read_text()):
        lines = block.splitlines()
        if not lines:
            continue
        m = origin.match(lines[0])
        if not m:
            continue
        source, name = m.group(1), m.group(2)
        path = root / source
        where = f"{doc.relative_to(root)} <- {source}#{name}"
        if not path.exists():
            print(f"FAIL {where}: source file missing")
            failed += 1
            continue
        expected = region(path, name)
        if expected is None:
            print(f"FAIL {where}: no //[{name} ... //] region in the source")
            failed += 1
        elif normalize(expected) != normalize(lines[1:]):
            print(f"FAIL {where}: the snippet differs from the source region")
            failed += 1
        else:
            print(f"PASS {where}")
            passed += 1

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
