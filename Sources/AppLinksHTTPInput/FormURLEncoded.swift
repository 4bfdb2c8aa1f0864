import Foundation

/// `application/x-www-form-urlencoded`, as OAuth 2.0 requests and the web page's forms carry it. A parameter sent
/// twice is an error for OAuth 2.0 (RFC 6749 §3.1 and §3.2): the caller sees it as a duplicate instead of getting
/// one of the two silently. A page's group of checkboxes reads every pair in order with ``pairs(_:)``.
public struct FormURLEncoded: Sendable {
    public private(set) var values: [String: String] = [:]
    public private(set) var duplicates: Set<String> = []

    public init(_ text: Substring) {
        var text = text
        self.init(bytes: text.withUTF8 { Array($0) })
    }

    public init(_ data: Data) { self.init(bytes: [UInt8](data)) }

    private init(bytes: [UInt8]) {
        Self.forEachPair(bytes) { name, value in
            if values[name] != nil { duplicates.insert(name) } else { values[name] = value }
        }
    }

    /// Every name and value in the order sent, repeated names included.
    public static func pairs(_ bytes: some Sequence<UInt8>) -> [(name: String, value: String)] {
        var out: [(name: String, value: String)] = []
        forEachPair(Array(bytes)) { out.append(($0, $1)) }
        return out
    }

    /// Splits on `&` and the first `=` of each pair, byte by byte (a `Character` could fuse a separator with the
    /// combining mark after it): every token request parses a form.
    private static func forEachPair(_ bytes: [UInt8], _ body: (String, String) -> Void) {
        bytes.withUnsafeBufferPointer { all in
            var start = 0
            while start < all.count {
                var end = start
                while end < all.count && all[end] != 0x26 { end += 1 }
                if end > start {
                    var eq = start
                    while eq < end && all[eq] != 0x3D { eq += 1 }
                    let name = decode(UnsafeBufferPointer(rebasing: all[start..<eq]))
                    let value = eq < end ? decode(UnsafeBufferPointer(rebasing: all[(eq + 1)..<end])) : ""
                    body(name, value)
                }
                start = end + 1
            }
        }
    }

    public subscript(_ name: String) -> String? {
        guard let v = values[name], !v.isEmpty else { return nil }
        return v
    }

    /// `+` is a space, then percent-decoding; a malformed escape is kept as it is, and bytes that are not UTF-8
    /// are repaired (U+FFFD) rather than refused. Byte by byte: every token request parses a form.
    public static func decode(_ s: Substring) -> String {
        var s = s
        return s.withUTF8 { decode($0) }
    }

    static func decode(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        if !bytes.contains(where: { $0 == 0x2B || $0 == 0x25 }) { return String(decoding: bytes, as: UTF8.self) }
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == 0x2B {
                out.append(0x20)
            } else if b == 0x25, i + 2 < bytes.count, let h = hex(bytes[i + 1]), let l = hex(bytes[i + 2]) {
                out.append(h << 4 | l)
                i += 2
            } else {
                out.append(b)
            }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x37
        case 0x61...0x66: return c - 0x57
        default: return nil
        }
    }

    /// Encodes a value for a form body or a query string (RFC 3986 unreserved characters stay, all else is `%XX`).
    public static func encode(_ s: String) -> String { PercentEncoding.encode(s) }
}
