import AppLinksLocking
import Foundation

/// What a store measures plugin data's expiry against: the system clock as shipped. A test passes one it moves
/// (``StoreClock/manual(startingAt:)``) instead of sleeping until a value expires.
public struct StoreClock: Sendable {
    public let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date) { self.now = now }

    public static let system = StoreClock { Date() }

    /// Seconds since 1970, as the stores keep `expires_at`.
    public var seconds: Double { now().timeIntervalSince1970 }

    /// A clock that stands still until moved, and the function that moves it forward.
    public static func manual(startingAt start: Date = Date()) -> (clock: StoreClock, advance: @Sendable (Duration) -> Void) {
        let current = Locked(start)
        let clock = StoreClock { current.withLock { $0 } }
        return (clock, { by in current.withLock { $0 += Double(by.components.seconds) + Double(by.components.attoseconds) / 1e18 } })
    }
}
