import AppLinksCore
import AppLinksHost
import AppLinksJSON
import AppLinksLocking
import Foundation
import Logging
import TestSupport

/// A deployment in a temporary home, loading the fixture plugin and any extra plugin files given.
struct TestDeployment {
    let dir: TemporaryDirectory
    let deployment: Deployment

    static func make(pluginPaths: [URL] = [BuildProducts.fixturePlugin], env extra: [String: String] = [:]) async throws -> TestDeployment {
        let dir = TemporaryDirectory("host")
        var env = [
            "APPLINKS_PLUGINS_PATHS": pluginPaths.map(\.path).joined(separator: ","),
            "APPLINKS_PLUGINS_SEARCH_EXECUTABLE_DIRECTORY": "false", "APPLINKS_HTTP_ALLOW_PRIVATE_ADDRESSES": "true",
        ]
        env.merge(extra) { _, new in new }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let (d, created) = try await Deployment.initialize(
            home: DeploymentHome(url: dir.path("home")), stores: .embedded, name: "Test host",
            baseURL: "http://127.0.0.1:9999", listen: "127.0.0.1:9999",
            environment: env, logger: logger, actor: "test")
        precondition(created)
        return TestDeployment(dir: dir, deployment: d)
    }

    /// Opens the same home again, as a second command would.
    func reopen(env extra: [String: String] = [:]) async throws -> Deployment {
        var env = [
            "APPLINKS_PLUGINS_PATHS": deployment.config.pluginPaths.joined(separator: ","),
            "APPLINKS_PLUGINS_SEARCH_EXECUTABLE_DIRECTORY": "false", "APPLINKS_HTTP_ALLOW_PRIVATE_ADDRESSES": "true",
        ]
        env.merge(extra) { _, new in new }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return try await Deployment.open(home: deployment.home, stores: .embedded, environment: env, logger: logger, actor: "test")
    }

    /// Creates a fixture link through the wizard, without prompting.
    func createFixtureLink(name: String, url: String = "https://remote.example.com", extra: [String: JSONValue] = [:]) async throws -> Link
    {
        var presets: [String: JSONValue] = ["name": .string(name), "url": .string(url), "token": "s3cret-token"]
        presets.merge(extra) { _, new in new }
        let engine = WizardEngine(host: deployment, interaction: ScriptedInteraction(interactive: false))
        guard case .created(let link, _, _) = try await engine.start(type: "fixture", presets: presets) else {
            throw AppLinksError(.invalidInput, "the fixture wizard did not finish")
        }
        return link
    }
}

/// A wizard interaction that answers from a script and records what it was asked.
final class ScriptedInteraction: WizardInteraction {
    struct State {
        var answers: [String: [JSONValue]] = [:]
        var asked: [(field: String, error: String?)] = []
        var messages: [String] = []
        var waited: [String] = []
        var draftID: String?
    }
    let state: Locked<State>
    let isInteractive: Bool
    /// Throw (as Ctrl-C would) when this field is asked for.
    let interruptAt: String?

    init(interactive: Bool, answers: [String: [JSONValue]] = [:], interruptAt: String? = nil) {
        isInteractive = interactive
        state = Locked(State(answers: answers))
        self.interruptAt = interruptAt
    }

    func started(draftID: String) { state.withLock { $0.draftID = draftID } }
    func title(_ text: String) {}
    func show(_ message: WizardMessage) { state.withLock { $0.messages.append(message.text) } }
    func waiting(url: String?, message: String) { state.withLock { $0.waited.append(url ?? message) } }

    func ask(_ field: WizardField, error: String?) async throws -> JSONValue {
        if field.name == interruptAt { throw AppLinksError(.interrupted, "interrupted at \(field.name)") }
        return try state.withLock { s in
            s.asked.append((field.name, error))
            guard var queue = s.answers[field.name], !queue.isEmpty else {
                if let d = field.defaultValue { return d }
                throw AppLinksError(.interrupted, "no scripted answer for \(field.name)")
            }
            let next = queue.removeFirst()
            s.answers[field.name] = queue
            return next
        }
    }
}
