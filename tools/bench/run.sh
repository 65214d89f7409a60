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
trap 'rm -f "$tmp"' EXIT

echo "running the codec benchmark..." >&2
"$bin/claimline-codec-bench" --iterations "${CODEC_ITERATIONS:-1000000}" --rounds "${CODEC_ROUNDS:-7}" > "$tmp"

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
  cat tools/bench/ANALYSIS.md
} > "$out"
echo "wrote $out" >&2
