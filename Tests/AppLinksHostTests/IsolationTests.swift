import AppLinksCore
import AppLinksHost
import Foundation
import TestSupport
import Testing

/// `plugins.isolation`: link types that run in a runner process of their own.
@Suite("Process isolation")
struct IsolationTests {
    static func deployment(isolation: String, timeout: String = "1") async throws -> (TestDeployment, TemporaryDirectory) {
        let cdir = TemporaryDirectory("cplugin")
        try compileCPlugin(CPluginSources.plugin(), to: cdir.path("libcplugin.so"))
        let t = try await TestDeployment.make(
            pluginPaths: [BuildProducts.fixturePlugin, cdir.path("libcplugin.so")],
            env: ["APPLINKS_PLUGINS_ISOLATION": isolation, "APPLINKS_STATUS_TIMEOUT_SECONDS": timeout])
        return (t, cdir)
    }

    static func statuses(_ t: TestDeployment, _ links: [Link]) async throws -> [String: LinkStatus] {
        Dictionary(uniqueKeysWithValues: try await t.deployment.checkStatus(of: links).map { ($0.name, $0.status) })
    }

    /// Checks `link` until it is CONNECTED again, as a sweep would, for up to `within`.
    static func reconnects(_ t: TestDeployment, _ link: Link, within: Duration) async throws -> LinkStatus {
        let deadline = ContinuousClock.now + within
        var status = try await statuses(t, [link])[link.name]!
        while status.category != .connected && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            status = try await statuses(t, [link])[link.name]!
        }
        return status
    }

    @Test(
        "a plugin that segfaults, then one that hangs, in its own process: only its links turn UNKNOWN, the host goes on, the runner restarts"
    )
    func crashAndHang() async throws {
        let (t, cdir) = try await Self.deployment(isolation: "cplugin=process")
        defer { withExtendedLifetime(cdir) {} }  // a restarted runner loads the library file again
        let d = t.deployment
        #expect(d.plugins["cplugin"]?.isolated == true && d.plugins["fixture"]?.isolated == false)
        #expect(d.pluginRecords.first { $0.id == "cplugin" }?.isolation == "process")
        let jira = try await t.createFixtureLink(name: "Jira")
        var c: [String: Link] = [:]
        for name in ["fine", "segfault", "hang-forever"] {
            c[name] = try await d.store.createLink(StatusRunnerTests.cLink(name), sealedSecrets: [:])
        }

        let healthy = try await Self.statuses(t, [c["fine"]!, jira])
        #expect(healthy["fine"]?.category == .connected && healthy["fine"]?.message == "ok from C", "\(healthy)")

        // The segfault: this test process is the host, so merely going on proves it survived.
        // Taken before the crash, so that `asked - crashedAt` never undercounts the time since it.
        let crashedAt = ContinuousClock.now
        let crashed = try await Self.statuses(t, [c["segfault"]!, jira])
        #expect(crashed["segfault"]?.category == .unknown && crashed["segfault"]?.errorType == .unknown, "\(crashed)")
        #expect(crashed["segfault"]?.message.contains("crashed (SIGSEGV)") == true, "\(crashed)")
        #expect(crashed["Jira"]?.category == .connected)
        // Within the backoff (1 s from the crash) the type answers at once that it is restarting; after it, a fresh
        // runner answers. When the check runs depends on how busy the machine is, so either answer may come, but a
        // fresh runner's never sooner than the backoff after the crash (which came after `crashedAt`).
        let waiting = try await Self.statuses(t, [c["fine"]!])["fine"]
        let answered = ContinuousClock.now
        if waiting?.category == .connected {
            #expect(answered - crashedAt >= .seconds(1), "a fresh runner answered within the backoff")
        } else {
            #expect(waiting?.category == .unknown && waiting?.message.contains("is restarting") == true, "\(String(describing: waiting))")
        }
        let back = try await Self.reconnects(t, c["fine"]!, within: .seconds(60))
        #expect(back.category == .connected && back.message == "ok from C", "\(back)")

        // The hang: its call times out, and its runner is killed rather than left with a stuck thread. The call never
        // returns by itself, so the check coming back at all, as a timeout, is the proof; how soon depends on the machine.
        let start = ContinuousClock.now
        let hung = try await Self.statuses(t, [c["hang-forever"]!, c["fine"]!, jira])
        #expect(ContinuousClock.now - start >= .seconds(1), "answered before status.timeout_seconds (1 s)")
        #expect(hung["hang-forever"]?.category == .unknown && hung["hang-forever"]?.errorType == .timeout, "\(hung)")
        #expect(hung["fine"]?.category == .connected, "a call the same runner got beside the hung one was answered: \(hung)")
        #expect(hung["Jira"]?.category == .connected)
        // A second failure in a row waits longer (2 s) before the next runner.
        let again = try await Self.reconnects(t, c["fine"]!, within: .seconds(60))
        #expect(again.category == .connected, "\(again)")
        #expect(try await Self.statuses(t, [jira])["Jira"]?.category == .connected)
    }

    @Test("with *=process every type runs in a runner: a Swift plugin's wizard and status check work as in process")
    func everyType() async throws {
        let (t, _) = try await Self.deployment(isolation: "*=process")
        #expect(t.deployment.plugins["fixture"]?.isolated == true && t.deployment.plugins["cplugin"]?.isolated == true)
        let link = try await t.createFixtureLink(name: "Jira")
        #expect(link.type == "fixture" && link.displayURL == "https://remote.example.com", "\(link)")
        let status = try await Self.statuses(t, [link])["Jira"]
        #expect(status?.category == .connected, "\(String(describing: status))")
    }

    @Test("a runner inherits none of the host's open files: not its database, sockets or other children's pipes")
    func runnerInheritsNothing() async throws {
        let dir = TemporaryDirectory("inherit")
        let marker = dir.path("host-only").path
        #expect(FileManager.default.createFile(atPath: marker, contents: Data("x".utf8)))
        // Opened the plain way, without close-on-exec, as Foundation and libraries often do.
        let fd = open(marker, O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        let (t, _) = try await Self.deployment(isolation: "*=process")
        #expect(t.deployment.plugins["fixture"]?.isolated == true)
        let runners = try Self.childRunners()
        #expect(!runners.isEmpty, "no runner process found")
        for pid in runners {
            let open = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").compactMap {
                try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)")
            }
            #expect(!open.contains(marker), "runner \(pid) holds \(open)")
        }
    }

    /// The plugin runners this test process started and that are still running.
    static func childRunners() throws -> [Int32] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc").compactMap { Int32($0) }.filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let cmd = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)
            else { return false }
            // The parent's pid is the fourth field, after the command name in parentheses.
            let fields = stat[(stat.lastIndex(of: ")") ?? stat.startIndex)...].split(separator: " ")
            return fields.count > 2 && Int32(fields[2]) == getpid() && cmd.contains("applinks-plugin-runner")
        }
    }

    @Test("under isolation a broken file is refused with the reason, even one that crashes while it loads")
    func brokenFiles() async throws {
        let dir = TemporaryDirectory("broken")
        var noEntry = CPluginSources.Options(id: "noentry")
        noEntry.exportEntry = false
        try compileCPlugin(CPluginSources.plugin(noEntry), to: dir.path("libnoentry.so"))
        var crashing = CPluginSources.Options(id: "crashing")
        crashing.extraC = "#include <signal.h>\n__attribute__((constructor)) static void boom(void) { raise(SIGSEGV); }"
        try compileCPlugin(CPluginSources.plugin(crashing), to: dir.path("libcrashing.so"))
        let t = try await TestDeployment.make(
            pluginPaths: [BuildProducts.fixturePlugin, dir.path("libnoentry.so"), dir.path("libcrashing.so")],
            env: ["APPLINKS_PLUGINS_ISOLATION": "*=process"])
        let records = Dictionary(
            uniqueKeysWithValues: t.deployment.pluginRecords.map { (URL(fileURLWithPath: $0.path).lastPathComponent, $0) })
        #expect(records["libnoentry.so"]?.state == .refused)
        #expect(records["libnoentry.so"]?.reason?.contains("does not export applinks_plugin_entry") == true, "\(records)")
        #expect(records["libcrashing.so"]?.state == .refused)
        #expect(
            records["libcrashing.so"]?.reason?.contains("crashed (SIGSEGV) before describing the plugin") == true
                && records["libcrashing.so"]?.reason?.contains("applinks plugins verify") == true, "\(records)")
        #expect(t.deployment.plugins["fixture"]?.isolated == true)
    }

    @Test("a bad isolation entry in the config is refused with the form it should take")
    func badConfig() async throws {
        let error = await #expect(throws: AppLinksError.self) { _ = try await Self.deployment(isolation: "cplugin=sandbox") }
        #expect(error?.message.contains("is not ID=process or ID=in-process") == true, "\(error?.message ?? "")")
    }
}
