import Foundation
import Synchronization
import TestSupport
import Testing

extension ServerProcessTests {
    /// `applinks serve` killed with SIGKILL at a random moment while it acknowledges writes, again and again: after
    /// each restart every acknowledged write is there, nothing is half-written, and the server answers quickly.
    ///
    /// The suite runs 10 kill cycles per backend; `APPLINKS_CRASH_CYCLES=50` runs the full count.
    /// Each backend gets 50 kill cycles; `APPLINKS_CRASH_CYCLES` sets another count.
    struct CrashDurabilityTests {
        typealias OAuth = OAuth2IncomingTests

        /// What the server said it had written: links (id and name) and OAuth 2.0 access tokens.
        struct Acknowledged {
            var links: [(id: String, name: String)] = []
            var tokens: [String] = []
        }

        /// How many writers have had a write acknowledged in this cycle: the kill waits for all of them, so that every
        /// cycle kills the node under writes of both kinds, however slow the machine.
        final class WritersStarted: Sendable {
            private let writers = Atomic(0)
            var count: Int { writers.load(ordering: .acquiring) }
            func one() { writers.add(1, ordering: .releasing) }
        }

        /// One writer's share of a cycle, until the server stops answering: writer 0 creates links through the REST
        /// wizard (a link row and its audit entry), the others take client_credentials tokens (plugin data).
        static func write(
            _ s: RunningServer, admin: String, client: OAuth.Client, cycle: Int, writer: Int, started: WritersStarted
        ) async -> Acknowledged {
            var done = Acknowledged()
            for n in 0..<10_000 {
                do {
                    try await Task.sleep(for: .milliseconds(25))
                    if writer == 0 {
                        let name = "Crash \(cycle)-\(writer)-\(n)"
                        let r = try await s.send(
                            "POST", "/rest/applinks/3.0/wizard/fixture",
                            headers: [("Authorization", "Bearer \(admin)"), ("Content-Type", "application/json")],
                            body:
                                #"{"answers": {"name": "\#(name)", "url": "https://c\#(cycle)-\#(writer)-\#(n).example.com", "token": "abcd"}}"#
                        )
                        guard r.status == 201 else { return done }
                        let object = try JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any]
                        let link = (object?["link"] as? [String: Any]) ?? object
                        guard let id = link?["id"] as? String else { return done }
                        done.links.append((id, name))
                        if done.links.count == 1 { started.one() }
                    } else {
                        let r = try await OAuth.post(
                            s, "/rest/oauth2/latest/token", ["grant_type": "client_credentials"], basic: (client.id, client.secret ?? ""))
                        guard r.status == 200, let token = r.json["access_token"] as? String else { return done }
                        done.tokens.append(token)
                        if done.tokens.count == 1 { started.one() }
                    }
                } catch {
                    return done
                }
            }
            return done
        }

        /// Every acknowledged write is there, and every link there is whole.
        static func verify(_ s: RunningServer, admin: String, client: OAuth.Client, _ acked: Acknowledged, cycle: Int) async throws {
            for (id, name) in acked.links {
                let r = try await s.get("/rest/applinks/3.0/links/\(id)", headers: [("Authorization", "Bearer \(admin)")])
                #expect(r.status == 200 && r.body.contains(name), "cycle \(cycle): acknowledged link \(name) lost: \(r.status) \(r.body)")
            }
            for token in acked.tokens {
                #expect(try await OAuth.introspect(s, client, token) == true, "cycle \(cycle): acknowledged token lost")
            }
            let all = try s.cli("list", "--json")
            let links = try #require(try JSONSerialization.jsonObject(with: Data(all.stdout.utf8)) as? [[String: Any]], "\(all.stderr)")
            for link in links where (link["type"] as? String) == "fixture" {
                let name = link["name"] as? String ?? ""
                let display = (link["urls"] as? [String: Any])?["display"] as? String ?? ""
                #expect(name.hasPrefix("Crash ") && display.hasPrefix("https://c"), "cycle \(cycle): a link is not whole: \(link)")
            }
            // Each acknowledged link's creation is in the audit log too.
            let audit = try s.cli("audit", "--json", "--limit", "1000000")
            #expect(audit.status == 0, "cycle \(cycle): audit unreadable: \(audit.stderr)")
            for (id, name) in acked.links {
                #expect(audit.stdout.contains(id), "cycle \(cycle): acknowledged link \(name) has no audit entry")
            }
            let drafts = try s.cli("drafts", "list", "--json")
            #expect(drafts.status == 0, "cycle \(cycle): drafts unreadable: \(drafts.stderr)")
        }

        static func cycles(database: String?) async throws {
            let dir = TemporaryDirectory("crash")
            let port = try freeLoopbackPort()
            var env = ["APPLINKS_BASE_URL": "http://127.0.0.1:\(port)", "APPLINKS_PLUGINS_SEARCH_EXECUTABLE_DIRECTORY": "true"]
            if let database {
                env["APPLINKS_DATABASE_URL"] = database
                env["APPLINKS_MASTER_KEY"] = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
            }
            var s = try RunningServer(dir: dir, extraEnv: env, listen: "127.0.0.1:\(port)")
            let admin = try s.token(user: "root", admin: true)
            let client = try await OAuth.register(s, clientCredentials: true)
            var all = Acknowledged()
            var restarts: [Duration] = []
            let cycles = ProcessInfo.processInfo.environment["APPLINKS_CRASH_CYCLES"].flatMap { Int($0) } ?? 50
            for cycle in 0..<cycles {
                let server = s
                let writing = WritersStarted()
                let acked = await withTaskGroup(of: Acknowledged.self) { group in
                    for writer in 0..<2 {
                        group.addTask {
                            await Self.write(server, admin: admin, client: client, cycle: cycle, writer: writer, started: writing)
                        }
                    }
                    group.addTask {
                        _ = await server.eventually(within: .seconds(60)) { writing.count == 2 }
                        try? await Task.sleep(for: .milliseconds(Int.random(in: 0...350)))
                        kill(server.process.processIdentifier, SIGKILL)
                        return Acknowledged()
                    }
                    return await group.reduce(into: Acknowledged()) {
                        $0.links += $1.links
                        $0.tokens += $1.tokens
                    }
                }
                s.process.waitUntilExit()
                #expect(s.process.terminationReason == .uncaughtSignal, "cycle \(cycle): the server ended on its own")
                all.links += acked.links
                all.tokens += acked.tokens

                let restarted = ContinuousClock.now
                s = try RunningServer(dir: dir, extraEnv: env, initialise: false, listen: "127.0.0.1:\(port)")
                do {
                    while try await s.get("/healthz").status != 200 {}
                    restarts.append(ContinuousClock.now - restarted)
                    if database == nil {
                        let check = try runCommand(
                            URL(fileURLWithPath: "/usr/bin/python3"),
                            [
                                "-c",
                                "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])",
                                s.home.appendingPathComponent("applinks.db").path,
                            ])
                        #expect(check.stdout == "ok\n", "cycle \(cycle): \(check.stdout) \(check.stderr)")
                    }
                    try await Self.verify(s, admin: admin, client: client, acked, cycle: cycle)
                } catch {
                    Issue.record("cycle \(cycle): \(error); the server's log: \(s.log.suffix(2000))")
                    throw error
                }
            }
            // Nothing acknowledged in an earlier cycle went missing later either.
            try await Self.verify(s, admin: admin, client: client, all, cycle: cycles)
            #expect(
                all.links.count >= cycles && all.tokens.count >= cycles,
                "the cycles wrote too little to show anything: \(all.links.count) links")
            // Restart times are reported, not asserted: under the status sweep that follows each restart they vary
            // with the machine's load.
            let sorted = restarts.sorted()
            func ms(_ d: Duration) -> Int { Int(d / .milliseconds(1)) }
            print(
                "crash durability (\(database == nil ? "SQLite" : "PostgreSQL")): \(cycles) kills, \(all.links.count) links and \(all.tokens.count) tokens acknowledged, none lost; restart to first answer (process start included): median \(ms(sorted[sorted.count / 2])) ms, slowest \(ms(sorted.last ?? .zero)) ms"
            )
            s.stop()
        }

        @Test("on SQLite: acknowledged links and tokens survive, and the database passes its integrity check")
        func sqlite() async throws { try await Self.cycles(database: nil) }

        @Test("on PostgreSQL, killing the node and not the database: acknowledged links and tokens survive")
        func postgres() async throws { try await Self.cycles(database: try await TestPostgres.freshDatabase()) }
    }
}
