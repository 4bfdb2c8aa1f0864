import AppLinksCrypto
import Foundation

/// Every table a deployment keeps, column by column, as both backends lay them out: what
/// `applinks db migrate` copies, counts and checksums.
public enum StoreTables {
    /// How a column's values are held: SQLite keeps booleans as integers, PostgreSQL as booleans.
    public enum Kind: Sendable {
        case text, real, integer, boolean, blob
    }

    public struct Table: Sendable {
        public var name: String
        public var columns: [(name: String, kind: Kind)]
        /// The primary key, for a stable row order on both sides.
        public var order: String
        /// The column list for SQL: `user` is a reserved word in PostgreSQL.
        public var quotedColumns: String { columns.map { $0.name == "user" ? "\"user\"" : $0.name }.joined(separator: ", ") }
    }

    public static let all: [Table] = [
        Table(
            name: "links",
            columns: [
                ("id", .text), ("type", .text), ("name", .text), ("app_type", .text), ("app_name", .text), ("app_version", .text),
                ("app_id", .text), ("display_url", .text), ("rpc_url", .text), ("incoming_auth", .text), ("outgoing_auth", .text),
                ("is_primary", .boolean), ("enabled", .boolean), ("config", .text), ("status_category", .text),
                ("status_error_type", .text), ("status_message", .text), ("status_checked_at", .real), ("version", .integer),
                ("created_at", .real), ("updated_at", .real),
            ], order: "id"),
        Table(name: "link_secrets", columns: [("link_id", .text), ("name", .text), ("sealed", .blob)], order: "link_id, name"),
        Table(
            name: "plugin_kv", columns: [("namespace", .text), ("key", .text), ("value", .blob), ("expires_at", .real)],
            order: "namespace, key"),
        Table(
            name: "drafts",
            columns: [
                ("id", .text), ("type", .text), ("step", .text), ("sealed_answers", .blob), ("note", .text), ("created_at", .real),
                ("updated_at", .real),
            ], order: "id"),
        Table(
            name: "users", columns: [("name", .text), ("password_hash", .text), ("admin", .boolean), ("created_at", .real)], order: "name"),
        Table(
            name: "tokens",
            columns: [
                ("id", .text), ("user", .text), ("name", .text), ("hash", .blob), ("scopes", .text), ("created_at", .real),
                ("expires_at", .real), ("revoked", .boolean),
            ], order: "id"),
        Table(
            name: "audit",
            columns: [
                ("id", .integer), ("at", .real), ("actor", .text), ("action", .text), ("link_id", .text), ("link_type", .text),
                ("detail", .text),
            ], order: "id"),
        Table(name: "link_types", columns: [("id", .text), ("enabled", .boolean), ("updated_at", .real)], order: "id"),
        Table(
            name: "instance",
            columns: [
                ("singleton", .integer), ("app_id", .text), ("public_key_pem", .text), ("sealed_private_key", .blob), ("created_at", .real),
            ], order: "singleton"),
    ]

    /// One cell, the same whichever backend it came from.
    public enum Value: Sendable, Hashable {
        case null
        case text(String)
        case real(Double)
        case integer(Int64)
        case blob(Data)

        /// A boolean column's value: SQLite's 0/1 and PostgreSQL's false/true compare equal.
        public static func boolean(_ b: Bool) -> Value { .integer(b ? 1 : 0) }
    }

    /// A table's rows in key order, and their checksum: SHA-256 over each cell's type and exact bytes.
    public struct Contents: Sendable {
        public var rows: [[Value]]

        public init(rows: [[Value]]) { self.rows = rows }

        public var checksum: String {
            var bytes = Data()
            for row in rows {
                for cell in row {
                    switch cell {
                    case .null: bytes.append(0)
                    case .text(let s): bytes.append(1); Self.append(Data(s.utf8), to: &bytes)
                    case .real(let d): bytes.append(2); withUnsafeBytes(of: d.bitPattern.bigEndian) { bytes.append(contentsOf: $0) }
                    case .integer(let i): bytes.append(3); withUnsafeBytes(of: i.bigEndian) { bytes.append(contentsOf: $0) }
                    case .blob(let b): bytes.append(4); Self.append(b, to: &bytes)
                    }
                }
                bytes.append(0xFF)
            }
            return Digest.sha256(bytes).hexString
        }

        private static func append(_ d: Data, to bytes: inout Data) {
            withUnsafeBytes(of: UInt64(d.count).bigEndian) { bytes.append(contentsOf: $0) }
            bytes.append(d)
        }
    }
}
