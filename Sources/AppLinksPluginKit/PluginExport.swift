import AppLinksCore
import AppLinksJSON
import AppLinksLocking
import AppLinksPluginABI
import Dispatch
import Foundation

/// Builds the C descriptor for a ``LinkTypePlugin`` and answers the ABI's calls with it: the one C symbol a
/// Swift plugin writes.
///
/// ```swift
/// @_cdecl("applinks_plugin_entry")
/// public func applinksPluginEntry(_ hostABIVersion: UInt32) -> UnsafeRawPointer? {
///     PluginExport.entry(AcmeWidget.self, hostABIVersion: hostABIVersion)
/// }
/// ```
public enum PluginExport {
    private struct Registration: @unchecked Sendable {
        // The descriptor is written once, read-only afterwards, and lives until the process exits.
        var descriptor: UnsafeMutablePointer<applinks_plugin_descriptor>
        var factory: @Sendable (HostAPI) throws -> any LinkTypePlugin
    }

    private static let registration = Locked<Registration?>(nil)

    /// The body of a plugin's `applinks_plugin_entry`. Returns nil for a host of another major ABI version.
    public static func entry<P: LinkTypePlugin>(_ type: P.Type, hostABIVersion: UInt32) -> UnsafeRawPointer? {
        guard hostABIVersion >> 16 == UInt32(APPLINKS_ABI_VERSION_MAJOR) else { return nil }
        return registration.withLock { reg -> UnsafeRawPointer in
            if let reg { return UnsafeRawPointer(reg.descriptor) }
            let d = UnsafeMutablePointer<applinks_plugin_descriptor>.allocate(capacity: 1)
            let meta = P.descriptor
            let json = (try? JSONCoding.encode(meta)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            d.initialize(
                to: applinks_plugin_descriptor(
                    struct_size: UInt32(MemoryLayout<applinks_plugin_descriptor>.size),
                    abi_version: UInt32(APPLINKS_ABI_VERSION_MAJOR << 16 | APPLINKS_ABI_VERSION_MINOR),
                    id: UnsafePointer(strdup(meta.id)), name: UnsafePointer(strdup(meta.name)),
                    version: UnsafePointer(strdup(meta.version)), vendor: UnsafePointer(strdup(meta.vendor)),
                    descriptor_json: UnsafePointer(strdup(json)),
                    init: cInit, shutdown: cShutdown,
                    wizard_step: cWizardStep, check_status: cCheckStatus, invoke_action: cInvokeAction, handle_http: cHandleHTTP,
                    free_buffer: cFreeBuffer))
            reg = Registration(descriptor: d, factory: { try P(host: $0) })
            return UnsafeRawPointer(d)
        }
    }

    // MARK: - The C functions

    final class Box: @unchecked Sendable {
        // Immutable after init; the plugin itself must be thread-safe (LinkTypePlugin: Sendable).
        let plugin: any LinkTypePlugin
        init(_ plugin: any LinkTypePlugin) { self.plugin = plugin }
    }

    private static let cInit:
        @convention(c) (UnsafePointer<applinks_host_api>?, UnsafeMutableRawPointer?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?) ->
            Int32 = { api, hostCtx, out in
                guard let api, let out else { return -1 }
                guard api.pointee.struct_size >= UInt32(MemoryLayout<applinks_host_api>.size) else { return -2 }
                guard let factory = registration.withLock({ $0?.factory }) else { return -3 }
                do {
                    let plugin = try factory(HostAPI(api: api, context: hostCtx))
                    out.pointee = Unmanaged.passRetained(Box(plugin)).toOpaque()
                    return Int32(APPLINKS_OK)
                } catch {
                    return Int32(APPLINKS_ERROR)
                }
            }

    private static let cShutdown: @convention(c) (UnsafeMutableRawPointer?) -> Void = { ctx in
        guard let ctx else { return }
        let box = Unmanaged<Box>.fromOpaque(ctx).takeRetainedValue()
        blocking { await box.plugin.shutdown() }
    }

    private static let cWizardStep:
        @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<UInt8>?, Int, UnsafeMutablePointer<applinks_buffer>?) -> Int32 = {
            ctx, req, len, out in
            dispatch(ctx, req, len, out) { plugin, data in
                try JSONCoding.encode(try await plugin.wizardStep(JSONCoding.decode(WizardRequest.self, from: data)))
            }
        }

    private static let cCheckStatus:
        @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<UInt8>?, Int, UnsafeMutablePointer<applinks_buffer>?) -> Int32 = {
            ctx, req, len, out in
            dispatch(ctx, req, len, out) { plugin, data in
                try JSONCoding.encode(try await plugin.checkStatus(JSONCoding.decode(StatusRequest.self, from: data)))
            }
        }

    private static let cInvokeAction:
        @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<UInt8>?, Int, UnsafeMutablePointer<applinks_buffer>?) -> Int32 = {
            ctx, req, len, out in
            dispatch(ctx, req, len, out) { plugin, data in
                try JSONCoding.encode(try await plugin.invokeAction(JSONCoding.decode(ActionRequest.self, from: data)))
            }
        }

    private static let cHandleHTTP:
        @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<UInt8>?, Int, UnsafeMutablePointer<applinks_buffer>?) -> Int32 = {
            ctx, req, len, out in
            dispatch(ctx, req, len, out) { plugin, data in
                // An inline route runs on the host's request thread like any call here runs on the calling thread
                // (see ``ReservedThread``), so its host calls reach the host on that thread, which refuses the ones
                // that would wait.
                try await plugin.handleHTTP(try PluginHTTPRequest(jsonData: data)).jsonData()
            }
        }

    private static let cFreeBuffer: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutablePointer<applinks_buffer>?) -> Void = {
        _, buffer in
        BufferIO.free(buffer)
    }

    /// Decodes, runs the async handler to completion on the calling (host-reserved) thread, and writes the result.
    private static func dispatch(
        _ ctx: UnsafeMutableRawPointer?, _ req: UnsafePointer<UInt8>?, _ len: Int, _ out: UnsafeMutablePointer<applinks_buffer>?,
        _ body: @escaping @Sendable (any LinkTypePlugin, Data) async throws -> Data
    ) -> Int32 {
        guard let ctx, let out else { return -1 }
        let plugin = Unmanaged<Box>.fromOpaque(ctx).takeUnretainedValue().plugin
        let data = req.map { Data(bytes: $0, count: len) } ?? Data()
        let result: Result<Data, any Error> = blocking {
            do { return .success(try await body(plugin, data)) } catch { return .failure(error) }
        }
        switch result {
        case .success(let bytes):
            BufferIO.write(bytes, to: out)
            return Int32(APPLINKS_OK)
        case .failure(let error):
            let body = PluginErrorBody(reporting: error)
            BufferIO.write((try? JSONCoding.encode(body)) ?? Data(), to: out)
            return Int32(APPLINKS_ERROR)
        }
    }
}

/// Runs async work to completion from a synchronous C call, on the calling thread.
///
/// The task runs with an executor preference for an ``InlineExecutor`` that this thread drains, so a handler
/// that never waits on anything else runs without a single thread switch. A handler that awaits work done
/// elsewhere (a host call, a timer) is resumed on this same thread when that work completes. The host calls
/// plugins only from threads it reserves for them, so blocking here never starves Swift's cooperative pool.
func blocking<T: Sendable>(_ operation: @escaping @Sendable () async -> T) -> T {
    let executor = InlineExecutor.forThisThread()
    defer { executor.release() }
    let slot = Slot<T>()
    Task(executorPreference: executor) {
        slot.value = await operation()
        executor.finish()
    }
    ReservedThread.run { executor.drain() }
    return slot.value!
}

/// Marks the threads that drain an ``InlineExecutor``: the threads a host calls a plugin on, so ``HostAPI`` makes
/// its calls right there instead of handing them to another thread. A plugin thread may block there without
/// starving Swift's cooperative pool; on the request thread of an inline route, the host answers the calls that
/// do not wait and refuses the others at once. A thread marker, not a task-local, so that a task the plugin starts elsewhere is
/// not mistaken for one running here.
enum ReservedThread {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    static var isCurrent: Bool { pthread_getspecific(key) != nil }

    static func run(_ body: () -> Void) {
        let outer = pthread_getspecific(key)
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: 1))
        defer { pthread_setspecific(key, outer) }
        body()
    }
}

/// A task executor whose jobs run on the one thread that calls ``drain()``, until ``finish()``.
///
/// Each thread keeps one for its calls, so that a call costs no executor, lock or condition of its own; a
/// call made while the thread's executor is draining (a plugin calling back into the host, which calls a
/// plugin) gets a fresh one.
final class InlineExecutor: TaskExecutor, @unchecked Sendable {
    // `jobs` and `finished` are guarded by `condition`; `inUse` is only touched by the owning thread.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var finished = false
    private var inUse = false

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { p in if let p { Unmanaged<InlineExecutor>.fromOpaque(p).release() } }
        return key
    }()

    static func forThisThread() -> InlineExecutor {
        if let p = pthread_getspecific(key) {
            let cached = Unmanaged<InlineExecutor>.fromOpaque(p).takeUnretainedValue()
            if !cached.inUse {
                cached.inUse = true
                cached.finished = false
                return cached
            }
            return InlineExecutor()
        }
        let fresh = InlineExecutor()
        fresh.inUse = true
        pthread_setspecific(key, Unmanaged.passRetained(fresh).toOpaque())
        return fresh
    }

    /// Hands the executor back to its thread, once its task has finished.
    func release() { inUse = false }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        condition.lock()
        jobs.append(unowned)
        condition.signal()
        condition.unlock()
    }

    func finish() {
        condition.lock()
        finished = true
        condition.signal()
        condition.unlock()
    }

    func drain() {
        condition.lock()
        while true {
            while jobs.isEmpty && !finished { condition.wait() }
            if jobs.isEmpty { break }
            let batch = jobs
            jobs.removeAll(keepingCapacity: true)
            condition.unlock()
            for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
            condition.lock()
        }
        condition.unlock()
    }
}

/// Written once by the task, read once after the task finished: the executor's lock orders the two.
private final class Slot<T>: @unchecked Sendable { var value: T? }

/// malloc-backed buffers, freed by the side that allocated them.
enum BufferIO {
    static func write(_ data: Data, to out: UnsafeMutablePointer<applinks_buffer>) {
        guard !data.isEmpty, let p = malloc(data.count)?.assumingMemoryBound(to: UInt8.self) else {
            out.pointee = applinks_buffer(data: nil, len: 0)
            return
        }
        data.copyBytes(to: p, count: data.count)
        out.pointee = applinks_buffer(data: p, len: data.count)
    }

    static func free(_ buffer: UnsafeMutablePointer<applinks_buffer>?) {
        guard let buffer else { return }
        Foundation.free(buffer.pointee.data)
        buffer.pointee = applinks_buffer(data: nil, len: 0)
    }

    static func take(_ buffer: inout applinks_buffer) -> Data {
        guard let p = buffer.data else { return Data() }
        return Data(bytes: p, count: buffer.len)
    }
}

extension PluginErrorBody {
    /// What the host is told about an error a plugin's call threw. A ``HostError`` the plugin let through keeps its
    /// meaning: an input the host refused is the admin's to fix (`invalid_input`), a request that failed on the
    /// network is the network's (`unreachable`), and anything else is the plugin's failure.
    public init(reporting error: any Error) {
        switch error {
        case let e as PluginError: self.init(code: e.code, message: e.message)
        case let e as AppLinksError: self.init(code: e.code.description, message: e.message)
        case let e as HostError:
            let code =
                e.isRefusal
                ? AppLinksError.Code.invalidInput.description
                : e.networkFailure != nil ? "unreachable" : AppLinksError.Code.pluginFailed.description
            self.init(code: code, message: e.description)
        case is DecodingError:
            self.init(code: "invalid_request", message: "The plugin could not read the host's request: \(error)")
        default: self.init(code: "internal", message: "\(error)")
        }
    }
}
