import AppLinksCore
import AppLinksJSON
import Configuration
import Foundation
import Logging
import SystemPackage
import Yams

/// A deployment's settings: the home's `config.yaml`, overridden by `APPLINKS_*` environment variables
/// (the key path in upper case, `.` as `_`: `status.timeout_seconds` is `APPLINKS_STATUS_TIMEOUT_SECONDS`).
public struct DeploymentConfig: Sendable {
    public var name: String
    public var baseURL: String
    public var listen: String
    /// `sqlite:FILE` (relative to the home) is the embedded default.
    public var database: String
    /// Extra plugin files or directories, searched after the home's `plugins/` and the executable's directory.
    public var pluginPaths: [String]
    /// `id=sha256hex` pairs. A pinned link type loads only from a file with that hash.
    public var pluginPins: [String: String]
    /// When true, a plugin file whose hash is not pinned is refused before it is opened.
    public var requirePins: Bool
    /// The link types that run out of process, in a runner each (`plugins.isolation`); `*` means every one.
    public var isolatedPlugins: Set<String> = []
    /// The runner executable; nil means `applinks-plugin-runner` beside `applinks`.
    public var pluginRunner: String?
    /// Whether the executable's own directory is searched for `libAppLinksLinkType*.so`.
    public var searchExecutableDirectory: Bool
    public var statusTimeout: Duration
    public var statusConcurrency: Int
    public var statusInterval: Duration
    public var wizardTimeout: Duration
    /// For tests only: how far this instance's clock, as link types see it, is from the real one.
    public var clockOffset: TimeInterval
    /// Whether link types may reach loopback, private and link-local addresses (off: a URL an admin types, or a
    /// remote sends, cannot make this host probe its own network).
    public var allowPrivateAddresses: Bool
    /// The reverse proxies in front of this node (`server.trusted_proxies`): only from these peers does
    /// `X-Forwarded-For` name the client, for logs and login throttles. Empty: the peer is the client.
    public var trustedProxies: [AddressRange] = []
    /// `server.redirect_http`: behind a TLS proxy, a request the proxy received as plain HTTP
    /// (`X-Forwarded-Proto: http`) is sent to the same path on the base URL, which must be https.
    public var redirectHTTP = false
    /// `tls.redirect_from`: with `tls.*`, a second listener, plain HTTP, that sends every request to the same path
    /// on the base URL, so that `http://` links and typed addresses still arrive.
    public var tlsRedirectFrom: ListenAddress?
    /// `server.probe_listen`: a listener of its own, plain HTTP on its own thread, that answers only `/healthz` and
    /// `/readyz`. Point a load balancer's checks at it: when the main listener is flooded past its capacity, its
    /// probes wait behind the flood (seconds), while this one is answered at once.
    public var probeListen: ListenAddress?
    /// How long a client may take to send a request's head (`server.request_header_timeout_seconds`), counted
    /// from the connection's start or the previous response; and its body, from the head
    /// (`server.request_body_timeout_seconds`). A slower client is dropped, so slow senders cannot hold the server.
    public var requestHeaderTimeout: Duration = .seconds(20)
    public var requestBodyTimeout: Duration = .seconds(60)
    /// Requests the node works on at once (`server.max_requests_in_flight`); more are answered 503 with
    /// `Retry-After` at once, so that overload sheds instead of queueing without bound. Probes are never refused.
    public var maxRequestsInFlight = 1024
    /// The master key, base64, when it comes from the environment rather than the home's `master.key`.
    public var masterKeyBase64: String?
    /// The OAuth 2.0 provider's settings, handed to link types as they are (see ``InstanceInfo/settings``).
    public var linkTypeSettings: [String: JSONValue] = [:]
    /// `log.level`, and `log.modules` (`Module=level` entries) for modules that log at another threshold.
    public var logLevel: Logger.Level = .info
    public var logModules: [String: Logger.Level] = [:]
    /// `tls.certificate` and `tls.private_key`: PEM files (relative to the home, or absolute). With both, `serve`
    /// speaks HTTPS only; `SIGHUP` reloads them.
    public var tlsCertificate: String?
    public var tlsPrivateKey: String?
    /// `log.format`: `text`, for people, or `json`, one object per line for a log shipper (`JSONLogHandler` in AppLinksLogging).
    public var logFormat = "text"
    /// `tracing.otlp_endpoint`: the OpenTelemetry collector's OTLP/HTTP base URL (spans go to `/v1/traces` under
    /// it). Nil, the default, means no traces are made at all.
    public var tracingEndpoint: String?
    /// `tracing.service_name`, the `service.name` the spans carry.
    public var tracingServiceName = "applinks"
    /// `tracing.sample_ratio`: the share of traces this node starts that are recorded; a trace a caller started
    /// follows the caller's decision.
    public var tracingSampleRatio = 1.0

    public static let fileName = "config.yaml"

    /// Reads `config.yaml` in `home`, then the environment on top.
    public static func load(home: URL, environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> DeploymentConfig
    {
        let path = home.appendingPathComponent(fileName).path
        let file: FileProvider<YAMLSnapshot>
        do {
            file = try await FileProvider<YAMLSnapshot>(filePath: FilePath(path), allowMissing: false)
        } catch {
            throw AppLinksError(
                .config,
                "Cannot read \(path): \(error). Fix the YAML, or move the file away and run "
                    + "`applinks init --home \(home.path)` to write a fresh one.", cause: error)
        }
        try checkKeys(path)
        let env = EnvironmentVariablesProvider(environmentVariables: environment, secretsSpecifier: .specific(["APPLINKS_MASTER_KEY"]))
            .prefixKeys(with: "applinks")
        let reader = ConfigReader(providers: [env, file])
        var config = try DeploymentConfig(reader: reader)
        // The name PostgreSQL deployments conventionally use, beside APPLINKS_DATABASE.
        if let url = environment["APPLINKS_DATABASE_URL"], !url.isEmpty { config.database = url }
        return config
    }

    /// Every key the file may hold. A key outside this set is a typo, and silently ignoring it would leave the
    /// admin wondering why a setting has no effect.
    public static let knownKeys: Set<String> = [
        "name", "base_url", "listen", "database", "master_key",
        "plugins.paths", "plugins.search_executable_directory", "plugins.pins", "plugins.require_pins",
        "plugins.isolation", "plugins.runner",
        "status.timeout_seconds", "status.concurrency", "status.interval_seconds", "wizard.timeout_seconds",
        "http.allow_private_addresses", "testing.clock_offset_seconds", "server.trusted_proxies",
        "server.request_header_timeout_seconds", "server.request_body_timeout_seconds", "server.max_requests_in_flight",
        "oauth2.code_lifetime_seconds", "oauth2.access_token_lifetime_seconds", "oauth2.refresh_token_lifetime_seconds",
        "oauth2.require_pkce", "oauth2.allow_viewing_secrets", "oauth2.scopes", "log.format", "log.level", "log.modules", "tls.certificate",
        "tls.private_key", "tls.redirect_from", "server.probe_listen", "server.redirect_http", "tracing.otlp_endpoint",
        "tracing.service_name",
        "tracing.sample_ratio",
    ]

    static func checkKeys(_ path: String) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
            let root = (try? Yams.load(yaml: text)) as? [String: Any]
        else { return }  // unreadable or not a mapping: the file provider reports it
        var unknown: [String] = []
        func walk(_ node: [String: Any], _ prefix: String) {
            for (key, value) in node {
                let full = prefix.isEmpty ? key : "\(prefix).\(key)"
                if let child = value as? [String: Any], !knownKeys.contains(full) {
                    if knownKeys.contains(where: { $0.hasPrefix(full + ".") }) { walk(child, full) } else { unknown.append(full) }
                } else if !knownKeys.contains(full) {
                    unknown.append(full)
                }
            }
        }
        walk(root, "")
        if !unknown.isEmpty {
            throw AppLinksError(
                .config,
                "\(path) has unknown key(s): \(unknown.sorted().joined(separator: ", ")). Known keys: "
                    + knownKeys.sorted().joined(separator: ", ") + ".")
        }
    }

    init(reader r: ConfigReader) throws {
        name = r.string(forKey: "name", default: "AppLinks")
        baseURL = r.string(forKey: "base_url", default: "http://127.0.0.1:8080")
        listen = r.string(forKey: "listen", default: "127.0.0.1:8080")
        database = r.string(forKey: "database", default: "sqlite:applinks.db")
        pluginPaths = r.stringArray(forKey: "plugins.paths", default: [])
        requirePins = try Self.typed("plugins.require_pins", "true or false", default: false) { try r.requiredBool(forKey: $0) }
        searchExecutableDirectory = try Self.typed("plugins.search_executable_directory", "true or false", default: true) {
            try r.requiredBool(forKey: $0)
        }
        var pins: [String: String] = [:]
        for entry in r.stringArray(forKey: "plugins.pins", default: []) {
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, LinkTypeDescriptor.isValidID(parts[0]), parts[1].wholeMatch(of: /[0-9a-fA-F]{64}/) != nil else {
                throw AppLinksError(
                    .config,
                    "plugins.pins entry '\(entry)' is not ID=SHA256 (a link-type id, '=', 64 hex digits). "
                        + "Get the hash with `sha256sum FILE`.")
            }
            pins[parts[0]] = parts[1].lowercased()
        }
        pluginPins = pins
        for entry in r.stringArray(forKey: "plugins.isolation", default: []) {
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, parts[0] == "*" || LinkTypeDescriptor.isValidID(parts[0]), ["process", "in-process"].contains(parts[1])
            else {
                throw AppLinksError(
                    .config,
                    "plugins.isolation entry '\(entry)' is not ID=process or ID=in-process (a link-type id or *, '=', the mode), "
                        + "such as jenkins=process.")
            }
            if parts[1] == "process" { isolatedPlugins.insert(parts[0]) } else { isolatedPlugins.remove(parts[0]) }
        }
        pluginRunner = r.string(forKey: "plugins.runner")
        let timeout = try Self.typed("status.timeout_seconds", "a number of seconds", default: 10) { try r.requiredDouble(forKey: $0) }
        let concurrency = try Self.typed("status.concurrency", "a whole number", default: 8) { try r.requiredInt(forKey: $0) }
        let interval = try Self.typed("status.interval_seconds", "a number of seconds", default: 600) { try r.requiredDouble(forKey: $0) }
        let wizard = try Self.typed("wizard.timeout_seconds", "a number of seconds", default: 300) { try r.requiredDouble(forKey: $0) }
        guard timeout > 0, concurrency > 0, interval > 0, wizard > 0 else {
            throw AppLinksError(
                .config,
                "status.timeout_seconds, status.concurrency, status.interval_seconds and "
                    + "wizard.timeout_seconds must be positive.")
        }
        statusTimeout = .milliseconds(Int64(timeout * 1000))
        statusConcurrency = concurrency
        statusInterval = .milliseconds(Int64(interval * 1000))
        wizardTimeout = .milliseconds(Int64(wizard * 1000))
        allowPrivateAddresses = try Self.typed("http.allow_private_addresses", "true or false", default: false) {
            try r.requiredBool(forKey: $0)
        }
        trustedProxies = try r.stringArray(forKey: "server.trusted_proxies", default: []).map(AddressRange.init)
        let headerSeconds = try Self.typed("server.request_header_timeout_seconds", "a number of seconds", default: 20) {
            try r.requiredDouble(forKey: $0)
        }
        let bodySeconds = try Self.typed("server.request_body_timeout_seconds", "a number of seconds", default: 60) {
            try r.requiredDouble(forKey: $0)
        }
        guard headerSeconds > 0, bodySeconds > 0 else {
            throw AppLinksError(.config, "server.request_header_timeout_seconds and server.request_body_timeout_seconds must be positive.")
        }
        maxRequestsInFlight = try Self.typed("server.max_requests_in_flight", "a whole number", default: 1024) {
            try r.requiredInt(forKey: $0)
        }
        guard maxRequestsInFlight > 0 else { throw AppLinksError(.config, "server.max_requests_in_flight must be at least 1.") }
        requestHeaderTimeout = .milliseconds(Int64(headerSeconds * 1000))
        requestBodyTimeout = .milliseconds(Int64(bodySeconds * 1000))
        clockOffset = try Self.typed("testing.clock_offset_seconds", "a number of seconds", default: 0) { try r.requiredDouble(forKey: $0) }
        masterKeyBase64 = r.string(forKey: "master_key", isSecret: true)
        logFormat = r.string(forKey: "log.format", default: "text")
        let levelNames = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
        let level = r.string(forKey: "log.level", default: "info")
        guard let parsedLevel = Logger.Level(rawValue: level) else {
            throw AppLinksError(.config, "log.level '\(level)' is not one of \(levelNames).")
        }
        logLevel = parsedLevel
        for entry in r.stringArray(forKey: "log.modules", default: []) {
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, let moduleLevel = Logger.Level(rawValue: parts[1]) else {
                throw AppLinksError(
                    .config, "log.modules entry '\(entry)' is not MODULE=LEVEL (such as AppLinksServer=warning); levels are \(levelNames).")
            }
            logModules[parts[0]] = moduleLevel
        }
        tlsCertificate = r.string(forKey: "tls.certificate").flatMap { $0.isEmpty ? nil : $0 }
        tlsPrivateKey = r.string(forKey: "tls.private_key").flatMap { $0.isEmpty ? nil : $0 }
        guard (tlsCertificate == nil) == (tlsPrivateKey == nil) else {
            throw AppLinksError(.config, "tls.certificate and tls.private_key go together: give both PEM files, or neither.")
        }
        redirectHTTP = try Self.typed("server.redirect_http", "true or false", default: false) { try r.requiredBool(forKey: $0) }
        if let probes = r.string(forKey: "server.probe_listen"), !probes.isEmpty {
            do { probeListen = try ListenAddress(probes) } catch {
                throw AppLinksError(.config, "server.probe_listen '\(probes)' is not HOST:PORT, such as 127.0.0.1:8081.")
            }
        }
        if let from = r.string(forKey: "tls.redirect_from"), !from.isEmpty {
            guard tlsCertificate != nil else {
                throw AppLinksError(.config, "tls.redirect_from needs tls.certificate and tls.private_key: it sends plain HTTP to HTTPS.")
            }
            do { tlsRedirectFrom = try ListenAddress(from) } catch {
                throw AppLinksError(.config, "tls.redirect_from '\(from)' is not HOST:PORT, such as 0.0.0.0:80.")
            }
        }
        if redirectHTTP, trustedProxies.isEmpty {
            throw AppLinksError(
                .config,
                "server.redirect_http needs server.trusted_proxies: only a trusted proxy's X-Forwarded-Proto says a request came over plain HTTP."
            )
        }
        if redirectHTTP || tlsRedirectFrom != nil, !baseURL.lowercased().hasPrefix("https://") {
            throw AppLinksError(
                .config,
                "server.redirect_http and tls.redirect_from send requests to the base URL, so base_url must be https, not \(baseURL).")
        }
        if let endpoint = r.string(forKey: "tracing.otlp_endpoint"), !endpoint.isEmpty {
            guard let url = URL(string: endpoint), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host?.isEmpty == false,
                url.query == nil
            else {
                throw AppLinksError(
                    .config,
                    "tracing.otlp_endpoint '\(Self.maskPassword(endpoint))' is not the http:// or https:// base URL of an OTLP/HTTP "
                        + "collector, such as http://127.0.0.1:4318.")
            }
            tracingEndpoint = endpoint
        }
        tracingServiceName = r.string(forKey: "tracing.service_name", default: "applinks")
        guard !tracingServiceName.isEmpty else { throw AppLinksError(.config, "tracing.service_name must not be empty.") }
        tracingSampleRatio = try Self.typed("tracing.sample_ratio", "a number from 0 to 1", default: 1) { try r.requiredDouble(forKey: $0) }
        guard (0...1).contains(tracingSampleRatio) else {
            throw AppLinksError(.config, "tracing.sample_ratio must be from 0 (no trace) to 1 (every trace), not \(tracingSampleRatio).")
        }
        guard ["text", "json"].contains(logFormat) else {
            throw AppLinksError(.config, "log.format must be text or json, not '\(logFormat)'.")
        }
        let code = try Self.typed("oauth2.code_lifetime_seconds", "a whole number of seconds", default: 60) {
            try r.requiredInt(forKey: $0)
        }
        guard (1...600).contains(code) else {
            throw AppLinksError(.config, "oauth2.code_lifetime_seconds must be between 1 and 600 (RFC 6749 recommends at most 600).")
        }
        let access = try Self.typed("oauth2.access_token_lifetime_seconds", "a whole number of seconds", default: 3600) {
            try r.requiredInt(forKey: $0)
        }
        let refresh = try Self.typed("oauth2.refresh_token_lifetime_seconds", "a whole number of seconds", default: 90 * 86400) {
            try r.requiredInt(forKey: $0)
        }
        guard access > 0, refresh > 0 else {
            throw AppLinksError(.config, "oauth2.access_token_lifetime_seconds and oauth2.refresh_token_lifetime_seconds must be positive.")
        }
        linkTypeSettings = [
            "oauth2.code_lifetime_seconds": .number(Double(code)),
            "oauth2.access_token_lifetime_seconds": .number(Double(access)),
            "oauth2.refresh_token_lifetime_seconds": .number(Double(refresh)),
            "oauth2.require_pkce": .bool(
                try Self.typed("oauth2.require_pkce", "true or false", default: false) { try r.requiredBool(forKey: $0) }),
            "oauth2.allow_viewing_secrets": .bool(
                try Self.typed("oauth2.allow_viewing_secrets", "true or false", default: true) { try r.requiredBool(forKey: $0) }),
        ]
        let scopes = r.stringArray(forKey: "oauth2.scopes", default: [])
        if !scopes.isEmpty {
            guard
                scopes.allSatisfy({
                    !$0.isEmpty && $0.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F && $0 != "\\" && $0 != "\"" }
                })
            else {
                throw AppLinksError(.config, "oauth2.scopes must be scope names without spaces, quotes or backslashes (RFC 6749 §3.3).")
            }
            linkTypeSettings["oauth2.scopes"] = .array(scopes.map(JSONValue.string))
        }
        guard URL(string: baseURL)?.scheme.map({ ["http", "https"].contains($0) }) == true else {
            throw AppLinksError(.config, "base_url '\(baseURL)' must be an http:// or https:// URL, such as https://applinks.example.com.")
        }
    }

    /// Reads a typed value: absent gives the default, present but not convertible is an error that names the key.
    static func typed<T>(_ key: String, _ expected: String, default value: T, _ read: (ConfigKey) throws -> T) throws -> T {
        do {
            return try read(ConfigKey(key))
        } catch {
            // swift-configuration's error type is not public; its description tells a missing key from a bad value.
            if "\(error)".hasPrefix("Missing required config value") { return value }
            let env = "APPLINKS_" + key.uppercased().replacingOccurrences(of: ".", with: "_")
            throw AppLinksError(.config, "\(key) (in config.yaml or \(env)) must be \(expected).", cause: error)
        }
    }
}
