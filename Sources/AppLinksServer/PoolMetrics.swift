import AppLinksStore

/// The store's pool on `/metrics`: operations in flight against its connections, so that a pool that is too small
/// shows before requests time out waiting on it.
enum PoolMetrics {
    static func text(_ usage: PoolUsage) -> String {
        [
            "# HELP applinks_store_operations_in_flight Store operations holding a database connection or waiting for one.",
            "# TYPE applinks_store_operations_in_flight gauge",
            "applinks_store_operations_in_flight \(usage.inFlight)",
            "# HELP applinks_store_operations_in_flight_peak The most store operations in flight at once since the node started.",
            "# TYPE applinks_store_operations_in_flight_peak gauge",
            "applinks_store_operations_in_flight_peak \(usage.peak)",
            "# HELP applinks_store_pool_connections The most database connections the store's pool opens; operations beyond wait.",
            "# TYPE applinks_store_pool_connections gauge",
            "applinks_store_pool_connections \(usage.capacity)",
        ].joined(separator: "\n") + "\n"
    }
}
