import AppLinksCore
import AppLinksHost
import AppLinksJSON
import Foundation
import HTTPTypes
import Hummingbird

/// `/admin/applinks/reciprocal`: another application's wizard sends its admin's browser here to create this
/// side of a two-way link, as Atlassian's wizard does, when no administrator's credentials for this deployment
/// were given there. The page shows what would be created and asks; only an administrator of this deployment
/// can confirm, and the browser goes back only to the application being linked.
enum ReciprocalPage {
    static let path = LinksPage.path + "/reciprocal"

    struct Request {
        var type: String
        var answers: [String: String]
        /// Where to send the browser afterwards: only a page of the application being linked.
        var back: String?

        init(_ pairs: [(String, String)]) {
            type = pairs[name: "type"] ?? ""
            var answers: [String: String] = [:]
            for (k, v) in pairs where k.hasPrefix("answer.") { answers[String(k.dropFirst(7))] = v }
            self.answers = answers
            let url = (answers["url"] ?? "").trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            let back = pairs[name: "return"] ?? ""
            self.back = !url.isEmpty && Self.sameOrigin(back, url) ? back : nil
        }

        static func sameOrigin(_ a: String, _ b: String) -> Bool {
            guard let x = URLComponents(string: a), let y = URLComponents(string: b), let scheme = x.scheme?.lowercased(),
                ["http", "https"].contains(scheme), x.host != nil
            else { return false }
            return scheme == y.scheme?.lowercased() && x.host?.lowercased() == y.host?.lowercased() && x.port == y.port
        }

        var hidden: [[String: Any]] {
            [["name": "type", "value": type]] + answers.sorted { $0.key < $1.key }.map { ["name": "answer.\($0.key)", "value": $0.value] }
                + (back.map { [["name": "return", "value": $0]] } ?? [])
        }
    }

    static func register(on router: Router<AppRequestContext>, web: WebAccess) {
        @Sendable func page(
            _ v: WebAccess.Visitor, _ r: Request, error: String?, status: HTTPResponse.Status
        ) -> Response {
            let plugin = v.deployment.plugins[r.type]
            return web.templates.page(
                "reciprocal", title: "Link back to \(LinksPage.clip(r.answers["url"] ?? "?"))",
                values: [
                    "type": plugin?.descriptor.name ?? r.type, "known_type": plugin != nil, "url": r.answers["url"] ?? "",
                    "answers": r.answers.filter { $0.key != "url" }.sorted { $0.key < $1.key }.map { ["key": $0.key, "value": $0.value] },
                    "hidden": r.hidden, "csrf": v.record.csrf, "back": r.back as Any, "error": error as Any,
                ], nav: v.nav(LinksPage.path), status: status)
        }

        router.get(RouterPath(path)) { request, _ in
            try await web.page {
                let v = try await web.admin(request)
                // Read as a form: a space in a value comes as "+".
                let pairs = FormBody.pairs(ByteBuffer(string: request.uri.query ?? ""))
                return page(v, Request(pairs), error: nil, status: .ok)
            }
        }

        router.post(RouterPath(path)) { request, _ in
            try await web.page {
                let v = try await web.admin(request)
                let r = Request(try await web.form(request, v))
                guard v.deployment.plugins[r.type] != nil, r.answers["url"] != nil else {
                    return page(
                        v, r, error: "The request names no link type enabled here, or no URL; nothing was created.", status: .badRequest)
                }
                let engine = WizardEngine(host: v.deployment, wait: false, interaction: SilentInteraction())
                do {
                    switch try await engine.start(type: r.type, presets: r.answers.mapValues(JSONValue.string)) {
                    case .created(let link, _, _):
                        return WebAccess.redirect(r.back ?? "\(LinksPage.path)/\(link.id)?notice=created")
                    case let .pending(_, message, _, _):
                        return page(v, r, error: message, status: .accepted)
                    }
                } catch let e as AppLinksError where e.code == .wizardFields || e.code == .invalidInput || e.code == .conflict {
                    let needed = e.cause as? WizardInputNeeded
                    let why = needed.map { $0.errors.map(\.message).joined(separator: " ") } ?? e.message
                    return page(v, r, error: "Nothing was created: \(why)", status: .unprocessableContent)
                }
            }
        }
    }
}
