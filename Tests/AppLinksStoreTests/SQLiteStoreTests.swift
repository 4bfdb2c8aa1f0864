import AppLinksCore
import AppLinksStore
import Foundation
import GRDB
import TestSupport
import Testing

@Suite("SQLite store")
struct SQLiteStoreTests {
    static let dir = TemporaryDirectory("sqlite-store")

    static func freshStore() throws -> SQLiteStore {
        try SQLiteStore(path: dir.path("\(UUID().uuidString).db").path)
    }

    @Test("passes the store conformance suite", arguments: StoreConformanceSuite.checks.map(\.0))
    func conformance(check: String) async throws {
        let suite = StoreConformanceSuite { try Self.freshStore() }
        let body = try #require(StoreConformanceSuite.checks.first { $0.0 == check }?.1)
        try await body(suite)
    }

    @Test("uses WAL so the CLI and a server can share the file, and migrations run once")
    func walAndMigrations() async throws {
        let path = Self.dir.path("wal.db").path
        let store = try SQLiteStore(path: path)
        _ = try await store.createLink(StoreConformanceSuite.link("Kept"), sealedSecrets: [:])
        let reopened = try SQLiteStore(path: path)
        #expect(try await reopened.links().map(\.name) == ["Kept"])
        let queue = try DatabaseQueue(path: path)
        let mode = try await queue.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
        let migrations = try await queue.read { try String.fetchAll($0, sql: "SELECT identifier FROM grdb_migrations") }
        #expect(migrations == ["0001-initial"])
    }

    @Test("a file that is not a database gives a clear error")
    func notADatabase() throws {
        let path = Self.dir.path("garbage.db")
        try Data(repeating: 0x41, count: 4096).write(to: path)
        do {
            _ = try SQLiteStore(path: path.path)
            Issue.record("opening garbage must fail")
        } catch let e as AppLinksError {
            #expect(e.code == .storage)
            #expect(e.message.contains(path.path) && e.message.contains("not a database"))
        }
    }
}
