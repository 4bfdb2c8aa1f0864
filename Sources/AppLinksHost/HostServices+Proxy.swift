import AppLinksCore
import AppLinksPluginABI
import AppLinksPluginIPC
import Foundation

extension HostServices {
    /// Answers a host API call that a plugin made in its runner process, by calling this host's own C table
    /// with this plugin's context: a plugin sees the same answers in process and out of it.
    ///
    /// Runs on a plugin thread, since most host functions wait. A call that does not match its function's
    /// shape is the runner's fault and gets a negative code.
    func perform(_ call: HostCall) -> CallResult {
        let t = Self.table.pointee
        let ctx = Unmanaged.passUnretained(self).toOpaque()
        let bad = CallResult(code: -1, output: Data())
        // Each byte argument, copied to C memory for the call; nil stays a NULL pointer.
        let args = call.blobs.map { blob -> UnsafeMutableRawBufferPointer? in
            guard let blob else { return nil }
            let p = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, blob.count), alignment: 8)
            _ = blob.copyBytes(to: p.bindMemory(to: UInt8.self))
            return UnsafeMutableRawBufferPointer(rebasing: p[0..<blob.count])
        }
        defer {
            for a in args { a.map { UnsafeMutableRawBufferPointer(start: $0.baseAddress, count: max(1, $0.count)).deallocate() } }
        }
        func bytes(_ i: Int) -> UnsafePointer<UInt8>? { args[i]?.baseAddress.map { UnsafePointer($0.assumingMemoryBound(to: UInt8.self)) } }
        func chars(_ i: Int) -> UnsafePointer<CChar>? { args[i]?.baseAddress.map { UnsafePointer($0.assumingMemoryBound(to: CChar.self)) } }
        func count(_ i: Int) -> Int { args[i]?.count ?? 0 }
        func int(_ i: Int) -> Int64 { call.ints[i] }
        func withOut(_ body: (UnsafeMutablePointer<applinks_buffer>) -> Int32) -> CallResult {
            var out = applinks_buffer(data: nil, len: 0)
            let rc = body(&out)
            let data = out.data.map { Data(bytes: $0, count: out.len) } ?? Data()
            t.free_buffer(ctx, &out)
            return CallResult(code: rc, output: data)
        }
        let shape: (ints: Int, blobs: Int) =
            switch call.function {
            case .log: (1, 1)
            case .kvGet, .kvDelete, .kvList, .secretSeal, .secretOpen, .httpRequest, .linkGet, .linkUpdate, .audit, .linkAccessToken: (0, 1)
            case .kvPut: (1, 2)
            case .kvCompareAndSet: (1, 3)
            case .randomBytes, .rsaGenerate: (1, 0)
            case .digest: (1, 1)
            case .hmac, .rsaSign: (1, 2)
            case .rsaVerify: (1, 3)
            case .instanceInfo, .linksList: (0, 0)
            }
        guard call.ints.count == shape.ints, call.blobs.count == shape.blobs else { return bad }
        switch call.function {
        case .log:
            t.log(ctx, Int32(truncatingIfNeeded: int(0)), chars(0), count(0))
            return CallResult(code: Int32(APPLINKS_OK), output: Data())
        case .kvGet: return withOut { t.kv_get(ctx, chars(0), count(0), $0) }
        case .kvPut: return CallResult(code: t.kv_put(ctx, chars(0), count(0), bytes(1), count(1), int(0)), output: Data())
        case .kvDelete: return CallResult(code: t.kv_delete(ctx, chars(0), count(0)), output: Data())
        case .kvList: return withOut { t.kv_list(ctx, chars(0), count(0), $0) }
        case .kvCompareAndSet:
            return CallResult(
                code: t.kv_compare_and_set(ctx, chars(0), count(0), bytes(1), count(1), bytes(2), count(2), int(0)), output: Data())
        case .secretSeal: return withOut { t.secret_seal(ctx, bytes(0), count(0), $0) }
        case .secretOpen: return withOut { t.secret_open(ctx, bytes(0), count(0), $0) }
        case .httpRequest: return withOut { t.http_request(ctx, bytes(0), count(0), $0) }
        case .randomBytes:
            guard (0...(1 << 20)).contains(int(0)) else { return bad }
            var data = Data(count: Int(int(0)))
            let rc = data.withUnsafeMutableBytes { t.random_bytes(ctx, $0.baseAddress?.assumingMemoryBound(to: UInt8.self), $0.count) }
            return CallResult(code: rc, output: rc == Int32(APPLINKS_OK) ? data : Data())
        case .digest: return withOut { t.digest(ctx, Int32(truncatingIfNeeded: int(0)), bytes(0), count(0), $0) }
        case .hmac: return withOut { t.hmac(ctx, Int32(truncatingIfNeeded: int(0)), bytes(0), count(0), bytes(1), count(1), $0) }
        case .rsaGenerate: return withOut { t.rsa_generate(ctx, Int32(truncatingIfNeeded: int(0)), $0) }
        case .rsaSign: return withOut { t.rsa_sign(ctx, Int32(truncatingIfNeeded: int(0)), chars(0), count(0), bytes(1), count(1), $0) }
        case .rsaVerify:
            return CallResult(
                code: t.rsa_verify(ctx, Int32(truncatingIfNeeded: int(0)), chars(0), count(0), bytes(1), count(1), bytes(2), count(2)),
                output: Data())
        case .instanceInfo: return withOut { t.instance_info(ctx, $0) }
        case .linksList: return withOut { t.links_list(ctx, $0) }
        case .linkGet: return withOut { t.link_get(ctx, chars(0), count(0), $0) }
        case .linkUpdate: return withOut { t.link_update(ctx, bytes(0), count(0), $0) }
        case .audit: return CallResult(code: t.audit(ctx, bytes(0), count(0)), output: Data())
        case .linkAccessToken: return withOut { t.link_access_token(ctx, chars(0), count(0), $0) }
        }
    }
}
