#!/usr/bin/env bash
# with-tls-cluster.sh CMD [ARGS...]: run CMD with a throwaway PostgreSQL that accepts TCP
# connections over TLS only, with certificates of a throwaway CA, then remove both.
#
# Makes a folder with mktemp -d under /tmp (or $TMPDIR), claimline-tls.XXXXXX, with
# tools/tls/make-certs.sh ROOT/certs and `cluster.sh init ROOT/pg --tls ROOT/certs --tls-only`
# (ssl = on; the server's certificate names localhost and 127.0.0.1; pg_hba has hostssl lines
# and no plain host line, so a connection without TLS is refused), and runs CMD with these in
# its environment:
#   CLAIMLINE_PG_URL       postgres://claimline@localhost:PORT/claimline (add sslmode and
#                          sslrootcert: ?sslmode=verify-full&sslrootcert=$CLAIMLINE_PG_CA)
#   CLAIMLINE_PG_CA        the CA that signed the server's certificate (PEM)
#   CLAIMLINE_PG_WRONG_CA  another CA (PEM): verifying the server with it must fail
#   CLAIMLINE_PG_CERTS     ROOT/certs, all that make-certs.sh made (client certificates too)
#   CLAIMLINE_PG_DIR       ROOT/pg, the cluster's folder
#   CLAIMLINE_PG_CLUSTER   the absolute path of cluster.sh
# Both are removed whatever happens: CMD succeeds, fails or is killed, or this script gets
# SIGINT, SIGTERM or SIGHUP (then CMD is sent SIGTERM first and waited for). The exit status
# is CMD's, or 128 + the signal's number when this script was interrupted; 1 when the cluster
# could not be made. (SIGKILL of this script cannot be caught: it is then left behind in
# /tmp/claimline-tls.*: `cluster.sh destroy ROOT/pg; rm -rf ROOT`.)
set -euo pipefail

if [ $# -eq 0 ]; then
  awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" >&2
  exit 2
fi

here=$(cd "$(dirname "$0")" && pwd -P)
cluster=$here/cluster.sh
make_certs=$(cd "$here/../tls" && pwd -P)/make-certs.sh
root=""
child=""
cleaned=""

# shellcheck disable=SC2317 # invoked by the traps
cleanup() {
  [ -n "$cleaned" ] && return 0
  cleaned=1
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  [ -n "$root" ] || return 0
  if [ -e "$root/pg" ] && ! "$cluster" destroy "$root/pg" >&2; then
    echo "with-tls-cluster.sh: could not remove $root/pg" >&2
    return 0
  fi
  rm -rf "$root"
}

# shellcheck disable=SC2317 # invoked by the traps
on_signal() {
  echo "with-tls-cluster.sh: got SIG$1, stopping" >&2
  trap - EXIT INT TERM HUP
  cleanup
  exit "$2"
}

trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

root=$(mktemp -d "${TMPDIR:-/tmp}/claimline-tls.XXXXXX")
"$make_certs" "$root/certs" >&2 || exit 1
"$cluster" init "$root/pg" --tls "$root/certs" --tls-only >/dev/null || exit 1

port=$(cat "$root/pg/port")
export CLAIMLINE_PG_URL="postgres://claimline@localhost:$port/claimline"
export CLAIMLINE_PG_CA=$root/certs/ca.pem
export CLAIMLINE_PG_WRONG_CA=$root/certs/rogue-ca.pem
export CLAIMLINE_PG_CERTS=$root/certs
export CLAIMLINE_PG_DIR=$root/pg
export CLAIMLINE_PG_CLUSTER=$cluster

# CMD runs in the background so that a signal to this script is handled at once (a trap waits
# for a foreground child to end). The explicit <&0 keeps CMD's standard input ours (a
# background job would otherwise read /dev/null).
"$@" <&0 &
child=$!
status=0
wait "$child" || status=$?
child=""
exit "$status"
