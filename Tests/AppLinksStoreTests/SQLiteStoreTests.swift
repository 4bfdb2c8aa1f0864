import AppLinksCore
import AppLinksLocking
import AppLinksTesting
import Foundation
import GRDB
import TestSupport
import Testing

@testable import AppLinksStore

@Suite("SQLite store")
struct SQLiteStoreTests {
    static let dir = TemporaryDirectory("sqlite-store")

    static func freshStore() throws -> SQLiteStore {
        try SQLiteStore(path: dir.path("\(UUID().uuidString).db").path)
    }

    @Test("passes the store conformance suite", arguments: StoreConformanceSuite.names(for: [.blocking, .pooled]))
    func conformance(check: String) async throws {
        try await StoreConformanceSuite { clock in try SQLiteStore(path: Self.dir.path("\(UUID().uuidString).db").path, clock: clock) }
            .run(check)
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
        #expect(migrations == ["0001-initial", "0002-plugin-kv-without-rowid", "0003-links-by-name"])
    }

    @Test("purging deletes expired plugin data; live data stays")
    func purge() async throws {
        let path = Self.dir.path("purge.db").path
        let (clock, advance) = StoreClock.manual()
        let store = try SQLiteStore(path: path, clock: clock)
        try await store.put(namespace: "p", key: "gone", value: Data([1]), ttl: .seconds(1))
        try await store.put(namespace: "p", key: "kept", value: Data([2]), ttl: .seconds(600))
        try await store.put(namespace: "p", key: "forever", value: Data([3]), ttl: nil)
        advance(.milliseconds(1200))
        try store.purgeExpiredPluginData()
        let keys = try await DatabaseQueue(path: path).read { try String.fetchAll($0, sql: "SELECT key FROM plugin_kv ORDER BY key") }
        #expect(keys == ["forever", "kept"])
    }

    @Test("the plugin data table's rebuild (migration 0002) keeps every live row and its expiry")
    func pluginDataMigration() async throws {
        let path = Self.dir.path("migrate.db").path
        let queue = try DatabaseQueue(path: path)
        try SQLiteStore.migrator.migrate(queue, upTo: "0001-initial")
        try await queue.write { db in
            try db.execute(
                sql:
                    "INSERT INTO plugin_kv (namespace, key, value, expires_at) VALUES ('p', 'a', x'01', NULL), ('p', 'b', x'02', ?), ('q', 'a', x'03', 1)",
                arguments: [Date().timeIntervalSince1970 + 600])
        }
        let store = try SQLiteStore(path: path)
        #expect(try await store.value(namespace: "p", key: "a") == Data([1]))
        #expect(try await store.value(namespace: "p", key: "b") == Data([2]))
        #expect(try await store.value(namespace: "q", key: "a") == nil, "still expired")
        let kept = try await queue.read { try String.fetchAll($0, sql: "SELECT namespace || '/' || key FROM plugin_kv ORDER BY 1") }
        #expect(kept == ["p/a", "p/b", "q/a"], "every row moved, the expired one included")
        let sql = try await queue.read { try String.fetchOne($0, sql: "SELECT sql FROM sqlite_master WHERE name = 'plugin_kv'") }
        #expect(sql?.contains("WITHOUT ROWID") == true)
    }

    @Test("under writes that never pause, the WAL stays bounded: it starts over after each checkpoint")
    func walStaysBounded() async throws {
        let path = Self.dir.path("\(UUID().uuidString).db").path
        let store = try SQLiteStore(path: path)
        await Self.writeWithoutPause(store)
        #expect(try store.keysBlocking(namespace: "bench", prefix: "at/").count == 6_000)
        let wal = try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int ?? 0
        // 6,000 writes would leave 24 MiB of frames. A checkpoint every 500 writes keeps the WAL near 1,000 frames;
        // if that checkpoint falls behind, the writers wait for it (see the next test).
        #expect(wal < 20 << 20, "the WAL grew to \(wal) bytes")
    }

    /// Runs `body(0..<count)` on `count` threads started for it, and waits for them all.
    static func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let done = DispatchGroup()
        for t in 0..<count {
            done.enter()
            Thread.detachNewThread {
                body(t)
                done.leave()
            }
        }
        done.wait()
    }

    @Test("concurrent writes commit in groups; each returns only once committed, and a write that fails undoes only itself")
    func groupCommit() async throws {
        let path = Self.dir.path("\(UUID().uuidString).db").path
        let store = try SQLiteStore(path: path)
        // A write the database refuses, standing in for a row that breaks a constraint.
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            try db.execute(
                sql:
                    "CREATE TRIGGER poison BEFORE INSERT ON plugin_kv WHEN NEW.key LIKE 'poison%' BEGIN SELECT RAISE(ABORT, 'poisoned'); END"
            )
        }
        try queue.close()
        let (threads, each) = (8, 400)
        let failed = Locked<[String]>([])
        let unseen = Locked<[String]>([])
        // Threads of their own, not Dispatch's pool, which runs about one per core: writes group only when more
        // than one waits while another commits.
        Self.onThreads(threads) { t in
            for i in 0..<each {
                let key = i % 40 == 0 ? "poison-\(t)-\(i)" : "k-\(t)-\(i)"
                let value = Data("\(t)/\(i)".utf8)
                do {
                    try store.kv.put(namespace: "group", key: key, value: value, ttl: nil)
                    // Acknowledged, so committed: any new read sees it.
                    if (try? store.kv.value(namespace: "group", key: key)) != value { unseen.withLock { $0.append(key) } }
                } catch {
                    failed.withLock { $0.append(key) }
                }
            }
        }
        #expect(unseen.withLock { $0 }.isEmpty)
        #expect(
            Set(failed.withLock { $0 }) == Set((0..<threads).flatMap { t in stride(from: 0, to: each, by: 40).map { "poison-\(t)-\($0)" } })
        )
        let kept = try store.keysBlocking(namespace: "group", prefix: "k-")
        #expect(kept.count == threads * (each - each / 40))
        let commits = store.kv.groupCommits.withLock { $0 }
        #expect(commits < threads * each, "\(commits) commits for \(threads * each) writes: none was grouped")
        // Compare-and-set in a group still reads what the writes before it in the same transaction wrote.
        let swapped = Locked(0)
        Self.onThreads(threads) { _ in
            for _ in 0..<50 {
                while true {
                    let current = try? store.kv.value(namespace: "group", key: "counter")
                    let next = Data("\((current.flatMap { Int(String(decoding: $0, as: UTF8.self)) } ?? 0) + 1)".utf8)
                    if (try? store.kv.compareAndSet(namespace: "group", key: "counter", expected: current, replacement: next, ttl: nil))
                        == true
                    {
                        swapped.withLock { $0 += 1 }
                        break
                    }
                }
            }
        }
        #expect(try store.kv.value(namespace: "group", key: "counter") == Data("\(threads * 50)".utf8))
    }

    @Test("writers wait for a checkpoint that falls behind, instead of growing the WAL without bound")
    func writersWaitForSlowCheckpoint() async throws {
        let path = Self.dir.path("\(UUID().uuidString).db").path
        let store = try SQLiteStore(path: path)
        // Each checkpoint takes a quarter of a second, the time in which unthrottled writers make thousands of writes.
        store.kv.checkpointDelay.withLock { $0 = .milliseconds(250) }
        let started = ContinuousClock.now
        await Self.writeWithoutPause(store)
        #expect(try store.keysBlocking(namespace: "bench", prefix: "at/").count == 6_000)
        #expect(store.kv.peakWritesBehind <= SQLiteKV.maxWritesBehind + 2)
        // 6,000 writes at most 2,000 ahead of checkpoints that each take 250 ms: at least two waits.
        #expect(ContinuousClock.now - started >= .milliseconds(500))
    }

    /// 6,000 writes from two writers at once. Random keys, as token hashes are: each insert dirties its own
    /// page, about a WAL frame per write.
    static func writeWithoutPause(_ store: SQLiteStore) async {
        let value = Data(repeating: 7, count: 200)
        await withTaskGroup(of: Void.self) { group in
            for writer in 0..<2 {
                group.addTask {
                    for i in 0..<3_000 {
                        try? store.putBlocking(namespace: "bench", key: "at/\(writer)-\(i)-\(UUID().uuidString)", value: value, ttl: nil)
                    }
                }
            }
        }
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
