import AppLinksCore
import AppLinksJSON
import AppLinksOAuth2
import AppLinksPluginKit
import Foundation

/// The provider's state in the host's key-value store for this plugin. Every change that may race (a code's
/// redemption, a refresh token's rotation, a grant's token list) is a compare-and-set, so two requests at the
/// same moment, on one node or several, cannot both win.
struct OAuth2ServerStore: Sendable {
    let host: HostAPI
    static let maxAccessTokens = 20
    /// Clients and access tokens, the records every back-channel request reads (see ``RecordCache``).
    let clients = RecordCache<ClientRecord>()
    let accessTokens = RecordCache<AccessTokenRecord>()
    /// Whether each client's link exists and is enabled.
    let linkStates = RecordCache<Bool>()

    // MARK: Clients

    func client(_ id: String) async throws -> ClientRecord? {
        if let cached = clients.get(id) { return cached }
        guard !id.isEmpty, let raw = try await host.kvGet("client/" + id), let record = ClientRecord(json: raw) else { return nil }
        clients.put(id, record)
        return record
    }

    /// Whether the client's link exists and is enabled: a disabled link's application can neither sign users in
    /// nor use its tokens. Looked up at most once a second per client, like the records.
    func linkEnabled(client id: String) async throws -> Bool {
        if let known = linkStates.get(id) { return known }
        let enabled = try await host.links().first { $0.config["client_id"]?.stringValue == id }?.enabled ?? false
        linkStates.put(id, enabled)
        return enabled
    }

    func saveClient(_ c: ClientRecord) async throws {
        try await host.kvPut("client/" + c.clientID, try JSONCoding.encode(c))
        clients.remove(c.clientID)
    }

    /// Deletes the client and everything issued to it.
    func deleteClient(_ id: String) async throws {
        for grant in try await grants(client: id) { try await revokeGrant(grant.id) }
        try await host.kvDelete("client/" + id)
        clients.remove(id)
        linkStates.remove(id)
        accessTokens.removeAll()
    }

    // MARK: Codes

    func saveCode(_ code: String, _ record: CodeRecord, ttl: Double) async throws {
        try await host.kvPut("code/" + Secrets.hash(code), try JSONCoding.encode(record), ttl: .seconds(ttl))
    }

    enum Redemption {
        case redeemed(CodeRecord)
        case unknown
        /// Used before: what it issued has been revoked.
        case replayed
    }

    /// Marks the code used, once. A second redemption, even at the same moment, revokes the grant of the first.
    ///
    /// `check` runs first and may throw: a code presented by another client, or with the wrong `redirect_uri` or
    /// PKCE verifier, is refused without being spent, so that someone holding a leaked code cannot burn it and
    /// make the real client's exchange look like a replay.
    func redeem(code: String, replayWindow: Double, check: (CodeRecord) throws -> Void) async throws -> Redemption {
        let key = "code/" + Secrets.hash(code)
        guard let raw = try await host.kvGet(key), let record = try? JSONCoding.decode(CodeRecord.self, from: raw) else {
            return .unknown
        }
        try check(record)
        if !record.used {
            var used = record
            used.used = true
            if try await host.kvCompareAndSet(key, expected: raw, replacement: try JSONCoding.encode(used), ttl: .seconds(replayWindow)) {
                return .redeemed(record)
            }
        }
        try await revokeGrant(record.grantID)
        return .replayed
    }

    // MARK: Consent

    func saveConsent(_ id: String, _ record: ConsentRecord) async throws {
        try await host.kvPut("consent/" + id, try JSONCoding.encode(record), ttl: .seconds(900))
    }

    /// The pending consent, taken: a decision is made once.
    func takeConsent(_ id: String) async throws -> ConsentRecord? {
        let key = "consent/" + id
        guard !id.isEmpty, let raw = try await host.kvGet(key),
            try await host.kvCompareAndSet(key, expected: raw, replacement: nil)
        else { return nil }
        return try JSONCoding.decode(ConsentRecord.self, from: raw)
    }

    // MARK: Tokens

    struct Issued {
        var accessToken: String
        var refreshToken: String?
        var access: AccessTokenRecord
    }

    /// A client-credentials token: no user, no grant, no refresh token (RFC 6749 §4.4.3).
    func issueClientToken(client: ClientRecord, scopes: [String], settings: ProviderSettings, now: Double) async throws -> Issued {
        let token = Secrets.generate()
        let record = AccessTokenRecord(
            clientID: client.clientID, user: nil, scopes: scopes, grantID: nil, issuedAt: now, expiresAt: now + settings.accessLifetime)
        let hash = Secrets.hash(token)
        try await host.kvPut("at/" + hash, record.json, ttl: .seconds(settings.accessLifetime))
        accessTokens.put(hash, record)
        return Issued(accessToken: token, refreshToken: nil, access: record)
    }

    /// Issues an access and a refresh token under a grant. The grant lists their hashes before they exist, so a
    /// failure half-way leaves no token that revoking the grant would miss. Nil when the grant was revoked.
    ///
    /// `rotated` is the refresh token this issue replaces: used, it needs no revoking, so the grant drops it. A
    /// grant keeps at most ``maxAccessTokens`` live access tokens; beyond that the oldest are revoked, so that a
    /// client that refreshes often cannot grow its grant without bound.
    func issueUserTokens(
        grant: GrantRecord, settings: ProviderSettings, now: Double, create: Bool, rotated: String? = nil
    )
        async throws -> Issued?
    {
        let access = Secrets.generate(), refresh = Secrets.generate()
        let accessHash = Secrets.hash(access), refreshHash = Secrets.hash(refresh)
        var evicted: [String] = []
        let added = try await updateGrant(grant.id, create: create ? grant : nil) { g in
            g.accessTokens = g.accessTokens.filter { $0.value > now }
            g.refreshTokens = g.refreshTokens.filter { $0.value > now }
            if let rotated { g.refreshTokens[Secrets.hash(rotated)] = nil }
            g.accessTokens[accessHash] = now + settings.accessLifetime
            g.refreshTokens[refreshHash] = now + settings.refreshLifetime
            evicted = []
            while g.accessTokens.count > Self.maxAccessTokens, let oldest = g.accessTokens.min(by: { $0.value < $1.value })?.key {
                g.accessTokens[oldest] = nil
                evicted.append(oldest)
            }
            g.lastUsedAt = now
        }
        guard added else { return nil }
        for hash in evicted {
            accessTokens.remove(hash)
            try await host.kvDelete("at/" + hash)
        }
        let record = AccessTokenRecord(
            clientID: grant.clientID, user: grant.user, scopes: grant.scopes, grantID: grant.id, issuedAt: now,
            expiresAt: now + settings.accessLifetime)
        try await host.kvPut("at/" + accessHash, record.json, ttl: .seconds(settings.accessLifetime))
        accessTokens.put(accessHash, record)
        let r = RefreshTokenRecord(
            clientID: grant.clientID, user: grant.user, scopes: grant.scopes, grantID: grant.id,
            expiresAt: now + settings.refreshLifetime, used: false)
        try await host.kvPut("rt/" + refreshHash, r.json, ttl: .seconds(settings.refreshLifetime))
        // A revocation that ran between the index update and these writes (from the CLI, another node, the
        // user's grants page, or a replay of the code) found no tokens yet to delete: undo them, or they would
        // outlive the grant until they expire.
        guard try await host.kvGet("grant/" + grant.id) != nil, try await host.kvGet("revoked-grant/" + grant.id) == nil else {
            accessTokens.remove(accessHash)
            try await host.kvDelete("at/" + accessHash)
            try await host.kvDelete("rt/" + refreshHash)
            return nil
        }
        return Issued(accessToken: access, refreshToken: refresh, access: record)
    }

    func accessToken(_ token: String) async throws -> AccessTokenRecord? {
        let hash = Secrets.hash(token)
        if let cached = accessTokens.get(hash) { return cached }
        guard !token.isEmpty, let raw = try await host.kvGet("at/" + hash), let record = AccessTokenRecord(json: raw) else { return nil }
        accessTokens.put(hash, record)
        return record
    }

    func refreshToken(_ token: String) async throws -> (RefreshTokenRecord, Data)? {
        guard !token.isEmpty, let raw = try await host.kvGet("rt/" + Secrets.hash(token)),
            let record = RefreshTokenRecord(json: raw)
        else { return nil }
        return (record, raw)
    }

    /// Marks a refresh token used, once; false when another request used it first.
    func useRefreshToken(_ token: String, _ record: RefreshTokenRecord, raw: Data) async throws -> Bool {
        var used = record
        used.used = true
        let ttl = max(1, record.expiresAt - Date().timeIntervalSince1970)
        return try await host.kvCompareAndSet(
            "rt/" + Secrets.hash(token), expected: raw, replacement: used.json, ttl: .seconds(ttl))
    }

    func revokeAccessToken(_ token: String) async throws {
        let hash = Secrets.hash(token)
        accessTokens.remove(hash)
        try await host.kvDelete("at/" + hash)
    }

    // MARK: Grants

    func grant(_ id: String) async throws -> GrantRecord? {
        guard let raw = try await host.kvGet("grant/" + id) else { return nil }
        return try? JSONCoding.decode(GrantRecord.self, from: raw)
    }

    /// Applies `change` to the grant with compare-and-set, retrying on a concurrent change. With `create`, a grant
    /// that does not exist yet is created (and indexed by user and client); without, a missing grant gives false.
    private func updateGrant(_ id: String, create: GrantRecord?, _ change: (inout GrantRecord) -> Void) async throws -> Bool {
        let key = "grant/" + id
        for _ in 0..<20 {
            let raw = try await host.kvGet(key)
            var grant: GrantRecord
            if let raw, let existing = try? JSONCoding.decode(GrantRecord.self, from: raw) {
                grant = existing
            } else if let create, raw == nil {
                grant = create
            } else {
                return false
            }
            change(&grant)
            if try await host.kvCompareAndSet(key, expected: raw, replacement: try JSONCoding.encode(grant)) {
                if raw == nil {
                    try await host.kvPut("by-user/\(grant.user)/\(id)", Data(grant.clientID.utf8))
                    try await host.kvPut("by-client/\(grant.clientID)/\(id)", Data(grant.user.utf8))
                }
                return true
            }
        }
        throw PluginError(code: "conflict", message: "The authorization \(id) changed too often at once; try again.")
    }

    /// Deletes the grant and every token issued under it.
    func revokeGrant(_ id: String) async throws {
        // A tombstone first: a code replayed before its first redemption has created the grant still revokes it.
        try await host.kvPut("revoked-grant/" + id, Data(), ttl: .seconds(86_400))
        guard let grant = try await grant(id) else { return }
        try await host.kvDelete("grant/" + id)
        for hash in grant.accessTokens.keys {
            accessTokens.remove(hash)
            try await host.kvDelete("at/" + hash)
        }
        for hash in grant.refreshTokens.keys { try await host.kvDelete("rt/" + hash) }
        try await host.kvDelete("by-user/\(grant.user)/\(id)")
        try await host.kvDelete("by-client/\(grant.clientID)/\(id)")
    }

    func grants(client: String) async throws -> [GrantRecord] {
        try await grants(keys: try await host.kvList(prefix: "by-client/\(client)/"))
    }

    func grants(user: String) async throws -> [GrantRecord] {
        try await grants(keys: try await host.kvList(prefix: "by-user/\(user)/"))
    }

    private func grants(keys: [String]) async throws -> [GrantRecord] {
        var out: [GrantRecord] = []
        for key in keys {
            if let id = key.split(separator: "/").last, let g = try await grant(String(id)) { out.append(g) }
        }
        return out.sorted { $0.createdAt < $1.createdAt }
    }
}
