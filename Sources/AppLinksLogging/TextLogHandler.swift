import AppLinksLocking
import Foundation
import Logging

/// `log.format: text`, for people: the line swift-log's `StreamLogHandler` writes
/// (`2026-12-05T09:14:59+0000 info applinks: client=127.0.0.1 [AppLinksServer] GET /healthz 200 0.1ms`), made
/// without its per-line `strftime` and written through a ``LogSink`` instead of synchronously on the caller's thread.
public struct TextLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String
    let sink: LogSink

    public init(label: String, sink: LogSink = .standardError) {
        self.label = label
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = Self.clock.now()
        line.reserveCapacity(192)
        line.append(" ")
        line.append(event.level.rawValue)
        if !label.isEmpty {
            line.append(" ")
            line.append(label)
        }
        line.append(":")
        for (key, value) in event.metadata(over: metadata).sorted(by: { $0.key < $1.key }) {
            line.append(" ")
            line.append(key)
            line.append("=")
            line.append(value.description)
        }
        line.append(" [")
        line.append(event.source)
        line.append("] ")
        line.append(event.message.description)
        line.append("\n")
        sink.write(line)
    }

    static let clock = SecondClock()
}

/// The local time to the second, as `StreamLogHandler` prints it (`%Y-%m-%dT%H:%M:%S%z`), formatted once a second
/// instead of once a line.
final class SecondClock: Sendable {
    private let last = Locked<(second: time_t, text: String)>((-1, ""))

    func now() -> String {
        let second = time(nil)
        if let text = last.withLock({ $0.second == second ? $0.text : nil }) { return text }
        var t = second
        var parts = tm()
        localtime_r(&t, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let n = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        let text = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        last.withLock { $0 = (second, text) }
        return text
    }
}
