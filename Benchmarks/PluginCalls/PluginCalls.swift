// One no-op status check through the plugin ABI: in the host's process (the baseline), and in a runner
// process under `plugins.isolation`, in one run. The plugin is plain C, built here with cc and the SDK header.
import AppLinksCore
import AppLinksHost
import AppLinksLocking
import AppLinksPluginRuntime
import Benchmark
import Foundation
import Logging

let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

let noopPlugin = #"""
    #include <applinks/plugin.h>
    #include <stdlib.h>
    #include <string.h>
    static int32_t reply(applinks_buffer *out, const char *s) {
        size_t n = strlen(s);
        out->data = malloc(n);
        memcpy(out->data, s, n);
        out->len = n;
        return APPLINKS_OK;
    }
    static int32_t p_init(const applinks_host_api *h, void *c, void **ctx) { (void)h; (void)c; *ctx = NULL; return APPLINKS_OK; }
    static void p_shutdown(void *ctx) { (void)ctx; }
    static int32_t p_status(void *c, const uint8_t *r, size_t l, applinks_buffer *out) {
        (void)c; (void)r; (void)l;
        return reply(out, "{\"category\":\"CONNECTED\",\"error_type\":null,\"message\":\"ok\"}");
    }
    static int32_t p_other(void *c, const uint8_t *r, size_t l, applinks_buffer *out) { (void)c; (void)r; (void)l; return reply(out, "{}"); }
    static void p_free(void *c, applinks_buffer *b) { (void)c; free(b->data); b->data = NULL; b->len = 0; }
    static const applinks_plugin_descriptor D = {
        sizeof(applinks_plugin_descriptor), APPLINKS_ABI_VERSION, "noop", "No-op", "1", "benchmarks",
        "{\"id\":\"noop\",\"name\":\"No-op\",\"version\":\"1\",\"vendor\":\"benchmarks\",\"directions\":[\"outgoing\"],\"wizard\":{\"steps\":[{\"id\":\"a\",\"title\":\"A\"}]}}",
        p_init, p_shutdown, p_other, p_status, p_other, p_other, p_free,
    };
    APPLINKS_EXPORT const applinks_plugin_descriptor *applinks_plugin_entry(uint32_t v) { (void)v; return &D; }
    """#

/// A deployment in a fresh home that loads only the no-op plugin, isolated or not.
func deployment(isolated: Bool, library: URL, base: URL) async throws -> LoadedPlugin {
    var logger = Logger(label: "bench")
    logger.logLevel = .critical
    let home = base.appendingPathComponent(isolated ? "isolated" : "in-process")
    let env = [
        "APPLINKS_PLUGINS_PATHS": library.path, "APPLINKS_PLUGINS_SEARCH_EXECUTABLE_DIRECTORY": "false",
        "APPLINKS_PLUGINS_ISOLATION": isolated ? "noop=process" : "",
        "APPLINKS_PLUGINS_RUNNER": ProcessInfo.processInfo.environment["APPLINKS_PLUGINS_RUNNER"] ?? "",
    ].filter { !$0.value.isEmpty }
    let (d, _) = try await Deployment.initialize(
        home: DeploymentHome(url: home), stores: .embedded, name: "bench", baseURL: "http://127.0.0.1:1", listen: "127.0.0.1:1",
        environment: env,
        logger: logger)
    return d.plugins["noop"]!
}

/// One deployment of each kind for the whole run: each sample reuses it, as a server reuses its plugins.
actor Deployments {
    static let shared = Deployments()
    private var plugins: [Bool: LoadedPlugin] = [:]

    func plugin(isolated: Bool, library: URL, base: URL) async throws -> LoadedPlugin {
        if let p = plugins[isolated] { return p }
        let p = try await deployment(isolated: isolated, library: library, base: base)
        plugins[isolated] = p
        return p
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock], warmupIterations: 5, scalingFactor: .kilo, maxDuration: .seconds(4), maxIterations: 10_000)
    let base = FileManager.default.temporaryDirectory.appendingPathComponent("applinks-bench-\(getpid())")
    try! FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
    let source = base.appendingPathComponent("noop.c")
    let library = base.appendingPathComponent("libnoop.so")
    try! noopPlugin.write(to: source, atomically: true, encoding: .utf8)
    let cc = Process()
    cc.executableURL = URL(fileURLWithPath: "/usr/bin/cc")
    cc.arguments = ["-O2", "-shared", "-fPIC", "-I", root.appendingPathComponent("sdk/include").path, source.path, "-o", library.path]
    try! cc.run()
    cc.waitUntilExit()
    precondition(cc.terminationStatus == 0, "cc failed")
    // A status request as the host sends it, with a link and its (empty) secrets.
    let request = Data(
        #"{"link":{"id":"6f1c","type":"noop","name":"n","application":{"type":"generic"},"display_url":"https://n.example.com"},"secrets":{}}"#
            .utf8)

    Benchmark("baseline: no-op status call, in process") { benchmark in
        let plugin = try await Deployments.shared.plugin(isolated: false, library: library, base: base)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try await plugin.call(.checkStatus, request, timeout: .seconds(10))) }
        benchmark.stopMeasurement()
    }
    // What every in-process call pays before any plugin code runs: plugin functions may block, so the host calls
    // them on a thread of its own and waits for the answer. This is that hop alone, with nothing to call.
    Benchmark("floor: hop to a plugin thread and back") { benchmark in
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try await BlockingThreadPool.shared.run { 0 }) }
        benchmark.stopMeasurement()
    }
    Benchmark("no-op status call, out of process") { benchmark in
        let plugin = try await Deployments.shared.plugin(isolated: true, library: library, base: base)
        precondition(plugin.isolated, "the no-op plugin did not start in a runner")
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try await plugin.call(.checkStatus, request, timeout: .seconds(10))) }
        benchmark.stopMeasurement()
    }
}
