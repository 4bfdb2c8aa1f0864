import AppLinksCore
import AppLinksJSON
import AppLinksPluginKit
import Foundation

/// A provider this host signs in to as an OAuth 2.0 client (authorization code with PKCE), keeping the tokens
/// fresh so that other link types, or a product embedding the host, can call the provider's APIs. One link is
/// one client registration at one provider.
struct OAuth2OutgoingLinkType: DeclaredWizard {
    static let auth = "oauth2"

    static let declaration = LinkTypeDescriptor(
        id: "oauth2-outgoing", name: "External application (OAuth 2.0 outgoing)", version: "1.0.0", vendor: "AppLinks",
        description: "A provider this host signs in to with OAuth 2.0, as Google, Microsoft, GitHub or another AppLinks host.",
        directions: [.outgoing],
        wizard: .init(steps: []),
        statusChecks: [.init(id: "token", title: "A token the provider accepts")],
        authentication: .init(incoming: [], outgoing: [auth]))

    let host: HostAPI
    let keeper: TokenKeeper
    let flow: AuthorizationFlow

    init(host: HostAPI) throws {
        self.host = host
        self.keeper = TokenKeeper(host: host)
        self.flow = AuthorizationFlow(host: host, keeper: keeper)
    }

    func redirectURI() async throws -> String { try await host.callbackURL(AuthorizationFlow.path) }

    // MARK: Wizard

    static let steps = [providerStep, endpointsStep, clientStep]

    static let providerStep = DeclaredStep<OAuth2OutgoingLinkType>(
        id: "provider", title: "Provider",
        fields: [
            WizardField(name: "name", label: "Link name", help: "How admins will recognise this provider, such as 'GitHub'"),
            WizardField(
                name: "provider", label: "Provider", type: .choice, choices: ProviderEndpoints.kinds,
                help: "applinks: another AppLinks host, found from its base URL. custom: enter the endpoints."),
        ]
    ) { plugin, r in
        let name = (r.answers["name"]?.stringValue ?? "").trimmingCharacters(in: .whitespaces)
        let provider = r.answers["provider"]?.stringValue ?? ""
        var errors: [FieldError] = []
        if name.isEmpty { errors.append(FieldError(field: "name", message: "give the link a name")) }
        if !ProviderEndpoints.kinds.contains(provider) {
            errors.append(FieldError(field: "provider", message: "choose one of \(ProviderEndpoints.kinds.joined(separator: ", "))"))
        }
        if !errors.isEmpty { return .invalid(errors) }
        guard let preset = ProviderEndpoints.presets[provider] else { return .next(endpointsStep) }
        return try await plugin.askForClient(preset)
    }

    /// The provider's endpoints (custom), or the other AppLinks host's base URL to discover them from (applinks).
    static let endpointsStep = DeclaredStep<OAuth2OutgoingLinkType>(
        id: "endpoints", title: "Endpoints",
        answers: [
            "authorization_endpoint", "token_endpoint", "issuer", "revocation_endpoint", "status_url", "base_url", "confirm_endpoint_host",
        ],
        form: { _, r in
            let statusHelp = "A GET with the token answers 2xx while the authorization holds"
            guard r.answers["provider"]?.stringValue == "applinks" else {
                return StepForm(
                    [
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
                            help: statusHelp + ", such as a userinfo endpoint."),
                    ], title: "The provider's endpoints")
            }
            return StepForm(
                [
                    WizardField(name: "base_url", label: "Its base URL", type: .url, help: "Such as https://wiki.example.com"),
                    WizardField(
                        name: "confirm_endpoint_host", label: "Confirm another host for the token endpoint", required: false,
                        help: "Only if the wizard asks: the host its metadata sends the client secret to, when that is not the base URL's."),
                    WizardField(
                        name: "status_url", label: "API URL for the status check", type: .url, required: false,
                        help: statusHelp + ". Empty: an AppLinks host's own, found by itself."),
                ], title: "The other AppLinks host")
        },
        submit: { plugin, r in
            switch try await plugin.endpoints(r) {
            case .success(let endpoints): try await plugin.askForClient(endpoints)
            case .failure(let errors): .invalid(errors.errors)
            }
        })

    static let clientStep = DeclaredStep<OAuth2OutgoingLinkType>(
        id: "client", title: "Client credentials",
        fields: [
            WizardField(name: "client_id", label: "Client id"),
            WizardField(name: "client_secret", label: "Client secret", type: .secret),
            WizardField(name: "scopes", label: "Scopes", required: false, help: "Separated by spaces, as the provider names them"),
        ]
    ) { plugin, r in try await plugin.finish(r) }

    /// Field errors, as a failure.
    struct FieldErrors: Error { var errors: [FieldError] }

    /// The endpoints the answers give: a preset's, the custom ones, or those discovered from another AppLinks host.
    func endpoints(_ r: WizardRequest) async throws -> Result<ProviderEndpoints, FieldErrors> {
        if let preset = ProviderEndpoints.presets[r.answers["provider"]?.stringValue ?? ""] { return .success(preset) }
        let (given, errors) = endpointsFromAnswers(r.answers)
        guard let given else { return .failure(FieldErrors(errors: errors)) }
        guard given.provider == "applinks" else { return .success(given) }
        do {
            return .success(
                try await ProviderEndpoints.discover(
                    base: given.authorization, host: host, confirmedHost: r.answers["confirm_endpoint_host"]?.stringValue,
                    statusURL: given.statusURL))
        } catch {
            return .failure(FieldErrors(errors: [FieldError(field: "base_url", message: error.message)]))
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

    func askForClient(_ endpoints: ProviderEndpoints) async throws -> StepOutcome<OAuth2OutgoingLinkType> {
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
        let fields = (Self.clientStep.fields ?? []).map { field in
            var field = field
            if field.name == "scopes", !endpoints.defaultScopes.isEmpty {
                field.defaultValue = .string(endpoints.defaultScopes.joined(separator: " "))
            }
            return field
        }
        return .next(Self.clientStep, messages: messages, form: StepForm(fields))
    }

    func finish(_ r: WizardRequest) async throws -> StepOutcome<OAuth2OutgoingLinkType> {
        let endpoints: ProviderEndpoints
        switch try await self.endpoints(r) {
        case .success(let found): endpoints = found
        case .failure(let errors): return .invalid(errors.errors, step: Self.endpointsStep)
        }
        let clientID = (r.answers["client_id"]?.stringValue ?? "").trimmingCharacters(in: .whitespaces)
        let secret = r.answers["client_secret"]?.stringValue ?? ""
        var errors: [FieldError] = []
        if clientID.isEmpty { errors.append(FieldError(field: "client_id", message: "give the client id the provider issued")) }
        if secret.isEmpty { errors.append(FieldError(field: "client_secret", message: "give the client secret the provider issued")) }
        if !errors.isEmpty { return .invalid(errors) }
        let scopes = r.answers["scopes"]?.words ?? endpoints.defaultScopes
        var config = endpoints.config
        config["client_id"] = .string(clientID)
        config["scopes"] = .array(scopes.map(JSONValue.string))
        let name = (r.answers["name"]?.stringValue ?? "").trimmingCharacters(in: .whitespaces)
        let origin = URLComponents(string: endpoints.issuer ?? endpoints.authorization).map {
            "\($0.scheme ?? "https")://\($0.host ?? "")" + ($0.port.map { ":\($0)" } ?? "")
        }
        return .done(
            LinkSpec(
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

    func client(_ link: Link, secrets: [String: String]) -> TokenClient? {
        guard let endpoints = ProviderEndpoints(config: link.config) else { return nil }
        return TokenClient(
            host: host, endpoints: endpoints, clientID: link.config["client_id"]?.stringValue ?? "", clientSecret: secrets["client_secret"],
            link: link.id)
    }

    func get(_ url: String, bearer: String) async throws(StatusFailure) -> HostHTTPResponse {
        do {
            return try await host.http(
                HostHTTPRequest(
                    url: url, headers: [["Authorization", "Bearer " + bearer], ["Accept", "application/json"]], timeoutMs: 10_000))
        } catch {
            throw .from(error, reaching: url)
        }
    }
}

/// What the library's `applinks_plugin_entry` returns. The C symbol itself is in `Entry/`, a target of its own, so
/// that unit tests can link this link type beside the others.
public func pluginEntry(_ hostABIVersion: UInt32) -> UnsafeRawPointer? {
    PluginExport.entry(OAuth2OutgoingLinkType.self, hostABIVersion: hostABIVersion)
}
