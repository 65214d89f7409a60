# Shared by tools/bench/run.sh and compare.sh (sourced, POSIX sh): a scratch folder removed on
# exit, a free loopback port, and a claimlined started and stopped on it.
results=bench-results
mkdir -p "$results"
work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "${sampler_pid:-}" ] && kill "$sampler_pid" 2>/dev/null
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# start_claimlined BIN_DIR DATA_DIR [OPTIONS...]: starts BIN_DIR/claimlined on $port (log in
# $work) with OPTIONS, sets server_pid, and returns once it accepts connections.
start_claimlined() {
  bin_dir=$1 data_dir=$2
  shift 2
  "$bin_dir/claimlined" --listen "127.0.0.1:$port" --data-dir "$data_dir" --config "${CLAIMLINED_CONFIG:-config/claimline.json}" --log-level warning \
    "$@" 2>> "$work/claimlined.log" &
  server_pid=$!
  for _ in $(seq 1 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && break
    sleep 0.1
  done
}

# stop_claimlined: SIGTERM (a graceful shutdown) and wait for it.
stop_claimlined() {
  kill -TERM "$server_pid"
  wait "$server_pid" || true
  server_pid=""
}

# slow_commits: how many commits the server's writer logged as stalls (over 10 ms) so far,
# the "N more slow commits suppressed" lines counted in full.
slow_commits() {
  python3 - "$work/claimlined.log" <<'PY'
import re, sys
n = 0
try:
    for line in open(sys.argv[1], errors="replace"):
        m = re.search(r"(\d+) more slow commits suppressed", line)
        if m:
            n += int(m.group(1))
        elif "slow commit" in line:
            n += 1
except FileNotFoundError:
    pass
print(n)
PY
}

# sample_sizes DATA_DIR OUT: every second, "unix-seconds database-bytes wal-bytes" to OUT, in
# the background until stop_sampler.
sampler_pid=""
sample_sizes() {
  : > "$2"
  (
    while :; do
      printf '%s %s %s\n' "$(date +%s)" "$(stat -c %s "$1/claimline.db" 2>/dev/null || echo 0)" \
        "$(stat -c %s "$1/claimline.db-wal" 2>/dev/null || echo 0)" >> "$2"
      sleep 1
    done
  ) &
  sampler_pid=$!
}
stop_sampler() {
  if [ -n "$sampler_pid" ]; then
    kill "$sampler_pid" 2> /dev/null || true
    wait "$sampler_pid" 2> /dev/null || true
  fi
  sampler_pid=""
}

# profile NAME LOAD-ARGS...: a 10 s harness run like the measured one, with `perf record` on
# the server for 8 s of it; the report (by thread and library, then by symbol) goes to
# $results/profile-NAME.txt. Skipped when perf is missing or not permitted.
profile() {
  name=$1
  shift
  command -v perf > /dev/null 2>&1 || return 0
  echo "profile: $name $*" >&2
  "$bin/claimline-load" --server "127.0.0.1:$port" --server-pid "$server_pid" --warmup 1s --quiet \
    "$@" --duration 10s > "$work/profile-$name.load.txt" 2>&1 &
  loader=$!
  sleep 2
  perf record -F 499 -g -p "$server_pid" -o "$work/$name.perf" -- sleep 8 > /dev/null 2>&1 || true
  wait "$loader" || true
  [ -s "$work/$name.perf" ] || return 0
  {
    echo "# $name: $*"
    grep -E '^(Escalate|FileComplaint|server)' "$work/profile-$name.load.txt" || true
    echo
    perf report -i "$work/$name.perf" --no-children --sort comm,dso -g none --percent-limit 1 --stdio 2> /dev/null | grep -v '^#' | sed '/^$/d'
    echo
    perf report -i "$work/$name.perf" --no-children --sort comm,sym -g none --percent-limit 0.7 --stdio 2> /dev/null | grep -v '^#' | sed '/^$/d' \
      | swift demangle --simplified
  } > "$results/profile-$name.txt"
}
