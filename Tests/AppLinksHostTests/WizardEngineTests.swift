import AppLinksCore
import AppLinksHost
import AppLinksJSON
import AppLinksStore
import Foundation
import GRDB
import TestSupport
import Testing

@Suite("Wizard engine")
struct WizardEngineTests {
    @Test("interactive: defaults apply, a field error re-asks that field with the plugin's message, then the link is created")
    func interactive() async throws {
        let t = try await TestDeployment.make()
        let ui = ScriptedInteraction(
            interactive: true,
            answers: [
                "name": ["Jira"], "url": ["ftp://wrong", "https://jira.example.com"], "application": ["applinks"],
                "token": ["abc", "long-enough"], "incoming": ["no"], "outgoing": ["yes"], "wait_seconds": ["0"],
            ])
        let outcome = try await WizardEngine(host: t.deployment, interaction: ui).start(type: "fixture", presets: [:])
        guard case .created(let link, let messages, _) = outcome else { Issue.record("expected a link"); return }
        #expect(link.name == "Jira" && link.displayURL == "https://jira.example.com" && link.direction == .outgoing)
        #expect(link.application.name == "AppLinks" && link.application.type == "applinks" && link.config["behaviour"] == "connected")
        // The outcome carries every message of the run, so a client that reads only the outcome misses none.
        #expect(messages.map(\.text) == ["Found a remote at https://jira.example.com.", "Linked."])
        let asked = ui.state.withLock { $0.asked }
        #expect(asked.map(\.field) == ["name", "url", "application", "url", "token", "incoming", "outgoing", "wait_seconds", "token"])
        #expect(asked[3].error == "'ftp://wrong' is not an http(s) URL")
        #expect(asked[8].error == "the token needs at least 4 characters")
        #expect(ui.state.withLock { $0.messages }.contains("Found a remote at https://jira.example.com."))
        #expect(try await t.deployment.store.drafts().isEmpty, "a finished wizard leaves no draft")
        #expect(try await t.deployment.store.auditEvents(since: nil, limit: 10).contains { $0.action == "create" && $0.linkID == link.id })
    }

    @Test("non-interactive: every missing or invalid field is named, nothing is created, and a draft remains")
    func nonInteractive() async throws {
        let t = try await TestDeployment.make()
        let engine = WizardEngine(host: t.deployment, interaction: ScriptedInteraction(interactive: false))
        do {
            _ = try await engine.start(type: "fixture", presets: ["application": "bogus"])
            Issue.record("missing answers must fail")
        } catch let e as AppLinksError {
            #expect(e.code == .wizardFields)
            #expect(e.message.contains("name: Link name is required; pass --set name=…"))
            #expect(e.message.contains("url: Remote URL is required; pass --set url=…"))
            #expect(e.message.contains("application: Application type must be one of: generic, applinks"))
            #expect(e.message.contains("applinks create --resume d-"))
        }
        #expect(try await t.deployment.store.links().isEmpty)
        let drafts = try await t.deployment.store.drafts()
        #expect(drafts.count == 1)
        // Resuming with the missing answers finishes the same draft.
        let done = try await engine.resume(
            draftID: drafts[0].id,
            presets: [
                "name": "Later", "url": "https://later.example.com",
                "application": "generic", "token": "abcd",
            ])
        guard case .created(let link, _, _) = done else { Issue.record("expected a link"); return }
        #expect(link.name == "Later" && link.direction == .twoWay)
        #expect(try await t.deployment.store.drafts().isEmpty)
    }

    @Test("a step that waits for a browser: --no-wait returns a draft; the browser's callback reaches the plugin; resume finishes")
    func pendingAndResume() async throws {
        let t = try await TestDeployment.make()
        let ui = ScriptedInteraction(interactive: false)
        let presets: [String: JSONValue] = ["name": "W", "url": "https://w.example.com", "token": "abcd", "require_approval": "true"]
        let first = try await WizardEngine(host: t.deployment, wait: false, interaction: ui).start(type: "fixture", presets: presets)
        guard case let .pending(draftID, message, url, _) = first else { Issue.record("expected pending, got \(first)"); return }
        #expect(message == "Approve the link in your browser." && url == "http://127.0.0.1:1/plugins/fixture/approve?draft=\(draftID)")
        #expect(ui.state.withLock { $0.waited } == [url!])
        #expect(try await t.deployment.store.links().isEmpty)
        #expect(try await t.deployment.store.draft(id: draftID)?.step == "authorize")
        // A resume before approval, told not to wait, is still pending.
        guard
            case .pending = try await WizardEngine(host: t.deployment, wait: false, interaction: ui).resume(draftID: draftID, presets: [:])
        else { Issue.record("expected still pending"); return }
        // The browser's redirect arrives at the plugin's route (what `applinks serve` will pass through handle_http).
        let plugin = try t.deployment.plugin(forType: "fixture")
        let response = try await plugin.call(
            .handleHTTP,
            PluginHTTPRequest(
                method: "GET", path: "/plugins/fixture/approve",
                query: "draft=\(draftID)", baseURL: "http://127.0.0.1:9999"),
            as: PluginHTTPResponse.self, timeout: .seconds(5))
        #expect(response.status == 200 && response.body == Data("approved".utf8))
        let second = try await WizardEngine(host: t.deployment, wait: true, interaction: ui).resume(draftID: draftID, presets: [:])
        guard case .created(let link, _, _) = second else { Issue.record("expected a link"); return }
        #expect(link.name == "W")
        await #expect(throws: AppLinksError.self) {
            _ = try await WizardEngine(host: t.deployment, interaction: ui).resume(draftID: draftID, presets: [:])
        }
    }

    @Test("a waiting wizard finishes by itself once the browser step completes")
    func waitsUntilApproved() async throws {
        let t = try await TestDeployment.make()
        let ui = ScriptedInteraction(interactive: false)
        let deployment = t.deployment
        async let outcome = WizardEngine(host: deployment, wait: true, interaction: ui).start(
            type: "fixture", presets: ["name": "Waited", "url": "https://w.example.com", "token": "abcd", "require_approval": "true"])
        var draftID: String?
        for _ in 0..<200 where draftID == nil {
            try await Task.sleep(for: .milliseconds(25))
            if !ui.state.withLock({ $0.waited }).isEmpty { draftID = ui.state.withLock { $0.draftID } }
        }
        let id = try #require(draftID)
        try await deployment.store.put(namespace: "fixture", key: "approved:\(id)", value: Data("yes".utf8), ttl: nil)
        guard case .created(let link, _, _) = try await outcome else { Issue.record("expected a link"); return }
        #expect(link.name == "Waited")
    }

    @Test("waiting gives up after wizard.timeout_seconds and keeps the draft; the wait is on the engine's clock")
    func waitTimeout() async throws {
        // Twenty seconds, on a clock whose pauses pass at once: the engine polls about twenty times without sleeping,
        // and the clock shows that the wait was measured on it.
        let t = try await TestDeployment.make(env: ["APPLINKS_WIZARD_TIMEOUT_SECONDS": "20"])
        var engine = WizardEngine(host: t.deployment, wait: true, interaction: ScriptedInteraction(interactive: false))
        let clock = WaitClock.instant()
        engine.clock = clock
        do {
            _ = try await engine.start(
                type: "fixture", presets: ["name": "W", "url": "https://w.example.com", "token": "abcd", "wait_seconds": "7200"])
            Issue.record("must time out")
        } catch let e as AppLinksError {
            #expect(e.code == .timeout && e.message.contains("Gave up waiting") && e.message.contains("--resume d-"))
        }
        #expect(clock.now() > .seconds(20) && clock.now() < .seconds(20 + 11), "it polled until the timeout, on its clock")
        #expect(try await t.deployment.store.drafts().count == 1)
        #expect(try await t.deployment.store.links().isEmpty)
    }

    @Test("an interrupted wizard leaves a resumable draft whose answers, secrets included, are sealed at rest")
    func interruptedDraftIsSealed() async throws {
        let t = try await TestDeployment.make()
        let ui = ScriptedInteraction(
            interactive: true,
            answers: [
                "name": ["Secretive"], "url": ["https://s.example.com"],
                "application": ["generic"],
            ], interruptAt: "incoming")
        do {
            _ = try await WizardEngine(host: t.deployment, interaction: ui).start(type: "fixture", presets: ["token": "tok-PLAINTEXT-42"])
            Issue.record("must be interrupted")
        } catch let e as AppLinksError {
            #expect(e.code == .interrupted)
        }
        #expect(try await t.deployment.store.links().isEmpty, "never a half-made link")
        let draftID = try #require(ui.state.withLock { $0.draftID })
        // The draft remembers the last accepted step; resuming submits it again to get the unanswered fields.
        #expect(try await t.deployment.store.draft(id: draftID)?.step == "remote")
        let dbPath = try t.deployment.home.databasePath(t.deployment.config)
        let raw = try await DatabaseQueue(path: dbPath).read { try Data.fetchAll($0, sql: "SELECT sealed_answers FROM drafts") }
        #expect(raw.count == 1 && !String(decoding: raw[0], as: UTF8.self).contains("tok-PLAINTEXT-42"))
        let resumed = try await WizardEngine(host: t.deployment, interaction: ScriptedInteraction(interactive: false))
            .resume(draftID: draftID, presets: [:])
        guard case .created(let link, _, _) = resumed else { Issue.record("expected a link"); return }
        #expect(link.name == "Secretive")
    }

    @Test("answers are coerced to each field's type")
    func coercion() throws {
        let int = WizardField(name: "port", label: "Port", type: .int)
        let choice = WizardField(name: "c", label: "C", type: .choice, choices: ["a", "b"])
        let multi = WizardField(name: "m", label: "M", type: .multichoice, choices: ["x", "y", "z"])
        #expect(try WizardEngine.coerce("8080", to: int).get() == .number(8080))
        #expect(throws: FieldError.self) { try WizardEngine.coerce("80x", to: int).get() }
        #expect(try WizardEngine.coerce("b", to: choice).get() == "b")
        #expect(throws: FieldError.self) { try WizardEngine.coerce("c", to: choice).get() }
        #expect(try WizardEngine.coerce("x, z", to: multi).get() == ["x", "z"])
        #expect(throws: FieldError.self) { try WizardEngine.coerce("x,w", to: multi).get() }
        #expect(try WizardEngine.coerce("YES", to: WizardField(name: "b", label: "B", type: .bool)).get() == true)
    }
}
