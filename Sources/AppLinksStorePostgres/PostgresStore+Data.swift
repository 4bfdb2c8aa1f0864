import AppLinksCore
import AppLinksStore
import Foundation
import PostgresNIO

extension PostgresStore: PluginDataStore {
    private static var now: Double { Date().timeIntervalSince1970 }

    public func value(namespace: String, key: String) async throws -> Data? {
        try await run("Reading plugin data \(namespace)/\(key)") { [self] in
            for try await v in try await client.query(
                """
                SELECT value FROM plugin_kv WHERE namespace = \(namespace) AND key = \(key)
                AND (expires_at IS NULL OR expires_at > \(Self.now))
                """, logger: logger
            ).decode(Data.self) {
                return v
            }
            return nil
        }
    }

    public func put(namespace: String, key: String, value: Data, ttl: Duration?) async throws {
        let expires = ttl.map { Self.now + Columns.seconds($0) }
        try await run("Writing plugin data \(namespace)/\(key)") { [self] in
            try await client.query(
                """
                INSERT INTO plugin_kv (namespace, key, value, expires_at) VALUES (\(namespace), \(key), \(value), \(expires))
                ON CONFLICT (namespace, key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
                """, logger: logger)
        }
    }

    public func delete(namespace: String, key: String) async throws {
        try await run("Deleting plugin data \(namespace)/\(key)") { [self] in
            try await client.query("DELETE FROM plugin_kv WHERE namespace = \(namespace) AND key = \(key)", logger: logger)
        }
    }

    public func keys(namespace: String, prefix: String) async throws -> [String] {
        try await run("Listing plugin data \(namespace)") { [self] in
            var out: [String] = []
            // left() instead of LIKE, so '%' and '_' in a prefix match literally; "C" orders by bytes, as SQLite does.
            for try await k in try await client.query(
                """
                SELECT key FROM plugin_kv WHERE namespace = \(namespace) AND left(key, length(\(prefix))) = \(prefix)
                AND (expires_at IS NULL OR expires_at > \(Self.now)) ORDER BY key COLLATE "C"
                """, logger: logger
            ).decode(String.self) {
                out.append(k)
            }
            return out
        }
    }

    /// One statement each way, so that nodes racing on the same key (an authorization code redeemed on two
    /// nodes at once, a nonce replayed) see exactly one winner: the row lock taken by the UPDATE, DELETE or
    /// INSERT decides, and the loser's condition no longer holds when it gets the row.
    public func compareAndSet(namespace: String, key: String, expected: Data?, replacement: Data?, ttl: Duration?) async throws -> Bool {
        let now = Self.now
        let expires = ttl.map { now + Columns.seconds($0) }
        let live = "(expires_at IS NULL OR expires_at > \(now))"
        return try await run("Writing plugin data \(namespace)/\(key)") { [self] in
            let rows: PostgresRowSequence
            switch (expected, replacement) {
            case (nil, let new?):
                // Absent or expired: insert, or take over the expired row.
                rows = try await client.query(
                    """
                    INSERT INTO plugin_kv (namespace, key, value, expires_at) VALUES (\(namespace), \(key), \(new), \(expires))
                    ON CONFLICT (namespace, key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
                    WHERE plugin_kv.expires_at IS NOT NULL AND plugin_kv.expires_at <= \(now) RETURNING 1
                    """, logger: logger)
            case (nil, nil):
                rows = try await client.query(
                    """
                    SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM plugin_kv WHERE namespace = \(namespace) AND key = \(key)
                        AND \(unescaped: live))
                    """, logger: logger)
            case (let old?, let new?):
                rows = try await client.query(
                    """
                    UPDATE plugin_kv SET value = \(new), expires_at = \(expires)
                    WHERE namespace = \(namespace) AND key = \(key) AND value = \(old) AND \(unescaped: live) RETURNING 1
                    """, logger: logger)
            case (let old?, nil):
                rows = try await client.query(
                    """
                    DELETE FROM plugin_kv WHERE namespace = \(namespace) AND key = \(key) AND value = \(old) AND \(unescaped: live)
                    RETURNING 1
                    """, logger: logger)
            }
            for try await _ in rows { return true }
            return false
        }
    }

    public func purgeExpiredPluginData() async throws {
        try await run("Purging expired plugin data") { [self] in
            try await client.query("DELETE FROM plugin_kv WHERE expires_at <= \(Self.now)", logger: logger)
        }
    }
}

extension PostgresStore: DraftStore {
    private static let draftColumns = "id, type, step, sealed_answers, note, created_at, updated_at"

    private static func drafts(_ rows: PostgresRowSequence) async throws -> [DraftRecord] {
        var out: [DraftRecord] = []
        for try await (id, type, step, answers, note, created, updated) in rows.decode(
            (String, String, String?, Data, String?, Double, Double).self)
        {
            out.append(
                DraftRecord(
                    id: id, type: type, step: step, sealedAnswers: answers, note: note, createdAt: Date(timeIntervalSince1970: created),
                    updatedAt: Date(timeIntervalSince1970: updated)))
        }
        return out
    }

    public func saveDraft(_ draft: DraftRecord) async throws {
        try await run("Writing draft \(draft.id)") { [self] in
            try await client.query(
                """
                INSERT INTO drafts (id, type, step, sealed_answers, note, created_at, updated_at)
                VALUES (\(draft.id), \(draft.type), \(draft.step), \(draft.sealedAnswers), \(draft.note),
                    \(Columns.date(draft.createdAt)), \(Columns.date(draft.updatedAt)))
                ON CONFLICT (id) DO UPDATE SET step = EXCLUDED.step, sealed_answers = EXCLUDED.sealed_answers,
                    note = EXCLUDED.note, updated_at = EXCLUDED.updated_at
                """, logger: logger)
        }
    }

    public func draft(id: String) async throws -> DraftRecord? {
        try await run("Reading draft \(id)") { [self] in
            try await Self.drafts(
                try await client.query("SELECT \(unescaped: Self.draftColumns) FROM drafts WHERE id = \(id)", logger: logger)
            )
            .first
        }
    }

    public func drafts() async throws -> [DraftRecord] {
        try await run("Reading drafts") { [self] in
            try await Self.drafts(
                try await client.query("SELECT \(unescaped: Self.draftColumns) FROM drafts ORDER BY updated_at DESC", logger: logger))
        }
    }

    public func deleteDraft(id: String) async throws {
        try await run("Deleting draft \(id)") { [self] in try await client.query("DELETE FROM drafts WHERE id = \(id)", logger: logger) }
    }

    public func purgeDrafts(updatedBefore: Date) async throws -> Int {
        try await run("Purging drafts") { [self] in
            var n = 0
            for try await _ in try await client.query(
                "DELETE FROM drafts WHERE updated_at < \(Columns.date(updatedBefore)) RETURNING id", logger: logger)
            {
                n += 1
            }
            return n
        }
    }
}

extension PostgresStore: UserStore {
    private static func users(_ rows: PostgresRowSequence) async throws -> [UserRecord] {
        var out: [UserRecord] = []
        for try await (name, hash, admin, created) in rows.decode((String, String, Bool, Double).self) {
            out.append(UserRecord(name: name, passwordHash: hash, admin: admin, createdAt: Date(timeIntervalSince1970: created)))
        }
        return out
    }

    public func addUser(_ user: UserRecord) async throws {
        try await run("Writing user \(user.name)") { [self] in
            do {
                try await client.query(
                    """
                    INSERT INTO users (name, password_hash, admin, created_at)
                    VALUES (\(user.name), \(user.passwordHash), \(user.admin), \(Columns.date(user.createdAt)))
                    """, logger: logger)
            } catch  where Self.sqlState(error) == "23505" {
                throw StoreFailure.userExists(user.name, cause: error)
            }
        }
    }

    public func user(name: String) async throws -> UserRecord? {
        try await run("Reading user \(name)") { [self] in
            try await Self.users(
                try await client.query("SELECT name, password_hash, admin, created_at FROM users WHERE name = \(name)", logger: logger)
            ).first
        }
    }

    public func users() async throws -> [UserRecord] {
        try await run("Reading users") { [self] in
            try await Self.users(
                try await client.query(
                    "SELECT name, password_hash, admin, created_at FROM users ORDER BY name COLLATE \"C\"", logger: logger))
        }
    }

    public func setAdmin(name: String, admin: Bool) async throws {
        try await run("Writing user \(name)") { [self] in
            for try await _ in try await client.query(
                "UPDATE users SET admin = \(admin) WHERE name = \(name) RETURNING name", logger: logger)
            {
                return
            }
            throw StoreFailure.noUser(name)
        }
    }

    public func setPassword(name: String, passwordHash: String) async throws {
        try await run("Writing user \(name)") { [self] in
            for try await _ in try await client.query(
                "UPDATE users SET password_hash = \(passwordHash) WHERE name = \(name) RETURNING name", logger: logger)
            {
                return
            }
            throw StoreFailure.noUser(name)
        }
    }

    public func deleteUser(name: String) async throws -> Bool {
        try await run("Deleting user \(name)") { [self] in
            for try await _ in try await client.query("DELETE FROM users WHERE name = \(name) RETURNING name", logger: logger) {
                return true
            }
            return false
        }
    }
}

extension PostgresStore: TokenStore {
    private static let tokenColumns = #"id, "user", name, hash, scopes, created_at, expires_at, revoked"#

    private static func tokens(_ rows: PostgresRowSequence) async throws -> [TokenRecord] {
        var out: [TokenRecord] = []
        for try await (id, user, name, hash, scopes, created, expires, revoked) in rows.decode(
            (String, String, String, Data, String, Double, Double?, Bool).self)
        {
            out.append(
                TokenRecord(
                    id: id, user: user, name: name, hash: hash, scopes: Columns.decode([String].self, scopes, default: []),
                    createdAt: Date(timeIntervalSince1970: created), expiresAt: Columns.date(expires), revoked: revoked))
        }
        return out
    }

    public func addToken(_ token: TokenRecord) async throws {
        try await run("Writing token \(token.name)") { [self] in
            do {
                try await client.query(
                    """
                    INSERT INTO tokens (\(unescaped: Self.tokenColumns)) VALUES (\(token.id), \(token.user), \(token.name), \(token.hash),
                        \(Columns.json(token.scopes)), \(Columns.date(token.createdAt)), \(token.expiresAt.map(Columns.date)), \(token.revoked))
                    """, logger: logger)
            } catch  where ["23505", "23503"].contains(Self.sqlState(error)) {
                throw StoreFailure.tokenRefused(user: token.user, cause: error)
            }
        }
    }

    public func token(hash: Data) async throws -> TokenRecord? {
        try await run("Reading a token") { [self] in
            try await Self.tokens(
                try await client.query("SELECT \(unescaped: Self.tokenColumns) FROM tokens WHERE hash = \(hash)", logger: logger)
            )
            .first
        }
    }

    public func tokens(user: String?) async throws -> [TokenRecord] {
        try await run("Reading tokens") { [self] in
            if let user {
                return try await Self.tokens(
                    try await client.query(
                        #"SELECT \#(unescaped: Self.tokenColumns) FROM tokens WHERE "user" = \#(user) ORDER BY created_at"#, logger: logger)
                )
            }
            return try await Self.tokens(
                try await client.query("SELECT \(unescaped: Self.tokenColumns) FROM tokens ORDER BY created_at", logger: logger))
        }
    }

    public func revokeToken(id: String) async throws -> Bool {
        try await run("Revoking token \(id)") { [self] in
            for try await _ in try await client.query(
                "UPDATE tokens SET revoked = TRUE WHERE id = \(id) AND NOT revoked RETURNING id", logger: logger)
            {
                return true
            }
            return false
        }
    }
}

extension PostgresStore: AuditStore {
    public func appendAudit(_ event: AuditEvent) async throws {
        try await run("Writing an audit event") { [self] in
            try await client.query(
                """
                INSERT INTO audit (at, actor, action, link_id, link_type, detail)
                VALUES (\(Columns.date(event.at)), \(event.actor), \(event.action), \(event.linkID), \(event.linkType),
                    \(Columns.json(event.detail)))
                """, logger: logger)
        }
    }

    public func auditEvents(since: Date?, limit: Int) async throws -> [AuditEvent] {
        try await run("Reading the audit log") { [self] in
            var out: [AuditEvent] = []
            for try await (id, at, actor, action, linkID, linkType, detail) in try await client.query(
                """
                SELECT * FROM (SELECT id, at, actor, action, link_id, link_type, detail FROM audit
                    WHERE at >= \(Columns.date(since ?? .distantPast)) ORDER BY id DESC LIMIT \(limit)) recent ORDER BY id
                """, logger: logger
            ).decode((Int64, Double, String, String, String?, String?, String).self) {
                out.append(
                    AuditEvent(
                        id: id, at: Date(timeIntervalSince1970: at), actor: actor, action: action, linkID: linkID, linkType: linkType,
                        detail: Columns.decode([String: JSONValue].self, detail, default: [:])))
            }
            return out
        }
    }
}

extension PostgresStore: LinkTypeStateStore {
    public func setLinkTypeEnabled(_ id: String, enabled: Bool) async throws {
        try await run("Writing link type \(id)") { [self] in
            try await client.query(
                """
                INSERT INTO link_types (id, enabled, updated_at) VALUES (\(id), \(enabled), \(Date().timeIntervalSince1970))
                ON CONFLICT (id) DO UPDATE SET enabled = EXCLUDED.enabled, updated_at = EXCLUDED.updated_at
                """, logger: logger)
            try await notify("link_types")
        }
    }

    public func linkTypeStates() async throws -> [String: Bool] {
        try await run("Reading link types") { [self] in
            var out: [String: Bool] = [:]
            for try await (id, enabled) in try await client.query("SELECT id, enabled FROM link_types", logger: logger).decode(
                (String, Bool).self)
            {
                out[id] = enabled
            }
            return out
        }
    }
}

extension PostgresStore: InstanceStore {
    private func identity() async throws -> InstanceIdentity? {
        for try await (appID, pem, sealed, created) in try await client.query(
            "SELECT app_id, public_key_pem, sealed_private_key, created_at FROM instance WHERE singleton = 1", logger: logger
        ).decode((String, String, Data, Double).self) {
            return InstanceIdentity(
                applicationID: appID, publicKeyPEM: pem, sealedPrivateKey: sealed, createdAt: Date(timeIntervalSince1970: created))
        }
        return nil
    }

    public func instanceIdentity() async throws -> InstanceIdentity? {
        try await run("Reading the instance identity") { [self] in try await identity() }
    }

    public func initializeInstanceIdentity(_ identity: InstanceIdentity) async throws -> InstanceIdentity {
        try await run("Writing the instance identity") { [self] in
            try await client.query(
                """
                INSERT INTO instance (singleton, app_id, public_key_pem, sealed_private_key, created_at)
                VALUES (1, \(identity.applicationID), \(identity.publicKeyPEM), \(identity.sealedPrivateKey), \(Columns.date(identity.createdAt)))
                ON CONFLICT (singleton) DO NOTHING
                """, logger: logger)
            return try await self.identity()!
        }
    }
}

extension PostgresStore: ClusterCoordination {
    /// A session advisory lock on a connection held for the work: it is released when the work ends, or by
    /// the server when the node holding it dies.
    public func exclusively(_ name: String, _ body: @Sendable () async throws -> Void) async throws -> Bool {
        try await observed("Coordinating \(name)") {
            try await client.withConnection { c in
                var got = false
                for try await ok in try await c.query("SELECT pg_try_advisory_lock(hashtext(\(name)))", logger: logger).decode(Bool.self) {
                    got = ok
                }
                guard got else { return false }
                do {
                    try await body()
                } catch {
                    _ = try? await c.query("SELECT pg_advisory_unlock(hashtext(\(name)))", logger: logger)
                    throw error
                }
                try await c.query("SELECT pg_advisory_unlock(hashtext(\(name)))", logger: logger)
                return true
            }
        }
    }
}

extension PostgresStore: ChangeNotifying {
    static let changeChannel = "applinks_changes"

    /// LISTEN on a pooled connection held for as long as the stream is consumed; reconnects after a failure.
    public func changes() -> AsyncStream<String> {
        let (client, logger) = (self.client, self.logger)
        return AsyncStream { continuation in
            let task = Task {
                while !Task.isCancelled {
                    do {
                        try await client.withConnection { c in
                            try await c.listen(on: Self.changeChannel) { notifications in
                                continuation.yield("subscribed")
                                for try await n in notifications { continuation.yield(n.payload) }
                            }
                        }
                    } catch {
                        if Task.isCancelled { break }
                        logger.warning("change feed interrupted; reconnecting", metadata: ["error": "\(PostgresStore.describe(error))"])
                    }
                    try? await Task.sleep(for: .seconds(1))
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Tells every node that `topic` changed; inside a transaction, delivered when it commits.
    func notify(_ topic: String, on connection: PostgresConnection? = nil) async throws {
        if let connection {
            try await connection.query("SELECT pg_notify(\(Self.changeChannel), \(topic))", logger: logger)
        } else {
            try await client.query("SELECT pg_notify(\(Self.changeChannel), \(topic))", logger: logger)
        }
    }
}
