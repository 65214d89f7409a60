#!/usr/bin/env bash
# with-cluster.sh CMD [ARGS...]: run CMD with a throwaway PostgreSQL cluster, then remove it.
#
# Makes a folder with mktemp -d under /tmp (or $TMPDIR), runs `cluster.sh init` there, and runs
# CMD with these in its environment:
#   CLAIMLINE_PG_URL      postgres://claimline@127.0.0.1:PORT/claimline
#   CLAIMLINE_PG_DIR      the cluster's folder
#   CLAIMLINE_PG_CLUSTER  the absolute path of cluster.sh, for fault tests:
#                         "$CLAIMLINE_PG_CLUSTER" stop|start|kill "$CLAIMLINE_PG_DIR"
# The cluster is destroyed whatever happens: CMD succeeds, fails or is killed, or this script
# gets SIGINT, SIGTERM or SIGHUP (then CMD is sent SIGTERM first and waited for). The exit
# status is CMD's, or 128 + the signal's number when this script was interrupted; 1 when the
# cluster could not be made. (SIGKILL of this script cannot be caught: the cluster is then
# left behind in /tmp/claimline-pg.*, and `cluster.sh destroy` removes it.)
set -euo pipefail

if [ $# -eq 0 ]; then
  awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" >&2
  exit 2
fi

here=$(cd "$(dirname "$0")" && pwd -P)
cluster=$here/cluster.sh
dir=""
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
  if [ -n "$dir" ]; then
    "$cluster" destroy "$dir" >&2 || echo "with-cluster.sh: could not remove $dir" >&2
  fi
}

# shellcheck disable=SC2317 # invoked by the traps
on_signal() {
  echo "with-cluster.sh: got SIG$1, stopping" >&2
  trap - EXIT INT TERM HUP
  cleanup
  exit "$2"
}

trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

dir=$(mktemp -d "${TMPDIR:-/tmp}/claimline-pg.XXXXXX")
url=$("$cluster" init "$dir") || exit 1

export CLAIMLINE_PG_URL=$url
export CLAIMLINE_PG_DIR=$dir
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
