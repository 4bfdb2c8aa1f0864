import AppLinksLocking

/// The time a waiting loop reads: how long it has waited, and the pause between two looks. The wizard waits on a
/// pending step with it, so that a test can pass ``instant()``, whose pauses pass at once, instead of sleeping.
public struct WaitClock: Sendable {
    /// Time since an arbitrary origin.
    public var now: @Sendable () -> Duration
    public var sleep: @Sendable (Duration) async throws -> Void

    public init(now: @escaping @Sendable () -> Duration, sleep: @escaping @Sendable (Duration) async throws -> Void) {
        self.now = now
        self.sleep = sleep
    }

    public static let system: WaitClock = {
        let origin = ContinuousClock.now
        return WaitClock(now: { ContinuousClock.now - origin }, sleep: { try await Task.sleep(for: $0) })
    }()

    /// A clock on which a pause moves time forward by its length, without waiting.
    public static func instant() -> WaitClock {
        let elapsed = Locked(Duration.zero)
        return WaitClock(
            now: { elapsed.withLock { $0 } },
            sleep: { pause in
                try Task.checkCancellation()
                elapsed.withLock { $0 += pause }
                await Task.yield()
            })
    }
}
