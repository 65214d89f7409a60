#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for claimlined's tests, `make run-cluster` and the pgbench
# reference (docs/SCALING.md). One cluster per folder:
#
#   cluster.sh init DIR         create DIR, initdb, configure, start; create role and database
#                               `claimline`; print postgres://claimline@127.0.0.1:PORT/claimline
#   cluster.sh start DIR        start it again on the same port; returns once it accepts connections
#   cluster.sh stop DIR         fast shutdown (sessions are terminated), waits
#   cluster.sh kill DIR         immediate shutdown (`pg_ctl -m immediate`): a crash, recovery on start
#   cluster.sh freeze DIR       SIGSTOP the postmaster and every backend: a frozen VM (sockets stay open)
#   cluster.sh thaw DIR         SIGCONT them again
#   cluster.sh url DIR          print the URL
#   cluster.sh status DIR       exit 0 when running, 3 when not (pg_ctl status)
#   cluster.sh destroy DIR      stop it if running, remove DIR (also a half-created one)
#   cluster.sh psql DIR [ARGS]  psql as `claimline` on database `claimline` (ARGS may override)
#
# Only the URL (init, url) goes to standard output; progress and PostgreSQL's own output go to
# standard error. Layout of DIR: data/ (PGDATA), port, postgres.log (pg_ctl's start-up log),
# log/ (the server's log files), the Unix socket, and .claimline-pg (marks a folder as ours).
#
# Authentication is `trust`, on 127.0.0.1 and the socket only: never point it at a real network.
# fsync and synchronous_commit stay on: the tests this serves are about durability.
#
# As root, initdb and postgres run as the `postgres` user (they refuse root): DIR is given to it
# and every parent folder is made traversable. Otherwise they run as the current user.
# The binaries: $CLAIMLINE_PG_BIN if set, else /usr/lib/postgresql/15/bin, else the newest
# /usr/lib/postgresql/*/bin, else `pg_config --bindir`, else PATH.
set -euo pipefail

readonly MARKER=.claimline-pg
readonly ROLE=claimline
readonly DATABASE=claimline

say() { printf 'cluster.sh: %s\n' "$*" >&2; }
die() {
  say "$*"
  exit 1
}

usage() {
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

find_bin() {
  if [ -n "${CLAIMLINE_PG_BIN:-}" ]; then
    [ -x "$CLAIMLINE_PG_BIN/initdb" ] || die "CLAIMLINE_PG_BIN=$CLAIMLINE_PG_BIN has no initdb"
    printf '%s\n' "$CLAIMLINE_PG_BIN"
    return
  fi
  if [ -x /usr/lib/postgresql/15/bin/initdb ]; then
    printf '%s\n' /usr/lib/postgresql/15/bin
    return
  fi
  local d best=""
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] || continue
    if [ -z "$best" ] || [ "$(basename "$(dirname "$d")")" -gt "$(basename "$(dirname "$best")")" ] 2>/dev/null; then
      best=$d
    fi
  done
  if [ -n "$best" ]; then
    printf '%s\n' "$best"
    return
  fi
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir
    return
  fi
  if command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
    return
  fi
  die "PostgreSQL server binaries not found (apt-get install postgresql, or set CLAIMLINE_PG_BIN)"
}

# as_pg CMD...: run a server binary as the user that owns the cluster, from DIR (a working
# directory that user can enter, so initdb and pg_ctl do not complain about root's).
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    (cd "$DIR" && runuser -u postgres -- "$@")
  else
    (cd "$DIR" && "$@")
  fi
}

# Absolute path of $1, which need not exist yet.
absolute() {
  case $1 in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$(pwd)" "$1" ;;
  esac
}

port_of() {
  [ -s "$DIR/port" ] || die "$DIR is not a cluster made by cluster.sh init (no $DIR/port)"
  cat "$DIR/port"
}

url_of() { printf 'postgres://%s@127.0.0.1:%s/%s\n' "$ROLE" "$(port_of)" "$DATABASE"; }

require_data() {
  [ -f "$DIR/data/PG_VERSION" ] || die "no cluster in $DIR (run: cluster.sh init $DIR)"
}

running() { [ -f "$DIR/data/PG_VERSION" ] && as_pg "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; }

free_port() {
  python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# Every folder above DIR must be traversable by the postgres user (root only), from / down.
make_traversable() {
  local d="" part rest
  rest=$(dirname "$DIR")
  rest=${rest#/}
  while [ -n "$rest" ]; do
    part=${rest%%/*}
    if [ "$part" = "$rest" ]; then rest=""; else rest=${rest#*/}; fi
    d="$d/$part"
    if ! runuser -u postgres -- test -x "$d"; then
      say "making $d traversable (chmod o+x) for the postgres user"
      chmod o+x "$d"
    fi
  done
}

wait_ready() {
  local port i
  port=$(port_of)
  for i in $(seq 1 300); do
    if "$BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -d postgres -U postgres; then
      return 0
    fi
    [ "$i" = 1 ] && say "waiting for 127.0.0.1:$port to accept connections"
    sleep 0.2
  done
  die "server in $DIR does not accept connections on 127.0.0.1:$port (see $DIR/postgres.log and $DIR/log/)"
}

pg_start() {
  as_pg "$BIN/pg_ctl" -w -t 300 -D "$DIR/data" -l "$DIR/postgres.log" start >&2
}

cmd_init() {
  mkdir -p "$DIR"
  DIR=$(cd "$DIR" && pwd -P)
  if [ -e "$DIR/data/PG_VERSION" ]; then
    die "$DIR already holds a cluster (use start, or destroy it first)"
  fi
  if [ -n "$(ls -A "$DIR")" ] && [ ! -e "$DIR/$MARKER" ]; then
    die "$DIR is not empty: refusing to make a cluster there"
  fi
  : >"$DIR/$MARKER"
  # What an init that failed half-way left (ours: the marker is there).
  rm -rf "$DIR/data" "$DIR/log" "$DIR/port"
  mkdir -p "$DIR/log"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root but there is no postgres user (apt-get install postgresql)"
    chown -R postgres: "$DIR"
    chmod 0700 "$DIR"
    make_traversable
  fi

  # A Unix socket path is limited to about 107 bytes: too deep a folder gets TCP only.
  local sockets=$DIR
  if [ $((${#DIR} + 20)) -gt 100 ]; then
    say "warning: $DIR is too long a path for a Unix socket; the cluster listens on TCP only"
    sockets=""
  fi

  say "initdb in $DIR/data: $("$BIN/postgres" --version)"
  as_pg "$BIN/initdb" -D "$DIR/data" -A trust -U postgres -E UTF8 --locale=C --no-sync >"$DIR/initdb.log" 2>&1 ||
    {
      cat "$DIR/initdb.log" >&2
      die "initdb failed"
    }

  cat >"$DIR/data/pg_hba.conf" <<'EOF'
# cluster.sh: a throwaway cluster, trust on the Unix socket and loopback only.
local   all           all                 trust
host    all           all   127.0.0.1/32  trust
local   replication   all                 trust
host    replication   all   127.0.0.1/32  trust
EOF
  cat >>"$DIR/data/postgresql.conf" <<EOF

# ---- cluster.sh (tools/pg/cluster.sh) ----
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sockets'
# Durability is what the tests check: never turn these off.
fsync = on
synchronous_commit = on
full_page_writes = on
max_connections = 200
shared_buffers = 256MB
logging_collector = on
log_directory = '$DIR/log'
log_filename = 'postgresql-%Y%m%d-%H%M%S.log'
log_line_prefix = '%m [%p] %q%u@%d '
log_min_messages = warning
EOF
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$DIR/data/pg_hba.conf" "$DIR/data/postgresql.conf"
  fi

  # The port: a free one now; if another process takes it before the server binds, another.
  local try port
  for try in 1 2 3 4 5; do
    port=$(free_port)
    printf '%s\n' "$port" >"$DIR/port"
    printf 'port = %s\n' "$port" >"$DIR/data/port.conf"
    if [ "$try" = 1 ]; then
      printf "include 'port.conf'\n" >>"$DIR/data/postgresql.conf"
    fi
    if [ "$(id -u)" = 0 ]; then
      chown postgres: "$DIR/port" "$DIR/data/port.conf"
    fi
    say "starting on 127.0.0.1:$port"
    if pg_start; then
      break
    fi
    if [ "$try" = 5 ]; then
      die "could not start the server (see $DIR/postgres.log and $DIR/log/)"
    fi
    say "start failed; trying another port"
  done
  wait_ready

  "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres \
    -c "CREATE ROLE $ROLE LOGIN SUPERUSER" \
    -c "CREATE DATABASE $DATABASE OWNER $ROLE" >&2
  say "ready: $(url_of)"
  url_of
}

cmd_start() {
  require_data
  if running; then
    say "already running in $DIR"
  else
    say "starting $DIR on 127.0.0.1:$(port_of)"
    pg_start || die "could not start the server (see $DIR/postgres.log and $DIR/log/)"
  fi
  wait_ready
}

cmd_stop() {
  require_data
  if ! running; then
    say "not running: $DIR"
    return 0
  fi
  as_pg "$BIN/pg_ctl" -w -t 120 -D "$DIR/data" -m fast stop >&2
}

# The postmaster and its children (backends, background workers), postmaster first.
cluster_pids() {
  local pid
  pid=$(head -n 1 "$DIR/data/postmaster.pid" 2>/dev/null) || die "not running: $DIR"
  [ -n "$pid" ] || die "not running: $DIR"
  echo "$pid" $(pgrep -P "$pid" || true)
}

cmd_freeze() {
  require_data
  # The postmaster first, so that it starts no new backend meanwhile.
  kill -STOP $(cluster_pids)
}

cmd_thaw() {
  require_data
  kill -CONT $(cluster_pids)
}

cmd_kill() {
  require_data
  if ! running; then
    say "not running: $DIR"
    return 0
  fi
  as_pg "$BIN/pg_ctl" -w -t 120 -D "$DIR/data" -m immediate stop >&2
}

cmd_status() {
  require_data
  if running; then
    say "running in $DIR on 127.0.0.1:$(port_of)"
    return 0
  fi
  say "not running: $DIR"
  return 3
}

cmd_destroy() {
  [ -e "$DIR" ] || return 0
  DIR=$(cd "$DIR" && pwd -P)
  [ "$DIR" != / ] || die "refusing to remove /"
  if [ ! -e "$DIR/$MARKER" ] && [ ! -e "$DIR/data/PG_VERSION" ] && [ -n "$(ls -A "$DIR")" ]; then
    die "$DIR is not a cluster made by cluster.sh: not removing it"
  fi
  if [ -f "$DIR/data/postmaster.pid" ]; then
    if running; then
      as_pg "$BIN/pg_ctl" -w -t 60 -D "$DIR/data" -m fast stop >&2 ||
        as_pg "$BIN/pg_ctl" -w -t 30 -D "$DIR/data" -m immediate stop >&2 || true
    fi
    # Last resort: a postmaster that neither stop could end.
    local pid
    pid=$(head -n 1 "$DIR/data/postmaster.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      say "killing postmaster $pid"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -rf "$DIR"
  say "removed $DIR"
}

cmd_psql() {
  require_data
  PGHOST=127.0.0.1 PGPORT=$(port_of) PGUSER=$ROLE PGDATABASE=$DATABASE exec "$BIN/psql" "$@"
}

[ $# -ge 2 ] || usage
command=$1
DIR=$(absolute "$2")
shift 2
BIN=$(find_bin)

case $command in
  init) cmd_init ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  kill) cmd_kill ;;
  freeze) cmd_freeze ;;
  thaw) cmd_thaw ;;
  status) cmd_status ;;
  url)
    port_of >/dev/null
    url_of
    ;;
  destroy) cmd_destroy ;;
  psql) cmd_psql "$@" ;;
  *) usage ;;
esac
