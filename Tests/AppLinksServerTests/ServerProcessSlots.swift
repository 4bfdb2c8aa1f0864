import Foundation
import Testing

/// At most `limit` tests under `ServerProcessTests` run at once, each holding a slot for its whole body.
///
/// One at a time left the machine mostly idle: those tests mostly wait, on child processes, real token lifetimes and
/// sockets. All at once would start dozens of servers, Chromium and Python clients on two cores. A few at a time keeps
/// the cores busy, and no test asserts a bound that more neighbours could break: each compares times it measures
/// itself, or waits for what it expects.
struct ServerProcessSlots: SuiteTrait, TestTrait, TestScoping {
    static let shared: Slots = {
        guard let text = ProcessInfo.processInfo.environment["APPLINKS_TEST_SERVER_SLOTS"] else { return Slots(limit: 3) }
        guard let limit = Int(text), limit > 0 else {
            fatalError("APPLINKS_TEST_SERVER_SLOTS='\(text)' must be a whole number of at least 1, such as 3.")
        }
        return Slots(limit: limit)
    }()

    var isRecursive: Bool { true }

    /// A slot per test case; a suite takes none, or a suite waiting for its tests would hold one they need.
    func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? {
        test.isSuite || testCase == nil ? nil : self
    }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        try await Self.shared.holding { try await function() }
    }

    /// A counting semaphore that waits without blocking a thread.
    actor Slots {
        private var free: Int
        private var waiting: [CheckedContinuation<Void, Never>] = []

        init(limit: Int) { free = limit }

        func holding<T: Sendable>(_ body: @Sendable () async throws -> T) async rethrows -> T {
            await acquire()
            defer { release() }
            return try await body()
        }

        private func acquire() async {
            if free > 0 {
                free -= 1
            } else {
                await withCheckedContinuation { waiting.append($0) }
            }
        }

        private func release() {
            if waiting.isEmpty {
                free += 1
            } else {
                waiting.removeFirst().resume()
            }
        }
    }
}

extension Trait where Self == ServerProcessSlots {
    /// Runs the suite's tests a few at a time: see `ServerProcessSlots`.
    static var serverProcessSlots: Self { ServerProcessSlots() }
}
