import AppLinksCore
import AppLinksJSON
import AppLinksPluginKit
import Foundation

/// Where a provider authorizes, issues and revokes tokens, and an API address that answers a valid token: what
/// a link keeps in its config. `google`, `microsoft` and `github` come prefilled; `applinks` is read from
/// another host's RFC 8414 metadata; `custom` is entered by the admin.
struct ProviderEndpoints: Sendable, Equatable {
    enum ClientAuth: String, Sendable { case basic = "client_secret_basic", post = "client_secret_post" }

    var provider: String
    var issuer: String?
    var authorization: String
    var token: String
    var revocation: String?
    /// A GET with the bearer token answers 2xx while the authorization holds: the status check calls it.
    var statusURL: String?
    var clientAuth: ClientAuth
    var defaultScopes: [String]
    /// Whether every authorization response must carry `iss` (RFC 9207): the provider's metadata says it sends
    /// it, or the admin named the issuer of a custom provider.
    var issRequired = false

    static let kinds = ["custom", "google", "microsoft", "github", "applinks"]

    static let presets: [String: ProviderEndpoints] = [
        "google": .init(
            provider: "google", issuer: "https://accounts.google.com", authorization: "https://accounts.google.com/o/oauth2/v2/auth",
            token: "https://oauth2.googleapis.com/token", revocation: "https://oauth2.googleapis.com/revoke",
            statusURL: "https://openidconnect.googleapis.com/v1/userinfo", clientAuth: .basic, defaultScopes: ["openid", "email"]),
        "microsoft": .init(
            provider: "microsoft", issuer: nil, authorization: "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
            token: "https://login.microsoftonline.com/common/oauth2/v2.0/token", revocation: nil,
            statusURL: "https://graph.microsoft.com/oidc/userinfo", clientAuth: .basic,
            defaultScopes: ["openid", "offline_access", "User.Read"]),
        // GitHub takes the client secret in the form and answers JSON only when asked to.
        "github": .init(
            provider: "github", issuer: nil, authorization: "https://github.com/login/oauth/authorize",
            token: "https://github.com/login/oauth/access_token", revocation: nil, statusURL: "https://api.github.com/user",
            clientAuth: .post, defaultScopes: ["read:user"]),
    ]

    /// The endpoints a link was created with.
    init?(config: [String: JSONValue]) {
        guard let provider = config["provider"]?.stringValue, let authorization = config["authorization_endpoint"]?.stringValue,
            let token = config["token_endpoint"]?.stringValue
        else { return nil }
        self.init(
            provider: provider, issuer: config["issuer"]?.stringValue, authorization: authorization, token: token,
            revocation: config["revocation_endpoint"]?.stringValue, statusURL: config["status_url"]?.stringValue,
            clientAuth: ClientAuth(rawValue: config["client_auth"]?.stringValue ?? "") ?? .basic, defaultScopes: [])
        issRequired = config["iss_required"]?.boolValue ?? false
    }

    init(
        provider: String, issuer: String?, authorization: String, token: String, revocation: String?, statusURL: String?,
        clientAuth: ClientAuth, defaultScopes: [String]
    ) {
        self.provider = provider
        self.issuer = issuer
        self.authorization = authorization
        self.token = token
        self.revocation = revocation
        self.statusURL = statusURL
        self.clientAuth = clientAuth
        self.defaultScopes = defaultScopes
    }

    var config: [String: JSONValue] {
        var c: [String: JSONValue] = [
            "provider": .string(provider), "authorization_endpoint": .string(authorization), "token_endpoint": .string(token),
            "client_auth": .string(clientAuth.rawValue),
        ]
        if let issuer { c["issuer"] = .string(issuer) }
        if let revocation { c["revocation_endpoint"] = .string(revocation) }
        if let statusURL { c["status_url"] = .string(statusURL) }
        if issRequired { c["iss_required"] = .bool(true) }
        return c
    }

    /// The origin of an http(s) URL: scheme, host and port, lower case, without a default port.
    static func origin(_ text: String) -> String? {
        guard let u = URLComponents(string: text), let scheme = u.scheme?.lowercased(), ["http", "https"].contains(scheme),
            let host = u.host?.lowercased(), !host.isEmpty
        else { return nil }
        let port = u.port.flatMap { (scheme == "http" && $0 == 80) || (scheme == "https" && $0 == 443) ? nil : $0 }
        return "\(scheme)://\(host)" + (port.map { ":\($0)" } ?? "")
    }

    /// Where the link's bearer token may be sent: the origins of the provider's own endpoints and status URL,
    /// plus those the admin listed in the link's `api_origins`.
    func tokenOrigins(extra: [String]) -> Set<String> {
        Set(([authorization, token, revocation, issuer, statusURL].compactMap { $0 } + extra).compactMap(Self.origin))
    }

    /// An absolute http(s) URL, or the reason it is not one.
    static func urlProblem(_ text: String) -> String? {
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
            url.host?.isEmpty == false
        else { return "'\(text)' is not an http(s) URL; give the full address, such as https://provider.example.com/oauth/token" }
        guard url.fragment == nil else { return "'\(text)' has a fragment (#…); OAuth endpoints may not" }
        return nil
    }

    /// Reads another AppLinks host's authorization-server metadata (RFC 8414) from its base URL.
    ///
    /// The client secret goes to the token endpoint the metadata names. When that endpoint (or the revocation
    /// endpoint) is on another host than the one the admin entered, discovery stops until the admin confirms
    /// that host (`confirmedHost`): metadata from a compromised or impostor server must not collect the secret.
    static func discover(
        base: String, host: HostAPI, confirmedHost: String? = nil, statusURL: String? = nil
    ) async throws(StatusFailure) -> ProviderEndpoints {
        let trimmed = base.hasSuffix("/") ? String(base.dropLast()) : base
        let url = trimmed + "/.well-known/oauth-authorization-server"
        let response: HostHTTPResponse
        do {
            response = try await host.http(HostHTTPRequest(url: url, headers: [["Accept", "application/json"]], timeoutMs: 10_000))
        } catch {
            throw StatusFailure.from(error, reaching: trimmed)
        }
        guard response.status == 200, let meta = try? JSONValue.parse(response.body),
            let issuer = meta["issuer"]?.stringValue, let authorization = meta["authorization_endpoint"]?.stringValue,
            let token = meta["token_endpoint"]?.stringValue
        else {
            throw StatusFailure(
                .networkError, .unexpectedResponse,
                "\(url) answered \(response.status) without OAuth 2.0 authorization-server metadata; check that \(trimmed) is an "
                    + "AppLinks host with the oauth2-incoming link type enabled, or choose the custom provider.")
        }
        // RFC 8414 §3.3: the metadata must name the issuer it was fetched for.
        guard issuer == trimmed else {
            throw StatusFailure(
                .configError, .invalidConfig,
                "\(url) names the issuer \(issuer), not \(trimmed); give the provider's own base URL (\(issuer)).")
        }
        let entered = URLComponents(string: trimmed)?.host?.lowercased()
        for endpoint in [token, meta["revocation_endpoint"]?.stringValue].compactMap({ $0 }) {
            guard let other = URLComponents(string: endpoint)?.host?.lowercased(), other != entered else { continue }
            guard confirmedHost?.lowercased() == other else {
                throw StatusFailure(
                    .configError, .invalidConfig,
                    "\(trimmed)'s metadata sends the client secret to \(endpoint), on another host (\(other)). If that host is the "
                        + "provider's, confirm it: --set confirm_endpoint_host=\(other).")
            }
        }
        // The admin's status URL; else AppLinks' own whoami, but only on a server that is an AppLinks host: any other
        // RFC 8414 server answers it 404.
        var status = statusURL
        if status == nil, await isAppLinksHost(trimmed, host: host) { status = issuer + "/rest/oauth2/latest/whoami" }
        var found = ProviderEndpoints(
            provider: "applinks", issuer: issuer, authorization: authorization, token: token,
            revocation: meta["revocation_endpoint"]?.stringValue, statusURL: status, clientAuth: .basic, defaultScopes: [])
        found.issRequired = meta["authorization_response_iss_parameter_supported"]?.boolValue ?? false
        return found
    }

    /// Whether `base` serves an application-links manifest of an AppLinks host.
    static func isAppLinksHost(_ base: String, host: HostAPI) async -> Bool {
        guard
            let reply = try? await host.http(
                HostHTTPRequest(url: base + "/rest/applinks/1.0/manifest", headers: [["Accept", "application/json"]], timeoutMs: 10_000)),
            reply.status == 200, let manifest = try? JSONValue.parse(reply.body)
        else { return false }
        return manifest["typeId"]?.stringValue == "applinks"
    }
}
