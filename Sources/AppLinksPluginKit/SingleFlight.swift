import AppLinksLocking

/// Runs one task per key at a time: a caller that finds one running for its key waits for that task's result
/// instead of starting another, as concurrent callers of a token refresh must.
///
/// ```swift
/// let token = try await refreshes.run(linkID) { try await refresh(linkID) }
/// ```
public final class SingleFlight<Value: Sendable>: Sendable {
    private let running = Locked<[String: Task<Value, any Error>]>([:])

    public init() {}

    public func run(_ key: String, _ body: @escaping @Sendable () async throws -> Value) async throws -> Value {
        let task = running.withLock { tasks -> Task<Value, any Error> in
            if let task = tasks[key] { return task }
            // The task removes itself under the same lock, so it cannot finish before it is recorded.
            let task = Task { [self] in
                defer { _ = running.withLock { $0.removeValue(forKey: key) } }
                return try await body()
            }
            tasks[key] = task
            return task
        }
        return try await task.value
    }
}
