#!/usr/bin/env bash
# Runs the whole test suite from a clean checkout: installs what the tests need, builds everything
# (the applinks executable and the plugin libraries the tests load), then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages: OpenSSL, SQLite, libffi and libxml2 headers, pkg-config, a C compiler (tests compile C plugins), and
# PostgreSQL 15, whose tests start a throwaway cluster of their own; Chromium and its driver, in which the web
# administration is tested.
missing=()
for pkg in libssl-dev libsqlite3-dev libffi-dev libxml2-dev pkg-config iproute2 gcc make python3 postgresql-15 postgresql-client-15 chromium chromium-driver systemd curl openssl; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Python tools that act as third-party judges in the tests.
python3 -c 'import jsonschema, oauthlib, jwt, requests_oauthlib, authlib, flask, jenkins, selenium, axe_selenium_python, opentelemetry.proto' 2>/dev/null \
  || python3 -m pip install --quiet --root-user-action=ignore 'jsonschema>=4.20' 'oauthlib>=3.2' 'pyjwt>=2.8' 'requests-oauthlib>=2.0' \
    'authlib>=1.3' 'flask>=3.0' 'python-jenkins>=1.8' 'selenium>=4.20' 'axe-selenium-python>=2.1' \
    'opentelemetry-proto>=1.20'

# The Python helpers run from the test folder; their bytecode would land in a target's sources.
export PYTHONDONTWRITEBYTECODE=1

swift build --build-tests
# The man pages, from the commands' own help: Scripts/install.sh installs them, and its test checks them.
swift package generate-manual --multi-page --configuration debug >/dev/null
# The fuzz targets, built in release with the fuzzer and ASan: the last part of the build.
bash Fuzz/run.sh build
built=$(date +%s)

# The tests, and beside them a smoke run of every fuzz target, 20 s each, from the committed seeds: a parser
# change that breaks an invariant or crashes on a known input fails here. Long runs: bash Fuzz/run.sh TARGET SECONDS.
# The tests mostly wait on child processes and sockets, so the fuzzer has a core to use; it runs at a lower
# priority, so that the tests, whose waits are for what they expect, get the CPU when they want it.
log=$(mktemp)
fuzz_log=$(mktemp)
set +e
nice -n 10 bash Fuzz/run.sh all 20 >"$fuzz_log" 2>&1 &
fuzz_pid=$!
swift test --skip-build 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
wait "$fuzz_pid"
fuzz_status=$?
set -e
cat "$fuzz_log"
rm -f "$fuzz_log"

# One plain closing line, whatever the test libraries printed.
total=$(grep -oE 'Test run with [0-9]+ tests?' "$log" | grep -oE '[0-9]+' | tail -1 || true)
failed=$(grep -E '^✘ Test .* failed after' "$log" | grep -vc '^✘ Test run with' || true)
passed=$(( ${total:-0} - failed ))
rm -f "$log"
echo "tests: ${passed} passed, ${failed} failed; fuzz smoke: $([ $fuzz_status -eq 0 ] && echo passed || echo FAILED); $(( $(date +%s) - built )) s after the build"
[ "$status" -ne 0 ] && exit "$status"
exit "$fuzz_status"
