import Synchronization

/// How busy a store's connection pool is: what `/metrics` shows, so that an operator sees a pool that is too
/// small while requests still only queue on it, before they time out.
public protocol PoolReporting: Sendable {
    var poolUsage: PoolUsage { get }
}

public struct PoolUsage: Sendable, Equatable {
    /// Store operations holding a connection or waiting for one, now.
    public var inFlight: Int
    /// The most operations in flight at once since the store was opened.
    public var peak: Int
    /// The most connections the pool opens; operations beyond it wait.
    public var capacity: Int

    public init(inFlight: Int, peak: Int, capacity: Int) {
        self.inFlight = inFlight
        self.peak = peak
        self.capacity = capacity
    }
}

/// Counts a store's operations in flight and their peak, without a lock.
public final class OperationGauge: Sendable {
    private let current = Atomic<Int>(0)
    private let highest = Atomic<Int>(0)
    public let capacity: Int

    public init(capacity: Int) { self.capacity = capacity }

    public var usage: PoolUsage {
        PoolUsage(inFlight: current.load(ordering: .relaxed), peak: highest.load(ordering: .relaxed), capacity: capacity)
    }

    /// Counts `body` as one operation in flight while it runs.
    public func measure<T>(isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T) async rethrows -> T {
        enter()
        defer { current.subtract(1, ordering: .relaxed) }
        return try await body()
    }

    private func enter() {
        let now = current.add(1, ordering: .relaxed).newValue
        var seen = highest.load(ordering: .relaxed)
        while now > seen {
            let (exchanged, original) = highest.compareExchange(expected: seen, desired: now, ordering: .relaxed)
            if exchanged { break }
            seen = original
        }
    }
}
