import Testing

@testable import AppLinksPluginRuntime

@Suite("a runner's restart backoff, on instants the test chooses")
struct RestartBackoffTests {
    @Test("1 s after an end, doubling with each end in a row up to 60 s, back to 1 s after a runner lived a minute")
    func schedule() {
        var backoff = RestartBackoff()
        let start = ContinuousClock.now
        #expect(backoff.wait(at: start) == nil, "a first runner starts at once")
        var now = start
        var delays: [Duration] = []
        for _ in 0..<8 {
            delays.append(backoff.ended(lived: .seconds(2), at: now))
            now += delays.last!
        }
        #expect(delays == [1, 2, 4, 8, 16, 32, 60, 60].map { Duration.seconds($0) })
        #expect(backoff.ended(lived: .seconds(61), at: now) == .seconds(1), "a stable runner resets the count")
    }

    @Test("within the backoff a start waits, after it one caller claims the start and the others wait for it")
    func claims() {
        var backoff = RestartBackoff()
        let ended = ContinuousClock.now
        _ = backoff.ended(lived: .milliseconds(10), at: ended)
        #expect(backoff.wait(at: ended + .milliseconds(400)) == .milliseconds(600))
        #expect(backoff.wait(at: ended + .seconds(1)) == nil)
        backoff.claimStart(at: ended + .seconds(1))
        #expect(backoff.wait(at: ended + .seconds(2)) != nil, "a second caller does not start another runner")
        backoff.started()
        #expect(backoff.wait(at: ended + .seconds(2)) == nil)
        var unseen = RestartBackoff()
        unseen.endedUnseen(at: ended)
        #expect(unseen.wait(at: ended) == nil, "a runner that died before it was seen is replaced at once")
    }
}
