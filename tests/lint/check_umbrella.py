#!/usr/bin/env python3
"""Checks that the umbrella header <chatkit/chatkit.hpp> pulls in no network header, directly or not.

The umbrella is the SDK without agents, auth and http (docs/concepts.md, "Layers"); including it must
not bring Beast, Asio's ip/ssl parts or OpenSSL's SSL headers into an application. Runs the compiler's
preprocessor with `-H` (which lists every header it opens) and fails on any such header.

Usage: check_umbrella.py [--header chatkit/X.hpp] CXX [compiler flags...]   (e.g. g++ -std=c++20 -Iinclude)
`--header` checks another header instead (ctest runs it on an http/ header, which must fail, so the
check is known to be able to fail).
"""
import re
import subprocess
import sys

FORBIDDEN = re.compile(r"(boost/beast|boost/asio/ip/|boost/asio/ssl|openssl/(ssl|ssl2|ssl3|tls1|dtls1|srtp)\.h)")


def main():
    args = sys.argv[1:]
    header = "chatkit/chatkit.hpp"
    if len(args) >= 2 and args[0] == "--header":
        header, args = args[1], args[2:]
    if not args:
        print(__doc__)
        return 2
    command = args + ["-H", "-E", "-x", "c++", "-o", "/dev/null", "-"]
    run = subprocess.run(command, input=f"#include <{header}>\n", capture_output=True, text=True)
    if run.returncode != 0:
        print(run.stderr)
        print("umbrella: the compiler failed")
        return 1
    opened = [line.lstrip(". ").strip() for line in run.stderr.splitlines() if line.startswith(".")]
    found = [path for path in opened if FORBIDDEN.search(path)]
    for path in found:
        print(f"{header} pulls in {path}")
    print(f"{header}: {len(opened)} headers opened, {len(found)} network header(s)")
    return 1 if found or not opened else 0


if __name__ == "__main__":
    sys.exit(main())
