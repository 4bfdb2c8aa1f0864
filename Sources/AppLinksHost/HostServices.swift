import AppLinksCore
import AppLinksCrypto
import AppLinksJSON
import AppLinksPluginABI
import AppLinksPluginIPC
import AppLinksPluginRuntime
import AppLinksStore
import Foundation
import Logging

/// The host API that one plugin sees: every key, secret and link it reaches is confined to its own id.
///
/// Plugins reach it through the shared C table (``HostAPITable``), with a ``HostAPIContext`` over it as their
/// `host_ctx`, and a plugin in a runner through the frames its runner forwards (``PluginHostAPI/answer(_:)``).
/// All requirements run on plugin threads (see `PluginThreads`), never on Swift's cooperative pool.
final class HostServices: PluginHostAPI {
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

    var secretContext: String { "plugin:\(pluginID)" }
    var actor: String { "plugin:\(pluginID)" }

    func log(level: Int32, _ message: String) {
        let lvl: Logger.Level = [.trace, .debug, .info, .warning, .error][Int(max(0, min(4, level)))]
        logger.log(level: lvl, "\(message)")
    }

    // MARK: Key-value store

    func kvGet(_ key: String) throws -> Data? {
        try kv({ try $0.valueBlocking(namespace: pluginID, key: key) }, { [pluginID] in try await $0.value(namespace: pluginID, key: key) })
    }

    func kvPut(_ key: String, value: Data, ttlSeconds: Int64) throws {
        let ttl = Self.ttl(ttlSeconds)
        try kv(
            { try $0.putBlocking(namespace: pluginID, key: key, value: value, ttl: ttl) },
            { [pluginID] in try await $0.put(namespace: pluginID, key: key, value: value, ttl: ttl) })
    }

    func kvDelete(_ key: String) throws {
        try kv(
            { try $0.deleteBlocking(namespace: pluginID, key: key) }, { [pluginID] in try await $0.delete(namespace: pluginID, key: key) })
    }

    func kvList(prefix: String) throws -> Data {
        try JSONCoding.encode(
            try kv(
                { try $0.keysBlocking(namespace: pluginID, prefix: prefix) },
                { [pluginID] in try await $0.keys(namespace: pluginID, prefix: prefix) }))
    }

    func kvCompareAndSet(_ key: String, expected: Data?, replacement: Data?, ttlSeconds: Int64) throws -> Bool {
        let ttl = Self.ttl(ttlSeconds)
        return try kv(
            { try $0.compareAndSetBlocking(namespace: pluginID, key: key, expected: expected, replacement: replacement, ttl: ttl) },
            { [pluginID] in
                try await $0.compareAndSet(namespace: pluginID, key: key, expected: expected, replacement: replacement, ttl: ttl)
            })
    }

    func kvBatch(_ changes: [KVChange]) throws -> Int? {
        try kv({ try $0.applyBlocking(namespace: pluginID, changes) }, { [pluginID] in try await $0.apply(namespace: pluginID, changes) })
    }

    /// A key-value call: on this thread when the store can run it so (SQLite), on a plugin thread or in an inline
    /// route alike; otherwise through the async API (and an inline route is then never called inline).
    private func kv<T: Sendable>(
        _ blocking: (any BlockingPluginDataStore) throws -> T, _ async: @escaping @Sendable (any PluginDataStore) async throws -> T
    ) throws -> T {
        if let b = host.blockingStore { return try blocking(b) }
        let store: any PluginDataStore = host.store
        return try waitFor { try await async(store) }
    }

    private static func ttl(_ seconds: Int64) -> Duration? { seconds > 0 ? .seconds(seconds) : nil }

    // MARK: Secrets and crypto

    func secretSeal(_ plaintext: Data) throws -> Data { try host.sealer.seal(plaintext, context: secretContext) }
    func secretOpen(_ sealed: Data) throws -> Data { try host.sealer.open(sealed, context: secretContext) }
    func randomBytes(_ count: Int) throws -> Data { SecureRandom.bytes(count) }
    func digest(_ algorithm: Int32, _ data: Data) throws -> Data { Digest.hash(try Self.digest(algorithm), data) }

    func hmac(_ algorithm: Int32, key: Data, _ data: Data) throws -> Data {
        HMAC.authenticate(try Self.digest(algorithm), key: key, data: data)
    }

    func rsaGenerate(bits: Int32) throws -> Data {
        let key = try RSAKey.generate(bits: Int(bits))
        return try JSONCoding.encode(["private_key_pem": try key.privateKeyPEM(), "public_key_pem": try key.publicKeyPEM()])
    }

    func rsaSign(_ algorithm: Int32, privateKeyPEM: String?, _ data: Data) throws -> Data {
        let key = try privateKeyPEM.map { try RSAKey(privateKeyPEM: $0) } ?? host.instanceKey()
        return try key.sign(try Self.digest(algorithm), data)
    }

    func rsaVerify(_ algorithm: Int32, publicKeyPEM: String, _ data: Data, signature: Data) throws -> Bool {
        try RSAKey(publicKeyPEM: publicKeyPEM).verify(try Self.digest(algorithm), data, signature: signature)
    }

    private static func digest(_ alg: Int32) throws -> DigestAlgorithm {
        switch alg {
        case Int32(APPLINKS_DIGEST_SHA1): return .sha1
        case Int32(APPLINKS_DIGEST_SHA256): return .sha256
        default: throw AppLinksError(.invalidInput, "unknown digest algorithm \(alg); use APPLINKS_DIGEST_SHA1 or APPLINKS_DIGEST_SHA256")
        }
    }

    // MARK: HTTP, the instance, links and the audit log

    func httpRequest(_ request: Data) throws -> Data {
        let req = try JSONCoding.decode(HostHTTPRequest.self, from: request)
        return try JSONCoding.encode(try waitFor { try await self.host.http.execute(req) })
    }

    func instanceInfo() throws -> Data { try JSONCoding.encode(host.instanceInfo) }

    func linksList() throws -> Data {
        let links =
            try host.blockingStore?.linksBlocking(type: pluginID)
            ?? waitFor { try await self.host.store.links() }.filter { $0.type == self.pluginID }
        return try JSONCoding.encode(links)
    }

    /// Only a link of this plugin's own type: another type's link is "not found", not "forbidden", so that a
    /// plugin learns nothing about links it does not own.
    func linkGet(_ id: String) throws -> Data? {
        let found = try host.blockingStore.map { try $0.linkBlocking(id: id) } ?? waitFor { try await self.host.store.link(id: id) }
        guard let link = found, link.type == pluginID else { return nil }
        return try JSONCoding.encode(link)
    }

    func linkUpdate(_ request: Data) throws -> Data {
        let req = try JSONCoding.decode(LinkUpdateRequest.self, from: request)
        let updated = try waitFor {
            try await self.host.applyChanges(req.changes, toLink: req.id, atVersion: req.version, ofType: self.pluginID, actor: self.actor)
        }
        return try JSONCoding.encode(updated)
    }

    func audit(_ event: Data) throws {
        struct Event: Decodable {
            var action: String
            var link_id: String?
            var detail: [String: JSONValue]?
        }
        let e = try JSONCoding.decode(Event.self, from: event)
        try waitFor {
            try await self.host.store.appendAudit(
                AuditEvent(actor: self.actor, action: e.action, linkID: e.link_id, linkType: self.pluginID, detail: e.detail ?? [:]))
        }
    }

    func linkAccessToken(_ linkID: String) throws -> Data? {
        let token: String
        do {
            token = try waitFor { try await self.host.acting(as: self.actor).freshAccessToken(forLink: linkID) }
        } catch let e as AppLinksError where e.code == .notFound {
            return nil
        }
        return try JSONCoding.encode(["access_token": token, "token_type": "Bearer"])
    }
}

extension HTTPServiceError: HostAPIReportable {
    public var hostAPIFailure: HostAPIFailure { HostAPIFailure(type.rawValue, message) }
}
