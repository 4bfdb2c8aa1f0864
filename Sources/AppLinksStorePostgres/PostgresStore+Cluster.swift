import AppLinksCore
import AppLinksJSON
import AppLinksStore
import Foundation
import PostgresNIO

extension PostgresStore: ClusterCoordination {
    /// A session advisory lock on a connection held for the work: it is released when the work ends, or by
    /// the server when the node holding it dies.
    public func exclusively(_ name: String, _ body: @Sendable () async throws -> Void) async throws -> Bool {
        try await observed("Coordinating \(name)") {
            try await client.withConnection { c in
                var got = false
                for try await ok in try await c.query("SELECT pg_try_advisory_lock(hashtext(\(name)))", logger: logger).decode(Bool.self) {
                    got = ok
                }
                guard got else { return false }
                do {
                    try await body()
                } catch {
                    _ = try? await c.query("SELECT pg_advisory_unlock(hashtext(\(name)))", logger: logger)
                    throw error
                }
                try await c.query("SELECT pg_advisory_unlock(hashtext(\(name)))", logger: logger)
                return true
            }
        }
    }
}

extension PostgresStore: ChangeNotifying {
    static let changeChannel = "applinks_changes"

    /// LISTEN on a pooled connection held for as long as the stream is consumed; reconnects after a failure.
    public func changes() -> AsyncStream<String> {
        let (client, logger) = (self.client, self.logger)
        return AsyncStream { continuation in
            let task = Task {
                while !Task.isCancelled {
                    do {
                        try await client.withConnection { c in
                            try await c.listen(on: Self.changeChannel) { notifications in
                                continuation.yield("subscribed")
                                for try await n in notifications { continuation.yield(n.payload) }
                            }
                        }
                    } catch {
                        if Task.isCancelled { break }
                        logger.warning("change feed interrupted; reconnecting", metadata: ["error": "\(PostgresStore.describe(error))"])
                    }
                    try? await Task.sleep(for: .seconds(1))
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Tells every node that `topic` changed; inside a transaction, delivered when it commits.
    func notify(_ topic: String, on connection: PostgresConnection? = nil) async throws {
        if let connection {
            try await connection.query("SELECT pg_notify(\(Self.changeChannel), \(topic))", logger: logger)
        } else {
            try await client.query("SELECT pg_notify(\(Self.changeChannel), \(topic))", logger: logger)
        }
    }
}
