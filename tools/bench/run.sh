#!/bin/sh
# `make bench`: runs the benchmarks on a release build and writes BENCHMARKS.md with the
# figures, the command and the machine. Expects `swift build -c release` to have run.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bin=$(swift build -c release --show-bin-path)
rel=$(realpath --relative-to=. "$bin")
out=BENCHMARKS.md
tmp=$(mktemp)
trap 'rm -f "$tmp" "${store_tmp:-}"' EXIT

echo "running the codec benchmark..." >&2
"$bin/claimline-codec-bench" --iterations "${CODEC_ITERATIONS:-1000000}" --rounds "${CODEC_ROUNDS:-7}" > "$tmp"

echo "running the store benchmark..." >&2
store_tmp=$(mktemp)
"$bin/claimline-store-bench" --batches "${STORE_BATCHES:-50}" --batch-size "${STORE_BATCH_SIZE:-1000}" > "$store_tmp"

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
{
  echo "# Claimline benchmarks"
  echo
  echo "Written by \`make bench\` ($(date -u +%Y-%m-%dT%H:%MZ)). Do not edit by hand; the analysis"
  echo "below the figures is in \`tools/bench/ANALYSIS.md\` and is copied in."
  echo
  echo "Machine: $(nproc) cores ($cpu), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo),"
  echo "$(uname -sr), $(swift --version 2>/dev/null | head -1)."
  echo "The machine is shared and noisy: compare figures within one run, not across runs."
  echo
  echo "## Codec: libprotobuf-c with the Swift mapping"
  echo
  echo "Command: \`$rel/claimline-codec-bench --iterations ${CODEC_ITERATIONS:-1000000} --rounds ${CODEC_ROUNDS:-7}\`"
  echo "(release build; one thread; allocations counted by interposing malloc)."
  echo
  cat "$tmp"
  echo
  echo "## Store: what one write costs the writer inside SQLite"
  echo
  echo "Command: \`$rel/claimline-store-bench --batches ${STORE_BATCHES:-50} --batch-size ${STORE_BATCH_SIZE:-1000}\`"
  echo "(the statements each handler issues, in batches of one transaction and one fsync, WAL, synchronous=FULL)."
  echo
  cat "$store_tmp"
  echo
  cat tools/bench/ANALYSIS.md
} > "$out"
echo "wrote $out" >&2
