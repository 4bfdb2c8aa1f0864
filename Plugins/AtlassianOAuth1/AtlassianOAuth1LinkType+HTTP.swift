import AppLinksCore
import AppLinksCrypto
import AppLinksJSON
import AppLinksOAuth1
import AppLinksPluginKit
import AppLinksPluginOAuth1
import Foundation

/// The routes: the OAuth 1.0 provider endpoints, the wizard's return, and the status API.
extension AtlassianOAuth1LinkType {
    static let routes: [DeclaredRoute<AtlassianOAuth1LinkType>] =
        [
            DeclaredRoute(.init(method: "GET", path: "/plugins/servlet/oauth/consumer-info", auth: .none)) { plugin, _ in
                let me = try await plugin.host.instanceInfo()
                let info = ConsumerInfo(
                    key: me.id, name: me.name, publicKeyPEM: me.publicKeyPEM, description: "\(me.name) at \(me.baseURL)")
                return PluginHTTPResponse(
                    status: 200, headers: [["Content-Type", "application/xml; charset=utf-8"]], body: Data(info.xml.utf8))
            }
        ]
        + OAuth1ProviderRoutes.declared { plugin, r in plugin.providerRoutes(r) }
        + [
            DeclaredRoute(.init(method: "GET", path: Authorization.startPath, auth: .user)) { plugin, r in
                try await Authorization(host: plugin.host).start(r)
            },
            DeclaredRoute(.init(method: "GET", path: Authorization.callbackPath, auth: .user)) { plugin, r in
                try await Authorization(host: plugin.host).callback(r)
            },
            DeclaredRoute(.init(method: "GET", path: "/plugins/atlassian-oauth1/whoami", auth: .none)) { plugin, r in
                try await plugin.whoami(r)
            },
            DeclaredRoute(.init(method: "GET", path: Self.wizardReturnPath, auth: .admin)) { _, r in
                let draft = OAuth1Encoding.pairs(r.query).first { $0.0 == "draft" }?.1 ?? ""
                return PluginHTTPResponse.page(
                    200, "Back from the other application", "Go back to the wizard that creates the link to finish it."
                ).resuming(draft: draft)
            },
            .statusAPI { plugin, r in try await plugin.statusAPI(r, plugin.providerRoutes(r)) },
        ]

    func providerRoutes(_ r: PluginHTTPRequest) -> OAuth1ProviderRoutes {
        OAuth1ProviderRoutes(host: host, baseURL: r.baseURL, admission: admission)
    }

    /// Who signed the request, as this side knows them: what the remote's `whoami` action asks.
    func whoami(_ r: PluginHTTPRequest) async throws -> PluginHTTPResponse {
        switch await providerRoutes(r).authenticate(r) {
        case .failure(let refusal): return refusal.response
        case .success(let caller):
            return PluginHTTPResponse(
                status: 200, headers: [["Content-Type", "application/json"]],
                body: try JSONCoding.encode([
                    "user": caller.user.map(JSONValue.string) ?? .null, "consumer": .string(caller.consumer.key),
                    "two_legged": .bool(caller.twoLegged),
                ]))
        }
    }

    /// What a consumer may do, from its link as it is now (read at each request, so a change on any node counts
    /// at once): nothing while the link is disabled or gone, and only the link's incoming levels otherwise.
    func admission(_ consumer: OAuth1ConsumerRecord) async throws -> OAuth1Admission {
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
    func statusAPI(_ r: PluginHTTPRequest, _ routes: OAuth1ProviderRoutes) async throws -> PluginHTTPResponse {
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
