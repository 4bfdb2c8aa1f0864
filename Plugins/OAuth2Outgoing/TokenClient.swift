import AppLinksCore
import AppLinksHTTPInput
import AppLinksJSON
import AppLinksOAuth2
import AppLinksPluginKit
import Foundation

/// What a token endpoint issued (RFC 6749 §5.1).
struct IssuedTokens: Sendable {
    var accessToken: String
    var tokenType: String
    var refreshToken: String?
    var expiresIn: Double?
    var scopes: [String]?
}

/// This host as the provider's client: the token endpoint (code exchange, refresh) and revocation (RFC 7009),
/// through the host's HTTP call, authenticating as the link's client.
struct TokenClient: Sendable {
    let host: HostAPI
    let endpoints: ProviderEndpoints
    let clientID: String
    let clientSecret: String?
    /// The link's id, for the fixes the messages name.
    let link: String

    func exchange(code: String, verifier: String, redirectURI: String) async throws(StatusFailure) -> IssuedTokens {
        try await tokenRequest([
            ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI), ("code_verifier", verifier),
        ])
    }

    func refresh(_ refreshToken: String) async throws(StatusFailure) -> IssuedTokens {
        try await tokenRequest([("grant_type", "refresh_token"), ("refresh_token", refreshToken)])
    }

    /// Revokes `token` at the provider; false when the provider has no revocation endpoint.
    func revoke(_ token: String, hint: String) async throws(StatusFailure) -> Bool {
        guard let url = endpoints.revocation else { return false }
        let response = try await post(url, [("token", token), ("token_type_hint", hint)])
        // RFC 7009 §2.2: 200 whether or not the token was valid; 503 asks to retry.
        guard response.status == 200 else {
            let error = (try? JSONValue.parse(response.body))?["error"]?.stringValue
            if error == "invalid_client" || response.status == 401 {
                throw .invalidClient("revocation answered \(error ?? "HTTP \(response.status)")", link: link)
            }
            throw StatusFailure(
                .networkError, .unexpectedResponseStatus,
                "The revocation endpoint \(url) answered HTTP \(response.status); try again later.")
        }
        return true
    }

    private func tokenRequest(_ form: [(String, String)]) async throws(StatusFailure) -> IssuedTokens {
        let response = try await post(endpoints.token, form)
        let json = try? JSONValue.parse(response.body)
        if response.status == 200, let access = json?["access_token"]?.stringValue, !access.isEmpty {
            let type = json?["token_type"]?.stringValue ?? "Bearer"
            guard type.lowercased() == "bearer" else {
                throw StatusFailure(
                    .configError, .invalidConfig, "The provider issued a \(type) token; this link type uses Bearer tokens (RFC 6750) only.")
            }
            return IssuedTokens(
                accessToken: access, tokenType: "Bearer", refreshToken: json?["refresh_token"]?.stringValue,
                expiresIn: json?["expires_in"]?.doubleValue ?? json?["expires_in"]?.stringValue.flatMap(Double.init),
                scopes: json?["scope"]?.stringValue.map { $0.split(separator: " ").map(String.init) })
        }
        let error = json?["error"]?.stringValue
        let detail = [error, json?["error_description"]?.stringValue].compactMap { $0 }.joined(separator: ": ")
        switch error {
        case "invalid_client"?, "unauthorized_client"?:
            throw .invalidClient(detail, link: link)
        case "invalid_grant"?:
            throw .needsAuthorization(
                "The provider no longer accepts this link's authorization (\(detail)): it was revoked or has expired.", link: link)
        case let e?:
            throw StatusFailure(
                .networkError, .oauthProblem,
                "The token endpoint \(endpoints.token) refused the request (\(e)\(detail == e ? "" : ": " + detail)).")
        case nil where response.status == 401:
            throw .invalidClient("HTTP 401 from the token endpoint", link: link)
        case nil:
            throw StatusFailure(
                .networkError, .unexpectedResponseStatus,
                "The token endpoint \(endpoints.token) answered HTTP \(response.status) without an OAuth 2.0 answer; check the endpoint's URL."
            )
        }
    }

    private func post(_ url: String, _ form: [(String, String)]) async throws(StatusFailure) -> HostHTTPResponse {
        var fields = form
        var headers = [["Content-Type", "application/x-www-form-urlencoded"], ["Accept", "application/json"]]
        switch endpoints.clientAuth {
        case .basic where clientSecret != nil:
            // RFC 6749 §2.3.1: each part form-encoded before the Basic encoding.
            let pair = FormURLEncoded.encode(clientID) + ":" + FormURLEncoded.encode(clientSecret ?? "")
            headers.append(["Authorization", "Basic " + Data(pair.utf8).base64EncodedString()])
        case .basic, .post:
            fields.append(("client_id", clientID))
            if let clientSecret { fields.append(("client_secret", clientSecret)) }
        }
        let body = fields.map { FormURLEncoded.encode($0.0) + "=" + FormURLEncoded.encode($0.1) }.joined(separator: "&")
        do {
            return try await host.http(
                HostHTTPRequest(method: "POST", url: url, headers: headers, body: Data(body.utf8), timeoutMs: 10_000))
        } catch {
            throw .from(error, reaching: "The provider's endpoint \(url)")
        }
    }
}
