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

        /// The column header's link: sorts by the column, and flips the order when it already does.
        func sortLink(_ column: String) -> (href: String, aria: String, arrow: String) {
            var items = [("sort", column), ("dir", column == sort && !descending ? "desc" : "asc")]
            if !type.isEmpty { items.append(("type", type)) }
            if !category.isEmpty { items.append(("category", category)) }
            if !search.isEmpty { items.append(("q", search)) }
            let href = Self.query(items)
            let state = column == sort ? (descending ? "descending" : "ascending") : "none"
            return (href, state, column == sort ? (descending ? " ▼" : " ▲") : "")
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
        s.utf8.count <= limit || s.count <= limit ? s : String(s.prefix(limit)) + "…"
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
                let notice = request.uri.queryParameters["notice"].map { Notices.text(String($0)) } ?? nil
                let body = LinksPageHTML.Body(
                    query: query, links: shown, total: page.total, anyLinks: anyLinks, typeNames: typeNames(web.deployment),
                    csrf: v.record.csrf, notice: notice)
                return web.templates.frame(title: "Application links", nav: v.nav(path), capacity: 8_192 + shown.count * 1_400) {
                    LinksPageHTML.body(body, deployment: web.deployment, into: &$0)
                }
            }
        }

        // The table's body alone, for the live update; the page's own query string picks the same rows.
        router.get(RouterPath(path + "/rows")) { request, _ in
            try await web.page {
                _ = try await web.admin(request)
                let shown = try await web.deployment.store.links(matching: Query(request).store).links
                var html = HTMLBuffer(capacity: shown.count * 1_400)
                LinksPageHTML.rows(shown, deployment: web.deployment, into: &html)
                var r = WebTemplates.htmlResponse(html.buffer, status: .ok)
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
