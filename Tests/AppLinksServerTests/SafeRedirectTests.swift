import AppLinksHTTPInput
import Foundation
import Testing

@Suite("where a login may send the browser next")
struct SafeRedirectTests {
    /// Everything a browser might read as the start of another origin, written every way it can be: raw, percent
    /// encoded in either case, and encoded twice.
    static let escapes: [String] = {
        var raw: [String] = (0...0x20).map { String(UnicodeScalar(UInt8($0))) } + ["\u{7F}", "\\", "/", "。", "．", "\u{FF0F}"]
        raw += (0...0x20).map { String(format: "%%%02X", $0) } + ["%7F", "%5C", "%5c", "%2F", "%2f", "%E3%80%82", "%EF%BC%8F"]
        raw += ["%252F", "%255C", "%2509", "%25252F", "%C0%AF", "%"]
        return raw
    }()

    @Test("no prefix of a control byte, a slash, a backslash or a look-alike, raw or encoded, ever leaves the site")
    func refusesOtherOrigins() {
        for escape in Self.escapes {
            for probe in ["/\(escape)/evil.example/", "/\(escape)evil.example", "\(escape)/evil.example", "/\(escape)\(escape)evil"] {
                #expect(SafeRedirect.path(probe) == "/", "accepted \(probe.debugDescription)")
            }
        }
        for probe in ["//evil.example", "https://evil.example/", "javascript:alert(1)", "evil", "", "/é", "/a\u{0}b", "/x\ty"] {
            #expect(SafeRedirect.path(probe) == "/", "accepted \(probe.debugDescription)")
        }
        #expect(SafeRedirect.path(nil) == "/")
    }

    @Test("ordinary paths on this host, with queries and encoded characters, are kept as they are")
    func keepsLocalPaths() {
        for path in ["/", "/admin/applinks", "/plugins/fixture/consent?x=1&y=a%26b", "/users/alice%40example.com", "/a/b/#frag"] {
            #expect(SafeRedirect.path(path) == path)
        }
    }

    @Test("whatever is accepted is printable ASCII starting with one slash, as given and decoded")
    func acceptedIsSameOrigin() {
        var rng = SplitMix(state: 7)
        let alphabet = Array("/\\%0123456789abcdefABCDEF.:?#@ \t\r\nxyz。é") + ["%2F", "%5C", "%09", "%25", "%E3%80%82"].flatMap(Array.init)
        for _ in 0..<20_000 {
            var s = ""
            for _ in 0..<Int.random(in: 1...12, using: &rng) { s.append(alphabet.randomElement(using: &rng)!) }
            let out = SafeRedirect.path(s)
            guard out != "/" else { continue }
            var decoded = out
            while let d = decoded.removingPercentEncoding, d != decoded { decoded = d }
            for form in [out, decoded] {
                let bytes = Array(form.utf8)
                #expect(bytes.first == UInt8(ascii: "/") && bytes.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") })
                #expect(!form.hasPrefix("//"), "accepted \(s.debugDescription)")
            }
        }
    }
}

/// A small deterministic generator, so that a failure repeats.
fileprivate struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
