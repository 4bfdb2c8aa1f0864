#!/usr/bin/env bash
# One no-op status check through the plugin ABI, in microseconds: in the host's process (the baseline) and
# out of process, in a runner under plugins.isolation, measured in one run (package-benchmark, release).
set -euo pipefail
cd "$(dirname "$0")/.."
export APPLINKS_BENCHMARKS=1
swift build -c release --product applinks-plugin-runner >/dev/null
export APPLINKS_PLUGINS_RUNNER="$PWD/.build/release/applinks-plugin-runner"
out=$(swift package benchmark --target PluginCallBenchmarks --format markdown --no-progress 2>&1)
echo "$out" | grep -vE "^(Building|Build|\[|warning:|Compiling|Write|Linking)" | sed -n '/^#/,$p' | head -60 || true
python3 - "$out" <<'PY'
import re, sys
text = sys.argv[1]
# The median wall-clock time of one call, from package-benchmark's own row. Its throughput row is rounded to whole
# thousands per second, which would move these figures in steps of several microseconds.
micros = {}
for name in ["baseline: no-op status call, in process", "no-op status call, out of process", "floor: hop to a plugin thread and back"]:
    section = text.split(name, 1)[1]
    row = re.search(r"\|\s*Time \(wall clock\) \((ns|μs|us|ms)\)\s*\*?\s*\|([^\n]*)", section)
    scale = {"ns": 1e-3, "μs": 1, "us": 1, "ms": 1e3}[row.group(1)]
    cells = [c.strip() for c in row.group(2).split("|") if c.strip()]
    micros[name] = float(cells[2]) * scale
inproc = micros["baseline: no-op status call, in process"]
outproc = micros["no-op status call, out of process"]
print(f"no-op status call, in process     {inproc:8.1f} µs (baseline, p50)")
print(f"no-op status call, out of process {outproc:8.1f} µs (p50) = {outproc / inproc:.1f}x the in-process call")
hop = micros["floor: hop to a plugin thread and back"]
print(f"hop to a plugin thread and back   {hop:8.1f} µs (p50), no plugin: the floor under every in-process call")
for name, value, target in [("in process", inproc, 5), ("out of process", outproc, 60)]:
    print(f"no-op status call {name} target (<= {target} µs):", "met" if value <= target else "MISSED")
PY
