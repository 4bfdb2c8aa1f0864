import AppLinksStore
import Foundation
import GRDB
import TestSupport
import Testing

@Suite("upgrading a home an older version made")
struct UpgradeTests {
    @Test("the previous release's schema is migrated at the next start, which says so, and its data stays")
    func previousSchema() async throws {
        let cli = try CLI.initialized()
        let db = cli.home.appendingPathComponent("applinks.db").path
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: db + suffix) }
        let migrations = SQLiteStore.migrations
        try #require(migrations.count >= 2)
        let previous = migrations[migrations.count - 2]
        try SQLiteStore.create(path: db, schemaUpTo: previous)
        // Data as the older version wrote it, which the migration must keep.
        let old = try DatabaseQueue(path: db)
        try await old.write { db in
            try db.execute(
                sql: "INSERT INTO plugin_kv (namespace, key, value, expires_at) VALUES ('fixture', 'kept', x'6f6b', NULL)")
        }
        try old.close()

        let before = try cli.run("db", "status", "--json")
        let pending = (try? JSONSerialization.jsonObject(with: Data(before.stdout.utf8)) as? [String: Any])?["pending"] as? [String]
        #expect(pending == [migrations.last!], "\(before.stdout)")

        let started = try cli.run(["list"], env: ["APPLINKS_LOG_LEVEL": "notice"])
        #expect(started.status == 0, "\(started.stderr)")
        #expect(started.stderr.contains("database schema upgraded") && started.stderr.contains(migrations.last!), "\(started.stderr)")

        let after = try cli.run("db", "status", "--json")
        let status = try JSONSerialization.jsonObject(with: Data(after.stdout.utf8)) as? [String: Any]
        #expect((status?["pending"] as? [String])?.isEmpty == true && (status?["applied"] as? [String]) == migrations, "\(after.stdout)")
        let store = try SQLiteStore(path: db)
        #expect(try await store.value(namespace: "fixture", key: "kept") == Data("ok".utf8))
        store.close()

        let again = try cli.run(["list"], env: ["APPLINKS_LOG_LEVEL": "notice"])
        #expect(!again.stderr.contains("database schema upgraded"), "an up-to-date database is not upgraded again")
    }
}
