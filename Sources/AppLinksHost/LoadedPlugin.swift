import AppLinksCore
import AppLinksPluginABI
import AppLinksPluginIPC
import Dispatch
import Foundation
import Logging
import Synchronization

/// An opened, validated plugin. Its `init` runs lazily on the first call, so that commands which only read
/// descriptors (such as `applinks list`) never start a plugin.
public final class LoadedPlugin: @unchecked Sendable {
    // The library's descriptor is immutable and immortal; `state` is guarded by its Mutex.
    public let descriptor: LinkTypeDescriptor
    public let path: String
    public let abiVersion: UInt32
    public let sha256: String
    let backend: Backend
    let logger: Logger
    /// The actions that are plain C functions, by action id.
    let natives: [String: NativeAction]
    /// Every call into the plugin, for `/metrics`.
    public let stats: PluginCallStats

    private enum InitState {
        case detached
        case attached(HostServices)
        case ready(UnsafeMutableRawPointer?, HostServices)
        case failed(String)
    }
    private let state = Mutex<InitState>(.detached)

    public var id: String { descriptor.id }

    /// Where the plugin's code runs.
    enum Backend {
        /// Opened in this process; calls go straight through its function table.
        case library(UnsafePointer<applinks_plugin_descriptor>)
        /// In a runner process (`isolation: process`).
        case process(PluginProcess)
    }

    /// Whether the plugin runs in its own process.
    public var isolated: Bool {
        if case .process = backend { return true }
        return false
    }

    init(
        backend: Backend, descriptor: LinkTypeDescriptor, path: String, abiVersion: UInt32,
        sha256: String, logger: Logger, natives: [String: NativeAction] = [:]
    ) {
        self.natives = natives
        self.backend = backend
        if case .process(let p) = backend { stats = p.stats } else { stats = PluginCallStats() }
        self.descriptor = descriptor
        self.path = path
        self.abiVersion = abiVersion
        self.sha256 = sha256
        self.logger = logger
    }

    /// Gives the plugin its host services; `init` itself waits for the first call.
    func attach(_ services: HostServices) {
        if case .process(let p) = backend { p.attach(services) }
        state.withLock { if case .detached = $0 { $0 = .attached(services) } }
    }

    public enum Function: String, Sendable {
        case wizardStep = "wizard_step"
        case checkStatus = "check_status"
        case invokeAction = "invoke_action"
        case handleHTTP = "handle_http"
    }

    /// The host table and context this plugin's `init` received, for a `with_link` C function.
    private func hostTableAndContext() throws -> (UnsafeRawPointer?, UnsafeMutableRawPointer?) {
        try state.withLock { s in
            guard case .ready(_, let services) = s else { throw AppLinksError(.pluginFailed, "The link type '\(id)' is not started.") }
            return (UnsafeRawPointer(HostServices.table), Unmanaged.passUnretained(services).toOpaque())
        }
    }

    /// Runs `init` once. Runs on a plugin thread, never on the cooperative pool.
    private func contextForCall(_ raw: UnsafePointer<applinks_plugin_descriptor>) throws -> UnsafeMutableRawPointer? {
        try state.withLock { s -> UnsafeMutableRawPointer? in
            switch s {
            case .ready(let ctx, _): return ctx
            case .failed(let why): throw AppLinksError(.pluginFailed, why)
            case .detached: throw AppLinksError(.pluginFailed, "The link type '\(id)' has no host services attached.")
            case .attached(let services):
                var ctx: UnsafeMutableRawPointer?
                let rc = raw.pointee.`init`(HostServices.table, Unmanaged.passUnretained(services).toOpaque(), &ctx)
                guard rc == Int32(APPLINKS_OK) else {
                    let why =
                        "The link type '\(id)' (\(path)) refused to start: its init returned \(rc). Check the host log for its messages."
                    s = .failed(why)
                    throw AppLinksError(.pluginFailed, why)
                }
                s = .ready(ctx, services)
                return ctx
            }
        }
    }

    /// Calls one plugin function with a JSON request and returns its JSON response.
    ///
    /// A plugin-reported error becomes `.pluginFailed` with the plugin's message. If `timeout` passes first, this
    /// throws `.timeout`; the plugin's thread is left to finish on its own (an in-process call cannot be stopped).
    public func call(_ function: Function, _ request: Data, timeout: Duration?) async throws -> Data {
        try await TraceSpans.span("plugin \(id) \(function.rawValue)", attributes: TraceSpans.pluginAttributes(id, function.rawValue)) {
            _ in
            try await stats.measure(function.rawValue) { try await unmeasuredCall(function, request, timeout: timeout) }
        }
    }

    private func unmeasuredCall(_ function: Function, _ request: Data, timeout: Duration?) async throws -> Data {
        let pluginID = id
        if case .process(let p) = backend {
            let wire: PluginCall.Function =
                switch function {
                case .wizardStep: .wizardStep
                case .checkStatus: .checkStatus
                case .invokeAction: .invokeAction
                case .handleHTTP: .handleHTTP
                }
            let r = try await p.call(PluginCall(wire, request), pluginName: descriptor.name, timeout: timeout)
            return try judge(r.code, r.output, what: function.rawValue)
        }
        return try await PluginThreads.run(
            timeout: timeout,
            onTimeout: {
                AppLinksError(
                    .timeout, "The link type '\(pluginID)' did not answer \(function.rawValue) within \(timeout.map { "\($0)" } ?? "")")
            }
        ) { [self] in try invoke(function, request) }
    }

    /// Answers an HTTP request with the plugin's `handle_http`. A route the plugin declared `inline` is called
    /// right here, on the request's thread, where a host call that would wait is refused (see ``InlineCall``);
    /// any other goes to a plugin thread, like every other call.
    public func handleHTTP(_ request: PluginHTTPRequest, inline: Bool, timeout: Duration?) async throws -> PluginHTTPResponse {
        let data: Data
        if inline, !isolated {
            let started = ContinuousClock.now
            do {
                data = try TraceSpans.span(
                    "plugin \(id) handle_http", attributes: TraceSpans.pluginAttributes(id, Function.handleHTTP.rawValue)
                ) { try InlineCall.run { try invoke(.handleHTTP, request.jsonData()) } }
            } catch {
                stats.record(Function.handleHTTP.rawValue, failed: true, took: ContinuousClock.now - started)
                throw error
            }
            let took = ContinuousClock.now - started
            stats.record(Function.handleHTTP.rawValue, failed: false, took: took)
            if took > InlineCall.slow {
                logger.warning(
                    "an inline route answered slowly; declare it without \"inline\" so that it runs on a plugin thread",
                    metadata: ["plugin": "\(id)", "path": "\(request.path)", "took": "\(took)"])
            }
        } else {
            data = try await call(.handleHTTP, request.jsonData(), timeout: timeout)
        }
        do {
            return try PluginHTTPResponse(jsonData: data)
        } catch {
            throw AppLinksError(
                .pluginFailed, "\(descriptor.name) returned an invalid handle_http answer: \(PluginLoader.describe(error))", cause: error)
        }
    }

    /// One synchronous call through the C function table, on the current thread.
    private func invoke(_ function: Function, _ request: Data) throws -> Data {
        let pluginID = id
        guard case .library(let raw) = backend else {
            throw AppLinksError(.pluginFailed, "The link type '\(pluginID)' runs in its own process and cannot be called inline.")
        }
        let ctx = try contextForCall(raw)
        let fn: (@convention(c) (UnsafeMutableRawPointer?, UnsafePointer<UInt8>?, Int, UnsafeMutablePointer<applinks_buffer>?) -> Int32)?
        switch function {
        case .wizardStep: fn = raw.pointee.wizard_step
        case .checkStatus: fn = raw.pointee.check_status
        case .invokeAction: fn = raw.pointee.invoke_action
        case .handleHTTP: fn = raw.pointee.handle_http
        }
        guard let fn else { throw AppLinksError(.pluginFailed, "The link type '\(pluginID)' has no \(function.rawValue).") }
        var out = applinks_buffer(data: nil, len: 0)
        let rc = request.withUnsafeBytes { fn(ctx, $0.baseAddress?.assumingMemoryBound(to: UInt8.self), $0.count, &out) }
        return try result(rc, &out, raw: raw, ctx: ctx, what: function.rawValue)
    }

    /// Calls an action that is a plain C function, on a plugin thread, with arguments already converted.
    func callNative(_ native: NativeAction, linkID: String, values: [String?], timeout: Duration?) async throws -> Data {
        try await TraceSpans.span("plugin \(id) action", attributes: TraceSpans.pluginAttributes(id, "action")) { _ in
            try await stats.measure("action") { try await unmeasuredNative(native, linkID: linkID, values: values, timeout: timeout) }
        }
    }

    private func unmeasuredNative(_ native: NativeAction, linkID: String, values: [String?], timeout: Duration?) async throws -> Data {
        let pluginID = id
        let what = native.action.cFunction?.symbol ?? native.action.id
        if case .process(let p) = backend {
            let request = try JSONCoding.encode(NativeCall(action: native.action.id, values: values, linkID: linkID))
            let r = try await p.call(PluginCall(.native, request), pluginName: descriptor.name, timeout: timeout)
            return try judge(r.code, r.output, what: what)
        }
        return try await PluginThreads.run(
            timeout: timeout,
            onTimeout: {
                AppLinksError(
                    .timeout,
                    "The link type '\(pluginID)' did not finish the action \(native.action.id) within \(timeout.map { "\($0)" } ?? "")")
            }
        ) { [self] in
            guard case .library(let raw) = backend else { throw AppLinksError(.pluginFailed, "unreachable: \(pluginID) is isolated") }
            let ctx = try contextForCall(raw)
            var out = applinks_buffer(data: nil, len: 0)
            var link: NativeAction.LinkContext?
            if native.withLink {
                let (table, services) = try hostTableAndContext()
                link = NativeAction.LinkContext(host: table, hostContext: services, linkID: linkID)
            }
            let rc = native.call(context: ctx, link: link, values: values, out: &out)
            return try result(rc, &out, raw: raw, ctx: ctx, what: what)
        }
    }

    /// A call's bytes, freed through the plugin; its error as the plugin reported it.
    private func result(
        _ rc: Int32, _ out: inout applinks_buffer, raw: UnsafePointer<applinks_plugin_descriptor>, ctx: UnsafeMutableRawPointer?,
        what: String
    ) throws -> Data {
        let data = out.data.map { Data(bytes: $0, count: out.len) } ?? Data()
        if out.data != nil { raw.pointee.free_buffer(ctx, &out) }
        return try judge(rc, data, what: what)
    }

    /// A call's result as the plugin meant it: the data, or its error.
    private func judge(_ rc: Int32, _ data: Data, what: String) throws -> Data {
        let name = descriptor.name
        switch rc {
        case Int32(APPLINKS_OK):
            return data
        case Int32(APPLINKS_ERROR):
            if let body = try? JSONCoding.decode(PluginErrorBody.self, from: data) {
                throw PluginCallError(code: body.code, message: body.message, plugin: name)
            }
            throw AppLinksError(.pluginFailed, "\(name) reported an error without a readable message.")
        default:
            throw AppLinksError(.pluginFailed, "\(name) failed unexpectedly in \(what) (code \(rc)).")
        }
    }

    /// Calls `function` and decodes the answer; an answer that does not decode is the plugin's fault.
    public func call<Req: Encodable & Sendable, Res: Decodable>(
        _ function: Function, _ request: Req, as: Res.Type, timeout: Duration?
    ) async throws -> Res {
        let data = try await call(function, try JSONCoding.encode(request), timeout: timeout)
        do {
            return try JSONCoding.decode(Res.self, from: data)
        } catch {
            throw AppLinksError(
                .pluginFailed, "\(descriptor.name) returned an invalid \(function.rawValue) answer: " + Self.whatIsWrong(data, error),
                cause: error)
        }
    }

    /// What is wrong with an answer that did not decode: empty, not JSON (and where it broke), or JSON of the wrong
    /// shape (and which member).
    static func whatIsWrong(_ data: Data, _ error: any Error) -> String {
        if data.isEmpty { return "the answer was empty (0 bytes); write the JSON answer into out" }
        do {
            _ = try JSONValue.parse(data)
        } catch let e as JSONSyntaxError {
            let shown = String(decoding: data.prefix(80), as: UTF8.self)
            return "it is not JSON: \(e) (the answer begins \(JSONValue.quoted(shown)))"
        } catch {}
        return PluginLoader.describe(error)
    }

    /// Calls `shutdown` if `init` ran.
    func shutdown() {
        guard case .library(let raw) = backend else {
            if case .process(let p) = backend { p.stop() }
            return
        }
        state.withLock { s in
            if case .ready(let ctx, _) = s {
                raw.pointee.shutdown(ctx)
                s = .failed("The link type '\(id)' has been shut down.")
            }
        }
    }
}

/// An error that a plugin reported on purpose, with its own code.
public struct PluginCallError: Error, Sendable, CustomStringConvertible {
    public var code: String
    public var message: String
    public var plugin: String
    public var description: String { message }
}

/// Where plugin code runs: threads of ``BlockingThreadPool``, so that a plugin blocking (on the network, on a
/// host call that waits for async work, or forever) never holds one of Swift's cooperative threads, nor any
/// other plugin's.
enum PluginThreads {
    static func run<T: Sendable>(
        timeout: Duration?, onTimeout: @escaping @Sendable () -> any Error,
        _ body: @escaping @Sendable () throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let once = OnceResume(continuation)
            let ticket = timeout.map { Watchdog.shared.watch(deadline: .now + $0) { once.resume(with: .failure(onTimeout())) } }
            let context = TraceSpans.current
            BlockingThreadPool.shared.submit {
                let result = Result { try TraceSpans.with(context) { try body() } }
                if let ticket { Watchdog.shared.forget(ticket) }
                once.resume(with: result)
            }
        }
    }
}

/// Times out plugin calls. One thread checks every deadline a few times a second, so a call costs a
/// dictionary insert and remove rather than a timer task of its own.
final class Watchdog: Sendable {
    static let shared = Watchdog()
    private struct State {
        var next = 0
        var deadlines: [Int: (ContinuousClock.Instant, @Sendable () -> Void)] = [:]
        var running = false
    }
    private let state = Mutex(State())
    static let resolution: Duration = .milliseconds(50)

    func watch(deadline: ContinuousClock.Instant, _ expire: @escaping @Sendable () -> Void) -> Int {
        let (ticket, start) = state.withLock { s -> (Int, Bool) in
            s.next += 1
            s.deadlines[s.next] = (deadline, expire)
            defer { s.running = true }
            return (s.next, !s.running)
        }
        if start {
            let t = Thread { [self] in loop() }
            t.name = "applinks.watchdog"
            t.start()
        }
        return ticket
    }

    func forget(_ ticket: Int) {
        state.withLock { _ = $0.deadlines.removeValue(forKey: ticket) }
    }

    private func loop() {
        while true {
            Thread.sleep(forTimeInterval: Double(Self.resolution.components.attoseconds) / 1e18)
            let now = ContinuousClock.now
            let expired = state.withLock { s -> [@Sendable () -> Void] in
                let due = s.deadlines.filter { $0.value.0 <= now }
                for key in due.keys { s.deadlines.removeValue(forKey: key) }
                return due.values.map(\.1)
            }
            for expire in expired { expire() }
        }
    }
}

/// Resumes a continuation exactly once, whichever of the call or its timeout comes first.
final class OnceResume<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T, any Error>?>
    init(_ c: CheckedContinuation<T, any Error>) { continuation = Mutex(c) }
    func resume(with result: Result<T, any Error>) {
        let c = continuation.withLock { c -> CheckedContinuation<T, any Error>? in
            defer { c = nil }
            return c
        }
        c?.resume(with: result)
    }
}

/// Marks the threads that are inside a plugin's inline route, where the plugin must not wait for the host.
///
/// An inline call runs on the request's thread: one of Swift's cooperative threads, or under `applinks serve` an
/// event loop (see `EventLoopExecutor`). A host call that waits for async work there would hold that thread,
/// and with every such thread holding one, the work it waits for could never run.
public enum InlineCall {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()
    /// Longer than this, an inline answer is logged as misdeclared.
    static let slow: Duration = .milliseconds(50)

    /// Whether the current thread is inside an inline plugin route.
    public static var isActive: Bool { pthread_getspecific(key) != nil }

    static func run<T>(_ body: () throws -> T) rethrows -> T {
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: 1))
        defer { pthread_setspecific(key, nil) }
        return try body()
    }
}

/// Waits for async work from a synchronous C callback. Only ever called on plugin threads (see ``PluginThreads``);
/// inside an inline route it refuses instead (see ``InlineCall``).
func waitFor<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) throws -> T {
    if InlineCall.isActive {
        throw AppLinksError(
            .pluginFailed,
            "This host call waits for the network or other work, which a route declared \"inline\" may not do; "
                + "remove \"inline\": true from the route in the link type's descriptor.")
    }
    let slot = Mutex<Result<T, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    let context = TraceSpans.current
    Task {
        let r: Result<T, any Error>
        do { r = .success(try await TraceSpans.with(context) { try await operation() }) } catch { r = .failure(error) }
        slot.withLock { $0 = r }
        done.signal()
    }
    done.wait()
    return try slot.withLock { $0! }.get()
}
