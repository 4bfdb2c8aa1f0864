import AppLinksCore
import AppLinksHost
import AppLinksPluginRuntime

/// The links page's body and the table's rows, written in code (see ``HTMLBuffer``).
enum LinksPageHTML {
    /// What one type's rows offer in their Actions menu, worked out once per type rather than once per row.
    struct Menu {
        var relocate = false
        var credentials = false
        /// The type's own actions: id and title.
        var own: [(id: String, title: String)] = []

        init(_ plugin: LoadedPlugin?) {
            for a in plugin?.descriptor.adminActions ?? [] {
                switch a.id {
                case "relocate": relocate = true
                case "view-credentials": credentials = true
                case let id where LinkPage.hostRunActions.contains(id): break
                default: own.append((a.id, LinkPage.clip(a.title, 60)))
                }
            }
        }
    }

    static func rows(_ links: [Link], deployment: Deployment, into html: inout HTMLBuffer) {
        let names = LinksPage.typeNames(deployment)
        var menus: [String: Menu] = [:]
        for i in links.indices {
            let type = links[i].type
            let menu: Menu
            if let known = menus[type] {
                menu = known
            } else {
                menu = Menu(deployment.enabledPlugin(type))
                menus[type] = menu
            }
            row(links[i], menu: menu, typeName: names[type] ?? type, into: &html)
        }
    }

    static func row(_ link: Link, menu: Menu, typeName: String, into html: inout HTMLBuffer) {
        let name = LinksPage.clip(link.name)
        html.raw("<tr data-link-id=\"")
        html.text(link.id)
        html.raw("\"><td><a href=\"/admin/applinks/")
        html.text(link.id)
        html.raw("\">")
        html.text(name)
        html.raw("</a>")
        if link.primary { html.raw("<span class=\"primary-mark\">Primary</span>") }
        html.raw("<span class=\"sub\">")
        html.text(LinksPage.clip(link.application.productAndVersion))
        html.raw("</span></td><td>")
        html.text(typeName)
        html.raw("</td><td>")
        html.text(link.direction.displayName)
        html.raw("</td><td><span class=\"lozenge s-")
        html.text(link.status.category.rawValue)
        html.raw("\">")
        html.text(link.status.category.rawValue)
        html.raw("</span>")
        if let errorType = link.status.errorType {
            html.raw(" <span class=\"sub\">")
            html.text(errorType.rawValue)
            html.raw("</span>")
        }
        html.raw("<span class=\"status-message\">")
        html.text(LinksPage.clip(link.status.message, 600))
        html.raw("</span></td><td><details class=\"menu\"><summary aria-label=\"Actions for ")
        html.text(name)
        html.raw("\">Actions</summary><ul>")
        item(link.id, "/edit\">Edit", into: &html)
        if menu.relocate { item(link.id, "/relocate\">Relocate", into: &html) }
        if menu.credentials { item(link.id, "/credentials\">View credentials", into: &html) }
        for action in menu.own {
            html.raw("<li><a href=\"/admin/applinks/")
            html.text(link.id)
            html.raw("#action-")
            html.text(action.id)
            html.raw("\">")
            html.text(action.title)
            html.raw("</a></li>")
        }
        item(link.id, "/delete\">Delete", into: &html)
        if !link.primary { button(link.id, "/primary\">Make primary", into: &html) }
        button(link.id, "/check\">Check status", into: &html)
        html.raw("</ul></details></td></tr>\n")
    }

    /// A menu link to one of the link's pages: `tail` is the path's end, the closing quote and the label.
    static func item(_ id: String, _ tail: StaticString, into html: inout HTMLBuffer) {
        html.raw("<li><a href=\"/admin/applinks/")
        html.text(id)
        html.raw(tail)
        html.raw("</a></li>")
    }

    /// A menu button that posts the page's shared form (its CSRF token) to one of the link's actions.
    static func button(_ id: String, _ tail: StaticString, into html: inout HTMLBuffer) {
        html.raw("<li><button form=\"row-post\" formaction=\"/admin/applinks/")
        html.text(id)
        html.raw(tail)
        html.raw("</button></li>")
    }

    /// Everything the page shows besides the frame.
    struct Body {
        var query: LinksPage.Query
        var links: [Link]
        var total: Int
        /// Whether the deployment has any link, whether or not the filters show it.
        var anyLinks: Bool
        var typeNames: [String: String]
        var csrf: String
        var notice: String?
    }

    static func body(_ b: Body, deployment: Deployment, into html: inout HTMLBuffer) {
        let q = b.query
        if let notice = b.notice {
            html.raw("<p class=\"notice\" role=\"status\">")
            html.text(notice)
            html.raw("</p>")
        }
        html.raw("\n<div class=\"actions-row\">\n<a class=\"button primary\" href=\"/admin/applinks/new\">Create link</a>\n")
        html.raw("<form method=\"post\" action=\"/admin/applinks/check\"><input type=\"hidden\" name=\"csrf_token\" value=\"")
        html.text(b.csrf)
        html.raw("\"><button type=\"submit\">Check status of all</button></form>\n</div>\n")
        if b.anyLinks {
            html.raw("<form class=\"filters\" method=\"get\" action=\"/admin/applinks\" role=\"search\">\n")
            html.raw("<div><label for=\"f-q\">Name or URL</label><input id=\"f-q\" name=\"q\" value=\"")
            html.text(q.search)
            html.raw("\" type=\"search\"></div>\n<div><label for=\"f-type\">Type</label><select id=\"f-type\" name=\"type\">")
            html.raw("<option value=\"\">All types</option>")
            for id in Set(b.typeNames.keys).union(q.type.isEmpty ? [] : [q.type]).sorted() {
                option(id, label: b.typeNames[id] ?? id, selected: id == q.type, into: &html)
            }
            html.raw("</select></div>\n<div><label for=\"f-category\">Status</label><select id=\"f-category\" name=\"category\">")
            html.raw("<option value=\"\">Any status</option>")
            for category in StatusCategory.allCases {
                option(category.rawValue, label: category.rawValue, selected: category.rawValue == q.category, into: &html)
            }
            html.raw(
                "</select></div>\n<div><button type=\"submit\">Filter</button> <a href=\"/admin/applinks\">Clear</a></div>\n</form>\n")
        }
        let hideTable = b.links.isEmpty
        html.raw(hideTable ? "<div id=\"links-empty\" class=\"empty\">\n" : "<div id=\"links-empty\" class=\"empty\" hidden>\n")
        if b.anyLinks && b.links.isEmpty {
            html.raw("<p>No link matches these filters. <a href=\"/admin/applinks\">Show every link</a>.</p>\n")
        }
        if !b.anyLinks {
            html.raw("<p>This deployment is not linked to any application yet.</p><p><a class=\"button primary\" ")
            html.raw("href=\"/admin/applinks/new\">Create link</a></p>\n")
        }
        html.raw("</div>\n<table id=\"links-table\" data-rows-url=\"/admin/applinks/rows\"")
        html.raw(hideTable ? " hidden>\n" : ">\n")
        html.raw("<caption class=\"skip\">Application links</caption>\n<thead><tr>\n")
        for (column, label) in [("application", "Application"), ("type", "Type"), ("direction", "Direction"), ("status", "Status")] {
            let link = q.sortLink(column)
            html.raw("<th scope=\"col\" aria-sort=\"")
            html.text(link.aria)
            html.raw("\"><a href=\"")
            html.text(link.href)
            html.raw("\">")
            html.text(label + link.arrow)
            html.raw("</a></th>\n")
        }
        html.raw("<th scope=\"col\">Actions</th>\n</tr></thead>\n<tbody>\n")
        rows(b.links, deployment: deployment, into: &html)
        html.raw("</tbody>\n</table>\n")
        if b.total > LinksPage.pageSize {
            let from = min(b.total, (q.page - 1) * LinksPage.pageSize + 1)
            let to = min(b.total, q.page * LinksPage.pageSize)
            html.raw("<nav class=\"pager\" aria-label=\"Pages of links\">")
            if q.page > 1 {
                html.raw("<a href=\"")
                html.text(q.pageLink(q.page - 1))
                html.raw("\">← Previous</a>")
            }
            html.raw("<span>")
            html.text(from)
            html.raw("–")
            html.text(to)
            html.raw(" of ")
            html.text(b.total)
            html.raw("</span>")
            if to < b.total {
                html.raw("<a href=\"")
                html.text(q.pageLink(q.page + 1))
                html.raw("\">Next →</a>")
            }
            html.raw("</nav>")
        }
        html.raw(
            "\n<form id=\"row-post\" method=\"post\" action=\"/admin/applinks/check\"><input type=\"hidden\" name=\"csrf_token\" value=\"")
        html.text(b.csrf)
        html.raw("\"></form>")
    }

    static func option(_ value: String, label: String, selected: Bool, into html: inout HTMLBuffer) {
        html.raw("<option value=\"")
        html.text(value)
        html.raw(selected ? "\" selected>" : "\">")
        html.text(label)
        html.raw("</option>")
    }
}
