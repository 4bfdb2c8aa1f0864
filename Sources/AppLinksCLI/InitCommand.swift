import AppLinksCore
import AppLinksHost
import ArgumentParser
import Foundation

struct InitCommand: HostCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create a deployment home: config, master key, database and identity.")

    @OptionGroup var common: CommonOptions
    @Option(help: "The name remote applications see.") var name = "AppLinks"
    @Option(name: .customLong("base-url"), help: "This instance's public URL.") var baseURL = "http://127.0.0.1:8080"
    @Option(help: "The address `applinks serve` listens on, HOST:PORT.") var listen = "127.0.0.1:8080"

    func execute() async throws {
        let home = common.deploymentHome
        if home.exists {
            throw AppLinksError(
                .conflict,
                "A deployment already exists at \(home.url.path); nothing was changed. Edit "
                    + "\(home.configFile.path) to change its settings.")
        }
        let (host, _) = try await Deployment.initialize(
            home: home, stores: .standard, name: name, baseURL: baseURL, listen: listen, logger: CLILogging.logger)
        // A home on a database that already holds a deployment joins it, and must serve its base URL.
        let shared = try await host.requireSharedBaseURL()
        struct Result: Encodable {
            var home: String
            var application_id: String
            var name: String
            var base_url: String
            var listen: String
            var joined: Bool
        }
        let r = Result(
            home: home.url.path, application_id: host.identity.applicationID, name: host.config.name,
            base_url: host.config.baseURL, listen: host.config.listen, joined: host.joinedExistingDeployment)
        if common.json { return try Output.json(r) }
        if r.joined {
            print("Joined the deployment '\(shared.name)' in \(Redaction.url(host.config.database)); this node's home is \(r.home)")
        } else {
            print("Created the deployment at \(r.home)")
        }
        print("  application id  \(r.application_id)")
        print("  base URL        \(r.base_url)")
        print("  config          \(home.configFile.path)")
        if ProcessInfo.processInfo.environment["APPLINKS_MASTER_KEY"] != nil {
            print("  master key      from APPLINKS_MASTER_KEY (not written to the home; every node needs the same one)")
        } else {
            print("  master key      \(home.masterKeyFile.path) (mode 0600; back it up, sealed secrets need it)")
        }
    }
}
