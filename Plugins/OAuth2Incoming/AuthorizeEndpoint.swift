import AppLinksCore
import AppLinksHTTPInput
import AppLinksJSON
import AppLinksOAuth2
import AppLinksPluginKit
import Foundation

/// `GET /rest/oauth2/latest/authorize` (after the host's login) shows the consent page; the page's form posts
/// the decision back to the same path. Until the redirect URI is known to be registered, every problem is an
/// error page here and never a redirect (RFC 6749 §4.1.2.1), so this endpoint cannot be made an open redirector.
struct AuthorizeEndpoint: Sendable {
    let store: OAuth2ServerStore
    let settings: ProviderSettings
    let issuer: String

    static let path = "/rest/oauth2/latest/authorize"

    func show(_ r: PluginHTTPRequest) async throws -> PluginHTTPResponse {
        let q = FormURLEncoded(Substring(r.query))
        guard let user = r.user?.name else { return errorPage(401, "Log in first.") }
        if let dup = q.duplicates.sorted().first {
            return errorPage(400, "The parameter '\(dup)' appears more than once; the application must send it once.")
        }
        guard let clientID = q["client_id"] else { return errorPage(400, "The request names no client (client_id is missing).") }
        guard let client = try await store.client(clientID) else {
            return errorPage(400, "No application is registered with the client id '\(clientID)'.")
        }
        guard try await store.linkEnabled(client: clientID) else {
            return errorPage(403, "The application link to \(client.name) is disabled here; ask an administrator to enable it.")
        }
        let redirectURI: String
        if let given = q["redirect_uri"] {
            guard client.redirectURIs.contains(where: { RedirectURI.matches(registered: $0, requested: given) }) else {
                return errorPage(
                    400, "The redirect URI '\(given)' is not registered for \(client.name); the application must use a registered one.")
            }
            redirectURI = given
        } else {
            guard client.redirectURIs.count == 1 else {
                return errorPage(400, "\(client.name) has several redirect URIs, so the request must name one (redirect_uri).")
            }
            redirectURI = client.redirectURIs[0]
        }
        // From here on, problems go back to the application, which can tell its user.
        let state = q["state"]
        func back(_ error: OAuth2Error) -> PluginHTTPResponse { redirect(redirectURI, error: error, state: state) }
        guard q["response_type"] == "code" else {
            return back(OAuth2Error(.unsupportedResponseType, "Only response_type=code is supported."))
        }
        let requested = q["scope"].map { JSONValue.string($0).words } ?? client.scopes
        if let unknown = requested.first(where: { !client.scopes.contains($0) }) {
            return back(OAuth2Error(.invalidScope, "The scope \(unknown) is not one this client was registered for."))
        }
        if requested.isEmpty { return back(OAuth2Error(.invalidScope, "No scope was requested and the client has none.")) }
        let challenge = q["code_challenge"]
        switch (challenge, q["code_challenge_method"]) {
        case (nil, nil):
            if !client.confidential || settings.requirePKCE {
                return back(OAuth2Error(.invalidRequest, "PKCE is required: send code_challenge with code_challenge_method=S256."))
            }
        case (nil, _?):
            return back(OAuth2Error(.invalidRequest, "code_challenge_method was sent without code_challenge."))
        case (let c?, let method):
            guard method == "S256" else {
                return back(
                    OAuth2Error(.invalidRequest, "code_challenge_method must be S256; plain (the default when it is missing) is refused."))
            }
            guard PKCE.isWellFormed(c) else {
                return back(OAuth2Error(.invalidRequest, "code_challenge must be 43 to 128 characters of base64url."))
            }
        }
        let consent = Secrets.generate()
        try await store.saveConsent(
            consent,
            ConsentRecord(
                clientID: clientID, user: user, redirectURI: redirectURI, redirectURIGiven: q["redirect_uri"] != nil, scopes: requested,
                state: state, challenge: challenge))
        let page: JSONValue = [
            "title": .string("Allow \(client.name) to access your account?"),
            "paragraphs": .array(
                [.string("\(client.name) asks to act as \(user) here. It will be able to:")]
                    + requested.map { scope in .string("• " + (ProviderSettings.descriptions[scope].map { "\($0) (\(scope))" } ?? scope)) }
                    + [.string("You can revoke this at any time; you will be sent back to \(redirectURI).")]),
            "form": [
                "action": .string(Self.path), "hidden": ["consent": .string(consent)],
                "buttons": [
                    ["name": "decision", "value": "allow", "label": "Allow"],
                    ["name": "decision", "value": "deny", "label": "Deny"],
                ],
            ],
        ]
        return .page(page)
    }

    /// The consent form's answer; the host has checked the session and its CSRF token before this runs.
    func decide(_ r: PluginHTTPRequest, now: Double) async throws -> PluginHTTPResponse {
        let form = FormURLEncoded(r.body)
        guard let consent = try await store.takeConsent(form["consent"] ?? "") else {
            return errorPage(400, "This consent page has expired or was already answered; start again from the application.")
        }
        guard consent.user == r.user?.name else { return errorPage(403, "This consent page was shown to another user.") }
        guard form["decision"] == "allow" else {
            return redirect(
                consent.redirectURI, error: OAuth2Error(.accessDenied, "The user denied the authorization."), state: consent.state)
        }
        let code = Secrets.generate()
        try await store.saveCode(
            code,
            CodeRecord(
                clientID: consent.clientID, redirectURI: consent.redirectURI, redirectURIGiven: consent.redirectURIGiven,
                user: consent.user, scopes: consent.scopes, challenge: consent.challenge, grantID: Secrets.generate(),
                expiresAt: now + settings.codeLifetime, used: false), ttl: settings.codeLifetime)
        var params = [("code", code)]
        if let state = consent.state { params.append(("state", state)) }
        params.append(("iss", issuer))
        return PluginHTTPResponse(
            status: 303, headers: [["Location", append(params, to: consent.redirectURI)], ["Cache-Control", "no-store"]])
    }

    private func redirect(_ uri: String, error: OAuth2Error, state: String?) -> PluginHTTPResponse {
        var params = [("error", error.code.rawValue), ("error_description", error.safeDescription)]
        if let state { params.append(("state", state)) }
        params.append(("iss", issuer))
        return PluginHTTPResponse(status: 303, headers: [["Location", append(params, to: uri)], ["Cache-Control", "no-store"]])
    }

    private func append(_ params: [(String, String)], to uri: String) -> String {
        let query = params.map { FormURLEncoded.encode($0.0) + "=" + FormURLEncoded.encode($0.1) }.joined(separator: "&")
        return uri + (uri.contains("?") ? "&" : "?") + query
    }

    func errorPage(_ status: Int, _ message: String) -> PluginHTTPResponse {
        .page(
            status, "This authorization cannot go on", message, "Nothing was shared with the application. Close this page or go back to it."
        )
    }
}
