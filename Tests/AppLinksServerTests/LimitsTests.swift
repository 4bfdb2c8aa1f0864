import AsyncHTTPClient
import Foundation
import TestSupport
import Testing

extension ServerProcessTests {
    /// What a hostile or broken client can send: every input that reaches a parser has a size limit, and a
    /// client that sends slowly is dropped after a bounded time.
    @Suite("input limits and slow senders")
    struct LimitsTests {
        @Test("oversized bodies get 413 on login, the admin API and plugin routes; an oversized header is refused")
        func oversized() async throws {
            try await LiveServer.run { s in
                let admin = try await s.newToken(user: "root", admin: true)
                let big = String(repeating: "a", count: 2 << 20)
                let form = [("Content-Type", "application/x-www-form-urlencoded")]
                #expect(try await s.send("POST", "/login", headers: form, body: "username=" + big).status == 413)
                let auth = [("Authorization", "Bearer \(admin)"), ("Content-Type", "application/json")]
                #expect(
                    try await s.send(
                        "POST", "/rest/applinks/3.0/wizard/fixture", headers: auth, body: #"{"answers":{"x":""# + big + #""}}"#
                    )
                    .status == 413)
                #expect(try await s.send("POST", "/plugins/servlet/oauth/request-token", headers: form, body: big).status == 413)
                // 100 KB of headers: the HTTP decoder refuses them (NIO allows 80 KB), and the server stays up.
                let header = [("X-Padding", String(repeating: "b", count: 100_000))]
                let refused = try? await s.get("/healthz", headers: header)
                #expect(refused?.status != 200, "an oversized header was answered: \(String(describing: refused?.status))")
                #expect(try await s.get("/healthz").status == 200)
            }
        }

        @Test("a flood of password checks (scrypt) leaves /healthz answering: its p99 stays below one password check's time")
        func passwordFlood() async throws {
            let s = try RunningServer()
            _ = try s.token(user: "root", admin: true)
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("login_flood.py")
            let port = s.port
            let r = try await offPool {
                try runCommand(
                    URL(fileURLWithPath: "/usr/bin/env"),
                    ["python3", script.path, "http://127.0.0.1:\(port)", "root", "correct horse battery", "5", "8"])
            }
            let report = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stderr)")
            let statuses = report["statuses"] as? [String: Int] ?? [:]
            #expect((statuses["200"] ?? 0) >= 10, "the flood must really check passwords: \(report)")
            // Relative to this machine: a check on an event loop would hold /healthz up for whole checks at a time.
            let check = report["check_ms"] as? Double ?? 0
            #expect(check > 0 && (report["p99"] as? Double ?? .infinity) < check, "\(report)")
        }

        @Test("200 clients sending one byte a second are dropped after the header timeout, and /healthz answers throughout")
        func slowSenders() async throws {
            let s = try RunningServer(extraEnv: ["APPLINKS_SERVER_REQUEST_HEADER_TIMEOUT_SECONDS": "3"])
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("slow_senders.py")
            let port = s.port
            let r = try await offPool {
                try runCommand(URL(fileURLWithPath: "/usr/bin/env"), ["python3", script.path, "\(port)", "200", "20"])
            }
            let report = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stderr)")
            #expect(report["closed"] as? Int == 200, "\(report)")
            // Three seconds of grace, then at most a few more for a busy machine to get round to closing them.
            #expect((report["latest_close"] as? Double ?? 99) < 15, "\(report)")
            let health = report["healthz"] as? [[Any]] ?? []
            #expect(!health.isEmpty && health.allSatisfy { $0.first as? Int == 200 }, "\(health)")
        }

        @Test("server.probe_listen answers /healthz and /readyz on a listener of its own, and nothing else")
        func probeListener() async throws {
            let probePort = try freeLoopbackPort()
            let s = try RunningServer(extraEnv: ["APPLINKS_SERVER_PROBE_LISTEN": "127.0.0.1:\(probePort)"])
            func probe(_ path: String) async throws -> (status: UInt, body: String) {
                let r = try await LoopbackClient.shared.execute(
                    HTTPClientRequest(url: "http://127.0.0.1:\(probePort)\(path)"), timeout: .seconds(10))
                let body = try await r.body.collect(upTo: 1 << 16)
                return (r.status.code, String(buffer: body))
            }
            // It starts beside the main listener, which RunningServer waited for, so it may not listen yet.
            let up = await s.eventually(within: .seconds(60)) { acceptsConnections(loopbackPort: probePort) }
            #expect(up != nil, "\(s.log.suffix(1000))")
            #expect(try await probe("/healthz").status == 200)
            let ready = try await probe("/readyz")
            #expect(ready.status == 200 && ready.body.contains("ready"), "\(ready)")
            #expect(try await probe("/rest/applinks/1.0/manifest").status == 404)
            #expect(try await probe("/metrics").status == 404)
            #expect(try await s.get("/healthz").status == 200)
            #expect(try await s.get("/readyz").status == 200)
            let bad = try runCommand(
                BuildProducts.applinks, ["config", "show"],
                environment: s.env.merging(["APPLINKS_SERVER_PROBE_LISTEN": "nope"]) { _, n in n })
            #expect(bad.status == 2 && bad.stderr.contains("server.probe_listen"), "\(bad.stderr)")
            // A probe address already taken (here by the running node's main listener) is blamed on
            // server.probe_listen, not on --listen, which is free. `timeout` only guards against a node that stays up.
            let taken = try runCommand(
                URL(fileURLWithPath: "/usr/bin/timeout"),
                ["-k", "5", "60", BuildProducts.applinks.path, "serve", "--listen", "127.0.0.1:0"],
                environment: s.env.merging(["APPLINKS_SERVER_PROBE_LISTEN": "127.0.0.1:\(s.port)"]) { _, n in n })
            #expect(taken.status == 2, "\(taken.status) \(taken.stderr)")
            #expect(
                taken.stderr.contains("server.probe_listen 127.0.0.1:\(s.port)") && !taken.stderr.contains("--listen"),
                "\(taken.stderr)")
            // The main listener's address in use names --listen. Both are refused before anything starts: a
            // listener failing while the other services start could hang the process (see ListenPreflight).
            let main = try runCommand(
                URL(fileURLWithPath: "/usr/bin/timeout"),
                ["-k", "5", "60", BuildProducts.applinks.path, "serve", "--listen", "127.0.0.1:\(s.port)"],
                environment: s.env)
            #expect(
                main.status == 2 && main.stderr.contains("--listen 127.0.0.1:\(s.port) cannot be used"), "\(main.status) \(main.stderr)")
        }

        @Test("past server.max_requests_in_flight, requests are shed with 503 and Retry-After at once; probes still answer")
        func shedsLoad() async throws {
            try await LiveServer.run(extraEnv: ["APPLINKS_SERVER_MAX_REQUESTS_IN_FLIGHT": "2"]) { s in
                // Six requests that each hold the node for 1.5 s: two are worked on, the others are refused at once.
                let answers = try await withThrowingTaskGroup(of: (Int, String?, Duration).self) { group in
                    for _ in 0..<6 {
                        group.addTask {
                            let start = ContinuousClock.now
                            let r = try await s.get("/plugins/fixture/slow")
                            return (r.status, r.headers.first(name: "Retry-After"), ContinuousClock.now - start)
                        }
                    }
                    var all: [(Int, String?, Duration)] = []
                    for try await a in group { all.append(a) }
                    return all
                }
                let shed = answers.filter { $0.0 == 503 }
                let served = answers.filter { $0.0 == 200 }
                #expect(!served.isEmpty && served.count <= 2 && served.count + shed.count == 6, "\(answers)")
                // At once: before any request that was let in had finished its 1.5 s.
                let firstServed = served.map { $0.2 }.min() ?? .seconds(1.5)
                #expect(shed.allSatisfy { $0.1 == "1" && $0.2 < firstServed }, "refused at once, with Retry-After: \(shed), \(served)")
                // While the node is full, the probes still answer.
                let started = s.log.components(separatedBy: "slow route started").count
                async let busy = s.get("/plugins/fixture/slow")
                async let busier = s.get("/plugins/fixture/slow")
                #expect(
                    await s.eventually(within: .seconds(30)) { s.log.components(separatedBy: "slow route started").count == started + 2 }
                        != nil
                )
                #expect(try await s.get("/healthz").status == 200)
                _ = try await (busy, busier)
            }
        }
    }
}
