import Foundation

/// Any JSON value. Used for the parts of the plugin protocol whose shape belongs to the plugin: link
/// configuration, wizard answers and action output.
public enum JSONValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        // Strings first: they are most of what configs hold, and every wrong guess costs a thrown error.
        if c.decodeNil() {
            self = .null
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let n = try? c.decode(Double.self) {
            self = .number(n)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n):
            if n.rounded() == n, abs(n) < 9.0e15 { try c.encode(Int64(n)) } else { try c.encode(n) }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    public var stringValue: String? {
        switch self {
        case .string(let s): return s
        case .number(let n): return n.rounded() == n ? String(Int64(n)) : String(n)
        case .bool(let b): return String(b)
        default: return nil
        }
    }

    public var boolValue: Bool? {
        switch self {
        case .bool(let b): return b
        case .string(let s):
            let t = s.trimmingCharacters(in: .whitespaces).lowercased()
            return ["true", "yes", "y", "1", "on"].contains(t) ? true : ["false", "no", "n", "0", "off"].contains(t) ? false : nil
        default: return nil
        }
    }

    public var doubleValue: Double? {
        switch self {
        case .number(let n): return n
        case .string(let s): return Double(s.trimmingCharacters(in: .whitespaces))
        default: return nil
        }
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }

    public subscript(key: String) -> JSONValue? { objectValue?[key] }

    /// A list answer or config value: a JSON array of strings, or one string of words separated by spaces (as
    /// OAuth scopes are, RFC 6749 §3.3), commas (as the CLI's `--set` gives them) or newlines.
    public var words: [String] {
        switch self {
        case .array(let items): return items.compactMap(\.stringValue).filter { !$0.isEmpty }
        case .string(let s): return s.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\n" }).map(String.init)
        default: return []
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByDictionaryLiteral, ExpressibleByArrayLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { $1 }))
    }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }
}

/// The JSON coders every module uses, so that host, plugins and CLI agree on dates and key order.
public enum JSONCoding {
    public static func encoder(pretty: Bool = false) -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(Timestamp.format(date))
        }
        return e
    }

    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .custom { decoder in
            let c = try decoder.singleValueContainer()
            let s = try c.decode(String.self)
            guard let date = Timestamp.parse(s) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an ISO 8601 date: \(s)")
            }
            return date
        }
        return d
    }

    public static func encode<T: Encodable>(_ value: T, pretty: Bool = false) throws -> Data {
        try encoder(pretty: pretty).encode(value)
    }

    /// Encodes a long array on every core, then joins the pieces; the result is byte for byte what `encode`
    /// gives. JSONEncoder's per-value overhead, not the JSON text, is what a ten-thousand-link list costs.
    public static func encodeArray<T: Encodable & Sendable>(_ items: [T], pretty: Bool = false) async throws -> Data {
        let parts = ProcessInfo.processInfo.activeProcessorCount
        guard items.count >= 512, parts > 1 else { return try encode(items, pretty: pretty) }
        let size = (items.count + parts - 1) / parts
        let chunks = stride(from: 0, to: items.count, by: size).map { Array(items[$0..<min($0 + size, items.count)]) }
        let encoded = try await withThrowingTaskGroup(of: (Int, Data).self) { group in
            for (i, chunk) in chunks.enumerated() { group.addTask { (i, try encode(chunk, pretty: pretty)) } }
            var out = [Data](repeating: Data(), count: chunks.count)
            for try await (i, data) in group { out[i] = data }
            return out
        }
        // A chunk is "[" + items + "]", or "[\n" + items + "\n]" when pretty.
        let cut = pretty ? 2 : 1
        var result = Data(pretty ? "[\n".utf8 : "[".utf8)
        for (i, chunk) in encoded.enumerated() {
            if i > 0 { result.append(contentsOf: pretty ? Array(",\n".utf8) : Array(",".utf8)) }
            result.append(chunk.dropFirst(cut).dropLast(cut))
        }
        result.append(contentsOf: pretty ? Array("\n]".utf8) : Array("]".utf8))
        return result
    }

    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try decoder().decode(type, from: data)
    }
}

/// ISO 8601 timestamps with milliseconds, in UTC: `2026-11-29T10:00:00.000Z`.
public enum Timestamp {
    private static let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    private static let plain = Date.ISO8601FormatStyle()

    /// Formats with the C library's calendar arithmetic; `ISO8601FormatStyle` costs a few microseconds a date,
    /// which adds up over the three dates of each of ten thousand links.
    public static func format(_ date: Date) -> String {
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(ms >= 0 ? ms / 1000 : (ms - 999) / 1000)
        let millis = Int(ms - Int64(seconds) * 1000)
        var t = tm()
        guard gmtime_r(&seconds, &t) != nil else { return style.format(date) }
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        return "\(pad(t.tm_year + 1900, 4))-\(pad(t.tm_mon + 1, 2))-\(pad(t.tm_mday, 2))T\(pad(t.tm_hour, 2)):\(pad(t.tm_min, 2)):"
            + "\(pad(t.tm_sec, 2)).\(pad(Int32(millis), 3))Z"
    }

    public static func parse(_ s: String) -> Date? {
        (try? style.parse(s)) ?? (try? plain.parse(s))
    }
}

extension JSONValue: ExpressibleByFloatLiteral {
    public init(floatLiteral value: Double) { self = .number(value) }
}
