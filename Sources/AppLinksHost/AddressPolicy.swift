import AppLinksCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Which addresses a host name stands for, and whether any of them is not on the public internet.
///
/// A link type fetches URLs that admins type and that remotes send; without this check such a URL could make the
/// host probe its own machine or network. A name is resolved once and checked through every address it resolves
/// to, and ``HTTPService`` then connects to one of those very addresses, so a name that resolves differently a
/// moment later (DNS rebinding) changes nothing.
enum AddressPolicy {
    /// Why `host` is written as an IPv4 address in a form other than four decimal numbers (`2130706433`,
    /// `0177.0.0.1`, `0x7f.1`), which resolvers read as an address but people do not; nil for any other host.
    static func obscuredIPv4(_ host: String) -> String? {
        func isDigit(_ c: Character) -> Bool { c >= "0" && c <= "9" }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        let numeric = labels.allSatisfy { label in
            let l = label.lowercased()
            return !l.isEmpty && (l.allSatisfy(isDigit) || (l.hasPrefix("0x") && l.dropFirst(2).allSatisfy(\.isHexDigit)))
        }
        guard numeric, (1...4).contains(labels.count) else { return nil }
        let canonical =
            labels.count == 4
            && labels.allSatisfy { l in l.allSatisfy(isDigit) && (l == "0" || !l.hasPrefix("0")) && (Int(l) ?? 256) <= 255 }
        return canonical ? nil : "'\(host)' is an IPv4 address in a form other than four decimal numbers; write it as a.b.c.d"
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
            let zeros = { (r: Range<Int>) in a[r].allSatisfy { $0 == 0 } }
            if zeros(0..<15) && a[15] == 1 { return "a loopback address" }
            if zeros(0..<16) { return "the unspecified address" }
            // An IPv4 address mapped into IPv6 is judged as the IPv4 address.
            if zeros(0..<10) && a[10] == 0xFF && a[11] == 0xFF { return classify(Array(a[12..<16])) }
            if zeros(0..<12) { return "an IPv4-compatible IPv6 address" }
            if a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xFF && a[3] == 0x9B && zeros(4..<12) { return "a NAT64 address" }
            if a[0] & 0xFE == 0xFC { return "a private (unique local) address" }
            if a[0] == 0xFE && a[1] & 0xC0 == 0x80 { return "a link-local address" }
            if a[0] == 0xFE && a[1] & 0xC0 == 0xC0 { return "a site-local address" }
            if a[0] == 0xFF { return "a multicast address" }
            return nil
        }
        guard a.count == 4 else { return nil }
        switch (a[0], a[1], a[2]) {
        case (127, _, _): return "a loopback address"
        case (0, _, _): return "the unspecified address"
        case (10, _, _), (192, 168, _): return "a private address"
        case (172, 16...31, _): return "a private address"
        case (169, 254, _): return "a link-local address"
        case (100, 64...127, _): return "a shared (carrier-grade NAT) address"
        case (192, 0, 0): return "an IETF protocol assignment address"
        case (198, 18...19, _): return "a benchmarking address"
        case (224...239, _, _): return "a multicast address"
        case (240...255, _, _): return "a reserved address"
        default: return nil
        }
    }
}
