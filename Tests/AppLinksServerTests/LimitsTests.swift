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
            let s = try RunningServer()
            let admin = try s.token(user: "root", admin: true)
            let big = String(repeating: "a", count: 2 << 20)
            let form = [("Content-Type", "application/x-www-form-urlencoded")]
            #expect(try await s.send("POST", "/login", headers: form, body: "username=" + big).status == 413)
            let auth = [("Authorization", "Bearer \(admin)"), ("Content-Type", "application/json")]
            #expect(
                try await s.send("POST", "/rest/applinks/3.0/wizard/fixture", headers: auth, body: #"{"answers":{"x":""# + big + #""}}"#)
                    .status == 413)
            #expect(try await s.send("POST", "/plugins/servlet/oauth/request-token", headers: form, body: big).status == 413)
            // 100 KB of headers: the HTTP decoder refuses them (NIO allows 80 KB), and the server stays up.
            let header = [("X-Padding", String(repeating: "b", count: 100_000))]
            let refused = try? await s.get("/healthz", headers: header)
            #expect(refused?.status != 200, "an oversized header was answered: \(String(describing: refused?.status))")
            #expect(try await s.get("/healthz").status == 200)
        }

        @Test("a flood of password checks (scrypt) leaves /healthz answering fast: p99 under 50 ms")
        func passwordFlood() async throws {
            let s = try RunningServer()
            _ = try s.token(user: "root", admin: true)
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("login_flood.py")
            let r = try runCommand(
                URL(fileURLWithPath: "/usr/bin/env"),
                ["python3", script.path, "http://127.0.0.1:\(s.port)", "root", "correct horse battery", "5", "8"])
            let report = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stderr)")
            let statuses = report["statuses"] as? [String: Int] ?? [:]
            #expect((statuses["200"] ?? 0) >= 10, "the flood must really check passwords: \(report)")
            #expect((report["p99"] as? Double ?? 999) < 50, "\(report)")
        }

        @Test("200 clients sending one byte a second are dropped after the header timeout, and /healthz answers throughout")
        func slowSenders() async throws {
            let s = try RunningServer(extraEnv: ["APPLINKS_SERVER_REQUEST_HEADER_TIMEOUT_SECONDS": "3"])
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("slow_senders.py")
            let r = try runCommand(URL(fileURLWithPath: "/usr/bin/env"), ["python3", script.path, "\(s.port)", "200", "20"])
            let report = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stderr)")
            #expect(report["closed"] as? Int == 200, "\(report)")
            // Three seconds of grace, then at most a few more for a busy machine to get round to closing them.
            #expect((report["latest_close"] as? Double ?? 99) < 15, "\(report)")
            let health = report["healthz"] as? [[Any]] ?? []
            #expect(!health.isEmpty && health.allSatisfy { $0.first as? Int == 200 }, "\(health)")
        }
    }
}
