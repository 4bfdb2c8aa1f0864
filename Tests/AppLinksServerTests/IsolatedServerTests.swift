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
        // The restart and the failed check show in /metrics, by link type.
        let metrics = try await s.get("/metrics").body
        #expect(metrics.contains(#"applinks_plugin_runner_restarts_total{link_type="fixture"} 1"#), "\(metrics)")
        #expect(
            metrics.firstMatch(of: /applinks_plugin_calls_total\{link_type="fixture",function="check_status",outcome="failed"\} [1-9]/)
                != nil,
            "\(metrics)")
        s.stop()
    }

    @Test("a runner killed in the middle of a wizard step: the draft survives, and the wizard resumes once the type is back")
    func runnerKilledMidWizard() async throws {
        // A step may take three status timeouts: 15 minutes here, longer than the fixture's slow step ever holds, so
        // the step ends when its runner is killed and not before, however long reaching it takes.
        let s = try RunningServer(extraEnv: ["APPLINKS_PLUGINS_ISOLATION": "fixture=process", "APPLINKS_STATUS_TIMEOUT_SECONDS": "300"])
        let auth = [("Authorization", "Bearer \(try s.token(user: "root", admin: true))")]
        func json(_ body: String) -> [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]) ?? [:]
        }
        // The fixture's last step holds for a link whose name starts with "slow", once it has marked its draft.
        async let started = s.send(
            "POST", "/rest/applinks/3.0/wizard/fixture", headers: auth,
            body: #"{"answers": {"name": "slow link", "url": "https://slow.example.com", "token": "abcd"}}"#, timeoutSeconds: 600)
        // Killed once the slow step holds, whatever the machine's speed: its mark is in the database before it waits.
        // Reaching it can take a minute when the whole suite starts at once beside busy loops; once there, the step
        // holds until it is killed.
        let database = s.home.appendingPathComponent("applinks.db").path
        let held = await s.eventually(within: .seconds(300)) {
            let r = try? runCommand(
                URL(fileURLWithPath: "/usr/bin/python3"),
                [
                    "-c",
                    "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT count(*) FROM plugin_kv WHERE namespace = 'fixture' AND key LIKE 'slow-held:%'\").fetchone()[0])",
                    database,
                ])
            return r?.stdout == "1\n"
        }
        #expect(held != nil, "the slow step never started")
        let children = try runCommand(
            URL(fileURLWithPath: "/usr/bin/pgrep"), ["-P", "\(s.process.processIdentifier)", "-f", "applinks-plugin-runner"])
        let pid = try #require(children.stdout.split(separator: "\n").first.flatMap { Int32($0) }, "the fixture's runner process")
        kill(pid, SIGKILL)

        let interrupted = try await started
        let body = json(interrupted.body)
        #expect(interrupted.status == 502, "\(interrupted.body)\n\(s.log)")
        let message = (body["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(message.contains("SIGKILL") && message.contains("applinks create --resume"), "\(interrupted.body)")
        let draft = try #require(body["draft_id"] as? String, "\(interrupted.body)")
        let drafts = try s.cli("drafts", "list", "--json")
        #expect(drafts.stdout.contains(draft), "\(drafts.stdout)")
        #expect(try s.cli("list", "--json").stdout.contains("slow link") == false, "no half-made link")

        // The runner comes back with backoff; until then a resume is refused the same way and keeps the draft.
        var finished: (status: Int, body: String) = (0, "")
        let until = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < until {
            let r = try await s.send("POST", "/rest/applinks/3.0/wizard/drafts/\(draft)", headers: auth, body: "{}")
            finished = (r.status, r.body)
            if r.status != 502 { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(finished.status == 201 && json(finished.body)["state"] as? String == "created", "\(finished.body)")
        let links = try s.cli("list", "--json").stdout
        #expect(links.components(separatedBy: "slow link").count == 2, "exactly one link: \(links)")
        #expect(!(try s.cli("drafts", "list", "--json").stdout.contains(draft)), "the finished draft is gone")
        s.stop()
    }

    @Test("a runner starts with a minimal environment: no APPLINKS_ variable, so no master key and no database URL")
    func runnerEnvironment() async throws {
        let key = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let s = try RunningServer(
            extraEnv: ["APPLINKS_PLUGINS_ISOLATION": "fixture=process", "APPLINKS_MASTER_KEY": key, "SOME_OTHER_SECRET": "hush"])
        let admin = try s.token(user: "root", admin: true)
        #expect(
            try s.cli("create", "fixture", "--set", "name=Good", "--set", "url=https://good.example.com", "--set", "token=abcd").status == 0
        )
        #expect(try await s.checkStatus("Good", admin: admin).0 == "CONNECTED")
        let runners = try FileManager.default.contentsOfDirectory(atPath: "/proc").compactMap { Int32($0) }.filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
            let fields = stat[(stat.lastIndex(of: ")") ?? stat.startIndex)...].split(separator: " ")
            return fields.count > 2 && Int32(fields[2]) == s.process.processIdentifier
        }
        try #require(!runners.isEmpty, "the server started no runner")
        for pid in runners {
            let environ = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))
            let names = environ.split(separator: 0).map { String(decoding: $0.prefix { $0 != UInt8(ascii: "=") }, as: UTF8.self) }
            #expect(names.contains("PATH"), "\(names)")
            #expect(!names.contains { $0.hasPrefix("APPLINKS_") } && !names.contains("SOME_OTHER_SECRET"), "runner \(pid): \(names)")
            #expect(environ.range(of: Data(key.utf8)) == nil)
        }
        s.stop()
    }
}
