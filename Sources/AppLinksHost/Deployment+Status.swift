import AppLinksCore
import AppLinksPluginRuntime
import AppLinksStore
import AppLinksTracing
import Foundation
import Tracing

extension Deployment {
    /// Checks links concurrently (at most `status.concurrency` at once), each within `status.timeout_seconds`,
    /// stores each result with its time, and records category changes in the audit log.
    ///
    /// Never throws for a plugin's failure: a plugin that fails, hangs or answers nonsense gives UNKNOWN.
    public func checkStatus(of links: [Link], progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil) async throws -> [Link] {
        let limit = max(1, config.statusConcurrency)
        var results: [String: (LinkStatus, String?)] = [:]
        try await withThrowingTaskGroup(of: (String, LinkStatus, String?).self) { group in
            var next = 0
            func addNext() {
                guard next < links.count else { return }
                let link = links[next]
                next += 1
                group.addTask { [self] in
                    let (status, version) = await check(link)
                    try await store.setStatus(linkID: link.id, status, applicationVersion: version)
                    if status.category != link.status.category || status.errorType != link.status.errorType {
                        try await audit(
                            "status-change", link: link,
                            detail: [
                                "from": .string(Self.label(link.status)),
                                "to": .string(Self.label(status)),
                            ])
                    }
                    return (link.id, status, version)
                }
            }
            for _ in 0..<min(limit, links.count) { addNext() }
            progress?(0, links.count)
            while let (id, status, version) = try await group.next() {
                results[id] = (status, version)
                progress?(results.count, links.count)
                addNext()
            }
        }
        return links.map { link in
            var l = link
            if let (status, version) = results[link.id] {
                l.status = status
                if let version { l.application.version = version }
            }
            return l
        }
    }

    /// `CATEGORY[/ERROR_TYPE]`, as the audit log and the status check's span name a status.
    static func label(_ s: LinkStatus) -> String { s.category.rawValue + (s.errorType.map { "/" + $0.rawValue } ?? "") }

    static func clipped(_ s: String, _ limit: Int) -> String { s.count <= limit ? s : String(s.prefix(limit)) + "…" }

    /// One link's status. The second value, when present, is the remote's version as the check saw it.
    func check(_ link: Link) async -> (LinkStatus, String?) {
        await TraceSpans.span("status check", attributes: ["applinks.link_id": .string(link.id), "applinks.link_type": .string(link.type)])
        {
            span in
            let (status, version) = await statusNow(link)
            span?.attributes["applinks.status"] = Self.label(status)
            return (status, version)
        }
    }

    private func statusNow(_ link: Link) async -> (LinkStatus, String?) {
        let now = Date()
        guard link.enabled else {
            return (
                LinkStatus(
                    .disabled, .disabled, message: "The link is disabled. Enable it with `applinks edit \(link.id) --set enabled=true`.",
                    checkedAt: now), nil
            )
        }
        let plugin: LoadedPlugin
        do {
            plugin = try self.plugin(forType: link.type)
        } catch let e as AppLinksError where e.code == .pluginDisabled {
            return (LinkStatus(.disabled, .disabled, message: e.message, checkedAt: now), nil)
        } catch {
            return (LinkStatus(.unknown, .unknown, message: "\(error)", checkedAt: now), nil)
        }
        do {
            let request = StatusRequest(link: link, secrets: try await openSecrets(link))
            let r = try await plugin.call(.checkStatus, request, as: StatusResponse.self, timeout: config.statusTimeout)
            // What a remote says about itself reaches every page and list: kept to a readable length.
            let status = try LinkStatus(r.category, r.errorType, message: Self.clipped(r.message, 4000), checkedAt: Date()).validated()
            return (status, r.applicationVersion.map { Self.clipped($0, 100) })
        } catch let e as AppLinksError where e.code == .timeout {
            return (
                LinkStatus(
                    .unknown, .timeout,
                    message: "The \(plugin.descriptor.name) check did not finish within \(config.statusTimeout). "
                        + "The remote or the plugin is hanging; raise status.timeout_seconds if the remote is just slow.", checkedAt: Date()
                ), nil
            )
        } catch let e as PluginCallError {
            return (LinkStatus(.unknown, .unknown, message: "The \(e.plugin) check failed: \(e.message)", checkedAt: Date()), nil)
        } catch let e as AppLinksError {
            return (LinkStatus(.unknown, .unknown, message: e.message, checkedAt: Date()), nil)
        } catch {
            return (LinkStatus(.unknown, .unknown, message: "The \(plugin.descriptor.name) check failed: \(error)", checkedAt: Date()), nil)
        }
    }
}
