import AppLinksCore
import Foundation
import GRDB

extension SQLiteStore: LinkStore {
    public func createLink(_ link: Link, sealedSecrets: [String: Data]) async throws -> Link {
        try await write("link \(link.name)") { db in
            var link = link
            let hasPrimary =
                try Bool.fetchOne(
                    db, sql: "SELECT EXISTS(SELECT 1 FROM links WHERE app_type = ? AND is_primary = 1)",
                    arguments: [link.application.type]) ?? false
            if !hasPrimary {
                link.primary = true
            } else if link.primary {
                try db.execute(sql: "UPDATE links SET is_primary = 0 WHERE app_type = ?", arguments: [link.application.type])
            }
            let values = link.columnValues
            let names = values.keys.sorted()
            do {
                try db.execute(
                    sql: "INSERT INTO links (\(names.joined(separator: ","))) VALUES (\(names.map { _ in "?" }.joined(separator: ",")))",
                    arguments: StatementArguments(names.map { values[$0]! }))
            } catch let e as DatabaseError where e.resultCode == .SQLITE_CONSTRAINT {
                throw StoreFailure.linkExists(link.id, cause: e)
            }
            for (name, sealed) in sealedSecrets {
                try db.execute(
                    sql: "INSERT INTO link_secrets (link_id, name, sealed) VALUES (?, ?, ?)", arguments: [link.id, name, sealed])
            }
            return link
        }
    }

    public func link(id: String) async throws -> Link? {
        try await read("link \(id)") { db in
            try Row.fetchOne(db, sql: "SELECT \(Link.selectColumns) FROM links WHERE id = ?", arguments: [id]).map(Link.init(row:))
        }
    }

    public func links() async throws -> [Link] {
        let rows = try await read("links") { db in
            var rows: [LinkRow] = []
            let cursor = try Row.fetchCursor(db, sql: "SELECT \(Link.selectColumns) FROM links ORDER BY name, id")
            while let row = try cursor.next() { rows.append(LinkRow(row)) }
            return rows
        }
        return await Link.decodeAll(rows)
    }

    public func updateLink(_ link: Link, sealedSecrets: [String: Data?]) async throws -> Link {
        try await write("link \(link.id)") { db in
            var updated = link
            updated.version = link.version + 1
            updated.updatedAt = Date()
            var values = updated.columnValues
            values["id"] = nil
            values["created_at"] = nil
            values["is_primary"] = nil  // primary changes go through makePrimary, which keeps one per type
            let names = values.keys.sorted()
            try db.execute(
                sql: "UPDATE links SET \(names.map { "\($0) = ?" }.joined(separator: ", ")) WHERE id = ? AND version = ?",
                arguments: StatementArguments(names.map { values[$0]! } + [link.id, link.version]))
            if db.changesCount == 0 {
                let current = try Int.fetchOne(db, sql: "SELECT version FROM links WHERE id = ?", arguments: [link.id])
                guard let current else { throw StoreFailure.linkGone(link.id) }
                throw StoreFailure.versionConflict(name: link.name, current: current, expected: link.version)
            }
            for (name, sealed) in sealedSecrets {
                if let sealed {
                    try db.execute(
                        sql: "INSERT OR REPLACE INTO link_secrets (link_id, name, sealed) VALUES (?, ?, ?)",
                        arguments: [link.id, name, sealed])
                } else {
                    try db.execute(sql: "DELETE FROM link_secrets WHERE link_id = ? AND name = ?", arguments: [link.id, name])
                }
            }
            return try Row.fetchOne(db, sql: "SELECT \(Link.selectColumns) FROM links WHERE id = ?", arguments: [link.id]).map(
                Link.init(row:))!
        }
    }

    public func deleteLink(id: String) async throws -> Bool {
        try await write("link \(id)") { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT app_type, is_primary FROM links WHERE id = ?", arguments: [id]) else {
                return false
            }
            try db.execute(sql: "DELETE FROM links WHERE id = ?", arguments: [id])
            if row["is_primary"] as Bool {
                try db.execute(
                    sql: """
                        UPDATE links SET is_primary = 1 WHERE id = (
                            SELECT id FROM links WHERE app_type = ? ORDER BY created_at, id LIMIT 1)
                        """, arguments: [row["app_type"] as String])
            }
            return true
        }
    }

    public func setStatus(linkID: String, _ status: LinkStatus, applicationVersion: String?) async throws {
        try await write("status of link \(linkID)") { db in
            try db.execute(
                sql: """
                    UPDATE links SET status_category = ?, status_error_type = ?, status_message = ?, status_checked_at = ?,
                        app_version = COALESCE(?, app_version) WHERE id = ?
                    """,
                arguments: [
                    status.category.rawValue, status.errorType?.rawValue, status.message,
                    Columns.date(status.checkedAt ?? Date()), applicationVersion, linkID,
                ])
        }
    }

    public func makePrimary(id: String) async throws -> Link {
        try await write("primary link \(id)") { db in
            guard let appType = try String.fetchOne(db, sql: "SELECT app_type FROM links WHERE id = ?", arguments: [id]) else {
                throw AppLinksError(.notFound, "The link \(id) does not exist.")
            }
            try db.execute(
                sql: "UPDATE links SET is_primary = (id = ?), version = version + (is_primary <> (id = ?)) WHERE app_type = ?",
                arguments: [id, id, appType])
            return try Row.fetchOne(db, sql: "SELECT \(Link.selectColumns) FROM links WHERE id = ?", arguments: [id]).map(Link.init(row:))!
        }
    }

    public func sealedSecrets(linkID: String) async throws -> [String: Data] {
        try await read("secrets of link \(linkID)") { db in
            var out: [String: Data] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, sealed FROM link_secrets WHERE link_id = ?", arguments: [linkID]) {
                out[row["name"]] = row["sealed"]
            }
            return out
        }
    }
}

/// A plugin's blocking host calls may run on an event loop (a route declared inline): they read through
/// ``SQLiteKV``'s connections, which never wait for one another. Through GRDB's pool they waited for a reader that
/// async reads held, whose continuations needed that same event loop: the server hung.
extension SQLiteStore: BlockingLinkReader {
    public func linkBlocking(id: String) throws -> Link? {
        try blockingLinks("link \(id)", "SELECT \(Link.selectColumns) FROM links WHERE id = ?", [id]).first
    }

    public func linksBlocking(type: String) throws -> [Link] {
        try blockingLinks("links of type \(type)", "SELECT \(Link.selectColumns) FROM links WHERE type = ? ORDER BY name, id", [type])
    }

    private func blockingLinks(_ what: String, _ sql: String, _ arguments: [String]) throws -> [Link] {
        let rows = try Self.kvCall("Reading \(what)") {
            try kv.read { c -> [LinkRow] in
                var rows: [LinkRow] = []
                try c.each(sql, texts: arguments, ints: []) { rows.append(LinkRow($0)) }
                return rows
            }
        }
        return Link.decodeChunk(rows)
    }
}
