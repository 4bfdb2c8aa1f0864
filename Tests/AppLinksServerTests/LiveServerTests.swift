import AppLinksLocking
import Foundation
import TestSupport
import Testing

@Suite("the in-process server the route tests use")
struct LiveServerTests {
    @Test("it answers while every thread of the cooperative pool is blocked, as tests that wait for processes block them")
    func answersWhileThePoolIsBlocked() async throws {
        try await LiveServer.run { s in
            let answered = Locked<(status: String, at: ContinuousClock.Instant)?>(nil)
            let blockersStarted = DispatchSemaphore(value: 0)
            // A client on a thread of its own, once every pool thread is held.
            Thread {
                blockersStarted.wait()
                let r = try? runCommand(
                    URL(fileURLWithPath: "/usr/bin/curl"),
                    ["-s", "-m", "60", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(s.port)/healthz"])
                answered.withLock { $0 = (r?.stdout ?? "none", .now) }
            }.start()
            let cores = ProcessInfo.processInfo.activeProcessorCount
            let released = await withTaskGroup(of: ContinuousClock.Instant.self) { group in
                for i in 0..<cores {
                    group.addTask {
                        if i == 0 { blockersStarted.signal() }
                        // Held until the client is answered, or for 20 s at most: a server on the pool cannot answer.
                        let until = ContinuousClock.now + .seconds(20)
                        while answered.withLock({ $0 == nil }) && ContinuousClock.now < until { usleep(10_000) }
                        return .now
                    }
                }
                return await group.reduce(ContinuousClock.now) { max($0, $1) }
            }
            let answer = try #require(answered.withLock { $0 }, "the client was not answered while the pool was held")
            #expect(answer.status == "200" && answer.at <= released, "\(answer.status)")
        }
    }
}
