import Foundation

extension JSONValue {
    /// Parses one JSON document (RFC 8259) from UTF-8 bytes.
    ///
    /// Every HTTP request a plugin serves crosses the ABI as two small JSON messages. JSONDecoder takes several
    /// microseconds for each, and JSONSerialization's `Any` boxes cost as much again to cast; this reads straight
    /// into `JSONValue`. `JSONReaderTests` holds it to JSONDecoder's reading of the same text.
    public static func parse(_ data: Data) throws -> JSONValue {
        try data.withUnsafeBytes { raw in
            var reader = JSONByteReader(bytes: raw.bindMemory(to: UInt8.self))
            return try reader.document()
        }
    }
}

/// Thrown for text that is not one JSON document; `offset` is where reading stopped.
public struct JSONSyntaxError: Error, Sendable, CustomStringConvertible {
    public var offset: Int
    public var problem: String
    public var description: String { "invalid JSON at byte \(offset): \(problem)" }
}

/// A JSON reader over bytes that a caller drives member by member: what the ABI messages decode with, faster than
/// building a ``JSONValue`` first.
public struct JSONByteReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var i = 0
    /// Deeper documents are refused rather than allowed to exhaust the stack.
    static let maxDepth = 256

    public init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    public mutating func document() throws -> JSONValue {
        let value = try self.value(depth: 0)
        skipSpace()
        guard i == bytes.count else { throw fail("text after the end of the document") }
        return value
    }

    public func fail(_ problem: String) -> JSONSyntaxError { JSONSyntaxError(offset: i, problem: problem) }

    // MARK: Reading a known shape member by member, without building a `JSONValue` for the whole document.

    /// Reads an object, calling `member` with each name; `member` must read exactly one value.
    public mutating func object(_ member: (String, inout JSONByteReader) throws -> Void) throws {
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: "{") else { throw fail("expected an object") }
        i += 1
        skipSpace()
        if i < bytes.count && bytes[i] == UInt8(ascii: "}") {
            i += 1
            return
        }
        while true {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a member name") }
            let key = try string()
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            i += 1
            try member(key, &self)
            skipSpace()
            guard i < bytes.count else { throw fail("unexpected end in an object") }
            if bytes[i] == UInt8(ascii: ",") {
                i += 1
            } else if bytes[i] == UInt8(ascii: "}") {
                i += 1
                return
            } else {
                throw fail("expected ',' or '}'")
            }
        }
    }

    /// The next value, whatever it is: for members a reader does not know.
    public mutating func anyValue() throws -> JSONValue { try value(depth: 1) }

    /// Whether the next value is `null`, which is then consumed.
    public mutating func null() -> Bool {
        skipSpace()
        guard i + 4 <= bytes.count, memcmp(bytes.baseAddress! + i, "null", 4) == 0 else { return false }
        i += 4
        return true
    }

    public mutating func string(for member: String) throws -> String {
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("\"\(member)\" is not a string") }
        return try string()
    }

    public mutating func bool(for member: String) throws -> Bool {
        guard case .bool(let b) = try value(depth: 1) else { throw fail("\"\(member)\" is not true or false") }
        return b
    }

    public mutating func int(for member: String) throws -> Int {
        guard case .number(let n) = try value(depth: 1), let v = Int(exactly: n) else { throw fail("\"\(member)\" is not an integer") }
        return v
    }

    /// `[["a", "b"], ...]`, as HTTP headers cross the ABI.
    public mutating func stringArrays(for member: String) throws -> [[String]] {
        var outer: [[String]] = []
        try array { r in
            var inner: [String] = []
            try r.array { r in inner.append(try r.string(for: member)) }
            outer.append(inner)
        }
        return outer
    }

    /// Reads an array, calling `element` once per element; `element` must read exactly one value.
    public mutating func array(_ element: (inout JSONByteReader) throws -> Void) throws {
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: "[") else { throw fail("expected a list") }
        i += 1
        skipSpace()
        if i < bytes.count && bytes[i] == UInt8(ascii: "]") {
            i += 1
            return
        }
        while true {
            try element(&self)
            skipSpace()
            guard i < bytes.count else { throw fail("unexpected end in a list") }
            if bytes[i] == UInt8(ascii: ",") {
                i += 1
            } else if bytes[i] == UInt8(ascii: "]") {
                i += 1
                return
            } else {
                throw fail("expected ',' or ']'")
            }
        }
    }

    public mutating func end() throws {
        skipSpace()
        guard i == bytes.count else { throw fail("text after the end of the document") }
    }

    /// Runs `body` over the bytes of `data`.
    public static func read<T>(_ data: Data, _ body: (inout JSONByteReader) throws -> T) throws -> T {
        try data.withUnsafeBytes { raw in
            var reader = JSONByteReader(bytes: raw.bindMemory(to: UInt8.self))
            let result = try body(&reader)
            try reader.end()
            return result
        }
    }

    private mutating func skipSpace() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return
            }
        }
    }

    private mutating func expect(_ literal: StaticString, _ value: JSONValue) throws -> JSONValue {
        let n = literal.utf8CodeUnitCount
        guard i + n <= bytes.count, memcmp(bytes.baseAddress! + i, literal.utf8Start, n) == 0 else { throw fail("unknown literal") }
        i += n
        return value
    }

    private mutating func value(depth: Int) throws -> JSONValue {
        guard depth < Self.maxDepth else { throw fail("nested more than \(Self.maxDepth) levels deep") }
        skipSpace()
        guard i < bytes.count else { throw fail("unexpected end") }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            var members: [String: JSONValue] = [:]
            try object { key, r in members[key] = try r.value(depth: depth + 1) }
            return .object(members)
        case UInt8(ascii: "["):
            var items: [JSONValue] = []
            try array { r in items.append(try r.value(depth: depth + 1)) }
            return .array(items)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try expect("true", .bool(true))
        case UInt8(ascii: "f"): return try expect("false", .bool(false))
        case UInt8(ascii: "n"): return try expect("null", .null)
        default: return .number(try number())
        }
    }

    private mutating func number() throws -> Double {
        let start = i
        func digits() -> Int {
            let from = i
            while i < bytes.count && bytes[i] >= 0x30 && bytes[i] <= 0x39 { i += 1 }
            return i - from
        }
        if i < bytes.count && bytes[i] == UInt8(ascii: "-") { i += 1 }
        let intStart = i
        guard digits() > 0 else { throw fail("expected a value") }
        if bytes[intStart] == UInt8(ascii: "0") && i - intStart > 1 { throw fail("a number with a leading zero") }
        if i < bytes.count && bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard digits() > 0 else { throw fail("expected digits after '.'") }
        }
        if i < bytes.count && (bytes[i] | 0x20) == UInt8(ascii: "e") {
            i += 1
            if i < bytes.count && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) { i += 1 }
            guard digits() > 0 else { throw fail("expected digits in the exponent") }
        }
        // Double() reads 1e400 as infinity, which no JSON text can write back: refused, as JSONDecoder refuses it.
        guard let n = Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)), n.isFinite else {
            throw fail("a number out of range")
        }
        return n
    }

    /// A string, from its opening quote; invalid UTF-8 is refused, as JSONDecoder refuses it.
    private mutating func string() throws -> String {
        i += 1
        let start = i
        var escaped = false
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") { break }
            if b < 0x20 { throw fail("a control character in a string") }
            if b == UInt8(ascii: "\\") {
                escaped = true
                i += 1
            }
            i += 1
        }
        guard i < bytes.count else { throw fail("a string without its closing quote") }
        let end = i
        i += 1
        let raw = UnsafeBufferPointer(rebasing: bytes[start..<end])
        if !escaped { return try Self.utf8(raw, at: start) }
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var j = 0
        func hex4(_ at: Int) throws -> UInt32 {
            guard at + 4 <= raw.count else { throw JSONSyntaxError(offset: start + at, problem: "a short \\u escape") }
            var v: UInt32 = 0
            for k in at..<(at + 4) {
                let c = raw[k]
                let d: UInt8
                switch c {
                case 0x30...0x39: d = c - 0x30
                case 0x41...0x46: d = c - 0x37
                case 0x61...0x66: d = c - 0x57
                default: throw JSONSyntaxError(offset: start + k, problem: "a bad \\u escape")
                }
                v = v << 4 | UInt32(d)
            }
            return v
        }
        while j < raw.count {
            let b = raw[j]
            guard b == UInt8(ascii: "\\") else {
                out.append(b)
                j += 1
                continue
            }
            let e = raw[j + 1]
            j += 2
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4(j)
                j += 4
                if (0xD800..<0xDC00).contains(scalar) {
                    // A high surrogate must be followed by an escaped low one.
                    guard j + 1 < raw.count, raw[j] == UInt8(ascii: "\\"), raw[j + 1] == UInt8(ascii: "u") else {
                        throw JSONSyntaxError(offset: start + j, problem: "a lone surrogate")
                    }
                    let low = try hex4(j + 2)
                    guard (0xDC00..<0xE000).contains(low) else { throw JSONSyntaxError(offset: start + j, problem: "a lone surrogate") }
                    j += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw JSONSyntaxError(offset: start + j, problem: "a lone surrogate")
                }
                out.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
            default: throw JSONSyntaxError(offset: start + j - 1, problem: "an unknown escape")
            }
        }
        return try out.withUnsafeBufferPointer { try Self.utf8($0, at: start) }
    }

    /// A string from bytes that must be valid UTF-8. ASCII, most of what crosses the ABI, skips the generic
    /// validating initializer, whose metadata lookups cost more than the copy.
    private static func utf8(_ raw: UnsafeBufferPointer<UInt8>, at offset: Int) throws -> String {
        if !raw.contains(where: { $0 >= 0x80 }) { return String(decoding: raw, as: UTF8.self) }
        guard let s = String(validating: raw, as: UTF8.self) else { throw JSONSyntaxError(offset: offset, problem: "invalid UTF-8") }
        return s
    }
}
