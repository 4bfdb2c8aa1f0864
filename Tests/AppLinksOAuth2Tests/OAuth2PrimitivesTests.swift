import AppLinksHTTPInput
import AppLinksOAuth2
import Foundation
import Testing

@Suite("OAuth 2.0 primitives")
struct OAuth2PrimitivesTests {
    @Test("PKCE S256 gives RFC 7636 Appendix B's challenge, and checks the verifier's shape")
    func pkce() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        #expect(PKCE.challenge(verifier: verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
        #expect(PKCE.verify(verifier: verifier, challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"))
        #expect(!PKCE.verify(verifier: verifier + "x", challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"))
        #expect(!PKCE.isWellFormed(String(repeating: "a", count: 42)))
        #expect(PKCE.isWellFormed(String(repeating: "a", count: 43)) && PKCE.isWellFormed(String(repeating: "~", count: 128)))
        #expect(!PKCE.isWellFormed(String(repeating: "a", count: 129)) && !PKCE.isWellFormed(String(repeating: "a", count: 42) + "+"))
    }

    @Test(
        "redirect URIs match exactly, with only a loopback IP's port free",
        arguments: [
            ("https://a.example/cb", "https://a.example/cb", true),
            ("https://a.example/cb", "https://a.example/cb/", false),
            ("https://a.example/cb", "https://A.example/cb", false),
            ("https://a.example/cb", "https://a.example:443/cb", false),
            ("https://a.example/cb?x=1", "https://a.example/cb?x=1&y=2", false),
            ("http://127.0.0.1/cb", "http://127.0.0.1:51234/cb", true),
            ("http://127.0.0.1:8000/cb", "http://127.0.0.1:9/cb", true),
            ("http://[::1]:8000/cb", "http://[::1]:1/cb", true),
            ("http://127.0.0.1:8000/cb", "http://127.0.0.1:9/cb2", false),
            ("http://127.0.0.1:8000/cb", "http://127.0.0.1:9@evil.example/cb", false),
            ("http://127.0.0.1:8000/cb", "http://127.0.0.1.evil.example/cb", false),
            ("http://127.0.0.1:8000/cb", "http://127.0.0.1:123456/cb", false),
            ("http://127.0.0.1:8000/cb", "http://localhost:8000/cb", false),
        ])
    func matching(registered: String, requested: String, expected: Bool) {
        #expect(RedirectURI.matches(registered: registered, requested: requested) == expected)
    }

    @Test("registration: https, or http on a loopback IP; no fragment, user info or dot segments")
    func registration() {
        #expect(RedirectURI.registrationProblem("https://a.example/cb") == nil)
        #expect(RedirectURI.registrationProblem("http://127.0.0.1:8000/cb") == nil)
        #expect(RedirectURI.registrationProblem("http://[::1]/cb") == nil)
        #expect(RedirectURI.registrationProblem("http://a.example/cb")?.contains("only https") == true)
        #expect(RedirectURI.registrationProblem("https://a.example/cb#f")?.contains("fragment") == true)
        #expect(RedirectURI.registrationProblem("https://u@a.example/cb")?.contains("user info") == true)
        #expect(RedirectURI.registrationProblem("https://a.example/x/../cb")?.contains("dot segments") == true)
        #expect(RedirectURI.registrationProblem("/cb")?.contains("not an absolute URL") == true)
        #expect(RedirectURI.registrationProblem("javascript:alert(1)") != nil)
    }

    @Test("forms decode + and %, and report a parameter sent twice")
    func forms() {
        let f = FormURLEncoded(Substring("a=b+c&d=%2B%20&e&a=again"))
        #expect(f["a"] == "b c" && f["d"] == "+ " && f["e"] == nil)
        #expect(f.duplicates == ["a"])
        #expect(FormURLEncoded.encode("a b&c=d/é") == "a%20b%26c%3Dd%2F%C3%A9")
        // The same as Foundation's percent-encoding with the unreserved set, which it replaced.
        var unreserved = CharacterSet.alphanumerics
        unreserved.insert(charactersIn: "-._~")
        for text in (0..<128).map({ String(UnicodeScalar(UInt8($0))) }) + ["", "ÉCLAIR ½ 日本 🙂", "x\u{301}", "a+b%20"] {
            #expect(
                FormURLEncoded.encode(text) == text.addingPercentEncoding(withAllowedCharacters: unreserved), "\(text.debugDescription)")
        }
        #expect(FormURLEncoded.decode("%C3%a9+%zz%4") == "é %zz%4", "malformed escapes stay as they are")
        #expect(FormURLEncoded.decode("%FF") == "\u{FFFD}" && FormURLEncoded.decode("plain") == "plain")
    }

    @Test("a page's form keeps every pair in order, and a combining mark after & or = does not hide the separator")
    func formPairs() {
        let pairs = FormURLEncoded.pairs(Array("k=1&k=2&\u{0301}x=%zz&y=\u{0301}".utf8))
        #expect(pairs.map(\.name) == ["k", "k", "\u{0301}x", "y"])
        #expect(pairs.map(\.value) == ["1", "2", "%zz", "\u{0301}"])
    }

    @Test("client authentication: Basic with form-encoded parts, post, public, and both at once refused")
    func clientAuthentication() throws {
        let basic = "Basic " + Data("my%20client:s%3Acret".utf8).base64EncodedString()
        let a = try ClientAuthentication.from(authorization: basic, form: FormURLEncoded(Substring("")))
        #expect(a == ClientAuthentication(clientID: "my client", secret: "s:cret", method: .basic))
        let p = try ClientAuthentication.from(authorization: nil, form: FormURLEncoded(Substring("client_id=c&client_secret=s")))
        #expect(p.method == .post && p.secret == "s")
        #expect(try ClientAuthentication.from(authorization: nil, form: FormURLEncoded(Substring("client_id=c"))).method == .none)
        #expect(throws: OAuth2Error.self) {
            try ClientAuthentication.from(authorization: basic, form: FormURLEncoded(Substring("client_secret=s")))
        }
        do {
            _ = try ClientAuthentication.from(authorization: nil, form: FormURLEncoded(Substring("")))
            Issue.record("no client should be refused")
        } catch {
            #expect(error.code == .invalidClient)
        }
    }

    @Test("errors: RFC 6749 §5.2 JSON with a safe description, 401 only for Basic invalid_client")
    func errors() {
        let e = OAuth2Error(.invalidClient, "bad \"secret\" \\ é")
        #expect(String(decoding: e.jsonBody, as: UTF8.self) == #"{"error":"invalid_client","error_description":"bad ?secret? ? ?"}"#)
        #expect(e.tokenEndpointStatus(basicAuthentication: true) == 401 && e.tokenEndpointStatus(basicAuthentication: false) == 400)
        #expect(OAuth2Error(.invalidGrant, "x").tokenEndpointStatus(basicAuthentication: true) == 400)
    }
}
