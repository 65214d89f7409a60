# Sourced by tools/bench/run.sh (issue 14, "flat as it grows"); uses lib.sh's helpers and
# run.sh's $bin, $seconds, $warmup, $results and load/profile. Writes $work/scale.md.
#   1. bytes on disk per filed claim: a fresh store, FileComplaint closed loop 4 x 256, then
#      every file of the data dir divided by the claims in it (also the empty store's
#      FileComplaint figures for step 2);
#   2. 10 M claims and 10 M contact sessions generated into a store by claimline-store-bench
#      preload (the store's own insert statements, not the wire), then Escalate and
#      FileComplaint closed loop against it, as against the empty store;
#   3. idle connections: Escalate closed loop 4 x 256 alone, then beside 10,000 idle
#      authenticated connections (config/bench-10k.json raises the limits), and the server's
#      memory per idle connection.
preload_rows=${BENCH_PRELOAD_ROWS:-10000000}
idle_connections=${BENCH_IDLE_CONNECTIONS:-10000}

# 1. Bytes per claim, and FileComplaint on an empty store.
start_claimlined "$bin" "$work/claims"
sample_sizes "$work/claims" "$results/sizes-claims.txt"
load claims-file --scenario file --connections 4 --in-flight 256 --duration "${seconds}s"
stop_claimlined
stop_sampler
python3 tools/bench/sizes.py "$results/sizes-claims.txt" --json > "$results/sizes-claims.json"
python3 - "$work/claims" "$results/bytes-per-claim.json" <<'PY'
import json, os, sqlite3, sys
folder, out = sys.argv[1], sys.argv[2]
files = {f: os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder)}
db = sqlite3.connect(os.path.join(folder, "claimline.db"))
counts = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("claims", "contact_sessions", "idempotency", "audit")}
json.dump({"claims": counts["claims"], "bytes": sum(files.values()), "files": files, "rows": counts}, open(out, "w"))
PY

# 2. The grown store.
echo "preload: $preload_rows claims and sessions ..." >&2
mkdir -p "$work/grown"
preload_start=$(date +%s)
"$bin/claimline-store-bench" preload --db "$work/grown/claimline.db" --claims "$preload_rows" --sessions "$preload_rows" \
  --batch 500000 > "$work/preload.txt" 2> "$work/preload.log"
preload_seconds=$(($(date +%s) - preload_start))
start_claimlined "$bin" "$work/grown"
load grown-escalate --scenario escalate --connections 4 --in-flight 256 --duration "${seconds}s"
profile grown-escalate --scenario escalate --connections 4 --in-flight 256
load grown-file --scenario file --connections 4 --in-flight 256 --duration "${seconds}s"
stop_claimlined
grown_bytes=$(du -sb "$work/grown" | cut -f1)
rm -rf "$work/grown"

# 3. Idle connections.
CLAIMLINED_CONFIG=config/bench-10k.json start_claimlined "$bin" "$work/idle"
load idle-base --scenario escalate --connections 4 --in-flight 256 --duration 20s
"$bin/claimline-load" idle --server "127.0.0.1:$port" --server-pid "$server_pid" --connections "$idle_connections" \
  --sources 127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4 --duration 45s --ready-file "$work/idle.ready" \
  --json "$results/idle.json" > "$work/idle.txt" 2>&1 &
idler=$!
# The load starts once every idle connection is open and measured (at most 60 s).
for _ in $(seq 1 120); do
  [ -e "$work/idle.ready" ] && break
  sleep 0.5
done
load idle-busy --scenario escalate --connections 4 --in-flight 256 --duration 20s
wait "$idler" 2> /dev/null || true
stop_claimlined

{
  echo "## Growth: bytes per claim, a store of 10 M claims, idle connections"
  echo
  echo "Command: \`tools/bench/scale.sh\` (sourced by \`make bench\`)."
  echo
  python3 - "$results/bytes-per-claim.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
print(f"**Bytes per filed claim**: a fresh store after the FileComplaint closed loop below holds {b['rows']['claims']:,} claims, "
      f"{b['rows']['contact_sessions']:,} contact sessions, {b['rows']['idempotency']:,} idempotency records and {b['rows']['audit']:,} "
      f"audit rows in {b['bytes']:,} bytes ({', '.join(f'{k} {v:,}' for k, v in sorted(b['files'].items()))}): "
      f"**{b['bytes'] / b['claims']:,.0f} bytes per claim**, everything included.")
PY
  echo
  section claims-file "FileComplaint on an empty store, closed loop 4 x 256 (the figures above)"
  echo "**A store of $preload_rows claims and $preload_rows contact sessions**, generated in ${preload_seconds} s by"
  echo "\`$rel/claimline-store-bench preload --claims $preload_rows --sessions $preload_rows --batch 500000\`"
  echo "($(tail -n 1 "$work/preload.txt"));"
  echo "the data dir held $((grown_bytes / 1048576)) MiB after the runs below."
  echo
  section grown-escalate "Escalate against the grown store, closed loop 4 x 256"
  section grown-file "FileComplaint against the grown store, closed loop 4 x 256"
  echo "**Idle connections** (\`config/bench-10k.json\`; \`$rel/claimline-load idle --connections $idle_connections --sources 127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4 --duration 45s\`, the Escalate run below started once all were open):"
  echo
  echo '```'
  sed '/^$/d' "$work/idle.txt"
  echo '```'
  echo
  section idle-base "Escalate alone (before the idle connections)"
  section idle-busy "Escalate beside $idle_connections idle authenticated connections"
} > "$work/scale.md"
