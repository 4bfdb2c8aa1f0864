import AppLinksCore
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

    public init(path: String) throws {
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.foreignKeysEnabled = true
        do {
            pool = try DatabasePool(path: path, configuration: config)
            try Self.migrator.migrate(pool)
        } catch {
            throw AppLinksError(.storage, "Cannot open the database at \(path): \(Self.describe(error)). Check that the file is a "
                + "readable, writable AppLinks database.", cause: error)
        }
    }

    /// Numbered migrations, run at every start; each runs once.
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("0001-initial") { db in
            try db.execute(sql: """
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
        return m
    }

    static func describe(_ error: any Error) -> String {
        if let e = error as? DatabaseError { return e.message ?? "\(e.resultCode)" }
        return "\(error)"
    }

    func read<T: Sendable>(_ what: String, _ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        do { return try await pool.read(body) } catch let e as AppLinksError { throw e } catch {
            throw AppLinksError(.storage, "Reading \(what) failed: \(Self.describe(error))", cause: error)
        }
    }

    func write<T: Sendable>(_ what: String, _ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        do { return try await pool.write(body) } catch let e as AppLinksError { throw e } catch {
            throw AppLinksError(.storage, "Writing \(what) failed: \(Self.describe(error))", cause: error)
        }
    }
}

// MARK: - Row mapping

enum Columns {
    static func json<T: Encodable>(_ v: T) -> String {
        String(decoding: (try? JSONCoding.encode(v)) ?? Data("null".utf8), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ s: String?, default d: T) -> T {
        guard let s, let v = try? JSONCoding.decode(type, from: Data(s.utf8)) else { return d }
        return v
    }

    static func date(_ d: Date) -> Double { d.timeIntervalSince1970 }
    static func date(_ v: Double?) -> Date? { v.map(Date.init(timeIntervalSince1970:)) }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}

extension Link {
    init(row: Row) {
        let category = StatusCategory(rawValue: row["status_category"]) ?? .unknown
        let errorType = (row["status_error_type"] as String?).flatMap(StatusErrorType.init(rawValue:))
        self.init(
            id: row["id"], type: row["type"], name: row["name"],
            application: ApplicationInfo(type: row["app_type"], name: row["app_name"], version: row["app_version"], id: row["app_id"]),
            displayURL: row["display_url"], rpcURL: row["rpc_url"],
            incomingAuth: Columns.decode([String].self, row["incoming_auth"], default: []),
            outgoingAuth: Columns.decode([String].self, row["outgoing_auth"], default: []),
            primary: row["is_primary"], enabled: row["enabled"],
            config: Columns.decode([String: JSONValue].self, row["config"], default: [:]),
            status: LinkStatus(category, errorType, message: row["status_message"], checkedAt: Columns.date(row["status_checked_at"])),
            version: row["version"],
            createdAt: Columns.date(row["created_at"]) ?? Date(), updatedAt: Columns.date(row["updated_at"]) ?? Date())
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
