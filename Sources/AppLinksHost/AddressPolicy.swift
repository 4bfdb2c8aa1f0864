import AppLinksCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Which addresses a host name stands for, and whether any of them is not on the public internet.
///
/// A link type fetches URLs that admins type and that remotes send; without this check such a URL could make the
/// host probe its own machine or network. A name is checked through every address it resolves to. (A name that
/// resolves differently a moment later, on connect, is not caught here.)
enum AddressPolicy {
    /// A description of the first non-public address `host` resolves to, such as "a loopback address"; nil if all
    /// of them are public. A name that does not resolve is left to the request, which reports UNKNOWN_HOST.
    static func nonPublicAddress(of host: String) async throws -> String? {
        let name = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        return try await BlockingThreadPool.shared.run { addresses(name).lazy.compactMap(classify).first }
    }

    static func addresses(_ name: String) -> [[UInt8]] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(list) }
        var out: [[UInt8]] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let ai = cursor {
            if let sa = ai.pointee.ai_addr {
                switch Int32(sa.pointee.sa_family) {
                case AF_INET:
                    sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                        out.append(withUnsafeBytes(of: sin.pointee.sin_addr) { Array($0) })
                    }
                case AF_INET6:
                    sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                        out.append(withUnsafeBytes(of: sin6.pointee.sin6_addr) { Array($0) })
                    }
                default: break
                }
            }
            cursor = ai.pointee.ai_next
        }
        return out
    }

    /// What kind of non-public address `a` (4 or 16 bytes, network order) is; nil for a public one.
    static func classify(_ a: [UInt8]) -> String? {
        if a.count == 16 {
            if a == [UInt8](repeating: 0, count: 15) + [1] { return "a loopback address" }
            if a.allSatisfy({ $0 == 0 }) { return "the unspecified address" }
            if a[0] & 0xFE == 0xFC { return "a private (unique local) address" }
            if a[0] == 0xFE && a[1] & 0xC0 == 0x80 { return "a link-local address" }
            // An IPv4 address mapped into IPv6 is judged as the IPv4 address.
            if a[0..<10].allSatisfy({ $0 == 0 }) && a[10] == 0xFF && a[11] == 0xFF { return classify(Array(a[12..<16])) }
            return nil
        }
        guard a.count == 4 else { return nil }
        switch (a[0], a[1]) {
        case (127, _): return "a loopback address"
        case (0, _): return "the unspecified address"
        case (10, _), (192, 168): return "a private address"
        case (172, 16...31): return "a private address"
        case (169, 254): return "a link-local address"
        case (100, 64...127): return "a shared (carrier-grade NAT) address"
        default: return nil
        }
    }
}
