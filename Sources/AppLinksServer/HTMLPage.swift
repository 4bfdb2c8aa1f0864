import AppLinksCore
import Foundation
import HTTPTypes
import Hummingbird

/// The host's HTML frame. Every text is escaped, and every form carries the CSRF token, so a plugin's consent
/// or confirmation page cannot forget either.
enum HTMLPage {
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    static func render(title: String, body: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        let html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title)) · AppLinks</title>
            <style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#172b4d}
            input{display:block;width:100%;margin:.25rem 0 1rem;padding:.5rem}button{padding:.5rem 1rem;margin-right:.5rem}
            .error{color:#bf2600}</style></head>
            <body><h1>\(escape(title))</h1>
            \(body)
            </body></html>
            """
        var h = headers
        h[.contentType] = "text/html; charset=utf-8"
        h[.cacheControl] = "no-store"
        h[HTTPField.Name("X-Frame-Options")!] = "DENY"
        // Browsers apply form-action to the redirect that follows a post too: a consent form's answer redirects
        // to the application's (https, or loopback http) redirect URI.
        h[HTTPField.Name("Content-Security-Policy")!] =
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' https: http://127.0.0.1:* http://[::1]:*; frame-ancestors 'none'"
        return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(string: html)))
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
