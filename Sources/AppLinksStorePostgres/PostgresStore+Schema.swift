import AppLinksCore
import AppLinksLocking
import AppLinksStore
import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO

/// The schema: its migrations, run once by whichever node starts first.
extension PostgresStore {
    /// Numbered migrations, each applied once, by whichever node takes the advisory lock first.
    public static let migrations: [(Int, String, String)] = [
        (
            1, "initial",
            """
            CREATE TABLE links (
                id TEXT PRIMARY KEY, type TEXT NOT NULL, name TEXT NOT NULL, app_type TEXT NOT NULL, app_name TEXT NOT NULL,
                app_version TEXT, app_id TEXT, display_url TEXT NOT NULL, rpc_url TEXT NOT NULL,
                incoming_auth TEXT NOT NULL DEFAULT '[]', outgoing_auth TEXT NOT NULL DEFAULT '[]',
                is_primary BOOLEAN NOT NULL DEFAULT FALSE, enabled BOOLEAN NOT NULL DEFAULT TRUE, config TEXT NOT NULL DEFAULT '{}',
                status_category TEXT NOT NULL DEFAULT 'UNKNOWN', status_error_type TEXT, status_message TEXT NOT NULL DEFAULT '',
                status_checked_at DOUBLE PRECISION, version BIGINT NOT NULL DEFAULT 1,
                created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL
            );
            CREATE INDEX links_by_type ON links(type);
            CREATE INDEX links_by_app_type ON links(app_type);
            CREATE TABLE link_secrets (
                link_id TEXT NOT NULL REFERENCES links(id) ON DELETE CASCADE, name TEXT NOT NULL, sealed BYTEA NOT NULL,
                PRIMARY KEY (link_id, name)
            );
            CREATE TABLE plugin_kv (
                namespace TEXT NOT NULL, key TEXT NOT NULL, value BYTEA NOT NULL, expires_at DOUBLE PRECISION,
                PRIMARY KEY (namespace, key)
            );
            CREATE TABLE drafts (
                id TEXT PRIMARY KEY, type TEXT NOT NULL, step TEXT, sealed_answers BYTEA NOT NULL, note TEXT,
                created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL
            );
            CREATE TABLE users (
                name TEXT PRIMARY KEY, password_hash TEXT NOT NULL, admin BOOLEAN NOT NULL DEFAULT FALSE,
                created_at DOUBLE PRECISION NOT NULL
            );
            CREATE TABLE tokens (
                id TEXT PRIMARY KEY, "user" TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE, name TEXT NOT NULL,
                hash BYTEA NOT NULL UNIQUE, scopes TEXT NOT NULL DEFAULT '[]', created_at DOUBLE PRECISION NOT NULL,
                expires_at DOUBLE PRECISION, revoked BOOLEAN NOT NULL DEFAULT FALSE
            );
            CREATE TABLE audit (
                id BIGSERIAL PRIMARY KEY, at DOUBLE PRECISION NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
                link_id TEXT, link_type TEXT, detail TEXT NOT NULL DEFAULT '{}'
            );
            CREATE INDEX audit_by_time ON audit(at);
            CREATE TABLE link_types (id TEXT PRIMARY KEY, enabled BOOLEAN NOT NULL, updated_at DOUBLE PRECISION NOT NULL);
            CREATE TABLE instance (
                singleton INTEGER PRIMARY KEY CHECK (singleton = 1), app_id TEXT NOT NULL, public_key_pem TEXT NOT NULL,
                sealed_private_key BYTEA NOT NULL, created_at DOUBLE PRECISION NOT NULL
            );
            """
        ),
        // The links page's default order, read from an index (``PostgresStore/links(matching:)``).
        (
            2, "links-by-name",
            """
            CREATE INDEX links_by_name ON links (
                (translate(name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') COLLATE "C"), id COLLATE "C")
            """
        ),
        // Plugin data listed by prefix (``PostgresStore/keys(namespace:prefix:)``) as a range, not a scan of the
        // namespace: the primary key's collation is the database's, which a LIKE prefix cannot use.
        (3, "plugin-kv-by-prefix", #"CREATE INDEX plugin_kv_by_prefix ON plugin_kv (namespace, key COLLATE "C")"#),
    ]

    /// The advisory lock key for migrations ("applinks" in ASCII, truncated to 63 bits).
    static let migrationLock: Int64 = 0x6170_706C_696E_6B73 & Int64.max

    func migrate(upTo last: Int? = nil) async throws {
        let applied: [String] = try await client.withTransaction(logger: logger) { c in
            try await c.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: logger)
            try await c.query(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)
                """, logger: logger)
            var applied = Set<Int>()
            for try await v in try await c.query("SELECT version FROM schema_migrations", logger: logger).decode(Int.self) {
                applied.insert(v)
            }
            // A database that a newer AppLinks migrated is not touched by this one.
            let known = Set(Self.migrations.map(\.0))
            let newer = applied.subtracting(known).sorted()
            if !newer.isEmpty {
                throw AppLinksError(
                    .storage,
                    "a newer AppLinks has migrated it (schema versions \(newer.map(String.init).joined(separator: ", ")), which this "
                        + "version does not know); upgrade applinks on every node. Nothing was changed")
            }
            var upgraded: [String] = []
            for (version, name, sql) in Self.migrations where !applied.contains(version) && version <= (last ?? .max) {
                upgraded.append("\(version)-\(name)")
                // The extended protocol takes one statement at a time.
                for statement in sql.split(separator: ";") where !statement.allSatisfy(\.isWhitespace) {
                    try await c.query(PostgresQuery(unsafeSQL: String(statement)), logger: logger)
                }
                let now = Date().timeIntervalSince1970
                try await c.query(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (\(version), \(name), \(now))", logger: logger)
            }
            return applied.isEmpty ? [] : upgraded
        }
        upgrades.withLock { $0 = applied }
    }
}
