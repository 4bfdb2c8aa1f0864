import AppLinksCore
import AppLinksHost
import AppLinksLogging
import AppLinksServer
import ArgumentParser
import Foundation
import Hummingbird
import Logging

struct ServeCommand: HostCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the HTTP server: manifest, status API and the link types' routes.",
        discussion:
            "Creates the deployment first if the home does not exist. Stops gracefully on SIGTERM or SIGINT, letting requests in flight finish."
    )
    @OptionGroup var common: CommonOptions
    @Option(help: "Listen on HOST:PORT instead of the configured address (port 0 picks a free port).") var listen: String?

    func execute() async throws {
        let home = common.deploymentHome
        // How to log is read before anything is logged: from the home's config when it exists, else the environment.
        let environment = ProcessInfo.processInfo.environment
        let settings = home.exists ? try? await DeploymentConfig.load(home: home.url) : nil
        let format = settings?.logFormat ?? environment["APPLINKS_LOG_FORMAT"] ?? "text"
        let level = settings?.logLevel ?? environment["APPLINKS_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        // Shared by every logger handed out, so that SIGHUP's reload of the config reaches them all.
        let thresholds = LogThresholds(level: level, modules: settings?.logModules ?? [:])
        let logger = Logger(label: "applinks") { label -> any LogHandler in
            let base: any LogHandler = format == "json" ? JSONLogHandler(label: label) : TextLogHandler(label: label)
            return ModuleLevelLogHandler(base: base, thresholds: thresholds)
        }
        // Lines logged after this returns, or as it throws, are still written before the process exits.
        defer { LogSink.standardError.flush() }
        let deployment: Deployment
        if home.exists {
            deployment = try await Deployment.open(home: home, stores: .standard, logger: logger, actor: "server")
        } else {
            (deployment, _) = try await Deployment.initialize(
                home: home, stores: .standard, name: "AppLinks", baseURL: "http://127.0.0.1:8080",
                listen: "127.0.0.1:8080", logger: logger, actor: "server")
            Output.note("Created a deployment at \(home.url.path).")
        }
        try await deployment.requireSharedBaseURL()
        if deployment.plugins.isEmpty {
            logger.warning(
                "no link type is loaded, so no link can be created: run `swift build` to build the bundled ones, or see why with `applinks plugins list`"
            )
        }
        let address = try ListenAddress(listen ?? deployment.config.listen)
        let setupCode = try await FirstRunSetup(deployment: deployment).issueCode()
        let telemetry = try TraceExport.start(deployment.config, logger: logger)
        let app = try buildApplication(
            deployment: deployment, listen: address, logger: logger, logThresholds: thresholds, telemetry: telemetry
        ) { bound in
            // One line on stdout, so that scripts (and tests) can learn a port picked with :0.
            let scheme = deployment.config.tlsCertificate == nil ? "http" : "https"
            FileHandle.standardOutput.write(
                Data("AppLinks listening on \(scheme)://\(bound) (base URL \(deployment.config.baseURL))\n".utf8))
            if let setupCode {
                FileHandle.standardOutput.write(
                    Data(
                        "No administrator yet: open \(deployment.config.tlsCertificate == nil ? "http" : "https")://\(bound)/setup and give the one-time code \(setupCode) (or run `applinks users add NAME --admin`).\n"
                            .utf8))
            }
        }
        do {
            try await app.runService()
        } catch let error as AppLinksError {
            throw AppLinksError(error.code, "The server stopped: \(error.message)", cause: error)
        } catch {
            throw AppLinksError(
                .config, "The server stopped: \(error). If the address is in use, pick another with --listen HOST:PORT.", cause: error)
        }
        await deployment.shutdown()
        logger.notice("stopped")
    }
}
