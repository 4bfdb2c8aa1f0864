# Shared by the OAuth 2.0 benchmark scripts, which source it from the package root: wrk and the release build,
# the run parameters, and release-build servers with one client_credentials client each.
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
export APPLINKS_BENCHMARKS=1
duration=${DURATION:-5s}
rounds=${ROUNDS:-3}
connections=${CONNECTIONS:-64}
swift build -c release --product applinks >/dev/null
swift build -c release --product AppLinksLinkTypeOAuth2Incoming >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
chmod 755 "$work"
servers=()
export THREADS=2

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

stop_servers() {
  for p in "${servers[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
}

# start_provider NAME: initialises a home in $work/NAME (on $APPLINKS_DATABASE_URL if set), registers a client
# allowed client_credentials, serves it on a free port and sets: base, client_id, client_secret, auth (the
# Basic header) and token (a valid access token). APPLINKS_HOME stays set to that home. The servers log as shipped,
# at info with the access log on, unless BENCH_LOG_LEVEL says otherwise.
start_provider() {
  local name=$1 port created
  port=$(free_port)
  base="http://127.0.0.1:$port"
  export APPLINKS_HOME="$work/$name" APPLINKS_LOG_LEVEL=${BENCH_LOG_LEVEL:-info} APPLINKS_BASE_URL="$base"
  "$bin/applinks" init >/dev/null
  created=$("$bin/applinks" create oauth2-incoming --set name=Bench --set redirect_url=https://bench.example/cb \
    --set scopes=REPO_READ --set allow_client_credentials=true --json)
  client_id=$(echo "$created" | python3 -c 'import json,sys; print(json.load(sys.stdin)["credentials"]["client_id"])')
  client_secret=$(echo "$created" | python3 -c 'import json,sys; print(json.load(sys.stdin)["credentials"]["client_secret"])')
  "$bin/applinks" serve --listen "127.0.0.1:$port" > "$work/$name.out" 2> "$work/$name.err" &
  servers+=($!)
  for _ in $(seq 100); do grep -q listening "$work/$name.out" 2>/dev/null && break; sleep 0.1; done
  auth="Basic $(printf '%s:%s' "$client_id" "$client_secret" | base64 -w0)"
  token=$(curl -sf -H "Authorization: $auth" -d grant_type=client_credentials "$base/rest/oauth2/latest/token" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
}

# rate NAME WRK-ARGS...: requests per second of one wrk run. A run with failed answers measured something else:
# it stops the benchmark rather than print its rate.
rate() {
  local name=$1 out
  shift
  out=$(wrk -t2 -c"$connections" -d"$duration" "$@" 2> "$work/wrk.err")
  if [ -s "$work/wrk.err" ]; then echo "$name: $(head -3 "$work/wrk.err")" >&2; fi
  if echo "$out" | grep -q "Non-2xx"; then echo "$name: $(echo "$out" | grep "Non-2xx")" >&2; exit 1; fi
  echo "$out" | awk '/Requests\/sec/ {print $2}'
}
