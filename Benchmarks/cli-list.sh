#!/usr/bin/env bash
# Benchmarks `applinks list --json` with 100 and with 10,000 links in the store and every plugin loaded,
# and the cost of loading each plugin. Wall times come from hyperfine; the baseline, measured in the same
# run, is `applinks --version` (process start with no deployment opened), so each figure is also shown as
# a ratio to it. Targets: at most 60 ms and 2.5x the baseline for 100 links, at most 200 ms for 10,000.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }

swift build -c release --product applinks >/dev/null
swift build -c release --product AppLinksTestFixture >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Every plugin: the link types next to the executable, plus the test fixture so at least one is loaded.
export APPLINKS_PLUGINS_PATHS="$bin/libAppLinksTestFixture.so"

for n in 100 10000; do
  home="$work/home-$n"
  "$bin/applinks" init --home "$home" >/dev/null
  python3 - "$home/applinks.db" "$n" <<'PY'
import json, sqlite3, sys, time, uuid
db, n = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
now = time.time()
rows = []
for i in range(n):
    rows.append((str(uuid.uuid4()), "fixture", f"Link {i:05d}", ["jira", "confluence", "jenkins", "generic"][i % 4],
                 "Generic application", "9.4.0", f"https://remote{i}.example.com", f"https://remote{i}.example.com",
                 json.dumps(["fixture-token"]), json.dumps(["fixture-token"] if i % 3 else []), 1 if i < 4 else 0,
                 json.dumps({"behaviour": "connected"}), ["CONNECTED", "NETWORK_ERROR", "UNKNOWN"][i % 3], now, now))
c.executemany("""INSERT INTO links (id, type, name, app_type, app_name, app_version, display_url, rpc_url, incoming_auth,
    outgoing_auth, is_primary, config, status_category, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""", rows)
c.commit()
PY
done

hyperfine -N --warmup 3 --runs 30 --export-json "$work/list.json" \
  -n baseline "$bin/applinks --version" \
  -n "list --json, 100 links" "$bin/applinks list --json --home $work/home-100" \
  -n "list --json, 10000 links" "$bin/applinks list --json --home $work/home-10000" >/dev/null

# Plugin load cost: the loader times each file (open, handshake, descriptor); take the median of 30 runs.
for i in $(seq 30); do "$bin/applinks" plugins list --json --home "$work/home-100"; done > "$work/plugins.jsonl"

python3 - "$work/list.json" "$work/plugins.jsonl" <<'PY'
import json, re, statistics, sys
results = json.load(open(sys.argv[1]))["results"]
base = statistics.median(results[0]["times"]) * 1000
targets = {"list --json, 100 links": (60, 2.5), "list --json, 10000 links": (200, None)}
print(f"{'command':32} {'median ms':>10} {'x baseline':>11} {'target':>16}")
for r in results:
    med = statistics.median(r["times"]) * 1000
    ms, ratio = targets.get(r["command"], (None, None))
    target = "-" if ms is None else f"<= {ms} ms" + (f", {ratio}x" if ratio else "")
    met = ms is None or (med <= ms and (ratio is None or med / base <= ratio))
    print(f"{r['command']:32} {med:10.1f} {med / base:11.2f} {target:>16}{'' if ms is None else ('  met' if met else '  MISSED')}")
text = open(sys.argv[2]).read()
loads = {}
for doc in re.split(r"(?<=\])\s*(?=\[)", text.strip()):
    for p in json.loads(doc):
        loads.setdefault(p["id"] or p["path"], []).append(p["load_ms"])
for pid, ms in sorted(loads.items()):
    print(f"plugin load {pid:20} median {statistics.median(ms):6.2f} ms over {len(ms)} starts ({statistics.median(ms) / base:.3f} x baseline)")
PY
