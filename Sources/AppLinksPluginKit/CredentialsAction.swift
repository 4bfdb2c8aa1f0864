import AppLinksCore
import AppLinksJSON
import Foundation

extension DeclaredAction {
    /// The `set-credentials` action every link type with credentials from the remote needs: the admin replaces
    /// some of them after the remote rotated them, and the rest of the link stays as it is.
    ///
    /// - `config` are parameters stored in the link's config (a consumer key, a client id), `secrets` those sealed
    ///   beside it (a shared secret). An empty argument is the same as none.
    /// - `check`, when given, judges the changed link before anything is stored and returns a few words for the
    ///   message (`"the provider accepted them"`); it throws to refuse the change.
    ///
    /// ```swift
    /// DeclaredAction.setCredentials(
    ///     what: "consumer credentials", config: [.init(name: "consumer_key", type: .string)],
    ///     secrets: [.init(name: "shared_secret", type: .secret)])
    /// ```
    public static func setCredentials(
        what: String, title: String? = nil, config: [LinkTypeDescriptor.Parameter],
        secrets: [LinkTypeDescriptor.Parameter],
        check: (@Sendable (Plugin, ActionRequest, CredentialChange) async throws -> String)? = nil
    ) -> DeclaredAction {
        let spec = LinkTypeDescriptor.Action(
            id: "set-credentials", title: title ?? "Replace the \(what)", params: config + secrets)
        return DeclaredAction(spec) { plugin, r in
            let change = try CredentialChange(r, config: config.map(\.name), secrets: secrets.map(\.name))
            let checked = try await check?(plugin, r, change)
            return ActionResponse(
                message: "Updated \(r.link.name)'s \(what)" + (checked.map { "; \($0)." } ?? "."), changes: change.changes)
        }
    }
}

/// The new values a `set-credentials` action was given, and the link's changes that store them.
public struct CredentialChange: Sendable {
    /// New config values, by name.
    public let config: [String: String]
    /// New secrets, by name.
    public let secrets: [String: String]
    public let changes: LinkChanges

    init(_ r: ActionRequest, config names: [String], secrets secretNames: [String]) throws {
        func given(_ name: String) -> String? { r.args[name]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } }
        config = Dictionary(uniqueKeysWithValues: names.compactMap { n in given(n).map { (n, $0) } })
        secrets = Dictionary(uniqueKeysWithValues: secretNames.compactMap { n in given(n).map { (n, $0) } })
        guard !config.isEmpty || !secrets.isEmpty else {
            let all = (names + secretNames).map { "--arg \($0)=…" }
            let list = all.count == 1 ? all[0] : all.dropLast().joined(separator: ", ") + " or " + all.last!
            throw PluginError(
                code: "invalid_input", message: "Give \(list)\(all.count == 2 ? ", or both" : all.count > 2 ? ", or several" : "").")
        }
        var changes = LinkChanges()
        if !config.isEmpty { changes.config = r.link.config.merging(config.mapValues { .string($0) }) { $1 } }
        if !secrets.isEmpty { changes.secrets = secrets }
        self.changes = changes
    }

    /// The value the link will hold for `name`: the new one, or else what `current` gives.
    public func value(_ name: String, else current: String) -> String { config[name] ?? secrets[name] ?? current }
}
