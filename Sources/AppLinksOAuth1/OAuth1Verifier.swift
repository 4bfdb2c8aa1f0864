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
    public var acceptedMethods: Set<OAuth1SignatureMethod> {
        get { Set(OAuth1SignatureMethod.allCases.filter(accepts)) }
        set { acceptedMask = newValue.reduce(0) { $0 | $1.bit } }
    }
    /// The accepted methods as bits, so the check on every request hashes nothing.
    private var acceptedMask: UInt8 = 0

    public init(timestampWindow: TimeInterval = 300, acceptedMethods: Set<OAuth1SignatureMethod> = Set(OAuth1SignatureMethod.allCases)) {
        self.timestampWindow = timestampWindow
        self.acceptedMethods = acceptedMethods
    }

    public func accepts(_ method: OAuth1SignatureMethod) -> Bool { acceptedMask & method.bit != 0 }

    /// What a verified request carried.
    public struct Verified: Sendable {
        public var consumerKey: String
        public var token: String?
        public var method: OAuth1SignatureMethod
        /// The `oauth_*` parameters, each once, in the order they came.
        public var oauthParameters: [(String, String)]

        public func parameter(_ name: String) -> String? { oauthParameters.first { $0.0 == name }?.1 }
    }

    /// Verifies `request`. `credential` returns what checks the signature for a consumer key and token (nil:
    /// the consumer is unknown); it throws `token_rejected` or `token_expired` itself for a bad token.
    /// `nonceIsFresh` records the nonce and returns false if the consumer, token and timestamp used it before.
    ///
    /// It runs on the caller's executor (`nonisolated(nonsending)`): verification is a few microseconds of
    /// computation, and hopping to the global executor and back would cost several times that.
    public nonisolated(nonsending) func verify(
        _ request: OAuth1Request, now: Date = Date(),
        credential:
            nonisolated(nonsending) (_ consumerKey: String, _ token: String?, _ method: OAuth1SignatureMethod) async throws
            -> OAuth1Credential?,
        nonceIsFresh:
            nonisolated(nonsending) (_ consumerKey: String, _ token: String?, _ timestamp: String, _ nonce: String) async throws
            -> Bool
    ) async throws -> Verified {
        let (uri, all) = try request.signingInput()
        // A handful of parameters: linear scans beat hashing them into a dictionary. The protocol's own are
        // picked out in the same pass, so finding each costs nothing more.
        var oauth: [(String, String)] = []
        oauth.reserveCapacity(8)
        var fields = Fields()
        for (k, v) in all where OAuth1Encoding.hasOAuthPrefix(k) {
            let duplicate: Bool
            if let field = Fields.index(of: k) {
                duplicate = fields.values[field] != nil
                fields.values[field] = v
            } else {
                duplicate = oauth.contains { $0.0 == k }
            }
            if duplicate { throw OAuth1Problem(.parameterRejected, "\(k) is given twice") }
            oauth.append((k, v))
        }
        func value(_ name: String) -> String? { Fields.index(of: name).flatMap { fields.values[$0] } }
        if let version = value("oauth_version"), version != "1.0" {
            throw OAuth1Problem(.versionRejected, "oauth_version must be 1.0, not \(version)")
        }
        guard let consumerKey = value("oauth_consumer_key") else { throw OAuth1Problem(.parameterAbsent, "oauth_consumer_key is missing") }
        guard let methodName = value("oauth_signature_method") else {
            throw OAuth1Problem(.parameterAbsent, "oauth_signature_method is missing")
        }
        guard let signature = value("oauth_signature") else { throw OAuth1Problem(.parameterAbsent, "oauth_signature is missing") }
        guard let method = OAuth1SignatureMethod(rawValue: methodName), accepts(method) else {
            throw OAuth1Problem(
                .signatureMethodRejected,
                "\(methodName) is not accepted here; use " + acceptedMethods.map(\.rawValue).sorted().joined(separator: ", "))
        }
        let token = value("oauth_token")
        let timestamp = value("oauth_timestamp"), nonce = value("oauth_nonce")
        // PLAINTEXT may omit timestamp and nonce (§3.4.4), but when a client sends them they are checked too.
        let replayChecked = method != .plaintext || (timestamp != nil && nonce != nil)
        if replayChecked {
            guard let ts = timestamp, nonce != nil else {
                throw OAuth1Problem(.parameterAbsent, "oauth_timestamp and oauth_nonce are required with \(method.rawValue)")
            }
            guard let seconds = TimeInterval(ts), abs(seconds - now.timeIntervalSince1970) <= timestampWindow else {
                throw OAuth1Problem(
                    .timestampRefused,
                    "the timestamp \(ts) is more than \(Int(timestampWindow)) seconds from this server's "
                        + "clock (\(Int(now.timeIntervalSince1970))); synchronise the clocks")
            }
        }
        guard let cred = try await credential(consumerKey, token, method) else {
            throw OAuth1Problem(.consumerKeyUnknown, "no consumer with key \(consumerKey) is registered here")
        }
        let base = OAuth1Request.baseStringBytes(method: request.method, uri: uri, parameters: all)
        guard method.verify(baseString: base, signature: signature, with: cred) else {
            throw OAuth1Problem(
                .signatureInvalid,
                "the signature does not match; check the secret or key, and that the URL signed is " + uri)
        }
        if let bodyHash = value("oauth_body_hash"), !request.hasFormBody,
            !ConstantTime.equals(Data(bodyHash.utf8), Data(request.bodyHash.utf8))
        {
            throw OAuth1Problem(.signatureInvalid, "oauth_body_hash does not match the body")
        }
        // The nonce is recorded only for a request that verified, so forgeries cannot burn nonces.
        if let timestamp, let nonce, replayChecked, try await !nonceIsFresh(consumerKey, token, timestamp, nonce) {
            throw OAuth1Problem(.nonceUsed, "this nonce was already used with this timestamp")
        }
        return Verified(consumerKey: consumerKey, token: token, method: method, oauthParameters: oauth)
    }
}

extension OAuth1Verifier {
    /// The values of the parameters every verification reads, by a fixed index.
    struct Fields {
        var values: [String?] = Array(repeating: nil, count: 8)

        static func index(of name: String) -> Int? {
            var name = name
            return name.withUTF8 { index(of: $0[...]) }
        }

        /// Picks the candidate by length and the byte after `oauth_`, then confirms it with one comparison.
        static func index(of name: Slice<UnsafeBufferPointer<UInt8>>) -> Int? {
            guard name.count > 6 else { return nil }
            let i: Int
            let expected: StaticString
            switch (name.count, name[name.startIndex + 6]) {
            case (18, UInt8(ascii: "c")): (i, expected) = (0, "oauth_consumer_key")
            case (22, UInt8(ascii: "s")): (i, expected) = (1, "oauth_signature_method")
            case (15, UInt8(ascii: "s")): (i, expected) = (2, "oauth_signature")
            case (11, UInt8(ascii: "t")): (i, expected) = (3, "oauth_token")
            case (15, UInt8(ascii: "t")): (i, expected) = (4, "oauth_timestamp")
            case (11, UInt8(ascii: "n")): (i, expected) = (5, "oauth_nonce")
            case (13, UInt8(ascii: "v")): (i, expected) = (6, "oauth_version")
            case (15, UInt8(ascii: "b")): (i, expected) = (7, "oauth_body_hash")
            default: return nil
            }
            return memcmp(expected.utf8Start, name.base.baseAddress! + name.startIndex, name.count) == 0 ? i : nil
        }

        static let names = [
            "oauth_consumer_key", "oauth_signature_method", "oauth_signature", "oauth_token", "oauth_timestamp", "oauth_nonce",
            "oauth_version", "oauth_body_hash",
        ]
    }
}

extension OAuth1SignatureMethod {
    var bit: UInt8 {
        switch self {
        case .hmacSHA1: 1
        case .hmacSHA256: 2
        case .rsaSHA1: 4
        case .rsaSHA256: 8
        case .plaintext: 16
        }
    }
}
