import Glibc

/// A lock for a value that threads hold for a few microseconds each, such as the one SQLite write connection:
/// glibc's adaptive mutex spins briefly before it sleeps, where `Synchronization.Mutex` goes straight to a
/// priority-inheriting futex, whose kernel path costs more than the write it waits for.
final class SpinningLock<Value>: @unchecked Sendable {
    // `value` is only touched between lock and unlock.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var value: Value

    init(_ value: Value) {
        self.value = value
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_ADAPTIVE_NP))
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
