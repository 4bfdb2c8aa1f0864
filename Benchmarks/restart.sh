#!/usr/bin/env bash
# How soon `applinks serve` answers again after a SIGKILL in the middle of writes, as shipped (release, access log
# on), on a home that holds LINKS links (1,000): the reliability target is 2 s. Each cycle kills the server while
# a writer creates links through the REST wizard, starts it again, and times /healthz and the admin API's first
# answer (one link by name, read from the database). Baseline, measured in the same run: the first start of the same server on a new, empty home.
#
#   bash Benchmarks/restart.sh            # LINKS=1000 CYCLES=10
set -euo pipefail
cd "$(dirname "$0")/.."
links=${LINKS:-1000}
cycles=${CYCLES:-10}
swift build -c release --product applinks >/dev/null 2>&1
swift build -c release --product AppLinksTestFixture >/dev/null 2>&1
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
server=
writer=
trap 'kill -9 $server $writer 2>/dev/null; rm -rf "$work"' EXIT
export APPLINKS_PLUGINS_PATHS="$bin/libAppLinksTestFixture.so" APPLINKS_PLUGINS_SEARCH_EXECUTABLE_DIRECTORY=false
export APPLINKS_LOG_LEVEL=info
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Starts the server on $APPLINKS_HOME; sets $server and $took, the milliseconds until /healthz answered.
start() {
    local t0
    t0=$(now_ms)
    "$bin/applinks" serve --listen "127.0.0.1:$port" >>"$work/serve.out" 2>>"$work/serve.err" &
    server=$!
    until curl -sf "$base/healthz" >/dev/null 2>&1; do sleep 0.005; done
    took=$(($(now_ms) - t0))
}

create() {
    curl -sf -o /dev/null -X POST "$base/rest/applinks/3.0/wizard/fixture" -H "Authorization: Bearer $admin" \
        -H 'Content-Type: application/json' \
        -d "{\"answers\": {\"name\": \"$1\", \"url\": \"https://$1.example.com\", \"token\": \"abcd\"}}"
}

export APPLINKS_HOME="$work/fresh"
"$bin/applinks" init >/dev/null
start
fresh=$took
kill -9 "$server"
wait "$server" 2>/dev/null || true

export APPLINKS_HOME="$work/home"
"$bin/applinks" init >/dev/null
echo 'correct horse battery' | "$bin/applinks" users add root --admin --password-stdin >/dev/null
admin=$("$bin/applinks" tokens create --user root --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
start
export -f create
export base admin
seq "$links" | xargs -P 8 -I{} bash -c 'create seed-{}'

healthz=()
api=()
for cycle in $(seq "$cycles"); do
    (n=0; while true; do n=$((n + 1)); create "cycle-$cycle-$n" || true; done) &
    writer=$!
    sleep "0.$((RANDOM % 7 + 3))"
    kill -9 "$server"
    wait "$server" 2>/dev/null || true
    kill "$writer" 2>/dev/null || true
    wait "$writer" 2>/dev/null || true
    t0=$(now_ms)
    start
    healthz+=("$took")
    until curl -sf -o /dev/null "$base/rest/applinks/3.0/links/seed-1" -H "Authorization: Bearer $admin"; do sleep 0.005; done
    api+=("$(($(now_ms) - t0))")
done
count=$(curl -sf "$base/rest/applinks/3.0/links" -H "Authorization: Bearer $admin" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
integrity=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA integrity_check").fetchone()[0])' "$work/home/applinks.db")

python3 - "$fresh" "${healthz[*]}" "${api[*]}" "$count" "$integrity" <<'EOF'
import statistics, sys
fresh = int(sys.argv[1]); healthz = [int(x) for x in sys.argv[2].split()]; api = [int(x) for x in sys.argv[3].split()]
print(f"links at the end: {sys.argv[4]}, integrity_check: {sys.argv[5]}")
print(f"baseline: first start on an empty home, /healthz after {fresh} ms")
print("| after SIGKILL mid-write | median ms | max ms | max / 2,000 ms target | median / baseline |")
print("|---|---|---|---|---|")
for name, xs in (("/healthz answers", healthz), ("admin API answers", api)):
    med = statistics.median(xs)
    print(f"| {name} | {med:.0f} | {max(xs)} | {max(xs) / 2000:.2f} | {med / fresh:.2f} |")
EOF
