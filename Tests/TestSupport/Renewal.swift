import Foundation

/// When a link type renews a token that expires at `expiry`: the bundled types renew within 60 s of the end.
public enum Renewal {
    public static let margin: TimeInterval = 60

    /// Waits until a token expiring at `expiry` is due for renewal. The wait is the token's own remaining lifetime,
    /// whatever the machine; 20 ms more covers expiry times written to the millisecond.
    public static func waitUntilDue(expiry: Date) async throws {
        let wait = expiry.addingTimeInterval(-margin).timeIntervalSinceNow
        if wait > 0 { try await Task.sleep(for: .seconds(wait) + .milliseconds(20)) }
    }
}
