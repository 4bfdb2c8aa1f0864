#!/usr/bin/env bash
# Requests per second of the OAuth 2.0 provider (link type oauth2-incoming) on loopback, against one
# release-build server on the embedded SQLite store, as shipped (access log on): client_credentials issuance (one
# durable token write each), refresh-token rotation and introspection of a valid token, each as a ratio to a plain
# Hummingbird hello-world measured in the same run. Targets on a 2-core machine: introspection >= 0.65,
# client_credentials >= 0.35, refresh >= 0.15.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c 'import requests' 2>/dev/null || python3 -m pip install --quiet --root-user-action=ignore requests
. Benchmarks/oauth2/provider.sh
trap 'stop_servers; rm -rf "$work"' EXIT
source Benchmarks/hello-world.sh
servers+=("$hello_pid")
start_provider home
export AUTH="$auth"
# A user who authorizes the client, for the refresh tokens.
echo "bench password" | "$bin/applinks" users add alice --admin --password-stdin >/dev/null
[ "$(curl -sf -H "Authorization: $AUTH" -d "token=$token" "$base/rest/oauth2/latest/introspect" | python3 -c 'import json,sys; print(json.load(sys.stdin)["active"])')" = True ]
# Two grants per connection and round, each rotating its own refresh token, so no token is ever used twice.
python3 Benchmarks/oauth2/seed.py "$base" "$client_id" "$client_secret" https://bench.example/cb alice "bench password" \
  $(( 2 * connections * (rounds + 1) )) > "$work/tokens"

declare -A samples
names=(hello client_credentials refresh introspect)
for round in $(seq 0 "$rounds"); do   # round 0 warms up and is not counted
  # Each refresh round gets fresh tokens: a round's last answers may be cut off with their rotated token.
  sed -n "$(( 2 * round * connections + 1 )),$(( 2 * (round + 1) * connections ))p" "$work/tokens" > "$work/round-tokens"
  h=$(rate hello "$hello")
  c=$(BODY="grant_type=client_credentials" rate cc -s Benchmarks/oauth2/form-post.lua "$base/rest/oauth2/latest/token")
  r=$(TOKENS="$work/round-tokens" rate refresh -s Benchmarks/oauth2/refresh.lua "$base/rest/oauth2/latest/token")
  i=$(BODY="token=$token" rate introspect -s Benchmarks/oauth2/form-post.lua "$base/rest/oauth2/latest/introspect")
  [ "$round" = 0 ] && continue
  samples[hello]+=" $h"; samples[client_credentials]+=" $c"; samples[refresh]+=" $r"; samples[introspect]+=" $i"
  echo "round $round: hello $h, client_credentials $c, refresh $r, introspect $i req/s"
done

python3 - "${samples[hello]}" "${samples[client_credentials]}" "${samples[refresh]}" "${samples[introspect]}" <<'PY'
import statistics, sys
hello, cc, refresh, introspect = ([float(x) for x in a.split()] for a in sys.argv[1:5])
print(f"{'endpoint':34} {'median req/s':>12} {'median ratio to plain Hummingbird, per round':>46}")
results = {}
for name, v in [("plain Hummingbird hello-world", hello), ("client_credentials issuance", cc), ("refresh (rotation)", refresh),
                ("introspection (valid token)", introspect)]:
    ratios = [x / h for x, h in zip(v, hello)]
    results[name] = statistics.median(ratios)
    print(f"{name:34} {statistics.median(v):12.0f} {results[name]:10.2f}   ({', '.join(f'{r:.2f}' for r in ratios)})")
for name, target in [("introspection (valid token)", 0.65), ("client_credentials issuance", 0.35), ("refresh (rotation)", 0.15)]:
    print(f"{name} target (>= {target:.2f}):", "met" if results[name] >= target else "MISSED")
PY
