import AppLinksCore
import AppLinksHost
import AppLinksJSON
import AppLinksPluginRuntime
import ArgumentParser
import Foundation
import Logging

/// The conformance checks `applinks plugins verify` runs against one plugin file, inside a throwaway
/// deployment. They run in a child process (see ``PluginsVerify``), which announces each check before it
/// starts, so that a plugin that crashes is reported against the check it crashed in.
struct PluginVerifier {
    struct Check: Encodable {
        var name: String
        var passed: Bool
        var detail: String
    }

    let file: URL

    /// Runs every check, printing `check: NAME` before each and one JSON result line after.
    func run() async throws -> [Check] {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("applinks-verify-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: home) }
        var logger = Logger(label: "verify")
        logger.logLevel = .critical
        let env = [
            "APPLINKS_PLUGINS_PATHS": file.path, "APPLINKS_PLUGINS_SEARCH_EXECUTABLE_DIRECTORY": "false",
            "APPLINKS_MASTER_KEY": Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString(),
            "APPLINKS_STATUS_TIMEOUT_SECONDS": "5",
        ]
        var checks: [Check] = []
        func check(_ name: String, _ body: () async throws -> String) async {
            print("check: \(name)")
            fflush(nil)
            do {
                checks.append(Check(name: name, passed: true, detail: try await body()))
            } catch {
                checks.append(Check(name: name, passed: false, detail: "\(error)"))
            }
            if let line = try? JSONCoding.encode(checks.last!) { print(String(decoding: line, as: UTF8.self)) }
            fflush(nil)
        }

        let (deployment, _) = try await Deployment.initialize(
            home: DeploymentHome(url: home), stores: .standard, name: "verify", baseURL: "http://127.0.0.1:9", listen: "127.0.0.1:9",
            environment: env,
            logger: logger, actor: "verify")
        var plugin: LoadedPlugin?
        await check("handshake and descriptor") {
            guard let record = deployment.pluginRecords.first else { throw VerifyFailure("the file was not found") }
            guard record.state == .loaded, let loaded = deployment.plugins[record.id ?? ""] else {
                throw VerifyFailure(record.reason ?? "the plugin did not load")
            }
            plugin = loaded
            return "\(loaded.id) \(record.version ?? "") speaks ABI \(record.abiVersion ?? "?"); its descriptor meets the schema"
        }
        guard let plugin else { return checks }
        let d = plugin.descriptor

        await check("the first wizard step") {
            let r = try await plugin.call(
                .wizardStep, WizardRequest(step: nil, answers: [:], draftID: "d-verify"), as: WizardResponse.self, timeout: .seconds(10))
            guard case .fields = r else { throw VerifyFailure("asked for its first step, it answered \(r) instead of fields") }
            return "it asks for its first step's fields"
        }
        for step in d.wizard.steps {
            for (what, answers) in [("empty", [String: JSONValue]()), ("wrong", Self.wrongAnswers)] {
                await check("wizard step \(step.id) with \(what) input") {
                    let r = try await plugin.call(
                        .wizardStep, WizardRequest(step: step.id, answers: answers, draftID: "d-verify"), as: WizardResponse.self,
                        timeout: .seconds(10))
                    switch r {
                    case .errors(_, let errors, _): return "field errors: " + errors.map(\.field).joined(separator: ", ")
                    case .fields, .pending: return "it asks again"
                    case .done: throw VerifyFailure("it finished the wizard on \(what) input")
                    }
                }
            }
        }

        let link = Link(
            type: d.id, name: "verify", application: ApplicationInfo(type: "generic", name: "verify"),
            displayURL: "http://127.0.0.1:9/verify")
        await check("a status check on a dummy link, within the timeout") {
            let started = ContinuousClock.now
            let r = try await plugin.call(
                .checkStatus, StatusRequest(link: link, secrets: [:]), as: StatusResponse.self, timeout: .seconds(10))
            _ = try LinkStatus(r.category, r.errorType, message: r.message).validated()
            return "\(r.category.rawValue)\(r.errorType.map { "/" + $0.rawValue } ?? "") in \(ContinuousClock.now - started)"
        }
        await check("declared actions resolve") {
            var seen: [String] = []
            for action in d.actions where action.cFunction == nil && !action.hostOnly {
                do {
                    _ = try await plugin.call(
                        .invokeAction, ActionRequest(action: action.id, link: link, secrets: [:], args: [:], actor: "verify"),
                        as: ActionResponse.self, timeout: .seconds(10))
                } catch let e as PluginCallError where e.code == "unknown_action" {
                    throw VerifyFailure("the action \(action.id) is declared but the plugin does not know it")
                } catch {
                    // Refusing empty arguments or a dummy link is fine: the action was found.
                }
                seen.append(action.id)
            }
            let native = d.actions.filter { $0.cFunction != nil }.map(\.id)
            return "answered: \(seen.joined(separator: ", "))"
                + (native.isEmpty ? "" : "; C functions found at load: \(native.joined(separator: ", "))")
        }
        await check("concurrent status checks, which the ABI allows") {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        _ = try await plugin.call(
                            .checkStatus, StatusRequest(link: link, secrets: [:]), as: StatusResponse.self, timeout: .seconds(20))
                    }
                }
                try await group.waitForAll()
            }
            return "8 at once all answered, every buffer released through free_buffer"
        }
        await deployment.shutdown()
        return checks
    }

    /// Answers of the wrong shape for any field: a number for a URL, a list for a name, and so on.
    static let wrongAnswers: [String: JSONValue] = [
        "url": .number(42), "name": .array([.bool(true)]), "consumer_key": .null, "client_id": .object([:]),
        "provider": "no-such-provider", "base_url": "not a url", "redirect_url": "ftp://x", "scopes": .number(-1),
    ]
}

struct VerifyFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

struct PluginsVerify: HostCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a plugin file against the ABI in a child process: a crash is reported, not shared. Exits non-zero on a failure.")
    @OptionGroup var common: CommonOptions
    @Argument(help: "The plugin's shared library (.so).") var path: String
    @Flag(help: .hidden) var child = false

    func execute() async throws {
        let file = URL(fileURLWithPath: path).standardizedFileURL
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw AppLinksError(.notFound, "No file at \(file.path).")
        }
        if child {
            _ = try await PluginVerifier(file: file).run()
            return
        }
        let checks = try Self.checks(of: file)
        if common.json {
            try await Output.json(checks.map { ["check": $0.name, "result": $0.passed ? "ok" : "FAILED", "detail": $0.detail] })
        } else {
            for c in checks { print("\(c.passed ? "ok    " : "FAILED")  \(c.name): \(c.detail)") }
        }
        let failed = checks.filter { !$0.passed }.count
        guard failed == 0, !checks.isEmpty else {
            if !common.json { print("\(failed) check\(failed == 1 ? "" : "s") failed.") }
            throw ExitCode(1)
        }
        if !common.json { print("All \(checks.count) checks passed.") }
    }

    /// Runs every check on `file` in a child process of this executable: a plugin that crashes costs the child,
    /// and is reported against the check it crashed in.
    static func checks(of file: URL) throws -> [PluginVerifier.Check] {
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let process = Process()
        process.executableURL = me
        process.arguments = ["plugins", "verify", "--child", file.path]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        var checks: [PluginVerifier.Check] = []
        var current: String?
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            if line.hasPrefix("check: ") {
                current = String(line.dropFirst(7))
            } else if let c = try? JSONDecoder().decode(CheckLine.self, from: Data(line.utf8)) {
                checks.append(PluginVerifier.Check(name: c.name, passed: c.passed, detail: c.detail))
                current = nil
            }
        }
        if process.terminationReason == .uncaughtSignal {
            checks.append(
                PluginVerifier.Check(
                    name: current ?? "loading", passed: false,
                    detail: "the plugin crashed the verifier's child process (signal \(process.terminationStatus))"))
        }
        return checks
    }

    private struct CheckLine: Decodable {
        var name: String
        var passed: Bool
        var detail: String
    }
}
