import AppLinksCore
import AppLinksJSON
import Foundation
import GRDB

/// The embedded default store: SQLite through GRDB, in WAL mode so that the CLI and a running server share
/// one file.
///
/// ```swift
/// let store = try SQLiteStore(path: "applinks-home/applinks.db")
/// let links = try await store.links()
/// ```
public final class SQLiteStore: Sendable {
    let pool: DatabasePool
    let kv: SQLiteKV
    /// GRDB's readers and its one writer: the connections a store operation can wait for. (The plugins' key-value
    /// reads use connections of their own that never wait.)
    let gauge: OperationGauge
    /// The migrations this open applied to a database an older version had made: its upgrade, for the log.
    /// Empty for a new file and for one already up to date.
    public let upgradedBy: [String]

    /// Plugin data's expiry is measured against it.
    let clock: StoreClock

    /// `readOnly` opens an existing file without writing to it at all, not even a checkpoint: for copying it
    /// elsewhere (`applinks db migrate`) while leaving it byte for byte as it was. `clock` is what plugin data's
    /// expiry is measured against.
    public init(path: String, readOnly: Bool = false, clock: StoreClock = .system) throws {
        self.clock = clock
        kv = SQLiteKV(path: path, clock: clock)
        var config = Configuration()
        config.readonly = readOnly
        config.busyMode = .timeout(10)
        config.foreignKeysEnabled = true
        // In WAL mode, NORMAL syncs at checkpoints rather than at every commit: a power cut may lose the last
        // commits (an issued token, say) but never corrupts the file. Every commit waiting for the disk would
        // cap token issuance at the disk's flush rate.
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        gauge = OperationGauge(capacity: config.maximumReaderCount + 1)
        do {
            pool = try DatabasePool(path: path, configuration: config)
            // A file that a newer AppLinks has migrated is not read by this one: its schema is not ours.
            let unknown = try pool.read { db -> [String] in
                guard try Self.migrator.hasBeenSuperseded(db) else { return [] }
                let known = Set(Self.migrator.migrations)
                return try Self.migrator.appliedIdentifiers(db).filter { !known.contains($0) }.sorted()
            }
            if !unknown.isEmpty { throw NewerSchema(migrations: unknown) }
            if readOnly {
                guard try pool.read({ try Self.migrator.hasCompletedMigrations($0) }) else {
                    throw AppLinksError(
                        .storage, "the file was written by another version of AppLinks; run any applinks command on it first")
                }
                upgradedBy = []
            } else {
                let applied = try pool.read { try Self.migrator.appliedIdentifiers($0) }
                try Self.migrator.migrate(pool)
                upgradedBy = applied.isEmpty ? [] : Self.migrator.migrations.filter { !applied.contains($0) }
            }
        } catch let newer as NewerSchema {
            throw AppLinksError(.storage, "Cannot open the database at \(path): \(newer).", cause: newer)
        } catch {
            throw AppLinksError(
                .storage,
                "Cannot open the database at \(path): \(Self.describe(error)). Check that the file is a "
                    + "readable, writable AppLinks database.", cause: error)
        }
    }

    /// A database as an older version of AppLinks left it: the schema up to `migration`, and nothing after. For
    /// upgrade tests, which take the previous release's schema from the migration list.
    public static func create(path: String, schemaUpTo migration: String) throws {
        guard migrator.migrations.contains(migration) else {
            throw AppLinksError(.invalidInput, "No migration '\(migration)'; they are \(migrator.migrations.joined(separator: ", ")).")
        }
        let queue = try DatabaseQueue(path: path)
        try migrator.migrate(queue, upTo: migration)
        try queue.close()
    }

    /// Every migration this version knows, oldest first.
    public static var migrations: [String] { migrator.migrations }

    /// The file's migrations against this version's, read without changing the file.
    public static func schemaStatus(path: String) throws -> SchemaStatus {
        var config = Configuration()
        config.readonly = true
        do {
            let applied = try DatabaseQueue(path: path, configuration: config).read { try migrator.appliedIdentifiers($0) }
            let known = migrator.migrations
            return SchemaStatus(
                database: path, applied: known.filter(applied.contains) + applied.filter { !known.contains($0) }.sorted(),
                pending: known.filter { !applied.contains($0) }, newer: applied.filter { !known.contains($0) }.sorted())
        } catch {
            throw AppLinksError(.storage, "Cannot read the database at \(path): \(describe(error)).", cause: error)
        }
    }

    /// A database migrated by a newer AppLinks than this one.
    struct NewerSchema: Error, CustomStringConvertible {
        var migrations: [String]
        var description: String {
            "a newer AppLinks has migrated it (\(migrations.joined(separator: ", ")), which this version does not know); upgrade "
                + "applinks, or restore a backup this version made. Nothing was changed"
        }
    }

    /// Numbered migrations, run at every start; each runs once.
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("0001-initial") { db in
            try db.execute(
                sql: """
                    CREATE TABLE links (
                        id TEXT PRIMARY KEY NOT NULL,
                        type TEXT NOT NULL,
                        name TEXT NOT NULL,
                        app_type TEXT NOT NULL,
                        app_name TEXT NOT NULL,
                        app_version TEXT,
                        app_id TEXT,
                        display_url TEXT NOT NULL,
                        rpc_url TEXT NOT NULL,
                        incoming_auth TEXT NOT NULL DEFAULT '[]',
                        outgoing_auth TEXT NOT NULL DEFAULT '[]',
                        is_primary INTEGER NOT NULL DEFAULT 0,
                        enabled INTEGER NOT NULL DEFAULT 1,
                        config TEXT NOT NULL DEFAULT '{}',
                        status_category TEXT NOT NULL DEFAULT 'UNKNOWN',
                        status_error_type TEXT,
                        status_message TEXT NOT NULL DEFAULT '',
                        status_checked_at REAL,
                        version INTEGER NOT NULL DEFAULT 1,
                        created_at REAL NOT NULL,
                        updated_at REAL NOT NULL
                    );
                    CREATE INDEX links_by_type ON links(type);
                    CREATE INDEX links_by_app_type ON links(app_type);
                    CREATE TABLE link_secrets (
                        link_id TEXT NOT NULL REFERENCES links(id) ON DELETE CASCADE,
                        name TEXT NOT NULL,
                        sealed BLOB NOT NULL,
                        PRIMARY KEY (link_id, name)
                    );
                    CREATE TABLE plugin_kv (
                        namespace TEXT NOT NULL,
                        key TEXT NOT NULL,
                        value BLOB NOT NULL,
                        expires_at REAL,
                        PRIMARY KEY (namespace, key)
                    );
                    CREATE TABLE drafts (
                        id TEXT PRIMARY KEY NOT NULL,
                        type TEXT NOT NULL,
                        step TEXT,
                        sealed_answers BLOB NOT NULL,
                        note TEXT,
                        created_at REAL NOT NULL,
                        updated_at REAL NOT NULL
                    );
                    CREATE TABLE users (
                        name TEXT PRIMARY KEY NOT NULL,
                        password_hash TEXT NOT NULL,
                        admin INTEGER NOT NULL DEFAULT 0,
                        created_at REAL NOT NULL
                    );
                    CREATE TABLE tokens (
                        id TEXT PRIMARY KEY NOT NULL,
                        user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
                        name TEXT NOT NULL,
                        hash BLOB NOT NULL UNIQUE,
                        scopes TEXT NOT NULL DEFAULT '[]',
                        created_at REAL NOT NULL,
                        expires_at REAL,
                        revoked INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE TABLE audit (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        at REAL NOT NULL,
                        actor TEXT NOT NULL,
                        action TEXT NOT NULL,
                        link_id TEXT,
                        link_type TEXT,
                        detail TEXT NOT NULL DEFAULT '{}'
                    );
                    CREATE INDEX audit_by_time ON audit(at);
                    CREATE TABLE link_types (
                        id TEXT PRIMARY KEY NOT NULL,
                        enabled INTEGER NOT NULL,
                        updated_at REAL NOT NULL
                    );
                    CREATE TABLE instance (
                        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                        app_id TEXT NOT NULL,
                        public_key_pem TEXT NOT NULL,
                        sealed_private_key BLOB NOT NULL,
                        created_at REAL NOT NULL
                    );
                    """)
        }
        // Plugin data keyed by its primary key alone: a rowid table kept (namespace, key) in a second B-tree,
        // so that every token written touched two trees and every lookup read both.
        m.registerMigration("0002-plugin-kv-without-rowid") { db in
            try db.execute(
                sql: """
                    CREATE TABLE plugin_kv_new (
                        namespace TEXT NOT NULL,
                        key TEXT NOT NULL,
                        value BLOB NOT NULL,
                        expires_at REAL,
                        PRIMARY KEY (namespace, key)
                    ) WITHOUT ROWID;
                    INSERT INTO plugin_kv_new SELECT namespace, key, value, expires_at FROM plugin_kv;
                    DROP TABLE plugin_kv;
                    ALTER TABLE plugin_kv_new RENAME TO plugin_kv;
                    """)
        }
        // The links page's default order, read from an index: sorting every link for each page of fifty was most of
        // the query's time.
        m.registerMigration("0003-links-by-name") { db in
            try db.execute(sql: "CREATE INDEX links_by_name ON links(lower(name), id)")
        }
        return m
    }

    static func describe(_ error: any Error) -> String {
        if let e = error as? DatabaseError { return e.message ?? "\(e.resultCode)" }
        return "\(error)"
    }

    func read<T: Sendable>(_ what: String, _ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        do { return try await gauge.measure { try await pool.read(body) } } catch let e as AppLinksError { throw e } catch {
            throw AppLinksError(.storage, "Reading \(what) failed: \(Self.describe(error))", cause: error)
        }
    }

    func write<T: Sendable>(_ what: String, _ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        do { return try await gauge.measure { try await pool.write(body) } } catch let e as AppLinksError { throw e } catch {
            throw AppLinksError(.storage, "Writing \(what) failed: \(Self.describe(error))", cause: error)
        }
    }
}

extension SQLiteStore: PoolReporting {
    public var poolUsage: PoolUsage { gauge.usage }
}
