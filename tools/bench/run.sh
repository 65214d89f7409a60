#!/bin/sh
# `make bench`: release benchmarks, written to BENCHMARKS.md with the commands and the machine.
#   1. claimlined (release) on a temporary data dir, driven by claimline-load:
#      escalate closed loop 4 x 256, escalate open loop at 50,000/s, file complaint closed loop
#      4 x 256, whole contacts, and a soak at half the escalate peak (RSS growth);
#   2. the codec benchmark; 3. the store benchmark.
# Reports (JSON, .hgrm, self-contained HTML) go to bench-results/. Durations can be shortened
# for a quick look: BENCH_SECONDS=10 BENCH_SOAK_SECONDS=60 make bench.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bin=$(swift build -c release --show-bin-path)
rel=$(realpath --relative-to=. "$bin")
seconds=${BENCH_SECONDS:-30}
soak=${BENCH_SOAK_SECONDS:-300}
warmup=${BENCH_WARMUP:-5s}
open_rate=${BENCH_OPEN_RATE:-50000}
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
echo "starting claimlined on 127.0.0.1:$port ..." >&2
"$bin/claimlined" --listen "127.0.0.1:$port" --data-dir "$work/data" --config config/claimline.json --log-level warning \
  2> "$work/claimlined.log" &
server_pid=$!
for _ in $(seq 1 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && break
  sleep 0.1
done

# load NAME ARGS...: one harness run; its report goes to $work/NAME.txt and bench-results/.
load() {
  name=$1
  shift
  echo "load: $name $*" >&2
  "$bin/claimline-load" --server "127.0.0.1:$port" --server-pid "$server_pid" --warmup "$warmup" --quiet \
    --json "$results/$name.json" --hgrm "$results/$name.hgrm" --html "$results/$name.html" "$@" > "$work/$name.txt" 2>&1
  printf '%s\n' "$*" > "$work/$name.args"
}

load escalate-closed --scenario escalate --connections 4 --in-flight 256 --duration "${seconds}s"
load escalate-open --scenario escalate --connections 4 --rate "$open_rate" --duration "${seconds}s"
load file-closed --scenario file --connections 4 --in-flight 256 --duration "${seconds}s"
load contact-closed --scenario contact --connections 4 --in-flight 64 --duration "${seconds}s"
peak=$(python3 -c "
import json
d = json.load(open('$results/escalate-closed.json'))
s = d['steps'][0]
print(int(sum(m['count'] for m in s['methods']) / s['duration']))")
half=$((peak / 2))
load soak --scenario escalate --connections 4 --rate "$half" --duration "${soak}s"

kill -TERM "$server_pid"
wait "$server_pid" || true
server_pid=""

echo "running the codec benchmark..." >&2
"$bin/claimline-codec-bench" --iterations "${CODEC_ITERATIONS:-1000000}" --rounds "${CODEC_ROUNDS:-7}" > "$work/codec.txt"
echo "running the store benchmark..." >&2
"$bin/claimline-store-bench" --batches "${STORE_BATCHES:-50}" --batch-size "${STORE_BATCH_SIZE:-1000}" > "$work/store.txt"

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
  section escalate-closed "Escalate, closed loop, 4 connections x 256 in flight"
  section escalate-open "Escalate, open loop at $open_rate calls/s"
  section file-closed "FileComplaint (durable, group commit), closed loop, 4 x 256"
  section contact-closed "Whole contacts (escalate, retain, file), closed loop, 4 x 64"
  section soak "Soak: escalate, open loop at half the closed-loop peak ($half calls/s) for ${soak} s"
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
