import AppLinksCore
import AppLinksHost
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Binds each address the node will listen on once, and lets go, before any service starts.
///
/// A listener that cannot bind fails its service within milliseconds, while the node's other services are still
/// starting; cancelling them at that moment can hang the process in swift-async-algorithms' `merge` (which
/// Hummingbird's date cache iterates), where even SIGTERM no longer stops it. Found here as a `serve` that hung
/// about one start in five with `server.probe_listen` on a port in use. Checked first, a taken address is a
/// configuration error that names its setting, and nothing has started. A port taken in the moment between the
/// check and the real bind still reaches the service's own error.
enum ListenPreflight {
    /// Throws a configuration error naming `setting` and `fix` when `address` cannot be bound now. Port 0 (any
    /// free port) always can.
    static func check(_ address: ListenAddress, setting: String, fix: String) throws {
        guard address.port != 0 else { return }
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(address.host, String(address.port), &hints, &found)
        guard rc == 0, let first = found else {
            throw AppLinksError(
                .config, "\(setting) \(address): the host cannot be resolved (\(String(cString: gai_strerror(rc)))). \(fix)")
        }
        defer { freeaddrinfo(found) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { return }  // no socket to try with: the real bind reports what is wrong
        defer { close(fd) }
        // As the listener itself binds: a port left in TIME_WAIT by a previous run is free.
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            let why = String(cString: strerror(errno))
            throw AppLinksError(.config, "\(setting) \(address) cannot be used: \(why). \(fix)")
        }
    }
}
