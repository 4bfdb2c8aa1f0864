#!/usr/bin/env bash
# OAuth 2.0 token issuance (client_credentials) and introspection per second on PostgreSQL next to the embedded
# SQLite store, in one run: two release-build servers, identical but for their store, measured with wrk in
# interleaved rounds, each beside its own hello-world route. PostgreSQL 15 runs as a throwaway cluster on
# loopback, started and removed here.
set -euo pipefail
cd "$(dirname "$0")/.."
. Benchmarks/oauth2/provider.sh
. Benchmarks/postgres-cluster.sh
trap cleanup EXIT
start_postgres bench

declare -A base auth token
for store in sqlite postgres; do
  if [ "$store" = postgres ]; then export APPLINKS_DATABASE_URL="$pg_url"; else unset APPLINKS_DATABASE_URL; fi
  start_provider "$store"
  base[$store]=$base auth[$store]=$auth token[$store]=$token
done
unset APPLINKS_DATABASE_URL

declare -A samples
for round in $(seq 0 "$rounds"); do   # round 0 warms up and is not counted
  line="round $round:"
  for store in sqlite postgres; do
    export AUTH="${auth[$store]}"
    h=$(rate "$store hello" "${base[$store]}/healthz")
    c=$(BODY="grant_type=client_credentials" rate "$store issuance" -s Benchmarks/oauth2/form-post.lua "${base[$store]}/rest/oauth2/latest/token")
    i=$(BODY="token=${token[$store]}" rate "$store introspection" -s Benchmarks/oauth2/form-post.lua "${base[$store]}/rest/oauth2/latest/introspect")
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
