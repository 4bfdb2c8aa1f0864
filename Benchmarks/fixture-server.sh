# Sourced by benchmarks that measure one server with the test fixture's link type: builds `applinks` and the
# fixture in $build (release unless set), starts `applinks serve` on a free loopback port in a throwaway home,
# and sets $bin, $work, $server and $base. The server and the home go when the script exits.
build=${build:-release}
swift build -c "$build" --product applinks >/dev/null
swift build -c "$build" --product AppLinksTestFixture >/dev/null
bin=$(swift build -c "$build" --show-bin-path)
work=$(mktemp -d)
export APPLINKS_HOME="$work/home" APPLINKS_PLUGINS_PATHS="$bin/libAppLinksTestFixture.so" APPLINKS_LOG_LEVEL=${APPLINKS_LOG_LEVEL:-info}
"$bin/applinks" init >/dev/null
"$bin/applinks" serve --listen 127.0.0.1:0 > "$work/serve.out" 2> "$work/serve.err" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
port=$(grep -oE '127\.0\.0\.1:[0-9]+' "$work/serve.out" | head -1 | cut -d: -f2)
base="http://127.0.0.1:$port"
curl -sf "$base/plugins/fixture/hello" >/dev/null
