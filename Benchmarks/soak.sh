#!/usr/bin/env bash
# Soak: a release-build server under a steady mix for 10 minutes at 80% of the capacity measured at its start
# (the manifest, introspection, client_credentials issuance, the admin API's link list and a status check, in
# turn; Benchmarks/soak.lua), with the access log on, as shipped. Each minute it records the requests, errors
# (answers other than 2xx, and socket errors), p50 and p99 latency, the server's RSS and open descriptors, and
# the database's size (with SQLite's WAL). It passes with 0 errors; RSS and descriptors within +10% of minute 2
# after minute 2; the last minute's p99 at most 1.5x the second minute's; and the WAL bounded.
#   bash Benchmarks/soak.sh [sqlite|postgres]      # sqlite when not told; MINUTES=10 by default
set -euo pipefail
cd "$(dirname "$0")/.."
store=${1:-sqlite}
minutes=${MINUTES:-10}
period=${MINUTE_SECONDS:-60}   # a shorter "minute" only to try the script out
export BENCH_LOG_LEVEL=info
. Benchmarks/oauth2/provider.sh
. Benchmarks/postgres-cluster.sh
trap cleanup EXIT
case $store in
  sqlite) unset APPLINKS_DATABASE_URL ;;
  postgres) start_postgres soak; export APPLINKS_DATABASE_URL="$pg_url" ;;
  *) echo "error: the store is sqlite or postgres, not '$store'" >&2; exit 2 ;;
esac
start_provider soak
server=${servers[0]}
echo "soak password" | "$bin/applinks" users add soak --admin --password-stdin >/dev/null
export AUTH="$auth" TOKEN="$token"
PAT=$("$bin/applinks" tokens create --user soak --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
LINK=$("$bin/applinks" list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
export PAT LINK
for path in "rest/applinks/3.0/links" "rest/applinks/3.0/links/$LINK/status"; do
  curl -sf -o /dev/null -H "Authorization: Bearer $PAT" -X "$([ "${path%status}" != "$path" ] && echo POST || echo GET)" "$base/$path"
done

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }
fds() { ls "/proc/$server/fd" | wc -l; }
db_size() {
  if [ "$store" = sqlite ]; then
    du -sk "$APPLINKS_HOME"/applinks.db* 2>/dev/null | awk '{s += $1} END {print s}'
  else
    psql "$pg_url" -tAc "SELECT pg_database_size(current_database()) / 1024"
  fi
}
wal_kb() {
  if [ "$store" = sqlite ]; then du -k "$APPLINKS_HOME"/*-wal 2>/dev/null | awk '{s += $1} END {print s + 0}'
  else du -sk "$work/pg/data/pg_wal" 2>/dev/null | awk '{print $1 + 0}'; fi
}

wrk -t2 -c64 -d3s -s Benchmarks/soak.lua "$base" >/dev/null   # warm-up
capacity=$(wrk -t2 -c64 -d10s -s Benchmarks/soak.lua "$base" | awk '/Requests\/sec/ {print $2}')
target=$(awk -v c="$capacity" 'BEGIN {printf "%d", 0.8 * c}')
# Each of 64 connections sends one request every DELAY_MS (plus its latency, small below capacity).
export DELAY_MS=$(awk -v t="$target" 'BEGIN {printf "%d", 64 * 1000 / t}')
echo "store $store; capacity $capacity req/s with 64 connections; soak at 80%: $target req/s (each connection every ${DELAY_MS} ms), $minutes minutes"
printf '%-7s %9s %8s %7s %9s %9s %9s %6s %10s %8s\n' minute requests req/s errors p50 p99 "RSS kB" fds "DB kB" "WAL kB" | tee "$work/table"
for minute in $(seq "$minutes"); do
  out=$(wrk -t2 -c64 -d"${period}s" --latency --timeout 5s -s Benchmarks/soak.lua "$base")
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  rate=$(echo "$out" | awk '/Requests\/sec/ {printf "%d", $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx or 3xx responses/ {print $5}')
  socket=$(echo "$out" | awk -F'[ ,]+' '/Socket errors/ {print $4 + $6 + $8 + $10}')
  errors=$(( ${non2xx:-0} + ${socket:-0} ))
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  printf '%-7s %9s %8s %7s %9s %9s %9s %6s %10s %8s\n' "$minute" "$requests" "$rate" "$errors" "$p50" "$p99" "$(rss_kb)" "$(fds)" \
    "$(db_size)" "$(wal_kb)" | tee -a "$work/table"
done

python3 - "$work/table" "$store" <<'PY'
import re, sys
store = sys.argv[2]
rows = [line.split() for line in open(sys.argv[1]).read().splitlines()[1:]]
def ms(t):
    v, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", t).groups()
    return float(v) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
errors = sum(int(r[3]) for r in rows)
second, last = rows[1], rows[-1]
rss = max(int(r[6]) for r in rows[2:]) / int(second[6])
fds = max(int(r[7]) for r in rows[2:]) / int(second[7])
p99 = ms(last[5]) / ms(second[5])
wal = max(int(r[9]) for r in rows)
checks = [("0 errors", errors == 0, f"{errors}"), ("RSS within +10% of minute 2", rss <= 1.10, f"{rss:.2f}x"),
          ("descriptors within +10% of minute 2", fds <= 1.10, f"{fds:.2f}x"),
          ("last minute's p99 at most 1.5x minute 2's", p99 <= 1.5, f"{p99:.2f}x"),
          ("WAL bounded (SQLite: under 64 MB; PostgreSQL: under its max_wal_size, 1 GB)", wal < (65536 if store == "sqlite" else 1048576), f"at most {wal} kB")]
for name, ok, figure in checks:
    print(f"{'pass' if ok else 'FAIL'}: {name} ({figure})")
sys.exit(0 if all(ok for _, ok, _ in checks) else 1)
PY
