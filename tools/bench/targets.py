#!/usr/bin/env python3
"""Issue 14's targets against one `make bench` run: a Markdown table, every figure beside its
target and the echo ceiling's, marked met or missed.

    python3 tools/bench/targets.py RESULTS_DIR

Reads the harness's reports (NAME.json for calls/s and server CPU per call, NAME.txt for the
percentiles, NAME.slow for the writer's slow commits during the run) and what
tools/bench/scale.sh and the codec benchmark wrote. A figure whose run was skipped says so.
"""
import json
import os
import re
import sys

results = sys.argv[1]


def path(name):
    return os.path.join(results, name)


def run(name):
    """calls/s, server CPU µs per call, errors, and {method: (p50, p99, p99.9)} of a run."""
    try:
        d = json.load(open(path(name + ".json")))
    except FileNotFoundError:
        return None
    s = d["steps"][0]
    calls = sum(m["count"] for m in s["methods"])
    errors = sum(m["count"] - m["ok"] for m in s["methods"])
    tails = {}
    try:
        for line in open(path(name + ".txt")):
            cols = line.split()
            # "Method count rate/s p50 p90 p99 p99.9 max errors": a name, then numbers only.
            if len(cols) >= 9 and re.fullmatch(r"[A-Za-z]+", cols[0]) and all(re.fullmatch(r"[0-9.]+", c) for c in cols[1:9]):
                tails[cols[0]] = (float(cols[3]), float(cols[5]), float(cols[6]))
    except FileNotFoundError:
        pass
    server = d.get("server") or {}
    return {
        "rate": calls / s["duration"],
        "cpu": server.get("cpuMicrosPerCall", float("nan")),
        "errors": errors,
        "tails": tails,
        "rss": (server.get("rssStartKB"), server.get("rssEndKB")),
    }


def slow(name):
    try:
        return int(open(path(name + ".slow")).read().strip())
    except (FileNotFoundError, ValueError):
        return None


def load(name):
    try:
        return json.load(open(path(name)))
    except FileNotFoundError:
        return None


rows = []


def row(area, figure, value, target, ok, ceiling="—"):
    verdict = "—" if ok is None else ("met" if ok else "**missed**")
    rows.append(f"| {area} | {figure} | {value} | {target} | {ceiling} | {verdict} |")


def skipped(area, figure, target):
    row(area, figure, "not measured in this run", target, None)


echo = run("echo-closed")
peak = run("escalate-closed")
echo_note = f"echo {echo['rate']:,.0f} calls/s, {echo['cpu']:.2f} µs/call" if echo else "—"
echo_cpu = f"echo {echo['cpu']:.2f} µs/call" if echo else "—"
echo_p99 = f"echo p99 {echo['tails']['Escalate'][1]:.2f} ms (closed loop 4 × 256)" if echo and "Escalate" in echo["tails"] else "—"
echo_rss = f"echo RSS {echo['rss'][0] / 1024:.1f} → {echo['rss'][1] / 1024:.1f} MiB" if echo and echo["rss"][0] else "—"
no_store = "— (the echo keeps no store)"

# 1. The tail at moderate load.
for name, share, p99_max, p999_max in (("escalate-40", 40, 2.0, 5.0), ("escalate-80", 80, 10.0, None)):
    r = run(name)
    if not r or "Escalate" not in r["tails"]:
        skipped("1 tail", f"Escalate open loop at {share} % of peak", f"p99 ≤ {p99_max:g} ms")
        continue
    _, p99, p999 = r["tails"]["Escalate"]
    row("1 tail", f"Escalate open loop at {share} % of peak ({r['rate']:,.0f}/s): p99", f"{p99:.2f} ms", f"≤ {p99_max:g} ms", p99 <= p99_max, echo_p99)
    if p999_max is not None:
        row("1 tail", f"… p99.9", f"{p999:.2f} ms", f"≤ {p999_max:g} ms", p999 <= p999_max, echo_p99)
    row("1 tail", f"… errors", f"{r['errors']:,}", "0", r["errors"] == 0, "echo: 0 errors" if echo and echo["errors"] == 0 else "—")
    n = slow(name)
    if n is not None:
        row("1 tail", f"… commits stalled over 10 ms (writer's slow-commit log)", f"{n}", "0", n == 0, no_store)

# 2. Cheap at every load.
r40 = run("escalate-40")
if peak and r40:
    ratio = r40["cpu"] / peak["cpu"]
    row("2 cost", "server CPU per Escalate at 40 % ÷ at the peak", f"{ratio:.2f}× ({r40['cpu']:.1f} ÷ {peak['cpu']:.1f} µs)", "≤ 1.3×", ratio <= 1.3,
        f"echo {echo['cpu']:.2f} µs" if echo else "—")
else:
    skipped("2 cost", "server CPU per Escalate at 40 % ÷ at the peak", "≤ 1.3×")

# 3. Throughput and CPU against the ceiling.
file = run("file-closed")
if echo and peak:
    share = peak["rate"] / echo["rate"]
    row("3 throughput", "Escalate closed loop calls/s ÷ echo's", f"{share * 100:.1f} % ({peak['rate']:,.0f} ÷ {echo['rate']:,.0f})", "≥ 10 %", share >= 0.10, echo_note)
    times = peak["cpu"] / echo["cpu"]
    row("3 throughput", "Escalate server CPU per call ÷ echo's", f"{times:.1f}× ({peak['cpu']:.2f} ÷ {echo['cpu']:.2f} µs)", "≤ 12×", times <= 12, echo_note)
if peak and file:
    share = file["rate"] / peak["rate"]
    row("3 throughput", "FileComplaint calls/s ÷ Escalate's", f"{share * 100:.1f} % ({file['rate']:,.0f} ÷ {peak['rate']:,.0f})", "≥ 50 %", share >= 0.5, echo_note)

# 4. Flat as it grows.
empty_file = run("claims-file")
for method, empty, grown_name in (("Escalate", peak, "grown-escalate"), ("FileComplaint", empty_file, "grown-file")):
    grown = run(grown_name)
    if not (empty and grown and method in grown["tails"] and method in empty["tails"]):
        skipped("4 growth", f"{method} with 10 M claims and sessions ÷ empty store", "within 20 %")
        continue
    cpu = grown["cpu"] / empty["cpu"]
    p99 = grown["tails"][method][1] / empty["tails"][method][1]
    row("4 growth", f"{method} CPU per call, 10 M claims + 10 M sessions ÷ empty", f"{cpu:.2f}× ({grown['cpu']:.1f} ÷ {empty['cpu']:.1f} µs)", "≤ 1.2×", cpu <= 1.2, echo_cpu)
    row("4 growth", f"{method} p99, 10 M ÷ empty", f"{p99:.2f}× ({grown['tails'][method][1]:.1f} ÷ {empty['tails'][method][1]:.1f} ms)", "≤ 1.2×", p99 <= 1.2, echo_p99)
b = load("bytes-per-claim.json")
if b:
    per = b["bytes"] / b["claims"]
    row("4 growth", "bytes on disk per filed claim, everything included", f"{per:,.0f} B ({b['bytes'] / 2**20:,.0f} MiB ÷ {b['claims']:,} claims)", "≤ 1,536 B", per <= 1536, no_store)
else:
    skipped("4 growth", "bytes on disk per filed claim", "≤ 1,536 B")
bound = load("wal-bound.json")
sizes = [load(n) for n in ("sizes-main.json", "sizes-claims.json")]
wal_max = max((s["wal_max"] for s in sizes if s), default=None)
if bound and wal_max is not None:
    row("4 growth", "largest WAL during sustained writes", f"{wal_max / 2**20:.1f} MiB", f"≤ {bound['bytes'] / 2**20:.0f} MiB (stated)", wal_max <= bound["bytes"], no_store)
idle = load("idle.json")
if idle and idle.get("bytes_per_idle_connection"):
    per = idle["bytes_per_idle_connection"]
    row("4 growth", f"server memory per idle authenticated connection ({idle['connections']['established']:,} open)", f"{per / 1024:.1f} KiB", "≤ 16 KiB", per <= 16 * 1024, echo_rss)
else:
    skipped("4 growth", "memory per idle authenticated connection", "≤ 16 KiB")
base, busy = run("idle-base"), run("idle-busy")
if base and busy and "Escalate" in base["tails"] and "Escalate" in busy["tails"]:
    ratio = busy["tails"]["Escalate"][1] / base["tails"]["Escalate"][1]
    count = idle["connections"]["established"] if idle else 0
    row("4 growth", f"p99 of 4 × 256 active beside {count:,} idle ÷ alone", f"{ratio:.2f}× ({busy['tails']['Escalate'][1]:.1f} ÷ {base['tails']['Escalate'][1]:.1f} ms)", "≤ 1.2× (unchanged)", ratio <= 1.2, echo_p99)

# 5. Codec.
try:
    codec = {}
    for line in open(path("codec.txt")):
        cols = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cols) >= 4:
            codec[cols[0]] = cols
    rt = float(codec["FileComplaintRequest round trip"][2])
    pack = float(codec["libprotobuf-c alone: FileComplaint size + pack"][2])
    unpack = float(codec["libprotobuf-c alone: FileComplaint unpack (arena)"][2])
    ratio = rt / (pack + unpack)
    row("5 codec", "FileComplaint encode + decode ÷ libprotobuf-c pack + unpack", f"{ratio:.2f}× ({rt:.0f} ÷ {pack + unpack:.0f} ns)", "≤ 1.3×", ratio <= 1.3,
        "libprotobuf-c alone is the codec's ceiling")
except (FileNotFoundError, KeyError, ValueError):
    skipped("5 codec", "FileComplaint round trip ÷ libprotobuf-c", "≤ 1.3×")

# 6. Memory over the soak.
soak = run("soak")
main_sizes = load("sizes-main.json")
if soak and soak["rss"][0]:
    start, end = soak["rss"]
    growth = (end - start) / start
    row("6 memory", f"RSS growth over the soak at 50 % ({soak['rate']:,.0f}/s)", f"{growth * 100:+.1f} % ({start / 1024:.1f} → {end / 1024:.1f} MiB)", "< 5 %", growth < 0.05, echo_rss)
if main_sizes:
    row("6 memory", "database and WAL over the service runs (soak included)",
        f"database {main_sizes['db_first'] / 2**20:,.0f} → {main_sizes['db_last'] / 2**20:,.0f} MiB, WAL ≤ {main_sizes['wal_max'] / 2**20:.1f} MiB",
        "bounded, stated", None, no_store)

print("| target | figure | this run | target | ceiling (echo, same run) | |")
print("|---|---|---:|---:|---|---|")
for r in rows:
    print(r)
missed = sum("**missed**" in r for r in rows)
print()
print(f"{len(rows)} figures; {missed} missed. Each missed one is explained, with its profile, in the analysis at the end.")
