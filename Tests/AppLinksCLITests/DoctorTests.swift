import Foundation
import TestSupport
import Testing

@Suite("applinks doctor")
struct DoctorTests {
    static func findings(_ r: CommandResult) -> [String: [String]] {
        let list = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: String]]) ?? []
        var out: [String: [String]] = [:]
        for f in list { out[f["check"] ?? "", default: []].append("\(f["level"] ?? "") \(f["message"] ?? "")") }
        return out
    }

    @Test(
        "a healthy home passes; writable plugins, a refused plugin, a remote's clock and a base URL that cannot be reached are named with their fix"
    )
    func findsProblems() throws {
        let cli = try CLI.initialized()
        let healthy = try cli.run("doctor", "--json")
        #expect(healthy.status == 0, "\(healthy.stdout)\(healthy.stderr)")
        #expect(Self.findings(healthy)["database"]?.first?.hasPrefix("ok") == true)

        // A remote whose clock is ten minutes ahead.
        let script = """
            import http.server, sys, time
            class H(http.server.BaseHTTPRequestHandler):
                def date_time_string(self, timestamp=None): return self.log_date_time_string() and __import__('email.utils').utils.formatdate(time.time() + 600, usegmt=True)
                def do_HEAD(self): self.send_response(200); self.end_headers()
                def log_message(self, *a): pass
            s = http.server.HTTPServer(("127.0.0.1", 0), H); print(s.server_address[1], flush=True); s.serve_forever()
            """
        let remote = Process()
        remote.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        remote.arguments = ["python3", "-c", script]
        let out = Pipe()
        remote.standardOutput = out
        remote.standardError = FileHandle.nullDevice
        try remote.run()
        // SIGKILL: a test runner may hand SIGTERM down ignored, and a server left running would hold the runner open.
        defer { kill(remote.processIdentifier, SIGKILL) }
        let port = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        try cli.createLink("Skewed", url: "http://127.0.0.1:\(port)")

        let plugins = cli.home.appendingPathComponent("plugins")
        try Data("not a library".utf8).write(to: plugins.appendingPathComponent("libBroken.so"))
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: plugins.path)
        let sick = try cli.run(["doctor", "--json"], env: ["APPLINKS_BASE_URL": "http://no-such-host.invalid:8080"])
        #expect(sick.status == 1, "\(sick.stdout)\(sick.stderr)")
        let f = Self.findings(sick)
        #expect(f["files"]?.contains { $0.hasPrefix("problem") && $0.contains("chmod go-w \(plugins.path)") } == true, "\(f)")
        #expect(f["plugins"]?.contains { $0.hasPrefix("problem") && $0.contains("libBroken.so") } == true, "\(f)")
        #expect(f["clock"]?.contains { $0.hasPrefix("problem") && $0.contains("Skewed") && $0.contains("ahead") } == true, "\(f)")
        #expect(f["base_url"]?.first?.hasPrefix("problem") == true && f["base_url"]?.first?.contains("does not resolve") == true, "\(f)")
        let text = try cli.run("doctor")
        #expect(text.status == 1 && text.stdout.contains("PROBLEM files:"), "\(text.stdout)")
    }
}
