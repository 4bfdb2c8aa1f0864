import AppLinksCore
import Foundation
import TestSupport
import Testing

extension ServerProcessTests {
    /// The `atlassian-oauth1` link type between two real `applinks serve` processes, each with its own home and port.
    @Suite("Atlassian product / OAuth 1.0 link type")
    struct AtlassianOAuth1Tests {
        static let password = "correct horse battery"

        /// A server that loads the link types built next to the executable, with its base URL on its own port.
        static func server(
            _ port: Int, dir: TemporaryDirectory = TemporaryDirectory("server"), initialise: Bool = true, env: [String: String] = [:]
        ) throws -> RunningServer {
            try RunningServer(
                dir: dir,
                extraEnv: ["APPLINKS_BASE_URL": "http://127.0.0.1:\(port)", "APPLINKS_PLUGINS_SEARCH_EXECUTABLE_DIRECTORY": "true"]
                    .merging(env) { _, n in n },
                initialise: initialise, listen: "127.0.0.1:\(port)")
        }

        @Test("a clock more than five minutes off makes the remote refuse the timestamp: OAUTH_TIMESTAMP_REFUSED on that side only")
        func clockOffset() async throws {
            let (pa, pb) = (try freeLoopbackPort(), try freeLoopbackPort())
            let a = try Self.server(pa, env: ["APPLINKS_TESTING_CLOCK_OFFSET_SECONDS": "360"])
            let b = try Self.server(pb)
            // The remote admin's personal access token works as well as a password.
            let token = try b.token(user: "root", admin: true)
            let created = try a.cli(
                "create", "atlassian-oauth1", "--set", "url=http://127.0.0.1:\(pb)", "--set", "remote_token=\(token)", "--set",
                "allow_http=true")
            #expect(created.status == 0, "\(created.stderr)")
            #expect(Self.status(try Self.onlyLink(a)) == "NETWORK_ERROR/OAUTH_TIMESTAMP_REFUSED")
            #expect(Self.status(try Self.onlyLink(b)) == "CONNECTED", "B's clock is right, and A accepts its requests")
        }

        /// Links `a` two-way to the server on `port`, whose admin is root; returns the link's id on `a`.
        static func link(_ a: RunningServer, to port: Int) throws -> String {
            let created = try a.cli(
                "create", "atlassian-oauth1", "--set", "url=http://127.0.0.1:\(port)", "--set", "remote_user=root",
                "--set", "remote_password=\(Self.password)", "--set", "allow_http=true", "--json")
            return try #require(created.jsonObject?["id"] as? String, "\(created.stderr)")
        }

        /// A consumer's RSA key pair made by openssl: the private key's file, for the python consumer, and the public
        /// key's PEM, for the wizard.
        static func consumerKey(in dir: TemporaryDirectory, bits: Int) throws -> (privateKeyFile: String, publicPEM: String) {
            let file = dir.path("consumer-\(bits).pem").path
            let openssl = URL(fileURLWithPath: "/usr/bin/openssl")
            let made = try runCommand(openssl, ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:\(bits)", "-out", file])
            try #require(made.status == 0, "openssl genpkey failed: \(made.stderr)")
            return (file, try runCommand(openssl, ["pkey", "-in", file, "-pubout"]).stdout)
        }

        static func onlyLink(_ server: RunningServer) throws -> [String: Any] {
            _ = try server.cli("status", "--all")
            let links = try #require(try server.cli("list", "--json").jsonArray)
            try #require(links.count == 1, "\(links)")
            return links[0]
        }

        /// The only link, checked until its status is `expected`, for at most 30 s: for a change the remote's
        /// server picks up on its next poll.
        static func onlyLink(_ server: RunningServer, becomes expected: String) throws -> [String: Any] {
            let deadline = Date().addingTimeInterval(30)
            var link = try onlyLink(server)
            while status(link) != expected && Date() < deadline {
                Thread.sleep(forTimeInterval: 0.2)
                link = try onlyLink(server)
            }
            return link
        }

        static func status(_ link: [String: Any]) -> String {
            let s = link["status"] as? [String: Any]
            return [s?["category"] as? String, s?["error_type"] as? String].compactMap { $0 }.joined(separator: "/")
        }

        @Test("two hosts link two-way and are CONNECTED; a stopped remote is CONNECTION_REFUSED, a deleted reciprocal NO_REMOTE_APPLINK")
        func twoWay() async throws {
            let (pa, pb) = (try freeLoopbackPort(), try freeLoopbackPort())
            let a = try Self.server(pa)
            var b = try Self.server(pb)
            _ = try b.token(user: "root", admin: true)
            // Over plain http the consumer keys are fetched only when the admin allows it for this link.
            let plain = try a.cli(
                "create", "atlassian-oauth1", "--set", "url=http://127.0.0.1:\(pb)", "--set", "remote_user=root", "--set",
                "remote_password=\(Self.password)")
            #expect(plain.status != 0 && plain.stderr.contains("allow_http"), "\(plain.stderr)")
            #expect(try a.cli("list", "--json").jsonArray?.isEmpty == true && b.cli("list", "--json").jsonArray?.isEmpty == true)
            _ = try Self.link(a, to: pb)
            for side in [a, b] {
                let link = try Self.onlyLink(side)
                #expect(link["direction"] as? String == "two_way")
                #expect(Self.status(link) == "CONNECTED", "\(link)")
            }
            // B disables its side: it refuses A's signed calls, so A does not show CONNECTED.
            let onB = try #require(try Self.onlyLink(b)["id"] as? String)
            #expect(try b.cli("edit", onB, "--set", "enabled=false").status == 0)
            #expect(Self.status(try Self.onlyLink(a)) == "NETWORK_ERROR/OAUTH_PROBLEM")
            #expect(try b.cli("edit", onB, "--set", "enabled=true").status == 0)
            #expect(Self.status(try Self.onlyLink(a)) == "CONNECTED")
            // B disables the whole link type: A says so, and does not tell its admin to delete a link that B keeps.
            // B's server follows the change within its poll interval, so A checks until it sees it.
            #expect(try b.cli("plugins", "disable", "atlassian-oauth1").status == 0)
            let typeOff = try Self.onlyLink(a, becomes: "CONFIG_ERROR/INVALID_CONFIG")
            let message = (typeOff["status"] as? [String: Any])?["message"] as? String ?? ""
            #expect(Self.status(typeOff) == "CONFIG_ERROR/INVALID_CONFIG", "\(typeOff)")
            #expect(message.contains("disabled the atlassian-oauth1 link type") && !message.contains("delete this link"), "\(message)")
            #expect(try b.cli("plugins", "enable", "atlassian-oauth1").status == 0)
            #expect(Self.status(try Self.onlyLink(a, becomes: "CONNECTED")) == "CONNECTED")
            b.stop()
            #expect(Self.status(try Self.onlyLink(a)) == "NETWORK_ERROR/CONNECTION_REFUSED")
            b = try Self.server(pb, dir: b.dir, initialise: false)
            #expect(Self.status(try Self.onlyLink(a)) == "CONNECTED")
            #expect(try b.cli("delete", onB, "--yes").status == 0)
            #expect(Self.status(try Self.onlyLink(a)) == "CONFIG_ERROR/NO_REMOTE_APPLINK")
        }

        @Test("when the remote still has a link to this instance, the wizard asks to reuse or replace it, and both work")
        func reuseOrReplaceRemoteSide() async throws {
            let (pa, pb) = (try freeLoopbackPort(), try freeLoopbackPort())
            let a = try Self.server(pa)
            let b = try Self.server(pb)
            _ = try b.token(user: "root", admin: true)
            let first = try Self.link(a, to: pb)
            let onB = try #require(try Self.onlyLink(b)["id"] as? String)
            // Deleted here only: B keeps its side.
            #expect(try a.cli("delete", first, "--yes").status == 0)
            #expect(try b.cli("list", "--json").jsonArray?.count == 1)
            let create = [
                "create", "atlassian-oauth1", "--set", "url=http://127.0.0.1:\(pb)", "--set", "remote_user=root", "--set",
                "remote_password=\(Self.password)", "--set", "allow_http=true",
            ]
            let asked = try a.cli(create)
            #expect(
                asked.status == 6 && asked.stderr.contains("existing_remote") && asked.stderr.contains("already has a link"), "\(asked)")
            #expect(try a.cli("list", "--json").jsonArray?.isEmpty == true)
            let reused = try a.cli(create + ["--set", "existing_remote=reuse", "--json"])
            #expect(reused.status == 0, "\(reused.stderr)")
            #expect(try Self.status(Self.onlyLink(a)) == "CONNECTED" && Self.status(Self.onlyLink(b)) == "CONNECTED")
            #expect(try Self.onlyLink(b)["id"] as? String == onB, "B's link was kept")
            // Deleted here only, again; this time B's side is replaced by a new one.
            #expect(try a.cli("delete", try #require(reused.jsonObject?["id"] as? String), "--yes").status == 0)
            let replaced = try a.cli(create + ["--set", "existing_remote=replace"])
            #expect(replaced.status == 0, "\(replaced.stderr)")
            let newOnB = try Self.onlyLink(b)
            #expect(newOnB["id"] as? String != onB && Self.status(newOnB) == "CONNECTED")
            #expect(Self.status(try Self.onlyLink(a)) == "CONNECTED")
        }

        @Test("a user of A authorizes A on B's consent page (3LO); A then signs requests as that user; a denial stores nothing")
        func threeLegged() async throws {
            let (pa, pb) = (try freeLoopbackPort(), try freeLoopbackPort())
            let a = try Self.server(pa)
            let b = try Self.server(pb)
            _ = try b.token(user: "root", admin: true)
            _ = try a.token(user: "alice", admin: false)
            _ = try a.token(user: "carol", admin: false)
            _ = try b.token(user: "bob", admin: false)
            let link = try Self.link(a, to: pb)
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("atlassian_3lo_browser.py")
            func browse(_ user: String, _ decision: String) throws -> [String: Any] {
                let r = try runCommand(
                    URL(fileURLWithPath: "/usr/bin/env"),
                    [
                        "python3", script.path, "http://127.0.0.1:\(pa)", "http://127.0.0.1:\(pb)", link, user, Self.password, "bob",
                        Self.password,
                        decision,
                    ])
                try #require(r.status == 0, "the browser failed: \(r.stderr)")
                return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            }
            let allowed = try browse("alice", "allow")
            let landed = allowed["callback"] as? [Any]
            #expect(landed?.first as? Int == 200 && (landed?.last as? String)?.contains("Authorized") == true, "\(allowed)")
            let asAlice = try a.cli("action", link, "whoami", "--arg", "user=alice", "--json")
            #expect(asAlice.status == 0, "\(asAlice.stderr)")
            #expect(asAlice.stdout.contains(#""user" : "bob""#) && asAlice.stdout.contains(#""two_legged" : false"#), "\(asAlice.stdout)")
            let denied = try browse("carol", "deny")
            #expect((denied["back"] as? String)?.contains("oauth_problem=permission_denied") == true, "\(denied)")
            #expect(((denied["callback"] as? [Any])?.last as? String)?.contains("denied") == true)
            let asCarol = try a.cli("action", link, "whoami", "--arg", "user=carol")
            #expect(asCarol.status != 0 && asCarol.stderr.contains("has not authorized"), "\(asCarol.stderr)")

            // Bob's approval on B is listed with his other authorizations, and he revokes it on his own page: A's
            // token for alice stops working at once.
            let grants = try #require(try b.cli("users", "grants", "bob", "--json").jsonArray)
            let nameOfA = try #require(try Self.onlyLink(b)["name"] as? String)
            #expect(grants.count == 1 && grants.first?["client"] as? String == nameOfA, "\(grants)")
            let page = try runCommand(
                URL(fileURLWithPath: "/usr/bin/env"),
                [
                    "python3", script.deletingLastPathComponent().appendingPathComponent("account_authorizations.py").path,
                    "http://127.0.0.1:\(pb)", "bob", Self.password,
                ])
            let seen = try #require(try JSONSerialization.jsonObject(with: Data(page.stdout.utf8)) as? [String: Any], "\(page.stderr)")
            #expect(seen["listed"] as? [String] == [nameOfA] && seen["revoked"] as? Int == 303, "\(seen)")
            #expect(seen["forged"] as? Int == 403 && (seen["after"] as? [String])?.isEmpty == true, "\(seen)")
            let revoked = try a.cli("action", link, "whoami", "--arg", "user=alice")
            #expect(revoked.status != 0 && revoked.stderr.contains("token_rejected"), "\(revoked.stderr)")
            #expect(try b.cli("users", "grants", "bob", "--json").jsonArray?.isEmpty == true)
            #expect(try b.cli("audit", "--json").stdout.contains("revoke-grant"))
        }

        @Test("relocate follows the application to a new URL and refuses another application; make-primary moves the star")
        func relocateAndPrimary() async throws {
            let (pa, pb, pc) = (try freeLoopbackPort(), try freeLoopbackPort(), try freeLoopbackPort())
            let a = try Self.server(pa)
            var b = try Self.server(pb)
            let c = try Self.server(pc)
            _ = try b.token(user: "root", admin: true)
            let toB = try Self.link(a, to: pb)
            let other = try a.cli("relocate", toB, "http://127.0.0.1:\(pc)")
            #expect(other.status == 2 && other.stderr.contains("is another application"), "\(other.stderr)")
            // B moves to a new port; the link follows it there and is CONNECTED again. Pointed there before B
            // answers, the move is made and the admin is warned at once.
            b.stop()
            let pb2 = try freeLoopbackPort()
            let early = try a.cli("relocate", toB, "http://127.0.0.1:\(pb2)")
            #expect(early.status == 0 && early.stdout.contains("does not answer yet"), "\(early)")
            #expect(early.stderr.contains("Warning: its status is now NETWORK_ERROR"), "\(early.stderr)")
            b = try Self.server(pb2, dir: b.dir, initialise: false)
            let moved = try a.cli("relocate", toB, "http://127.0.0.1:\(pb2)")
            #expect(moved.status == 0, "\(moved.stderr)")
            let link = try Self.onlyLink(a)
            #expect((link["urls"] as? [String: Any])?["rpc"] as? String == "http://127.0.0.1:\(pb2)" && Self.status(link) == "CONNECTED")
            // A second link of the same application type is not primary until it is made so.
            let toC = try #require(try a.cli("create", "atlassian-oauth1", "--set", "url=http://127.0.0.1:\(pc)", "--json").jsonObject)
            #expect(toC["primary"] as? Bool == false && toC["direction"] as? String == "outgoing")
            #expect(try a.cli("make-primary", toC["id"] as! String).status == 0)
            let links = try #require(try a.cli("list", "--json").jsonArray)
            let primary = Dictionary(uniqueKeysWithValues: links.map { ($0["id"] as! String, $0["primary"] as! Bool) })
            #expect(primary == [toB: false, toC["id"] as! String: true])
            // Deleted without B's credentials: the admin is told that B keeps its side, and how to remove it.
            let deleted = try a.cli("delete", toB, "--yes")
            #expect(
                deleted.status == 0 && deleted.stdout.contains("Only this side was deleted") && deleted.stdout.contains("Delete it there"),
                "\(deleted)")
            #expect(try b.cli("list", "--json").jsonArray?.count == 1)
            _ = c
        }

        @Test("editing one side's authentication shows AUTH_LEVEL_MISMATCH; deleting with remote credentials deletes both sides")
        func editAndDelete() async throws {
            let (pa, pb) = (try freeLoopbackPort(), try freeLoopbackPort())
            let a = try Self.server(pa)
            let b = try Self.server(pb)
            _ = try b.token(user: "root", admin: true)
            let id = try Self.link(a, to: pb)
            let edited = try a.cli("action", id, "edit-auth", "--arg", "level=3LO, 2LO and 2LO with impersonation")
            #expect(edited.status == 0, "\(edited.stderr)")
            #expect(Self.status(try Self.onlyLink(a)) == "CONFIG_ERROR/AUTH_LEVEL_MISMATCH")
            #expect(try a.cli("action", id, "edit-auth", "--arg", "level=3LO and 2LO").status == 0)
            #expect(Self.status(try Self.onlyLink(a)) == "CONNECTED")
            #expect(try a.cli("action", id, "edit-auth", "--arg", "level=all of them").status == 2)
            // Wrong remote credentials delete nothing on either side; the right ones delete both.
            let wrong = try a.cli("delete", id, "--yes", "--arg", "remote_user=root", "--arg", "remote_password=nope")
            #expect(wrong.status != 0 && wrong.stderr.contains("refused these credentials"), "\(wrong.stderr)")
            #expect(try a.cli("list", "--json").jsonArray?.count == 1 && b.cli("list", "--json").jsonArray?.count == 1)
            let both = try a.cli("delete", id, "--yes", "--arg", "remote_user=root", "--arg", "remote_password=\(Self.password)")
            #expect(both.status == 0 && both.stdout.contains("side of the link"), "\(both)")
            #expect(try a.cli("list", "--json").jsonArray?.isEmpty == true && b.cli("list", "--json").jsonArray?.isEmpty == true)
        }

        @Test("the wizard refuses this instance, an application already linked, and URLs that are not http(s)")
        func refusals() async throws {
            let (pa, pb) = (try freeLoopbackPort(), try freeLoopbackPort())
            let a = try Self.server(pa)
            let b = try Self.server(pb)
            _ = try b.token(user: "root", admin: true)
            _ = try b.token(user: "viewer", admin: false)
            let me = try a.cli("create", "atlassian-oauth1", "--set", "url=http://127.0.0.1:\(pa)")
            #expect(me.status != 0 && me.stderr.contains("this instance itself"))
            for bad in ["ftp://files.example.com", "not a url", "http://", "https://h.example.com/?q=1"] {
                let r = try a.cli("create", "atlassian-oauth1", "--set", "url=\(bad)")
                #expect(r.status != 0 && r.stderr.contains("is not an http:// or https:// URL"), "\(bad): \(r.stderr)")
            }
            // Wrong remote credentials are asked for again; a user who is not an administrator there gets the
            // outgoing link without authentication that Atlassian creates in that case.
            let wrong = try a.cli(
                "create", "atlassian-oauth1", "--set", "url=http://127.0.0.1:\(pb)", "--set", "remote_user=root", "--set",
                "remote_password=nope", "--set", "allow_http=true")
            #expect(wrong.status != 0 && wrong.stderr.contains("refused these credentials"))
            // A user name without a password, from a script, stops with the missing field rather than making a
            // one-way link by accident.
            let half = try a.cli("create", "atlassian-oauth1", "--set", "url=http://127.0.0.1:\(pb)", "--set", "remote_user=root")
            #expect(half.status == 6 && half.stderr.contains("remote_password"), "\(half.stderr)")
            #expect(try a.cli("list", "--json").jsonArray?.isEmpty == true)
            let viewer = try a.cli(
                "create", "atlassian-oauth1", "--set", "url=http://127.0.0.1:\(pb)", "--set", "remote_user=viewer",
                "--set", "remote_password=\(Self.password)", "--set", "allow_http=true", "--json")
            #expect(viewer.status == 0, "\(viewer.stderr)")
            #expect(
                viewer.jsonObject?["direction"] as? String == "outgoing" && (viewer.jsonObject?["incoming_auth"] as? [Any])?.isEmpty == true
            )
            #expect(try b.cli("list", "--json").jsonArray?.isEmpty == true, "nothing was created on the remote")
            let again = try a.cli("create", "atlassian-oauth1", "--set", "url=http://127.0.0.1:\(pb)")
            #expect(again.status != 0 && again.stderr.contains("is already linked as"))
        }

        @Test("without http.allow_private_addresses, a loopback URL is refused with the setting that allows it")
        func privateAddresses() async throws {
            let (pa, pb) = (try freeLoopbackPort(), try freeLoopbackPort())
            let a = try Self.server(pa, env: ["APPLINKS_HTTP_ALLOW_PRIVATE_ADDRESSES": "false"])
            let b = try Self.server(pb)
            let r = try a.cli("create", "atlassian-oauth1", "--set", "url=http://127.0.0.1:\(pb)")
            #expect(
                r.status != 0 && r.stderr.contains("loopback address") && r.stderr.contains("http.allow_private_addresses"), "\(r.stderr)")
            #expect(try b.cli("list", "--json").jsonArray?.isEmpty == true)
            // The other way round, the remote refuses this instance's loopback URL: that is said of the URL, with
            // the remote's own words, not pasted under the remote user's name.
            _ = try a.token(user: "root", admin: true)
            let back = try b.cli(
                "create", "atlassian-oauth1", "--set", "url=http://127.0.0.1:\(pa)", "--set", "remote_user=root", "--set",
                "remote_password=\(Self.password)", "--set", "allow_http=true")
            #expect(back.status == 6, "\(back)")
            #expect(
                back.stderr.contains("- url: ") && back.stderr.contains("cannot link back to this instance at http://127.0.0.1:\(pb)")
                    && back.stderr.contains("loopback address") && !back.stderr.contains("{"), "\(back.stderr)")
        }

        @Test("an unreachable URL is offered as a Generic application, with a warning")
        func unreachable() async throws {
            let port = try freeLoopbackPort()
            let a = try Self.server(port)
            let auth = [("Authorization", "Bearer \(try a.token(user: "root", admin: true))")]
            let answer = try await a.send(
                "POST", "/rest/applinks/3.0/wizard/atlassian-oauth1", headers: auth,
                body: #"{"answers": {"url": "http://127.0.0.1:\#(try freeLoopbackPort())"}}"#)
            let body = try #require(try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any])
            #expect(body["step"] as? String == "generic", "\(body)")
            let messages = (body["messages"] as? [[String: Any]]) ?? []
            #expect(
                messages.contains { $0["level"] as? String == "warning" && ($0["text"] as? String)?.contains("CONNECTION_REFUSED") == true }
            )
        }

        @Test("a product found behind a redirect, by its XML manifest: a warning names the new URL, and the link uses it")
        func xmlManifestBehindRedirect() async throws {
            let product = Process()
            product.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            product.arguments = [
                "python3",
                URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("fake_atlassian_product.py").path,
            ]
            let out = Pipe()
            product.standardOutput = out
            product.standardError = FileHandle.nullDevice
            try product.run()
            defer { kill(product.processIdentifier, SIGKILL) }
            let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
            let productPort = try #require(Int(line.trimmingCharacters(in: .whitespacesAndNewlines)), "the fake product did not start")

            let a = try Self.server(try freeLoopbackPort())
            let auth = [("Authorization", "Bearer \(try a.token(user: "root", admin: true))")]
            let answer = try await a.send(
                "POST", "/rest/applinks/3.0/wizard/atlassian-oauth1", headers: auth,
                body: #"{"answers": {"url": "http://127.0.0.1:\#(productPort)/old"}}"#)
            let body = try #require(try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any])
            let texts = ((body["messages"] as? [[String: Any]]) ?? []).map { ($0["level"] as? String ?? "", $0["text"] as? String ?? "") }
            let moved = "http://127.0.0.1:\(productPort)/jira"
            #expect(texts.contains { $0.0 == "info" && $0.1.contains("Found jira 'Fake Jira'") }, "\(body)")
            #expect(texts.contains { $0.0 == "warning" && $0.1.contains("redirected to \(moved)") }, "\(body)")
            // No remote administrator's credentials: an outgoing-only link to where the product now lives.
            let link = try Self.onlyLink(a)
            let application = link["application"] as? [String: Any]
            let urls = link["urls"] as? [String: Any]
            #expect(urls?["rpc"] as? String == moved && application?["type"] as? String == "jira", "\(link)")
            #expect(application?["id"] as? String == "6f1c2a52-5f6b-3a4e-9b1e-0c6b1b3c9d10")
        }

        @Test("every signed request is checked against the link as it is now: its incoming levels, and whether it is enabled")
        func incomingLevelsEnforced() async throws {
            let port = try freeLoopbackPort()
            let b = try Self.server(port)
            _ = try b.token(user: "alice", admin: false)
            let (keyFile, pub) = try Self.consumerKey(in: b.dir, bits: 2048)
            // A key under 2048 bits is refused at registration, against the field it came in.
            let (_, weakPublic) = try Self.consumerKey(in: b.dir, bits: 1024)
            let weak = try b.cli(
                "create", "atlassian-oauth1", "--set", "url=http://127.0.0.1:\(try freeLoopbackPort())", "--set", "name=Weak app",
                "--set", "incoming_consumer_key=weak-app", "--set", "incoming_public_key=\(weakPublic)")
            #expect(weak.status != 0 && weak.stderr.contains("incoming_public_key") && weak.stderr.contains("1024 bits"), "\(weak.stderr)")

            let created = try b.cli(
                "create", "atlassian-oauth1", "--set", "url=http://127.0.0.1:\(try freeLoopbackPort())", "--set", "name=Python app",
                "--set", "incoming_consumer_key=python-app", "--set", "incoming_public_key=\(pub)", "--json")
            let id = try #require(created.jsonObject?["id"] as? String, "\(created.stderr)")
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("oauth1_levels.py")
            func python(_ args: String...) throws -> Any {
                let r = try runCommand(
                    URL(fileURLWithPath: "/usr/bin/env"),
                    ["python3", script.path, args[0], "http://127.0.0.1:\(port)", "python-app", keyFile] + args.dropFirst())
                try #require(r.status == 0, "the python consumer failed: \(r.stderr)")
                return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8))
            }
            let token = try #require(try python("token", "alice", Self.password) as? [String: String])
            let whoami = "/plugins/atlassian-oauth1/whoami"
            /// The status and the oauth_problem (or "ok") of each kind of request, in the order: leg 1, 3LO, 2LO.
            func outcome() throws -> [String] {
                try [python("request-token"), python("get", whoami, token["token"]!, token["secret"]!), python("get", whoami)].map { any in
                    let reply = try #require(any as? [Any])
                    let status = reply[0] as? Int ?? 0
                    let body = reply[1] as? String ?? ""
                    if status == 200 { return "ok" }
                    let problem = body.split(separator: "&").first { $0.hasPrefix("oauth_problem=") }?.dropFirst(14) ?? "?"
                    return "\(status) \(problem)"
                }
            }
            // A Generic application's incoming authentication is 3LO only: 2-legged requests are refused.
            #expect(try outcome() == ["ok", "ok", "401 permission_denied"])
            #expect(try b.cli("action", id, "edit-auth", "--arg", "level=3LO and 2LO").status == 0)
            #expect(try outcome() == ["ok", "ok", "ok"])
            // A disabled link answers nothing, on any leg, and answers again once enabled.
            #expect(try b.cli("edit", id, "--set", "enabled=false").status == 0)
            #expect(try outcome() == ["401 consumer_key_refused", "401 consumer_key_refused", "401 consumer_key_refused"])
            #expect(try b.cli("edit", id, "--set", "enabled=true").status == 0)
            #expect(try outcome() == ["ok", "ok", "ok"])
            // Level "none": no leg at all.
            #expect(try b.cli("action", id, "edit-auth", "--arg", "level=none").status == 0)
            #expect(try outcome() == ["401 permission_denied", "401 permission_denied", "401 permission_denied"])

            // Atlassian's incoming consumer form: 2-legged requests allowed, executed as a named user.
            let (serviceKey, servicePublic) = try Self.consumerKey(in: b.dir, bits: 2048)
            let create = [
                "create", "atlassian-oauth1", "--set", "url=http://127.0.0.1:\(try freeLoopbackPort())", "--set", "name=Service app",
                "--set", "incoming_consumer_key=service-app", "--set", "incoming_public_key=\(servicePublic)", "--set",
                "incoming_execute_as=svc-bot",
            ]
            let off = try b.cli(create)
            #expect(off.status == 6 && off.stderr.contains("incoming_execute_as") && off.stderr.contains("incoming_2lo"), "\(off.stderr)")
            let service = try b.cli(create + ["--set", "incoming_2lo=true", "--json"])
            #expect(service.status == 0, "\(service.stderr)")
            #expect(
                (service.jsonObject?["incoming_auth"] as? [String])?.map { $0.split(separator: ".").last.map(String.init) ?? "" } == [
                    "OAuthAuthenticationProvider", "TwoLeggedOAuthAuthenticationProvider",
                ], "\(service.stdout)")
            let r = try runCommand(
                URL(fileURLWithPath: "/usr/bin/env"),
                ["python3", script.path, "get", "http://127.0.0.1:\(port)", "service-app", serviceKey, whoami])
            let reply = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [Any], "\(r.stderr)")
            let body = try JSONSerialization.jsonObject(with: Data((reply[1] as? String ?? "").utf8)) as? [String: Any]
            #expect(reply[0] as? Int == 200 && body?["user"] as? String == "svc-bot" && body?["two_legged"] as? Bool == true, "\(reply)")
            // Impersonation was not allowed: naming another user is refused, not answered as svc-bot.
            let posing = try runCommand(
                URL(fileURLWithPath: "/usr/bin/env"),
                [
                    "python3", script.path, "get", "http://127.0.0.1:\(port)", "service-app", serviceKey,
                    whoami + "?xoauth_requestor_id=alice",
                ])
            let refused = try #require(try JSONSerialization.jsonObject(with: Data(posing.stdout.utf8)) as? [Any], "\(posing.stderr)")
            #expect(refused[0] as? Int == 401 && (refused[1] as? String)?.contains("permission_denied") == true, "\(refused)")
        }

        @Test("a Generic application signs in with requests-oauthlib and RSA-SHA1: three legs, then signed requests")
        func genericApplication() async throws {
            let port = try freeLoopbackPort()
            let b = try Self.server(port)
            _ = try b.token(user: "alice", admin: false)
            let (keyFile, pub) = try Self.consumerKey(in: b.dir, bits: 2048)
            let created = try b.cli(
                "create", "atlassian-oauth1", "--set", "url=http://127.0.0.1:\(try freeLoopbackPort())", "--set", "name=Python app",
                "--set", "incoming_consumer_key=python-app", "--set", "incoming_public_key=\(pub)", "--json")
            #expect(created.status == 0, "\(created.stderr)")
            let id = try #require(created.jsonObject?["id"] as? String)
            #expect(Self.status(try Self.onlyLink(b)) == "NON_ATLASSIAN/GENERIC_LINK")
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("oauth1_consumer.py")
            let r = try runCommand(
                URL(fileURLWithPath: "/usr/bin/env"),
                [
                    "python3", script.path, "http://127.0.0.1:\(port)", "python-app", "RSA-SHA1", "-", keyFile, "alice", Self.password,
                    "/rest/applinks/3.0/status/\(id)",
                ])
            #expect(r.status == 0, "the python consumer failed: \(r.stderr)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            for i in 0..<2 {
                let reply = report["whoami_\(i)"] as? [Any]
                #expect(reply?.first as? Int == 200 && (reply?.last as? String)?.contains(#""working":true"#) == true, "\(report)")
            }
            #expect((report["denied_redirect"] as? String)?.contains("oauth_problem=permission_denied") == true)
        }
    }
}
