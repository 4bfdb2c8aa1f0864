import AppLinksOAuth1
import Foundation
import PropertyBased
import Testing

/// Properties over generated input: serialising then parsing gives back what went in, and no change to a
/// signed request survives verification.
@Suite("OAuth 1.0a properties")
struct OAuth1PropertyTests {
    /// Characters that stress encoding: reserved, '+', '%', quotes, spaces, newlines, non-ASCII and emoji.
    static let tricky = Gen<Character?>.element(of: Array("aZ09-._~ !*'();:@&=+$,/?#[]%\"\\\n\r\r\néß\t😀") + ["\u{301}"]).map { $0 ?? "a" }
    static let text = tricky.string(of: 0...12)
    static let name = tricky.string(of: 1...8)
    static let pairs = zip(name, text).array(of: 0...6)
    static let somePairs = zip(name, text).array(of: 1...5)

    @Test("parse(serialize(header)) == header")
    func headerRoundTrip() async {
        await propertyCheck(count: 300, input: Self.pairs, Self.text) { params, realm in
            let header = OAuth1AuthorizationHeader.serialize(realm: realm, parameters: params)
            let parsed = try? OAuth1AuthorizationHeader.parse(header)
            #expect(parsed?.parameters.map(\.0) == params.map(\.0))
            #expect(parsed?.parameters.map(\.1) == params.map(\.1))
            #expect(parsed?.realm == String(String.UnicodeScalarView(realm.unicodeScalars.filter { $0 != "\r" && $0 != "\n" })))
            #expect(!header.contains("\n") && !header.contains("\r"))
        }
    }

    @Test("a realm with a backslash or quote before a combining mark survives; so does the realm of a 401's header")
    func realmWithCombiningMarks() throws {
        // The fuzzer's find: `\` and U+07A6 are one Character, so a Character search left the backslash unescaped.
        for realm in ["a0bc\\\u{7A6}c\\", "x\"\u{301}, oauth_token=\"forged", "\\\u{301}\"\u{301}"] {
            let header = OAuth1AuthorizationHeader.serialize(realm: realm, parameters: [("oauth_token", "t")])
            let parsed = try OAuth1AuthorizationHeader.parse(header)
            #expect(parsed.realm == realm, "\(header.debugDescription)")
            #expect(parsed.parameters.map(\.0) == ["oauth_token"] && parsed.parameters.map(\.1) == ["t"], "\(header.debugDescription)")
            let challenge = OAuth1Problem(.tokenRejected, "x").wwwAuthenticate(realm: realm)
            #expect(challenge.utf8.filter { $0 == UInt8(ascii: "\"") }.count == 4, "\(challenge.debugDescription)")
        }
    }

    @Test("parameters survive a query string, duplicates and order included")
    func parameterRoundTrip() async {
        await propertyCheck(count: 300, input: Self.pairs) { params in
            let query = params.map { OAuth1Encoding.encode($0.0) + "=" + OAuth1Encoding.encode($0.1) }.joined(separator: "&")
            let parsed = OAuth1Encoding.pairs(query)
            #expect(parsed.map(\.0) == params.map(\.0) && parsed.map(\.1) == params.map(\.1))
        }
    }

    @Test("a signature never verifies after any parameter changes")
    func tamperingIsDetected() async throws {
        await propertyCheck(count: 200, input: Self.somePairs, Gen.int(in: 0...100), Self.text) { params, pick, extra in
            let query = params.map { OAuth1Encoding.encode($0.0) + "=" + OAuth1Encoding.encode($0.1) }.joined(separator: "&")
            let url = "https://applinks.example.com/api?" + query
            let signer = OAuth1Signer(
                consumerKey: "ck", method: .hmacSHA256, credential: .secrets(consumer: "cs", token: "ts"), token: "tok")
            guard let signed = try? signer.sign(OAuth1Request(method: "POST", url: url), timestamp: 1_800_000_000, nonce: "n") else {
                Issue.record("signing failed")
                return
            }
            var all = OAuth1Encoding.pairs(query) + signed
            let signature = signed.first { $0.0 == "oauth_signature" }!.1
            let base = { (p: [(String, String)]) in
                OAuth1Request.baseString(method: "POST", uri: "https://applinks.example.com/api", parameters: p)
            }
            #expect(
                OAuth1SignatureMethod.hmacSHA256.verify(
                    baseString: base(all), signature: signature, with: .secrets(consumer: "cs", token: "ts")))
            // Change one parameter's value (never oauth_signature itself), by appending at least one character.
            let candidates = all.indices.filter { all[$0].0 != "oauth_signature" }
            let i = candidates[pick % candidates.count]
            all[i].1 += extra.isEmpty ? "x" : extra
            #expect(
                !OAuth1SignatureMethod.hmacSHA256.verify(
                    baseString: base(all), signature: signature, with: .secrets(consumer: "cs", token: "ts")),
                "changing \(all[i].0) went unnoticed")
        }
    }
}
