import AppLinksCrypto
import AppLinksOAuth1
import Foundation
import Testing

/// The provider's state in memory, as tests need it; the host's implementation keeps it in its store.
actor MemoryProviderStore: OAuth1ProviderStore {
    var consumers: [String: OAuth1ConsumerRecord] = [:]
    var requestTokens: [String: OAuth1RequestToken] = [:]
    var accessTokens: [String: OAuth1AccessToken] = [:]
    var nonces = Set<String>()

    func add(_ c: OAuth1ConsumerRecord) { consumers[c.key] = c }
    func expire(_ token: String) { accessTokens[token]?.expiresAt = .distantPast }

    func consumer(key: String) -> OAuth1ConsumerRecord? { consumers[key] }
    func saveRequestToken(_ token: OAuth1RequestToken) { requestTokens[token.token] = token }
    func requestToken(_ token: String) -> OAuth1RequestToken? { requestTokens[token] }
    func takeRequestToken(_ token: String) -> OAuth1RequestToken? {
        guard var t = requestTokens[token], !t.used else { return nil }
        t.used = true
        requestTokens[token] = t
        return t
    }
    func saveAccessToken(_ token: OAuth1AccessToken) { accessTokens[token.token] = token }
    func accessToken(_ token: String) -> OAuth1AccessToken? { accessTokens[token] }
    func deleteAccessToken(_ token: String) { accessTokens[token] = nil }
    func nonceIsFresh(consumerKey: String, token: String?, timestamp: String, nonce: String) -> Bool {
        nonces.insert("\(consumerKey)|\(token ?? "")|\(timestamp)|\(nonce)").inserted
    }
}

@Suite("OAuth 1.0a three legs, in process")
struct OAuth1FlowTests {
    static let base = "https://provider.example.com/plugins/servlet/oauth"

    /// A consumer and a provider wired together through the client's transport.
    static func pair(
        method: OAuth1SignatureMethod, impersonation: Bool = false
    ) async throws -> (OAuth1Client, OAuth1Provider, MemoryProviderStore) {
        let store = MemoryProviderStore()
        let key = try RSAKey.generate(bits: 2048)
        await store.add(
            OAuth1ConsumerRecord(
                key: "consumer", name: "Consumer app", publicKeyPEM: method.isRSA ? try key.publicKeyPEM() : nil,
                secret: method.isRSA ? nil : "shared-secret", allowImpersonation: impersonation))
        let provider = OAuth1Provider(store: store, realm: "https://provider.example.com")
        let client = OAuth1Client(
            consumerKey: "consumer", method: method,
            credential: method.isRSA ? .rsa(key) : .secrets(consumer: "shared-secret", token: nil)
        ) { request in
            let path = URL(string: request.url)!.path
            let r = path.hasSuffix("request-token") ? await provider.requestToken(request) : await provider.accessToken(request)
            return (r.status, Data(r.body.utf8))
        }
        return (client, provider, store)
    }

    static func problem(_ body: () async throws -> Void) async -> OAuth1Problem.Code? {
        do { try await body(); return nil } catch let p as OAuth1Problem { return p.code } catch { return nil }
    }

    @Test(
        "request token, consent, access token, then signed requests, with every signature method", arguments: OAuth1SignatureMethod.allCases
    )
    func threeLegs(method: OAuth1SignatureMethod) async throws {
        let (client, provider, _) = try await Self.pair(method: method)
        let temporary = try await client.requestToken(
            url: Self.base + "/request-token", callback: "https://consumer.example.com/callback?x=1")
        #expect(client.authorizeURL(Self.base + "/authorize", token: temporary) == Self.base + "/authorize?oauth_token=\(temporary.token)")
        let (pending, consumer) = try await provider.pendingAuthorization(token: temporary.token)
        #expect(pending.callback == "https://consumer.example.com/callback?x=1" && consumer.name == "Consumer app")
        let (redirect, verifier) = try await provider.decide(token: temporary.token, user: "alice", allow: true)
        let v = try #require(verifier)
        #expect(redirect == "https://consumer.example.com/callback?x=1&oauth_token=\(temporary.token)&oauth_verifier=\(v)")
        let access = try await client.accessToken(url: Self.base + "/access-token", requestToken: temporary, verifier: v)
        #expect(access.sessionHandle != nil && (access.expiresIn ?? 0) > 0 && (access.authorizationExpiresIn ?? 0) > 0)
        let signed = try client.sign(
            OAuth1Request(method: "GET", url: "https://provider.example.com/rest/api/2/myself?expand=x"), token: access)
        let caller = try await provider.authenticate(signed)
        #expect(caller.user == "alice" && !caller.twoLegged && caller.consumer.key == "consumer")
        // Replaying the very same signed request is refused.
        #expect(await Self.problem { _ = try await provider.authenticate(signed) } == .nonceUsed)
        // The request token is single use.
        #expect(
            await Self.problem { _ = try await client.accessToken(url: Self.base + "/access-token", requestToken: temporary, verifier: v) }
                == .tokenUsed)
    }

    @Test("a denied consent sends permission_denied back, and the token cannot be exchanged")
    func denied() async throws {
        let (client, provider, _) = try await Self.pair(method: .hmacSHA1)
        let temporary = try await client.requestToken(url: Self.base + "/request-token", callback: "https://consumer.example.com/cb")
        let (redirect, verifier) = try await provider.decide(token: temporary.token, user: "alice", allow: false)
        #expect(
            redirect == "https://consumer.example.com/cb?oauth_token=\(temporary.token)&oauth_problem=permission_denied" && verifier == nil)
        #expect(
            await Self.problem {
                _ = try await client.accessToken(url: Self.base + "/access-token", requestToken: temporary, verifier: "guess")
            } == .tokenUsed)
        #expect(await Self.problem { _ = try await provider.decide(token: temporary.token, user: "alice", allow: true) } == .tokenRejected)
    }

    @Test("a wrong verifier, an unauthorized token, and an unknown consumer are refused with their problems")
    func refusals() async throws {
        let (client, provider, _) = try await Self.pair(method: .hmacSHA1)
        let t = try await client.requestToken(url: Self.base + "/request-token", callback: "oob")
        #expect(
            await Self.problem { _ = try await client.accessToken(url: Self.base + "/access-token", requestToken: t, verifier: "x") }
                == .permissionDenied)
        let (redirect, verifier) = try await provider.decide(token: t.token, user: "bob", allow: true)
        #expect(redirect == nil && verifier != nil, "an oob callback shows the verifier instead of redirecting")
        #expect(
            await Self.problem { _ = try await client.accessToken(url: Self.base + "/access-token", requestToken: t, verifier: "wrong") }
                == .parameterRejected)
        var stranger = client
        stranger.consumerKey = "stranger"
        #expect(
            await Self.problem { _ = try await stranger.requestToken(url: Self.base + "/request-token", callback: "oob") }
                == .consumerKeyUnknown)
        #expect(
            await Self.problem { _ = try await client.requestToken(url: Self.base + "/request-token", callback: "javascript:alert(1)") }
                == .parameterRejected)
    }

    @Test("an expired access token is refused, renewed with its session handle, and the old one dies")
    func sessionRenewal() async throws {
        let (client, provider, store) = try await Self.pair(method: .rsaSHA1)
        let t = try await client.requestToken(url: Self.base + "/request-token", callback: "oob")
        let v = try await provider.decide(token: t.token, user: "carol", allow: true).verifier!
        let access = try await client.accessToken(url: Self.base + "/access-token", requestToken: t, verifier: v)
        await store.expire(access.token)
        let request = OAuth1Request(method: "GET", url: "https://provider.example.com/rest/thing")
        #expect(await Self.problem { _ = try await provider.authenticate(try client.sign(request, token: access)) } == .tokenExpired)
        let renewed = try await client.renew(url: Self.base + "/access-token", accessToken: access)
        #expect(renewed.token != access.token && renewed.sessionHandle == access.sessionHandle)
        #expect(try await provider.authenticate(try client.sign(request, token: renewed)).user == "carol")
        #expect(await Self.problem { _ = try await provider.authenticate(try client.sign(request, token: access)) } == .tokenRejected)
    }

    @Test("2-legged requests: no user; impersonation only for consumers allowed it")
    func twoLegged() async throws {
        let (client, provider, _) = try await Self.pair(method: .rsaSHA1)
        let request = OAuth1Request(method: "GET", url: "https://provider.example.com/rest/applinks/3.0/status/abc")
        let anonymous = try await provider.authenticate(try client.sign(request))
        #expect(anonymous.user == nil && anonymous.twoLegged)
        #expect(
            await Self.problem { _ = try await provider.authenticate(try client.sign(request, requestor: "dave")) } == .permissionDenied)
        let (trusted, trustingProvider, _) = try await Self.pair(method: .rsaSHA1, impersonation: true)
        let acting = try await trustingProvider.authenticate(try trusted.sign(request, requestor: "dave"))
        #expect(acting.user == "dave" && acting.twoLegged)
    }
}
