#!/bin/sh
# `make bench`: release benchmarks, written to BENCHMARKS.md with the commands and the machine.
#   0. claimline-echo (the transport's ceiling: our framing, no work), escalate closed loop 4 x 256;
#   1. claimlined (release) on a temporary data dir, driven by claimline-load:
#      escalate closed loop 4 x 256 (the peak), escalate open loop at 40 % and 80 % of that peak
#      (the tail, and the writer's slow commits during each), file complaint closed loop
#      4 x 256, whole contacts, and a soak at half the peak (RSS, WAL and database sizes);
#      `perf record` profiles of the peak, the 40 % load and FileComplaint (tools/bench/lib.sh);
#   1b. growth (tools/bench/scale.sh, BENCH_SCALE=0 skips it): bytes per filed claim, 10 M
#      preloaded claims and sessions, 10,000 idle connections;
#   2. PostgreSQL: pgbench's claim-shaped reference, FileComplaint and Escalate through one and
#      two claimlined on one database (tools/bench/postgres.sh; BENCH_POSTGRES=0 skips it);
#   3. operations: escalate closed loop with metrics off, on, and over TLS (tools/bench/ops.sh;
#      BENCH_OPS=0 skips it); 4. the codec benchmark; 5. the store benchmark.
# Reports (JSON, .hgrm, self-contained HTML) go to bench-results/. Durations can be shortened
# for a quick look: BENCH_SECONDS=10 BENCH_SOAK_SECONDS=60 make bench.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bin=$(swift build -c release --show-bin-path)
rel=$(realpath --relative-to=. "$bin")
seconds=${BENCH_SECONDS:-30}
soak=${BENCH_SOAK_SECONDS:-600}
warmup=${BENCH_WARMUP:-5s}
. tools/bench/lib.sh

# The ceiling first: claimline-echo (Claimline's framing and handshake, no work) under the same
# harness settings as claimlined's closed loop, so every figure below has the transport's beside it.
echo "echo baseline (claimline-echo) ..." >&2
"$bin/claimline-echo" --listen "127.0.0.1:$port" > "$work/echo.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && break
  sleep 0.1
done
"$bin/claimline-load" --server "127.0.0.1:$port" --server-pid "$server_pid" --warmup "$warmup" --quiet \
  --json "$results/echo-closed.json" --hgrm "$results/echo-closed.hgrm" --html "$results/echo-closed.html" \
  --scenario escalate --connections 4 --in-flight 256 --duration "${seconds}s" > "$work/echo-closed.txt" 2>&1
printf '%s\n' "--scenario escalate --connections 4 --in-flight 256 --duration ${seconds}s" > "$work/echo-closed.args"
cp "$work/echo-closed.txt" "$results/echo-closed.txt"
kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=""

echo "starting claimlined on 127.0.0.1:$port ..." >&2
start_claimlined "$bin" "$work/data"
sample_sizes "$work/data" "$results/sizes-main.txt"

# load NAME ARGS...: one harness run; its report goes to $work/NAME.txt and bench-results/, and
# the writer's slow commits (stalls over 10 ms) logged during it to $results/NAME.slow.
load() {
  name=$1
  shift
  echo "load: $name $*" >&2
  before=$(slow_commits)
  "$bin/claimline-load" --server "127.0.0.1:$port" --server-pid "$server_pid" --warmup "$warmup" --quiet \
    --json "$results/$name.json" --hgrm "$results/$name.hgrm" --html "$results/$name.html" "$@" > "$work/$name.txt" 2>&1
  printf '%s\n' "$*" > "$work/$name.args"
  cp "$work/$name.txt" "$results/$name.txt"
  echo $(($(slow_commits) - before)) > "$results/$name.slow"
}

# section NAME TITLE: a run's command and report, as Markdown.
section() {
  name=$1
  title=$2
  echo "### $title"
  echo
  echo "Command: \`$rel/claimline-load --server 127.0.0.1:PORT --server-pid PID --warmup $warmup $(cat "$work/$name.args")\`"
  echo "(reports: \`$results/$name.html\`, \`.json\`, \`.hgrm\`)"
  echo
  echo '```'
  grep -v '^claimline-load:' "$work/$name.txt" | sed '/^$/d'
  echo '```'
  echo
}

# rate_of NAME FRACTION: calls/s of a run's report times FRACTION, as an integer.
rate_of() {
  python3 -c "
import json
d = json.load(open('$results/$1.json'))
s = d['steps'][0]
print(int(sum(m['count'] for m in s['methods']) / s['duration'] * $2))"
}

load escalate-closed --scenario escalate --connections 4 --in-flight 256 --duration "${seconds}s"
profile escalate-closed --scenario escalate --connections 4 --in-flight 256
peak=$(rate_of escalate-closed 1)
rate40=$(rate_of escalate-closed 0.4)
rate80=$(rate_of escalate-closed 0.8)
load escalate-40 --scenario escalate --connections 4 --rate "$rate40" --duration "${BENCH_TAIL_SECONDS:-60}s"
profile escalate-40 --scenario escalate --connections 4 --rate "$rate40"
load escalate-80 --scenario escalate --connections 4 --rate "$rate80" --duration "${seconds}s"
load file-closed --scenario file --connections 4 --in-flight 256 --duration "${seconds}s"
profile file-closed --scenario file --connections 4 --in-flight 256
load contact-closed --scenario contact --connections 4 --in-flight 64 --duration "${seconds}s"
half=$((peak / 2))
load soak --scenario escalate --connections 4 --rate "$half" --duration "${soak}s"
# Hostile callers (issue 9), against the same server, now holding every claim filed above: each
# attack with a well-behaved probe (GetClaim) before and during, and the server's RSS.
claim_no="$(date -u +%Y)-000001"
attack() {
  kind=$1
  shift
  echo "attack: $kind $*" >&2
  "$bin/claimline-load" attack --server "127.0.0.1:$port" --server-pid "$server_pid" --kind "$kind" --claim "$claim_no" \
    --json "$results/attack-$kind.json" "$@" > "$work/attack-$kind.txt" 2>&1
  printf '%s\n' "--kind $kind $*" > "$work/attack-$kind.args"
}
attack never-read --duration "${BENCH_ATTACK_NEVER_READ:-20s}"
attack silent-sockets --duration 10s --count 1024 --sources 127.0.0.2,127.0.0.1
attack read-flood --duration 10s --count 1024
attack bad-hellos --duration 10s --count 4000

stop_claimlined
stop_sampler
python3 tools/bench/sizes.py "$results/sizes-main.txt" --json > "$results/sizes-main.json"
# The WAL's stated bound under sustained writes: 64 MiB. The writer asks for a restart once the
# WAL holds 16 MiB of frames and makes it right after the next background checkpoint step, and
# the restart cuts the file back to 32 MiB (SQLiteStoreBackend.walSizeLimitBytes); the file grows
# past that only while a reader's snapshot holds the WAL's start.
echo '{"bytes": 67108864}' > "$results/wal-bound.json"

# Flat as it grows (issue 14): bytes per filed claim on a fresh store; then 10 M claims and 10 M
# contact sessions generated into a store, the same runs against it; then idle connections.
if [ "${BENCH_SCALE:-1}" = 1 ]; then
  echo "store growth and idle connections ..." >&2
  . tools/bench/scale.sh
fi

# Optional: the same escalate closed loop against another build (BENCH_BASELINE_BIN, a folder
# holding its claimlined), then this build again, alternating, to tell a change from noise.
if [ -n "${BENCH_BASELINE_BIN:-}" ]; then
  echo "comparing with $BENCH_BASELINE_BIN ..." >&2
  COMPARE_SCENARIOS="escalate file" tools/bench/compare.sh "$BENCH_BASELINE_BIN" 2 "$seconds" > "$work/compare.md"
fi

# Operations (issue 13): what metrics and TLS cost per call, alternating variants.
if [ "${BENCH_OPS:-1}" = 1 ]; then
  echo "operations: metrics off / on / TLS ..." >&2
  tools/bench/ops.sh "$bin" "${BENCH_OPS_ROUNDS:-3}" "${BENCH_OPS_SECONDS:-20}" "$warmup" > "$work/ops.md"
fi

# PostgreSQL (issue 12): the pgbench reference, then one and two claimlined on one database.
if [ "${BENCH_POSTGRES:-1}" = 1 ]; then
  echo "PostgreSQL benchmarks ..." >&2
  tools/bench/postgres.sh "$bin" "$seconds" "$warmup" > "$work/postgres.md"
fi

echo "running the codec benchmark..." >&2
"$bin/claimline-codec-bench" --iterations "${CODEC_ITERATIONS:-1000000}" --rounds "${CODEC_ROUNDS:-7}" > "$work/codec.txt"
cp "$work/codec.txt" "$results/codec.txt"
# Where a round trip's time goes: the same benchmark, shorter, under perf (by library, then symbol).
if command -v perf > /dev/null 2>&1; then
  perf record -F 999 -g -o "$work/codec.perf" -- "$bin/claimline-codec-bench" --iterations 300000 --rounds 2 > /dev/null 2>&1 || true
  if [ -s "$work/codec.perf" ]; then
    {
      echo "# codec: claimline-codec-bench --iterations 300000 --rounds 2 (every row of the table, one after the other)"
      perf report -i "$work/codec.perf" --no-children --sort dso -g none --percent-limit 1 --stdio 2> /dev/null | grep -v '^#' | sed '/^$/d'
      echo
      perf report -i "$work/codec.perf" --no-children --sort sym -g none --percent-limit 1 --stdio 2> /dev/null | grep -v '^#' | sed '/^$/d' \
        | swift demangle --simplified
    } > "$results/profile-codec.txt"
  fi
fi
echo "running the store benchmark..." >&2
"$bin/claimline-store-bench" --batches "${STORE_BATCHES:-50}" --batch-size "${STORE_BATCH_SIZE:-1000}" > "$work/store.txt"


cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
{
  echo "# Claimline benchmarks"
  echo
  echo "Written by \`make bench\` ($(date -u +%Y-%m-%dT%H:%MZ)); the analysis at the end is"
  echo "\`tools/bench/ANALYSIS.md\`, copied in. Do not edit by hand."
  echo
  echo "Machine: $(nproc) cores ($cpu), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo),"
  echo "$(uname -sr), $(swift --version 2>/dev/null | head -1). Server and harness share the machine."
  echo "It is shared and noisy: compare figures within one run, not across runs."
  echo
  echo "## The service under load (claimline-load against a release claimlined, SQLite store)"
  echo
  echo "Latency is from each call's intended send time (coordinated omission corrected). Server CPU"
  echo "per call is the server's utime+stime from /proc/PID/stat over the measured window divided by"
  echo "the calls answered; RSS from /proc/PID/status."
  echo
  echo "## Issue 14's targets, from this run"
  echo
  python3 tools/bench/targets.py "$results"
  echo
  section echo-closed "Ceiling: claimline-echo (Claimline's framing, no work), closed loop, 4 x 256"
  section escalate-closed "Escalate, closed loop, 4 connections x 256 in flight"
  section escalate-40 "Escalate, open loop at 40 % of the peak ($rate40 calls/s)"
  section escalate-80 "Escalate, open loop at 80 % of the peak ($rate80 calls/s)"
  section file-closed "FileComplaint (durable, group commit), closed loop, 4 x 256"
  section contact-closed "Whole contacts (escalate, retain, file), closed loop, 4 x 64"
  section soak "Soak: escalate, open loop at half the closed-loop peak ($half calls/s) for ${soak} s"
  echo "Database and WAL sizes over these runs, sampled every second (\`$results/sizes-main.txt\`): $(python3 tools/bench/sizes.py "$results/sizes-main.txt")."
  echo
  [ -s "$work/scale.md" ] && cat "$work/scale.md"
  echo "## Profiles"
  echo
  echo "\`perf record -F 499 -g -p PID\` for 8 s during a 10 s run after each measured one (same"
  echo "harness settings), then \`perf report --no-children\`: the share of the server's samples by"
  echo "thread and library, then the hottest symbols. Full reports: \`$results/profile-*.txt\`."
  echo
  for name in escalate-closed escalate-40 file-closed grown-escalate codec; do
    [ -s "$results/profile-$name.txt" ] || continue
    echo "### $name"
    echo
    echo '```'
    head -n 40 "$results/profile-$name.txt"
    echo '```'
    echo
  done
  echo "## Hostile peers"
  echo
  echo "Each attack runs against the server above (default limits: 1 MiB of answers per connection,"
  echo "256 pending handshakes, 64 per address, 2 reads per connection in the pool). A well-behaved"
  echo "probe calls GetClaim every 20 ms, for 5 s before the attack and throughout it. RSS is the"
  echo "server's VmRSS: before the attack, its peak (sampled every 100 ms) and 3 s after."
  echo
  echo "| attack | command | RSS before / peak / after (MiB) | probe p50 / p99 before (ms) | probe p50 / p99 during (ms) | probe failures | attacker |"
  echo "|---|---|---|---|---|---|---|"
  for kind in never-read silent-sockets read-flood bad-hellos; do
    python3 - "$results/attack-$kind.json" "$(cat "$work/attack-$kind.args")" "$rel" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
r, b, u, a = d["rss_kb"], d["probe_before_ms"], d["probe_during_ms"], d["attacker"]
what = {
    "never-read": f"{a['requests_sent']:,} ListClaims(1000) sent, none read",
    "silent-sockets": f"{a['sockets_opened']} sockets, {a['sockets_closed_by_server']} evicted",
    "read-flood": f"{a['requests_sent']:,} ListClaims(1000), {a['answers_read']:,} answered",
    "bad-hellos": ", ".join(f"{k} {v}" for k, v in sorted(a["goaway_reasons"].items())),
}[d["kind"]]
print(f"| {d['kind']} | `{sys.argv[3]}/claimline-load attack {sys.argv[2]}` | {r['before']/1024:.0f} / {r['peak']/1024:.0f} / {r['after']/1024:.0f} "
      f"| {b['p50']:.2f} / {b['p99']:.2f} | {u['p50']:.2f} / {u['p99']:.2f} | {u['failures']} of {u['calls']} | {what} |")
PY
  done
  echo
  if [ -s "$work/ops.md" ]; then
    echo "## Operations: what metrics and TLS cost (SQLite, Escalate closed loop, alternating)"
    echo
    echo "Command: \`tools/bench/ops.sh $rel ${BENCH_OPS_ROUNDS:-3} ${BENCH_OPS_SECONDS:-20} $warmup\`: each round runs"
    echo "claimlined three ways on a fresh data dir: \`--no-metrics\`; metrics on (Prometheus registry,"
    echo "\`--admin-listen\`, \`/metrics\` scraped every second during the run); and metrics on with TLS 1.3"
    echo "on the service port (\`--tls-cert/--tls-key\`, certificates from \`tools/tls/make-certs.sh\`; the"
    echo "harness with \`--tls-ca\`), with 4 connections x 256 calls in flight; then metrics on without and with TLS"
    echo "at 16 connections x 8 in flight, where TLS records are small. Server CPU per call as above."
    echo
    cat "$work/ops.md"
    echo
  fi
  [ -s "$work/postgres.md" ] && cat "$work/postgres.md"
  if [ -n "${BENCH_BASELINE_BIN:-}" ]; then
    echo "## This build against a baseline build, SQLite, closed loop 4 x 256, alternating"
    echo
    echo "Baseline: \`\$BENCH_BASELINE_BIN/claimlined\` (${BENCH_BASELINE_NAME:-another build}); each run on a fresh data dir,"
    echo "same harness commands as the escalate and FileComplaint closed loops above, in the order listed."
    echo
    cat "$work/compare.md"
    echo
  fi
  echo "## Codec: libprotobuf-c with the Swift mapping"
  echo
  echo "Command: \`$rel/claimline-codec-bench --iterations ${CODEC_ITERATIONS:-1000000} --rounds ${CODEC_ROUNDS:-7}\`"
  echo "(one thread; allocations counted by interposing malloc)."
  echo
  cat "$work/codec.txt"
  echo
  echo "## Store: what one write costs the writer inside SQLite"
  echo
  echo "Command: \`$rel/claimline-store-bench --batches ${STORE_BATCHES:-50} --batch-size ${STORE_BATCH_SIZE:-1000}\`"
  echo "(the statements each handler issues, in batches of one transaction and one fsync; WAL, synchronous=FULL)."
  echo
  cat "$work/store.txt"
  echo
  cat tools/bench/ANALYSIS.md
} > BENCHMARKS.md
echo "wrote BENCHMARKS.md; reports in $results/" >&2
