import Foundation

/// `Authorization: Basic …` (RFC 7617): base64 of `user-id:password`, split at the first colon.
///
/// The admin API reads an administrator's name and password from it, and the OAuth 2.0 endpoints read a
/// client's id and secret (which RFC 6749 §2.3.1 form-encodes before base64). Bytes that are not UTF-8 are
/// refused rather than repaired, so that two different headers never name the same user.
public struct BasicCredentials: Sendable, Hashable {
    public var user: String
    public var password: String

    public init(user: String, password: String) {
        self.user = user
        self.password = password
    }

    /// Whether a header uses the Basic scheme, in any case.
    public static func isBasic(_ header: String) -> Bool {
        header.utf8.count > 6 && header.prefix(6).lowercased() == "basic "
    }

    /// The credentials of a `Basic` header; nil for another scheme, base64 that does not decode, bytes that are
    /// not UTF-8, or no colon.
    public init?(header: String) {
        guard Self.isBasic(header) else { return nil }
        var encoded = header.dropFirst(6)
        while encoded.first == " " || encoded.first == "\t" { encoded = encoded.dropFirst() }
        while encoded.last == " " || encoded.last == "\t" { encoded = encoded.dropLast() }
        // The colon is found among bytes, not Characters: a combining mark after it would fuse the two into one
        // Character, and the user would run on to a later colon.
        guard let raw = Data(base64Encoded: String(encoded)), String(validating: raw, as: UTF8.self) != nil,
            let colon = raw.firstIndex(of: UInt8(ascii: ":"))
        else { return nil }
        self.init(
            user: String(decoding: raw[..<colon], as: UTF8.self),
            password: String(decoding: raw[raw.index(after: colon)...], as: UTF8.self))
    }

    /// The header value that carries these credentials.
    public var header: String { "Basic " + Data("\(user):\(password)".utf8).base64EncodedString() }
}
