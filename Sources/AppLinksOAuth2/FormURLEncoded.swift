import Foundation

/// `application/x-www-form-urlencoded`, as OAuth 2.0 requests carry it. A parameter sent twice is an error
/// (RFC 6749 §3.1 and §3.2): the caller sees it as a duplicate instead of getting one of the two silently.
public struct FormURLEncoded: Sendable {
    public private(set) var values: [String: String] = [:]
    public private(set) var duplicates: Set<String> = []

    public init(_ text: Substring) {
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.decode(parts[0])
            let value = parts.count > 1 ? Self.decode(parts[1]) : ""
            if values[name] != nil { duplicates.insert(name) } else { values[name] = value }
        }
    }

    public init(_ data: Data) { self.init(Substring(String(decoding: data, as: UTF8.self))) }

    public subscript(_ name: String) -> String? {
        guard let v = values[name], !v.isEmpty else { return nil }
        return v
    }

    /// `+` is a space, then percent-decoding; malformed escapes are kept as they are.
    public static func decode(_ s: Substring) -> String {
        let spaced = s.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    /// Encodes a value for a form body or a query string: everything but unreserved characters is escaped.
    public static func encode(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }
}
