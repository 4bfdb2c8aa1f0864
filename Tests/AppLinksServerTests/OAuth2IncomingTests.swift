import AppLinksCore
import AppLinksCrypto
import AppLinksHTTPInput
import AppLinksOAuth2
import Foundation
import NIOHTTP1
import TestSupport
import Testing

/// The `oauth2-incoming` link type: this host as an OAuth 2.0 authorization server. The server runs in the test's
/// process on a loopback port, and third-party clients and the real CLI reach it as they would `applinks serve`.
@Suite("OAuth 2.0 incoming: the host as authorization server")
struct OAuth2IncomingTests {
    static let password = "correct horse battery"
    static let redirect = "https://app.example.com/cb"
    static let loopback = "http://127.0.0.1:8123/cb"

    struct Client {
        var id: String
        var secret: String?
        var link: String
    }

    /// A server that loads the built link types, with an admin (alice) and a user (bob), for the length of `body`.
    static func withServer(env: [String: String] = [:], _ body: @Sendable (LiveServer) async throws -> Void) async throws {
        let port = try freeLoopbackPort()
        try await LiveServer.run(
            extraEnv: ["APPLINKS_BASE_URL": "http://127.0.0.1:\(port)", "APPLINKS_PLUGINS_SEARCH_EXECUTABLE_DIRECTORY": "true"]
                .merging(env) { _, n in n }, listenPort: port
        ) { s in
            _ = try s.token(user: "alice", admin: true)
            _ = try s.token(user: "bob", admin: false)
            try await body(s)
        }
    }

    static func register(
        _ s: some LoopbackServer, redirects: [String] = [redirect, loopback], scopes: String = "REPO_READ,SYSTEM_ADMIN",
        type: String = "confidential", clientCredentials: Bool = false, resourceServer: Bool = false
    ) async throws -> Client {
        let r = try await s.applinks(
            "create", "oauth2-incoming", "--set", "name=Example app", "--set", "redirect_url=\(redirects.joined(separator: " "))",
            "--set", "scopes=\(scopes)", "--set", "client_type=\(type)", "--set", "allow_client_credentials=\(clientCredentials)",
            "--set", "resource_server=\(resourceServer)", "--json")
        let object = try #require(r.jsonObject, "\(r.stderr)")
        let credentials = try #require(object["credentials"] as? [String: Any])
        return Client(
            id: try #require(credentials["client_id"] as? String), secret: credentials["client_secret"] as? String,
            link: try #require(object["id"] as? String))
    }

    static func query(_ items: [String: String]) -> String {
        items.sorted { $0.key < $1.key }.map { "\($0.key)=\(FormURLEncoded.encode($0.value))" }.joined(separator: "&")
    }

    /// A logged-in browser asks to authorize; returns the authorize endpoint's answer.
    static func authorize(_ b: Browser, _ params: [String: String]) async throws -> (status: Int, headers: HTTPHeaders, body: String) {
        try await b.request("GET", "/rest/oauth2/latest/authorize?" + query(params))
    }

    /// Runs authorize and consent for alice and returns the code, or the whole redirect when there is none.
    static func code(
        _ b: Browser, _ c: Client, challenge: String? = nil, method: String? = "S256", redirectURI: String = redirect,
        decision: String = "allow"
    ) async throws -> (code: String?, location: String) {
        var params = ["response_type": "code", "client_id": c.id, "redirect_uri": redirectURI, "state": "xyz", "scope": "REPO_READ"]
        if let challenge { params["code_challenge"] = challenge }
        if let method, challenge != nil { params["code_challenge_method"] = method }
        let page = try await authorize(b, params)
        if page.status == 303 { return (nil, page.headers["Location"].first ?? "") }
        try #require(page.status == 200, "\(page.body)")
        let answer = try await b.request(
            "POST", "/rest/oauth2/latest/authorize",
            form: [
                "csrf_token": try #require(Browser.hidden("csrf_token", in: page.body)),
                "consent": try #require(Browser.hidden("consent", in: page.body)), "decision": decision,
            ])
        let location = try #require(answer.headers["Location"].first, "\(answer.status) \(answer.body)")
        let code = URLComponents(string: location)?.queryItems?.first { $0.name == "code" }?.value
        return (code, location)
    }

    static func loggedIn(_ s: some LoopbackServer, _ user: String = "alice") async throws -> Browser {
        let b = Browser(s)
        let r = try await b.logIn(user, password)
        try #require(r.status == 303)
        return b
    }

    /// POSTs a form to a back-channel endpoint, authenticating with Basic when `basic` is given.
    static func post(
        _ s: some LoopbackServer, _ path: String, _ form: [String: String], basic: (String, String)? = nil
    ) async throws -> (status: Int, headers: HTTPHeaders, json: [String: Any]) {
        var headers = [("Content-Type", "application/x-www-form-urlencoded")]
        if let (id, secret) = basic {
            headers.append(
                (
                    "Authorization",
                    "Basic " + Data("\(FormURLEncoded.encode(id)):\(FormURLEncoded.encode(secret))".utf8).base64EncodedString()
                ))
        }
        let r = try await s.send("POST", path, headers: headers, body: query(form))
        let json = (try? JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any]) ?? ["raw": r.body]
        return (r.status, r.headers, json)
    }

    static func exchange(
        _ s: some LoopbackServer, _ c: Client, code: String, verifier: String? = nil, redirectURI: String = redirect
    )
        async throws -> (status: Int, headers: HTTPHeaders, json: [String: Any])
    {
        var form = ["grant_type": "authorization_code", "code": code, "redirect_uri": redirectURI]
        if let verifier { form["code_verifier"] = verifier }
        return try await post(s, "/rest/oauth2/latest/token", form, basic: (c.id, c.secret ?? ""))
    }

    static func introspect(_ s: some LoopbackServer, _ c: Client, _ token: String) async throws -> Bool? {
        try await post(s, "/rest/oauth2/latest/introspect", ["token": token], basic: (c.id, c.secret ?? "")).json["active"] as? Bool
    }

    static func refresh(
        _ s: some LoopbackServer, _ c: Client, _ token: String
    ) async throws -> (
        status: Int, headers: HTTPHeaders, json: [String: Any]
    ) {
        try await post(
            s, "/rest/oauth2/latest/token", ["grant_type": "refresh_token", "refresh_token": token], basic: (c.id, c.secret ?? ""))
    }

    static func verifier() -> (verifier: String, challenge: String) {
        let v = SecureRandom.token(bits: 384)
        return (v, Digest.sha256(Data(v.utf8)).base64URLEncodedString())
    }

    @Test(
        "authlib and requests-oauthlib complete code with PKCE, refresh (rotated), introspection and revocation",
        arguments: ["authlib", "requests-oauthlib"])
    func thirdPartyClients(library: String) async throws {
        try await Self.withServer { s in
            let c = try await Self.register(s)
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("oauth2_client_flow.py")
            let r = try await offPool {
                try runCommand(
                    URL(fileURLWithPath: "/usr/bin/env"),
                    [
                        "python3", script.path, library, "http://127.0.0.1:\(s.port)", c.id, c.secret ?? "", Self.redirect, "alice",
                        Self.password,
                    ])
            }
            #expect(r.status == 0, "\(r.stderr)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            #expect(report["issuer"] as? String == "http://127.0.0.1:\(s.port)" && report["iss"] as? String == report["issuer"] as? String)
            #expect(report["methods"] as? [String] == ["S256"])
            #expect(report["consent_page_mentions_scope"] as? Bool == true)
            let whoami = report["whoami"] as? [String: Any]
            #expect(whoami?["user"] as? String == "alice" && whoami?["admin"] as? Bool == true, "\(report)")
            #expect(report["rotated"] as? Bool == true)
            let active = report["introspect_active"] as? [String: Any]
            #expect(
                active?["active"] as? Bool == true && active?["username"] as? String == "alice" && active?["client_id"] as? String == c.id)
            #expect(report["introspect_refresh"] as? Bool == true)
            #expect(report["admin_api_with_token"] as? Int == 200, "a SYSTEM_ADMIN token of an admin works on the admin API")
            #expect(report["revoke_status"] as? Int == 200)
            #expect((report["introspect_after_revoke"] as? [String: Any])?["active"] as? Bool == false)
            #expect(report["admin_api_after_revoke"] as? Int == 401)
            let grants = try #require(try await s.applinks("users", "grants", "alice", "--json").jsonArray)
            #expect(grants.count == 1 && grants.first?["client"] as? String == "Example app", "\(grants)")
        }
    }

    @Test("redirect_uri: userinfo, dot segments, double encoding, case, extra query, another port and a prefix never redirect")
    func redirectURIs() async throws {
        try await Self.withServer { s in
            let c = try await Self.register(s)
            let b = try await Self.loggedIn(s)
            let hostile = [
                "https://app.example.com@evil.example/cb", "https://app.example.com/cb/../evil", "https://app.example.com/cb/%2E%2E/evil",
                "https://app.example.com/cb%252F..%252Fevil", "https://app.example.com/CB", "https://APP.example.com/cb",
                "https://app.example.com/cb?next=https://evil.example", "https://app.example.com:8443/cb", "https://app.example.com/cbevil",
                "https://app.example.com/cb/more", "https://app.example.com/c", "http://app.example.com/cb", "https://app.example.com/cb#x",
                "http://127.0.0.1:8123/cb/../x", "http://127.0.0.1:8123/CB", "http://127.0.0.1.evil.example:8123/cb",
            ]
            let (_, challenge) = Self.verifier()
            for uri in hostile {
                let r = try await Self.authorize(
                    b,
                    [
                        "response_type": "code", "client_id": c.id, "redirect_uri": uri, "state": "s",
                        "code_challenge": challenge, "code_challenge_method": "S256",
                    ])
                #expect(r.status == 400 && r.headers["Location"].isEmpty, "\(uri) gave \(r.status) \(r.headers)")
                #expect(r.body.contains("is not registered"), "\(uri): \(r.body)")
            }
            // A native app's loopback redirect may use any port (RFC 8252 §7.3), and nothing else may differ.
            let other = try await Self.authorize(
                b,
                [
                    "response_type": "code", "client_id": c.id, "redirect_uri": "http://127.0.0.1:40001/cb",
                    "code_challenge": challenge, "code_challenge_method": "S256",
                ])
            #expect(other.status == 200 && other.body.contains("Allow"))
            let unknown = try await Self.authorize(b, ["response_type": "code", "client_id": "nobody", "redirect_uri": Self.redirect])
            #expect(unknown.status == 400 && unknown.headers["Location"].isEmpty && unknown.body.contains("No application is registered"))
        }
    }

    @Test("a replayed code is refused and revokes the tokens of its first use; a code is bound to its client and redirect_uri")
    func codes() async throws {
        try await Self.withServer { s in
            let c = try await Self.register(s)
            let other = try await Self.register(s)
            let b = try await Self.loggedIn(s)
            let (v, ch) = Self.verifier()
            let code = try #require(try await Self.code(b, c, challenge: ch).code)
            let first = try await Self.exchange(s, c, code: code, verifier: v)
            #expect(first.status == 200 && first.headers["Cache-Control"].first == "no-store", "\(first.json)")
            let access = try #require(first.json["access_token"] as? String)
            let refresh = try #require(first.json["refresh_token"] as? String)
            #expect(try await Self.introspect(s, c, access) == true)
            let replay = try await Self.exchange(s, c, code: code, verifier: v)
            #expect(replay.status == 400 && replay.json["error"] as? String == "invalid_grant")
            #expect((replay.json["error_description"] as? String)?.contains("already used") == true)
            #expect(try await Self.introspect(s, c, access) == false, "the replay revoked the first use's access token")
            #expect(try await Self.refresh(s, c, refresh).json["error"] as? String == "invalid_grant")

            // A leaked code presented by another client, or with another redirect_uri or verifier, is refused
            // without being spent: the real client's exchange then succeeds and is no replay.
            let code2 = try #require(try await Self.code(b, c, challenge: ch).code)
            let stolen = try await Self.exchange(s, other, code: code2, verifier: v)
            #expect(stolen.status == 400 && stolen.json["error"] as? String == "invalid_grant", "another client's code")
            let moved = try await Self.exchange(s, c, code: code2, verifier: v, redirectURI: Self.loopback)
            #expect(moved.status == 400 && moved.json["error"] as? String == "invalid_grant", "another redirect_uri")
            let guessed = try await Self.exchange(s, c, code: code2, verifier: Self.verifier().0)
            #expect(guessed.status == 400 && guessed.json["error"] as? String == "invalid_grant", "another verifier")
            let real = try await Self.exchange(s, c, code: code2, verifier: v)
            #expect(real.status == 200 && real.json["access_token"] is String, "\(real.json)")
        }
    }

    @Test("an expired code is refused")
    func expiredCode() async throws {
        try await Self.withServer(env: ["APPLINKS_OAUTH2_CODE_LIFETIME_SECONDS": "30"]) { s in
            let c = try await Self.register(s)
            let b = try await Self.loggedIn(s)
            // Two codes issued together: the one exchanged within its lifetime works, the other not after it.
            let (v1, ch1) = Self.verifier()
            let (v2, ch2) = Self.verifier()
            let first = try #require(try await Self.code(b, c, challenge: ch1).code)
            let second = try #require(try await Self.code(b, c, challenge: ch2).code)
            let inTime = try await Self.exchange(s, c, code: first, verifier: v1)
            #expect(inTime.status == 200, "\(inTime.json)")
            s.advanceStoreClock(by: 31)
            let r = try await Self.exchange(s, c, code: second, verifier: v2)
            #expect(r.status == 400 && r.json["error"] as? String == "invalid_grant", "\(r.json)")
            #expect((r.json["error_description"] as? String)?.contains("expired") == true, "\(r.json)")
        }
    }

    @Test("PKCE: a verifier without a challenge, a challenge without a verifier, plain, a wrong verifier, a public client without it")
    func pkce() async throws {
        try await Self.withServer { s in
            let c = try await Self.register(s)
            let b = try await Self.loggedIn(s)
            let (v, ch) = Self.verifier()

            let noChallenge = try #require(try await Self.code(b, c).code, "a confidential client may omit PKCE by default")
            let r1 = try await Self.exchange(s, c, code: noChallenge, verifier: v)
            #expect(r1.status == 400 && r1.json["error"] as? String == "invalid_grant")

            let noVerifier = try #require(try await Self.code(b, c, challenge: ch).code)
            let r2 = try await Self.exchange(s, c, code: noVerifier)
            #expect(r2.status == 400 && r2.json["error"] as? String == "invalid_grant")

            let plain = try await Self.code(b, c, challenge: v, method: "plain")
            #expect(plain.code == nil && plain.location.hasPrefix(Self.redirect + "?error=invalid_request"), "\(plain.location)")
            #expect(plain.location.contains("state=xyz") && plain.location.contains("iss="))
            let implicitPlain = try await Self.code(b, c, challenge: ch, method: nil)
            #expect(implicitPlain.location.contains("error=invalid_request"), "a missing method means plain, which is refused")

            let wrong = try #require(try await Self.code(b, c, challenge: ch).code)
            let r3 = try await Self.exchange(s, c, code: wrong, verifier: Self.verifier().verifier)
            #expect(r3.status == 400 && r3.json["error"] as? String == "invalid_grant")

            let pub = try await Self.register(s, type: "public")
            #expect(pub.secret == nil)
            let refused = try await Self.code(b, pub)
            #expect(refused.location.contains("error=invalid_request") && refused.location.contains("PKCE"), "\(refused.location)")
            let ok = try #require(try await Self.code(b, pub, challenge: ch).code)
            let r4 = try await Self.post(
                s, "/rest/oauth2/latest/token",
                ["grant_type": "authorization_code", "code": ok, "redirect_uri": Self.redirect, "client_id": pub.id, "code_verifier": v])
            #expect(r4.status == 200 && r4.json["access_token"] != nil, "\(r4.json)")
        }
    }

    @Test("reusing a rotated refresh token revokes the whole grant")
    func refreshReuse() async throws {
        try await Self.withServer { s in
            let c = try await Self.register(s)
            let b = try await Self.loggedIn(s)
            let (v, ch) = Self.verifier()
            let code = try #require(try await Self.code(b, c, challenge: ch).code)
            let t1 = try await Self.exchange(s, c, code: code, verifier: v).json
            let rt1 = try #require(t1["refresh_token"] as? String)
            let t2 = try await Self.refresh(s, c, rt1)
            #expect(t2.status == 200 && t2.headers["Cache-Control"].first == "no-store")
            let rt2 = try #require(t2.json["refresh_token"] as? String), at2 = try #require(t2.json["access_token"] as? String)
            #expect(rt2 != rt1)
            let reuse = try await Self.refresh(s, c, rt1)
            #expect(reuse.status == 400 && reuse.json["error"] as? String == "invalid_grant")
            #expect((reuse.json["error_description"] as? String)?.contains("revoked") == true)
            #expect(try await Self.introspect(s, c, at2) == false)
            #expect(try await Self.refresh(s, c, rt2).json["error"] as? String == "invalid_grant")
            #expect(try await s.applinks("users", "grants", "alice", "--json").jsonArray?.isEmpty == true)
        }
    }

    @Test("a wrong client secret (401 with WWW-Authenticate over Basic), consent without CSRF, and a denial")
    func clientsAndConsent() async throws {
        try await Self.withServer { s in
            let c = try await Self.register(s)
            let basic = try await Self.post(
                s, "/rest/oauth2/latest/token", ["grant_type": "authorization_code", "code": "x"], basic: (c.id, "wrong"))
            #expect(basic.status == 401 && basic.json["error"] as? String == "invalid_client")
            #expect(basic.headers["WWW-Authenticate"].first?.hasPrefix("Basic") == true)
            let post = try await Self.post(
                s, "/rest/oauth2/latest/token",
                ["grant_type": "authorization_code", "code": "x", "client_id": c.id, "client_secret": "wrong"])
            #expect(post.status == 400 && post.json["error"] as? String == "invalid_client" && post.headers["WWW-Authenticate"].isEmpty)
            let grant = try await Self.post(s, "/rest/oauth2/latest/token", ["grant_type": "password"], basic: (c.id, c.secret ?? ""))
            #expect(grant.status == 400 && grant.json["error"] as? String == "unsupported_grant_type")

            let b = try await Self.loggedIn(s)
            let (_, ch) = Self.verifier()
            let page = try await Self.authorize(
                b,
                [
                    "response_type": "code", "client_id": c.id, "redirect_uri": Self.redirect, "code_challenge": ch,
                    "code_challenge_method": "S256",
                ])
            let consent = try #require(Browser.hidden("consent", in: page.body))
            let forged = try await b.request("POST", "/rest/oauth2/latest/authorize", form: ["consent": consent, "decision": "allow"])
            #expect(forged.status == 403 && forged.headers["Location"].isEmpty, "consent without the CSRF token")
            let denied = try await Self.code(b, c, challenge: ch, decision: "deny")
            #expect(
                denied.code == nil && denied.location.hasPrefix(Self.redirect + "?error=access_denied")
                    && denied.location.contains("state=xyz"))
        }
    }

    @Test("client_credentials only where the link allows it; introspection needs a client; metadata (RFC 8414)")
    func clientCredentials() async throws {
        try await Self.withServer { s in
            let plain = try await Self.register(s)
            let refused = try await Self.post(
                s, "/rest/oauth2/latest/token", ["grant_type": "client_credentials"], basic: (plain.id, plain.secret ?? ""))
            #expect(refused.status == 400 && refused.json["error"] as? String == "unauthorized_client")
            let c = try await Self.register(s, clientCredentials: true)
            let r = try await Self.post(
                s, "/rest/oauth2/latest/token", ["grant_type": "client_credentials", "scope": "REPO_READ"], basic: (c.id, c.secret ?? ""))
            #expect(r.status == 200 && r.json["refresh_token"] == nil && r.json["scope"] as? String == "REPO_READ", "\(r.json)")
            let token = try #require(r.json["access_token"] as? String)
            let info = try await Self.post(s, "/rest/oauth2/latest/introspect", ["token": token], basic: (c.id, c.secret ?? ""))
            #expect(info.json["active"] as? Bool == true && info.json["sub"] as? String == c.id && info.json["username"] == nil)
            let anonymous = try await Self.post(s, "/rest/oauth2/latest/introspect", ["token": token])
            #expect(anonymous.status == 400 && anonymous.json["error"] as? String == "invalid_client")
            // Another client learns nothing of this token; a client whose link makes it a resource server does.
            let nosy = try await Self.post(s, "/rest/oauth2/latest/introspect", ["token": token], basic: (plain.id, plain.secret ?? ""))
            #expect(nosy.status == 200 && nosy.json.count == 1 && nosy.json["active"] as? Bool == false, "\(nosy.json)")
            let api = try await Self.register(s, resourceServer: true)
            let allowed = try await Self.post(s, "/rest/oauth2/latest/introspect", ["token": token], basic: (api.id, api.secret ?? ""))
            #expect(allowed.json["active"] as? Bool == true && allowed.json["client_id"] as? String == c.id, "\(allowed.json)")
            let badScope = try await Self.post(
                s, "/rest/oauth2/latest/token", ["grant_type": "client_credentials", "scope": "REPO_ADMIN"], basic: (c.id, c.secret ?? ""))
            #expect(badScope.json["error"] as? String == "invalid_scope")

            let meta = try await s.get("/.well-known/oauth-authorization-server")
            let m = try #require(try JSONSerialization.jsonObject(with: Data(meta.body.utf8)) as? [String: Any])
            #expect(m["issuer"] as? String == "http://127.0.0.1:\(s.port)")
            #expect(m["token_endpoint"] as? String == "http://127.0.0.1:\(s.port)/rest/oauth2/latest/token")
            #expect(m["code_challenge_methods_supported"] as? [String] == ["S256"])
            #expect(m["authorization_response_iss_parameter_supported"] as? Bool == true)
        }
    }

    @Test("tokens on the admin API: SYSTEM_ADMIN of an admin only; the user revokes a grant from their side")
    func adminAPIAndUserSide() async throws {
        try await Self.withServer { s in
            let c = try await Self.register(s)
            let (v, ch) = Self.verifier()
            func token(_ user: String, scope: String) async throws -> String {
                let b = try await Self.loggedIn(s, user)
                let page = try await Self.authorize(
                    b,
                    [
                        "response_type": "code", "client_id": c.id, "redirect_uri": Self.redirect, "scope": scope, "code_challenge": ch,
                        "code_challenge_method": "S256",
                    ])
                let answer = try await b.request(
                    "POST", "/rest/oauth2/latest/authorize",
                    form: [
                        "csrf_token": try #require(Browser.hidden("csrf_token", in: page.body)),
                        "consent": try #require(Browser.hidden("consent", in: page.body)), "decision": "allow",
                    ])
                let location = try #require(answer.headers["Location"].first)
                let code = try #require(URLComponents(string: location)?.queryItems?.first { $0.name == "code" }?.value)
                return try #require(try await Self.exchange(s, c, code: code, verifier: v).json["access_token"] as? String)
            }
            let api = { (t: String) in try await s.get("/rest/applinks/3.0/links", headers: [("Authorization", "Bearer \(t)")]).status }
            #expect(try await api(try await token("alice", scope: "SYSTEM_ADMIN")) == 200)
            #expect(try await api(try await token("alice", scope: "REPO_READ")) == 403, "no SYSTEM_ADMIN scope")
            #expect(try await api(try await token("bob", scope: "SYSTEM_ADMIN")) == 403, "bob is no administrator")

            // Bob revokes his grant on his own page; alice's stay.
            let bob = try await Self.loggedIn(s, "bob")
            let page = try await bob.request("GET", "/rest/oauth2/latest/grants")
            #expect(page.status == 200 && page.body.contains("Example app"))
            let grant = try #require(page.body.firstMatch(of: /name="grant" value="([^"]+)"/)?.output.1)
            let revoked = try await bob.request(
                "POST", "/rest/oauth2/latest/grants",
                form: ["grant": String(grant), "csrf_token": try #require(Browser.hidden("csrf_token", in: page.body))])
            #expect(revoked.status == 303)
            #expect(try await s.applinks("users", "grants", "bob", "--json").jsonArray?.isEmpty == true)
            let alices = try #require(try await s.applinks("users", "grants", "alice", "--json").jsonArray)
            #expect(alices.count == 2)
            let id = try #require(alices.first?["id"] as? String)
            let revokedByCLI = try await s.applinks("users", "revoke-grant", "alice", id)
            #expect(revokedByCLI.status == 0, "\(revokedByCLI.stdout)\(revokedByCLI.stderr)")
            let left = try await s.applinks("users", "grants", "alice", "--json")
            #expect(left.jsonArray?.count == 1, "\(left.stdout)\(left.stderr)")
            #expect(try await s.applinks("users", "revoke-grant", "alice", "no-such-grant").status != 0)
        }
    }

    @Test("wizard refusals, view-credentials, rotate-secret, and a deployment that shows a secret only once")
    func wizardAndActions() async throws {
        try await Self.withServer { s in
            for (sets, message) in [
                (["redirect_url=http://app.example.com/cb", "scopes=REPO_READ"], "only https is allowed"),
                (["redirect_url=https://app.example.com/cb#frag", "scopes=REPO_READ"], "fragment"),
                (["redirect_url=https://app.example.com/cb", "scopes=TELEPORT"], "TELEPORT"),
                (
                    ["redirect_url=https://app.example.com/cb", "scopes=REPO_READ", "client_type=public", "allow_client_credentials=true"],
                    "public client"
                ),
            ] {
                var args = ["create", "oauth2-incoming", "--no-input", "--set", "name=X"]
                for s in sets { args += ["--set", s] }
                let r = try await offPool { [args] in try runCommand(BuildProducts.applinks, args, environment: s.env) }
                #expect(r.status != 0 && r.stderr.contains(message), "\(sets): \(r.stderr)")
            }
            #expect(try await s.applinks("list", "--json").jsonArray?.isEmpty == true, "nothing half-created")

            let c = try await Self.register(s, clientCredentials: true)
            let view = try #require(
                try await s.applinks("action", c.link, "view-credentials", "--json").jsonObject?["output"] as? [String: Any])
            #expect(view["client_secret"] as? String == c.secret && view["client_id"] as? String == c.id)
            let rotated = try #require(
                try await s.applinks("action", c.link, "rotate-secret", "--yes", "--json").jsonObject?["output"] as? [String: Any])
            let fresh = try #require(rotated["client_secret"] as? String)
            #expect(fresh != c.secret)
            let old = try await Self.post(
                s, "/rest/oauth2/latest/token", ["grant_type": "client_credentials"], basic: (c.id, c.secret ?? ""))
            #expect(old.status == 401)
            let new = try await Self.post(s, "/rest/oauth2/latest/token", ["grant_type": "client_credentials"], basic: (c.id, fresh))
            #expect(new.status == 200)
            #expect(try await s.applinks("status", "--all").status == 0)
            #expect(((try await Self.onlyLinkStatus(s))) == "CONNECTED")
            #expect(try await s.applinks("delete", c.link, "--yes").status == 0)
            // The CLI deleted it in another process: the server's change feed tells it, as it tells it of any change.
            let gone = await s.eventually(within: .seconds(30)) {
                let r = try? await Self.post(
                    s, "/rest/oauth2/latest/introspect", ["token": new.json["access_token"] as? String ?? ""], basic: (c.id, fresh))
                return r?.status == 401
            }
            #expect(gone != nil, "a deleted link's client no longer authenticates")

            try await Self.withServer(env: ["APPLINKS_OAUTH2_ALLOW_VIEWING_SECRETS": "false"]) { once in
                let c2 = try await Self.register(once)
                #expect(c2.secret != nil)
                let refused = try await once.applinks("action", c2.link, "view-credentials")
                #expect(refused.status != 0 && refused.stderr.contains("only once"), "\(refused.stderr)")
            }
        }
    }

    static func onlyLinkStatus(_ s: some LoopbackServer) async throws -> String? {
        let links = try #require(try await s.applinks("list", "--json").jsonArray)
        return (links.first?["status"] as? [String: Any])?["category"] as? String
    }

    @Test("a disabled link's application can neither get nor use tokens, and works again once enabled")
    func disabledLink() async throws {
        try await Self.withServer { s in
            let c = try await Self.register(s, clientCredentials: true)
            let issue = {
                try await Self.post(s, "/rest/oauth2/latest/token", ["grant_type": "client_credentials"], basic: (c.id, c.secret ?? ""))
            }
            let token = try #require(try await issue().json["access_token"] as? String)
            let whoami = { try await s.get("/rest/oauth2/latest/whoami", headers: [("Authorization", "Bearer \(token)")]).status }
            #expect(try await s.applinks("edit", c.link, "--set", "enabled=false").status == 0)
            // The CLI changed it in another process: the server hears of it through the change feed.
            let refused = await s.eventually(within: .seconds(15)) { (try? await issue().status) == 401 }
            #expect(refused != nil, "a disabled link's client no longer authenticates")
            let r = try await issue()
            #expect(
                r.json["error"] as? String == "invalid_client" && (r.json["error_description"] as? String)?.contains("disabled") == true)
            #expect(try await Self.introspect(s, c, token) == nil, "introspection needs the client, which is refused")
            let b = try await Self.loggedIn(s)
            let page = try await Self.authorize(b, ["response_type": "code", "client_id": c.id, "redirect_uri": Self.redirect])
            #expect(page.status == 403 && page.headers["Location"].isEmpty && page.body.contains("disabled"))

            #expect(try await s.applinks("edit", c.link, "--set", "enabled=true").status == 0)
            let back = await s.eventually(within: .seconds(15)) { (try? await issue().status) == 200 }
            #expect(back != nil)
            #expect(try await whoami() == 401, "a client-credentials token acts for no user")
            #expect(try await Self.introspect(s, c, token) == true, "its tokens work again")
        }
    }

    @Test("after the flow, the server's log holds no code, token or client secret")
    func logs() async throws {
        try await Self.withServer { s in
            let c = try await Self.register(s)
            let b = try await Self.loggedIn(s)
            let (v, ch) = Self.verifier()
            let code = try #require(try await Self.code(b, c, challenge: ch).code)
            let t = try await Self.exchange(s, c, code: code, verifier: v).json
            let refreshed = try await Self.refresh(s, c, t["refresh_token"] as? String ?? "").json
            _ = try await Self.introspect(s, c, refreshed["access_token"] as? String ?? "")
            let log = s.log
            #expect(log.contains("/rest/oauth2/latest/token"), "the access log is on")
            for secret in [
                code, c.secret ?? "?", t["access_token"], t["refresh_token"], refreshed["access_token"], refreshed["refresh_token"],
            ]
            .compactMap({ $0 as? String }) {
                #expect(!log.contains(secret))
            }
        }
    }
}
