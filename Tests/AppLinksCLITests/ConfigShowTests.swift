import Foundation
import TestSupport
import Testing

@Suite("applinks config show")
struct ConfigShowTests {
    @Test("each setting with its source: the environment over config.yaml over the default; secrets masked")
    func sources() throws {
        let cli = try CLI.initialized()
        let file = cli.home.appendingPathComponent("config.yaml")
        let text = try String(contentsOf: file, encoding: .utf8)
        try text.replacingOccurrences(of: "interval_seconds: 600", with: "interval_seconds: 45").write(
            to: file, atomically: true, encoding: .utf8)
        let key = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let r = try cli.run(
            ["config", "show", "--json"],
            env: [
                "APPLINKS_DATABASE_URL": "postgres://applinks:s3cret-pw@db.example.com/applinks", "APPLINKS_STATUS_TIMEOUT_SECONDS": "3",
                "APPLINKS_MASTER_KEY": key,
            ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stdout.contains("s3cret-pw") && !r.stdout.contains(key), "a secret was printed: \(r.stdout)")
        let settings = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: String]])
        var by: [String: (String, String)] = [:]
        for s in settings { by[s["key"] ?? ""] = (s["value"] ?? "", s["source"] ?? "") }
        #expect(by["database"]?.0 == "postgres://applinks:***@db.example.com/applinks")
        #expect(by["database"]?.1 == "environment (APPLINKS_DATABASE_URL)", "the file still says SQLite; the environment wins")
        #expect(
            by["status.timeout_seconds"]?.0 == "3" && by["status.timeout_seconds"]?.1 == "environment (APPLINKS_STATUS_TIMEOUT_SECONDS)")
        #expect(by["status.interval_seconds"]?.0 == "45" && by["status.interval_seconds"]?.1 == "config.yaml")
        #expect(by["server.max_requests_in_flight"]?.0 == "1024" && by["server.max_requests_in_flight"]?.1 == "default")
        #expect(by["master_key"]?.0 == "(set, hidden)" && by["master_key"]?.1 == "environment (APPLINKS_MASTER_KEY)")
        #expect(by["name"]?.0 == "CLI test")

        let text2 = try cli.run("config", "show")
        #expect(text2.status == 0 && text2.stdout.contains("status.interval_seconds") && text2.stdout.contains("config.yaml"))
        let bad = try cli.run(["config", "show"], env: ["APPLINKS_STATUS_CONCURRENCY": "many"])
        #expect(bad.status == 2 && bad.stderr.contains("status.concurrency"), "\(bad.stderr)")
    }
}
