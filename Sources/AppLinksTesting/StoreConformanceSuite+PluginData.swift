import AppLinksCore
import AppLinksLocking
import AppLinksStore
import Foundation
import Testing

/// Plugin data: expiry on the suite's clock, compare-and-set, and the blocking API plugins call from their threads.
extension StoreConformanceSuite {
    func pluginData() async throws {
        let s = try await makeStore()
        try await s.put(namespace: "p1", key: "a%1", value: Data("x".utf8), ttl: nil)
        try await s.put(namespace: "p1", key: "ab", value: Data("y".utf8), ttl: nil)
        try await s.put(namespace: "p1", key: "b", value: Data("z".utf8), ttl: nil)
        try await s.put(namespace: "p2", key: "a%1", value: Data("other".utf8), ttl: nil)
        #expect(try await s.value(namespace: "p1", key: "a%1") == Data("x".utf8))
        #expect(try await s.value(namespace: "p2", key: "a%1") == Data("other".utf8))
        #expect(try await s.keys(namespace: "p1", prefix: "a%") == ["a%1"])
        #expect(try await s.keys(namespace: "p1", prefix: "a") == ["a%1", "ab"])
        #expect(try await s.keys(namespace: "p1", prefix: "") == ["a%1", "ab", "b"])
        // Prefixes are literal, and listed by a range: the last character there is, LIKE's wildcards and escape.
        for key in ["q\u{10FFFF}z", "q_b", "q\\c", "qxb", "q", "r"] { try await s.put(namespace: "p3", key: key, value: Data(), ttl: nil) }
        #expect(try await s.keys(namespace: "p3", prefix: "q") == ["q", "q\\c", "q_b", "qxb", "q\u{10FFFF}z"])
        #expect(try await s.keys(namespace: "p3", prefix: "q_") == ["q_b"])
        #expect(try await s.keys(namespace: "p3", prefix: "q\\") == ["q\\c"])
        #expect(try await s.keys(namespace: "p3", prefix: "q\u{10FFFF}") == ["q\u{10FFFF}z"])
        #expect(try await s.keys(namespace: "p3", prefix: "qx") == ["qxb"])
        try await s.put(namespace: "p1", key: "a%1", value: Data("x2".utf8), ttl: nil)
        #expect(try await s.value(namespace: "p1", key: "a%1") == Data("x2".utf8))
        try await s.delete(namespace: "p1", key: "b")
        try await s.delete(namespace: "p1", key: "never-there")
        #expect(try await s.value(namespace: "p1", key: "b") == nil)
        try await s.put(namespace: "p1", key: "short", value: Data("t".utf8), ttl: .seconds(2))
        #expect(try await s.value(namespace: "p1", key: "short") == Data("t".utf8))
        advance(.milliseconds(1900))
        #expect(try await s.value(namespace: "p1", key: "short") == Data("t".utf8), "a value lives for its whole time to live")
        advance(.milliseconds(200))
        #expect(try await s.value(namespace: "p1", key: "short") == nil)
        #expect(try await !s.keys(namespace: "p1", prefix: "").contains("short"))
    }

    func compareAndSet() async throws {
        let s = try await makeStore()
        #expect(try await s.compareAndSet(namespace: "n", key: "k", expected: nil, replacement: Data("1".utf8), ttl: nil))
        #expect(try await !s.compareAndSet(namespace: "n", key: "k", expected: nil, replacement: Data("2".utf8), ttl: nil))
        #expect(try await !s.compareAndSet(namespace: "n", key: "k", expected: Data("9".utf8), replacement: Data("2".utf8), ttl: nil))
        #expect(try await s.compareAndSet(namespace: "n", key: "k", expected: Data("1".utf8), replacement: Data("2".utf8), ttl: nil))
        #expect(try await s.value(namespace: "n", key: "k") == Data("2".utf8))
        #expect(try await s.compareAndSet(namespace: "n", key: "k", expected: Data("2".utf8), replacement: nil, ttl: nil))
        #expect(try await s.value(namespace: "n", key: "k") == nil)
        // An expired value counts as absent.
        try await s.put(namespace: "n", key: "e", value: Data("old".utf8), ttl: .seconds(1))
        advance(.milliseconds(1200))
        #expect(try await s.compareAndSet(namespace: "n", key: "e", expected: nil, replacement: Data("new".utf8), ttl: nil))
        let winners = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<20 {
                group.addTask {
                    try await s.compareAndSet(namespace: "n", key: "race", expected: nil, replacement: Data("\(i)".utf8), ttl: nil)
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(winners == 1)
    }

    func batches() async throws {
        let s = try await makeStore()
        let one = Data("1".utf8), two = Data("2".utf8)
        try await s.put(namespace: "b", key: "old", value: one, ttl: nil)
        try await s.put(namespace: "other", key: "x", value: one, ttl: nil)
        #expect(
            try await s.apply(
                namespace: "b",
                [
                    .require(key: "old", value: one), .require(key: "new", value: nil), .put(key: "old", value: two, ttl: nil),
                    .put(key: "new", value: one, ttl: .seconds(2)), .delete(key: "x"),
                ]) == nil)
        #expect(try await s.value(namespace: "b", key: "old") == two)
        #expect(try await s.value(namespace: "b", key: "new") == one)
        #expect(try await s.value(namespace: "other", key: "x") == one, "a batch stays in its namespace")
        advance(.milliseconds(2100))
        #expect(try await s.value(namespace: "b", key: "new") == nil, "a put in a batch keeps its time to live")
        #expect(try await s.keys(namespace: "b", prefix: "") == ["old"], "an expired value is not listed")
        // An expired value counts as absent; a failed requirement writes nothing and names the first that failed, in
        // the batch's order, whatever order the store checks them in.
        #expect(try await s.apply(namespace: "b", [.require(key: "new", value: nil), .put(key: "new", value: two, ttl: nil)]) == nil)
        #expect(
            try await s.apply(
                namespace: "b",
                [
                    .put(key: "c", value: one, ttl: nil), .delete(key: "old"), .require(key: "z", value: one),
                    .require(key: "a", value: one), .require(key: "old", value: two),
                ]) == 2)
        #expect(try await s.value(namespace: "b", key: "c") == nil)
        #expect(try await s.value(namespace: "b", key: "old") == two)
        #expect(try await s.keys(namespace: "b", prefix: "") == ["new", "old"], "a failed batch leaves no row behind")

        // Twenty batches race to take one slot: one wins, and only its other write is made.
        let winners = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<20 {
                group.addTask {
                    try await s.apply(
                        namespace: "b",
                        [
                            .require(key: "slot", value: nil), .put(key: "slot", value: Data("\(i)".utf8), ttl: nil),
                            .put(key: "won/\(i)", value: Data(), ttl: nil),
                        ]) == nil
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(winners == 1)
        #expect(try await s.keys(namespace: "b", prefix: "won/").count == 1)
        // Twenty writers each add one to a counter by reading it and requiring it unchanged: no increment is lost.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    while true {
                        let raw = try await s.value(namespace: "b", key: "counter")
                        let n = raw.flatMap { Int(String(decoding: $0, as: UTF8.self)) } ?? 0
                        let next = Data("\(n + 1)".utf8)
                        if try await s.apply(
                            namespace: "b", [.require(key: "counter", value: raw), .put(key: "counter", value: next, ttl: nil)])
                            == nil
                        {
                            return
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await s.value(namespace: "b", key: "counter") == Data("20".utf8))
    }

    /// Stores may write concurrent puts together (PostgreSQL does); each must still return only once it is written.
    func concurrentPuts() async throws {
        let s = try await makeStore()
        let readBack = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<200 {
                group.addTask {
                    let value = Data("v\(i)".utf8)
                    try await s.put(namespace: "c", key: "k\(i)", value: value, ttl: i % 2 == 0 ? .seconds(60) : nil)
                    try await s.put(namespace: "c", key: "same", value: value, ttl: nil)
                    return try await s.value(namespace: "c", key: "k\(i)") == value
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(readBack == 200, "every put was readable when it returned")
        #expect(try await s.keys(namespace: "c", prefix: "k").count == 200)
        let last = try #require(try await s.value(namespace: "c", key: "same"))
        #expect(String(decoding: last, as: UTF8.self).hasPrefix("v"), "one of the racing writes of one key won whole")
        advance(.seconds(61))
        #expect(try await s.keys(namespace: "c", prefix: "k").count == 100, "each write kept its own time to live")
    }

    /// A store that offers ``BlockingPluginDataStore`` must give the same answers through it, and its
    /// compare-and-set must stay exclusive when blocking and async writers race each other.
    func blockingPluginData() async throws {
        let s = try await makeStore()
        let b = try #require(s as? any BlockingPluginDataStore, "\(type(of: s)) does not offer BlockingPluginDataStore")
        try b.putBlocking(namespace: "p", key: "k", value: Data("1".utf8), ttl: nil)
        #expect(try await s.value(namespace: "p", key: "k") == Data("1".utf8))
        try await s.put(namespace: "p", key: "k", value: Data("2".utf8), ttl: nil)
        #expect(try b.valueBlocking(namespace: "p", key: "k") == Data("2".utf8))
        #expect(try b.valueBlocking(namespace: "other", key: "k") == nil)
        try b.putBlocking(namespace: "p", key: "empty", value: Data(), ttl: nil)
        #expect(try b.valueBlocking(namespace: "p", key: "empty") == Data())
        #expect(try b.keysBlocking(namespace: "p", prefix: "") == ["empty", "k"])
        try b.deleteBlocking(namespace: "p", key: "k")
        #expect(try await s.value(namespace: "p", key: "k") == nil)
        try b.putBlocking(namespace: "p", key: "short", value: Data("t".utf8), ttl: .seconds(1))
        #expect(try b.valueBlocking(namespace: "p", key: "short") == Data("t".utf8))
        advance(.milliseconds(1200))
        #expect(try b.valueBlocking(namespace: "p", key: "short") == nil)
        #expect(try b.compareAndSetBlocking(namespace: "p", key: "short", expected: nil, replacement: Data("n".utf8), ttl: nil))
        #expect(try !b.compareAndSetBlocking(namespace: "p", key: "short", expected: Data("x".utf8), replacement: nil, ttl: nil))

        // Ten threads on the blocking API and ten tasks on the async one race for one key: one wins.
        let blockingWins = WinCounter()
        let winners = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                DispatchQueue.concurrentPerform(iterations: 10) { i in
                    if (try? b.compareAndSetBlocking(namespace: "p", key: "race", expected: nil, replacement: Data("b\(i)".utf8), ttl: nil))
                        == true
                    {
                        blockingWins.count.withLock { $0 += 1 }
                    }
                }
                return false
            }
            for i in 0..<10 {
                group.addTask {
                    try await s.compareAndSet(namespace: "p", key: "race", expected: nil, replacement: Data("a\(i)".utf8), ttl: nil)
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(winners + blockingWins.count.withLock { $0 } == 1)
    }

    private final class WinCounter: Sendable {
        let count = Locked(0)
    }
}
