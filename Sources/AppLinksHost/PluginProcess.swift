import AppLinksCore
import AppLinksCrypto
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
    private let state: Mutex<State>
    private let services = Mutex<HostServices?>(nil)
    /// The plugin's call counts, kept here so that its restarts are counted where they happen.
    let stats = PluginCallStats()

    private struct State {
        var runner: RunnerConnection?
        /// Runners ended in a row without living `stableAfter`.
        var failures = 0
        var restartAt: ContinuousClock.Instant?
        var lastEnd = ""
        var stopped = false
    }

    static let helloTimeout: Duration = .seconds(10)
    static let stableAfter: Duration = .seconds(60)
    static let maxBackoff: Duration = .seconds(60)

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
        state = Mutex(State(runner: runner))
    }

    /// Starts a runner for `library` and reads its descriptor. The caller judges the descriptor, and calls
    /// ``stop()`` if it refuses it.
    static func start(runner: String, library: VerifiedLibrary, logger: Logger) throws -> (PluginProcess, RunnerHello) {
        let (connection, hello) = try RunnerConnection.spawn(runner: runner, library: library, logger: logger)
        let process = PluginProcess(runnerPath: runner, library: library, logger: logger, runner: connection)
        connection.owner = process
        return (process, hello)
    }

    func attach(_ services: HostServices) {
        self.services.withLock { $0 = services }
    }

    var hostServices: HostServices? { services.withLock { $0 } }

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
                s.restartAt = s.restartAt ?? now
            }
            if let at = s.restartAt, now < at {
                let wait = at - now
                let seconds = Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18
                return .failure(
                    AppLinksError(
                        .pluginFailed,
                        "\(pluginName) is restarting: its runner process \(s.lastEnd). The next start is in "
                            + String(format: "%.1f s", seconds) + "; see the host log for the plugin's messages."))
            }
            s.restartAt = now + Self.maxBackoff  // one caller starts it; the others wait for the next call
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
                s.restartAt = nil
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
    fileprivate func ended(_ connection: RunnerConnection?, why: String, lived: Duration) {
        let (failures, delay) = state.withLock { s -> (Int, Duration) in
            if let connection, s.runner !== connection { return (s.failures, .zero) }
            s.runner = nil
            s.failures = lived >= Self.stableAfter ? 1 : s.failures + 1
            let delay = min(Self.maxBackoff, .seconds(1) * (1 << min(s.failures - 1, 6)))
            s.restartAt = .now + delay
            s.lastEnd = why
            return (s.failures, delay)
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

/// One runner process and the pipe to it.
final class RunnerConnection: @unchecked Sendable {
    // `pid` and `channel` are immutable after spawn; `owner` is set once, before any call; the rest is guarded.
    let pid: pid_t
    let channel: FrameChannel
    let started = ContinuousClock.now
    weak var owner: PluginProcess?
    private let logger: Logger
    private let calls = Mutex<Calls>(Calls())
    private let nextID = Atomic<UInt64>(1)

    private struct Calls {
        var pending: [UInt64: OnceResume<CallResult>] = [:]
        /// Set once the process has ended: how, in words.
        var ended: String?
        /// Why the host killed it, if it did.
        var killedBecause: String?
    }

    private init(pid: pid_t, channel: FrameChannel, logger: Logger) {
        self.pid = pid
        self.channel = channel
        self.logger = logger
    }

    /// Starts a runner on `library`, handed over as its fd 3: it loads the very file the host verified.
    static func spawn(runner: String, library verified: VerifiedLibrary, logger: Logger) throws -> (RunnerConnection, RunnerHello) {
        let library = verified.path
        signal(SIGPIPE, SIG_IGN)  // a runner that died must fail a write, not end the host
        guard access(runner, X_OK) == 0 else {
            throw AppLinksError(
                .pluginFailed,
                "The plugin runner \(runner) is missing or not executable. Fix: install \(PluginProcess.runnerName) beside the "
                    + "applinks executable, or set plugins.runner to its path.")
        }
        // Close-on-exec pipes: each runner holds only its own ends, so a runner's end is seen at once.
        var toChild: [Int32] = [0, 0]
        var fromChild: [Int32] = [0, 0]
        guard pipe2(&toChild, O_CLOEXEC) == 0 else { throw AppLinksError(.pluginFailed, "Cannot create a pipe: \(errnoText()).") }
        guard pipe2(&fromChild, O_CLOEXEC) == 0 else {
            close(toChild[0])
            close(toChild[1])
            throw AppLinksError(.pluginFailed, "Cannot create a pipe: \(errnoText()).")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toChild[0], 0)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)
        posix_spawn_file_actions_adddup2(&actions, verified.fd, 3)
        // Nothing else of the host's: not its sockets, its database, nor another child's pipe.
        SpawnActions.closeAll(from: 4, &actions)
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(runner), strdup("/proc/self/fd/3"), nil]
        defer { for a in argv { free(a) } }
        var pid: pid_t = 0
        let envp: [UnsafeMutablePointer<CChar>?] = PluginProcess.runnerEnvironment().map { strdup($0) } + [nil]
        defer { for e in envp { free(e) } }
        let rc = posix_spawn(&pid, runner, &actions, nil, argv, envp)
        close(toChild[0])
        close(fromChild[1])
        guard rc == 0 else {
            close(toChild[1])
            close(fromChild[0])
            throw AppLinksError(.pluginFailed, "Cannot start the plugin runner \(runner): \(String(cString: strerror(rc))).")
        }
        let connection = RunnerConnection(pid: pid, channel: FrameChannel(readFD: fromChild[0], writeFD: toChild[1]), logger: logger)
        // The hello comes first; a library whose loading hangs is killed.
        let ticket = Watchdog.shared.watch(deadline: .now + PluginProcess.helloTimeout) { [connection] in
            connection.kill(because: "did not load within \(PluginProcess.helloTimeout)")
        }
        let first = connection.channel.receive()
        Watchdog.shared.forget(ticket)
        guard let first, first.kind == .hello, let hello = try? JSONCoding.decode(RunnerHello.self, from: first.payload) else {
            connection.kill()
            let how = connection.reap()
            let killed = connection.calls.withLock { $0.killedBecause }
            connection.closeDescriptors()
            throw AppLinksError(
                .pluginRefused,
                "the plugin runner could not load it: it \(killed ?? how) before describing the plugin. "
                    + "Fix: run `applinks plugins verify \(library)` to see where it fails")
        }
        let reader = Thread { connection.readLoop() }
        reader.name = "applinks.runner-reader"
        reader.start()
        return (connection, hello)
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }

    /// glibc's `pipe2`, which Swift's Glibc module does not import (it sits behind _GNU_SOURCE). Unlike `pipe`
    /// and then `fcntl`, it leaves no moment in which another thread's spawn could inherit the descriptors.
    private static let pipe2Function: @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32 = {
        guard let sym = dlsym(nil, "pipe2") else { fatalError("glibc without pipe2") }
        return unsafeBitCast(sym, to: (@convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32).self)
    }()

    private static func pipe2(_ fds: inout [Int32], _ flags: Int32) -> Int32 {
        fds.withUnsafeMutableBufferPointer { pipe2Function($0.baseAddress, flags) }
    }

    /// One plugin call: sent, then awaited until its answer, the runner's end, or the timeout (which kills it).
    func call(_ call: PluginCall, pluginName: String, timeout: Duration?) async throws -> CallResult {
        let id = nextID.add(1, ordering: .relaxed).newValue
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<CallResult, any Error>) in
            let once = OnceResume(continuation)
            let ended = calls.withLock { c -> String? in
                if c.ended == nil { c.pending[id] = once }
                return c.ended
            }
            if let ended {
                once.resume(with: .failure(AppLinksError(.pluginFailed, "\(pluginName) is not running: its runner process \(ended).")))
                return
            }
            if let timeout {
                let ticket = Watchdog.shared.watch(deadline: .now + timeout) { [self] in
                    guard calls.withLock({ $0.pending.removeValue(forKey: id) }) != nil else { return }
                    tickets.withLock { _ = $0.removeValue(forKey: id) }
                    contexts.withLock { _ = $0.removeValue(forKey: id) }
                    once.resume(
                        with: .failure(
                            AppLinksError(.timeout, "\(pluginName) did not answer within \(timeout); its runner process was stopped.")))
                    kill(because: "was stopped after a call hung for \(timeout)")
                }
                tickets.withLock { $0[id] = ticket }
            }
            if let context = TraceSpans.current { contexts.withLock { $0[id] = context } }
            // If the runner is gone, the reader sees the end and fails this call with the reason.
            channel.send(Frame(.call, id: id, call.encoded()))
        }
    }

    private let tickets = Mutex<[UInt64: Int]>([:])
    /// The trace context of each call in flight while tracing is on, under which its host calls run.
    private let contexts = Mutex<[UInt64: InstrumentationContext]>([:])

    var hasEnded: Bool { calls.withLock { $0.ended != nil } }

    private func readLoop() {
        while let frame = channel.receive() {
            switch frame.kind {
            case .result:
                if let ticket = tickets.withLock({ $0.removeValue(forKey: frame.id) }) { Watchdog.shared.forget(ticket) }
                let once = calls.withLock { $0.pending.removeValue(forKey: frame.id) }
                if TraceSpans.enabled { contexts.withLock { _ = $0.removeValue(forKey: frame.id) } }
                let result = CallResult(decoding: frame.payload) ?? CallResult(code: -1, output: Data())
                once?.resume(with: .success(result))
            case .hostCall:
                guard let call = HostCall(decoding: frame.payload) else { continue }
                let services = owner?.hostServices
                let id = frame.id
                let context = call.callID == 0 || !TraceSpans.enabled ? nil : contexts.withLock { $0[call.callID] }
                BlockingThreadPool.shared.submit { [self] in
                    let result = TraceSpans.with(context) { services?.perform(call) } ?? CallResult(code: -1, output: Data())
                    if id != 0 { channel.send(Frame(.hostResult, id: id, result.encoded())) }
                }
            case .hello, .call, .hostResult, .shutdown:
                continue
            }
        }
        let how = reap()
        let (pending, why) = calls.withLock { c -> ([OnceResume<CallResult>], String) in
            let why = c.killedBecause ?? how
            c.ended = why
            defer { c.pending = [:] }
            return (Array(c.pending.values), why)
        }
        contexts.withLock { $0 = [:] }
        for ticket in tickets.withLock({ t in
            defer { t = [:] }; return Array(t.values)
        }) { Watchdog.shared.forget(ticket) }
        closeDescriptors()
        // The owner learns first, so that a caller woken by the failure already finds the backoff in force.
        owner?.ended(self, why: why, lived: ContinuousClock.now - started)
        for once in pending {
            once.resume(with: .failure(AppLinksError(.pluginFailed, "The plugin's runner process \(why) during the call.")))
        }
    }

    /// Waits for the process and says how it ended.
    fileprivate func reap() -> String {
        var status: Int32 = 0
        var r: pid_t
        repeat { r = waitpid(pid, &status, 0) } while r < 0 && errno == EINTR
        guard r == pid else { return "ended" }
        let signal = status & 0x7F
        if signal == 0 { return "exited with status \((status >> 8) & 0xFF)" }
        let name: String =
            switch signal {
            case SIGSEGV: "SIGSEGV"
            case SIGABRT: "SIGABRT"
            case SIGBUS: "SIGBUS"
            case SIGILL: "SIGILL"
            case SIGFPE: "SIGFPE"
            case SIGKILL: "SIGKILL"
            case SIGTERM: "SIGTERM"
            case SIGTRAP: "SIGTRAP"
            default: "signal \(signal)"
            }
        return "crashed (\(name))"
    }

    fileprivate func closeDescriptors() {
        close(channel.readFD)
        close(channel.writeFD)
    }

    func kill(because reason: String? = nil) {
        let running = calls.withLock { c -> Bool in
            if c.killedBecause == nil, let reason { c.killedBecause = reason }
            return c.ended == nil
        }
        if running { _ = Glibc.kill(pid, SIGKILL) }
    }

    /// Asks for an orderly end, then makes sure of it.
    func shutdown(grace: Duration) {
        channel.send(Frame(.shutdown, id: 0))
        let ticket = Watchdog.shared.watch(deadline: .now + grace) { [self] in kill(because: "did not shut down within \(grace)") }
        // The reader thread reaps the process and forgets this connection.
        _ = ticket
    }
}
