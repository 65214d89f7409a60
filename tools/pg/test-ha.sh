#!/usr/bin/env bash
# test-ha.sh: tests tools/pg/cluster.sh's primary, synchronous standby and failover, on real
# PostgreSQL clusters it makes in a mktemp -d folder (/tmp/claimline-test-ha.XXXXXX) and
# removes on every path (success, failure, Ctrl-C, SIGTERM).
#
#   tools/pg/test-ha.sh
#
# A primary (init --primary) and its synchronous standby (standby); a row written on the
# primary with synchronous_commit = on is on the standby; with the standby down a commit
# hangs, and `async` releases it; kill (an immediate shutdown: a crash) the primary, promote
# the standby, write there; rejoin the old primary as a standby of the new one: it streams, is
# synchronous, and has both rows; the multi-host URL (target_session_attrs=read-write) finds
# the primary each time. One line per check, then `N passed, M failed`; exit status 1 when a
# check failed. About 30 s.
# shellcheck disable=SC2317 # the functions below run through check, expect and eventually
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd -P)
cluster=$here/cluster.sh
bin=${CLAIMLINE_PG_BIN:-/usr/lib/postgresql/15/bin}
psql_bin=$bin/psql
[ -x "$psql_bin" ] || psql_bin=psql

passed=0
failed=0
root=""
out=""
cleaned=""
started=$(date +%s)

# shellcheck disable=SC2317 # invoked by the traps
cleanup() {
  [ -n "$cleaned" ] && return 0
  cleaned=1
  [ -n "$root" ] || return 0
  local d
  for d in "$root/a" "$root/b"; do
    if [ -e "$d" ]; then
      "$cluster" destroy "$d" >/dev/null 2>&1 || echo "test-ha.sh: could not remove $d" >&2
    fi
  done
  rm -rf "$root"
}

# shellcheck disable=SC2317 # invoked by the traps
on_signal() {
  echo "test-ha.sh: got SIG$1: removing the clusters" >&2
  trap - EXIT INT TERM HUP
  cleanup
  exit "$2"
}
trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

root=$(mktemp -d "${TMPDIR:-/tmp}/claimline-test-ha.XXXXXX")
out=$root/out
a=$root/a
b=$root/b

# check NAME CMD...: one test, ok or FAIL (then CMD's output).
check() {
  local name=$1
  shift
  if "$@" >"$out" 2>&1; then
    passed=$((passed + 1))
    echo "ok   $name"
    return 0
  fi
  failed=$((failed + 1))
  echo "FAIL $name"
  tail -n 20 "$out" | sed 's/^/     | /'
  return 1
}

# must NAME CMD...: a check the rest depends on: when it fails, stop here.
must() {
  check "$@" && return 0
  finish
}

finish() {
  trap - EXIT INT TERM HUP
  cleanup
  local took=$(($(date +%s) - started))
  # Nothing of ours may be left: no folder, no server.
  if [ -e "$root" ] || pgrep -f "postgres -D $root/" >/dev/null 2>&1; then
    failed=$((failed + 1))
    echo "FAIL everything removed ($root or a server of it is left)"
  else
    passed=$((passed + 1))
    echo "ok   everything removed (no $root, no server of it)"
  fi
  echo "test-ha.sh: ${took} s"
  echo "$passed passed, $failed failed"
  [ "$failed" = 0 ]
  exit
}

# sql URL SQL: one statement, bounded (5 s to connect, 10 s in all); unaligned output.
sql() { PGCONNECT_TIMEOUT=5 timeout 10 "$psql_bin" -X -At -v ON_ERROR_STOP=1 "$1" -c "$2"; }
url() { "$cluster" url "$1"; }

# expect WANT CMD...: CMD's output is WANT.
expect() {
  local want=$1 got
  shift
  got=$("$@") || return 1
  echo "got: $got; want: $want"
  [ "$got" = "$want" ]
}

# eventually SECONDS WANT CMD...: CMD's output is WANT within SECONDS.
eventually() {
  local limit=$1 want=$2 got=""
  shift 2
  for _ in $(seq 1 $((limit * 10))); do
    got=$("$@" 2>&1) && [ "$got" = "$want" ] && return 0
    sleep 0.1
  done
  echo "after $limit s, got: $got; want: $want"
  return 1
}

replication() { sql "$(url "$1")" "SELECT application_name || ' ' || state || ' ' || sync_state FROM pg_stat_replication"; }
rows() { sql "$(url "$1")" "SELECT string_agg(note, ', ' ORDER BY id) FROM t"; }
multi_host_url() {
  printf 'postgres://claimline@127.0.0.1:%s,127.0.0.1:%s/claimline?target_session_attrs=read-write\n' \
    "$(cat "$a/port")" "$(cat "$b/port")"
}
# The port of the server the multi-host URL reaches, and whether it is in recovery.
multi_host_reaches() { sql "$(multi_host_url)" "SELECT inet_server_port() || ' ' || pg_is_in_recovery()"; }

# A commit that does not return within 3 s: timeout's status 124.
commit_hangs() {
  local status=0
  timeout 3 "$psql_bin" -X -At -v ON_ERROR_STOP=1 "$(url "$a")" -c "INSERT INTO t VALUES (2, 'written on a while b was down')" || status=$?
  echo "psql's status: $status (124: still waiting after 3 s)"
  [ "$status" = 124 ]
}
writes_on_standby_fail() {
  ! sql "$(url "$b")" "INSERT INTO t VALUES (99, 'never')" && return 0
  return 1
}

echo "test-ha.sh: a primary and a synchronous standby in $root"
must "cluster.sh init --primary a" "$cluster" init --primary "$a"
must "cluster.sh standby a b (returns once b streams and is sync)" "$cluster" standby "$a" "$b"
check "role: a is the primary" expect primary "$cluster" role "$a"
check "role: b is a standby" expect standby "$cluster" role "$b"
name_b=$(cat "$b/name")
name_a=$(cat "$a/name")
check "a's pg_stat_replication: b streaming, sync" expect "$name_b streaming sync" replication "$a"
check "a's synchronous_standby_names names b" expect "\"$name_b\"" sql "$(url "$a")" "SHOW synchronous_standby_names"
must "write a row on a with synchronous_commit = on" \
  sql "$(url "$a")" "CREATE TABLE t (id int PRIMARY KEY, note text); SET synchronous_commit = on; INSERT INTO t VALUES (1, 'written on a')"
check "the row is on b" eventually 5 "written on a" rows "$b"
check "with synchronous_commit = remote_apply, a row is on b as soon as its commit returns" sh -c "
  PGCONNECT_TIMEOUT=5 timeout 10 '$psql_bin' -X -At -v ON_ERROR_STOP=1 '$(url "$a")' \
    -c \"SET synchronous_commit = remote_apply; INSERT INTO t VALUES (0, 'applied on b')\" &&
  test \"\$(PGCONNECT_TIMEOUT=5 timeout 10 '$psql_bin' -X -At '$(url "$b")' -c 'SELECT note FROM t WHERE id = 0')\" = 'applied on b' &&
  PGCONNECT_TIMEOUT=5 timeout 10 '$psql_bin' -X -At -v ON_ERROR_STOP=1 '$(url "$a")' -c 'DELETE FROM t WHERE id = 0'"
check "b refuses writes (read-only)" writes_on_standby_fail
check "the multi-host URL reaches a, the primary" expect "$(cat "$a/port") false" multi_host_reaches

check "cluster.sh stop b" "$cluster" stop "$b"
check "with b down, a commit on a hangs (RPO 0's cost)" commit_hangs
check "cluster.sh async a: synchronous_standby_names = ''" "$cluster" async "$a"
check "... which releases the waiting commit" eventually 5 "written on a, written on a while b was down" rows "$a"
check "... and a commit on a returns again" sql "$(url "$a")" "INSERT INTO t VALUES (3, 'written on a, async')"
check "cluster.sh start b" "$cluster" start "$b"
check "cluster.sh sync a b: b is sync again" "$cluster" sync "$a" "$b"
check "b caught up" eventually 10 "written on a, written on a while b was down, written on a, async" rows "$b"

must "cluster.sh kill a (immediate shutdown: a crash)" "$cluster" kill "$a"
must "cluster.sh promote b" "$cluster" promote "$b"
check "role: b is the primary" expect primary "$cluster" role "$b"
must "write a row on b, the new primary (no synchronous standby: it does not wait)" \
  sql "$(url "$b")" "SET synchronous_commit = on; INSERT INTO t VALUES (4, 'written on b after the failover')"
check "the multi-host URL reaches b (a is down)" expect "$(cat "$b/port") false" multi_host_reaches

must "cluster.sh rejoin a b (a killed: pg_rewind, else a base backup)" "$cluster" rejoin "$a" "$b"
check "role: a is a standby" expect standby "$cluster" role "$a"
check "b's pg_stat_replication: a streaming, sync" expect "$name_a streaming sync" replication "$b"
check "b's synchronous_standby_names names a" expect "\"$name_a\"" sql "$(url "$b")" "SHOW synchronous_standby_names"
all="written on a, written on a while b was down, written on a, async, written on b after the failover"
check "a has the rows of both" eventually 10 "$all" rows "$a"
check "a commit on b (synchronous_commit = on) returns and is on a" sh -c "
  PGCONNECT_TIMEOUT=5 timeout 10 '$psql_bin' -X -At -v ON_ERROR_STOP=1 '$(url "$b")' \
    -c \"SET synchronous_commit = on; INSERT INTO t VALUES (5, 'written on b, a synchronous')\""
check "... and on a" eventually 5 "$all, written on b, a synchronous" rows "$a"
check "the multi-host URL reaches b (a is a standby)" expect "$(cat "$b/port") false" multi_host_reaches
check "rejoin a b again: nothing to do" "$cluster" rejoin "$a" "$b"
check "promote b again: nothing to do" "$cluster" promote "$b"
check "standby b a (a already is one): nothing to do" "$cluster" standby "$b" "$a"
check "rejoin refuses a folder that is the new primary itself" sh -c "! '$cluster' rejoin '$b' '$b'"
check "standby refuses a primary that is a standby" sh -c "! '$cluster' standby '$a' '$root/c'"
check "... and made nothing" test ! -e "$root/c"
if grep -q 'Done!' "$a/rewind.log" 2>/dev/null; then
  echo "     (a was rejoined by pg_rewind)"
else
  echo "     (a was rejoined by a fresh pg_basebackup: pg_rewind failed, see above)"
fi
finish
