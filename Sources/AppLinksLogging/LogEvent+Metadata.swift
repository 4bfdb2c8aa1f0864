import Logging

extension LogEvent {
    /// The metadata a line shows, the same in every format: the logger's, then the line's own over it, then the
    /// error the line carries, as swift-log's `StreamLogHandler` adds it.
    func metadata(over base: Logger.Metadata) -> Logger.Metadata {
        var all = base
        if let extra = metadata, !extra.isEmpty {
            if all.isEmpty { all = extra } else { all.merge(extra) { _, new in new } }
        }
        if let error {
            all["error.message"] = "\(error)"
            all["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        return all
    }
}
