import AppLinksCore
import AppLinksCrypto
import AppLinksHost
import Foundation
import HTTPTypes
import Hummingbird

/// The first administrator of a new deployment, made in the browser: `applinks serve` prints `/setup` with a
/// one-time code while no administrator exists, like Jenkins' `initialAdminPassword`. Only the code's SHA-256 is
/// stored; it works once, and the page refuses everything once an administrator exists.
public struct FirstRunSetup: Sendable {
    let deployment: Deployment
    static let namespace = "host.setup"
    static let key = "code"
    /// No 0/O or 1/I/L: the code is read off a terminal and typed.
    static let alphabet = Array("ABCDEFGHJKMNPQRSTUVWXYZ23456789")

    public init(deployment: Deployment) { self.deployment = deployment }

    func hasAdministrator() async throws -> Bool { try await deployment.store.users().contains { $0.admin } }

    /// A new one-time code when the deployment has no administrator yet (it replaces an older one), else nil.
    public func issueCode() async throws -> String? {
        guard try await !hasAdministrator() else {
            try await deployment.store.delete(namespace: Self.namespace, key: Self.key)
            return nil
        }
        let bytes = SecureRandom.bytes(16)
        let chars = bytes.map { Self.alphabet[Int($0) % Self.alphabet.count] }
        let code = stride(from: 0, to: 16, by: 4).map { String(chars[$0..<$0 + 4]) }.joined(separator: "-")
        try await deployment.store.put(namespace: Self.namespace, key: Self.key, value: Self.digest(code), ttl: nil)
        return code
    }

    static func digest(_ code: String) -> Data {
        let normalized = code.uppercased().filter { !$0.isWhitespace && $0 != "-" }
        return Data(Digest.sha256(Data(normalized.utf8)).hexString.utf8)
    }

    /// Takes the code, once: compare-and-set, so two forms sent at the same moment cannot both use it.
    func redeem(_ code: String) async throws -> Bool {
        guard let stored = try await deployment.store.value(namespace: Self.namespace, key: Self.key) else { return false }
        guard ConstantTime.equals(stored, Self.digest(code)) else { return false }
        return try await deployment.store.compareAndSet(
            namespace: Self.namespace, key: Self.key, expected: stored, replacement: nil, ttl: nil)
    }

    static func register(on router: Router<AppRequestContext>, web: WebAccess) {
        let setup = FirstRunSetup(deployment: web.deployment)
        let sessions = web.sessions
        let throttle = LoginThrottle(deployment: web.deployment)

        @Sendable func done() -> Response {
            web.templates.page(
                "message", title: "Already set up",
                values: [
                    "error": "This deployment has an administrator already. Log in, or ask an administrator for an account.",
                    "links": [["href": "/login", "label": "Log in"]],
                ], status: .forbidden)
        }

        @Sendable func form(error: String?, user: String, status: HTTPResponse.Status) -> Response {
            let csrf = SecureRandom.token(bits: 256)
            return web.templates.page(
                "setup", title: "Set up AppLinks", values: ["csrf": csrf, "error": error as Any, "username": user], status: status,
                headers: [.setCookie: sessions.setCookie(sessions.loginCSRFCookie, csrf)])
        }

        router.get("/setup") { _, _ in
            if try await setup.hasAdministrator() { return done() }
            return form(error: nil, user: "", status: .ok)
        }

        router.post("/setup") { request, context in
            if try await setup.hasAdministrator() { return done() }
            let fields = FormBody.parse(try await request.body.collect(upTo: 64 * 1024))
            guard let cookie = Cookies.value(sessions.loginCSRFCookie, in: request), let sent = fields["csrf_token"],
                ConstantTime.equals(Data(cookie.utf8), Data(sent.utf8))
            else {
                return form(
                    error: "The form expired or did not come from this site; nothing was changed. Try again.", user: "", status: .forbidden)
            }
            let user = (fields["username"] ?? "").trimmingCharacters(in: .whitespaces)
            let password = fields["password"] ?? ""
            guard password == fields["password_again"] else {
                return form(error: "The two passwords differ; type the same one twice.", user: user, status: .badRequest)
            }
            // Checked before the code is spent, so that a typo in the name does not burn it.
            do {
                _ = try Deployment.validUserName(user)
                _ = try Deployment.validPassword(password)
            } catch let e as AppLinksError {
                return form(error: e.message, user: user, status: .badRequest)
            }
            if try await !throttle.reserve(user: "setup", address: context.clientAddress) {
                var r = form(error: "Too many wrong codes. Wait five minutes and try again.", user: user, status: .tooManyRequests)
                r.headers[.retryAfter] = "300"
                return r
            }
            guard try await setup.redeem(fields["code"] ?? "") else {
                context.logger.notice("setup refused a wrong one-time code")
                return form(
                    error:
                        "That is not the one-time code. Copy it from the output of `applinks serve`; restarting the server prints a new one.",
                    user: user, status: .unauthorized)
            }
            let created = try await web.deployment.acting(as: "setup").addUser(user, password: password, admin: true)
            context.logger.notice("first administrator created", metadata: ["user": "\(created.name)"])
            let (id, _) = try await sessions.create(user: created.name, admin: true)
            var r = WebAccess.redirect("/admin/applinks")
            r.headers.append(HTTPField(name: .setCookie, value: sessions.setCookie(sessions.cookie, id)))
            r.headers.append(HTTPField(name: .setCookie, value: sessions.setCookie(sessions.loginCSRFCookie, "", maxAge: 0)))
            return r
        }
    }
}
