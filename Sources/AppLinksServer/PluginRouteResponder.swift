import AppLinksCore
import AppLinksHost
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Passes a request for a route a plugin declared to that plugin's `handle_http`, and its answer back.
///
/// The route table is built at start from every valid plugin; whether the plugin is enabled is checked on each
/// request, so a link type disabled with the CLI answers 404 at once.
struct PluginRouteResponder: Sendable {
    let deployment: Deployment
    let pluginID: String
    let route: LinkTypeDescriptor.Route
    static let maxBody = 1 << 20
    static let timeout: Duration = .seconds(30)

    func respond(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        guard let plugin = deployment.plugins[pluginID] else {
            return HTTPReply.error(.notFound, code: "not_found", "No such page.")
        }
        if route.auth != .none {
            // Sessions and logins arrive with the login pages; until then no user can be authenticated.
            return HTTPReply.error(.unauthorized, code: "login_required", "This page needs a logged-in user.")
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maxBody)
        } catch {
            return HTTPReply.error(.contentTooLarge, code: "too_large", "The request body is larger than \(Self.maxBody) bytes.")
        }
        let pluginRequest = PluginHTTPRequest(
            method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "",
            headers: request.headers.map { [$0.name.canonicalName, $0.value] }, body: Data(body.readableBytesView),
            remoteAddress: context.clientAddress, user: nil, baseURL: deployment.config.baseURL)
        do {
            let answer = try await plugin.call(.handleHTTP, pluginRequest, as: PluginHTTPResponse.self, timeout: Self.timeout)
            guard (100...599).contains(answer.status) else {
                throw AppLinksError(.pluginFailed, "status \(answer.status) is not an HTTP status")
            }
            let status = HTTPResponse.Status(code: answer.status)
            var headers = HTTPFields()
            for h in answer.headers where h.count == 2 {
                if let name = HTTPField.Name(h[0]) { headers.append(HTTPField(name: name, value: h[1])) }
            }
            return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
        } catch {
            context.logger.error("plugin route failed", metadata: ["plugin": "\(pluginID)", "path": "\(route.path)", "error": "\(error)"])
            return HTTPReply.error(
                .badGateway, code: "plugin_failed", "The \(plugin.descriptor.name) link type could not answer this request.")
        }
    }
}
