import AppLinksCore
import AppLinksCrypto
import AppLinksHTTPInput
import AppLinksJSON
import AppLinksLocking
import AppLinksOAuth2
import AppLinksPluginKit
import Foundation

/// An external application that signs its users in through this host: the host is its OAuth 2.0 authorization
/// server (RFC 6749 with PKCE, refresh-token rotation, RFC 7009 revocation, RFC 7662 introspection and RFC 8414
/// metadata), on Atlassian's `/rest/oauth2/latest/` paths. One link is one registered client.
struct OAuth2IncomingLinkType: DeclaredWizard {
    static let auth = "oauth2"
    static let metadataPath = "/.well-known/oauth-authorization-server"
    static let grantsPath = "/rest/oauth2/latest/grants"

    static let declaration = LinkTypeDescriptor(
        id: "oauth2-incoming", name: "External application (OAuth 2.0 incoming)", version: "1.0.0", vendor: "AppLinks",
        description: "An external application that acts for this host's users through OAuth 2.0: this host is its authorization server.",
        directions: [.incoming],
        wizard: .init(steps: []),
        statusChecks: [.init(id: "client", title: "The client is registered")],
        authentication: .init(incoming: [auth], outgoing: []))

    let host: HostAPI
    let store: OAuth2ServerStore
    private let cached = SettingsCache()

    init(host: HostAPI) throws {
        self.host = host
        self.store = OAuth2ServerStore(host: host)
    }

    /// The deployment's settings and the issuer (its base URL), read once: neither changes while the host runs.
    func context() async throws -> (settings: ProviderSettings, issuer: String) {
        if let c = cached.value.withLock({ $0 }) { return c }
        let me = try await host.instanceInfo()
        let c = (ProviderSettings(me.settings), me.baseURL.hasSuffix("/") ? String(me.baseURL.dropLast()) : me.baseURL)
        cached.value.withLock { $0 = c }
        return c
    }

    // MARK: Wizard

    static let steps = [clientStep]

    /// One step: the scopes offered are the deployment's.
    static let clientStep = DeclaredStep<OAuth2IncomingLinkType>(
        id: "client", title: "Register the application",
        answers: ["name", "redirect_url", "scopes", "client_type", "allow_client_credentials", "resource_server"],
        form: { plugin, _ in
            let settings = try await plugin.context().settings
            return StepForm([
                WizardField(name: "name", label: "Application name"),
                WizardField(
                    name: "redirect_url", label: "Redirect URLs",
                    help: "One or more, separated by spaces: matched exactly. https, or http on 127.0.0.1 or [::1] for a native app."),
                WizardField(
                    name: "scopes", label: "Scopes", type: .multichoice, choices: settings.scopes,
                    help: "What the application may ask your users for. SYSTEM_ADMIN lets it use the admin API as an administrator."),
                WizardField(
                    name: "client_type", label: "Client type", type: .choice, required: false, defaultValue: "confidential",
                    choices: ["confidential", "public"],
                    help: "confidential: a server that keeps a secret. public: a native or browser app, which must use PKCE."),
                WizardField(
                    name: "allow_client_credentials", label: "Allow the client_credentials grant", type: .bool, required: false,
                    defaultValue: false, help: "Lets the application get tokens for itself, without a user."),
                WizardField(
                    name: "resource_server", label: "A resource server: may introspect other clients' tokens", type: .bool,
                    required: false, defaultValue: false,
                    help: "Only for an API that accepts tokens issued to other applications. Others learn only about their own tokens."),
            ])
        },
        submit: { plugin, r in try await plugin.register(r, settings: try await plugin.context().settings) })

    func register(_ r: WizardRequest, settings: ProviderSettings) async throws -> StepOutcome<OAuth2IncomingLinkType> {
        let name = (r.answers["name"]?.stringValue ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let redirects = r.answers["redirect_url"]?.words ?? []
        let scopes = r.answers["scopes"]?.words ?? []
        let type = r.answers["client_type"]?.stringValue ?? "confidential"
        let allowCC = r.answers["allow_client_credentials"]?.boolValue ?? false
        let resourceServer = r.answers["resource_server"]?.boolValue ?? false
        var errors: [FieldError] = []
        if name.isEmpty { errors.append(FieldError(field: "name", message: "give the application a name its users will recognise")) }
        if redirects.isEmpty {
            errors.append(
                FieldError(field: "redirect_url", message: "give at least one redirect URL, such as https://app.example.com/callback"))
        }
        for problem in redirects.compactMap(RedirectURI.registrationProblem) {
            errors.append(FieldError(field: "redirect_url", message: problem))
        }
        if scopes.isEmpty {
            errors.append(FieldError(field: "scopes", message: "choose one or more of: \(settings.scopes.joined(separator: ", "))"))
        }
        if let unknown = scopes.first(where: { !settings.scopes.contains($0) }) {
            errors.append(
                FieldError(
                    field: "scopes", message: "'\(unknown)' is not a scope here; choose from \(settings.scopes.joined(separator: ", "))"))
        }
        if !["confidential", "public"].contains(type) {
            errors.append(FieldError(field: "client_type", message: "'\(type)' is neither confidential nor public"))
        }
        if type == "public" && allowCC {
            errors.append(
                FieldError(field: "allow_client_credentials", message: "a public client has no secret, so it cannot use client_credentials")
            )
        }
        if !errors.isEmpty { return .invalid(errors) }

        // 128 random bits: unguessable, and short enough for logs and URLs.
        let clientID = SecureRandom.token(bits: 128)
        let secret = type == "confidential" ? Secrets.generate() : nil
        try await store.saveClient(
            ClientRecord(
                clientID: clientID, name: name, secretHash: secret.map(Secrets.hash), redirectURIs: redirects, scopes: scopes,
                confidential: type == "confidential", allowClientCredentials: allowCC, createdAt: Date().timeIntervalSince1970,
                resourceServer: resourceServer))
        let issuer = try await context().issuer
        var credentials: [String: JSONValue] = [
            "client_id": .string(clientID), "redirect_urls": .array(redirects.map(JSONValue.string)),
            "scopes": .array(scopes.map(JSONValue.string)), "authorization_endpoint": .string(issuer + AuthorizeEndpoint.path),
            "token_endpoint": .string(issuer + TokenEndpoints.token), "issuer": .string(issuer),
        ]
        var messages: [WizardMessage] = []
        if let secret {
            credentials["client_secret"] = .string(secret)
            messages.append(
                WizardMessage(
                    .info,
                    settings.allowViewingSecrets
                        ? "Give the application its client id and secret; `view-credentials` shows them again."
                        : "Copy the client secret now: this deployment shows it only once (oauth2.allow_viewing_secrets is off)."))
        }
        let origin = URLComponents(string: redirects[0]).map {
            "\($0.scheme ?? "https")://\($0.host ?? "")" + ($0.port.map { ":\($0)" } ?? "")
        }
        return .done(
            LinkSpec(
                name: name, application: ApplicationInfo(type: "oauth2-client", name: name), displayURL: origin ?? redirects[0],
                incomingAuth: [Self.auth],
                config: [
                    "client_id": .string(clientID), "redirect_urls": .array(redirects.map(JSONValue.string)),
                    "scopes": .array(scopes.map(JSONValue.string)), "client_type": .string(type),
                    "allow_client_credentials": .bool(allowCC), "resource_server": .bool(resourceServer),
                ]),
            secrets: secret.flatMap { settings.allowViewingSecrets ? ["client_secret": $0] : nil } ?? [:],
            messages: messages, credentials: .object(credentials))
    }

    // MARK: Status

    func checkStatus(_ r: StatusRequest) async throws -> StatusResponse {
        let id = r.link.config["client_id"]?.stringValue ?? ""
        guard let client = try await store.client(id) else {
            return StatusResponse(
                .configError, .invalidConfig,
                message: "The client '\(id)' is not registered in this host's store; delete the link and register the application again.")
        }
        let grants = try await store.grants(client: id)
        return StatusResponse(
            .connected,
            message: "\(client.name) can sign users in (client \(id)); \(grants.count) authorization\(grants.count == 1 ? "" : "s").")
    }

    // MARK: Actions

    static func date(_ t: Double) -> String { Timestamp.format(Date(timeIntervalSince1970: t)) }

    static func json(_ g: GrantRecord, clientName: String, linkID: String) -> JSONValue {
        [
            "id": .string(g.id), "user": .string(g.user), "client": .string(clientName), "link_id": .string(linkID),
            "scopes": .array(g.scopes.map(JSONValue.string)), "created_at": .string(date(g.createdAt)),
            "last_used_at": .string(date(g.lastUsedAt)),
        ]
    }

    // MARK: HTTP

    /// The token endpoints, with the deployment's settings and the issuer.
    func tokens() async throws -> TokenEndpoints {
        let (settings, issuer) = try await context()
        return TokenEndpoints(store: store, settings: settings, issuer: issuer)
    }

    func authorizeEndpoint() async throws -> AuthorizeEndpoint {
        let (settings, issuer) = try await context()
        return AuthorizeEndpoint(store: store, settings: settings, issuer: issuer)
    }

    /// RFC 8414 metadata, so that clients configure themselves from the issuer URL alone.
    func metadata(_ settings: ProviderSettings, issuer: String) -> PluginHTTPResponse {
        let auth: JSONValue = ["client_secret_basic", "client_secret_post"]
        let body: JSONValue = [
            "issuer": .string(issuer),
            "authorization_endpoint": .string(issuer + AuthorizeEndpoint.path),
            "token_endpoint": .string(issuer + TokenEndpoints.token),
            "revocation_endpoint": .string(issuer + TokenEndpoints.revoke),
            "introspection_endpoint": .string(issuer + TokenEndpoints.introspect),
            "scopes_supported": .array(settings.scopes.map(JSONValue.string)),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "introspection_endpoint_auth_methods_supported": auth,
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": true,
        ]
        return PluginHTTPResponse(
            status: 200, headers: [["Content-Type", "application/json"], ["Cache-Control", "max-age=300"]],
            body: (try? JSONCoding.encode(body)) ?? Data())
    }

    /// The logged-in user's own authorizations, each with a Revoke button: revoking from the user's side.
    func grantsPage(_ r: PluginHTTPRequest) async throws -> PluginHTTPResponse {
        let user = r.user?.name ?? ""
        let grants = try await store.grants(user: user)
        var names: [String: String] = [:]
        for g in grants where names[g.clientID] == nil { names[g.clientID] = try await store.client(g.clientID)?.name ?? g.clientID }
        var page: [String: JSONValue] = [
            "title": "Applications you have authorized",
            "paragraphs": .array(
                grants.isEmpty
                    ? ["You have not authorized any application."]
                    : grants.map {
                        .string(
                            "\(names[$0.clientID] ?? $0.clientID): \($0.scopes.joined(separator: ", ")), since \(Self.date($0.createdAt))")
                    }),
        ]
        if !grants.isEmpty {
            page["form"] = [
                "action": .string(Self.grantsPath), "hidden": [:],
                "buttons": .array(
                    grants.map {
                        ["name": "grant", "value": .string($0.id), "label": .string("Revoke \(names[$0.clientID] ?? $0.clientID)")]
                    }),
            ]
        }
        return .page(.object(page))
    }

    func revokeOwnGrant(_ r: PluginHTTPRequest) async throws -> PluginHTTPResponse {
        let id = FormURLEncoded(r.body)["grant"] ?? ""
        guard let grant = try await store.grant(id), grant.user == r.user?.name else {
            return PluginHTTPResponse(
                status: 404, headers: [["Content-Type", "text/plain; charset=utf-8"]], body: Data("You have no such authorization.\n".utf8))
        }
        try await store.revokeGrant(id)
        return PluginHTTPResponse(status: 303, headers: [["Location", Self.grantsPath]])
    }
}

final class SettingsCache: Sendable {
    let value = Locked<(ProviderSettings, String)?>(nil)
}

/// What the library's `applinks_plugin_entry` returns. The C symbol itself is in `Entry/`, a target of its own, so
/// that unit tests can link this link type beside the others.
public func pluginEntry(_ hostABIVersion: UInt32) -> UnsafeRawPointer? {
    PluginExport.entry(OAuth2IncomingLinkType.self, hostABIVersion: hostABIVersion)
}
