#!/usr/bin/env bash
# TLS end to end (PROTOCOL.md 2.1): makes a throwaway CA and certificates
# (tools/tls/make-certs.sh) and a server config mapping admin.pem's subject to the admin role
# in a temporary folder, starts two claimlined with TLS on free 127.0.0.1 ports:
#   A  --tls-cert/--tls-key --tls-client-ca       (client certificates optional)
#   B  the same with --tls-require-client-cert
# then runs
#   1. the contact example over TLS to A with the dev admin token (a whole contact);
#   2. the contact example over mTLS to B: admin.pem, an EMPTY token;
#   3. tls_e2e_test (each binary in $TLS_TESTS: the ASan+UBSan build, the valgrind command):
#      mTLS role, a required certificate missing, a plain client on the TLS port
#      (TLS_REQUIRED), an untrusted CA, host name checks, failover over TLS, bad files.
# Stops both servers with SIGTERM (they must exit 0). Everything is cleaned up on any exit,
# the servers killed; the whole run fails after 240 s.
#
# Environment (paths relative to clients/c, or to the repo root):
#   CLAIMLINED  the server binary    (default ../../.build/debug/claimlined)
#   CONTACT     the example binary   (default build/contact)
#   TLS_TESTS   commands running tls_e2e_test, separated by ';' (default build/tls_e2e_test;
#               "" runs the example only)
#   POLICY      the policy file      (default ../../config/policy.json)
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"   # clients/c
root="$(cd "$here/../.." && pwd)"
cd "$here"

resolve() { # a path as given, else relative to the repo root
    if [[ "$1" = /* || -e "$1" ]]; then echo "$1"; else echo "$root/$1"; fi
}
claimlined="$(resolve "${CLAIMLINED:-../../.build/debug/claimlined}")"
contact="$(resolve "${CONTACT:-build/contact}")"
policy="$(resolve "${POLICY:-../../config/policy.json}")"
tls_tests="${TLS_TESTS-$here/build/tls_e2e_test}"
make_certs="$root/tools/tls/make-certs.sh"
limit=240

[[ -x "$claimlined" ]] || { echo "tls-e2e: no claimlined at $claimlined (swift build --product claimlined, or set CLAIMLINED)" >&2; exit 1; }
[[ -x "$contact" ]] || { echo "tls-e2e: no example at $contact (make)" >&2; exit 1; }
[[ -f "$make_certs" ]] || { echo "tls-e2e: no $make_certs" >&2; exit 1; }
command -v openssl >/dev/null || { echo "tls-e2e: needs the openssl command (make-certs.sh)" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/claimline-tls-e2e.XXXXXX")"
pids=()
watchdog_pid=""
cleanup() {
    local rc=$?
    for pid in "${pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    if [[ -n "$watchdog_pid" ]]; then
        kill "$watchdog_pid" 2>/dev/null || true
        wait "$watchdog_pid" 2>/dev/null || true
    fi
    if [[ $rc -ne 0 ]]; then
        for log in "$work"/*.log; do
            [[ -f "$log" ]] || continue
            echo "tls-e2e: FAILED; $(basename "$log"):" >&2
            tail -n 30 "$log" >&2 || true
        done
    fi
    rm -rf "$work"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

(
    trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
    sleep "$limit" & sleeper=$!
    wait "$sleeper"
    echo "tls-e2e: timed out after ${limit}s" >&2
    kill -TERM $$
) 2>/dev/null &
watchdog_pid=$!

certs="$work/certs"
sh "$make_certs" "$certs"
cat >"$work/config.json" <<EOF
{ "serverName": "tls-test", "policyFile": "$policy",
  "clients": [
    { "name": "dev-admin", "token": "dev-admin-token", "role": "admin" },
    { "name": "dev-ivr", "token": "dev-ivr-token", "role": "ivr" },
    { "name": "ops-console", "role": "admin", "certificateSubject": "CN=ops-console,O=Claimline Test" } ] }
EOF

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start NAME EXTRA-ARGS...: claimlined with TLS on a free port; sets $port and $pid (a port
# taken between choosing and binding it is retried).
start() {
    local name="$1" attempt up
    shift
    for attempt in 1 2 3 4 5; do
        port="$(free_port)"
        "$claimlined" --listen "127.0.0.1:$port" --data-dir "$work/$name-data" --config "$work/config.json" \
            --tls-cert "$certs/server.pem" --tls-key "$certs/server.key" --tls-client-ca "$certs/ca.pem" "$@" \
            >"$work/$name.log" 2>&1 &
        pid=$!
        pids+=("$pid")
        up=0
        for _ in $(seq 1 200); do
            if ! kill -0 "$pid" 2>/dev/null; then break; fi
            if python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()' "$port" 2>/dev/null; then
                up=1
                break
            fi
            sleep 0.1
        done
        [[ $up -eq 1 ]] && return 0
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        echo "tls-e2e: claimlined ($name) did not come up on port $port (attempt $attempt)" >&2
    done
    return 1
}

stop() { # PID NAME: SIGTERM, must exit 0
    kill -TERM "$1"
    set +e
    wait "$1"
    local status=$?
    set -e
    if [[ $status -ne 0 ]]; then
        echo "tls-e2e: claimlined ($2) exited with $status after SIGTERM" >&2
        exit 1
    fi
}

start optional
port_a=$port pid_a=$pid
start required --tls-require-client-cert
port_b=$port pid_b=$pid
echo "tls-e2e: claimlined with TLS up on 127.0.0.1:$port_a (client certificate optional) and :$port_b (required)"

runner=()
command -v timeout >/dev/null && runner=(timeout 60)

"${runner[@]}" "$contact" 127.0.0.1 "$port_a" dev-admin-token --ca "$certs/ca.pem"
echo "tls-e2e: contact over TLS (token) passed"
"${runner[@]}" "$contact" localhost "$port_b" "" --ca "$certs/ca.pem" \
    --cert "$certs/admin.pem" --key "$certs/admin.key"
echo "tls-e2e: contact over mTLS (admin.pem, empty token) passed"

tests=()
[[ -n "$tls_tests" ]] && IFS=';' read -r -a tests <<<"$tls_tests"
for t in ${tests[@]+"${tests[@]}"}; do
    # shellcheck disable=SC2086
    CLAIMLINE_TLS_CERTS="$certs" CLAIMLINE_TLS_PORT="$port_a" CLAIMLINE_TLS_REQUIRE_PORT="$port_b" \
        "${runner[@]}" $t
    echo "tls-e2e: $t passed"
done

stop "$pid_a" optional
stop "$pid_b" required
echo "tls-e2e: both claimlined stopped cleanly on SIGTERM"
echo "tls-e2e: PASS"
