import AppLinksCore
import AppLinksHost
import ArgumentParser
import Foundation

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "The settings this node runs with.", subcommands: [ConfigShow.self])
}

struct ConfigShow: HostCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Every setting as it takes effect, and where it comes from: the environment, config.yaml, or the default.",
        discussion:
            "An APPLINKS_* environment variable wins over config.yaml, which wins over the default. Secrets are masked: the master key, and a database URL's password."
    )
    @OptionGroup var common: CommonOptions

    func execute() async throws {
        let home = common.deploymentHome
        try home.requireExisting()
        let settings = try await DeploymentConfig.settings(home: home.url)
        if common.json { return try await Output.json(settings) }
        let keyWidth = settings.map(\.key.count).max() ?? 0
        let valueWidth = min(60, settings.map(\.value.count).max() ?? 0)
        for s in settings {
            let key = s.key.padding(toLength: keyWidth, withPad: " ", startingAt: 0)
            let value = s.value.count >= valueWidth ? s.value : s.value.padding(toLength: valueWidth, withPad: " ", startingAt: 0)
            print("\(key)  \(value)  \(s.source)")
        }
    }
}
