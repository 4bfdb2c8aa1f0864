import AppLinksCore
import AppLinksJSON
import AppLinksLocking
import AppLinksPluginABI
import Foundation

/// One opened plugin's function table, with its `init` run once, on the first call, so that commands which only
/// read descriptors never start a plugin. The host calls through it in process, and a runner in its own process:
/// a plugin sees the same life cycle either way.
public final class PluginInstance: @unchecked Sendable {
    // `raw` points at the plugin's immortal descriptor; `state` is guarded by its lock.
    private let raw: UnsafePointer<applinks_plugin_descriptor>
    private let state = Locked<State>(.detached)

    private enum State {
        case detached
        case attached(HostAPIContext)
        case ready(UnsafeMutableRawPointer?, HostAPIContext)
        case failed(Int32)
        case ended
    }

    public init(_ raw: UnsafePointer<applinks_plugin_descriptor>) {
        self.raw = raw
    }

    /// Gives the plugin its host API; `init` itself waits for the first call.
    public func attach(_ host: HostAPIContext) {
        state.withLock { if case .detached = $0 { $0 = .attached(host) } }
    }

    /// The code of an `APPLINKS_ERROR` answer whose plugin refused to start, or never got a host API.
    public static let initFailedCode = "init_failed"

    /// Calls one of the plugin's JSON functions on this thread.
    public func call(_ function: PluginCall.Function, _ request: Data) -> CallResult {
        let started = start()
        guard case .success(let (ctx, _)) = started else { return Self.failure(started) }
        let d = raw.pointee
        let fn: (@convention(c) (UnsafeMutableRawPointer?, UnsafePointer<UInt8>?, Int, UnsafeMutablePointer<applinks_buffer>?) -> Int32)? =
            switch function {
            case .wizardStep: d.wizard_step
            case .checkStatus: d.check_status
            case .invokeAction: d.invoke_action
            case .handleHTTP: d.handle_http
            case .native: nil
            }
        guard let fn else { return CallResult(code: -1, output: Data()) }
        var out = applinks_buffer(data: nil, len: 0)
        let rc = request.withUnsafeBytes { fn(ctx, $0.baseAddress?.assumingMemoryBound(to: UInt8.self), $0.count, &out) }
        return collect(rc, &out, ctx)
    }

    /// Calls an action that is a plain C function, with arguments already converted; a `with_link` function
    /// also gets the host table, the plugin's host context and the link's id.
    public func callNative(_ native: NativeAction, linkID: String?, values: [String?]) -> CallResult {
        let started = start()
        guard case .success(let (ctx, host)) = started else { return Self.failure(started) }
        let link =
            native.withLink
            ? linkID.map { NativeAction.LinkContext(host: UnsafeRawPointer(HostAPITable.pointer), hostContext: host.pointer, linkID: $0) }
            : nil
        var out = applinks_buffer(data: nil, len: 0)
        let rc = native.call(context: ctx, link: link, values: values, out: &out)
        return collect(rc, &out, ctx)
    }

    /// Calls `shutdown` if `init` succeeded; any later call is refused.
    public func shutdown() {
        state.withLock { s in
            if case .ready(let ctx, _) = s { raw.pointee.shutdown(ctx) }
            s = .ended
        }
    }

    private struct StartFailure: Error {
        var message: String
    }

    private func start() -> Result<(UnsafeMutableRawPointer?, HostAPIContext), StartFailure> {
        state.withLock { s in
            switch s {
            case .ready(let ctx, let host): return .success((ctx, host))
            case .failed(let rc): return .failure(StartFailure(message: "the plugin refused to start: its init returned \(rc)"))
            case .detached: return .failure(StartFailure(message: "the plugin has no host API attached"))
            case .ended: return .failure(StartFailure(message: "the plugin has been shut down"))
            case .attached(let host):
                var ctx: UnsafeMutableRawPointer?
                let rc = raw.pointee.`init`(HostAPITable.pointer, host.pointer, &ctx)
                guard rc == Int32(APPLINKS_OK) else {
                    s = .failed(rc)
                    return .failure(StartFailure(message: "the plugin refused to start: its init returned \(rc)"))
                }
                s = .ready(ctx, host)
                return .success((ctx, host))
            }
        }
    }

    private static func failure(_ started: Result<(UnsafeMutableRawPointer?, HostAPIContext), StartFailure>) -> CallResult {
        guard case .failure(let why) = started else { return CallResult(code: -1, output: Data()) }
        let f = HostAPIFailure(initFailedCode, why.message)
        return CallResult(code: f.code, output: f.body)
    }

    /// The output's bytes, handed back to the plugin's own `free_buffer`.
    private func collect(_ rc: Int32, _ out: inout applinks_buffer, _ ctx: UnsafeMutableRawPointer?) -> CallResult {
        let output = out.data.map { Data(bytes: $0, count: out.len) } ?? Data()
        if out.data != nil { raw.pointee.free_buffer(ctx, &out) }
        return CallResult(code: rc, output: output)
    }
}
