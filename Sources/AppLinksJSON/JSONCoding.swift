import Foundation

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
