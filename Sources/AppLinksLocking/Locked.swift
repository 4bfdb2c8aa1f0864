#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A value that several threads share, guarded by a pthread mutex. Every lock in AppLinks is one of these.
///
/// Why not `Synchronization.Mutex`: on Linux it takes a priority-inheriting futex, whose contended path runs in the
/// kernel where ThreadSanitizer cannot see it, so every contended lock was reported as a data race and real races
/// hid among them. It also goes straight to the kernel under contention, where glibc's adaptive mutex first spins
/// briefly: most of our critical sections (a dictionary lookup, the SQLite writer's hand-over) last microseconds.
///
/// Guard the thing itself (the file descriptor a lock serialises writes to, say), not `()`: ThreadSanitizer reported
/// races on a `Locked(())`, whose value has no storage of its own.
///
/// ```swift
/// let hits = Locked([String: Int]())
/// hits.withLock { $0["manifest", default: 0] += 1 }
/// ```
public final class Locked<Value>: @unchecked Sendable {
    // `value` is only touched between lock and unlock. Both are visible to inlined code only, so that `withLock`
    // specializes in the module that calls it: a lock taken on every request and every log line.
    @usableFromInline let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    @usableFromInline var value: Value

    public init(_ value: sending Value) {
        self.value = value
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        #if canImport(Glibc)
            pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_ADAPTIVE_NP))
        #endif
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with the value, holding the lock. `body` must not take the same lock again.
    @inlinable
    public func withLock<Result, E: Error>(_ body: (inout sending Value) throws(E) -> sending Result) throws(E) -> sending Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
