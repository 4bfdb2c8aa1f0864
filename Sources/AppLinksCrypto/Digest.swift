import COpenSSL
import Foundation

/// Digest algorithms supported for hashing, HMAC and RSA signatures.
public enum DigestAlgorithm: Sendable, Hashable {
    case sha1, sha256

    var md: OpaquePointer {
        switch self {
        case .sha1: return EVP_sha1()
        case .sha256: return EVP_sha256()
        }
    }

    public var outputSize: Int { self == .sha1 ? 20 : 32 }
}

/// One-shot message digests.
///
/// ```swift
/// let hash = Digest.hash(.sha256, Data("abc".utf8))
/// ```
public enum Digest {
    public static func hash(_ algorithm: DigestAlgorithm, _ data: some DataProtocol) -> Data {
        let input = Array(data)
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var len: UInt32 = 0
        let ok = input.withUnsafeBytes { EVP_Digest($0.baseAddress, $0.count, &out, &len, algorithm.md, nil) }
        precondition(ok == 1, "EVP_Digest cannot fail for in-memory input")
        return Data(out.prefix(Int(len)))
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
    /// Fetched once: fetching per call is what makes OpenSSL 3's one-shot HMAC() slow.
    nonisolated(unsafe) private static let mac: OpaquePointer? = EVP_MAC_fetch(nil, "HMAC", nil)
    // EVP_MAC objects are reference-counted and safe to share between threads once fetched.

    public static func authenticate(_ algorithm: DigestAlgorithm, key: some DataProtocol, data: some DataProtocol) -> Data {
        let k = Array(key)
        let d = Array(data)
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var len = 0
        let ok = k.withUnsafeBufferPointer { kp in
            d.withUnsafeBufferPointer { dp in
                applinks_hmac(
                    mac, algorithm == .sha1 ? "SHA1" : "SHA256", kp.baseAddress, kp.count, dp.baseAddress, dp.count, &out, &len, out.count)
            }
        }
        precondition(ok == 1 && mac != nil, "HMAC failed inside OpenSSL: \(CryptoError("EVP_MAC"))")
        return Data(out.prefix(len))
    }
}

/// Comparison whose time does not depend on where the inputs differ.
public enum ConstantTime {
    public static func equals(_ a: some DataProtocol, _ b: some DataProtocol) -> Bool {
        let x = Array(a)
        let y = Array(b)
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
    public func base64URLEncodedString() -> String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public var hexString: String { map { String(format: "%02x", $0) }.joined() }

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
