import Synchronization
import Testing

@Suite("a few server tests at a time")
struct ServerProcessSlotsTests {
    final class InUse: Sendable { let counts = Mutex((now: 0, most: 0)) }

    @Test("no more than the limit hold a slot at once, and every waiter gets one in the end")
    func limit() async throws {
        let slots = ServerProcessSlots.Slots(limit: 2)
        let inUse = InUse()
        let finished = try await withThrowingTaskGroup(of: Int.self) { group in
            for n in 0..<8 {
                group.addTask {
                    try await slots.holding {
                        inUse.counts.withLock {
                            $0.now += 1; $0.most = max($0.most, $0.now)
                        }
                        try await Task.sleep(for: .milliseconds(20))
                        inUse.counts.withLock { $0.now -= 1 }
                        return n
                    }
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(finished.sorted() == Array(0..<8))
        #expect(inUse.counts.withLock { $0.most } == 2, "two slots, eight tasks that each hold one a while")
    }
}
