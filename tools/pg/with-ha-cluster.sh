#!/usr/bin/env bash
# with-ha-cluster.sh CMD [ARGS...]: run CMD with a throwaway PostgreSQL primary and its
# synchronous standby, then remove both.
#
# Makes a folder with mktemp -d under /tmp (or $TMPDIR), claimline-ha.XXXXXX, with
# `cluster.sh init --primary ROOT/pg1` and `cluster.sh standby ROOT/pg1 ROOT/pg2` in it (the
# standby streams and is synchronous: every commit on pg1 waits until pg2 has it), and runs CMD
# with these in its environment:
#   CLAIMLINE_PG_URL          postgres://claimline@127.0.0.1:P1,127.0.0.1:P2/claimline?target_session_attrs=read-write
#                             (libpq's several hosts: the first that accepts writes)
#   CLAIMLINE_PG_PRIMARY_URL  postgres://claimline@127.0.0.1:P1/claimline
#   CLAIMLINE_PG_STANDBY_URL  postgres://claimline@127.0.0.1:P2/claimline
#   CLAIMLINE_PG_PRIMARY_DIR  ROOT/pg1, the primary's folder (at the start: a failover swaps roles)
#   CLAIMLINE_PG_STANDBY_DIR  ROOT/pg2, the standby's folder
#   CLAIMLINE_PG_DIR          the primary's folder too (as with-cluster.sh sets it)
#   CLAIMLINE_PG_CLUSTER      the absolute path of cluster.sh, for failover tests:
#                               "$CLAIMLINE_PG_CLUSTER" kill "$CLAIMLINE_PG_PRIMARY_DIR"
#                               "$CLAIMLINE_PG_CLUSTER" promote "$CLAIMLINE_PG_STANDBY_DIR"
#                               "$CLAIMLINE_PG_CLUSTER" rejoin "$CLAIMLINE_PG_PRIMARY_DIR" "$CLAIMLINE_PG_STANDBY_DIR"
# With the standby down, commits on the primary hang (synchronous replication):
# "$CLAIMLINE_PG_CLUSTER" async "$CLAIMLINE_PG_PRIMARY_DIR" relaxes it.
# Both are destroyed whatever happens: CMD succeeds, fails or is killed, or this script gets
# SIGINT, SIGTERM or SIGHUP (then CMD is sent SIGTERM first and waited for). The exit status
# is CMD's, or 128 + the signal's number when this script was interrupted; 1 when the clusters
# could not be made. (SIGKILL of this script cannot be caught: they are then left behind in
# /tmp/claimline-ha.*: `cluster.sh destroy ROOT/pg1; cluster.sh destroy ROOT/pg2; rmdir ROOT`.)
set -euo pipefail

if [ $# -eq 0 ]; then
  awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" >&2
  exit 2
fi

here=$(cd "$(dirname "$0")" && pwd -P)
cluster=$here/cluster.sh
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
  local d ok=1
  for d in "$root/pg1" "$root/pg2"; do
    if [ -e "$d" ]; then
      "$cluster" destroy "$d" >&2 || {
        ok=""
        echo "with-ha-cluster.sh: could not remove $d" >&2
      }
    fi
  done
  if [ -n "$ok" ]; then
    rmdir "$root" 2>/dev/null || rm -rf "$root"
  fi
}

# shellcheck disable=SC2317 # invoked by the traps
on_signal() {
  echo "with-ha-cluster.sh: got SIG$1, stopping" >&2
  trap - EXIT INT TERM HUP
  cleanup
  exit "$2"
}

trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

root=$(mktemp -d "${TMPDIR:-/tmp}/claimline-ha.XXXXXX")
primary_url=$("$cluster" init --primary "$root/pg1") || exit 1
standby_url=$("$cluster" standby "$root/pg1" "$root/pg2") || exit 1

primary_port=$(cat "$root/pg1/port")
standby_port=$(cat "$root/pg2/port")
export CLAIMLINE_PG_URL="postgres://claimline@127.0.0.1:$primary_port,127.0.0.1:$standby_port/claimline?target_session_attrs=read-write"
export CLAIMLINE_PG_PRIMARY_URL=$primary_url
export CLAIMLINE_PG_STANDBY_URL=$standby_url
export CLAIMLINE_PG_PRIMARY_DIR=$root/pg1
export CLAIMLINE_PG_STANDBY_DIR=$root/pg2
export CLAIMLINE_PG_DIR=$root/pg1
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
