import AppLinksJSON
import Foundation
import Logging

/// `log.format: json`: one JSON object per line on standard error (through a ``LogSink``), for log shippers. Each line has `timestamp`
/// (RFC 3339, milliseconds, UTC), `level`, `label`, `source` (the module), `message`, `request_id` and `link_id` when the line is
/// about one, and the rest of its metadata under `metadata`. What is logged is what the text format logs: no
/// secret is ever in a log line's metadata.
public struct JSONLogHandler: LogHandler {
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
        var all = event.metadata(over: metadata)
        var object: [String: JSONValue] = [
            "timestamp": .string(Self.timestamp(Date())), "level": .string(event.level.rawValue), "label": .string(label),
            "message": .string("\(event.message)"), "source": .string(event.source),
        ]
        for (key, names) in [("request_id", ["hb.request.id", "request_id"]), ("link_id", ["link", "link_id"])] {
            if let name = names.first(where: { all[$0] != nil }), let value = all.removeValue(forKey: name) {
                object[key] = .string("\(value)")
            }
        }
        if !all.isEmpty { object["metadata"] = .object(all.mapValues(Self.json)) }
        var line = String(decoding: (try? JSONCoding.encode(JSONValue.object(object))) ?? Data(), as: UTF8.self)
        line.append("\n")
        sink.write(line)
    }

    static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let s): .string(s)
        case .stringConvertible(let c): .string(c.description)
        case .array(let items): .array(items.map(json))
        case .dictionary(let d): .object(d.mapValues(json))
        }
    }

    static func timestamp(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&t, &parts)
        let ms = Int((date.timeIntervalSince1970 - Double(t)) * 1000)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let millis = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):"
            + "\(two(parts.tm_sec)).\(millis)Z"
    }
}
