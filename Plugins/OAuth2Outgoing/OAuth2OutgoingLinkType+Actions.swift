import AppLinksCore
import AppLinksJSON
import AppLinksPluginKit
import Foundation

/// The client's actions and its callback route, each declared once: its descriptor entry beside its code.
extension OAuth2OutgoingLinkType {
    static let actions: [DeclaredAction<OAuth2OutgoingLinkType>] = [
        withClient(
            .init(id: "authorize", title: "Sign in at the provider: prints the URL to open; the callback stores the tokens"),
            authorize),
        withClient(
            .init(id: "token-status", title: "When the access token expires and what it allows (never the token itself)"),
            tokenStatus),
        withClient(
            .init(
                id: "test-request", title: "GET a URL of the provider's API with the access token, refreshed first if needed",
                params: [.init(name: "url", type: .string, required: true, help: "An API URL, such as https://api.github.com/user")]),
            testRequest),
        withClient(
            .init(
                id: "revoke", title: "Revoke the authorization at the provider (RFC 7009, where offered) and forget the tokens",
                destructive: true),
            revoke),
        .setCredentials(
            what: "client credentials", title: "Replace the client id or secret the provider issued",
            config: [.init(name: "client_id", type: .string, help: "The new client id")],
            secrets: [.init(name: "client_secret", type: .secret, help: "The new client secret")]
        ) { plugin, r, change in try await plugin.check(change, r) },
        withClient(
            .init(
                id: "access-token", title: "A fresh access token, for the host's API (other link types, an embedding product)",
                hostOnly: true),
            accessToken),
        withClient(
            .init(id: "delete", title: "Revoke at the provider and forget the tokens (run by `applinks delete`)", destructive: true),
            revoke),
    ]

    static let routes: [DeclaredRoute<OAuth2OutgoingLinkType>] = [
        DeclaredRoute(.init(method: "GET", path: AuthorizationFlow.path)) { p, r in try await p.flow.callback(r) }
    ]

    /// An action that needs the link's provider endpoints and client credentials.
    private static func withClient(
        _ spec: LinkTypeDescriptor.Action,
        _ run: @escaping @Sendable (OAuth2OutgoingLinkType) -> (ActionRequest, TokenClient) async throws -> ActionResponse
    ) -> DeclaredAction<OAuth2OutgoingLinkType> {
        DeclaredAction(spec) { plugin, r in try await run(plugin)(r, try plugin.requiredClient(r)) }
    }

    func authorize(_ r: ActionRequest, client: TokenClient) async throws -> ActionResponse {
        let link = r.link
        let url = try await flow.start(
            link: link, endpoints: client.endpoints, secret: client.clientSecret, redirectURI: try await redirectURI(), actor: r.actor)
        return ActionResponse(
            message: "Open this URL in a browser, sign in at the provider and allow access; the provider sends the browser back "
                + "here, which completes the authorization (within ten minutes):\n\(url)",
            output: ["authorization_url": .string(url)])
    }

    func tokenStatus(_ r: ActionRequest, client: TokenClient) async throws -> ActionResponse {
        let link = r.link
        guard let tokens = try await keeper.load(link.id) else {
            let last = try await LastError(host: host).last(link.id)
            return ActionResponse(
                message: last?.message ?? "\(link.name) has not been authorized; run the authorize action.",
                output: ["authorized": false])
        }
        let s = tokens.stored
        let now = Date().timeIntervalSince1970
        var out: [String: JSONValue] = [
            "authorized": true, "token_type": "Bearer", "scopes": .array(s.scopes.map(JSONValue.string)),
            "refreshable": .bool(s.refresh != nil), "obtained_at": .string(Timestamp.format(Date(timeIntervalSince1970: s.obtainedAt))),
            "refreshes": .number(Double(s.refreshes)),
        ]
        if let e = s.expiresAt {
            out["expires_at"] = .string(Timestamp.format(Date(timeIntervalSince1970: e)))
            out["expires_in"] = .number(max(0, (e - now).rounded()))
        }
        if let at = s.refreshedAt { out["refreshed_at"] = .string(Timestamp.format(Date(timeIntervalSince1970: at))) }
        let warning = AuthorizationFlow.warning(s)
        if let warning { out["warning"] = .string(warning) }
        let expiry = s.expiresAt.map { " until " + Timestamp.format(Date(timeIntervalSince1970: $0)) } ?? " with no expiry given"
        return ActionResponse(
            message: "\(link.name) holds an access token valid\(expiry)" + (s.refresh == nil ? "." : ", and a refresh token.")
                + (warning.map { " " + $0 } ?? ""),
            output: .object(out))
    }

    func testRequest(_ r: ActionRequest, client: TokenClient) async throws -> ActionResponse {
        let link = r.link
        let url = r.args["url"]?.stringValue ?? ""
        if let problem = ProviderEndpoints.urlProblem(url) { throw PluginError(code: "invalid_input", message: problem) }
        // The token goes only where the provider's API is: a URL elsewhere would hand it to a stranger.
        let extra = link.config["api_origins"].map { $0.words } ?? []
        let allowed = client.endpoints.tokenOrigins(extra: extra)
        guard let origin = ProviderEndpoints.origin(url), allowed.contains(origin) else {
            throw PluginError(
                code: "invalid_input",
                message:
                    "\(link.name)'s token is sent only to \(allowed.sorted().joined(separator: ", ")); \(ProviderEndpoints.origin(url) ?? url) is none of them. "
                    + "To allow another API origin, add it to the link's api_origins: `applinks edit \(link.id) --set config.api_origins=\"https://api.example.com\"`."
            )
        }
        var access = try await keeper.accessToken(link.id, client: client)
        var answer = try await get(url, bearer: access)
        if answer.status == 401 {
            access = try await keeper.accessToken(link.id, client: client, rejected: access)
            answer = try await get(url, bearer: access)
        }
        let body = String(decoding: answer.body.prefix(4096), as: UTF8.self)
        return ActionResponse(
            message: "GET \(url) answered HTTP \(answer.status).",
            output: [
                "status": .number(Double(answer.status)), "content_type": answer.header("Content-Type").map(JSONValue.string) ?? .null,
                "body": .string(body),
            ])
    }

    /// `revoke`, and `delete`, which goes on when the provider refuses: the provider's grant may outlive the link.
    func revoke(_ r: ActionRequest, client: TokenClient) async throws -> ActionResponse {
        let link = r.link
        guard let tokens = try await keeper.load(link.id) else {
            return ActionResponse(message: "\(link.name) holds no tokens; nothing to revoke.")
        }
        var revoked = false
        do {
            // Revoking the refresh token ends the whole grant (RFC 7009 §2.1).
            revoked = try await client.revoke(
                tokens.refresh ?? tokens.access, hint: tokens.refresh == nil ? "access_token" : "refresh_token")
        } catch {
            // A deleted link goes anyway; the provider's grant may outlive it.
            if r.action != "delete" { throw error }
        }
        try await keeper.forget(link.id)
        try await LastError(host: host).record(
            link.id,
            .needsAuthorization(
                "The authorization ended: \(r.actor) revoked it on \(Timestamp.format(Date()))"
                    + (revoked ? " at the provider too." : " here (the provider offers no revocation)."), link: link.id))
        try await host.audit(action: "oauth2-revoked", linkID: link.id, detail: ["at_provider": .bool(revoked)])
        return ActionResponse(
            message: revoked
                ? "Revoked \(link.name)'s authorization at the provider and forgot its tokens."
                : "Forgot \(link.name)'s tokens. The provider offers no revocation endpoint (RFC 7009): revoke the "
                    + "authorization there too.")
    }

    func requiredClient(_ r: ActionRequest) throws -> TokenClient {
        guard let client = client(r.link, secrets: r.secrets) else {
            throw PluginError(code: "invalid_input", message: "\(r.link.name) has no provider endpoints; delete it and create it again.")
        }
        return client
    }

    /// The provider judges new client credentials at once, with the refresh token this link holds: a wrong secret
    /// is refused here, not discovered at the next refresh.
    func check(_ change: CredentialChange, _ r: ActionRequest) async throws -> String {
        let client = try requiredClient(r)
        let replaced = TokenClient(
            host: host, endpoints: client.endpoints, clientID: change.value("client_id", else: client.clientID),
            clientSecret: change.secrets["client_secret"] ?? client.clientSecret, link: r.link.id)
        var checked = "it is checked at the next authorization"
        if try await keeper.load(r.link.id)?.refresh != nil {
            do {
                _ = try await keeper.refreshNow(r.link.id, client: replaced)
                checked = "the provider accepted them"
            } catch let failure as StatusFailure where failure.refusedByRemote && failure.type != .localAuthTokenRequired {
                throw StatusFailure(
                    failure.category, failure.type, "Nothing was changed: \(failure.message)", refusedByRemote: true)
            }
        }
        try await LastError(host: host).clear(r.link.id)
        return checked
    }

    func accessToken(_ r: ActionRequest, client: TokenClient) async throws -> ActionResponse {
        let link = r.link
        let access = try await keeper.accessToken(link.id, client: client)
        let expires = try await keeper.load(link.id)?.stored.expiresAt
        return ActionResponse(
            output: [
                "access_token": .string(access), "token_type": "Bearer",
                "expires_at": expires.map { .string(Timestamp.format(Date(timeIntervalSince1970: $0))) } ?? .null,
            ])
    }
}
