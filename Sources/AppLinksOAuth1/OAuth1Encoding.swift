import Foundation

/// RFC 5849 §3.6 percent-encoding: every byte but the RFC 3986 unreserved characters, upper-case hex.
public enum OAuth1Encoding {
    /// Whether each byte is an RFC 3986 unreserved character, by table lookup.
    private static let unreserved: [Bool] = (0..<256).map { b in
        (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x2E || b == 0x5F || b == 0x7E
    }
    private static let hex = Array("0123456789ABCDEF".utf8)

    public static func encode(_ s: String) -> String {
        // Most names and values need no escape: return them as they are.
        if s.utf8.allSatisfy({ unreserved[Int($0)] }) { return s }
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count * 3)
        for b in s.utf8 {
            if unreserved[Int(b)] {
                out.append(b)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }

    /// Decodes `%XX` escapes; with `plusIsSpace`, as in query strings and form bodies, `+` is a space.
    /// Malformed escapes are kept as they are, as browsers and oauthlib do.
    public static func decode(_ s: String, plusIsSpace: Bool = true) -> String {
        decode(Array(s.utf8)[...], plusIsSpace: plusIsSpace)
    }

    static func decode(_ bytes: ArraySlice<UInt8>, plusIsSpace: Bool) -> String {
        if !bytes.contains(where: { $0 == UInt8(ascii: "%") || ($0 == UInt8(ascii: "+") && plusIsSpace) }) {
            return String(decoding: bytes, as: UTF8.self)
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let b = bytes[i]
            if b == UInt8(ascii: "%"), i + 2 < bytes.endIndex, let h = hexValue(bytes[i + 1]), let l = hexValue(bytes[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else if b == UInt8(ascii: "+") && plusIsSpace {
                out.append(UInt8(ascii: " "))
                i += 1
            } else {
                out.append(b)
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Name/value pairs of a query string or `application/x-www-form-urlencoded` body, in order, duplicates kept.
    /// A name without `=` has an empty value.
    public static func pairs(_ s: String) -> [(String, String)] {
        let bytes = Array(s.utf8)
        var out: [(String, String)] = []
        var start = 0
        while start <= bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != UInt8(ascii: "&") { end += 1 }
            if end > start {
                var eq = start
                while eq < end && bytes[eq] != UInt8(ascii: "=") { eq += 1 }
                let name = decode(bytes[start..<eq], plusIsSpace: true)
                let value = eq < end ? decode(bytes[(eq + 1)..<end], plusIsSpace: true) : ""
                out.append((name, value))
            }
            start = end + 1
        }
        return out
    }
}
