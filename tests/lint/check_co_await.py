#!/usr/bin/env python3
"""Flags braced temporaries inside `co_await` statements (g++ 12 double-frees them; docs/coroutines.md).

Scans the C++ sources of the repository (src, include, examples, tests) with comments and string
literals removed, and reports every `co_await` statement that contains `Name{` or `>{` — a braced
aggregate or initializer-list temporary living across the suspension. Prints one line per finding and
`N passed, M failed` (files checked / files with findings); exits non-zero on findings.
"""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parents[2]
strip = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
raw_string = re.compile(r'R"\((?:.|\n)*?\)"')
braced = re.compile(r"[A-Za-z_0-9>]\s*\{")

passed = failed = 0
for folder in ("src", "include", "examples", "tests"):
    for path in sorted((root / folder).rglob("*")):
        if path.suffix not in (".cpp", ".hpp") or "node_modules" in path.parts:
            continue
        text = raw_string.sub('""', path.read_text(errors="replace"))
        code = strip.sub(lambda m: "" if m.group(0).startswith("/") else '""', text)
        findings = []
        for m in re.finditer(r"\bco_await\b", code):
            end = code.find(";", m.end())
            statement = code[m.start():end if end != -1 else len(code)]
            if braced.search(statement):
                line = code.count("\n", 0, m.start()) + 1
                findings.append(line)
        if findings:
            failed += 1
            for line in findings:
                print(f"{path.relative_to(root)}:{line}: braced temporary inside a co_await statement")
        else:
            passed += 1

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
