import AppLinksCore
import AppLinksCrypto
import AppLinksJSON
import AppLinksOAuth1
import AppLinksPluginKit
import AppLinksPluginOAuth1
import Foundation

/// The wizard: the URL, what answers there, the remote's side of the link and the way back.
extension AtlassianOAuth1LinkType {
    typealias Outcome = StepOutcome<AtlassianOAuth1LinkType>

    static let steps = [urlStep, remoteStep, reciprocalStep, genericStep]

    /// `reciprocal` is hidden: another host's wizard sets it when it asks for this side of its link.
    static let urlStep = DeclaredStep<AtlassianOAuth1LinkType>(
        id: "url", title: "Application URL",
        fields: [
            WizardField(
                name: "url", label: "Application URL", type: .url, help: "The base URL of the application, such as https://jira.example.com"
            )
        ], extraAnswers: ["reciprocal"]
    ) { plugin, r in try await plugin.submitURL(r) }

    /// Its form depends on the remote the URL step found, so the URL step always gives it.
    static let remoteStep = DeclaredStep<AtlassianOAuth1LinkType>(
        id: "remote", title: "Remote administrator",
        answers: ["remote_side", "remote_user", "remote_password", "remote_token", "allow_http", "auth", "existing_remote"],
        form: { _, _ in StepForm([]) }, submit: { plugin, r in try await plugin.submitRemote(r) })

    static let reciprocalStep = DeclaredStep<AtlassianOAuth1LinkType>(id: "reciprocal", title: "The remote creates its side", fields: []) {
        plugin, r in try await plugin.submitReciprocal(r)
    }

    func submitURL(_ r: WizardRequest) async throws -> Outcome {
        let given = r.answers["url"]?.stringValue ?? ""
        guard let base = RemoteApplication.normalized(given) else {
            return .invalid(
                [
                    FieldError(
                        field: "url",
                        message:
                            "'\(given)' is not an http:// or https:// URL; give the application's base URL, such as https://jira.example.com"
                    )
                ], step: Self.urlStep)
        }
        switch await RemoteApplication.detect(base, host: host) {
        case .refused(let why):
            return .invalid([FieldError(field: "url", message: why)], step: Self.urlStep)
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
                return .invalid([FieldError(field: "url", message: refusal)], step: Self.urlStep)
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
            return .next(
                Self.remoteStep, messages: messages,
                form: StepForm(
                    [
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
                    ], title: "Link to \(manifest.name)"))
        }
    }

    /// Why a found application may not be linked: this very instance, or one already linked.
    func refusal(_ manifest: RemoteManifest) async throws -> String? {
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
    static func plainHTTPRefusal(_ base: String, _ r: WizardRequest) -> Outcome? {
        guard base.lowercased().hasPrefix("http://"), r.answers["allow_http"]?.boolValue != true else { return nil }
        return .invalid(
            [
                FieldError(
                    field: "allow_http",
                    message:
                        "\(base) is plain http, so the consumer key this link would trust could be replaced on the way. Use its https URL, or allow http for this link (--set allow_http=true) on a network you trust."
                )
            ], step: Self.remoteStep)
    }

    /// The remote the `url` answer names, found again and still allowed to be linked; else the error that sends
    /// the admin back to the URL step.
    enum Located {
        case found(RemoteManifest, String)
        case back(Outcome)
    }

    func locate(_ r: WizardRequest) async throws -> Located {
        guard let base = RemoteApplication.normalized(r.answers["url"]?.stringValue ?? ""),
            case .found(let manifest, let found, _) = await RemoteApplication.detect(base, host: host)
        else {
            return .back(
                .invalid([FieldError(field: "url", message: "The application no longer answers; check the URL.")], step: Self.urlStep))
        }
        if let refusal = try await refusal(manifest) {
            return .back(.invalid([FieldError(field: "url", message: refusal)], step: Self.urlStep))
        }
        return .found(manifest, found)
    }

    func submitRemote(_ r: WizardRequest) async throws -> Outcome {
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
                return .invalid(
                    [
                        FieldError(
                            field: "remote_password",
                            message:
                                "give the password of remote_user on \(manifest.name) (or a remote_token instead), or leave remote_user empty for an outgoing link without authentication"
                        )
                    ], step: Self.remoteStep)
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
                return .next(
                    Self.remoteStep,
                    messages: [
                        WizardMessage(
                            .warning,
                            "\(manifest.name) already has a link to this instance ('\(existing.name)', \(existing.id)). Reuse it, or replace it."
                        )
                    ],
                    form: StepForm(
                        [
                            WizardField(
                                name: "existing_remote", label: "\(manifest.name)'s existing link to this instance", type: .choice,
                                choices: ["reuse", "replace"],
                                help: "reuse keeps its side as it is; replace deletes it there and creates it again")
                        ], title: "Link to \(manifest.name)"))
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
            return .invalid(
                [FieldError(field: "remote_user", message: "Could not reach \(found) to create its side of the link: \(error)")],
                step: Self.remoteStep)
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
            return .invalid(
                [
                    FieldError(
                        field: field,
                        message:
                            "\(manifest.name) refused these credentials; check them, or leave them empty for an outgoing link without authentication."
                    )
                ], step: Self.remoteStep)
        case 403:
            return outgoingOnly(manifest, base: found, why: "the credentials are not an administrator's on \(manifest.name)")
        default:
            return Self.remoteRefusal(reply, manifest: manifest, me: me)
        }
    }

    /// The remote's side made by its administrator in this browser: the wizard waits, sending the browser to the
    /// remote's page for it (`/admin/applinks/reciprocal` on an AppLinks host), which comes back to
    /// ``wizardReturnPath``. The remote's side exists once it answers this instance's signed status request.
    func submitReciprocal(_ r: WizardRequest) async throws -> Outcome {
        switch try await locate(r) {
        case .back(let response): return response
        case .found(let manifest, let found): return try await reciprocal(r, manifest: manifest, found: found)
        }
    }

    func reciprocal(_ r: WizardRequest, manifest: RemoteManifest, found: String) async throws -> Outcome {
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
            URLQueryItem(name: "return", value: CallbackURL.make(base: myBase, path: Self.wizardReturnPath) + "?draft=" + r.draftID),
        ]
        // Form encoding: a space is "+", so that the query survives a login's `next` (which refuses decoded spaces).
        let encoded = (query.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
            .replacingOccurrences(of: "%20", with: "+")
        return .pending(
            url: found + "/admin/applinks/reciprocal?" + encoded,
            message:
                "Create \(manifest.name)'s side of the link: on its page, log in as its administrator and confirm. The wizard goes on once \(manifest.name) has it.",
            pollAfterMs: 1000, step: Self.reciprocalStep)
    }

    /// The remote's refusal to create its side, under the field it concerns. Its wizard's own errors are about
    /// its answers, and the one it was given is this instance's URL: a problem there belongs to `url`.
    static func remoteRefusal(_ reply: HostHTTPResponse, manifest: RemoteManifest, me: InstanceInfo) -> Outcome {
        let answer = try? JSONValue.parse(reply.body)
        if case .array(let errors)? = answer?["errors"], !errors.isEmpty {
            let text = errors.compactMap { e in e["message"]?.stringValue.map { m in (e["field"]?.stringValue, m) } }
            let aboutUs = text.contains { $0.0 == "url" }
            let detail = text.map { $0.1 }.joined(separator: "; ")
            return .invalid(
                [
                    FieldError(
                        field: aboutUs ? "url" : "remote_user",
                        message: aboutUs
                            ? "\(manifest.name) cannot link back to this instance at \(me.baseURL): \(detail)"
                            : "\(manifest.name) could not create its side of the link: \(detail)")
                ], step: aboutUs ? Self.urlStep : Self.remoteStep)
        }
        let detail =
            answer?["error"]?["message"]?.stringValue
            ?? (answer == nil ? String(decoding: reply.body.prefix(300), as: UTF8.self) : "no message")
        return .invalid(
            [
                FieldError(
                    field: "remote_user",
                    message: "\(manifest.name) could not create its side of the link (HTTP \(reply.status)): \(detail)")
            ], step: Self.remoteStep)
    }

    /// The remote's link to this instance, found through its admin API; nil when it has none or cannot tell.
    func remoteLink(to myID: String, at base: String, authorization: String) async -> (id: String, name: String)? {
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
    func deleteRemoteLink(
        _ id: String, at base: String, authorization: String, manifest: RemoteManifest
    ) async -> Outcome? {
        let reply = try? await host.http(
            HostHTTPRequest(method: "DELETE", url: base + "/rest/applinks/3.0/links/" + id, headers: [["Authorization", authorization]]))
        guard let reply, [200, 204, 404].contains(reply.status) else {
            return .invalid(
                [
                    FieldError(
                        field: "existing_remote",
                        message:
                            "\(manifest.name) did not delete its old link (\(reply.map { "HTTP \($0.status)" } ?? "no answer")); delete it there, or choose reuse."
                    )
                ], step: Self.remoteStep)
        }
        return nil
    }

    /// Registers the remote as a consumer here and finishes with a two-way link.
    func linkRemote(
        _ manifest: RemoteManifest, base: String, impersonation: Bool, reciprocalLinkID: String?, messages: [WizardMessage]
    ) async throws -> Outcome {
        let info = try await RemoteApplication.consumerInfo(base, host: host)
        try await KVProviderStore(host: host).saveConsumer(
            OAuth1ConsumerRecord(key: info.key, name: manifest.name, publicKeyPEM: info.publicKeyPEM, allowImpersonation: impersonation))
        let levels = impersonation ? [Self.oauth, Self.twoLegged, Self.impersonating] : [Self.oauth, Self.twoLegged]
        var config: [String: JSONValue] = ["consumer_key": .string(info.key), "impersonation": .bool(impersonation)]
        if let reciprocalLinkID { config["remote_link_id"] = .string(reciprocalLinkID) }
        return .done(
            LinkSpec(
                name: manifest.name,
                application: ApplicationInfo(type: manifest.typeId, name: manifest.name, version: manifest.version, id: manifest.id),
                displayURL: manifest.url.isEmpty ? base : manifest.url, rpcURL: base, incomingAuth: levels, outgoingAuth: levels,
                config: config), secrets: [:], messages: messages)
    }

    func outgoingOnly(_ manifest: RemoteManifest, base: String, why: String) -> Outcome {
        .done(
            LinkSpec(
                name: manifest.name,
                application: ApplicationInfo(type: manifest.typeId, name: manifest.name, version: manifest.version, id: manifest.id),
                displayURL: manifest.url.isEmpty ? base : manifest.url, rpcURL: base), secrets: [:],
            messages: [
                WizardMessage(
                    .warning,
                    "An outgoing link without authentication was created, because \(why). Give an administrator's credentials to link both ways."
                )
            ])
    }
}
