import AppLinksCore
import AppLinksJSON
import AppLinksPluginIPC
import AppLinksPluginRuntime
import AppLinksStore
import Foundation

/// A link as a change left it, with what its link type said of the change: whether a relocated link's new
/// URL answers, whether the remote's side of a deleted link was deleted too.
public struct LinkOutcome: Sendable, Encodable {
    public var link: Link
    public var message: String?

    /// The link's JSON, with `message` beside its members.
    public func encode(to encoder: any Encoder) throws {
        var json = link.jsonValue
        if let message, case .object(var members) = json {
            members["message"] = .string(message)
            json = .object(members)
        }
        try json.encode(to: encoder)
    }
}

extension Deployment {
    /// The loaded, enabled plugin of a link type, or an error that says how to get it.
    public func plugin(forType type: String) throws -> LoadedPlugin {
        if let p = enabledPlugin(type) { return p }
        if let r = pluginRecords.first(where: { $0.id == type }) {
            switch r.state {
            case .disabled:
                throw AppLinksError(.pluginDisabled, Self.typeDisabledMessage(type))
            case .refused:
                throw AppLinksError(.pluginRefused, "The link type '\(type)' was refused: \(r.reason ?? "unknown reason")")
            case .loaded: break
            }
        }
        let known = plugins.keys.sorted()
        throw AppLinksError(
            .notFound,
            "No link type '\(type)' is installed. "
                + (known.isEmpty
                    ? "No link type is loaded: run `swift build` to build the bundled ones next to the applinks executable, "
                        + "or see why with `applinks plugins list`."
                    : "Known types: \(known.joined(separator: ", ")). Run `applinks plugins list` for details."))
    }

    static func typeDisabledMessage(_ type: String) -> String {
        "The link type '\(type)' is disabled for this deployment. Enable it with `applinks plugins enable \(type)`."
    }

    /// Finds a link by id, unique id prefix (at least 4 characters) or name (case-insensitive).
    public func resolveLink(_ reference: String) async throws -> Link {
        let ref = reference.trimmingCharacters(in: .whitespaces)
        guard !ref.isEmpty else { throw AppLinksError(.invalidInput, "Name a link by id, id prefix or name. Run `applinks list`.") }
        if let exact = try await store.link(id: ref.lowercased()) { return exact }
        let all = try await store.links()
        var matches = ref.count >= 4 ? all.filter { $0.id.hasPrefix(ref.lowercased()) } : []
        if matches.isEmpty { matches = all.filter { $0.name.caseInsensitiveCompare(ref) == .orderedSame } }
        switch matches.count {
        case 1: return matches[0]
        case 0: throw AppLinksError(.notFound, "No link matches '\(ref)'. Run `applinks list` to see the links and their ids.")
        default:
            let names = matches.prefix(5).map { "\($0.id) (\($0.name))" }.joined(separator: ", ")
            throw AppLinksError(.ambiguous, "'\(ref)' matches \(matches.count) links: \(names). Use a longer id prefix.")
        }
    }

    /// A link's secrets, opened.
    func openSecrets(_ link: Link) async throws -> [String: String] {
        var out: [String: String] = [:]
        for (name, sealed) in try await store.sealedSecrets(linkID: link.id) {
            out[name] = try sealer.openString(sealed, context: SecretSealer.linkContext(link.id, name))
        }
        return out
    }

    func sealSecrets(_ secrets: [String: String?], linkID: String) throws -> [String: Data?] {
        var out: [String: Data?] = [:]
        for (name, value) in secrets {
            // updateValue, not a subscript: assigning nil through the subscript would drop the key, and a secret
            // set to nil must reach the store to be deleted.
            out.updateValue(try value.map { try sealer.sealString($0, context: SecretSealer.linkContext(linkID, name)) }, forKey: name)
        }
        return out
    }

    /// Applies changes under optimistic locking. `ofType`, when given, confines a plugin to its own links.
    public func applyChanges(
        _ changes: LinkChanges, toLink id: String, atVersion version: Int?, ofType type: String?, actor: String
    ) async throws -> Link {
        guard var link = try await store.link(id: id), type == nil || link.type == type else {
            throw AppLinksError(.notFound, "The link \(id) does not exist.")
        }
        if let version, version != link.version {
            throw AppLinksError(
                .conflict, "The link '\(link.name)' changed since version \(version); it is at \(link.version). Reload and retry.")
        }
        link = try link.applying(changes)
        let before = link.direction
        let updated = try await store.updateLink(link, sealedSecrets: try sealSecrets(changes.secrets ?? [:], linkID: link.id))
        var detail: [String: JSONValue] = ["fields": .array(Self.changedFields(changes).map { .string($0) })]
        if before != updated.direction { detail["direction"] = .string(updated.direction.rawValue) }
        try await store.appendAudit(AuditEvent(actor: actor, action: "edit", linkID: updated.id, linkType: updated.type, detail: detail))
        return updated
    }

    static func changedFields(_ c: LinkChanges) -> [String] {
        var f: [String] = []
        if c.name != nil { f.append("name") }
        if c.displayURL != nil { f.append("display_url") }
        if c.rpcURL != nil { f.append("rpc_url") }
        if c.application != nil { f.append("application") }
        if c.incomingAuth != nil { f.append("incoming_auth") }
        if c.outgoingAuth != nil { f.append("outgoing_auth") }
        for k in (c.config ?? [:]).keys.sorted() { f.append("config.\(k)") }
        for k in (c.secrets ?? [:]).keys.sorted() { f.append("secret.\(k)") }
        return f
    }

    /// `applinks edit LINK --set field=value`: name, display_url, rpc_url, enabled, or config.KEY.
    public func editLink(_ reference: String, sets: [(String, String)]) async throws -> Link {
        guard !sets.isEmpty else {
            throw AppLinksError(
                .invalidInput,
                "Nothing to change. Use --set name=…, --set display_url=…, --set rpc_url=…, "
                    + "--set enabled=true|false or --set config.KEY=VALUE.")
        }
        let link = try await resolveLink(reference)
        var changes = LinkChanges()
        var enabled: Bool?
        var config: [String: JSONValue] = [:]
        for (key, value) in sets {
            switch key {
            case "name": changes.name = value
            case "display_url": changes.displayURL = value
            case "rpc_url": changes.rpcURL = value
            case "enabled":
                guard let b = JSONValue.string(value).boolValue else {
                    throw AppLinksError(.invalidInput, "enabled must be true or false, not '\(value)'.")
                }
                enabled = b
            case _ where key.hasPrefix("config.") && key.count > 7:
                config[String(key.dropFirst(7))] = .string(value)
            default:
                throw AppLinksError(.invalidInput, "'\(key)' cannot be edited. Editable: name, display_url, rpc_url, enabled, config.KEY.")
            }
        }
        if !config.isEmpty { changes.config = config }
        var updated = link
        if changes != LinkChanges() {
            updated = try await applyChanges(changes, toLink: link.id, atVersion: link.version, ofType: nil, actor: actor)
        }
        if let enabled, enabled != updated.enabled {
            var l = updated
            l.enabled = enabled
            if !enabled {
                l.status = LinkStatus(
                    .disabled, .disabled, message: "The link is disabled. Enable it with `applinks edit \(l.id) --set enabled=true`.",
                    checkedAt: Date())
            }
            updated = try await store.updateLink(l, sealedSecrets: [:])
            try await audit(enabled ? "enable" : "disable", link: updated)
        }
        return updated.enabled && updated.version != link.version ? await followUp(updated) : updated
    }

    /// Deletes a link. Given `rawArgs`, the link type's `delete` action runs first with them (the Atlassian type
    /// deletes the remote's reciprocal link with the remote admin's credentials); if it fails, nothing is deleted.
    public func deleteLink(_ reference: String, rawArgs: [(String, String)] = []) async throws -> LinkOutcome {
        let link = try await resolveLink(reference)
        // The type's `delete` action cleans up what the link owns (a consumer record, an OAuth client and its
        // tokens). A type that is disabled or gone cannot, and must not keep its links from being deleted.
        let plugin = enabledPlugin(link.type)
        let action = plugin?.descriptor.actions.first(where: { $0.id == "delete" })
        if !rawArgs.isEmpty && action == nil {
            throw AppLinksError(
                .invalidInput,
                plugin == nil
                    ? "The link type '\(link.type)' is not enabled, so it cannot act on the deletion; run `applinks delete \(link.id)` alone."
                    : "The link type '\(link.type)' takes no arguments when a link is deleted; run `applinks delete \(link.id)` alone.")
        }
        var said: String?
        if let plugin, let action, link.enabled {
            said = try await runAction(plugin, link: link, action: "delete", args: try Self.convertArguments(rawArgs, for: action)).message
        }
        guard try await store.deleteLink(id: link.id) else { throw AppLinksError(.notFound, "The link \(link.id) was already deleted.") }
        try await audit("delete", link: link, detail: ["name": .string(link.name)])
        return LinkOutcome(link: link, message: said)
    }

    public func makePrimary(_ reference: String) async throws -> Link {
        let link = try await resolveLink(reference)
        let updated = try await store.makePrimary(id: link.id)
        if !link.primary { try await audit("make-primary", link: updated, detail: ["application_type": .string(link.application.type)]) }
        return updated
    }

    /// Moves a link to a new URL. The link type validates the URL through its `relocate` action.
    public func relocate(_ reference: String, to url: String) async throws -> LinkOutcome {
        let link = try await resolveLink(reference)
        _ = try Link.validURL(url, field: "URL")
        let plugin = try plugin(forType: link.type)
        guard plugin.descriptor.actions.contains(where: { $0.id == "relocate" }) else {
            throw AppLinksError(
                .invalidInput, "The link type '\(link.type)' does not support relocation; delete the link and create a new one.")
        }
        let response = try await runAction(plugin, link: link, action: "relocate", args: ["url": .string(url)])
        var changes = response.changes ?? LinkChanges()
        if changes.displayURL == nil { changes.displayURL = url }
        if changes.rpcURL == nil { changes.rpcURL = url }
        let updated = try await applyChanges(changes, toLink: link.id, atVersion: link.version, ofType: nil, actor: actor)
        try await audit("relocate", link: updated, detail: ["from": .string(link.displayURL), "to": .string(updated.displayURL)])
        return LinkOutcome(link: await followUp(updated), message: response.message)
    }

    /// Converts `--arg name=value` strings to the declared parameter types, before anything is called.
    public static func convertArguments(_ raw: [(String, String)], for action: LinkTypeDescriptor.Action) throws -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        var problems: [String] = []
        let params = Dictionary(uniqueKeysWithValues: action.params.map { ($0.name, $0) })
        for (name, value) in raw {
            guard let p = params[name] else {
                if action.extraParams {
                    out[name] = .string(value)
                    continue
                }
                let known = action.params.map(\.name)
                problems.append(
                    "'\(name)' is not a parameter of \(action.id)"
                        + (known.isEmpty ? " (it takes none)" : " (it takes \(known.joined(separator: ", ")))"))
                continue
            }
            switch p.type {
            case .string, .secret: out[name] = .string(value)
            case .int:
                if let i = Int64(value) {
                    out[name] = .number(Double(i))
                } else {
                    problems.append("\(name) must be a whole number, not '\(value)'")
                }
            case .double:
                if let d = Double(value), d.isFinite {
                    out[name] = .number(d)
                } else {
                    problems.append("\(name) must be a number, not '\(value)'")
                }
            case .bool:
                if let b = JSONValue.string(value).boolValue {
                    out[name] = .bool(b)
                } else {
                    problems.append("\(name) must be true or false, not '\(value)'")
                }
            case .url:
                if (try? Link.validURL(value, field: name)) != nil {
                    out[name] = .string(value)
                } else {
                    problems.append("\(name) must be an absolute http:// or https:// URL, not '\(value)'")
                }
            }
        }
        for p in action.params where out[p.name] == nil && !problems.contains(where: { $0.hasPrefix(p.name + " ") }) {
            if let d = p.defaultValue {
                out[p.name] = d
            } else if p.required {
                problems.append(
                    "\(p.name) is required "
                        + (p.type == .secret ? "(--arg-stdin \(p.name), or --arg \(p.name)=@FILE)" : "(--arg \(p.name)=…)"))
            }
        }
        if !problems.isEmpty { throw AppLinksError(.invalidInput, problems.joined(separator: "; ") + ".") }
        return out
    }

    /// `applinks action LINK ACTION --arg k=v…`.
    public func invokeAction(_ reference: String, action id: String, rawArgs: [(String, String)]) async throws -> (Link, ActionResponse) {
        let link = try await resolveLink(reference)
        let plugin = try plugin(forType: link.type)
        guard let action = plugin.descriptor.adminActions.first(where: { $0.id == id }) else {
            let known = plugin.descriptor.adminActions.map(\.id)
            throw AppLinksError(
                .notFound,
                "The link type '\(link.type)' has no action '\(id)'. "
                    + (known.isEmpty ? "It has no actions." : "Its actions: \(known.joined(separator: ", ")).")
                    + " Run `applinks actions \(reference)`.")
        }
        let args = try Self.convertArguments(rawArgs, for: action)
        var detail: [String: JSONValue] = ["action": .string(id)]
        let shown = args.filter { k, _ in action.params.first { $0.name == k }?.type != .secret }
        if !shown.isEmpty { detail["args"] = .object(shown) }
        let response: ActionResponse
        do {
            if let native = plugin.natives[id] {
                response = try await runNative(plugin, native, link: link, values: native.values(rawArgs, converted: args))
            } else {
                response = try await runAction(plugin, link: link, action: id, args: args)
            }
        } catch {
            // A refused or failed action is recorded too, with why, and with its secrets left out like any other.
            var failed = detail
            failed["error"] = .string((error as? AppLinksError)?.message ?? "\(error)")
            try? await audit("action-failed", link: link, detail: failed)
            throw error
        }
        // The plugin may have changed its link through the host API while it ran.
        var result = try await store.link(id: link.id) ?? link
        if let changes = response.changes, changes != LinkChanges() {
            result = try await applyChanges(changes, toLink: link.id, atVersion: result.version, ofType: nil, actor: actor)
        }
        try await audit("action", link: result, detail: detail)
        // An action that changed its link (credentials replaced, tokens stored or forgotten, authentication
        // edited) may have changed its status too.
        if result.version != link.version { result = await followUp(result) }
        return (result, response)
    }

    /// A fresh access token for calling the application a link points at, from its type's `access-token`
    /// action (a host-only action, which `oauth2-outgoing` offers): for other link types and for a product
    /// embedding the host. The type refreshes the token first when it is about to expire.
    public func freshAccessToken(forLink reference: String) async throws -> String {
        let link = try await resolveLink(reference)
        let plugin = try plugin(forType: link.type)
        guard plugin.descriptor.actions.contains(where: { $0.id == "access-token" && $0.hostOnly }) else {
            throw AppLinksError(.invalidInput, "The link '\(link.name)' is of type \(link.type), which gives no access tokens.")
        }
        let response = try await runAction(plugin, link: link, action: "access-token", args: [:])
        guard let token = response.output?["access_token"]?.stringValue, !token.isEmpty else {
            throw AppLinksError(.pluginFailed, "\(plugin.descriptor.name) returned no access token.")
        }
        return token
    }

    /// The host's code for a plugin's error code: bad input, a remote that refused, a remote out of reach, a
    /// change that lost a race (the kit's `updateLink` after its retries), or the plugin's own failure.
    static func code(ofPluginError code: String) -> AppLinksError.Code {
        switch code {
        case "invalid_input": .invalidInput
        case "remote_refused": .remoteRefused
        case "unreachable", "remote_unreachable", "network": .network
        case "conflict": .conflict
        default: .pluginFailed
        }
    }

    /// A C plugin's typed action: its answer is an action response in JSON, or plain text taken as the message.
    private func runNative(
        _ plugin: LoadedPlugin, _ native: NativeAction, link: Link, values: [String?]
    ) async throws
        -> ActionResponse
    {
        guard link.enabled else {
            throw AppLinksError(
                .invalidInput, "The link '\(link.name)' is disabled. Enable it with `applinks edit \(link.id) --set enabled=true`.")
        }
        let data: Data
        do {
            data = try await plugin.callNative(native, linkID: link.id, values: values, timeout: config.statusTimeout * 3)
        } catch let e as PluginCallError {
            throw AppLinksError(Self.code(ofPluginError: e.code), "\(e.plugin): \(e.message)")
        }
        if data.first == UInt8(ascii: "{"), let response = try? JSONCoding.decode(ActionResponse.self, from: data) { return response }
        return ActionResponse(message: String(decoding: data, as: UTF8.self))
    }

    func runAction(_ plugin: LoadedPlugin, link: Link, action: String, args: [String: JSONValue]) async throws -> ActionResponse {
        guard link.enabled else {
            throw AppLinksError(
                .invalidInput, "The link '\(link.name)' is disabled. Enable it with `applinks edit \(link.id) --set enabled=true`.")
        }
        let request = ActionRequest(action: action, link: link, secrets: try await openSecrets(link), args: args, actor: actor)
        do {
            return try await plugin.call(.invokeAction, request, as: ActionResponse.self, timeout: config.statusTimeout * 3)
        } catch let e as PluginCallError {
            throw AppLinksError(Self.code(ofPluginError: e.code), "\(e.plugin): \(e.message)")
        }
    }
}
