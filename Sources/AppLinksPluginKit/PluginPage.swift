import AppLinksCore
import AppLinksJSON
import Foundation

extension PluginHTTPResponse {
    /// A page the host renders (escaped, with its CSRF token in any form), never cached:
    /// `{"title": "…", "paragraphs": ["…"], "form": {"action": "/…", "hidden": {…}, "buttons": [{"name", "value", "label"}]}}`.
    ///
    /// ```swift
    /// return .page(["title": "Authorized", "paragraphs": ["You may close this page."]])
    /// ```
    public static func page(_ page: JSONValue, status: Int = 200) -> PluginHTTPResponse {
        PluginHTTPResponse(
            status: status, headers: [["Content-Type", pageContentType], ["Cache-Control", "no-store"]],
            body: (try? JSONCoding.encode(page)) ?? Data())
    }

    /// A page of a title and paragraphs of text, such as a callback's outcome.
    public static func page(_ status: Int, _ title: String, _ paragraphs: String...) -> PluginHTTPResponse {
        page(["title": .string(title), "paragraphs": .array(paragraphs.map(JSONValue.string))], status: status)
    }

    /// The same answer, asking the host to check these links' status at once: for a callback that stored or
    /// refused a link's authorization, so that the links table does not wait for the next sweep.
    public func checking(_ linkIDs: String...) -> PluginHTTPResponse {
        var r = self
        r.checkLinks = (r.checkLinks ?? []) + linkIDs
        return r
    }

    /// The same answer, naming the wizard draft it moved on (an approval a pending step waits for): a browser
    /// that started that wizard on the host's pages is sent back to it, where the wizard goes on.
    public func resuming(draft: String) -> PluginHTTPResponse {
        var r = self
        r.resumeDraft = draft
        return r
    }
}
