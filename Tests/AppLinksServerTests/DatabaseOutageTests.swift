import AppLinksCore
import Foundation
import TestSupport
import Testing

extension ServerProcessTests {
    /// A node whose PostgreSQL goes away and comes back, through a TCP relay that the test kills and restarts
    /// (the PostgreSQL server itself is shared with other tests).
    @Suite("The database away and back")
    struct DatabaseOutageTests {
        /// The relay between the node and PostgreSQL; `stop()` is the outage.
        final class Relay {
            let port: Int
            let target: Int
            var process: Process?

            init(target: Int) throws {
                port = try freeLoopbackPort()
                self.target = target
                try start()
            }

            func start() throws {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                p.arguments = [
                    "python3", URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("tcp_proxy.py").path,
                    "\(port)", "\(target)",
                ]
                let out = Pipe()
                p.standardOutput = out
                p.standardError = FileHandle.nullDevice
                try p.run()
                _ = out.fileHandleForReading.availableData  // "ready", once it listens
                process = p
            }

            func stop() {
                guard let p = process else { return }
                kill(p.processIdentifier, SIGKILL)
                p.waitUntilExit()
                process = nil
            }

            deinit { stop() }
        }

        @Test("healthz stays up, readyz and requests answer 503 naming the database within the wait, and the node recovers")
        func outage() async throws {
            let database = try await TestPostgres.freshDatabase()
            let portText = try #require(database.firstMatch(of: /127\.0\.0\.1:(\d+)\//)?.1)
            let pgPort = try #require(Int(portText))
            let relay = try Relay(target: pgPort)
            let viaRelay = database.replacingOccurrences(of: "127.0.0.1:\(pgPort)/", with: "127.0.0.1:\(relay.port)/")
            let s = try RunningServer(extraEnv: ["APPLINKS_DATABASE_URL": viaRelay, "APPLINKS_PLUGINS_SEARCH_EXECUTABLE_DIRECTORY": "true"])
            let admin = [("Authorization", "Bearer \(try s.token(user: "alice", admin: true))")]
            let c = try await OAuth2IncomingTests.register(s, clientCredentials: true)
            #expect(try await s.get("/readyz").status == 200)
            #expect(try await s.get("/rest/applinks/3.0/links", headers: admin).status == 200)

            relay.stop()
            let started = ContinuousClock.now
            let list = try await s.get("/rest/applinks/3.0/links", headers: admin)
            let waited = ContinuousClock.now - started
            #expect(
                list.status == 503 && list.body.contains("database_unavailable") && list.body.contains("127.0.0.1:\(relay.port)"), "\(list)"
            )
            #expect(list.headers.first(name: "Retry-After") == "5", "\(list.headers)")
            // The request ends at the store's own bounded wait (5 s by default), not after the pool's reconnection attempts
            // (a minute, before the bound). The answer names that wait; how long it took on the clock depends on the machine.
            #expect(list.body.contains("did not answer within 5 s"), "the request did not end at the bounded wait: \(list)")
            #expect(try await s.get("/healthz").status == 200, "liveness does not depend on the database")
            #expect(try await s.get("/readyz").status == 503)
            let token = try await OAuth2IncomingTests.post(
                s, "/rest/oauth2/latest/token", ["grant_type": "client_credentials"], basic: (c.id, c.secret ?? ""))
            #expect(
                token.status == 503 && "\(token.json)".contains("database"),
                "the token endpoint blames the database, not the link type: \(token)")

            // The database comes back once the node has said it is gone, which is logged once per outage.
            let noticed = await s.eventually(within: .seconds(30)) { s.log.contains("database unavailable") }
            #expect(noticed != nil, "\(s.log.suffix(2000))")
            try relay.start()
            let back = ContinuousClock.now
            let ready = try await s.eventually(within: .seconds(30)) { try await s.get("/readyz").status == 200 }
            #expect(ready != nil, "the node did not recover")
            #expect(try await s.get("/rest/applinks/3.0/links", headers: admin).status == 200)
            let issued = try await OAuth2IncomingTests.post(
                s, "/rest/oauth2/latest/token", ["grant_type": "client_credentials"], basic: (c.id, c.secret ?? ""))
            #expect(issued.status == 200, "\(issued)")
            print(
                "database outage: a request answered 503 after \(waited); the node was ready \(ContinuousClock.now - back) after the database returned"
            )
            #expect(s.log.contains("database unavailable") && s.log.contains("database available again"), "\(s.log.suffix(2000))")
        }
    }
}
