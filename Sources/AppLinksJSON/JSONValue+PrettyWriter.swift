import Foundation

extension JSONValue {
    /// Writes this value exactly as `JSONCoding.encode(_:pretty: true)` would (sorted keys, two-space indent,
    /// unescaped slashes), without the Codable machinery, whose per-value cost dominates a ten-thousand-link
    /// list. `PrettyWriterTests` holds it byte for byte to JSONEncoder.
    public func writePretty(into out: inout [UInt8], indent: Int = 0) {
        switch self {
        case .null: out.append(contentsOf: Self.nullBytes)
        case .bool(let b): out.append(contentsOf: b ? Self.trueBytes : Self.falseBytes)
        case .number(let n):
            if n.rounded() == n, abs(n) < 9.0e15 {
                out.append(contentsOf: String(Int64(n)).utf8)
            } else {
                // JSONEncoder prints a Double's description without a trailing ".0".
                let text = "\(n)"
                out.append(contentsOf: (text.hasSuffix(".0") ? String(text.dropLast(2)) : text).utf8)
            }
        case .string(let s): Self.writeString(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            out.append(UInt8(ascii: "\n"))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(contentsOf: Self.commaNewline) }
                Self.pad(indent + 2, &out)
                item.writePretty(into: &out, indent: indent + 2)
            }
            out.append(UInt8(ascii: "\n"))
            Self.pad(indent, &out)
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            out.append(UInt8(ascii: "\n"))
            for (i, key) in members.keys.sorted(by: Self.codePointOrder).enumerated() {
                if i > 0 { out.append(contentsOf: Self.commaNewline) }
                Self.pad(indent + 2, &out)
                Self.writeString(key, into: &out)
                out.append(contentsOf: Self.colon)
                members[key]!.writePretty(into: &out, indent: indent + 2)
            }
            out.append(UInt8(ascii: "\n"))
            Self.pad(indent, &out)
            out.append(UInt8(ascii: "}"))
        }
    }

    /// JSONEncoder's `.sortedKeys` order: by Unicode code point, which is the order of the UTF-8 bytes.
    public static func codePointOrder(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    private static let nullBytes = Array("null".utf8)
    private static let trueBytes = Array("true".utf8)
    private static let falseBytes = Array("false".utf8)
    private static let commaNewline = Array(",\n".utf8)
    private static let colon = Array(" : ".utf8)
    private static let hex = Array("0123456789abcdef".utf8)

    private static func pad(_ n: Int, _ out: inout [UInt8]) {
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: n))
    }

    public static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most strings need no escape at all: copy them whole.
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out.append(contentsOf: s.utf8)
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x08: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0..<0x20:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

extension JSONCoding {
    /// A pretty JSON array of `values`, written on every core. Same bytes as `encode(values, pretty: true)`.
    public static func prettyArray(_ values: [JSONValue]) async -> Data {
        await prettyArray(values) { $0 }
    }

    /// A pretty JSON array of `items` turned into JSON by `json`; both the turning and the writing run on every core.
    public static func prettyArray<T: Sendable>(_ values: [T], _ json: @escaping @Sendable (T) -> JSONValue) async -> Data {
        let parts = values.count >= 512 ? ProcessInfo.processInfo.activeProcessorCount : 1
        let size = max(1, (values.count + parts - 1) / parts)
        let chunks = stride(from: 0, to: values.count, by: size).map { Array(values[$0..<min($0 + size, values.count)]) }
        let written = await withTaskGroup(of: (Int, [UInt8]).self) { group in
            for (i, chunk) in chunks.enumerated() {
                group.addTask {
                    var out: [UInt8] = []
                    out.reserveCapacity(chunk.count * 700)
                    for (j, v) in chunk.enumerated() {
                        if j > 0 || i > 0 { out.append(contentsOf: Array(",\n".utf8)) }
                        out.append(contentsOf: [32, 32])
                        json(v).writePretty(into: &out, indent: 2)
                    }
                    return (i, out)
                }
            }
            var parts = [[UInt8]](repeating: [], count: chunks.count)
            for await (i, bytes) in group { parts[i] = bytes }
            return parts
        }
        var data = Data("[\n".utf8)
        for part in written { data.append(contentsOf: part) }
        data.append(contentsOf: Array("\n]".utf8))
        return data
    }
}

extension JSONValue {
    /// `s` as a JSON string literal, for code that writes JSON by hand on a hot path.
    public static func quoted(_ s: String) -> String {
        var out = [UInt8]()
        out.reserveCapacity(s.utf8.count + 2)
        writeString(s, into: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

extension JSONValue: CustomStringConvertible {
    /// What a message shows when it interpolates a value: a string as its text, anything else as JSON. Never
    /// Swift's debug form (`string("…")`), which means nothing to an admin.
    public var description: String {
        if case .string(let s) = self { return s }
        var out: [UInt8] = []
        writePretty(into: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
