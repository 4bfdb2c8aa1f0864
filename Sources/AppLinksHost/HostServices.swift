import AppLinksCore
import AppLinksCrypto
import AppLinksPluginABI
import AppLinksStore
import Foundation
import Logging

/// The host API that one plugin sees: every key, secret and link it reaches is confined to its own id.
///
/// The C table is one static value shared by all plugins; the `host_ctx` each plugin receives points at its
/// own `HostServices`. All callbacks are synchronous C, called on plugin threads (see `PluginThreads`).
final class HostServices: Sendable {
    let pluginID: String
    let host: Deployment
    let logger: Logger

    init(pluginID: String, host: Deployment) {
        self.pluginID = pluginID
        self.host = host
        var logger = host.logger
        logger[metadataKey: "plugin"] = "\(pluginID)"
        self.logger = logger
    }

    static func from(_ ctx: UnsafeMutableRawPointer?) -> HostServices {
        Unmanaged<HostServices>.fromOpaque(ctx!).takeUnretainedValue()
    }

    var secretContext: String { "plugin:\(pluginID)" }

    // MARK: Results

    static func write(_ data: Data, _ out: UnsafeMutablePointer<applinks_buffer>?) {
        guard let out else { return }
        guard !data.isEmpty, let p = malloc(data.count)?.assumingMemoryBound(to: UInt8.self) else {
            out.pointee = applinks_buffer(data: nil, len: 0)
            return
        }
        data.copyBytes(to: p, count: data.count)
        out.pointee = applinks_buffer(data: p, len: data.count)
    }

    static func fail(_ code: String, _ message: String, _ out: UnsafeMutablePointer<applinks_buffer>?) -> Int32 {
        write((try? JSONCoding.encode(PluginErrorBody(code: code, message: message))) ?? Data(), out)
        return Int32(APPLINKS_ERROR)
    }

    /// Runs a callback body, turning any thrown error into an APPLINKS_ERROR result.
    static func guarded(_ out: UnsafeMutablePointer<applinks_buffer>?, _ body: () throws -> Int32) -> Int32 {
        do { return try body() } catch let e as HTTPServiceError {
            return fail(e.type.rawValue, e.message, out)
        } catch let e as AppLinksError {
            if e.code == .conflict { return Int32(APPLINKS_CONFLICT) }
            if e.code == .notFound { return Int32(APPLINKS_NOT_FOUND) }
            return fail(e.code.description, e.message, out)
        } catch {
            return fail("internal", "\(error)", out)
        }
    }

    static func string(_ p: UnsafePointer<CChar>?, _ len: Int) -> String {
        guard let p else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: p, count: len), as: UTF8.self)
    }

    static func bytes(_ p: UnsafePointer<UInt8>?, _ len: Int) -> Data {
        guard let p, len > 0 else { return Data() }
        return Data(bytes: p, count: len)
    }

    static func digest(_ alg: Int32) throws -> DigestAlgorithm {
        switch alg {
        case Int32(APPLINKS_DIGEST_SHA1): return .sha1
        case Int32(APPLINKS_DIGEST_SHA256): return .sha256
        default: throw AppLinksError(.invalidInput, "unknown digest algorithm \(alg); use APPLINKS_DIGEST_SHA1 or APPLINKS_DIGEST_SHA256")
        }
    }

    static func ttl(_ seconds: Int64) -> Duration? { seconds > 0 ? .seconds(seconds) : nil }

    // MARK: The table

    nonisolated(unsafe) static let table: UnsafePointer<applinks_host_api> = {
        let t = UnsafeMutablePointer<applinks_host_api>.allocate(capacity: 1)
        t.initialize(
            to: applinks_host_api(
                struct_size: UInt32(MemoryLayout<applinks_host_api>.size),
                abi_version: PluginLoader.hostABIVersion,
                free_buffer: { _, buffer in
                    guard let buffer else { return }
                    free(buffer.pointee.data)
                    buffer.pointee = applinks_buffer(data: nil, len: 0)
                },
                log: { ctx, level, message, len in
                    let s = from(ctx)
                    let text = string(message, len)
                    let lvl: Logger.Level = [.trace, .debug, .info, .warning, .error][Int(max(0, min(4, level)))]
                    s.logger.log(level: lvl, "\(text)")
                },
                kv_get: { ctx, key, keyLen, out in
                    guarded(out) {
                        let s = from(ctx)
                        let k = string(key, keyLen)
                        guard
                            let v = try kv(
                                { try $0.valueBlocking(namespace: s.pluginID, key: k) }, s,
                                { try await $0.value(namespace: s.pluginID, key: k) })
                        else {
                            return Int32(APPLINKS_NOT_FOUND)
                        }
                        write(v, out)
                        return Int32(APPLINKS_OK)
                    }
                },
                kv_put: { ctx, key, keyLen, value, valueLen, ttlSeconds in
                    guarded(nil) {
                        let s = from(ctx)
                        let k = string(key, keyLen)
                        let v = bytes(value, valueLen)
                        let t = ttl(ttlSeconds)
                        try kv(
                            { try $0.putBlocking(namespace: s.pluginID, key: k, value: v, ttl: t) }, s,
                            { try await $0.put(namespace: s.pluginID, key: k, value: v, ttl: t) })
                        return Int32(APPLINKS_OK)
                    }
                },
                kv_delete: { ctx, key, keyLen in
                    guarded(nil) {
                        let s = from(ctx)
                        let k = string(key, keyLen)
                        try kv(
                            { try $0.deleteBlocking(namespace: s.pluginID, key: k) }, s,
                            { try await $0.delete(namespace: s.pluginID, key: k) })
                        return Int32(APPLINKS_OK)
                    }
                },
                kv_list: { ctx, prefix, prefixLen, out in
                    guarded(out) {
                        let s = from(ctx)
                        let p = string(prefix, prefixLen)
                        let keys = try kv(
                            { try $0.keysBlocking(namespace: s.pluginID, prefix: p) }, s,
                            { try await $0.keys(namespace: s.pluginID, prefix: p) })
                        write(try JSONCoding.encode(keys), out)
                        return Int32(APPLINKS_OK)
                    }
                },
                kv_compare_and_set: { ctx, key, keyLen, expected, expectedLen, replacement, replacementLen, ttlSeconds in
                    guarded(nil) {
                        let s = from(ctx)
                        let k = string(key, keyLen)
                        let e = expected == nil ? nil : bytes(expected, expectedLen)
                        let r = replacement == nil ? nil : bytes(replacement, replacementLen)
                        let t = ttl(ttlSeconds)
                        let swapped = try kv(
                            { try $0.compareAndSetBlocking(namespace: s.pluginID, key: k, expected: e, replacement: r, ttl: t) }, s,
                            { try await $0.compareAndSet(namespace: s.pluginID, key: k, expected: e, replacement: r, ttl: t) })
                        return swapped ? Int32(APPLINKS_OK) : Int32(APPLINKS_CONFLICT)
                    }
                },
                secret_seal: { ctx, plaintext, len, out in
                    guarded(out) {
                        let s = from(ctx)
                        write(try s.host.sealer.seal(bytes(plaintext, len), context: s.secretContext), out)
                        return Int32(APPLINKS_OK)
                    }
                },
                secret_open: { ctx, sealed, len, out in
                    guarded(out) {
                        let s = from(ctx)
                        write(try s.host.sealer.open(bytes(sealed, len), context: s.secretContext), out)
                        return Int32(APPLINKS_OK)
                    }
                },
                http_request: { ctx, request, len, out in
                    guarded(out) {
                        let s = from(ctx)
                        let req = try JSONCoding.decode(HostHTTPRequest.self, from: bytes(request, len))
                        let resp = try waitFor { try await s.host.http.execute(req) }
                        write(try JSONCoding.encode(resp), out)
                        return Int32(APPLINKS_OK)
                    }
                },
                random_bytes: { _, out, len in
                    guard let out else { return -1 }
                    let r = SecureRandom.bytes(len)
                    r.copyBytes(to: out, count: len)
                    return Int32(APPLINKS_OK)
                },
                digest: { _, alg, data, len, out in
                    guarded(out) {
                        write(Digest.hash(try digest(alg), bytes(data, len)), out)
                        return Int32(APPLINKS_OK)
                    }
                },
                hmac: { _, alg, key, keyLen, data, len, out in
                    guarded(out) {
                        write(HMAC.authenticate(try digest(alg), key: bytes(key, keyLen), data: bytes(data, len)), out)
                        return Int32(APPLINKS_OK)
                    }
                },
                rsa_generate: { _, bits, out in
                    guarded(out) {
                        guard (2048...4096).contains(bits) else {
                            throw AppLinksError(.invalidInput, "RSA keys must have 2048 to 4096 bits, not \(bits)")
                        }
                        let key = try RSAKey.generate(bits: Int(bits))
                        let pair = ["private_key_pem": try key.privateKeyPEM(), "public_key_pem": try key.publicKeyPEM()]
                        write(try JSONCoding.encode(pair), out)
                        return Int32(APPLINKS_OK)
                    }
                },
                rsa_sign: { ctx, alg, pem, pemLen, data, len, out in
                    guarded(out) {
                        let s = from(ctx)
                        let key = pem == nil ? try s.host.instanceKey() : try RSAKey(privateKeyPEM: string(pem, pemLen))
                        write(try key.sign(try digest(alg), bytes(data, len)), out)
                        return Int32(APPLINKS_OK)
                    }
                },
                rsa_verify: { _, alg, pem, pemLen, data, len, sig, sigLen in
                    guarded(nil) {
                        let key = try RSAKey(publicKeyPEM: string(pem, pemLen))
                        return key.verify(try digest(alg), bytes(data, len), signature: bytes(sig, sigLen))
                            ? Int32(APPLINKS_OK) : Int32(APPLINKS_CONFLICT)
                    }
                },
                instance_info: { ctx, out in
                    guarded(out) {
                        write(try JSONCoding.encode(from(ctx).host.instanceInfo), out)
                        return Int32(APPLINKS_OK)
                    }
                },
                links_list: { ctx, out in
                    guarded(out) {
                        let s = from(ctx)
                        let links =
                            try s.host.blockingStore?.linksBlocking(type: s.pluginID)
                            ?? waitFor { try await s.host.store.links() }.filter { $0.type == s.pluginID }
                        write(try JSONCoding.encode(links), out)
                        return Int32(APPLINKS_OK)
                    }
                },
                link_get: { ctx, id, idLen, out in
                    guarded(out) {
                        let s = from(ctx)
                        let linkID = string(id, idLen)
                        let found: Link?
                        if let b = s.host.blockingStore {
                            found = try b.linkBlocking(id: linkID)
                        } else {
                            found = try waitFor { try await s.host.store.link(id: linkID) }
                        }
                        guard let link = found, link.type == s.pluginID else {
                            return Int32(APPLINKS_NOT_FOUND)
                        }
                        write(try JSONCoding.encode(link), out)
                        return Int32(APPLINKS_OK)
                    }
                },
                link_update: { ctx, request, len, out in
                    guarded(out) {
                        let s = from(ctx)
                        let req = try JSONCoding.decode(LinkUpdateRequest.self, from: bytes(request, len))
                        let updated = try waitFor {
                            try await s.host.applyChanges(
                                req.changes, toLink: req.id, atVersion: req.version, ofType: s.pluginID,
                                actor: "plugin:\(s.pluginID)")
                        }
                        write(try JSONCoding.encode(updated), out)
                        return Int32(APPLINKS_OK)
                    }
                },
                audit: { ctx, event, len in
                    guarded(nil) {
                        struct Event: Decodable {
                            var action: String
                            var link_id: String?
                            var detail: [String: JSONValue]?
                        }
                        let s = from(ctx)
                        let e = try JSONCoding.decode(Event.self, from: bytes(event, len))
                        try waitFor {
                            try await s.host.store.appendAudit(
                                AuditEvent(
                                    actor: "plugin:\(s.pluginID)", action: e.action, linkID: e.link_id,
                                    linkType: s.pluginID, detail: e.detail ?? [:]))
                        }
                        return Int32(APPLINKS_OK)
                    }
                },
                link_access_token: { ctx, id, idLen, out in
                    guarded(out) {
                        let s = from(ctx)
                        let linkID = string(id, idLen)
                        let token: String
                        do {
                            token = try waitFor { try await s.host.acting(as: "plugin:\(s.pluginID)").freshAccessToken(forLink: linkID) }
                        } catch let e as AppLinksError where e.code == .notFound {
                            return Int32(APPLINKS_NOT_FOUND)
                        }
                        write(try JSONCoding.encode(["access_token": token, "token_type": "Bearer"]), out)
                        return Int32(APPLINKS_OK)
                    }
                }))
        return UnsafePointer(t)
    }()
}

/// A plugin's key-value call: on this thread when the store can run it so (SQLite), on a plugin thread or in an
/// inline route alike; otherwise through the async API (and an inline route is then never called inline).
private func kv<T: Sendable>(
    _ blocking: (any BlockingPluginDataStore) throws -> T, _ s: HostServices,
    _ async: @escaping @Sendable (any PluginDataStore) async throws -> T
) throws -> T {
    if let b = s.host.blockingStore { return try blocking(b) }
    let store: any PluginDataStore = s.host.store
    return try waitFor { try await async(store) }
}
