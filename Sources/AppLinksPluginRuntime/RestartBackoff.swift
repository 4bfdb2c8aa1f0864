/// When a plugin's runner may start again after it ended: 1 s after the first end, doubling with each end in a
/// row up to 60 s, and back to 1 s once a runner has lived a minute. A value, so that the schedule is tested on
/// instants a test chooses instead of by crashing processes and waiting.
struct RestartBackoff: Sendable {
    static let stableAfter: Duration = .seconds(60)
    static let maxBackoff: Duration = .seconds(60)

    /// Runners ended in a row without living ``stableAfter``.
    private(set) var failures = 0
    /// Before this instant no runner starts; nil when one may start now.
    private(set) var restartAt: ContinuousClock.Instant?

    /// A runner ended at `now` after living `lived`; returns how long until the next may start.
    mutating func ended(lived: Duration, at now: ContinuousClock.Instant) -> Duration {
        failures = lived >= Self.stableAfter ? 1 : failures + 1
        let delay = min(Self.maxBackoff, .seconds(1) * (1 << min(failures - 1, 6)))
        restartAt = now + delay
        return delay
    }

    /// How long until a runner may start, or nil when one may start at `now`.
    func wait(at now: ContinuousClock.Instant) -> Duration? {
        guard let restartAt, now < restartAt else { return nil }
        return restartAt - now
    }

    /// One caller starts the runner; the others are told to wait until it has, or failed to.
    mutating func claimStart(at now: ContinuousClock.Instant) { restartAt = now + Self.maxBackoff }

    /// A runner that ended before its owner knew it: it may be replaced from now on.
    mutating func endedUnseen(at now: ContinuousClock.Instant) { restartAt = restartAt ?? now }

    mutating func started() { restartAt = nil }
}
