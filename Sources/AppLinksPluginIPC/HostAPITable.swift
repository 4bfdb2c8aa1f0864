import AppLinksPluginABI
import Foundation

/// What a plugin's `host_ctx` points at: whatever answers its host calls. In the host that is a
/// ``PluginHostAPI`` implementation; in a runner process, a proxy that forwards each call to the host as a frame.
public final class HostAPIContext: Sendable {
    private let answerer: @Sendable (HostCall) -> CallResult

    /// Calls answered by the host's own implementation of the API.
    public convenience init(_ api: any PluginHostAPI) {
        self.init(forwarding: { api.answer($0) })
    }

    /// Calls answered elsewhere; a runner sends them to the host. A `log` call needs no answer.
    public init(forwarding answer: @escaping @Sendable (HostCall) -> CallResult) {
        answerer = answer
    }

    public func answer(_ call: HostCall) -> CallResult { answerer(call) }

    /// The `host_ctx` value; valid while this object lives, so its owner keeps it until the plugin's shutdown.
    public var pointer: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }
}

/// The one `applinks_host_api` table, in the host and in every runner. Each entry turns its C arguments into a
/// ``HostCall`` (copying each byte argument once), asks the context for the answer, and copies the output into a
/// `malloc`ed buffer that the plugin hands back to `free_buffer`.
public enum HostAPITable {
    public static var pointer: UnsafePointer<applinks_host_api> { table }

    private static func context(_ ctx: UnsafeMutableRawPointer?) -> HostAPIContext {
        Unmanaged<HostAPIContext>.fromOpaque(ctx!).takeUnretainedValue()
    }

    private static func blob(_ p: UnsafeRawPointer?, _ len: Int) -> Data? {
        p.map { Data(bytes: $0, count: len) }
    }

    private static func call(
        _ ctx: UnsafeMutableRawPointer?, _ f: HostCall.Function, ints: [Int64] = [], blobs: [Data?] = [],
        _ out: UnsafeMutablePointer<applinks_buffer>? = nil
    ) -> Int32 {
        let r = context(ctx).answer(HostCall(f, ints: ints, blobs: blobs))
        if let out {
            if r.output.isEmpty {
                out.pointee = applinks_buffer(data: nil, len: 0)
            } else if let p = malloc(r.output.count)?.assumingMemoryBound(to: UInt8.self) {
                r.output.copyBytes(to: p, count: r.output.count)
                out.pointee = applinks_buffer(data: p, len: r.output.count)
            } else {
                out.pointee = applinks_buffer(data: nil, len: 0)
                return -1
            }
        }
        return r.code
    }

    nonisolated(unsafe) private static let table: UnsafePointer<applinks_host_api> = {
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
                log: { ctx, level, message, len in _ = call(ctx, .log, ints: [Int64(level)], blobs: [blob(message, len)]) },
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
                    guard let out else { return -1 }
                    let r = context(ctx).answer(HostCall(.randomBytes, ints: [Int64(len)]))
                    guard r.code == Int32(APPLINKS_OK) else { return r.code }
                    guard r.output.count == len else { return -1 }
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
                link_access_token: { ctx, id, len, out in call(ctx, .linkAccessToken, blobs: [blob(id, len)], out) },
                kv_batch: { ctx, p, len, out in call(ctx, .kvBatch, blobs: [blob(p, len)], out) }
            ))
        return UnsafePointer(t)
    }()
}
