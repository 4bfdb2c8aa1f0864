import AppLinksCore
import AppLinksLocking
import AppLinksTracing
import Dispatch
import Foundation

/// Marks the threads that are inside a plugin's inline route, where the plugin must not wait for the host.
///
/// An inline call runs on the request's thread: one of Swift's cooperative threads, or under `applinks serve` an
/// event loop (see `EventLoopExecutor`). A host call that waits for async work there would hold that thread,
/// and with every such thread holding one, the work it waits for could never run.
public enum InlineCall {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()
    /// Longer than this, an inline answer is logged as misdeclared.
    static let slow: Duration = .milliseconds(50)

    /// Whether the current thread is inside an inline plugin route.
    public static var isActive: Bool { pthread_getspecific(key) != nil }

    static func run<T>(_ body: () throws -> T) rethrows -> T {
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: 1))
        defer { pthread_setspecific(key, nil) }
        return try body()
    }
}

/// Waits for async work from a synchronous C callback. Only ever called on plugin threads (see ``PluginThreads``);
/// inside an inline route it refuses instead (see ``InlineCall``).
package func waitFor<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) throws -> T {
    if InlineCall.isActive {
        throw AppLinksError(
            .pluginFailed,
            "This host call waits for the network or other work, which a route declared \"inline\" may not do; "
                + "remove \"inline\": true from the route in the link type's descriptor.")
    }
    let slot = Locked<Result<T, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    let context = TraceSpans.current
    Task {
        let r: Result<T, any Error>
        do { r = .success(try await TraceSpans.with(context) { try await operation() }) } catch { r = .failure(error) }
        slot.withLock { $0 = r }
        done.signal()
    }
    done.wait()
    return try slot.withLock { $0! }.get()
}
