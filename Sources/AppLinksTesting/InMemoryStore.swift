import AppLinksCore
import AppLinksLocking
import AppLinksStore
import Foundation

/// A store that keeps everything in memory: the reference implementation of the store protocols.
///
/// It passes ``StoreConformanceSuite`` like the SQLite and PostgreSQL stores, so a unit test (ours, or a vendor's)
/// gets the same answers without a file or a server. Nothing survives
/// the instance. Every operation runs under one lock, which also makes compare-and-set and versioned updates
/// exclusive. It offers the calling-thread API (``BlockingPluginDataStore``, ``BlockingLinkReader``) as SQLite does.
public final class InMemoryStore: Sendable {
    struct Entry {
        var value: Data
        var expires: Date?
        func live(at now: Date) -> Bool { expires.map { $0 > now } ?? true }
    }

    struct State {
        var links: [String: Link] = [:]
        var secrets: [String: [String: Data]] = [:]
        var data: [String: [String: Entry]] = [:]
        var drafts: [String: DraftRecord] = [:]
        var users: [String: UserRecord] = [:]
        var tokens: [String: TokenRecord] = [:]
        var audit: [AuditEvent] = []
        var linkTypeStates: [String: Bool] = [:]
        var identity: InstanceIdentity?
        var exclusive: Set<String> = []
    }

    private let state = Locked(State())
    /// What expiry is measured against: a test moves it instead of sleeping.
    private let clock: StoreClock

    public init(clock: StoreClock = .system) { self.clock = clock }

    private func expiry(_ ttl: Duration?) -> Date? {
        guard let ttl else { return nil }
        let (seconds, attoseconds) = ttl.components
        return clock.now().addingTimeInterval(Double(seconds) + Double(attoseconds) / 1e18)
    }

    /// Names compare as SQLite's BINARY collation does: by their UTF-8 bytes.
    private static func byteOrder(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }
}

extension InMemoryStore: LinkStore, BlockingLinkReader {
    public func createLink(_ link: Link, sealedSecrets: [String: Data]) async throws -> Link {
        try state.withLock { s in
            guard s.links[link.id] == nil else { throw StoreFailure.linkExists(link.id) }
            var link = link
            let peers = s.links.values.filter { $0.application.type == link.application.type }
            if !peers.contains(where: \.primary) {
                link.primary = true
            } else if link.primary {
                for p in peers { s.links[p.id]?.primary = false }
            }
            s.links[link.id] = link
            s.secrets[link.id] = sealedSecrets
            return link
        }
    }

    public func link(id: String) async throws -> Link? { try linkBlocking(id: id) }

    public func linkBlocking(id: String) throws -> Link? { state.withLock { $0.links[id] } }

    public func links() async throws -> [Link] {
        state.withLock { s in
            s.links.values.sorted { $0.name != $1.name ? Self.byteOrder($0.name, $1.name) : Self.byteOrder($0.id, $1.id) }
        }
    }

    public func linksBlocking(type: String) throws -> [Link] {
        state.withLock { s in
            s.links.values.filter { $0.type == type }
                .sorted { $0.name != $1.name ? Self.byteOrder($0.name, $1.name) : Self.byteOrder($0.id, $1.id) }
        }
    }

    public func links(matching query: LinkQuery) async throws -> LinkPage { query.apply(try await links()) }

    public func updateLink(_ link: Link, sealedSecrets: [String: Data?]) async throws -> Link {
        try state.withLock { s in
            guard let current = s.links[link.id] else { throw StoreFailure.linkGone(link.id) }
            guard current.version == link.version else {
                throw StoreFailure.versionConflict(name: link.name, current: current.version, expected: link.version)
            }
            var updated = link
            updated.version = link.version + 1
            updated.updatedAt = Date()
            updated.createdAt = current.createdAt
            updated.primary = current.primary  // primary changes go through makePrimary
            s.links[link.id] = updated
            for (name, sealed) in sealedSecrets { s.secrets[link.id, default: [:]][name] = sealed }
            return updated
        }
    }

    public func deleteLink(id: String) async throws -> Bool {
        state.withLock { s in
            guard let gone = s.links.removeValue(forKey: id) else { return false }
            s.secrets[id] = nil
            if gone.primary,
                let next = s.links.values.filter({ $0.application.type == gone.application.type })
                    .min(by: { $0.createdAt != $1.createdAt ? $0.createdAt < $1.createdAt : Self.byteOrder($0.id, $1.id) })
            {
                s.links[next.id]?.primary = true
            }
            return true
        }
    }

    public func setStatus(linkID: String, _ status: LinkStatus, applicationVersion: String?) async throws {
        state.withLock { s in
            guard s.links[linkID] != nil else { return }
            var status = status
            if status.checkedAt == nil { status.checkedAt = Date() }
            s.links[linkID]?.status = status
            if let applicationVersion { s.links[linkID]?.application.version = applicationVersion }
        }
    }

    public func makePrimary(id: String) async throws -> Link {
        try state.withLock { s in
            guard let link = s.links[id] else { throw AppLinksError(.notFound, "The link \(id) does not exist.") }
            for peer in s.links.values where peer.application.type == link.application.type {
                let primary = peer.id == id
                if peer.primary != primary {
                    s.links[peer.id]?.primary = primary
                    s.links[peer.id]?.version += 1
                }
            }
            return s.links[id]!
        }
    }

    public func sealedSecrets(linkID: String) async throws -> [String: Data] { state.withLock { $0.secrets[linkID] ?? [:] } }
}

extension InMemoryStore: PluginDataStore, BlockingPluginDataStore {
    public func purgeExpiredPluginData() async throws {
        let now = clock.now()
        state.withLock { s in
            for (namespace, entries) in s.data { s.data[namespace] = entries.filter { $0.value.live(at: now) } }
        }
    }

    public func valueBlocking(namespace: String, key: String) throws -> Data? {
        let now = clock.now()
        return state.withLock { s in s.data[namespace]?[key].flatMap { $0.live(at: now) ? $0.value : nil } }
    }

    public func putBlocking(namespace: String, key: String, value: Data, ttl: Duration?) throws {
        let entry = Entry(value: value, expires: expiry(ttl))
        state.withLock { $0.data[namespace, default: [:]][key] = entry }
    }

    public func deleteBlocking(namespace: String, key: String) throws {
        state.withLock { _ = $0.data[namespace]?.removeValue(forKey: key) }
    }

    public func keysBlocking(namespace: String, prefix: String) throws -> [String] {
        let now = clock.now()
        return state.withLock { s in
            (s.data[namespace] ?? [:]).filter { $0.key.utf8.starts(with: prefix.utf8) && $0.value.live(at: now) }.map(\.key)
                .sorted(by: Self.byteOrder)
        }
    }

    public func compareAndSetBlocking(namespace: String, key: String, expected: Data?, replacement: Data?, ttl: Duration?) throws -> Bool {
        let now = clock.now()
        let expires = expiry(ttl)
        return state.withLock { s in
            let current = s.data[namespace]?[key].flatMap { $0.live(at: now) ? $0.value : nil }
            guard current == expected else { return false }
            s.data[namespace, default: [:]][key] = replacement.map { Entry(value: $0, expires: expires) }
            return true
        }
    }
}

extension InMemoryStore {
    public func applyBlocking(namespace: String, _ changes: [KVChange]) throws -> Int? {
        let now = clock.now()
        return state.withLock { s -> Int? in
            for (i, change) in changes.enumerated() {
                guard case .require(let key, let value) = change else { continue }
                if s.data[namespace]?[key].flatMap({ $0.live(at: now) ? $0.value : nil }) != value { return i }
            }
            for change in changes {
                switch change {
                case .require: break
                case .put(let key, let value, let ttl): s.data[namespace, default: [:]][key] = Entry(value: value, expires: expiry(ttl))
                case .delete(let key): s.data[namespace]?[key] = nil
                }
            }
            return nil
        }
    }
}

extension InMemoryStore: DraftStore {
    public func saveDraft(_ draft: DraftRecord) async throws {
        state.withLock { s in
            var saved = draft
            if let existing = s.drafts[draft.id] {
                saved.type = existing.type
                saved.createdAt = existing.createdAt
            }
            s.drafts[draft.id] = saved
        }
    }
    public func draft(id: String) async throws -> DraftRecord? { state.withLock { $0.drafts[id] } }
    public func drafts() async throws -> [DraftRecord] { state.withLock { $0.drafts.values.sorted { $0.updatedAt > $1.updatedAt } } }
    public func deleteDraft(id: String) async throws { state.withLock { _ = $0.drafts.removeValue(forKey: id) } }
    public func purgeDrafts(updatedBefore: Date) async throws -> Int {
        state.withLock { s in
            let old = s.drafts.values.filter { $0.updatedAt < updatedBefore }.map(\.id)
            for id in old { s.drafts[id] = nil }
            return old.count
        }
    }
}

extension InMemoryStore: UserStore {
    public func addUser(_ user: UserRecord) async throws {
        try state.withLock { s in
            guard s.users[user.name] == nil else { throw StoreFailure.userExists(user.name) }
            s.users[user.name] = user
        }
    }
    public func user(name: String) async throws -> UserRecord? { state.withLock { $0.users[name] } }
    public func users() async throws -> [UserRecord] { state.withLock { $0.users.values.sorted { Self.byteOrder($0.name, $1.name) } } }
    public func setPassword(name: String, passwordHash: String) async throws {
        try state.withLock { s in
            guard s.users[name] != nil else { throw StoreFailure.noUser(name) }
            s.users[name]?.passwordHash = passwordHash
        }
    }
    public func setAdmin(name: String, admin: Bool) async throws {
        try state.withLock { s in
            guard s.users[name] != nil else { throw StoreFailure.noUser(name) }
            s.users[name]?.admin = admin
        }
    }
    public func deleteUser(name: String) async throws -> Bool {
        state.withLock { s in
            guard s.users.removeValue(forKey: name) != nil else { return false }
            s.tokens = s.tokens.filter { $0.value.user != name }
            return true
        }
    }
}

extension InMemoryStore: TokenStore {
    public func addToken(_ token: TokenRecord) async throws {
        try state.withLock { s in
            guard s.users[token.user] != nil, s.tokens[token.id] == nil, !s.tokens.values.contains(where: { $0.hash == token.hash }) else {
                throw StoreFailure.tokenRefused(user: token.user)
            }
            s.tokens[token.id] = token
        }
    }
    public func token(hash: Data) async throws -> TokenRecord? { state.withLock { $0.tokens.values.first { $0.hash == hash } } }
    public func tokens(user: String?) async throws -> [TokenRecord] {
        state.withLock { s in
            s.tokens.values.filter { user == nil || $0.user == user }.sorted { $0.createdAt < $1.createdAt }
        }
    }
    public func revokeToken(id: String) async throws -> Bool {
        state.withLock { s in
            guard let t = s.tokens[id], !t.revoked else { return false }
            s.tokens[id]?.revoked = true
            return true
        }
    }
}

extension InMemoryStore: AuditStore {
    public func appendAudit(_ event: AuditEvent) async throws {
        state.withLock { s in
            var event = event
            event.id = Int64(s.audit.count + 1)
            s.audit.append(event)
        }
    }
    public func auditEvents(since: Date?, limit: Int) async throws -> [AuditEvent] {
        state.withLock { s in Array(s.audit.filter { $0.at >= (since ?? .distantPast) }.suffix(max(0, limit))) }
    }
}

extension InMemoryStore: LinkTypeStateStore, InstanceStore, ClusterCoordination, ClosableStore {
    public func setLinkTypeEnabled(_ id: String, enabled: Bool) async throws { state.withLock { $0.linkTypeStates[id] = enabled } }
    public func linkTypeStates() async throws -> [String: Bool] { state.withLock { $0.linkTypeStates } }

    public func instanceIdentity() async throws -> InstanceIdentity? { state.withLock { $0.identity } }
    public func initializeInstanceIdentity(_ identity: InstanceIdentity) async throws -> InstanceIdentity {
        state.withLock { s in
            if s.identity == nil { s.identity = identity }
            return s.identity!
        }
    }

    /// One instance is one process: work of a name already running here is skipped, as another node's would be.
    public func exclusively(_ name: String, _ body: @Sendable () async throws -> Void) async throws -> Bool {
        guard state.withLock({ $0.exclusive.insert(name).inserted }) else { return false }
        defer { state.withLock { _ = $0.exclusive.remove(name) } }
        try await body()
        return true
    }

    public func close() {}
}
