import Foundation

extension Link {
    /// A link's name as the host keeps it: trimmed, 1 to 200 characters.
    public static func validName(_ s: String) throws -> String {
        let t = s.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !t.isEmpty, t.count <= 200 else { throw AppLinksError(.invalidInput, "name must be 1 to 200 characters.") }
        return t
    }

    /// An absolute http(s) URL with a host; `field` names the setting in the error.
    public static func validURL(_ s: String, field: String) throws -> String {
        guard let u = URL(string: s), ["http", "https"].contains(u.scheme?.lowercased() ?? ""), u.host?.isEmpty == false else {
            throw AppLinksError(.invalidInput, "\(field) '\(s)' must be an absolute http:// or https:// URL.")
        }
        return s
    }

    /// The link with `changes` applied to its fields, each checked as the host checks it, and its config merged
    /// key by key. Secrets are not fields: the store keeps them apart.
    public func applying(_ changes: LinkChanges) throws -> Link {
        var link = self
        if let v = changes.name { link.name = try Self.validName(v) }
        if let v = changes.displayURL { link.displayURL = try Self.validURL(v, field: "display_url") }
        if let v = changes.rpcURL { link.rpcURL = try Self.validURL(v, field: "rpc_url") }
        if let v = changes.application { link.application = v }
        if let v = changes.incomingAuth { link.incomingAuth = v }
        if let v = changes.outgoingAuth { link.outgoingAuth = v }
        if let v = changes.config { link.config.merge(v) { _, new in new } }
        return link
    }
}
