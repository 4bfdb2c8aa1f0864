import AppLinksCore
import Configuration
import Foundation
import Logging
import Yams

extension DeploymentConfig {
    /// One setting as it takes effect, and where it came from.
    public struct Setting: Sendable, Hashable, Encodable {
        public var key: String
        public var value: String
        /// `config.yaml`, `environment (APPLINKS_…)`, or `default`.
        public var source: String
    }

    /// Every setting this node runs with, and its source: the environment over the file over the default.
    /// Secrets are masked: the master key, and the password of a database URL.
    public static func settings(
        home: URL, environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws
        -> [Setting]
    {
        let config = try await load(home: home, environment: environment)
        let path = home.appendingPathComponent(fileName).path
        var fileKeys: Set<String> = []
        if let text = try? String(contentsOfFile: path, encoding: .utf8), let root = (try? Yams.load(yaml: text)) as? [String: Any] {
            func walk(_ node: [String: Any], _ prefix: String) {
                for (key, value) in node {
                    let full = prefix.isEmpty ? key : "\(prefix).\(key)"
                    if knownKeys.contains(full) { fileKeys.insert(full) } else if let child = value as? [String: Any] { walk(child, full) }
                }
            }
            walk(root, "")
        }
        return knownKeys.sorted().map { key in
            let variable = "APPLINKS_" + key.uppercased().replacingOccurrences(of: ".", with: "_")
            var source = "default"
            if key == "database", let url = environment["APPLINKS_DATABASE_URL"], !url.isEmpty {
                source = "environment (APPLINKS_DATABASE_URL)"
            } else if environment[variable] != nil {
                source = "environment (\(variable))"
            } else if fileKeys.contains(key) {
                source = fileName
            }
            return Setting(key: key, value: config.display(key), source: source)
        }
    }

    /// The settings whose values differ from `other`'s: what a reload of the config changed.
    public func changedKeys(from other: DeploymentConfig) -> [String] {
        // The displayed values mask secrets, so a new database password or master key would look unchanged.
        Self.knownKeys.sorted().filter { key in
            switch key {
            case "database": database != other.database
            case "master_key": masterKeyBase64 != other.masterKeyBase64
            default: display(key) != other.display(key)
            }
        }
    }

    /// A setting's effective value as text.
    func display(_ key: String) -> String {
        func seconds(_ d: Duration) -> String {
            let s = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
            return s == s.rounded() ? String(Int(s)) : String(s)
        }
        func list(_ items: [String]) -> String { items.isEmpty ? "(none)" : items.joined(separator: ", ") }
        switch key {
        case "name": return name
        case "base_url": return baseURL
        case "listen": return listen
        case "database": return Self.maskPassword(database)
        case "master_key": return masterKeyBase64 == nil ? "(not set: the home's master.key)" : "(set, hidden)"
        case "plugins.paths": return list(pluginPaths)
        case "plugins.search_executable_directory": return String(searchExecutableDirectory)
        case "plugins.pins": return list(pluginPins.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
        case "plugins.require_pins": return String(requirePins)
        case "plugins.isolation": return list(isolatedPlugins.sorted().map { "\($0)=process" })
        case "plugins.runner": return pluginRunner ?? "(applinks-plugin-runner beside applinks)"
        case "status.timeout_seconds": return seconds(statusTimeout)
        case "status.concurrency": return String(statusConcurrency)
        case "status.interval_seconds": return seconds(statusInterval)
        case "wizard.timeout_seconds": return seconds(wizardTimeout)
        case "http.allow_private_addresses": return String(allowPrivateAddresses)
        case "testing.clock_offset_seconds": return clockOffset == clockOffset.rounded() ? String(Int(clockOffset)) : String(clockOffset)
        case "server.trusted_proxies": return list(trustedProxies.map(\.description))
        case "server.request_header_timeout_seconds": return seconds(requestHeaderTimeout)
        case "server.request_body_timeout_seconds": return seconds(requestBodyTimeout)
        case "server.max_requests_in_flight": return String(maxRequestsInFlight)
        case "server.redirect_http": return String(redirectHTTP)
        case "tls.redirect_from": return tlsRedirectFrom?.description ?? "(none)"
        case "server.probe_listen": return probeListen?.description ?? "(none: probes on the main listener)"
        case "tracing.otlp_endpoint": return tracingEndpoint.map(Self.maskPassword) ?? "(none: no traces)"
        case "tracing.service_name": return tracingServiceName
        case "tracing.sample_ratio": return String(tracingSampleRatio)
        case "log.format": return logFormat
        case "log.level": return logLevel.rawValue
        case "log.modules": return list(logModules.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.rawValue)" })
        case "tls.certificate": return tlsCertificate ?? "(none: plain HTTP)"
        case "tls.private_key": return tlsPrivateKey == nil ? "(none)" : "\(tlsPrivateKey!) (the file; its contents are not shown)"
        default:
            guard let value = linkTypeSettings[key] else { return key == "oauth2.scopes" ? "(the built-in list)" : "" }
            switch value {
            case .number(let n): return n == n.rounded() ? String(Int(n)) : String(n)
            case .bool(let b): return String(b)
            case .array(let items): return list(items.compactMap(\.stringValue))
            default: return value.stringValue ?? ""
            }
        }
    }

    /// `postgres://user:secret@host/db` shown as `postgres://user:***@host/db`.
    static func maskPassword(_ url: String) -> String {
        guard var c = URLComponents(string: url), c.password != nil else { return url }
        c.password = "***"
        return c.string ?? url
    }
}
