import AppLinksCore
import AppLinksHost
import AppLinksStore
import Foundation
import HTTPTypes
import Hummingbird

/// `/admin/applinks`: every link in one table (Application, Type, Direction, Status, Actions), with filters, a
/// search, sorting, and rows that follow status changes live (the script polls `/admin/applinks/rows`).
enum LinksPage {
    static let path = "/admin/applinks"
    /// Links per page: a table an admin reads, and a page that stays small and quick with thousands of links.
    static let pageSize = 50

    struct Query {
        var type: String
        var category: String
        var search: String
        var sort: String
        var descending: Bool
        var page: Int

        init(_ request: Request) {
            let q = request.uri.queryParameters
            type = q["type"].map(String.init) ?? ""
            category = q["category"].map(String.init) ?? ""
            search = (q["q"].map(String.init) ?? "").trimmingCharacters(in: .whitespaces)
            let s = q["sort"].map(String.init) ?? "application"
            sort = ["application", "type", "direction", "status"].contains(s) ? s : "application"
            descending = q["dir"] == "desc"
            page = max(1, q["page"].flatMap { Int($0) } ?? 1)
        }

        /// The store's query for this page.
        var store: LinkQuery {
            LinkQuery(
                type: type.isEmpty ? nil : type, category: StatusCategory(rawValue: category), search: search.isEmpty ? nil : search,
                order: LinkQuery.Order(rawValue: sort) ?? .name, descending: descending, offset: (page - 1) * LinksPage.pageSize,
                limit: LinksPage.pageSize)
        }

        /// The query string of another page, with the same filters and order.
        func pageLink(_ n: Int) -> String {
            var items = [("sort", sort), ("dir", descending ? "desc" : "asc"), ("page", String(n))]
            if !type.isEmpty { items.append(("type", type)) }
            if !category.isEmpty { items.append(("category", category)) }
            if !search.isEmpty { items.append(("q", search)) }
            return Self.query(items)
        }

        func pager(total: Int) -> [String: Any] {
            let from = min(total, (page - 1) * LinksPage.pageSize + 1)
            let to = min(total, page * LinksPage.pageSize)
            return [
                "from": String(from), "to": String(to), "total": String(total), "prev": page > 1 ? pageLink(page - 1) : false,
                "next": to < total ? pageLink(page + 1) : false, "several": total > LinksPage.pageSize,
            ]
        }

        /// The column header's link: sorts by the column, and flips the order when it already does.
        func sortLink(_ column: String) -> [String: Any] {
            var items = [("sort", column), ("dir", column == sort && !descending ? "desc" : "asc")]
            if !type.isEmpty { items.append(("type", type)) }
            if !category.isEmpty { items.append(("category", category)) }
            if !search.isEmpty { items.append(("q", search)) }
            let href = Self.query(items)
            let state = column == sort ? (descending ? "descending" : "ascending") : "none"
            return ["href": href, "aria": state, "arrow": column == sort ? (descending ? " ▼" : " ▲") : ""]
        }

        static func query(_ items: [(String, String)]) -> String {
            "?" + items.map { "\($0.0)=\(WebAccess.queryEscape($0.1))" }.joined(separator: "&")
        }
    }

    /// Link types' display names, for every type that has links or is loaded.
    static func typeNames(_ d: Deployment) -> [String: String] {
        var names: [String: String] = [:]
        for r in d.pluginRecords { if let id = r.id { names[id] = r.name ?? id } }
        return names
    }

    /// A name or version a remote chose is shown whole up to a point: a 10 MB "name" must not make a 10 MB page.
    static func clip(_ s: String, _ limit: Int = 200) -> String {
        s.count <= limit ? s : String(s.prefix(limit)) + "…"
    }

    static func row(_ link: Link, deployment: Deployment, typeNames: [String: String]) -> [String: Any] {
        let plugin = deployment.enabledPlugin(link.type)
        let actions = plugin?.descriptor.adminActions ?? []
        var menu: [[String: Any]] = [["href": "\(path)/\(link.id)/edit", "label": "Edit"]]
        if actions.contains(where: { $0.id == "relocate" }) { menu.append(["href": "\(path)/\(link.id)/relocate", "label": "Relocate"]) }
        if actions.contains(where: { $0.id == "view-credentials" }) {
            menu.append(["href": "\(path)/\(link.id)/credentials", "label": "View credentials"])
        }
        for a in actions where !LinkPage.hostRunActions.contains(a.id) {
            menu.append(["href": "\(path)/\(link.id)#action-\(a.id)", "label": LinkPage.clip(a.title, 60)])
        }
        menu.append(["href": "\(path)/\(link.id)/delete", "label": "Delete"])
        let app = link.application
        return [
            "id": link.id, "name": clip(link.name), "href": "\(path)/\(link.id)",
            "product": clip(app.productAndVersion), "type": typeNames[link.type] ?? link.type,
            "direction": link.direction.displayName, "category": link.status.category.rawValue,
            "error_type": link.status.errorType?.rawValue as Any, "message": clip(link.status.message, 600), "primary": link.primary,
            "can_be_primary": !link.primary, "menu": menu,
        ]
    }

    static func rows(_ links: [Link], deployment: Deployment) -> [[String: Any]] {
        let names = typeNames(deployment)
        return links.map { row($0, deployment: deployment, typeNames: names) }
    }

    static func register(on router: Router<AppRequestContext>, web: WebAccess) {
        router.get(RouterPath(path)) { request, _ in
            try await web.page {
                let v = try await web.admin(request)
                let query = Query(request)
                let page = try await web.deployment.store.links(matching: query.store)
                let shown = page.links
                var anyLinks = page.total > 0
                if !anyLinks { anyLinks = try await web.deployment.store.links(matching: LinkQuery(limit: 0)).total > 0 }
                let names = typeNames(web.deployment)
                let types = Set(names.keys).union(query.type.isEmpty ? [] : [query.type]).sorted().map {
                    ["id": $0, "name": names[$0] ?? $0, "selected": $0 == query.type] as [String: Any]
                }
                let categories = StatusCategory.allCases.map {
                    ["id": $0.rawValue, "selected": $0.rawValue == query.category] as [String: Any]
                }
                let notice = request.uri.queryParameters["notice"].map { Notices.text(String($0)) } ?? nil
                return web.templates.page(
                    "links", title: "Application links",
                    values: [
                        "rows": rows(shown, deployment: web.deployment), "has_links": anyLinks,
                        "none_shown": anyLinks && shown.isEmpty, "hide_table": shown.isEmpty, "types": types, "categories": categories,
                        "search": query.search, "csrf": v.record.csrf, "notice": notice as Any,
                        "sort_application": query.sortLink("application"), "sort_type": query.sortLink("type"),
                        "sort_direction": query.sortLink("direction"), "sort_status": query.sortLink("status"),
                        "count": shown.count, "pager": query.pager(total: page.total),
                    ], nav: v.nav(path))
            }
        }

        // The table's body alone, for the live update; the page's own query string picks the same rows.
        router.get(RouterPath(path + "/rows")) { request, _ in
            try await web.page {
                _ = try await web.admin(request)
                let shown = try await web.deployment.store.links(matching: Query(request).store).links
                let html =
                    web.templates.render(["rows": rows(shown, deployment: web.deployment)], "rows")
                var r = WebTemplates.htmlResponse(html, status: .ok)
                r.headers[HTTPField.Name("X-Link-Count")!] = String(shown.count)
                return r
            }
        }

        router.post(RouterPath(path + "/check")) { request, _ in
            try await web.page {
                let v = try await web.admin(request)
                _ = try await web.form(request, v)
                let links = try await web.deployment.store.links()
                for link in links { await v.deployment.followUp(link) }
                return WebAccess.redirect("\(path)?notice=checking")
            }
        }

        router.post(RouterPath(path + "/:id/check")) { request, context in
            try await web.page {
                let v = try await web.admin(request)
                _ = try await web.form(request, v)
                let link = try await LinkPage.existing(v.deployment, context)
                _ = try await v.deployment.checkStatus(of: [link])
                return WebAccess.redirect(LinkPage.back(request, link))
            }
        }

        router.post(RouterPath(path + "/:id/primary")) { request, context in
            try await web.page {
                let v = try await web.admin(request)
                _ = try await web.form(request, v)
                let link = try await LinkPage.existing(v.deployment, context)
                _ = try await v.deployment.makePrimary(link.id)
                return WebAccess.redirect("\(path)/\(link.id)?notice=primary")
            }
        }
    }
}

/// Short confirmations a redirect names in `?notice=`: a fixed list, so a crafted URL cannot put words on a page.
enum Notices {
    static func text(_ key: String) -> String? {
        [
            "checking": "Checking every link's status; the table updates as each check finishes.",
            "created": "The link was created.", "deleted": "The link was deleted.", "edited": "The link was saved.",
            "relocated": "The link was moved.", "primary": "This is now the primary link for its application type.",
            "checked": "The status was checked.", "enabled": "The link type was enabled.", "disabled": "The link type was disabled.",
            "discarded": "The draft was discarded.", "regenerated": "The secret was replaced.",
        ][key]
    }
}
