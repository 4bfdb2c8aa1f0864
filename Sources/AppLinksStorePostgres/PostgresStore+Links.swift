import AppLinksCore
import AppLinksStore
import Foundation
import PostgresNIO

extension PostgresStore: LinkStore {
    static func linkRow(_ row: PostgresRow) throws -> LinkRow {
        let r = row.makeRandomAccess()
        return LinkRow(
            id: try r[0].decode(String.self), type: try r[1].decode(String.self), name: try r[2].decode(String.self),
            appType: try r[3].decode(String.self), appName: try r[4].decode(String.self), appVersion: try r[5].decode(String?.self),
            appID: try r[6].decode(String?.self), displayURL: try r[7].decode(String.self), rpcURL: try r[8].decode(String.self),
            incomingAuth: try r[9].decode(String?.self), outgoingAuth: try r[10].decode(String?.self), primary: try r[11].decode(Bool.self),
            enabled: try r[12].decode(Bool.self), config: try r[13].decode(String?.self), category: try r[14].decode(String.self),
            errorType: try r[15].decode(String?.self), message: try r[16].decode(String.self), checkedAt: try r[17].decode(Double?.self),
            version: try r[18].decode(Int.self), createdAt: try r[19].decode(Double.self), updatedAt: try r[20].decode(Double.self))
    }

    static func links(_ rows: PostgresRowSequence) async throws -> [LinkRow] {
        var out: [LinkRow] = []
        for try await row in rows { out.append(try linkRow(row)) }
        return out
    }

    static let select = "SELECT \(Link.selectColumns) FROM links"

    func fetchLink(_ c: PostgresConnection, id: String) async throws -> Link? {
        let rows = try await Self.links(try await c.query("\(unescaped: Self.select) WHERE id = \(id)", logger: logger))
        return Link.decodeChunk(rows).first
    }

    public func createLink(_ link: Link, sealedSecrets: [String: Data]) async throws -> Link {
        try await transaction("Writing link \(link.name)") { [self] c in
            var link = link
            // One primary per application type, decided under a lock on that type.
            try await c.query("SELECT pg_advisory_xact_lock(hashtext(\("primary:" + link.application.type)))", logger: logger)
            var hasPrimary = false
            for try await _ in try await c.query(
                "SELECT 1 FROM links WHERE app_type = \(link.application.type) AND is_primary", logger: logger)
            {
                hasPrimary = true
            }
            if !hasPrimary {
                link.primary = true
            } else if link.primary {
                try await c.query("UPDATE links SET is_primary = FALSE WHERE app_type = \(link.application.type)", logger: logger)
            }
            do {
                try await c.query(
                    """
                    INSERT INTO links (id, type, name, app_type, app_name, app_version, app_id, display_url, rpc_url, incoming_auth,
                        outgoing_auth, is_primary, enabled, config, status_category, status_error_type, status_message,
                        status_checked_at, version, created_at, updated_at)
                    VALUES (\(link.id), \(link.type), \(link.name), \(link.application.type), \(link.application.name),
                        \(link.application.version), \(link.application.id), \(link.displayURL), \(link.rpcURL),
                        \(Columns.json(link.incomingAuth)), \(Columns.json(link.outgoingAuth)), \(link.primary), \(link.enabled),
                        \(Columns.json(link.config)), \(link.status.category.rawValue), \(link.status.errorType?.rawValue),
                        \(link.status.message), \(link.status.checkedAt.map(Columns.date)), \(link.version),
                        \(Columns.date(link.createdAt)), \(Columns.date(link.updatedAt)))
                    """, logger: logger)
            } catch  where Self.sqlState(error) == "23505" {
                throw StoreFailure.linkExists(link.id, cause: error)
            }
            for (name, sealed) in sealedSecrets {
                try await c.query(
                    "INSERT INTO link_secrets (link_id, name, sealed) VALUES (\(link.id), \(name), \(sealed))", logger: logger)
            }
            return link
        }
    }

    public func link(id: String) async throws -> Link? {
        try await run("Reading link \(id)") { [self] in
            Link.decodeChunk(try await Self.links(try await client.query("\(unescaped: Self.select) WHERE id = \(id)", logger: logger)))
                .first
        }
    }

    public func links() async throws -> [Link] {
        let rows = try await run("Reading links") { [self] in
            try await Self.links(try await client.query("\(unescaped: Self.select) ORDER BY name COLLATE \"C\", id", logger: logger))
        }
        return await Link.decodeAll(rows)
    }

    /// The links page's query in SQL, with the reference's order (``LinkQuery/apply(_:)``): ASCII letters fold
    /// and nothing else does, and text compares byte by byte (`COLLATE "C"`), whatever the database's locale.
    public func links(matching query: LinkQuery) async throws -> LinkPage {
        func fold(_ sql: String) -> String { "translate(\(sql), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')" }
        var binds = PostgresBindings()
        func bind(_ value: String) -> String {
            binds.append(value)
            return "$\(binds.count)"
        }
        var conditions: [String] = []
        if let type = query.type { conditions.append("type = \(bind(type))") }
        if let category = query.category { conditions.append("status_category = \(bind(category.rawValue))") }
        if let search = query.search, !search.isEmpty {
            let escaped = TextEscaping.backslashed(search, ["%", "_"])
            let pattern = fold(bind("%" + escaped + "%"))
            conditions.append("(\(fold("name")) LIKE \(pattern) ESCAPE '\\' OR \(fold("display_url")) LIKE \(pattern) ESCAPE '\\')")
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let key: String? =
            switch query.order {
            case .name: nil
            case .type: "type"
            case .direction:
                "CASE WHEN incoming_auth != '[]' AND outgoing_auth != '[]' THEN 'Two-way' WHEN incoming_auth != '[]' THEN 'Incoming' ELSE 'Outgoing' END"
            case .status: "status_category"
            }
        let direction = query.descending ? "DESC" : "ASC"
        let order = ((key.map { [$0] } ?? []) + [fold("name"), "id"]).map { "\($0) COLLATE \"C\" \(direction)" }.joined(separator: ", ")
        let countBinds = binds
        let limit = query.limit == .max ? "ALL" : String(query.limit)
        let page = PostgresQuery(
            unsafeSQL: "\(Self.select) \(whereClause) ORDER BY \(order) LIMIT \(limit) OFFSET \(query.offset)", binds: binds)
        let count = PostgresQuery(unsafeSQL: "SELECT count(*) FROM links \(whereClause)", binds: countBinds)
        let (rows, total) = try await transaction("Reading links") { [self] c -> ([LinkRow], Int) in
            var total = 0
            for try await n in try await c.query(count, logger: logger).decode(Int.self) { total = n }
            return (try await Self.links(try await c.query(page, logger: logger)), total)
        }
        return LinkPage(links: await Link.decodeAll(rows), total: total)
    }

    public func updateLink(_ link: Link, sealedSecrets: [String: Data?]) async throws -> Link {
        try await transaction("Writing link \(link.id)") { [self] c in
            let now = Date().timeIntervalSince1970
            // Primary changes go through makePrimary, which keeps one per type.
            var changed = false
            for try await _ in try await c.query(
                """
                UPDATE links SET type = \(link.type), name = \(link.name), app_type = \(link.application.type),
                    app_name = \(link.application.name), app_version = \(link.application.version), app_id = \(link.application.id),
                    display_url = \(link.displayURL), rpc_url = \(link.rpcURL), incoming_auth = \(Columns.json(link.incomingAuth)),
                    outgoing_auth = \(Columns.json(link.outgoingAuth)), enabled = \(link.enabled), config = \(Columns.json(link.config)),
                    status_category = \(link.status.category.rawValue), status_error_type = \(link.status.errorType?.rawValue),
                    status_message = \(link.status.message), status_checked_at = \(link.status.checkedAt.map(Columns.date)),
                    version = \(link.version + 1), updated_at = \(now)
                WHERE id = \(link.id) AND version = \(link.version) RETURNING id
                """, logger: logger)
            {
                changed = true
            }
            if !changed {
                var current: Int?
                for try await v in try await c.query("SELECT version FROM links WHERE id = \(link.id)", logger: logger).decode(Int.self) {
                    current = v
                }
                guard let current else { throw StoreFailure.linkGone(link.id) }
                throw StoreFailure.versionConflict(name: link.name, current: current, expected: link.version)
            }
            for (name, sealed) in sealedSecrets {
                if let sealed {
                    try await c.query(
                        """
                        INSERT INTO link_secrets (link_id, name, sealed) VALUES (\(link.id), \(name), \(sealed))
                        ON CONFLICT (link_id, name) DO UPDATE SET sealed = EXCLUDED.sealed
                        """, logger: logger)
                } else {
                    try await c.query("DELETE FROM link_secrets WHERE link_id = \(link.id) AND name = \(name)", logger: logger)
                }
            }
            return try await fetchLink(c, id: link.id)!
        }
    }

    public func deleteLink(id: String) async throws -> Bool {
        try await transaction("Deleting link \(id)") { [self] c in
            var deleted: (String, Bool)?
            for try await row in try await c.query("DELETE FROM links WHERE id = \(id) RETURNING app_type, is_primary", logger: logger)
                .decode((String, Bool).self)
            {
                deleted = row
            }
            guard let (appType, wasPrimary) = deleted else { return false }
            if wasPrimary {
                try await c.query(
                    """
                    UPDATE links SET is_primary = TRUE WHERE id = (
                        SELECT id FROM links WHERE app_type = \(appType) ORDER BY created_at, id LIMIT 1)
                    """, logger: logger)
            }
            return true
        }
    }

    public func setStatus(linkID: String, _ status: LinkStatus, applicationVersion: String?) async throws {
        try await run("Writing the status of link \(linkID)") { [self] in
            try await client.query(
                """
                UPDATE links SET status_category = \(status.category.rawValue), status_error_type = \(status.errorType?.rawValue),
                    status_message = \(status.message), status_checked_at = \(Columns.date(status.checkedAt ?? Date())),
                    app_version = COALESCE(\(applicationVersion), app_version) WHERE id = \(linkID)
                """, logger: logger)
        }
    }

    public func makePrimary(id: String) async throws -> Link {
        try await transaction("Making link \(id) primary") { [self] c in
            var appType: String?
            for try await t in try await c.query("SELECT app_type FROM links WHERE id = \(id)", logger: logger).decode(String.self) {
                appType = t
            }
            guard let appType else { throw AppLinksError(.notFound, "The link \(id) does not exist.") }
            try await c.query("SELECT pg_advisory_xact_lock(hashtext(\("primary:" + appType)))", logger: logger)
            try await c.query(
                """
                UPDATE links SET is_primary = (id = \(id)), version = version + CASE WHEN is_primary <> (id = \(id)) THEN 1 ELSE 0 END
                WHERE app_type = \(appType)
                """, logger: logger)
            return try await fetchLink(c, id: id)!
        }
    }

    public func sealedSecrets(linkID: String) async throws -> [String: Data] {
        try await run("Reading the secrets of link \(linkID)") { [self] in
            var out: [String: Data] = [:]
            for try await (name, sealed) in try await client.query(
                "SELECT name, sealed FROM link_secrets WHERE link_id = \(linkID)", logger: logger
            ).decode((String, Data).self) {
                out[name] = sealed
            }
            return out
        }
    }
}
