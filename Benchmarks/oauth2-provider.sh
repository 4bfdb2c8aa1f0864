#!/usr/bin/env bash
# Requests per second of the OAuth 2.0 provider (link type oauth2-incoming) on loopback, against one
# release-build server on the embedded SQLite store: client_credentials issuance, refresh-token rotation and
# introspection of a valid token, next to the hello-world route (/healthz) in the same run, with ratios.
# Targets on a 2-core machine: introspection >= 0.50 of hello-world, client_credentials >= 0.20.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
python3 -c 'import requests' 2>/dev/null || python3 -m pip install --quiet --root-user-action=ignore requests
duration=${DURATION:-5s}
rounds=${ROUNDS:-3}
connections=${CONNECTIONS:-64}

swift build -c release --product applinks >/dev/null
swift build -c release --product AppLinksLinkTypeOAuth2Incoming >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
export APPLINKS_HOME="$work/home" APPLINKS_LOG_LEVEL=warning APPLINKS_BASE_URL="$base"
"$bin/applinks" init >/dev/null
echo "bench password" | "$bin/applinks" users add alice --admin --password-stdin >/dev/null
created=$("$bin/applinks" create oauth2-incoming --set name=Bench --set redirect_url=https://bench.example/cb \
  --set scopes=REPO_READ --set allow_client_credentials=true --json)
id=$(echo "$created" | python3 -c 'import json,sys; print(json.load(sys.stdin)["credentials"]["client_id"])')
secret=$(echo "$created" | python3 -c 'import json,sys; print(json.load(sys.stdin)["credentials"]["client_secret"])')
"$bin/applinks" serve --listen "127.0.0.1:$port" > "$work/serve.out" 2> "$work/serve.err" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done

export AUTH="Basic $(printf '%s:%s' "$id" "$secret" | base64 -w0)" THREADS=2
token=$(curl -sf -H "Authorization: $AUTH" -d grant_type=client_credentials "$base/rest/oauth2/latest/token" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
[ "$(curl -sf -H "Authorization: $AUTH" -d "token=$token" "$base/rest/oauth2/latest/introspect" | python3 -c 'import json,sys; print(json.load(sys.stdin)["active"])')" = True ]
# Two grants per connection and round, each rotating its own refresh token, so no token is ever used twice.
python3 Benchmarks/oauth2/seed.py "$base" "$id" "$secret" https://bench.example/cb alice "bench password" \
  $(( 2 * connections * (rounds + 1) )) > "$work/tokens"

run() {  # name, then wrk arguments; prints req/s
  local name=$1 out
  shift
  out=$(wrk -t2 -c"$connections" -d"$duration" "$@" 2> "$work/wrk.err")
  if [ -s "$work/wrk.err" ]; then echo "$name: $(head -3 "$work/wrk.err")" >&2; fi
  # A run with failed answers measured something else: stop rather than print its rate.
  if echo "$out" | grep -q "Non-2xx"; then echo "$name: $(echo "$out" | grep "Non-2xx")" >&2; exit 1; fi
  echo "$out" | awk '/Requests\/sec/ {print $2}'
}
declare -A samples
names=(hello client_credentials refresh introspect)
for round in $(seq 0 "$rounds"); do   # round 0 warms up and is not counted
  # Each refresh round gets fresh tokens: a round's last answers may be cut off with their rotated token.
  sed -n "$(( 2 * round * connections + 1 )),$(( 2 * (round + 1) * connections ))p" "$work/tokens" > "$work/round-tokens"
  h=$(run hello "$base/healthz")
  c=$(BODY="grant_type=client_credentials" run cc -s Benchmarks/oauth2/form-post.lua "$base/rest/oauth2/latest/token")
  r=$(TOKENS="$work/round-tokens" run refresh -s Benchmarks/oauth2/refresh.lua "$base/rest/oauth2/latest/token")
  i=$(BODY="token=$token" run introspect -s Benchmarks/oauth2/form-post.lua "$base/rest/oauth2/latest/introspect")
  [ "$round" = 0 ] && continue
  samples[hello]+=" $h"; samples[client_credentials]+=" $c"; samples[refresh]+=" $r"; samples[introspect]+=" $i"
  echo "round $round: hello $h, client_credentials $c, refresh $r, introspect $i req/s"
done

python3 - "${samples[hello]}" "${samples[client_credentials]}" "${samples[refresh]}" "${samples[introspect]}" <<'PY'
import statistics, sys
hello, cc, refresh, introspect = ([float(x) for x in a.split()] for a in sys.argv[1:5])
print(f"{'endpoint':34} {'median req/s':>12} {'median ratio to hello-world, per round':>40}")
results = {}
for name, v in [("hello-world (/healthz)", hello), ("client_credentials issuance", cc), ("refresh (rotation)", refresh),
                ("introspection (valid token)", introspect)]:
    ratios = [x / h for x, h in zip(v, hello)]
    results[name] = statistics.median(ratios)
    print(f"{name:34} {statistics.median(v):12.0f} {results[name]:10.2f}   ({', '.join(f'{r:.2f}' for r in ratios)})")
print("introspection target (>= 0.50):", "met" if results["introspection (valid token)"] >= 0.50 else "MISSED")
print("client_credentials target (>= 0.20):", "met" if results["client_credentials issuance"] >= 0.20 else "MISSED")
PY
