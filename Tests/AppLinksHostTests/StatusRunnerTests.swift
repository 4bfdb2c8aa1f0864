import AppLinksCore
import AppLinksHost
import Foundation
import TestSupport
import Testing

@Suite("Status runner")
struct StatusRunnerTests {
    /// A deployment with the fixture and the misbehaving C plugin, and a short check timeout.
    static func deployment(concurrency: Int = 8, timeout: String = "1") async throws -> (TestDeployment, TemporaryDirectory) {
        let cdir = TemporaryDirectory("cplugin")
        try compileCPlugin(CPluginSources.plugin(), to: cdir.path("libcplugin.so"))
        let t = try await TestDeployment.make(
            pluginPaths: [BuildProducts.fixturePlugin, cdir.path("libcplugin.so")],
            env: ["APPLINKS_STATUS_TIMEOUT_SECONDS": timeout, "APPLINKS_STATUS_CONCURRENCY": "\(concurrency)"])
        return (t, cdir)
    }

    static func cLink(_ name: String) -> Link {
        Link(
            type: "cplugin", name: name, application: ApplicationInfo(type: "generic"), displayURL: "https://\(name).example.com",
            outgoingAuth: ["none"])
    }

    @Test("a healthy link is CONNECTED, with its secrets handed to its plugin, and the result is stored with its time")
    func connected() async throws {
        let (t, _) = try await Self.deployment()
        let link = try await t.createFixtureLink(name: "Jira")
        let before = Date()
        let checked = try await t.deployment.checkStatus(of: [link])
        #expect(checked[0].status.category == .connected && checked[0].status.errorType == nil && checked[0].status.message == "Connected.")
        let stored = try #require(try await t.deployment.store.link(id: link.id))
        #expect(stored.status.category == .connected)
        #expect((stored.status.checkedAt ?? .distantPast) >= before.addingTimeInterval(-1))
        let audit = try await t.deployment.store.auditEvents(since: nil, limit: 100)
        let change = try #require(audit.first { $0.action == "status-change" })
        #expect(change.detail["from"] == "UNKNOWN/UNKNOWN" && change.detail["to"] == "CONNECTED" && change.linkID == link.id)
        // A second identical result is not a change.
        _ = try await t.deployment.checkStatus(of: [stored])
        #expect(try await t.deployment.store.auditEvents(since: nil, limit: 100).filter { $0.action == "status-change" }.count == 1)
    }

    @Test("failures of every kind give UNKNOWN with a message, never a crash")
    func failures() async throws {
        let (t, _) = try await Self.deployment(timeout: "5")
        let d = t.deployment
        var hang = try await t.createFixtureLink(name: "hang")
        hang = try await d.editLink(hang.id, sets: [("config.behaviour", "hang")])
        var fail = try await t.createFixtureLink(name: "fail")
        fail = try await d.editLink(fail.id, sets: [("config.behaviour", "fail")])
        var pair = try await t.createFixtureLink(name: "pair")
        pair = try await d.editLink(pair.id, sets: [("config.behaviour", "bad-pair")])
        var links = [hang, fail, pair]
        for name in ["garbage", "negative", "error", "badpair", "empty", "happy", "wrongtype"] {
            links.append(try await d.store.createLink(Self.cLink(name), sealedSecrets: [:]))
        }
        let orphan = try await d.store.createLink(
            Link(
                type: "not-installed", name: "orphan", application: ApplicationInfo(type: "generic"),
                displayURL: "https://orphan.example.com"), sealedSecrets: [:])
        links.append(orphan)
        let start = ContinuousClock.now
        let results = Dictionary(uniqueKeysWithValues: try await d.checkStatus(of: links).map { ($0.name, $0.status) })
        let took = ContinuousClock.now - start
        #expect(took >= .seconds(5), "answered before status.timeout_seconds (5 s): \(took)")
        // A hanging plugin costs only its own timeout: every other link was checked before the hang was given up on,
        // however slow the machine, as long as the others take less than the timeout.
        let gaveUp = try #require(results["hang"]?.checkedAt)
        for (name, status) in results where name != "hang" {
            #expect(try #require(status.checkedAt) <= gaveUp, "\(name) was checked only after the hanging check's timeout")
        }
        #expect(results["hang"]?.category == .unknown && results["hang"]?.errorType == .timeout)
        #expect(results["hang"]?.message.contains("did not finish within") == true)
        #expect(
            results["fail"]
                == LinkStatus(
                    .unknown, .unknown, message: "The Test fixture check failed: The fixture was told to fail.",
                    checkedAt: results["fail"]?.checkedAt))
        #expect(results["pair"]?.category == .unknown && results["pair"]?.message.contains("CONNECTED takes no error type") == true)
        #expect(
            results["garbage"]?.category == .unknown
                && results["garbage"]?.message.contains("returned an invalid check_status answer: it is not JSON: invalid JSON at byte 0")
                    == true
                && results["garbage"]?.message.contains(#"begins "this is not JSON {""#) == true, "\(results["garbage"]!)")
        // Each bad answer names its problem: empty, an unknown code (with the valid ones), a pair outside the table.
        #expect(results["empty"]?.message.contains("the answer was empty (0 bytes)") == true, "\(results["empty"]!)")
        #expect(
            results["happy"]?.message.contains("'HAPPY' is not a status category; the categories are CONNECTED, NETWORK_ERROR") == true,
            "\(results["happy"]!)")
        #expect(
            results["wrongtype"]?.message.contains(
                "TIMEOUT is not an error type of ACCESS_ERROR; its error types are LOCAL_AUTH_TOKEN_REQUIRED, REMOTE_AUTH_TOKEN_REQUIRED")
                == true, "\(results["wrongtype"]!)")
        #expect(
            results["negative"]?.category == .unknown
                && results["negative"]?.message.contains("failed unexpectedly in check_status (code -5)") == true)
        #expect(results["error"]?.message == "The C plugin check failed: C says the remote is down")
        #expect(
            results["badpair"]?.category == .unknown
                && results["badpair"]?.message.contains("CONNECTED takes no error type, got TIMEOUT") == true)
        #expect(
            results["orphan"]?.category == .unknown
                && results["orphan"]?.message.contains("No link type 'not-installed' is installed") == true)
        // The host survived all of it and still answers.
        let healthy = try await t.createFixtureLink(name: "healthy")
        #expect(try await d.checkStatus(of: [healthy])[0].status.category == .connected)
    }

    @Test("checks run concurrently, but never more than status.concurrency at once")
    func boundedConcurrency() async throws {
        let (t, _) = try await Self.deployment(concurrency: 2)
        var links: [Link] = []
        for i in 0..<6 { links.append(try await t.deployment.store.createLink(Self.cLink("slow\(i)"), sealedSecrets: [:])) }
        let progress = ProgressLog()
        let results = try await t.deployment.checkStatus(of: links) { done, total in progress.add(done, total) }
        // The C plugin reports the most calls it ever saw in flight at once.
        let maxima = results.map(\.status.message)
        #expect(maxima.allSatisfy { $0 == "max=1" || $0 == "max=2" }, "\(maxima)")
        #expect(maxima.contains("max=2"), "two checks should have overlapped: \(maxima)")
        #expect(progress.entries.first == [0, 6] && progress.entries.last == [6, 6] && progress.entries.count == 7)
    }

    @Test("hung plugin calls hold only their own threads: a healthy check beside four hung ones still succeeds")
    func hungCallsDoNotStarveOthers() async throws {
        let (t, _) = try await Self.deployment(concurrency: 8, timeout: "5")
        var links: [Link] = []
        for i in 0..<4 {
            let l = try await t.createFixtureLink(name: "hung\(i)")
            links.append(try await t.deployment.editLink(l.id, sets: [("config.behaviour", "hang")]))
        }
        links.append(try await t.createFixtureLink(name: "healthy"))
        let results = Dictionary(uniqueKeysWithValues: try await t.deployment.checkStatus(of: links).map { ($0.name, $0.status) })
        #expect(results["healthy"]?.category == .connected)
        #expect((0..<4).allSatisfy { results["hung\($0)"]?.errorType == .timeout })
        // The healthy link comes after the four hung ones: it was answered before the first of them was given up on,
        // so it waited for none of their timeouts, however slow the machine (short of a 5 s check).
        let healthyAt = try #require(results["healthy"]?.checkedAt)
        let givenUp = (0..<4).compactMap { results["hung\($0)"]?.checkedAt }
        let firstGivenUp = try #require(givenUp.min())
        #expect(healthyAt < firstGivenUp, "the healthy check waited for a hung one")
        // The hung threads are still blocked, yet a new call is answered at once.
        let again = try await t.deployment.checkStatus(of: [links[4]])
        #expect(again[0].status.category == .connected)
    }

    @Test("a disabled link is DISABLED without asking its plugin")
    func disabledLink() async throws {
        let (t, _) = try await Self.deployment()
        var link = try await t.createFixtureLink(name: "Jira")
        link = try await t.deployment.editLink(link.id, sets: [("config.behaviour", "fail"), ("enabled", "false")])
        let checked = try await t.deployment.checkStatus(of: [link])
        #expect(checked[0].status.category == .disabled && checked[0].status.errorType == .disabled)
    }

    @Test("the host's HTTP service classifies transport failures for plugins")
    func networkErrors() async throws {
        let (t, _) = try await Self.deployment(timeout: "5")
        var refused = try await t.createFixtureLink(name: "refused")
        refused = try await t.deployment.editLink(
            refused.id, sets: [("config.behaviour", "http"), ("config.probe_url", "http://127.0.0.1:9/")])
        var unknown = try await t.createFixtureLink(name: "unknown")
        unknown = try await t.deployment.editLink(
            unknown.id, sets: [("config.behaviour", "http"), ("config.probe_url", "http://no-such-host.invalid/")])
        let r = Dictionary(uniqueKeysWithValues: try await t.deployment.checkStatus(of: [refused, unknown]).map { ($0.name, $0.status) })
        #expect(r["refused"]?.category == .networkError && r["refused"]?.errorType == .connectionRefused)
        #expect(r["unknown"]?.category == .networkError && r["unknown"]?.errorType == .unknownHost)
    }
}

final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [[Int]] = []
    func add(_ a: Int, _ b: Int) { lock.lock(); items.append([a, b]); lock.unlock() }
    var entries: [[Int]] { lock.lock(); defer { lock.unlock() }; return items }
}
