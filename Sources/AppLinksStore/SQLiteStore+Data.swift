import AppLinksCore
import AppLinksJSON
import Foundation
import GRDB

/// Plugin data goes through ``SQLiteKV``'s prepared statements whichever API is used: an operation costs a few
/// microseconds, so the async API runs it in place rather than on GRDB's queues, and there is one SQL for both.
extension SQLiteStore: PluginDataStore, BlockingPluginDataStore {
    public func valueBlocking(namespace: String, key: String) throws -> Data? {
        try Self.kvCall("Reading plugin data \(namespace)/\(key)") { try kv.value(namespace: namespace, key: key) }
    }

    public func putBlocking(namespace: String, key: String, value: Data, ttl: Duration?) throws {
        try Self.kvCall("Writing plugin data \(namespace)/\(key)") {
            try kv.put(namespace: namespace, key: key, value: value, ttl: ttl.map(Columns.seconds))
        }
    }

    public func deleteBlocking(namespace: String, key: String) throws {
        try Self.kvCall("Writing plugin data \(namespace)/\(key)") { try kv.delete(namespace: namespace, key: key) }
    }

    public func keysBlocking(namespace: String, prefix: String) throws -> [String] {
        // A range the primary key serves: every UTF-8 key that starts with the prefix lies in [prefix, prefix + F4 90),
        // since no valid UTF-8 continues with those bytes. A condition on substr() alone read every row of the
        // namespace, so a link type with many tokens paid for all of them in each listing. substr() stays as the
        // exact test (and LIKE is avoided: '%' and '_' in a prefix match literally).
        try Self.kvCall("Reading plugin data \(namespace)") {
            try kv.read { c -> [String] in
                var keys: [String] = []
                try c.each(
                    """
                    SELECT key FROM plugin_kv WHERE namespace = ? AND key >= ? AND key < (? || CAST(x'F490' AS TEXT))
                    AND substr(key, 1, length(?)) = ? AND (expires_at IS NULL OR expires_at > ?) ORDER BY key
                    """, texts: [namespace, prefix, prefix, prefix, prefix], ints: [], doubles: [clock.seconds]
                ) { keys.append($0.text(0)) }
                return keys
            }
        }
    }

    public func compareAndSetBlocking(namespace: String, key: String, expected: Data?, replacement: Data?, ttl: Duration?) throws -> Bool {
        try Self.kvCall("Writing plugin data \(namespace)/\(key)") {
            try kv.compareAndSet(
                namespace: namespace, key: key, expected: expected, replacement: replacement, ttl: ttl.map(Columns.seconds))
        }
    }

    public func applyBlocking(namespace: String, _ changes: [KVChange]) throws -> Int? {
        try Self.kvCall("Writing plugin data \(namespace) (\(changes.count) changes)") { try kv.apply(namespace: namespace, changes) }
    }

    /// Deletes expired plugin data (codes, tokens), which every read already treats as absent. The server's status
    /// sweep runs it, at start and every `status.interval_seconds`; a CLI command never pays for the scan.
    public func purgeExpiredPluginData() throws {
        try Self.kvCall("Purging expired plugin data") { try kv.purgeExpired() }
    }

    static func kvCall<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch { throw AppLinksError(.storage, "\(what) failed: \(error)", cause: error) }
    }
}

extension SQLiteStore: DraftStore {
    public func saveDraft(_ draft: DraftRecord) async throws {
        try await write("draft \(draft.id)") { db in
            try db.execute(
                sql: """
                    INSERT INTO drafts (id, type, step, sealed_answers, note, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET step = excluded.step, sealed_answers = excluded.sealed_answers,
                        note = excluded.note, updated_at = excluded.updated_at
                    """,
                arguments: [
                    draft.id, draft.type, draft.step, draft.sealedAnswers, draft.note,
                    Columns.date(draft.createdAt), Columns.date(draft.updatedAt),
                ])
        }
    }

    private static func draft(_ row: Row) -> DraftRecord {
        DraftRecord(
            id: row["id"], type: row["type"], step: row["step"], sealedAnswers: row["sealed_answers"], note: row["note"],
            createdAt: Columns.date(row["created_at"]) ?? Date(), updatedAt: Columns.date(row["updated_at"]) ?? Date())
    }

    public func draft(id: String) async throws -> DraftRecord? {
        try await read("draft \(id)") { db in
            try Row.fetchOne(db, sql: "SELECT * FROM drafts WHERE id = ?", arguments: [id]).map(Self.draft)
        }
    }

    public func drafts() async throws -> [DraftRecord] {
        try await read("drafts") { db in try Row.fetchAll(db, sql: "SELECT * FROM drafts ORDER BY updated_at DESC").map(Self.draft) }
    }

    public func deleteDraft(id: String) async throws {
        try await write("draft \(id)") { db in try db.execute(sql: "DELETE FROM drafts WHERE id = ?", arguments: [id]) }
    }

    public func purgeDrafts(updatedBefore: Date) async throws -> Int {
        try await write("drafts") { db in
            try db.execute(sql: "DELETE FROM drafts WHERE updated_at < ?", arguments: [Columns.date(updatedBefore)])
            return db.changesCount
        }
    }
}

extension SQLiteStore: UserStore {
    private static func user(_ row: Row) -> UserRecord {
        UserRecord(
            name: row["name"], passwordHash: row["password_hash"], admin: row["admin"], createdAt: Columns.date(row["created_at"]) ?? Date()
        )
    }

    public func addUser(_ user: UserRecord) async throws {
        try await write("user \(user.name)") { db in
            do {
                try db.execute(
                    sql: "INSERT INTO users (name, password_hash, admin, created_at) VALUES (?, ?, ?, ?)",
                    arguments: [user.name, user.passwordHash, user.admin, Columns.date(user.createdAt)])
            } catch let e as DatabaseError where e.resultCode == .SQLITE_CONSTRAINT {
                throw StoreFailure.userExists(user.name, cause: e)
            }
        }
    }

    public func user(name: String) async throws -> UserRecord? {
        try await read("user \(name)") { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM users WHERE name = ?"), arguments: [name]).map(Self.user)
        }
    }

    public func users() async throws -> [UserRecord] {
        try await read("users") { db in try Row.fetchAll(db, sql: "SELECT * FROM users ORDER BY name").map(Self.user) }
    }

    public func setPassword(name: String, passwordHash: String) async throws {
        try await write("user \(name)") { db in
            try db.execute(sql: "UPDATE users SET password_hash = ? WHERE name = ?", arguments: [passwordHash, name])
            if db.changesCount == 0 { throw StoreFailure.noUser(name) }
        }
    }

    public func setAdmin(name: String, admin: Bool) async throws {
        try await write("user \(name)") { db in
            try db.execute(sql: "UPDATE users SET admin = ? WHERE name = ?", arguments: [admin, name])
            if db.changesCount == 0 { throw StoreFailure.noUser(name) }
        }
    }

    public func deleteUser(name: String) async throws -> Bool {
        try await write("user \(name)") { db in
            try db.execute(sql: "DELETE FROM users WHERE name = ?", arguments: [name])
            return db.changesCount > 0
        }
    }
}

extension SQLiteStore: TokenStore {
    private static func token(_ row: Row) -> TokenRecord {
        TokenRecord(
            id: row["id"], user: row["user"], name: row["name"], hash: row["hash"],
            scopes: Columns.decode([String].self, row["scopes"], default: []),
            createdAt: Columns.date(row["created_at"]) ?? Date(), expiresAt: Columns.date(row["expires_at"]), revoked: row["revoked"])
    }

    public func addToken(_ token: TokenRecord) async throws {
        try await write("token \(token.name)") { db in
            do {
                try db.execute(
                    sql: """
                        INSERT INTO tokens (id, user, name, hash, scopes, created_at, expires_at, revoked) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        token.id, token.user, token.name, token.hash, Columns.json(token.scopes),
                        Columns.date(token.createdAt), token.expiresAt.map(Columns.date), token.revoked,
                    ])
            } catch let e as DatabaseError where e.resultCode == .SQLITE_CONSTRAINT {
                throw StoreFailure.tokenRefused(user: token.user, cause: e)
            }
        }
    }

    public func token(hash: Data) async throws -> TokenRecord? {
        try await read("token") { db in try Row.fetchOne(db, sql: "SELECT * FROM tokens WHERE hash = ?", arguments: [hash]).map(Self.token)
        }
    }

    public func tokens(user: String?) async throws -> [TokenRecord] {
        try await read("tokens") { db in
            if let user {
                return try Row.fetchAll(db, sql: "SELECT * FROM tokens WHERE user = ? ORDER BY created_at", arguments: [user]).map(
                    Self.token)
            }
            return try Row.fetchAll(db, sql: "SELECT * FROM tokens ORDER BY created_at").map(Self.token)
        }
    }

    public func revokeToken(id: String) async throws -> Bool {
        try await write("token \(id)") { db in
            try db.execute(sql: "UPDATE tokens SET revoked = 1 WHERE id = ? AND revoked = 0", arguments: [id])
            return db.changesCount > 0
        }
    }
}

extension SQLiteStore: AuditStore {
    public func appendAudit(_ event: AuditEvent) async throws {
        try await write("audit event") { db in
            try db.execute(
                sql: "INSERT INTO audit (at, actor, action, link_id, link_type, detail) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [Columns.date(event.at), event.actor, event.action, event.linkID, event.linkType, Columns.json(event.detail)])
        }
    }

    public func auditEvents(since: Date?, limit: Int) async throws -> [AuditEvent] {
        try await read("audit log") { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM (SELECT * FROM audit WHERE at >= ? ORDER BY id DESC LIMIT ?) ORDER BY id",
                arguments: [Columns.date(since ?? .distantPast), limit]
            ).map { row in
                AuditEvent(
                    id: row["id"], at: Columns.date(row["at"]) ?? Date(), actor: row["actor"], action: row["action"],
                    linkID: row["link_id"], linkType: row["link_type"],
                    detail: Columns.decode([String: JSONValue].self, row["detail"], default: [:]))
            }
        }
    }
}

extension SQLiteStore: LinkTypeStateStore {
    public func setLinkTypeEnabled(_ id: String, enabled: Bool) async throws {
        try await write("link type \(id)") { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO link_types (id, enabled, updated_at) VALUES (?, ?, ?)",
                arguments: [id, enabled, Date().timeIntervalSince1970])
        }
    }

    public func linkTypeStates() async throws -> [String: Bool] {
        try await read("link types") { db in
            var out: [String: Bool] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, enabled FROM link_types") { out[row["id"]] = row["enabled"] }
            return out
        }
    }
}

extension SQLiteStore: InstanceStore {
    public func instanceIdentity() async throws -> InstanceIdentity? {
        try await read("instance identity") { db in
            try Row.fetchOne(db, sql: "SELECT * FROM instance WHERE singleton = 1").map { row in
                InstanceIdentity(
                    applicationID: row["app_id"], publicKeyPEM: row["public_key_pem"],
                    sealedPrivateKey: row["sealed_private_key"], createdAt: Columns.date(row["created_at"]) ?? Date())
            }
        }
    }

    public func initializeInstanceIdentity(_ identity: InstanceIdentity) async throws -> InstanceIdentity {
        try await write("instance identity") { db in
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO instance (singleton, app_id, public_key_pem, sealed_private_key, created_at) VALUES (1, ?, ?, ?, ?)
                    """,
                arguments: [identity.applicationID, identity.publicKeyPEM, identity.sealedPrivateKey, Columns.date(identity.createdAt)])
            let row = try Row.fetchOne(db, sql: "SELECT * FROM instance WHERE singleton = 1")!
            return InstanceIdentity(
                applicationID: row["app_id"], publicKeyPEM: row["public_key_pem"],
                sealedPrivateKey: row["sealed_private_key"], createdAt: Columns.date(row["created_at"]) ?? Date())
        }
    }
}

extension SQLiteStore: ClusterCoordination {
    /// One file has one server: there is no other node to leave the work to.
    public func exclusively(_ name: String, _ body: @Sendable () async throws -> Void) async throws -> Bool {
        try await body()
        return true
    }
}

extension SQLiteStore {
    /// A whole table in key order, as ``StoreTables`` describes it: what `applinks db migrate` copies.
    public func contents(of table: StoreTables.Table) async throws -> StoreTables.Contents {
        try await read("table \(table.name)") { db in
            let rows = try Row.fetchAll(db, sql: "SELECT \(table.quotedColumns) FROM \(table.name) ORDER BY \(table.order)")
            return StoreTables.Contents(
                rows: rows.map { row in
                    table.columns.enumerated().map { i, column -> StoreTables.Value in
                        let value: DatabaseValue = row[i]
                        switch (value.storage, column.kind) {
                        case (.null, _): return .null
                        case (.int64(let n), .real): return .real(Double(n))
                        case (.int64(let n), _): return .integer(n)
                        case (.double(let d), _): return .real(d)
                        case (.string(let t), _): return .text(t)
                        case (.blob(let b), _): return .blob(b)
                        }
                    }
                })
        }
    }
}
