import AppLinksJSON
import Foundation

/// How rows hold values that SQL has no type for: JSON text for lists and objects, seconds since 1970 for times.
/// Every backend stores them the same way, so that a migration between backends copies them unchanged.
public enum Columns {
    private static let decoder = JSONCoding.decoder()

    public static func json<T: Encodable>(_ v: T) -> String {
        String(decoding: (try? JSONCoding.encode(v)) ?? Data("null".utf8), as: UTF8.self)
    }

    public static func decode<T: Decodable>(_ type: T.Type, _ s: String?, default d: T) -> T {
        guard let s, let v = try? decoder.decode(type, from: Data(s.utf8)) else { return d }
        return v
    }

    /// Most links have no or one authentication type and an empty config; skip the parser for those.
    public static func strings(_ s: String?) -> [String] {
        guard let s, s != "[]", let value = try? JSONValue.parse(Data(s.utf8)) else { return [] }
        return strings(value) ?? []
    }

    public static func strings(_ value: JSONValue) -> [String]? {
        guard case .array(let items) = value else { return nil }
        let strings = items.compactMap { if case .string(let s) = $0 { s } else { nil } }
        return strings.count == items.count ? strings : nil
    }

    public static func object(_ s: String?) -> [String: JSONValue] {
        guard let s, s != "{}", let value = try? JSONValue.parse(Data(s.utf8)) else { return [:] }
        return object(value) ?? [:]
    }

    public static func object(_ value: JSONValue) -> [String: JSONValue]? {
        if case .object(let o) = value { o } else { nil }
    }

    public static func date(_ d: Date) -> Double { d.timeIntervalSince1970 }
    public static func date(_ v: Double?) -> Date? { v.map(Date.init(timeIntervalSince1970:)) }

    public static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
