import AppLinksCore
import AppLinksLocking
import AppLinksStore
import Foundation
import Testing

/// The contract every `AppLinksStore` implementation must meet: SQLite, PostgreSQL, ``InMemoryStore``, and a
/// third backend alike. A backend's test target runs each check by name with a factory that returns an empty store:
///
/// ```swift
/// @Test(arguments: StoreConformanceSuite.names(for: [.pooled]))
/// func conformance(check: String) async throws {
///     try await StoreConformanceSuite { try await MyStore.connect(…) }.run(check)
/// }
/// ```
public struct StoreConformanceSuite: Sendable {
    /// What a backend offers beyond the store protocols, each with checks of its own. A check of a capability
    /// fails on a store without it, so a backend runs only those of the capabilities it has.
    public struct Capabilities: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// ``BlockingPluginDataStore``: plugin data on the calling thread.
        public static let blocking = Capabilities(rawValue: 1)
        /// ``PoolReporting``: a connection pool whose usage `/metrics` shows.
        public static let pooled = Capabilities(rawValue: 2)
    }

    let factory: @Sendable (StoreClock) async throws -> any AppLinksStore
    /// The clock each store of this run measures expiry against, and how the checks move it: expiry is tested
    /// without sleeping.
    let clock: StoreClock
    let advance: @Sendable (Duration) -> Void

    /// `makeStore` returns an empty store that measures plugin data's expiry against the clock it is given.
    public init(makeStore: @escaping @Sendable (StoreClock) async throws -> any AppLinksStore) {
        factory = makeStore
        (clock, advance) = StoreClock.manual()
    }

    func makeStore() async throws -> any AppLinksStore { try await factory(clock) }

    public static let checks: [(String, @Sendable (StoreConformanceSuite) async throws -> Void)] = [
        ("link CRUD and optimistic locking", { try await $0.linkCRUD() }),
        ("one primary link per application type", { try await $0.primaryLinks() }),
        ("a page of links: filters, search, every order, both ways, offsets", { try await $0.linkQueries() }),
        ("secrets are stored, replaced, removed and cascade", { try await $0.secrets() }),
        ("status updates leave the version alone", { try await $0.statusUpdates() }),
        ("concurrent updates from one version: exactly one wins", { try await $0.concurrentUpdates() }),
        ("plugin data: namespaces, prefixes and expiry", { try await $0.pluginData() }),
        ("plugin data: compare-and-set, also under contention", { try await $0.compareAndSet() }),
        ("plugin data: a batch applies all or none, also under contention", { try await $0.batches() }),
        ("plugin data: concurrent writes each return once they can be read", { try await $0.concurrentPuts() }),
        (blockingCheck, { try await $0.blockingPluginData() }),
        ("drafts", { try await $0.drafts() }),
        ("users", { try await $0.users() }),
        ("tokens", { try await $0.tokens() }),
        ("audit log", { try await $0.audit() }),
        ("link type states", { try await $0.linkTypeStates() }),
        ("instance identity is written once", { try await $0.instanceIdentity() }),
        (poolCheck, { try await $0.poolUsage() }),
    ]

    static let blockingCheck = "plugin data on the calling thread agrees with the async API"
    static let poolCheck = "pool usage counts operations in flight and their peak"

    /// The names of the checks a backend with `capabilities` runs.
    public static func names(for capabilities: Capabilities) -> [String] {
        checks.map(\.0).filter {
            ($0 != blockingCheck || capabilities.contains(.blocking)) && ($0 != poolCheck || capabilities.contains(.pooled))
        }
    }

    /// Runs one check by name.
    public func run(_ name: String) async throws {
        guard let check = Self.checks.first(where: { $0.0 == name })?.1 else {
            Issue.record("no conformance check is named '\(name)'")
            return
        }
        try await check(self)
    }

    public static func link(_ name: String, appType: String = "jira", type: String = "fixture") -> Link {
        Link(
            type: type, name: name, application: ApplicationInfo(type: appType, name: "Jira", version: "9.0"),
            displayURL: "https://\(name.lowercased()).example.com", incomingAuth: ["oauth"], config: ["k": "v"])
    }

    func linkCRUD() async throws {
        let s = try await makeStore()
        let a = try await s.createLink(Self.link("Alpha"), sealedSecrets: [:])
        let b = try await s.createLink(Self.link("Beta"), sealedSecrets: [:])
        #expect(try await s.links().map(\.name) == ["Alpha", "Beta"])
        let fetched = try #require(try await s.link(id: a.id))
        #expect(fetched.name == "Alpha" && fetched.config["k"] == "v" && fetched.incomingAuth == ["oauth"] && fetched.version == 1)
        #expect(fetched.application == ApplicationInfo(type: "jira", name: "Jira", version: "9.0"))
        var changed = fetched
        changed.name = "Alpha 2"
        let updated = try await s.updateLink(changed, sealedSecrets: [:])
        #expect(updated.version == 2 && updated.name == "Alpha 2")
        await #expect(throws: AppLinksError.self) { _ = try await s.updateLink(changed, sealedSecrets: [:]) }
        do {
            _ = try await s.updateLink(changed, sealedSecrets: [:])
        } catch let e as AppLinksError {
            #expect(e.code == .conflict)
        }
        await #expect(throws: AppLinksError.self) { _ = try await s.createLink(a, sealedSecrets: [:]) }
        #expect(try await s.deleteLink(id: b.id))
        #expect(try await !s.deleteLink(id: b.id))
        #expect(try await s.link(id: b.id) == nil)
        var gone = b
        gone.name = "x"
        do {
            _ = try await s.updateLink(gone, sealedSecrets: [:])
            Issue.record("updating a deleted link must fail")
        } catch let e as AppLinksError {
            #expect(e.code == .notFound)
        }
    }

    /// The store's own page query agrees with the in-memory reference, on links that differ in every column it
    /// filters or orders by, including names that differ only in case and characters LIKE treats specially.
    func linkQueries() async throws {
        let s = try await makeStore()
        let names = ["alpha", "Beta", "beta", "Gamma_1", "gamma%2", "Delta\\x", "ÉCLAIR", "éclair", "Zeta", "eta"]
        for (i, name) in names.enumerated() {
            var link = Self.link(name, type: i % 3 == 0 ? "fixture" : "other")
            link.incomingAuth = i % 2 == 0 ? ["oauth"] : []
            link.outgoingAuth = i % 4 < 2 ? ["oauth"] : []
            link = try await s.createLink(link, sealedSecrets: [:])
            try await s.setStatus(
                linkID: link.id, LinkStatus(StatusCategory.allCases[i % 4], nil, message: "m"), applicationVersion: nil)
        }
        let all = try await s.links()
        var queries: [LinkQuery] = []
        for order in LinkQuery.Order.allCases {
            for descending in [false, true] {
                queries.append(LinkQuery(order: order, descending: descending))
                queries.append(LinkQuery(order: order, descending: descending, offset: 3, limit: 4))
            }
        }
        for search in ["ETA", "a_1", "a%2", "\\", "é", "example.com", "nothing"] { queries.append(LinkQuery(search: search)) }
        queries.append(LinkQuery(type: "fixture", order: .status))
        queries.append(LinkQuery(category: .connected))
        queries.append(LinkQuery(type: "other", category: .networkError, search: "a", order: .direction, descending: true))
        queries.append(LinkQuery(offset: 20, limit: 5))
        for q in queries {
            let expected = q.apply(all)
            let got = try await s.links(matching: q)
            #expect(got.total == expected.total && got.links.map(\.id) == expected.links.map(\.id), "\(q)")
        }
        #expect(LinkQuery(search: "ETA").apply(all).links.map(\.name).sorted() == ["Beta", "Zeta", "beta", "eta"])
    }

    func primaryLinks() async throws {
        let s = try await makeStore()
        let a = try await s.createLink(Self.link("A"), sealedSecrets: [:])
        let b = try await s.createLink(Self.link("B"), sealedSecrets: [:])
        let j = try await s.createLink(Self.link("J", appType: "jenkins"), sealedSecrets: [:])
        #expect(a.primary && !b.primary && j.primary)
        _ = try await s.makePrimary(id: b.id)
        var all = try await s.links()
        #expect(all.filter { $0.application.type == "jira" && $0.primary }.map(\.name) == ["B"])
        #expect(all.first { $0.name == "J" }?.primary == true)
        _ = try await s.deleteLink(id: b.id)
        all = try await s.links()
        #expect(all.first { $0.name == "A" }?.primary == true)
        await #expect(throws: AppLinksError.self) { _ = try await s.makePrimary(id: "missing") }
    }

    func secrets() async throws {
        let s = try await makeStore()
        let a = try await s.createLink(Self.link("A"), sealedSecrets: ["token": Data([1, 2, 3]), "key": Data([4])])
        #expect(try await s.sealedSecrets(linkID: a.id) == ["token": Data([1, 2, 3]), "key": Data([4])])
        let updated = try await s.updateLink(a, sealedSecrets: ["token": Data([9]), "key": nil, "new": Data([7])])
        #expect(try await s.sealedSecrets(linkID: a.id) == ["token": Data([9]), "new": Data([7])])
        _ = try await s.deleteLink(id: updated.id)
        #expect(try await s.sealedSecrets(linkID: a.id).isEmpty)
    }

    func statusUpdates() async throws {
        let s = try await makeStore()
        let a = try await s.createLink(Self.link("A"), sealedSecrets: [:])
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        try await s.setStatus(
            linkID: a.id, LinkStatus(.networkError, .connectionRefused, message: "refused", checkedAt: at), applicationVersion: nil)
        var l = try #require(try await s.link(id: a.id))
        #expect(l.status.category == .networkError && l.status.errorType == .connectionRefused && l.status.message == "refused")
        #expect(abs((l.status.checkedAt ?? .distantPast).timeIntervalSince(at)) < 0.01)
        #expect(l.version == a.version && l.application.version == "9.0")
        try await s.setStatus(linkID: a.id, LinkStatus(.connected, message: "ok", checkedAt: at), applicationVersion: "9.4")
        l = try #require(try await s.link(id: a.id))
        #expect(l.status.errorType == nil && l.application.version == "9.4")
    }

    func concurrentUpdates() async throws {
        let s = try await makeStore()
        let a = try await s.createLink(Self.link("A"), sealedSecrets: [:])
        let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<10 {
                group.addTask {
                    var l = a
                    l.name = "writer \(i)"
                    do { _ = try await s.updateLink(l, sealedSecrets: [:]); return true } catch let e as AppLinksError
                        where e.code == .conflict
                    { return false }
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(wins == 1)
        #expect(try await s.link(id: a.id)?.version == 2)
    }

    func poolUsage() async throws {
        let s = try await makeStore()
        let reporting = try #require(s as? any PoolReporting, "a store reports its pool's usage for /metrics")
        let before = reporting.poolUsage
        #expect(before.inFlight == 0 && before.capacity >= 1, "\(before)")
        // Twice the pool's connections at once: some hold one while the rest wait, and all count.
        let a = try await s.createLink(Self.link("A"), sealedSecrets: [:])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<(2 * before.capacity) { group.addTask { _ = try await s.link(id: a.id) } }
            try await group.waitForAll()
        }
        let after = reporting.poolUsage
        #expect(after.inFlight == 0 && after.capacity == before.capacity, "\(after)")
        #expect(after.peak >= 2, "concurrent reads were in flight together: \(after)")
    }

    func drafts() async throws {
        let s = try await makeStore()
        let old = Date().addingTimeInterval(-100_000)
        try await s.saveDraft(DraftRecord(id: "d1", type: "fixture", step: nil, sealedAnswers: Data([1]), createdAt: old, updatedAt: old))
        try await s.saveDraft(DraftRecord(id: "d2", type: "fixture", step: "auth", sealedAnswers: Data([2]), note: "waiting"))
        try await s.saveDraft(DraftRecord(id: "d2", type: "fixture", step: "authorize", sealedAnswers: Data([3])))
        let d2 = try #require(try await s.draft(id: "d2"))
        #expect(d2.step == "authorize" && d2.sealedAnswers == Data([3]) && d2.note == nil)
        #expect(Set(try await s.drafts().map(\.id)) == ["d1", "d2"])
        #expect(try await s.purgeDrafts(updatedBefore: Date().addingTimeInterval(-86_400)) == 1)
        try await s.deleteDraft(id: "d2")
        #expect(try await s.drafts().isEmpty)
    }

    func users() async throws {
        let s = try await makeStore()
        try await s.addUser(UserRecord(name: "alice", passwordHash: "h1", admin: true))
        try await s.addUser(UserRecord(name: "bob", passwordHash: "h2", admin: false))
        await #expect(throws: AppLinksError.self) { try await s.addUser(UserRecord(name: "alice", passwordHash: "x", admin: false)) }
        #expect(try await s.user(name: "alice")?.admin == true)
        #expect(try await s.users().map(\.name) == ["alice", "bob"])
        try await s.setPassword(name: "bob", passwordHash: "h3")
        #expect(try await s.user(name: "bob")?.passwordHash == "h3")
        await #expect(throws: AppLinksError.self) { try await s.setPassword(name: "carol", passwordHash: "x") }
        try await s.setAdmin(name: "alice", admin: false)
        try await s.setAdmin(name: "bob", admin: true)
        #expect(try await s.user(name: "alice")?.admin == false)
        #expect(try await s.user(name: "bob")?.admin == true)
        await #expect(throws: AppLinksError.self) { try await s.setAdmin(name: "carol", admin: true) }
        #expect(try await s.deleteUser(name: "bob"))
        #expect(try await !s.deleteUser(name: "bob"))
        #expect(try await s.user(name: "bob") == nil)
    }

    func tokens() async throws {
        let s = try await makeStore()
        try await s.addUser(UserRecord(name: "alice", passwordHash: "h", admin: true))
        let hash = Data(repeating: 7, count: 32)
        try await s.addToken(TokenRecord(id: "t1", user: "alice", name: "ci", hash: hash, scopes: ["SYSTEM_ADMIN"]))
        await #expect(throws: AppLinksError.self) {
            try await s.addToken(TokenRecord(id: "t2", user: "nobody", name: "x", hash: Data(repeating: 8, count: 32), scopes: []))
        }
        let t = try #require(try await s.token(hash: hash))
        #expect(t.user == "alice" && t.scopes == ["SYSTEM_ADMIN"] && !t.revoked)
        #expect(try await s.tokens(user: "alice").map(\.id) == ["t1"])
        #expect(try await s.revokeToken(id: "t1"))
        #expect(try await !s.revokeToken(id: "t1"))
        #expect(try await s.token(hash: hash)?.revoked == true)
        _ = try await s.deleteUser(name: "alice")
        #expect(try await s.token(hash: hash) == nil)
    }

    func audit() async throws {
        let s = try await makeStore()
        let base = Date(timeIntervalSince1970: 1_800_000_000)
        for i in 0..<5 {
            try await s.appendAudit(
                AuditEvent(
                    at: base.addingTimeInterval(Double(i) * 60), actor: "cli:root", action: "edit\(i)",
                    linkID: "l\(i)", linkType: "fixture", detail: ["i": .number(Double(i))]))
        }
        let all = try await s.auditEvents(since: nil, limit: 100)
        #expect(all.map(\.action) == ["edit0", "edit1", "edit2", "edit3", "edit4"])
        #expect(all[2].detail["i"] == .number(2) && all[2].actor == "cli:root" && all[2].linkID == "l2")
        #expect(try await s.auditEvents(since: base.addingTimeInterval(150), limit: 100).map(\.action) == ["edit3", "edit4"])
        #expect(try await s.auditEvents(since: nil, limit: 2).map(\.action) == ["edit3", "edit4"])
    }

    func linkTypeStates() async throws {
        let s = try await makeStore()
        #expect(try await s.linkTypeStates().isEmpty)
        try await s.setLinkTypeEnabled("jenkins", enabled: false)
        try await s.setLinkTypeEnabled("fixture", enabled: true)
        #expect(try await s.linkTypeStates() == ["jenkins": false, "fixture": true])
        try await s.setLinkTypeEnabled("jenkins", enabled: true)
        #expect(try await s.linkTypeStates()["jenkins"] == true)
    }

    func instanceIdentity() async throws {
        let s = try await makeStore()
        #expect(try await s.instanceIdentity() == nil)
        let first = try await s.initializeInstanceIdentity(
            InstanceIdentity(applicationID: "one", publicKeyPEM: "pem1", sealedPrivateKey: Data([1])))
        let second = try await s.initializeInstanceIdentity(
            InstanceIdentity(applicationID: "two", publicKeyPEM: "pem2", sealedPrivateKey: Data([2])))
        #expect(first.applicationID == "one" && second.applicationID == "one")
        #expect(try await s.instanceIdentity()?.publicKeyPEM == "pem1")
    }
}
