import AppLinksHost
import AppLinksStore

/// `/metrics` lines for the link types: calls by function and outcome, their latency as a histogram, and runner
/// restarts. Read from each plugin's ``PluginCallStats`` when scraped, in Prometheus' text format.
enum PluginMetrics {
    static func text(_ plugins: [LoadedPlugin]) -> String {
        let plugins = plugins.sorted { $0.id < $1.id }
        var calls = [
            "# HELP applinks_plugin_calls_total Calls into link types, by function and outcome.",
            "# TYPE applinks_plugin_calls_total counter",
        ]
        var durations = [
            "# HELP applinks_plugin_call_duration_seconds How long calls into link types took.",
            "# TYPE applinks_plugin_call_duration_seconds histogram",
        ]
        var restarts = [
            "# HELP applinks_plugin_runner_restarts_total Runner processes of isolated link types started again after one ended.",
            "# TYPE applinks_plugin_runner_restarts_total counter",
        ]
        for plugin in plugins {
            let type = "link_type=\"\(escape(plugin.id))\""
            for (function, c) in plugin.stats.calls.sorted(by: { $0.key < $1.key }) {
                let labels = "\(type),function=\"\(escape(function))\""
                calls.append("applinks_plugin_calls_total{\(labels),outcome=\"ok\"} \(c.count - c.failures)")
                calls.append("applinks_plugin_calls_total{\(labels),outcome=\"failed\"} \(c.failures)")
                for (bound, n) in zip(PluginCallStats.buckets, c.atMost) {
                    durations.append("applinks_plugin_call_duration_seconds_bucket{\(labels),le=\"\(bound)\"} \(n)")
                }
                durations.append("applinks_plugin_call_duration_seconds_bucket{\(labels),le=\"+Inf\"} \(c.count)")
                durations.append("applinks_plugin_call_duration_seconds_sum{\(labels)} \(c.seconds)")
                durations.append("applinks_plugin_call_duration_seconds_count{\(labels)} \(c.count)")
            }
            if plugin.isolated { restarts.append("applinks_plugin_runner_restarts_total{\(type)} \(plugin.stats.runnerRestarts)") }
        }
        return (calls + durations + restarts).joined(separator: "\n") + "\n"
    }

    /// A label value as the text format wants it: backslash, quote and newline escaped.
    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}

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
