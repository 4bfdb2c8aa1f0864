import AppLinksCore
import AppLinksCrypto
import AppLinksHTTPInput
import AppLinksHost
import AppLinksJSON
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

        /// Whether a form or header sent this session's CSRF token, compared in constant time.
        func sentCSRF(_ sent: String?) -> Bool {
            guard let sent else { return false }
            return ConstantTime.equals(Data(sent.utf8), Data(csrf.utf8))
        }
    }

    let deployment: Deployment
    /// The session cookie's name. Cookies ignore the port, so two hosts on one machine would share a fixed name
    /// and log each other's users out: under http the name carries this instance's id; under https it is
    /// `__Host-` prefixed, which binds it to this exact origin.
    var cookie: String { Self.name("applinks_session", deployment: deployment) }
    var loginCSRFCookie: String { Self.name("applinks_login_csrf", deployment: deployment) }

    static func name(_ base: String, deployment: Deployment) -> String {
        deployment.config.baseURL.lowercased().hasPrefix("https://")
            ? "__Host-" + base : base + "_" + deployment.identity.applicationID.prefix(8)
    }
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

    /// The request's session, if it is live: its user still exists, and has not changed password (or been
    /// deleted and added again) since the session began. The admin flag is the user's as it is now, so a
    /// demoted administrator loses the admin pages at their next request.
    func find(_ request: Request) async throws -> (id: String, record: Record)? {
        guard let id = Cookies.value(cookie, in: request), !id.isEmpty,
            let data = try await deployment.store.value(namespace: Self.namespace, key: Self.key(id)),
            var record = try? JSONCoding.decode(Record.self, from: data),
            let user = try await deployment.store.user(name: record.user)
        else { return nil }
        if let ended = try await deployment.sessionsEnded(user: user.name), record.created <= ended { return nil }
        record.admin = user.admin
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
    /// Split on scalars, not Characters: a combining mark after `;` or `=` must not hide the separator.
    static func value(_ name: String, in request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.unicodeScalars.split(separator: ";") {
                let kv = String(String.UnicodeScalarView(pair)).trimmingCharacters(in: .whitespaces).unicodeScalars
                    .split(separator: "=", maxSplits: 1)
                if kv.count == 2, String(String.UnicodeScalarView(kv[0])) == name {
                    return String(String.UnicodeScalarView(kv[1]))
                }
            }
        }
        return nil
    }
}

/// `application/x-www-form-urlencoded` bodies of the web page's forms.
enum FormBody {
    static func parse(_ body: ByteBuffer) -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in pairs(body) { out[k] = v }
        return out
    }

    /// Every name and value in order, repeated names included (a group of checkboxes).
    static func pairs(_ body: ByteBuffer) -> [(String, String)] {
        FormURLEncoded.pairs(body.readableBytesView).map { ($0.name, $0.value) }
    }
}

/// Failed logins counted per user and per address; past the limit, logins answer 429 for a while.
///
/// An attempt takes its slot before the password is checked, atomically (compare-and-set), so that a burst of
/// parallel attempts cannot all pass the check while the first ones are still being verified. A successful
/// login gives its slots back.
struct LoginThrottle: Sendable {
    let deployment: Deployment
    static let namespace = "host.login-failures"
    static let limit = 5
    static let window: Duration = .seconds(300)

    /// The throttle's keys for one attempt, with their limits. IPv6 clients are keyed by their /64, which one
    /// subscriber usually holds whole.
    private func keys(user: String, address: String?) -> [(key: String, limit: Int)] {
        [("user:\(user.lowercased())", Self.limit)] + (address.map { [("addr:\(AddressRange.clientKey($0))", Self.limit * 4)] } ?? [])
    }

    /// Takes a slot for an attempt; false (and nothing taken) when the user or the address is over its limit.
    func reserve(user: String, address: String?) async throws -> Bool {
        var taken: [String] = []
        for (key, limit) in keys(user: user, address: address) {
            guard try await add(1, to: key, limit: limit) else {
                for key in taken { _ = try await add(-1, to: key, limit: .max) }
                return false
            }
            taken.append(key)
        }
        return true
    }

    /// After a successful login: the user's failures are forgotten, and the address's slot is given back.
    func succeeded(user: String, address: String?) async throws {
        for (key, _) in keys(user: user, address: address) {
            if key.hasPrefix("user:") {
                try await deployment.store.delete(namespace: Self.namespace, key: key)
            } else {
                _ = try await add(-1, to: key, limit: .max)
            }
        }
    }

    /// Adds `delta` to a counter unless it stands at `limit` already; compare-and-set, retried on a race.
    private func add(_ delta: Int, to key: String, limit: Int) async throws -> Bool {
        let store = deployment.store
        for _ in 0..<100 {
            let old = try await store.value(namespace: Self.namespace, key: key)
            let n = old.flatMap { Int(String(decoding: $0, as: UTF8.self)) } ?? 0
            if delta > 0 && n >= limit { return false }
            let next = max(0, n + delta)
            let replacement = next == 0 ? nil : Data(String(next).utf8)
            if try await store.compareAndSet(
                namespace: Self.namespace, key: key, expected: old, replacement: replacement, ttl: Self.window)
            {
                return true
            }
        }
        // Contended past reason: count it as over the limit rather than let the attempt through unchecked.
        return false
    }
}
