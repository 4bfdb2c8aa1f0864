import AppLinksCrypto
import AppLinksLocking
import Foundation

/// A registered consumer: how its signatures are checked, and where its user is sent back after authorizing.
public struct OAuth1ConsumerRecord: Sendable, Codable, Hashable {
    public var key: String
    public var name: String
    /// PEM of the RSA public key, for RSA-SHA1/SHA256 consumers.
    public var publicKeyPEM: String?
    /// The shared secret, for HMAC and PLAINTEXT consumers.
    public var secret: String?
    public var callback: String?
    /// Whether this consumer may make 2-legged requests as any user (`xoauth_requestor_id`): safe only when
    /// both sides share one user base.
    public var allowImpersonation: Bool
    /// The user a plain 2-legged request acts as, as in Atlassian's "Execute as" field; nil acts as no user.
    public var executeAs: String?

    public init(
        key: String, name: String, publicKeyPEM: String? = nil, secret: String? = nil, callback: String? = nil,
        allowImpersonation: Bool = false, executeAs: String? = nil
    ) {
        self.key = key
        self.name = name
        self.publicKeyPEM = publicKeyPEM
        self.secret = secret
        self.callback = callback
        self.allowImpersonation = allowImpersonation
        self.executeAs = executeAs
    }
}

/// A request token (temporary credentials), single use.
public struct OAuth1RequestToken: Sendable, Codable, Hashable {
    public var token: String
    public var secret: String
    public var consumerKey: String
    public var callback: String
    public var user: String?
    public var verifier: String?
    public var expiresAt: Date
    /// Set when exchanged or denied; kept until expiry so a replay is told `token_used`.
    public var used: Bool = false
}

/// An access token, bound to one consumer and one user.
public struct OAuth1AccessToken: Sendable, Codable, Hashable {
    public var token: String
    public var secret: String
    public var consumerKey: String
    public var user: String
    public var sessionHandle: String
    public var expiresAt: Date
    public var authorizationExpiresAt: Date
}

/// What the provider keeps. A link type implements it over the host's key-value store, so every node of a
/// cluster shares nonces and tokens.
public protocol OAuth1ProviderStore: Sendable {
    func consumer(key: String) async throws -> OAuth1ConsumerRecord?
    func saveRequestToken(_ token: OAuth1RequestToken) async throws
    func requestToken(_ token: String) async throws -> OAuth1RequestToken?
    /// Marks the request token used and returns it, atomically: only one caller ever gets it; nil if it was
    /// already used or does not exist.
    func takeRequestToken(_ token: String) async throws -> OAuth1RequestToken?
    func saveAccessToken(_ token: OAuth1AccessToken) async throws
    func accessToken(_ token: String) async throws -> OAuth1AccessToken?
    func deleteAccessToken(_ token: String) async throws
    /// Records the nonce; false if this consumer, token and timestamp used it already.
    func nonceIsFresh(consumerKey: String, token: String?, timestamp: String, nonce: String) async throws -> Bool
}

/// The kinds of signed request a consumer may make: Atlassian's incoming authentication levels.
public struct OAuth1Levels: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// 3-legged: the three legs, and resource requests with an access token a user approved.
    public static let threeLegged = OAuth1Levels(rawValue: 1)
    /// 2-legged: resource requests without a token, as the consumer itself.
    public static let twoLegged = OAuth1Levels(rawValue: 2)
    /// 2-legged with impersonation: resource requests as any user named by `xoauth_requestor_id`.
    public static let impersonation = OAuth1Levels(rawValue: 4)
    public static let all: OAuth1Levels = [.threeLegged, .twoLegged, .impersonation]

    var name: String {
        switch self {
        case .threeLegged: "3-legged"
        case .twoLegged: "2-legged"
        case .impersonation: "2-legged with impersonation"
        default: "these"
        }
    }
}

/// What a consumer may do right now, decided from the state of its link at each request, so that disabling a
/// link or narrowing its incoming authentication takes effect on the next request, on every node.
public enum OAuth1Admission: Sendable, Hashable {
    case allowed(OAuth1Levels)
    /// The consumer is refused altogether (`consumer_key_refused`), for the reason given.
    case refused(String)
}

/// A provider's answer: status, headers and a form-encoded body.
public struct OAuth1Response: Sendable, Hashable {
    public var status: Int
    public var headers: [[String]]
    public var body: String
}

/// The three legs of RFC 5849 §2 and the authentication of resource requests, as a component a link type
/// mounts on its routes (`/plugins/servlet/oauth/request-token`, `…/authorize`, `…/access-token`).
///
/// Atlassian's session extension is included: an access token expires (`oauth_expires_in`) but can be renewed
/// with its `oauth_session_handle` until the authorization expires (`oauth_authorization_expires_in`).
public struct OAuth1Provider: Sendable {
    public var store: any OAuth1ProviderStore
    public var verifier: OAuth1Verifier
    public var realm: String
    public var requestTokenLifetime: TimeInterval = 600
    public var accessTokenLifetime: TimeInterval = 5 * 365 * 86_400
    public var authorizationLifetime: TimeInterval = 5 * 365 * 86_400
    /// Decides, at every signed request and on every leg, what the consumer may do. The default admits every
    /// level; a link type passes one that reads the consumer's link.
    public var admission: @Sendable (OAuth1ConsumerRecord) async throws -> OAuth1Admission
    /// Parsed consumer keys by PEM: parsing a PEM costs more than verifying the signature it checks.
    private let publicKeys = PublicKeyCache()
    /// RSA consumer keys shorter than this are refused: NIST has disallowed them for signatures since 2013.
    public static let minimumRSABits = 2048

    public init(
        store: any OAuth1ProviderStore, realm: String, verifier: OAuth1Verifier = OAuth1Verifier(),
        admission: @escaping @Sendable (OAuth1ConsumerRecord) async throws -> OAuth1Admission = { _ in .allowed(.all) }
    ) {
        self.store = store
        self.realm = realm
        self.verifier = verifier
        self.admission = admission
    }

    /// Throws unless `consumer` may make a request of `level` now.
    func admit(_ consumer: OAuth1ConsumerRecord, _ level: OAuth1Levels) async throws {
        switch try await admission(consumer) {
        case .refused(let why):
            throw OAuth1Problem(.consumerKeyRefused, why)
        case .allowed(let levels) where !levels.contains(level):
            throw OAuth1Problem(
                .permissionDenied,
                "\(consumer.name) may not make \(level.name) requests here; an administrator can allow them in the link's incoming authentication"
            )
        case .allowed:
            return
        }
    }

    /// Who made a verified resource request.
    public struct Caller: Sendable, Hashable {
        public var consumer: OAuth1ConsumerRecord
        /// The user: the access token's, the impersonated one (2LOi), or for plain 2LO the consumer's
        /// "execute as" user, if it has one.
        public var user: String?
        public var twoLegged: Bool
    }

    func credential(_ consumer: OAuth1ConsumerRecord, method: OAuth1SignatureMethod, tokenSecret: String?) throws -> OAuth1Credential {
        if method.isRSA {
            guard let pem = consumer.publicKeyPEM, let key = publicKeys.key(pem: pem) else {
                throw OAuth1Problem(.signatureMethodRejected, "consumer \(consumer.key) has no RSA public key; sign with HMAC-SHA1")
            }
            guard key.bits >= Self.minimumRSABits else {
                throw OAuth1Problem(
                    .signatureMethodRejected,
                    "consumer \(consumer.key)'s RSA key has \(key.bits) bits; register a key of at least \(Self.minimumRSABits) bits")
            }
            return .rsa(key)
        }
        guard let secret = consumer.secret else {
            throw OAuth1Problem(
                .signatureMethodRejected, "consumer \(consumer.key) signs with RSA; \(method.rawValue) is not accepted for it")
        }
        return .secrets(consumer: secret, token: tokenSecret)
    }

    private func verified(
        _ request: OAuth1Request, now: Date,
        tokenSecret: @escaping (String?) async throws -> String?
    ) async throws -> (OAuth1Verifier.Verified, OAuth1ConsumerRecord) {
        var found: OAuth1ConsumerRecord?
        let v = try await verifier.verify(
            request, now: now,
            credential: { key, token, method in
                guard let consumer = try await store.consumer(key: key) else { return nil }
                found = consumer
                return try credential(consumer, method: method, tokenSecret: try await tokenSecret(token))
            }, nonceIsFresh: { try await store.nonceIsFresh(consumerKey: $0, token: $1, timestamp: $2, nonce: $3) })
        return (v, found!)
    }

    /// Answers a problem the way the OAuth Problem Reporting extension says: 401, WWW-Authenticate and a form body.
    public func problem(_ p: OAuth1Problem) -> OAuth1Response {
        OAuth1Response(
            status: p.code == .parameterAbsent || p.code == .parameterRejected ? 400 : 401,
            headers: [["WWW-Authenticate", p.wwwAuthenticate(realm: realm)], ["Content-Type", "application/x-www-form-urlencoded"]],
            body: p.body)
    }

    private func form(_ pairs: [(String, String)]) -> OAuth1Response {
        OAuth1Response(
            status: 200, headers: [["Content-Type", "application/x-www-form-urlencoded"]],
            body: pairs.map { OAuth1Encoding.encode($0.0) + "=" + OAuth1Encoding.encode($0.1) }.joined(separator: "&"))
    }

    /// Leg 1: a signed request without a token gets temporary credentials.
    public func requestToken(_ request: OAuth1Request, now: Date = Date()) async -> OAuth1Response {
        do {
            let (v, consumer) = try await verified(request, now: now) { token in
                if token != nil { throw OAuth1Problem(.tokenRejected, "a request-token request carries no token") }
                return nil
            }
            try await admit(consumer, .threeLegged)
            guard let callback = v.parameter("oauth_callback") ?? consumer.callback else {
                throw OAuth1Problem(.parameterAbsent, "oauth_callback is missing (use \"oob\" without a callback)")
            }
            if callback != "oob" {
                guard let u = URL(string: callback), ["http", "https"].contains(u.scheme?.lowercased() ?? "") else {
                    throw OAuth1Problem(.parameterRejected, "oauth_callback must be an http(s) URL or \"oob\"")
                }
            }
            let token = OAuth1RequestToken(
                token: SecureRandom.token(bits: 160), secret: SecureRandom.token(bits: 160), consumerKey: consumer.key,
                callback: callback, expiresAt: now.addingTimeInterval(requestTokenLifetime))
            try await store.saveRequestToken(token)
            return form([("oauth_token", token.token), ("oauth_token_secret", token.secret), ("oauth_callback_confirmed", "true")])
        } catch let p as OAuth1Problem {
            return problem(p)
        } catch {
            return problem(OAuth1Problem(.permissionDenied, "the provider failed: \(error)"))
        }
    }

    /// What the consent page shows, for a request token that is still pending.
    public func pendingAuthorization(token: String, now: Date = Date()) async throws -> (OAuth1RequestToken, OAuth1ConsumerRecord) {
        guard let t = try await store.requestToken(token), t.user == nil, !t.used else {
            throw OAuth1Problem(.tokenRejected, "this authorization request is unknown or was already answered")
        }
        guard t.expiresAt > now else { throw OAuth1Problem(.tokenExpired, "this authorization request has expired; start again") }
        guard let consumer = try await store.consumer(key: t.consumerKey) else {
            throw OAuth1Problem(.consumerKeyUnknown, "the application that asked is no longer registered")
        }
        try await admit(consumer, .threeLegged)
        return (t, consumer)
    }

    /// Leg 2: the user allowed or denied. Returns where to send the browser (nil for an "oob" callback, whose
    /// verifier the page shows instead) and the verifier.
    public func decide(token: String, user: String, allow: Bool, now: Date = Date()) async throws -> (redirect: String?, verifier: String?)
    {
        var (t, _) = try await pendingAuthorization(token: token, now: now)
        func redirect(_ extra: [(String, String)]) -> String? {
            guard t.callback != "oob", var c = URLComponents(string: t.callback) else { return nil }
            var items = c.queryItems ?? []
            items += extra.map { URLQueryItem(name: $0.0, value: $0.1) }
            c.queryItems = items
            return c.string
        }
        guard allow else {
            _ = try await store.takeRequestToken(token)
            return (redirect([("oauth_token", token), ("oauth_problem", OAuth1Problem.Code.permissionDenied.rawValue)]), nil)
        }
        let verifier = SecureRandom.token(bits: 128)
        t.user = user
        t.verifier = verifier
        try await store.saveRequestToken(t)
        return (redirect([("oauth_token", token), ("oauth_verifier", verifier)]), verifier)
    }

    /// Leg 3: an authorized request token and its verifier become an access token; the request token dies.
    /// With `oauth_session_handle` instead, an expired access token is renewed (Atlassian's session extension).
    public func accessToken(_ request: OAuth1Request, now: Date = Date()) async -> OAuth1Response {
        do {
            var renewing: OAuth1AccessToken?
            var pending: OAuth1RequestToken?
            let (v, consumer) = try await verified(request, now: now) { token in
                guard let token else { throw OAuth1Problem(.parameterAbsent, "oauth_token is missing") }
                if let t = try await store.requestToken(token) {
                    pending = t
                    return t.secret
                }
                if let a = try await store.accessToken(token) {
                    renewing = a
                    return a.secret
                }
                throw OAuth1Problem(.tokenRejected, "the token is unknown, or was already exchanged")
            }
            try await admit(consumer, .threeLegged)
            if let old = renewing {
                guard old.consumerKey == consumer.key, v.parameter("oauth_session_handle") == old.sessionHandle else {
                    throw OAuth1Problem(.tokenRejected, "oauth_session_handle does not belong to this token")
                }
                guard old.authorizationExpiresAt > now else {
                    throw OAuth1Problem(.tokenExpired, "the authorization expired; authorize again")
                }
                try await store.deleteAccessToken(old.token)
                return try await issue(
                    consumer: consumer, user: old.user, session: old.sessionHandle, authorizationExpires: old.authorizationExpiresAt,
                    now: now)
            }
            guard let t = pending, t.consumerKey == consumer.key else {
                throw OAuth1Problem(.tokenRejected, "the request token is not this consumer's")
            }
            if t.used { throw OAuth1Problem(.tokenUsed, "the request token was already exchanged or denied") }
            guard t.expiresAt > now else { throw OAuth1Problem(.tokenExpired, "the request token expired; start again") }
            guard let user = t.user, let expected = t.verifier else {
                throw OAuth1Problem(.permissionDenied, "the request token was not authorized by a user")
            }
            guard let given = v.parameter("oauth_verifier"), ConstantTime.equals(Data(given.utf8), Data(expected.utf8)) else {
                throw OAuth1Problem(.parameterRejected, "oauth_verifier is missing or wrong")
            }
            // Single use: whoever takes it first gets the access token; a replay finds nothing.
            guard try await store.takeRequestToken(t.token) != nil else {
                throw OAuth1Problem(.tokenUsed, "the request token was already exchanged")
            }
            return try await issue(
                consumer: consumer, user: user, session: SecureRandom.token(bits: 160),
                authorizationExpires: now.addingTimeInterval(authorizationLifetime), now: now)
        } catch let p as OAuth1Problem {
            return problem(p)
        } catch {
            return problem(OAuth1Problem(.permissionDenied, "the provider failed: \(error)"))
        }
    }

    private func issue(
        consumer: OAuth1ConsumerRecord, user: String, session: String, authorizationExpires: Date, now: Date
    ) async throws -> OAuth1Response {
        let expires = min(now.addingTimeInterval(accessTokenLifetime), authorizationExpires)
        let token = OAuth1AccessToken(
            token: SecureRandom.token(bits: 160), secret: SecureRandom.token(bits: 160), consumerKey: consumer.key,
            user: user, sessionHandle: session, expiresAt: expires, authorizationExpiresAt: authorizationExpires)
        try await store.saveAccessToken(token)
        return form([
            ("oauth_token", token.token), ("oauth_token_secret", token.secret), ("oauth_session_handle", session),
            ("oauth_expires_in", String(Int(expires.timeIntervalSince(now)))),
            ("oauth_authorization_expires_in", String(Int(authorizationExpires.timeIntervalSince(now)))),
        ])
    }

    /// Authenticates a resource request: 3-legged (access token), 2-legged (no token), or 2-legged with
    /// impersonation (`xoauth_requestor_id`, only for consumers allowed to).
    public func authenticate(_ request: OAuth1Request, now: Date = Date()) async throws -> Caller {
        var access: OAuth1AccessToken?
        let (_, consumer) = try await verified(request, now: now) { token in
            guard let token else { return nil }
            guard let a = try await store.accessToken(token) else {
                throw OAuth1Problem(.tokenRejected, "the access token is unknown or revoked")
            }
            guard a.expiresAt > now else {
                throw OAuth1Problem(.tokenExpired, "the access token expired; renew it with its session handle")
            }
            access = a
            return a.secret
        }
        if let a = access {
            guard a.consumerKey == consumer.key else { throw OAuth1Problem(.tokenRejected, "the access token belongs to another consumer") }
            try await admit(consumer, .threeLegged)
            return Caller(consumer: consumer, user: a.user, twoLegged: false)
        }
        if let requestor = try request.parameters().all.first(where: { $0.0 == "xoauth_requestor_id" })?.1 {
            guard consumer.allowImpersonation else {
                throw OAuth1Problem(.permissionDenied, "\(consumer.name) may not act as other users (2-legged impersonation is off)")
            }
            try await admit(consumer, .impersonation)
            return Caller(consumer: consumer, user: requestor, twoLegged: true)
        }
        try await admit(consumer, .twoLegged)
        return Caller(consumer: consumer, user: consumer.executeAs, twoLegged: true)
    }
}

/// Public keys parsed once per PEM, shared by the copies of a provider. A consumer whose key is replaced gets a
/// new entry; the cache forgets everything when it fills, which a deployment with a few links never sees.
final class PublicKeyCache: Sendable {
    private let keys = Locked<[String: RSAKey]>([:])
    private let capacity = 256

    func key(pem: String) -> RSAKey? {
        if let key = keys.withLock({ $0[pem] }) { return key }
        guard let key = try? RSAKey(publicKeyPEM: pem) else { return nil }
        keys.withLock { cache in
            if cache.count >= capacity { cache.removeAll() }
            cache[pem] = key
        }
        return key
    }
}
