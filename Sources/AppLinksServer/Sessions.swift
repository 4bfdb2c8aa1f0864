import AppLinksCore
import AppLinksCrypto
import AppLinksHost
import Foundation
import HTTPTypes
import Hummingbird

/// Browser sessions, kept in the store (so every node of a cluster sees them) under the SHA-256 of the
/// cookie's value: a leaked database holds no usable session.
struct Sessions: Sendable {
    struct Record: Codable, Sendable {
        var user: String
        var admin: Bool
        /// The synchronizer token every form of this session carries.
        var csrf: String
        var created: Date
    }

    let deployment: Deployment
    static let cookie = "applinks_session"
    static let loginCSRFCookie = "applinks_login_csrf"
    static let namespace = "host.sessions"
    static let lifetime: Duration = .seconds(12 * 3600)

    var secure: Bool { deployment.config.baseURL.lowercased().hasPrefix("https://") }

    private static func key(_ id: String) -> String { Digest.sha256(Data(id.utf8)).hexString }

    func create(user: String, admin: Bool) async throws -> (String, Record) {
        let id = SecureRandom.token(bits: 256)
        let record = Record(user: user, admin: admin, csrf: SecureRandom.token(bits: 256), created: Date())
        try await deployment.store.put(
            namespace: Self.namespace, key: Self.key(id), value: try JSONCoding.encode(record), ttl: Self.lifetime)
        return (id, record)
    }

    func find(_ request: Request) async throws -> (id: String, record: Record)? {
        guard let id = Cookies.value(Self.cookie, in: request), !id.isEmpty,
            let data = try await deployment.store.value(namespace: Self.namespace, key: Self.key(id)),
            let record = try? JSONCoding.decode(Record.self, from: data),
            try await deployment.store.user(name: record.user) != nil
        else { return nil }
        return (id, record)
    }

    func end(_ id: String) async throws {
        try await deployment.store.delete(namespace: Self.namespace, key: Self.key(id))
    }

    func setCookie(_ name: String, _ value: String, maxAge: Int? = nil) -> String {
        var parts = ["\(name)=\(value)", "Path=/", "HttpOnly", "SameSite=Lax"]
        if let maxAge { parts.append("Max-Age=\(maxAge)") }
        if secure { parts.append("Secure") }
        return parts.joined(separator: "; ")
    }
}

enum Cookies {
    static func value(_ name: String, in request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let kv = pair.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if kv.count == 2, kv[0] == name { return String(kv[1]) }
            }
        }
        return nil
    }
}

/// `application/x-www-form-urlencoded` bodies.
enum FormBody {
    static func parse(_ body: ByteBuffer) -> [String: String] {
        var out: [String: String] = [:]
        for pair in String(decoding: body.readableBytesView, as: UTF8.self).split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ") }
            guard let k = kv.first?.removingPercentEncoding else { continue }
            out[k] = kv.count > 1 ? (kv[1].removingPercentEncoding ?? "") : ""
        }
        return out
    }
}

/// Failed logins counted per user and per address; past the limit, logins answer 429 for a while.
struct LoginThrottle: Sendable {
    let deployment: Deployment
    static let namespace = "host.login-failures"
    static let limit = 5
    static let window: Duration = .seconds(300)

    private func count(_ key: String) async throws -> Int {
        try await deployment.store.value(namespace: Self.namespace, key: key).flatMap { Int(String(decoding: $0, as: UTF8.self)) } ?? 0
    }

    func blocked(user: String, address: String?) async throws -> Bool {
        if try await count("user:\(user.lowercased())") >= Self.limit { return true }
        if let address, try await count("addr:\(address)") >= Self.limit * 4 { return true }
        return false
    }

    func failed(user: String, address: String?) async throws {
        for key in ["user:\(user.lowercased())"] + (address.map { ["addr:\($0)"] } ?? []) {
            let n = try await count(key) + 1
            try await deployment.store.put(namespace: Self.namespace, key: key, value: Data(String(n).utf8), ttl: Self.window)
        }
    }

    func succeeded(user: String) async throws {
        try await deployment.store.delete(namespace: Self.namespace, key: "user:\(user.lowercased())")
    }
}

/// Where `?next=` may send a browser after login: a path on this host, never another site.
enum SafeRedirect {
    static func path(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\"), !next.contains("\r"), !next.contains("\n"),
            let url = URL(string: next), url.scheme == nil, url.host == nil
        else { return "/" }
        return next
    }
}
