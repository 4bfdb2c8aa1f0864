import AppLinksCore
import AppLinksHost
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
            return page(grants, csrf: record.csrf, notice: request.uri.queryParameters["revoked"].map { _ in "Revoked." })
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

    static func page(_ grants: [JSONValue], csrf: String, notice: String?) -> Response {
        var body = notice.map { "<p>\(HTMLPage.escape($0))</p>\n" } ?? ""
        if grants.isEmpty { body += "<p>You have not authorized any application.</p>" }
        for g in grants {
            var scopes: [String] = []
            if case .array(let items)? = g["scopes"] { scopes = items.compactMap(\.stringValue) }
            let name = g["client"]?.stringValue ?? "?"
            body += """
                <p><strong>\(HTMLPage.escape(name))</strong>: \(HTMLPage.escape(scopes.joined(separator: ", "))), \
                since \(HTMLPage.escape(g["created_at"]?.stringValue ?? "?"))</p>
                <form method="post" action="\(path)">
                <input type="hidden" name="csrf_token" value="\(HTMLPage.escape(csrf))">
                <input type="hidden" name="grant" value="\(HTMLPage.escape(g["id"]?.stringValue ?? ""))">
                <button type="submit">Revoke \(HTMLPage.escape(name))</button></form>

                """
        }
        return HTMLPage.render(title: "Applications you have authorized", body: body, headers: [.cacheControl: "no-store"])
    }
}
