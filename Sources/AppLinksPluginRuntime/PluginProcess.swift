import AppLinksCore
import AppLinksCrypto
import AppLinksJSON
import AppLinksLocking
import AppLinksPluginIPC
import Foundation
import Logging
import Synchronization
import Tracing

/// A plugin that runs in its own runner process (`isolation: process`): the host sends each call over a
/// pipe and answers the plugin's host API calls coming back.
///
/// A runner that crashes fails only the calls it had in flight; one that hangs past a call's timeout is
/// killed, since its stuck thread can never be reclaimed otherwise. Either way the next call after a
/// backoff (1 s, doubling to 60 s, reset once a runner has lived a minute) starts a fresh runner.
final class PluginProcess: Sendable {
    let runnerPath: String
    /// The library as it was verified, held open: each runner, restarts included, loads it from this descriptor.
    let library: VerifiedLibrary
    var libraryPath: String { library.path }
    let logger: Logger
    private let state: Locked<State>
    private let services = Locked<HostAPIContext?>(nil)
    /// The plugin's call counts, kept here so that its restarts are counted where they happen.
    let stats = PluginCallStats()

    private struct State {
        var runner: RunnerConnection?
        var backoff = RestartBackoff()
        var lastEnd = ""
        var stopped = false
    }

    static let helloTimeout: Duration = .seconds(10)

    /// The file name of the runner executable, installed beside `applinks`.
    public static let runnerName = "applinks-plugin-runner"

    /// The variables a runner inherits, and nothing else: the host's environment holds the master key and the
    /// database URL, which a plugin has no business reading (it reaches both only through the host API). The
    /// host logs how a runner ended; Swift's crash backtracer would print the plugin's stack to stderr. The
    /// sanitizers' settings pass too: only a sanitized build reads them (Tests/sanitizers.sh).
    static let runnerVariables = ["PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "TSAN_OPTIONS", "ASAN_OPTIONS"]

    static func runnerEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        runnerVariables.compactMap { name in environment[name].map { "\(name)=\($0)" } } + ["SWIFT_BACKTRACE=enable=no"]
    }

    private init(runnerPath: String, library: VerifiedLibrary, logger: Logger, runner: RunnerConnection) {
        self.runnerPath = runnerPath
        self.library = library
        self.logger = logger
        state = Locked(State(runner: runner))
    }

    /// Starts a runner for `library` and reads its descriptor. The caller judges the descriptor, and calls
    /// ``stop()`` if it refuses it.
    static func start(runner: String, library: VerifiedLibrary, logger: Logger) throws -> (PluginProcess, RunnerHello) {
        let (connection, hello) = try RunnerConnection.spawn(runner: runner, library: library, logger: logger)
        let process = PluginProcess(runnerPath: runner, library: library, logger: logger, runner: connection)
        connection.owner = process
        return (process, hello)
    }

    func attach(_ services: HostAPIContext) {
        self.services.withLock { $0 = services }
    }

    var hostServices: HostAPIContext? { services.withLock { $0 } }

    /// Calls one plugin function in the runner, starting a new runner first if the last one ended and its
    /// backoff has passed.
    func call(_ call: PluginCall, pluginName: String, timeout: Duration?) async throws -> CallResult {
        let runner = try currentRunner(pluginName: pluginName)
        return try await runner.call(call, pluginName: pluginName, timeout: timeout)
    }

    private func currentRunner(pluginName: String) throws -> RunnerConnection {
        let now = ContinuousClock.now
        let decision = state.withLock { s -> Result<RunnerConnection?, AppLinksError> in
            if s.stopped { return .failure(AppLinksError(.pluginFailed, "\(pluginName) has been shut down.")) }
            if let r = s.runner {
                if !r.hasEnded { return .success(r) }
                // Ended before it knew its owner (right after starting): retire it here.
                s.runner = nil
                s.backoff.endedUnseen(at: now)
            }
            if let wait = s.backoff.wait(at: now) {
                let seconds = Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18
                return .failure(
                    AppLinksError(
                        .pluginFailed,
                        "\(pluginName) is restarting: its runner process \(s.lastEnd). The next start is in "
                            + String(format: "%.1f s", seconds) + "; see the host log for the plugin's messages."))
            }
            s.backoff.claimStart(at: now)
            return .success(nil)
        }
        switch decision {
        case .failure(let e): throw e
        case .success(let r?): return r
        case .success(nil): break
        }
        do {
            guard library.currentSHA256() == library.sha256 else {
                throw AppLinksError(
                    .pluginFailed,
                    "\(pluginName) cannot restart: \(libraryPath) has changed since the host loaded it. "
                        + "Restart the host to load the file now there")
            }
            let (connection, hello) = try RunnerConnection.spawn(runner: runnerPath, library: library, logger: logger)
            guard hello.fields != nil else {
                connection.kill()
                throw AppLinksError(.pluginFailed, "\(pluginName) no longer loads: \(hello.refusal ?? "no descriptor").")
            }
            connection.owner = self
            state.withLock { s in
                s.runner = connection
                s.backoff.started()
            }
            stats.runnerRestarted()
            logger.notice("plugin runner restarted", metadata: ["plugin": "\(pluginName)", "pid": "\(connection.pid)"])
            return connection
        } catch let e as AppLinksError {
            ended(nil, why: "could not be started (\(e.message))", lived: .zero)
            throw e
        }
    }

    /// Called by a connection when its process ended, with how and after how long.
    func ended(_ connection: RunnerConnection?, why: String, lived: Duration) {
        let (failures, delay) = state.withLock { s -> (Int, Duration) in
            if let connection, s.runner !== connection { return (s.backoff.failures, .zero) }
            s.runner = nil
            let delay = s.backoff.ended(lived: lived, at: .now)
            s.lastEnd = why
            return (s.backoff.failures, delay)
        }
        if !state.withLock({ $0.stopped }) {
            logger.error(
                "plugin runner ended",
                metadata: ["library": "\(libraryPath)", "why": "\(why)", "restart_in": "\(delay)", "in_a_row": "\(failures)"])
        }
    }

    /// Asks the runner to call the plugin's `shutdown` and exit; kills it if it has not within a second.
    func stop() {
        let runner = state.withLock { s -> RunnerConnection? in
            s.stopped = true
            defer { s.runner = nil }
            return s.runner
        }
        runner?.shutdown(grace: .seconds(1))
    }
}
