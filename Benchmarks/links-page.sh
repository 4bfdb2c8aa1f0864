#!/usr/bin/env bash
# The "Application links" page as an administrator sees it: its size with 100 links (HTML, stylesheet and
# script), then, with 1,000 links, its requests per second and median server time, each against the
# hello-world route (/healthz) measured in the same run on the same release-build server, access log on.
# Targets: at least 10% of hello-world's rate, and at most 150 KB for 100 links.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
duration=${DURATION:-5s}

source Benchmarks/fixture-server.sh

printf 'correct horse battery\n' | "$bin/applinks" users add bench --admin --password-stdin >/dev/null
token=$("$bin/applinks" tokens create --user bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

# Links are made through the REST API's wizard, eight at a time: one CLI process per link would take minutes.
create() {
  seq "$1" "$2" | xargs -P 8 -I{} curl -sf -o /dev/null -X POST "$base/rest/applinks/3.0/wizard/fixture" \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"answers": {"name": "Application {}", "url": "https://app{}.example.com", "token": "abcd"}}'
}

# A browser's session: the login form's CSRF cookie and token, then the session cookie.
jar="$work/cookies"
form=$(curl -sf -c "$jar" "$base/login")
csrf=$(echo "$form" | grep -oE 'name="csrf_token" value="[^"]+"' | head -1 | sed 's/.*value="//; s/"$//')
curl -sf -b "$jar" -c "$jar" -o /dev/null -d "csrf_token=$csrf&username=bench&password=correct+horse+battery&next=%2F" "$base/login"
cookie=$(awk '$6 ~ /^applinks_session/ {print $6 "=" $7}' "$jar")
[ -n "$cookie" ] || { echo "login failed" >&2; exit 1; }

create 1 100
sleep 2
page=$(curl -sf -H "Cookie: $cookie" "$base/admin/applinks")
html=$(printf '%s' "$page" | wc -c)
assets=0
for asset in $(echo "$page" | grep -oE '/static/[A-Za-z0-9.]+'); do
  assets=$((assets + $(curl -sf "$base$asset" | wc -c)))
done
rows=$(echo "$page" | grep -c '<tr data-link-id=' || true)
echo "100 links: ${rows} rows, HTML ${html} bytes + stylesheet and script ${assets} bytes = $(((html + assets) / 1024)) KB"

create 101 1000
# The new links are checked once each right after creation; measure after that.
sleep 10
rows=$(curl -sf -H "Cookie: $cookie" "$base/admin/applinks" | grep -c '<tr data-link-id=' || true)
echo "1,000 links: ${rows} rows"

wrk -t2 -c16 -d2s "$base/healthz" >/dev/null
wrk -t2 -c16 -d2s -H "Cookie: $cookie" "$base/admin/applinks" >/dev/null
measure() { wrk -t2 -c16 -d"$duration" --latency "$@"; }
hello=$(measure "$base/healthz")
links=$(measure -H "Cookie: $cookie" "$base/admin/applinks")
# One request at a time: the median is the server's time for one page, not time spent queueing behind others.
hello1=$(wrk -t1 -c1 -d"$duration" --latency "$base/healthz")
links1=$(wrk -t1 -c1 -d"$duration" --latency -H "Cookie: $cookie" "$base/admin/applinks")

python3 - "$hello" "$links" "$hello1" "$links1" "$html" "$assets" <<'PY'
import re, sys
def rate(out): return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
def median_ms(out):
    v, unit = re.search(r"50%\s+([\d.]+)(us|ms|s)", out).groups()
    return float(v) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
def errors(out): return " ".join(l.strip() for l in out.splitlines() if "Non-2xx" in l or "Socket errors" in l) or "none"
hello, links, hello1, links1 = sys.argv[1:5]
html, assets = int(sys.argv[5]), int(sys.argv[6])
ratio = rate(links) / rate(hello)
print(f"{'':36} {'req/s (16 conns)':>16} {'median ms (1 conn)':>19}")
print(f"{'hello-world (/healthz)':36} {rate(hello):16.0f} {median_ms(hello1):19.3f}   errors: {errors(hello)}")
print(f"{'links page, 1,000 links':36} {rate(links):16.0f} {median_ms(links1):19.3f}   errors: {errors(links)}")
print(f"links page / hello-world rate: {ratio:.3f} (target >= 0.10: {'met' if ratio >= 0.10 else 'MISSED'})")
size = (html + assets) / 1024
print(f"100 links: {size:.1f} KB of HTML, CSS and script (target <= 150 KB: {'met' if size <= 150 else 'MISSED'})")
PY
