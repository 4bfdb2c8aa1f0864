import AppLinksCore
import AppLinksHTTPInput
import AppLinksHost
import AppLinksPluginRuntime
import Foundation
import HTTPTypes
import Hummingbird

/// A page that cannot go on: the response (a redirect to the login page, a 403, a refused form) says why.
struct WebStop: Error, @unchecked Sendable {
    var response: Response
}

/// What every admin or account page shares: who is asking, the CSRF check of a form, the frame, and error pages
/// that say what happened instead of a 500.
struct WebAccess: Sendable {
    let deployment: Deployment
    let sessions: Sessions
    let templates: WebTemplates

    init(deployment: Deployment, templates: WebTemplates) {
        self.deployment = deployment
        self.sessions = Sessions(deployment: deployment)
        self.templates = templates
    }

    struct Visitor {
        var record: Sessions.Record
        var deployment: Deployment
        func nav(_ current: String) -> WebNav { WebNav(user: record.user, admin: record.admin, csrf: record.csrf, current: current) }
    }

    /// The logged-in user, or a redirect to the login page that comes back here.
    func user(_ request: Request) async throws -> Visitor {
        guard let (_, record) = try await sessions.find(request) else {
            let here = request.uri.path + (request.uri.query.map { "?\($0)" } ?? "")
            throw WebStop(response: LoginRoutes.redirect("/login?next=\(Self.queryEscape(SafeRedirect.path(here)))"))
        }
        // Every change a page makes is audited with the web user as its actor.
        return Visitor(record: record, deployment: deployment.acting(as: "web:\(record.user)"))
    }

    /// An administrator's session; a logged-in user who is not one gets a 403 page.
    func admin(_ request: Request) async throws -> Visitor {
        let visitor = try await user(request)
        guard visitor.record.admin else {
            throw WebStop(
                response: templates.page(
                    "message", title: "Administrators only",
                    values: [
                        "error": "The user \(visitor.record.user) is not an administrator, so this page is not available.",
                        "links": [["href": AccountRoutes.path, "label": "Your authorized applications"]],
                    ], nav: visitor.nav(""), status: .forbidden))
        }
        return visitor
    }

    /// A form's fields, after checking that it carries the session's CSRF token; nothing is changed otherwise.
    func form(_ request: Request, _ visitor: Visitor) async throws -> [(String, String)] {
        let pairs = FormBody.pairs(try await request.body.collect(upTo: 1 << 20))
        guard visitor.record.sentCSRF(pairs.last(where: { $0.0 == "csrf_token" })?.1) else {
            throw WebStop(
                response: templates.page(
                    "message", title: "Form expired",
                    values: [
                        "error":
                            "The form was stale or did not come from this site, so nothing was changed. Go back, reload the page and try again."
                    ], nav: visitor.nav(""), status: .forbidden))
        }
        return pairs.filter { $0.0 != "csrf_token" }
    }

    /// Runs a page; a ``WebStop`` becomes its response, and an error becomes a page that names it.
    func page(_ nav: WebNav? = nil, _ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let stop as WebStop {
            return stop.response
        } catch let e as AppLinksError {
            if e.code == .storage { throw e }
            let (status, title): (HTTPResponse.Status, String) =
                switch e.code {
                case .notFound: (.notFound, "Not found")
                case .invalidInput, .ambiguous, .wizardFields: (.badRequest, "Not done")
                case .conflict, .pluginDisabled, .pluginRefused: (.conflict, "Not done")
                case .timeout: (.gatewayTimeout, "No answer in time")
                case .pluginFailed: (.badGateway, "The link type failed")
                default: (.internalServerError, "Something went wrong")
                }
            return templates.page(
                "message", title: title,
                values: ["error": e.message, "links": [["href": "/admin/applinks", "label": "Application links"]]],
                nav: nav, status: status)
        } catch let e as PluginCallError {
            return templates.page(
                "message", title: "The link type failed", values: ["error": "\(e.plugin): \(e.message)"], nav: nav, status: .badGateway)
        }
    }

    static func redirect(_ to: String) -> Response { LoginRoutes.redirect(to) }

    static func queryEscape(_ s: String) -> String {
        if s.utf8.allSatisfy({
            ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || $0 == 0x2D || $0 == 0x2E || $0 == 0x5F
        }) {
            return s
        }
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+?#")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    static func pathEscape(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#"))) ?? ""
    }
}

extension Array where Element == (String, String) {
    /// The last value sent under `name`.
    subscript(name name: String) -> String? { last(where: { $0.0 == name })?.1 }
    func all(_ name: String) -> [String] { filter { $0.0 == name }.map(\.1) }
}
