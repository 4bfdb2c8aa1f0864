import AppLinksCore
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
        try await host.kvPut("oauth1/at/\(token.token)", try JSONCoding.encode(token))
    }

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
