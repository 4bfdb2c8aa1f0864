import AppLinksLocking
import Foundation
import PostgresNIO

/// Plugin-data writes made at the same moment, written in one statement: PostgreSQL's group commit.
///
/// Each token a busy provider issues is one small insert. Alone, each costs a round trip, a statement and a commit
/// (a WAL flush) of its own, and the pool's connections run out long before the server's CPU does. Here a write
/// that finds none in flight goes at once; writes that arrive while one is in flight wait for it, then go together
/// as one multi-row upsert. None returns, and so none is acknowledged to a client, before the statement that
/// holds it has committed; if the statement fails, every write in it fails.
final class PutBatcher: Sendable {
    struct Put: Sendable {
        var namespace: String
        var key: String
        var value: Data
        var expires: Double?
    }

    private struct Waiting {
        var put: Put
        var done: CheckedContinuation<Void, any Error>
    }

    private let queue = Locked<(waiting: [Waiting], flushing: Bool)>(([], false))
    private let write: @Sendable ([Put]) async throws -> Void
    /// Rows per statement: four binds each, well inside PostgreSQL's 65,535.
    static let maxRows = 1_000

    /// `write` upserts its rows in one statement; it is given each key at most once.
    init(write: @escaping @Sendable ([Put]) async throws -> Void) {
        self.write = write
    }

    func put(_ put: Put) async throws {
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
            let lead = queue.withLock { q -> Bool in
                q.waiting.append(Waiting(put: put, done: done))
                guard !q.flushing else { return false }
                q.flushing = true
                return true
            }
            if lead { Task { await flush() } }
        }
    }

    private func flush() async {
        while true {
            let batch = queue.withLock { q -> [Waiting] in
                guard !q.waiting.isEmpty else {
                    q.flushing = false
                    return []
                }
                let taken = Array(q.waiting.prefix(Self.maxRows))
                q.waiting.removeFirst(taken.count)
                return taken
            }
            if batch.isEmpty { return }
            // Two writes of one key in one batch: the later wins, as it would have one after the other.
            var seen = Set<[String]>()
            let rows = batch.reversed().map(\.put).filter { seen.insert([$0.namespace, $0.key]).inserted }
            do {
                try await write(rows)
                for w in batch { w.done.resume() }
            } catch {
                for w in batch { w.done.resume(throwing: error) }
            }
        }
    }

    /// The upsert of `rows`, one statement.
    static func upsert(_ rows: [Put]) throws -> PostgresQuery {
        var sql = "INSERT INTO plugin_kv (namespace, key, value, expires_at) VALUES "
        var binds = PostgresBindings(capacity: rows.count * 4)
        for (i, row) in rows.enumerated() {
            let n = i * 4
            sql += (i == 0 ? "" : ", ") + "($\(n + 1), $\(n + 2), $\(n + 3), $\(n + 4))"
            binds.append(row.namespace)
            binds.append(row.key)
            try binds.append(row.value)
            binds.append(row.expires)
        }
        sql += " ON CONFLICT (namespace, key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at"
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }
}
