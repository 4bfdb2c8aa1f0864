import AppLinksCore
import AppLinksCrypto
import AppLinksJSON
import AppLinksLocking
import AppLinksPluginABI
import AppLinksPluginIPC
import AppLinksPluginKit
import AppLinksStore
import Foundation

/// A host for a Swift plugin's unit tests: no process, no socket, no database.
///
/// Give ``api`` to the plugin's `init(host:)`, then call its methods directly. The plugin's calls reach this
/// object through the same C table as in a real host, so their arguments and results cross the same boundary.
/// - Key-value data lives in an ``InMemoryStore`` with a manual clock: ``advance(_:)`` expires entries.
/// - Outbound HTTP answers from ``onHTTP(_:)``; every request the plugin sent is in ``requests``.
/// - Links are the ones the test adds with ``addLink(_:)``; `link_update` checks their version as the host does,
///   and the secrets it sets are in ``secrets(of:)``, in clear.
/// - `instance_info` reports ``instance``, with ``now`` as the host's clock.
///
/// ```swift
/// let host = FakeHost(pluginID: "jenkins")
/// host.onHTTP { request in HostHTTPResponse(status: 200, headers: [["X-Jenkins", "2.440"]], body: Data()) }
/// let plugin = try JenkinsLinkType(host: host.api)
/// let step = try await plugin.wizardStep(WizardRequest(step: "url", answers: ["url": "https://ci.example.com"], draftID: "d"))
/// ```
public final class FakeHost: PluginHostAPI {
    public let pluginID: String
    public let instance: InstanceInfo
    private let store: InMemoryStore
    private let clock: (clock: StoreClock, advance: @Sendable (Duration) -> Void)
    private let state = Locked(State())
    private let instanceKey: RSAKey

    private struct State {
        var http: @Sendable (HostHTTPRequest) throws -> HostHTTPResponse = { request in
            throw AppLinksError(.invalidInput, "FakeHost has no answer for \(request.method) \(request.url); script one with onHTTP")
        }
        var requests: [HostHTTPRequest] = []
        var links: [String: Link] = [:]
        var secrets: [String: [String: String]] = [:]
        var audit: [String] = []
        var logs: [String] = []
        var listings = 0
    }

    public init(
        pluginID: String, baseURL: String = "https://applinks.test", start: Date = Date(timeIntervalSince1970: 1_800_000_000)
    ) throws {
        self.pluginID = pluginID
        clock = StoreClock.manual(startingAt: start)
        store = InMemoryStore(clock: clock.clock)
        instanceKey = try RSAKey.generate(bits: 2048)
        instance = InstanceInfo(
            id: "fake-instance", name: "FakeHost", version: "0.0.0", baseURL: baseURL, publicKeyPEM: try instanceKey.publicKeyPEM())
    }

    /// The host API to give the plugin's `init(host:)`.
    public var api: HostAPI {
        HostAPI(api: HostAPITable.pointer, context: retainedContext().pointer)
    }

    // Made on first use, since it refers back to `self`, and kept for the plugin's lifetime.
    private let contextLock = Locked<HostAPIContext?>(nil)
    private func retainedContext() -> HostAPIContext {
        contextLock.withLock { c in
            if let c { return c }
            let made = HostAPIContext(forwarding: { [weak self] call in self?.answer(call) ?? CallResult(code: -1, output: Data()) })
            c = made
            return made
        }
    }

    /// The host's clock as the plugin sees it.
    public var now: Date { clock.clock.now() }

    /// Moves the clock on; key-value entries past their TTL are gone.
    public func advance(_ duration: Duration) { clock.advance(duration) }

    /// How outbound requests are answered from now on. A thrown ``AppLinksError`` reaches the plugin as the
    /// host's error, like an unreachable remote.
    public func onHTTP(_ answer: @escaping @Sendable (HostHTTPRequest) throws -> HostHTTPResponse) {
        state.withLock { $0.http = answer }
    }

    /// What ``onHTTP(_:)`` throws for a remote that cannot be reached, as the host reports it.
    public static func unreachable(_ type: StatusErrorType = .connectionRefused, _ message: String) -> any Error {
        HostAPIFailure(type.rawValue, message)
    }

    /// What ``onHTTP(_:)`` throws for a request the host refuses to send (a private address, say).
    public static func refused(_ message: String) -> any Error { AppLinksError(.invalidInput, message) }

    /// Every outbound request, in order.
    public var requests: [HostHTTPRequest] { state.withLock { $0.requests } }

    /// Adds a link of this plugin's type, as the host would have stored it.
    public func addLink(_ link: Link) { state.withLock { $0.links[link.id] = link } }

    /// Creates the link a finished wizard describes, as the host does with a `done` answer, with its secrets.
    @discardableResult
    public func addLink(from spec: LinkSpec, secrets: [String: String] = [:], id: String = UUID().uuidString.lowercased()) -> Link {
        let link = Link(
            id: id, type: pluginID, name: spec.name, application: spec.application, displayURL: spec.displayURL, rpcURL: spec.rpcURL,
            incomingAuth: spec.incomingAuth, outgoingAuth: spec.outgoingAuth, config: spec.config, createdAt: now, updatedAt: now)
        state.withLock { s in
            s.links[id] = link
            s.secrets[id] = secrets
        }
        return link
    }

    public func link(_ id: String) -> Link? { state.withLock { $0.links[id] } }

    /// The secrets `link_update` set on a link, in clear.
    public func secrets(of linkID: String) -> [String: String] { state.withLock { $0.secrets[linkID] ?? [:] } }

    /// Each audit event as its JSON, and each log line as "LEVEL message".
    public var auditEvents: [String] { state.withLock { $0.audit } }
    public var logLines: [String] { state.withLock { $0.logs } }

    // MARK: PluginHostAPI

    public func log(level: Int32, _ message: String) {
        let name = ["trace", "debug", "info", "warning", "error"][Int(max(0, min(4, level)))]
        state.withLock { $0.logs.append("\(name) \(message)") }
    }

    public func kvGet(_ key: String) throws -> Data? { try store.valueBlocking(namespace: pluginID, key: key) }

    public func kvPut(_ key: String, value: Data, ttlSeconds: Int64) throws {
        try store.putBlocking(namespace: pluginID, key: key, value: value, ttl: ttlSeconds > 0 ? .seconds(ttlSeconds) : nil)
    }

    public func kvDelete(_ key: String) throws { try store.deleteBlocking(namespace: pluginID, key: key) }

    public func kvList(prefix: String) throws -> Data { try JSONCoding.encode(try store.keysBlocking(namespace: pluginID, prefix: prefix)) }

    public func kvCompareAndSet(_ key: String, expected: Data?, replacement: Data?, ttlSeconds: Int64) throws -> Bool {
        try store.compareAndSetBlocking(
            namespace: pluginID, key: key, expected: expected, replacement: replacement, ttl: ttlSeconds > 0 ? .seconds(ttlSeconds) : nil)
    }

    public func kvBatch(_ changes: [KVChange]) throws -> Int? { try store.applyBlocking(namespace: pluginID, changes) }

    /// Sealing is reversible here and marked, so that a test sees what the plugin sealed; it is not encryption.
    public func secretSeal(_ plaintext: Data) throws -> Data { Data("fake-sealed:".utf8) + plaintext }

    public func secretOpen(_ sealed: Data) throws -> Data {
        let mark = Data("fake-sealed:".utf8)
        guard sealed.starts(with: mark) else { throw AppLinksError(.invalidInput, "the value was not sealed by this host") }
        return sealed.dropFirst(mark.count)
    }

    public func httpRequest(_ request: Data) throws -> Data {
        let req = try JSONCoding.decode(HostHTTPRequest.self, from: request)
        let answer = state.withLock { s in
            s.requests.append(req)
            return s.http
        }
        return try JSONCoding.encode(try answer(req))
    }

    public func randomBytes(_ count: Int) throws -> Data { SecureRandom.bytes(count) }
    public func digest(_ algorithm: Int32, _ data: Data) throws -> Data { Digest.hash(try Self.digest(algorithm), data) }
    public func hmac(_ algorithm: Int32, key: Data, _ data: Data) throws -> Data {
        HMAC.authenticate(try Self.digest(algorithm), key: key, data: data)
    }

    public func rsaGenerate(bits: Int32) throws -> Data {
        let key = try RSAKey.generate(bits: Int(bits))
        return try JSONCoding.encode(["private_key_pem": try key.privateKeyPEM(), "public_key_pem": try key.publicKeyPEM()])
    }

    public func rsaSign(_ algorithm: Int32, privateKeyPEM: String?, _ data: Data) throws -> Data {
        try (privateKeyPEM.map { try RSAKey(privateKeyPEM: $0) } ?? instanceKey).sign(try Self.digest(algorithm), data)
    }

    public func rsaVerify(_ algorithm: Int32, publicKeyPEM: String, _ data: Data, signature: Data) throws -> Bool {
        try RSAKey(publicKeyPEM: publicKeyPEM).verify(try Self.digest(algorithm), data, signature: signature)
    }

    private static func digest(_ alg: Int32) throws -> DigestAlgorithm {
        switch alg {
        case Int32(APPLINKS_DIGEST_SHA1): return .sha1
        case Int32(APPLINKS_DIGEST_SHA256): return .sha256
        default: throw AppLinksError(.invalidInput, "unknown digest algorithm \(alg)")
        }
    }

    public func instanceInfo() throws -> Data {
        var info = instance
        info.now = now
        return try JSONCoding.encode(info)
    }

    public func linksList() throws -> Data {
        try JSONCoding.encode(
            state.withLock { s in
                s.listings += 1
                return s.links.values.filter { $0.type == pluginID }.sorted { $0.id < $1.id }
            })
    }

    /// How many times the plugin listed its links: a plugin that needs one link should read that one.
    public var linkListings: Int { state.withLock { $0.listings } }

    public func linkGet(_ id: String) throws -> Data? {
        guard let link = state.withLock({ $0.links[id] }), link.type == pluginID else { return nil }
        return try JSONCoding.encode(link)
    }

    /// As the host does: only this plugin's links, only at their current version, config merged key by key.
    public func linkUpdate(_ request: Data) throws -> Data {
        let req = try JSONCoding.decode(LinkUpdateRequest.self, from: request)
        let now = now
        return try JSONCoding.encode(
            try state.withLock { s -> Link in
                guard var link = s.links[req.id], link.type == pluginID else {
                    throw AppLinksError(.notFound, "The link \(req.id) does not exist.")
                }
                guard req.version == link.version else { throw AppLinksError(.conflict, "The link changed since version \(req.version).") }
                let c = req.changes
                link = try link.applying(c)
                for (name, value) in c.secrets ?? [:] { s.secrets[link.id, default: [:]][name] = value }
                link.version += 1
                link.updatedAt = now
                s.links[link.id] = link
                return link
            })
    }

    public func audit(_ event: Data) throws {
        guard try JSONValue.parse(event)["action"]?.stringValue != nil else {
            throw AppLinksError(.invalidInput, "an audit event needs its action")
        }
        state.withLock { $0.audit.append(String(decoding: event, as: UTF8.self)) }
    }

    /// The access token is the link's secret `access_token`, when a test set one.
    public func linkAccessToken(_ linkID: String) throws -> Data? {
        guard let token = state.withLock({ $0.secrets[linkID]?["access_token"] }) else { return nil }
        return try JSONCoding.encode(["access_token": token, "token_type": "Bearer"])
    }
}
