import AppLinksHost
import AppLinksLocking
import AppLinksServer
import AppLinksStore
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import TestSupport

/// The app `applinks serve` builds, run in the test's own process on a real loopback port, as HummingbirdTesting's
/// live mode runs an app but on the port the deployment's base URL names. Third-party clients (python's OAuth libraries, a browser) reach it over a socket,
/// and the real `applinks` CLI changes its home as an admin would, which the server hears of through its change
/// feed. Only starting a process is left out, so the test can also move the store's clock instead of sleeping.
final class LiveServer: LoopbackServer, @unchecked Sendable {
    let dir: TemporaryDirectory
    let port: Int
    let extraEnv: [String: String]
    let deployment: Deployment
    private let lines: LogLines
    private let offset: Locked<TimeInterval>

    var home: URL { dir.path("home") }
    var env: [String: String] { RunningServer.environment(home: home).merging(extraEnv) { _, n in n } }
    var log: String { lines.text }

    private init(
        dir: TemporaryDirectory, port: Int, extraEnv: [String: String], deployment: Deployment, lines: LogLines,
        offset: Locked<TimeInterval>
    ) {
        self.dir = dir
        self.port = port
        self.extraEnv = extraEnv
        self.deployment = deployment
        self.lines = lines
        self.offset = offset
    }

    /// Moves the clock the store measures expiry against (codes, tokens, sessions) forward by `interval`.
    func advanceStoreClock(by interval: TimeInterval) { offset.withLock { $0 += interval } }

    /// Initialises a home with the CLI, serves it on `listenPort` (0: a free one) for the length of `body`, and shuts
    /// the deployment down as `applinks serve` does.
    static func run<T: Sendable>(
        extraEnv: [String: String] = [:], listenPort: Int = 0, _ body: @Sendable (LiveServer) async throws -> T
    ) async throws -> T {
        let dir = TemporaryDirectory("live")
        let home = dir.path("home")
        let env = RunningServer.environment(home: home).merging(extraEnv) { _, n in n }
        let initialised = try await offPool { try runCommand(BuildProducts.applinks, ["init", "--name", "Server test"], environment: env) }
        guard initialised.status == 0 else { throw CompileError(message: "applinks init failed: \(initialised.stderr)") }

        let lines = LogLines()
        let logger = Logger(label: "applinks") { LogLines.Handler(label: $0, lines: lines) }
        let offset = Locked<TimeInterval>(0)
        let clock = StoreClock { Date().addingTimeInterval(offset.withLock { $0 }) }
        let deployment = try await Deployment.open(
            home: DeploymentHome(url: home), stores: .embedded(clock: clock), environment: env, logger: logger, actor: "server")
        do {
            let (running, bound) = AsyncStream.makeStream(of: Int.self)
            let app = try buildApplication(
                deployment: deployment, listen: ListenAddress(host: "127.0.0.1", port: listenPort), logger: logger
            ) { address in
                bound.yield(address.port)
                bound.finish()
            }
            // As HummingbirdTesting's live mode runs an app, but on the address the deployment's base URL names.
            let result = try await withThrowingTaskGroup(of: Void.self) { group in
                let services = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
                // The server's tasks run on threads of their own (see ServerThreads); the test's body on the pool.
                group.addTask(executorPreference: ServerThreads.shared) {
                    defer { bound.finish() }
                    try await services.run()
                }
                guard let port = await running.first(where: { _ in true }) else {
                    throw CompileError(message: "the in-process server stopped before it listened: \(lines.text)")
                }
                do {
                    let value = try await body(
                        LiveServer(dir: dir, port: port, extraEnv: extraEnv, deployment: deployment, lines: lines, offset: offset))
                    await services.triggerGracefulShutdown()
                    try await group.waitForAll()
                    return value
                } catch {
                    await services.triggerGracefulShutdown()
                    try? await group.waitForAll()
                    throw error
                }
            }
            await deployment.shutdown()
            return result
        } catch {
            await deployment.shutdown()
            throw error
        }
    }
}

/// What the server logged, one line per message with its metadata, as a test reads a log file.
final class LogLines: Sendable {
    private let buffer = Locked("")
    var text: String { buffer.withLock { $0 } }

    struct Handler: LogHandler {
        let label: String
        let lines: LogLines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { _, n in n }
            let fields = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            lines.buffer.withLock { $0 += "\(event.level) \(label): \(event.message) \(fields)\n" }
        }
    }
}
