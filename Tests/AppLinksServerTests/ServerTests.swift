import AppLinksCore
import AppLinksPluginOAuth1
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TestSupport
import Testing

/// Every suite that starts server processes, a few tests at a time: see `ServerProcessSlots`.
@Suite(.serverProcessSlots) enum ServerProcessTests {}

@Suite("OAuth 1.0a interop: requests-oauthlib against our provider")
struct OAuth1InteropTests {
    @Test(
        "three legs with a browser's login and consent, signed requests, and a denial, with every signature method",
        arguments: ["HMAC-SHA1", "HMAC-SHA256", "RSA-SHA1", "RSA-SHA256", "PLAINTEXT"])
    func requestsOAuthlib(method: String) async throws {
        let port = try freeLoopbackPort()
        try await LiveServer.run(extraEnv: ["APPLINKS_BASE_URL": "http://127.0.0.1:\(port)"], listenPort: port) { server in
            _ = try await server.newToken(user: "alice", admin: false)
            let link = try await server.applinks(
                "create", "fixture", "--set", "name=Provider", "--set", "url=https://p.example.com", "--set", "token=abcd", "--json")
            let linkID = try #require(link.jsonObject?["id"] as? String)
            var keyFile = "-", secret = "-"
            var register = ["action", linkID, "register-consumer", "--arg", "key=consumer-\(method)", "--arg", "name=Python consumer"]
            if method.hasPrefix("RSA") {
                keyFile = server.dir.path("consumer.pem").path
                let gen = try runCommand(
                    URL(fileURLWithPath: "/usr/bin/openssl"),
                    ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", keyFile])
                #expect(gen.status == 0)
                let pub = try runCommand(URL(fileURLWithPath: "/usr/bin/openssl"), ["pkey", "-in", keyFile, "-pubout"])
                register += ["--arg", "public_key=\(pub.stdout)"]
            } else {
                secret = "shared & secret"
                register += ["--arg", "secret=\(secret)"]
            }
            let registered = try await offPool { [register] in try runCommand(BuildProducts.applinks, register, environment: server.env) }
            #expect(registered.status == 0, "\(registered.stderr)")
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("oauth1_consumer.py")
            let r = try await offPool { [secret, keyFile] in
                try runCommand(
                    URL(fileURLWithPath: "/usr/bin/env"),
                    [
                        "python3", script.path, "http://127.0.0.1:\(port)", "consumer-\(method)", method, secret, keyFile, "alice",
                        "correct horse battery",
                    ])
            }
            #expect(r.status == 0, "the python consumer failed: \(r.stderr)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            let expected = "user=alice consumer=consumer-\(method) two_legged=false"
            #expect((report["whoami_0"] as? [Any])?.last as? String == expected)
            #expect((report["whoami_1"] as? [Any])?.first as? Int == 200, "a second signed request, with a fresh nonce, also passes")
            #expect((report["denied_redirect"] as? String)?.contains("oauth_problem=permission_denied") == true)
            let denied = try #require(report["denied_exchange"] as? [Any])
            #expect(denied.first as? Int == 401 && (denied.last as? String)?.contains("oauth_problem=token_used") == true)
        }
    }
}

extension ServerProcessTests {
    @Suite("applinks serve")
    struct ServerTests {
        @Test(
            "plugin routes reach the plugin; a type disabled with the CLI answers 503 (403 for a browser's page) without a restart, and comes back"
        )
        func pluginRoutes() async throws {
            let server = try RunningServer()
            let hello = try await server.get("/plugins/fixture/hello")
            #expect(hello.status == 200 && hello.body == "hello anonymous from http://127.0.0.1:8080")
            #expect(try await server.get("/plugins/fixture/approve").status == 303, "a page that needs a user sends the browser to log in")
            #expect(try await server.get("/plugins/fixture/undeclared").status == 404)
            // An inline route that waits for the host is refused at once, and the log says how to fix the route.
            #expect(try await server.get("/plugins/fixture/inline-store").status == 502)
            // The log is written by a thread of its own, a moment after the answer.
            let advised = await server.eventually(within: .seconds(15)) { server.log.contains(#"remove "inline": true from the route"#) }
            #expect(advised != nil, "\(server.log.suffix(2000))")
            // The route holds its event loop until it answers: a task it starts and waits for must run elsewhere.
            let task = try await server.get("/plugins/fixture/inline-task")
            #expect(task.status == 200 && task.body == "answered by a task")
            #expect(try server.cli("plugins", "disable", "fixture").status == 0)
            let off = await server.eventually(within: .seconds(15)) { () async -> Bool in
                (try? await server.get("/plugins/fixture/hello").status) == 503
            }
            #expect(off != nil, "the running server must refuse a disabled type once the change feed tells it")
            let disabled = try await server.get("/plugins/fixture/hello")
            #expect(disabled.body.contains("link type fixture is disabled") && disabled.body.contains("applinks plugins enable fixture"))
            #expect(try await server.get("/plugins/fixture/approve").status == 403)
            #expect(try server.cli("plugins", "enable", "fixture").status == 0)
            let on = await server.eventually(within: .seconds(15)) { () async -> Bool in
                (try? await server.get("/plugins/fixture/hello").status) == 200
            }
            #expect(on != nil)
            // SIGTERM: the log says the shutdown began and ended, so a stop is not mistaken for a crash.
            server.stop()
            #expect(server.log.contains("shutting down") && server.log.contains("stopped"), "\(server.log.suffix(1000))")
        }

        @Test("a link created or deleted with the CLI is seen by the running server without a restart")
        func cliLinksSeen() async throws {
            let server = try RunningServer()
            let auth = [("Authorization", "Bearer \(try server.token(user: "root", admin: true))")]
            let created = try server.cli(
                "create", "fixture", "--set", "name=FromCLI", "--set", "url=https://c.example.com", "--set", "token=abcd", "--json")
            let id = try #require(created.jsonObject?["id"] as? String)
            let seen = await server.eventually(within: .seconds(15)) { () async -> Bool in
                (try? await server.get("/rest/applinks/3.0/links/\(id)", headers: auth).status) == 200
            }
            #expect(seen != nil)
            #expect(try server.cli("delete", id, "--yes").status == 0)
            let gone = await server.eventually(within: .seconds(15)) { () async -> Bool in
                (try? await server.get("/rest/applinks/3.0/links/\(id)", headers: auth).status) == 404
            }
            #expect(gone != nil)
        }

        @Test("SIGTERM lets a request in flight finish, then the server exits 0 with every access log line written")
        func gracefulShutdown() async throws {
            let server = try RunningServer()
            // The access log is written by a thread of its own: a clean stop must still write every line of it.
            let probes = 200
            try await withThrowingTaskGroup { group in
                for i in 0..<probes { group.addTask { _ = try await server.get("/healthz?n=\(i)") } }
                try await group.waitForAll()
            }
            async let slow = server.get("/plugins/fixture/slow")
            #expect(await server.eventually(within: .seconds(30)) { server.log.contains("slow route started") } != nil)
            kill(server.process.processIdentifier, SIGTERM)
            let answer = try await slow
            #expect(answer.status == 200 && answer.body == "finally")
            let exited = await server.eventually(within: .seconds(60)) { () async -> Bool in !server.process.isRunning }
            #expect(exited != nil && server.process.terminationStatus == 0)
            let lines = server.log.split(separator: "\n")
            #expect(lines.filter { $0.hasSuffix("ms") && $0.contains("] GET /healthz 200 ") }.count == probes)
            #expect(lines.contains { $0.contains("] GET /plugins/fixture/slow 200 ") })
            #expect(lines.last?.hasSuffix("] stopped") == true, "\(server.log.suffix(500))")
        }

        @Test("a stop writes every log line first, even when whoever reads the log has fallen behind")
        func logFlushedAtStop() async throws {
            let stderr = Pipe()
            let server = try RunningServer(standardError: stderr)
            // Nobody reads yet: about 100 bytes a line, so the pipe (64 KiB) fills and the rest wait in the server.
            let requests = 1500
            for batch in stride(from: 0, to: requests, by: 50) {
                try await withThrowingTaskGroup { group in
                    for i in batch..<batch + 50 { group.addTask { _ = try await server.get("/healthz?n=\(i)") } }
                    try await group.waitForAll()
                }
            }
            kill(server.process.processIdentifier, SIGTERM)
            // A server that did not wait for its log would be gone by now, its waiting lines with it.
            _ = await server.eventually(within: .seconds(5)) { () async -> Bool in !server.process.isRunning }
            let log = try await offPool { String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) }
            let exited = await server.eventually(within: .seconds(60)) { () async -> Bool in !server.process.isRunning }
            #expect(exited != nil && server.process.terminationStatus == 0)
            let lines = log.split(separator: "\n")
            #expect(lines.filter { $0.contains("] GET /healthz 200 ") }.count == requests)
            #expect(lines.last?.hasSuffix("] stopped") == true, "\(log.suffix(500))")
        }

        @Test("serve on a home that does not exist creates it first")
        func initialisesHome() async throws {
            let server = try RunningServer(initialise: false)
            #expect(FileManager.default.fileExists(atPath: server.home.appendingPathComponent("config.yaml").path))
            #expect(try await server.get("/healthz").status == 200)
        }

        @Test("the background sweep refreshes statuses without anyone running `applinks status`")
        func statusSweep() async throws {
            let server = try RunningServer(extraEnv: ["APPLINKS_STATUS_INTERVAL_SECONDS": "0.3"])
            let created = try server.cli(
                "create", "fixture", "--set", "name=Swept", "--set", "url=https://s.example.com", "--set", "token=abcd", "--json")
            #expect(created.status == 0)
            let connected = try await server.eventually(within: .seconds(60)) {
                let list = try server.cli("list", "--json").jsonArray ?? []
                return (list.first?["status"] as? [String: Any])?["category"] as? String == "CONNECTED"
            }
            #expect(connected != nil, "a link created by the CLI is swept by the running server")
        }
    }
}

@Suite("status API, metrics and logs")
struct OperationsTests {
    @Test("after a full flow the log holds no password, token, cookie, CSRF token or secret")
    func noSecretsInLogs() async throws {
        try await LiveServer.run(extraEnv: ["APPLINKS_LOG_LEVEL": "trace"]) { server in
            let password = "correct horse battery"
            let token = try await server.newToken(user: "root", admin: true)
            let browser = Browser(server)
            _ = try await browser.logIn("root", password, next: "/plugins/fixture/consent?code=SECRET-CODE-123")
            let page = try await browser.request("GET", "/plugins/fixture/consent?code=SECRET-CODE-123")
            let csrf = try #require(Browser.hidden("csrf_token", in: page.body))
            _ = try await browser.request("POST", "/plugins/fixture/consent", form: ["decision": "allow", "csrf_token": csrf])
            let wizard = try await server.send(
                "POST", "/rest/applinks/3.0/wizard/fixture", headers: [("Authorization", "Bearer \(token)")],
                body: #"{"answers": {"name": "L", "url": "https://l.example.com", "token": "LINK-SECRET-456"}}"#)
            #expect(wizard.status == 201)
            _ = try await server.get("/rest/applinks/3.0/links", headers: [("Authorization", "Bearer \(token)")])
            _ = try await server.get("/rest/applinks/3.0/links", headers: [("Authorization", "Bearer alpat_wrong-token-789")])
            let log = server.log
            #expect(log.contains("GET /plugins/fixture/consent 200"), "the access log has one line per request")
            let session = try #require(browser.cookies.first { $0.key.hasPrefix("applinks_session_") }?.value)
            for secret in [password, "correct+horse", token, "alpat_wrong-token-789", session, csrf, "SECRET-CODE-123", "LINK-SECRET-456"] {
                #expect(!log.contains(secret), "the log leaks \(secret.prefix(12))…")
            }
        }
    }
}

extension ServerProcessTests {
    @Suite("admin REST API")
    struct AdminAPITests {
        @Test("no token is 401 with WWW-Authenticate, a bad or revoked one 401, a non-admin 403, an admin 200")
        func authentication() async throws {
            try await LiveServer.run { server in
                let admin = try await server.newToken(user: "alice", admin: true)
                let plain = try await server.newToken(user: "bob", admin: false)
                let none = try await server.get("/rest/applinks/3.0/links")
                #expect(none.status == 401 && none.headers["WWW-Authenticate"].first == #"Bearer realm="applinks", Basic realm="applinks""#)
                #expect(none.body.contains("applinks tokens create"))
                let bad = try await server.get("/rest/applinks/3.0/links", headers: [("Authorization", "Bearer alpat_not-a-real-token")])
                #expect(bad.status == 401 && bad.headers["WWW-Authenticate"].first?.contains(#"error="invalid_token""#) == true)
                func basic(_ user: String, _ password: String) -> [(String, String)] {
                    [("Authorization", "Basic " + Data("\(user):\(password)".utf8).base64EncodedString())]
                }
                // An admin's password works too (a remote's wizard uses it once); a wrong one is 401, and a burst of
                // wrong ones locks the name out with 429, as the login page does.
                #expect(try await server.get("/rest/applinks/3.0/links", headers: basic("alice", "correct horse battery")).status == 200)
                #expect(try await server.get("/rest/applinks/3.0/links", headers: basic("bob", "correct horse battery")).status == 403)
                #expect(try await server.get("/rest/applinks/3.0/links", headers: [("Authorization", "Basic !!")]).status == 401)
                for _ in 0..<5 { #expect(try await server.get("/rest/applinks/3.0/links", headers: basic("alice", "pw")).status == 401) }
                let locked = try await server.get("/rest/applinks/3.0/links", headers: basic("alice", "correct horse battery"))
                #expect(locked.status == 429 && locked.headers["Retry-After"].first == "300")
                let forbidden = try await server.get("/rest/applinks/3.0/links", headers: [("Authorization", "Bearer \(plain)")])
                #expect(forbidden.status == 403 && forbidden.body.contains("'bob' is not an administrator"))
                #expect(try await server.get("/rest/applinks/3.0/links", headers: [("Authorization", "Bearer \(admin)")]).status == 200)
                let id = try #require(
                    try await server.applinks("tokens", "list", "--user", "alice", "--json").jsonArray?.first?["id"] as? String)
                #expect(
                    try await server.applinks("tokens", "list", "--json").stdout.contains("alpat_") == false,
                    "token values are never listed")
                #expect(try await server.applinks("tokens", "revoke", id).status == 0)
                #expect(try await server.get("/rest/applinks/3.0/links", headers: [("Authorization", "Bearer \(admin)")]).status == 401)
            }
        }

        @Test("links, status, link types, the wizard step by step, and the audit log, in the CLI's JSON")
        func endpoints() async throws {
            try await LiveServer.run { server in
                let auth = [("Authorization", "Bearer \(try await server.newToken(user: "alice", admin: true))")]
                // The wizard, driven over HTTP: first the missing fields, then the answers for the same draft.
                let first = try await server.send(
                    "POST", "/rest/applinks/3.0/wizard/fixture", headers: auth, body: #"{"answers": {"name": "API link"}}"#)
                #expect(first.status == 422)
                let needs = try #require(try JSONSerialization.jsonObject(with: Data(first.body.utf8)) as? [String: Any])
                #expect(needs["state"] as? String == "fields" && (needs["errors"] as? [[String: Any]])?.first?["field"] as? String == "url")
                let draft = try #require(needs["draft_id"] as? String)
                let done = try await server.send(
                    "POST", "/rest/applinks/3.0/wizard/drafts/\(draft)", headers: auth,
                    body: #"{"answers": {"url": "https://api.example.com", "token": "abcd"}}"#)
                #expect(done.status == 201)
                let created = try #require(
                    (try JSONSerialization.jsonObject(with: Data(done.body.utf8)) as? [String: Any])?["link"] as? [String: Any])
                let id = try #require(created["id"] as? String)
                // The server checks a new link in the background: the table shows CONNECTED without a `status` run.
                let admin = try #require(auth.first?.1.dropFirst("Bearer ".count)).description
                #expect(try await server.listedStatus(id, admin: admin, becomes: "CONNECTED") == "CONNECTED")
                let list = try await server.get("/rest/applinks/3.0/links", headers: auth)
                let cliList = try await server.applinks("list", "--json")
                #expect(
                    (try JSONSerialization.jsonObject(with: Data(list.body.utf8)) as? [[String: Any]])?.map { $0["id"] as? String } == [id])
                // The CLI's list adds each link's actions, as its table does; otherwise the two are the same shape.
                #expect(
                    cliList.jsonArray?.first?.keys.sorted()
                        == (((try JSONSerialization.jsonObject(with: Data(list.body.utf8)) as? [[String: Any]])?.first?.keys.map { $0 }
                        ?? [])
                        + ["actions"]).sorted())
                #expect(try await server.get("/rest/applinks/3.0/links/\(id)", headers: auth).status == 200)
                #expect(try await server.get("/rest/applinks/3.0/links/nope", headers: auth).status == 404)
                let status = try await server.send("POST", "/rest/applinks/3.0/links/\(id)/status", headers: auth)
                #expect(status.status == 200 && status.body.contains(#""category":"CONNECTED""#))
                let types = try await server.get("/rest/applinks/3.0/link-types", headers: auth)
                #expect(types.status == 200 && types.body.contains(#""id":"fixture""#))
                #expect(try await server.send("POST", "/rest/applinks/3.0/link-types/fixture/disable", headers: auth).status == 200)
                #expect(try await server.applinks("plugins", "list", "--json").jsonArray?.first?["state"] as? String == "disabled")
                #expect(try await server.listedStatus(id, admin: admin) == "DISABLED/DISABLED", "DISABLED at once")
                #expect(try await server.send("POST", "/rest/applinks/3.0/link-types/fixture/enable", headers: auth).status == 200)
                #expect(try await server.listedStatus(id, admin: admin, becomes: "CONNECTED") == "CONNECTED")
                #expect(try await server.send("POST", "/rest/applinks/3.0/link-types/fixture/explode", headers: auth).status == 404)
                #expect(try await server.send("DELETE", "/rest/applinks/3.0/links/\(id)", headers: auth).status == 200)
                #expect(try await server.applinks("list", "--json").jsonArray?.isEmpty == true)
                let audit = try await server.get("/rest/applinks/3.0/audit", headers: auth)
                let events = try #require(try JSONSerialization.jsonObject(with: Data(audit.body.utf8)) as? [[String: Any]])
                #expect(events.contains { $0["action"] as? String == "delete" && $0["actor"] as? String == "api:alice" })
                #expect(events.contains { $0["action"] as? String == "create" && $0["actor"] as? String == "api:alice" })
                let badBody = try await server.send("POST", "/rest/applinks/3.0/wizard/fixture", headers: auth, body: "not json")
                #expect(badBody.status == 400 && badBody.body.contains("answers"))
            }
        }

        @Test("users: scrypt hashes, no duplicates, short passwords refused, and tokens die with their user")
        func users() throws {
            let server = try RunningServer()
            let add = try server.cli("users", "add", "carol", "--admin", "--password-stdin", stdin: "long enough pw\n")
            #expect(add.status == 0)
            #expect(try server.cli("users", "add", "carol", "--password-stdin", stdin: "another pw!\n").status == 5)
            let short = try server.cli("users", "add", "dave", "--password-stdin", stdin: "short\n")
            #expect(short.status == 2 && short.stderr.contains("at least 8 characters"))
            let badName = try server.cli("users", "add", "no spaces", "--password-stdin", stdin: "long enough pw\n")
            #expect(badName.status == 2)
            let noTTY = try server.cli("users", "add", "erin")
            #expect(noTTY.status == 2 && noTTY.stderr.contains("--password-stdin"))
            #expect(try server.cli("users", "list", "--json").jsonArray?.map { $0["name"] as? String } == ["carol"])
            #expect(try server.cli("tokens", "create", "--user", "carol").status == 0)
            #expect(try server.cli("users", "delete", "carol").status == 0)
            #expect(try server.cli("tokens", "list", "--json").jsonArray?.isEmpty == true)
            #expect(try server.cli("tokens", "create", "--user", "nobody").status == 4)
        }
    }
}
