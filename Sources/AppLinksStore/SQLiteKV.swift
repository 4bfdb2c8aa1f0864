import AppLinksCore
import AppLinksLocking
import Foundation
import GRDBSQLite

/// Plugin key-value operations straight through SQLite's C API, on connections of their own: the hot path of
/// a plugin's blocking host calls (an OAuth token lookup or issue).
///
/// Each such call is one indexed statement on a few hundred bytes. Through GRDB's pool, the connection
/// checkout, its dispatch queue and the per-access schema checks cost several times the statement; here an
/// operation is a lock, binds, a step and a reset. Reads use a small pool of read-only connections, which in
/// WAL mode see every committed write. Writes use one connection under a lock; SQLite's own locking orders
/// them against GRDB's writer, which the rest of the store uses.
final class SQLiteKV: Sendable {
    private let path: String
    private let readers = Locked<[Connection]>([])
    private let writer = Locked<Connection?>(nil)
    /// Writes since the last checkpoint was scheduled, writes since the last one finished, and whether one is
    /// running. A finished checkpoint resets them while holding `checkpointDone`, on which writers that are too
    /// far ahead wait.
    private let checkpoint = Locked<(writes: Int, behind: Int, running: Bool, peak: Int)>((0, 0, false, 0))
    private let checkpointDone = NSCondition()
    private let checkpointQueue = DispatchQueue(label: "applinks.sqlite.checkpoint", qos: .utility)
    /// Writes between two background checkpoints: about a thousand WAL pages, SQLite's own default.
    static let checkpointEvery = 500
    /// WAL pages at which the write connection checkpoints by itself.
    static let walBackstopPages = 4_000
    /// Writes since the last finished checkpoint beyond which a writer waits for the running one: when the
    /// checkpoint is slow (a disk that takes seconds to sync, a starved thread), the writers slow down to its
    /// pace instead of growing the WAL without bound.
    static let maxWritesBehind = 4 * checkpointEvery
    /// The checkpoint's own connection, used only on `checkpointQueue`.
    private let checkpointer = Locked<Connection?>(nil)
    /// For tests: a pause before each checkpoint, standing in for a slow disk or a starved thread.
    let checkpointDelay = Locked<Duration>(.zero)
    /// For tests: the most writes ever made since the last finished checkpoint.
    var peakWritesBehind: Int { checkpoint.withLock { $0.peak } }

    private let clock: StoreClock

    init(path: String, clock: StoreClock) {
        self.path = path
        self.clock = clock
    }

    private static let select =
        "SELECT value FROM plugin_kv WHERE namespace = ?1 AND key = ?2 AND (expires_at IS NULL OR expires_at > ?3)"
    private static let upsert = "INSERT OR REPLACE INTO plugin_kv (namespace, key, value, expires_at) VALUES (?1, ?2, ?3, ?4)"
    private static let remove = "DELETE FROM plugin_kv WHERE namespace = ?1 AND key = ?2"
    private static let purge = "DELETE FROM plugin_kv WHERE expires_at <= ?1"

    /// The live value of `key` in `namespace`, or nil.
    func value(namespace: String, key: String) throws -> Data? {
        let c = try readers.withLock { $0.popLast() } ?? Connection(path: path, readOnly: true)
        defer { readers.withLock { $0.append(c) } }
        return try c.value(namespace, key, now: clock.seconds)
    }

    /// Runs `body` on the calling thread with a read-only connection, inside one read transaction (its reads see
    /// one snapshot). For the query of every links page and its live update: there a hop to GRDB's reader queue
    /// and back cost more than the query, and a read on this pool never waits for another.
    func read<T>(_ body: (Connection) throws -> T) throws -> T {
        let c = try readers.withLock { $0.popLast() } ?? Connection(path: path, readOnly: true)
        defer { readers.withLock { $0.append(c) } }
        try c.exec("BEGIN")
        defer { try? c.exec("COMMIT") }
        return try body(c)
    }

    func put(namespace: String, key: String, value: Data, ttl: Double?) throws {
        _ = try grouped { c in
            try c.put(namespace, key, value, expiresAt: ttl.map { self.clock.seconds + $0 })
            return true
        }
    }

    func delete(namespace: String, key: String) throws {
        _ = try grouped { c in
            try c.delete(namespace, key)
            return true
        }
    }

    /// Deletes every expired row.
    func purgeExpired() throws {
        try write { c in try c.purge(now: clock.seconds) }
    }

    /// Replaces the value only if it is `expected` (nil: absent). The read and the write are one step of a
    /// transaction that holds SQLite's write lock, so no other write comes between them.
    func compareAndSet(namespace: String, key: String, expected: Data?, replacement: Data?, ttl: Double?) throws -> Bool {
        try grouped { c in
            let now = self.clock.seconds
            guard try c.value(namespace, key, now: now) == expected else { return false }
            if let replacement {
                try c.put(namespace, key, replacement, expiresAt: ttl.map { now + $0 })
            } else {
                try c.delete(namespace, key)
            }
            return true
        }
    }

    /// Applies a batch in one write of a group commit: the requirements are read under the write lock, so no other
    /// write comes between them and the changes. Returns the index of the first requirement that fails, or nil.
    func apply(namespace: String, _ changes: [KVChange]) throws -> Int? {
        let failed = Locked<Int?>(nil)
        let applied = try grouped { c in
            let now = self.clock.seconds
            for (i, change) in changes.enumerated() {
                guard case .require(let key, let value) = change else { continue }
                if try c.value(namespace, key, now: now) != value {
                    failed.withLock { $0 = i }
                    return false
                }
            }
            for change in changes {
                switch change {
                case .require: break
                case .put(let key, let value, let ttl): try c.put(namespace, key, value, expiresAt: ttl.map { now + Columns.seconds($0) })
                case .delete(let key): try c.delete(namespace, key)
                }
            }
            return true
        }
        return applied ? nil : failed.withLock { $0 }
    }

    /// A write waiting for the writer connection, and what became of it. `outcome` is set and read only under
    /// the writer lock.
    private final class PendingWrite: @unchecked Sendable {
        let apply: (Connection) throws -> Bool
        var outcome: Result<Bool, any Error>?
        init(_ apply: @escaping (Connection) throws -> Bool) { self.apply = apply }
    }

    /// Writes queued for the writer connection; see ``grouped(_:)``.
    private let queued = Locked<[PendingWrite]>([])
    /// Transactions the writer committed for queued writes, for tests: fewer than the writes when they were grouped.
    let groupCommits = Locked(0)

    /// Runs one write in a group commit. Whoever takes the writer connection runs every write queued by then, each
    /// in a savepoint of one transaction, and commits once: concurrent token issues, say, then cost one commit
    /// instead of one each. A write's failure undoes that write only. No write returns, and so none is
    /// acknowledged to a client, before the transaction that holds it has committed.
    private func grouped(_ apply: @escaping (Connection) throws -> Bool) throws -> Bool {
        let mine = PendingWrite(apply)
        queued.withLock { $0.append(mine) }
        let (outcome, ran) = writer.withLock { slot -> (Result<Bool, any Error>, Int) in
            // Another writer committed this one while it waited for the lock.
            if let done = mine.outcome { return (done, 0) }
            let batch = queued.withLock { q -> [PendingWrite] in
                defer { q.removeAll(keepingCapacity: true) }
                return q
            }
            do {
                if slot == nil { slot = try Connection(path: path, readOnly: false) }
                try Self.commit(batch, on: slot!)
                groupCommits.withLock { $0 += 1 }
            } catch {
                for write in batch { write.outcome = .failure(error) }
            }
            return (mine.outcome ?? .failure(SQLiteKVError(message: "the write was not run")), batch.count)
        }
        if ran > 0 { scheduleCheckpoint(writes: ran) }
        return try outcome.get()
    }

    private static func commit(_ batch: [PendingWrite], on c: Connection) throws {
        try c.exec("BEGIN IMMEDIATE")
        var results: [Result<Bool, any Error>] = []
        results.reserveCapacity(batch.count)
        do {
            if batch.count == 1 {
                // Alone, a write's failure is the transaction's: no savepoint needed.
                let result = Result { try batch[0].apply(c) }
                if case .failure = result { try c.exec("ROLLBACK") } else { try c.exec("COMMIT") }
                batch[0].outcome = result
                return
            }
            for write in batch {
                try c.exec("SAVEPOINT one")
                do {
                    results.append(.success(try write.apply(c)))
                    try c.exec("RELEASE one")
                } catch {
                    results.append(.failure(error))
                    try c.exec("ROLLBACK TO one")
                    try c.exec("RELEASE one")
                }
            }
            try c.exec("COMMIT")
        } catch {
            try? c.exec("ROLLBACK")
            throw error
        }
        for (write, result) in zip(batch, results) { write.outcome = result }
    }

    private func checkpointConnection() -> Connection? {
        checkpointer.withLock { slot in
            if slot == nil { slot = try? Connection(path: path, readOnly: false) }
            return slot
        }
    }

    private func write<T>(_ body: (Connection) throws -> T) throws -> T {
        let result = try writer.withLock { slot in
            if slot == nil { slot = try Connection(path: path, readOnly: false) }
            return try body(slot!)
        }
        scheduleCheckpoint(writes: 1)
        return result
    }

    /// The writer connection never checkpoints itself, which would make every request waiting for the write
    /// lock wait for the copy too. A background queue, every ``checkpointEvery`` writes, copies the WAL into the
    /// database in two passes: the bulk without the lock, then what was written meanwhile under it. The second
    /// pass is short, and it is what lets the next write start the WAL over: a checkpoint racing the writers
    /// never catches up, and the WAL would grow without end.
    private func scheduleCheckpoint(writes: Int) {
        let (due, behind) = checkpoint.withLock { c -> (Bool, Int) in
            c.writes += writes
            c.behind += writes
            c.peak = max(c.peak, c.behind)
            guard c.writes >= Self.checkpointEvery, !c.running else { return (false, c.behind) }
            c.writes = 0
            c.running = true
            return (true, c.behind)
        }
        if due {
            checkpointQueue.async { [self] in
                let delay = checkpointDelay.withLock { $0 }
                if delay > .zero {
                    Thread.sleep(forTimeInterval: Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18)
                }
                if let c = checkpointConnection() {
                    c.checkpoint()
                    writer.withLock { _ in c.checkpoint() }
                }
                checkpointDone.locked {
                    checkpoint.withLock { $0 = (0, 0, false, $0.peak) }
                    checkpointDone.broadcast()
                }
            }
        }
        guard behind >= Self.maxWritesBehind else { return }
        // Bounded, so that a checkpoint stuck on a disk that does not answer costs writers their speed, not
        // their progress.
        let deadline = Date(timeIntervalSinceNow: 5)
        checkpointDone.locked {
            while checkpoint.withLock({ $0.behind }) >= Self.maxWritesBehind, checkpointDone.wait(until: deadline) {}
        }
    }

    /// One connection and its prepared statements, used by one thread at a time.
    final class Connection: @unchecked Sendable {
        // Only used between a checkout and its return (readers) or under the writer lock, by one thread.
        private var db: OpaquePointer?
        private var statements: [String: OpaquePointer] = [:]

        init(path: String, readOnly: Bool) throws {
            let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX
            guard sqlite3_open_v2(path, &db, flags, nil) == SQLITE_OK else {
                let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
                sqlite3_close(db)
                throw SQLiteKVError(message: "Cannot open \(path): \(message)")
            }
            sqlite3_busy_timeout(db, 10_000)
            // No memory map: in WAL mode SQLite drops a connection's whole map at the start of each read
            // transaction after another connection wrote (pagerBeginReadTransaction), so under token writes every
            // read paid for tearing the map down and faulting its pages back in. Without it a refresh costs a sixth
            // less CPU; the page cache serves the reads.
            if !readOnly {
                try exec("PRAGMA synchronous = NORMAL")
                // A backstop only: the background checkpoint keeps the WAL near a thousand pages, but when it is
                // starved of CPU the writer checkpoints itself at four thousand, so the WAL stays bounded.
                sqlite3_wal_autocheckpoint(db, Int32(SQLiteKV.walBackstopPages))
            }
        }

        deinit {
            for s in statements.values { sqlite3_finalize(s) }
            sqlite3_close(db)
        }

        func exec(_ sql: String) throws {
            guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { throw failure() }
        }

        private func statement(_ sql: String) throws -> OpaquePointer {
            if let s = statements[sql] { return s }
            var s: OpaquePointer?
            guard sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &s, nil) == SQLITE_OK, let s else { throw failure() }
            statements[sql] = s
            return s
        }

        private func failure() -> SQLiteKVError { SQLiteKVError(message: String(cString: sqlite3_errmsg(db))) }

        /// Runs `statement` with `bind`, stepping once; the row's value (for a SELECT) or nil.
        private func run(_ sql: String, _ bind: (OpaquePointer) -> Void) throws -> Data? {
            let s = try statement(sql)
            defer {
                sqlite3_reset(s)
                sqlite3_clear_bindings(s)
            }
            bind(s)
            switch sqlite3_step(s) {
            case SQLITE_ROW:
                let count = Int(sqlite3_column_bytes(s, 0))
                guard count > 0, let bytes = sqlite3_column_blob(s, 0) else { return Data() }
                return Data(bytes: bytes, count: count)
            case SQLITE_DONE: return nil
            default: throw failure()
            }
        }

        /// Steps `sql`, with `texts`, then `ints`, then `doubles` bound in order, and calls `row` for each result row.
        func each(_ sql: String, texts: [String], ints: [Int], doubles: [Double] = [], _ row: (ResultRow) throws -> Void) throws {
            let s = try statement(sql)
            defer {
                sqlite3_reset(s)
                sqlite3_clear_bindings(s)
            }
            for (i, text) in texts.enumerated() { sqlite3_bind_text(s, Int32(i + 1), text, -1, transient) }
            for (i, int) in ints.enumerated() { sqlite3_bind_int64(s, Int32(texts.count + i + 1), Int64(int)) }
            for (i, double) in doubles.enumerated() { sqlite3_bind_double(s, Int32(texts.count + ints.count + i + 1), double) }
            while true {
                switch sqlite3_step(s) {
                case SQLITE_ROW: try row(ResultRow(statement: s))
                case SQLITE_DONE: return
                default: throw failure()
                }
            }
        }

        func value(_ namespace: String, _ key: String, now: Double) throws -> Data? {
            try run(SQLiteKV.select) { s in
                sqlite3_bind_text(s, 1, namespace, -1, transient)
                sqlite3_bind_text(s, 2, key, -1, transient)
                sqlite3_bind_double(s, 3, now)
            }
        }

        func put(_ namespace: String, _ key: String, _ value: Data, expiresAt: Double?) throws {
            _ = try run(SQLiteKV.upsert) { s in
                sqlite3_bind_text(s, 1, namespace, -1, transient)
                sqlite3_bind_text(s, 2, key, -1, transient)
                _ = value.withUnsafeBytes {
                    sqlite3_bind_blob(s, 3, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32($0.count), transient)
                }
                if let expiresAt { sqlite3_bind_double(s, 4, expiresAt) } else { sqlite3_bind_null(s, 4) }
            }
        }

        func purge(now: Double) throws {
            _ = try run(SQLiteKV.purge) { s in sqlite3_bind_double(s, 1, now) }
        }

        /// A passive checkpoint: it copies what it can without waiting for readers or blocking writers.
        func checkpoint() { sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil) }

        func delete(_ namespace: String, _ key: String) throws {
            _ = try run(SQLiteKV.remove) { s in
                sqlite3_bind_text(s, 1, namespace, -1, transient)
                sqlite3_bind_text(s, 2, key, -1, transient)
            }
        }
    }
}

/// The current row of a statement being stepped, read by column position.
struct ResultRow {
    let statement: OpaquePointer

    func isNull(_ i: Int32) -> Bool { sqlite3_column_type(statement, i) == SQLITE_NULL }

    func text(_ i: Int32) -> String {
        guard let bytes = sqlite3_column_text(statement, i) else { return "" }
        return String(decoding: UnsafeBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(statement, i))), as: UTF8.self)
    }

    func optionalText(_ i: Int32) -> String? { isNull(i) ? nil : text(i) }
    func int(_ i: Int32) -> Int { Int(sqlite3_column_int64(statement, i)) }
    func double(_ i: Int32) -> Double { sqlite3_column_double(statement, i) }
    func optionalDouble(_ i: Int32) -> Double? { isNull(i) ? nil : double(i) }
}

/// SQLITE_TRANSIENT: SQLite copies what is bound, which lives only for the call.
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

struct SQLiteKVError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

extension NSCondition {
    fileprivate func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}
