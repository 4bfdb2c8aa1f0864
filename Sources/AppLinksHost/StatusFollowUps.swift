import AppLinksCore
import AppLinksLocking
import Foundation

/// Checks a link again right after something changed it (created, edited, relocated, re-authorized, its
/// credentials replaced, its type re-enabled), so that no list shows a status older than the change.
///
/// A CLI command checks before it returns (``Mode/inline``), so that its own output and the next `list` are
/// current. The server answers at once and checks in the background (``Mode/queued``), through ``run(_:)``,
/// which the server runs beside the status sweep.
public final class StatusFollowUps: Sendable {
    public enum Mode: Sendable { case inline, queued }

    private let mode: Locked<Mode>
    private let queue: AsyncStream<String>
    private let enqueue: AsyncStream<String>.Continuation
    /// Links being checked, and those changed again meanwhile, which are checked once more afterwards.
    private let state = Locked<(running: Set<String>, again: Set<String>)>(([], []))

    init(mode: Mode = .inline) {
        self.mode = Locked(mode)
        (queue, enqueue) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .unbounded)
    }

    public var currentMode: Mode { mode.withLock { $0 } }

    /// From now on, follow-ups are queued for ``run(_:)``; `applinks serve` sets this before it takes requests.
    public func queueFromNowOn() { mode.withLock { $0 = .queued } }

    func queue(_ linkID: String) { enqueue.yield(linkID) }

    /// Checks queued links, several at once, each link once at a time, until the task is cancelled.
    public func run(_ deployment: Deployment) async {
        await withDiscardingTaskGroup { group in
            for await id in queue {
                let first = state.withLock { s in
                    if s.running.contains(id) {
                        s.again.insert(id)
                        return false
                    }
                    s.running.insert(id)
                    return true
                }
                guard first else { continue }
                group.addTask { [self] in
                    repeat {
                        await Self.check(id, deployment)
                    } while state.withLock { s in
                        if s.again.remove(id) != nil { return true }
                        s.running.remove(id)
                        return false
                    }
                }
            }
        }
    }

    private static func check(_ id: String, _ deployment: Deployment) async {
        do {
            guard let link = try await deployment.store.link(id: id) else { return }
            _ = try await deployment.checkStatus(of: [link])
        } catch {
            deployment.logger.error("status check after a change failed", metadata: ["link": "\(id)", "error": "\(error)"])
        }
    }
}

extension Deployment {
    /// Brings a changed link's status up to date: checked now in the CLI, queued in the server (see
    /// ``StatusFollowUps``). Returns the link as it will be listed next.
    @discardableResult
    public func followUp(_ link: Link) async -> Link {
        switch followUps.currentMode {
        case .queued:
            followUps.queue(link.id)
            return link
        case .inline:
            do {
                return try await checkStatus(of: [link]).first ?? link
            } catch {
                logger.error("status check after a change failed", metadata: ["link": "\(link.id)", "error": "\(error)"])
                return link
            }
        }
    }

    /// Queues links of `type` that one of its routes changed (see ``PluginHTTPResponse/checkLinks``); ids of
    /// other types' links are ignored, since a plugin acts only on its own.
    public func checkSoon(_ ids: [String], ofType type: String) async {
        for id in Set(ids) {
            guard let link = try? await store.link(id: id), link.type == type else { continue }
            await followUp(link)
        }
    }
}
