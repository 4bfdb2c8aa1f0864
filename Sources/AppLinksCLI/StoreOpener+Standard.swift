import AppLinksHost
import AppLinksStorePostgres
import Logging

extension StoreOpener {
    /// Every backend this executable links: `postgres://` for a cluster, else the home's SQLite file.
    static let standard = StoreOpener { url, logger in
        guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else { return nil }
        let store = try await PostgresStore.connect(url: url, logger: logger)
        if !store.upgradedBy.isEmpty {
            logger.notice(
                "database schema upgraded",
                metadata: ["database": "\(store.location)", "applied": "\(store.upgradedBy.joined(separator: ", "))"])
        }
        return store
    }
}
