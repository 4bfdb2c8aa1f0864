import Foundation
import Logging
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// systemd's readiness and watchdog protocol (`Type=notify`, `WatchdogSec=`): datagrams to `$NOTIFY_SOCKET`.
/// Outside systemd the variable is unset and nothing is sent.
public struct SystemdNotifier: Sendable {
    let socketPath: String?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        socketPath = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Sends `state` (`READY=1`, `WATCHDOG=1`, `STOPPING=1`, `STATUS=…`); false when there is no socket or it failed.
    @discardableResult
    public func notify(_ state: String) -> Bool {
        #if canImport(Glibc)
            guard let socketPath else { return false }
            let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { return false }
            defer { close(fd) }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            var path = Array(socketPath.utf8)
            // An abstract socket is written with a leading "@" and addressed with a leading NUL.
            if path.first == UInt8(ascii: "@") { path[0] = 0 }
            let capacity = MemoryLayout.size(ofValue: address.sun_path)
            guard path.count < capacity else { return false }
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (i, b) in path.enumerated() { raw[i] = b }
            }
            let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count + (path.first == 0 ? 0 : 1))
            let sent = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                    state.withCString { sendto(fd, $0, strlen($0), 0, sa, length) }
                }
            }
            return sent >= 0
        #else
            return false
        #endif
    }

    /// How often systemd expects `WATCHDOG=1` (half of `WatchdogSec`), when it watches this process.
    public static func watchdogInterval(environment: [String: String] = ProcessInfo.processInfo.environment) -> Duration? {
        guard let usec = environment["WATCHDOG_USEC"].flatMap(UInt64.init), usec > 0 else { return nil }
        if let pid = environment["WATCHDOG_PID"].flatMap(Int32.init), pid != getpid() { return nil }
        return .microseconds(Int64(usec / 2))
    }
}

/// Pings systemd's watchdog while the server's tasks run, and says STOPPING=1 when a graceful shutdown begins.
struct SystemdWatchdog: Service {
    let notifier: SystemdNotifier
    let interval: Duration?

    func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            if let interval {
                group.addTask {
                    while !Task.isCancelled {
                        notifier.notify("WATCHDOG=1")
                        try? await Task.sleep(for: interval)
                    }
                }
            }
            group.addTask {
                try? await gracefulShutdown()
                notifier.notify("STOPPING=1")
            }
            await group.next()
            group.cancelAll()
        }
    }
}
