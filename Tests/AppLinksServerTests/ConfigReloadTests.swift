import Foundation
import TestSupport
import Testing

extension ServerProcessTests {
    @Suite("SIGHUP reloads the config")
    struct ConfigReloadTests {
        @Test("the log thresholds change at once, other changes are named as waiting for a restart, and a broken file changes nothing")
        func reload() async throws {
            let s = try RunningServer()
            let config = s.home.appendingPathComponent("config.yaml")
            let original = try String(contentsOf: config, encoding: .utf8)
            try #require(original.contains("  level: info\n"))
            func logged(_ text: String) async -> Bool { await s.eventually(within: .seconds(60)) { s.log.contains(text) } != nil }

            _ = try await s.get("/healthz")
            #expect(await logged("GET /healthz 200"), "the access log is on at info: \(s.log.suffix(400))")

            // Quieter logs, and a new base URL, which only a restart can apply.
            try original.replacingOccurrences(of: "  level: info\n", with: "  level: warning\n")
                .components(separatedBy: "\n").map { $0.hasPrefix("base_url:") ? "base_url: https://renamed.example.com" : $0 }
                .joined(separator: "\n").write(to: config, atomically: true, encoding: .utf8)
            kill(s.process.processIdentifier, SIGHUP)
            #expect(await logged("take effect at the next restart"), "\(s.log.suffix(600))")
            #expect(s.log.contains("config.yaml reloaded") && s.log.contains("applied=log.level"), "\(s.log.suffix(600))")
            #expect(s.log.contains("settings=base_url"), "\(s.log.suffix(600))")
            #expect(try await s.get("/rest/applinks/1.0/manifest").body.contains("127.0.0.1"), "the base URL in use stays until a restart")

            // A file that no longer loads changes nothing.
            try original.replacingOccurrences(of: "  level: info\n", with: "  level: loud\n").write(
                to: config, atomically: true, encoding: .utf8)
            kill(s.process.processIdentifier, SIGHUP)
            #expect(await logged("config.yaml not reloaded; the settings in use stay"), "\(s.log.suffix(600))")
            #expect(s.log.contains("log.level 'loud' is not one of"), "\(s.log.suffix(600))")
            #expect(try await s.get("/healthz").status == 200 && s.process.isRunning)
            // Still at warning, the access log is quiet; a clean stop has written every line the server logged.
            _ = try await s.get("/readyz")
            s.stop()
            #expect(!s.log.contains("GET /readyz"), "at warning the access log is quiet: \(s.log.suffix(600))")
        }
    }
}
