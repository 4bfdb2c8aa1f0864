import AppLinksCore
import AppLinksCrypto
import Foundation

/// The consumer's side of the three legs and of signed resource requests. HTTP goes through `transport`, so
/// a link type passes the host's HTTP service and tests can pass a provider directly.
///
/// ```swift
/// let client = OAuth1Client(consumerKey: instanceID, method: .rsaSHA1, credential: .rsa(instanceKey), transport: send)
/// let temporary = try await client.requestToken(url: remote + "/plugins/servlet/oauth/request-token", callback: callbackURL)
/// ```
public struct OAuth1Client: Sendable {
    public typealias Transport = @Sendable (OAuth1Request) async throws -> (status: Int, body: Data)

    public var consumerKey: String
    public var method: OAuth1SignatureMethod
    /// For HMAC and PLAINTEXT, the consumer secret (the token secret is added per request); for RSA, the key.
    public var credential: OAuth1Credential
    public var transport: Transport
    /// Signs with a key this process cannot read, such as the host's instance key (see ``OAuth1Signer``).
    public var externalSigner: (@Sendable (Data) throws -> Data)?
    /// Seconds added to this machine's clock for `oauth_timestamp`, when the host keeps its own time.
    public var clockOffset: TimeInterval = 0

    public init(consumerKey: String, method: OAuth1SignatureMethod, credential: OAuth1Credential, transport: @escaping Transport) {
        self.consumerKey = consumerKey
        self.method = method
        self.credential = credential
        self.transport = transport
    }

    public struct Token: Sendable, Hashable {
        public var token: String
        public var secret: String
        public var sessionHandle: String?
        public var expiresIn: Int?
        public var authorizationExpiresIn: Int?

        public init(token: String, secret: String, sessionHandle: String? = nil, expiresIn: Int? = nil, authorizationExpiresIn: Int? = nil)
        {
            self.token = token
            self.secret = secret
            self.sessionHandle = sessionHandle
            self.expiresIn = expiresIn
            self.authorizationExpiresIn = authorizationExpiresIn
        }
    }

    func signer(token: String?, tokenSecret: String?) -> OAuth1Signer {
        let cred: OAuth1Credential
        switch credential {
        case .secrets(let consumer, _): cred = .secrets(consumer: consumer, token: tokenSecret)
        case .rsa: cred = credential
        }
        var signer = OAuth1Signer(consumerKey: consumerKey, method: method, credential: cred, token: token)
        signer.externalSigner = externalSigner
        return signer
    }

    /// Signs `request` (3-legged with `token`, 2-legged without, impersonating with `requestor`).
    public func sign(
        _ request: OAuth1Request, token: Token? = nil, requestor: String? = nil, extra: [(String, String)] = []
    ) throws -> OAuth1Request {
        var request = request
        if let requestor {
            if var c = URLComponents(string: request.url) {
                let items = c.queryItems ?? []
                c.queryItems = items + [URLQueryItem(name: "xoauth_requestor_id", value: requestor)]
                request.url = c.string ?? request.url
            }
        }
        let header = try signer(token: token?.token, tokenSecret: token?.secret).authorizationHeader(
            for: request, extra: extra, timestamp: Int(Date().timeIntervalSince1970 + clockOffset))
        request.headers.removeAll { HTTPHeaderName.same($0.0, "Authorization") }
        request.headers.append(("Authorization", header))
        return request
    }

    private func exchange(_ url: String, token: Token?, extra: [(String, String)]) async throws -> [String: String] {
        let signed = try sign(OAuth1Request(method: "POST", url: url), token: token, extra: extra)
        let (status, body) = try await transport(signed)
        let fields = Dictionary(OAuth1Encoding.pairs(String(decoding: body, as: UTF8.self)), uniquingKeysWith: { first, _ in first })
        guard status == 200 else {
            if let code = fields["oauth_problem"].flatMap(OAuth1Problem.Code.init(rawValue:)) {
                throw OAuth1Problem(code, fields["oauth_problem_advice"] ?? "the provider refused the request (\(status))")
            }
            throw OAuth1Problem(.permissionDenied, "the provider answered HTTP \(status) at \(url)")
        }
        return fields
    }

    private static func token(_ f: [String: String]) throws -> Token {
        guard let t = f["oauth_token"], let s = f["oauth_token_secret"] else {
            throw OAuth1Problem(.parameterAbsent, "the provider's answer has no oauth_token and oauth_token_secret")
        }
        return Token(
            token: t, secret: s, sessionHandle: f["oauth_session_handle"], expiresIn: f["oauth_expires_in"].flatMap { Int($0) },
            authorizationExpiresIn: f["oauth_authorization_expires_in"].flatMap { Int($0) })
    }

    /// Leg 1. `callback` is where the provider sends the user back, or "oob".
    public func requestToken(url: String, callback: String) async throws -> Token {
        let f = try await exchange(url, token: nil, extra: [("oauth_callback", callback)])
        guard f["oauth_callback_confirmed"] == "true" else {
            throw OAuth1Problem(
                .parameterRejected, "the provider did not confirm the callback (OAuth 1.0a requires oauth_callback_confirmed=true)")
        }
        return try Self.token(f)
    }

    /// Leg 2: where to send the user's browser.
    public func authorizeURL(_ url: String, token: Token) -> String {
        guard var c = URLComponents(string: url) else { return url }
        let items = c.queryItems ?? []
        c.queryItems = items + [URLQueryItem(name: "oauth_token", value: token.token)]
        return c.string ?? url
    }

    /// Leg 3.
    public func accessToken(url: String, requestToken: Token, verifier: String) async throws -> Token {
        try Self.token(try await exchange(url, token: requestToken, extra: [("oauth_verifier", verifier)]))
    }

    /// Renews an expired access token with its session handle (Atlassian's session extension).
    public func renew(url: String, accessToken: Token) async throws -> Token {
        guard let handle = accessToken.sessionHandle else {
            throw OAuth1Problem(.parameterAbsent, "this access token has no session handle to renew it with; authorize again")
        }
        return try Self.token(try await exchange(url, token: accessToken, extra: [("oauth_session_handle", handle)]))
    }
}
