import AppLinksCore
import AppLinksCrypto
import AppLinksJSON
import AppLinksLocking
import AppLinksPluginIPC
import AppLinksTracing
import Foundation
import Logging
import Synchronization
import Tracing

/// One runner process and the pipe to it.
final class RunnerConnection: @unchecked Sendable {
    // `pid` and `channel` are immutable after spawn; `owner` is set once, before any call; the rest is guarded.
    let pid: pid_t
    let channel: FrameChannel
    let started = ContinuousClock.now
    weak var owner: PluginProcess?
    private let logger: Logger
    private let calls = Locked<Calls>(Calls())
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

    private let tickets = Locked<[UInt64: Int]>([:])
    /// The trace context of each call in flight while tracing is on, under which its host calls run.
    private let contexts = Locked<[UInt64: InstrumentationContext]>([:])

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
                    let result = TraceSpans.with(context) { services?.answer(call) } ?? CallResult(code: -1, output: Data())
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
    func reap() -> String {
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

    func closeDescriptors() {
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
