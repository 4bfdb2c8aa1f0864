import AppLinksCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An IPv4 or IPv6 network in CIDR notation, such as `10.0.0.0/8` or `fd00::/8`; a bare address is a network of
/// one. It says which peers are the deployment's own reverse proxies (`server.trusted_proxies`).
///
/// ```swift
/// let proxies = try AddressRange("10.0.0.0/8")
/// proxies.contains("10.1.2.3")  // true
/// ```
public struct AddressRange: Sendable, Hashable, CustomStringConvertible {
    let network: [UInt8]
    let prefix: Int

    public init(_ text: String) throws {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "/", maxSplits: 1).map(String.init)
        guard let first = parts.first, let bytes = Self.bytes(first) else {
            throw AppLinksError(.config, "'\(text)' is not an address range; write it as CIDR, such as 10.0.0.0/8 or fd00::/8.")
        }
        let bits = bytes.count * 8
        let prefix = parts.count == 2 ? Int(parts[1]) : bits
        guard let prefix, (0...bits).contains(prefix) else {
            throw AppLinksError(.config, "'\(text)' has a prefix length outside 0 to \(bits).")
        }
        self.network = Self.mask(bytes, prefix)
        self.prefix = prefix
    }

    /// Whether `address` (text, IPv4 or IPv6) lies in this range. An IPv4-mapped IPv6 address counts as its IPv4
    /// address.
    public func contains(_ address: String) -> Bool {
        guard var bytes = Self.bytes(address) else { return false }
        if bytes.count == 16, network.count == 4, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            bytes = Array(bytes[12...])
        }
        return bytes.count == network.count && Self.mask(bytes, prefix) == network
    }

    public var description: String {
        "\(Self.text(network))/\(prefix)"
    }

    /// The address's bytes in network order: 4 for IPv4, 16 for IPv6; nil if it is not an address.
    public static func bytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: v4) { Array($0) } }
        var v6 = in6_addr()
        let bare = text.hasPrefix("[") && text.hasSuffix("]") ? String(text.dropFirst().dropLast()) : text
        if inet_pton(AF_INET6, bare, &v6) == 1 { return withUnsafeBytes(of: v6) { Array($0) } }
        return nil
    }

    /// The address's canonical text.
    public static func text(_ bytes: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        return bytes.withUnsafeBytes { raw in
            inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil
                ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
        }
    }

    static func mask(_ bytes: [UInt8], _ prefix: Int) -> [UInt8] {
        bytes.enumerated().map { i, b in
            let keep = max(0, min(8, prefix - i * 8))
            return keep == 8 ? b : b & ~(UInt8(0xFF) >> keep)
        }
    }

    /// The key that rate limits count a client under: an IPv4 address as it is, an IPv6 one by its /64, which one
    /// subscriber usually holds whole (so a client cannot dodge a limit by walking its own prefix).
    public static func clientKey(_ address: String) -> String {
        guard var bytes = bytes(address) else { return address }
        if bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF { bytes = Array(bytes[12...]) }
        return bytes.count == 4 ? text(bytes) : text(mask(bytes, 64)) + "/64"
    }
}
