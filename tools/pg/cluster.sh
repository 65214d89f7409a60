#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for claimlined's tests, `make run-cluster` and the pgbench
# reference (docs/SCALING.md). One cluster per folder:
#
#   cluster.sh init DIR [--primary] [--tls CERTDIR [--tls-only]]
#                               create DIR, initdb, configure, start; create role and database
#                               `claimline`; print postgres://claimline@127.0.0.1:PORT/claimline
#         --primary             ready to have a synchronous standby (wal_level replica, 10 WAL
#                               senders and slots, wal_log_hints on for pg_rewind, hot_standby);
#                               synchronous_standby_names stays '' until `standby` attaches one
#         --tls CERTDIR         ssl = on with CERTDIR/server.crt (or server.pem) and server.key,
#                               from tools/tls/make-certs.sh (the SAN must cover 127.0.0.1 and
#                               localhost); pg_hba `hostssl` lines for 127.0.0.1
#         --tls-only            and no plain `host` line: a TCP connection without TLS is refused
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
#   cluster.sh standby PRIMARY_DIR DIR
#                               a streaming standby of PRIMARY_DIR (an `init --primary` one) in
#                               DIR, on its own port: pg_basebackup -R with a physical slot named
#                               for DIR, started, then made THE synchronous standby (`sync`); waits
#                               until the primary shows it `streaming` and `sync`; prints its URL
#   cluster.sh promote DIR      pg_ctl promote; waits until it accepts writes; prints its URL
#   cluster.sh rejoin DIR NEW_PRIMARY_DIR
#                               an old primary (stopped, killed or running) back as a standby of
#                               NEW_PRIMARY_DIR: pg_rewind, or a fresh pg_basebackup when pg_rewind
#                               fails; then `sync NEW_PRIMARY_DIR DIR`; prints its URL
#   cluster.sh sync PRIMARY_DIR STANDBY_DIR
#                               synchronous_standby_names = STANDBY_DIR's name, reload, wait `sync`
#   cluster.sh async PRIMARY_DIR
#                               synchronous_standby_names = '' (ALTER SYSTEM RESET), reload
#   cluster.sh role DIR         print `primary` or `standby`
#
# Only URLs and `role` go to standard output; progress and PostgreSQL's own output go to
# standard error. Layout of DIR: data/ (PGDATA), port, postgres.log (pg_ctl's start-up log),
# log/ (the server's log files), the Unix socket, and .claimline-pg (marks a folder as ours);
# with --primary or as a standby also `name` (its application_name and slot name) and
# data/node.conf (this node's own socket and log folders: a base backup copies the rest).
#
# Synchronous replication: with synchronous_standby_names naming a standby, every COMMIT on
# the primary waits until that standby has flushed its WAL (synchronous_commit = on;
# remote_apply also waits until it is visible there). That is RPO 0, and its cost: with the
# only synchronous standby down, every commit on the primary hangs (it is done locally, but
# its client waits) until the standby is back or an operator relaxes it:
#   cluster.sh async PRIMARY_DIR   (= ALTER SYSTEM SET synchronous_standby_names = ''; SELECT pg_reload_conf())
# which also releases the waiting commits. A freshly promoted standby has no synchronous
# standby (its own is gone) until `rejoin` or `standby` names one.
#
# Authentication is `trust`, on 127.0.0.1 and the socket only: never point it at a real network.
# Replication connects as `postgres` (trust for replication on 127.0.0.1 and the socket).
# fsync and synchronous_commit stay on: the tests this serves are about durability.
#
# As root, initdb and postgres run as the `postgres` user (they refuse root): DIR is given to it
# and every parent folder is made traversable. Otherwise they run as the current user.
# The binaries: $CLAIMLINE_PG_BIN if set, else /usr/lib/postgresql/15/bin, else the newest
# /usr/lib/postgresql/*/bin, else `pg_config --bindir`, else PATH.
# Every wait is bounded (start 300 s, streaming 60 s, promote 60 s, base backup 300 s).
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
  awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" >&2
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

port_in() {
  [ -s "$1/port" ] || die "$1 is not a cluster made by cluster.sh (no $1/port)"
  cat "$1/port"
}
port_of() { port_in "$DIR"; }

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

# prepare_dir: create DIR (made physical), refuse a non-empty folder that is not ours, mark it,
# clear what a half-made cluster left, and give it to the postgres user (root).
prepare_dir() {
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
}

# A Unix socket path is limited to about 107 bytes: too deep a folder gets TCP only.
socket_dir() {
  if [ $((${#DIR} + 20)) -gt 100 ]; then
    say "warning: $DIR is too long a path for a Unix socket; the cluster listens on TCP only"
    return
  fi
  printf '%s\n' "$DIR"
}

# give_pg FILE...: owned by the postgres user (root only).
give_pg() {
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$@"
  fi
}

# start_on_free_port: the port, a free one now; if another process takes it before the server
# binds, another. Writes DIR/port and data/port.conf (which postgresql.conf includes).
start_on_free_port() {
  local try port
  for try in 1 2 3 4 5; do
    port=$(free_port)
    printf '%s\n' "$port" >"$DIR/port"
    printf 'port = %s\n' "$port" >"$DIR/data/port.conf"
    give_pg "$DIR/port" "$DIR/data/port.conf"
    say "starting on 127.0.0.1:$port"
    if pg_start; then
      return 0
    fi
    if [ "$try" = 5 ]; then
      die "could not start the server (see $DIR/postgres.log and $DIR/log/)"
    fi
    say "start failed; trying another port"
  done
}

# check_tls: TLS_CERT and TLS_KEY from TLS_DIR, whose certificate must name 127.0.0.1 and localhost.
check_tls() {
  [ -d "$TLS_DIR" ] || die "--tls $TLS_DIR: no such folder (make one: tools/tls/make-certs.sh $TLS_DIR)"
  if [ -f "$TLS_DIR/server.crt" ]; then
    TLS_CERT=$TLS_DIR/server.crt
  elif [ -f "$TLS_DIR/server.pem" ]; then
    TLS_CERT=$TLS_DIR/server.pem
  else
    die "--tls $TLS_DIR: no server.crt or server.pem (make them: tools/tls/make-certs.sh $TLS_DIR)"
  fi
  TLS_KEY=$TLS_DIR/server.key
  [ -f "$TLS_KEY" ] || die "--tls $TLS_DIR: no server.key"
  command -v openssl >/dev/null 2>&1 || die "--tls needs the openssl command (apt-get install openssl)"
  local san
  san=$(openssl x509 -in "$TLS_CERT" -noout -ext subjectAltName 2>/dev/null) ||
    die "--tls: cannot read the certificate $TLS_CERT"
  san=$(printf '%s' "$san" | tr '\n' ' ')
  case $san in
    *"IP Address:127.0.0.1"*) ;;
    *) die "--tls: the subjectAltName of $TLS_CERT does not cover IP 127.0.0.1 (it is: $san)" ;;
  esac
  case $san in
    *"DNS:localhost"*) ;;
    *) die "--tls: the subjectAltName of $TLS_CERT does not cover DNS localhost (it is: $san)" ;;
  esac
}

# node_name DIR: the application_name and replication slot name of the cluster in DIR: its
# folder's name (lower case, [a-z0-9_]) and a hash of its path, at most 49 characters. Kept in
# DIR/name from the first use.
node_name() {
  if [ -s "$1/name" ]; then
    cat "$1/name"
    return
  fi
  local base hash
  base=$(basename "$1" | tr '[:upper:]' '[:lower:]' | tr -c 'a-z0-9_\n' '_' | cut -c1-40)
  hash=$(printf '%s' "$1" | cksum | cut -d' ' -f1)
  printf '%s_%08x\n' "$base" "$hash"
}

# write_node_conf: data/node.conf, this node's own settings, which an --primary cluster's
# postgresql.conf includes last (a base backup or pg_rewind copies the primary's files: a
# standby writes its own).
write_node_conf() {
  local sockets
  sockets=$(socket_dir)
  cat >"$DIR/data/node.conf" <<EOF
# cluster.sh: this node's own settings ($DIR)
unix_socket_directories = '$sockets'
log_directory = '$DIR/log'
EOF
  give_pg "$DIR/data/node.conf"
}

cmd_init() {
  if [ -n "$TLS_ONLY" ] && [ -z "$TLS_DIR" ]; then
    die "--tls-only needs --tls CERTDIR"
  fi
  if [ -n "$TLS_DIR" ]; then
    check_tls
  fi
  prepare_dir

  local sockets
  sockets=$(socket_dir)

  say "initdb in $DIR/data: $("$BIN/postgres" --version)"
  as_pg "$BIN/initdb" -D "$DIR/data" -A trust -U postgres -E UTF8 --locale=C --no-sync >"$DIR/initdb.log" 2>&1 ||
    {
      cat "$DIR/initdb.log" >&2
      die "initdb failed"
    }

  if [ -z "$TLS_DIR" ]; then
    cat >"$DIR/data/pg_hba.conf" <<'EOF'
# cluster.sh: a throwaway cluster, trust on the Unix socket and loopback only.
local   all           all                 trust
host    all           all   127.0.0.1/32  trust
local   replication   all                 trust
host    replication   all   127.0.0.1/32  trust
EOF
  else
    {
      echo "# cluster.sh: a throwaway cluster, trust on the Unix socket and loopback only; TLS on 127.0.0.1."
      echo "local     all           all                 trust"
      echo "local     replication   all                 trust"
      echo "hostssl   all           all   127.0.0.1/32  trust"
      echo "hostssl   replication   all   127.0.0.1/32  trust"
      if [ -n "$TLS_ONLY" ]; then
        echo "# --tls-only: no plain host line, so a TCP connection without TLS is refused."
      else
        echo "host      all           all   127.0.0.1/32  trust"
        echo "host      replication   all   127.0.0.1/32  trust"
      fi
    } >"$DIR/data/pg_hba.conf"
  fi
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
  if [ -n "$TLS_DIR" ]; then
    cp "$TLS_CERT" "$DIR/data/server.crt"
    cp "$TLS_KEY" "$DIR/data/server.key"
    chmod 0600 "$DIR/data/server.key"
    give_pg "$DIR/data/server.crt" "$DIR/data/server.key"
    cat >>"$DIR/data/postgresql.conf" <<EOF
# ---- cluster.sh --tls $TLS_DIR${TLS_ONLY:+ --tls-only} ----
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
ssl_min_protocol_version = 'TLSv1.2'
EOF
  fi
  if [ -n "$PRIMARY" ]; then
    node_name "$DIR" >"$DIR/name"
    give_pg "$DIR/name"
    write_node_conf
    cat >>"$DIR/data/postgresql.conf" <<'EOF'
# ---- cluster.sh --primary: streaming replication to a synchronous standby ----
# A standby made by `cluster.sh standby` copies this file: the same settings serve it once it
# is promoted, and an old primary rejoined as a standby (hot_standby: it answers reads).
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
# pg_rewind (cluster.sh rejoin) needs hint-bit changes in the WAL.
wal_log_hints = on
hot_standby = on
wal_receiver_status_interval = 1s
# synchronous_standby_names is set by `cluster.sh sync` (ALTER SYSTEM: postgresql.auto.conf)
# once a standby streams: '' here, so that nothing waits for a standby that does not exist yet
# (init's own CREATE DATABASE would).
synchronous_standby_names = ''
# This node's own socket and log folders (each node writes its own node.conf).
include 'node.conf'
EOF
  fi
  printf "include 'port.conf'\n" >>"$DIR/data/postgresql.conf"
  give_pg "$DIR/data/pg_hba.conf" "$DIR/data/postgresql.conf"

  start_on_free_port
  wait_ready

  "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$(port_of)" -U postgres -d postgres \
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

# ---- replication: standby, promote, rejoin, sync, async, role ----

# q PORT SQL: one statement as `postgres` on database `postgres` over 127.0.0.1, unaligned,
# bounded in time (5 s to connect, 30 s in all).
q() {
  PGCONNECT_TIMEOUT=5 timeout 30 "$BIN/psql" -X -At -q -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$1" -U postgres -d postgres -c "$2"
}

# wait_for SECONDS WHAT CMD...: CMD every 0.2 s until it succeeds; fails the script after SECONDS.
wait_for() {
  local limit=$1 what=$2 i n
  shift 2
  n=$((limit * 5))
  for i in $(seq 1 "$n"); do
    if "$@"; then
      return 0
    fi
    [ "$i" = 1 ] && say "waiting for $what (at most $limit s)"
    sleep 0.2
  done
  die "$what: not within $limit s"
}

# recovery_of D: t (a standby) or f (a primary), asked of D's running server.
recovery_of() { q "$(port_in "$1")" "SELECT pg_is_in_recovery()"; }
is_writable() { [ "$(recovery_of "$1" 2>/dev/null)" = f ]; }

# physical D: the absolute path of the existing folder D, symbolic links resolved.
physical() {
  [ -d "$1" ] || die "no such folder: $1"
  (cd "$1" && pwd -P)
}

# made_for_replication D: D's configuration includes node.conf (init --primary, or a standby).
made_for_replication() { grep -q "^include 'node.conf'" "$1/data/postgresql.conf" 2>/dev/null; }

# require_running_primary D: D runs, accepts connections, and is not in recovery.
require_running_primary() {
  local DIR=$1
  require_data
  running || die "$DIR is not running (cluster.sh start $DIR)"
  wait_ready
  local r
  r=$(recovery_of "$DIR") || die "cannot ask $DIR whether it is a primary (is it frozen?)"
  [ "$r" = f ] || die "$DIR is a standby, not a primary (cluster.sh promote $DIR makes it one)"
}

# repl_state PRIMARY_PORT NAME: "STATE SYNC_STATE" of NAME's WAL sender on the primary, or nothing.
repl_state() {
  q "$1" "SELECT state || ' ' || sync_state FROM pg_stat_replication WHERE application_name = '$2'" 2>/dev/null |
    head -n 1
}
is_streaming() {
  case $(repl_state "$1" "$2") in
    "streaming "*) return 0 ;;
  esac
  return 1
}
is_sync() { [ "$(repl_state "$1" "$2")" = "streaming sync" ]; }

# ensure_slot PRIMARY_PORT NAME: a physical replication slot NAME there, reserving WAL from now.
ensure_slot() {
  local active
  active=$(q "$1" "SELECT active FROM pg_replication_slots WHERE slot_name = '$2'") ||
    die "cannot list the replication slots of 127.0.0.1:$1"
  case $active in
    "")
      q "$1" "SELECT pg_create_physical_replication_slot('$2', true)" >/dev/null ||
        die "cannot create the replication slot $2 on 127.0.0.1:$1"
      say "replication slot $2 created on 127.0.0.1:$1"
      ;;
    t) die "the replication slot $2 on 127.0.0.1:$1 is in use: another standby of that name streams" ;;
    *) say "reusing the replication slot $2 on 127.0.0.1:$1" ;;
  esac
}

# set_sync PRIMARY_PORT VALUE: synchronous_standby_names = VALUE (ALTER SYSTEM; '' resets it),
# reload, and wait until the server has it. ALTER SYSTEM commits nothing that waits for a
# standby, so it works while commits hang.
set_sync() {
  local sql
  if [ -z "$2" ]; then
    sql="ALTER SYSTEM RESET synchronous_standby_names"
  else
    sql="ALTER SYSTEM SET synchronous_standby_names = '$2'"
  fi
  q "$1" "$sql" >/dev/null || die "cannot set synchronous_standby_names on 127.0.0.1:$1"
  q "$1" "SELECT pg_reload_conf()" >/dev/null || die "cannot reload the configuration of 127.0.0.1:$1"
  wait_for 10 "synchronous_standby_names = '$2' on 127.0.0.1:$1" sync_names_are "$1" "$2"
}
sync_names_are() { [ "$(q "$1" "SHOW synchronous_standby_names" 2>/dev/null)" = "$2" ]; }

# make_sync PRIMARY_DIR STANDBY_NAME: wait until it streams, name it, wait until it is `sync`.
make_sync() {
  local pport
  pport=$(port_in "$1")
  wait_for 60 "$2 to stream from $1 (pg_stat_replication)" is_streaming "$pport" "$2"
  set_sync "$pport" "\"$2\""
  wait_for 30 "$2 to be the synchronous standby of $1" is_sync "$pport" "$2"
  say "$2 streams and is the synchronous standby of $1: a commit there waits for it"
}

# strip_sync_names FILE: without its synchronous_standby_names lines (a standby copies its
# primary's postgresql.auto.conf; promoted, it must not wait for the standby that primary had).
strip_sync_names() {
  [ -f "$1" ] || return 0
  grep -v '^[[:space:]]*synchronous_standby_names' "$1" >"$1.new" || true
  mv "$1.new" "$1"
  give_pg "$1"
}

# base_backup PRIMARY_PORT NAME [-R]: pg_basebackup into DIR/data, streaming WAL through slot NAME.
base_backup() {
  say "pg_basebackup from 127.0.0.1:$1 into $DIR/data (slot $2)"
  if ! as_pg timeout 300 "$BIN/pg_basebackup" -D "$DIR/data" \
    -d "host=127.0.0.1 port=$1 user=postgres application_name=$2" \
    -X stream -S "$2" -c fast ${3:+"$3"} >"$DIR/basebackup.log" 2>&1; then
    cat "$DIR/basebackup.log" >&2
    say "pg_basebackup from 127.0.0.1:$1 failed or took more than 300 s"
    return 1
  fi
}

cmd_standby() {
  require_running_primary "$PDIR"
  PDIR=$(physical "$PDIR")
  made_for_replication "$PDIR" ||
    die "$PDIR was not made by \`cluster.sh init --primary\` (or is no standby's old primary)"
  local pport name
  pport=$(port_in "$PDIR")
  if [ -d "$DIR" ]; then
    DIR=$(physical "$DIR")
  fi
  [ "$DIR" != "$PDIR" ] || die "standby: PRIMARY_DIR and DIR are the same folder"
  if [ -e "$DIR/data/PG_VERSION" ]; then
    # Again: make sure it runs, streams and is the synchronous standby.
    [ -f "$DIR/data/standby.signal" ] ||
      die "$DIR holds a primary, not a standby (cluster.sh rejoin $DIR $PDIR makes it one)"
    name=$(node_name "$DIR")
    if ! running; then
      say "starting the standby in $DIR"
      pg_start || die "could not start the server (see $DIR/postgres.log and $DIR/log/)"
    fi
    wait_ready
  else
    prepare_dir
    name=$(node_name "$DIR")
    printf '%s\n' "$name" >"$DIR/name"
    give_pg "$DIR/name"
    ensure_slot "$pport" "$name"
    base_backup "$pport" "$name" -R || die "no standby made in $DIR (cluster.sh destroy $DIR; try again)"
    # The primary's files came along: this node writes its own port, socket and log folders,
    # and has no synchronous_standby_names (promoted, it must not wait for a standby it lacks).
    write_node_conf
    strip_sync_names "$DIR/data/postgresql.auto.conf"
    grep -q "application_name=$name" "$DIR/data/postgresql.auto.conf" ||
      die "pg_basebackup -R wrote no primary_conninfo with application_name=$name"
    start_on_free_port
    wait_ready
  fi
  make_sync "$PDIR" "$name"
  say "ready: $(url_of) (standby of $PDIR)"
  url_of
}

cmd_promote() {
  require_data
  running || die "$DIR is not running (cluster.sh start $DIR, then promote it)"
  wait_ready
  local r
  r=$(recovery_of "$DIR") || die "cannot ask $DIR whether it is a standby (is it frozen?)"
  if [ "$r" = f ]; then
    say "$DIR is already a primary"
  else
    say "promoting $DIR"
    as_pg "$BIN/pg_ctl" -w -t 60 -D "$DIR/data" promote >&2 || die "pg_ctl promote failed (see $DIR/log/)"
    wait_for 60 "$DIR to accept writes (pg_is_in_recovery() false)" is_writable "$DIR"
    # A checkpoint writes the new timeline into the control file, where pg_rewind (rejoin) reads it.
    q "$(port_of)" "CHECKPOINT" >/dev/null || say "warning: CHECKPOINT after the promotion failed"
  fi
  local names synced
  names=$(q "$(port_of)" "SHOW synchronous_standby_names") || names="?"
  synced=$(q "$(port_of)" "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'") || synced=0
  if [ -n "$names" ] && [ "$synced" != 0 ]; then
    say "$DIR accepts writes; its synchronous standby: $names"
  elif [ -n "$names" ]; then
    say "warning: synchronous_standby_names = $names, which does not stream: commits on $DIR" \
      "hang until it does (cluster.sh async $DIR relaxes it)"
  else
    say "$DIR accepts writes; it has no synchronous standby until: cluster.sh rejoin OLD_PRIMARY_DIR $DIR"
  fi
  url_of
}

# write_standby_conf PRIMARY_PORT NAME: postgresql.auto.conf (all of it) and standby.signal.
write_standby_conf() {
  cat >"$DIR/data/postgresql.auto.conf" <<EOF
# Do not edit this file manually!
# It will be overwritten by the ALTER SYSTEM command.
# cluster.sh rejoin: a standby of 127.0.0.1:$1, with no synchronous_standby_names of its own.
primary_conninfo = 'host=127.0.0.1 port=$1 user=postgres application_name=$2'
primary_slot_name = '$2'
EOF
  : >"$DIR/data/standby.signal"
  give_pg "$DIR/data/postgresql.auto.conf" "$DIR/data/standby.signal"
}

cmd_rejoin() {
  require_running_primary "$NDIR"
  NDIR=$(physical "$NDIR")
  require_data
  DIR=$(physical "$DIR")
  [ "$DIR" != "$NDIR" ] || die "rejoin: DIR and NEW_PRIMARY_DIR are the same folder"
  made_for_replication "$DIR" || die "$DIR was not made by \`cluster.sh init --primary\` or \`standby\`"
  local nport name how=pg_rewind keep f
  nport=$(port_in "$NDIR")
  name=$(node_name "$DIR")
  if [ ! -s "$DIR/name" ]; then
    printf '%s\n' "$name" >"$DIR/name"
    give_pg "$DIR/name"
  fi
  if running; then
    wait_ready
    if [ "$(recovery_of "$DIR" 2>/dev/null)" = t ] && is_streaming "$nport" "$name"; then
      say "$DIR is already a standby streaming from $NDIR"
      make_sync "$NDIR" "$name"
      url_of
      return 0
    fi
    say "stopping $DIR: it runs, but not as a standby of $NDIR"
    as_pg "$BIN/pg_ctl" -w -t 120 -D "$DIR/data" -m fast stop >&2 || die "could not stop $DIR"
  fi

  # pg_rewind and pg_basebackup copy the new primary's configuration: keep this node's own.
  keep=$DIR/rejoin-keep
  rm -rf "$keep"
  mkdir -p "$keep"
  for f in postgresql.conf pg_hba.conf pg_ident.conf port.conf node.conf server.crt server.key; do
    if [ -f "$DIR/data/$f" ]; then
      cp -p "$DIR/data/$f" "$keep/"
    fi
  done
  ensure_slot "$nport" "$name"
  # pg_rewind reads the new primary's timeline from its control file, which a promotion
  # updates at its first checkpoint.
  q "$nport" "CHECKPOINT" >/dev/null || die "CHECKPOINT on $NDIR failed"
  say "pg_rewind $DIR from $NDIR (127.0.0.1:$nport)"
  if ! as_pg timeout 300 "$BIN/pg_rewind" --target-pgdata="$DIR/data" \
    --source-server="host=127.0.0.1 port=$nport user=postgres dbname=postgres" >"$DIR/rewind.log" 2>&1; then
    sed 's/^/  /' "$DIR/rewind.log" | tail -n 5 >&2
    say "pg_rewind failed (its output: $DIR/rewind.log): taking a fresh base backup instead"
    how=pg_basebackup
    rm -rf "$DIR/data"
    base_backup "$nport" "$name" ||
      die "$DIR has no data now: cluster.sh destroy $DIR, then cluster.sh standby $NDIR $DIR"
  fi
  for f in "$keep"/*; do
    cp -p "$f" "$DIR/data/"
  done
  rm -rf "$keep"
  write_standby_conf "$nport" "$name"
  # Slots this node had as a primary (its standby's): a standby needs none, and they would hold WAL.
  rm -rf "$DIR/data/pg_replslot/"*
  if [ "$(id -u)" = 0 ]; then
    chown -R postgres: "$DIR"
  fi
  say "starting $DIR as a standby of $NDIR (by $how)"
  pg_start || die "could not start the server (see $DIR/postgres.log and $DIR/log/)"
  wait_ready
  make_sync "$NDIR" "$name"
  say "ready: $(url_of) (standby of $NDIR, by $how)"
  url_of
}

cmd_sync() {
  require_running_primary "$PDIR"
  PDIR=$(physical "$PDIR")
  DIR=$(physical "$DIR")
  [ -s "$DIR/name" ] || die "$DIR is not a standby made by cluster.sh (no $DIR/name)"
  make_sync "$PDIR" "$(node_name "$DIR")"
}

cmd_async() {
  require_running_primary "$DIR"
  set_sync "$(port_of)" ""
  say "synchronous_standby_names = '' on $DIR: commits no longer wait for a standby" \
    "(a crash of $DIR can now lose the last ones; cluster.sh sync $DIR STANDBY_DIR restores it)"
}

cmd_role() {
  require_data
  if running; then
    wait_ready
    case $(recovery_of "$DIR") in
      t) echo standby ;;
      f) echo primary ;;
      *) die "cannot ask $DIR whether it is in recovery (is it frozen?)" ;;
    esac
  elif [ -f "$DIR/data/standby.signal" ]; then
    echo standby
  else
    echo primary
  fi
}

[ $# -ge 2 ] || usage
command=$1
shift
TLS_DIR=""
TLS_ONLY=""
PRIMARY=""
DIR=""
case $command in
  init)
    while [ $# -gt 0 ]; do
      case $1 in
        --tls)
          [ $# -ge 2 ] || die "--tls needs a folder made by tools/tls/make-certs.sh"
          TLS_DIR=$(absolute "$2")
          shift 2
          ;;
        --tls=*)
          TLS_DIR=$(absolute "${1#--tls=}")
          shift
          ;;
        --tls-only)
          TLS_ONLY=1
          shift
          ;;
        --primary)
          PRIMARY=1
          shift
          ;;
        -*) die "init: unknown option $1" ;;
        *)
          [ -z "$DIR" ] || die "init: one DIR only (got $DIR and $1)"
          DIR=$(absolute "$1")
          shift
          ;;
      esac
    done
    [ -n "$DIR" ] || usage
    ;;
  standby | sync)
    [ $# -eq 2 ] || usage
    PDIR=$(absolute "$1")
    DIR=$(absolute "$2")
    shift 2
    ;;
  rejoin)
    [ $# -eq 2 ] || usage
    DIR=$(absolute "$1")
    NDIR=$(absolute "$2")
    shift 2
    ;;
  *)
    DIR=$(absolute "$1")
    shift
    ;;
esac
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
  standby) cmd_standby ;;
  promote) cmd_promote ;;
  rejoin) cmd_rejoin ;;
  sync) cmd_sync ;;
  async) cmd_async ;;
  role) cmd_role ;;
  *) usage ;;
esac
