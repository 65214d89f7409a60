#!/usr/bin/env bash
# Claimline's fault harness: real network faults (Linux network namespaces, a bridge, nftables,
# SIGSTOP, kill -9, PostgreSQL stopped or frozen) between two claimlined instances on one
# PostgreSQL database and Python callers failing over between them. See tools/faults/README.md.
#
#   tools/faults/run.sh [--quick] [--rows a,b,...] [--claimlined PATH] [--write-doc] [--report-only]
#                       [--keep] [--json FILE]
#   tools/faults/run.sh --cleanup     remove what earlier runs left behind (namespaces, processes,
#                                     PostgreSQL clusters and temp dirs of runs no longer going)
#   tools/faults/run.sh --list        the rows and their targets
#
#   --quick        the short subset (under 3 minutes) for `make test`: asserts the targets,
#                  exits 1 on a miss, closing with `N passed, M failed`
#   (no --quick)   the whole matrix; --write-doc writes its table into docs/SCALING.md
#                  (between <!-- faults:begin --> and <!-- faults:end -->)
#   --report-only  exit 0 when every row was measured, misses or not (make bench)
#
# claimlined: --claimlined PATH, else $CLAIMLINED, else .build/release/claimlined, else
# .build/debug/claimlined of the repository. Needs root. Installs iproute2, nftables and
# postgresql with apt-get when missing, and clients/python's venv (make -C clients/python venv).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

say() { printf 'faults: %s\n' "$*" >&2; }

if [ "$(id -u)" != 0 ]; then
  say "needs root (network namespaces, nftables, PostgreSQL run as the postgres user)"
  exit 2
fi

passthrough=()
claimlined=${CLAIMLINED:-}
only_meta=0
while [ $# -gt 0 ]; do
  case $1 in
    --claimlined)
      [ $# -ge 2 ] || { say "--claimlined needs a path"; exit 2; }
      claimlined=$2
      shift 2
      ;;
    --claimlined=*)
      claimlined=${1#--claimlined=}
      shift
      ;;
    --cleanup | --list | -h | --help)
      only_meta=1
      passthrough+=("$1")
      shift
      ;;
    *)
      passthrough+=("$1")
      shift
      ;;
  esac
done

# Debian packages, only those missing (apt-get update once, first).
need=()
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v nft >/dev/null 2>&1 || need+=(nftables)
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ -z "${CLAIMLINE_PG_BIN:-}" ]; then
  need+=(postgresql)
fi
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
# The Debian package starts a cluster of its own on 5432; this harness does not use it.

if [ "$only_meta" = 1 ]; then
  exec python3 "$here/faults.py" "${passthrough[@]}"
fi

if [ -z "$claimlined" ]; then
  for candidate in "$repo/.build/release/claimlined" "$repo/.build/debug/claimlined"; do
    if [ -x "$candidate" ]; then
      claimlined=$candidate
      break
    fi
  done
fi
[ -n "$claimlined" ] || { say "no claimlined: give --claimlined PATH (or CLAIMLINED=...)"; exit 2; }

if [ -z "${CLAIMLINE_FAULTS_PYTHON:-}" ]; then
  make -s -C "$repo/clients/python" venv >&2
fi

exec python3 "$here/faults.py" --claimlined "$claimlined" "${passthrough[@]}"
