import AppLinksHTTPInput
import Foundation

/// RFC 5849 §3.6 percent-encoding: every byte but the RFC 3986 unreserved characters, upper-case hex.
public enum OAuth1Encoding {
    public static func encode(_ s: String) -> String { PercentEncoding.encode(s) }

    @inline(__always) static func encode(_ src: UnsafeBufferPointer<UInt8>, into dst: UnsafeMutableBufferPointer<UInt8>) -> Int {
        PercentEncoding.encode(src, into: dst)
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
        var s = s
        return s.withUTF8 { decode($0[...], plusIsSpace: plusIsSpace) }
    }

    static func decode(_ bytes: Slice<UnsafeBufferPointer<UInt8>>, plusIsSpace: Bool) -> String {
        if !bytes.contains(where: { $0 == UInt8(ascii: "%") || ($0 == UInt8(ascii: "+") && plusIsSpace) }) {
            return String(decoding: bytes, as: UTF8.self)
        }
        return String(unsafeUninitializedCapacity: bytes.count) { out in
            var n = 0
            var i = bytes.startIndex
            while i < bytes.endIndex {
                let b = bytes[i]
                if b == UInt8(ascii: "%"), i + 2 < bytes.endIndex, let h = hexValue(bytes[i + 1]), let l = hexValue(bytes[i + 2]) {
                    out[n] = h << 4 | l
                    i += 3
                } else if b == UInt8(ascii: "+") && plusIsSpace {
                    out[n] = UInt8(ascii: " ")
                    i += 1
                } else {
                    out[n] = b
                    i += 1
                }
                n += 1
            }
            return n
        }
    }

    /// Name/value pairs of a query string or `application/x-www-form-urlencoded` body, in order, duplicates kept.
    /// A name without `=` has an empty value.
    public static func pairs(_ s: String) -> [(String, String)] {
        var out: [(String, String)] = []
        appendPairs(s, to: &out)
        return out
    }

    static func appendPairs(_ s: String, to out: inout [(String, String)]) {
        if s.isEmpty { return }
        var s = s
        s.withUTF8 { bytes in
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
        }
    }

    static func hasOAuthPrefix(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { $0.count >= 6 && memcmp($0.baseAddress!, "oauth_", 6) == 0 }
    }

    /// A parameter name: the protocol's own names come back as the shared literal, which allocates nothing.
    static func decodeName(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> String {
        if let known = OAuth1Verifier.Fields.index(of: bytes) { return OAuth1Verifier.Fields.names[known] }
        return decode(bytes, plusIsSpace: false)
    }
}
