import AppLinksCore
import Foundation
import TestSupport
import Testing

extension ServerProcessTests {
    /// Two `applinks serve` processes, each with its own home, over one real PostgreSQL database.
    @Suite("Two nodes over one PostgreSQL database")
    struct ClusterTests {
        typealias O = OAuth2IncomingTests

        /// `bundled`: load the link types built beside applinks (oauth2-incoming among them), not only the fixture.
        static func nodes(bundled: Bool = true) async throws -> (RunningServer, RunningServer, admin: String) {
            let database = try await TestPostgres.freshDatabase()
            let key = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
            let portA = try freeLoopbackPort()
            // One public address, as behind a load balancer: the OAuth issuer is the same on both.
            let env = [
                "APPLINKS_DATABASE_URL": database, "APPLINKS_MASTER_KEY": key, "APPLINKS_BASE_URL": "http://127.0.0.1:\(portA)",
                "APPLINKS_PLUGINS_SEARCH_EXECUTABLE_DIRECTORY": bundled ? "true" : "false",
            ]
            let a = try RunningServer(extraEnv: env, listen: "127.0.0.1:\(portA)")
            let b = try RunningServer(extraEnv: env)
            let admin = try a.token(user: "alice", admin: true)
            return (a, b, admin)
        }

        @Test("tokens, revocations, links and link-type states made on one node hold on the other; a code raced at both wins once")
        func twoNodes() async throws {
            let (a, b, admin) = try await Self.nodes()
            let c = try await O.register(a, clientCredentials: true)

            // A token issued on A introspects as active on B; revoked on B, it is inactive on A as soon as A hears of the change.
            let issued = try await O.post(
                a, "/rest/oauth2/latest/token", ["grant_type": "client_credentials"], basic: (c.id, c.secret ?? ""))
            let token = try #require(issued.json["access_token"] as? String, "\(issued)")
            #expect(try await O.introspect(b, c, token) == true)
            let revoked = try await O.post(b, "/rest/oauth2/latest/revoke", ["token": token], basic: (c.id, c.secret ?? ""))
            #expect(revoked.status == 200)
            #expect(try await O.introspect(b, c, token) == false)
            let seen = try await a.eventually(within: .seconds(15)) { try await O.introspect(a, c, token) == false }
            let last = try await O.post(a, "/rest/oauth2/latest/introspect", ["token": token], basic: (c.id, c.secret ?? ""))
            #expect(seen != nil, "node A still calls the token revoked on node B active: \(last)")

            // A link created through node A's CLI is listed by node B's server.
            let created = try a.cli(
                "create", "fixture", "--set", "name=Shared", "--set", "url=https://shared.example.com", "--set", "token=abcd", "--json")
            let link = try #require(created.jsonObject?["id"] as? String, "\(created.stderr)")
            let listed = try await b.eventually(within: .seconds(15)) {
                try await b.get("/rest/applinks/3.0/links/\(link)", headers: [("Authorization", "Bearer \(admin)")]).status == 200
            }
            #expect(listed != nil)
            #expect(try await b.checkStatus(link, admin: admin).0 == "CONNECTED")

            // A link type disabled through node B's CLI is disabled on both servers.
            #expect(try b.cli("plugins", "disable", "fixture").status == 0)
            for node in [a, b] {
                let off = try await node.eventually(within: .seconds(15)) {
                    try await node.checkStatus(link, admin: admin).0 == "DISABLED/DISABLED"
                }
                #expect(off != nil, "node on port \(node.port) still runs the disabled link type")
            }
            #expect(try a.cli("plugins", "enable", "fixture").status == 0)

            // One authorization code, redeemed at both nodes at the same moment: exactly one node redeems it, the
            // other refuses it as a replay and (RFC 6749 §4.1.2) revokes what the first issued. The first answers
            // 200, or 400 when the revocation overtook its issuance; either way no token from the code survives.
            for _ in 0..<3 {
                let browser = try await O.loggedIn(a)
                let code = try #require(try await O.code(browser, c).code)
                async let onA = O.exchange(a, c, code: code)
                async let onB = O.exchange(b, c, code: code)
                let answers = [try await onA, try await onB]
                let replays = answers.filter { ($0.json["error_description"] as? String)?.contains("already used") == true }
                #expect(replays.count == 1 && replays[0].status == 400, "\(answers.map(\.json))")
                let first = try #require(answers.first { ($0.json["error_description"] as? String)?.contains("already used") != true })
                #expect(
                    first.status == 200 || (first.json["error_description"] as? String)?.contains("revoked") == true, "\(first.json)")
                if let token = first.json["access_token"] as? String {
                    // Once every node has heard of the revocation (the provider caches tokens for half a second).
                    let gone = try await a.eventually(within: .seconds(15)) {
                        let onA = try await O.introspect(a, c, token), onB = try await O.introspect(b, c, token)
                        return onA == false && onB == false
                    }
                    #expect(gone != nil, "a token issued from a replayed code is still active")
                }
            }
            a.stop()
            b.stop()
        }

        @Test("a second home on the same database joins the deployment; a node with another base URL is refused")
        func joining() async throws {
            let database = try await TestPostgres.freshDatabase()
            let key = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
            let dir = TemporaryDirectory("join")
            func initialise(_ home: String, _ base: String, key: String = key) throws -> CommandResult {
                try runCommand(
                    BuildProducts.applinks, ["init", "--name", "Cluster", "--base-url", base],
                    environment: [
                        "APPLINKS_HOME": dir.path(home).path, "APPLINKS_DATABASE_URL": database, "APPLINKS_MASTER_KEY": key,
                        "APPLINKS_PLUGINS_SEARCH_EXECUTABLE_DIRECTORY": "false",
                    ])
            }
            let first = try initialise("a", "https://applinks.example.com")
            #expect(first.status == 0 && first.stdout.contains("Created the deployment"), "\(first)")
            let second = try initialise("b", "https://applinks.example.com/")
            #expect(second.status == 0 && second.stdout.contains("Joined the deployment 'Cluster'"), "\(second)")
            #expect(!second.stdout.contains("Created"))
            // A node with another master key would mark every link UNKNOWN for all: refused before it does anything.
            let otherKey = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
            let wrongKey = try initialise("k", "https://applinks.example.com", key: otherKey)
            #expect(
                wrongKey.status == 2 && wrongKey.stderr.contains("does not open this deployment's sealed instance key")
                    && wrongKey.stderr.contains("APPLINKS_MASTER_KEY"), "\(wrongKey)")
            // Another base URL would give clients another issuer on this node: refused, with the fix.
            let other = try initialise("c", "https://node-c.example.com")
            #expect(other.status == 5, "\(other)")
            #expect(
                other.stderr.contains("base_url is https://node-c.example.com, but the deployment's is https://applinks.example.com"),
                "\(other.stderr)")
            let serve = try runCommand(
                BuildProducts.applinks, ["serve", "--listen", "127.0.0.1:0"],
                environment: [
                    "APPLINKS_HOME": dir.path("c").path, "APPLINKS_DATABASE_URL": database, "APPLINKS_MASTER_KEY": key,
                    "APPLINKS_PLUGINS_SEARCH_EXECUTABLE_DIRECTORY": "false",
                ])
            #expect(serve.status == 5 && serve.stderr.contains("set base_url: https://applinks.example.com"), "\(serve)")
        }

        @Test("an OAuth 1.0 request accepted by one node is refused as a replay by the other")
        func nonceReplay() async throws {
            // The fixture's OAuth 1.0 provider, on Atlassian's paths (which the bundled atlassian-oauth1 would take).
            let (a, b, _) = try await Self.nodes(bundled: false)
            let link = try a.cli(
                "create", "fixture", "--set", "name=Provider", "--set", "url=https://p.example.com", "--set", "token=abcd", "--json")
            let linkID = try #require(link.jsonObject?["id"] as? String, "\(link.stderr)")
            let registered = try a.cli(
                "action", linkID, "register-consumer", "--arg", "key=replayed", "--arg", "name=Replayed", "--arg", "secret=s3cret")
            #expect(registered.status == 0, "\(registered.stderr)")
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("oauth1_replay.py")
            let nodeA = "http://127.0.0.1:\(a.port)", nodeB = "http://127.0.0.1:\(b.port)"
            let r = try runCommand(
                URL(fileURLWithPath: "/usr/bin/env"), ["python3", script.path, nodeA, "replayed", "s3cret", nodeA, nodeB])
            #expect(r.status == 0, "\(r.stderr)")
            let answers = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[Any]], "\(r.stdout)")
            #expect(answers.first?.first as? Int == 200, "\(answers)")
            #expect(
                answers.last?.first as? Int == 401 && (answers.last?.last as? String)?.contains("nonce_used") == true, "\(answers)")
            a.stop()
            b.stop()
        }
    }
}
