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
        headers.first { Self.sameHeaderName($0.0, name) }?.1
    }

    /// Header names compare case-insensitively, in ASCII; Foundation's caseInsensitiveCompare bridges to
    /// NSString on Linux and costs microseconds on every lookup.
    static func sameHeaderName(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        return zip(a.utf8, b.utf8).allSatisfy { x, y in x == y || (x | 0x20 == y | 0x20 && (x | 0x20) >= 0x61 && (x | 0x20) <= 0x7A) }
    }

    /// The body takes part in the signature only as a single-part form (§3.4.1.3.1).
    public var hasFormBody: Bool {
        guard !body.isEmpty, let type = header("Content-Type") else { return false }
        return type.lowercased().split(separator: ";").first?.trimmingCharacters(in: .whitespaces) == "application/x-www-form-urlencoded"
    }

    /// The URL's parts, split once: scheme, host, port, path, query. Byte-level, because this runs for every
    /// request a provider verifies.
    struct URLParts {
        var scheme: String
        var host: String
        var port: Int?
        var path: String
        var query: String
    }

    static func split(_ url: String) -> URLParts? {
        let b = Array(url.utf8)
        guard let colon = b.firstIndex(of: UInt8(ascii: ":")), colon > 0, colon + 2 < b.count,
            b[colon + 1] == UInt8(ascii: "/"), b[colon + 2] == UInt8(ascii: "/")
        else { return nil }
        let scheme = String(decoding: b[0..<colon], as: UTF8.self).lowercased()
        var i = colon + 3
        let authorityStart = i
        while i < b.count && b[i] != UInt8(ascii: "/") && b[i] != UInt8(ascii: "?") && b[i] != UInt8(ascii: "#") { i += 1 }
        var authority = b[authorityStart..<i]
        if let at = authority.lastIndex(of: UInt8(ascii: "@")) { authority = authority[(at + 1)...] }  // userinfo is not signed
        var host = authority
        var port: Int?
        // An IPv6 literal's colons are inside brackets; a port follows the closing bracket.
        let hostEnd: Int
        if authority.first == UInt8(ascii: "["), let close = authority.firstIndex(of: UInt8(ascii: "]")) {
            hostEnd = close + 1
        } else {
            hostEnd = authority.startIndex
        }
        if let c = authority[hostEnd...].lastIndex(of: UInt8(ascii: ":")) {
            host = authority[..<c]
            guard let p = Int(String(decoding: authority[(c + 1)...], as: UTF8.self)), (0...65535).contains(p) else { return nil }
            port = p
        }
        guard !host.isEmpty else { return nil }
        let pathStart = i
        while i < b.count && b[i] != UInt8(ascii: "?") && b[i] != UInt8(ascii: "#") { i += 1 }
        let path = String(decoding: b[pathStart..<i], as: UTF8.self)
        var query = ""
        if i < b.count && b[i] == UInt8(ascii: "?") {
            let q = i + 1
            i = q
            while i < b.count && b[i] != UInt8(ascii: "#") { i += 1 }
            query = String(decoding: b[q..<i], as: UTF8.self)
        }
        return URLParts(scheme: scheme, host: String(decoding: host, as: UTF8.self).lowercased(), port: port, path: path, query: query)
    }

    var query: String { Self.split(url)?.query ?? "" }

    /// The base string URI (§3.4.1.2): scheme and host in lower case, the default port dropped, no query.
    public func baseStringURI() throws -> String {
        guard let p = Self.split(url), ["http", "https"].contains(p.scheme) else {
            throw OAuth1Problem(.parameterRejected, "'\(url)' is not an absolute http(s) URL")
        }
        var authority = p.host
        if let port = p.port, !(p.scheme == "http" && port == 80) && !(p.scheme == "https" && port == 443) { authority += ":\(port)" }
        return "\(p.scheme)://\(authority)\(p.path.isEmpty ? "/" : p.path)"
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
        let all = Array(header.utf8)
        var i = 0
        while i < all.count && all[i] == UInt8(ascii: " ") { i += 1 }
        guard all.count >= i + 6, String(decoding: all[i..<(i + 6)], as: UTF8.self).lowercased() == "oauth " else {
            throw OAuth1Problem(.parameterAbsent, "the Authorization header is not OAuth")
        }
        i += 6
        let space = UInt8(ascii: " "), comma = UInt8(ascii: ","), tab = UInt8(ascii: "\t"), quote = UInt8(ascii: "\""),
            backslash = UInt8(ascii: "\\")
        var realm: String?
        var params: [(String, String)] = []
        func skip() { while i < all.count && (all[i] == space || all[i] == comma || all[i] == tab) { i += 1 } }
        skip()
        while i < all.count {
            let nameStart = i
            while i < all.count && all[i] != UInt8(ascii: "=") && all[i] != comma { i += 1 }
            var nameEnd = i
            while nameEnd > nameStart && all[nameEnd - 1] == space { nameEnd -= 1 }
            let name = all[nameStart..<nameEnd]
            guard i + 1 < all.count, all[i] == UInt8(ascii: "="), all[i + 1] == quote, !name.isEmpty else {
                throw OAuth1Problem(
                    .parameterRejected,
                    "malformed Authorization parameter '\(String(decoding: name, as: UTF8.self))': expected name=\"value\"")
            }
            i += 2
            var value: [UInt8] = []
            var closed = false
            while i < all.count {
                if all[i] == backslash && i + 1 < all.count { value.append(all[i + 1]); i += 2; continue }
                if all[i] == quote { closed = true; i += 1; break }
                value.append(all[i])
                i += 1
            }
            guard closed else {
                throw OAuth1Problem(.parameterRejected, "the value of '\(String(decoding: name, as: UTF8.self))' has no closing quote")
            }
            if name.elementsEqual("realm".utf8) {
                realm = String(decoding: value, as: UTF8.self)
            } else {
                params.append((OAuth1Encoding.decode(name, plusIsSpace: false), OAuth1Encoding.decode(value[...], plusIsSpace: false)))
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
