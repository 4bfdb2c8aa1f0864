import AppLinksHost
import AppLinksLogging
import AppLinksLocking
import Logging

/// Reads `config.yaml` again on SIGHUP. What can change under a running server changes at once: the log
/// thresholds (`log.level`, `log.modules`). Every other changed setting is named in the log as taking effect at the
/// next restart, so an operator is never left guessing; a config that no longer loads changes nothing and says why.
final class ConfigReloader: Sendable {
    let deployment: Deployment
    let thresholds: LogThresholds?
    let logger: Logger
    /// The settings of the last load, the start's at first: what the next reload is compared with.
    private let loaded: Locked<DeploymentConfig>
    static let liveKeys: Set<String> = ["log.level", "log.modules"]

    init(deployment: Deployment, thresholds: LogThresholds?, logger: Logger) {
        self.deployment = deployment
        self.thresholds = thresholds
        self.logger = logger
        loaded = Locked(deployment.config)
    }

    func reload() async {
        let fresh: DeploymentConfig
        do {
            fresh = try await DeploymentConfig.load(home: deployment.home.url)
        } catch {
            logger.error("config.yaml not reloaded; the settings in use stay", metadata: ["error": "\(error)"])
            return
        }
        let changed = loaded.withLock { previous in
            defer { previous = fresh }
            return fresh.changedKeys(from: previous)
        }
        guard !changed.isEmpty else {
            logger.info("config.yaml reloaded; no setting changed")
            return
        }
        let live = changed.filter { Self.liveKeys.contains($0) && thresholds != nil }
        if !live.isEmpty {
            // Said under whichever threshold lets it through: the old one when the new is quieter.
            let announce = { self.logger.notice("config.yaml reloaded", metadata: ["applied": "\(live.joined(separator: ", "))"]) }
            if fresh.logLevel > .notice { announce() }
            thresholds?.set(level: fresh.logLevel, modules: fresh.logModules)
            if fresh.logLevel <= .notice { announce() }
        }
        let later = changed.filter { !live.contains($0) }
        if !later.isEmpty {
            logger.warning(
                "config.yaml changed settings that take effect at the next restart",
                metadata: ["settings": "\(later.joined(separator: ", "))"])
        }
    }
}
