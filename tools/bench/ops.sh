#!/bin/sh
# What operations features cost on the hot path: Escalate closed loop 4 x 256 against this
# build's claimlined three ways, alternating, each on a fresh data dir:
#   metrics off   --no-metrics (swift-metrics' no-op backend; /metrics has only process metrics)
#   metrics on    Prometheus registry, --admin-listen, /metrics scraped every second meanwhile
#   TLS           metrics on, and TLS 1.3 on the service port (harness with --tls-ca)
# and, since 256 calls in flight per connection share TLS records (one per flush), TLS again
# where records are small: 16 connections x 8 in flight, plain and TLS.
# Prints a Markdown table of every run and the medians: the metrics' share of server CPU per
# call, and TLS's cost in µs of server CPU per call in both shapes.
#   tools/bench/ops.sh BIN_DIR [ROUNDS] [SECONDS] [WARMUP]
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bin=$1
rounds=${2:-3}
seconds=${3:-20}
warmup=${4:-5s}
. tools/bench/lib.sh
tools/tls/make-certs.sh "$work/certs"
admin=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
scraper=""

echo "| variant | round | calls/s | server CPU µs/call | errors |"
echo "|---|---|---:|---:|---:|"
round=1
while [ "$round" -le "$rounds" ]; do
  for variant in off on tls on-small tls-small; do
    rm -rf "$work/data"
    shape="--connections 4 --in-flight 256"
    case $variant in
      *-small) shape="--connections 16 --in-flight 8" ;;
    esac
    case $variant in
      off) start_claimlined "$bin" "$work/data" --no-metrics; client_tls="" ;;
      on | on-small) start_claimlined "$bin" "$work/data" --admin-listen "127.0.0.1:$admin"; client_tls="" ;;
      tls | tls-small)
        start_claimlined "$bin" "$work/data" --admin-listen "127.0.0.1:$admin" \
          --tls-cert "$work/certs/server.pem" --tls-key "$work/certs/server.key"
        client_tls="--tls-ca $work/certs/ca.pem" ;;
    esac
    if [ "$variant" != off ]; then
      ( while :; do curl -fs "http://127.0.0.1:$admin/metrics" > /dev/null || true; sleep 1; done ) &
      scraper=$!
    fi
    # shellcheck disable=SC2086
    "$bin/claimline-load" --server "127.0.0.1:$port" --server-pid "$server_pid" --warmup "$warmup" --quiet $client_tls \
      --json "$results/ops-$variant-$round.json" --scenario escalate $shape \
      --duration "${seconds}s" > /dev/null 2>&1
    if [ -n "$scraper" ]; then kill "$scraper" 2>/dev/null || true; wait "$scraper" 2>/dev/null || true; scraper=""; fi
    stop_claimlined
    case $variant in
      off) name="metrics off, 4 x 256" ;;
      on) name="metrics on, 4 x 256" ;;
      tls) name="metrics on + TLS, 4 x 256" ;;
      on-small) name="metrics on, 16 x 8" ;;
      tls-small) name="metrics on + TLS, 16 x 8" ;;
    esac
    python3 tools/bench/row.py "$results/ops-$variant-$round.json" "$name" "$round"
  done
  round=$((round + 1))
done
echo
python3 - "$results" "$rounds" <<'PY'
import json, statistics, sys
results, rounds = sys.argv[1], int(sys.argv[2])
def figures(variant):
    cpu, rate = [], []
    for r in range(1, rounds + 1):
        d = json.load(open(f"{results}/ops-{variant}-{r}.json"))
        s = d["steps"][0]
        cpu.append(d["server"]["cpuMicrosPerCall"])
        rate.append(sum(m["count"] for m in s["methods"]) / s["duration"])
    return statistics.median(cpu), statistics.median(rate)
off, on, tls = figures("off"), figures("on"), figures("tls")
small, small_tls = figures("on-small"), figures("tls-small")
share = (on[0] - off[0]) / off[0] * 100
print(f"Medians of {rounds} rounds: metrics off {off[0]:.2f} µs/call ({off[1]:,.0f} calls/s), metrics on {on[0]:.2f} µs/call "
      f"({on[1]:,.0f} calls/s), TLS {tls[0]:.2f} µs/call ({tls[1]:,.0f} calls/s).")
print()
print(f"- **Metrics cost: {share:+.1f} % of server CPU per call** ({on[0] - off[0]:+.2f} µs; target ≤ 5 %: "
      f"{'met' if share <= 5 else 'MISSED'}).")
print(f"- **TLS cost, 4 x 256: {tls[0] - on[0]:+.2f} µs of server CPU per call** ({on[0]:.2f} µs without TLS, {tls[0]:.2f} µs with; "
      f"throughput {tls[1] / on[1] * 100:.0f} % of plain): answers to 256 calls in flight share a TLS record per flush.")
print(f"- **TLS cost, 16 x 8: {small_tls[0] - small[0]:+.2f} µs of server CPU per call** ({small[0]:.2f} µs without TLS, "
      f"{small_tls[0]:.2f} µs with; throughput {small_tls[1] / small[1] * 100:.0f} % of plain): small records, closer to one per call.")
PY
