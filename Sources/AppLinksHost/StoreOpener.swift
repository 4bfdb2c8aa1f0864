import AppLinksStore
import Foundation
import Logging

/// Chooses a deployment's store from its `database:` setting.
///
/// The host knows one backend itself, the embedded SQLite file (`sqlite:FILE`). A server backend such as PostgreSQL
/// lives in a module of its own, and the executable, which links every backend, passes an opener that knows it:
/// the host then never depends on a database driver it may not use, and a third backend needs no change here.
public struct StoreOpener: Sendable {
    /// Opens the store a `database:` URL names, or returns nil when the URL is not this opener's.
    public typealias OpenURL = @Sendable (_ url: String, _ logger: Logger) async throws -> (any AppLinksStore)?

    let openURL: OpenURL
    /// What the embedded store measures expiry against.
    let clock: StoreClock

    public init(clock: StoreClock = .system, openURL: @escaping OpenURL) {
        self.clock = clock
        self.openURL = openURL
    }

    /// The embedded SQLite store only: for tools and tests that never use a server database.
    public static let embedded = StoreOpener { _, _ in nil }

    /// The embedded store on a clock a test moves, instead of sleeping until codes or tokens expire.
    public static func embedded(clock: StoreClock) -> StoreOpener { StoreOpener(clock: clock) { _, _ in nil } }

    func open(home: DeploymentHome, config: DeploymentConfig, logger: Logger) async throws -> any AppLinksStore {
        if let store = try await openURL(config.database, logger) { return store }
        let dbPath = try home.databasePath(config)
        if !FileManager.default.fileExists(atPath: dbPath) {
            // SQLite gives its WAL and shared-memory files the database's mode: keep all three private.
            _ = FileManager.default.createFile(atPath: dbPath, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        let store = try SQLiteStore(path: dbPath, clock: clock)
        if !store.upgradedBy.isEmpty {
            logger.notice(
                "database schema upgraded", metadata: ["database": "\(dbPath)", "applied": "\(store.upgradedBy.joined(separator: ", "))"])
        }
        return store
    }
}
