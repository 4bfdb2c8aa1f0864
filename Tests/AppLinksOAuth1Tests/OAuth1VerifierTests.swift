import AppLinksCrypto
import AppLinksLocking
import AppLinksOAuth1
import Foundation
import Testing

@Suite("OAuth 1.0a provider verification")
struct OAuth1VerifierTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let url = "https://applinks.example.com/rest/api/thing?x=1"
    static let signer = OAuth1Signer(consumerKey: "ck", method: .hmacSHA1, credential: .secrets(consumer: "cs", token: "ts"), token: "tok")

    /// A nonce store like the host's: the first use of (consumer, token, timestamp, nonce) wins.
    final class Nonces: Sendable {
        let seen = Locked<Set<String>>([])
        func fresh(_ c: String, _ t: String?, _ ts: String, _ n: String) -> Bool {
            seen.withLock { $0.insert("\(c)|\(t ?? "")|\(ts)|\(n)").inserted }
        }
    }

    static func verify(
        _ request: OAuth1Request, secret: String = "cs", known: Bool = true, nonces: Nonces = Nonces(),
        methods: Set<OAuth1SignatureMethod> = Set(OAuth1SignatureMethod.allCases), at: Date = now
    ) async throws -> OAuth1Verifier.Verified {
        try await OAuth1Verifier(acceptedMethods: methods).verify(
            request, now: at,
            credential: { key, _, _ in
                known && key == "ck" ? .secrets(consumer: secret, token: "ts") : nil
            }, nonceIsFresh: { nonces.fresh($0, $1, $2, $3) })
    }

    static func signed(
        url: String = url, method: String = "GET", timestamp: Int = Int(now.timeIntervalSince1970), nonce: String = "n1",
        headers: [(String, String)] = [], body: Data = Data(), signer: OAuth1Signer = signer
    ) throws -> OAuth1Request {
        let unsigned = OAuth1Request(method: method, url: url, headers: headers, body: body)
        let header = try signer.authorizationHeader(for: unsigned, timestamp: timestamp, nonce: nonce)
        return OAuth1Request(method: method, url: url, headers: headers + [("Authorization", header)], body: body)
    }

    static func problem(_ body: () async throws -> Void) async -> OAuth1Problem.Code? {
        do { try await body(); return nil } catch let p as OAuth1Problem { return p.code } catch { return nil }
    }

    @Test("a good request verifies; the same request again is a replayed nonce")
    func replay() async throws {
        let nonces = Nonces()
        let request = try Self.signed()
        let v = try await Self.verify(request, nonces: nonces)
        #expect(v.consumerKey == "ck" && v.token == "tok" && v.method == .hmacSHA1)
        #expect(await Self.problem { _ = try await Self.verify(request, nonces: nonces) } == .nonceUsed)
    }

    @Test("each failure gives its own oauth_problem")
    func problems() async throws {
        #expect(
            await Self.problem { _ = try await Self.verify(try Self.signed(timestamp: Int(Self.now.timeIntervalSince1970) - 360)) }
                == .timestampRefused)
        #expect(
            await Self.problem { _ = try await Self.verify(try Self.signed(timestamp: Int(Self.now.timeIntervalSince1970) + 360)) }
                == .timestampRefused)
        #expect(await Self.problem { _ = try await Self.verify(try Self.signed(), secret: "wrong") } == .signatureInvalid)
        #expect(await Self.problem { _ = try await Self.verify(try Self.signed(), known: false) } == .consumerKeyUnknown)
        #expect(await Self.problem { _ = try await Self.verify(try Self.signed(), methods: [.rsaSHA1]) } == .signatureMethodRejected)
        let v2 = OAuth1Request(
            method: "GET", url: Self.url,
            headers: [
                (
                    "Authorization",
                    #"OAuth oauth_consumer_key="ck", oauth_version="2.0", oauth_signature_method="HMAC-SHA1", oauth_signature="x", oauth_timestamp="1", oauth_nonce="n""#
                )
            ])
        #expect(await Self.problem { _ = try await Self.verify(v2) } == .versionRejected)
        let missing = OAuth1Request(
            method: "GET", url: Self.url,
            headers: [("Authorization", #"OAuth oauth_consumer_key="ck", oauth_signature_method="HMAC-SHA1""#)])
        #expect(await Self.problem { _ = try await Self.verify(missing) } == .parameterAbsent)
        let twice = OAuth1Request(method: "GET", url: Self.url + "&oauth_nonce=other", headers: try Self.signed().headers)
        #expect(await Self.problem { _ = try await Self.verify(twice) } == .parameterRejected)
        // A parameter changed after signing.
        var tampered = try Self.signed()
        tampered.url = tampered.url.replacingOccurrences(of: "x=1", with: "x=2")
        #expect(await Self.problem { _ = try await Self.verify(tampered) } == .signatureInvalid)
        // A body that is not a form is covered by oauth_body_hash.
        var json = try Self.signed(method: "POST", headers: [("Content-Type", "application/json")], body: Data(#"{"a":1}"#.utf8))
        json.body = Data(#"{"a":2}"#.utf8)
        #expect(await Self.problem { _ = try await Self.verify(json) } == .signatureInvalid)
    }

    @Test("extension parameters come back verified; one given twice is refused; accepted methods round-trip")
    func extensionParameters() async throws {
        let request = try Self.signed(url: Self.url + "&oauth_callback=https%3A%2F%2Fc.example%2Fcb")
        let v = try await Self.verify(request)
        #expect(v.parameter("oauth_callback") == "https://c.example/cb")
        #expect(v.parameter("oauth_nonce") == "n1" && v.parameter("oauth_missing") == nil)
        let twice = OAuth1Request(method: "GET", url: request.url + "&oauth_callback=oob", headers: request.headers)
        #expect(await Self.problem { _ = try await Self.verify(twice) } == .parameterRejected)
        var verifier = OAuth1Verifier(acceptedMethods: [.rsaSHA256, .plaintext])
        #expect(verifier.acceptedMethods == [.rsaSHA256, .plaintext] && verifier.accepts(.plaintext) && !verifier.accepts(.hmacSHA1))
        verifier.acceptedMethods = [.hmacSHA1]
        #expect(verifier.acceptedMethods == [.hmacSHA1])
    }

    @Test("a forged request does not use up the nonce of the real one")
    func forgeriesDoNotBurnNonces() async throws {
        let nonces = Nonces()
        #expect(
            await Self.problem { _ = try await Self.verify(try Self.signed(nonce: "shared"), secret: "wrong", nonces: nonces) }
                == .signatureInvalid)
        _ = try await Self.verify(try Self.signed(nonce: "shared"), nonces: nonces)
    }

    @Test("the provider verifies against its public URL: an explicit default port, or a proxy's internal address, changes nothing")
    func publicURL() async throws {
        // The client signed https://applinks.example.com:443/…; the provider rebuilds the URL without the port.
        let explicit = try Self.signed(url: "https://applinks.example.com:443/rest/api/thing?x=1")
        var seenByProvider = explicit
        seenByProvider.url = Self.url
        _ = try await Self.verify(seenByProvider)
        // Behind a proxy the request arrived on http://10.0.0.5:8080; verifying against that address fails.
        var proxied = try Self.signed(nonce: "n2")
        proxied.url = "http://10.0.0.5:8080/rest/api/thing?x=1"
        #expect(await Self.problem { _ = try await Self.verify(proxied) } == .signatureInvalid)
    }

    @Test("the problem answer is a 401's WWW-Authenticate and a form body")
    func problemReport() {
        let p = OAuth1Problem(.timestampRefused, "clock skew")
        #expect(
            p.wwwAuthenticate(realm: "https://applinks.example.com")
                == #"OAuth realm="https://applinks.example.com", oauth_problem="timestamp_refused""#)
        #expect(p.body == "oauth_problem=timestamp_refused&oauth_problem_advice=clock%20skew")
    }
}
