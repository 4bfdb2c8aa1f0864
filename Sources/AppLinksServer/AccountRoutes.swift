import AppLinksCore
import AppLinksHost
import AppLinksJSON
import Foundation
import HTTPTypes
import Hummingbird

/// `/account/authorizations`: every application the logged-in user authorized, of every link type that lists
/// its users' approvals (OAuth 2.0 grants, OAuth 1.0 3LO approvals), each with a button that revokes it.
enum AccountRoutes {
    static let path = "/account/authorizations"

    static func register(on router: Router<AppRequestContext>, deployment: Deployment) {
        let sessions = Sessions(deployment: deployment)

        router.get(RouterPath(path)) { request, _ in
            guard let (_, record) = try await sessions.find(request) else { return LoginRoutes.redirect("/login?next=\(path)") }
            let grants = try await deployment.acting(as: "user:\(record.user)").grants(ofUser: record.user)
            return page(grants, record: record, notice: request.uri.queryParameters["revoked"].map { _ in "Revoked." })
        }

        router.post(RouterPath(path)) { request, _ in
            let fields = FormBody.parse(try await request.body.collect(upTo: 64 * 1024))
            guard let (_, record) = try await sessions.find(request) else { return LoginRoutes.redirect("/login?next=\(path)") }
            guard record.sentCSRF(fields["csrf_token"]) else {
                return HTMLPage.render(
                    title: "Request refused",
                    body: "<p class=\"error\">The form did not come from this site. Go back, reload the page and try again.</p>",
                    status: .forbidden)
            }
            do {
                // The user revokes only their own: the grant is looked up among theirs, and the type checks it again.
                _ = try await deployment.acting(as: "user:\(record.user)").revokeGrant(ofUser: record.user, grant: fields["grant"] ?? "")
            } catch let e as AppLinksError where e.code == .notFound || e.code == .invalidInput {
                return HTMLPage.render(
                    title: "Not revoked", body: "<p class=\"error\">You have no such authorization.</p>", status: .notFound)
            }
            return LoginRoutes.redirect("\(path)?revoked=1")
        }
    }

    static func page(_ grants: [JSONValue], record: Sessions.Record, notice: String?) -> Response {
        let items = grants.map { g -> [String: Any] in
            var scopes: [String] = []
            if case .array(let items)? = g["scopes"] { scopes = items.compactMap(\.stringValue) }
            return [
                "client": LinksPage.clip(g["client"]?.stringValue ?? "?"), "scopes": scopes.joined(separator: ", "),
                "created_at": g["created_at"]?.stringValue ?? "?", "id": g["id"]?.stringValue ?? "", "csrf": record.csrf,
            ]
        }
        let nav = WebNav(user: record.user, admin: record.admin, csrf: record.csrf, current: path)
        guard case .success(let templates) = WebTemplates.loaded else {
            return HTMLPage.render(title: "Applications you have authorized", body: "")
        }
        return templates.page(
            "authorizations", title: "Applications you have authorized", values: ["grants": items, "notice": notice as Any], nav: nav)
    }
}
