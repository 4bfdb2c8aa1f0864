import AppLinksCore
import AppLinksHost
import AppLinksPluginRuntime

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
        TextEscaping.replacing(value) {
            switch $0 {
            case "\\": "\\\\"
            case "\"": "\\\""
            case "\n": "\\n"
            default: nil
            }
        }
    }
}
