import AppLinksCore
import AppLinksPluginABI
import AppLinksPluginIPC
import Dispatch
import Foundation
import Synchronization

/// Loads one plugin library and serves the host's calls to it over a pipe, proxying the plugin's own calls
/// to the host API back over the same pipe. A crash or a hang here costs the host this process only.
final class PluginRunner: @unchecked Sendable {
    // `raw` points at the plugin's immortal descriptor; the rest is immutable or guarded by its Mutex.
    private let channel: FrameChannel
    private let raw: UnsafePointer<applinks_plugin_descriptor>
    private let natives: [String: NativeAction]
    private let context = Mutex<Context>(.none)
    private let waiting = Mutex<[UInt64: Waiter]>([:])
    private let nextID = Atomic<UInt64>(1)

    private enum Context {
        case none
        case ready(UnsafeMutableRawPointer?)
        case failed(Int32)
    }

    /// One plugin thread waiting for the host's answer to a host API call.
    private final class Waiter: @unchecked Sendable {
        // `result` is written once, before `done` is signalled, and read after the wait.
        let done = DispatchSemaphore(value: 0)
        var result = CallResult(code: -1, output: Data())
    }

    private init(channel: FrameChannel, raw: UnsafePointer<applinks_plugin_descriptor>, natives: [String: NativeAction]) {
        self.channel = channel
        self.raw = raw
        self.natives = natives
    }

    /// Sets up the descriptors, says hello with the plugin's descriptor, then serves until the host closes the
    /// pipe or asks for shutdown. Returns the exit status.
    static func main(library: String) -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        // Frames go on private copies of stdin and stdout; a plugin that prints, or a child it starts, then
        // writes to stderr and reads nothing instead of corrupting the stream.
        let input = fcntl(0, F_DUPFD_CLOEXEC, 3)
        let output = fcntl(1, F_DUPFD_CLOEXEC, 3)
        guard input >= 0, output >= 0 else { return 3 }
        let null = open("/dev/null", O_RDONLY)
        if null >= 0 { dup2(null, 0) }
        dup2(2, 1)
        let channel = FrameChannel(readFD: input, writeFD: output)

        let handle: UnsafeMutableRawPointer
        let raw: UnsafePointer<applinks_plugin_descriptor>
        do {
            (handle, raw) = try PluginLibrary.open(library)
        } catch {
            return hello(channel, RunnerHello(fields: nil, refusal: error.reason, fix: error.fix))
        }
        let fields = DescriptorFields(raw)
        var natives: [String: NativeAction] = [:]
        var refusals: [String] = []
        if let json = fields.descriptorJSON, let descriptor = try? JSONCoding.decode(LinkTypeDescriptor.self, from: Data(json.utf8)) {
            for action in descriptor.actions where action.cFunction != nil {
                switch NativeAction.resolve(action, in: handle) {
                case .resolved(let native): natives[action.id] = native
                case .refused(let why): refusals.append(why)
                }
            }
        }
        let runner = PluginRunner(channel: channel, raw: raw, natives: natives)
        guard hello(channel, RunnerHello(fields: fields, nativeRefusals: refusals)) == 0 else { return 1 }
        return runner.serve()
    }

    private static func hello(_ channel: FrameChannel, _ hello: RunnerHello) -> Int32 {
        let data = (try? JSONCoding.encode(hello)) ?? Data()
        return channel.send(Frame(.hello, id: 0, data)) ? 0 : 1
    }

    private func serve() -> Int32 {
        while let frame = channel.receive() {
            switch frame.kind {
            case .call:
                BlockingThreadPool.shared.submit { [self] in
                    let result = Self.$callID.withValue(frame.id) { answer(frame.payload) }
                    channel.send(Frame(.result, id: frame.id, result.encoded()))
                }
            case .hostResult:
                guard let waiter = waiting.withLock({ $0.removeValue(forKey: frame.id) }) else { continue }
                waiter.result = CallResult(decoding: frame.payload) ?? CallResult(code: -1, output: Data())
                waiter.done.signal()
            case .shutdown:
                if case .ready(let ctx) = context.withLock({ $0 }) { raw.pointee.shutdown(ctx) }
                return 0
            case .hello, .result, .hostCall:
                continue
            }
        }
        return 0  // the host is gone
    }

    /// Runs `init` once, on the first call, as the host does in process.
    /// The plugin's context, or the answer to give every call when its `init` failed.
    private func pluginContext() -> (UnsafeMutableRawPointer?, CallResult?) {
        context.withLock { c -> (UnsafeMutableRawPointer?, CallResult?) in
            switch c {
            case .ready(let ctx): return (ctx, nil)
            case .failed(let rc): return (nil, Self.initFailure(rc))
            case .none:
                var ctx: UnsafeMutableRawPointer?
                let rc = raw.pointee.`init`(Self.hostTable, Unmanaged.passUnretained(self).toOpaque(), &ctx)
                guard rc == Int32(APPLINKS_OK) else {
                    c = .failed(rc)
                    return (nil, Self.initFailure(rc))
                }
                c = .ready(ctx)
                return (ctx, nil)
            }
        }
    }

    private static func initFailure(_ rc: Int32) -> CallResult {
        let body = #"{"code":"init_failed","message":"the plugin refused to start: its init returned \#(rc)"}"#
        return CallResult(code: Int32(APPLINKS_ERROR), output: Data(body.utf8))
    }

    private func answer(_ payload: Data) -> CallResult {
        guard let call = PluginCall(decoding: payload) else { return CallResult(code: -1, output: Data()) }
        let (ctx, failure) = pluginContext()
        if let failure { return failure }
        var out = applinks_buffer(data: nil, len: 0)
        let rc: Int32
        switch call.function {
        case .native:
            guard let request = try? JSONCoding.decode(NativeCall.self, from: call.request), let native = natives[request.action] else {
                return CallResult(code: -1, output: Data())
            }
            let link = request.linkID.map {
                NativeAction.LinkContext(
                    host: UnsafeRawPointer(Self.hostTable), hostContext: Unmanaged.passUnretained(self).toOpaque(), linkID: $0)
            }
            rc = native.call(context: ctx, link: link, values: request.values, out: &out)
        case .wizardStep, .checkStatus, .invokeAction, .handleHTTP:
            let d = raw.pointee
            let fn =
                switch call.function {
                case .wizardStep: d.wizard_step
                case .checkStatus: d.check_status
                case .invokeAction: d.invoke_action
                default: d.handle_http
                }
            guard let fn else { return CallResult(code: -1, output: Data()) }
            rc = call.request.withUnsafeBytes { fn(ctx, $0.baseAddress?.assumingMemoryBound(to: UInt8.self), $0.count, &out) }
        }
        let output = out.data.map { Data(bytes: $0, count: out.len) } ?? Data()
        if out.data != nil { raw.pointee.free_buffer(ctx, &out) }
        return CallResult(code: rc, output: output)
    }

    /// The plugin call this thread is answering, which the host calls it makes name.
    @TaskLocal static var callID: UInt64 = 0

    /// Sends a host API call and waits for the host's answer on this (plugin) thread.
    fileprivate func host(_ call: HostCall) -> CallResult {
        var call = call
        call.callID = Self.callID
        let id = nextID.add(1, ordering: .relaxed).newValue
        let waiter = Waiter()
        waiting.withLock { $0[id] = waiter }
        guard channel.send(Frame(.hostCall, id: id, call.encoded())) else {
            waiting.withLock { _ = $0.removeValue(forKey: id) }
            return CallResult(code: -1, output: Data())
        }
        waiter.done.wait()
        return waiter.result
    }

    fileprivate func tell(_ call: HostCall) {
        channel.send(Frame(.hostCall, id: 0, call.encoded()))
    }

    // MARK: The host API, proxied

    private static func runner(_ ctx: UnsafeMutableRawPointer?) -> PluginRunner {
        Unmanaged<PluginRunner>.fromOpaque(ctx!).takeUnretainedValue()
    }

    private static func blob(_ p: UnsafeRawPointer?, _ len: Int) -> Data? {
        p.map { Data(bytes: $0, count: len) }
    }

    private static func call(
        _ ctx: UnsafeMutableRawPointer?, _ f: HostCall.Function, ints: [Int64] = [], blobs: [Data?] = [],
        _ out: UnsafeMutablePointer<applinks_buffer>? = nil
    ) -> Int32 {
        let r = runner(ctx).host(HostCall(f, ints: ints, blobs: blobs))
        if let out {
            if r.output.isEmpty {
                out.pointee = applinks_buffer(data: nil, len: 0)
            } else {
                let p = malloc(r.output.count)!.assumingMemoryBound(to: UInt8.self)
                r.output.copyBytes(to: p, count: r.output.count)
                out.pointee = applinks_buffer(data: p, len: r.output.count)
            }
        }
        return r.code
    }

    nonisolated(unsafe) static let hostTable: UnsafePointer<applinks_host_api> = {
        let t = UnsafeMutablePointer<applinks_host_api>.allocate(capacity: 1)
        t.initialize(
            to: applinks_host_api(
                struct_size: UInt32(MemoryLayout<applinks_host_api>.size),
                abi_version: PluginLibrary.hostABIVersion,
                free_buffer: { _, buffer in
                    guard let buffer else { return }
                    free(buffer.pointee.data)
                    buffer.pointee = applinks_buffer(data: nil, len: 0)
                },
                log: { ctx, level, message, len in
                    runner(ctx).tell(HostCall(.log, ints: [Int64(level)], blobs: [blob(message, len)]))
                },
                kv_get: { ctx, key, len, out in call(ctx, .kvGet, blobs: [blob(key, len)], out) },
                kv_put: { ctx, key, keyLen, value, valueLen, ttl in
                    call(ctx, .kvPut, ints: [ttl], blobs: [blob(key, keyLen), blob(value, valueLen)])
                },
                kv_delete: { ctx, key, len in call(ctx, .kvDelete, blobs: [blob(key, len)]) },
                kv_list: { ctx, prefix, len, out in call(ctx, .kvList, blobs: [blob(prefix, len)], out) },
                kv_compare_and_set: { ctx, key, keyLen, expected, expectedLen, replacement, replacementLen, ttl in
                    call(
                        ctx, .kvCompareAndSet, ints: [ttl],
                        blobs: [blob(key, keyLen), blob(expected, expectedLen), blob(replacement, replacementLen)])
                },
                secret_seal: { ctx, p, len, out in call(ctx, .secretSeal, blobs: [blob(p, len)], out) },
                secret_open: { ctx, p, len, out in call(ctx, .secretOpen, blobs: [blob(p, len)], out) },
                http_request: { ctx, p, len, out in call(ctx, .httpRequest, blobs: [blob(p, len)], out) },
                random_bytes: { ctx, out, len in
                    let r = runner(ctx).host(HostCall(.randomBytes, ints: [Int64(len)]))
                    guard r.code == Int32(APPLINKS_OK), r.output.count == len, let out else { return r.code == 0 ? -1 : r.code }
                    r.output.copyBytes(to: out, count: len)
                    return r.code
                },
                digest: { ctx, alg, p, len, out in call(ctx, .digest, ints: [Int64(alg)], blobs: [blob(p, len)], out) },
                hmac: { ctx, alg, key, keyLen, p, len, out in
                    call(ctx, .hmac, ints: [Int64(alg)], blobs: [blob(key, keyLen), blob(p, len)], out)
                },
                rsa_generate: { ctx, bits, out in call(ctx, .rsaGenerate, ints: [Int64(bits)], out) },
                rsa_sign: { ctx, alg, pem, pemLen, p, len, out in
                    call(ctx, .rsaSign, ints: [Int64(alg)], blobs: [blob(pem, pemLen), blob(p, len)], out)
                },
                rsa_verify: { ctx, alg, pem, pemLen, p, len, sig, sigLen in
                    call(ctx, .rsaVerify, ints: [Int64(alg)], blobs: [blob(pem, pemLen), blob(p, len), blob(sig, sigLen)])
                },
                instance_info: { ctx, out in call(ctx, .instanceInfo, out) },
                links_list: { ctx, out in call(ctx, .linksList, out) },
                link_get: { ctx, id, len, out in call(ctx, .linkGet, blobs: [blob(id, len)], out) },
                link_update: { ctx, p, len, out in call(ctx, .linkUpdate, blobs: [blob(p, len)], out) },
                audit: { ctx, p, len in call(ctx, .audit, blobs: [blob(p, len)]) },
                link_access_token: { ctx, id, len, out in call(ctx, .linkAccessToken, blobs: [blob(id, len)], out) }
            ))
        return UnsafePointer(t)
    }()
}
