import AppLinksCore
import AppLinksJSON
import Foundation
import Testing

/// The fast JSON writer must give exactly the bytes JSONEncoder gives, for any value.
@Suite("Pretty JSON writer")
struct PrettyWriterTests {
    /// A small deterministic generator, so a failure reproduces.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }

        mutating func string() -> String {
            let pieces = [
                "a", "Z", "0", " ", "\"", "\\", "/", "\n", "\r", "\t", "\u{8}", "\u{c}", "\u{1}", "\u{1f}", "é", "😀", "ß", "_", "-", "key",
            ]
            return (0..<int(6)).map { _ in pieces[int(pieces.count)] }.joined()
        }

        mutating func number() -> Double {
            let values: [Double] = [0, 1, -1, 42, 2.5, -0.5, 0.1, 1e-7, 1e21, 123_456_789.125, 9e15, -3.75e-3, 1_234_567]
            return values[int(values.count)]
        }

        mutating func value(depth: Int) -> JSONValue {
            switch int(depth > 3 ? 4 : 6) {
            case 0: return .null
            case 1: return .bool(int(2) == 0)
            case 2: return .number(number())
            case 3: return .string(string())
            case 4: return .array((0..<int(4)).map { _ in value(depth: depth + 1) })
            default:
                var o: [String: JSONValue] = [:]
                for _ in 0..<int(5) { o[string()] = value(depth: depth + 1) }
                return .object(o)
            }
        }
    }

    @Test("random values: same bytes as JSONEncoder", arguments: [1, 2, 3, 4, 5] as [UInt64])
    func randomValues(seed: UInt64) async throws {
        var g = Generator(state: seed)
        for size in [0, 1, 3, 600] {
            let values = (0..<size).map { _ in g.value(depth: 0) }
            let fast = await JSONCoding.prettyArray(values)
            let reference = try JSONCoding.encode(values, pretty: true)
            #expect(fast == reference, "seed \(seed), size \(size)")
        }
    }

    @Test("links: same bytes as JSONEncoder, and they decode back")
    func links() async throws {
        var g = Generator(state: 99)
        let links = (0..<700).map { i in
            Link(
                type: "fixture", name: g.string(), application: ApplicationInfo(type: "generic", version: i % 2 == 0 ? "1.0" : nil),
                displayURL: "https://\(i).example.com/path?q=\"x\"", incomingAuth: i % 3 == 0 ? [] : ["oauth"],
                config: ["n": .number(g.number()), g.string(): .string(g.string())],
                status: LinkStatus(
                    .networkError, .timeout, message: g.string(), checkedAt: i % 2 == 0 ? Date(timeIntervalSince1970: 1.8e9) : nil),
                createdAt: Date(timeIntervalSince1970: 1_700_000_000.25), updatedAt: Date(timeIntervalSince1970: 1_700_000_001))
        }
        let fast = await JSONCoding.prettyArray(links.map(\.jsonValue))
        #expect(fast == (try JSONCoding.encode(links, pretty: true)))
        #expect(try JSONCoding.decode([Link].self, from: fast) == links)
    }

    @Test("quoted writes a JSON string literal that reads back as the same string")
    func quoted() throws {
        for text in ["plain", "a \"quote\" and \\ backslash", "line\nbreak\ttab\u{01}", "é ünïcode 🔑", ""] {
            let literal = JSONValue.quoted(text)
            #expect(try JSONValue.parse(Data(literal.utf8)) == .string(text), "\(literal)")
        }
        #expect(JSONValue.quoted("a\"b") == #""a\"b""#)
    }
}
