import AppLinksHost
import AppLinksPluginRuntime
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// Makes NIO's event loops Swift's global executor, so that a request handler runs on the loop that reads and
/// writes its connection, without a hop to Swift's default thread pool and back for each request.
///
/// It installs NIO's own hook (`NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()`)
/// and wraps it with one exception that plugins need: work enqueued from inside an inline plugin route goes to
/// Swift's default pool. Such a route holds its loop until it answers, so a task it starts and waits for
/// (`await Task { … }.value`, as ``SingleFlight`` does) would otherwise be queued behind it on that same loop,
/// and never run.
///
/// ```swift
/// EventLoopExecutor.install()  // before the server starts, once per process
/// ```
public enum EventLoopExecutor {
    private typealias Enqueue = @convention(thin) (UnownedJob) -> Void
    private typealias Hook = @convention(thin) (UnownedJob, Enqueue) -> Void
    /// NIO's hook, which ours calls for everything but inline routes. Set once, before ours is installed.
    nonisolated(unsafe) private static var nio: Hook?

    /// Installs the hook; false, and Swift's default executor stays, if the runtime has no hook or another one
    /// is installed. Call it once, from the main thread.
    @discardableResult
    public static func install() -> Bool {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "swift_task_enqueueGlobal_hook"),
            NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        else { return false }
        let slot = symbol.assumingMemoryBound(to: UnsafeRawPointer?.self)
        guard let installed = slot.pointee else { return false }
        nio = unsafeBitCast(installed, to: Hook.self)
        let hook: Hook = { job, defaultEnqueue in
            if InlineCall.isActive {
                defaultEnqueue(job)
            } else {
                EventLoopExecutor.nio.unsafelyUnwrapped(job, defaultEnqueue)
            }
        }
        slot.pointee = unsafeBitCast(hook, to: UnsafeRawPointer.self)
        return true
    }
}
