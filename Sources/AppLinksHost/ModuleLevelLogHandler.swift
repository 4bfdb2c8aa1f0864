import Logging

/// `log.level` with exceptions per module (`log.modules: [AppLinksServer=warning, AppLinksHost=debug]`): a line
/// passes if its level reaches its module's threshold, else the default's. The module is swift-log's `source`,
/// the Swift module that logged the line (HummingbirdCore for the framework's own lines).
public struct ModuleLevelLogHandler: LogHandler {
    var base: any LogHandler
    let levels: [String: Logger.Level]
    var defaultLevel: Logger.Level

    public init(base: any LogHandler, level: Logger.Level, modules: [String: Logger.Level]) {
        var base = base
        base.logLevel = .trace
        self.base = base
        self.levels = modules
        self.defaultLevel = level
    }

    /// The lowest threshold, so that the logger hands every line that some module wants to `log(event:)`.
    public var logLevel: Logger.Level {
        get { min(defaultLevel, levels.values.min() ?? defaultLevel) }
        set { defaultLevel = newValue }
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
        guard event.level >= (levels[event.source] ?? defaultLevel) else { return }
        base.log(event: event)
    }
}
