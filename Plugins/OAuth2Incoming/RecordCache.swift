import Foundation
import Synchronization

/// Records read from the store in the last second, by key.
///
/// A client that calls the token endpoints many times a second then costs one store read per record per second
/// instead of one per call. A change made through this process drops its entries at once; a change made
/// elsewhere (another node, the CLI) is seen within ``lifetime``, as every cached view in the host is.
final class RecordCache<Value: Sendable>: Sendable {
    private struct Entry {
        var value: Value
        var expires: ContinuousClock.Instant
    }
    private let entries = Mutex<[String: Entry]>([:])
    let lifetime: Duration
    let capacity: Int

    init(lifetime: Duration = .seconds(1), capacity: Int = 50_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    func get(_ key: String) -> Value? {
        entries.withLock { e in
            guard let entry = e[key] else { return nil }
            if entry.expires > .now { return entry.value }
            e[key] = nil
            return nil
        }
    }

    func put(_ key: String, _ value: Value) {
        let expires = ContinuousClock.now + lifetime
        entries.withLock { e in
            // Full: start over rather than scan; the store still has everything.
            if e.count >= capacity { e.removeAll(keepingCapacity: true) }
            e[key] = Entry(value: value, expires: expires)
        }
    }

    func remove(_ key: String) { _ = entries.withLock { $0.removeValue(forKey: key) } }

    func removeAll() { entries.withLock { $0.removeAll() } }
}
