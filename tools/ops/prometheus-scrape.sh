#!/bin/sh
# Debian's Prometheus server scrapes a live claimlined's admin listener; the check asks its
# HTTP API for claimline series and passes when the calls made show up there, counted.
#
#   tools/ops/prometheus-scrape.sh CLAIMLINED CLAIMLINE-CLI
#
# Everything on 127.0.0.1 and free ports, in a temporary folder; both servers are stopped and
# the folder removed on any exit (pass, fail or Ctrl-C). Bounded: 60 s for Prometheus to scrape.
set -eu
claimlined=${1:?usage: prometheus-scrape.sh CLAIMLINED CLAIMLINE-CLI}
cli=${2:?usage: prometheus-scrape.sh CLAIMLINED CLAIMLINE-CLI}
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
pids=""
cleanup() {
    for pid in $pids; do kill "$pid" 2>/dev/null || true; done
    for pid in $pids; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
say() { echo "prometheus-scrape: $*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

port=$(free_port); admin=$(free_port); prom=$(free_port)
"$claimlined" --listen 127.0.0.1:$port --admin-listen 127.0.0.1:$admin --data-dir "$tmp/data" \
    --config "$root/config/claimline.json" --log-level warning > "$tmp/claimlined.log" 2>&1 &
pids="$pids $!"
i=0
until curl -fs "http://127.0.0.1:$admin/readyz" >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -lt 100 ] || { say "claimlined not ready"; cat "$tmp/claimlined.log"; exit 1; }
    sleep 0.1
done

# Five contacts' first calls: Escalate OK five times.
for n in 1 2 3 4 5; do
    CLAIMLINE_TOKEN=dev-admin-token "$cli" escalate --server 127.0.0.1:$port --call-id "PROM-$n-$$" --msisdn +79161234567 \
        --tier 2 --region 77 --category billing/balance_desync > /dev/null
done

cat > "$tmp/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: claimlined
    static_configs:
      - targets: ["127.0.0.1:$admin"]
YML
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
    --web.listen-address=127.0.0.1:$prom --log.level=warn > "$tmp/prometheus.log" 2>&1 &
pids="$pids $!"

query='claimline_calls_total{method="Escalate",code="OK"}'
deadline=$(( $(date +%s) + 60 ))
while :; do
    answer=$(curl -fsG "http://127.0.0.1:$prom/api/v1/query" --data-urlencode "query=$query" 2>/dev/null || true)
    value=$(printf '%s' "$answer" | python3 -c 'import json,sys
try:
    r = json.load(sys.stdin)["data"]["result"]
    print(r[0]["value"][1] if r else "")
except Exception:
    print("")' 2>/dev/null)
    if [ "$value" = "5" ]; then break; fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
        say "no claimline series with the 5 calls after 60 s; last answer: $answer"
        tail -20 "$tmp/prometheus.log"
        exit 1
    fi
    sleep 1
done
# The target is up and the process metrics arrived too.
up=$(curl -fsG "http://127.0.0.1:$prom/api/v1/query" --data-urlencode 'query=up{job="claimlined"}')
series=$(curl -fsG "http://127.0.0.1:$prom/api/v1/label/__name__/values" | python3 -c 'import json,sys
names = json.load(sys.stdin)["data"]
print(len([n for n in names if n.startswith("claimline_")]), "process_resident_memory_bytes" in names)')
case "$up" in *'"1"'*) ;; *) say "target not up: $up"; exit 1 ;; esac
case "$series" in *True) ;; *) say "process metrics missing: $series"; exit 1 ;; esac
say "ok: Prometheus $(prometheus --version 2>&1 | head -1 | cut -d' ' -f3) scraped claimlined: $query = $value; claimline series, process metrics: $series"
