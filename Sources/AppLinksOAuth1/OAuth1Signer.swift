import AppLinksCrypto
import Foundation

/// Signs requests as an OAuth 1.0a consumer.
///
/// ```swift
/// let signer = OAuth1Signer(consumerKey: "applinks:1234", method: .rsaSHA1, credential: .rsa(instanceKey), token: accessToken)
/// let header = try signer.authorizationHeader(for: OAuth1Request(method: "GET", url: "https://jira.example.com/rest/api/2/myself"))
/// ```
public struct OAuth1Signer: Sendable {
    public var consumerKey: String
    public var method: OAuth1SignatureMethod
    public var credential: OAuth1Credential
    public var token: String?
    public var realm: String?
    /// Whether to send `oauth_version=1.0` (optional in RFC 5849; oauthlib sends it).
    public var sendVersion: Bool

    public init(
        consumerKey: String, method: OAuth1SignatureMethod, credential: OAuth1Credential, token: String? = nil, realm: String? = nil,
        sendVersion: Bool = true
    ) {
        self.consumerKey = consumerKey
        self.method = method
        self.credential = credential
        self.token = token
        self.realm = realm
        self.sendVersion = sendVersion
    }

    /// The protocol parameters (including `oauth_signature`) for `request`. `extra` adds parameters such as
    /// `oauth_callback`, `oauth_verifier` or `xoauth_requestor_id`; an `xoauth_…` one must also be in the URL
    /// query, where the provider will look for it.
    public func sign(
        _ request: OAuth1Request, extra: [(String, String)] = [], timestamp: Int = Int(Date().timeIntervalSince1970),
        nonce: String = SecureRandom.token(bits: 128)
    ) throws -> [(String, String)] {
        var oauth: [(String, String)] = [
            ("oauth_consumer_key", consumerKey), ("oauth_signature_method", method.rawValue),
            ("oauth_timestamp", String(timestamp)), ("oauth_nonce", nonce),
        ]
        if let token { oauth.append(("oauth_token", token)) }
        if sendVersion { oauth.append(("oauth_version", "1.0")) }
        oauth += extra.filter { $0.0.hasPrefix("oauth_") }
        if !request.body.isEmpty && !request.hasFormBody { oauth.append(("oauth_body_hash", request.bodyHash)) }
        var all = OAuth1Encoding.pairs(request.query)
        if request.hasFormBody { all += OAuth1Encoding.pairs(String(decoding: request.body, as: UTF8.self)) }
        let base = OAuth1Request.baseString(method: request.method, uri: try request.baseStringURI(), parameters: all + oauth)
        oauth.append(("oauth_signature", try signature(base)))
        return oauth
    }

    /// The signature of a base string: from ``credential``, or from ``externalSigner`` when the private key
    /// lives elsewhere (a plugin signs with the instance key through the host).
    private func signature(_ base: String) throws -> String {
        if let externalSigner { return try externalSigner(Data(base.utf8)).base64EncodedString() }
        return try method.sign(baseString: base, with: credential)
    }

    /// Signs RSA-SHA1 or RSA-SHA256 bases with a key this process cannot read, such as the host's instance key.
    public var externalSigner: (@Sendable (Data) throws -> Data)?

    public func authorizationHeader(
        for request: OAuth1Request, extra: [(String, String)] = [], timestamp: Int = Int(Date().timeIntervalSince1970),
        nonce: String = SecureRandom.token(bits: 128)
    ) throws -> String {
        OAuth1AuthorizationHeader.serialize(realm: realm, parameters: try sign(request, extra: extra, timestamp: timestamp, nonce: nonce))
    }
}
