import AppLinksLocking

/// Calls into one link type, counted by function and outcome with a latency histogram, and its runner's restarts:
/// what `/metrics` shows per link type, so that a slow or failing type stands out from the host around it.
public final class PluginCallStats: Sendable {
    /// The upper bounds, in seconds, of the latency histogram's buckets (Prometheus' `le`).
    public static let buckets: [Double] = [0.001, 0.005, 0.025, 0.1, 0.5, 2.5, 10]

    public struct Calls: Sendable {
        public var count = 0
        public var failures = 0
        public var seconds = 0.0
        /// Calls that took at most each of ``buckets``' bounds, cumulative as Prometheus reads them.
        public var atMost = [Int](repeating: 0, count: PluginCallStats.buckets.count)
    }

    private let state = Locked<(calls: [String: Calls], restarts: Int)>(([:], 0))

    public init() {}

    /// Calls by function (`wizard_step`, `check_status`, `invoke_action`, `handle_http`, `action`).
    public var calls: [String: Calls] { state.withLock { $0.calls } }
    public var runnerRestarts: Int { state.withLock { $0.restarts } }

    func record(_ function: String, failed: Bool, took: Duration) {
        let seconds = Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18
        state.withLock { s in
            var c = s.calls[function] ?? Calls()
            c.count += 1
            if failed { c.failures += 1 }
            c.seconds += seconds
            for (i, bound) in Self.buckets.enumerated() where seconds <= bound { c.atMost[i] += 1 }
            s.calls[function] = c
        }
    }

    func runnerRestarted() { state.withLock { $0.restarts += 1 } }

    /// Runs `body`, recording how long it took and whether it threw.
    func measure<T>(_ function: String, _ body: () async throws -> T) async rethrows -> T {
        let start = ContinuousClock.now
        do {
            let value = try await body()
            record(function, failed: false, took: ContinuousClock.now - start)
            return value
        } catch {
            record(function, failed: true, took: ContinuousClock.now - start)
            throw error
        }
    }
}
