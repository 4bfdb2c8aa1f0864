/// RFC 3986 percent-encoding: every byte of the UTF-8 but the unreserved ones (letters, digits, `-._~`), as `%XX`
/// in upper-case hex. What OAuth 1.0 signs over (RFC 5849 §3.6) and what OAuth 2.0 forms carry. Inlinable: the
/// OAuth 1.0 base string runs it for every request a provider verifies.
public enum PercentEncoding {
    @inlinable @inline(__always)
    public static func isUnreserved(_ b: UInt8) -> Bool {
        switch b {
        case 0x41...0x5A, 0x61...0x7A, 0x30...0x39, 0x2D, 0x2E, 0x5F, 0x7E: return true
        default: return false
        }
    }

    @usableFromInline @inline(__always)
    static func hexDigit(_ n: UInt8) -> UInt8 { n < 10 ? 0x30 + n : 0x37 + n }

    @inlinable
    public static func encode(_ s: String) -> String {
        // Most names and values need no escape: return them as they are.
        if s.utf8.allSatisfy(isUnreserved) { return s }
        var s = s
        return s.withUTF8 { src in String(unsafeUninitializedCapacity: src.count * 3) { encode(src, into: $0) } }
    }

    /// Writes the encoding of `src` to `dst`, which holds at least three bytes per source byte; returns the count.
    @inlinable @inline(__always)
    public static func encode(_ src: UnsafeBufferPointer<UInt8>, into dst: UnsafeMutableBufferPointer<UInt8>) -> Int {
        var n = 0
        for b in src {
            if isUnreserved(b) {
                dst[n] = b
                n += 1
            } else {
                dst[n] = 0x25
                dst[n + 1] = hexDigit(b >> 4)
                dst[n + 2] = hexDigit(b & 0x0F)
                n += 3
            }
        }
        return n
    }
}
