import AppLinksCore
import AppLinksJSON
import AppLinksTesting
import Foundation
import Testing

@testable import OAuth2IncomingLinkType

/// The OAuth 2.0 provider link type in process, through ``FakeHost``: registration in its wizard, then its token and
/// introspection routes called the way the host calls them, without a server.
@Suite("OAuth 2.0 incoming link type, unit")
struct OAuth2IncomingLinkTypeTests {
    static func post(_ path: String, form: String, basic: (String, String)? = nil) -> PluginHTTPRequest {
        var headers = [["Content-Type", "application/x-www-form-urlencoded"]]
        if let (user, password) = basic {
            headers.append(["Authorization", "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()])
        }
        return PluginHTTPRequest(method: "POST", path: path, headers: headers, body: Data(form.utf8), baseURL: "https://applinks.test")
    }

    @Test("registration refuses a bad redirect URL and an unknown scope; a client it registers gets and introspects a token")
    func registerAndIssue() async throws {
        let host = try FakeHost(pluginID: "oauth2-incoming")
        let plugin = try OAuth2IncomingLinkType(host: host.api)
        let refused = try await plugin.wizardStep(
            WizardRequest(
                step: "client", answers: ["name": "App", "redirect_url": "http://app.example/cb", "scopes": "NOPE"], draftID: "d"))
        guard case .errors(_, let errors, _) = refused else { Issue.record("\(refused)"); return }
        #expect(Set(errors.map(\.field)) == ["redirect_url", "scopes"], "\(errors)")

        let scope = try #require(ProviderSettings.defaultScopes.first)
        let done = try await plugin.wizardStep(
            WizardRequest(
                step: "client",
                answers: [
                    "name": "App", "redirect_url": "https://app.example/cb", "scopes": .string(scope), "allow_client_credentials": true,
                ], draftID: "d"))
        guard case .done(let spec, let secrets, _, let credentials?) = done, let id = credentials["client_id"]?.stringValue,
            let secret = credentials["client_secret"]?.stringValue
        else {
            Issue.record("no credentials: \(done)")
            return
        }
        host.addLink(from: spec, secrets: secrets)

        let wrong = try await plugin.handleHTTP(Self.post(TokenEndpoints.token, form: "grant_type=client_credentials", basic: (id, "x")))
        #expect(wrong.status == 401, "a wrong secret is invalid_client with 401 (RFC 6749 §5.2)")

        let issued = try await plugin.handleHTTP(
            Self.post(TokenEndpoints.token, form: "grant_type=client_credentials", basic: (id, secret)))
        #expect(issued.status == 200, "\(String(decoding: issued.body, as: UTF8.self))")
        let token = try #require(try JSONValue.parse(issued.body)["access_token"]?.stringValue)

        let introspected = try await plugin.handleHTTP(
            Self.post(TokenEndpoints.introspect, form: "token=\(token)", basic: (id, secret)))
        let answer = try JSONValue.parse(introspected.body)
        #expect(answer["active"]?.boolValue == true && answer["client_id"]?.stringValue == id, "\(answer)")

        let twice = try await plugin.handleHTTP(
            Self.post(TokenEndpoints.token, form: "grant_type=client_credentials&grant_type=client_credentials", basic: (id, secret)))
        #expect(twice.status == 400, "a parameter sent twice is refused (RFC 6749 §3.2)")

        // The route the host names is the one that answers, whatever the path says.
        var named = Self.post("/elsewhere", form: "token=\(token)", basic: (id, secret))
        named.route = "POST " + TokenEndpoints.introspect
        #expect(try JSONValue.parse(try await plugin.handleHTTP(named).body)["active"]?.boolValue == true)
        #expect(OAuth2IncomingLinkType.descriptor.routes.count == 9 && OAuth2IncomingLinkType.descriptor.actions.count == 5)
    }

    @Test(
        "a token issue is one batch: a spent refresh token or a revocation that began first writes nothing, and revoking finds every token")
    func issueIsAtomic() async throws {
        let host = try FakeHost(pluginID: "oauth2-incoming")
        let store = OAuth2ServerStore(host: host.api)
        let settings = ProviderSettings()
        let now = Date().timeIntervalSince1970
        func tokenKeys() async throws -> Set<String> { Set(try await host.api.kvList(prefix: "at/") + host.api.kvList(prefix: "rt/")) }
        let grant = GrantRecord(
            id: "g1", clientID: "c1", user: "alice", scopes: ["REPO_READ"], createdAt: now, lastUsedAt: now, accessTokens: [:],
            refreshTokens: [:])
        guard case .issued(let first) = try await store.issueUserTokens(grant: grant, settings: settings, now: now, create: true),
            let refreshToken = first.refreshToken
        else {
            Issue.record("the first issue failed")
            return
        }
        #expect(try await host.api.kvList(prefix: "by-user/alice/") == ["by-user/alice/g1"])
        let (record, raw) = try #require(try await store.refreshToken(refreshToken))
        let spent = OAuth2ServerStore.Spent(token: refreshToken, record: record, raw: raw)
        guard case .issued = try await store.issueUserTokens(grant: grant, settings: settings, now: now, create: false, spending: spent)
        else {
            Issue.record("the refresh failed")
            return
        }
        #expect(try await store.refreshToken(refreshToken)?.0.used == true, "the spent token is marked used in the same batch")
        let before = try await tokenKeys()
        #expect(before.count == 4)
        guard
            case .refreshTokenSpent = try await store.issueUserTokens(
                grant: grant, settings: settings, now: now, create: false, spending: spent)
        else {
            Issue.record("a refresh token was spent twice")
            return
        }
        #expect(try await tokenKeys() == before, "a second spend writes no token")

        // A revocation writes its tombstone before it reads the grant: an issue that comes after the tombstone fails whole.
        try await host.api.kvPut("revoked-grant/g1", Data(), ttl: .seconds(60))
        guard case .revoked = try await store.issueUserTokens(grant: grant, settings: settings, now: now, create: false) else {
            Issue.record("tokens were issued under a grant being revoked")
            return
        }
        #expect(try await tokenKeys() == before, "nothing is written under a grant being revoked")
        try await store.revokeGrant("g1")
        // What stays is the spent refresh token's record, marked used, which tells a replay from an unknown token.
        #expect(try await tokenKeys() == ["rt/" + Secrets.hash(refreshToken)], "revoking the grant finds every live token it issued")
        #expect(try await host.api.kvList(prefix: "by-").isEmpty)
    }

    @Test("a grant coded by hand reads what Codable wrote, and Codable reads what it writes")
    func grantJSON() throws {
        let g = GrantRecord(
            id: "g\"1", clientID: "c/1", user: "ålice", scopes: ["A", "B"], createdAt: 1_700_000_000, lastUsedAt: 1_700_000_000.25,
            accessTokens: ["h2": 5, "h1": 4.5], refreshTokens: [:])
        func same(_ a: GrantRecord?, _ b: GrantRecord) -> Bool {
            guard let a else { return false }
            return a.id == b.id && a.clientID == b.clientID && a.user == b.user && a.scopes == b.scopes && a.createdAt == b.createdAt
                && a.lastUsedAt == b.lastUsedAt && a.accessTokens == b.accessTokens && a.refreshTokens == b.refreshTokens
        }
        #expect(same(GrantRecord(json: try JSONCoding.encode(g)), g))
        #expect(same(try JSONCoding.decode(GrantRecord.self, from: g.json), g))
        #expect(g.json == (try JSONCoding.encode(g)), "the same bytes as Codable with sorted keys")
        #expect(GrantRecord(json: Data(#"{"id":"g"}"#.utf8)) == nil)
    }

    @Test("a client's link is checked by reading that link; the type's links are listed only to learn where a client is")
    func linkEnabledReadsOneLink() async throws {
        let host = try FakeHost(pluginID: "oauth2-incoming")
        let store = OAuth2ServerStore(host: host.api)
        func link(_ id: String, client: String, enabled: Bool) -> Link {
            Link(
                id: id, type: "oauth2-incoming", name: id, application: ApplicationInfo(type: "generic"),
                displayURL: "https://\(id).example",
                enabled: enabled, config: ["client_id": .string(client)])
        }
        for i in 0..<50 { host.addLink(link("l\(i)", client: "c\(i)", enabled: true)) }
        #expect(try await store.linkEnabled(client: "c7"))
        #expect(host.linkListings == 1)
        store.linkStates.removeAll()
        #expect(try await store.linkEnabled(client: "c8"), "one listing taught every client's link")
        host.addLink(link("l7", client: "c7", enabled: false))
        store.linkStates.removeAll()
        #expect(try await !store.linkEnabled(client: "c7"), "a disabled link is seen by reading it alone")
        #expect(host.linkListings == 1)
        host.addLink(link("l7", client: "other", enabled: true))
        host.addLink(link("l99", client: "c7", enabled: true))
        store.linkStates.removeAll()
        #expect(try await store.linkEnabled(client: "c7"), "a client that moved to another link is found by listing again")
        #expect(host.linkListings == 2)
        store.linkStates.removeAll()
        #expect(try await !store.linkEnabled(client: "gone"))
    }
}
