import AppLinksCore
import AppLinksCrypto
import AppLinksJSON
import AppLinksPluginKit
import Foundation

/// The provider's actions and routes, each declared once: its descriptor entry beside the code that answers it.
extension OAuth2IncomingLinkType {
    static let actions: [DeclaredAction<OAuth2IncomingLinkType>] = [
        DeclaredAction(.init(id: "view-credentials", title: "Show the client id, secret, redirect URLs and scopes")) { p, r in
            try await p.viewCredentials(r, client: clientID(r))
        },
        DeclaredAction(
            .init(id: "rotate-secret", title: "Replace the client secret; the old one stops working at once", destructive: true)
        ) { p, r in try await p.rotateSecret(r, client: clientID(r)) },
        DeclaredAction(
            .init(
                id: "list-grants", title: "Who authorized this application, when, and with what scopes",
                params: [.init(name: "user", type: .string, help: "Only this user's authorizations")])
        ) { p, r in try await p.listGrants(r, client: clientID(r)) },
        DeclaredAction(
            .init(
                id: "revoke-grant", title: "Revoke one authorization and every token issued under it", destructive: true,
                params: [
                    .init(name: "grant", type: .string, required: true, help: "The authorization's id, from list-grants"),
                    .init(name: "user", type: .string, help: "Revoke only if the authorization is this user's"),
                ])
        ) { p, r in try await p.revokeGrant(r, client: clientID(r)) },
        DeclaredAction(
            .init(id: "delete", title: "Forget the client and everything issued to it (run by `applinks delete`)", destructive: true)
        ) { p, r in try await p.forgetClient(r, client: clientID(r)) },
    ]

    static let routes: [DeclaredRoute<OAuth2IncomingLinkType>] = [
        DeclaredRoute(.init(method: "GET", path: metadataPath)) { p, _ in
            let (settings, issuer) = try await p.context()
            return p.metadata(settings, issuer: issuer)
        },
        DeclaredRoute(.init(method: "GET", path: AuthorizeEndpoint.path, auth: .user)) { p, r in try await p.authorizeEndpoint().show(r) },
        DeclaredRoute(.init(method: "POST", path: AuthorizeEndpoint.path, auth: .user)) { p, r in
            try await p.authorizeEndpoint().decide(r, now: Date().timeIntervalSince1970)
        },
        // The back-channel endpoints use nothing but the key-value store: answered on the request's thread.
        DeclaredRoute(.init(method: "POST", path: TokenEndpoints.token, inline: true)) { p, r in
            try await p.tokens().token(r, now: Date().timeIntervalSince1970)
        },
        DeclaredRoute(.init(method: "POST", path: TokenEndpoints.revoke, inline: true)) { p, r in try await p.tokens().revoke(r) },
        DeclaredRoute(.init(method: "POST", path: TokenEndpoints.introspect, inline: true)) { p, r in
            try await p.tokens().introspect(r, now: Date().timeIntervalSince1970)
        },
        DeclaredRoute(.init(method: "GET", path: TokenEndpoints.whoami, inline: true, authenticatesBearer: true)) { p, r in
            try await p.tokens().whoami(r, now: Date().timeIntervalSince1970)
        },
        DeclaredRoute(.init(method: "GET", path: grantsPath, auth: .user)) { p, r in try await p.grantsPage(r) },
        DeclaredRoute(.init(method: "POST", path: grantsPath, auth: .user)) { p, r in try await p.revokeOwnGrant(r) },
    ]

    private static func clientID(_ r: ActionRequest) -> String { r.link.config["client_id"]?.stringValue ?? "" }

    func viewCredentials(_ r: ActionRequest, client id: String) async throws -> ActionResponse {
        guard try await context().settings.allowViewingSecrets else {
            throw PluginError(
                code: "invalid_input",
                message:
                    "This deployment shows client secrets only once (oauth2.allow_viewing_secrets is off); run rotate-secret for a new one."
            )
        }
        var out: [String: JSONValue] = [
            "client_id": .string(id), "redirect_urls": r.link.config["redirect_urls"] ?? .array([]),
            "scopes": r.link.config["scopes"] ?? .array([]), "client_type": r.link.config["client_type"] ?? "confidential",
        ]
        if let secret = r.secrets["client_secret"] { out["client_secret"] = .string(secret) }
        return ActionResponse(message: "Credentials of \(r.link.name).", output: .object(out))
    }

    func rotateSecret(_ r: ActionRequest, client id: String) async throws -> ActionResponse {
        guard var client = try await store.client(id), client.confidential else {
            throw PluginError(code: "invalid_input", message: "\(r.link.name) is a public client; it has no secret to rotate.")
        }
        let secret = Secrets.generate()
        client.secretHash = Secrets.hash(secret)
        try await store.saveClient(client)
        let keep = try await context().settings.allowViewingSecrets
        return ActionResponse(
            message: "New secret for \(r.link.name); the old one no longer works. Give the application the new one.",
            output: ["client_id": .string(id), "client_secret": .string(secret)],
            changes: LinkChanges(secrets: ["client_secret": keep ? secret : nil]))
    }

    func listGrants(_ r: ActionRequest, client id: String) async throws -> ActionResponse {
        let user = r.args["user"]?.stringValue
        let grants = try await store.grants(client: id).filter { user == nil || $0.user == user }
        return ActionResponse(
            message: grants.isEmpty
                ? "No one has authorized \(r.link.name)."
                : grants.map { "\($0.id)  \($0.user)  \($0.scopes.joined(separator: " "))  since \(Self.date($0.createdAt))" }
                    .joined(separator: "\n"),
            output: .array(grants.map { Self.json($0, clientName: r.link.name, linkID: r.link.id) }))
    }

    func revokeGrant(_ r: ActionRequest, client id: String) async throws -> ActionResponse {
        let grantID = r.args["grant"]?.stringValue ?? ""
        guard let grant = try await store.grant(grantID), grant.clientID == id,
            r.args["user"]?.stringValue.map({ $0 == grant.user }) ?? true
        else {
            throw PluginError(code: "invalid_input", message: "\(r.link.name) has no authorization '\(grantID)'; see list-grants.")
        }
        try await store.revokeGrant(grantID)
        return ActionResponse(message: "Revoked \(grant.user)'s authorization of \(r.link.name) and its tokens.")
    }

    func forgetClient(_ r: ActionRequest, client id: String) async throws -> ActionResponse {
        try await store.deleteClient(id)
        return ActionResponse(message: "Forgot client \(id) and everything issued to it.")
    }
}
