import AppLinksCore
import AppLinksJSON
import AppLinksStore
import Foundation
import PostgresNIO

extension PostgresStore: DraftStore {
    private static let draftColumns = "id, type, step, sealed_answers, note, created_at, updated_at"

    private static func drafts(_ rows: PostgresRowSequence) async throws -> [DraftRecord] {
        var out: [DraftRecord] = []
        for try await (id, type, step, answers, note, created, updated) in rows.decode(
            (String, String, String?, Data, String?, Double, Double).self)
        {
            out.append(
                DraftRecord(
                    id: id, type: type, step: step, sealedAnswers: answers, note: note, createdAt: Date(timeIntervalSince1970: created),
                    updatedAt: Date(timeIntervalSince1970: updated)))
        }
        return out
    }

    public func saveDraft(_ draft: DraftRecord) async throws {
        try await run("Writing draft \(draft.id)") { [self] in
            try await client.query(
                """
                INSERT INTO drafts (id, type, step, sealed_answers, note, created_at, updated_at)
                VALUES (\(draft.id), \(draft.type), \(draft.step), \(draft.sealedAnswers), \(draft.note),
                    \(Columns.date(draft.createdAt)), \(Columns.date(draft.updatedAt)))
                ON CONFLICT (id) DO UPDATE SET step = EXCLUDED.step, sealed_answers = EXCLUDED.sealed_answers,
                    note = EXCLUDED.note, updated_at = EXCLUDED.updated_at
                """, logger: logger)
        }
    }

    public func draft(id: String) async throws -> DraftRecord? {
        try await run("Reading draft \(id)") { [self] in
            try await Self.drafts(
                try await client.query("SELECT \(unescaped: Self.draftColumns) FROM drafts WHERE id = \(id)", logger: logger)
            )
            .first
        }
    }

    public func drafts() async throws -> [DraftRecord] {
        try await run("Reading drafts") { [self] in
            try await Self.drafts(
                try await client.query("SELECT \(unescaped: Self.draftColumns) FROM drafts ORDER BY updated_at DESC", logger: logger))
        }
    }

    public func deleteDraft(id: String) async throws {
        try await run("Deleting draft \(id)") { [self] in try await client.query("DELETE FROM drafts WHERE id = \(id)", logger: logger) }
    }

    public func purgeDrafts(updatedBefore: Date) async throws -> Int {
        try await run("Purging drafts") { [self] in
            var n = 0
            for try await _ in try await client.query(
                "DELETE FROM drafts WHERE updated_at < \(Columns.date(updatedBefore)) RETURNING id", logger: logger)
            {
                n += 1
            }
            return n
        }
    }
}

extension PostgresStore: AuditStore {
    public func appendAudit(_ event: AuditEvent) async throws {
        try await run("Writing an audit event") { [self] in
            try await client.query(
                """
                INSERT INTO audit (at, actor, action, link_id, link_type, detail)
                VALUES (\(Columns.date(event.at)), \(event.actor), \(event.action), \(event.linkID), \(event.linkType),
                    \(Columns.json(event.detail)))
                """, logger: logger)
        }
    }

    public func auditEvents(since: Date?, limit: Int) async throws -> [AuditEvent] {
        try await run("Reading the audit log") { [self] in
            var out: [AuditEvent] = []
            for try await (id, at, actor, action, linkID, linkType, detail) in try await client.query(
                """
                SELECT * FROM (SELECT id, at, actor, action, link_id, link_type, detail FROM audit
                    WHERE at >= \(Columns.date(since ?? .distantPast)) ORDER BY id DESC LIMIT \(limit)) recent ORDER BY id
                """, logger: logger
            ).decode((Int64, Double, String, String, String?, String?, String).self) {
                out.append(
                    AuditEvent(
                        id: id, at: Date(timeIntervalSince1970: at), actor: actor, action: action, linkID: linkID, linkType: linkType,
                        detail: Columns.decode([String: JSONValue].self, detail, default: [:])))
            }
            return out
        }
    }
}

extension PostgresStore: LinkTypeStateStore {
    public func setLinkTypeEnabled(_ id: String, enabled: Bool) async throws {
        try await run("Writing link type \(id)") { [self] in
            try await client.query(
                """
                INSERT INTO link_types (id, enabled, updated_at) VALUES (\(id), \(enabled), \(Date().timeIntervalSince1970))
                ON CONFLICT (id) DO UPDATE SET enabled = EXCLUDED.enabled, updated_at = EXCLUDED.updated_at
                """, logger: logger)
            try await notify("link_types")
        }
    }

    public func linkTypeStates() async throws -> [String: Bool] {
        try await run("Reading link types") { [self] in
            var out: [String: Bool] = [:]
            for try await (id, enabled) in try await client.query("SELECT id, enabled FROM link_types", logger: logger).decode(
                (String, Bool).self)
            {
                out[id] = enabled
            }
            return out
        }
    }
}

extension PostgresStore: InstanceStore {
    private func identity() async throws -> InstanceIdentity? {
        for try await (appID, pem, sealed, created) in try await client.query(
            "SELECT app_id, public_key_pem, sealed_private_key, created_at FROM instance WHERE singleton = 1", logger: logger
        ).decode((String, String, Data, Double).self) {
            return InstanceIdentity(
                applicationID: appID, publicKeyPEM: pem, sealedPrivateKey: sealed, createdAt: Date(timeIntervalSince1970: created))
        }
        return nil
    }

    public func instanceIdentity() async throws -> InstanceIdentity? {
        try await run("Reading the instance identity") { [self] in try await identity() }
    }

    public func initializeInstanceIdentity(_ identity: InstanceIdentity) async throws -> InstanceIdentity {
        try await run("Writing the instance identity") { [self] in
            try await client.query(
                """
                INSERT INTO instance (singleton, app_id, public_key_pem, sealed_private_key, created_at)
                VALUES (1, \(identity.applicationID), \(identity.publicKeyPEM), \(identity.sealedPrivateKey), \(Columns.date(identity.createdAt)))
                ON CONFLICT (singleton) DO NOTHING
                """, logger: logger)
            return try await self.identity()!
        }
    }
}
