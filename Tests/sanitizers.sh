#!/usr/bin/env bash
# The concurrency-heavy suites under ThreadSanitizer, then the C plugins and the libffi actions under
# AddressSanitizer. Each sanitizer builds in a folder of its own under .build, so the normal debug build is left
# alone; handle_segv=0 lets the fixtures that crash on purpose die by their signal, as the tests expect. The first
# run builds everything twice (about 15 minutes each on 2 cores). The server and runner processes
# that the suites start are the sanitized builds too, and stop at the first report (halt_on_error).
#
#   bash Tests/sanitizers.sh [thread|address]     # both when not told
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-both}
export PYTHONDONTWRITEBYTECODE=1
# swift-otel does not compile under -sanitize=thread: these builds leave the trace exporter out (see Package.swift).
export APPLINKS_WITHOUT_OTEL=1

# The stores (both backends, with their concurrency checks), the plugin call paths in process and isolated, the
# runner's frames, the host API table, link types through FakeHost, the status runner, the wizard engine, and two
# nodes over one database.
thread_suites='SQLiteStoreTests|PostgresStoreTests|IsolationTests|FrameTests|HostAPITableTests|JenkinsLinkTypeTests|PluginKitTests|StatusRunnerTests|WizardEngineTests|DeploymentTests|ClusterTests|IsolatedServerTests'
# The C plugin fixtures, the typed C actions through libffi, and the loader's handling of broken files.
address_suites='CExampleTests|NativeActionTests|PluginLoaderTests'

# The sanitizer's runtime is linked into each executable; --export-dynamic lets the link types it opens at run
# time, built with the same sanitizer, find it.
run() {
    local sanitizer=$1 suites=$2
    echo "== $sanitizer sanitizer: $suites"
    swift build --build-tests --sanitize="$sanitizer" --scratch-path ".build/$sanitizer" -Xlinker --export-dynamic >".build/$sanitizer-build.log" 2>&1 \
        || { tail -40 ".build/$sanitizer-build.log"; exit 1; }
    swift test --skip-build --sanitize="$sanitizer" --scratch-path ".build/$sanitizer" -Xlinker --export-dynamic --filter "$suites"
}

if [ "$which" = thread ] || [ "$which" = both ]; then
    TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 handle_segv=0" run thread "$thread_suites"
fi
if [ "$which" = address ] || [ "$which" = both ]; then
    ASAN_OPTIONS="halt_on_error=1 detect_leaks=0 handle_segv=0" run address "$address_suites"
fi
