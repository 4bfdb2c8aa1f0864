import AppLinksCore
import AppLinksHTTPInput
import Foundation
import HTTPTypes
import Hummingbird

/// The host's HTML frame. Every text is escaped, and every form carries the CSRF token, so a plugin's consent
/// or confirmation page cannot forget either.
enum HTMLPage {
    /// Escapes over UTF-8 bytes, as the templates do. A `Character` walk would miss a quote followed by a
    /// combining mark (`"` and U+0301 are one `Character`), and the browser would still end the attribute there.
    static func escape(_ s: String) -> String { FastHTMLEscaping().escapeText(s) }

    /// A page in the site's frame; `body` is HTML made with ``escape(_:)``.
    static func render(title: String, body: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        switch WebTemplates.loaded {
        case .success(let templates): return templates.frame(title: title, body: body, nav: nil, status: status, headers: headers)
        case .failure:
            // Only when the install lost its web files, which `buildApplication` refuses to start without.
            let html =
                "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>\(escape(title))</title></head>"
                + "<body><h1>\(escape(title))</h1>\(body)</body></html>"
            return WebTemplates.htmlResponse(html, status: status, headers: headers)
        }
    }

    /// A page a plugin describes as JSON (`application/vnd.applinks.page+json`):
    /// `{"title", "paragraphs": [...], "form": {"action", "hidden": {...}, "buttons": [{"name", "value", "label"}]}}`.
    struct PluginPage: Decodable {
        struct Button: Decodable {
            var name: String
            var value: String
            var label: String
        }
        struct Form: Decodable {
            var action: String
            var hidden: [String: String]?
            var buttons: [Button]
        }
        var title: String
        var paragraphs: [String]?
        var form: Form?
    }

    static func render(_ page: PluginPage, csrf: String?, status: HTTPResponse.Status) -> Response {
        var body = (page.paragraphs ?? []).map { "<p>\(escape($0))</p>" }.joined(separator: "\n")
        if let form = page.form {
            body += "\n<form method=\"post\" action=\"\(escape(SafeRedirect.path(form.action)))\">"
            if let csrf { body += "<input type=\"hidden\" name=\"csrf_token\" value=\"\(escape(csrf))\">" }
            for (k, v) in (form.hidden ?? [:]).sorted(by: { $0.key < $1.key }) {
                body += "<input type=\"hidden\" name=\"\(escape(k))\" value=\"\(escape(v))\">"
            }
            for b in form.buttons {
                body += "<button type=\"submit\" name=\"\(escape(b.name))\" value=\"\(escape(b.value))\">\(escape(b.label))</button>"
            }
            body += "</form>"
        }
        return render(title: page.title, body: body, status: status)
    }
}
