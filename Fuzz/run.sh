#!/usr/bin/env bash
# Runs one libFuzzer target for a number of seconds:  bash Fuzz/run.sh TARGET SECONDS [libFuzzer options…]
#   bash Fuzz/run.sh json 600
#   bash Fuzz/run.sh all 20        # each target in turn, as the test command's smoke run does
#   bash Fuzz/run.sh list          # the targets
#   bash Fuzz/run.sh build         # builds every target and runs none
# Targets are built in release with -sanitize=fuzzer,address into .build/fuzz. The run starts from the committed
# seeds in Fuzz/Corpus/TARGET and keeps what it finds in .build/fuzz-corpus/TARGET, so the repository stays clean;
# a crash or a broken invariant is written to .build/fuzz-crashes/TARGET and fails the run. To keep an input as a
# seed, copy it into Fuzz/Corpus/TARGET.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=$(ls Fuzz/Targets)
target=${1:?"usage: bash Fuzz/run.sh TARGET|all|list|build SECONDS [libFuzzer options]; targets: $(echo $targets)"}
if [ "$target" = list ]; then echo "$targets"; exit 0; fi
build_only=false
if [ "$target" = build ]; then build_only=true; target=all; set -- all 0; fi
seconds=${2:?"give the seconds to run, e.g. bash Fuzz/run.sh $target 60"}
shift 2
if [ "$target" != all ] && [ ! -d "Fuzz/Targets/$target" ]; then
    echo "error: no fuzz target '$target'; the targets are: $(echo $targets)" >&2
    exit 2
fi
selected=$target
[ "$target" = all ] && selected=$targets

export APPLINKS_FUZZ=1
build=(swift build -c release --scratch-path .build/fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -g)
# A target that does not build stops the run: an older binary left in the build folder would fuzz old code.
for t in $selected; do
    if ! out=$("${build[@]}" --product "fuzz-$t" 2>&1); then
        echo "$out" | grep -E "error" >&2
        echo "error: fuzz-$t did not build (above); nothing was fuzzed" >&2
        exit 1
    fi
    echo "$out" | grep -E "warning: .*Fuzz|Compiling fuzz" >&2 || true
done
bin=$("${build[@]}" --show-bin-path)
$build_only && exit 0

status=0
for t in $selected; do
    exe="$bin/fuzz-$t"
    [ -x "$exe" ] || { echo "error: fuzz-$t did not build; run the build above without the filter to see why" >&2; exit 1; }
    mkdir -p ".build/fuzz-corpus/$t" ".build/fuzz-crashes/$t" "Fuzz/Corpus/$t"
    log=".build/fuzz-crashes/$t/last.log"
    # -rss_limit_mb: a parser that allocates without bound is a finding too. Dictionaries name the tokens
    # a grammar needs, which random bytes rarely find.
    dict=()
    [ -f "Fuzz/Dictionaries/$t.dict" ] && dict=(-dict="Fuzz/Dictionaries/$t.dict")
    started=$(date +%s)
    set +e
    SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0} "$exe" ".build/fuzz-corpus/$t" "Fuzz/Corpus/$t" "${dict[@]}" \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -artifact_prefix=".build/fuzz-crashes/$t/" "$@" >"$log" 2>&1
    rc=$?
    set -e
    elapsed=$(( $(date +%s) - started ))
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    if [ $rc -ne 0 ]; then
        echo "fuzz-$t: FAILED after $runs executions; the input is in .build/fuzz-crashes/$t/, and the log says:" >&2
        grep -E "invariant broken|ERROR: |Fatal error|SUMMARY|Test unit written" "$log" | head -8 >&2
        status=1
    else
        echo "fuzz-$t: $runs executions in ${elapsed}s ($speed/s), 0 crashes"
    fi
done
exit $status
