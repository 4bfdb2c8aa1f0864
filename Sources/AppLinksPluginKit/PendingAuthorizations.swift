import AppLinksCore
import AppLinksJSON
import Foundation

/// Authorizations in progress, kept in the plugin's key-value store under the random key the remote sends back
/// (an OAuth 1.0 request token, an OAuth 2.0 `state`), each for a limited time and taken at most once: of two
/// callbacks with the same key, exactly one gets the value.
///
/// ```swift
/// let pending = PendingAuthorizations<Started>(host: host, prefix: "pending/", lifetime: .seconds(600))
/// try await pending.keep(Started(link: link.id), under: state)
/// guard let started = try await pending.take(state) else { return .page(400, "Unknown authorization", "…") }
/// ```
public struct PendingAuthorizations<Value: Codable & Sendable>: Sendable {
    public let host: HostAPI
    public let prefix: String
    public let lifetime: Duration

    public init(host: HostAPI, prefix: String, lifetime: Duration) {
        self.host = host
        self.prefix = prefix
        self.lifetime = lifetime
    }

    public func keep(_ value: Value, under key: String) async throws {
        try await host.kvPut(prefix + key, try JSONCoding.encode(value), ttl: lifetime)
    }

    /// The value, left in place: to check who may complete an authorization before anyone takes it.
    public func peek(_ key: String) async throws -> Value? {
        guard !key.isEmpty, let raw = try await host.kvGet(prefix + key) else { return nil }
        return try? JSONCoding.decode(Value.self, from: raw)
    }

    /// The value, removed in the same step; nil when it is unknown, expired, unreadable or already taken.
    public func take(_ key: String) async throws -> Value? {
        guard !key.isEmpty, let raw = try await host.kvGet(prefix + key), let value = try? JSONCoding.decode(Value.self, from: raw),
            try await host.kvCompareAndSet(prefix + key, expected: raw, replacement: nil)
        else { return nil }
        return value
    }
}
