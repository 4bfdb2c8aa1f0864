import AppLinksCrypto
import AppLinksOAuth1
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TestSupport
import Testing

/// Our consumer against a provider built on python oauthlib's RequestValidator (oauthlib_provider.py), over HTTP.
@Suite("OAuth 1.0a interop: our consumer against an oauthlib provider", .serialized)
struct OAuth1ConsumerInteropTests {
    static let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .init(redirectConfiguration: .disallow))

    static let transport: OAuth1Client.Transport = { request in
        var r = HTTPClientRequest(url: request.url)
        r.method = HTTPMethod(rawValue: request.method)
        for (k, v) in request.headers { r.headers.add(name: k, value: v) }
        if !request.body.isEmpty { r.body = .bytes(ByteBuffer(bytes: request.body)) }
        let response = try await http.execute(r, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), Data(body.readableBytesView))
    }

    @Test("three legs, then a signed resource request, with every signature method", arguments: OAuth1SignatureMethod.allCases)
    func threeLegs(method: OAuth1SignatureMethod) async throws {
        let dir = TemporaryDirectory("oauthlib-provider")
        let key = try RSAKey.generate(bits: 2048)
        let consumers = ["applinks-consumer": ["secret": "s3cret & more", "rsa_public": try key.publicKeyPEM()]]
        try JSONSerialization.data(withJSONObject: consumers).write(to: dir.path("consumers.json"))
        let provider = Process()
        provider.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        provider.arguments = [
            "python3", URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("oauthlib_provider.py").path,
            dir.path("consumers.json").path,
        ]
        let out = Pipe()
        provider.standardOutput = out
        provider.standardError = FileHandle.nullDevice
        try provider.run()
        defer { provider.terminate() }
        let port = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let base = "http://127.0.0.1:\(port)"
        #expect(Int(port) != nil, "the oauthlib provider did not start")

        let client = OAuth1Client(
            consumerKey: "applinks-consumer", method: method,
            credential: method.isRSA ? .rsa(key) : .secrets(consumer: "s3cret & more", token: nil), transport: Self.transport)
        let temporary = try await client.requestToken(url: base + "/request-token", callback: "https://applinks.example.com/callback")
        // The user approves (the stand-in provider approves for bob at once) and is sent back with a verifier.
        let approved = try await Self.http.execute(
            HTTPClientRequest(url: client.authorizeURL(base + "/authorize", token: temporary)),
            timeout: .seconds(10))
        #expect(approved.status == .found)
        let location = approved.headers["Location"].first ?? ""
        let verifier = try #require(URLComponents(string: location)?.queryItems?.first { $0.name == "oauth_verifier" }?.value)
        let access = try await client.accessToken(url: base + "/access-token", requestToken: temporary, verifier: verifier)
        let signed = try client.sign(OAuth1Request(method: "GET", url: base + "/resource?q=a%20b&r=%2B"), token: access)
        let (code, body) = try await Self.transport(signed)
        #expect(code == 200 && String(decoding: body, as: UTF8.self) == "hello bob")
        // The same request again reuses its nonce, and oauthlib refuses it.
        #expect(try await Self.transport(signed).status == 401)
    }
}
