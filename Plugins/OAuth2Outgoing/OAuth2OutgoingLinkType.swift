import AppLinksCore
import AppLinksPluginKit
import Foundation

/// A provider this host signs in to as an OAuth 2.0 client (authorization code with PKCE), keeping the tokens
/// fresh so that other link types, or a product embedding the host, can call the provider's APIs. One link is
/// one client registration at one provider.
struct OAuth2OutgoingLinkType: LinkTypePlugin {
    static let auth = "oauth2"

    static let descriptor = LinkTypeDescriptor(
        id: "oauth2-outgoing", name: "External application (OAuth 2.0 outgoing)", version: "1.0.0", vendor: "AppLinks",
        description: "A provider this host signs in to with OAuth 2.0, as Google, Microsoft, GitHub or another AppLinks host.",
        directions: [.outgoing],
        wizard: .init(steps: [
            .init(id: "provider", title: "Provider", fields: ["name", "provider"]),
            .init(
                id: "endpoints", title: "Endpoints",
                fields: [
                    "authorization_endpoint", "token_endpoint", "issuer", "revocation_endpoint", "status_url", "base_url",
                    "confirm_endpoint_host",
                ]),
            .init(id: "client", title: "Client credentials", fields: ["client_id", "client_secret", "scopes"]),
        ]),
        statusChecks: [.init(id: "token", title: "A token the provider accepts")],
        actions: [
            .init(id: "authorize", title: "Sign in at the provider: prints the URL to open; the callback stores the tokens"),
            .init(id: "token-status", title: "When the access token expires and what it allows (never the token itself)"),
            .init(
                id: "test-request", title: "GET a URL of the provider's API with the access token, refreshed first if needed",
                params: [.init(name: "url", type: .string, required: true, help: "An API URL, such as https://api.github.com/user")]),
            .init(
                id: "revoke", title: "Revoke the authorization at the provider (RFC 7009, where offered) and forget the tokens",
                destructive: true),
            .init(
                id: "set-credentials", title: "Replace the client id or secret the provider issued",
                params: [
                    .init(name: "client_id", type: .string, help: "The new client id"),
                    .init(name: "client_secret", type: .secret, help: "The new client secret"),
                ]),
            .init(
                id: "access-token", title: "A fresh access token, for the host's API (other link types, an embedding product)",
                hostOnly: true),
            .init(id: "delete", title: "Revoke at the provider and forget the tokens (run by `applinks delete`)", destructive: true),
        ],
        routes: [.init(method: "GET", path: AuthorizationFlow.path)],
        authentication: .init(incoming: [], outgoing: [auth]))

    let host: HostAPI
    let keeper: TokenKeeper
    let flow: AuthorizationFlow

    init(host: HostAPI) throws {
        self.host = host
        self.keeper = TokenKeeper(host: host)
        self.flow = AuthorizationFlow(host: host, keeper: keeper)
    }

    private func redirectURI() async throws -> String {
        let base = try await host.instanceInfo().baseURL
        return (base.hasSuffix("/") ? String(base.dropLast()) : base) + AuthorizationFlow.path
    }

    // MARK: Wizard

    func wizardStep(_ r: WizardRequest) async throws -> WizardResponse {
        switch r.step {
        case nil:
            return .fields(
                step: "provider", title: "Provider",
                fields: [
                    WizardField(name: "name", label: "Link name", help: "How admins will recognise this provider, such as 'GitHub'"),
                    WizardField(
                        name: "provider", label: "Provider", type: .choice, choices: ProviderEndpoints.kinds,
                        help: "applinks: another AppLinks host, found from its base URL. custom: enter the endpoints."),
                ], messages: [])
        case "provider":
            let name = (r.answers["name"]?.stringValue ?? "").trimmingCharacters(in: .whitespaces)
            let provider = r.answers["provider"]?.stringValue ?? ""
            var errors: [FieldError] = []
            if name.isEmpty { errors.append(FieldError(field: "name", message: "give the link a name")) }
            if !ProviderEndpoints.kinds.contains(provider) {
                errors.append(FieldError(field: "provider", message: "choose one of \(ProviderEndpoints.kinds.joined(separator: ", "))"))
            }
            if !errors.isEmpty { return .errors(step: "provider", errors: errors, messages: []) }
            switch provider {
            case "custom":
                return .fields(
                    step: "endpoints", title: "The provider's endpoints",
                    fields: [
                        WizardField(name: "authorization_endpoint", label: "Authorization endpoint", type: .url),
                        WizardField(name: "token_endpoint", label: "Token endpoint", type: .url),
                        WizardField(
                            name: "issuer", label: "Issuer (RFC 9207)", type: .url, required: false,
                            help: "The provider's issuer identifier, as its metadata names it. When set, every answer must carry it as iss."
                        ),
                        WizardField(
                            name: "revocation_endpoint", label: "Revocation endpoint (RFC 7009)", type: .url, required: false,
                            help: "Leave empty if the provider has none: `revoke` then forgets the tokens here only."),
                        WizardField(
                            name: "status_url", label: "API URL for the status check", type: .url, required: false,
                            help: "A GET with the token answers 2xx while the authorization holds, such as a userinfo endpoint."),
                    ], messages: [])
            case "applinks":
                return .fields(
                    step: "endpoints", title: "The other AppLinks host",
                    fields: [
                        WizardField(name: "base_url", label: "Its base URL", type: .url, help: "Such as https://wiki.example.com"),
                        WizardField(
                            name: "confirm_endpoint_host", label: "Confirm another host for the token endpoint", required: false,
                            help:
                                "Only if the wizard asks: the host its metadata sends the client secret to, when that is not the base URL's."
                        ),
                        WizardField(
                            name: "status_url", label: "API URL for the status check", type: .url, required: false,
                            help:
                                "A GET with the token answers 2xx while the authorization holds. Empty: an AppLinks host's own, found by itself."
                        ),
                    ],
                    messages: [])
            default:
                return try await clientStep(ProviderEndpoints.presets[provider]!)
            }
        case "endpoints":
            let (given, errors) = endpointsFromAnswers(r.answers)
            guard var endpoints = given else { return .errors(step: "endpoints", errors: errors, messages: []) }
            if endpoints.provider == "applinks" {
                do {
                    endpoints = try await ProviderEndpoints.discover(
                        base: endpoints.authorization, host: host, confirmedHost: r.answers["confirm_endpoint_host"]?.stringValue,
                        statusURL: endpoints.statusURL)
                } catch {
                    return .errors(step: "endpoints", errors: [FieldError(field: "base_url", message: error.message)], messages: [])
                }
            }
            return try await clientStep(endpoints)
        case "client":
            return try await finish(r)
        default:
            throw PluginError(code: "invalid_step", message: "The wizard has no step '\(r.step ?? "")'.")
        }
    }

    /// The endpoints the admin gave (custom), or the base URL to discover them from (applinks, kept in
    /// `authorization` until discovery).
    private func endpointsFromAnswers(_ answers: [String: JSONValue]) -> (ProviderEndpoints?, [FieldError]) {
        let provider = answers["provider"]?.stringValue ?? ""
        let text = { (name: String) in (answers[name]?.stringValue ?? "").trimmingCharacters(in: .whitespaces) }
        var errors: [FieldError] = []
        let required = provider == "applinks" ? ["base_url"] : ["authorization_endpoint", "token_endpoint"]
        let optional = provider == "applinks" ? ["status_url"] : ["revocation_endpoint", "status_url", "issuer"]
        for field in required {
            if let problem = ProviderEndpoints.urlProblem(text(field)) { errors.append(FieldError(field: field, message: problem)) }
        }
        for field in optional where !text(field).isEmpty {
            if let problem = ProviderEndpoints.urlProblem(text(field)) { errors.append(FieldError(field: field, message: problem)) }
        }
        if !errors.isEmpty { return (nil, errors) }
        if provider == "applinks" {
            return (
                ProviderEndpoints(
                    provider: "applinks", issuer: nil, authorization: text("base_url"), token: "", revocation: nil,
                    statusURL: text("status_url").isEmpty ? nil : text("status_url"), clientAuth: .basic, defaultScopes: []), []
            )
        }
        let optionalURL = { (name: String) in text(name).isEmpty ? nil : text(name) }
        var custom = ProviderEndpoints(
            provider: "custom", issuer: optionalURL("issuer"), authorization: text("authorization_endpoint"),
            token: text("token_endpoint"), revocation: optionalURL("revocation_endpoint"), statusURL: optionalURL("status_url"),
            clientAuth: .basic, defaultScopes: [])
        custom.issRequired = custom.issuer != nil
        return (custom, [])
    }

    static let noIssuerWarning = WizardMessage(
        .warning,
        "No issuer was given: an answer from another authorization server (a mix-up attack, RFC 9207) goes undetected. "
            + "Give the provider's issuer if it has one.")

    private func clientStep(_ endpoints: ProviderEndpoints) async throws -> WizardResponse {
        var messages = [
            WizardMessage(.info, "Register this redirect URL with the provider, then give the client it issued: \(try await redirectURI())")
        ]
        if endpoints.provider == "custom" && endpoints.issuer == nil {
            messages.append(Self.noIssuerWarning)
        }
        if endpoints.statusURL == nil {
            messages.append(
                WizardMessage(
                    .info,
                    "No status URL: the link's status shows whether it holds a valid token, and the provider judges it only when it "
                        + "is used or refreshed. Give status_url (an API URL that answers 2xx with the token) for a real check."))
        }
        if endpoints.provider == "applinks" {
            messages.append(
                WizardMessage(
                    .info,
                    "Found \(endpoints.issuer ?? "the host"): tokens from \(endpoints.token). Register the redirect URL there "
                        + "with `applinks create oauth2-incoming`."))
        }
        return .fields(
            step: "client", title: "Client credentials",
            fields: [
                WizardField(name: "client_id", label: "Client id"),
                WizardField(name: "client_secret", label: "Client secret", type: .secret),
                WizardField(
                    name: "scopes", label: "Scopes", required: false,
                    defaultValue: endpoints.defaultScopes.isEmpty ? nil : .string(endpoints.defaultScopes.joined(separator: " ")),
                    help: "Separated by spaces, as the provider names them"),
            ], messages: messages)
    }

    private func finish(_ r: WizardRequest) async throws -> WizardResponse {
        let provider = r.answers["provider"]?.stringValue ?? ""
        var endpoints: ProviderEndpoints
        if let preset = ProviderEndpoints.presets[provider] {
            endpoints = preset
        } else {
            let (found, errors) = endpointsFromAnswers(r.answers)
            guard let given = found else { return .errors(step: "endpoints", errors: errors, messages: []) }
            endpoints = given
            if provider == "applinks" {
                do {
                    endpoints = try await ProviderEndpoints.discover(
                        base: given.authorization, host: host, confirmedHost: r.answers["confirm_endpoint_host"]?.stringValue,
                        statusURL: given.statusURL)
                } catch {
                    return .errors(step: "endpoints", errors: [FieldError(field: "base_url", message: error.message)], messages: [])
                }
            }
        }
        let clientID = (r.answers["client_id"]?.stringValue ?? "").trimmingCharacters(in: .whitespaces)
        let secret = r.answers["client_secret"]?.stringValue ?? ""
        var errors: [FieldError] = []
        if clientID.isEmpty { errors.append(FieldError(field: "client_id", message: "give the client id the provider issued")) }
        if secret.isEmpty { errors.append(FieldError(field: "client_secret", message: "give the client secret the provider issued")) }
        if !errors.isEmpty { return .errors(step: "client", errors: errors, messages: []) }
        let scopes = r.answers["scopes"]?.words ?? endpoints.defaultScopes
        var config = endpoints.config
        config["client_id"] = .string(clientID)
        config["scopes"] = .array(scopes.map(JSONValue.string))
        let name = (r.answers["name"]?.stringValue ?? "").trimmingCharacters(in: .whitespaces)
        let origin = URLComponents(string: endpoints.issuer ?? endpoints.authorization).map {
            "\($0.scheme ?? "https")://\($0.host ?? "")" + ($0.port.map { ":\($0)" } ?? "")
        }
        return .done(
            link: LinkSpec(
                name: name, application: ApplicationInfo(type: "oauth2-provider", name: name),
                displayURL: origin ?? endpoints.authorization,
                outgoingAuth: [Self.auth], config: config),
            secrets: ["client_secret": secret],
            messages: (endpoints.provider == "custom" && endpoints.issuer == nil ? [Self.noIssuerWarning] : []) + [
                WizardMessage(.info, "Next: run the authorize action on the new link and approve access at the provider.")
            ])
    }

    // MARK: Status

    func checkStatus(_ r: StatusRequest) async throws -> StatusResponse {
        guard let client = client(r.link, secrets: r.secrets) else {
            return StatusResponse(
                .configError, .invalidConfig, message: "The link has no provider endpoints; delete it and create it again.")
        }
        do {
            // Until the first authorization there is nothing to ask the provider that would not be logged there as
            // a failure: the status says what happened last, or that nothing has yet.
            guard let tokens = try await keeper.load(r.link.id) else {
                if let last = try await LastError(host: host).last(r.link.id) { return last.status }
                return StatusFailure.needsAuthorization("This link has not been authorized at the provider yet.", link: r.link.id).status
            }
            var access = try await keeper.accessToken(r.link.id, client: client)
            if let statusURL = client.endpoints.statusURL {
                var answer = try await get(statusURL, bearer: access)
                if answer.status == 401 {
                    access = try await keeper.accessToken(r.link.id, client: client, rejected: access)
                    answer = try await get(statusURL, bearer: access)
                }
                if answer.status == 401 || answer.status == 403 {
                    return StatusFailure.needsAuthorization(
                        "The provider refuses this link's token at \(statusURL) (HTTP \(answer.status)).", link: r.link.id
                    ).status
                }
                guard (200..<300).contains(answer.status) else {
                    return StatusResponse(
                        .networkError, .unexpectedResponseStatus,
                        message: "\(statusURL) answered HTTP \(answer.status) to this link's token.")
                }
            }
            let current = try await keeper.load(r.link.id)?.stored ?? tokens.stored
            var message = "Authorized at \(client.endpoints.issuer ?? client.endpoints.authorization)"
            if client.endpoints.statusURL == nil {
                message += " (no status URL: the provider checks the token only when it is used or refreshed)"
            }
            if let expires = current.expiresAt {
                message += "; the access token is valid until \(Timestamp.format(Date(timeIntervalSince1970: expires)))"
                message += current.refresh == nil ? "" : " and is refreshed before then"
            }
            message += "."
            if let warning = AuthorizationFlow.warning(current) { message += " " + warning }
            return StatusResponse(.connected, message: message)
        } catch let failure as StatusFailure {
            return failure.status
        }
    }

    private func client(_ link: Link, secrets: [String: String]) -> TokenClient? {
        guard let endpoints = ProviderEndpoints(config: link.config) else { return nil }
        return TokenClient(
            host: host, endpoints: endpoints, clientID: link.config["client_id"]?.stringValue ?? "", clientSecret: secrets["client_secret"],
            link: link.id)
    }

    private func get(_ url: String, bearer: String) async throws(StatusFailure) -> HostHTTPResponse {
        do {
            return try await host.http(
                HostHTTPRequest(
                    url: url, headers: [["Authorization", "Bearer " + bearer], ["Accept", "application/json"]], timeoutMs: 10_000))
        } catch {
            throw .from(error, reaching: url)
        }
    }

    // MARK: Actions

    func invokeAction(_ r: ActionRequest) async throws -> ActionResponse {
        guard let client = client(r.link, secrets: r.secrets) else {
            throw PluginError(code: "invalid_input", message: "\(r.link.name) has no provider endpoints; delete it and create it again.")
        }
        do {
            return try await run(r, client: client)
        } catch let failure as StatusFailure {
            throw failure.pluginError
        }
    }

    private func run(_ r: ActionRequest, client: TokenClient) async throws -> ActionResponse {
        let link = r.link
        switch r.action {
        case "authorize":
            let url = try await flow.start(
                link: link, endpoints: client.endpoints, secret: client.clientSecret, redirectURI: try await redirectURI(), actor: r.actor)
            return ActionResponse(
                message: "Open this URL in a browser, sign in at the provider and allow access; the provider sends the browser back "
                    + "here, which completes the authorization (within ten minutes):\n\(url)",
                output: ["authorization_url": .string(url)])
        case "token-status":
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
        case "test-request":
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
        case "revoke", "delete":
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
        case "set-credentials":
            let id = r.args["client_id"]?.stringValue, secret = r.args["client_secret"]?.stringValue
            guard id != nil || secret != nil else {
                throw PluginError(code: "invalid_input", message: "Give --arg client_id=… or --arg client_secret=…, or both.")
            }
            var changes = LinkChanges()
            if let id, !id.isEmpty {
                var config = link.config
                config["client_id"] = .string(id)
                changes.config = config
            }
            if let secret, !secret.isEmpty { changes.secrets = ["client_secret": secret] }
            // The provider judges the new credentials at once, with the refresh token this link holds: a wrong
            // secret is refused here, not discovered at the next refresh.
            let replaced = TokenClient(
                host: host, endpoints: client.endpoints, clientID: (id?.isEmpty == false ? id : nil) ?? client.clientID,
                clientSecret: (secret?.isEmpty == false ? secret : nil) ?? client.clientSecret, link: link.id)
            var checked = "it is checked at the next authorization"
            if try await keeper.load(link.id)?.refresh != nil {
                do {
                    _ = try await keeper.refreshNow(link.id, client: replaced)
                    checked = "the provider accepted them"
                } catch let failure as StatusFailure where failure.refusedByRemote && failure.type != .localAuthTokenRequired {
                    throw StatusFailure(
                        failure.category, failure.type, "Nothing was changed: \(failure.message)", refusedByRemote: true)
                }
            }
            try await LastError(host: host).clear(link.id)
            return ActionResponse(message: "Updated \(link.name)'s client credentials; \(checked).", changes: changes)
        case "access-token":
            let access = try await keeper.accessToken(link.id, client: client)
            let expires = try await keeper.load(link.id)?.stored.expiresAt
            return ActionResponse(
                output: [
                    "access_token": .string(access), "token_type": "Bearer",
                    "expires_at": expires.map { .string(Timestamp.format(Date(timeIntervalSince1970: $0))) } ?? .null,
                ])
        default:
            throw PluginError(code: "unknown_action", message: "The action '\(r.action)' is not one of this link type's.")
        }
    }

    // MARK: HTTP

    func handleHTTP(_ r: PluginHTTPRequest) async throws -> PluginHTTPResponse {
        guard r.method == "GET", r.path == AuthorizationFlow.path else { return PluginHTTPResponse(status: 404) }
        return try await flow.callback(r)
    }
}

@_cdecl("applinks_plugin_entry")
public func applinksPluginEntry(_ hostABIVersion: UInt32) -> UnsafeRawPointer? {
    PluginExport.entry(OAuth2OutgoingLinkType.self, hostABIVersion: hostABIVersion)
}
