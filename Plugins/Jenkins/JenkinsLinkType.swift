import AppLinksCore
import AppLinksJSON
import AppLinksOAuth1
import AppLinksPluginKit
import Foundation

/// Jenkins with the "Bitbucket Server integration" plugin, over OAuth 1.0a: Jenkins is the provider (its admin
/// creates a consumer with a key and a shared secret), this host the consumer, which sees and starts builds as
/// the Jenkins user who authorized it.
struct JenkinsLinkType: DeclaredWizard {
    static let auth = "oauth"

    static let declaration = LinkTypeDescriptor(
        id: "jenkins", name: "Jenkins", version: "1.0.0", vendor: "AppLinks",
        description: "A Jenkins with the Bitbucket Server integration plugin: see jobs and start builds, over OAuth 1.0a.",
        directions: [.outgoing],
        wizard: .init(steps: []),
        statusChecks: [.init(id: "api", title: "A signed GET of /api/json")],
        authentication: .init(incoming: [], outgoing: [auth]))

    let host: HostAPI
    let authorization: JenkinsAuthorization
    let renewals = SingleFlight<OAuth1Client.Token>()

    init(host: HostAPI) throws {
        self.host = host
        self.authorization = JenkinsAuthorization(host: host)
    }

    /// Keeps a granted or renewed token in the link's secrets, and its expiry in the config.
    static func store(_ token: OAuth1Client.Token, in linkID: String, host: HostAPI) async throws {
        try await host.updateLink(id: linkID) { link in
            var changes = LinkChanges()
            var config = link.config
            config["token_expires_at"] = token.expiresIn.map { .number(Date().timeIntervalSince1970 + Double($0)) } ?? .null
            changes.config = config
            changes.secrets = ["access_token": token.token, "token_secret": token.secret, "session_handle": token.sessionHandle]
            return changes
        }
    }

    // MARK: Wizard

    static let steps = [urlStep, consumerStep, authorizeStep]

    static let urlStep = DeclaredStep<JenkinsLinkType>(
        id: "url", title: "Jenkins URL",
        fields: [
            WizardField(name: "url", label: "Jenkins URL", type: .url, help: "Such as https://ci.example.com"),
            WizardField(name: "name", label: "Link name", required: false, help: "Defaults to 'Jenkins' and the host name"),
        ]
    ) { plugin, r in try await plugin.submitURL(r) }

    static let consumerStep = DeclaredStep<JenkinsLinkType>(
        id: "consumer", title: "The OAuth consumer",
        fields: [
            WizardField(name: "consumer_key", label: "Consumer key", help: "From Manage Jenkins → Manage Bitbucket Server consumers"),
            WizardField(name: "shared_secret", label: "Shared secret", type: .secret),
            WizardField(
                name: "request_token_path", label: "Request-token path", required: false,
                defaultValue: .string(JenkinsPaths.defaults.requestToken)),
            WizardField(
                name: "access_token_path", label: "Access-token path", required: false,
                defaultValue: .string(JenkinsPaths.defaults.accessToken)),
            WizardField(
                name: "authorize_path", label: "Authorize path", required: false, defaultValue: .string(JenkinsPaths.defaults.authorize)),
        ]
    ) { plugin, r in try await plugin.authorize(r) }

    /// Polled while a Jenkins user approves the link; its answers are the consumer step's.
    static let authorizeStep = DeclaredStep<JenkinsLinkType>(id: "authorize", title: "Authorize", fields: []) { plugin, r in
        try await plugin.authorize(r)
    }

    func submitURL(_ r: WizardRequest) async throws -> StepOutcome<JenkinsLinkType> {
        guard let base = Self.normalized(r.answers["url"]?.stringValue ?? "") else {
            return .invalid([FieldError(field: "url", message: "give Jenkins' http(s) address, such as https://ci.example.com")])
        }
        var messages: [WizardMessage] = []
        if let existing = try await host.links().first(where: { Self.sameJenkins($0.rpcURL, base) }) {
            messages.append(
                WizardMessage(
                    .warning,
                    "\(base) is already linked as '\(existing.name)'. A second link to the same Jenkins is rarely wanted; edit that "
                        + "one, or go on to create another."))
        }
        switch await client(base: base, answers: r.answers).probe() {
        case .success(let version): messages.append(WizardMessage(.info, "Found Jenkins \(version) at \(base)."))
        case .failure(let failure) where Self.isAboutURL(failure) && failure.category != .networkError:
            // The host will not send anything there (a private address, say): no later step could work.
            return .invalid([FieldError(field: "url", message: failure.message)])
        case .failure(let failure): messages.append(WizardMessage(.warning, failure.message + " You may go on anyway."))
        }
        return .next(Self.consumerStep, messages: messages)
    }

    func authorize(_ r: WizardRequest) async throws -> StepOutcome<JenkinsLinkType> {
        guard let base = Self.normalized(r.answers["url"]?.stringValue ?? "") else {
            return .invalid([FieldError(field: "url", message: "the URL is missing")], step: Self.urlStep)
        }
        let key = (r.answers["consumer_key"]?.stringValue ?? "").trimmingCharacters(in: .whitespaces)
        let secret = r.answers["shared_secret"]?.stringValue ?? ""
        var errors: [FieldError] = []
        if key.isEmpty { errors.append(FieldError(field: "consumer_key", message: "give the consumer key from Jenkins")) }
        if secret.isEmpty { errors.append(FieldError(field: "shared_secret", message: "give the consumer's shared secret")) }
        let paths = Self.paths(r.answers)
        for (field, path) in [
            ("request_token_path", paths.requestToken), ("access_token_path", paths.accessToken), ("authorize_path", paths.authorize),
        ]
        where !path.hasPrefix("/") {
            errors.append(FieldError(field: field, message: "a path on Jenkins starts with '/'"))
        }
        if !errors.isEmpty { return .invalid(errors, step: Self.consumerStep) }
        let draft = r.draftID
        if let token = try await authorization.granted(draft: draft) {
            return try await finish(r, base: base, token: token)
        }
        if let why = try await authorization.denial(draft: draft) {
            // The next answer to this step asks Jenkins again, with new legs.
            try await host.kvDelete("denied/" + draft)
            try await host.kvDelete("draft-url/" + draft)
            return .invalid(
                [FieldError(field: "consumer_key", message: "Access was denied: \(why) Continue the wizard to ask again.")],
                step: Self.consumerStep)
        }
        // One request token per draft: polling the step must not start the legs again.
        if let url = try await host.kvGet("draft-url/" + draft).map({ String(decoding: $0, as: UTF8.self) }) {
            return .pending(url: url, message: "Waiting for a Jenkins user to approve the link.", step: Self.authorizeStep)
        }
        let url: String
        do {
            url = try await authorization.start(base: base, consumerKey: key, sharedSecret: secret, paths: paths, draft: draft, link: nil)
        } catch {
            // Blamed on what it is about: the URL when Jenkins cannot be reached there, else the consumer.
            return Self.isAboutURL(error)
                ? .invalid([FieldError(field: "url", message: error.message)], step: Self.urlStep)
                : .invalid([FieldError(field: "consumer_key", message: error.message)], step: Self.consumerStep)
        }
        try await host.kvPut("draft-url/" + draft, Data(url.utf8), ttl: JenkinsAuthorization.lifetime)
        return .pending(
            url: url, message: "Open this URL, log in to Jenkins and approve the link; the wizard goes on once Jenkins sends you back.",
            step: Self.authorizeStep)
    }

    /// Whether a failure concerns the Jenkins URL (out of reach, or refused by the host's address policy)
    /// rather than the consumer's key or secret.
    static func isAboutURL(_ failure: StatusFailure) -> Bool {
        failure.category == .networkError && !failure.refusedByRemote
            || failure.category == .configError && failure.type == .invalidConfig && !failure.refusedByRemote
    }

    /// Whether two base URLs name one Jenkins: scheme, host and port compared without case, paths without a
    /// trailing slash.
    static func sameJenkins(_ a: String, _ b: String) -> Bool {
        func key(_ s: String) -> String {
            let trimmed = s.hasSuffix("/") ? String(s.dropLast()) : s
            guard let u = URLComponents(string: trimmed) else { return trimmed.lowercased() }
            let port = u.port.map { ":\($0)" } ?? ""
            return "\(u.scheme?.lowercased() ?? "")://\(u.host?.lowercased() ?? "")\(port)\(u.path)"
        }
        return key(a) == key(b)
    }

    private func finish(_ r: WizardRequest, base: String, token: OAuth1Client.Token) async throws -> StepOutcome<JenkinsLinkType> {
        let paths = Self.paths(r.answers)
        let version = try? await client(base: base, answers: r.answers).probe().get()
        let given = (r.answers["name"]?.stringValue ?? "").trimmingCharacters(in: .whitespaces)
        let name = given.isEmpty ? "Jenkins (\(URLComponents(string: base)?.host ?? base))" : given
        var secrets = [
            "shared_secret": r.answers["shared_secret"]?.stringValue ?? "", "access_token": token.token, "token_secret": token.secret,
        ]
        secrets["session_handle"] = token.sessionHandle
        return .done(
            LinkSpec(
                name: name, application: ApplicationInfo(type: "jenkins", name: name, version: version), displayURL: base, rpcURL: base,
                outgoingAuth: [Self.auth],
                config: [
                    "consumer_key": .string((r.answers["consumer_key"]?.stringValue ?? "").trimmingCharacters(in: .whitespaces)),
                    "request_token_path": .string(paths.requestToken), "access_token_path": .string(paths.accessToken),
                    "authorize_path": .string(paths.authorize),
                    "token_expires_at": token.expiresIn.map { .number(Date().timeIntervalSince1970 + Double($0)) } ?? .null,
                ]),
            secrets: secrets, messages: [WizardMessage(.info, "Jenkins authorized the link.")])
    }

    static func normalized(_ text: String) -> String? {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard let url = URLComponents(string: t), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
            url.host?.isEmpty == false, url.query == nil, url.fragment == nil
        else { return nil }
        return t.hasSuffix("/") ? String(t.dropLast()) : t
    }

    static func paths(_ answers: [String: JSONValue]) -> JenkinsPaths {
        let text = { (name: String, fallback: String) -> String in
            let v = (answers[name]?.stringValue ?? "").trimmingCharacters(in: .whitespaces)
            return v.isEmpty ? fallback : v
        }
        return JenkinsPaths(
            requestToken: text("request_token_path", JenkinsPaths.defaults.requestToken),
            accessToken: text("access_token_path", JenkinsPaths.defaults.accessToken),
            authorize: text("authorize_path", JenkinsPaths.defaults.authorize))
    }

    /// A client for the wizard, before the link exists: unsigned probes only.
    private func client(base: String, answers: [String: JSONValue]) -> JenkinsClient {
        let link = Link(
            id: "", type: Self.declaration.id, name: "", application: ApplicationInfo(type: "jenkins"), displayURL: base, rpcURL: base)
        return JenkinsClient(
            host: host, link: link, paths: Self.paths(answers), renewals: renewals,
            credentials: JenkinsCredentials(link: link, secrets: [:]))
    }

    func client(_ link: Link, secrets: [String: String]) -> JenkinsClient {
        JenkinsClient(
            host: host, link: link, paths: JenkinsPaths(config: link.config), renewals: renewals,
            credentials: JenkinsCredentials(link: link, secrets: secrets))
    }

    // MARK: Status

    func checkStatus(_ r: StatusRequest) async throws -> StatusResponse {
        var client = client(r.link, secrets: r.secrets)
        let version: String
        switch await client.probe() {
        case .success(let v): version = v
        case .failure(let failure): return failure.status
        }
        guard client.credentials.token != nil else {
            return StatusFailure.needsAuthorization("No Jenkins user has authorized this link yet.", link: r.link.id).status
        }
        do {
            let response = try await client.send("GET", "/api/json?tree=nodeDescription")
            guard response.status == 200 else {
                return StatusResponse(
                    .networkError, .unexpectedResponseStatus, message: "Jenkins answered HTTP \(response.status) to /api/json.")
            }
            return StatusResponse(
                .connected, message: "Jenkins \(response.header("X-Jenkins") ?? version) answers this link's signed requests.",
                applicationVersion: response.header("X-Jenkins") ?? version)
        } catch {
            return error.status
        }
    }
}

/// What the library's `applinks_plugin_entry` returns. The C symbol itself is in `Entry/`, a target of its own, so
/// that unit tests can link this link type beside the others.
public func pluginEntry(_ hostABIVersion: UInt32) -> UnsafeRawPointer? {
    PluginExport.entry(JenkinsLinkType.self, hostABIVersion: hostABIVersion)
}
