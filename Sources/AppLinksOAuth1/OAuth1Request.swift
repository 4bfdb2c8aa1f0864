import AppLinksCore
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
        headers.first { HTTPHeaderName.same($0.0, name) }?.1
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
        var url = url
        return url.withUTF8 { split(bytes: $0) }
    }

    private static func asciiLowercased(_ b: UnsafeBufferPointer<UInt8>.SubSequence) -> String {
        if !b.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) { return String(decoding: b, as: UTF8.self) }
        return String(decoding: b.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    private static func split(bytes b: UnsafeBufferPointer<UInt8>) -> URLParts? {
        guard let colon = b.firstIndex(of: UInt8(ascii: ":")), colon > 0, colon + 2 < b.count,
            b[colon + 1] == UInt8(ascii: "/"), b[colon + 2] == UInt8(ascii: "/")
        else { return nil }
        let scheme = asciiLowercased(b[0..<colon])
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
            let digits = authority[(c + 1)...]
            guard !digits.isEmpty, digits.count <= 5, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            let p = digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
            guard p <= 65535 else { return nil }
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
        return URLParts(scheme: scheme, host: asciiLowercased(host), port: port, path: path, query: query)
    }

    var query: String { Self.split(url)?.query ?? "" }

    /// The base string URI (§3.4.1.2): scheme and host in lower case, the default port dropped, no query.
    public func baseStringURI() throws -> String {
        try Self.baseStringURI(Self.split(url), url: url)
    }

    private static func baseStringURI(_ parts: URLParts?, url: String) throws -> String {
        guard let p = parts, p.scheme == "http" || p.scheme == "https" else {
            throw OAuth1Problem(.parameterRejected, "'\(url)' is not an absolute http(s) URL")
        }
        var port = ""
        if let n = p.port, !(p.scheme == "http" && n == 80) && !(p.scheme == "https" && n == 443) { port = ":" + String(n) }
        let path = p.path.isEmpty ? "/" : p.path
        // Reserved once: this runs for every request a provider verifies.
        var uri = ""
        uri.reserveCapacity(p.scheme.utf8.count + 3 + p.host.utf8.count + port.utf8.count + path.utf8.count)
        for part in [p.scheme, "://", p.host, port, path] { uri += part }
        return uri
    }

    /// Every parameter from the query, the form body and the `Authorization: OAuth` header, in that order.
    public func parameters() throws -> (all: [(String, String)], realm: String?) {
        try parameters(query: query)
    }

    private func parameters(query: String) throws -> (all: [(String, String)], realm: String?) {
        var all: [(String, String)] = []
        all.reserveCapacity(12)
        OAuth1Encoding.appendPairs(query, to: &all)
        if hasFormBody { OAuth1Encoding.appendPairs(String(decoding: body, as: UTF8.self), to: &all) }
        var realm: String?
        if let auth = header("Authorization"), OAuth1AuthorizationHeader.isOAuth(auth) {
            realm = try OAuth1AuthorizationHeader.parse(auth, into: &all)
        }
        return (all, realm)
    }

    /// What a verifier signs over, from one reading of the URL: the base string URI and every parameter.
    func signingInput() throws -> (uri: String, parameters: [(String, String)]) {
        let parts = Self.split(url)
        return (try Self.baseStringURI(parts, url: url), try parameters(query: parts?.query ?? "").all)
    }

    /// The signature base string (§3.4.1) over `parameters`, which must not include `oauth_signature`.
    public static func baseString(method: String, uri: String, parameters: [(String, String)]) -> String {
        String(decoding: baseStringBytes(method: method, uri: uri, parameters: parameters), as: UTF8.self)
    }

    /// The base string as bytes, built in one buffer: a provider verifies every request, and building it from
    /// intermediate strings costs more than the HMAC over it.
    static func baseStringBytes(method: String, uri: String, parameters: [(String, String)]) -> [UInt8] {
        // The header's `realm` never reaches `parameters`; one in the query or body is signed (§3.4.1.3.1).
        func isSigned(_ name: String) -> Bool { name != "oauth_signature" }
        // Every name and value encoded into one buffer; `spans` points into it.
        var spans: [(name: Range<Int>, value: Range<Int>)] = []
        spans.reserveCapacity(parameters.count)
        let worst = parameters.reduce(0) { $0 + 3 * ($1.0.utf8.count + $1.1.utf8.count) }
        let encoded = [UInt8](unsafeUninitializedCapacity: worst) { buf, count in
            func put(_ s: String) -> Range<Int> {
                let start = count
                var s = s
                count += s.withUTF8 { OAuth1Encoding.encode($0, into: UnsafeMutableBufferPointer(rebasing: buf[count...])) }
                return start..<count
            }
            for (name, value) in parameters where isSigned(name) { spans.append((put(name), put(value))) }
        }
        // Sorted by name, then value, comparing the encoded bytes (§3.4.1.3.2).
        encoded.withUnsafeBufferPointer { buf in
            func compare(_ a: Range<Int>, _ b: Range<Int>) -> Int {
                let common = min(a.count, b.count)
                let c = common == 0 ? 0 : Int(memcmp(buf.baseAddress! + a.lowerBound, buf.baseAddress! + b.lowerBound, common))
                return c != 0 ? c : a.count - b.count
            }
            spans.sort { x, y in
                let byName = compare(x.name, y.name)
                return byName != 0 ? byName < 0 : compare(x.value, y.value) < 0
            }
        }
        // The normalized parameters are encoded once more: of their bytes only '%', '=' and '&' are reserved,
        // and each grows to three bytes.
        var method = method, uri = uri
        let capacity = method.utf8.count + 2 + uri.utf8.count * 3 + encoded.count * 3 + spans.count * 6
        return [UInt8](unsafeUninitializedCapacity: capacity) { out, n in
            method.withUTF8 { m in for b in m { out[n] = b >= 0x61 && b <= 0x7A ? b - 0x20 : b; n += 1 } }
            out[n] = UInt8(ascii: "&")
            n += 1
            n += uri.withUTF8 { OAuth1Encoding.encode($0, into: UnsafeMutableBufferPointer(rebasing: out[n...])) }
            out[n] = UInt8(ascii: "&")
            n += 1
            func put3(_ a: UInt8, _ b: UInt8, _ c: UInt8) {
                out[n] = a
                out[n + 1] = b
                out[n + 2] = c
                n += 3
            }
            encoded.withUnsafeBufferPointer { enc in
                func reencode(_ range: Range<Int>) {
                    for b in enc[range] {
                        if b == UInt8(ascii: "%") {
                            put3(0x25, 0x32, 0x35)  // %25
                        } else {
                            out[n] = b
                            n += 1
                        }
                    }
                }
                for (i, span) in spans.enumerated() {
                    if i > 0 { put3(0x25, 0x32, 0x36) }  // %26, the encoded '&'
                    reencode(span.name)
                    put3(0x25, 0x33, 0x44)  // %3D, the encoded '='
                    reencode(span.value)
                }
            }
        }
    }

    /// The `oauth_body_hash` of a body that is not a form: base64 of its SHA-1.
    public var bodyHash: String { Digest.sha1(body).base64EncodedString() }
}

/// `Authorization: OAuth realm="…", oauth_consumer_key="…", …` (§3.5.1).
public enum OAuth1AuthorizationHeader {
    /// Reads `name="value"` pairs separated by commas. Values are quoted-strings (RFC 9110 §5.6.4): a
    /// backslash escapes the next character, so a realm may hold commas and quotes.
    public static func parse(_ header: String) throws -> (realm: String?, parameters: [(String, String)]) {
        var params: [(String, String)] = []
        let realm = try parse(header, into: &params)
        return (realm, params)
    }

    /// Appends the header's parameters to `params` and returns its realm.
    static func parse(_ header: String, into params: inout [(String, String)]) throws -> String? {
        var header = header
        return try header.withUTF8 { try parse(bytes: $0, into: &params) }
    }

    /// Whether the header's scheme is OAuth, in any case, after optional spaces.
    static func isOAuth(_ header: String) -> Bool {
        var header = header
        return header.withUTF8 { afterScheme($0) != nil }
    }

    /// Where the parameters start, after optional spaces and `OAuth ` in any case; nil for another scheme.
    private static func afterScheme(_ all: UnsafeBufferPointer<UInt8>) -> Int? {
        var i = 0
        while i < all.count && all[i] == UInt8(ascii: " ") { i += 1 }
        guard all.count >= i + 6 else { return nil }
        let lowered = (all[i] | 0x20, all[i + 1] | 0x20, all[i + 2] | 0x20, all[i + 3] | 0x20, all[i + 4] | 0x20, all[i + 5])
        return lowered == (UInt8(ascii: "o"), UInt8(ascii: "a"), UInt8(ascii: "u"), UInt8(ascii: "t"), UInt8(ascii: "h"), UInt8(ascii: " "))
            ? i + 6 : nil
    }

    private static func parse(bytes all: UnsafeBufferPointer<UInt8>, into params: inout [(String, String)]) throws -> String? {
        guard var i = afterScheme(all) else { throw OAuth1Problem(.parameterAbsent, "the Authorization header is not OAuth") }
        let space = UInt8(ascii: " "), comma = UInt8(ascii: ","), tab = UInt8(ascii: "\t"), quote = UInt8(ascii: "\""),
            backslash = UInt8(ascii: "\\")
        var realm: String?
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
            // Values rarely hold escapes: slice them straight out of the header, unescaping only when needed.
            let valueStart = i
            var escaped = false
            var closed = false
            while i < all.count {
                if all[i] == backslash && i + 1 < all.count { escaped = true; i += 2; continue }
                if all[i] == quote { closed = true; break }
                i += 1
            }
            guard closed else {
                throw OAuth1Problem(.parameterRejected, "the value of '\(String(decoding: name, as: UTF8.self))' has no closing quote")
            }
            var raw = all[valueStart..<i]
            var unescaped: [UInt8] = []
            if escaped {
                var j = raw.startIndex
                while j < raw.endIndex {
                    if raw[j] == backslash && j + 1 < raw.endIndex { j += 1 }
                    unescaped.append(raw[j])
                    j += 1
                }
            }
            i += 1
            let value: String
            if name.count == 5, memcmp(all.baseAddress! + nameStart, "realm", 5) == 0 {
                realm = escaped ? String(decoding: unescaped, as: UTF8.self) : String(decoding: raw, as: UTF8.self)
            } else {
                if escaped {
                    value = unescaped.withUnsafeBufferPointer { OAuth1Encoding.decode($0[...], plusIsSpace: false) }
                } else {
                    raw = all[valueStart..<(i - 1)]
                    value = OAuth1Encoding.decode(raw, plusIsSpace: false)
                }
                params.append((OAuth1Encoding.decodeName(name), value))
            }
            skip()
        }
        return realm
    }

    public static func serialize(realm: String?, parameters: [(String, String)]) -> String {
        var parts: [String] = []
        if let realm {
            // A quoted-string: escape quotes and backslashes; line breaks can never be part of a header.
            let quoted = TextEscaping.replacing(realm) {
                switch $0 {
                case "\r", "\n": ""
                case "\\", "\"": "\\" + String($0)
                default: nil
                }
            }
            parts.append("realm=\"\(quoted)\"")
        }
        for (k, v) in parameters { parts.append("\(OAuth1Encoding.encode(k))=\"\(OAuth1Encoding.encode(v))\"") }
        return "OAuth " + parts.joined(separator: ", ")
    }
}
