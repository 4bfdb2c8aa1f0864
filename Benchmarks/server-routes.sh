#!/usr/bin/env bash
# Requests per second on loopback, as shipped (the access log on, at info), for /healthz, the manifest and a no-op
# plugin route (the fixture's /plugins/fixture/hello, through the plugin ABI), each as a ratio to a plain
# Hummingbird hello-world measured in the same run. Beside them, /healthz on a second server with the access log
# off (log level warning), to show what the log costs. Targets: /healthz >= 0.90, manifest >= 0.85, plugin route
# >= 0.80. Traffic goes to 127.0.0.1 only, and each run is bounded by -d.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
export APPLINKS_BENCHMARKS=1
duration=${DURATION:-5s}

build=release
source Benchmarks/fixture-server.sh
source Benchmarks/hello-world.sh
APPLINKS_HOME="$work/quiet" "$bin/applinks" init >/dev/null
APPLINKS_HOME="$work/quiet" APPLINKS_LOG_LEVEL=warning "$bin/applinks" serve --listen 127.0.0.1:0 > "$work/quiet.out" 2>/dev/null &
quiet_pid=$!
trap 'kill $server $hello_pid $quiet_pid 2>/dev/null; wait $server $hello_pid $quiet_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q listening "$work/quiet.out" 2>/dev/null && break; sleep 0.1; done
quiet="http://$(grep -oE '127\.0\.0\.1:[0-9]+' "$work/quiet.out" | head -1)"

# Rounds interleave the routes, and each route's figure is its median round: this machine's speed drifts
# over a run, and measuring one route after another would charge the drift to whichever came last.
rounds=${ROUNDS:-3}
names=(hello healthz healthz-quiet manifest plugin)
declare -A url=([hello]="$hello" [healthz]="$base/healthz" [healthz-quiet]="$quiet/healthz"
  [manifest]="$base/rest/applinks/1.0/manifest" [plugin]="$base/plugins/fixture/hello")
for name in "${names[@]}"; do wrk -t1 -c32 -d2s "${url[$name]}" >/dev/null; done   # warm-up
declare -A samples
for round in $(seq "$rounds"); do
  line="round $round:"
  for name in "${names[@]}"; do
    out=$(wrk -t1 -c32 -d"$duration" --latency "${url[$name]}")
    r=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    errors=$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')
    samples[$name]="${samples[$name]:-} $r"
    line+=" $name $r${errors:+ ($errors)}"
  done
  echo "$line"
done

python3 - "${samples[hello]}" "${samples[healthz]}" "${samples[healthz-quiet]}" "${samples[manifest]}" "${samples[plugin]}" <<'PY'
import statistics, sys
hello, healthz, quiet, manifest, plugin = ([float(x) for x in a.split()] for a in sys.argv[1:6])
# Each round's routes ran back to back, so a round's ratio compares like with like; the median round decides.
print(f"{'route':40} {'median req/s':>12} {'median ratio to plain Hummingbird, per round':>46}")
rows = [("plain Hummingbird hello-world", hello, None), ("/healthz, as shipped (access log on)", healthz, 0.90),
        ("/healthz, access log off", quiet, None), ("manifest", manifest, 0.85), ("no-op plugin route", plugin, 0.80)]
for name, v, target in rows:
    ratios = [x / h for x, h in zip(v, hello)]
    r = statistics.median(ratios)
    verdict = "" if target is None else f"  target >= {target:.2f}: {'met' if r >= target else 'MISSED'}"
    print(f"{name:40} {statistics.median(v):12.0f} {r:10.2f}   ({', '.join(f'{x:.2f}' for x in ratios)}){verdict}")
PY
