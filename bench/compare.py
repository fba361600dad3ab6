#!/usr/bin/env python3
"""Prints bench/run.sh's ratio table from the JSON files of one run (python3 stdlib only).

    compare.py OUTDIR

Reads OUTDIR/<config>.json (the load runner's JSON_OUT), OUTDIR/<config>.first.json
(bench/first_request.py) and OUTDIR/<config>.hold.json (an extra hold run, optional) for the
configs cpp, cpp-sqlite, cpp-postgres, python, node and limit; a missing config leaves its column empty.
Ratios are ours (cpp) / peer: above 1 is better for rates, below 1 is better for latency and memory.
"""
import json
import os
import sys

out = sys.argv[1]
CONFIGS = ["cpp", "cpp-sqlite", "cpp-postgres", "python", "node", "limit"]
LABEL = {"cpp": "C++ (memory)", "cpp-sqlite": "C++ (sqlite)", "cpp-postgres": "C++ (postgres)", "python": "Python ref",
         "node": "Node SDK", "limit": "raw limit"}


def load(name):
    try:
        with open(os.path.join(out, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


runs = {c: load(f"{c}.json") for c in CONFIGS}
first = {c: load(f"{c}.first.json") for c in CONFIGS}
holds = {c: load(f"{c}.hold.json") for c in CONFIGS}


def row(cfg, scenario):
    r = runs.get(cfg)
    if not r:
        return {}
    for x in r.get("rows", []):
        if x["scenario"].startswith(scenario):
            return x
    return {}


def wrk(cfg, scenario, key):
    """A figure of a wrk row; none when the row failed, had errors or completed no request."""
    r = row(cfg, scenario)
    v = r.get(key)
    return v if (v is not None and not r.get("errors") and r.get("rps")) else None


def hold_field(cfg, key):
    h = (runs.get(cfg) or {}).get("hold", {})
    return h.get(key) if h.get("ok") else None  # no figure when no held stream was answered


def big_hold(cfg, key):
    h = holds.get(cfg)
    return None if not h else h.get(key)


def first_field(cfg, key):
    f = first.get(cfg)
    return None if not f else f.get(key)


METRICS = [
    # (label, getter, higher_is_better, format)
    ("streaming events/s, create32 (wrk c=16)", lambda c: wrk(c, "create", "eps"), True, "n"),
    ("streaming events/s, add_msg32 (wrk c=16)", lambda c: wrk(c, "add_msg", "eps"), True, "n"),
    ("non-streaming req/s, threads.list", lambda c: wrk(c, "threads.list", "rps"), True, "n"),
    ("non-streaming req/s, items.list", lambda c: wrk(c, "items.list", "rps"), True, "n"),
    ("p50 ms, create32 full reply (wrk c=16)", lambda c: wrk(c, "create", "p50_ms"), False, "ms"),
    ("p99 ms, create32 full reply (wrk c=16)", lambda c: wrk(c, "create", "p99_ms"), False, "ms"),
    ("p50 ms, items.list (wrk c=16)", lambda c: wrk(c, "items.list", "p50_ms"), False, "ms"),
    ("p99 ms, items.list (wrk c=16)", lambda c: wrk(c, "items.list", "p99_ms"), False, "ms"),
    ("p50 ms, create32 time to first event (c=1)", lambda c: wrk(c, "lat.create", "p50_ms"), False, "ms"),
    ("p99 ms, create32 time to first event (c=1)", lambda c: wrk(c, "lat.create", "p99_ms"), False, "ms"),
    ("KiB per open stream, hold (runner default)", lambda c: hold_field(c, "kib_per_stream"), False, "f1"),
    ("KiB per open stream, big hold", lambda c: big_hold(c, "kib_per_stream"), False, "f1"),
    ("streams open at plateau, big hold", lambda c: big_hold(c, "open_at_plateau"), True, "n"),
    ("idle RSS MiB", lambda c: (runs.get(c) or {}).get("rss_idle_kib") and runs[c]["rss_idle_kib"] / 1024, False, "f1"),
    ("first request after start, full reply ms", lambda c: first_field(c, "full_ms"), False, "ms"),
    ("  of which server CPU time, ms", lambda c: first_field(c, "server_cpu_ms"), False, "ms"),
    ("  of which server waiting for a CPU, ms", lambda c: first_field(c, "server_wait_ms"), False, "ms"),
    ("spawn -> accepting connections, ms", lambda c: first_field(c, "ready_ms"), False, "ms"),
]


def fmt(v, kind):
    if v is None:
        return "-"
    if kind == "n":
        return f"{v:,.0f}"
    if kind == "f1":
        return f"{v:.1f}"
    return f"{v:.2f}" if v < 10 else f"{v:.1f}" if v < 100 else f"{v:,.0f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}"


present = [c for c in CONFIGS if runs.get(c) or first.get(c)]
hdr = ["metric"] + [LABEL[c] for c in present] + ["ours/Python", "ours/Node", "ours/limit"]
lines = ["| " + " | ".join(hdr) + " |", "|" + "---|" + "---:|" * (len(hdr) - 1)]
for label, get, _, kind in METRICS:
    vals = {c: get(c) for c in present}
    if all(v is None for v in vals.values()):
        continue
    ours = vals.get("cpp")
    cells = [label] + [fmt(vals[c], kind) for c in present] + [
        ratio(ours, vals.get("python")), ratio(ours, vals.get("node")), ratio(ours, vals.get("limit"))]
    lines.append("| " + " | ".join(cells) + " |")
print("\n".join(lines))
print("\nratios: ours = C++ (memory store); rates: >1 is better; latency, memory: <1 is better.")
fails = {c: runs[c].get("check_failures") for c in present if runs.get(c) and runs[c].get("check_failures")}
print("correctness failures: " + ("none" if not fails else ""))
for c, f in fails.items():
    print(f"  {LABEL[c]}: " + "; ".join(f"{name}: {str(errs)[:160]}" for _, name, errs in f))
print("checks passed:")
for c in present:
    r = runs.get(c)
    if r:
        chk = r.get("check", {})
        print(f"  {LABEL[c]}: wire {chk.get('wire_pass')}/{chk.get('wire_total')}, store {chk.get('store_pass')}/{chk.get('store_total')}")

# targets (issue #8), from this run
t = []
ours_eps, lim_eps = wrk("cpp", "create", "eps"), wrk("limit", "create", "eps")
if ours_eps and lim_eps:
    t.append(f"streaming events/s >= 60% of the limit: {ours_eps / lim_eps:.0%} {'met' if ours_eps >= 0.6 * lim_eps else 'MISSED'}")
ours_rps = [wrk("cpp", s, "rps") for s in ("threads.list", "items.list")]
lim_rps = [wrk("limit", s, "rps") for s in ("threads.list", "items.list")]
for s, o, l_ in zip(("threads.list", "items.list"), ours_rps, lim_rps):
    if o and l_:
        t.append(f"non-streaming req/s ({s}) >= 50% of the limit: {o / l_:.0%} {'met' if o >= 0.5 * l_ else 'MISSED'}")
k, n = big_hold("cpp", "kib_per_stream"), big_hold("cpp", "open_at_plateau")
if k is None:
    k, n = hold_field("cpp", "kib_per_stream"), hold_field("cpp", "open_at_plateau")
if k is not None:
    t.append(f"<= 8 KiB per open stream ({n} open): {k:.1f} KiB {'met' if k <= 8 else 'MISSED'}")
fr = first_field("cpp", "full_ms")
if fr is not None:
    cpu = first_field("cpp", "server_cpu_ms")
    t.append(f"first request within 20 ms: {fr:.1f} ms wall ({'-' if cpu is None else f'{cpu:.1f}'} ms of server CPU) "
             f"{'met' if fr <= 20 else 'MISSED (wall)' if cpu is not None and cpu <= 20 else 'MISSED'}")
if t:
    print("\ntargets:\n  " + "\n  ".join(t))
