import AppLinksCore
import AppLinksHost
import AppLinksJSON
import AppLinksPluginRuntime
import Foundation
import HTTPTypes
import Hummingbird

/// One link's page (`/admin/applinks/ID`): its configuration, URLs, status history and actions, and the pages
/// that edit, relocate or delete it, or show an OAuth 2.0 client's credentials. Every change goes through the
/// same ``Deployment`` functions as the CLI.
enum LinkPage {
    static let base = LinksPage.path
    /// Actions the host runs itself (on delete, relocate, or a credentials page), not listed among the others.
    static let hostRunActions: Set<String> = ["delete", "relocate", "view-credentials", "rotate-secret"]

    static func clip(_ s: String, _ limit: Int) -> String { LinksPage.clip(s, limit) }

    /// The link named in the path, or a 404 page that says it no longer exists (deleted in another tab).
    static func existing(_ d: Deployment, _ context: AppRequestContext) async throws -> Link {
        let id = try context.parameters.require("id")
        guard let link = try await d.store.link(id: id) else {
            throw AppLinksError(.notFound, "This link no longer exists: it was deleted, perhaps in another tab or from the CLI.")
        }
        return link
    }

    /// Where a form on the links table or on the link's own page goes back to.
    static func back(_ request: Request, _ link: Link) -> String {
        request.uri.queryParameters["from"] == "link" ? "\(base)/\(link.id)?notice=checked" : "\(base)?notice=checked"
    }

    static func text(_ value: JSONValue) -> String {
        switch value {
        case .string(let s): return s
        case .array(let items): return items.map(text).joined(separator: " ")
        case .null: return ""
        default: return (try? String(decoding: JSONCoding.encode(value), as: UTF8.self)) ?? ""
        }
    }

    static func pairs(_ object: JSONValue?) -> [[String: Any]] {
        guard case .object(let o)? = object else { return [] }
        return o.sorted { $0.key < $1.key }.map { ["key": $0.key, "value": clip(text($0.value), 2000)] }
    }

    /// An action's form: one input per typed parameter.
    static func actionForm(
        _ action: LinkTypeDescriptor.Action, link: Link, csrf: String, error: String?, values: [String: String]
    )
        -> [String: Any]
    {
        let params: [[String: Any]] = action.params.map { p in
            let kind: String =
                switch p.type {
                case .int, .double: "number"
                case .secret: "password"
                case .url: "url"
                case .bool: "checkbox"
                case .string: "text"
                }
            let given = p.type == .secret ? nil : values[p.name]
            let defaultText = p.defaultValue.map(text)
            return [
                "name": p.name, "id": "a-\(action.id)-\(p.name)", "kind": kind, "is_bool": p.type == .bool,
                "step": p.type == .double ? "any" : "1", "is_number": p.type == .int || p.type == .double, "required": p.required,
                "help": p.help as Any, "value": given ?? (p.type == .secret ? "" : defaultText ?? ""),
                "checked": (given ?? defaultText) == "true", "type_name": p.type.rawValue,
                "autocomplete": (p.type == .secret ? "new-password" : nil) as String? as Any,
            ]
        }
        return [
            "id": action.id, "title": action.title, "description": action.description as Any, "params": params,
            "destructive": action.destructive, "error": error as Any, "link": link.id, "csrf": csrf,
        ]
    }

    struct ActionResult {
        var action: String
        var message: String?
        var json: String?
    }

    static func render(
        _ web: WebAccess, _ v: WebAccess.Visitor, _ link: Link, notice: String?, actionError: (String, String)? = nil,
        values: [String: String] = [:], result: ActionResult? = nil, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let plugin = v.deployment.enabledPlugin(link.type)
        let actions = (plugin?.descriptor.adminActions ?? []).filter { !hostRunActions.contains($0.id) }
        let history = try await v.deployment.store.auditEvents(since: nil, limit: 10_000)
            .filter { $0.linkID == link.id }.reversed().prefix(20)
            .map { e -> [String: Any] in
                [
                    "at": Timestamp.format(e.at), "actor": e.actor, "action": e.action,
                    "detail": e.action == "status-change"
                        ? "\(e.detail["from"]?.stringValue ?? "?") → \(e.detail["to"]?.stringValue ?? "?")"
                        : clip(e.detail.sorted { $0.key < $1.key }.map { "\($0.key)=\(text($0.value))" }.joined(separator: ", "), 300),
                ]
            }
        let typeName = LinksPage.typeNames(v.deployment)[link.type] ?? link.type
        let forms = actions.map {
            actionForm($0, link: link, csrf: v.record.csrf, error: actionError?.0 == $0.id ? actionError?.1 : nil, values: values)
        }
        return web.templates.page(
            "link", title: clip(link.name, 200),
            values: [
                "id": link.id, "type": typeName, "type_id": link.type, "direction": link.direction.displayName,
                "product": clip(link.application.productAndVersion, 200), "application_id": link.application.id as Any,
                "display_url": link.displayURL, "rpc_url": link.rpcURL, "primary": link.primary,
                "enabled": link.enabled ? "yes" : "no", "category": link.status.category.rawValue,
                "error_type": link.status.errorType?.rawValue as Any, "message": clip(link.status.message, 2000),
                "checked_at": link.status.checkedAt.map(Timestamp.format) as Any, "config": pairs(.object(link.config)),
                "incoming": link.incomingAuth.joined(separator: ", "), "outgoing": link.outgoingAuth.joined(separator: ", "),
                "history": Array(history), "has_history": !history.isEmpty, "actions": forms, "csrf": v.record.csrf,
                "notice": notice as Any, "type_disabled": plugin == nil,
                "can_relocate": plugin?.descriptor.actions.contains { $0.id == "relocate" } == true,
                "has_credentials": plugin?.descriptor.actions.contains { $0.id == "view-credentials" } == true,
                "result": result.map { ["action": $0.action, "message": $0.message as Any, "json": $0.json as Any] } as Any,
            ], nav: v.nav(base), status: status)
    }

    static func register(on router: Router<AppRequestContext>, web: WebAccess) {
        router.get(RouterPath(base + "/:id")) { request, context in
            try await web.page {
                let v = try await web.admin(request)
                let link = try await existing(v.deployment, context)
                return try await render(
                    web, v, link, notice: request.uri.queryParameters["notice"].flatMap { Notices.text(String($0)) })
            }
        }

        router.post(RouterPath(base + "/:id/actions/:action")) { request, context in
            try await web.page {
                let v = try await web.admin(request)
                let fields = try await web.form(request, v)
                let link = try await existing(v.deployment, context)
                let actionID = try context.parameters.require("action")
                guard let plugin = v.deployment.enabledPlugin(link.type),
                    let action = plugin.descriptor.adminActions.first(where: { $0.id == actionID }), !hostRunActions.contains(actionID)
                else {
                    throw AppLinksError(.notFound, "The link type of \(link.name) has no action '\(actionID)' here.")
                }
                var args: [(String, String)] = []
                var shown: [String: String] = [:]
                for p in action.params {
                    guard let value = fields[name: "arg.\(p.name)"] else { continue }
                    shown[p.name] = value
                    // An empty optional field means "not given": the action's default applies.
                    if value.isEmpty && !p.required { continue }
                    args.append((p.name, value))
                }
                do {
                    let (after, response) = try await v.deployment.invokeAction(link.id, action: actionID, rawArgs: args)
                    let json = response.output.map { String(decoding: (try? JSONCoding.encode($0, pretty: true)) ?? Data(), as: UTF8.self) }
                    return try await render(
                        web, v, after, notice: nil, values: shown,
                        result: ActionResult(action: action.title, message: response.message ?? "Done.", json: json))
                } catch let e as AppLinksError where e.code != .storage && e.code != .notFound {
                    return try await render(
                        web, v, link, notice: nil, actionError: (actionID, e.message), values: shown, status: .badRequest)
                } catch let e as PluginCallError {
                    return try await render(
                        web, v, link, notice: nil, actionError: (actionID, "\(e.plugin): \(e.message)"), values: shown,
                        status: .badGateway)
                }
            }
        }

        editPages(router, web)
        deletePages(router, web)
        credentialPages(router, web)
    }

    static func editPages(_ router: Router<AppRequestContext>, _ web: WebAccess) {
        @Sendable func editForm(
            _ v: WebAccess.Visitor, _ link: Link, values: [String: String], error: String?, status: HTTPResponse.Status
        )
            -> Response
        {
            web.templates.page(
                "edit", title: "Edit \(clip(link.name, 200))",
                values: [
                    "id": link.id, "csrf": v.record.csrf, "name": values["name"] ?? link.name,
                    "display_url": values["display_url"] ?? link.displayURL, "rpc_url": values["rpc_url"] ?? link.rpcURL,
                    "enabled": (values["enabled"] ?? (link.enabled ? "true" : "false")) == "true", "error": error as Any,
                ], nav: v.nav(base), status: status)
        }
        router.get(RouterPath(base + "/:id/edit")) { request, context in
            try await web.page {
                let v = try await web.admin(request)
                return editForm(v, try await existing(v.deployment, context), values: [:], error: nil, status: .ok)
            }
        }
        router.post(RouterPath(base + "/:id/edit")) { request, context in
            try await web.page {
                let v = try await web.admin(request)
                let fields = try await web.form(request, v)
                let link = try await existing(v.deployment, context)
                var values: [String: String] = ["enabled": fields.all("enabled").contains("true") ? "true" : "false"]
                for key in ["name", "display_url", "rpc_url"] { values[key] = fields[name: key] ?? "" }
                var sets: [(String, String)] = []
                if values["name"] != link.name { sets.append(("name", values["name"]!)) }
                if values["display_url"] != link.displayURL { sets.append(("display_url", values["display_url"]!)) }
                if values["rpc_url"] != link.rpcURL { sets.append(("rpc_url", values["rpc_url"]!)) }
                if (values["enabled"] == "true") != link.enabled { sets.append(("enabled", values["enabled"]!)) }
                if sets.isEmpty { return WebAccess.redirect("\(base)/\(link.id)") }
                do {
                    _ = try await v.deployment.editLink(link.id, sets: sets)
                } catch let e as AppLinksError where e.code == .invalidInput || e.code == .conflict {
                    return editForm(v, link, values: values, error: e.message, status: .badRequest)
                }
                return WebAccess.redirect("\(base)/\(link.id)?notice=edited")
            }
        }

        @Sendable func relocateForm(
            _ v: WebAccess.Visitor, _ link: Link, url: String, error: String?, status: HTTPResponse.Status
        )
            -> Response
        {
            web.templates.page(
                "relocate", title: "Relocate \(clip(link.name, 200))",
                values: ["id": link.id, "csrf": v.record.csrf, "url": url, "current": link.displayURL, "error": error as Any],
                nav: v.nav(base), status: status)
        }
        router.get(RouterPath(base + "/:id/relocate")) { request, context in
            try await web.page {
                let v = try await web.admin(request)
                let link = try await existing(v.deployment, context)
                return relocateForm(v, link, url: link.displayURL, error: nil, status: .ok)
            }
        }
        router.post(RouterPath(base + "/:id/relocate")) { request, context in
            try await web.page {
                let v = try await web.admin(request)
                let fields = try await web.form(request, v)
                let link = try await existing(v.deployment, context)
                let url = (fields[name: "url"] ?? "").trimmingCharacters(in: .whitespaces)
                do {
                    _ = try await v.deployment.relocate(link.id, to: url)
                } catch let e as AppLinksError where e.code == .invalidInput || e.code == .conflict || e.code == .pluginFailed {
                    return relocateForm(v, link, url: url, error: e.message, status: .badRequest)
                } catch let e as PluginCallError {
                    return relocateForm(v, link, url: url, error: "\(e.plugin): \(e.message)", status: .badGateway)
                }
                return WebAccess.redirect("\(base)/\(link.id)?notice=relocated")
            }
        }
    }

    static func deletePages(_ router: Router<AppRequestContext>, _ web: WebAccess) {
        @Sendable func confirm(_ v: WebAccess.Visitor, _ link: Link, error: String?, status: HTTPResponse.Status) -> Response {
            let action = v.deployment.enabledPlugin(link.type)?.descriptor.actions.first { $0.id == "delete" }
            let form = action.flatMap { a in
                a.params.isEmpty ? nil : actionForm(a, link: link, csrf: v.record.csrf, error: nil, values: [:])
            }
            return web.templates.page(
                "delete", title: "Delete \(clip(link.name, 200))",
                values: [
                    "id": link.id, "name": clip(link.name, 200), "csrf": v.record.csrf, "two_way": link.direction == .twoWay,
                    "remote": form as Any, "error": error as Any, "help": action?.description as Any,
                ], nav: v.nav(base), status: status)
        }
        router.get(RouterPath(base + "/:id/delete")) { request, context in
            try await web.page {
                let v = try await web.admin(request)
                return confirm(v, try await existing(v.deployment, context), error: nil, status: .ok)
            }
        }
        router.post(RouterPath(base + "/:id/delete")) { request, context in
            try await web.page {
                let v = try await web.admin(request)
                let fields = try await web.form(request, v)
                let link = try await existing(v.deployment, context)
                // The remote's credentials are sent only when the admin chose to delete the reciprocal link too.
                var args: [(String, String)] = []
                if fields[name: "reciprocal"] == "yes" {
                    for (name, value) in fields where name.hasPrefix("arg.") && !value.isEmpty {
                        args.append((String(name.dropFirst(4)), value))
                    }
                }
                do {
                    _ = try await v.deployment.deleteLink(link.id, rawArgs: args)
                } catch let e as AppLinksError where e.code != .storage && e.code != .notFound {
                    return confirm(v, link, error: e.message + " Nothing was deleted.", status: .badRequest)
                } catch let e as PluginCallError {
                    return confirm(v, link, error: "\(e.plugin): \(e.message) Nothing was deleted.", status: .badGateway)
                }
                return WebAccess.redirect("\(base)?notice=deleted")
            }
        }
    }

    static func credentialPages(_ router: Router<AppRequestContext>, _ web: WebAccess) {
        router.get(RouterPath(base + "/:id/credentials")) { request, context in
            try await web.page {
                let v = try await web.admin(request)
                let link = try await existing(v.deployment, context)
                var refusal: String?
                var shown: JSONValue = .object(link.config)
                do {
                    shown = try await v.deployment.invokeAction(link.id, action: "view-credentials", rawArgs: []).1.output ?? shown
                } catch let e as AppLinksError where e.code == .invalidInput {
                    refusal = e.message
                }
                return web.templates.page(
                    "credentials", title: "Credentials of \(clip(link.name, 200))",
                    values: [
                        "id": link.id, "csrf": v.record.csrf, "pairs": pairs(shown), "refusal": refusal as Any,
                        "can_rotate": v.deployment.enabledPlugin(link.type)?.descriptor.actions.contains { $0.id == "rotate-secret" }
                            == true,
                        "confirming": request.uri.queryParameters["regenerate"] != nil,
                    ], nav: v.nav(base), headers: [.cacheControl: "no-store"])
            }
        }
        router.post(RouterPath(base + "/:id/credentials/regenerate")) { request, context in
            try await web.page {
                let v = try await web.admin(request)
                _ = try await web.form(request, v)
                let link = try await existing(v.deployment, context)
                let (_, response) = try await v.deployment.invokeAction(link.id, action: "rotate-secret", rawArgs: [])
                // Shown once, in this answer: it is not put in a URL or kept for a later page.
                return web.templates.page(
                    "credentials", title: "New secret for \(clip(link.name, 200))",
                    values: [
                        "id": link.id, "csrf": v.record.csrf, "pairs": pairs(response.output), "notice": response.message as Any,
                        "once": true,
                    ], nav: v.nav(base), headers: [.cacheControl: "no-store"])
            }
        }
    }
}
