import AppLinksCore
import AppLinksJSON
import AppLinksStore
import Foundation
import PostgresNIO

extension PostgresStore: PluginDataStore {
    private var now: Double { clock.seconds }

    public func value(namespace: String, key: String) async throws -> Data? {
        try await run("Reading plugin data \(namespace)/\(key)") { [self] in
            for try await v in try await client.query(
                """
                SELECT value FROM plugin_kv WHERE namespace = \(namespace) AND key = \(key)
                AND (expires_at IS NULL OR expires_at > \(self.now))
                """, logger: logger
            ).decode(Data.self) {
                return v
            }
            return nil
        }
    }

    public func put(namespace: String, key: String, value: Data, ttl: Duration?) async throws {
        let put = PutBatcher.Put(namespace: namespace, key: key, value: value, expires: ttl.map { self.now + Columns.seconds($0) })
        try await run("Writing plugin data \(namespace)/\(key)") { [puts] in try await puts.put(put) }
    }

    public func delete(namespace: String, key: String) async throws {
        try await run("Deleting plugin data \(namespace)/\(key)") { [self] in
            try await client.query("DELETE FROM plugin_kv WHERE namespace = \(namespace) AND key = \(key)", logger: logger)
        }
    }

    public func keys(namespace: String, prefix: String) async throws -> [String] {
        try await run("Listing plugin data \(namespace)") { [self] in
            var out: [String] = []
            // LIKE in the "C" collation, the prefix's own '%', '_' and '\\' escaped: PostgreSQL turns it into a range
            // over plugin_kv_by_prefix (migration 3), where left() read every row of the namespace. "C" orders by
            // bytes, as SQLite does.
            let pattern = prefix.replacing("\\", with: "\\\\").replacing("%", with: "\\%").replacing("_", with: "\\_") + "%"
            for try await k in try await client.query(
                """
                SELECT key FROM plugin_kv WHERE namespace = \(namespace) AND key COLLATE "C" LIKE \(pattern)
                AND (expires_at IS NULL OR expires_at > \(self.now)) ORDER BY key COLLATE "C"
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
        let now = self.now
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

    /// One transaction. Each requirement locks its key's row (`FOR UPDATE`) before it is checked, so no write to
    /// that key from another node comes between the check and the commit. A key that must be absent gets an
    /// already-expired row first, which every read treats as absent and the purge removes: that row is what a
    /// concurrent insert of the key then waits on. Requirements are locked in key order, so two batches that
    /// share keys cannot wait on each other.
    public func apply(namespace: String, _ changes: [KVChange]) async throws -> Int? {
        let now = self.now
        let required = changes.enumerated().compactMap { i, change -> (index: Int, key: String, value: Data?)? in
            guard case .require(let key, let value) = change else { return nil }
            return (i, key, value)
        }.sorted { ($0.key, $0.index) < ($1.key, $1.index) }
        return try await transaction("Writing plugin data \(namespace) (\(changes.count) changes)") { [logger] c in
            var failed: Int?
            for r in required {
                if r.value == nil {
                    try await c.query(
                        """
                        INSERT INTO plugin_kv (namespace, key, value, expires_at) VALUES (\(namespace), \(r.key), \(Data()), 0)
                        ON CONFLICT (namespace, key) DO NOTHING
                        """, logger: logger)
                }
                var current: Data?
                for try await (value, expires) in try await c.query(
                    "SELECT value, expires_at FROM plugin_kv WHERE namespace = \(namespace) AND key = \(r.key) FOR UPDATE", logger: logger
                ).decode((Data, Double?).self) where expires.map({ $0 > now }) ?? true {
                    current = value
                }
                if current != r.value { failed = min(failed ?? r.index, r.index) }
            }
            // A failed requirement writes nothing; what commits then is at most the expired placeholders, which every
            // read already treats as absent.
            if let failed { return failed }
            for change in changes {
                switch change {
                case .require: break
                case .put(let key, let value, let ttl):
                    let row = PutBatcher.Put(namespace: namespace, key: key, value: value, expires: ttl.map { now + Columns.seconds($0) })
                    try await c.query(try PutBatcher.upsert([row]), logger: logger)
                case .delete(let key):
                    try await c.query("DELETE FROM plugin_kv WHERE namespace = \(namespace) AND key = \(key)", logger: logger)
                }
            }
            return nil
        }
    }

    public func purgeExpiredPluginData() async throws {
        try await run("Purging expired plugin data") { [self] in
            try await client.query("DELETE FROM plugin_kv WHERE expires_at <= \(self.now)", logger: logger)
        }
    }
}
