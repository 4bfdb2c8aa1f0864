import AppLinksLocking
import Foundation

/// Records read from the store in the last half second, by key.
///
/// A client that calls the token endpoints many times a second then costs two store reads per record per second
/// instead of one per call. A change made through this process drops its entries at once; a change made
/// elsewhere (another node of a cluster, the CLI) is seen within ``lifetime``, well inside the second within
/// which every node of a cluster must see every change.
final class RecordCache<Value: Sendable>: Sendable {
    private struct Entry {
        var value: Value
        var expires: ContinuousClock.Instant
    }
    private let entries = Locked<[String: Entry]>([:])
    let lifetime: Duration
    let capacity: Int

    init(lifetime: Duration = .milliseconds(500), capacity: Int = 50_000) {
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
