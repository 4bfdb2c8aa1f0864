import AppLinksCore
import AppLinksCrypto
import AppLinksOAuth1
import AppLinksPluginKit
import AppLinksPluginOAuth1
import Foundation

/// The original application-links mechanism: enter a URL, the wizard finds out what answers there, and two
/// application-links hosts (or an Atlassian product) authorize each other with OAuth 1.0 and RSA-SHA1. Anything
/// else is a Generic application, linked with the OAuth 1.0 details the admin gives.
struct AtlassianOAuth1LinkType: LinkTypePlugin {
    static let oauth = "com.atlassian.applinks.api.auth.types.OAuthAuthenticationProvider"
    static let twoLegged = "com.atlassian.applinks.api.auth.types.TwoLeggedOAuthAuthenticationProvider"
    static let impersonating = "com.atlassian.applinks.api.auth.types.TwoLeggedOAuthWithImpersonationAuthenticationProvider"

    static let levels = ["3LO and 2LO", "3LO, 2LO and 2LO with impersonation"]

    static let descriptor = LinkTypeDescriptor(
        id: "atlassian-oauth1", name: "Atlassian product / OAuth 1.0", version: "1.0.0", vendor: "AppLinks",
        description: "Two-way links with other application-links hosts and Atlassian products, and OAuth 1.0 applications.",
        directions: [.incoming, .outgoing, .twoWay],
        wizard: .init(steps: [
            // `reciprocal` is hidden: another host's wizard sets it when it asks for this side of its link.
            .init(id: "url", title: "Application URL", fields: ["url", "reciprocal"]),
            .init(
                id: "remote", title: "Remote administrator",
                fields: ["remote_side", "remote_user", "remote_password", "remote_token", "allow_http", "auth", "existing_remote"]),
            .init(id: "reciprocal", title: "The remote creates its side", fields: []),
            .init(
                id: "generic", title: "Generic application",
                fields: [
                    "name", "incoming_consumer_key", "incoming_public_key", "incoming_callback", "incoming_2lo", "incoming_execute_as",
                    "incoming_impersonation", "outgoing_consumer_key", "outgoing_secret", "outgoing_private_key",
                    "outgoing_request_token_url", "outgoing_authorize_url", "outgoing_access_token_url",
                ]),
        ]),
        statusChecks: [.init(id: "remote", title: "The remote answers signed requests")],
        actions: [
            .init(
                id: "whoami", title: "Ask the remote who a user is there, signed with the user's 3LO token",
                params: [.init(name: "user", type: .string, required: true, help: "A user here who authorized this instance on the remote")]
            ),
            .init(id: "consumer-info", title: "Show the consumer key and public key this side signs with"),
            .init(
                id: "relocate", title: "Point the link at the application's new URL",
                params: [.init(name: "url", type: .url, required: true)]),
            .init(
                id: "delete",
                title:
                    "Run when the link is deleted; with remote credentials (`applinks delete LINK --arg …`), deletes the remote's reciprocal link too",
                destructive: true,
                params: [
                    .init(name: "remote_user", type: .string), .init(name: "remote_password", type: .secret),
                    .init(name: "remote_token", type: .secret),
                ]),
            .init(
                id: "edit-auth", title: "Change this side's authentication",
                params: [
                    .init(
                        name: "level", type: .string, required: true,
                        help: "'3LO and 2LO', '3LO, 2LO and 2LO with impersonation', or 'none'")
                ]),
            .init(
                id: "list-grants", title: "Who approved this application (3LO) here, and since when",
                params: [.init(name: "user", type: .string, help: "Only this user's approvals")]),
            .init(
                id: "revoke-grant", title: "Revoke one approval: its token stops working and cannot be renewed", destructive: true,
                params: [
                    .init(name: "grant", type: .string, required: true, help: "The approval's id, from list-grants"),
                    .init(name: "user", type: .string, help: "Revoke only if the approval is this user's"),
                ]),
        ],
        routes: [
            .init(method: "GET", path: "/plugins/servlet/oauth/consumer-info", auth: .none),
            .init(method: "POST", path: "/plugins/servlet/oauth/request-token", auth: .none),
            .init(method: "GET", path: "/plugins/servlet/oauth/authorize", auth: .user),
            .init(method: "POST", path: "/plugins/servlet/oauth/authorize", auth: .user),
            .init(method: "POST", path: "/plugins/servlet/oauth/access-token", auth: .none),
            .init(method: "GET", path: Authorization.startPath, auth: .user),
            .init(method: "GET", path: Authorization.callbackPath, auth: .user),
            .init(method: "GET", path: "/plugins/atlassian-oauth1/whoami", auth: .none),
            .init(method: "GET", path: Self.wizardReturnPath, auth: .admin),
        ],
        authentication: .init(incoming: [oauth, twoLegged, impersonating], outgoing: [oauth, twoLegged, impersonating]))

    let host: HostAPI
    /// Where the remote's page sends the admin's browser back to, once it created its side of the link.
    static let wizardReturnPath = "/plugins/atlassian-oauth1/wizard-return"

    init(host: HostAPI) throws { self.host = host }

    // MARK: Wizard

    func wizardStep(_ r: WizardRequest) async throws -> WizardResponse {
        switch r.step {
        case nil:
            return .fields(
                step: "url", title: "Application URL",
                fields: [
                    WizardField(
                        name: "url", label: "Application URL", type: .url,
                        help: "The base URL of the application, such as https://jira.example.com")
                ], messages: [])
        case "url": return try await urlStep(r)
        case "remote": return try await remoteStep(r)
        case "reciprocal": return try await reciprocalStep(r)
        case "generic": return try await genericStep(r)
        default: throw PluginError(code: "invalid_step", message: "The wizard has no step '\(r.step ?? "")'.")
        }
    }

    private func urlStep(_ r: WizardRequest) async throws -> WizardResponse {
        let given = r.answers["url"]?.stringValue ?? ""
        guard let base = RemoteApplication.normalized(given) else {
            return .errors(
                step: "url",
                errors: [
                    FieldError(
                        field: "url",
                        message:
                            "'\(given)' is not an http:// or https:// URL; give the application's base URL, such as https://jira.example.com"
                    )
                ],
                messages: [])
        }
        switch await RemoteApplication.detect(base, host: host) {
        case .refused(let why):
            return .errors(step: "url", errors: [FieldError(field: "url", message: why)], messages: [])
        case .unreachable(let type, let message):
            return genericFields([
                WizardMessage(
                    .warning,
                    "No application answered at \(base) (\(type.rawValue): \(message)). You may go on and link it as a Generic application, or go back and check the URL."
                )
            ])
        case .noManifest(let why):
            return genericFields([WizardMessage(.info, "\(why); it will be linked as a Generic application.")])
        case .found(let manifest, let found, let redirectedFrom):
            if let refusal = try await refusal(manifest) {
                return .errors(step: "url", errors: [FieldError(field: "url", message: refusal)], messages: [])
            }
            var messages = [WizardMessage(.info, "Found \(manifest.typeId) '\(manifest.name)' (\(manifest.id)) at \(found).")]
            if let redirectedFrom {
                messages.append(
                    WizardMessage(
                        .warning,
                        "\(redirectedFrom) redirected to \(found); the link uses \(found). If that is not the application's own base URL, go back and give the right one."
                    ))
            }
            if r.answers["reciprocal"]?.boolValue == true {
                // A remote host's wizard asked for this side of its link: it holds our consumer already.
                if let refusal = Self.plainHTTPRefusal(found, r) { return refusal }
                return try await linkRemote(
                    manifest, base: found, impersonation: Self.impersonation(r), reciprocalLinkID: nil, messages: messages)
            }
            return .fields(
                step: "remote", title: "Link to \(manifest.name)",
                fields: [
                    WizardField(
                        name: "remote_side", label: "Create \(manifest.name)'s side of the link", type: .choice, required: false,
                        defaultValue: "credentials", choices: ["credentials", "browser"],
                        help:
                            "credentials: with the remote administrator's name and password (or token) below. browser: this browser goes to \(manifest.name), where you create its side as its administrator, and comes back."
                    ),
                    WizardField(name: "remote_user", label: "Remote administrator's user name", required: false),
                    WizardField(name: "remote_password", label: "Remote administrator's password", type: .secret, required: false),
                    WizardField(name: "remote_token", label: "Or a remote administrator's token", type: .secret, required: false),
                    WizardField(
                        name: "allow_http", label: "Fetch its consumer key over plain http", type: .bool, required: false,
                        defaultValue: false,
                        help:
                            "Only for an application without https, on a network you trust: over http, the consumer key both sides trust could be replaced on the way."
                    ),
                    WizardField(
                        name: "auth", label: "Authentication", type: .choice, required: false, defaultValue: .string(Self.levels[0]),
                        choices: Self.levels,
                        help:
                            "2LO with impersonation lets the remote act as any user here: choose it only when both sides share one user base."
                    ),
                ], messages: messages)
        }
    }

    /// Why a found application may not be linked: this very instance, or one already linked.
    private func refusal(_ manifest: RemoteManifest) async throws -> String? {
        let me = try await host.instanceInfo()
        if manifest.id == me.id { return "That URL is this instance itself (\(me.baseURL)); give the other application's URL." }
        if let existing = try await host.links().first(where: { $0.application.id == manifest.id }) {
            return "\(manifest.name) (\(manifest.id)) is already linked as '\(existing.name)'; edit that link instead."
        }
        return nil
    }

    static func impersonation(_ r: WizardRequest) -> Bool { r.answers["auth"]?.stringValue == levels[1] }

    /// A two-way link trusts the consumer key and public key the remote serves. Over plain http they could be
    /// swapped on the way, so they are fetched that way only when the admin allows it for this link.
    static func plainHTTPRefusal(_ base: String, _ r: WizardRequest) -> WizardResponse? {
        guard base.lowercased().hasPrefix("http://"), r.answers["allow_http"]?.boolValue != true else { return nil }
        return .errors(
            step: "remote",
            errors: [
                FieldError(
                    field: "allow_http",
                    message:
                        "\(base) is plain http, so the consumer key this link would trust could be replaced on the way. Use its https URL, or allow http for this link (--set allow_http=true) on a network you trust."
                )
            ], messages: [])
    }

    /// The remote the `url` answer names, found again and still allowed to be linked; else the error that sends
    /// the admin back to the URL step.
    private enum Located {
        case found(RemoteManifest, String)
        case back(WizardResponse)
    }

    private func locate(_ r: WizardRequest) async throws -> Located {
        guard let base = RemoteApplication.normalized(r.answers["url"]?.stringValue ?? ""),
            case .found(let manifest, let found, _) = await RemoteApplication.detect(base, host: host)
        else {
            return .back(
                .errors(
                    step: "url", errors: [FieldError(field: "url", message: "The application no longer answers; check the URL.")],
                    messages: []))
        }
        if let refusal = try await refusal(manifest) {
            return .back(.errors(step: "url", errors: [FieldError(field: "url", message: refusal)], messages: []))
        }
        return .found(manifest, found)
    }

    private func remoteStep(_ r: WizardRequest) async throws -> WizardResponse {
        let (manifest, found): (RemoteManifest, String)
        switch try await locate(r) {
        case .back(let response): return response
        case .found(let m, let f): (manifest, found) = (m, f)
        }
        let impersonation = Self.impersonation(r)
        if r.answers["remote_side"]?.stringValue == "browser" {
            if let refusal = Self.plainHTTPRefusal(found, r) { return refusal }
            return try await reciprocal(r, manifest: manifest, found: found)
        }
        let token = r.answers["remote_token"]?.stringValue ?? ""
        guard let authorization = Self.remoteAuthorization(r.answers) else {
            // A user name alone is a credential half given, not a choice of a one-way link.
            if !(r.answers["remote_user"]?.stringValue ?? "").isEmpty {
                return .errors(
                    step: "remote",
                    errors: [
                        FieldError(
                            field: "remote_password",
                            message:
                                "give the password of remote_user on \(manifest.name) (or a remote_token instead), or leave remote_user empty for an outgoing link without authentication"
                        )
                    ], messages: [])
            }
            return outgoingOnly(manifest, base: found, why: "no remote administrator's credentials were given")
        }
        if let refusal = Self.plainHTTPRefusal(found, r) { return refusal }
        let me = try await host.instanceInfo()
        // The remote may still hold a link to us, from a link deleted only here: reuse it, or replace it.
        if let existing = await remoteLink(to: me.id, at: found, authorization: authorization) {
            switch r.answers["existing_remote"]?.stringValue {
            case "reuse":
                return try await linkRemote(
                    manifest, base: found, impersonation: impersonation, reciprocalLinkID: existing.id,
                    messages: [WizardMessage(.info, "Reused \(manifest.name)'s link '\(existing.name)' to this instance.")])
            case "replace":
                if let failure = await deleteRemoteLink(existing.id, at: found, authorization: authorization, manifest: manifest) {
                    return failure
                }
            default:
                return .fields(
                    step: "remote", title: "Link to \(manifest.name)",
                    fields: [
                        WizardField(
                            name: "existing_remote", label: "\(manifest.name)'s existing link to this instance", type: .choice,
                            choices: ["reuse", "replace"],
                            help: "reuse keeps its side as it is; replace deletes it there and creates it again")
                    ],
                    messages: [
                        WizardMessage(
                            .warning,
                            "\(manifest.name) already has a link to this instance ('\(existing.name)', \(existing.id)). Reuse it, or replace it."
                        )
                    ])
            }
        }
        // The remote creates its side first, through its admin API, and fetches our consumer info itself.
        let body = try JSONCoding.encode([
            "answers": [
                "url": JSONValue.string(me.baseURL), "reciprocal": true, "auth": .string(Self.levels[impersonation ? 1 : 0]),
                "allow_http": .bool(r.answers["allow_http"]?.boolValue ?? false),
            ]
        ])
        let reply: HostHTTPResponse
        do {
            reply = try await host.http(
                HostHTTPRequest(
                    method: "POST", url: found + "/rest/applinks/3.0/wizard/atlassian-oauth1",
                    headers: [["Authorization", authorization], ["Content-Type", "application/json"], ["Accept", "application/json"]],
                    body: body, timeoutMs: 30_000))
        } catch {
            return .errors(
                step: "remote",
                errors: [FieldError(field: "remote_user", message: "Could not reach \(found) to create its side of the link: \(error)")],
                messages: [])
        }
        switch reply.status {
        case 200, 201:
            let created = try? JSONValue.parse(reply.body)
            let remoteLinkID = created?["link"]?["id"]?.stringValue
            return try await linkRemote(
                manifest, base: found, impersonation: impersonation, reciprocalLinkID: remoteLinkID,
                messages: [
                    WizardMessage(.info, "\(manifest.name) created its side of the link.")
                ])
        case 401:
            let field = token.isEmpty ? "remote_password" : "remote_token"
            return .errors(
                step: "remote",
                errors: [
                    FieldError(
                        field: field,
                        message:
                            "\(manifest.name) refused these credentials; check them, or leave them empty for an outgoing link without authentication."
                    )
                ], messages: [])
        case 403:
            return outgoingOnly(manifest, base: found, why: "the credentials are not an administrator's on \(manifest.name)")
        default:
            return Self.remoteRefusal(reply, manifest: manifest, me: me)
        }
    }

    /// The remote's side made by its administrator in this browser: the wizard waits, sending the browser to the
    /// remote's page for it (`/admin/applinks/reciprocal` on an AppLinks host), which comes back to
    /// ``wizardReturnPath``. The remote's side exists once it answers this instance's signed status request.
    private func reciprocalStep(_ r: WizardRequest) async throws -> WizardResponse {
        switch try await locate(r) {
        case .back(let response): return response
        case .found(let manifest, let found): return try await reciprocal(r, manifest: manifest, found: found)
        }
    }

    private func reciprocal(_ r: WizardRequest, manifest: RemoteManifest, found: String) async throws -> WizardResponse {
        let me = try await host.instanceInfo()
        let statusURL = found + "/rest/applinks/3.0/status/" + me.id
        let signed = try await Authorization(host: host).client().sign(OAuth1Request(method: "GET", url: statusURL))
        if let reply = try? await host.http(
            HostHTTPRequest(url: statusURL, headers: signed.headers.map { [$0.0, $0.1] } + [["Accept", "application/json"]])),
            reply.status == 200
        {
            // Its status API names its link, which deleting both sides later needs.
            let remoteLinkID = (try? JSONValue.parse(reply.body))?["link_id"]?.stringValue
            return try await linkRemote(
                manifest, base: found, impersonation: Self.impersonation(r), reciprocalLinkID: remoteLinkID,
                messages: [WizardMessage(.info, "\(manifest.name) created its side of the link.")])
        }
        let myBase = me.baseURL.hasSuffix("/") ? String(me.baseURL.dropLast()) : me.baseURL
        var query = URLComponents()
        query.queryItems = [
            URLQueryItem(name: "type", value: Self.descriptor.id), URLQueryItem(name: "answer.url", value: myBase),
            URLQueryItem(name: "answer.reciprocal", value: "true"),
            URLQueryItem(name: "answer.auth", value: Self.levels[Self.impersonation(r) ? 1 : 0]),
            URLQueryItem(name: "answer.allow_http", value: String(r.answers["allow_http"]?.boolValue ?? false)),
            URLQueryItem(name: "return", value: myBase + Self.wizardReturnPath + "?draft=" + r.draftID),
        ]
        // Form encoding: a space is "+", so that the query survives a login's `next` (which refuses decoded spaces).
        let encoded = (query.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
            .replacingOccurrences(of: "%20", with: "+")
        return .pending(
            step: "reciprocal", url: found + "/admin/applinks/reciprocal?" + encoded,
            message:
                "Create \(manifest.name)'s side of the link: on its page, log in as its administrator and confirm. The wizard goes on once \(manifest.name) has it.",
            pollAfterMs: 1000)
    }

    /// The remote's refusal to create its side, under the field it concerns. Its wizard's own errors are about
    /// its answers, and the one it was given is this instance's URL: a problem there belongs to `url`.
    static func remoteRefusal(_ reply: HostHTTPResponse, manifest: RemoteManifest, me: InstanceInfo) -> WizardResponse {
        let answer = try? JSONValue.parse(reply.body)
        if case .array(let errors)? = answer?["errors"], !errors.isEmpty {
            let text = errors.compactMap { e in e["message"]?.stringValue.map { m in (e["field"]?.stringValue, m) } }
            let aboutUs = text.contains { $0.0 == "url" }
            let detail = text.map { $0.1 }.joined(separator: "; ")
            return .errors(
                step: aboutUs ? "url" : "remote",
                errors: [
                    FieldError(
                        field: aboutUs ? "url" : "remote_user",
                        message: aboutUs
                            ? "\(manifest.name) cannot link back to this instance at \(me.baseURL): \(detail)"
                            : "\(manifest.name) could not create its side of the link: \(detail)")
                ], messages: [])
        }
        let detail =
            answer?["error"]?["message"]?.stringValue
            ?? (answer == nil ? String(decoding: reply.body.prefix(300), as: UTF8.self) : "no message")
        return .errors(
            step: "remote",
            errors: [
                FieldError(
                    field: "remote_user",
                    message: "\(manifest.name) could not create its side of the link (HTTP \(reply.status)): \(detail)")
            ], messages: [])
    }

    /// The remote's link to this instance, found through its admin API; nil when it has none or cannot tell.
    private func remoteLink(to myID: String, at base: String, authorization: String) async -> (id: String, name: String)? {
        guard
            let reply = try? await host.http(
                HostHTTPRequest(
                    url: base + "/rest/applinks/3.0/links", headers: [["Authorization", authorization], ["Accept", "application/json"]])),
            reply.status == 200, case .array(let links)? = try? JSONValue.parse(reply.body)
        else { return nil }
        for link in links where link["application"]?["id"]?.stringValue?.lowercased() == myID.lowercased() {
            if let id = link["id"]?.stringValue { return (id, link["name"]?.stringValue ?? id) }
        }
        return nil
    }

    /// Deletes the remote's stale link to us before its wizard creates a new one; nil when that worked.
    private func deleteRemoteLink(
        _ id: String, at base: String, authorization: String, manifest: RemoteManifest
    ) async -> WizardResponse? {
        let reply = try? await host.http(
            HostHTTPRequest(method: "DELETE", url: base + "/rest/applinks/3.0/links/" + id, headers: [["Authorization", authorization]]))
        guard let reply, [200, 204, 404].contains(reply.status) else {
            return .errors(
                step: "remote",
                errors: [
                    FieldError(
                        field: "existing_remote",
                        message:
                            "\(manifest.name) did not delete its old link (\(reply.map { "HTTP \($0.status)" } ?? "no answer")); delete it there, or choose reuse."
                    )
                ], messages: [])
        }
        return nil
    }

    /// Registers the remote as a consumer here and finishes with a two-way link.
    private func linkRemote(
        _ manifest: RemoteManifest, base: String, impersonation: Bool, reciprocalLinkID: String?, messages: [WizardMessage]
    ) async throws -> WizardResponse {
        let info = try await RemoteApplication.consumerInfo(base, host: host)
        try await KVProviderStore(host: host).saveConsumer(
            OAuth1ConsumerRecord(key: info.key, name: manifest.name, publicKeyPEM: info.publicKeyPEM, allowImpersonation: impersonation))
        let levels = impersonation ? [Self.oauth, Self.twoLegged, Self.impersonating] : [Self.oauth, Self.twoLegged]
        var config: [String: JSONValue] = ["consumer_key": .string(info.key), "impersonation": .bool(impersonation)]
        if let reciprocalLinkID { config["remote_link_id"] = .string(reciprocalLinkID) }
        return .done(
            link: LinkSpec(
                name: manifest.name,
                application: ApplicationInfo(type: manifest.typeId, name: manifest.name, version: manifest.version, id: manifest.id),
                displayURL: manifest.url.isEmpty ? base : manifest.url, rpcURL: base, incomingAuth: levels, outgoingAuth: levels,
                config: config),
            secrets: [:], messages: messages)
    }

    private func outgoingOnly(_ manifest: RemoteManifest, base: String, why: String) -> WizardResponse {
        .done(
            link: LinkSpec(
                name: manifest.name,
                application: ApplicationInfo(type: manifest.typeId, name: manifest.name, version: manifest.version, id: manifest.id),
                displayURL: manifest.url.isEmpty ? base : manifest.url, rpcURL: base),
            secrets: [:],
            messages: [
                WizardMessage(
                    .warning,
                    "An outgoing link without authentication was created, because \(why). Give an administrator's credentials to link both ways."
                )
            ])
    }

    // MARK: Generic application

    private func genericFields(_ messages: [WizardMessage]) -> WizardResponse {
        .fields(
            step: "generic", title: "Generic application",
            fields: [
                WizardField(name: "name", label: "Application name"),
                WizardField(name: "incoming_consumer_key", label: "Incoming: consumer key", required: false),
                WizardField(name: "incoming_public_key", label: "Incoming: RSA public key (PEM)", required: false),
                WizardField(name: "incoming_callback", label: "Incoming: callback URL", type: .url, required: false),
                WizardField(
                    name: "incoming_2lo", label: "Incoming: allow 2-legged OAuth", type: .bool, required: false, defaultValue: false,
                    help: "requests signed without a user's token, as the execute-as user"),
                WizardField(
                    name: "incoming_execute_as", label: "Incoming: execute 2-legged requests as", required: false,
                    help: "a user here; empty acts as no user"),
                WizardField(
                    name: "incoming_impersonation", label: "Incoming: allow user impersonation through 2-legged OAuth", type: .bool,
                    required: false, defaultValue: false,
                    help: "lets the application act as any user here: only when both share one user base"),
                WizardField(name: "outgoing_consumer_key", label: "Outgoing: consumer key", required: false),
                WizardField(name: "outgoing_secret", label: "Outgoing: shared secret (HMAC-SHA1)", type: .secret, required: false),
                WizardField(
                    name: "outgoing_private_key", label: "Outgoing: or an RSA private key (PEM, RSA-SHA1)", type: .secret, required: false),
                WizardField(name: "outgoing_request_token_url", label: "Outgoing: request-token URL", type: .url, required: false),
                WizardField(name: "outgoing_authorize_url", label: "Outgoing: authorize URL", type: .url, required: false),
                WizardField(name: "outgoing_access_token_url", label: "Outgoing: access-token URL", type: .url, required: false),
            ], messages: messages)
    }

    private func genericStep(_ r: WizardRequest) async throws -> WizardResponse {
        func answer(_ name: String) -> String { (r.answers[name]?.stringValue ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }
        guard let base = RemoteApplication.normalized(answer("url")) else {
            return .errors(step: "url", errors: [FieldError(field: "url", message: "give the application's base URL")], messages: [])
        }
        var errors: [FieldError] = []
        let incomingKey = answer("incoming_consumer_key"), publicKey = answer("incoming_public_key")
        let outgoingKey = answer("outgoing_consumer_key")
        if incomingKey.isEmpty && outgoingKey.isEmpty {
            errors.append(FieldError(field: "incoming_consumer_key", message: "give an incoming or an outgoing consumer key (or both)"))
        }
        if !incomingKey.isEmpty {
            if let key = try? RSAKey(publicKeyPEM: publicKey) {
                if key.bits < OAuth1Provider.minimumRSABits {
                    errors.append(
                        FieldError(
                            field: "incoming_public_key",
                            message:
                                "the key has \(key.bits) bits; give an RSA key of at least \(OAuth1Provider.minimumRSABits) bits (openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072)"
                        ))
                }
            } else {
                errors.append(
                    FieldError(
                        field: "incoming_public_key", message: "give the consumer's RSA public key as PEM (-----BEGIN PUBLIC KEY-----)"))
            }
            if !answer("incoming_execute_as").isEmpty && r.answers["incoming_2lo"]?.boolValue != true {
                errors.append(
                    FieldError(
                        field: "incoming_execute_as",
                        message: "2-legged requests are off; allow them (incoming_2lo=true) or leave this empty"))
            }
            let callback = answer("incoming_callback")
            if !callback.isEmpty && RemoteApplication.normalized(callback) == nil {
                errors.append(FieldError(field: "incoming_callback", message: "'\(callback)' is not an http(s) URL"))
            }
        }
        if !outgoingKey.isEmpty {
            let secret = answer("outgoing_secret"), privateKey = answer("outgoing_private_key")
            if secret.isEmpty == privateKey.isEmpty {
                errors.append(
                    FieldError(
                        field: "outgoing_secret",
                        message: "give either the shared secret the application issued with the consumer key, or an RSA private key"))
            } else if !privateKey.isEmpty && (try? RSAKey(privateKeyPEM: privateKey)) == nil {
                errors.append(
                    FieldError(field: "outgoing_private_key", message: "give the RSA private key as PEM (-----BEGIN PRIVATE KEY-----)"))
            }
            for field in ["outgoing_request_token_url", "outgoing_authorize_url", "outgoing_access_token_url"]
            where URL(string: answer(field))?.scheme.map({ ["http", "https"].contains($0) }) != true {
                errors.append(FieldError(field: field, message: "give the application's http(s) URL for this step"))
            }
        }
        if answer("name").isEmpty { errors.append(FieldError(field: "name", message: "give the application a name")) }
        if !errors.isEmpty { return .errors(step: "generic", errors: errors, messages: []) }
        var config: [String: JSONValue] = [:]
        var incoming: [String] = [], outgoing: [String] = []
        if !incomingKey.isEmpty {
            let callback = answer("incoming_callback"), executeAs = answer("incoming_execute_as")
            let twoLegged = r.answers["incoming_2lo"]?.boolValue == true
            let impersonation = r.answers["incoming_impersonation"]?.boolValue == true
            try await KVProviderStore(host: host).saveConsumer(
                OAuth1ConsumerRecord(
                    key: incomingKey, name: answer("name"), publicKeyPEM: publicKey, callback: callback.isEmpty ? nil : callback,
                    allowImpersonation: impersonation, executeAs: twoLegged && !executeAs.isEmpty ? executeAs : nil))
            config["consumer_key"] = .string(incomingKey)
            config["impersonation"] = .bool(impersonation)
            if twoLegged && !executeAs.isEmpty { config["execute_as"] = .string(executeAs) }
            incoming = [Self.oauth] + (twoLegged ? [Self.twoLegged] : []) + (impersonation ? [Self.impersonating] : [])
        }
        var secrets: [String: String] = [:]
        if !outgoingKey.isEmpty {
            config["outgoing_consumer_key"] = .string(outgoingKey)
            for field in ["outgoing_request_token_url", "outgoing_authorize_url", "outgoing_access_token_url"] {
                config[field] = .string(answer(field))
            }
            if answer("outgoing_private_key").isEmpty {
                secrets["outgoing_secret"] = answer("outgoing_secret")
                config["outgoing_signature_method"] = .string(OAuth1SignatureMethod.hmacSHA1.rawValue)
            } else {
                secrets["outgoing_private_key"] = answer("outgoing_private_key")
                config["outgoing_signature_method"] = .string(OAuth1SignatureMethod.rsaSHA1.rawValue)
            }
            outgoing = [Self.oauth]
        }
        return .done(
            link: LinkSpec(
                name: answer("name"), application: ApplicationInfo(type: "generic", name: ApplicationInfo.genericName),
                displayURL: base, rpcURL: base, incomingAuth: incoming, outgoingAuth: outgoing, config: config),
            secrets: secrets, messages: [])
    }

    // MARK: Status

    func checkStatus(_ r: StatusRequest) async throws -> StatusResponse {
        let link = r.link
        if link.application.type == "generic" {
            return StatusResponse(.nonAtlassian, .genericLink, message: "A Generic application: its status cannot be checked from here.")
        }
        let base = link.rpcURL
        let manifest: RemoteManifest
        switch await RemoteApplication.detect(base, host: host) {
        case .unreachable(let type, let message):
            return StatusResponse(
                .networkError, type, message: "\(base) does not answer (\(message)); check that it is running and reachable from here.")
        case .noManifest(let why):
            return StatusResponse(.networkError, .unexpectedResponse, message: "\(why); check the link's URL.")
        case .refused(let why):
            return StatusResponse(.configError, .invalidConfig, message: why)
        case .found(let m, _, _):
            manifest = m
        }
        guard manifest.id == link.application.id else {
            return StatusResponse(
                .configError, .invalidConfig,
                message: "\(base) is now application \(manifest.id), not the linked \(link.application.id ?? "?"); relocate the link.")
        }
        if link.outgoingAuth.isEmpty {
            return StatusResponse(
                .connected, message: "\(manifest.name) answers; this side makes no authenticated requests.",
                applicationVersion: manifest.version)
        }
        // A signed 2LO call to the remote's status API, as Atlassian's own check makes it. The remote finds its
        // link by our application id.
        let me = try await host.instanceInfo()
        let url = base + "/rest/applinks/3.0/status/" + me.id
        let signed = try await Authorization(host: host).client().sign(OAuth1Request(method: "GET", url: url))
        let reply: HostHTTPResponse
        do {
            reply = try await host.http(
                HostHTTPRequest(url: url, headers: signed.headers.map { [$0.0, $0.1] } + [["Accept", "application/json"]]))
        } catch {
            return StatusResponse(.networkError, HostHTTPFailure.errorType(error), message: "\(error)")
        }
        switch reply.status {
        case 200:
            let answer = try? JSONValue.parse(reply.body)
            guard answer?["working"] == .bool(true) else {
                return StatusResponse(
                    .networkError, .unexpectedResponse, message: "\(manifest.name) says its side of the link is not working.")
            }
            func levels(_ key: String) -> Set<String>? {
                guard case .array(let a)? = answer?[key] else { return nil }
                return Set(a.compactMap(\.stringValue))
            }
            if let theirIncoming = levels("incoming_auth"), let theirOutgoing = levels("outgoing_auth"),
                theirIncoming != Set(link.outgoingAuth) || theirOutgoing != Set(link.incomingAuth)
            {
                return StatusResponse(
                    .configError, .authLevelMismatch,
                    message:
                        "This side and \(manifest.name) disagree on authentication; edit the link on either side so that both use the same levels."
                )
            }
            return StatusResponse(.connected, message: "Connected to \(manifest.name).", applicationVersion: manifest.version)
        case 404:
            return StatusResponse(
                .configError, .noRemoteApplink,
                message:
                    "\(manifest.name) has no link back to this instance. Create it there, or here: delete this link and create it again "
                    + "with \(manifest.name)'s administrator credentials.")
        case 503 where (try? JSONValue.parse(reply.body))?["error"]?["code"]?.stringValue == "link_type_disabled":
            return StatusResponse(
                .configError, .invalidConfig,
                message:
                    "\(manifest.name) has disabled the \(Self.descriptor.id) link type; its link to this instance is kept. Ask its "
                    + "administrator to enable the type again (`applinks plugins enable \(Self.descriptor.id)`); keep this link.")
        case 401:
            let problem =
                OAuth1Encoding.pairs(String(decoding: reply.body, as: UTF8.self)).first { $0.0 == "oauth_problem" }?.1
                ?? reply.header("WWW-Authenticate").flatMap { h in
                    h.range(of: "oauth_problem=\"").map { String(h[$0.upperBound...].prefix { $0 != "\"" }) }
                }
            let type: StatusErrorType =
                switch problem {
                case "timestamp_refused": .oauthTimestampRefused
                case "signature_invalid": .oauthSignatureInvalid
                default: .oauthProblem
                }
            return StatusResponse(
                .networkError, type,
                message:
                    "\(manifest.name) refused this instance's signed request (\(problem ?? "no oauth_problem")); check the clocks and the consumer registration."
            )
        default:
            return StatusResponse(
                .networkError, .unexpectedResponseStatus, message: "\(manifest.name)'s status API answered HTTP \(reply.status).")
        }
    }

    // MARK: Actions

    func invokeAction(_ r: ActionRequest) async throws -> ActionResponse {
        switch r.action {
        case "whoami":
            let user = r.args["user"]?.stringValue ?? ""
            let reply = try await Authorization(host: host).signedGet(r.link, user: user, path: "/plugins/atlassian-oauth1/whoami")
            let body = (try? JSONValue.parse(reply.body)) ?? .string(String(decoding: reply.body, as: UTF8.self))
            guard reply.status == 200 else {
                throw PluginError(
                    code: "remote_refused", message: "\(r.link.name) refused the signed request (HTTP \(reply.status)): \(body)")
            }
            return ActionResponse(message: "\(r.link.name) knows this request as \(body["user"]?.stringValue ?? "nobody").", output: body)
        case "delete":
            return try await deleteRemote(r)
        case "edit-auth":
            return try await editAuth(r)
        case "list-grants":
            let user = r.args["user"]?.stringValue
            let grants = try await incomingGrants(r.link).filter { user == nil || $0.user == user }
            return ActionResponse(
                message: grants.isEmpty
                    ? "No one here has approved \(r.link.name)."
                    : grants.map { "\($0.id)  \($0.user)  since \(Timestamp.format($0.createdAt))" }.joined(separator: "\n"),
                output: .array(
                    grants.map { g in
                        [
                            "id": .string(g.id), "user": .string(g.user), "client": .string(r.link.name), "link_id": .string(r.link.id),
                            "scopes": ["3LO"], "created_at": .string(Timestamp.format(g.createdAt)),
                        ]
                    }))
        case "revoke-grant":
            let id = r.args["grant"]?.stringValue ?? ""
            guard let grant = try await incomingGrants(r.link).first(where: { $0.id == id }),
                r.args["user"]?.stringValue.map({ $0 == grant.user }) ?? true
            else {
                throw PluginError(code: "invalid_input", message: "\(r.link.name) has no approval '\(id)'; see list-grants.")
            }
            try await KVProviderStore(host: host).revokeGrant(grant)
            return ActionResponse(message: "Revoked \(grant.user)'s approval of \(r.link.name); its token stops working now.")
        case "relocate":
            return try await relocate(r.link, to: r.args["url"]?.stringValue ?? "")
        case "consumer-info":
            let me = try await host.instanceInfo()
            return ActionResponse(
                message: "Consumer key \(me.id); RSA-SHA1 with the instance key.",
                output: ["consumer_key": .string(me.id), "name": .string(me.name), "public_key": .string(me.publicKeyPEM)])
        default:
            throw PluginError(code: "unknown_action", message: "The action '\(r.action)' is not one of this link type's.")
        }
    }

    /// The remote admin API's `Authorization` from `remote_token`, or `remote_user` and `remote_password`.
    static func remoteAuthorization(_ answers: [String: JSONValue]) -> String? {
        let user = answers["remote_user"]?.stringValue ?? "", password = answers["remote_password"]?.stringValue ?? ""
        if let token = answers["remote_token"]?.stringValue, !token.isEmpty { return "Bearer " + token }
        if !user.isEmpty && !password.isEmpty { return "Basic " + Data("\(user):\(password)".utf8).base64EncodedString() }
        return nil
    }

    /// The approvals of the consumer this link registered (a remote host, or a Generic application).
    private func incomingGrants(_ link: Link) async throws -> [OAuth1Grant] {
        guard let key = link.config["consumer_key"]?.stringValue else { return [] }
        return try await KVProviderStore(host: host).grants(consumerKey: key)
    }

    /// Deletes the remote's reciprocal link through its admin API, before the host deletes this side.
    private func deleteRemote(_ r: ActionRequest) async throws -> ActionResponse {
        let link = r.link
        guard let authorization = Self.remoteAuthorization(r.args) else {
            // This side only: the consumer this link registered goes with it.
            if let consumer = link.config["consumer_key"]?.stringValue {
                try await KVProviderStore(host: host).deleteConsumer(key: consumer)
            }
            return ActionResponse(
                message:
                    "Only this side was deleted: \(link.name) keeps its link to this instance. Delete it there (its applinks delete, "
                    + "or its Application links page); pass --arg remote_user=… --arg remote_password=… to delete both sides at once.")
        }
        guard let remoteID = link.config["remote_link_id"]?.stringValue else {
            throw PluginError(
                code: "invalid_input",
                message: "This side does not know its link's id on \(link.name); delete it there by hand, then here without --arg.")
        }
        let reply: HostHTTPResponse
        do {
            reply = try await host.http(
                HostHTTPRequest(
                    method: "DELETE", url: link.rpcURL + "/rest/applinks/3.0/links/" + remoteID,
                    headers: [["Authorization", authorization]]))
        } catch {
            throw PluginError(
                code: "remote_unreachable", message: "\(link.name) could not be reached to delete its side (\(error)); nothing was deleted."
            )
        }
        switch reply.status {
        case 200, 204, 404:
            if let consumer = link.config["consumer_key"]?.stringValue {
                try await KVProviderStore(host: host).deleteConsumer(key: consumer)
            }
            return ActionResponse(
                message: reply.status == 404 ? "\(link.name) had no reciprocal link." : "Deleted \(link.name)'s side of the link.")
        case 401, 403:
            throw PluginError(
                code: "invalid_input", message: "\(link.name) refused these credentials (HTTP \(reply.status)); nothing was deleted.")
        default:
            throw PluginError(
                code: "remote_refused", message: "\(link.name) did not delete its side (HTTP \(reply.status)); nothing was deleted.")
        }
    }

    /// This side's authentication: incoming and outgoing alike, with the consumer record's impersonation to match.
    private func editAuth(_ r: ActionRequest) async throws -> ActionResponse {
        let level = r.args["level"]?.stringValue ?? ""
        let levels: [String]
        switch level {
        case Self.levels[0]: levels = [Self.oauth, Self.twoLegged]
        case Self.levels[1]: levels = [Self.oauth, Self.twoLegged, Self.impersonating]
        case "none": levels = []
        default:
            throw PluginError(
                code: "invalid_input", message: "level must be '\(Self.levels[0])', '\(Self.levels[1])' or 'none', not '\(level)'.")
        }
        let store = KVProviderStore(host: host)
        if let key = r.link.config["consumer_key"]?.stringValue,
            var consumer = try await store.consumer(key: key)
        {
            consumer.allowImpersonation = level == Self.levels[1]
            try await store.saveConsumer(consumer)
        }
        var config = r.link.config
        config["impersonation"] = .bool(level == Self.levels[1])
        return ActionResponse(
            message:
                "Authentication is now \(level) on this side; make the same change on \(r.link.name), or its status shows AUTH_LEVEL_MISMATCH.",
            changes: LinkChanges(incomingAuth: levels, outgoingAuth: levels, config: config))
    }

    /// A new URL must serve the same application: another application, or another type, is refused. A URL
    /// that does not answer is accepted with a warning, as an application may move before it is up again.
    private func relocate(_ link: Link, to given: String) async throws -> ActionResponse {
        guard let base = RemoteApplication.normalized(given) else {
            throw PluginError(code: "invalid_input", message: "'\(given)' is not an http:// or https:// base URL.")
        }
        if link.application.type == "generic" { return ActionResponse(message: "Moved to \(base).") }
        switch await RemoteApplication.detect(base, host: host) {
        case .found(let manifest, let found, _):
            guard manifest.typeId == link.application.type else {
                throw PluginError(
                    code: "invalid_input",
                    message:
                        "\(found) serves a \(manifest.typeId) application, not \(link.application.type); a link cannot change its application's type. Create a new link instead."
                )
            }
            guard manifest.id == link.application.id else {
                throw PluginError(
                    code: "invalid_input",
                    message:
                        "\(found) is another application (\(manifest.name), \(manifest.id)), not the linked \(link.application.id ?? "?"). Create a new link instead."
                )
            }
            return ActionResponse(
                message: "Moved to \(found).",
                changes: LinkChanges(displayURL: manifest.url.isEmpty ? found : manifest.url, rpcURL: found))
        case .noManifest(let why):
            throw PluginError(
                code: "invalid_input", message: "\(why); a link to \(link.application.name) can only move to where it answers.")
        case .refused(let why):
            throw PluginError(code: "invalid_input", message: why)
        case .unreachable(let type, _):
            return ActionResponse(
                message: "Moved to \(base), which does not answer yet (\(type.rawValue)); check its status once it is up.")
        }
    }

    // MARK: HTTP

    func handleHTTP(_ r: PluginHTTPRequest) async throws -> PluginHTTPResponse {
        if r.method == "GET", r.path == "/plugins/servlet/oauth/consumer-info" {
            let me = try await host.instanceInfo()
            let info = ConsumerInfo(key: me.id, name: me.name, publicKeyPEM: me.publicKeyPEM, description: "\(me.name) at \(me.baseURL)")
            return PluginHTTPResponse(
                status: 200, headers: [["Content-Type", "application/xml; charset=utf-8"]], body: Data(info.xml.utf8))
        }
        let routes = OAuth1ProviderRoutes(host: host, baseURL: r.baseURL, admission: admission)
        if let answer = try await routes.handle(r) { return answer }
        if r.method == "GET", r.path.hasPrefix("/rest/applinks/3.0/status/") {
            return try await statusAPI(r, routes)
        }
        switch (r.method, r.path) {
        case ("GET", Self.wizardReturnPath):
            let draft = OAuth1Encoding.pairs(r.query).first { $0.0 == "draft" }?.1 ?? ""
            return PluginHTTPResponse.page(
                200, "Back from the other application", "Go back to the wizard that creates the link to finish it."
            ).resuming(draft: draft)
        case ("GET", Authorization.startPath): return try await Authorization(host: host).start(r)
        case ("GET", Authorization.callbackPath): return try await Authorization(host: host).callback(r)
        case ("GET", "/plugins/atlassian-oauth1/whoami"):
            switch await routes.authenticate(r) {
            case .failure(let refusal): return refusal.response
            case .success(let caller):
                return PluginHTTPResponse(
                    status: 200, headers: [["Content-Type", "application/json"]],
                    body: try JSONCoding.encode([
                        "user": caller.user.map(JSONValue.string) ?? .null, "consumer": .string(caller.consumer.key),
                        "two_legged": .bool(caller.twoLegged),
                    ]))
            }
        default: break
        }
        return PluginHTTPResponse(status: 404)
    }

    /// What a consumer may do, from its link as it is now (read at each request, so a change on any node counts
    /// at once): nothing while the link is disabled or gone, and only the link's incoming levels otherwise.
    private func admission(_ consumer: OAuth1ConsumerRecord) async throws -> OAuth1Admission {
        guard let link = try await host.links().first(where: { $0.config["consumer_key"]?.stringValue == consumer.key }) else {
            return .refused("no link here registers the consumer \(consumer.key)")
        }
        guard link.enabled else {
            return .refused("the link to \(link.name) is disabled here; an administrator can enable it again")
        }
        var levels: OAuth1Levels = []
        if link.incomingAuth.contains(Self.oauth) { levels.insert(.threeLegged) }
        if link.incomingAuth.contains(Self.twoLegged) { levels.insert(.twoLegged) }
        if link.incomingAuth.contains(Self.impersonating) { levels.insert(.impersonation) }
        return .allowed(levels)
    }

    /// The remote's check of our side: a request signed by the consumer this link registered.
    private func statusAPI(_ r: PluginHTTPRequest, _ routes: OAuth1ProviderRoutes) async throws -> PluginHTTPResponse {
        let id = String(r.path.split(separator: "/").last ?? "").lowercased()
        var found = try await host.link(id: id)
        if found == nil { found = try await host.links().first { $0.application.id?.lowercased() == id } }
        guard let link = found else { return PluginHTTPResponse(status: 404) }
        switch await routes.authenticate(r) {
        case .failure(let refusal): return refusal.response
        case .success(let caller):
            guard caller.consumer.key == link.config["consumer_key"]?.stringValue else {
                return PluginHTTPResponse(
                    status: 403, headers: [["Content-Type", "application/json"]], body: Data(#"{"working":false}"#.utf8))
            }
            // This side's levels too, so that the caller can tell when the two sides disagree.
            return PluginHTTPResponse(
                status: 200, headers: [["Content-Type", "application/json"]],
                body: try JSONCoding.encode([
                    "working": JSONValue.bool(true), "link_id": .string(link.id),
                    "incoming_auth": .array(link.incomingAuth.map(JSONValue.string)),
                    "outgoing_auth": .array(link.outgoingAuth.map(JSONValue.string)),
                ]))
        }
    }
}

@_cdecl("applinks_plugin_entry")
public func applinksPluginEntry(_ hostABIVersion: UInt32) -> UnsafeRawPointer? {
    PluginExport.entry(AtlassianOAuth1LinkType.self, hostABIVersion: hostABIVersion)
}
