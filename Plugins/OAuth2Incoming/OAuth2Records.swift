import AppLinksCore
import AppLinksCrypto
import AppLinksJSON
import Foundation

/// A registered client: one `oauth2-incoming` link. Kept in the plugin's store under `client/<client_id>` so
/// that the endpoints find it with one read; the secret only as its SHA-256.
struct ClientRecord: Codable, Sendable {
    var clientID: String
    var name: String
    var secretHash: String?
    var redirectURIs: [String]
    var scopes: [String]
    var confidential: Bool
    var allowClientCredentials: Bool
    var createdAt: Double
    /// A resource server may introspect tokens issued to other clients (RFC 7662 §4); any other client learns
    /// only about its own tokens.
    var resourceServer: Bool = false
}

/// An authorization code, under `code/<hash>`. After its first redemption it stays, marked used, so that a
/// replay can be told from an unknown code and revoke what the first redemption issued.
struct CodeRecord: Codable, Sendable {
    var clientID: String
    var redirectURI: String
    var redirectURIGiven: Bool
    var user: String
    var scopes: [String]
    var challenge: String?
    var grantID: String
    var expiresAt: Double
    var used: Bool
}

/// One user's authorization of one client, under `grant/<id>`, with the hashes of the tokens issued under it,
/// so that revoking the grant revokes them all.
struct GrantRecord: Codable, Sendable {
    var id: String
    var clientID: String
    var user: String
    var scopes: [String]
    var createdAt: Double
    var lastUsedAt: Double
    /// Access-token hash to its expiry.
    var accessTokens: [String: Double]
    /// The refresh-token hashes of this grant, used or not, to their expiry.
    var refreshTokens: [String: Double]
}

/// An issued access token, under `at/<hash>`; `user` is nil for a client-credentials token.
struct AccessTokenRecord: Codable, Sendable {
    var clientID: String
    var user: String?
    var scopes: [String]
    var grantID: String?
    var issuedAt: Double
    var expiresAt: Double
}

/// An issued refresh token, under `rt/<hash>`. Rotation marks it used instead of deleting it, which is how a
/// second use is recognised as reuse.
struct RefreshTokenRecord: Codable, Sendable {
    var clientID: String
    var user: String
    var scopes: [String]
    var grantID: String
    var expiresAt: Double
    var used: Bool
}

/// A consent page waiting for the user's decision, under `consent/<id>`.
struct ConsentRecord: Codable, Sendable {
    var clientID: String
    var user: String
    var redirectURI: String
    var redirectURIGiven: Bool
    var scopes: [String]
    var state: String?
    var challenge: String?
}

/// The deployment's `oauth2.*` settings.
struct ProviderSettings: Sendable {
    var codeLifetime: Double = 60
    var accessLifetime: Double = 3600
    var refreshLifetime: Double = 90 * 86400
    var requirePKCE = false
    var allowViewingSecrets = true
    var scopes: [String] = ProviderSettings.defaultScopes

    static let defaultScopes = [
        "PUBLIC_REPOS", "REPO_READ", "REPO_WRITE", "REPO_ADMIN", "PROJECT_ADMIN", "ADMIN_WRITE", "SYSTEM_ADMIN", "ACCOUNT_WRITE",
    ]

    /// The scope that lets a token use the host's admin API (for a user who is an administrator).
    static let adminScope = "SYSTEM_ADMIN"

    static let descriptions = [
        "PUBLIC_REPOS": "see public projects and repositories",
        "REPO_READ": "read the repositories you can read",
        "REPO_WRITE": "push to the repositories you can write to",
        "REPO_ADMIN": "administer the repositories you administer",
        "PROJECT_ADMIN": "administer the projects you administer",
        "ADMIN_WRITE": "change users, groups and settings you may change",
        "SYSTEM_ADMIN": "administer this instance, its application links included, if you are an administrator",
        "ACCOUNT_WRITE": "change your account's settings",
    ]

    init() {}

    init(_ settings: [String: JSONValue]?) {
        guard let settings else { return }
        if let v = settings["oauth2.code_lifetime_seconds"]?.doubleValue { codeLifetime = v }
        if let v = settings["oauth2.access_token_lifetime_seconds"]?.doubleValue { accessLifetime = v }
        if let v = settings["oauth2.refresh_token_lifetime_seconds"]?.doubleValue { refreshLifetime = v }
        if let v = settings["oauth2.require_pkce"]?.boolValue { requirePKCE = v }
        if let v = settings["oauth2.allow_viewing_secrets"]?.boolValue { allowViewingSecrets = v }
        if case .array(let list)? = settings["oauth2.scopes"] { scopes = list.compactMap(\.stringValue) }
    }
}

/// Issued secrets are random, 256 bits, and stored only as a hash: a leaked store gives nothing to use.
enum Secrets {
    static func generate() -> String { SecureRandom.token(bits: 256) }
    static func hash(_ secret: String) -> String { Digest.sha256(Data(secret.utf8)).base64URLEncodedString() }
}
