# Sourced by the HTTP benchmarks: builds the plain Hummingbird hello-world (Benchmarks/HelloWorld, a target only
# APPLINKS_BENCHMARKS adds) in release and starts it on a free loopback port, as the baseline every figure is
# divided by. Sets $hello (its URL) and $hello_pid; the caller stops it. Needs $work.
export APPLINKS_BENCHMARKS=1
swift build -c release --product hello-world-baseline >/dev/null
"$(swift build -c release --show-bin-path)/hello-world-baseline" 0 > "$work/hello.out" 2> "$work/hello.err" &
hello_pid=$!
for _ in $(seq 100); do grep -q listening "$work/hello.out" 2>/dev/null && break; sleep 0.1; done
hello="http://$(grep -oE '127\.0\.0\.1:[0-9]+' "$work/hello.out" | head -1)/"
curl -sf "$hello" >/dev/null
