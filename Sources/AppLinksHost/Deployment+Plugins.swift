import AppLinksCore
import AppLinksPluginRuntime
import Foundation

extension Deployment {
    /// Enables or disables a link type for this deployment, persistently. A disabled type is not started by the
    /// next process, and is refused at once by a running one.
    public func setLinkTypeEnabled(_ id: String, enabled: Bool) async throws -> PluginRecord {
        guard var record = pluginRecords.first(where: { $0.id == id }), record.state != .refused else {
            let known = pluginRecords.compactMap { $0.state == .refused ? nil : $0.id }
            throw AppLinksError(
                .notFound,
                "No loadable link type '\(id)'. " + (known.isEmpty ? "None is installed." : "Known: \(known.joined(separator: ", ")).")
                    + " Run `applinks plugins list`.")
        }
        let states = try await store.linkTypeStates()
        if (states[id] ?? true) != enabled {
            try await store.setLinkTypeEnabled(id, enabled: enabled)
            try await audit(enabled ? "link-type-enable" : "link-type-disable", detail: ["link_type": .string(id)])
        }
        try await refreshLinkTypeStates()
        let links = try await store.links().filter { $0.type == id && $0.enabled }
        if enabled {
            for link in links { await followUp(link) }
        } else {
            // Shown at once, as DISABLED, rather than at the next sweep.
            let status = LinkStatus(.disabled, .disabled, message: Self.typeDisabledMessage(id), checkedAt: Date())
            for link in links { try await store.setStatus(linkID: link.id, status, applicationVersion: nil) }
        }
        record.enabled = enabled
        record.state = enabled ? .loaded : .disabled
        return record
    }
}
