import AppLinksLocking
import Foundation

/// Threads of their own for the servers the tests run in process. Many tests still wait for a process
/// synchronously, on the cooperative pool, which has one thread per core: on a two-core machine two such waits
/// would stop every server in the process for their length. A server whose tasks prefer these threads answers
/// whatever the tests around it do.
final class ServerThreads: TaskExecutor {
    static let shared = ServerThreads()

    /// Grows a thread whenever all of its threads are busy, so a server call that blocks (SQLite, a password
    /// check) holds up no other.
    private let pool = BlockingThreadPool(name: "in-process server")

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        pool.submit { job.runSynchronously(on: executor) }
    }
}
