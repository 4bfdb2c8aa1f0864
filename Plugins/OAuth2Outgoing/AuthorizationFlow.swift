import AppLinksCore
import AppLinksCrypto
import AppLinksHTTPInput
import AppLinksJSON
import AppLinksOAuth2
import AppLinksPluginKit
import Foundation

/// The authorization-code flow with PKCE (RFC 7636, S256): the `authorize` action starts it and gives the
/// admin the provider's URL; the provider sends the browser back to ``path``, which exchanges the code.
///
/// The `state` is single-use and expires with its pending record. The record carries the client secret,
/// sealed, because the callback is an HTTP route and routes do not receive a link's secrets.
struct AuthorizationFlow: Sendable {
    static let path = "/rest/oauth2-client/latest/callback"
    static let lifetime: Duration = .seconds(600)

    let host: HostAPI
    let keeper: TokenKeeper

    struct Pending: Codable, Sendable {
        var linkID: String
        var verifier: String
        var redirectURI: String
        var sealedSecret: String?
        var actor: String

        enum CodingKeys: String, CodingKey {
            case linkID = "link_id"
            case verifier
            case redirectURI = "redirect_uri"
            case sealedSecret = "client_secret_sealed"
            case actor
        }
    }

    /// Records a pending authorization and returns the URL to open.
    func start(link: Link, endpoints: ProviderEndpoints, secret: String?, redirectURI: String, actor: String) async throws -> String {
        let state = SecureRandom.token(bits: 256)
        let verifier = SecureRandom.token(bits: 256)
        var sealed: String?
        if let secret { sealed = try await host.seal(Data(secret.utf8)).base64EncodedString() }
        let pending = Pending(linkID: link.id, verifier: verifier, redirectURI: redirectURI, sealedSecret: sealed, actor: actor)
        try await PendingAuthorizations<Pending>(host: host, prefix: "pending/", lifetime: Self.lifetime).keep(pending, under: state)
        var query: [(String, String)] = [
            ("response_type", "code"), ("client_id", link.config["client_id"]?.stringValue ?? ""), ("redirect_uri", redirectURI),
            ("state", state), ("code_challenge", PKCE.challenge(verifier: verifier)), ("code_challenge_method", "S256"),
        ]
        let scopes = link.config["scopes"]?.words ?? []
        if !scopes.isEmpty { query.append(("scope", scopes.joined(separator: " "))) }
        let encoded = query.map { FormURLEncoded.encode($0.0) + "=" + FormURLEncoded.encode($0.1) }.joined(separator: "&")
        return endpoints.authorization + (endpoints.authorization.contains("?") ? "&" : "?") + encoded
    }

    /// The provider's redirect back: exchanges the code, or records why there is none.
    func callback(_ r: PluginHTTPRequest) async throws -> PluginHTTPResponse {
        let q = FormURLEncoded(Substring(r.query))
        // Single use: of two callbacks with the same state, one wins.
        guard let state = q["state"],
            let pending = try await PendingAuthorizations<Pending>(host: host, prefix: "pending/", lifetime: Self.lifetime).take(state)
        else {
            return .page(
                400, "This authorization is unknown or has expired",
                "The link's authorization was not started here, was already completed, or is older than ten minutes. "
                    + "Run the authorize action again and open the new URL.")
        }
        guard let link = try await host.link(id: pending.linkID), let endpoints = ProviderEndpoints(config: link.config) else {
            return .page(400, "The link is gone", "The link this authorization was for has been deleted.")
        }
        let lastError = LastError(host: host)
        /// A refused answer leaves its reason twice: in the audit log, and in the link's status until an
        /// authorization succeeds.
        func refused(_ failure: StatusFailure, status: Int, title: String) async throws -> PluginHTTPResponse {
            try await lastError.record(link.id, failure)
            try await host.audit(
                action: "oauth2-authorization-refused", linkID: link.id,
                detail: ["by": .string(pending.actor), "reason": .string(failure.message)])
            return .page(status, title, failure.message).checking(link.id)
        }
        if let error = q["error"] {
            let detail = [error, q["error_description"]].compactMap { $0 }.joined(separator: ": ")
            let failure = StatusFailure.needsAuthorization(
                error == "access_denied"
                    ? "Access was denied at the provider (\(detail))."
                    : "The provider did not authorize this link (\(detail)).", link: link.id)
            return try await refused(failure, status: error == "access_denied" ? 403 : 400, title: "\(link.name) was not authorized")
        }
        // RFC 9207: a response from another authorization server than the one this link talks to is refused, and
        // so is one without `iss` from a provider that always sends it (a mix-up attacker's server would not).
        if let issuer = endpoints.issuer, let iss = q["iss"], iss != issuer {
            return try await refused(
                .needsAuthorization(
                    "The last authorization was refused: its answer came from \(iss), but \(link.name) uses \(issuer) (RFC 9207); "
                        + "nothing was stored.", link: link.id), status: 400, title: "Wrong authorization server")
        }
        if endpoints.issRequired, q["iss"] == nil {
            return try await refused(
                .needsAuthorization(
                    "The last authorization was refused: its answer had no iss, but \(endpoints.issuer ?? link.name) always sends one "
                        + "(RFC 9207), so it may come from another server; nothing was stored.", link: link.id),
                status: 400, title: "Wrong authorization server")
        }
        guard let code = q["code"] else {
            return .page(400, "No authorization code", "The provider sent the browser back without a code; run the authorize action again.")
        }
        var secret: String?
        if let sealed = pending.sealedSecret.flatMap({ Data(base64Encoded: $0) }) {
            secret = String(decoding: try await host.open(sealed), as: UTF8.self)
        }
        let client = TokenClient(
            host: host, endpoints: endpoints, clientID: link.config["client_id"]?.stringValue ?? "", clientSecret: secret, link: link.id)
        let issued: IssuedTokens
        do {
            issued = try await client.exchange(code: code, verifier: pending.verifier, redirectURI: pending.redirectURI)
        } catch {
            return try await refused(error, status: error.category == .networkError ? 502 : 400, title: "\(link.name) was not authorized")
        }
        let stored = try await keeper.save(link.id, issued, previous: nil, now: Date().timeIntervalSince1970)
        try await lastError.clear(link.id)
        try await host.audit(
            action: "oauth2-authorized", linkID: link.id,
            detail: ["by": .string(pending.actor), "scopes": .array(stored.scopes.map(JSONValue.string))])
        var lines = ["\(link.name) can now call the provider for this host."]
        if let warning = Self.warning(stored) { lines.append(warning) }
        return .page(200, "\(link.name) is authorized", lines.joined(separator: " ")).checking(link.id)
    }

    /// A token that will expire and cannot be renewed: the admin will have to authorize again.
    static func warning(_ stored: StoredTokens) -> String? {
        guard stored.refresh == nil, let expires = stored.expiresAt else { return nil }
        return "Warning: the provider gave no refresh token, so when the access token expires at "
            + Timestamp.format(Date(timeIntervalSince1970: expires)) + " the link needs authorizing again."
    }
}
