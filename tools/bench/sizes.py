#!/usr/bin/env python3
"""What the size samples of a data dir say (tools/bench/lib.sh sample_sizes):

    python3 tools/bench/sizes.py SAMPLES.txt [--json]

Each line is "unix-seconds database-bytes wal-bytes". Prints one sentence: the database from
its first to its last size, the WAL's largest and its last; --json prints the figures instead.
"""
import json
import sys

rows = []
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) == 3:
        rows.append(tuple(int(p) for p in parts))
if not rows:
    print("no samples")
    sys.exit(0)
mib = 1 << 20
figures = {
    "seconds": rows[-1][0] - rows[0][0],
    "db_first": rows[0][1],
    "db_last": rows[-1][1],
    "wal_max": max(r[2] for r in rows),
    "wal_last": rows[-1][2],
}
if "--json" in sys.argv:
    print(json.dumps(figures))
else:
    print(
        f"over {figures['seconds']} s the database went from {figures['db_first'] / mib:,.0f} to "
        f"{figures['db_last'] / mib:,.0f} MiB; the WAL was at most {figures['wal_max'] / mib:,.1f} MiB "
        f"({figures['wal_last'] / mib:,.1f} MiB at the end)"
    )
