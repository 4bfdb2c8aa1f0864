import AppLinksCore
import AppLinksCrypto
import AppLinksHost
import AppLinksPluginRuntime
import Foundation
import HTTPTypes
import Hummingbird
import Mustache

/// The admin pages' Mustache templates, stylesheet and script, read once from the files shipped beside the
/// executable (`Web/`). Mustache escapes every `{{value}}`; only `{{{body}}}` of the frame takes HTML, which the
/// page templates made.
struct WebTemplates: Sendable {
    let library: MustacheLibrary
    /// Static files by their hashed name: `applinks.3f2a91c0.js`. The hash makes them cacheable for ever.
    let assets: [String: (type: String, bytes: ByteBuffer)]
    let scriptURL: String
    let styleURL: String

    struct MissingFiles: Error, CustomStringConvertible {
        var description: String
    }

    /// Loaded on first use; `buildApplication` asks for it first, so a broken install fails at start, not per page.
    static let loaded: Result<WebTemplates, any Error> = Result { try load() }

    /// `APPLINKS_WEB_DIR`; else `PREFIX/share/applinks/Web` for an executable installed in `PREFIX/bin`; else the
    /// resource bundle `swift build` puts beside the executable.
    static func directory() throws -> URL {
        if let dir = ProcessInfo.processInfo.environment["APPLINKS_WEB_DIR"] { return URL(fileURLWithPath: dir) }
        guard let exe = PluginLoader.currentExecutableDirectory else {
            throw MissingFiles(description: "Cannot tell where the applinks executable is, to find its web pages' files.")
        }
        let candidates = [
            exe.deletingLastPathComponent().appendingPathComponent("share/applinks/Web"),
            exe.appendingPathComponent("AppLinks_AppLinksServer.resources/Web"),
        ]
        guard let dir = candidates.first(where: { FileManager.default.fileExists(atPath: $0.appendingPathComponent("templates").path) })
        else {
            throw MissingFiles(
                description: "The web pages' files are missing: looked in \(candidates.map(\.path).joined(separator: " and ")). "
                    + "Reinstall AppLinks (Scripts/install.sh), or set APPLINKS_WEB_DIR.")
        }
        return dir
    }

    static func load() throws -> WebTemplates {
        let dir = try directory()
        let fm = FileManager.default
        var library = MustacheLibrary()
        let templates = dir.appendingPathComponent("templates")
        let names = (try? fm.contentsOfDirectory(atPath: templates.path)) ?? []
        guard names.contains("message.mustache") else {
            throw MissingFiles(description: "\(templates.path) has no message.mustache; reinstall AppLinks.")
        }
        MustacheContentTypes.register(FastHTMLEscaping(), named: FastHTMLEscaping.name)
        for name in names where name.hasSuffix(".mustache") {
            let text = try String(contentsOf: templates.appendingPathComponent(name), encoding: .utf8)
            // Every template escapes with the byte-wise escaper: the same five characters, at a fraction of the cost.
            try library.register("{{% CONTENT_TYPE: \(FastHTMLEscaping.name)}}" + text, named: String(name.dropLast(".mustache".count)))
        }
        var assets: [String: (String, ByteBuffer)] = [:]
        var urls: [String: String] = [:]
        for (file, type) in [("applinks.js", "text/javascript; charset=utf-8"), ("applinks.css", "text/css; charset=utf-8")] {
            let data = try Data(contentsOf: dir.appendingPathComponent("assets").appendingPathComponent(file))
            let hash = Digest.sha256(data).hexString.prefix(12)
            let parts = file.split(separator: ".")
            let hashed = "\(parts[0]).\(hash).\(parts[1])"
            assets[hashed] = (type, ByteBuffer(bytes: data))
            urls[file] = "/static/\(hashed)"
        }
        return WebTemplates(library: library, assets: assets, scriptURL: urls["applinks.js"]!, styleURL: urls["applinks.css"]!)
    }

    /// Scripts from this origin only, no inline script or style, no frames: a name a remote chose cannot run.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
        + "form-action 'self' https: http://127.0.0.1:* http://[::1]:*; frame-ancestors 'none'"

    /// Renders `template` with `values`, inside the frame.
    func page(
        _ template: String, title: String, values: [String: Any] = [:], nav: WebNav? = nil, status: HTTPResponse.Status = .ok,
        headers: HTTPFields = [:]
    ) -> Response {
        var values = values
        values["title"] = title
        let body = render(values, template)
        return frame(title: title, body: body, nav: nav, status: status, headers: headers)
    }

    /// Wraps HTML that is already escaped in the frame: the site's header, navigation and assets.
    func frame(title: String, body: String, nav: WebNav?, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        frame(title: title, nav: nav, status: status, headers: headers, capacity: body.utf8.count + 2_048) { $0.markup(body) }
    }

    /// The frame around a body that `writeBody` writes into the response's own buffer. The frame is written in code,
    /// not Mustache: every page has it, and its few values cost more to look up dynamically than to write.
    func frame(
        title: String, nav: WebNav?, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:], capacity: Int = 16_384,
        writeBody: (inout HTMLBuffer) -> Void
    ) -> Response {
        var html = HTMLBuffer(capacity: capacity)
        html.raw("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
        html.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>")
        html.text(title)
        html.raw(" · AppLinks</title>\n<link rel=\"stylesheet\" href=\"")
        html.text(styleURL)
        html.raw("\">\n<script src=\"")
        html.text(scriptURL)
        html.raw("\" defer></script>\n</head>\n")
        html.raw(nav?.admin == true ? "<body class=\"wide\">\n" : "<body>\n")
        html.raw(
            "<a class=\"skip\" href=\"#main\">Skip to content</a>\n<header class=\"top\">\n<a class=\"brand\" href=\"/\">AppLinks</a>\n")
        if let nav {
            html.raw("<nav aria-label=\"Administration\">\n<ul>")
            for (href, label) in nav.items {
                html.raw("<li><a href=\"")
                html.text(href)
                html.raw(href == nav.current ? "\" aria-current=\"page\">" : "\">")
                html.text(label)
                html.raw("</a></li>")
            }
            html.raw(
                "</ul>\n</nav>\n<form class=\"logout\" method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf_token\" value=\""
            )
            html.text(nav.csrf)
            html.raw("\"><span class=\"who\">")
            html.text(nav.user)
            html.raw("</span> <button type=\"submit\" class=\"link\">Log out</button></form>\n")
        }
        html.raw("</header>\n<main id=\"main\">\n<h1>")
        html.text(title)
        html.raw("</h1>\n")
        writeBody(&html)
        html.raw("\n</main>\n</body>\n</html>\n")
        return Self.htmlResponse(html.buffer, status: status, headers: headers)
    }

    /// Renders with every `nil` made `false`: Mustache would print an absent optional as "nil", and a missing key
    /// would make it look the name up in the enclosing context instead.
    func render(_ values: [String: Any], _ template: String) -> String {
        library.render(Self.normalize(values), withTemplate: template) ?? ""
    }

    static func normalize(_ value: Any) -> Any {
        // The common cases first, without reflection: a page of links holds thousands of values.
        if let s = value as? String { return s }
        if let b = value as? Bool { return b }
        if let d = value as? [String: Any] { return d.mapValues(normalize) }
        if let a = value as? [[String: Any]] { return a.map { $0.mapValues(normalize) } }
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .optional {
            guard let wrapped = mirror.children.first?.value else { return false }
            return normalize(wrapped)
        }
        if let d = value as? [String: Any] { return d.mapValues(normalize) }
        if let a = value as? [[String: Any]] { return a.map { $0.mapValues(normalize) } }
        if let a = value as? [Any] { return a.map(normalize) }
        return value
    }

    static func htmlResponse(_ html: String, status: HTTPResponse.Status, headers: HTTPFields = [:]) -> Response {
        htmlResponse(ByteBuffer(string: html), status: status, headers: headers)
    }

    static func htmlResponse(_ html: ByteBuffer, status: HTTPResponse.Status, headers: HTTPFields = [:]) -> Response {
        var h = headers
        h[.contentType] = "text/html; charset=utf-8"
        if h[.cacheControl] == nil { h[.cacheControl] = "no-store" }
        h[HTTPField.Name("X-Frame-Options")!] = "DENY"
        h[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        h[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        h[HTTPField.Name("Content-Security-Policy")!] = contentSecurityPolicy
        return Response(status: status, headers: h, body: .init(byteBuffer: html))
    }

    /// `GET /static/NAME`: the hashed stylesheet and script, cacheable for a year; anything else is 404.
    func asset(_ name: String) -> Response {
        guard let (type, bytes) = assets[name] else {
            return HTTPReply.text("No such file.", status: .notFound)
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: type, .cacheControl: "public, max-age=31536000, immutable",
                HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            ],
            body: .init(byteBuffer: bytes))
    }
}

/// HTML escaping of `&`, `<`, `>`, `"` and `'`, as swift-mustache's own, but over UTF-8 bytes: its escaper walks
/// grapheme clusters, which made escaping a third of a links page's time. A string without those characters is
/// returned as it is.
struct FastHTMLEscaping: MustacheContentType {
    static let name = "APPLINKS_HTML"

    static let amp = Array("&amp;".utf8), lt = Array("&lt;".utf8), gt = Array("&gt;".utf8)
    static let quot = Array("&quot;".utf8), apos = Array("&#39;".utf8)

    func escapeText(_ text: String) -> String {
        var copy = text
        let escaped = copy.withUTF8 { bytes -> String? in
            guard bytes.contains(where: Self.isSpecial) else { return nil }
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count + 32)
            Self.escape(bytes, into: &out)
            return String(decoding: out, as: UTF8.self)
        }
        return escaped ?? text
    }

    /// Letters and most punctuation are above `>`, so most bytes take the first comparison only.
    @inline(__always)
    static func isSpecial(_ b: UInt8) -> Bool { b <= 0x3E && (b == 0x26 || b == 0x3C || b == 0x3E || b == 0x22 || b == 0x27) }

    /// Appends `bytes` to `out` with the five characters replaced by their entities.
    static func escape(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        escape(bytes) { out.append(contentsOf: $0) }
    }

    /// `bytes` in runs, each passed to `write`: the text between special characters as it is, and each special
    /// character's entity.
    @inline(__always)
    static func escape(_ bytes: UnsafeBufferPointer<UInt8>, _ write: (UnsafeBufferPointer<UInt8>) -> Void) {
        var start = 0
        var i = 0
        let count = bytes.count
        while i < count {
            let b = bytes[i]
            if isSpecial(b) {
                if i > start { write(UnsafeBufferPointer(rebasing: bytes[start..<i])) }
                let entity =
                    switch b {
                    case 0x26: amp
                    case 0x3C: lt
                    case 0x3E: gt
                    case 0x22: quot
                    default: apos
                    }
                entity.withUnsafeBufferPointer(write)
                start = i + 1
            }
            i += 1
        }
        if count > start { write(UnsafeBufferPointer(rebasing: bytes[start..<count])) }
    }
}

/// The navigation bar of a logged-in user's pages.
struct WebNav {
    var user: String
    var admin: Bool
    var csrf: String
    var current: String

    /// The bar's links, in order.
    var items: [(href: String, label: String)] {
        var items: [(String, String)] = []
        if admin {
            items += [("/admin/applinks", "Application links"), ("/admin/link-types", "Link types"), ("/admin/audit", "Audit log")]
        }
        items.append((AccountRoutes.path, "Authorized applications"))
        return items
    }
}
