import AppLinksCore
import Foundation

/// Links and their sealed secrets. Every implementation must pass `StoreConformanceSuite`.
public protocol LinkStore: Sendable {
    /// Creates a link and its sealed secrets in one transaction. The first link to a remote application type
    /// becomes its primary.
    func createLink(_ link: Link, sealedSecrets: [String: Data]) async throws -> Link
    func link(id: String) async throws -> Link?
    func links() async throws -> [Link]
    /// One page of the links a query chooses, in its order, and how many it chooses in all: the same answer as
    /// ``LinkQuery/apply(_:)`` on ``links()``.
    func links(matching query: LinkQuery) async throws -> LinkPage
    /// Saves `link` if its `version` is still the stored one, and returns it with the next version.
    /// Throws `.conflict` if someone else changed it first. `sealedSecrets` entries set (or, when nil, remove) secrets.
    func updateLink(_ link: Link, sealedSecrets: [String: Data?]) async throws -> Link
    /// Deletes a link and its secrets; promotes another primary for its application type if needed.
    func deleteLink(id: String) async throws -> Bool
    /// Records a check's result without touching the link's version.
    func setStatus(linkID: String, _ status: LinkStatus, applicationVersion: String?) async throws
    /// Makes this link the one primary link for its remote application type.
    func makePrimary(id: String) async throws -> Link
    func sealedSecrets(linkID: String) async throws -> [String: Data]
}

/// A namespaced key-value store with expiry and compare-and-set, for plugins' own data.
public protocol PluginDataStore: Sendable {
    func value(namespace: String, key: String) async throws -> Data?
    func put(namespace: String, key: String, value: Data, ttl: Duration?) async throws
    func delete(namespace: String, key: String) async throws
    func keys(namespace: String, prefix: String) async throws -> [String]
    /// Replaces the value only if it currently equals `expected` (nil: absent). A nil `replacement` deletes.
    func compareAndSet(namespace: String, key: String, expected: Data?, replacement: Data?, ttl: Duration?) async throws -> Bool
    /// Applies `changes` in one transaction, all or none: every ``KVChange/require(key:value:)`` is checked against
    /// the values before the batch, and only if all hold are the writes made, in order. Returns nil when applied,
    /// or the index of the first requirement that did not hold. A requirement holds until the batch commits: no
    /// other write to its key, on this node or another, comes between the check and the commit.
    func apply(namespace: String, _ changes: [KVChange]) async throws -> Int?
    /// Deletes expired values, which every read already treats as absent: housekeeping, run by the status sweep.
    func purgeExpiredPluginData() async throws
}

/// ``PluginDataStore``'s operations on the calling thread, for a store that can run them without async work
/// (SQLite). The host uses them on the threads it reserves for plugins, where blocking is allowed: a plugin's
/// key-value call then costs the query alone, without the hand-offs of an async call and a wait for it.
public protocol BlockingPluginDataStore: Sendable {
    func valueBlocking(namespace: String, key: String) throws -> Data?
    func putBlocking(namespace: String, key: String, value: Data, ttl: Duration?) throws
    func deleteBlocking(namespace: String, key: String) throws
    func keysBlocking(namespace: String, prefix: String) throws -> [String]
    func compareAndSetBlocking(namespace: String, key: String, expected: Data?, replacement: Data?, ttl: Duration?) throws -> Bool
    func applyBlocking(namespace: String, _ changes: [KVChange]) throws -> Int?
}

/// A store that runs plugin data on the calling thread runs the async API there too: an operation costs a few
/// microseconds, less than a hop to another executor and back.
extension PluginDataStore where Self: BlockingPluginDataStore {
    public func value(namespace: String, key: String) async throws -> Data? { try valueBlocking(namespace: namespace, key: key) }

    public func put(namespace: String, key: String, value: Data, ttl: Duration?) async throws {
        try putBlocking(namespace: namespace, key: key, value: value, ttl: ttl)
    }

    public func delete(namespace: String, key: String) async throws { try deleteBlocking(namespace: namespace, key: key) }

    public func keys(namespace: String, prefix: String) async throws -> [String] { try keysBlocking(namespace: namespace, prefix: prefix) }

    public func compareAndSet(namespace: String, key: String, expected: Data?, replacement: Data?, ttl: Duration?) async throws -> Bool {
        try compareAndSetBlocking(namespace: namespace, key: key, expected: expected, replacement: replacement, ttl: ttl)
    }

    public func apply(namespace: String, _ changes: [KVChange]) async throws -> Int? { try applyBlocking(namespace: namespace, changes) }
}

/// Link reads on the calling thread, for the host calls a plugin makes about its own links (see
/// ``BlockingPluginDataStore``): with them, a route declared inline may look its link up.
public protocol BlockingLinkReader: Sendable {
    func linkBlocking(id: String) throws -> Link?
    func linksBlocking(type: String) throws -> [Link]
}

/// Unfinished wizards, so that an interrupted `applinks create` can resume.
public protocol DraftStore: Sendable {
    func saveDraft(_ draft: DraftRecord) async throws
    func draft(id: String) async throws -> DraftRecord?
    func drafts() async throws -> [DraftRecord]
    func deleteDraft(id: String) async throws
    func purgeDrafts(updatedBefore: Date) async throws -> Int
}

public protocol UserStore: Sendable {
    func addUser(_ user: UserRecord) async throws
    func user(name: String) async throws -> UserRecord?
    func users() async throws -> [UserRecord]
    func setPassword(name: String, passwordHash: String) async throws
    /// Grants or withdraws administration; throws `.notFound` for an unknown user.
    func setAdmin(name: String, admin: Bool) async throws
    func deleteUser(name: String) async throws -> Bool
}

/// Tokens the host issues. Only their SHA-256 is ever stored.
public protocol TokenStore: Sendable {
    func addToken(_ token: TokenRecord) async throws
    func token(hash: Data) async throws -> TokenRecord?
    func tokens(user: String?) async throws -> [TokenRecord]
    func revokeToken(id: String) async throws -> Bool
}

public protocol AuditStore: Sendable {
    func appendAudit(_ event: AuditEvent) async throws
    func auditEvents(since: Date?, limit: Int) async throws -> [AuditEvent]
}

/// Per-deployment enablement of link types. A type with no row is enabled.
public protocol LinkTypeStateStore: Sendable {
    func setLinkTypeEnabled(_ id: String, enabled: Bool) async throws
    func linkTypeStates() async throws -> [String: Bool]
}

/// Which schema migrations a database has, next to those this version knows: for `applinks db status`, read
/// without migrating anything.
public struct SchemaStatus: Sendable, Encodable {
    public var database: String
    public var applied: [String]
    /// Known to this version, not applied yet: the next start applies them.
    public var pending: [String]
    /// Applied by a newer version, unknown to this one: this version refuses the database.
    public var newer: [String]
    public init(database: String, applied: [String], pending: [String], newer: [String]) {
        self.database = database
        self.applied = applied
        self.pending = pending
        self.newer = newer
    }
}

/// This instance's identity: its application id and RSA key pair (private key sealed).
public protocol InstanceStore: Sendable {
    func instanceIdentity() async throws -> InstanceIdentity?
    /// Saves the identity only if none exists yet; returns the one in force.
    func initializeInstanceIdentity(_ identity: InstanceIdentity) async throws -> InstanceIdentity
}

/// A store shared by several processes that tells each of them at once when another changed shared state, so
/// that a node's cached view (which link types are enabled) follows within moments rather than a polling period.
public protocol ChangeNotifying: Sendable {
    /// Topics as other processes change them: `link_types`, the one piece of shared state a node caches (links,
    /// users and tokens are read from the database at each use); and `subscribed` each time the feed
    /// (re)connects, after which a consumer should reread what it caches.
    func changes() -> AsyncStream<String>
}

/// Work that one node of a cluster does for all of them, such as the status sweep.
public protocol ClusterCoordination: Sendable {
    /// Runs `body` unless another process is running work of the same name right now; returns whether it ran.
    func exclusively(_ name: String, _ body: @Sendable () async throws -> Void) async throws -> Bool
}

/// A store on a server that can be away (PostgreSQL): whether it answers, for `/readyz` and for answering 503
/// rather than waiting while it is away.
public protocol AvailabilityReporting: Sendable {
    /// Where the database is, without its password, for messages.
    var location: String { get }
    /// Since when the database has not answered; nil while it does.
    var unavailableSince: Date? { get }
    /// Asks the database for a trivial answer, within the store's wait; throws a storage error naming it otherwise.
    func ping() async throws
}

/// A store that several nodes share (PostgreSQL), as opposed to one node's own file: what the deployment recorded
/// in it, such as its public base URL, wins over one node's configuration.
public protocol SharedByNodes: Sendable {}

/// A store that holds connections to let go of when its deployment shuts down.
public protocol ClosableStore: Sendable {
    /// Ends the store's connections; the store is not used afterwards.
    func close()
}

/// Everything a deployment keeps. SQLite and PostgreSQL implement all of it.
public typealias AppLinksStore = LinkStore & PluginDataStore & DraftStore & UserStore & TokenStore & AuditStore
    & LinkTypeStateStore & InstanceStore & ClusterCoordination & ClosableStore

extension DraftStore {
    /// Drafts live for ``DraftRecord/lifetime`` after their last change.
    public func purgeExpiredDrafts() async throws {
        _ = try await purgeDrafts(updatedBefore: Date().addingTimeInterval(-DraftRecord.lifetime))
    }
}
