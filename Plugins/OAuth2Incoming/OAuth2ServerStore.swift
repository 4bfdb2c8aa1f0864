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

    /// Which link holds each client, learnt from a listing: links keep their ids, so a client's link is then read
    /// alone. Kept for as long as the link holds the client.
    let linkIDs = RecordCache<String>(lifetime: .seconds(86_400))

    /// Whether the client's link exists and is enabled: a disabled link's application can neither sign users in
    /// nor use its tokens. Looked up at most twice a second per client, like the records, by reading that one link;
    /// only a client whose link is not known yet (or has moved) costs a listing of the type's links, which teaches
    /// the link of every client at once.
    func linkEnabled(client id: String) async throws -> Bool {
        if let known = linkStates.get(id) { return known }
        if let linkID = linkIDs.get(id) {
            if let link = try await host.link(id: linkID), link.config["client_id"]?.stringValue == id {
                linkStates.put(id, link.enabled)
                return link.enabled
            }
            linkIDs.remove(id)
        }
        var enabled = false
        for link in try await host.links() {
            guard let client = link.config["client_id"]?.stringValue else { continue }
            linkIDs.put(client, link.id)
            if client == id { enabled = link.enabled }
        }
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
        linkIDs.remove(id)
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

    /// The refresh token a refresh spends, as it was read: it is marked used in the batch that issues its successor.
    struct Spent {
        var token: String
        var record: RefreshTokenRecord
        var raw: Data
    }

    enum Issue {
        case issued(Issued)
        /// The grant is gone, or its revocation has begun.
        case revoked
        /// Another request spent the refresh token first.
        case refreshTokenSpent
    }

    /// Issues an access and a refresh token under a grant, in one batch with everything that must hold with them:
    /// the grant's token list (the grant and its indexes created when `create`), the spent refresh token marked used,
    /// the evicted access tokens deleted, and no revocation begun. The grant lists the new tokens' hashes in the
    /// same commit that writes them, so revoking it never misses one; a revocation writes its tombstone before it
    /// reads the grant, so one that began first makes the batch fail, and one that begins after finds the tokens.
    /// It costs one commit, where a write per step cost four.
    ///
    /// A grant keeps at most ``maxAccessTokens`` live access tokens; beyond that the oldest are revoked, so that a
    /// client that refreshes often cannot grow its grant without bound. `current` is the grant as the caller just
    /// read it, which saves reading it again.
    func issueUserTokens(
        grant: GrantRecord, settings: ProviderSettings, now: Double, create: Bool, spending spent: Spent? = nil, current: Data? = nil
    ) async throws -> Issue {
        let access = Secrets.generate(), refresh = Secrets.generate()
        let accessHash = Secrets.hash(access), refreshHash = Secrets.hash(refresh)
        let key = "grant/" + grant.id
        let record = AccessTokenRecord(
            clientID: grant.clientID, user: grant.user, scopes: grant.scopes, grantID: grant.id, issuedAt: now,
            expiresAt: now + settings.accessLifetime)
        let next = RefreshTokenRecord(
            clientID: grant.clientID, user: grant.user, scopes: grant.scopes, grantID: grant.id,
            expiresAt: now + settings.refreshLifetime, used: false)
        var known = current
        for _ in 0..<20 {
            let raw: Data?
            if let k = known { raw = k } else { raw = try await host.kvGet(key) }
            known = nil
            var g: GrantRecord
            if let raw, let existing = GrantRecord(json: raw) {
                g = existing
            } else if create, raw == nil {
                g = grant
            } else {
                return .revoked
            }
            g.accessTokens = g.accessTokens.filter { $0.value > now }
            g.refreshTokens = g.refreshTokens.filter { $0.value > now }
            if let spent { g.refreshTokens[Secrets.hash(spent.token)] = nil }
            g.accessTokens[accessHash] = now + settings.accessLifetime
            g.refreshTokens[refreshHash] = now + settings.refreshLifetime
            var evicted: [String] = []
            while g.accessTokens.count > Self.maxAccessTokens, let oldest = g.accessTokens.min(by: { $0.value < $1.value })?.key {
                g.accessTokens[oldest] = nil
                evicted.append(oldest)
            }
            g.lastUsedAt = now
            var changes: [KVChange] = [.require(key: "revoked-grant/" + grant.id, value: nil), .require(key: key, value: raw)]
            if let spent {
                var used = spent.record
                used.used = true
                let spentKey = "rt/" + Secrets.hash(spent.token)
                changes += [
                    .require(key: spentKey, value: spent.raw),
                    .put(key: spentKey, value: used.json, ttl: .seconds(max(1, spent.record.expiresAt - now))),
                ]
            }
            changes.append(.put(key: key, value: g.json, ttl: nil))
            if raw == nil {
                changes += [
                    .put(key: "by-user/\(g.user)/\(g.id)", value: Data(g.clientID.utf8), ttl: nil),
                    .put(key: "by-client/\(g.clientID)/\(g.id)", value: Data(g.user.utf8), ttl: nil),
                ]
            }
            changes += evicted.map { .delete(key: "at/" + $0) }
            changes += [
                .put(key: "at/" + accessHash, value: record.json, ttl: .seconds(settings.accessLifetime)),
                .put(key: "rt/" + refreshHash, value: next.json, ttl: .seconds(settings.refreshLifetime)),
            ]
            switch try await host.kvBatch(changes) {
            case nil:
                for hash in evicted { accessTokens.remove(hash) }
                accessTokens.put(accessHash, record)
                return .issued(Issued(accessToken: access, refreshToken: refresh, access: record))
            case 0: return .revoked
            case 1: continue  // The grant changed meanwhile: apply the change to what it is now.
            default: return .refreshTokenSpent
            }
        }
        throw PluginError(code: "conflict", message: "The authorization \(grant.id) changed too often at once; try again.")
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

    func revokeAccessToken(_ token: String) async throws {
        let hash = Secrets.hash(token)
        accessTokens.remove(hash)
        try await host.kvDelete("at/" + hash)
    }

    // MARK: Grants

    func grant(_ id: String) async throws -> GrantRecord? { try await storedGrant(id)?.record }

    /// The grant and its stored bytes, which a change to it requires unchanged.
    func storedGrant(_ id: String) async throws -> (record: GrantRecord, raw: Data)? {
        guard let raw = try await host.kvGet("grant/" + id), let record = GrantRecord(json: raw) else {
            return nil
        }
        return (record, raw)
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
