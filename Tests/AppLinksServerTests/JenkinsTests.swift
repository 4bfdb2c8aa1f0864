import AppLinksCore
import Foundation
import TestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

extension ServerProcessTests {
    /// The `jenkins` link type against jenkins_standin.py, which stands in for Jenkins and its Bitbucket Server
    /// integration plugin (Jenkins needs Java, which is not available here) and checks every OAuth signature
    /// with python oauthlib.
    @Suite("Jenkins")
    struct JenkinsTests {
        static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        static let key = "applinks-consumer"
        static let secret = "jenkins-shared-secret"

        final class StandIn {
            let process = Process()
            let port: Int
            var base: String { "http://127.0.0.1:\(port)" }

            init(tokenSeconds: Int = 3600) async throws {
                port = try freeLoopbackPort()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                process.arguments = [
                    "python3", JenkinsTests.here.appendingPathComponent("jenkins_standin.py").path, "\(port)", JenkinsTests.key,
                    JenkinsTests.secret, "\(tokenSeconds)",
                ]
                process.standardOutput = FileHandle.nullDevice
                process.standardError = FileHandle.nullDevice
                try process.run()
                for _ in 0..<100 {
                    if (try? await JenkinsTests.fetch("GET", base + "/"))?.status == 200 { return }
                    try await Task.sleep(for: .milliseconds(100))
                }
                stop()
                throw CompileError(message: "jenkins_standin.py did not start")
            }

            func stop() {
                guard process.isRunning else { return }
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }

            deinit { stop() }
        }

        /// A browser request: redirects are followed, as a browser follows Jenkins back to the host's callback.
        static func fetch(_ method: String, _ url: String, form: [String: String] = [:]) async throws -> (status: Int, body: String) {
            var request = URLRequest(url: try #require(URL(string: url)))
            request.httpMethod = method
            if !form.isEmpty {
                request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
                var c = URLComponents()
                c.queryItems = form.map { URLQueryItem(name: $0.key, value: $0.value) }
                request.httpBody = Data((c.percentEncodedQuery ?? "").utf8)
            }
            let (data, response) = try await URLSession.shared.data(for: request)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
        }

        static func json(_ body: String) -> [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]) ?? [:]
        }

        /// The wizard through the admin REST API, with the approval in a browser; returns the new link's id.
        static func link(_ c: RunningServer, _ admin: String, _ j: StandIn) async throws -> String {
            let auth = [("Authorization", "Bearer \(admin)")]
            let started = try await c.send(
                "POST", "/rest/applinks/3.0/wizard/jenkins", headers: auth,
                body: #"{"answers": {"url": "\#(j.base)", "consumer_key": "\#(key)", "shared_secret": "\#(secret)"}}"#)
            let pending = json(started.body)
            #expect(pending["state"] as? String == "pending", "\(started.body)")
            let messages = (pending["messages"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String }
            #expect(messages.contains { $0.contains("Found Jenkins 2.440.3") }, "\(started.body)")
            let url = try #require(pending["url"] as? String, "\(started.body)")
            let draft = try #require(pending["draft_id"] as? String)
            #expect(url.hasPrefix(j.base + "/bbs-oauth/authorize?oauth_token="))

            let page = try await fetch("GET", url)
            #expect(page.status == 200 && page.body.contains("Allow"))
            let token = try #require(URLComponents(string: url)?.queryItems?.first { $0.name == "oauth_token" }?.value)
            let approved = try await fetch(
                "POST", j.base + "/bbs-oauth/authorize",
                form: ["oauth_token": token, "username": "admin", "password": "admin-password", "decision": "allow"])
            #expect(approved.status == 200 && approved.body.contains("Authorized"), "\(approved)")

            let done = try await c.send("POST", "/rest/applinks/3.0/wizard/drafts/\(draft)", headers: auth, body: "{}")
            let created = json(done.body)
            #expect(created["state"] as? String == "created", "\(done.body)")
            return try #require((created["link"] as? [String: Any])?["id"] as? String, "\(done.body)")
        }

        @Test(
            "the wizard with authorization, CONNECTED, jobs in folders, builds with and without parameters, renewal, a wrong secret, a stopped Jenkins"
        )
        func endToEnd() async throws {
            let (c, admin) = try RunningServer.allowingLoopback()
            let j = try await StandIn()
            defer { j.stop() }
            let link = try await Self.link(c, admin, j)
            let connected = try await c.checkStatus(link, admin: admin)
            #expect(connected.0 == "CONNECTED" && connected.1.contains("2.440.3"), "\(connected)")

            let jobs = try c.action(link, "list-jobs")
            let paths = (jobs.json["output"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
            #expect(
                Set(paths).isSuperset(of: ["simple job", "Team A", "Team A/Build ü", "Team A/Deploy", "Team A/Nested/deep"]), "\(jobs)")

            // /build is exempt from the crumb for an OAuth-signed request; buildWithParameters needs one.
            let plain = try c.action(link, "trigger-build", "--arg", "job=simple job")
            #expect((plain.json["output"] as? [String: Any])?["build_number"] as? Int == 1, "\(plain)")
            let withParameters = try c.action(link, "trigger-build", "--arg", "job=Team A/Deploy", "--arg", "ENV=prod")
            #expect((withParameters.json["output"] as? [String: Any])?["build_number"] as? Int == 1, "\(withParameters)")
            let unicode = try c.action(link, "trigger-build", "--arg", "job=Team A/Build ü")
            #expect((unicode.json["output"] as? [String: Any])?["build_number"] as? Int == 1, "\(unicode)")
            let last = try c.action(link, "build-status", "--arg", "job=Team A/Deploy")
            let build = last.json["output"] as? [String: Any] ?? [:]
            #expect(build["number"] as? Int == 1 && build["result"] as? String == "SUCCESS", "\(last)")
            let nope = try c.action(link, "open", "--arg", "job=nope")
            #expect(nope.status != 0 && nope.stderr.contains("no job 'nope'"), "\(nope)")
            // A second link to the same Jenkins is offered with a warning.
            let again = try await c.send(
                "POST", "/rest/applinks/3.0/wizard/jenkins", headers: [("Authorization", "Bearer \(admin)")],
                body: #"{"answers": {"url": "\#(j.base)/"}}"#)
            #expect(again.body.contains("is already linked as"), "\(again.body)")
            let open = try c.action(link, "open", "--arg", "job=Team A/Build ü")
            #expect((open.json["output"] as? [String: Any])?["url"] as? String == j.base + "/job/Team%20A/job/Build%20%C3%BC/", "\(open)")
            let missing = try c.action(link, "trigger-build", "--arg", "job=No such job")
            #expect(missing.status != 0 && missing.stderr.contains("no job 'No such job'"), "\(missing)")

            // Jenkins says the token expired: the link renews it with its session handle and goes on.
            #expect(try await Self.fetch("POST", j.base + "/test/expire-tokens").status == 200)
            let afterExpiry = try c.action(link, "list-jobs")
            #expect(afterExpiry.status == 0, "\(afterExpiry)")
            let audit = try c.cli("audit", "--json")
            #expect(audit.stdout.contains("jenkins-token-renewed"), "\(audit.stdout)")
            #expect(try await c.checkStatus(link, admin: admin).0 == "CONNECTED")

            // A clock an hour ahead: Jenkins refuses the timestamp.
            let skewed = try runCommand(
                BuildProducts.applinks, ["status", link, "--json"],
                environment: c.env.merging(["APPLINKS_TESTING_CLOCK_OFFSET_SECONDS": "3600"]) { _, n in n })
            #expect(skewed.stdout.contains("OAUTH_TIMESTAMP_REFUSED") && skewed.stdout.contains("NTP"), "\(skewed.stdout)\(skewed.stderr)")

            #expect(try c.action(link, "set-credentials", "--arg", "shared_secret=not-the-secret").status == 0)
            let wrong = try await c.checkStatus(link, admin: admin)
            #expect(wrong.0 == "NETWORK_ERROR/OAUTH_SIGNATURE_INVALID" && wrong.1.contains("set-credentials"), "\(wrong)")
            #expect(try c.action(link, "set-credentials", "--arg", "shared_secret=\(Self.secret)").status == 0)
            #expect(try await c.checkStatus(link, admin: admin).0 == "CONNECTED")

            j.stop()
            let down = try await c.checkStatus(link, admin: admin)
            #expect(down.0 == "NETWORK_ERROR/CONNECTION_REFUSED", "\(down)")

            // Something that is not Jenkins now answers at that address.
            let other = Process()
            other.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            other.arguments = ["python3", "-m", "http.server", "\(j.port)", "--bind", "127.0.0.1"]
            other.standardOutput = FileHandle.nullDevice
            other.standardError = FileHandle.nullDevice
            try other.run()
            defer { kill(other.processIdentifier, SIGKILL) }
            var notJenkins = down
            for _ in 0..<50 where notJenkins.0 == "NETWORK_ERROR/CONNECTION_REFUSED" {
                try await Task.sleep(for: .milliseconds(100))
                notJenkins = try await c.checkStatus(link, admin: admin)
            }
            #expect(notJenkins.0 == "CONFIG_ERROR/INVALID_CONFIG" && notJenkins.1.contains("not Jenkins"), "\(notJenkins)")
        }

        @Test("a denied approval, by oauth_problem or by a verifier that reads denied, ends in denied and the wizard says so")
        func deniedApproval() async throws {
            let (c, admin) = try RunningServer.allowingLoopback()
            let j = try await StandIn()
            defer { j.stop() }
            let auth = [("Authorization", "Bearer \(admin)")]
            for decision in ["deny", "deny-verifier"] {
                let started = try await c.send(
                    "POST", "/rest/applinks/3.0/wizard/jenkins", headers: auth,
                    body: #"{"answers": {"url": "\#(j.base)", "consumer_key": "\#(Self.key)", "shared_secret": "\#(Self.secret)"}}"#)
                let pending = Self.json(started.body)
                let url = try #require(pending["url"] as? String, "\(started.body)")
                let draft = try #require(pending["draft_id"] as? String)
                let token = try #require(URLComponents(string: url)?.queryItems?.first { $0.name == "oauth_token" }?.value)
                let back = try await Self.fetch(
                    "POST", j.base + "/bbs-oauth/authorize",
                    form: ["oauth_token": token, "username": "admin", "password": "admin-password", "decision": decision])
                #expect(back.status == 403 && back.body.contains("denied") && !back.body.contains("Authorized"), "\(decision): \(back)")
                let next = try await c.send("POST", "/rest/applinks/3.0/wizard/drafts/\(draft)", headers: auth, body: "{}")
                #expect(next.body.contains("Access was denied") && !next.body.contains(#""created""#), "\(decision): \(next.body)")
                // Asked again, the wizard starts new legs rather than waiting on the refused ones.
                let retry = Self.json(try await c.send("POST", "/rest/applinks/3.0/wizard/drafts/\(draft)", headers: auth, body: "{}").body)
                #expect(retry["state"] as? String == "pending" && (retry["url"] as? String) != url, "\(retry)")
            }
            #expect(try c.cli("list", "--json").jsonArray?.isEmpty == true)
        }

        @Test("the wizard warns about a URL that is not Jenkins or cannot be reached, and a token that expires is renewed before use")
        func wizardWarningsAndRenewalBeforeExpiry() async throws {
            let (c, admin) = try RunningServer.allowingLoopback()
            let auth = [("Authorization", "Bearer \(admin)")]
            let notJenkins = try await c.send(
                "POST", "/rest/applinks/3.0/wizard/jenkins", headers: auth, body: #"{"answers": {"url": "http://127.0.0.1:\#(c.port)"}}"#)
            #expect(notJenkins.body.contains("without an X-Jenkins header"), "\(notJenkins.body)")
            let port = try freeLoopbackPort()
            let gone = try await c.send(
                "POST", "/rest/applinks/3.0/wizard/jenkins", headers: auth, body: #"{"answers": {"url": "http://127.0.0.1:\#(port)"}}"#)
            #expect(gone.body.contains("cannot be reached") && gone.body.contains("You may go on anyway"), "\(gone.body)")
            // A URL the address policy refuses is said of the URL, at once: no later step could reach it, and the
            // consumer key is not to blame.
            let strict = try RunningServer(
                extraEnv: ["APPLINKS_PLUGINS_SEARCH_EXECUTABLE_DIRECTORY": "true", "APPLINKS_HTTP_ALLOW_PRIVATE_ADDRESSES": "false"])
            let refused = try strict.cli(
                "create", "jenkins", "--set", "url=http://127.0.0.1:\(port)", "--set", "consumer_key=k", "--set", "shared_secret=s")
            #expect(refused.status == 6 && refused.stderr.contains("- url: ") && refused.stderr.contains("loopback"), "\(refused.stderr)")
            #expect(!refused.stderr.contains("consumer_key:"), "\(refused.stderr)")

            // Tokens for 61 s: within the 60 s margin after a second, so the next call renews first.
            let j = try await StandIn(tokenSeconds: 61)
            defer { j.stop() }
            let link = try await Self.link(c, admin, j)
            // Until the expiry the link keeps, less the 60 s margin: as long as the token's own lifetime, on any machine.
            let shown = Self.json(try await c.get("/rest/applinks/3.0/links/\(link)", headers: [("Authorization", "Bearer \(admin)")]).body)
            let expires = try #require(((shown["config"] as? [String: Any])?["token_expires_at"] as? Double), "\(shown)")
            try await Renewal.waitUntilDue(expiry: Date(timeIntervalSince1970: expires))
            #expect(try await c.checkStatus(link, admin: admin).0 == "CONNECTED")
            #expect(try c.cli("audit", "--json").stdout.contains("jenkins-token-renewed"))
        }

        @Test("python-jenkins reads the stand-in's jobs and version: its REST shape is the one real clients expect")
        func pythonJenkinsReadsJobs() async throws {
            let j = try await StandIn()
            defer { j.stop() }
            let script = """
                import json, sys, jenkins
                server = jenkins.Jenkins(sys.argv[1])
                print(json.dumps({"version": server.get_version(), "jobs": sorted(j["fullname"] for j in server.get_all_jobs())}))
                """
            let r = try runCommand(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", script, j.base])
            let report = Self.json(r.stdout)
            #expect(report["version"] as? String == "2.440.3", "\(r.stdout)\(r.stderr)")
            let jobs = report["jobs"] as? [String] ?? []
            #expect(Set(jobs).isSuperset(of: ["simple job", "Team A/Build ü", "Team A/Deploy", "Team A/Nested/deep"]), "\(jobs)")
        }
    }
}
