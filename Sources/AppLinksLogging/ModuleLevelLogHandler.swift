import AppLinksLocking
import Logging

/// `log.level` with exceptions per module (`log.modules: [AppLinksServer=warning, AppLinksHost=debug]`): a line
/// passes if its level reaches its module's threshold, else the default's. The module is swift-log's `source`,
/// the Swift module that logged the line (HummingbirdCore for the framework's own lines).
public struct ModuleLevelLogHandler: LogHandler {
    var base: any LogHandler
    let thresholds: LogThresholds
    /// A level set on one logger (`logger.logLevel = …`) holds for that logger and its copies only.
    var ownLevel: Logger.Level?

    public init(base: any LogHandler, thresholds: LogThresholds) {
        var base = base
        base.logLevel = .trace
        self.base = base
        self.thresholds = thresholds
    }

    public init(base: any LogHandler, level: Logger.Level, modules: [String: Logger.Level]) {
        self.init(base: base, thresholds: LogThresholds(level: level, modules: modules))
    }

    /// The lowest threshold, so that the logger hands every line that some module wants to `log(event:)`.
    public var logLevel: Logger.Level {
        get {
            if let ownLevel { return ownLevel }
            let (level, modules) = thresholds.current
            return min(level, modules.values.min() ?? level)
        }
        set { ownLevel = newValue }
    }

    public var metadata: Logger.Metadata {
        get { base.metadata }
        set { base.metadata = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { base[metadataKey: key] }
        set { base[metadataKey: key] = newValue }
    }

    public func log(event: LogEvent) {
        let (level, modules) = thresholds.current
        guard event.level >= (ownLevel ?? modules[event.source] ?? level) else { return }
        base.log(event: event)
    }
}

/// The thresholds every copy of a ``ModuleLevelLogHandler`` reads: one place, so that a reload of the config
/// (SIGHUP) reaches the loggers already handed out.
public final class LogThresholds: Sendable {
    private let state: Locked<(level: Logger.Level, modules: [String: Logger.Level])>

    public init(level: Logger.Level, modules: [String: Logger.Level]) { state = Locked((level, modules)) }

    public var current: (level: Logger.Level, modules: [String: Logger.Level]) { state.withLock { $0 } }

    public func set(level: Logger.Level, modules: [String: Logger.Level]) { state.withLock { $0 = (level, modules) } }
}
