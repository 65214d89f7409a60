#!/usr/bin/env bash
# pgbench-claims.sh URL [SECONDS]: what PostgreSQL itself can do on claim-shaped rows, the
# reference for claimlined's PostgreSQL store (docs/SCALING.md).
#
# For each mode, a fresh table (tools/bench/pgbench/schema.sql: two unique keys, two secondary
# indexes), then pgbench with tools/bench/pgbench/claims-insert.sql (a template: rows per
# transaction filled in), 8 clients, 2 threads, prepared statements, SECONDS (default 20),
# synchronous_commit on:
#   batched64  64 rows per transaction, in one INSERT statement
#   single     one row per transaction
# Measured: transactions and rows per second, and PostgreSQL's CPU time during the run (utime +
# stime of the postmaster and its children from /proc, children that exited included: the
# server must run on this machine, else the CPU figures are null), WAL and table bytes per row.
# Standard output: one JSON object per mode; standard error: the same for people.
#   tools/pg/with-cluster.sh sh -c 'tools/bench/pgbench-claims.sh "$CLAIMLINE_PG_URL" 20'
# Environment: PGBENCH (binary), BENCH_CLIENTS (8), BENCH_THREADS (2), BENCH_MODES
# ("batched64 single"; a mode is NAME with rows per transaction in its digits, or `single`).
# The table is in schema claimline_bench, dropped at the end; the URL's user needs CREATE on
# the database (CHECKPOINT before each mode is skipped when it may not).
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" >&2
  exit 2
fi
url=$1
seconds=${2:-20}
clients=${BENCH_CLIENTS:-8}
threads=${BENCH_THREADS:-2}
modes=${BENCH_MODES:-batched64 single}
here=$(cd "$(dirname "$0")" && pwd -P)
scripts=$here/pgbench

say() { printf 'pgbench-claims: %s\n' "$*" >&2; }
die() {
  say "$*"
  exit 1
}

case $seconds in
  '' | *[!0-9]*) die "SECONDS must be a whole number, not '$seconds'" ;;
esac

pgbench=${PGBENCH:-}
if [ -z "$pgbench" ]; then
  if [ -x /usr/lib/postgresql/15/bin/pgbench ]; then
    pgbench=/usr/lib/postgresql/15/bin/pgbench
  elif command -v pgbench >/dev/null 2>&1; then
    pgbench=$(command -v pgbench)
  else
    die "pgbench not found (apt-get install postgresql, or set PGBENCH)"
  fi
fi
psql_bin=$(dirname "$pgbench")/psql
[ -x "$psql_bin" ] || psql_bin=psql

# Every session (pgbench's included) commits synchronously, whatever the server's default.
export PGOPTIONS="${PGOPTIONS:-} -c synchronous_commit=on -c client_min_messages=warning"
sql() { "$psql_bin" -X -q -A -t -v ON_ERROR_STOP=1 -d "$url" "$@"; }

# CPU ticks of the postmaster $1 and its children, exited children included (cutime, cstime).
ticks() {
  local pm=$1 total=0 f line pid
  local -a x
  for f in /proc/[0-9]*/stat; do
    { read -r line <"$f"; } 2>/dev/null || continue
    pid=${f#/proc/}
    pid=${pid%/stat}
    # Fields after the command name: state ppid ... utime(12) stime(13) cutime(14) cstime(15).
    read -r -a x <<<"${line##*) }"
    if [ "$pid" = "$pm" ] || [ "${x[1]}" = "$pm" ]; then
      total=$((total + x[11] + x[12] + x[13] + x[14]))
    fi
  done
  printf '%s\n' "$total"
}

version=$(sql -c 'SHOW server_version')
fsync=$(sql -c 'SHOW fsync')
[ "$fsync" = on ] || say "warning: fsync is $fsync on this server: the figures are not durable ones"
# The postmaster: the parent of the checkpointer (a process that lives as long as the server).
checkpointer=$(sql -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")
postmaster=""
if [ -n "$checkpointer" ] && [ -r "/proc/$checkpointer/status" ]; then
  postmaster=$(awk '/^PPid:/ { print $2 }' "/proc/$checkpointer/status")
  if [ "$(cat "/proc/$postmaster/comm" 2>/dev/null)" != postgres ] &&
    [ "$(cat "/proc/$postmaster/comm" 2>/dev/null)" != postmaster ]; then
    postmaster=""
  fi
fi
[ -n "$postmaster" ] || say "the server's processes are not visible here: no CPU figures"
hz=$(getconf CLK_TCK)
say "PostgreSQL $version, fsync $fsync, synchronous_commit on; $clients clients, $threads threads, ${seconds}s per mode; $(nproc) CPUs here"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=$work/pgbench.out

for mode in $modes; do
  case $mode in
    single) rows=1 ;;
    *[0-9]) rows=${mode##*[!0-9]} ;;
    *) die "unknown mode $mode" ;;
  esac
  sed -e "s/@ROWS@/$rows/g" -e "s/@LAST@/$((rows - 1))/g" "$scripts/claims-insert.sql" >"$work/$mode.sql"
  sql -f "$scripts/schema.sql"
  sql -c 'CHECKPOINT' 2>/dev/null || true
  wal0=$(sql -c 'SELECT pg_current_wal_lsn()')
  sleep 0.5
  cpu0=""
  [ -n "$postmaster" ] && cpu0=$(ticks "$postmaster")
  say "$mode: $rows rows per transaction, ${seconds}s ..."
  if ! "$pgbench" -n -M prepared -c "$clients" -j "$threads" -T "$seconds" \
    -D n=0 -f "$work/$mode.sql" "$url" >"$out" 2>&1; then
    cat "$out" >&2
    die "$mode: pgbench failed"
  fi
  # Let the postmaster reap the backends, so that their CPU time is in its cutime and cstime.
  sleep 0.5
  cpu1=""
  [ -n "$postmaster" ] && cpu1=$(ticks "$postmaster")
  wal_bytes=$(sql -c "SELECT pg_current_wal_lsn() - '$wal0'::pg_lsn")
  in_table=$(sql -c 'SELECT count(*) FROM claimline_bench.claims')
  table_bytes=$(sql -c "SELECT pg_total_relation_size('claimline_bench.claims')")
  desc_bytes=$(sql -c 'SELECT round(avg(octet_length(description))) FROM claimline_bench.claims')

  tx=$(awk -F': *' '/^number of transactions actually processed/ { print $2 + 0 }' "$out")
  tps=$(awk '/^tps = / { print $3 }' "$out")
  latency=$(awk '/^latency average = / { print $4 }' "$out")
  if [ -z "$tx" ] || [ -z "$tps" ]; then
    cat "$out" >&2
    die "$mode: could not read pgbench's report"
  fi
  awk -v mode="$mode" -v rows="$rows" -v clients="$clients" -v threads="$threads" \
    -v seconds="$seconds" -v tx="$tx" -v tps="$tps" -v latency="${latency:-0}" \
    -v cpu0="$cpu0" -v cpu1="$cpu1" -v hz="$hz" -v wal="$wal_bytes" -v in_table="$in_table" \
    -v table_bytes="$table_bytes" -v desc_bytes="$desc_bytes" -v version="$version" -v fsync="$fsync" '
    BEGIN {
      total = tx * rows
      rps = tps * rows
      if (cpu0 != "" && cpu1 != "" && total > 0) {
        cpu = (cpu1 - cpu0) / hz
        cpu_s = sprintf("%.2f", cpu)
        us_row = sprintf("%.1f", cpu * 1e6 / total)
        cores = sprintf("%.2f", cpu / seconds)
      } else {
        cpu_s = "null"; us_row = "null"; cores = "null"
      }
      wal_row = (in_table > 0) ? sprintf("%.0f", wal / in_table) : "null"
      table_row = (in_table > 0) ? sprintf("%.0f", table_bytes / in_table) : "null"
      printf "%s: %.0f rows/s (%.1f transactions/s x %d rows), latency %.2f ms, %d rows in the table; " \
        "PostgreSQL CPU %s s (%s cores) = %s us/row; WAL %s B/row, table+indexes %s B/row\n", \
        mode, rps, tps, rows, latency, in_table, cpu_s, cores, us_row, wal_row, table_row > "/dev/stderr"
      printf "{\"mode\":\"%s\",\"rows_per_tx\":%d,\"clients\":%d,\"threads\":%d,\"seconds\":%d," \
        "\"transactions\":%d,\"rows\":%d,\"rows_in_table\":%d,\"tx_per_s\":%.1f,\"rows_per_s\":%.0f," \
        "\"latency_avg_ms\":%.3f,\"pg_cpu_s\":%s,\"pg_cpu_cores\":%s,\"pg_cpu_us_per_row\":%s," \
        "\"wal_bytes_per_row\":%s,\"table_bytes_per_row\":%s,\"description_bytes\":%d," \
        "\"server_version\":\"%s\",\"fsync\":\"%s\",\"synchronous_commit\":\"on\"}\n", \
        mode, rows, clients, threads, seconds, tx, total, in_table, tps, rps, latency, cpu_s, \
        cores, us_row, wal_row, table_row, desc_bytes, version, fsync
    }'
done
sql -c 'DROP SCHEMA IF EXISTS claimline_bench CASCADE'
