#!/usr/bin/env python3
"""One Markdown table row from a claimline-load --json result (tools/bench/compare.sh, ops.sh):

    python3 tools/bench/row.py RESULT.json LABEL...   ->   | LABEL | ... | calls/s | server CPU µs/call | errors |
"""
import json
import sys

d = json.load(open(sys.argv[1]))
s = d["steps"][0]
calls = sum(m["count"] for m in s["methods"])
errors = sum(m["count"] - m["ok"] for m in s["methods"])
cpu = (d.get("server") or {}).get("cpuMicrosPerCall", float("nan"))
labels = " | ".join(sys.argv[2:])
print(f"| {labels} | {calls / s['duration']:,.0f} | {cpu:.2f} | {errors} |")
