import AppLinksCore
import AppLinksCrypto
import AppLinksJSON
import AppLinksOAuth1
import AppLinksPluginKit
import AppLinksPluginOAuth1
import Foundation

/// Actions on a link.
extension AtlassianOAuth1LinkType {
    static let actions: [DeclaredAction<AtlassianOAuth1LinkType>] = [
        DeclaredAction(
            .init(
                id: "whoami", title: "Ask the remote who a user is there, signed with the user's 3LO token",
                params: [.init(name: "user", type: .string, required: true, help: "A user here who authorized this instance on the remote")]
            )
        ) { plugin, r in try await plugin.whoami(r) },
        DeclaredAction(.init(id: "consumer-info", title: "Show the consumer key and public key this side signs with")) { plugin, _ in
            try await plugin.consumerInfo()
        },
        DeclaredAction(
            .init(
                id: "relocate", title: "Point the link at the application's new URL",
                params: [.init(name: "url", type: .url, required: true)])
        ) { plugin, r in try await plugin.relocate(r.link, to: r.args["url"]?.stringValue ?? "") },
        DeclaredAction(
            .init(
                id: "delete",
                title:
                    "Run when the link is deleted; with remote credentials (`applinks delete LINK --arg …`), deletes the remote's reciprocal link too",
                destructive: true,
                params: [
                    .init(name: "remote_user", type: .string), .init(name: "remote_password", type: .secret),
                    .init(name: "remote_token", type: .secret),
                ])
        ) { plugin, r in try await plugin.deleteRemote(r) },
        DeclaredAction(
            .init(
                id: "edit-auth", title: "Change this side's authentication",
                params: [
                    .init(
                        name: "level", type: .string, required: true,
                        help: "'3LO and 2LO', '3LO, 2LO and 2LO with impersonation', or 'none'")
                ])
        ) { plugin, r in try await plugin.editAuth(r) },
        DeclaredAction(
            .init(
                id: "list-grants", title: "Who approved this application (3LO) here, and since when",
                params: [.init(name: "user", type: .string, help: "Only this user's approvals")])
        ) { plugin, r in try await plugin.listGrants(r) },
        DeclaredAction(
            .init(
                id: "revoke-grant", title: "Revoke one approval: its token stops working and cannot be renewed", destructive: true,
                params: [
                    .init(name: "grant", type: .string, required: true, help: "The approval's id, from list-grants"),
                    .init(name: "user", type: .string, help: "Revoke only if the approval is this user's"),
                ])
        ) { plugin, r in try await plugin.revokeGrant(r) },
    ]

    func whoami(_ r: ActionRequest) async throws -> ActionResponse {
        let user = r.args["user"]?.stringValue ?? ""
        let reply = try await Authorization(host: host).signedGet(r.link, user: user, path: "/plugins/atlassian-oauth1/whoami")
        let body = (try? JSONValue.parse(reply.body)) ?? .string(String(decoding: reply.body, as: UTF8.self))
        guard reply.status == 200 else {
            throw PluginError(
                code: "remote_refused", message: "\(r.link.name) refused the signed request (HTTP \(reply.status)): \(body)")
        }
        return ActionResponse(message: "\(r.link.name) knows this request as \(body["user"]?.stringValue ?? "nobody").", output: body)
    }

    func consumerInfo() async throws -> ActionResponse {
        let me = try await host.instanceInfo()
        return ActionResponse(
            message: "Consumer key \(me.id); RSA-SHA1 with the instance key.",
            output: ["consumer_key": .string(me.id), "name": .string(me.name), "public_key": .string(me.publicKeyPEM)])
    }

    func listGrants(_ r: ActionRequest) async throws -> ActionResponse {
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
    }

    func revokeGrant(_ r: ActionRequest) async throws -> ActionResponse {
        let id = r.args["grant"]?.stringValue ?? ""
        guard let grant = try await incomingGrants(r.link).first(where: { $0.id == id }),
            r.args["user"]?.stringValue.map({ $0 == grant.user }) ?? true
        else {
            throw PluginError(code: "invalid_input", message: "\(r.link.name) has no approval '\(id)'; see list-grants.")
        }
        try await KVProviderStore(host: host).revokeGrant(grant)
        return ActionResponse(message: "Revoked \(grant.user)'s approval of \(r.link.name); its token stops working now.")
    }

    /// The remote admin API's `Authorization` from `remote_token`, or `remote_user` and `remote_password`.
    static func remoteAuthorization(_ answers: [String: JSONValue]) -> String? {
        let user = answers["remote_user"]?.stringValue ?? "", password = answers["remote_password"]?.stringValue ?? ""
        if let token = answers["remote_token"]?.stringValue, !token.isEmpty { return "Bearer " + token }
        if !user.isEmpty && !password.isEmpty { return "Basic " + Data("\(user):\(password)".utf8).base64EncodedString() }
        return nil
    }

    /// The approvals of the consumer this link registered (a remote host, or a Generic application).
    func incomingGrants(_ link: Link) async throws -> [OAuth1Grant] {
        guard let key = link.config["consumer_key"]?.stringValue else { return [] }
        return try await KVProviderStore(host: host).grants(consumerKey: key)
    }

    /// Deletes the remote's reciprocal link through its admin API, before the host deletes this side.
    func deleteRemote(_ r: ActionRequest) async throws -> ActionResponse {
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
    func editAuth(_ r: ActionRequest) async throws -> ActionResponse {
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
    func relocate(_ link: Link, to given: String) async throws -> ActionResponse {
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
}
