import AppLinksCore
import AppLinksCrypto
import AppLinksHTTPInput
import AppLinksHost
import Foundation
import HTTPTypes
import Hummingbird

/// `/login` and `/logout`: HTML forms with CSRF tokens, a session cookie, and a throttle on failures.
enum LoginRoutes {
    static func register(on router: Router<AppRequestContext>, deployment: Deployment) {
        let sessions = Sessions(deployment: deployment)
        let throttle = LoginThrottle(deployment: deployment)

        router.get("/login") { request, _ in
            let next = SafeRedirect.path(request.uri.queryParameters["next"].map(String.init))
            if try await sessions.find(request) != nil { return redirect(next) }
            return form(sessions: sessions, next: next, error: nil, status: .ok)
        }

        router.post("/login") { request, context in
            let fields = FormBody.parse(try await request.body.collect(upTo: 64 * 1024))
            let next = SafeRedirect.path(fields["next"])
            guard let cookie = Cookies.value(sessions.loginCSRFCookie, in: request), let sent = fields["csrf_token"],
                ConstantTime.equals(Data(cookie.utf8), Data(sent.utf8))
            else {
                return HTMLPage.render(
                    title: "Log in",
                    body: "<p class=\"error\">The form expired or did not come from this site. "
                        + "<a href=\"/login?next=\(HTMLPage.escape(next))\">Log in again</a>.</p>", status: .forbidden)
            }
            let name = (fields["username"] ?? "").trimmingCharacters(in: .whitespaces)
            let password = fields["password"] ?? ""
            if try await !throttle.reserve(user: name, address: context.clientAddress) {
                var r = form(
                    sessions: sessions, next: next, error: "Too many failed attempts. Wait five minutes and try again.",
                    status: .tooManyRequests)
                r.headers[.retryAfter] = "300"
                return r
            }
            guard let user = try await deployment.authenticate(user: name, password: password) else {
                context.logger.notice("login failed", metadata: ["user": "\(name)"])
                return form(sessions: sessions, next: next, error: "Wrong user name or password.", status: .unauthorized)
            }
            try await throttle.succeeded(user: name, address: context.clientAddress)
            let (id, _) = try await sessions.create(user: user.name, admin: user.admin)
            context.logger.info("login", metadata: ["user": "\(user.name)"])
            var r = redirect(next)
            r.headers.append(HTTPField(name: .setCookie, value: sessions.setCookie(sessions.cookie, id)))
            r.headers.append(HTTPField(name: .setCookie, value: sessions.setCookie(sessions.loginCSRFCookie, "", maxAge: 0)))
            return r
        }

        router.get("/logout") { request, _ in
            guard let (_, record) = try await sessions.find(request) else { return redirect("/login") }
            return HTMLPage.render(
                title: "Log out",
                body: """
                    <p>Log out \(HTMLPage.escape(record.user))?</p>
                    <form method="post" action="/logout"><input type="hidden" name="csrf_token" value="\(HTMLPage.escape(record.csrf))">
                    <button type="submit">Log out</button></form>
                    """)
        }

        router.post("/logout") { request, _ in
            let fields = FormBody.parse(try await request.body.collect(upTo: 64 * 1024))
            guard let (id, record) = try await sessions.find(request) else { return redirect("/login") }
            guard record.sentCSRF(fields["csrf_token"]) else {
                return HTMLPage.render(
                    title: "Log out", body: "<p class=\"error\">The form did not come from this site.</p>", status: .forbidden)
            }
            try await sessions.end(id)
            var r = redirect("/login")
            r.headers.append(HTTPField(name: .setCookie, value: sessions.setCookie(sessions.cookie, "", maxAge: 0)))
            return r
        }
    }

    static func redirect(_ to: String) -> Response {
        Response(status: .seeOther, headers: [.location: to, .cacheControl: "no-store"])
    }

    /// The login form, with a fresh double-submit CSRF token in a cookie and a hidden field.
    static func form(sessions: Sessions, next: String, error: String?, status: HTTPResponse.Status) -> Response {
        let csrf = SecureRandom.token(bits: 256)
        let body = """
            \(error.map { "<p class=\"error\">\(HTMLPage.escape($0))</p>" } ?? "")
            <form method="post" action="/login">
            <input type="hidden" name="csrf_token" value="\(csrf)">
            <input type="hidden" name="next" value="\(HTMLPage.escape(next))">
            <label>User name<input name="username" autocomplete="username" required autofocus></label>
            <label>Password<input name="password" type="password" autocomplete="current-password" required></label>
            <button type="submit">Log in</button>
            </form>
            """
        return HTMLPage.render(
            title: "Log in", body: body, status: status,
            headers: [.setCookie: sessions.setCookie(sessions.loginCSRFCookie, csrf)])
    }
}
