#!/bin/sh
# The PostgreSQL part of `make bench` (issue 12), in one run on a throwaway cluster:
#   1. the reference: pgbench inserting claim-shaped rows, 64 per transaction and one per
#      transaction, 8 clients (tools/bench/pgbench-claims.sh);
#   2. FileComplaint and Escalate closed loop 4 x 256 through one claimlined on PostgreSQL;
#   3. the same through two claimlined on the same database (two harnesses, 2 x 256 each).
# Each with claimlined's and PostgreSQL's CPU per call (utime+stime from /proc over the run).
# Writes a Markdown section on stdout; reports go to bench-results/pg-*.
# Usage: tools/bench/postgres.sh BIN_DIR SECONDS WARMUP
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bin=$1
seconds=$2
warmup=$3
rel=$(realpath --relative-to=. "$bin")
results=bench-results
mkdir -p "$results"
work=$(mktemp -d)
chmod 755 "$work"
cluster="$work/pg"
pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  for p in $pids; do wait "$p" 2>/dev/null || true; done
  tools/pg/cluster.sh destroy "$cluster" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

url=$(tools/pg/cluster.sh init "$cluster" 2>>"$work/cluster.log")
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# pg_cpu: CPU seconds (utime+stime) of this cluster's postmaster and its children, exited
# children included (the postmaster's cutime/cstime): the postmaster's pid is the first line of
# its data folder's postmaster.pid, so other clusters on the machine are not counted.
pg_cpu() {
  python3 - "$cluster/data/postmaster.pid" <<'PY'
import os, sys
pm = open(sys.argv[1]).readline().strip()
tick = os.sysconf("SC_CLK_TCK")
total = 0
for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        continue
    # After the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
    if pid == pm or fields[1] == pm:
        total += sum(int(f) for f in fields[11:15])
print(total / tick)
PY
}

# start NAME DB_URL: a release claimlined on a free port; sets last_port and last_pid.
start() {
  last_port=$(free_port)
  "$bin/claimlined" --listen "127.0.0.1:$last_port" --store "$2" --data-dir "$work/$1" --config config/claimline.json \
    --log-level warning 2>>"$work/$1.log" &
  last_pid=$!
  pids="$pids $last_pid"
  for _ in $(seq 1 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $last_port), 0.2)" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "claimlined did not start; log:" >&2
  cat "$work/$1.log" >&2
  exit 1
}

# database NAME: a fresh database on the cluster; its URL.
database() {
  tools/pg/cluster.sh psql "$cluster" -q -c "CREATE DATABASE $1" >/dev/null
  echo "${url%/*}/$1"
}

# run NAME PORT PID ARGS...: one harness run (JSON in bench-results).
run() {
  name=$1 port=$2 pid=$3
  shift 3
  "$bin/claimline-load" --server "127.0.0.1:$port" --server-pid "$pid" --warmup "$warmup" --quiet \
    --json "$results/pg-$name.json" --html "$results/pg-$name.html" "$@" > "$work/$name.txt" 2>&1
}

# figures NAME...: calls/s, p99 (ms, from the report's table), server CPU µs/call, errors and
# calls, summed over the named harness runs.
figures() {
  python3 - "$results" "$work" "$@" <<'PY'
import json, sys
results, work = sys.argv[1], sys.argv[2]
calls = seconds = cpu = p99 = 0.0
errors = 0
for name in sys.argv[3:]:
    d = json.load(open(f"{results}/pg-{name}.json"))
    s = d["steps"][0]
    calls += sum(m["count"] for m in s["methods"])
    seconds = max(seconds, s["duration"])
    errors += sum(sum(m["errors"].values()) for m in s["methods"])
    cpu += (d.get("server") or {}).get("cpuSeconds", 0.0)
    for line in open(f"{work}/{name}.txt"):
        parts = line.split()
        if len(parts) >= 8 and parts[1].isdigit():
            try:
                p99 = max(p99, float(parts[5]))
            except ValueError:
                pass
print(f"{calls / seconds:.0f} {p99:.1f} {cpu / calls * 1e6 if calls else 0:.1f} {errors} {calls:.0f}")
PY
}

echo "pgbench reference ..." >&2
tools/bench/pgbench-claims.sh "$url" "$seconds" > "$work/pgbench.json" 2>"$work/pgbench.log"

rows=""
measure() {
  label=$1 scenario=$2 instances=$3
  db=$(database "b_$(echo "$label" | tr -c 'a-z0-9\n' '_')")
  start "a-$label" "$db"
  port_a=$last_port pid_a=$last_pid
  if [ "$instances" = 2 ]; then
    start "b-$label" "$db"
    port_b=$last_port pid_b=$last_pid
  fi
  before=$(pg_cpu)
  if [ "$instances" = 2 ]; then
    run "$label-a" "$port_a" "$pid_a" --scenario "$scenario" --connections 2 --in-flight 256 --duration "${seconds}s" &
    ha=$!
    run "$label-b" "$port_b" "$pid_b" --scenario "$scenario" --connections 2 --in-flight 256 --duration "${seconds}s"
    wait "$ha"
    set -- "$label-a" "$label-b"
  else
    run "$label" "$port_a" "$pid_a" --scenario "$scenario" --connections 4 --in-flight 256 --duration "${seconds}s"
    set -- "$label"
  fi
  after=$(pg_cpu)
  # shellcheck disable=SC2046
  set -- $(figures "$@")
  pg_us=$(python3 -c "print(f'{($after - $before) / $5 * 1e6:.1f}' if $5 else '0')")
  rows="$rows| $label | $instances | $1 | $2 | $3 | $pg_us | $4 |
"
  eval "rate_$(echo "$label" | tr -c 'a-z0-9\n' '_')=$1"
  kill "$pid_a"
  wait "$pid_a" 2>/dev/null || true
  if [ "$instances" = 2 ]; then
    kill "$pid_b"
    wait "$pid_b" 2>/dev/null || true
  fi
}
echo "FileComplaint and Escalate through one and two claimlined on PostgreSQL ..." >&2
measure file-1 file 1
measure escalate-1 escalate 1
measure file-2 file 2
measure escalate-2 escalate 2

batched=$(python3 -c "
import json
for line in open('$work/pgbench.json'):
    d = json.loads(line)
    if d['mode'].startswith('batched'): print(int(d['rows_per_s']))")
ratio=$(python3 -c "print(f'{$rate_file_1 / $batched * 100:.0f}')")
met=$(python3 -c "print('met' if $rate_file_1 >= 0.5 * $batched else 'missed')")

echo "## PostgreSQL: one and two instances on one database"
echo
echo "A throwaway PostgreSQL 15 cluster on this machine (\`tools/pg/cluster.sh\`: fsync and"
echo "synchronous_commit on), sharing the 2 cores with claimlined and the harness."
echo
echo "Reference, \`tools/bench/pgbench-claims.sh URL $seconds\` (pgbench, 8 clients, claim-shaped rows with"
echo "2 unique keys and 2 indexes):"
echo
echo "| mode | rows/s | transactions/s | PostgreSQL CPU µs/row |"
echo "|---|---:|---:|---:|"
python3 - "$work/pgbench.json" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    cpu = d.get("pg_cpu_us_per_row")
    print(f"| {d['mode']} | {d['rows_per_s']:,.0f} | {d['tx_per_s']:,.0f} | {cpu if cpu is not None else 'n/a'} |")
PY
echo
echo "claimlined on PostgreSQL, closed loop, 4 connections x 256 in flight in all (two instances:"
echo "two harnesses, 2 x 256 each, one per instance, on one database). Command per harness:"
echo "\`$rel/claimline-load --server 127.0.0.1:PORT --server-pid PID --warmup $warmup --scenario S --connections C --in-flight 256 --duration ${seconds}s\`;"
echo "claimlined CPU is the instances' utime+stime over the run, PostgreSQL's that of every cluster process."
echo
echo "| run | instances | calls/s | p99 ms | claimlined CPU µs/call | PostgreSQL CPU µs/call | errors |"
echo "|---|---:|---:|---:|---:|---:|---:|"
printf '%s' "$rows"
echo
echo "Target: FileComplaint through one instance on PostgreSQL >= 50 % of the batched pgbench row rate"
echo "of the same run: $rate_file_1 / $batched = $ratio % ($met)."
echo
