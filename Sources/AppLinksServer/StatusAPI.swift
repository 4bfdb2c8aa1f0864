import AppLinksCore
import AppLinksHost
import Foundation
import HTTPTypes
import Hummingbird

/// `GET /rest/applinks/3.0/status/{id}`: how a linked remote checks this side of a link; `id` is the link's id
/// or the linked application's id. The link's own type
/// authenticates the caller (an OAuth-signed request, for the Atlassian link type), so the request goes to
/// that plugin's `handle_http` as it came.
enum StatusAPI {
    static func register(on router: Router<AppRequestContext>, deployment: Deployment) {
        router.get("/rest/applinks/3.0/status/:id") { request, context in
            let id = try context.parameters.require("id").lowercased()
            // As in Atlassian's applinks, a remote may name the link by the id of the application it links to:
            // its own application id, which it knows without asking.
            var found = try await deployment.store.link(id: id)
            if found == nil { found = try await deployment.store.links().first { $0.application.id?.lowercased() == id } }
            guard let link = found else {
                return HTTPReply.error(.notFound, code: "not_found", "No application link \(id) here.")
            }
            guard let plugin = deployment.enabledPlugin(link.type) else {
                // The link is kept: the remote must tell this from a link that is gone, and not delete its side.
                return HTTPReply.error(
                    .serviceUnavailable, code: "link_type_disabled",
                    "The link type \(link.type) is disabled on \(deployment.config.name); its link to you is kept. An administrator "
                        + "here can enable it with `applinks plugins enable \(link.type)`.")
            }
            let pluginRequest = PluginHTTPRequest(
                method: "GET", path: request.uri.path, query: request.uri.query ?? "",
                headers: request.headers.map { [$0.name.canonicalName, $0.value] }, remoteAddress: context.clientAddress,
                baseURL: deployment.config.baseURL, route: PluginHTTPRequest.statusAPIRoute)
            do {
                let answer = try await plugin.handleHTTP(pluginRequest, inline: false, timeout: .seconds(30))
                if answer.status == 404 {
                    return HTTPReply.error(
                        .notFound, code: "not_supported", "The \(plugin.descriptor.name) link type offers no status API.")
                }
                // The remote just checked its side against ours, so it has one: our side, checked before the
                // remote finished creating its own (the reciprocal link of a two-way wizard), is checked again.
                if answer.status == 200 && link.status.category != .connected { await deployment.followUp(link) }
                return HTTPReply.plugin(answer)
            } catch {
                return HTTPReply.error(.badGateway, code: "plugin_failed", "The \(plugin.descriptor.name) link type could not answer.")
            }
        }
    }
}
