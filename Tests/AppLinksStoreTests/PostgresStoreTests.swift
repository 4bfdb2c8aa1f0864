import AppLinksCore
import AppLinksStore
import AppLinksStorePostgres
import AppLinksTesting
import Foundation
import TestSupport
import Testing

@Suite("PostgreSQL store")
struct PostgresStoreTests {
    static func freshStore() async throws -> PostgresStore {
        try await PostgresStore.connect(url: TestPostgres.patient(try await TestPostgres.freshDatabase()))
    }

    @Test("passes the store conformance suite on a real PostgreSQL 15", arguments: StoreConformanceSuite.names(for: [.pooled]))
    func conformance(check: String) async throws {
        try await StoreConformanceSuite { clock in
            try await PostgresStore.connect(url: TestPostgres.patient(try await TestPostgres.freshDatabase()), clock: clock)
        }
        .run(check)
    }

    @Test("a database an older release made is brought up to date, which the store reports; a current one is left alone")
    func upgrade() async throws {
        let url = TestPostgres.patient(try await TestPostgres.freshDatabase())
        let versions = PostgresStore.migrations.map(\.0)
        try #require(versions.count >= 2)
        let old = try await PostgresStore.connect(url: url, schemaUpTo: versions[versions.count - 2])
        #expect(old.upgradedBy.isEmpty, "a new database is created, not upgraded")
        old.close()
        let upgraded = try await PostgresStore.connect(url: url)
        let last = PostgresStore.migrations.last!
        #expect(upgraded.upgradedBy == ["\(last.0)-\(last.1)"])
        upgraded.close()
        let again = try await PostgresStore.connect(url: url)
        #expect(again.upgradedBy.isEmpty)
        again.close()
    }

    @Test("nodes starting together migrate once, under the advisory lock")
    func concurrentMigrations() async throws {
        let url = try await TestPostgres.freshDatabase()
        let stores = try await withThrowingTaskGroup(of: PostgresStore.self) { group in
            for _ in 0..<4 { group.addTask { try await PostgresStore.connect(url: TestPostgres.patient(url)) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(stores.count == 4)
        #expect(
            try TestPostgres.psql(url, "SELECT version || ':' || name FROM schema_migrations ORDER BY version")
                == "1:initial\n2:links-by-name\n3:plugin-kv-by-prefix\n")
        for s in stores { s.close() }
    }

    @Test("compare-and-set across separate pools (two nodes): of 20 racing inserts of one code, exactly one wins")
    func racingNodes() async throws {
        let url = TestPostgres.patient(try await TestPostgres.freshDatabase())
        let a = try await PostgresStore.connect(url: url)
        let b = try await PostgresStore.connect(url: url)
        for round in 0..<5 {
            let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<20 {
                    let s = i % 2 == 0 ? a : b
                    group.addTask {
                        try await s.compareAndSet(
                            namespace: "oauth2", key: "code:\(round)", expected: Data("issued".utf8),
                            replacement: Data("redeemed-\(i)".utf8),
                            ttl: nil)
                    }
                }
                try await a.put(namespace: "oauth2", key: "code:\(round)", value: Data("issued".utf8), ttl: nil)
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            // Tasks that ran before the put saw no "issued" value; after it, exactly one redeems it.
            #expect(wins <= 1)
            let final = try await b.value(namespace: "oauth2", key: "code:\(round)")
            #expect(final.map { String(decoding: $0, as: UTF8.self).hasPrefix("redeemed-") || $0 == Data("issued".utf8) } == true)
        }
        let raced = try await withThrowingTaskGroup(of: Bool.self) { group in
            try await a.put(namespace: "oauth2", key: "code:final", value: Data("issued".utf8), ttl: nil)
            for i in 0..<20 {
                let s = i % 2 == 0 ? a : b
                group.addTask {
                    try await s.compareAndSet(
                        namespace: "oauth2", key: "code:final", expected: Data("issued".utf8), replacement: nil, ttl: nil)
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(raced == 1)
        a.close()
        b.close()
    }

    @Test("a wrong URL or an unreachable server is refused with what to fix")
    func badURLs() async throws {
        let notURL = await #expect(throws: AppLinksError.self) { _ = try await PostgresStore.connect(url: "mysql://x/y") }
        #expect(notURL?.message.contains("is not a PostgreSQL URL") == true)
        let noDB = await #expect(throws: AppLinksError.self) { _ = try await PostgresStore.connect(url: "postgres://u@127.0.0.1:1") }
        #expect(noDB?.message.contains("names no database") == true)
        let port = try freeLoopbackPort()
        let down = await #expect(throws: AppLinksError.self) {
            _ = try await PostgresStore.connect(url: "postgres://applinks@127.0.0.1:\(port)/applinks")
        }
        #expect(down?.message.contains("Check that the server runs and accepts connections") == true, "\(down?.message ?? "")")
    }
}

extension PostgresStoreTests {
    @Test("sslmode is honoured as libpq does: verify-full with the right CA connects, with another CA is refused; a bogus mode is refused")
    func tls() async throws {
        let url = try await TestPostgres.freshDatabase()
        let ca = try #require(TestPostgres.certificateAuthority), other = try #require(TestPostgres.otherAuthority)
        for good in [
            "\(url)?sslmode=verify-full&sslrootcert=\(ca)",
            "\(url.replacingOccurrences(of: "127.0.0.1", with: "localhost"))?sslmode=verify-full&sslrootcert=\(ca)",
            "\(url)?sslmode=require", "\(url)?sslmode=disable", url,
        ] {
            let store = try await PostgresStore.connect(url: TestPostgres.patient(good))
            #expect(try await store.users().isEmpty)
            store.close()
        }
        // The server saw TLS: pg_stat_ssl records each encrypted connection.
        let encrypted = try TestPostgres.psql(url + "?sslmode=require", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        #expect(encrypted.trimmingCharacters(in: .whitespacesAndNewlines) == "t")
        for (bad, expected) in [
            ("\(url)?sslmode=verify-full&sslrootcert=\(other)", "TLS certificate was not accepted"),
            ("\(url)?sslmode=verify-ca&sslrootcert=\(other)", "TLS certificate was not accepted"),
            ("\(url)?sslmode=bogus", "is not one of disable, allow, prefer, require, verify-ca, verify-full"),
            ("\(url)?sslmode=verify-full&sslrootcert=/nonexistent/ca.crt", "cannot be read"),
        ] {
            let refused = await #expect(throws: AppLinksError.self) { _ = try await PostgresStore.connect(url: bad) }
            #expect(refused?.message.contains(expected) == true, "\(bad): \(refused?.message ?? "")")
        }
    }

    @Test("a link type enabled or disabled through one pool is announced at once to another's change feed")
    func changeFeed() async throws {
        let url = TestPostgres.patient(try await TestPostgres.freshDatabase())
        let a = try await PostgresStore.connect(url: url)
        let b = try await PostgresStore.connect(url: url)
        let topics = try await withThrowingTaskGroup(of: [String].self) { group in
            group.addTask {
                var seen: [String] = []
                for await topic in b.changes() {
                    seen.append(topic)
                    if topic == "subscribed" {
                        // Changed through the other pool only once this feed listens.
                        try await a.setLinkTypeEnabled("jenkins", enabled: false)
                        try await a.setLinkTypeEnabled("jenkins", enabled: true)
                    }
                    if seen.filter({ $0 == "link_types" }).count == 2 { break }
                }
                return seen
            }
            group.addTask {
                // Only a guard against a feed that never delivers: long enough for a busy machine.
                try await Task.sleep(for: .seconds(60))
                return ["timed out"]
            }
            let first = try await group.next() ?? []
            group.cancelAll()
            return first
        }
        #expect(topics == ["subscribed", "link_types", "link_types"], "\(topics)")
        a.close()
        b.close()
    }
}

extension PostgresStoreTests {
    @Test("work done exclusively runs on one node at a time; the other skips it, and may run it once it is free")
    func exclusiveWork() async throws {
        let url = TestPostgres.patient(try await TestPostgres.freshDatabase())
        let a = try await PostgresStore.connect(url: url)
        let b = try await PostgresStore.connect(url: url)
        // A holds the lock until told to let go; B tries meanwhile.
        let (held, holding) = AsyncStream<Void>.makeStream()
        let (release, releasing) = AsyncStream<Void>.makeStream()
        let (ranA, ranB) = try await withThrowingTaskGroup(of: Bool?.self) { group in
            group.addTask {
                try await a.exclusively("status-sweep") {
                    holding.yield()
                    for await _ in release { break }
                }
            }
            for await _ in held { break }
            let ranB = try await b.exclusively("status-sweep") {}
            releasing.yield()
            let ranA = try await group.next() ?? nil
            return (ranA, ranB)
        }
        #expect(ranA == true && ranB == false)
        #expect(try await b.exclusively("status-sweep") {})
        #expect(try await a.exclusively("other-work") {})
        a.close()
        b.close()
    }
}
