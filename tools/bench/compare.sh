#!/bin/sh
# Escalate (and, with COMPARE_SCENARIOS="escalate file", FileComplaint) closed loop 4 x 256
# against another build and this one, alternating, each on a fresh data dir, to tell a change
# from the machine's noise:
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
. tools/bench/lib.sh
scenarios=${COMPARE_SCENARIOS:-escalate}
echo "| scenario | run | calls/s | server CPU µs/call | errors |"
echo "|---|---|---:|---:|---:|"
for scenario in $scenarios; do
round=1
while [ "$round" -le "$rounds" ]; do
  for which in baseline current; do
    dir=$bin
    [ "$which" = baseline ] && dir=$baseline
    rm -rf "$work/data"
    start_claimlined "$dir" "$work/data"
    "$bin/claimline-load" --server "127.0.0.1:$port" --server-pid "$server_pid" --warmup 5s --quiet \
      --json "$results/compare-$scenario-$which-$round.json" --scenario "$scenario" --connections 4 --in-flight 256 \
      --duration "${seconds}s" > /dev/null 2>&1
    stop_claimlined
    python3 tools/bench/row.py "$results/compare-$scenario-$which-$round.json" "$scenario" "$which $round"
  done
  round=$((round + 1))
done
done
