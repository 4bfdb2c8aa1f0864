import AppLinksCore
import AppLinksCrypto
import AppLinksHost
import AppLinksJSON
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
        guard let plugin = deployment.enabledPlugin(pluginID) else {
            // The route exists; its link type is switched off here. A callback that a browser follows gets 403,
            // anything else 503, and both say which type and how to switch it back on.
            let status: HTTPResponse.Status = route.auth == .none ? .serviceUnavailable : .forbidden
            return HTTPReply.error(
                status, code: "link_type_disabled",
                "The link type \(pluginID) is disabled on this deployment. An administrator can enable it with "
                    + "`applinks plugins enable \(pluginID)`.")
        }
        let sessions = Sessions(deployment: deployment)
        let session = try await sessions.find(request)
        if route.auth != .none {
            guard let session else {
                let target = request.uri.path + (request.uri.query.map { "?\($0)" } ?? "")
                if request.method == .get || request.method == .head {
                    let next = target.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "/"
                    return Response(status: .seeOther, headers: [.location: "/login?next=\(next)", .cacheControl: "no-store"])
                }
                return HTTPReply.error(.unauthorized, code: "login_required", "This page needs a logged-in user; log in at /login.")
            }
            if route.auth == .admin && !session.record.admin {
                return HTTPReply.error(.forbidden, code: "forbidden", "This page is for administrators.")
            }
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maxBody)
        } catch {
            return HTTPReply.error(.contentTooLarge, code: "too_large", "The request body is larger than \(Self.maxBody) bytes.")
        }
        // A request that rides on the session cookie and changes something must prove it came from our own form.
        if let session, ![.get, .head, .options].contains(request.method) {
            let sent = request.headers[HTTPField.Name("X-CSRF-Token")!] ?? FormBody.parse(body)["csrf_token"]
            guard session.record.sentCSRF(sent) else {
                return HTMLPage.render(
                    title: "Request refused",
                    body: "<p class=\"error\">The form did not come from this site "
                        + "(missing or wrong CSRF token). Go back, reload the page and try again.</p>", status: .forbidden)
            }
        }
        let pluginRequest = PluginHTTPRequest(
            method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "",
            headers: request.headers.map { [$0.name.canonicalName, $0.value] }, body: Data(body.readableBytesView),
            remoteAddress: context.clientAddress, user: session.map { .init(name: $0.record.user, admin: $0.record.admin) },
            baseURL: deployment.config.baseURL, route: route.id)
        do {
            let answer = try await deployment.answer(pluginRequest, route: route, of: plugin, timeout: Self.timeout)
            guard (100...599).contains(answer.status) else {
                throw AppLinksError(.pluginFailed, "status \(answer.status) is not an HTTP status")
            }
            // A plugin that failed because the database is away is not to blame: say what is.
            if answer.status >= 500, let away = StoreAvailability.awayMessage(deployment) { return StoreAvailability.unavailable(away) }
            let status = HTTPResponse.Status(code: answer.status)
            if let ids = answer.checkLinks, !ids.isEmpty { await deployment.checkSoon(ids, ofType: pluginID) }
            // Back to a wizard the admin started in the browser; a wizard the CLI runs finds out by itself.
            if let draft = answer.resumeDraft, answer.status < 400, session?.record.admin == true,
                try await WizardPages.load(deployment, draft) != nil
            {
                return LoginRoutes.redirect("\(WizardPages.draftPath)/\(WebAccess.pathEscape(draft))")
            }
            // A page the plugin describes is rendered in the host's frame: escaped, with the CSRF token in its form.
            if answer.headers.contains(where: {
                $0.count == 2 && $0[0].lowercased() == "content-type" && $0[1].hasPrefix(PluginHTTPResponse.pageContentType)
            }) {
                let page = try JSONCoding.decode(HTMLPage.PluginPage.self, from: answer.body)
                return HTMLPage.render(page, csrf: session?.record.csrf, status: status)
            }
            return HTTPReply.plugin(answer)
        } catch {
            if let away = StoreAvailability.awayMessage(deployment) { return StoreAvailability.unavailable(away) }
            context.logger.error("plugin route failed", metadata: ["plugin": "\(pluginID)", "path": "\(route.path)", "error": "\(error)"])
            return HTTPReply.error(
                .badGateway, code: "plugin_failed", "The \(plugin.descriptor.name) link type could not answer this request.")
        }
    }
}
