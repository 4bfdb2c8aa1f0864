import Foundation

/// Threads of their own for the servers the tests run in process. Many tests still wait for a process
/// synchronously, on the cooperative pool, which has one thread per core: on a two-core machine two such waits
/// would stop every server in the process for their length. A server whose tasks prefer these threads answers
/// whatever the tests around it do.
final class ServerThreads: TaskExecutor, @unchecked Sendable {
    static let shared = ServerThreads(count: max(4, 2 * ProcessInfo.processInfo.activeProcessorCount))

    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var next = 0

    private init(count: Int) {
        for i in 0..<count {
            let thread = Thread { [self] in work() }
            thread.name = "in-process server \(i)"
            thread.start()
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while next == jobs.count { condition.wait() }
            let job = jobs[next]
            next += 1
            // Compacted now and then rather than shifted on every take.
            if next > 1024 {
                jobs.removeFirst(next)
                next = 0
            }
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
