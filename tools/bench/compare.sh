#!/bin/sh
# Escalate closed loop 4 x 256 against another build and this one, alternating, each on a fresh
# data dir, to tell a change from the machine's noise:
#   tools/bench/compare.sh BASELINE_BIN_DIR [ROUNDS] [SECONDS]
# BASELINE_BIN_DIR holds the other build's claimlined (e.g. a release build of an older commit
# in a git worktree). Prints a Markdown table; reports go to bench-results/compare-*.json.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
baseline=$1
rounds=${2:-2}
seconds=${3:-30}
bin=$(swift build -c release --show-bin-path)
results=bench-results
mkdir -p "$results"
work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "| run | calls/s | server CPU µs/call | errors |"
echo "|---|---:|---:|---:|"
round=1
while [ "$round" -le "$rounds" ]; do
  for which in baseline current; do
    dir=$bin
    [ "$which" = baseline ] && dir=$baseline
    rm -rf "$work/data"
    "$dir/claimlined" --listen "127.0.0.1:$port" --data-dir "$work/data" --config config/claimline.json \
      --log-level warning 2>> "$work/claimlined.log" &
    server_pid=$!
    for _ in $(seq 1 100); do
      python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && break
      sleep 0.1
    done
    "$bin/claimline-load" --server "127.0.0.1:$port" --server-pid "$server_pid" --warmup 5s --quiet \
      --json "$results/compare-$which-$round.json" --scenario escalate --connections 4 --in-flight 256 \
      --duration "${seconds}s" > /dev/null 2>&1
    kill -TERM "$server_pid"
    wait "$server_pid" || true
    server_pid=""
    python3 - "$results/compare-$which-$round.json" "$which $round" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
s = d["steps"][0]
calls = sum(m["count"] for m in s["methods"])
errors = sum(m["count"] - m["ok"] for m in s["methods"])
cpu = (d.get("server") or {}).get("cpuMicrosPerCall", float("nan"))
print(f"| {sys.argv[2]} | {calls / s['duration']:,.0f} | {cpu:.1f} | {errors} |")
PY
  done
  round=$((round + 1))
done
