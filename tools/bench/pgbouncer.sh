#!/usr/bin/env bash
# Connection budgets and pgbouncer (docs/SCALING.md, "Connections per instance, and poolers"),
# on a throwaway cluster, torn down on every path:
#
#   memory      one claimlined straight on PostgreSQL: its connections after calls of every
#               kind (pg_stat_activity by application_name) and what each backend costs in
#               memory (/proc smaps_rollup, smaps, VmPTE; pgbouncer.py says how it is counted);
#               PostgreSQL's CPU for the instance idle 10 s; the shared segment's size for
#               several max_connections (postgres -C shared_memory_size on a scratch initdb)
#   checks      pgbouncer (Debian's, run as a non-root user on 127.0.0.1) with claimlined as it
#               is: refused without ignore_startup_parameters; with it and the bounds set on the
#               role (ALTER ROLE), SHOW through each pooler; then per target (direct, session
#               pooling, transaction pooling) two claimlined A and B on one database: a contact
#               across both, how soon B follows an incident declared on A, two instances racing
#               on one idempotency key and on one contact, a short load through both
#   throughput  one claimlined (release) per target, closed loop, with the CPU of PostgreSQL,
#               pgbouncer and claimlined over the measured window, the backends it held, the
#               load average beside each run
#
# Usage: tools/bench/pgbouncer.sh [--phases memory,checks,throughput] [--debug BIN]
#          [--release DIR] [--seconds 20] [--scenarios "escalate file"]
#          [--targets "direct session transaction"] [--out DIR]
# --debug: the claimlined for the checks (default .build/debug/claimlined); --release: the folder with claimlined, claimline and claimline-load
# for memory and throughput (default .build/release); --targets: the throughput runs' order
# (repeat one to run it again, e.g. "direct session transaction transaction session direct",
# so that drift on a shared machine shows). Results (JSON, logs, report.md) go to
# --out (default bench-results/pgbouncer-TIMESTAMP). Needs pgbouncer (apt-get install pgbouncer).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

phases=memory,checks,throughput
debug_bin=.build/debug/claimlined
release=.build/release
seconds=20
scenarios="escalate file"
targets="direct session transaction"
out=bench-results/pgbouncer-$(date -u +%Y%m%dT%H%M%SZ)
while [ $# -gt 0 ]; do
  case $1 in
    --phases) phases=$2; shift 2 ;;
    --debug) debug_bin=$2; shift 2 ;;
    --release) release=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --scenarios) scenarios=$2; shift 2 ;;
    --targets) targets=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" >&2; exit 2 ;;
  esac
done
command -v pgbouncer >/dev/null || { echo "pgbouncer.sh: no pgbouncer (apt-get install pgbouncer)" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
helper="python3 $root/tools/bench/pgbouncer.py"
cli=$release/claimline
report=$out/report.md
: > "$report"
say() { printf '%s\n' "$*" >&2; }
note() { printf '%s\n' "$*" >> "$report"; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg | sed 's/ / \/ /g'; }

work=$(mktemp -d "${TMPDIR:-/tmp}/claimline-pgb.XXXXXX")
chmod 755 "$work"
cluster=$work/pg
claimlineds=""
bouncers=""
sampler=""
# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
  set +e
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null && wait "$sampler" 2>/dev/null
  for p in $claimlineds; do kill -TERM "$p" 2>/dev/null; done
  for p in $claimlineds; do wait "$p" 2>/dev/null; done
  for p in $bouncers; do kill -TERM "$p" 2>/dev/null; done
  for p in $bouncers; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
  done
  cp -r "$work"/*.log "$work"/pgb-* "$out"/ 2>/dev/null
  tools/pg/cluster.sh destroy "$cluster" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

say "cluster ..."
url=$(tools/pg/cluster.sh init "$cluster" 2>>"$work/cluster.log")
pgport=$(cat "$cluster/port")
base=${url%/*}
pgdata=$cluster/data
pg_version=$(psql -X -At "$url" -c "SHOW server_version")
su_psql() { psql -X -At -v ON_ERROR_STOP=1 "postgres://postgres@127.0.0.1:$pgport/${1}" "${@:2}"; }
newdb() { su_psql postgres -q -c "CREATE DATABASE $1 OWNER claimline" >/dev/null; echo "$base/$1"; }

# start_claimlined NAME BIN STORE: sets cl_pid, cl_port, cl_admin (waits until it listens).
# Ports picked in advance (the release build may predate --ready-file).
start_claimlined() {
  local name=$1 bin=$2 store=$3
  cl_port=$(free_port)
  cl_admin=$(free_port)
  "$bin" --listen "127.0.0.1:$cl_port" --admin-listen "127.0.0.1:$cl_admin" --store "$store" \
    --data-dir "$work/data-$name" --config config/claimline.json --log-level notice 2>>"$work/claimlined-$name.log" &
  cl_pid=$!
  claimlineds="$claimlineds $cl_pid"
  for _ in $(seq 150); do
    curl -s -m 1 -o /dev/null "127.0.0.1:$cl_admin/healthz" && return 0
    kill -0 "$cl_pid" 2>/dev/null || break
    sleep 0.1
  done
  say "claimlined $name did not start"
  tail "$work/claimlined-$name.log" >&2
  exit 1
}
# wait_ready ADMIN_PORT SECONDS: 0 once /readyz says ready; prints the last answer.
wait_ready() {
  local answer="" _i
  for _i in $(seq $(($2 * 10))); do
    answer=$(curl -s -m 1 "127.0.0.1:$1/readyz" || true)
    case $answer in ready*) echo "$answer"; return 0 ;; esac
    sleep 0.1
  done
  echo "$answer"
  return 1
}
stop_claimlined() {
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  claimlineds=$(echo "$claimlineds" | tr ' ' '\n' | { grep -vx "$1" || true; } | tr '\n' ' ')
}

# start_bouncer NAME MODE IGNORE: pgbouncer as a non-root user in $work/pgb-NAME on a free
# loopback port, every database name forwarded to the cluster; sets pgb_port and pgb_pid.
pgb_user=postgres
start_bouncer() {
  local name=$1 mode=$2 ignore=$3 dir=$work/pgb-$1
  mkdir -p "$dir"
  pgb_port=$(free_port)
  printf '"claimline" ""\n"postgres" ""\n' > "$dir/users.txt"
  cat > "$dir/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=$pgport

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $pgb_port
unix_socket_dir =
auth_type = trust
auth_file = $dir/users.txt
admin_users = claimline
pool_mode = $mode
max_client_conn = 1000
default_pool_size = 20
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
; the client side as claimlined's own sockets: keepalives (5 s, every 2 s, 3 probes), 10 s
tcp_keepalive = 1
tcp_keepidle = 5
tcp_keepintvl = 2
tcp_keepcnt = 3
tcp_user_timeout = 10000
${ignore:+ignore_startup_parameters = $ignore}
INI
  if [ "$(id -u)" = 0 ]; then
    chown -R "$pgb_user" "$dir"
    runuser -u "$pgb_user" -- pgbouncer -d "$dir/pgbouncer.ini"
  else
    pgbouncer -d "$dir/pgbouncer.ini"
  fi
  for _ in $(seq 50); do [ -s "$dir/pgbouncer.pid" ] && break; sleep 0.1; done
  pgb_pid=$(cat "$dir/pgbouncer.pid")
  bouncers="$bouncers $pgb_pid"
  for _ in $(seq 50); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $pgb_port), 0.2)" 2>/dev/null && return 0
    sleep 0.1
  done
  say "pgbouncer $name does not listen"; exit 1
}

ignore_list=synchronous_commit,idle_in_transaction_session_timeout,statement_timeout,tcp_keepalives_idle,tcp_keepalives_interval,tcp_keepalives_count,tcp_user_timeout
# The bounds claimlined sends at startup with its defaults (idle_in_transaction_timeout_ms 1000,
# query_timeout_ms 5000), set on the role instead: a pooler with ignore_startup_parameters drops them.
role_bounds() {
  su_psql postgres -q \
    -c "ALTER ROLE claimline SET synchronous_commit = on" \
    -c "ALTER ROLE claimline SET idle_in_transaction_session_timeout = '1s'" \
    -c "ALTER ROLE claimline SET statement_timeout = '5s'" \
    -c "ALTER ROLE claimline SET tcp_keepalives_idle = 5" \
    -c "ALTER ROLE claimline SET tcp_keepalives_interval = 2" \
    -c "ALTER ROLE claimline SET tcp_keepalives_count = 3" \
    -c "ALTER ROLE claimline SET tcp_user_timeout = 10000"
}

note "# pgbouncer.sh, $(date -u '+%Y-%m-%d %H:%M UTC')"
note ""
note "PostgreSQL $pg_version ($url, max_connections $(psql -X -At "$url" -c 'SHOW max_connections'), shared_buffers $(psql -X -At "$url" -c 'SHOW shared_buffers')); $(pgbouncer --version | head -1); debug claimlined $debug_bin ($(date -u -r "$debug_bin" '+%Y-%m-%d %H:%M UTC')); release $release/claimlined ($(date -u -r "$release/claimlined" '+%Y-%m-%d %H:%M UTC')); machine: $(nproc) cores, load average at start $(loadavg)"
note ""

# ---- memory ---------------------------------------------------------------------------------
if [[ $phases == *memory* ]]; then
  say "memory: one claimlined straight on PostgreSQL ..."
  db=$(newdb mem)
  start_claimlined mem "$release/claimlined" "$db"
  pid_mem=$cl_pid
  s=127.0.0.1:$cl_port
  wait_ready "$cl_admin" 10 >/dev/null
  export CLAIMLINE_TOKEN=dev-admin-token
  {
    "$cli" escalate --server "$s" --call-id m1 --msisdn +79161234567 --tier 2 --region 77 --category billing/balance_desync
    "$cli" retain --server "$s" --call-id m1 --outcome impossible --reason cause_unknown
    "$cli" file --server "$s" --call-id m1 --msisdn +79161234567 --category billing/balance_desync --description "memory"
    "$cli" incident declare --server "$s" --title mem --region 50 --category billing --playbook-text sorry
    "$cli" second-line get --server "$s"
    "$cli" contact get --server "$s" m1
    "$cli" claim get --server "$s" 2026-000001 || true
    # Reads in parallel, so that both reader threads open their connection.
    readers=""
    for _ in 1 2 3 4 5 6 7 8; do "$cli" claim list --server "$s" >/dev/null & readers="$readers $!"; done
    for _ in 1 2 3 4; do "$cli" stats --server "$s" >/dev/null & readers="$readers $!"; done
    for j in $readers; do wait "$j"; done
  } > "$work/mem-calls.log" 2>&1
  sleep 1.5
  psql -X -At -F' ' "$url" -c "SELECT pid, application_name FROM pg_stat_activity WHERE datname = 'mem' AND pid <> pg_backend_pid()" > "$out/mem-apps.txt"
  # What an idle instance costs PostgreSQL (its readiness probe: SELECT 1 every 100 ms): the
  # cluster's CPU over 10 s with no calls.
  $helper sample "$work/idle.samples" "$pgdata" "$pid_mem" &
  sampler=$!
  sleep 10.5
  kill "$sampler"; wait "$sampler" 2>/dev/null || true; sampler=""
  python3 - "$work/idle.samples" "$pid_mem" > "$out/idle-cpu.txt" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
a, b = rows[0], rows[-1]
t = b["t"] - a["t"]
print(f"PostgreSQL {(b['pg'] - a['pg']) / t * 100:.2f} % of one core, claimlined {(b[sys.argv[2]] - a[sys.argv[2]]) / t * 100:.2f} % over {t:.1f} s")
PY
  $helper mem "$pgdata" > "$out/mem-all.json"
  su_psql postgres -c "SHOW shared_memory_size" > "$out/shared-memory-size.txt"
  stop_claimlined "$pid_mem"
  # The shared segment for other max_connections: postgres -C on a scratch data folder.
  scratch=$work/scratch
  mkdir -p "$scratch"
  [ "$(id -u)" = 0 ] && chown postgres "$scratch"
  bindir=${CLAIMLINE_PG_BIN:-$(find /usr/lib/postgresql -maxdepth 2 -name bin | sort -V | tail -1)}
  as_pg() { if [ "$(id -u)" = 0 ]; then (cd "$scratch" && runuser -u postgres -- "$@"); else "$@"; fi; }
  as_pg "$bindir/initdb" -D "$scratch/data" >/dev/null 2>&1
  for n in 100 200 400 500 1000; do
    echo "$n $(as_pg "$bindir/postgres" -D "$scratch/data" -C shared_memory_size -c shared_buffers=256MB -c max_connections=$n)"
  done > "$out/shared-memory-by-max-connections.txt"
  python3 - "$out" >> "$report" <<'PY'
import json, sys
out = sys.argv[1]
apps = dict(line.split(" ", 1) for line in open(f"{out}/mem-apps.txt").read().splitlines() if line)
rows = json.load(open(f"{out}/mem-all.json"))
print("## memory: one claimlined, after calls of every kind\n")
print("| process | application_name | Pss kB | Pss_Anon kB | Pss_Shmem kB | Pss_File kB | USS anon kB | VmPTE kB | Rss kB |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
tot = {}
for r in sorted(rows, key=lambda r: (r["kind"], apps.get(str(r["pid"]), ""))):
    app = apps.get(str(r["pid"]), "")
    if r["kind"] == "client" and not app:
        continue  # psql of the script, if any
    name = r["title"].split(" ", 1)[1] if " " in r["title"] else r["title"]
    name = name[:40]
    print(f"| {r['kind']}: {name} | {app} | {r['pss']} | {r.get('pss_anon',0)} | {r.get('pss_shmem',0)} | {r.get('pss_file',0)} | {r['uss_anon']} | {r.get('pte',0)} | {r['rss']} |")
    k = "claimlined backends" if app.startswith("claimlined") else "other processes"
    t = tot.setdefault(k, {"n": 0})
    t["n"] += 1
    for f in ("pss", "pss_anon", "pss_shmem", "pss_file", "uss_anon", "pte", "rss"):
        t[f] = t.get(f, 0) + r.get(f, 0)
print()
for k, t in tot.items():
    print(f"- {k}: {t['n']}; sums: Pss {t['pss']} kB, Pss_Anon {t['pss_anon']} kB, Pss_Shmem {t['pss_shmem']} kB, USS anon {t['uss_anon']} kB, VmPTE {t['pte']} kB")
print(f"- shared_memory_size (this cluster): {open(f'{out}/shared-memory-size.txt').read().strip()}")
print("- shared_memory_size by max_connections (shared_buffers 256MB): " +
      ", ".join(f"{l.split()[0]}: {l.split()[1]} MB" for l in open(f"{out}/shared-memory-by-max-connections.txt").read().splitlines()))
counts = {}
for a in apps.values():
    counts[a] = counts.get(a, 0) + 1
print(f"- connections by application_name: {counts}")
print(f"- one idle instance (no calls for 10 s): {open(f'{out}/idle-cpu.txt').read().strip()}")
print()
PY
fi

# ---- checks ---------------------------------------------------------------------------------
if [[ $phases == *checks* || $phases == *throughput* ]]; then
  say "pgbouncer without ignore_startup_parameters ..."
  start_bouncer strict session ""
  strict_port=$pgb_port
  db=$(newdb strict)
  start_claimlined strict "$debug_bin" "${base%:*}:$strict_port/strict"
  pid_strict=$cl_pid
  readyz=$(wait_ready "$cl_admin" 3 || true)
  stop_claimlined "$pid_strict"
  refusal=$(grep -m1 -o 'unsupported startup parameter[^(]*' "$work/pgb-strict/pgbouncer.log" || true)
  note "## pgbouncer without ignore_startup_parameters"
  note ""
  note "- claimlined's /readyz after 3 s: \`$readyz\`; pgbouncer's log: \`$refusal\`"
  note "- claimlined's log: \`$(grep -m1 -o 'store.error=[^[]*' "$work/claimlined-strict.log" || true)\`"
  note ""

  say "bounds on the role; pgbouncer session and transaction ..."
  role_bounds
  start_bouncer session session "$ignore_list"
  session_port=$pgb_port session_pid=$pgb_pid
  start_bouncer transaction transaction "$ignore_list"
  tx_port=$pgb_port tx_pid=$pgb_pid
  note "## SHOW through each pooler (bounds on the role: ALTER ROLE claimline SET ...; ignore_startup_parameters = $ignore_list)"
  note ""
  note "| setting | direct | session | transaction |"
  note "|---|---|---|---|"
  for g in synchronous_commit idle_in_transaction_session_timeout statement_timeout tcp_keepalives_idle tcp_keepalives_interval tcp_keepalives_count tcp_user_timeout application_name; do
    d=$(PGAPPNAME=probe psql -X -At "$base/claimline" -c "SHOW $g")
    se=$(PGAPPNAME=probe psql -X -At "${base%:*}:$session_port/claimline" -c "SHOW $g")
    tr=$(PGAPPNAME=probe psql -X -At "${base%:*}:$tx_port/claimline" -c "SHOW $g")
    note "| $g | $d | $se | $tr |"
  done
  note ""
  # A client that stops in the middle of a transaction holding an advisory lock (a frozen
  # instance), through each pooler: the role's idle_in_transaction_session_timeout ends it, and
  # a session straight on PostgreSQL waiting for the lock gets it then.
  for t in session:$session_port transaction:$tx_port; do
    printf 'BEGIN;\nSELECT pg_advisory_xact_lock(4242);\n\\! sleep 3\nSELECT 2;\n' |
      psql -X -At "${base%:*}:${t#*:}/claimline" > "$work/idle-${t%%:*}.txt" 2>&1 &
    frozen=$!
    sleep 0.5
    t0=$(date +%s.%N)
    psql -X -At "$base/claimline" -c "SET lock_timeout = '10s'" -c "SELECT pg_advisory_xact_lock(4242)" >/dev/null 2>&1 || true
    t1=$(date +%s.%N)
    wait "$frozen" || true
    r=$(tr '\n' ' ' < "$work/idle-${t%%:*}.txt")
    note "- a transaction holding an advisory lock left idle 3 s through ${t%%:*} pooling: \`$r\`; a direct session waiting for the lock (from 0.5 s after it was taken) got it after $(python3 -c "print(f'{$t1 - $t0:.2f}')") s"
  done
  note ""
fi

if [[ $phases == *checks* ]]; then
  for target in direct session transaction; do
    say "checks: $target ..."
    db=$(newdb "chk_$target")
    case $target in
      direct) store=$db ;;
      session) store=${base%:*}:$session_port/chk_$target ;;
      transaction) store=${base%:*}:$tx_port/chk_$target ;;
    esac
    start_claimlined "a-$target" "$debug_bin" "$store"
    pid_a=$cl_pid port_a=$cl_port admin_a=$cl_admin
    start_claimlined "b-$target" "$debug_bin" "$store"
    pid_b=$cl_pid port_b=$cl_port admin_b=$cl_admin
    ra=$(wait_ready "$admin_a" 10 || true)
    rb=$(wait_ready "$admin_b" 10 || true)
    la=$(loadavg)
    $helper checks "$cli" "127.0.0.1:$port_a" "127.0.0.1:$port_b" "$db" "$target" > "$out/checks-$target.json"
    # A short load through both instances (contact scenario: Escalate, Retain, FileComplaint).
    "$release/claimline-load" run --server "127.0.0.1:$port_a,127.0.0.1:$port_b" --scenario contact --rate 300 \
      --connections 4 --duration 5s --warmup 1s --quiet --json "$out/checks-load-$target.json" > "$out/checks-load-$target.txt" 2>&1 || true
    dup=$(psql -X -At "$db" -c "SELECT count(*) FROM (SELECT call_id FROM claims WHERE call_id IS NOT NULL GROUP BY call_id HAVING count(*) > 1) d")
    claims=$(psql -X -At "$db" -c "SELECT count(*) FROM claims")
    backends=$(psql -X -At "$url" -c "SELECT count(*) FROM pg_stat_activity WHERE datname = 'chk_$target'")
    stop_claimlined "$pid_a"
    stop_claimlined "$pid_b"
    python3 - "$out" "$target" "$ra" "$rb" "$la" "$dup" "$claims" "$backends" "$work" >> "$report" <<'PY'
import json, sys
out, target, ra, rb, la, dup, claims, backends, work = sys.argv[1:10]
c = json.load(open(f"{out}/checks-{target}.json"))
print(f"## checks: {target} (two debug claimlined A and B; load average {la})\n")
print(f"- ready: A `{ra}`, B `{rb}`; PostgreSQL backends of this database with both up: {backends}")
print(f"- one contact across A and B: {'all OK' if c['e2e_ok'] else 'FAILED'}: " + "; ".join(f"{s['step']} rc {s['rc']}: {s['out'][:70]}" for s in c["e2e"]))
print("- incident declared on A, first FOLLOW_INCIDENT_PLAYBOOK on B: " + ", ".join(
    (f"{d['seconds']*1000:.0f} ms ({d['polls']} polls)" if d["seconds"] is not None else f"not within 5 s ({d['polls']} polls)") for d in c["incident"]))
sk = c["same_key"]
print(f"- one idempotency key on A and B at once: {sk['same_claim']}/{sk['pairs']} pairs got the same claim; claims in the database: {sk['claims_in_db']}" + (f"; odd: {sk['odd']}" if sk["odd"] else ""))
sc = c["same_contact"]
print(f"- Retain of one contact on A and B at once: exactly one applied (other FAILED_PRECONDITION) in {sc['exactly_one_applied']}/{sc['pairs']}" + (f"; odd: {sc['odd']}" if sc["odd"] else ""))
try:
    d = json.load(open(f"{out}/checks-load-{target}.json"))
    s = d["steps"][0]
    calls = sum(m["count"] for m in s["methods"])
    errs = {}
    for m in s["methods"]:
        for k, v in m["errors"].items():
            errs[k] = errs.get(k, 0) + v
    print(f"- contact load through A and B (300 contacts/s, 5 s): {calls} calls, errors {errs or 0}; claims in the database {claims}, call ids with two claims: {dup}")
except Exception as e:
    print(f"- contact load: no result ({e})")
import glob, re
for f in sorted(glob.glob(f"{work}/claimlined-*-{target}.log")):
    lines = [l for l in open(f) if re.search(r" (warning|error|critical) ", l)]
    slow = [l for l in lines if "slow commit" in l]
    lines = [l for l in lines if "slow commit" not in l]
    print(f"- {f.rsplit('/',1)[1]}: {len(lines)} warning/error lines besides {len(slow)} 'slow commit'" + (f", first: `{lines[0].strip()[:200]}`" if lines else ""))
print()
PY
  done
  for name in session transaction; do
    n=$(grep -c -E 'WARNING|ERROR' "$work/pgb-$name/pgbouncer.log" || true)
    first=""
    [ "$n" != 0 ] && first=", e.g. \`$(grep -m3 -E 'WARNING|ERROR' "$work/pgb-$name/pgbouncer.log" | cut -c1-200 | tr '\n' ' ')\`"
    note "- pgbouncer $name log: $n WARNING/ERROR lines$first"
  done
  note ""
fi

# ---- throughput -----------------------------------------------------------------------------
if [[ $phases == *throughput* ]]; then
  note "## throughput: one release claimlined, closed loop 4 x 256, ${seconds} s after 2 s warm-up"
  note ""
  note "| scenario | target | load avg before | calls/s | p99 ms | errors | claimlined CPU µs/call | PostgreSQL CPU µs/call | pgbouncer CPU µs/call | PostgreSQL backends of the db (peak / mean busy) | writer batch (mean calls) | commit ms (mean) | WAL B/call |"
  note "|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|"
  : > "$out/throughput-notes.md"
  for scenario in $scenarios; do
    run=0
    for target in $targets; do
      run=$((run + 1))
      say "throughput: $scenario $target ..."
      name=tp_${scenario}_${target}_$run
      db=$(newdb "$name")
      case $target in
        direct) store=$db; bpid="" ;;
        session) store=${base%:*}:$session_port/$name; bpid=$session_pid ;;
        transaction) store=${base%:*}:$tx_port/$name; bpid=$tx_pid ;;
      esac
      start_claimlined "$name" "$release/claimlined" "$store"
      pid=$cl_pid
      wait_ready "$cl_admin" 10 >/dev/null || true
      # The same start for every run: no checkpoint left to do, the WAL position noted.
      su_psql postgres -q -c CHECKPOINT
      lsn0=$(su_psql postgres -c "SELECT pg_current_wal_lsn()")
      # shellcheck disable=SC2086
      $helper sample "$work/$name.samples" "$pgdata" "$pid" $bouncers &
      sampler=$!
      sleep 0.6
      la=$(loadavg)
      t0=$(date +%s.%N)
      "$release/claimline-load" run --server "127.0.0.1:$cl_port" --server-pid "$pid" --scenario "$scenario" \
        --connections 4 --in-flight 256 --duration "${seconds}s" --warmup 2s --quiet --json "$out/$name.json" \
        > "$out/$name.txt" 2>&1 || true
      t1=$(date +%s.%N)
      sleep 0.3
      kill "$sampler"; wait "$sampler" 2>/dev/null || true; sampler=""
      $helper mem "$pgdata" "$name" > "$out/$name-mem.json"
      curl -s -m 2 "127.0.0.1:$cl_admin/metrics" > "$out/$name-metrics.txt" || true
      wal=$(su_psql postgres -c "SELECT pg_current_wal_lsn() - '$lsn0'::pg_lsn")
      checkpoints=$(cat "$cluster"/log/* 2>/dev/null | grep -c -E 'checkpoint starting: (wal|time)' || true)
      if [ -n "$bpid" ]; then
        psql -X -A -F' ' "${base%:*}:$([ "$target" = session ] && echo "$session_port" || echo "$tx_port")/pgbouncer" \
          -c "SHOW STATS" > "$out/$name-pgbouncer-stats.txt" 2>&1 || true
      fi
      stop_claimlined "$pid"
      sleep 1
      xacts=$(su_psql postgres -c "SELECT xact_commit FROM pg_stat_database WHERE datname = '$name'")
      python3 - "$out" "$name" "$work/$name.samples" "$t0" "$t1" "$pid" "$bpid" "$scenario" "$target" "$la" "$seconds" "$wal" "$xacts" "$checkpoints" >> "$report" <<'PY'
import json, re, subprocess, sys
out, name, samples, t0, t1, pid, bpid, scenario, target, la, seconds, wal, xacts, checkpoints = sys.argv[1:15]
t0, t1 = float(t0), float(t1)
d = json.load(open(f"{out}/{name}.json"))
s = d["steps"][0]
calls = sum(m["count"] for m in s["methods"])
errors = sum(sum(m["errors"].values()) for m in s["methods"])
rate = calls / s["duration"]
p99 = 0.0
for line in open(f"{out}/{name}.txt"):
    parts = line.split()
    if len(parts) >= 8 and parts[1].isdigit():
        try:
            p99 = max(p99, float(parts[5]))
        except ValueError:
            pass
# The measured window: after the warm-up, to the harness's end.
w = json.loads(subprocess.run(["python3", "tools/bench/pgbouncer.py", "window", samples, str(t0 + 2.0), str(t1)],
                              capture_output=True, text=True).stdout)
per = w["seconds"] and calls / s["duration"] * w["seconds"]
pg = w["pg"] / per * 1e6
cl = (d.get("server") or {}).get("cpuSeconds", 0.0) / calls * 1e6
pgb = f"{w[bpid] / per * 1e6:.1f}" if bpid else "—"
peak = w["peak_backends"].get(name, 0)
busy = w["mean_busy_backends"].get(name, 0.0)
mem = json.load(open(f"{out}/{name}-mem.json"))
uss = sum(r["uss_anon"] for r in mem)
pte = sum(r.get("pte", 0) for r in mem)
metrics = {}
for line in open(f"{out}/{name}-metrics.txt"):
    m = re.match(r"^(claimline_writer_(?:batch_size|commit_seconds)_(?:sum|count))(?:\{[^}]*\})? ([0-9.e+-]+)$", line)
    if m:
        metrics[m.group(1)] = metrics.get(m.group(1), 0.0) + float(m.group(2))
batches = metrics.get("claimline_writer_batch_size_count", 0)
size = metrics.get("claimline_writer_batch_size_sum", 0) / batches if batches else 0
commit = metrics.get("claimline_writer_commit_seconds_sum", 0) / max(metrics.get("claimline_writer_commit_seconds_count", 0), 1) * 1000
wait = ""
try:
    lines = open(f"{out}/{name}-pgbouncer-stats.txt").read().splitlines()
    head = lines[0].split()
    for l in lines[1:]:
        f = l.split()
        if f and f[0] == name:
            row = dict(zip(head, f))
            wait = f"; pgbouncer: {int(row['total_xact_count']):,} transactions, {int(row['total_query_count']):,} queries, clients waited for a server {int(row['total_wait_time'])/1e6:.2f} s in all"
except (OSError, IndexError, KeyError, ValueError):
    pass
print(f"| {scenario} | {target} | {la} | {rate:,.0f} | {p99:.1f} | {errors} | {cl:.1f} | {pg:.1f} | {pgb} | {peak} / {busy:.1f} | {size:.0f} | {commit:.1f} | {int(wal)/calls:.0f} |")
notes = open(f"{out}/throughput-notes.md", "a")
notes.write(f"- {scenario} {target} (run {name.rsplit('_', 1)[1]}): after the run {len(mem)} backends, USS anon {uss/1024:.1f} MiB, VmPTE {pte/1024:.1f} MiB; {int(xacts):,} commits in the database over the whole run; {batches:.0f} writer batches{wait}; checkpoints logged so far: {checkpoints}\n")
PY
    done
  done
  note ""
  cat "$out/throughput-notes.md" >> "$report"
  note ""
  for name in session transaction; do
    p=$(cat "$work/pgb-$name/pgbouncer.pid")
    note "- pgbouncer $name: $(grep -E '^(VmRSS|VmHWM)' "/proc/$p/status" | tr -s ' \t' ' ' | tr '\n' ' ')"
  done
  note "- load average at the end: $(loadavg)"
fi

cat "$report"
