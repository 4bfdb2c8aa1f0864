import AppLinksCrypto
import Foundation

/// Checks a signed request as an OAuth 1.0a provider: parameters, version, method, timestamp window, nonce,
/// and signature, in that order, each failure with its `oauth_problem`.
///
/// ```swift
/// let verified = try await OAuth1Verifier().verify(request, credential: { key, token in … }, nonceIsFresh: { … })
/// ```
public struct OAuth1Verifier: Sendable {
    public var timestampWindow: TimeInterval
    public var acceptedMethods: Set<OAuth1SignatureMethod>

    public init(timestampWindow: TimeInterval = 300, acceptedMethods: Set<OAuth1SignatureMethod> = Set(OAuth1SignatureMethod.allCases)) {
        self.timestampWindow = timestampWindow
        self.acceptedMethods = acceptedMethods
    }

    /// What a verified request carried.
    public struct Verified: Sendable {
        public var consumerKey: String
        public var token: String?
        public var method: OAuth1SignatureMethod
        public var parameters: [String: String]
    }

    /// Verifies `request`. `credential` returns what checks the signature for a consumer key and token (nil:
    /// the consumer is unknown); it throws `token_rejected` or `token_expired` itself for a bad token.
    /// `nonceIsFresh` records the nonce and returns false if the consumer, token and timestamp used it before.
    public func verify(
        _ request: OAuth1Request, now: Date = Date(),
        credential: (_ consumerKey: String, _ token: String?, _ method: OAuth1SignatureMethod) async throws -> OAuth1Credential?,
        nonceIsFresh: (_ consumerKey: String, _ token: String?, _ timestamp: String, _ nonce: String) async throws -> Bool
    ) async throws -> Verified {
        let (all, _) = try request.parameters()
        var oauth: [String: String] = [:]
        for (k, v) in all where k.hasPrefix("oauth_") {
            if oauth[k] != nil { throw OAuth1Problem(.parameterRejected, "\(k) is given twice") }
            oauth[k] = v
        }
        if let version = oauth["oauth_version"], version != "1.0" {
            throw OAuth1Problem(.versionRejected, "oauth_version must be 1.0, not \(version)")
        }
        for required in ["oauth_consumer_key", "oauth_signature_method", "oauth_signature"] where oauth[required] == nil {
            throw OAuth1Problem(.parameterAbsent, "\(required) is missing")
        }
        guard let method = OAuth1SignatureMethod(rawValue: oauth["oauth_signature_method"]!), acceptedMethods.contains(method) else {
            throw OAuth1Problem(
                .signatureMethodRejected,
                "\(oauth["oauth_signature_method"]!) is not accepted here; use "
                    + acceptedMethods.map(\.rawValue).sorted().joined(separator: ", "))
        }
        let consumerKey = oauth["oauth_consumer_key"]!
        let token = oauth["oauth_token"]
        // PLAINTEXT may omit timestamp and nonce (§3.4.4), but when a client sends them they are checked too.
        let replayChecked = method != .plaintext || (oauth["oauth_timestamp"] != nil && oauth["oauth_nonce"] != nil)
        if replayChecked {
            guard let ts = oauth["oauth_timestamp"], let nonce = oauth["oauth_nonce"] else {
                throw OAuth1Problem(.parameterAbsent, "oauth_timestamp and oauth_nonce are required with \(method.rawValue)")
            }
            guard let seconds = TimeInterval(ts), abs(seconds - now.timeIntervalSince1970) <= timestampWindow else {
                throw OAuth1Problem(
                    .timestampRefused,
                    "the timestamp \(ts) is more than \(Int(timestampWindow)) seconds from this server's "
                        + "clock (\(Int(now.timeIntervalSince1970))); synchronise the clocks")
            }
            _ = nonce
        }
        guard let cred = try await credential(consumerKey, token, method) else {
            throw OAuth1Problem(.consumerKeyUnknown, "no consumer with key \(consumerKey) is registered here")
        }
        let base = OAuth1Request.baseString(method: request.method, uri: try request.baseStringURI(), parameters: all)
        guard method.verify(baseString: base, signature: oauth["oauth_signature"]!, with: cred) else {
            throw OAuth1Problem(
                .signatureInvalid,
                "the signature does not match; check the secret or key, and that the URL signed is "
                    + (try request.baseStringURI()))
        }
        if let bodyHash = oauth["oauth_body_hash"], !request.hasFormBody,
            !ConstantTime.equals(Data(bodyHash.utf8), Data(request.bodyHash.utf8))
        {
            throw OAuth1Problem(.signatureInvalid, "oauth_body_hash does not match the body")
        }
        // The nonce is recorded only for a request that verified, so forgeries cannot burn nonces.
        if replayChecked, try await !nonceIsFresh(consumerKey, token, oauth["oauth_timestamp"]!, oauth["oauth_nonce"]!) {
            throw OAuth1Problem(.nonceUsed, "this nonce was already used with this timestamp")
        }
        return Verified(consumerKey: consumerKey, token: token, method: method, parameters: oauth)
    }
}
