#!/usr/bin/env bash
# OAuth 2.0 token issuance (client_credentials) and introspection per second on PostgreSQL next to the embedded
# SQLite store, in one run: two release-build servers, identical but for their store, measured with wrk in
# interleaved rounds, each beside its own hello-world route. PostgreSQL 15 runs as a throwaway cluster on
# loopback, started and removed here.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
[ -x /usr/lib/postgresql/15/bin/initdb ] || { apt-get update -qq && apt-get install -y -qq postgresql-15 >/dev/null; }
duration=${DURATION:-5s}
rounds=${ROUNDS:-3}
connections=${CONNECTIONS:-64}

swift build -c release --product applinks >/dev/null
swift build -c release --product AppLinksLinkTypeOAuth2Incoming >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
chmod 755 "$work"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pg=/usr/lib/postgresql/15/bin
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
mkdir -p "$work/pg" && { [ "$(id -u)" = 0 ] && chown postgres "$work/pg" || true; }
pgport=$(free_port)
as_pg "$pg/initdb" -D "$work/pg/data" -U applinks -A trust -E UTF8 --locale=C --no-sync >/dev/null
as_pg "$pg/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w -o "-p $pgport -k $work/pg -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  as_pg "$pg/pg_ctl" -D "$work/pg/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
psql "postgres://applinks@127.0.0.1:$pgport/postgres" -qc "CREATE DATABASE bench" >/dev/null

declare -A base auth token
for store in sqlite postgres; do
  port=$(free_port)
  base[$store]="http://127.0.0.1:$port"
  export APPLINKS_HOME="$work/$store" APPLINKS_LOG_LEVEL=warning APPLINKS_BASE_URL="${base[$store]}"
  if [ "$store" = postgres ]; then export APPLINKS_DATABASE_URL="postgres://applinks@127.0.0.1:$pgport/bench"; else unset APPLINKS_DATABASE_URL; fi
  "$bin/applinks" init >/dev/null
  created=$("$bin/applinks" create oauth2-incoming --set name=Bench --set redirect_url=https://bench.example/cb \
    --set scopes=REPO_READ --set allow_client_credentials=true --json)
  id=$(echo "$created" | python3 -c 'import json,sys; print(json.load(sys.stdin)["credentials"]["client_id"])')
  secret=$(echo "$created" | python3 -c 'import json,sys; print(json.load(sys.stdin)["credentials"]["client_secret"])')
  "$bin/applinks" serve --listen "127.0.0.1:$port" > "$work/$store.out" 2> "$work/$store.err" &
  pids+=($!)
  for _ in $(seq 100); do grep -q listening "$work/$store.out" 2>/dev/null && break; sleep 0.1; done
  auth[$store]="Basic $(printf '%s:%s' "$id" "$secret" | base64 -w0)"
  token[$store]=$(curl -sf -H "Authorization: ${auth[$store]}" -d grant_type=client_credentials "${base[$store]}/rest/oauth2/latest/token" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
done
unset APPLINKS_DATABASE_URL

run() {  # prints req/s; a run with failed answers stops the benchmark
  local out
  out=$(wrk -t2 -c"$connections" -d"$duration" "$@" 2>/dev/null)
  if echo "$out" | grep -q "Non-2xx"; then echo "$(echo "$out" | grep "Non-2xx") for $*" >&2; exit 1; fi
  echo "$out" | awk '/Requests\/sec/ {print $2}'
}
declare -A samples
for round in $(seq 0 "$rounds"); do   # round 0 warms up and is not counted
  line="round $round:"
  for store in sqlite postgres; do
    export AUTH="${auth[$store]}" THREADS=2
    h=$(run "${base[$store]}/healthz")
    c=$(BODY="grant_type=client_credentials" run -s Benchmarks/oauth2/form-post.lua "${base[$store]}/rest/oauth2/latest/token")
    i=$(BODY="token=${token[$store]}" run -s Benchmarks/oauth2/form-post.lua "${base[$store]}/rest/oauth2/latest/introspect")
    line+=" $store hello $h, issuance $c, introspection $i;"
    [ "$round" = 0 ] && continue
    samples[$store-hello]+=" $h"; samples[$store-cc]+=" $c"; samples[$store-in]+=" $i"
  done
  echo "$line"
done
python3 - "${samples[sqlite-hello]}" "${samples[sqlite-cc]}" "${samples[sqlite-in]}" \
  "${samples[postgres-hello]}" "${samples[postgres-cc]}" "${samples[postgres-in]}" <<'PY'
import statistics, sys
sh, sc, si, ph, pc, pi = ([float(x) for x in a.split()] for a in sys.argv[1:7])
m = statistics.median
print(f"{'':28} {'SQLite req/s':>13} {'PostgreSQL req/s':>17} {'PostgreSQL / SQLite':>20}")
for name, s, p in [("hello-world (/healthz)", sh, ph), ("token issuance (client_credentials)", sc, pc), ("introspection (valid token)", si, pi)]:
    print(f"{name:28} {m(s):13.0f} {m(p):17.0f} {m([b / a for a, b in zip(s, p)]):20.2f}")
PY
