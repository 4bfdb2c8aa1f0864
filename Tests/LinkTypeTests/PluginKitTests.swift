import AppLinksCore
import AppLinksJSON
import AppLinksPluginKit
import AppLinksTesting
import Foundation
import Synchronization
import Testing

/// The kit's host API wrapper, through the C table, against ``FakeHost``: what a link type relies on.
@Suite("PluginKit host API, unit")
struct PluginKitTests {
    @Test("key-value: TTLs expire on the host's clock, compare-and-set tells absent from empty, keys list by prefix")
    func keyValue() async throws {
        let fake = try FakeHost(pluginID: "kit")
        let host = fake.api
        try await host.kvPut("pending:a", Data("1".utf8), ttl: .seconds(60))
        try await host.kvPut("pending:b", Data(), ttl: nil)
        try await host.kvPut("other", Data("x".utf8))
        #expect(try await host.kvList(prefix: "pending:").sorted() == ["pending:a", "pending:b"])
        #expect(try await host.kvGet("pending:a") == Data("1".utf8))
        fake.advance(.seconds(61))
        #expect(try await host.kvGet("pending:a") == nil, "an entry past its TTL is gone")
        #expect(try await host.kvGet("pending:b") == Data(), "an empty value is not an absent one")

        #expect(try await host.kvCompareAndSet("pending:b", expected: nil, replacement: Data("y".utf8)) == false)
        #expect(try await host.kvCompareAndSet("pending:b", expected: Data(), replacement: Data("y".utf8)))
        #expect(try await host.kvCompareAndSet("pending:c", expected: nil, replacement: Data("z".utf8)))
        #expect(try await host.kvCompareAndSet("pending:c", expected: Data("z".utf8), replacement: nil))
        #expect(try await host.kvGet("pending:c") == nil, "a nil replacement deletes")
    }

    @Test("links: another type's link is not found, a stale version is a conflict, secrets reach the host")
    func links() async throws {
        let fake = try FakeHost(pluginID: "kit")
        fake.addLink(Link(id: "mine", type: "kit", name: "Mine", application: ApplicationInfo(type: "x"), displayURL: "https://a.example"))
        fake.addLink(
            Link(id: "theirs", type: "other", name: "Theirs", application: ApplicationInfo(type: "x"), displayURL: "https://b.example"))
        let host = fake.api
        #expect(try await host.links().map(\.id) == ["mine"])
        #expect(try await host.link(id: "theirs") == nil)

        var changes = LinkChanges()
        changes.config = ["k": "v"]
        changes.secrets = ["access_token": "t1"]
        let updated = try await host.updateLink(id: "mine", version: 1, changes: changes)
        #expect(updated.version == 2 && updated.config["k"] == "v")
        #expect(fake.secrets(of: "mine") == ["access_token": "t1"])
        #expect(try await host.accessToken(forLink: "mine") == "t1")
        do {
            _ = try await host.updateLink(id: "mine", version: 1, changes: changes)
            Issue.record("an update at a stale version was applied")
        } catch let e as AppLinksError {
            #expect(e.code == .conflict)
        }
    }

    @Test("FakeHost refuses what the host refuses: a blank name, a URL that is not http(s), a weak RSA key, an event without action")
    func refusals() async throws {
        let fake = try FakeHost(pluginID: "kit")
        fake.addLink(Link(id: "mine", type: "kit", name: "Mine", application: ApplicationInfo(type: "x"), displayURL: "https://a.example"))
        let host = fake.api
        for changes in [LinkChanges(name: "  "), LinkChanges(displayURL: "javascript:alert(1)"), LinkChanges(rpcURL: "ftp://a.example")] {
            do {
                _ = try await host.updateLink(id: "mine", version: 1, changes: changes)
                Issue.record("\(changes) was applied")
            } catch let e as HostError {
                #expect(e.isRefusal, "\(e)")
            }
        }
        #expect(fake.link("mine")?.version == 1, "a refused change changes nothing")
        do {
            _ = try await host.rsaGenerate(bits: 1024)
            Issue.record("a 1024-bit key was generated")
        } catch let e as HostError {
            #expect(e.isRefusal && e.message.contains("2048 to 4096"))
        }
        #expect(throws: AppLinksError.self) { try fake.audit(Data(#"{"link_id":"mine"}"#.utf8)) }
    }

    @Test("crypto and the instance: HMAC and SHA-256 known answers, an RSA signature by the instance key verifies")
    func crypto() async throws {
        let fake = try FakeHost(pluginID: "kit")
        let host = fake.api
        // RFC 4231 test case 2.
        let mac = try await host.hmac(.sha256, key: Data("Jefe".utf8), Data("what do ya want for nothing?".utf8))
        #expect(mac.map { String(format: "%02x", $0) }.joined() == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        let sha = try await host.digest(.sha256, Data("abc".utf8))
        #expect(sha.map { String(format: "%02x", $0) }.joined() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let info = try await host.instanceInfo()
        #expect(info.now == fake.now)
        let signature = try await host.rsaSign(.sha256, privateKeyPEM: nil, Data("msg".utf8))
        #expect(try await host.rsaVerify(.sha256, publicKeyPEM: info.publicKeyPEM, Data("msg".utf8), signature: signature))
        #expect(try await host.rsaVerify(.sha256, publicKeyPEM: info.publicKeyPEM, Data("msg!".utf8), signature: signature) == false)
    }

    @Test("a host error arrives typed: a network failure by its status error type, a refused request as a refusal")
    func hostErrors() async throws {
        let fake = try FakeHost(pluginID: "kit")
        let host = fake.api
        fake.onHTTP { _ in throw FakeHost.unreachable(.timeout, "no answer within 2 s") }
        do {
            _ = try await host.http(HostHTTPRequest(url: "https://slow.example"))
            Issue.record("an unreachable remote answered")
        } catch let e as HostError {
            #expect(e.networkFailure == .timeout && !e.isRefusal && e.function == "http_request" && e.message == "no answer within 2 s")
            #expect(HostHTTPFailure.errorType(e) == .timeout && HostHTTPFailure.refusal(e) == nil)
        }
        fake.onHTTP { _ in throw FakeHost.refused("10.1.2.3 is a private address") }
        do {
            _ = try await host.http(HostHTTPRequest(url: "https://10.1.2.3"))
            Issue.record("a refused request answered")
        } catch let e as HostError {
            #expect(e.isRefusal && e.networkFailure == nil && HostHTTPFailure.refusal(e) == "10.1.2.3 is a private address")
        }
    }

    struct Started: Codable, Sendable, Equatable {
        var link: String
        var user: String
    }

    @Test("a pending authorization is taken once, by one of many concurrent callbacks, and not after its lifetime")
    func pendingAuthorizations() async throws {
        let fake = try FakeHost(pluginID: "kit")
        let pending = PendingAuthorizations<Started>(host: fake.api, prefix: "pending/", lifetime: .seconds(600))
        try await pending.keep(Started(link: "l1", user: "alice"), under: "tok")
        #expect(try await pending.peek("tok") == Started(link: "l1", user: "alice"))
        #expect(try await pending.peek("tok") != nil, "peeking leaves it in place")
        #expect(try await pending.take("") == nil)
        #expect(try await pending.take("other") == nil)

        let winners = try await withThrowingTaskGroup(of: Started?.self) { group in
            for _ in 0..<16 { group.addTask { try await pending.take("tok") } }
            return try await group.reduce(into: 0) { $0 += $1 == nil ? 0 : 1 }
        }
        #expect(winners == 1, "exactly one callback completes the authorization")
        #expect(try await pending.take("tok") == nil)

        try await pending.keep(Started(link: "l2", user: "bob"), under: "late")
        fake.advance(.seconds(601))
        #expect(try await pending.take("late") == nil, "an authorization past its lifetime is gone")
    }

    /// A link type with only what the kit builds for it.
    struct Credentialed: DeclaredLinkType {
        static let declaration = LinkTypeDescriptor(
            id: "kit", name: "Kit", version: "1.0.0", vendor: "Test", directions: [.outgoing],
            wizard: .init(steps: [.init(id: "only", title: "Only")]))
        static let actions: [DeclaredAction<Credentialed>] = [
            .setCredentials(
                what: "client credentials", config: [.init(name: "client_id", type: .string)],
                secrets: [.init(name: "client_secret", type: .secret)]
            ) { _, _, change in
                guard change.secrets["client_secret"] != "refused" else {
                    throw StatusFailure(.configError, .invalidConfig, "The provider refused the secret.", refusedByRemote: true)
                }
                return "checked with \(change.value("client_id", else: "the old id"))"
            }
        ]
        let host: HostAPI
        init(host: HostAPI) throws { self.host = host }
        func wizardStep(_ request: WizardRequest) async throws -> WizardResponse { fatalError("no wizard") }
        func checkStatus(_ request: StatusRequest) async throws -> StatusResponse { StatusResponse(.connected, message: "OK") }
    }

    @Test("set-credentials and the callback URL from the kit: changes only what was given, refuses nothing given, checks first")
    func credentialsAndCallback() async throws {
        let fake = try FakeHost(pluginID: "kit", baseURL: "https://applinks.test/")
        let plugin = try Credentialed(host: fake.api)
        #expect(Credentialed.descriptor.actions.first?.params.map(\.name) == ["client_id", "client_secret"])
        let link = Link(
            id: "l", type: "kit", name: "Provider", application: ApplicationInfo(type: "x"), displayURL: "https://p.example",
            config: ["client_id": "old", "scope": "read"])
        func run(_ args: [String: JSONValue]) async throws -> ActionResponse {
            try await plugin.invokeAction(ActionRequest(action: "set-credentials", link: link, secrets: [:], args: args, actor: "admin"))
        }
        let secretOnly = try await run(["client_secret": "s2", "client_id": ""])
        #expect(secretOnly.changes?.config == nil && secretOnly.changes?.secrets == ["client_secret": "s2"])
        #expect(secretOnly.message == "Updated Provider's client credentials; checked with the old id.", "\(secretOnly)")
        let idOnly = try await run(["client_id": "new"])
        #expect(idOnly.changes?.config == ["client_id": "new", "scope": "read"] && idOnly.changes?.secrets == nil, "other config stays")
        await #expect(throws: PluginError.self) { try await run([:]) }
        do {
            _ = try await run(["client_id": ""])
            Issue.record("nothing given was accepted")
        } catch let e as PluginError {
            #expect(e.code == "invalid_input" && e.message == "Give --arg client_id=… or --arg client_secret=…, or both.", "\(e)")
        }
        do {
            _ = try await run(["client_secret": "refused"])
            Issue.record("a refused check was accepted")
        } catch let e as PluginError {
            #expect(e.message.contains("refused the secret"), "the check's failure is the action's error: \(e)")
        }

        #expect(try await fake.api.callbackURL("/plugins/kit/callback") == "https://applinks.test/plugins/kit/callback")
        let request = PluginHTTPRequest(method: "GET", path: "/x", baseURL: "https://other.test")
        #expect(request.callbackURL("cb") == "https://other.test/cb")
    }

    @Test("update with retry: a concurrent change makes the kit read the link again, a missing link is nil")
    func updateWithRetry() async throws {
        let fake = try FakeHost(pluginID: "kit")
        let host = fake.api
        fake.addLink(Link(id: "l", type: "kit", name: "L", application: ApplicationInfo(type: "x"), displayURL: "https://a.example"))
        let attempts = Mutex(0)
        let updated = try await host.updateLink(id: "l") { link in
            let n = attempts.withLock {
                $0 += 1; return $0
            }
            if n == 1 {
                // Another writer gets in between this read and the write.
                _ = try await host.updateLink(id: "l", version: link.version, changes: LinkChanges(config: ["other": "set"]))
            }
            var config = link.config
            config["mine"] = "set"
            return LinkChanges(config: config)
        }
        #expect(attempts.withLock { $0 } == 2)
        #expect(updated?.config == ["other": "set", "mine": "set"], "the second attempt started from the other writer's link")
        #expect(try await host.updateLink(id: "gone") { _ in LinkChanges(name: "x") } == nil)
        await #expect(throws: PluginError.self) {
            try await host.updateLink(id: "l", attempts: 2) { link in
                _ = try await host.updateLink(id: "l", version: link.version, changes: LinkChanges(name: "again"))
                return LinkChanges(name: "never")
            }
        }
    }

    /// A two-step wizard declared with the kit.
    struct Stepped: DeclaredWizard {
        static let declaration = LinkTypeDescriptor(
            id: "stepped", name: "Stepped", version: "1.0.0", vendor: "Test", directions: [.outgoing], wizard: .init(steps: []))
        static let actions: [DeclaredAction<Stepped>] = []
        static let steps: [DeclaredStep<Stepped>] = [first, second]
        static let first: DeclaredStep<Stepped> = DeclaredStep(
            id: "first", title: "First", fields: [WizardField(name: "url", label: "URL")]
        ) { _, r in
            r.answers["url"] == nil
                ? .invalid([FieldError(field: "url", message: "give one")]) : .next(second, messages: [.init(.info, "ok")])
        }
        static let second: DeclaredStep<Stepped> = DeclaredStep(
            id: "second", title: "Second", answers: ["wait"],
            form: { _, r in StepForm([WizardField(name: "wait", label: "Wait for \(r.answers["url"]?.stringValue ?? "?")")], title: "Then")
            },
            submit: { _, r -> StepOutcome<Stepped> in
                switch r.answers["wait"]?.stringValue {
                case "yes": .pending(url: "https://remote.example/approve", message: "Approve it there")
                case "back": .invalid([FieldError(field: "url", message: "try another")], step: first)
                default: .done(LinkSpec(name: "n", application: ApplicationInfo(type: "x"), displayURL: "https://remote.example"))
                }
            })
        init(host: HostAPI) throws {}
        func checkStatus(_ request: StatusRequest) async throws -> StatusResponse { StatusResponse(.connected, message: "OK") }
    }

    @Test("a wizard of declared steps: the descriptor lists them, each answer reaches its step, each outcome names the right step")
    func declaredSteps() async throws {
        let plugin = try Stepped(host: try FakeHost(pluginID: "stepped").api)
        #expect(
            Stepped.descriptor.wizard.steps == [
                .init(id: "first", title: "First", fields: ["url"]), .init(id: "second", title: "Second", fields: ["wait"]),
            ])
        func submit(_ step: String?, _ answers: [String: JSONValue]) async throws -> WizardResponse {
            try await plugin.wizardStep(WizardRequest(step: step, answers: answers, draftID: "d"))
        }
        #expect(
            try await submit(nil, [:])
                == .fields(step: "first", title: "First", fields: [WizardField(name: "url", label: "URL")], messages: []))
        #expect(
            try await submit("first", [:]) == .errors(step: "first", errors: [FieldError(field: "url", message: "give one")], messages: []))
        #expect(
            try await submit("first", ["url": "u"])
                == .fields(
                    step: "second", title: "Then", fields: [WizardField(name: "wait", label: "Wait for u")], messages: [.init(.info, "ok")])
        )
        #expect(
            try await submit("second", ["wait": "yes"])
                == .pending(step: "second", url: "https://remote.example/approve", message: "Approve it there", pollAfterMs: 1000))
        #expect(
            try await submit("second", ["wait": "back"])
                == .errors(step: "first", errors: [FieldError(field: "url", message: "try another")], messages: []))
        guard case .done(let link, _, _, _) = try await submit("second", [:]) else {
            Issue.record("not done")
            return
        }
        #expect(link.name == "n")
        do {
            _ = try await submit("third", [:])
            Issue.record("an unknown step was answered")
        } catch let e as PluginError {
            #expect(e.code == "invalid_step" && e.message.contains("'third'"))
        }
    }

    /// A link type with one declared route and an answer to the host's status API.
    struct Routed: DeclaredLinkType {
        static let declaration = LinkTypeDescriptor(
            id: "routed", name: "Routed", version: "1.0.0", vendor: "Test", directions: [.incoming],
            wizard: .init(steps: [.init(id: "only", title: "Only")]))
        static let actions: [DeclaredAction<Routed>] = []
        static let routes: [DeclaredRoute<Routed>] = [
            DeclaredRoute(.init(method: "GET", path: "/plugins/routed/hello")) { _, _ in PluginHTTPResponse(status: 200) },
            .statusAPI { _, r in PluginHTTPResponse(status: 299, body: Data(r.path.utf8)) },
        ]
        init(host: HostAPI) throws {}
        func wizardStep(_ request: WizardRequest) async throws -> WizardResponse { fatalError("no wizard") }
        func checkStatus(_ request: StatusRequest) async throws -> StatusResponse { StatusResponse(.connected, message: "OK") }
    }

    @Test("the host's status API reaches a declared answer by its route id, or by its path from an older host; it is no declared route")
    func statusAPIRoute() async throws {
        let plugin = try Routed(host: try FakeHost(pluginID: "routed").api)
        #expect(Routed.descriptor.routes.map(\.path) == ["/plugins/routed/hello"], "the host owns the status API's path")
        let path = "/rest/applinks/3.0/status/abc"
        let named = try await plugin.handleHTTP(
            PluginHTTPRequest(method: "GET", path: path, baseURL: "https://h.test", route: PluginHTTPRequest.statusAPIRoute))
        #expect(named.status == 299 && named.body == Data(path.utf8))
        let unnamed = try await plugin.handleHTTP(PluginHTTPRequest(method: "GET", path: path, baseURL: "https://h.test"))
        #expect(unnamed.status == 299)
        let post = try await plugin.handleHTTP(PluginHTTPRequest(method: "POST", path: path, baseURL: "https://h.test"))
        #expect(post.status == 404)
        let hello = try await plugin.handleHTTP(PluginHTTPRequest(method: "GET", path: "/plugins/routed/hello", baseURL: "https://h.test"))
        #expect(hello.status == 200)
    }

    @Test("a host error a plugin lets through is reported by what it means: a refused input, the network, or the plugin")
    func hostErrorsLetThrough() {
        let refused = PluginErrorBody(reporting: HostError(code: "invalid_input", message: "no such address", function: "http_request"))
        #expect(refused.code == "invalid_input" && refused.message.contains("no such address"))
        let network = PluginErrorBody(reporting: HostError(code: "CONNECTION_REFUSED", message: "refused", function: "http_request"))
        #expect(network.code == "unreachable")
        let other = PluginErrorBody(reporting: HostError(code: "storage", message: "disk full", function: "kv_put"))
        #expect(other.code == "plugin_failed")
        #expect(PluginErrorBody(reporting: PluginError(code: "conflict", message: "again")).code == "conflict")
    }
}
