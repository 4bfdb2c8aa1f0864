import AppLinksCore
import AppLinksJSON
import Foundation
import PropertyBased
import Testing

/// `JSONValue.parse` and the ABI's HTTP messages, held to what JSONEncoder writes and JSONDecoder reads.
@Suite("JSON reader and the handle_http messages")
struct JSONReaderTests {
    /// A JSON value grown from a seed: nesting, escapes, non-ASCII and emoji, integers and fractions.
    static func value(seed: UInt64, depth: Int = 0) -> JSONValue {
        var state = seed
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        let words = ["", "a", "é", "😀", "\"quoted\"", "back\\slash", "line\nbreak", "tab\t", "\u{01}", "/path", "日本"]
        switch depth > 3 ? next(4) : next(6) {
        case 0: return .string(words[next(words.count)] + words[next(words.count)])
        case 1: return .number(Double(next(2_000_001) - 1_000_000) / [1, 8, 1000][next(3)])
        case 2: return [.null, .bool(true), .bool(false)][next(3)]
        case 3: return .string(String(next(100)))
        case 4: return .array((0..<next(4)).map { i in value(seed: state &+ UInt64(i), depth: depth + 1) })
        default:
            return .object(
                Dictionary(
                    (0..<next(4)).map { i in (words[next(words.count)] + String(i), value(seed: state &+ UInt64(i), depth: depth + 1)) },
                    uniquingKeysWith: { a, _ in a }))
        }
    }

    @Test("parse reads what JSONEncoder writes exactly as JSONDecoder does")
    func matchesFoundation() async {
        await propertyCheck(count: 400, input: Gen.int(in: 0...Int.max)) { seed in
            let value = Self.value(seed: UInt64(seed))
            for pretty in [false, true] {
                let data = try! JSONCoding.encode(value, pretty: pretty)
                let ours = try? JSONValue.parse(data)
                #expect(ours != nil && ours == (try? JSONCoding.decode(JSONValue.self, from: data)))
            }
        }
    }

    @Test("escapes, surrogate pairs and white space are read; malformed text is refused with where it broke")
    func edgeCases() throws {
        #expect(try JSONValue.parse(Data(#" { "a" : [ 1 , -2.5e2 , "\u00e9\ud83d\ude00\n\/" ] } "#.utf8)) == ["a": [1, -250, "é😀\n/"]])
        #expect(try JSONValue.parse(Data("[]".utf8)) == [] && JSONValue.parse(Data("{}".utf8)) == [:])
        for bad in [
            "", "[1,]", "{\"a\" 1}", "[1] x", "01", "1.", "-", "tru", "\"open", "\"\\ud800\"", "\"\\udc00x\"", "\"\\q\"", "\"a\u{01}\"",
            "{1:2}", String(repeating: "[", count: 300) + String(repeating: "]", count: 300),
        ] {
            #expect(throws: JSONSyntaxError.self, "\(bad.prefix(20))") { try JSONValue.parse(Data(bad.utf8)) }
        }
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse(Data([0x22, 0xFF, 0xFE, 0x22])) }
    }

    /// Found by the json fuzz target: `3e360` was read as infinity, which the host then wrote back as text no JSON
    /// reader accepts.
    @Test("a number beyond a Double's range is refused, as JSONDecoder refuses it; the largest finite one is read")
    func outOfRange() throws {
        for bad in ["3e360", "[-1e400]", "{\"a\": 1" + String(repeating: "0", count: 400) + "}"] {
            #expect(throws: JSONSyntaxError.self, "\(bad.prefix(20))") { try JSONValue.parse(Data(bad.utf8)) }
            #expect(throws: (any Error).self) { try JSONCoding.decode(JSONValue.self, from: Data(bad.utf8)) }
        }
        #expect(try JSONValue.parse(Data("1.7976931348623157e308".utf8)) == .number(.greatestFiniteMagnitude))
        #expect(try JSONValue.parse(Data("1e-400".utf8)) == .number(0))
    }

    /// Found by the manifest fuzz target: a whole number past Int64's range trapped in `stringValue`, so a remote
    /// manifest with such an id stopped the process. Without the fix this test crashes.
    @Test("stringValue of any number, however large, is text rather than a trap")
    func hugeNumbersAsText() throws {
        let huge = try JSONValue.parse(Data("55555555555555555555553".utf8))
        #expect(huge.stringValue == String(5.5555555555555555e22))
        #expect(JSONValue.number(-1e300).stringValue == String(-1e300))
        #expect(JSONValue.number(42).stringValue == "42" && JSONValue.number(-7).stringValue == "-7")
        #expect(JSONValue.number(2.5).stringValue == "2.5")
    }

    static let requests = [
        PluginHTTPRequest(method: "GET", path: "/plugins/x/hello", baseURL: "https://applinks.example.com"),
        PluginHTTPRequest(
            method: "POST", path: "/plugins/x/é", query: "a=1&b=\"2\"", headers: [["Content-Type", "text/plain"], ["X-A", "\\\n"]],
            body: Data("body 😀".utf8), remoteAddress: "::1", user: .init(name: "ålice", admin: true), baseURL: "http://h:8080/ctx",
            route: "POST /plugins/x/é"),
        PluginHTTPRequest(method: "PUT", path: "/p", user: .init(name: "bob", admin: false), baseURL: "http://h"),
    ]

    @Test("the handle_http messages write JSONEncoder's bytes and read back to what was written")
    func messages() throws {
        for request in Self.requests {
            #expect(request.jsonData() == (try JSONCoding.encode(request)))
            #expect(try PluginHTTPRequest(jsonData: JSONCoding.encode(request)) == request)
        }
        for response in [
            PluginHTTPResponse(status: 200),
            PluginHTTPResponse(status: 302, headers: [["Location", "/a?b=\"c\""]], body: Data([0, 1, 255])),
            PluginHTTPResponse(status: 200, checkLinks: ["a1", "b\"2"]),
        ] {
            #expect(response.jsonData() == (try JSONCoding.encode(response)))
            #expect(try PluginHTTPResponse(jsonData: JSONCoding.encode(response)) == response)
        }
    }

    @Test("a handle_http message with a member missing or mistyped is refused, naming the member")
    func malformedMessages() {
        func message(_ json: String, _ read: (Data) throws -> Void) -> String {
            do {
                try read(Data(json.utf8))
                return ""
            } catch {
                return "\(error)"
            }
        }
        let request = { (d: Data) in _ = try PluginHTTPRequest(jsonData: d) }
        let response = { (d: Data) in _ = try PluginHTTPResponse(jsonData: d) }
        #expect(message(#"{"status":200,"headers":[]}"#, response).contains("body_base64"))
        #expect(message(#"{"status":"200","headers":[],"body_base64":""}"#, response).contains("\"status\" is not an integer"))
        #expect(message(#"{"status":200,"headers":[["a",1]],"body_base64":""}"#, response).contains("\"headers\""))
        #expect(message(#"{"method":"GET"}"#, request).contains("\"path\""))
        #expect(message(#"not json"#, request).contains("handle_http request"))
        // Members the reader does not know are skipped, as JSONDecoder skips them.
        #expect(message(#"{"status":204,"headers":[],"body_base64":"","extra":{"x":[1,{"y":null}]}}"#, response) == "")
    }
}
