import Foundation

/// Threads for work that blocks: calls into plugins, and plugins' calls back into the host.
///
/// Dispatch's concurrent queues on Linux run about one thread per core, so a handful of plugin calls that
/// block (on the network, or on a hung plugin) would stall every other call. This pool starts another thread
/// whenever all of its threads are busy, up to `maxThreads`, and lets idle threads go after a while.
///
/// ```swift
/// BlockingThreadPool.shared.submit { _ = blockingCall() }
/// ```
public final class BlockingThreadPool: @unchecked Sendable {
    // All mutable state is guarded by `condition`.
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var head = 0
    private var idle = 0
    private var threads = 0
    private let maxThreads: Int
    private let idleTimeout: TimeInterval
    private let name: String

    public static let shared = BlockingThreadPool(name: "applinks.blocking")

    public init(name: String, maxThreads: Int = 512, idleTimeout: TimeInterval = 30) {
        self.name = name
        self.maxThreads = maxThreads
        self.idleTimeout = idleTimeout
    }

    public func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        let pending = jobs.count - head
        if idle < pending && threads < maxThreads {
            threads += 1
            let t = Thread { [self] in work() }
            t.name = name
            t.stackSize = 1 << 20
            t.start()
        } else {
            condition.signal()
        }
        condition.unlock()
    }

    private func work() {
        condition.lock()
        while true {
            while head == jobs.count {
                idle += 1
                let woke = condition.wait(until: Date().addingTimeInterval(idleTimeout))
                idle -= 1
                if !woke && head == jobs.count {
                    threads -= 1
                    condition.unlock()
                    return
                }
            }
            let job = jobs[head]
            head += 1
            if head > 1024 && head * 2 > jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            condition.unlock()
            job()
            condition.lock()
        }
    }

    /// Runs `body` on a pool thread and suspends until it returns.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            submit { continuation.resume(with: Result { try body() }) }
        }
    }
}
