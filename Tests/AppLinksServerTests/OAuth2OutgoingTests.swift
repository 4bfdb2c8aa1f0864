import AppLinksCore
import AppLinksHost
import AppLinksJSON
import Foundation
import TestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

extension ServerProcessTests {
    /// The `oauth2-outgoing` link type: this host as an OAuth 2.0 client, against two real providers: a second
    /// AppLinks host's `oauth2-incoming`, and an authorization server built on Python authlib.
    @Suite("OAuth 2.0 outgoing: the host as client")
    struct OAuth2OutgoingTests {
        static let password = "correct horse battery"
        static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

        static func callback(_ s: RunningServer) -> String { "http://127.0.0.1:\(s.port)/rest/oauth2-client/latest/callback" }

        /// authlib_provider.py on a free port, until the test ends.
        final class AuthlibProvider {
            let process = Process()
            let port: Int
            var base: String { "http://127.0.0.1:\(port)" }

            /// `refreshedExpiresIn` is the lifetime of tokens a refresh issues (`expiresIn` when nil).
            init(
                clientID: String, secret: String, redirect: String, expiresIn: Int, refreshedExpiresIn: Int? = nil, rotate: String
            ) async throws {
                port = try freeLoopbackPort()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                process.arguments = [
                    "python3", OAuth2OutgoingTests.here.appendingPathComponent("authlib_provider.py").path, "\(port)", clientID, secret,
                    redirect, "\(expiresIn)" + (refreshedExpiresIn.map { ",\($0)" } ?? ""), rotate,
                ]
                process.standardOutput = FileHandle.nullDevice
                process.standardError = FileHandle.nullDevice
                try process.run()
                for _ in 0..<100 {
                    if (try? await stats()) != nil { return }
                    try await Task.sleep(for: .milliseconds(100))
                }
                stop()
                throw CompileError(message: "authlib_provider.py did not start")
            }

            func stats() async throws -> [String: Int] {
                let (data, _) = try await URLSession.shared.data(from: URL(string: base + "/stats")!)
                return try JSONSerialization.jsonObject(with: data) as? [String: Int] ?? [:]
            }

            func post(_ path: String) async throws -> Int {
                var request = URLRequest(url: URL(string: base + path)!)
                request.httpMethod = "POST"
                let (_, response) = try await URLSession.shared.data(for: request)
                return (response as? HTTPURLResponse)?.statusCode ?? 0
            }

            func stop() {
                guard process.isRunning else { return }
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }

            deinit { stop() }
        }

        /// A custom-provider link to an authlib provider.
        static func link(
            _ c: RunningServer, to p: AuthlibProvider, secret: String = "authlib-secret", name: String = "Authlib", issuer: String? = nil
        ) throws -> String {
            let r = try c.cli(
                [
                    "create", "oauth2-outgoing", "--set", "name=\(name)", "--set", "provider=custom", "--set",
                    "authorization_endpoint=\(p.base)/authorize", "--set", "token_endpoint=\(p.base)/token", "--set",
                    "revocation_endpoint=\(p.base)/revoke", "--set", "status_url=\(p.base)/api/me", "--set", "client_id=authlib-client",
                    "--set", "client_secret=\(secret)", "--set", "scopes=profile", "--json",
                ] + (issuer.map { ["--set", "issuer=\($0)"] } ?? []))
            return try #require(r.jsonObject?["id"] as? String, "\(r.stdout)\(r.stderr)")
        }

        /// Runs `authorize`, then the browser: returns the callback's status and page.
        static func authorize(
            _ c: RunningServer, _ link: String, kind: String, decision: String = "allow", user: [String] = []
        ) async throws -> (status: Int, page: String) {
            let started = try await c.applinks("action", link, "authorize", "--json")
            let url = try #require((started.jsonObject?["output"] as? [String: Any])?["authorization_url"] as? String, "\(started.stderr)")
            #expect(url.contains("code_challenge_method=S256") && url.contains("state="))
            let r = try await offPool {
                try runCommand(
                    URL(fileURLWithPath: "/usr/bin/env"),
                    ["python3", here.appendingPathComponent("oauth2_outgoing_browser.py").path, kind, url, decision] + user)
            }
            let report = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stderr)")
            return (report["status"] as? Int ?? 0, report["page"] as? String ?? "")
        }

        /// For a failure's message: the provider's grant and token keys (hashes, never tokens) with their expiry,
        /// and the ends of both logs.
        static func providerState(_ p: RunningServer) -> String {
            let dump = try? runCommand(
                URL(fileURLWithPath: "/usr/bin/env"),
                [
                    "python3", "-c",
                    "import sqlite3,sys; db=sqlite3.connect(sys.argv[1]); "
                        + "[print(*r) for r in db.execute(\"select key, expires_at from plugin_kv where namespace='oauth2-incoming'\")]",
                    p.home.appendingPathComponent("applinks.db").path,
                ])
            return "provider keys:\n\(dump?.stdout ?? "?")\(dump?.stderr ?? "")\nprovider log:\n\(p.log.suffix(3000))"
        }

        static func output(_ r: (status: Int32, json: [String: Any], stderr: String)) -> [String: Any] {
            r.json["output"] as? [String: Any] ?? [:]
        }

        /// Waits until the link's access token is due for renewal: the expiry its `token-status` reports, less the 60 s
        /// within which the link type renews. The wait is as long as the token's own lifetime, whatever the machine.
        static func waitUntilDue(_ c: RunningServer, _ link: String) async throws {
            let status = Self.output(try c.action(link, "token-status"))
            let expires = try #require((status["expires_at"] as? String).flatMap(Timestamp.parse), "\(status)")
            try await Renewal.waitUntilDue(expiry: expires)
        }

        @Test(
            "against a second AppLinks host: discovery, authorize in a browser, test-request, a forced expiry refreshes, a revoked grant is ACCESS_ERROR"
        )
        func againstAppLinksProvider() async throws {
            let (c, admin) = try RunningServer.allowingLoopback()
            // The provider issues access tokens for 62 s: with the 60 s clock-skew margin they need refreshing after 2 s.
            let pPort = try freeLoopbackPort()
            let p = try RunningServer(
                extraEnv: [
                    "APPLINKS_BASE_URL": "http://127.0.0.1:\(pPort)", "APPLINKS_PLUGINS_SEARCH_EXECUTABLE_DIRECTORY": "true",
                    "APPLINKS_OAUTH2_ACCESS_TOKEN_LIFETIME_SECONDS": "62",
                ], listen: "127.0.0.1:\(pPort)")
            _ = try p.token(user: "alice", admin: false)
            let registered = try p.cli(
                "create", "oauth2-incoming", "--set", "name=Client host", "--set", "redirect_url=\(Self.callback(c))", "--set",
                "scopes=REPO_READ", "--json")
            let credentials = try #require(registered.jsonObject?["credentials"] as? [String: Any], "\(registered.stderr)")
            let created = try c.cli(
                "create", "oauth2-outgoing", "--set", "name=Provider host", "--set", "provider=applinks", "--set",
                "base_url=http://127.0.0.1:\(pPort)", "--set", "client_id=\(credentials["client_id"] as? String ?? "")", "--set",
                "client_secret=\(credentials["client_secret"] as? String ?? "")", "--set", "scopes=REPO_READ", "--json")
            let link = try #require(created.jsonObject?["id"] as? String, "\(created.stdout)\(created.stderr)")
            let config = (created.jsonObject?["config"] as? [String: Any]) ?? [:]
            #expect(config["token_endpoint"] as? String == "http://127.0.0.1:\(pPort)/rest/oauth2/latest/token", "\(created.stdout)")
            #expect(!created.stdout.contains(credentials["client_secret"] as? String ?? "-"), "the secret is not shown back")

            // The CLI checked the new link before it returned: the table shows why it is not usable yet.
            #expect(try await c.listedStatus(link, admin: admin) == "ACCESS_ERROR/LOCAL_AUTH_TOKEN_REQUIRED")
            let before = try await c.checkStatus(link, admin: admin)
            #expect(before.0 == "ACCESS_ERROR/LOCAL_AUTH_TOKEN_REQUIRED" && before.1.contains("authorize"), "\(before)")

            // The provider's metadata says it always sends iss (RFC 9207): an answer without it, or with another
            // server's, is refused and stores nothing.
            for forged in ["-", "http://127.0.0.1:1"] {
                let mixedUp = try await Self.authorize(
                    c, link, kind: "applinks", decision: "allow+\(forged)", user: ["alice", Self.password])
                #expect(mixedUp.status == 400 && mixedUp.page.contains("Wrong authorization server"), "\(forged): \(mixedUp)")
                #expect(try await c.checkStatus(link, admin: admin).0 == "ACCESS_ERROR/LOCAL_AUTH_TOKEN_REQUIRED")
            }
            let done = try await Self.authorize(c, link, kind: "applinks", user: ["alice", Self.password])
            #expect(done.status == 200 && done.page.contains("is authorized"), "\(done)")
            // The callback has the server check the link at once, without anyone running `status`.
            #expect(try await c.listedStatus(link, admin: admin, becomes: "CONNECTED") == "CONNECTED")
            #expect(try await c.checkStatus(link, admin: admin).0 == "CONNECTED")

            let whoami = "http://127.0.0.1:\(pPort)/rest/oauth2/latest/whoami"
            let first = try c.action(link, "test-request", "--arg", "url=\(whoami)")
            #expect(
                Self.output(first)["status"] as? Int == 200 && (Self.output(first)["body"] as? String)?.contains("alice") == true,
                "\(first)")
            let tokenStatus = try c.cli("action", link, "token-status", "--json")
            #expect(
                tokenStatus.stdout.contains(#""refreshable" : true"#) && !tokenStatus.stdout.contains("access_token"),
                "\(tokenStatus.stdout)")

            // On a busy machine the first request may already have needed a refresh; what counts is that a token due
            // for renewal is refreshed before it is used.
            try await Self.waitUntilDue(c, link)
            let refreshesBefore = try #require(Self.output(try c.action(link, "token-status"))["refreshes"] as? Int)
            let second = try c.action(link, "test-request", "--arg", "url=\(whoami)")
            #expect(Self.output(second)["status"] as? Int == 200, "\(second)")
            let refreshesAfter = try #require(Self.output(try c.action(link, "token-status"))["refreshes"] as? Int)
            #expect(refreshesAfter > refreshesBefore, "the token due for renewal was refreshed: \(refreshesBefore) → \(refreshesAfter)")

            // The user revokes the grant at the provider: our next check finds out.
            let grants = try #require(try p.cli("users", "grants", "alice", "--json").jsonArray)
            try #require(grants.count == 1)
            let revoked = try p.cli("users", "revoke-grant", "alice", grants[0]["id"] as? String ?? "")
            #expect(revoked.status == 0, "\(revoked.stdout) \(revoked.stderr)")
            // The provider's server caches tokens for up to a second, so a revocation made by its CLI reaches it within one.
            var after = try await c.checkStatus(link, admin: admin)
            for _ in 0..<20 where after.0 == "CONNECTED" {
                try await Task.sleep(for: .milliseconds(100))
                after = try await c.checkStatus(link, admin: admin)
            }
            #expect(
                after.0 == "ACCESS_ERROR/LOCAL_AUTH_TOKEN_REQUIRED" && after.1.contains("Run `applinks action \(link) authorize`"),
                "\(after)\n\(Self.providerState(p))")
            let refused = try c.action(link, "test-request", "--arg", "url=\(whoami)")
            #expect(refused.status != 0 && refused.stderr.contains("authorize"), "\(refused)")
            #expect(
                !c.log.contains(credentials["client_secret"] as? String ?? "-") && !c.log.contains("code="), "no secret or code in the log")
        }

        @Test("against authlib: authorize, test-request, a forced expiry refreshes with rotation, revoke reaches the provider")
        func againstAuthlib() async throws {
            let (c, admin) = try RunningServer.allowingLoopback()
            let p = try await AuthlibProvider(
                clientID: "authlib-client", secret: "authlib-secret", redirect: Self.callback(c), expiresIn: 61, rotate: "yes")
            defer { p.stop() }
            let link = try Self.link(c, to: p)
            let done = try await Self.authorize(c, link, kind: "authlib")
            #expect(done.status == 200, "\(done)")
            let me = try c.action(link, "test-request", "--arg", "url=\(p.base)/api/me")
            #expect(Self.output(me)["status"] as? Int == 200 && (Self.output(me)["body"] as? String)?.contains("alice") == true, "\(me)")
            // Counted from just before each use: on a busy machine an earlier request may already have refreshed.
            try await Self.waitUntilDue(c, link)
            let beforeUse = try await p.stats()["refreshes"] ?? 0
            #expect(Self.output(try c.action(link, "test-request", "--arg", "url=\(p.base)/api/me"))["status"] as? Int == 200)
            #expect(try await p.stats()["refreshes"] ?? 0 > beforeUse, "a token due for renewal is refreshed before it is used")
            try await Self.waitUntilDue(c, link)
            let beforeCheck = try await p.stats()["refreshes"] ?? 0
            // The rotated refresh token works; the first one was revoked by authlib.
            #expect(try await c.checkStatus(link, admin: admin).0 == "CONNECTED")
            #expect(try await p.stats()["refreshes"] ?? 0 > beforeCheck)

            // Revoked at the provider by the user: the next check finds out, and names the fix.
            _ = try await p.post("/admin/revoke-all")
            let revokedThere = try await c.checkStatus(link, admin: admin)
            #expect(revokedThere.0 == "ACCESS_ERROR/LOCAL_AUTH_TOKEN_REQUIRED" && revokedThere.1.contains("authorize"), "\(revokedThere)")
            #expect(revokedThere.1.contains("no longer accepts") && !revokedThere.1.contains("not been authorized"), "\(revokedThere)")
            let afterRevocation = try c.action(link, "test-request", "--arg", "url=\(p.base)/api/me")
            #expect(afterRevocation.status == 9 && afterRevocation.stderr.contains("no longer accepts"), "\(afterRevocation)")
            let invalidGrants = try await p.stats()["invalid_grants"] ?? 0

            // Authorized again, then revoked from here: the provider is told (RFC 7009).
            #expect(try await Self.authorize(c, link, kind: "authlib").status == 200)
            // revoke is destructive: from a script it needs --yes.
            let unconfirmed = try c.action(link, "revoke")
            #expect(unconfirmed.status == 2 && unconfirmed.stderr.contains("--yes"), "\(unconfirmed)")
            let revoked = try c.action(link, "revoke", "--yes")
            #expect(revoked.status == 0 && (revoked.json["message"] as? String)?.contains("at the provider") == true, "\(revoked)")
            #expect(try await p.stats()["revocations"] == 1)
            let after = try await c.checkStatus(link, admin: admin)
            #expect(after.0 == "ACCESS_ERROR/LOCAL_AUTH_TOKEN_REQUIRED" && after.1.contains("The authorization ended"), "\(after)")
            // A remote's refusal is not bad input: exit 9, with why the authorization ended.
            let ended = try c.action(link, "test-request", "--arg", "url=\(p.base)/api/me")
            #expect(ended.status == 9 && ended.stderr.contains("The authorization ended") && ended.stderr.contains("revoked"), "\(ended)")
            #expect(try await p.stats()["invalid_grants"] == invalidGrants, "no status check sent a made-up refresh token")

            // Found through RFC 8414 with the `applinks` provider, a server that is not an AppLinks host gets no
            // made-up status URL (AppLinks' whoami would answer 404 there): the admin's, or none.
            func discovered(_ name: String, _ extra: [String]) throws -> [String: Any] {
                let r = try c.cli(
                    [
                        "create", "oauth2-outgoing", "--set", "name=\(name)", "--set", "provider=applinks", "--set", "base_url=\(p.base)",
                        "--set", "client_id=authlib-client", "--set", "client_secret=authlib-secret", "--set", "scopes=profile", "--json",
                    ] + extra)
                return try #require(r.jsonObject, "\(r.stdout)\(r.stderr)")
            }
            let bare = try discovered("Discovered", [])
            #expect((bare["config"] as? [String: Any])?["status_url"] == nil, "\(bare)")
            let given = try discovered("Discovered with status", ["--set", "status_url=\(p.base)/api/me"])
            #expect((given["config"] as? [String: Any])?["status_url"] as? String == "\(p.base)/api/me", "\(given)")
            let bareID = try #require(bare["id"] as? String)
            #expect(try await Self.authorize(c, bareID, kind: "authlib").status == 200)
            let bareStatus = try await c.checkStatus(bareID, admin: admin)
            #expect(bareStatus.0 == "CONNECTED" && bareStatus.1.contains("no status URL"), "\(bareStatus)")
        }

        @Test("a custom provider with an issuer needs iss in every answer (RFC 9207); one without an issuer is created with a warning")
        func customIssuer() async throws {
            let (c, admin) = try RunningServer.allowingLoopback()
            let p = try await AuthlibProvider(
                clientID: "authlib-client", secret: "authlib-secret", redirect: Self.callback(c), expiresIn: 3600, rotate: "yes")
            defer { p.stop() }
            let plain = try c.cli(
                "create", "oauth2-outgoing", "--set", "name=No issuer", "--set", "provider=custom", "--set",
                "authorization_endpoint=\(p.base)/authorize", "--set", "token_endpoint=\(p.base)/token", "--set",
                "client_id=authlib-client", "--set", "client_secret=authlib-secret")
            #expect(plain.status == 0 && plain.stderr.contains("mix-up"), "\(plain.stdout) \(plain.stderr)")
            let link = try Self.link(c, to: p, name: "With issuer", issuer: p.base)
            // authlib sends no iss: the answer may come from any server, so it is refused.
            for decision in ["allow", "allow+http://127.0.0.1:1"] {
                let refused = try await Self.authorize(c, link, kind: "authlib", decision: decision)
                #expect(refused.status == 400 && refused.page.contains("Wrong authorization server"), "\(decision): \(refused)")
            }
            // The refusal is audited with its reason, and the status says why instead of "not authorized yet".
            let why = try await c.checkStatus(link, admin: admin)
            #expect(why.0 == "ACCESS_ERROR/LOCAL_AUTH_TOKEN_REQUIRED" && why.1.contains("RFC 9207"), "\(why)")
            #expect(try c.cli("audit", "--json").stdout.contains("oauth2-authorization-refused"))
            let done = try await Self.authorize(c, link, kind: "authlib", decision: "allow+\(p.base)")
            #expect(done.status == 200, "\(done)")
            #expect(try await c.checkStatus(link, admin: admin).0 == "CONNECTED")

            // The token goes to the provider's origins only, and to those the admin adds.
            let elsewhere = try freeLoopbackPort()
            for url in ["http://127.0.0.1:\(elsewhere)/api/me", "https://127.0.0.1:\(p.port)/api/me", "http://localhost:\(p.port)/api/me"] {
                let refused = try c.cli("action", link, "test-request", "--arg", "url=\(url)")
                #expect(refused.status != 0 && refused.stderr.contains("api_origins"), "\(url): \(refused.stderr)")
            }
            #expect(try c.cli("edit", link, "--set", "config.api_origins=http://127.0.0.1:\(elsewhere)").status == 0)
            let added = try c.cli("action", link, "test-request", "--arg", "url=http://127.0.0.1:\(elsewhere)/api/me")
            #expect(!added.stderr.contains("api_origins"), "an added origin is allowed: \(added.stderr)")
        }

        @Test(
            "failures: a denied consent, a wrong client secret, a provider that does not rotate, one without refresh tokens, one that is down"
        )
        func failures() async throws {
            let (c, admin) = try RunningServer.allowingLoopback()
            let p = try await AuthlibProvider(
                clientID: "authlib-client", secret: "authlib-secret", redirect: Self.callback(c), expiresIn: 61, rotate: "no")
            defer { p.stop() }
            let link = try Self.link(c, to: p)

            let denied = try await Self.authorize(c, link, kind: "authlib", decision: "deny")
            #expect(denied.status == 403 && denied.page.contains("access_denied"), "\(denied)")
            let afterDenial = try await c.checkStatus(link, admin: admin)
            #expect(afterDenial.0 == "ACCESS_ERROR/LOCAL_AUTH_TOKEN_REQUIRED" && afterDenial.1.contains("denied"), "\(afterDenial)")

            // A wrong secret is found at the first authorization, and the link's status then says so: no status
            // check sends the provider a made-up token to find out before.
            let wrong = try Self.link(c, to: p, secret: "not-the-secret", name: "Wrong secret")
            #expect(try await c.checkStatus(wrong, admin: admin).0 == "ACCESS_ERROR/LOCAL_AUTH_TOKEN_REQUIRED")
            #expect(try await p.stats()["invalid_grants"] == 0)
            let wrongCallback = try await Self.authorize(c, wrong, kind: "authlib")
            #expect(wrongCallback.status == 400 && wrongCallback.page.contains("invalid_client"), "\(wrongCallback)")
            #expect(try await c.listedStatus(wrong, admin: admin, becomes: "CONFIG_ERROR/INVALID_CONFIG") == "CONFIG_ERROR/INVALID_CONFIG")
            let wrongStatus = try await c.checkStatus(wrong, admin: admin)
            #expect(wrongStatus.0 == "CONFIG_ERROR/INVALID_CONFIG" && wrongStatus.1.contains("set-credentials"), "\(wrongStatus)")
            let audit = try c.cli("audit", "--json").stdout
            #expect(audit.contains("oauth2-authorization-refused") && audit.contains("invalid_client"), "\(audit)")
            #expect(try c.action(wrong, "set-credentials", "--arg", "client_secret=authlib-secret").status == 0)
            #expect(try await c.checkStatus(wrong, admin: admin).0 == "ACCESS_ERROR/LOCAL_AUTH_TOKEN_REQUIRED", "fixed, not yet authorized")

            // No rotation: the same refresh token serves twice.
            #expect(try await Self.authorize(c, link, kind: "authlib").status == 200)
            // New credentials are tried at once: a wrong secret is refused (exit 9) and changes nothing.
            let badSecret = try c.action(link, "set-credentials", "--arg", "client_secret=still-wrong")
            #expect(badSecret.status == 9 && badSecret.stderr.contains("Nothing was changed"), "\(badSecret)")
            #expect(try await c.checkStatus(link, admin: admin).0 == "CONNECTED")
            let goodSecret = try c.action(link, "set-credentials", "--arg", "client_secret=authlib-secret")
            #expect(goodSecret.status == 0 && (goodSecret.json["message"] as? String)?.contains("accepted") == true, "\(goodSecret)")
            let refreshedBy = try await p.stats()["refreshes"] ?? 0
            let ours = Self.output(try c.action(link, "token-status"))["refreshes"] as? Int ?? 0
            for round in 1...2 {
                try await Self.waitUntilDue(c, link)
                let before = try await p.stats()["refreshes"] ?? 0
                let r = try c.action(link, "test-request", "--arg", "url=\(p.base)/api/me")
                #expect(Self.output(r)["status"] as? Int == 200, "round \(round): \(r)")
                #expect(try await p.stats()["refreshes"] ?? 0 > before, "round \(round)")
            }
            // Every refresh the provider saw is one this host counted: the same refresh token served each time.
            let theirs = (try await p.stats()["refreshes"] ?? 0) - refreshedBy
            #expect((Self.output(try c.action(link, "token-status"))["refreshes"] as? Int ?? 0) - ours == theirs)

            // A provider that gives no refresh token: a warning, then re-authorization once the token expires.
            let once = try await AuthlibProvider(
                clientID: "authlib-client", secret: "authlib-secret", redirect: Self.callback(c), expiresIn: 61, rotate: "none")
            defer { once.stop() }
            let short = try Self.link(c, to: once, name: "No refresh")
            let shortDone = try await Self.authorize(c, short, kind: "authlib")
            #expect(shortDone.status == 200 && shortDone.page.contains("no refresh token"), "\(shortDone)")
            #expect((Self.output(try c.action(short, "token-status"))["warning"] as? String)?.contains("no refresh token") == true)
            try await Self.waitUntilDue(c, short)
            let expired = try await c.checkStatus(short, admin: admin)
            #expect(expired.0 == "ACCESS_ERROR/LOCAL_AUTH_TOKEN_REQUIRED" && expired.1.contains("no refresh token"), "\(expired)")

            p.stop()
            let down = try await c.checkStatus(link, admin: admin)
            #expect(down.0 == "NETWORK_ERROR/CONNECTION_REFUSED" && down.1.contains("127.0.0.1:\(p.port)"), "\(down)")
        }

        @Test("50 concurrent test-requests on an expired token, from the server and from CLI processes, cause exactly one refresh")
        func singleFlightRefresh() async throws {
            let (c, admin) = try RunningServer.allowingLoopback()
            // The first token is due for refresh at once (30 s, within the 60 s margin); the refreshed one lives an
            // hour, so however slowly the fifty calls run, only the first of them needs a refresh.
            let p = try await AuthlibProvider(
                clientID: "authlib-client", secret: "authlib-secret", redirect: Self.callback(c), expiresIn: 30,
                refreshedExpiresIn: 3600, rotate: "yes")
            defer { p.stop() }
            let link = try Self.link(c, to: p)
            #expect(try await Self.authorize(c, link, kind: "authlib").status == 200)
            let url = "\(p.base)/api/me"
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<40 {
                    group.addTask {
                        let r = try await c.send(
                            "POST", "/rest/applinks/3.0/links/\(link)/actions/test-request",
                            headers: [("Authorization", "Bearer \(admin)")],
                            body: #"{"args": {"url": "\#(url)"}}"#)
                        let json = try JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any]
                        return (json?["output"] as? [String: Any])?["status"] as? Int ?? -r.status
                    }
                }
                for _ in 0..<10 {
                    group.addTask {
                        let r = try c.action(link, "test-request", "--arg", "url=\(url)")
                        return Self.output(r)["status"] as? Int ?? -Int(r.status)
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.count == 50 && statuses.allSatisfy { $0 == 200 }, "\(statuses)")
            #expect(try await p.stats()["refreshes"] == 1, "one refresh for all fifty")
            #expect(Self.output(try c.action(link, "token-status"))["refreshes"] as? Int == 1)

            // The host's API, as another link type or an embedding product calls it.
            let deployment = try await Deployment.open(home: DeploymentHome(url: c.home), stores: .embedded, environment: c.env)
            let token = try await deployment.freshAccessToken(forLink: link)
            await deployment.shutdown()
            var request = URLRequest(url: try #require(URL(string: url)))
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
            let (_, response) = try await URLSession.shared.data(for: request)
            #expect((response as? HTTPURLResponse)?.statusCode == 200)
            await #expect(throws: AppLinksError.self) { try await deployment.freshAccessToken(forLink: "no-such-link") }
        }

        @Test("metadata that sends the client secret to another host stops the wizard until the admin confirms that host")
        func metadataOnAnotherHost() async throws {
            let (c, _) = try RunningServer.allowingLoopback()
            let port = try freeLoopbackPort()
            let site = TemporaryDirectory("metadata")
            let wellKnown = site.path(".well-known")
            try FileManager.default.createDirectory(at: wellKnown, withIntermediateDirectories: true)
            try Data(
                #"{"issuer": "http://127.0.0.1:\#(port)", "authorization_endpoint": "http://127.0.0.1:\#(port)/authorize", "token_endpoint": "http://localhost:\#(port)/token"}"#
                    .utf8
            ).write(to: wellKnown.appendingPathComponent("oauth-authorization-server"))
            let server = Process()
            server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            server.arguments = ["python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", site.url.path, "\(port)"]
            server.standardOutput = FileHandle.nullDevice
            server.standardError = FileHandle.nullDevice
            try server.run()
            defer { kill(server.processIdentifier, SIGKILL) }
            let base = [
                "create", "oauth2-outgoing", "--set", "name=Elsewhere", "--set", "provider=applinks", "--set",
                "base_url=http://127.0.0.1:\(port)", "--set", "client_id=a", "--set", "client_secret=b",
            ]
            var refused = try c.cli(base)
            for _ in 0..<50 where refused.stderr.contains("cannot be reached") {
                try await Task.sleep(for: .milliseconds(100))
                refused = try c.cli(base)
            }
            #expect(refused.status != 0 && refused.stderr.contains("confirm_endpoint_host=localhost"), "\(refused.stderr)")
            let confirmed = try c.cli(base + ["--set", "confirm_endpoint_host=localhost", "--json"])
            #expect(confirmed.status == 0, "\(confirmed.stderr)")
            #expect((confirmed.jsonObject?["config"] as? [String: Any])?["token_endpoint"] as? String == "http://localhost:\(port)/token")
        }

        @Test("the wizard refuses bad endpoints and an unreachable AppLinks host; access-token is for the host's API only")
        func wizardAndHostOnlyAction() async throws {
            let (c, admin) = try RunningServer.allowingLoopback()
            let bad = try c.cli(
                "create", "oauth2-outgoing", "--set", "name=Bad", "--set", "provider=custom", "--set", "authorization_endpoint=ftp://x",
                "--set", "token_endpoint=not a url", "--set", "client_id=a", "--set", "client_secret=b")
            #expect(bad.status != 0 && bad.stderr.contains("is not an http(s) URL"), "\(bad.stderr)")
            let port = try freeLoopbackPort()
            let unreachable = try c.cli(
                "create", "oauth2-outgoing", "--set", "name=Gone", "--set", "provider=applinks", "--set",
                "base_url=http://127.0.0.1:\(port)",
                "--set", "client_id=a", "--set", "client_secret=b")
            #expect(unreachable.status != 0 && unreachable.stderr.contains("cannot be reached"), "\(unreachable.stderr)")
            let github = try c.cli(
                "create", "oauth2-outgoing", "--set", "name=GitHub", "--set", "provider=github", "--set", "client_id=a", "--set",
                "client_secret=b", "--json")
            let config = try #require(github.jsonObject?["config"] as? [String: Any], "\(github.stderr)")
            #expect(config["token_endpoint"] as? String == "https://github.com/login/oauth/access_token")
            #expect(config["scopes"] as? [String] == ["read:user"] && config["client_auth"] as? String == "client_secret_post")
            let id = try #require(github.jsonObject?["id"] as? String)
            let actions = try c.cli("actions", id)
            #expect(actions.stdout.contains("test-request") && !actions.stdout.contains("access-token"), "\(actions.stdout)")
            let refused = try c.cli("action", id, "access-token")
            #expect(refused.status != 0 && refused.stderr.contains("no action 'access-token'"), "\(refused.stderr)")
            let rest = try await c.send(
                "POST", "/rest/applinks/3.0/links/\(id)/actions/access-token", headers: [("Authorization", "Bearer \(admin)")])
            #expect(rest.status == 404, "\(rest.body)")
        }
    }
}
