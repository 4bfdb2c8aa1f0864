import AppLinksCrypto
import AppLinksOAuth1
import Foundation
import TestSupport
import Testing

@Suite("OAuth 1.0a signatures")
struct OAuth1SignatureTests {
    // From shared/vectors/oauth.json (RFC 5849 §3.4.1.1, recomputed; the RFC's printed signature is wrong).
    @Test("RFC 5849 3.4.1.1: base string and HMAC-SHA1 signature")
    func rfcExample() throws {
        let request = OAuth1Request(
            method: "POST", url: "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b",
            headers: [
                ("Content-Type", "application/x-www-form-urlencoded"),
                (
                    "Authorization",
                    #"OAuth realm="Example", oauth_consumer_key="9djdj82h48djs9d2", oauth_token="kkk9d7dh3k39sjv7", oauth_signature_method="HMAC-SHA1", oauth_timestamp="137131201", oauth_nonce="7d8f3e4a""#
                ),
            ],
            body: Data("c2&a3=2+q".utf8))
        let (params, realm) = try request.parameters()
        #expect(realm == "Example")
        let base = OAuth1Request.baseString(method: request.method, uri: try request.baseStringURI(), parameters: params)
        #expect(
            base
                == "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7"
        )
        let sig = try OAuth1SignatureMethod.hmacSHA1.sign(baseString: base, with: .secrets(consumer: "j49sk3j29djd", token: "dh893hdasih9"))
        #expect(sig == "r6/TJjbCOr97/+UU0NsvSne7s5g=")
    }

    @Test("RFC 5849 1.2 photo request, without oauth_version; and the body hash vector")
    func photoAndBodyHash() throws {
        let signer = OAuth1Signer(
            consumerKey: "dpf43f3p2l4k3l03", method: .hmacSHA1,
            credential: .secrets(consumer: "kd94hf93k423kf44", token: "pfkkdhi9sl3r4s00"),
            token: "nnch734d00sl2jdk", sendVersion: false)
        let params = try signer.sign(
            OAuth1Request(method: "GET", url: "http://photos.example.net/photos?file=vacation.jpg&size=original"),
            timestamp: 137_131_202, nonce: "chapoH")
        #expect(params.first { $0.0 == "oauth_signature" }?.1 == "MdpQcU8iPSUjWoN/UDMsK2sui9I=")
        #expect(OAuth1Request(method: "POST", url: "http://x/", body: Data("Hello World!".utf8)).bodyHash == "Lve95gjOVATpfV8EL5X4nxwjKHE=")
    }

    @Test("base string URIs: lower-case scheme and host, default ports dropped, other ports kept")
    func baseStringURI() throws {
        #expect(try OAuth1Request(method: "GET", url: "HTTPS://Example.COM:443/Path?q=1").baseStringURI() == "https://example.com/Path")
        #expect(try OAuth1Request(method: "GET", url: "http://example.com:80").baseStringURI() == "http://example.com/")
        #expect(try OAuth1Request(method: "GET", url: "http://example.com:8080/a").baseStringURI() == "http://example.com:8080/a")
        #expect(try OAuth1Request(method: "GET", url: "https://example.com:80/a").baseStringURI() == "https://example.com:80/a")
        #expect(throws: OAuth1Problem.self) { try OAuth1Request(method: "GET", url: "/relative").baseStringURI() }
    }

    @Test("the Authorization header round-trips, with realm and characters that need encoding")
    func headerRoundTrip() throws {
        let params = [
            ("oauth_consumer_key", "key with spaces & symbols=+/"), ("oauth_callback", "https://a.example/cb?x=1&y=é"),
            ("oauth_nonce", "n"),
        ]
        let header = OAuth1AuthorizationHeader.serialize(realm: "Example Realm", parameters: params)
        let (realm, parsed) = try OAuth1AuthorizationHeader.parse(header)
        #expect(realm == "Example Realm" && parsed.map(\.0) == params.map(\.0) && parsed.map(\.1) == params.map(\.1))
        #expect(throws: OAuth1Problem.self) { try OAuth1AuthorizationHeader.parse("OAuth oauth_nonce=unquoted") }
        #expect(throws: OAuth1Problem.self) { try OAuth1AuthorizationHeader.parse("Bearer abc") }
    }

    @Test("header parsing: any case of the scheme, escaped quotes, realm kept apart, names decoded")
    func headerEdgeCases() throws {
        let (realm, params) = try OAuth1AuthorizationHeader.parse(
            #"  oAuTh realm="a \"quoted\" realm, with a comma",oauth_consumer_key="k\"1", oauth_nonce="n%20n",x%5Fy="1""#)
        #expect(realm == #"a "quoted" realm, with a comma"#)
        #expect(params.map(\.0) == ["oauth_consumer_key", "oauth_nonce", "x_y"])
        #expect(params.map(\.1) == [#"k"1"#, "n n", "1"])
        #expect(throws: OAuth1Problem.self) { try OAuth1AuthorizationHeader.parse(#"OAuth oauth_nonce="open"#) }
        #expect(throws: OAuth1Problem.self) { try OAuth1AuthorizationHeader.parse("OAuthx") }
        let request = OAuth1Request(method: "GET", url: "https://a.example/", headers: [("AUTHORIZATION", #"OAUTH oauth_nonce="z""#)])
        #expect(try request.parameters().all.map(\.1) == ["z"])
    }

    /// Deterministic generated requests: duplicates, empty values, '+' and %20, reserved and non-ASCII characters,
    /// ports, host case, form bodies, JSON bodies, tokens or none, every signature method.
    static func cases(rsaPEM: String) -> [[String: String]] {
        var state: UInt64 = 42
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        let words = ["a", "b", "x y", "é", "=", "&", "+", "%", "~-._", "😀", "", "a+b", "Z"]
        let hosts = ["example.com", "Example.COM", "example.com:8080", "example.com:443", "127.0.0.1:9000"]
        var out: [[String: String]] = []
        for i in 0..<60 {
            let method = OAuth1SignatureMethod.allCases[i % 5]
            var query: [String] = []
            for _ in 0..<next(4) {
                let k = words[next(words.count)], v = words[next(words.count)]
                let encodedValue =
                    next(2) == 0 ? OAuth1Encoding.encode(v) : OAuth1Encoding.encode(v).replacingOccurrences(of: "%20", with: "+")
                query.append(OAuth1Encoding.encode(k.isEmpty ? "k" : k) + "=" + encodedValue)
            }
            if next(3) == 0, let first = query.first { query.append(first) }  // a duplicate
            let scheme = next(2) == 0 ? "https" : "http"
            var c: [String: String] = [
                "method": ["GET", "POST", "put"][next(3)],
                "url": "\(scheme)://\(hosts[next(hosts.count)])/p/\(OAuth1Encoding.encode(words[next(words.count)]))"
                    + (query.isEmpty ? "" : "?" + query.joined(separator: "&")),
                "consumer_key": "consumer-\(i)", "signature_method": method.rawValue, "timestamp": String(1_700_000_000 + i),
                "nonce": "nonce\(i)",
            ]
            if method.isRSA { c["rsa_key"] = rsaPEM } else { c["consumer_secret"] = "secret & \(words[next(words.count)])" }
            if next(2) == 0 {
                c["token"] = "token-\(i)"
                if !method.isRSA { c["token_secret"] = "ts%\(i)" }
            }
            switch next(3) {
            case 0 where c["method"] != "GET":
                c["content_type"] = "application/x-www-form-urlencoded"
                c["body"] = "f=\(OAuth1Encoding.encode(words[next(words.count)]))&g=2"
            case 1 where c["method"] != "GET" && method != .plaintext:
                c["content_type"] = "application/json"
                c["body"] = #"{"n": \#(i)}"#
            default: break
            }
            out.append(c)
        }
        // A `realm` in the query or the body is an ordinary parameter and is signed; only the header's is left
        // out (RFC 5849 §3.4.1.3.1).
        out.append([
            "method": "GET", "url": "https://example.com/r?realm=query&a=1", "consumer_key": "realm-q",
            "signature_method": "HMAC-SHA1", "consumer_secret": "s", "timestamp": "1700000100", "nonce": "realm1", "realm": "Header",
        ])
        out.append([
            "method": "POST", "url": "https://example.com/r", "consumer_key": "realm-b", "signature_method": "RSA-SHA1",
            "rsa_key": rsaPEM, "timestamp": "1700000101", "nonce": "realm2", "content_type": "application/x-www-form-urlencoded",
            "body": "realm=body&b=2",
        ])
        return out
    }

    static func request(_ c: [String: String], authorization: String? = nil) -> OAuth1Request {
        var headers: [(String, String)] = []
        if let t = c["content_type"] { headers.append(("Content-Type", t)) }
        if let authorization { headers.append(("Authorization", authorization)) }
        return OAuth1Request(method: c["method"]!, url: c["url"]!, headers: headers, body: Data((c["body"] ?? "").utf8))
    }

    static func credential(_ c: [String: String], key: RSAKey) -> OAuth1Credential {
        c["rsa_key"] != nil ? .rsa(key) : .secrets(consumer: c["consumer_secret"]!, token: c["token_secret"])
    }

    @Test("python oauthlib computes the same base strings and signatures, and our verifier accepts what it signs")
    func oauthlibAgrees() async throws {
        let key = try RSAKey.generate(bits: 2048)
        let cases = Self.cases(rsaPEM: try key.privateKeyPEM())
        let dir = TemporaryDirectory("oauthlib")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("oauthlib_sign.py")
        let r = try runCommand(
            URL(fileURLWithPath: "/usr/bin/env"), ["python3", script.path],
            stdin: String(decoding: try JSONSerialization.data(withJSONObject: cases), as: UTF8.self), directory: dir.url)
        #expect(r.status == 0, "oauthlib failed: \(r.stderr)")
        let theirs = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: String]])
        #expect(theirs.count == cases.count)
        for (c, their) in zip(cases, theirs) {
            let signer = OAuth1Signer(
                consumerKey: c["consumer_key"]!, method: OAuth1SignatureMethod(rawValue: c["signature_method"]!)!,
                credential: Self.credential(c, key: key), token: c["token"])
            let ours = try signer.sign(Self.request(c), timestamp: Int(c["timestamp"]!)!, nonce: c["nonce"]!)
            let ourBase = OAuth1Request.baseString(
                method: c["method"]!, uri: try Self.request(c).baseStringURI(),
                parameters: try Self.request(c).parameters().all + ours)
            #expect(ourBase == their["base_string"], "base string differs for \(c["url"]!)")
            let theirParams = try OAuth1AuthorizationHeader.parse(their["authorization"]!).parameters
            #expect(
                ours.first { $0.0 == "oauth_signature" }?.1 == theirParams.first { $0.0 == "oauth_signature" }?.1,
                "signature differs for \(c["signature_method"]!) \(c["url"]!)")
            // What oauthlib signed, our provider verifies.
            let verified = try await OAuth1Verifier().verify(
                Self.request(c, authorization: their["authorization"]!),
                now: Date(timeIntervalSince1970: Double(c["timestamp"]!)!),
                credential: { _, _, _ in Self.credential(c, key: key) },
                nonceIsFresh: { _, _, _, _ in true })
            #expect(verified.consumerKey == c["consumer_key"] && verified.token == c["token"])
        }
    }
}
