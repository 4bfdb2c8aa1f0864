#!/usr/bin/env bash
# OAuth 1.0 verification throughput on one core (package-benchmark), with the raw OpenSSL RSA-2048 verify
# measured in the same run as the baseline. Targets: RSA-SHA1 request verification at least 70% of the raw
# rate, and HMAC-SHA1 request verification at least 200,000 per second per core.
set -euo pipefail
cd "$(dirname "$0")/.."
export APPLINKS_BENCHMARKS=1
out=$(swift package benchmark --target OAuth1Benchmarks --format markdown --no-progress 2>&1)
echo "$out" | grep -vE "^(Building|Build|\[|warning:|Compiling|Write|Linking)" | sed -n '/^#/,$p' | head -60 || true
python3 - "$out" <<'PY'
import re, sys
text = sys.argv[1]
rates = {}
for name in ["baseline: OpenSSL RSA-2048 SHA-1 verify", "OAuth 1.0 RSA-SHA1 request verification", "OAuth 1.0 HMAC-SHA1 request verification"]:
    section = text.split(name, 1)[1]
    # The markdown table's Throughput row: p0 p25 p50 ...; take the median (p50), in # / s, with K or M units.
    row = re.search(r"\|\s*Throughput \(# / s\)\s*\(([#KM])\)\s*\|([^\n]*)", section)
    scale = {"K": 1e3, "M": 1e6}.get(row.group(1), 1)
    cells = [c.strip() for c in row.group(2).split("|") if c.strip()]
    rates[name] = float(cells[2]) * scale
raw = rates["baseline: OpenSSL RSA-2048 SHA-1 verify"]
rsa = rates["OAuth 1.0 RSA-SHA1 request verification"]
hmac = rates["OAuth 1.0 HMAC-SHA1 request verification"]
print(f"raw OpenSSL RSA-2048 verify     {raw:12,.0f} /s per core (baseline)")
print(f"RSA-SHA1 request verification  {rsa:12,.0f} /s per core  = {rsa / raw:.2f} of raw (target >= 0.70: {'met' if rsa / raw >= 0.70 else 'MISSED'})")
print(f"HMAC-SHA1 request verification {hmac:12,.0f} /s per core  (target >= 200,000: {'met' if hmac >= 200_000 else 'MISSED'})")
PY
