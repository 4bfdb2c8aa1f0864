import AppLinksLocking
import AppLinksTracing
import Foundation

/// Where plugin code runs: threads of ``BlockingThreadPool``, so that a plugin blocking (on the network, on a
/// host call that waits for async work, or forever) never holds one of Swift's cooperative threads, nor any
/// other plugin's.
enum PluginThreads {
    static func run<T: Sendable>(
        timeout: Duration?, onTimeout: @escaping @Sendable () -> any Error,
        _ body: @escaping @Sendable () throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let once = OnceResume(continuation)
            let ticket = timeout.map { Watchdog.shared.watch(deadline: .now + $0) { once.resume(with: .failure(onTimeout())) } }
            let context = TraceSpans.current
            BlockingThreadPool.shared.submit {
                let result = Result { try TraceSpans.with(context) { try body() } }
                if let ticket { Watchdog.shared.forget(ticket) }
                once.resume(with: result)
            }
        }
    }
}

/// Resumes a continuation exactly once, whichever of the call or its timeout comes first.
final class OnceResume<T: Sendable>: Sendable {
    private let continuation: Locked<CheckedContinuation<T, any Error>?>
    init(_ c: CheckedContinuation<T, any Error>) { continuation = Locked(c) }
    func resume(with result: Result<T, any Error>) {
        let c = continuation.withLock { c -> CheckedContinuation<T, any Error>? in
            defer { c = nil }
            return c
        }
        c?.resume(with: result)
    }
}
