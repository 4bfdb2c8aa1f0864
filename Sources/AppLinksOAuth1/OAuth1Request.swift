import AppLinksCrypto
import Foundation

/// An HTTP request as OAuth 1.0 sees it: method, the URL the client used (a provider behind a proxy passes its
/// public base URL here, not the address the request arrived on), headers and body.
public struct OAuth1Request: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: Data

    public init(method: String, url: String, headers: [(String, String)] = [], body: Data = Data()) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
    }

    /// The body takes part in the signature only as a single-part form (§3.4.1.3.1).
    public var hasFormBody: Bool {
        guard !body.isEmpty, let type = header("Content-Type") else { return false }
        return type.lowercased().split(separator: ";").first?.trimmingCharacters(in: .whitespaces) == "application/x-www-form-urlencoded"
    }

    var query: String { URLComponents(string: url)?.percentEncodedQuery ?? "" }

    /// The base string URI (§3.4.1.2): scheme and host in lower case, the default port dropped, no query.
    public func baseStringURI() throws -> String {
        guard let c = URLComponents(string: url), let scheme = c.scheme?.lowercased(), let host = c.percentEncodedHost?.lowercased(),
            !host.isEmpty
        else {
            throw OAuth1Problem(.parameterRejected, "'\(url)' is not an absolute URL")
        }
        var authority = host
        if let port = c.port, !(scheme == "http" && port == 80) && !(scheme == "https" && port == 443) { authority += ":\(port)" }
        let path = c.percentEncodedPath.isEmpty ? "/" : c.percentEncodedPath
        return "\(scheme)://\(authority)\(path)"
    }

    /// Every parameter from the query, the form body and the `Authorization: OAuth` header, in that order.
    public func parameters() throws -> (all: [(String, String)], realm: String?) {
        var all = OAuth1Encoding.pairs(query)
        if hasFormBody { all += OAuth1Encoding.pairs(String(decoding: body, as: UTF8.self)) }
        var realm: String?
        if let auth = header("Authorization"), auth.lowercased().hasPrefix("oauth ") {
            let parsed = try OAuth1AuthorizationHeader.parse(auth)
            realm = parsed.realm
            all += parsed.parameters
        }
        return (all, realm)
    }

    /// The signature base string (§3.4.1) over `parameters`, which must not include `oauth_signature`.
    public static func baseString(method: String, uri: String, parameters: [(String, String)]) -> String {
        var encoded: [(name: String, value: String)] = []
        for (name, value) in parameters where name != "oauth_signature" && name != "realm" {
            encoded.append((OAuth1Encoding.encode(name), OAuth1Encoding.encode(value)))
        }
        // Sorted by name, then value, comparing the encoded bytes (§3.4.1.3.2).
        encoded.sort { a, b in
            a.name != b.name ? a.name.utf8.lexicographicallyPrecedes(b.name.utf8) : a.value.utf8.lexicographicallyPrecedes(b.value.utf8)
        }
        let normalized = encoded.map { $0.name + "=" + $0.value }.joined(separator: "&")
        return method.uppercased() + "&" + OAuth1Encoding.encode(uri) + "&" + OAuth1Encoding.encode(normalized)
    }

    /// The `oauth_body_hash` of a body that is not a form: base64 of its SHA-1.
    public var bodyHash: String { Digest.sha1(body).base64EncodedString() }
}

/// `Authorization: OAuth realm="…", oauth_consumer_key="…", …` (§3.5.1).
public enum OAuth1AuthorizationHeader {
    /// Reads `name="value"` pairs separated by commas. Values are quoted-strings (RFC 9110 §5.6.4): a
    /// backslash escapes the next character, so a realm may hold commas and quotes.
    public static func parse(_ header: String) throws -> (realm: String?, parameters: [(String, String)]) {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard trimmed.lowercased().hasPrefix("oauth ") else {
            throw OAuth1Problem(.parameterAbsent, "the Authorization header is not OAuth")
        }
        let chars = Array(trimmed.dropFirst(6))
        var i = 0
        var realm: String?
        var params: [(String, String)] = []
        func skip() { while i < chars.count && (chars[i] == " " || chars[i] == "," || chars[i] == "\t") { i += 1 } }
        skip()
        while i < chars.count {
            var name = ""
            while i < chars.count && chars[i] != "=" && chars[i] != "," { name.append(chars[i]); i += 1 }
            name = name.trimmingCharacters(in: .whitespaces)
            guard i < chars.count, chars[i] == "=", i + 1 < chars.count, chars[i + 1] == "\"", !name.isEmpty else {
                throw OAuth1Problem(.parameterRejected, "malformed Authorization parameter '\(name)': expected name=\"value\"")
            }
            i += 2
            var value = ""
            var closed = false
            while i < chars.count {
                if chars[i] == "\\" && i + 1 < chars.count { value.append(chars[i + 1]); i += 2; continue }
                if chars[i] == "\"" { closed = true; i += 1; break }
                value.append(chars[i])
                i += 1
            }
            guard closed else { throw OAuth1Problem(.parameterRejected, "the value of '\(name)' has no closing quote") }
            if name == "realm" {
                realm = value
            } else {
                params.append((OAuth1Encoding.decode(name, plusIsSpace: false), OAuth1Encoding.decode(value, plusIsSpace: false)))
            }
            skip()
        }
        return (realm, params)
    }

    public static func serialize(realm: String?, parameters: [(String, String)]) -> String {
        var parts: [String] = []
        if let realm {
            // A quoted-string: escape quotes and backslashes; line breaks can never be part of a header.
            let quoted = String(String.UnicodeScalarView(realm.unicodeScalars.filter { $0 != "\r" && $0 != "\n" })).replacingOccurrences(
                of: "\\", with: "\\\\"
            )
            .replacingOccurrences(of: "\"", with: "\\\"")
            parts.append("realm=\"\(quoted)\"")
        }
        for (k, v) in parameters { parts.append("\(OAuth1Encoding.encode(k))=\"\(OAuth1Encoding.encode(v))\"") }
        return "OAuth " + parts.joined(separator: ", ")
    }
}
