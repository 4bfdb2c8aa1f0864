import AppLinksCore
import AppLinksCrypto
import AppLinksHTTPInput
import AppLinksJSON
import AppLinksOAuth2
import AppLinksPluginKit
import Foundation

/// The back-channel endpoints, which clients call directly: token (RFC 6749 §3.2), revocation (RFC 7009),
/// introspection (RFC 7662), and who a bearer token acts for. Every answer is JSON with `Cache-Control: no-store`.
struct TokenEndpoints: Sendable {
    let store: OAuth2ServerStore
    let settings: ProviderSettings
    let issuer: String

    static let token = "/rest/oauth2/latest/token"
    static let revoke = "/rest/oauth2/latest/revoke"
    static let introspect = "/rest/oauth2/latest/introspect"
    static let whoami = "/rest/oauth2/latest/whoami"

    // MARK: Token

    func token(_ r: PluginHTTPRequest, now: Double) async throws -> PluginHTTPResponse {
        let (form, basic) = parse(r)
        do {
            let form = try form.get()
            let client = try await authenticate(r, form)
            switch form["grant_type"] {
            case "authorization_code": return try await authorizationCode(form, client: client, now: now)
            case "refresh_token": return try await refresh(form, client: client, now: now)
            case "client_credentials": return try await clientCredentials(form, client: client, now: now)
            case nil: throw OAuth2Error(.invalidRequest, "grant_type is missing.")
            case let other?:
                throw OAuth2Error(
                    .unsupportedGrantType,
                    "grant_type \(other) is not supported; use authorization_code, refresh_token or client_credentials.")
            }
        } catch let e as OAuth2Error {
            return failure(e, basic: basic)
        }
    }

    private func authorizationCode(_ form: FormURLEncoded, client: ClientRecord, now: Double) async throws -> PluginHTTPResponse {
        guard let code = form["code"] else { throw OAuth2Error(.invalidRequest, "code is missing.") }
        let redirect = form["redirect_uri"], verifier = form["code_verifier"]
        let record: CodeRecord
        let redemption = try await store.redeem(code: code, replayWindow: settings.codeLifetime + 600) { record in
            guard record.clientID == client.clientID else { throw OAuth2Error(.invalidGrant, "The code was issued to another client.") }
            if record.redirectURIGiven || redirect != nil {
                guard redirect == record.redirectURI else {
                    throw OAuth2Error(.invalidGrant, "redirect_uri differs from the one the code was issued for.")
                }
            }
            switch (record.challenge, verifier) {
            case (nil, nil): break
            case (nil, _?):
                throw OAuth2Error(.invalidGrant, "code_verifier was sent, but the authorization request had no code_challenge.")
            case (_?, nil): throw OAuth2Error(.invalidGrant, "code_verifier is missing; the authorization request had a code_challenge.")
            case (let challenge?, let verifier?):
                guard PKCE.verify(verifier: verifier, challenge: challenge) else {
                    throw OAuth2Error(.invalidGrant, "code_verifier does not match the code_challenge.")
                }
            }
        }
        switch redemption {
        case .unknown: throw OAuth2Error(.invalidGrant, "The code is unknown or has expired.")
        case .replayed:
            throw OAuth2Error(.invalidGrant, "The code was already used; the tokens issued for it have been revoked.")
        case .redeemed(let r): record = r
        }
        guard record.expiresAt > now else { throw OAuth2Error(.invalidGrant, "The code has expired; authorize again.") }
        let grant = GrantRecord(
            id: record.grantID, clientID: client.clientID, user: record.user, scopes: record.scopes, createdAt: now, lastUsedAt: now,
            accessTokens: [:], refreshTokens: [:])
        guard case .issued(let issued) = try await store.issueUserTokens(grant: grant, settings: settings, now: now, create: true) else {
            throw OAuth2Error(.invalidGrant, "The authorization was revoked.")
        }
        return success(issued)
    }

    private func refresh(_ form: FormURLEncoded, client: ClientRecord, now: Double) async throws -> PluginHTTPResponse {
        guard let token = form["refresh_token"] else { throw OAuth2Error(.invalidRequest, "refresh_token is missing.") }
        guard let (record, raw) = try await store.refreshToken(token), record.expiresAt > now else {
            throw OAuth2Error(.invalidGrant, "The refresh token is unknown, revoked or expired.")
        }
        guard record.clientID == client.clientID else {
            throw OAuth2Error(.invalidGrant, "The refresh token was issued to another client.")
        }
        guard !record.used else { throw try await spentTwice(record) }
        guard let stored = try await store.storedGrant(record.grantID) else {
            throw OAuth2Error(.invalidGrant, "The authorization was revoked.")
        }
        var grant = stored.record
        if let scope = form["scope"] {
            let narrowed = JSONValue.string(scope).words
            guard !narrowed.isEmpty, narrowed.allSatisfy(grant.scopes.contains) else {
                throw OAuth2Error(.invalidScope, "A refresh may only narrow the scopes of the authorization.")
            }
            grant.scopes = narrowed
        }
        let spent = OAuth2ServerStore.Spent(token: token, record: record, raw: raw)
        switch try await store.issueUserTokens(
            grant: grant, settings: settings, now: now, create: false, spending: spent, current: stored.raw)
        {
        case .issued(let issued): return success(issued)
        case .revoked: throw OAuth2Error(.invalidGrant, "The authorization was revoked.")
        case .refreshTokenSpent: throw try await spentTwice(record)
        }
    }

    /// Rotation makes every refresh token single use: a second use means it leaked (OAuth 2.0 Security BCP §4.14).
    private func spentTwice(_ record: RefreshTokenRecord) async throws -> OAuth2Error {
        try await store.revokeGrant(record.grantID)
        return OAuth2Error(.invalidGrant, "The refresh token was already used; the whole authorization has been revoked.")
    }

    private func clientCredentials(_ form: FormURLEncoded, client: ClientRecord, now: Double) async throws -> PluginHTTPResponse {
        guard client.confidential, client.allowClientCredentials else {
            throw OAuth2Error(.unauthorizedClient, "This client may not use client_credentials; an administrator can allow it on the link.")
        }
        let scopes = form["scope"].map { JSONValue.string($0).words } ?? client.scopes
        if let unknown = scopes.first(where: { !client.scopes.contains($0) }) {
            throw OAuth2Error(.invalidScope, "The scope \(unknown) is not one this client was registered for.")
        }
        return success(try await store.issueClientToken(client: client, scopes: scopes, settings: settings, now: now))
    }

    // MARK: Revocation and introspection

    func revoke(_ r: PluginHTTPRequest) async throws -> PluginHTTPResponse {
        let (form, basic) = parse(r)
        do {
            let form = try form.get()
            let client = try await authenticate(r, form)
            guard let token = form["token"] else { throw OAuth2Error(.invalidRequest, "token is missing.") }
            let hint = form["token_type_hint"]
            if hint != nil && hint != "access_token" && hint != "refresh_token" {
                throw OAuth2Error(.unsupportedTokenType, "token_type_hint must be access_token or refresh_token.")
            }
            // An unknown token, or another client's, is answered as a success that changes nothing (RFC 7009 §2.2).
            if let (refresh, _) = try await store.refreshToken(token), refresh.clientID == client.clientID {
                try await store.revokeGrant(refresh.grantID)
            } else if let access = try await store.accessToken(token), access.clientID == client.clientID {
                try await store.revokeAccessToken(token)
            }
            return json(200, Data("{}".utf8))
        } catch let e as OAuth2Error {
            return failure(e, basic: basic)
        }
    }

    func introspect(_ r: PluginHTTPRequest, now: Double) async throws -> PluginHTTPResponse {
        let (form, basic) = parse(r)
        do {
            let form = try form.get()
            let client = try await authenticate(r, form)
            guard client.confidential else {
                throw OAuth2Error(.invalidClient, "Only a confidential client may introspect tokens.")
            }
            guard let token = form["token"] else { throw OAuth2Error(.invalidRequest, "token is missing.") }
            // The hint only orders the lookups (RFC 7662 §2.1): a token of the other kind is still found. A client
            // learns only about its own tokens, unless its link makes it a resource server (§4): to anyone else,
            // another client's token is as inactive as an unknown one.
            func mayLearn(_ owner: String) -> Bool { owner == client.clientID || client.resourceServer }
            let asAccess = { () async throws -> Data? in
                guard let a = try await store.accessToken(token), mayLearn(a.clientID), a.expiresAt > now,
                    try await store.linkEnabled(client: a.clientID)
                else { return nil }
                return active(a.clientID, user: a.user, scopes: a.scopes, exp: a.expiresAt, iat: a.issuedAt, type: "Bearer")
            }
            let asRefresh = { () async throws -> Data? in
                guard let (rt, _) = try await store.refreshToken(token), mayLearn(rt.clientID), !rt.used, rt.expiresAt > now,
                    try await store.linkEnabled(client: rt.clientID)
                else { return nil }
                return active(rt.clientID, user: rt.user, scopes: rt.scopes, exp: rt.expiresAt, iat: nil, type: "refresh_token")
            }
            let lookups = form["token_type_hint"] == "refresh_token" ? [asRefresh, asAccess] : [asAccess, asRefresh]
            for lookup in lookups {
                if let found = try await lookup() { return json(200, found) }
            }
            return json(200, Data(#"{"active":false}"#.utf8))
        } catch let e as OAuth2Error {
            return failure(e, basic: basic)
        }
    }

    private func active(_ client: String, user: String?, scopes: [String], exp: Double, iat: Double?, type: String) -> Data {
        var s = #"{"active":true,"client_id":"# + quoted(client) + #","scope":"# + quoted(scopes.joined(separator: " "))
        s += #","token_type":"# + quoted(type) + #","exp":\#(Int(exp))"#
        if let iat { s += #","iat":\#(Int(iat))"# }
        s += #","sub":"# + quoted(user ?? client)
        if let user { s += #","username":"# + quoted(user) }
        s += #","iss":"# + quoted(issuer) + "}"
        return Data(s.utf8)
    }

    /// Who a bearer access token acts for, for the host's admin API (``LinkTypeDescriptor/Route/authenticatesBearer``)
    /// and for applications that want to know whom they act as.
    func whoami(_ r: PluginHTTPRequest, now: Double) async throws -> PluginHTTPResponse {
        let header = r.header("Authorization") ?? ""
        guard header.utf8.count > 7, header.hasPrefix(caseInsensitive: "bearer "),
            let a = try await store.accessToken(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)), a.expiresAt > now,
            let user = a.user, try await store.linkEnabled(client: a.clientID)
        else {
            return PluginHTTPResponse(
                status: 401,
                headers: [
                    ["WWW-Authenticate", #"Bearer realm="applinks", error="invalid_token""#], ["Content-Type", "application/json"],
                    ["Cache-Control", "no-store"],
                ], body: Data(#"{"error":"invalid_token"}"#.utf8))
        }
        let body = try JSONCoding.encode([
            "user": JSONValue.string(user), "admin": .bool(a.scopes.contains(ProviderSettings.adminScope)),
            "client_id": .string(a.clientID),
            "scope": .string(a.scopes.joined(separator: " ")),
        ])
        return json(200, body)
    }

    // MARK: Shared

    /// The form, or why it is not one; and whether the client used Basic (which decides a 401).
    private func parse(_ r: PluginHTTPRequest) -> (Result<FormURLEncoded, OAuth2Error>, basic: Bool) {
        let auth = r.header("Authorization")
        let basic = auth?.hasPrefix(caseInsensitive: "basic ") ?? false
        guard r.header("Content-Type")?.hasPrefix(caseInsensitive: "application/x-www-form-urlencoded") == true else {
            return (.failure(OAuth2Error(.invalidRequest, "The body must be application/x-www-form-urlencoded.")), basic)
        }
        let form = FormURLEncoded(r.body)
        if let dup = form.duplicates.sorted().first {
            return (.failure(OAuth2Error(.invalidRequest, "The parameter \(dup) appears more than once.")), basic)
        }
        return (.success(form), basic)
    }

    /// The calling client, authenticated by `client_secret_basic` or `client_secret_post`, or a public client by
    /// its id alone. The secret is compared by hash, in constant time.
    private func authenticate(_ r: PluginHTTPRequest, _ form: FormURLEncoded) async throws -> ClientRecord {
        let auth = try ClientAuthentication.from(authorization: r.header("Authorization"), form: form)
        guard let client = try await store.client(auth.clientID) else {
            throw OAuth2Error(.invalidClient, "Client authentication failed.")
        }
        guard try await store.linkEnabled(client: client.clientID) else {
            throw OAuth2Error(.invalidClient, "This client's application link is disabled; an administrator can enable it again.")
        }
        if client.confidential {
            guard let secret = auth.secret, let expected = client.secretHash,
                ConstantTime.equals(Secrets.hash(secret), expected)
            else { throw OAuth2Error(.invalidClient, "Client authentication failed.") }
        } else if auth.secret != nil {
            throw OAuth2Error(.invalidClient, "This is a public client; it has no secret to send.")
        }
        return client
    }

    private func success(_ issued: OAuth2ServerStore.Issued) -> PluginHTTPResponse {
        var s = #"{"access_token":"\#(issued.accessToken)","token_type":"Bearer","expires_in":\#(Int(settings.accessLifetime))"#
        if let refresh = issued.refreshToken { s += #","refresh_token":"\#(refresh)""# }
        s += #","scope":"# + quoted(issued.access.scopes.joined(separator: " ")) + "}"
        return json(200, Data(s.utf8))
    }

    private func failure(_ e: OAuth2Error, basic: Bool) -> PluginHTTPResponse {
        var response = json(e.tokenEndpointStatus(basicAuthentication: basic), e.jsonBody)
        if e.code == .invalidClient && basic {
            response.headers.append(["WWW-Authenticate", #"Basic realm="applinks""#])
        }
        return response
    }

    private func json(_ status: Int, _ body: Data) -> PluginHTTPResponse {
        PluginHTTPResponse(
            status: status, headers: [["Content-Type", "application/json"], ["Cache-Control", "no-store"], ["Pragma", "no-cache"]],
            body: body)
    }
}

private let quoted = JSONValue.quoted

extension String {
    /// Whether the string starts with `lowercasePrefix`, ASCII letters compared without case.
    func hasPrefix(caseInsensitive lowercasePrefix: String) -> Bool {
        var a = utf8.makeIterator()
        for p in lowercasePrefix.utf8 {
            guard let c = a.next() else { return false }
            if c == p || (c >= 0x41 && c <= 0x5A && c + 0x20 == p) { continue }
            return false
        }
        return true
    }
}
