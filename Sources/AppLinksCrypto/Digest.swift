import AppLinksLocking
import COpenSSL
import Foundation

// Fetched once per process; an EVP_MD from EVP_MD_fetch is immutable and safe to share between threads.
private nonisolated(unsafe) let fetchedSHA1: OpaquePointer = EVP_MD_fetch(nil, "SHA1", nil)!
private nonisolated(unsafe) let fetchedSHA256: OpaquePointer = EVP_MD_fetch(nil, "SHA256", nil)!

/// Digest algorithms supported for hashing, HMAC and RSA signatures.
public enum DigestAlgorithm: Sendable, Hashable {
    case sha1, sha256

    var md: OpaquePointer {
        switch self {
        case .sha1: return EVP_sha1()
        case .sha256: return EVP_sha256()
        }
    }

    /// The provider's implementation, fetched once: passing `md` makes OpenSSL 3 look it up on every call.
    var fetched: OpaquePointer { self == .sha1 ? fetchedSHA1 : fetchedSHA256 }

    public var outputSize: Int { self == .sha1 ? 20 : 32 }
}

/// One-shot message digests.
///
/// ```swift
/// let hash = Digest.hash(.sha256, Data("abc".utf8))
/// ```
public enum Digest {
    public static func hash(_ algorithm: DigestAlgorithm, _ data: some DataProtocol) -> Data {
        if let contiguous = data as? Data { return hash(algorithm, bytes: contiguous) }
        return hash(algorithm, bytes: Data(data))
    }

    private static func hash(_ algorithm: DigestAlgorithm, bytes: Data) -> Data {
        var out = Data(count: algorithm.outputSize)
        var len: UInt32 = 0
        let ok = out.withUnsafeMutableBytes { o in
            bytes.withUnsafeBytes { i in
                EVP_Digest(
                    i.baseAddress ?? UnsafeRawPointer(bitPattern: 1), i.count, o.baseAddress?.assumingMemoryBound(to: UInt8.self), &len,
                    algorithm.fetched, nil)
            }
        }
        precondition(ok == 1 && Int(len) == algorithm.outputSize, "EVP_Digest cannot fail for in-memory input")
        return out
    }

    public static func sha1(_ data: some DataProtocol) -> Data { hash(.sha1, data) }
    public static func sha256(_ data: some DataProtocol) -> Data { hash(.sha256, data) }
}

/// HMAC (RFC 2104).
///
/// ```swift
/// let mac = HMAC.authenticate(.sha1, key: Data("key".utf8), data: Data("text".utf8))
/// ```
public enum HMAC {
    /// An OpenSSL HMAC context; a pool hands it to one thread at a time.
    private struct Context: @unchecked Sendable { let pointer: OpaquePointer }

    /// Idle contexts, one pool per algorithm. A context is re-keyed per message, which halves the cost of an
    /// HMAC against making a context each time; a provider computes one per request it verifies.
    private static let idleSHA1 = Locked<[Context]>([])
    private static let idleSHA256 = Locked<[Context]>([])
    private static let maxIdle = 64

    public static func authenticate(_ algorithm: DigestAlgorithm, key: some DataProtocol, data: some DataProtocol) -> Data {
        Data(authenticateBytes(algorithm, key: Array(key), data: Array(data)))
    }

    /// The same, over byte arrays, for callers that verify many requests and avoid `Data` conversions.
    public static func authenticateBytes(_ algorithm: DigestAlgorithm, key: [UInt8], data: [UInt8]) -> [UInt8] {
        func idle<R>(_ body: (inout [Context]) -> R) -> R {
            algorithm == .sha1 ? idleSHA1.withLock { body(&$0) } : idleSHA256.withLock { body(&$0) }
        }
        guard let ctx = idle({ $0.popLast() })?.pointer ?? applinks_hmac_context(algorithm == .sha1 ? "SHA1" : "SHA256")
        else { preconditionFailure("OpenSSL has no HMAC: \(CryptoError("EVP_MAC"))") }
        var out = [UInt8](repeating: 0, count: algorithm.outputSize)
        var len = 0
        let ok = key.withUnsafeBufferPointer { kp in
            data.withUnsafeBufferPointer { dp in
                out.withUnsafeMutableBufferPointer { op in
                    applinks_hmac(ctx, kp.baseAddress, kp.count, dp.baseAddress, dp.count, op.baseAddress, &len, op.count)
                }
            }
        }
        precondition(ok == 1 && len == out.count, "HMAC failed inside OpenSSL: \(CryptoError("EVP_MAC"))")
        let kept = idle { pool in
            guard pool.count < maxIdle else { return false }
            pool.append(Context(pointer: ctx))
            return true
        }
        if !kept { EVP_MAC_CTX_free(ctx) }
        return out
    }
}

/// Comparison whose time does not depend on where the inputs differ.
public enum ConstantTime {
    public static func equals(_ a: some DataProtocol, _ b: some DataProtocol) -> Bool {
        bytesEqual(Array(a), Array(b))
    }

    /// Compares the UTF-8 of two strings, such as an expected and a given signature, without copying them.
    public static func equals(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in x.count == y.count && (x.isEmpty || CRYPTO_memcmp(x.baseAddress, y.baseAddress, x.count) == 0) }
        }
    }

    public static func bytesEqual(_ x: [UInt8], _ y: [UInt8]) -> Bool {
        guard x.count == y.count else { return false }
        if x.isEmpty { return true }
        return x.withUnsafeBytes { xp in y.withUnsafeBytes { yp in CRYPTO_memcmp(xp.baseAddress, yp.baseAddress, x.count) == 0 } }
    }
}

/// Cryptographically secure random bytes from OpenSSL's DRBG.
public enum SecureRandom {
    public static func bytes(_ count: Int) -> Data {
        var out = [UInt8](repeating: 0, count: count)
        if count > 0 {
            let ok = RAND_bytes(&out, Int32(count))
            precondition(ok == 1, "RAND_bytes failed: the system has no entropy source")
        }
        return Data(out)
    }

    /// A URL-safe token of `bits` random bits, base64url without padding.
    public static func token(bits: Int = 256) -> String {
        bytes(bits / 8).base64URLEncodedString()
    }
}

extension Data {
    /// Base64url without padding (RFC 4648 §5), written byte by byte: tokens and their hashes are made on every
    /// OAuth request, where three string replacements over the base64 text cost more than the hash.
    public func base64URLEncodedString() -> String {
        let alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        return withUnsafeBytes { (input: UnsafeRawBufferPointer) -> String in
            let count = (input.count * 4 + 2) / 3
            return String(unsafeUninitializedCapacity: count) { out in
                let table = alphabet.utf8Start
                var o = 0, i = 0
                while i + 2 < input.count {
                    let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
                    out[o] = table[Int(n >> 18 & 63)]
                    out[o + 1] = table[Int(n >> 12 & 63)]
                    out[o + 2] = table[Int(n >> 6 & 63)]
                    out[o + 3] = table[Int(n & 63)]
                    o += 4
                    i += 3
                }
                let rest = input.count - i
                if rest > 0 {
                    let n = UInt32(input[i]) << 16 | (rest == 2 ? UInt32(input[i + 1]) << 8 : 0)
                    out[o] = table[Int(n >> 18 & 63)]
                    out[o + 1] = table[Int(n >> 12 & 63)]
                    o += 2
                    if rest == 2 {
                        out[o] = table[Int(n >> 6 & 63)]
                        o += 1
                    }
                }
                return o
            }
        }
    }

    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(count * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public init?(hexString: String) {
        guard hexString.count % 2 == 0 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(hexString.count / 2)
        var index = hexString.startIndex
        while index < hexString.endIndex {
            let next = hexString.index(index, offsetBy: 2)
            guard let b = UInt8(hexString[index..<next], radix: 16) else { return nil }
            bytes.append(b)
            index = next
        }
        self.init(bytes)
    }
}
