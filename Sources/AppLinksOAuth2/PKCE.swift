import AppLinksCrypto
import Foundation

/// Proof Key for Code Exchange (RFC 7636), S256 only: `plain` gives no protection against a stolen code.
public enum PKCE {
    /// The `code_challenge` for a verifier: BASE64URL(SHA256(ASCII(verifier))), without padding.
    public static func challenge(verifier: String) -> String {
        Digest.sha256(Data(verifier.utf8)).base64URLEncodedString()
    }

    /// 43 to 128 characters of ALPHA / DIGIT / "-" / "." / "_" / "~" (§4.1); a challenge has the same shape.
    public static func isWellFormed(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard (43...128).contains(bytes.count) else { return false }
        return bytes.allSatisfy { b in
            (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x2E || b == 0x5F
                || b == 0x7E
        }
    }

    /// Whether `verifier` answers `challenge`, in constant time.
    public static func verify(verifier: String, challenge: String) -> Bool {
        isWellFormed(verifier) && ConstantTime.equals(Self.challenge(verifier: verifier), challenge)
    }
}
