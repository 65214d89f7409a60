#!/usr/bin/env bash
# `make run-cluster`: two claimlined on one PostgreSQL, in the foreground.
#
#   tools/pg/run-cluster.sh [CLAIMLINED-OPTIONS...]
#
# Starts (or creates, the first time) the PostgreSQL cluster in .claimline-cluster/pg with
# tools/pg/cluster.sh, then two claimlined, each with
#   --store <the cluster's URL> --config config/claimline.json --listen ADDR --data-dir FOLDER
# plus CLAIMLINED-OPTIONS (e.g. --log-level debug):
#   a: 127.0.0.1:7401, .claimline-cluster/a      b: 127.0.0.1:7402, .claimline-cluster/b
#   (admin listeners, /metrics /healthz /readyz: 127.0.0.1:9401 and :9402)
# Their logs go to standard error, each line prefixed [a] or [b]. Ctrl-C (SIGINT), SIGTERM, or
# either claimlined exiting stops both (SIGTERM: graceful, SIGKILL after 30 s) and then
# PostgreSQL (fast shutdown); the cluster's data stays for the next run
# (`tools/pg/cluster.sh destroy .claimline-cluster/pg` removes it).
#
# By default (HA=1) PostgreSQL runs as a primary with a synchronous standby,
# .claimline-cluster/pg1 and .claimline-cluster/pg2
# (cluster.sh init --primary, cluster.sh standby: every commit waits until the standby has it),
# and both claimlined get the multi-host URL
#   postgres://claimline@127.0.0.1:P1,127.0.0.1:P2/claimline?target_session_attrs=read-write
# so that, after a failover, they find the new primary by themselves. HA=0 (`make run-cluster
# HA=0`) runs one PostgreSQL in .claimline-cluster/pg instead. A failover, in another terminal
# while it runs (the standby may be pg1 after one):
#   tools/pg/cluster.sh kill .claimline-cluster/pg1          # the primary crashes
#   tools/pg/cluster.sh promote .claimline-cluster/pg2       # the standby takes over
#   tools/pg/cluster.sh rejoin .claimline-cluster/pg1 .claimline-cluster/pg2
# With the standby down, commits on the primary hang (RPO 0):
#   tools/pg/cluster.sh async .claimline-cluster/pg1         # relax (synchronous_standby_names = '')
# Later runs reuse both, whichever is the primary by then (found with `cluster.sh role`); a
# missing or half-made standby is made again from the primary.
#
# Environment: CLAIMLINED (the binary; default: the release build's), CLUSTER_DIR
# (.claimline-cluster), CONFIG (config/claimline.json), LISTEN_A, LISTEN_B, ADMIN_A, ADMIN_B,
# HA (1, the default: a primary and a synchronous standby; 0: one PostgreSQL).
# Exit status: 130/143 after Ctrl-C/SIGTERM, 1 when an instance exited by itself or PostgreSQL
# could not be started.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$root"
cluster=$root/tools/pg/cluster.sh
base=${CLUSTER_DIR:-.claimline-cluster}
pgdir=$base/pg
pg1=$base/pg1
pg2=$base/pg2
ha=${HA:-1}
case $ha in
  0 | "" | no | false) ha="" ;;
  *) ha=1 ;;
esac
config=${CONFIG:-config/claimline.json}
listen_a=${LISTEN_A:-127.0.0.1:7401}
listen_b=${LISTEN_B:-127.0.0.1:7402}
admin_a=${ADMIN_A:-127.0.0.1:9401}
admin_b=${ADMIN_B:-127.0.0.1:9402}
bin=${CLAIMLINED:-}
if [ -z "$bin" ]; then
  bin=$(swift build -c release --show-bin-path)/claimlined
fi

say() { printf 'run-cluster: %s\n' "$*" >&2; }

[ -x "$bin" ] || {
  say "no claimlined at $bin (run: make release)"
  exit 1
}
[ -f "$config" ] || {
  say "no configuration file $config"
  exit 1
}

pid_a=""
pid_b=""
pg_up=""
pg_dirs=("$pgdir") # what stop_all stops, in order (HA: the primary first, then its standby)
stopping=""

# stop_all: both instances (graceful, then SIGKILL), then PostgreSQL. Runs once.
# shellcheck disable=SC2317 # invoked by the traps
stop_all() {
  [ -n "$stopping" ] && return 0
  stopping=1
  local pid alive i d
  for pid in $pid_a $pid_b; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for i in $(seq 1 300); do
    alive=""
    for pid in $pid_a $pid_b; do
      if kill -0 "$pid" 2>/dev/null; then alive=1; fi
    done
    [ -z "$alive" ] && break
    if [ "$i" = 300 ]; then
      say "claimlined did not stop within 30 s: SIGKILL"
      for pid in $pid_a $pid_b; do
        kill -KILL "$pid" 2>/dev/null || true
      done
    fi
    sleep 0.1
  done
  for pid in $pid_a $pid_b; do
    wait "$pid" 2>/dev/null || true
  done
  if [ -n "$pg_up" ]; then
    for d in "${pg_dirs[@]}"; do
      if [ -f "$d/data/PG_VERSION" ]; then
        say "stopping PostgreSQL ($d)"
        "$cluster" stop "$d" || true
      fi
    done
  fi
}

# shellcheck disable=SC2317 # invoked by the traps
on_signal() {
  say "got SIG$1: stopping both instances and PostgreSQL"
  trap - EXIT INT TERM HUP
  stop_all
  exit "$2"
}

trap stop_all EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

has_data() { [ -f "$1/data/PG_VERSION" ]; }

# start_ha: start (or create) the primary and its synchronous standby in pg1 and pg2; sets
# primary, standby and pg_dirs.
start_ha() {
  local r1 r2 only other d
  if has_data "$pg1" && has_data "$pg2"; then
    r1=$("$cluster" role "$pg1")
    r2=$("$cluster" role "$pg2")
    case "$r1 $r2" in
      "primary standby") primary=$pg1 standby=$pg2 ;;
      "standby primary") primary=$pg2 standby=$pg1 ;;
      *)
        say "$pg1 is a $r1 and $pg2 a $r2: expected one primary and one standby"
        say "(after a failover whose old primary was not rejoined: tools/pg/cluster.sh start NEW;" \
          "tools/pg/cluster.sh rejoin OLD NEW; or destroy both to start over)"
        exit 1
        ;;
    esac
    pg_dirs=("$primary" "$standby")
    say "reusing PostgreSQL: primary $primary, synchronous standby $standby"
    "$cluster" start "$primary"
    "$cluster" start "$standby"
    "$cluster" sync "$primary" "$standby"
  elif has_data "$pg1" || has_data "$pg2"; then
    if has_data "$pg1"; then only=$pg1 other=$pg2; else only=$pg2 other=$pg1; fi
    if [ "$("$cluster" role "$only")" != primary ]; then
      say "$only is a standby and $other has no cluster: tools/pg/cluster.sh start $only;" \
        "tools/pg/cluster.sh promote $only (or destroy it to start over)"
      exit 1
    fi
    primary=$only standby=$other
    pg_dirs=("$primary" "$standby")
    say "reusing the PostgreSQL primary in $primary; making its standby in $standby again"
    "$cluster" start "$primary"
    if [ -e "$standby" ]; then
      "$cluster" destroy "$standby"
    fi
    "$cluster" standby "$primary" "$standby" >/dev/null
  else
    for d in "$pg1" "$pg2"; do
      if [ -e "$d" ]; then
        say "removing the half-made cluster in $d"
        "$cluster" destroy "$d"
      fi
    done
    primary=$pg1 standby=$pg2
    pg_dirs=("$primary" "$standby")
    say "creating a PostgreSQL primary in $primary and its synchronous standby in $standby"
    "$cluster" init --primary "$primary" >/dev/null
    "$cluster" standby "$primary" "$standby" >/dev/null
  fi
  url="postgres://claimline@127.0.0.1:$(cat "$pg1/port"),127.0.0.1:$(cat "$pg2/port")/claimline?target_session_attrs=read-write"
}

mkdir -p "$base/a" "$base/b"
pg_up=1 # from here on, stopping includes PostgreSQL (a no-op if it never started)
if [ -n "$ha" ]; then
  start_ha
elif [ -f "$pgdir/data/PG_VERSION" ]; then
  say "reusing the PostgreSQL cluster in $pgdir"
  "$cluster" start "$pgdir"
  url=$("$cluster" url "$pgdir")
else
  if [ -e "$pgdir" ]; then
    say "removing the half-made cluster in $pgdir"
    "$cluster" destroy "$pgdir"
  fi
  say "creating a PostgreSQL cluster in $pgdir"
  url=$("$cluster" init "$pgdir")
fi

# prefix NAME: copy standard input to standard error line by line, each line prefixed [NAME].
# It ignores Ctrl-C (the terminal sends it to the whole group) and ends at its input's end,
# so claimlined's last lines, those of its graceful stop, still show.
prefix() {
  local line
  trap '' INT TERM HUP
  while IFS= read -r line || [ -n "$line" ]; do
    printf '[%s] %s\n' "$1" "$line" >&2
  done
}

# start NAME LISTEN [OPTIONS...]: one claimlined in the background, its output prefixed [NAME].
start() {
  local name=$1 listen=$2
  shift 2
  "$bin" --store "$url" --config "$config" --listen "$listen" --data-dir "$base/$name" "$@" \
    > >(prefix "$name") 2>&1 &
}

start a "$listen_a" --admin-listen "$admin_a" "$@"
pid_a=$!
start b "$listen_b" --admin-listen "$admin_b" "$@"
pid_b=$!
say "PostgreSQL $url"
if [ -n "$ha" ]; then
  say "primary $primary, synchronous standby $standby; a failover:" \
    "tools/pg/cluster.sh kill $primary; tools/pg/cluster.sh promote $standby;" \
    "tools/pg/cluster.sh rejoin $primary $standby"
fi
say "claimlined a (pid $pid_a) on $listen_a (admin $admin_a), b (pid $pid_b) on $listen_b (admin $admin_b); Ctrl-C stops both and PostgreSQL"
if [ -n "$ha" ]; then
  say "psql: tools/pg/cluster.sh psql $primary (or psql '$url')"
else
  say "psql: tools/pg/cluster.sh psql $pgdir"
fi

while :; do
  for which in a b; do
    if [ "$which" = a ]; then pid=$pid_a listen=$listen_a; else pid=$pid_b listen=$listen_b; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      status=0
      wait "$pid" || status=$?
      if [ "$which" = a ]; then pid_a=""; else pid_b=""; fi
      say "claimlined $which ($listen) exited with status $status: stopping the other and PostgreSQL"
      exit 1
    fi
  done
  sleep 1 &
  wait $! || true
done
