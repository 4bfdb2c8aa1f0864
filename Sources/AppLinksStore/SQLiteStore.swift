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

// MARK: - Row mapping

/// How rows hold values that SQL has no type for: JSON text for lists and objects, seconds since 1970 for times.
/// Every backend stores them the same way, so that a migration between backends copies them unchanged.
public enum Columns {
    private static let decoder = JSONCoding.decoder()

    public static func json<T: Encodable>(_ v: T) -> String {
        String(decoding: (try? JSONCoding.encode(v)) ?? Data("null".utf8), as: UTF8.self)
    }

    public static func decode<T: Decodable>(_ type: T.Type, _ s: String?, default d: T) -> T {
        guard let s, let v = try? decoder.decode(type, from: Data(s.utf8)) else { return d }
        return v
    }

    /// Most links have no or one authentication type and an empty config; skip the parser for those.
    public static func strings(_ s: String?) -> [String] {
        guard let s, s != "[]", let value = try? JSONValue.parse(Data(s.utf8)) else { return [] }
        return strings(value) ?? []
    }

    public static func strings(_ value: JSONValue) -> [String]? {
        guard case .array(let items) = value else { return nil }
        let strings = items.compactMap { if case .string(let s) = $0 { s } else { nil } }
        return strings.count == items.count ? strings : nil
    }

    public static func object(_ s: String?) -> [String: JSONValue] {
        guard let s, s != "{}", let value = try? JSONValue.parse(Data(s.utf8)) else { return [:] }
        return object(value) ?? [:]
    }

    public static func object(_ value: JSONValue) -> [String: JSONValue]? {
        if case .object(let o) = value { o } else { nil }
    }

    public static func date(_ d: Date) -> Double { d.timeIntervalSince1970 }
    public static func date(_ v: Double?) -> Date? { v.map(Date.init(timeIntervalSince1970:)) }

    public static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}

/// One `links` row as plain values, read straight from the statement, with its JSON columns still text.
public struct LinkRow: Sendable {
    public var id, type, name, appType, appName: String
    public var appVersion, appID: String?
    public var displayURL, rpcURL, incomingAuth, outgoingAuth: String
    public var primary, enabled: Bool
    public var config, category: String
    public var errorType: String?
    public var message: String
    public var checkedAt: Double?
    public var version: Int
    public var createdAt, updatedAt: Double

    /// The columns of ``Link/selectColumns`` in order, as another backend reads them.
    public init(
        id: String, type: String, name: String, appType: String, appName: String, appVersion: String?, appID: String?,
        displayURL: String, rpcURL: String, incomingAuth: String?, outgoingAuth: String?, primary: Bool, enabled: Bool,
        config: String?, category: String, errorType: String?, message: String, checkedAt: Double?, version: Int,
        createdAt: Double, updatedAt: Double
    ) {
        self.id = id; self.type = type; self.name = name; self.appType = appType; self.appName = appName
        self.appVersion = appVersion; self.appID = appID; self.displayURL = displayURL; self.rpcURL = rpcURL
        self.incomingAuth = incomingAuth ?? "[]"; self.outgoingAuth = outgoingAuth ?? "[]"; self.primary = primary
        self.enabled = enabled; self.config = config ?? "{}"; self.category = category; self.errorType = errorType
        self.message = message; self.checkedAt = checkedAt; self.version = version; self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Reads the columns of ``Link/selectColumns`` by position.
    /// The same columns from a statement stepped on a connection of ``SQLiteKV``.
    init(_ row: ResultRow) {
        id = row.text(0); type = row.text(1); name = row.text(2); appType = row.text(3); appName = row.text(4)
        appVersion = row.optionalText(5); appID = row.optionalText(6); displayURL = row.text(7); rpcURL = row.text(8)
        incomingAuth = row.optionalText(9) ?? "[]"; outgoingAuth = row.optionalText(10) ?? "[]"
        primary = row.int(11) != 0; enabled = row.int(12) != 0; config = row.optionalText(13) ?? "{}"; category = row.text(14)
        errorType = row.optionalText(15); message = row.text(16); checkedAt = row.optionalDouble(17); version = row.int(18)
        createdAt = row.double(19); updatedAt = row.double(20)
    }

    init(_ row: Row) {
        id = row[0]; type = row[1]; name = row[2]; appType = row[3]; appName = row[4]; appVersion = row[5]; appID = row[6]
        displayURL = row[7]; rpcURL = row[8]; incomingAuth = row[9] ?? "[]"; outgoingAuth = row[10] ?? "[]"
        primary = row[11]; enabled = row[12]; config = row[13] ?? "{}"; category = row[14]; errorType = row[15]
        message = row[16]; checkedAt = row[17]; version = row[18]; createdAt = row[19]; updatedAt = row[20]
    }

    func link(incomingAuth: [String], outgoingAuth: [String], config: [String: JSONValue]) -> Link {
        Link(
            id: id, type: type, name: name,
            application: ApplicationInfo(type: appType, name: appName, version: appVersion, id: appID),
            displayURL: displayURL, rpcURL: rpcURL, incomingAuth: incomingAuth, outgoingAuth: outgoingAuth,
            primary: primary, enabled: enabled, config: config,
            status: LinkStatus(
                StatusCategory(rawValue: category) ?? .unknown, errorType.flatMap(StatusErrorType.init(rawValue:)),
                message: message, checkedAt: Columns.date(checkedAt)),
            version: version, createdAt: Date(timeIntervalSince1970: createdAt), updatedAt: Date(timeIntervalSince1970: updatedAt))
    }
}

extension Link {
    /// The columns `LinkRow` reads, by position: looking columns up by name costs more than the row itself.
    public static let selectColumns = """
        id, type, name, app_type, app_name, app_version, app_id, display_url, rpc_url, incoming_auth, outgoing_auth,
        is_primary, enabled, config, status_category, status_error_type, status_message, status_checked_at, version,
        created_at, updated_at
        """

    /// Decodes many rows, parsing each JSON column of a chunk of them in one decoder call (JSONDecoder's per-call
    /// cost, not the JSON itself, dominates thousands of small documents), one chunk per core.
    public static func decodeAll(_ rows: [LinkRow]) async -> [Link] {
        let parts = rows.count >= 512 ? ProcessInfo.processInfo.activeProcessorCount : 1
        // A page's worth is decoded where it is: a child task would cost two thread switches for no gain.
        if parts == 1 { return decodeChunk(rows) }
        let size = max(1, (rows.count + parts - 1) / parts)
        let chunks = stride(from: 0, to: rows.count, by: size).map { Array(rows[$0..<min($0 + size, rows.count)]) }
        return await withTaskGroup(of: (Int, [Link]).self) { group in
            for (i, chunk) in chunks.enumerated() { group.addTask { (i, decodeChunk(chunk)) } }
            var out = [[Link]](repeating: [], count: chunks.count)
            for await (i, links) in group { out[i] = links }
            return out.flatMap { $0 }
        }
    }

    public static func decodeChunk(_ rows: [LinkRow]) -> [Link] {
        // One parse per column for the whole chunk, with the byte-wise reader: Foundation's decoder was most of a
        // page of links' time.
        func column<T>(_ text: (LinkRow) -> String, _ element: (JSONValue) -> T?) -> [T]? {
            guard case .array(let values)? = try? JSONValue.parse(Data(("[" + rows.map(text).joined(separator: ",") + "]").utf8)),
                values.count == rows.count
            else { return nil }
            let decoded = values.compactMap(element)
            return decoded.count == rows.count ? decoded : nil
        }
        guard let incoming = column(\.incomingAuth, Columns.strings), let outgoing = column(\.outgoingAuth, Columns.strings),
            let configs = column(\.config, Columns.object)
        else {
            // One malformed column: decode row by row, which tolerates it.
            return rows.map {
                $0.link(
                    incomingAuth: Columns.strings($0.incomingAuth), outgoingAuth: Columns.strings($0.outgoingAuth),
                    config: Columns.object($0.config))
            }
        }
        return rows.indices.map { rows[$0].link(incomingAuth: incoming[$0], outgoingAuth: outgoing[$0], config: configs[$0]) }
    }

    init(row: Row) {
        let r = LinkRow(row)
        self = r.link(
            incomingAuth: Columns.strings(r.incomingAuth), outgoingAuth: Columns.strings(r.outgoingAuth), config: Columns.object(r.config))
    }
    var columnValues: [String: (any DatabaseValueConvertible)?] {
        [
            "id": id, "type": type, "name": name, "app_type": application.type, "app_name": application.name,
            "app_version": application.version, "app_id": application.id, "display_url": displayURL, "rpc_url": rpcURL,
            "incoming_auth": Columns.json(incomingAuth), "outgoing_auth": Columns.json(outgoingAuth),
            "is_primary": primary, "enabled": enabled, "config": Columns.json(config),
            "status_category": status.category.rawValue, "status_error_type": status.errorType?.rawValue,
            "status_message": status.message, "status_checked_at": status.checkedAt.map(Columns.date),
            "version": version, "created_at": Columns.date(createdAt), "updated_at": Columns.date(updatedAt),
        ]
    }
}

extension SQLiteStore: ClosableStore {
    /// Nothing to end early: SQLite's connections close with the store.
    public func close() {}
}

extension SQLiteStore: PoolReporting {
    public var poolUsage: PoolUsage { gauge.usage }
}
