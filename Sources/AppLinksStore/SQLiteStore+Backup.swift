import AppLinksCore
import Foundation
import GRDB

/// Backups are SQLite files: the store's own tables, copied consistently while writers go on, plus
/// `applinks_backup`, which says what the file is (and holds the master key only when asked).
extension SQLiteStore {
    static let backupTable = "applinks_backup"

    /// Copies the whole database to a new file at `path` with SQLite's online backup API: one consistent
    /// snapshot, taken while the server keeps writing. `facts` go into the file's `applinks_backup` table. The
    /// file is created readable by its owner only, and never replaces an existing one.
    public func backup(to path: String, facts: [String: String]) throws {
        try Self.createPrivate(path)
        do {
            let target = try DatabaseQueue(path: path)
            try pool.backup(to: target)
            try target.write { db in
                try db.execute(sql: "CREATE TABLE \(Self.backupTable) (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                for (key, value) in facts.sorted(by: { $0.key < $1.key }) {
                    try db.execute(sql: "INSERT INTO \(Self.backupTable) (key, value) VALUES (?, ?)", arguments: [key, value])
                }
            }
            try target.close()
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw AppLinksError(.storage, "Cannot write the backup \(path): \(Self.describe(error)). Nothing was written.", cause: error)
        }
    }

    /// What a backup file says about itself; refuses a file that is not an AppLinks backup.
    public static func backupFacts(path: String) throws -> [String: String] {
        var config = Configuration()
        config.readonly = true
        do {
            return try DatabaseQueue(path: path, configuration: config).read { db in
                guard try db.tableExists(backupTable) else {
                    throw AppLinksError(
                        .invalidInput,
                        "\(path) is not an AppLinks backup (it has no \(backupTable) table); make one with `applinks backup`.")
                }
                var facts: [String: String] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT key, value FROM \(backupTable)") { facts[row["key"]] = row["value"] }
                return facts
            }
        } catch let e as AppLinksError {
            throw e
        } catch {
            throw AppLinksError(.invalidInput, "\(path) is not a readable AppLinks backup: \(describe(error)).", cause: error)
        }
    }

    /// Copies a backup to a new database file at `path`, without the backup's own table.
    public static func restore(backup: String, to path: String) throws {
        try createPrivate(path)
        do {
            var config = Configuration()
            config.readonly = true
            let target = try DatabaseQueue(path: path)
            try DatabaseQueue(path: backup, configuration: config).backup(to: target)
            try target.write { db in try db.execute(sql: "DROP TABLE \(backupTable)") }
            try target.close()
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw AppLinksError(.storage, "Cannot restore into \(path): \(describe(error)). Nothing was written.", cause: error)
        }
    }

    static func createPrivate(_ path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            throw AppLinksError(
                .conflict, "Cannot create \(path): \(String(cString: strerror(errno))). A backup or database never replaces a file.")
        }
        try? FileHandle(fileDescriptor: fd, closeOnDealloc: true).close()
    }
}

extension SQLiteStore {
    /// SQLite's own check of every page and index: "ok", or what is damaged.
    public func integrityCheck() async throws -> [String] {
        try await read("integrity check") { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
    }
}
