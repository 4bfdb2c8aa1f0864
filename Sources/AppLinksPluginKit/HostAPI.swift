import AppLinksCore
import AppLinksJSON
import AppLinksLocking
import AppLinksPluginABI
import Dispatch
import Foundation

/// The host's services, as async Swift functions. Every call is confined to this plugin's namespace.
///
/// The host API is synchronous C; each async function here runs the call on a ``BlockingThreadPool`` thread,
/// so that a blocking host call (HTTP, storage) never holds one of Swift's cooperative threads.
///
/// ```swift
/// try await host.kvPut("nonce:abc", Data(), ttl: .seconds(600))
/// let response = try await host.http(HostHTTPRequest(url: "https://jenkins.example.com/api/json"))
/// ```
public struct HostAPI: @unchecked Sendable {
    // The table and context are immutable and valid from init to shutdown; the host makes them thread-safe.
    let api: UnsafePointer<applinks_host_api>
    let context: UnsafeMutableRawPointer?

    package init(api: UnsafePointer<applinks_host_api>, context: UnsafeMutableRawPointer?) {
        self.api = api
        self.context = context
    }

    /// How a line the plugin logs is filed in the host's log, which tags it with the plugin's id.
    ///
    /// ```swift
    /// host.log(.warning, "the remote answered slowly")
    /// ```
    public enum LogLevel: Int32, Sendable {
        case trace = 0, debug, info, warning, error
    }

    public func log(_ level: LogLevel, _ message: String) {
        var m = message
        m.withUTF8 { p in p.withMemoryRebound(to: CChar.self) { api.pointee.log(context, level.rawValue, $0.baseAddress, $0.count) } }
    }

    // MARK: Key-value store

    public func kvGet(_ key: String) async throws -> Data? {
        try await offPool {
            var out = applinks_buffer()
            let rc = withKey(key) { api.pointee.kv_get(context, $0, $1, &out) }
            if rc == Int32(APPLINKS_NOT_FOUND) { return nil }
            return try check(rc, &out, "kv_get")
        }
    }

    public func kvPut(_ key: String, _ value: Data, ttl: Duration? = nil) async throws {
        try await offPool {
            let rc = withKey(key) { k, kl in
                value.withUnsafeBytes { v in
                    api.pointee.kv_put(context, k, kl, v.baseAddress?.assumingMemoryBound(to: UInt8.self), v.count, ttlSeconds(ttl))
                }
            }
            var none = applinks_buffer()
            _ = try check(rc, &none, "kv_put")
        }
    }

    public func kvDelete(_ key: String) async throws {
        try await offPool {
            let rc = withKey(key) { api.pointee.kv_delete(context, $0, $1) }
            var none = applinks_buffer()
            _ = try check(rc, &none, "kv_delete")
        }
    }

    public func kvList(prefix: String) async throws -> [String] {
        try await offPool {
            var out = applinks_buffer()
            let rc = withKey(prefix) { api.pointee.kv_list(context, $0, $1, &out) }
            return try JSONCoding.decode([String].self, from: try check(rc, &out, "kv_list"))
        }
    }

    /// Atomically swaps `expected` (nil: absent) for `replacement` (nil: delete). Returns false if it lost the race.
    public func kvCompareAndSet(_ key: String, expected: Data?, replacement: Data?, ttl: Duration? = nil) async throws -> Bool {
        try await offPool {
            let rc = withKey(key) { k, kl in
                withOptionalBytes(expected) { e, el in
                    withOptionalBytes(replacement) { r, rl in
                        api.pointee.kv_compare_and_set(context, k, kl, e, el, r, rl, ttlSeconds(ttl))
                    }
                }
            }
            if rc == Int32(APPLINKS_CONFLICT) { return false }
            var none = applinks_buffer()
            _ = try check(rc, &none, "kv_compare_and_set")
            return true
        }
    }

    /// Applies `changes` in one transaction, all or none (ABI 1.3's `kv_batch`): a change that spans keys costs one
    /// commit, and no crash or concurrent request sees it half made. Returns nil when applied, or the index of the
    /// first ``KVChange/require(key:value:)`` that did not hold, in which case nothing was written.
    ///
    /// ```swift
    /// let spent = try await host.kvBatch([.require(key: "code/x", value: issued), .delete(key: "code/x"), .put(key: "grant/g", value: g, ttl: nil)])
    /// ```
    public func kvBatch(_ changes: [KVChange]) async throws -> Int? {
        try await offPool {
            let request = KVChange.jsonData(changes)
            var out = applinks_buffer()
            let rc = request.withUnsafeBytes {
                api.pointee.kv_batch(context, $0.baseAddress?.assumingMemoryBound(to: UInt8.self), $0.count, &out)
            }
            if rc == Int32(APPLINKS_CONFLICT) {
                let body = BufferIO.take(&out)
                freeHost(&out)
                guard let index = (try? JSONValue.parse(body))?["index"]?.doubleValue.flatMap({ Int(exactly: $0) }) else {
                    throw AppLinksError(.pluginFailed, "kv_batch answered a conflict without the index of the failed requirement.")
                }
                return index
            }
            _ = try check(rc, &out, "kv_batch")
            return nil
        }
    }

    // MARK: Secrets

    public func seal(_ plaintext: Data) async throws -> Data {
        try await offPool { try bytesCall(plaintext, "secret_seal") { api.pointee.secret_seal(context, $0, $1, $2) } }
    }

    public func open(_ sealed: Data) async throws -> Data {
        try await offPool { try bytesCall(sealed, "secret_open") { api.pointee.secret_open(context, $0, $1, $2) } }
    }

    // MARK: HTTP

    /// One outbound request. A transport failure throws an `AppLinksError` whose message starts with the
    /// status error type (CONNECTION_REFUSED, UNKNOWN_HOST, TIMEOUT, ...).
    public func http(_ request: HostHTTPRequest) async throws -> HostHTTPResponse {
        try await offPool {
            let body = try bytesCall(try JSONCoding.encode(request), "http_request") { api.pointee.http_request(context, $0, $1, $2) }
            return try JSONCoding.decode(HostHTTPResponse.self, from: body)
        }
    }

    // MARK: Crypto

    public func randomBytes(_ count: Int) async throws -> Data {
        try await offPool {
            var bytes = [UInt8](repeating: 0, count: count)
            let rc = api.pointee.random_bytes(context, &bytes, count)
            var none = applinks_buffer()
            _ = try check(rc, &none, "random_bytes")
            return Data(bytes)
        }
    }

    /// The hash for ``digest(_:_:)``, ``hmac(_:key:_:)`` and the RSA functions: SHA-1 only where a protocol
    /// demands it (OAuth 1.0's RSA-SHA1 and HMAC-SHA1), SHA-256 otherwise.
    ///
    /// ```swift
    /// let hash = try await host.digest(.sha256, Data("abc".utf8))
    /// ```
    public enum DigestAlgorithm: Int32, Sendable {
        case sha1 = 1, sha256 = 2
    }

    public func digest(_ algorithm: DigestAlgorithm, _ data: Data) async throws -> Data {
        try await offPool { try bytesCall(data, "digest") { api.pointee.digest(context, algorithm.rawValue, $0, $1, $2) } }
    }

    public func hmac(_ algorithm: DigestAlgorithm, key: Data, _ data: Data) async throws -> Data {
        try await offPool {
            try key.withUnsafeBytes { k in
                try bytesCall(data, "hmac") {
                    api.pointee.hmac(context, algorithm.rawValue, k.baseAddress?.assumingMemoryBound(to: UInt8.self), k.count, $0, $1, $2)
                }
            }
        }
    }

    /// A key pair from ``rsaGenerate(bits:)``, in PEM: keep the private half sealed (``seal(_:)``) before
    /// storing it.
    ///
    /// ```swift
    /// let pair = try await host.rsaGenerate()
    /// try await host.kvPut("key", try await host.seal(Data(pair.privateKeyPEM.utf8)))
    /// ```
    public struct RSAKeyPair: Codable, Sendable {
        public var privateKeyPEM: String
        public var publicKeyPEM: String
        enum CodingKeys: String, CodingKey {
            case privateKeyPEM = "private_key_pem"
            case publicKeyPEM = "public_key_pem"
        }
    }

    public func rsaGenerate(bits: Int = 2048) async throws -> RSAKeyPair {
        try await offPool {
            var out = applinks_buffer()
            let rc = api.pointee.rsa_generate(context, Int32(bits), &out)
            return try JSONCoding.decode(RSAKeyPair.self, from: try check(rc, &out, "rsa_generate"))
        }
    }

    /// Signs with `privateKeyPEM`, or with this instance's own key when it is nil.
    public func rsaSign(_ algorithm: DigestAlgorithm, privateKeyPEM: String?, _ data: Data) async throws -> Data {
        try await offPool { try rsaSignHere(algorithm, privateKeyPEM: privateKeyPEM, data) }
    }

    /// Signs on the calling thread. RSA signing waits for nothing, so a synchronous caller, such as an OAuth 1.0
    /// signer using the instance key (`privateKeyPEM: nil`), may call it directly.
    public func rsaSignHere(_ algorithm: DigestAlgorithm, privateKeyPEM: String?, _ data: Data) throws -> Data {
        try withOptionalString(privateKeyPEM) { pem, pemLen in
            try bytesCall(data, "rsa_sign") { api.pointee.rsa_sign(context, algorithm.rawValue, pem, pemLen, $0, $1, $2) }
        }
    }

    public func rsaVerify(_ algorithm: DigestAlgorithm, publicKeyPEM: String, _ data: Data, signature: Data) async throws -> Bool {
        try await offPool {
            let rc = withOptionalString(publicKeyPEM) { pem, pemLen in
                data.withUnsafeBytes { d in
                    signature.withUnsafeBytes { s in
                        api.pointee.rsa_verify(
                            context, algorithm.rawValue, pem, pemLen, d.baseAddress?.assumingMemoryBound(to: UInt8.self), d.count,
                            s.baseAddress?.assumingMemoryBound(to: UInt8.self), s.count)
                    }
                }
            }
            if rc == Int32(APPLINKS_CONFLICT) { return false }
            var none = applinks_buffer()
            _ = try check(rc, &none, "rsa_verify")
            return true
        }
    }

    // MARK: Instance, links, audit

    public func instanceInfo() async throws -> InstanceInfo {
        try await offPool {
            var out = applinks_buffer()
            let rc = api.pointee.instance_info(context, &out)
            return try JSONCoding.decode(InstanceInfo.self, from: try check(rc, &out, "instance_info"))
        }
    }

    /// This plugin's own links.
    public func links() async throws -> [Link] {
        try await offPool {
            var out = applinks_buffer()
            let rc = api.pointee.links_list(context, &out)
            return try JSONCoding.decode([Link].self, from: try check(rc, &out, "links_list"))
        }
    }

    public func link(id: String) async throws -> Link? {
        try await offPool {
            var out = applinks_buffer()
            let rc = withKey(id) { api.pointee.link_get(context, $0, $1, &out) }
            if rc == Int32(APPLINKS_NOT_FOUND) { return nil }
            return try JSONCoding.decode(Link.self, from: try check(rc, &out, "link_get"))
        }
    }

    /// Reads the link, applies what `change` makes of it, and tries again when another writer changed the link in
    /// between, up to `attempts` times. Returns nil when the link is gone; `change` returning nil changes nothing.
    ///
    /// ```swift
    /// try await host.updateLink(id: id) { link in LinkChanges(secrets: ["access_token": token]) }
    /// ```
    @discardableResult
    public func updateLink(
        id: String, attempts: Int = 3, _ change: @Sendable (Link) async throws -> LinkChanges?
    ) async throws -> Link? {
        for _ in 0..<attempts {
            guard let link = try await link(id: id) else { return nil }
            guard let changes = try await change(link) else { return link }
            do {
                return try await updateLink(id: id, version: link.version, changes: changes)
            } catch let e as AppLinksError where e.code == .conflict {
                continue
            }
        }
        throw PluginError(code: "conflict", message: "The link \(id) changed \(attempts) times while it was being updated; try again.")
    }

    /// Applies `changes` if the link is still at `version`; throws `.conflict` otherwise.
    public func updateLink(id: String, version: Int, changes: LinkChanges) async throws -> Link {
        try await offPool {
            let request = try JSONCoding.encode(LinkUpdateRequest(id: id, version: version, changes: changes))
            var out = applinks_buffer()
            let rc = request.withUnsafeBytes {
                api.pointee.link_update(context, $0.baseAddress?.assumingMemoryBound(to: UInt8.self), $0.count, &out)
            }
            if rc == Int32(APPLINKS_CONFLICT) {
                freeHost(&out)
                throw AppLinksError(.conflict, "The link \(id) was changed concurrently; reload it and retry.")
            }
            return try JSONCoding.decode(Link.self, from: try check(rc, &out, "link_update"))
        }
    }

    public func audit(action: String, linkID: String? = nil, detail: [String: JSONValue] = [:]) async throws {
        struct Event: Encodable {
            var action: String
            var link_id: String?
            var detail: [String: JSONValue]
        }
        try await offPool {
            let event = try JSONCoding.encode(Event(action: action, link_id: linkID, detail: detail))
            let rc = event.withUnsafeBytes { api.pointee.audit(context, $0.baseAddress?.assumingMemoryBound(to: UInt8.self), $0.count) }
            var none = applinks_buffer()
            _ = try check(rc, &none, "audit")
        }
    }

    /// A fresh access token for the application another link points at, from that link's type (ABI 1.1): how a
    /// link type calls an API through an `oauth2-outgoing` link, for one.
    public func accessToken(forLink id: String) async throws -> String {
        try await offPool {
            var out = applinks_buffer()
            let rc = withKey(id) { api.pointee.link_access_token(context, $0, $1, &out) }
            if rc == Int32(APPLINKS_NOT_FOUND) {
                freeHost(&out)
                throw AppLinksError(.notFound, "There is no link '\(id)'.")
            }
            let body = try check(rc, &out, "link_access_token")
            guard let token = try JSONValue.parse(body)["access_token"]?.stringValue else {
                throw AppLinksError(.pluginFailed, "link_access_token answered without an access token.")
            }
            return token
        }
    }

    // MARK: Plumbing

    /// Makes a host call that may block: right here on a thread the host reserved for this call (see
    /// ``ReservedThread``), otherwise on a pool thread, so that Swift's cooperative threads never block.
    private func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        if ReservedThread.isCurrent { return try body() }
        return try await BlockingThreadPool.shared.run(body)
    }

    private func freeHost(_ buffer: inout applinks_buffer) {
        if buffer.data != nil { api.pointee.free_buffer(context, &buffer) }
    }

    /// Takes a host result: the bytes on success, a ``HostError`` from the error JSON otherwise. Frees the buffer.
    private func check(_ rc: Int32, _ out: inout applinks_buffer, _ what: String) throws -> Data {
        let data = BufferIO.take(&out)
        freeHost(&out)
        switch rc {
        case Int32(APPLINKS_OK): return data
        case Int32(APPLINKS_NOT_FOUND): throw AppLinksError(.notFound, "\(what): not found")
        case Int32(APPLINKS_CONFLICT): throw AppLinksError(.conflict, "\(what): conflict")
        default:
            if let e = try? JSONCoding.decode(PluginErrorBody.self, from: data) {
                throw HostError(code: e.code, message: e.message, function: what)
            }
            throw AppLinksError(.pluginFailed, "\(what) failed with code \(rc)")
        }
    }

    private func bytesCall(
        _ input: Data, _ what: String,
        _ call: (UnsafePointer<UInt8>?, Int, UnsafeMutablePointer<applinks_buffer>) -> Int32
    ) throws -> Data {
        var out = applinks_buffer()
        let rc = input.withUnsafeBytes { call($0.baseAddress?.assumingMemoryBound(to: UInt8.self), $0.count, &out) }
        return try check(rc, &out, what)
    }
}

/// The host API takes whole seconds, where 0 means no expiry: round up, so a short TTL still expires.
private func ttlSeconds(_ ttl: Duration?) -> Int64 { ttl?.wholeSecondsRoundedUp ?? 0 }

private func withKey<R>(_ key: String, _ body: (UnsafePointer<CChar>?, Int) throws -> R) rethrows -> R {
    var k = key
    return try k.withUTF8 { p in try p.withMemoryRebound(to: CChar.self) { try body($0.baseAddress, $0.count) } }
}

private func withOptionalString<R>(_ s: String?, _ body: (UnsafePointer<CChar>?, Int) throws -> R) rethrows -> R {
    guard let s else { return try body(nil, 0) }
    return try withKey(s, body)
}

private func withOptionalBytes<R>(_ d: Data?, _ body: (UnsafePointer<UInt8>?, Int) throws -> R) rethrows -> R {
    guard let d else { return try body(nil, 0) }
    return try d.withUnsafeBytes { try body($0.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(bitPattern: 1), $0.count) }
}
