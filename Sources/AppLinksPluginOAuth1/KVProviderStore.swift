import AppLinksCore
import AppLinksCrypto
import AppLinksJSON
import AppLinksOAuth1
import AppLinksPluginKit
import Foundation

/// A link type's OAuth 1.0 provider state in the host's key-value store, under `oauth1/`: every node of a
/// cluster sees the same consumers, nonces and tokens.
public struct KVProviderStore: OAuth1ProviderStore {
    let host: HostAPI

    public init(host: HostAPI) { self.host = host }

    private func load<T: Decodable>(_ type: T.Type, _ key: String) async throws -> T? {
        try await host.kvGet(key).map { try JSONCoding.decode(type, from: $0) }
    }

    public func consumer(key: String) async throws -> OAuth1ConsumerRecord? {
        try await load(OAuth1ConsumerRecord.self, "oauth1/consumer/\(key)")
    }

    public func saveConsumer(_ c: OAuth1ConsumerRecord) async throws {
        try await host.kvPut("oauth1/consumer/\(c.key)", try JSONCoding.encode(c))
    }

    public func deleteConsumer(key: String) async throws { try await host.kvDelete("oauth1/consumer/\(key)") }

    public func saveRequestToken(_ token: OAuth1RequestToken) async throws {
        try await host.kvPut("oauth1/rt/\(token.token)", try JSONCoding.encode(token), ttl: .seconds(900))
    }

    public func requestToken(_ token: String) async throws -> OAuth1RequestToken? {
        try await load(OAuth1RequestToken.self, "oauth1/rt/\(token)")
    }

    public func takeRequestToken(_ token: String) async throws -> OAuth1RequestToken? {
        guard let raw = try await host.kvGet("oauth1/rt/\(token)") else { return nil }
        var t = try JSONCoding.decode(OAuth1RequestToken.self, from: raw)
        guard !t.used else { return nil }
        t.used = true
        // Compare-and-set: of two concurrent exchanges, one swaps and the other finds the value changed.
        return try await host.kvCompareAndSet(
            "oauth1/rt/\(token)", expected: raw, replacement: try JSONCoding.encode(t), ttl: .seconds(900)) ? t : nil
    }

    public func saveAccessToken(_ token: OAuth1AccessToken) async throws {
        let id = Self.grantID(token.sessionHandle)
        if try await host.kvGet("oauth1/revoked/\(id)") != nil {
            throw OAuth1Problem(.tokenRejected, "the user revoked this authorization; authorize again")
        }
        let key = "oauth1/grant/\(token.consumerKey)/\(id)"
        let since = try await load(OAuth1Grant.self, key)?.createdAt ?? Date()
        let grant = OAuth1Grant(id: id, consumerKey: token.consumerKey, user: token.user, createdAt: since, token: token.token)
        try await host.kvPut("oauth1/at/\(token.token)", try JSONCoding.encode(token))
        try await host.kvPut(key, try JSONCoding.encode(grant), ttl: Self.ttl(until: token.authorizationExpiresAt))
        // A revocation that ran between the check above and these writes left its mark: undo them.
        if try await host.kvGet("oauth1/revoked/\(id)") != nil {
            try await host.kvDelete("oauth1/at/\(token.token)")
            try await host.kvDelete(key)
            throw OAuth1Problem(.tokenRejected, "the user revoked this authorization; authorize again")
        }
    }

    /// The approvals users gave `consumerKey` (one per session, however often its token was renewed).
    public func grants(consumerKey: String) async throws -> [OAuth1Grant] {
        var out: [OAuth1Grant] = []
        for key in try await host.kvList(prefix: "oauth1/grant/\(consumerKey)/") {
            if let g = try await load(OAuth1Grant.self, key) { out.append(g) }
        }
        return out.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    /// Ends an approval: its access token stops working at once, and its session cannot be renewed.
    public func revokeGrant(_ grant: OAuth1Grant) async throws {
        // The mark outlives any token of the session, which lives at most as long as the authorization.
        try await host.kvPut("oauth1/revoked/\(grant.id)", Data(), ttl: .seconds(366 * 86_400))
        try await host.kvDelete("oauth1/at/\(grant.token)")
        try await host.kvDelete("oauth1/grant/\(grant.consumerKey)/\(grant.id)")
    }

    /// A grant's public id: the session handle renews tokens, so it is never shown itself.
    static func grantID(_ sessionHandle: String) -> String {
        Digest.sha256(Data(sessionHandle.utf8)).prefix(12).map { String(format: "%02x", $0) }.joined()
    }

    static func ttl(until date: Date) -> Duration { .seconds(max(1, Int(date.timeIntervalSinceNow.rounded(.up)))) }

    public func accessToken(_ token: String) async throws -> OAuth1AccessToken? {
        try await load(OAuth1AccessToken.self, "oauth1/at/\(token)")
    }

    public func deleteAccessToken(_ token: String) async throws { try await host.kvDelete("oauth1/at/\(token)") }

    public func nonceIsFresh(consumerKey: String, token: String?, timestamp: String, nonce: String) async throws -> Bool {
        // Insert-if-absent, kept a little longer than the timestamp window.
        try await host.kvCompareAndSet(
            "oauth1/nonce/\(consumerKey)/\(token ?? "-")/\(timestamp)/\(nonce)", expected: nil,
            replacement: Data("1".utf8), ttl: .seconds(900))
    }
}

/// One user's approval of a consumer (OAuth 1.0 3LO), as `applinks users grants` lists it.
public struct OAuth1Grant: Codable, Sendable, Hashable {
    public var id: String
    public var consumerKey: String
    public var user: String
    public var createdAt: Date
    /// The session's current access token, which a revocation deletes.
    public var token: String
}
