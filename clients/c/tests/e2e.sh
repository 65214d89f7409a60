#!/usr/bin/env bash
# End to end: start claimlined on 127.0.0.1 with a free port, a temporary data
# dir and the dev config; run the contact example against it with the admin
# token; stop the server with SIGTERM and check it exits 0. Everything is
# cleaned up on any exit; the whole run fails after 60 s.
#
# Environment (paths relative to clients/c, or to the repo root):
#   CLAIMLINED  the server binary   (default ../../.build/debug/claimlined)
#   CONTACT     the example binary  (default build/contact)
#   CONFIG      the server config   (default ../../config/claimline.json)
#   TOKEN       (default dev-admin-token)
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"   # clients/c
root="$(cd "$here/../.." && pwd)"
cd "$here"

resolve() { # a path as given, else relative to the repo root
    if [[ "$1" = /* || -e "$1" ]]; then echo "$1"; else echo "$root/$1"; fi
}
claimlined="$(resolve "${CLAIMLINED:-../../.build/debug/claimlined}")"
contact="$(resolve "${CONTACT:-build/contact}")"
config="$(resolve "${CONFIG:-../../config/claimline.json}")"
token="${TOKEN:-dev-admin-token}"
limit=60

[[ -x "$claimlined" ]] || { echo "e2e: no claimlined at $claimlined (swift build --product claimlined, or set CLAIMLINED)" >&2; exit 1; }
[[ -x "$contact" ]] || { echo "e2e: no example at $contact (make)" >&2; exit 1; }

data="$(mktemp -d "${TMPDIR:-/tmp}/claimline-e2e.XXXXXX")"
server_pid=""
watchdog_pid=""
cleanup() {
    local rc=$?
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [[ -n "$watchdog_pid" ]]; then
        kill "$watchdog_pid" 2>/dev/null || true
        wait "$watchdog_pid" 2>/dev/null || true
    fi
    if [[ $rc -ne 0 && -f "$data/server.log" ]]; then
        echo "e2e: FAILED; server log:" >&2
        tail -n 40 "$data/server.log" >&2 || true
    fi
    rm -rf "$data"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The time limit: a watchdog that stops this script.
(
    trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
    sleep "$limit" & sleeper=$!
    wait "$sleeper"
    echo "e2e: timed out after ${limit}s" >&2
    kill -TERM $$
) 2>/dev/null &
watchdog_pid=$!

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# A port can be taken between choosing and binding it: try a few.
for attempt in 1 2 3 4 5; do
    port="$(free_port)"
    "$claimlined" --listen "127.0.0.1:$port" --data-dir "$data/store" --config "$config" \
        >"$data/server.log" 2>&1 &
    server_pid=$!
    # Wait until it accepts connections (or dies).
    up=0
    for _ in $(seq 1 200); do
        if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
        if python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()' "$port" 2>/dev/null; then
            up=1
            break
        fi
        sleep 0.1
    done
    [[ $up -eq 1 ]] && break
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
    echo "e2e: claimlined did not come up on port $port (attempt $attempt)" >&2
done
[[ -n "$server_pid" ]] || exit 1
echo "e2e: claimlined up on 127.0.0.1:$port (pid $server_pid)"

# The example bounds each call itself; timeout(1) guards against a hang anyway.
runner=()
command -v timeout >/dev/null && runner=(timeout 45)
"${runner[@]}" "$contact" 127.0.0.1 "$port" "$token"
echo "e2e: contact example passed"

kill -TERM "$server_pid"
set +e
wait "$server_pid"
status=$?
set -e
server_pid=""
if [[ $status -ne 0 ]]; then
    echo "e2e: claimlined exited with $status after SIGTERM" >&2
    exit 1
fi
echo "e2e: claimlined stopped cleanly on SIGTERM"
echo "e2e: PASS"
