import AppLinksCrypto
import Foundation

/// The signature methods of RFC 5849 §3.4, plus the SHA-256 variants that current providers accept.
public enum OAuth1SignatureMethod: String, Sendable, CaseIterable, Codable {
    case hmacSHA1 = "HMAC-SHA1"
    case hmacSHA256 = "HMAC-SHA256"
    case rsaSHA1 = "RSA-SHA1"
    case rsaSHA256 = "RSA-SHA256"
    case plaintext = "PLAINTEXT"

    /// The HMAC and PLAINTEXT key: the encoded consumer secret, '&', the encoded token secret (§3.4.2).
    public static func key(consumerSecret: String, tokenSecret: String?) -> String {
        OAuth1Encoding.encode(consumerSecret) + "&" + OAuth1Encoding.encode(tokenSecret ?? "")
    }
}

/// What signs or verifies: shared secrets for HMAC and PLAINTEXT, an RSA key for RSA.
public enum OAuth1Credential: Sendable {
    case secrets(consumer: String, token: String?)
    case rsa(RSAKey)
}

extension OAuth1SignatureMethod {
    public func sign(baseString: String, with credential: OAuth1Credential) throws -> String {
        switch (self, credential) {
        case let (.hmacSHA1, .secrets(c, t)):
            return HMAC.authenticate(.sha1, key: Data(Self.key(consumerSecret: c, tokenSecret: t).utf8), data: Data(baseString.utf8))
                .base64EncodedString()
        case let (.hmacSHA256, .secrets(c, t)):
            return HMAC.authenticate(.sha256, key: Data(Self.key(consumerSecret: c, tokenSecret: t).utf8), data: Data(baseString.utf8))
                .base64EncodedString()
        case let (.plaintext, .secrets(c, t)):
            return Self.key(consumerSecret: c, tokenSecret: t)
        case let (.rsaSHA1, .rsa(key)):
            return try key.sign(.sha1, Data(baseString.utf8)).base64EncodedString()
        case let (.rsaSHA256, .rsa(key)):
            return try key.sign(.sha256, Data(baseString.utf8)).base64EncodedString()
        default:
            throw OAuth1Problem(.signatureMethodRejected, "\(rawValue) needs \(isRSA ? "an RSA key" : "shared secrets")")
        }
    }

    /// Compares in constant time for the shared-secret methods.
    public func verify(baseString: String, signature: String, with credential: OAuth1Credential) -> Bool {
        verify(baseString: Array(baseString.utf8), signature: signature, with: credential)
    }

    /// The same over the base string's bytes, as the verifier builds them.
    func verify(baseString: [UInt8], signature: String, with credential: OAuth1Credential) -> Bool {
        switch (self, credential) {
        case (.rsaSHA1, .rsa(let key)), (.rsaSHA256, .rsa(let key)):
            guard let sig = Data(base64Encoded: signature) else { return false }
            return key.verify(self == .rsaSHA1 ? .sha1 : .sha256, baseString, signature: sig)
        case let (.hmacSHA1, .secrets(c, t)), let (.hmacSHA256, .secrets(c, t)):
            let key = Array(Self.key(consumerSecret: c, tokenSecret: t).utf8)
            let mac = HMAC.authenticateBytes(self == .hmacSHA1 ? .sha1 : .sha256, key: key, data: baseString)
            // The encoded forms are compared, so only the canonical base64 of the MAC verifies.
            return ConstantTime.equals(Data(mac).base64EncodedString(), signature)
        case let (.plaintext, .secrets(c, t)):
            return ConstantTime.equals(Self.key(consumerSecret: c, tokenSecret: t), signature)
        default:
            return false
        }
    }

    public var isRSA: Bool { self == .rsaSHA1 || self == .rsaSHA256 }
}
