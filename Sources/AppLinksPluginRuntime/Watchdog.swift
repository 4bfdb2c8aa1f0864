import AppLinksLocking
import Foundation

/// Times out plugin calls. One thread checks every deadline a few times a second, so a call costs a
/// dictionary insert and remove rather than a timer task of its own.
final class Watchdog: Sendable {
    static let shared = Watchdog()
    private struct State {
        var next = 0
        var deadlines: [Int: (ContinuousClock.Instant, @Sendable () -> Void)] = [:]
        var running = false
    }
    private let state = Locked(State())
    static let resolution: Duration = .milliseconds(50)

    func watch(deadline: ContinuousClock.Instant, _ expire: @escaping @Sendable () -> Void) -> Int {
        let (ticket, start) = state.withLock { s -> (Int, Bool) in
            s.next += 1
            s.deadlines[s.next] = (deadline, expire)
            defer { s.running = true }
            return (s.next, !s.running)
        }
        if start {
            let t = Thread { [self] in loop() }
            t.name = "applinks.watchdog"
            t.start()
        }
        return ticket
    }

    func forget(_ ticket: Int) {
        state.withLock { _ = $0.deadlines.removeValue(forKey: ticket) }
    }

    private func loop() {
        while true {
            Thread.sleep(forTimeInterval: Double(Self.resolution.components.attoseconds) / 1e18)
            let now = ContinuousClock.now
            let expired = state.withLock { s -> [@Sendable () -> Void] in
                let due = s.deadlines.filter { $0.value.0 <= now }
                for key in due.keys { s.deadlines.removeValue(forKey: key) }
                return due.values.map(\.1)
            }
            for expire in expired { expire() }
        }
    }
}
