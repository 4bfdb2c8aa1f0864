#!/usr/bin/env bash
# Requests per second on loopback for the hello-world route (/healthz), the manifest, and a no-op plugin
# route (the fixture's /plugins/fixture/hello, through the plugin ABI), measured in one run against one
# release-build server, with each figure's ratio to the hello-world baseline. Target: the plugin route at
# least 70% of hello-world. Traffic goes to 127.0.0.1 only, and each run is bounded by -d.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
duration=${DURATION:-5s}

build=release
source Benchmarks/fixture-server.sh

# Rounds interleave the routes, and each route's figure is its median round: this machine's speed drifts
# over a run, and measuring one route after another would charge the drift to whichever came last.
rounds=${ROUNDS:-3}
routes=(/healthz /rest/applinks/1.0/manifest /plugins/fixture/hello)
for route in "${routes[@]}"; do wrk -t2 -c64 -d2s "$base$route" >/dev/null; done   # warm-up
declare -A samples
for round in $(seq "$rounds"); do
  for route in "${routes[@]}"; do
    out=$(wrk -t2 -c64 -d"$duration" --latency "$base$route")
    r=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    errors=$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')
    samples[$route]="${samples[$route]:-} $r"
    echo "round $round $route: $r req/s, p99 $p99 ${errors}"
  done
done

python3 - "${samples[/healthz]}" "${samples[/rest/applinks/1.0/manifest]}" "${samples[/plugins/fixture/hello]}" <<'PY'
import statistics, sys
hello, manifest, plugin = ([float(x) for x in a.split()] for a in sys.argv[1:4])
# Each round's routes ran back to back, so a round's ratio compares like with like; the median round decides.
print(f"{'route':34} {'median req/s':>12} {'median ratio to hello-world, per round':>40}")
for name, v in [("hello-world (/healthz)", hello), ("manifest", manifest), ("no-op plugin route", plugin)]:
    ratios = [x / h for x, h in zip(v, hello)]
    print(f"{name:34} {statistics.median(v):12.0f} {statistics.median(ratios):10.2f}   ({', '.join(f'{r:.2f}' for r in ratios)})")
ratio = statistics.median(p / h for p, h in zip(plugin, hello))
print("plugin route target (>= 0.70 of hello-world):", "met" if ratio >= 0.70 else "MISSED")
PY
