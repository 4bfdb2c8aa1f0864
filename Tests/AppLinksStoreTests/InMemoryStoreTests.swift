import AppLinksCore
import AppLinksStore
import AppLinksTesting
import Foundation
import Testing

@Suite("in-memory reference store")
struct InMemoryStoreTests {
    @Test("passes the store conformance suite", arguments: StoreConformanceSuite.names(for: [.blocking]))
    func conformance(check: String) async throws {
        try await StoreConformanceSuite { clock in InMemoryStore(clock: clock) }.run(check)
    }

    @Test("expiry follows the clock it is given, so a test moves time instead of sleeping")
    func injectedClock() async throws {
        let (clock, advance) = StoreClock.manual()
        let s = InMemoryStore(clock: clock)
        try await s.put(namespace: "p", key: "k", value: Data("v".utf8), ttl: .seconds(60))
        advance(.seconds(59))
        #expect(try await s.value(namespace: "p", key: "k") == Data("v".utf8))
        advance(.seconds(2))
        #expect(try await s.value(namespace: "p", key: "k") == nil)
        #expect(try await s.keys(namespace: "p", prefix: "").isEmpty)
        #expect(try await s.compareAndSet(namespace: "p", key: "k", expected: nil, replacement: Data("w".utf8), ttl: nil))
    }
}
