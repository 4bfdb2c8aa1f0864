#!/usr/bin/env bash
# Overload: measures the node's capacity on a plugin route with 64 connections, then offers far more (2,000
# connections for 30 s) and reports what the server did: the share of requests shed with 503 (past
# server.max_requests_in_flight), the throughput it kept, /healthz's slowest answer during the overload, and the
# server's RSS before, at the end of, and after the overload. /healthz is asked both on the main listener and on
# the probe listener (server.probe_listen), which has a thread of its own. Traffic goes to 127.0.0.1 only.
# BUILD=debug measures a debug build instead of the release build that ships.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
ulimit -n 65536 2>/dev/null || true
build=${BUILD:-release}
connections=${CONNECTIONS:-2000}
duration=${DURATION:-30s}
probe_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export APPLINKS_SERVER_PROBE_LISTEN=127.0.0.1:$probe_port
source Benchmarks/fixture-server.sh
route=/plugins/fixture/hello
rss() { awk '/VmRSS/ {print $2 " kB"}' "/proc/$server/status"; }

wrk -t2 -c64 -d2s "$base$route" >/dev/null   # warm-up
capacity=$(wrk -t2 -c64 -d5s "$base$route" | awk '/Requests\/sec/ {print $2}')
echo "build $build; capacity with 64 connections: $capacity req/s; RSS $(rss)"

wrk -t2 -c"$connections" -d"$duration" --timeout 10s "$base$route" > "$work/overload.txt" &
load=$!
sleep 3
slowest=0 slowest_probe=0
for _ in $(seq 20); do
  t=$(curl -s -o /dev/null -w '%{time_total}' --max-time 10 "$base/healthz" || echo 10)
  slowest=$(awk -v a="$slowest" -v b="$t" 'BEGIN {print (b > a) ? b : a}')
  t=$(curl -s -o /dev/null -w '%{time_total}' --max-time 10 "http://127.0.0.1:$probe_port/healthz" || echo 10)
  slowest_probe=$(awk -v a="$slowest_probe" -v b="$t" 'BEGIN {print (b > a) ? b : a}')
  sleep 1
done
peak=$(rss)
wait $load
total=$(awk '/requests in/ {print $1}' "$work/overload.txt")
shed=$(awk '/Non-2xx or 3xx responses/ {print $5}' "$work/overload.txt")
shed=${shed:-0}
rate=$(awk '/Requests\/sec/ {print $2}' "$work/overload.txt")
sleep 2
echo "overload: $connections connections for $duration: $total requests, $rate req/s ($(awk -v r="$rate" -v c="$capacity" 'BEGIN {printf "%.2f", r / c}')× capacity)"
echo "  shed with 503: $shed ($(awk -v s="$shed" -v t="$total" 'BEGIN {printf "%.1f", t ? 100 * s / t : 0}')%)"
grep -E "Socket errors" "$work/overload.txt" || echo "  no socket errors"
echo "  /healthz during the overload, slowest of 20 answers: main listener ${slowest}s; probe listener ${slowest_probe}s"
echo "  RSS: at the end of the overload $peak; 2 s after it $(rss)"
