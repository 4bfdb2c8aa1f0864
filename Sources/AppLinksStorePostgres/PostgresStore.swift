import AppLinksCore
import AppLinksLocking
import AppLinksStore
import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO

/// The store for clusters: several AppLinks nodes over one PostgreSQL database, through PostgresNIO's pool.
///
/// Every write that could race between nodes is one statement or one transaction with a row lock: link
/// updates compare the version, plugin data is compared and set in a single `INSERT … ON CONFLICT` or
/// `UPDATE … WHERE`, and migrations run under an advisory lock, so nodes starting together migrate once.
///
/// ```swift
/// let store = try await PostgresStore.connect(url: "postgres://applinks@db.example.com/applinks")
/// let links = try await store.links()
/// ```
public final class PostgresStore: AvailabilityReporting, PoolReporting, SharedByNodes {
    let client: PostgresClient
    let logger: Logger
    private let runner: Task<Void, Never>
    /// Where the database is, without its password, for messages.
    public let location: String
    /// How long a request waits for the database before it is told the database is away (`wait_timeout`).
    let waitTimeout: Int
    private let lostAt = Locked<Date?>(nil)
    let upgrades = Locked<[String]>([])
    /// Operations through ``observed(_:_:)`` against the pool's `pool_size` connections.
    let gauge: OperationGauge
    /// The migrations this connection applied to a database an older version had made: empty for a new database
    /// and for one already up to date.
    public var upgradedBy: [String] { upgrades.withLock { $0 } }

    /// Plugin data's expiry is measured against it.
    let clock: StoreClock
    /// Plugin-data writes, grouped into one statement when they come together.
    let puts: PutBatcher

    private init(client: PostgresClient, location: String, waitTimeout: Int, poolSize: Int, clock: StoreClock, logger: Logger) {
        self.client = client
        self.clock = clock
        gauge = OperationGauge(capacity: poolSize)
        self.location = location
        self.waitTimeout = waitTimeout
        self.logger = logger
        puts = PutBatcher { [client, logger] rows in try await client.query(try PutBatcher.upsert(rows), logger: logger) }
        // The pool's event loop runs for the store's lifetime; ``close()`` ends it.
        runner = Task { await client.run() }
    }

    /// Connects, checks the server answers, and brings the schema up to date.
    ///
    /// `schemaUpTo` stops at that migration version, to make the database of an older release in a test. `clock` is
    /// what plugin data's expiry is measured against.
    public static func connect(
        url: String, logger: Logger = Logger(label: "applinks.postgres"), schemaUpTo: Int? = nil, clock: StoreClock = .system
    ) async throws -> PostgresStore {
        let target = try PostgresURL(url)
        var config: PostgresClient.Configuration
        if let socket = target.socketPath {
            config = .init(unixSocketPath: socket, username: target.user, password: target.password, database: target.database)
        } else {
            config = .init(
                host: target.host, port: target.port, username: target.user, password: target.password, database: target.database,
                tls: target.clientTLS())
        }
        config.options.maximumConnections = target.poolSize
        config.options.connectTimeout = .seconds(Int64(target.connectTimeout))
        // The pool retries a server it cannot reach for as long as a caller waits: one direct connection first
        // turns a wrong address or a stopped server into an error at once.
        do {
            try await probe(target, logger: logger)
        } catch let slow as AppLinksError where slow.code == .timeout {
            // The server may well be running: say which step was slow, not that it is down.
            throw AppLinksError(.storage, "Cannot connect to the PostgreSQL database \(target.description): \(slow.message).", cause: slow)
        } catch {
            throw AppLinksError(
                .storage,
                "Cannot connect to the PostgreSQL database \(target.description): \(PostgresStore.describe(error)). Check that the server "
                    + "runs and accepts connections there, and that the user and database exist.", cause: error)
        }
        let store = PostgresStore(
            client: PostgresClient(configuration: config), location: target.description, waitTimeout: target.waitTimeout,
            poolSize: target.poolSize, clock: clock, logger: logger)
        do {
            try await store.migrate(upTo: schemaUpTo)
        } catch let e as PostgresTransactionError where e.closureError is AppLinksError {
            store.close()
            let newer = e.closureError as! AppLinksError
            throw AppLinksError(.storage, "Cannot use the PostgreSQL database \(target.description): \(newer.message).", cause: newer)
        } catch {
            store.close()
            throw AppLinksError(
                .storage,
                "Cannot use the PostgreSQL database \(target.description): \(PostgresStore.describe(error)). Check that the server "
                    + "runs, that the database exists and that the user may create tables in it.", cause: error)
        }
        return store
    }

    /// The database's migrations against this version's, over one connection, without migrating anything.
    public static func schemaStatus(url: String, logger: Logger = Logger(label: "applinks.postgres")) async throws -> SchemaStatus {
        let target = try PostgresURL(url)
        let config = try target.connectionConfiguration()
        var applied: [Int] = []
        do {
            let c = try await PostgresConnection.connect(configuration: config, id: 0, logger: logger)
            var exists = false
            for try await n in try await c.query("SELECT to_regclass('schema_migrations') IS NOT NULL", logger: logger).decode(Bool.self) {
                exists = n
            }
            if exists {
                for try await v in try await c.query("SELECT version FROM schema_migrations ORDER BY version", logger: logger).decode(
                    Int.self)
                {
                    applied.append(v)
                }
            }
            try await c.close()
        } catch {
            throw AppLinksError(.storage, "Cannot read the PostgreSQL database \(target.description): \(describe(error)).", cause: error)
        }
        let name = { (v: Int) in migrations.first { $0.0 == v }.map { "\(v)-\($0.1)" } ?? "\(v)" }
        let known = migrations.map(\.0)
        return SchemaStatus(
            database: target.description, applied: applied.map(name), pending: known.filter { !applied.contains($0) }.map(name),
            newer: applied.filter { !known.contains($0) }.map(name))
    }

    private static func probe(_ target: PostgresURL, logger: Logger) async throws {
        let config = try target.connectionConfiguration()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                let connection = try await PostgresConnection.connect(configuration: config, id: 0, logger: logger)
                try await connection.close()
            }
            group.addTask {
                try await Task.sleep(for: .seconds(target.connectTimeout))
                throw AppLinksError(
                    .timeout,
                    "connecting and logging in took more than \(target.connectTimeout) s (a busy or distant server may need more: "
                        + "add ?connect_timeout=SECONDS to the URL)")
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Ends the connection pool.
    public func close() { runner.cancel() }

    static func describe(_ error: any Error) -> String {
        if let e = error as? PostgresTransactionError, let inner = e.closureError ?? e.beginError ?? e.commitError {
            return describe(inner)
        }
        if let e = error as? PSQLError {
            if let message = e.serverInfo?[.message] { return message }
            switch e.code {
            case .sslUnsupported:
                return "the server does not offer TLS, which sslmode in the URL requires (sslmode=prefer allows a plain connection)"
            case .connectionError:
                // NIO's connection errors nest every attempt; the OS's reason is what an admin can act on.
                let text = e.underlying.map { "\($0)" } ?? ""
                if e.underlying is NIOSSLError || e.underlying is NIOSSLExtraError || text.contains("CERTIFICATE_VERIFY_FAILED") {
                    return "the server's TLS certificate was not accepted (\(text)); check sslrootcert, and that the certificate "
                        + "names the host"
                }
                for reason in ["Connection refused", "No such file or directory", "Network is unreachable", "timed out"]
                where text.contains(reason) {
                    return "cannot connect: \(reason.lowercased())"
                }
                return "cannot connect"
            default: return "\(e.code)"
            }
        }
        return "\(error)"
    }

    static func sqlState(_ error: any Error) -> String? {
        if let e = error as? PostgresTransactionError, let inner = e.closureError { return sqlState(inner) }
        return (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// Runs `body`, turning a database failure into a storage error that says what was being done. A `bounded`
    /// call gives up after `wait_timeout` seconds: while the database is away, a request hears so within that
    /// wait instead of queueing behind the pool's reconnection attempts.
    @discardableResult
    func run<T: Sendable>(_ what: String, bounded: Bool = true, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await observed(what) { bounded ? try await withDeadline(what, body) : try await body() }
    }

    /// ``run(_:bounded:_:)`` without the wait's bound, for work that holds a connection for long on purpose
    /// (the status sweep's lock); the database's answers still count for ``unavailableSince``.
    @discardableResult
    func observed<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do {
            let value = try await gauge.measure { try await body() }
            answered()
            return value
        } catch let e as AppLinksError {
            if e.code == .storage, e.cause is Unavailable { lost(e.message) }
            throw e
        } catch {
            // An error with an SQLSTATE is the server's answer; anything else means it could not be reached. Either
            // way the message names the database: it is what an admin reading a 503 has to go and look at.
            guard Self.sqlState(error) == nil else {
                answered()
                throw AppLinksError(
                    .storage, "\(what) failed in the PostgreSQL database \(location): \(Self.describe(error))", cause: error)
            }
            lost(Self.describe(error))
            throw AppLinksError(
                .storage,
                "\(what) failed: the PostgreSQL database \(location) could not be reached (\(Self.describe(error))). Try again shortly.",
                cause: error)
        }
    }

    public var unavailableSince: Date? { lostAt.withLock { $0 } }

    public var poolUsage: PoolUsage { gauge.usage }

    public func ping() async throws {
        try await run("Checking the database") { [self] in
            for try await _ in try await client.query("SELECT 1", logger: logger).decode(Int.self) {}
        }
    }

    /// The marker of a wait that ran out.
    struct Unavailable: Error {}

    /// Races `body` against the wait. Not a task group: a group waits for its children, and a connection attempt
    /// to a server that is away may take its full connect timeout to notice a cancellation. The loser is cancelled
    /// and left to finish in the background.
    private func withDeadline<T: Sendable>(_ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let seconds = waitTimeout
        let timeout = AppLinksError(
            .storage,
            "The PostgreSQL database \(location) did not answer within \(seconds) s (\(what.prefix(1).lowercased() + what.dropFirst())): "
                + "it is down or out of reach. Try again shortly.", cause: Unavailable())
        let work = Task { try await body() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                let done = Locked(false)
                let finish = { @Sendable (result: Result<T, any Error>) in
                    if done.withLock({ d in
                        defer { d = true }; return !d
                    }) {
                        continuation.resume(with: result)
                    }
                }
                let timer = Task {
                    try await Task.sleep(for: .seconds(seconds))
                    work.cancel()
                    finish(.failure(timeout))
                }
                Task {
                    let result = await work.result
                    timer.cancel()
                    finish(result)
                }
            }
        } onCancel: {
            work.cancel()
        }
    }

    private func lost(_ why: String) {
        let first = lostAt.withLock { at -> Bool in
            guard at == nil else { return false }
            at = Date()
            return true
        }
        if first { logger.error("database unavailable", metadata: ["database": "\(location)", "why": "\(why)"]) }
    }

    private func answered() {
        guard
            let since = lostAt.withLock({ at -> Date? in
                defer { at = nil }; return at
            })
        else { return }
        logger.notice(
            "database available again",
            metadata: ["database": "\(location)", "away_seconds": "\(Int(Date().timeIntervalSince(since).rounded()))"])
    }

    func transaction<T: Sendable>(
        _ what: String, bounded: Bool = true, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await run(what, bounded: bounded) { [self] in
            do {
                return try await client.withTransaction(logger: logger) { try await body($0) }
            } catch let e as PostgresTransactionError {
                // Our own errors (a lost version race, a missing link) come back wrapped; they mean the same outside.
                if let own = e.closureError as? AppLinksError { throw own }
                throw e
            }
        }
    }
}

extension PostgresStore: ClosableStore {}
