#!/usr/bin/env bash
# Requests per second on loopback for the hello-world route (/healthz), the manifest, and a no-op plugin
# route (the fixture's /plugins/fixture/hello, through the plugin ABI), measured in one run against one
# release-build server, with each figure's ratio to the hello-world baseline. Target: the plugin route at
# least 70% of hello-world. Traffic goes to 127.0.0.1 only, and each run is bounded by -d.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
duration=${DURATION:-10s}

swift build -c release --product applinks >/dev/null
swift build -c release --product AppLinksTestFixture >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
export APPLINKS_HOME="$work/home" APPLINKS_PLUGINS_PATHS="$bin/libAppLinksTestFixture.so" APPLINKS_LOG_LEVEL=warning
"$bin/applinks" init >/dev/null
"$bin/applinks" serve --listen 127.0.0.1:0 > "$work/serve.out" 2> "$work/serve.err" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
port=$(grep -oE '127\.0\.0\.1:[0-9]+' "$work/serve.out" | head -1 | cut -d: -f2)
base="http://127.0.0.1:$port"
curl -sf "$base/plugins/fixture/hello" >/dev/null

declare -A rps
for route in /healthz /rest/applinks/1.0/manifest /plugins/fixture/hello; do
  wrk -t2 -c64 -d2s "$base$route" >/dev/null   # warm-up
  out=$(wrk -t2 -c64 -d"$duration" --latency "$base$route")
  rps[$route]=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  errors=$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')
  echo "$route: ${rps[$route]} req/s, p99 $p99 ${errors}"
done

python3 - "${rps[/healthz]}" "${rps[/rest/applinks/1.0/manifest]}" "${rps[/plugins/fixture/hello]}" <<'PY'
import sys
hello, manifest, plugin = map(float, sys.argv[1:4])
print(f"{'route':34} {'req/s':>10} {'x hello-world':>14}")
for name, v in [("hello-world (/healthz)", hello), ("manifest", manifest), ("no-op plugin route", plugin)]:
    print(f"{name:34} {v:10.0f} {v / hello:14.2f}")
print("plugin route target (>= 0.70 of hello-world):", "met" if plugin / hello >= 0.70 else "MISSED")
PY
