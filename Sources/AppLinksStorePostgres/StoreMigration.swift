import AppLinksCore
import AppLinksStore
import Foundation
import PostgresNIO

extension PostgresStore {
    /// The ORDER BY for `table`, with text keys in byte order as SQLite sorts them.
    private static func order(_ table: StoreTables.Table) -> String {
        table.order.split(separator: ",").map { key in
            let name = key.trimmingCharacters(in: .whitespaces)
            let kind = table.columns.first { $0.name == name }?.kind
            return kind == .text ? "\(name) COLLATE \"C\"" : name
        }.joined(separator: ", ")
    }

    /// A whole table in key order, as ``StoreTables`` describes it.
    public func contents(of table: StoreTables.Table) async throws -> StoreTables.Contents {
        try await run("Reading table \(table.name)", bounded: false) { [self] in
            var rows: [[StoreTables.Value]] = []
            let sql = "SELECT \(table.quotedColumns) FROM \(table.name) ORDER BY \(Self.order(table))"
            for try await row in try await client.query(PostgresQuery(unsafeSQL: sql), logger: logger) {
                let r = row.makeRandomAccess()
                rows.append(
                    try table.columns.enumerated().map { i, column -> StoreTables.Value in
                        switch column.kind {
                        case .text: return try r[i].decode(String?.self).map { .text($0) } ?? .null
                        case .real: return try r[i].decode(Double?.self).map { .real($0) } ?? .null
                        case .integer: return try r[i].decode(Int64?.self).map { .integer($0) } ?? .null
                        case .boolean: return try r[i].decode(Bool?.self).map { .boolean($0) } ?? .null
                        case .blob: return try r[i].decode(Data?.self).map { .blob($0) } ?? .null
                        }
                    })
            }
            return StoreTables.Contents(rows: rows)
        }
    }

    /// Writes every table in one transaction, into a database that holds no deployment yet.
    func load(_ tables: [(StoreTables.Table, StoreTables.Contents)]) async throws {
        try await transaction("Copying into \(location)", bounded: false) { [self] c in
            // "An empty database": none of another application's tables, and none of ours with rows in them, which the
            // copy would otherwise replace.
            let ours = Set(tables.map(\.0.name) + ["schema_migrations"])
            var foreign: [String] = []
            for try await name in try await c.query(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1", logger: logger
            ).decode(String.self) where !ours.contains(name) {
                foreign.append(name)
            }
            if !foreign.isEmpty {
                throw AppLinksError(
                    .conflict,
                    "\(location) is not empty: it holds other tables (\(foreign.prefix(5).joined(separator: ", "))"
                        + (foreign.count > 5 ? ", …" : "") + "). Migrate into a database of its own (CREATE DATABASE applinks).")
            }
            let counts = tables.map { "(SELECT count(*) FROM \($0.0.name))" }.joined(separator: " + ")
            for try await n in try await c.query(PostgresQuery(unsafeSQL: "SELECT \(counts)"), logger: logger).decode(Int64.self)
            where n > 0 {
                throw AppLinksError(
                    .conflict,
                    "\(location) already holds AppLinks data (a deployment, users or audit events); nothing was copied. Migrate "
                        + "into an empty database, or drop its tables first.")
            }
            for (table, contents) in tables {
                try await c.query(PostgresQuery(unsafeSQL: "DELETE FROM \(table.name)"), logger: logger)
                let placeholders = table.columns.indices.map { "$\($0 + 1)" }.joined(separator: ", ")
                let sql = "INSERT INTO \(table.name) (\(table.quotedColumns)) VALUES (\(placeholders))"
                for row in contents.rows {
                    var binds = PostgresBindings()
                    for (cell, column) in zip(row, table.columns) {
                        switch (cell, column.kind) {
                        case (.null, _): binds.appendNull()
                        case (.integer(let n), .boolean): binds.append(n != 0)
                        case (.integer(let n), _): binds.append(n)
                        case (.real(let d), _): binds.append(d)
                        case (.text(let t), _): binds.append(t)
                        case (.blob(let b), _): try binds.append(b)
                        }
                    }
                    try await c.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
                }
            }
            // New audit events continue after the copied ones.
            try await c.query(
                "SELECT setval(pg_get_serial_sequence('audit', 'id'), GREATEST((SELECT max(id) FROM audit), 1))", logger: logger)
        }
    }
}

/// Moves a deployment from its SQLite file to PostgreSQL: copies every table in one transaction, then reads each
/// back and compares its row count and checksum with the source. The SQLite file is only read.
public enum StoreMigration {
    public struct TableReport: Codable, Sendable {
        public var table: String
        public var rows: Int
        public var sourceChecksum: String
        public var targetChecksum: String
        public var matches: Bool { rows >= 0 && sourceChecksum == targetChecksum }

        enum CodingKeys: String, CodingKey {
            case table, rows
            case sourceChecksum = "source_sha256"
            case targetChecksum = "target_sha256"
        }
    }

    public static func migrate(from source: SQLiteStore, to target: PostgresStore) async throws -> [TableReport] {
        var copied: [(StoreTables.Table, StoreTables.Contents)] = []
        for table in StoreTables.all { copied.append((table, try await source.contents(of: table))) }
        try await target.load(copied)
        var reports: [TableReport] = []
        for (table, contents) in copied {
            let back = try await target.contents(of: table)
            reports.append(
                TableReport(
                    table: table.name, rows: back.rows.count == contents.rows.count ? back.rows.count : -1,
                    sourceChecksum: contents.checksum, targetChecksum: back.checksum))
        }
        if let bad = reports.first(where: { !$0.matches }) {
            throw AppLinksError(
                .storage,
                "The copy of table \(bad.table) does not match the source (sha256 \(bad.sourceChecksum) against \(bad.targetChecksum)). "
                    + "The SQLite file is unchanged; drop the tables in the target and run the migration again.")
        }
        return reports
    }
}
