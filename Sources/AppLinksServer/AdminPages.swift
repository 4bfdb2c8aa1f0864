import AppLinksCore
import AppLinksHost
import AppLinksJSON
import Foundation
import HTTPTypes
import Hummingbird

/// The web administration: `/` and its redirects, the static files, and the link types and audit pages; the
/// links table, a link's pages and the wizard have their own files.
enum AdminPages {
    static func register(on router: Router<AppRequestContext>, deployment: Deployment, templates: WebTemplates) {
        let web = WebAccess(deployment: deployment, templates: templates)

        router.get("/") { request, _ in
            guard let (_, record) = try await web.sessions.find(request) else {
                if try await !FirstRunSetup(deployment: deployment).hasAdministrator() { return WebAccess.redirect("/setup") }
                // Back to `/` after logging in, which then picks the page for who they are.
                return WebAccess.redirect("/login")
            }
            return WebAccess.redirect(record.admin ? LinksPage.path : AccountRoutes.path)
        }
        router.get("/static/:file") { _, context in templates.asset(try context.parameters.require("file")) }

        FirstRunSetup.register(on: router, web: web)
        LinksPage.register(on: router, web: web)
        ReciprocalPage.register(on: router, web: web)
        WizardPages.register(on: router, web: web)
        LinkPage.register(on: router, web: web)
        linkTypes(router, web)
        audit(router, web)
    }

    static func linkTypes(_ router: Router<AppRequestContext>, _ web: WebAccess) {
        let path = "/admin/link-types"
        router.get(RouterPath(path)) { request, _ in
            try await web.page {
                let v = try await web.admin(request)
                let rows = v.deployment.pluginRecords.map { r -> [String: Any] in
                    [
                        "id": r.id ?? "", "name": r.name ?? r.id ?? URL(fileURLWithPath: r.path).lastPathComponent,
                        "file": URL(fileURLWithPath: r.path).lastPathComponent, "path": r.path, "state": r.state.rawValue,
                        "reason": r.reason as Any, "version": r.version ?? "–", "vendor": r.vendor ?? "–", "abi": r.abiVersion ?? "–",
                        "isolation": r.isolation ?? "in-process", "sha256": r.sha256 ?? "–",
                        "can_enable": r.id != nil && r.state == .disabled, "can_disable": r.id != nil && r.state == .loaded,
                        "csrf": v.record.csrf,
                    ]
                }
                return web.templates.page(
                    "link-types", title: "Link types",
                    values: [
                        "types": rows, "notice": request.uri.queryParameters["notice"].flatMap { Notices.text(String($0)) } as Any,
                    ], nav: v.nav(path))
            }
        }
        router.post(RouterPath(path + "/:id/:change")) { request, context in
            try await web.page {
                let v = try await web.admin(request)
                _ = try await web.form(request, v)
                let change = try context.parameters.require("change")
                guard change == "enable" || change == "disable" else { throw AppLinksError(.notFound, "Use Enable or Disable.") }
                _ = try await v.deployment.setLinkTypeEnabled(try context.parameters.require("id"), enabled: change == "enable")
                return WebAccess.redirect("\(path)?notice=\(change)d")
            }
        }
    }

    static func audit(_ router: Router<AppRequestContext>, _ web: WebAccess) {
        let path = "/admin/audit"
        let pageSize = 50
        router.get(RouterPath(path)) { request, _ in
            try await web.page {
                let v = try await web.admin(request)
                let q = request.uri.queryParameters
                let link = (q["link"].map(String.init) ?? "").trimmingCharacters(in: .whitespaces)
                let actor = (q["actor"].map(String.init) ?? "").trimmingCharacters(in: .whitespaces)
                let page = max(1, q["page"].flatMap { Int($0) } ?? 1)
                let events = try await v.deployment.store.auditEvents(since: nil, limit: 100_000).reversed().filter { e in
                    (link.isEmpty || e.linkID == link) && (actor.isEmpty || e.actor.localizedCaseInsensitiveContains(actor))
                }
                let shown = events.dropFirst((page - 1) * pageSize).prefix(pageSize).map { e -> [String: Any] in
                    [
                        "at": Timestamp.format(e.at), "actor": e.actor, "action": e.action, "link": e.linkID as Any,
                        "type": e.linkType ?? "",
                        "detail": LinksPage.clip(
                            e.detail.sorted { $0.key < $1.key }.map { "\($0.key)=\(LinkPage.text($0.value))" }.joined(separator: ", "), 300),
                    ]
                }
                func pageLink(_ n: Int) -> String {
                    LinksPage.Query.query(
                        [("page", String(n))] + (link.isEmpty ? [] : [("link", link)]) + (actor.isEmpty ? [] : [("actor", actor)]))
                }
                return web.templates.page(
                    "audit", title: "Audit log",
                    values: [
                        "events": Array(shown), "link": link, "actor": actor, "empty": shown.isEmpty, "page": page,
                        "newer": page > 1 ? pageLink(page - 1) as Any : nil as String? as Any,
                        "older": events.count > page * pageSize ? pageLink(page + 1) as Any : nil as String? as Any,
                    ], nav: v.nav(path))
            }
        }
    }
}
