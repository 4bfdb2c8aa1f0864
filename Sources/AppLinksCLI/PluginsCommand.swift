import AppLinksCore
import AppLinksCrypto
import AppLinksHost
import AppLinksPluginRuntime
import ArgumentParser
import Foundation

struct PluginsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins", abstract: "List, inspect, enable and disable link types.",
        subcommands: [
            PluginsList.self, PluginsInfo.self, PluginsInstall.self, PluginsNew.self, PluginsVerify.self, PluginsEnable.self,
            PluginsDisable.self,
        ],
        defaultSubcommand: PluginsList.self)
}

struct PluginsList: HostCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "Every plugin file found, loaded or refused with the reason.")
    @OptionGroup var common: CommonOptions

    func execute() async throws {
        let host = try await common.openHost()
        if common.json { return try await Output.json(host.pluginRecords) }
        if host.pluginRecords.isEmpty {
            print(
                "No plugin files found. `swift build` builds the bundled link types next to the applinks executable; "
                    + "install others with the SDK, or add their directory to plugins.paths.")
        }
        for r in host.pluginRecords {
            let what = r.id.map { "\($0) \(r.version ?? "") (\(r.name ?? ""), \(r.vendor ?? ""))" } ?? "(unknown)"
            print("\(r.state.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) \(what)  ABI \(r.abiVersion ?? "-")  \(r.path)")
            if let reason = r.reason { print("         \(reason)") }
        }
    }
}

struct PluginsInstall: HostCommand {
    static let configuration = CommandConfiguration(
        commandName: "install", abstract: "Copy a plugin file into this deployment, checked and pinned to its sha256.")
    @OptionGroup var common: CommonOptions
    @Argument(help: "The plugin's shared library (.so).") var file: String
    @Option(help: "The sha256 the file must have, as its vendor published it.") var sha256: String?
    @Flag(name: .customLong("no-verify"), help: "Install even if `applinks plugins verify` fails the file.") var noVerify = false

    func execute() async throws {
        let host = try await common.openHost()
        let url = URL(fileURLWithPath: file).standardizedFileURL
        var expected = sha256
        if !noVerify {
            guard let bytes = FileManager.default.contents(atPath: url.path) else {
                throw AppLinksError(.notFound, "Cannot read \(url.path): check the path and its permissions.")
            }
            // The file installed is the file verified: a different one at install time is refused by its hash.
            let verified = Digest.sha256(bytes).hexString
            if let given = sha256?.lowercased(), given != verified {
                throw AppLinksError(
                    .invalidInput, "\(url.lastPathComponent) has sha256 \(verified), not the expected \(given); nothing was installed.")
            }
            expected = verified
            let checks = try PluginsVerify.checks(of: url)
            let failed = checks.filter { !$0.passed }
            guard !checks.isEmpty else {
                throw AppLinksError(.pluginRefused, "\(url.lastPathComponent) could not be verified; nothing was installed.")
            }
            if !failed.isEmpty {
                throw AppLinksError(
                    .pluginRefused,
                    "\(url.lastPathComponent) fails `applinks plugins verify`: "
                        + failed.map { "\($0.name): \($0.detail)" }.joined(separator: "; ")
                        + ". Nothing was installed. Fix the plugin, or install it anyway with --no-verify.")
            }
        }
        let installed = try PluginInstaller(home: host.home, logger: host.logger).install(url, expectedSHA256: expected)
        if common.json { return try Output.json(installed) }
        print(
            "Installed \(installed.id) \(installed.version ?? "") (\(installed.name ?? "")) as \(installed.path), pinned to sha256 "
                + "\(installed.sha256). It is enabled; `applinks plugins disable \(installed.id)` turns it off for this deployment.")
    }
}

struct PluginsInfo: HostCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "One link type's file, hash, ABI version and capabilities.")
    @OptionGroup var common: CommonOptions
    @Argument(help: "The link type's id.") var id: String

    func execute() async throws {
        let host = try await common.openHost()
        guard let record = host.pluginRecords.first(where: { $0.id == id }) else {
            throw AppLinksError(.notFound, "No plugin with id '\(id)'. Run `applinks plugins list`.")
        }
        struct Info: Encodable {
            var plugin: PluginRecord
            var descriptor: LinkTypeDescriptor?
        }
        let descriptor = host.enabledPlugin(id)?.descriptor
        if common.json { return try Output.json(Info(plugin: record, descriptor: descriptor)) }
        print("\(record.name ?? id) \(record.version ?? "") by \(record.vendor ?? "?")")
        print("  id       \(id)\n  state    \(record.state.rawValue)\n  path     \(record.path)\n  sha256   \(record.sha256 ?? "-")")
        print("  ABI      \(record.abiVersion ?? "-")")
        print("  runs     \(record.isolation == "process" ? "in its own runner process (plugins.isolation)" : "in the host process")")
        if let d = descriptor {
            print("  directions  \(d.directions.map(\.displayName).joined(separator: ", "))")
            print("  wizard      \(d.wizard.steps.map(\.id).joined(separator: " → "))")
            for c in d.statusChecks {
                print(
                    "  check       \(c.id): \(c.title)"
                        + (c.errorTypes.map { " (answers \($0.map(\.rawValue).joined(separator: ", ")))" } ?? ""))
            }
            print("  actions     \(d.actions.map(\.id).joined(separator: ", "))")
            print("  routes      \(d.routes.map { "\($0.method) \($0.path)" }.joined(separator: ", "))")
        }
    }
}

struct PluginsEnable: HostCommand {
    static let configuration = CommandConfiguration(commandName: "enable", abstract: "Enable a link type for this deployment.")
    @OptionGroup var common: CommonOptions
    @Argument(help: "The link type's id.") var id: String
    func execute() async throws { try await setEnabled(common: common, id: id, enabled: true) }
}

struct PluginsDisable: HostCommand {
    static let configuration = CommandConfiguration(
        commandName: "disable", abstract: "Disable a link type for this deployment; its links show DISABLED.")
    @OptionGroup var common: CommonOptions
    @Argument(help: "The link type's id.") var id: String
    func execute() async throws { try await setEnabled(common: common, id: id, enabled: false) }
}

private func setEnabled(common: CommonOptions, id: String, enabled: Bool) async throws {
    let host = try await common.openHost()
    let record = try await host.setLinkTypeEnabled(id, enabled: enabled)
    if common.json { return try Output.json(record) }
    print("The link type '\(id)' is \(enabled ? "enabled" : "disabled") for this deployment.")
}
