import AppLinksCore
import AppLinksHTTPInput
import AppLinksHost
import AppLinksJSON
import AppLinksPluginRuntime
import AppLinksStore
import Foundation
import HTTPTypes
import Hummingbird

/// Checks the admin REST API's caller: `Authorization: Bearer <personal access token>`, or `Basic` with an
/// administrator's user name and password, which a remote instance's wizard uses once to create the
/// reciprocal link. 401 with `WWW-Authenticate` for missing or bad credentials, 403 for a user who is not an
/// administrator, 429 after repeated password failures (the login page's throttle).
struct BearerAdminMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let deployment: Deployment
    static let challenge = #"Bearer realm="applinks", Basic realm="applinks""#

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            return HTTPReply.error(
                .unauthorized, code: "unauthorized",
                "This API needs `Authorization: Bearer TOKEN`; create a token with "
                    + "`applinks tokens create --user NAME`.", headers: [.wwwAuthenticate: Self.challenge])
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        let scheme = parts.first?.lowercased() ?? ""
        let credentials = parts.count == 2 ? String(parts[1]).trimmingCharacters(in: .whitespaces) : ""
        let user: UserRecord
        let via: String
        if scheme == "basic" {
            guard let basic = BasicCredentials(header: header) else {
                return HTTPReply.error(
                    .unauthorized, code: "invalid_credentials", "Basic credentials must be base64 of NAME:PASSWORD.",
                    headers: [.wwwAuthenticate: Self.challenge])
            }
            let name = basic.user
            let throttle = LoginThrottle(deployment: deployment)
            if try await !throttle.reserve(user: name, address: context.clientAddress) {
                return HTTPReply.error(
                    .tooManyRequests, code: "too_many_attempts", "Too many failed attempts. Wait five minutes and try again.",
                    headers: [.retryAfter: "300"])
            }
            guard let found = try await deployment.authenticate(user: name, password: basic.password)
            else {
                context.logger.notice("API login failed", metadata: ["user": "\(name)"])
                return HTTPReply.error(
                    .unauthorized, code: "invalid_credentials", "Wrong user name or password.", headers: [.wwwAuthenticate: Self.challenge])
            }
            try await throttle.succeeded(user: name, address: context.clientAddress)
            (user, via) = (found, "password")
        } else if scheme == "bearer", let (found, token) = try await deployment.authenticate(bearer: credentials) {
            (user, via) = (found, "token \(token.id)")
        } else if scheme == "bearer", !credentials.isEmpty,
            let found = try await deployment.authenticateWithLinkTypes(bearer: credentials, remoteAddress: context.clientAddress)
        {
            guard found.admin else {
                return HTTPReply.error(
                    .forbidden, code: "insufficient_scope",
                    "This token acts for '\(found.user.name)' without administration rights: the user must be an administrator, "
                        + "and the token's scopes must allow administration (SYSTEM_ADMIN for oauth2-incoming).",
                    headers: [.wwwAuthenticate: #"Bearer realm="applinks", error="insufficient_scope""#])
            }
            (user, via) = (found.user, found.via)
        } else {
            return HTTPReply.error(
                .unauthorized, code: "invalid_token", "The token is unknown, revoked or expired.",
                headers: [.wwwAuthenticate: #"Bearer realm="applinks", error="invalid_token""#])
        }
        guard user.admin else {
            return HTTPReply.error(.forbidden, code: "forbidden", "The user '\(user.name)' is not an administrator.")
        }
        var context = context
        context.user = AuthenticatedUser(name: user.name, admin: true, via: via)
        return try await next(request, context)
    }
}

/// The admin REST API under `/rest/applinks/3.0/`, in the CLI's JSON.
enum AdminAPI {
    static func register(on router: Router<AppRequestContext>, deployment base: Deployment) {
        let api = router.group("rest/applinks/3.0").add(middleware: BearerAdminMiddleware(deployment: base))
        @Sendable func acting(_ context: AppRequestContext) -> Deployment { base.acting(as: "api:\(context.user?.name ?? "unknown")") }

        api.get("links") { _, _ in
            try await respond { HTTPReply.json(try await base.store.links()) }
        }
        api.get("links/:id") { _, context in
            try await respond { HTTPReply.json(try await base.resolveLink(try context.parameters.require("id"))) }
        }
        api.delete("links/:id") { _, context in
            try await respond { HTTPReply.json(try await acting(context).deleteLink(try context.parameters.require("id"))) }
        }
        api.post("links/:id/status") { _, context in
            try await respond {
                let d = acting(context)
                let link = try await d.resolveLink(try context.parameters.require("id"))
                return HTTPReply.json(try await d.checkStatus(of: [link])[0])
            }
        }
        api.get("links/:id/actions") { _, context in
            try await respond {
                let link = try await base.resolveLink(try context.parameters.require("id"))
                return HTTPReply.json(try base.plugin(forType: link.type).descriptor.adminActions)
            }
        }
        api.post("links/:id/actions/:action") { request, context in
            try await respond {
                let args = try await Self.arguments(request)
                let (link, response) = try await acting(context).invokeAction(
                    try context.parameters.require("id"), action: try context.parameters.require("action"), rawArgs: args)
                let reply: JSONValue = [
                    "link_id": .string(link.id), "message": response.message.map(JSONValue.string) ?? .null,
                    "output": response.output ?? .null,
                ]
                return HTTPReply.json(reply)
            }
        }
        api.get("link-types") { _, _ in HTTPReply.json(base.pluginRecords) }
        api.post("link-types/:id/:change") { _, context in
            try await respond {
                let change = try context.parameters.require("change")
                guard change == "enable" || change == "disable" else {
                    throw AppLinksError(.notFound, "Use …/link-types/ID/enable or …/link-types/ID/disable.")
                }
                return HTTPReply.json(
                    try await acting(context).setLinkTypeEnabled(try context.parameters.require("id"), enabled: change == "enable"))
            }
        }
        api.post("wizard/drafts/:draft") { request, context in
            try await respond {
                let answers = try await Self.answers(request)
                let engine = WizardEngine(host: acting(context), wait: false, interaction: SilentInteraction())
                return try await wizardReply { try await engine.resume(draftID: try context.parameters.require("draft"), presets: answers) }
            }
        }
        api.post("wizard/:type") { request, context in
            try await respond {
                let answers = try await Self.answers(request)
                let engine = WizardEngine(host: acting(context), wait: false, interaction: SilentInteraction())
                return try await wizardReply { try await engine.start(type: try context.parameters.require("type"), presets: answers) }
            }
        }
        api.get("audit") { request, _ in
            try await respond {
                let limit = request.uri.queryParameters["limit"].flatMap { Int($0) } ?? 200
                let since = try request.uri.queryParameters["since"].map { s -> Date in
                    guard let d = Timestamp.parse(String(s)) else {
                        throw AppLinksError(.invalidInput, "since must be an ISO 8601 time such as 2026-11-29T10:00:00Z.")
                    }
                    return d
                }
                return HTTPReply.json(try await base.store.auditEvents(since: since, limit: max(1, min(limit, 10_000))))
            }
        }
    }

    /// `{"answers": {...}}`, or an empty body for none.
    static func answers(_ request: Request) async throws -> [String: JSONValue] {
        let body = try await request.body.collect(upTo: 1 << 20)
        if body.readableBytes == 0 { return [:] }
        struct Body: Decodable { var answers: [String: JSONValue]? }
        guard let decoded = try? JSONCoding.decode(Body.self, from: Data(body.readableBytesView)) else {
            throw AppLinksError(.invalidInput, #"The body must be JSON such as {"answers": {"url": "https://…"}}."#)
        }
        return decoded.answers ?? [:]
    }

    /// An action's arguments, `{"args": {"name": value}}`: strings, numbers or booleans, converted to the types
    /// the action declares as the CLI's `--arg` values are.
    static func arguments(_ request: Request) async throws -> [(String, String)] {
        let body = try await request.body.collect(upTo: 1 << 20)
        if body.readableBytes == 0 { return [] }
        struct Body: Decodable { var args: [String: JSONValue]? }
        guard let decoded = try? JSONCoding.decode(Body.self, from: Data(body.readableBytesView)) else {
            throw AppLinksError(.invalidInput, #"The body must be JSON such as {"args": {"url": "https://…"}}."#)
        }
        return try (decoded.args ?? [:]).sorted { $0.key < $1.key }.map { name, value in
            guard let text = value.stringValue else {
                throw AppLinksError(.invalidInput, "The argument \(name) must be a string, a number or a boolean.")
            }
            return (name, text)
        }
    }

    static func wizardReply(_ run: () async throws -> WizardOutcome) async throws -> Response {
        struct Reply: Encodable {
            var state: String
            var link: Link?
            var draft_id: String?
            var step: String?
            var message: String?
            var url: String?
            var fields: [WizardField]?
            var errors: [FieldError]?
            var messages: [WizardMessage]?
            var credentials: JSONValue?
        }
        do {
            switch try await run() {
            case .created(let link, let messages, let credentials):
                return HTTPReply.json(
                    Reply(state: "created", link: link, messages: messages, credentials: credentials), status: .created)
            case let .pending(draftID, message, url, messages):
                return HTTPReply.json(
                    Reply(state: "pending", draft_id: draftID, message: message, url: url, messages: messages), status: .accepted)
            }
        } catch let e as AppLinksError where e.code == .wizardFields {
            let needed = e.cause as? WizardInputNeeded
            return HTTPReply.json(
                Reply(
                    state: "fields", draft_id: needed?.draftID, step: needed?.step, message: e.message,
                    fields: needed?.fields, errors: needed?.errors, messages: needed?.messages), status: .unprocessableContent)
        } catch let e as AppLinksError where e.cause is WizardInterrupted {
            // The draft is kept: a client resumes it with POST …/wizard/drafts/DRAFT once the link type answers.
            struct Interrupted: Encodable {
                var error: PluginErrorBody
                var draft_id: String
            }
            let draftID = (e.cause as! WizardInterrupted).draftID
            return HTTPReply.json(
                Interrupted(error: PluginErrorBody(code: e.code.description, message: e.message), draft_id: draftID),
                status: e.code == .timeout ? .gatewayTimeout : .badGateway)
        }
    }

    /// Maps an AppLinksError to its HTTP status, with the message that names the fix.
    static func respond(_ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let e as AppLinksError {
            let status: HTTPResponse.Status
            switch e.code {
            case .notFound: status = .notFound
            case .invalidInput, .ambiguous: status = .badRequest
            case .conflict: status = .conflict
            case .pluginDisabled, .pluginRefused: status = .conflict
            case .timeout: status = .gatewayTimeout
            case .pluginFailed: status = .badGateway
            case .storage: return StoreAvailability.unavailable(e.message)
            default: status = .internalServerError
            }
            return HTTPReply.error(status, code: e.code.description, e.message)
        } catch let e as PluginCallError {
            return HTTPReply.error(.badGateway, code: e.code, "\(e.plugin): \(e.message)")
        }
    }
}

/// The wizard without a terminal: nothing to show, nothing to ask.
struct SilentInteraction: WizardInteraction {
    var isInteractive: Bool { false }
    func started(draftID: String) {}
    func title(_ text: String) {}
    func show(_ message: WizardMessage) {}
    func ask(_ field: WizardField, error: String?) async throws -> JSONValue {
        throw AppLinksError(.wizardFields, "\(field.name) is needed")
    }
    func waiting(url: String?, message: String) {}
}
