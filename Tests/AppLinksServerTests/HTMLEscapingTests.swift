import AppLinksCore
import Foundation
import Testing

@testable import AppLinksServer

@Suite("escaping on the admin pages")
struct HTMLEscapingTests {
    /// What every `{{value}}` must become: the five characters that can end a text or an attribute, replaced.
    /// Scalar by scalar: a quote followed by a combining mark is one `Character` but still ends an attribute.
    static func reference(_ s: String) -> String {
        var out = ""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    @Test("the byte-wise escaper agrees with the reference on markup, quotes, combining marks and emoji")
    func agreesWithReference() {
        let alphabet: [String] = [
            "<", ">", "&", "\"", "'", "a", " ", "é", "e\u{301}", "👩‍💻", "&amp;", "\u{0}", "/", "=", "\u{301}", "\u{7A6}",
        ]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            let s = (0..<Int.random(in: 0...16, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }.joined()
            #expect(FastHTMLEscaping().escapeText(s) == Self.reference(s), "\(s.debugDescription)")
            #expect(HTMLPage.escape(s) == Self.reference(s), "\(s.debugDescription)")
            var written = HTMLBuffer(capacity: 0)
            written.text(s)
            #expect(written.string == Self.reference(s), "\(s.debugDescription)")
        }
        #expect(FastHTMLEscaping().escapeText(#""><img src=x onerror=alert(1)>"#) == "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;")
    }

    @Test("a quote, bracket or ampersand followed by a combining mark is escaped all the same, on pages written in code")
    func combiningMarks() {
        // A browser ends the attribute at the quote's byte; the mark after it does not protect anything.
        let hostile = "\"\u{301} autofocus onfocus=alert(1) x=\"\u{301}<\u{301}script>&\u{301}"
        let escaped = HTMLPage.escape(hostile)
        #expect(!escaped.utf8.contains(UInt8(ascii: "\"")) && !escaped.utf8.contains(UInt8(ascii: "<")), "\(escaped.debugDescription)")
        #expect(escaped == "&quot;\u{301} autofocus onfocus=alert(1) x=&quot;\u{301}&lt;\u{301}script&gt;&amp;\u{301}")
    }

    @Test("every template is read with it: a value in a template comes out escaped")
    func templatesUseIt() throws {
        let templates = try WebTemplates.loaded.get()
        let html = templates.render(["error": "<script>alert('x')</script>", "links": [[String: Any]]()], "message")
        #expect(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") && !html.contains("<script>"), "\(html)")
    }

    @Test("the links table's rows, written in code, escape every value a remote or an admin chose")
    func rowsEscape() {
        let hostile = #"<script>alert('x')</script>" onmouseover="x" &"#
        let link = Link(
            id: "id\"><b>", type: "fixture", name: hostile, application: ApplicationInfo(type: "generic", name: "x", version: hostile),
            displayURL: "https://x.example.com", incomingAuth: ["oauth"], status: LinkStatus(.networkError, .timeout, message: hostile))
        var html = HTMLBuffer(capacity: 0)
        LinksPageHTML.row(link, menu: LinksPageHTML.Menu(nil), typeName: hostile, into: &html)
        let row = html.string
        #expect(!row.contains("<script>") && !row.contains(#"" onmouseover"#) && !row.contains("<b>"), "\(row)")
        // The name (as text and in the menu's label), the remote's version, the type's name and the status message.
        #expect(row.components(separatedBy: Self.reference(hostile)).count - 1 == 5, "\(row)")
        #expect(row.contains(#"data-link-id="id&quot;&gt;&lt;b&gt;""#), "\(row)")
    }
}
