# Shared by tools/bench/run.sh and compare.sh (sourced, POSIX sh): a scratch folder removed on
# exit, a free loopback port, and a claimlined started and stopped on it.
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

# start_claimlined BIN_DIR DATA_DIR [OPTIONS...]: starts BIN_DIR/claimlined on $port (log in
# $work) with OPTIONS, sets server_pid, and returns once it accepts connections.
start_claimlined() {
  bin_dir=$1 data_dir=$2
  shift 2
  "$bin_dir/claimlined" --listen "127.0.0.1:$port" --data-dir "$data_dir" --config config/claimline.json --log-level warning \
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
