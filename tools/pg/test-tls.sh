#!/usr/bin/env bash
# test-tls.sh: tests PostgreSQL over TLS as tools/pg makes it: with-tls-cluster.sh (a TLS-only
# cluster, certificates of a throwaway CA) and cluster.sh init --tls/--tls-only, on real
# clusters, removed on every path (success, failure, Ctrl-C, SIGTERM).
#
#   tools/pg/test-tls.sh
#
# psql with sslmode=verify-full and the CA connects (by name and by 127.0.0.1), with another CA
# fails, and without TLS is refused; a server certificate that does not name 127.0.0.1 is
# refused by init; a TLS-only primary's standby replicates over TLS. One line per check, then
# `N passed, M failed`; exit status 1 when a check failed. About 10 s.
# shellcheck disable=SC2317 # the functions below run through check
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd -P)
cluster=$here/cluster.sh
bin=${CLAIMLINE_PG_BIN:-/usr/lib/postgresql/15/bin}
psql_bin=$bin/psql
[ -x "$psql_bin" ] || psql_bin=psql

# check NAME CMD...: one test, ok or FAIL (then CMD's output); counted in $state/passed, failed.
check() {
  local name=$1
  shift
  if "$@" >"$state/out" 2>&1; then
    echo x >>"$state/passed"
    echo "ok   $name"
    return 0
  fi
  echo x >>"$state/failed"
  echo "FAIL $name"
  tail -n 20 "$state/out" | sed 's/^/     | /'
  return 1
}

# connect URL: one query over the connection; prints whether it is TLS, and the protocol.
connect() {
  PGCONNECT_TIMEOUT=5 timeout 15 "$psql_bin" -X -At -v ON_ERROR_STOP=1 "$1" \
    -c "SELECT ssl || ' ' || version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
}
# connects URL: TLS, whatever the protocol version.
connects() {
  local got
  got=$(connect "$1") || return 1
  echo "$got"
  case $got in
    "true TLSv1."[23]) return 0 ;;
  esac
  return 1
}
# refused URL TEXT: the connection fails, with TEXT in the error.
refused() {
  local err
  if err=$(connect "$1" 2>&1); then
    echo "connected: $err"
    return 1
  fi
  echo "$err"
  case $err in
    *"$2"*) return 0 ;;
  esac
  return 1
}

# ---- inside with-tls-cluster.sh: its environment ----
if [ "${1:-}" = --inside ]; then
  state=$2
  printf '%s\n' "$CLAIMLINE_PG_DIR" >"$state/dir"
  port=$(cat "$CLAIMLINE_PG_DIR/port")
  verify="sslmode=verify-full&sslrootcert=$CLAIMLINE_PG_CA"
  check "with-tls-cluster.sh: CLAIMLINE_PG_URL is postgres://claimline@localhost:PORT/claimline" \
    test "$CLAIMLINE_PG_URL" = "postgres://claimline@localhost:$port/claimline"
  check "verify-full with the CA, host localhost: TLS" connects "$CLAIMLINE_PG_URL?$verify"
  check "verify-full with the CA, host 127.0.0.1 (the certificate's IP SAN): TLS" \
    connects "postgres://claimline@127.0.0.1:$port/claimline?$verify"
  check "verify-full with the wrong CA: certificate verify failed" \
    refused "$CLAIMLINE_PG_URL?sslmode=verify-full&sslrootcert=$CLAIMLINE_PG_WRONG_CA" "certificate verify failed"
  check "verify-ca with the wrong CA: certificate verify failed" \
    refused "$CLAIMLINE_PG_URL?sslmode=verify-ca&sslrootcert=$CLAIMLINE_PG_WRONG_CA" "certificate verify failed"
  check "plain TCP (sslmode=disable): refused by pg_hba (no encryption)" \
    refused "$CLAIMLINE_PG_URL?sslmode=disable" "no encryption"
  check "the default (sslmode=prefer) URL as it is: TLS" connects "$CLAIMLINE_PG_URL"
  exit 0
fi

# ---- outside: the state of the checks, with-tls-cluster.sh, and init's own TLS ----
state=$(mktemp -d "${TMPDIR:-/tmp}/claimline-test-tls.XXXXXX")
started=$(date +%s)
cleaned=""
# shellcheck disable=SC2317 # invoked by the traps
cleanup() {
  [ -n "$cleaned" ] && return 0
  cleaned=1
  local d
  for d in "$state/named" "$state/primary" "$state/standby"; do
    if [ -e "$d" ]; then
      "$cluster" destroy "$d" >/dev/null 2>&1 || echo "test-tls.sh: could not remove $d" >&2
    fi
  done
}
# shellcheck disable=SC2317 # invoked by the traps
on_signal() {
  echo "test-tls.sh: got SIG$1: removing the clusters" >&2
  trap - EXIT INT TERM HUP
  [ -n "${child:-}" ] && kill -TERM "$child" 2>/dev/null && wait "$child"
  cleanup
  rm -rf "$state"
  exit "$2"
}
trap 'cleanup; rm -rf "$state"' EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

echo "test-tls.sh: TLS-only PostgreSQL with a throwaway CA"
child=""
"$here/with-tls-cluster.sh" "$0" --inside "$state" 2>"$state/with.log" &
child=$!
status=0
wait "$child" || status=$?
child=""
if [ "$status" != 0 ]; then
  echo x >>"$state/failed"
  echo "FAIL with-tls-cluster.sh exited with status $status"
  tail -n 20 "$state/with.log" | sed 's/^/     | /'
fi
tls_dir=$(cat "$state/dir" 2>/dev/null || echo /nonexistent/claimline-tls)
tls_root=$(dirname "$tls_dir")
# gone ROOT DIR: no folder ROOT, no server of DIR (pgrep in a function: sh -c's own command
# line would match).
gone() {
  if [ -e "$1" ]; then
    echo "$1 is left"
    return 1
  fi
  if pgrep -f "postgres -D $2/" >/dev/null; then
    echo "a server of $2 is left"
    return 1
  fi
}
check "with-tls-cluster.sh removed its cluster and certificates" gone "$tls_root" "$tls_dir"

# init checks the certificate: the one named only by DNS:localhost does not cover 127.0.0.1.
"$here/../tls/make-certs.sh" "$state/certs" >/dev/null 2>&1 || echo "test-tls.sh: make-certs.sh failed" >&2
mkdir -p "$state/named-certs"
cp "$state/certs/named.pem" "$state/named-certs/server.pem"
cp "$state/certs/named.key" "$state/named-certs/server.key"
check "init --tls refuses a certificate whose SAN lacks 127.0.0.1, and makes nothing" \
  sh -c "! '$cluster' init '$state/named' --tls '$state/named-certs' && ! test -e '$state/named'"
check "init --tls-only without --tls is refused" sh -c "! '$cluster' init '$state/named' --tls-only"

# A TLS-only primary: its standby streams over TLS (replication has hostssl lines only too).
if check "init --primary --tls --tls-only" "$cluster" init "$state/primary" --primary --tls "$state/certs" --tls-only &&
  check "standby of the TLS-only primary" "$cluster" standby "$state/primary" "$state/standby"; then
  pport=$(cat "$state/primary/port")
  check "the standby's WAL sender connection is TLS" sh -c "
    test \"\$(PGCONNECT_TIMEOUT=5 timeout 15 '$psql_bin' -X -At 'postgres://claimline@127.0.0.1:$pport/claimline' \
      -c 'SELECT s.ssl FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid)')\" = t"
  check "plain TCP to the TLS-only standby: refused" \
    refused "postgres://claimline@127.0.0.1:$(cat "$state/standby/port")/claimline?sslmode=disable" "no encryption"
fi
trap - EXIT INT TERM HUP
cleanup
if pgrep -f "postgres -D $state/" >/dev/null 2>&1; then
  echo x >>"$state/failed"
  echo "FAIL everything removed (a server of $state is left)"
else
  echo x >>"$state/passed"
  echo "ok   everything removed"
fi
passed=0
failed=0
[ -f "$state/passed" ] && passed=$(wc -l <"$state/passed")
[ -f "$state/failed" ] && failed=$(wc -l <"$state/failed")
rm -rf "$state"
echo "test-tls.sh: $(($(date +%s) - started)) s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
