import AppLinksCore
import AppLinksJSON
import AppLinksPluginKit
import Foundation

/// A link's tokens as stored: sealed with the host's key, and the facts `token-status` shows without them.
struct StoredTokens: Codable, Sendable {
    var access: String
    var refresh: String?
    var expiresAt: Double?
    var scopes: [String]
    var obtainedAt: Double
    var refreshedAt: Double?
    var refreshes: Int

    enum CodingKeys: String, CodingKey {
        case access = "access_sealed"
        case refresh = "refresh_sealed"
        case expiresAt = "expires_at"
        case scopes
        case obtainedAt = "obtained_at"
        case refreshedAt = "refreshed_at"
        case refreshes
    }
}

/// Keeps each link's tokens, sealed in the plugin's key-value store, and hands out an access token that is
/// valid for at least ``skew`` more seconds, refreshing it first when needed.
///
/// A refresh is single-flight: callers in this process share one refresh task per link, and processes share
/// the store, where a lease (compare-and-set with a time to live) lets one of them refresh while the others wait
/// for its result. Providers that rotate refresh tokens revoke the whole grant when a used one comes back, so
/// two refreshes at once would cost the authorization.
final class TokenKeeper: Sendable {
    static let skew: Double = 60
    private static let leaseTTL: Duration = .seconds(30)

    private let host: HostAPI
    private let refreshes = SingleFlight<String>()

    init(host: HostAPI) { self.host = host }

    struct Opened: Sendable {
        var stored: StoredTokens
        var access: String
        var refresh: String?
    }

    func load(_ linkID: String) async throws -> Opened? {
        guard let raw = try await host.kvGet("token/" + linkID), let stored = try? JSONCoding.decode(StoredTokens.self, from: raw) else {
            return nil
        }
        return Opened(stored: stored, access: try await unseal(stored.access), refresh: try await stored.refresh.asyncMap(unseal))
    }

    /// Stores what the provider issued. A refresh that brings no new refresh token keeps the old one: the
    /// provider does not rotate them (RFC 6749 §6).
    @discardableResult
    func save(_ linkID: String, _ issued: IssuedTokens, previous: Opened?, now: Double) async throws -> StoredTokens {
        let refresh = issued.refreshToken ?? previous?.refresh
        let stored = StoredTokens(
            access: try await seal(issued.accessToken), refresh: try await refresh.asyncMap(seal),
            expiresAt: issued.expiresIn.map { now + $0 }, scopes: issued.scopes ?? previous?.stored.scopes ?? [],
            obtainedAt: previous?.stored.obtainedAt ?? now, refreshedAt: previous == nil ? nil : now,
            refreshes: (previous?.stored.refreshes ?? 0) + (previous == nil ? 0 : 1))
        try await host.kvPut("token/" + linkID, try JSONCoding.encode(stored))
        return stored
    }

    func forget(_ linkID: String) async throws {
        try await host.kvDelete("token/" + linkID)
    }

    /// An access token valid for at least ``skew`` seconds. `rejected` is a token the resource server just
    /// refused: it is refreshed even if it has not expired, unless another caller already replaced it.
    func accessToken(_ linkID: String, client: TokenClient, rejected: String? = nil) async throws -> String {
        let now = Date().timeIntervalSince1970
        guard let current = try await load(linkID) else {
            // Why there is no token: an authorization that ended says how, rather than "not yet".
            if let last = try await LastError(host: host).last(linkID) { throw last }
            throw StatusFailure.needsAuthorization("This link has not been authorized at the provider yet.", link: client.link)
        }
        if current.access != rejected, Self.valid(current.stored, now: now) { return current.access }
        return try await refreshes.run(linkID) { [self] in
            try await refreshHoldingLease(linkID, client: client, stale: current.access)
        }
    }

    /// Refreshes now, whatever the access token's expiry, with `client`'s credentials: for checking new ones.
    func refreshNow(_ linkID: String, client: TokenClient) async throws -> String {
        guard let current = try await load(linkID) else {
            throw StatusFailure.needsAuthorization("This link has not been authorized at the provider yet.", link: client.link)
        }
        return try await refreshes.run(linkID) { [self] in
            try await refreshHoldingLease(linkID, client: client, stale: current.access)
        }
    }

    static func valid(_ stored: StoredTokens, now: Double) -> Bool {
        stored.expiresAt.map { $0 - skew > now } ?? true
    }

    private func refreshHoldingLease(_ linkID: String, client: TokenClient, stale: String) async throws -> String {
        let lease = "refreshing/" + linkID
        let me = Data(UUID().uuidString.utf8)
        let deadline = ContinuousClock.now + Self.leaseTTL
        while try await !host.kvCompareAndSet(lease, expected: nil, replacement: me, ttl: Self.leaseTTL) {
            // Another process is refreshing: its result is what this caller needs.
            guard ContinuousClock.now < deadline else {
                throw StatusFailure(
                    .networkError, .timeout, "Another process has been refreshing this link's token for \(Self.leaseTTL); try again.")
            }
            try await Task.sleep(for: .milliseconds(50))
            // The other refresh found the grant gone, and forgot the tokens: nothing to wait for.
            guard let now = try await load(linkID) else {
                throw StatusFailure.needsAuthorization("The provider no longer accepts this link's authorization.", link: client.link)
            }
            if now.access != stale, Self.valid(now.stored, now: Date().timeIntervalSince1970) { return now.access }
        }
        do {
            let result = try await refresh(linkID, client: client, stale: stale)
            _ = try? await host.kvCompareAndSet(lease, expected: me, replacement: nil)
            return result
        } catch {
            _ = try? await host.kvCompareAndSet(lease, expected: me, replacement: nil)
            throw error
        }
    }

    private func refresh(_ linkID: String, client: TokenClient, stale: String) async throws -> String {
        let now = Date().timeIntervalSince1970
        guard let current = try await load(linkID) else {
            throw StatusFailure.needsAuthorization("This link's authorization was removed.", link: client.link)
        }
        // Replaced while this caller waited for the lease.
        if current.access != stale, Self.valid(current.stored, now: now) { return current.access }
        guard let refreshToken = current.refresh else {
            throw StatusFailure.needsAuthorization(
                "The access token has expired and the provider gave no refresh token to renew it.", link: client.link)
        }
        do {
            let issued = try await client.refresh(refreshToken)
            try await save(linkID, issued, previous: current, now: now)
            try await host.audit(action: "oauth2-token-refreshed", linkID: linkID)
            return issued.accessToken
        } catch let failure as StatusFailure where failure.category == .accessError {
            // The grant is gone at the provider: keeping its tokens would only fail again.
            try await forget(linkID)
            try await LastError(host: host).record(linkID, failure)
            throw failure
        }
    }

    private func seal(_ text: String) async throws -> String {
        try await host.seal(Data(text.utf8)).base64EncodedString()
    }

    private func unseal(_ text: String) async throws -> String {
        guard let data = Data(base64Encoded: text) else { throw PluginError(code: "internal", message: "A stored token is damaged.") }
        return String(decoding: try await host.open(data), as: UTF8.self)
    }
}

extension Optional {
    fileprivate func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        switch self {
        case .some(let w): return try await transform(w)
        case .none: return nil
        }
    }
}

/// The last authorization failure of a link (a denied consent, a refused client), which its status shows until
/// an authorization succeeds.
struct LastError: Sendable {
    let host: HostAPI

    func record(_ linkID: String, _ failure: StatusFailure) async throws {
        let value: JSONValue = [
            "category": .string(failure.category.rawValue), "type": .string(failure.type.rawValue), "message": .string(failure.message),
        ]
        try await host.kvPut("error/" + linkID, try JSONCoding.encode(value))
    }

    func clear(_ linkID: String) async throws { try await host.kvDelete("error/" + linkID) }

    func last(_ linkID: String) async throws -> StatusFailure? {
        guard let raw = try await host.kvGet("error/" + linkID), let v = try? JSONValue.parse(raw),
            let category = v["category"]?.stringValue.flatMap(StatusCategory.init(rawValue:)),
            let type = v["type"]?.stringValue.flatMap(StatusErrorType.init(rawValue:)), let message = v["message"]?.stringValue
        else { return nil }
        return StatusFailure(category, type, message)
    }
}
