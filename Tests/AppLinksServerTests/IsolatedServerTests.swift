import Foundation
import TestSupport
import Testing

@Suite("Process isolation under applinks serve")
struct IsolatedServerTests {
    @Test("a link type that segfaults in its runner: the server keeps serving, that check is UNKNOWN, and the type comes back")
    func crashUnderServe() async throws {
        let s = try RunningServer(extraEnv: ["APPLINKS_PLUGINS_ISOLATION": "fixture=process", "APPLINKS_STATUS_TIMEOUT_SECONDS": "2"])
        let admin = try s.token(user: "root", admin: true)
        for name in ["Good", "Crash"] {
            let r = try s.cli(
                "create", "fixture", "--set", "name=\(name)", "--set", "url=https://\(name).example.com", "--set", "token=abcd")
            #expect(r.status == 0, "\(r.stderr)")
        }
        #expect(try s.cli("edit", "Crash", "--set", "config.behaviour=segfault").status == 0)
        let info = try s.cli("plugins", "info", "fixture")
        #expect(info.stdout.contains("in its own runner process"), "\(info.stdout)")

        #expect(try await s.checkStatus("Good", admin: admin).0 == "CONNECTED")
        let (crashed, message) = try await s.checkStatus("Crash", admin: admin)
        #expect(crashed == "UNKNOWN/UNKNOWN" && message.contains("crashed (SIGSEGV)"), "\(crashed) \(message)")
        #expect(try await s.get("/healthz").status == 200)
        #expect(try await s.get("/rest/applinks/1.0/manifest").status == 200)

        var back = ""
        for _ in 0..<30 where back != "CONNECTED" {
            try await Task.sleep(for: .milliseconds(200))
            back = try await s.checkStatus("Good", admin: admin).0
        }
        #expect(back == "CONNECTED")
        let log = s.log
        #expect(log.contains("plugin runner ended") && log.contains("SIGSEGV") && log.contains("plugin runner restarted"), "\(log)")
        #expect(!log.contains("Thread 0") && !log.contains("Backtrace"), "a plugin's crash must not print a stack trace: \(log)")
        s.stop()
    }
}
