import AppLinksCore
import AppLinksCrypto
import AppLinksJSON
import AppLinksLocking
import AppLinksPluginIPC
import AppLinksPluginRuntime
import AppLinksStore
import Foundation
import Logging

/// One open deployment: its config, store, identity and loaded link types. The CLI builds one per command
/// and `applinks serve` one per process, with the same ``open(home:environment:logger:actor:)``.
public final class Deployment: Sendable {
    public static let version = "0.1.0"

    public let home: DeploymentHome
    public let config: DeploymentConfig
    public let store: any AppLinksStore
    public let sealer: SecretSealer
    public let identity: InstanceIdentity
    public let logger: Logger
    /// Who is acting, for the audit log: the OS user for the CLI, the logged-in user for the server.
    public let actor: String
    /// Every valid link type found, enabled or not, by id.
    let availablePlugins: [String: LoadedPlugin]
    private let loadRecords: [PluginRecord]
    /// Per-deployment enablement, refreshed from the store by ``refreshLinkTypeStates()``, so that a running
    /// server follows `applinks plugins enable|disable` without a restart.
    private let runtime: RuntimeState

    /// Every valid link type, enabled or not: the server declares all their routes at start and answers 404 for
    /// a disabled one's.
    public var availablePluginsForRouting: [LoadedPlugin] { availablePlugins.values.sorted { $0.id < $1.id } }

    /// The store's plugin-data and link reads on the calling thread, when it has them (SQLite does). Plugins'
    /// host calls use them, and routes declared inline need them to run on the request's thread.
    let blockingStore: (any BlockingPluginDataStore & BlockingLinkReader)?

    /// Answers a request to one of `plugin`'s routes: on the request's thread when the route is declared inline
    /// and the store answers plugins' calls on the calling thread (see ``blockingStore``), else on a plugin thread.
    public func answer(
        _ request: PluginHTTPRequest, route: LinkTypeDescriptor.Route, of plugin: LoadedPlugin, timeout: Duration?
    ) async throws -> PluginHTTPResponse {
        try await plugin.handleHTTP(request, inline: route.inline && blockingStore != nil, timeout: timeout)
    }

    /// Loaded and enabled link types, by id.
    public var plugins: [String: LoadedPlugin] {
        let states = runtime.enabledStates.withLock { $0 }
        return availablePlugins.filter { states[$0.key] ?? true }
    }

    /// Which link types are enabled or disabled in the store, by id; a type it does not name is enabled. What the
    /// server made from ``plugins`` (the manifest) is still right while this is unchanged.
    public var linkTypeStates: [String: Bool] { runtime.enabledStates.withLock { $0 } }

    /// The loaded plugin of a link type if it is enabled: one lookup, without building ``plugins``.
    public func enabledPlugin(_ id: String) -> LoadedPlugin? {
        guard let plugin = availablePlugins[id], runtime.enabledStates.withLock({ $0[id] ?? true }) else { return nil }
        return plugin
    }

    /// Every plugin file the loader looked at, with its current enablement.
    public var pluginRecords: [PluginRecord] {
        let states = runtime.enabledStates.withLock { $0 }
        return loadRecords.map { r in
            guard let id = r.id, r.state != .refused else { return r }
            var r = r
            r.enabled = states[id] ?? true
            r.state = r.enabled ? .loaded : .disabled
            return r
        }
    }

    /// Re-reads which link types are enabled. Returns true if anything changed.
    @discardableResult
    public func refreshLinkTypeStates() async throws -> Bool {
        let states = try await store.linkTypeStates()
        return runtime.enabledStates.withLock { current in
            defer { current = states }
            return current != states
        }
    }
    /// Status checks right after a change; see ``StatusFollowUps``.
    public var followUps: StatusFollowUps { runtime.followUps }

    var http: HTTPService { HTTPService(allowPrivateAddresses: config.allowPrivateAddresses) }

    /// State every view of one deployment shares (see ``acting(as:)``).
    final class RuntimeState: Sendable {
        let enabledStates: Locked<[String: Bool]>
        let privateKey = Locked<RSAKey?>(nil)
        let followUps = StatusFollowUps()
        /// Whether opening this deployment created its identity: false when a new home joined an existing database.
        let identityCreated: Bool
        init(states: [String: Bool], identityCreated: Bool) {
            enabledStates = Locked(states)
            self.identityCreated = identityCreated
        }
    }

    private init(
        home: DeploymentHome, config: DeploymentConfig, store: any AppLinksStore, sealer: SecretSealer, identity: InstanceIdentity,
        logger: Logger, actor: String, plugins: [String: LoadedPlugin], records: [PluginRecord], runtime: RuntimeState
    ) {
        self.home = home
        self.config = config
        self.store = store
        self.blockingStore = (store as any PluginDataStore) as? any BlockingPluginDataStore & BlockingLinkReader
        self.sealer = sealer
        self.identity = identity
        self.logger = logger
        self.actor = actor
        self.availablePlugins = plugins
        self.loadRecords = records
        self.runtime = runtime
    }

    /// The same deployment, recording `actor` in the audit log: the server gives each request the identity of
    /// its authenticated user.
    public func acting(as actor: String) -> Deployment {
        Deployment(
            home: home, config: config, store: store, sealer: sealer, identity: identity, logger: logger, actor: actor,
            plugins: availablePlugins, records: loadRecords, runtime: runtime)
    }

    public static var defaultActor: String {
        ProcessInfo.processInfo.environment["USER"].map { "cli:\($0)" } ?? "cli:uid\(getuid())"
    }

    /// Opens an existing deployment. Fails with the fix if `home` was never initialised.
    ///
    /// `stores` chooses the store from the `database:` setting; the executable passes one that knows every backend
    /// it links.
    public static func open(
        home: DeploymentHome, stores: StoreOpener, environment: [String: String] = ProcessInfo.processInfo.environment,
        logger: Logger = Logger(label: "applinks"), actor: String = Deployment.defaultActor
    ) async throws -> Deployment {
        try home.requireExisting()
        let config = try await DeploymentConfig.load(home: home.url, environment: environment)
        let sealer = try SecretSealer(masterKey: try home.masterKey(config))
        let store = try await stores.open(home: home, config: config, logger: logger)
        let (identity, identityCreated) = try await ensureIdentity(store: store, sealer: sealer)
        // A node with another key would read every sealed secret as damaged, and its sweep would mark every link
        // UNKNOWN for all nodes: it is refused before it does anything.
        do {
            _ = try sealer.open(identity.sealedPrivateKey, context: "instance:private_key")
        } catch {
            store.close()
            throw AppLinksError(
                .config,
                "The master key does not open this deployment's sealed instance key: it is not the key the deployment was "
                    + "created with (application id \(identity.applicationID)). Give that key (\(config.masterKeyBase64 != nil ? "APPLINKS_MASTER_KEY" : home.masterKeyFile.path)); "
                    + "every node of a cluster needs the same one. Nothing was changed.", cause: error)
        }
        var paths = [home.pluginDirectory]
        for p in config.pluginPaths {
            paths.append(URL(fileURLWithPath: p, relativeTo: home.url).standardizedFileURL)
        }
        let loader = PluginLoader(
            searchPaths: paths,
            executableDirectory: config.searchExecutableDirectory ? PluginLoader.currentExecutableDirectory : nil,
            // Pins in config.yaml win over those `applinks plugins install` recorded.
            pins: home.installedPins().merging(config.pluginPins) { _, configured in configured }, requirePins: config.requirePins,
            isolated: config.isolatedPlugins, runnerPath: config.pluginRunner, hashes: PluginHashCache(url: home.pluginHashCacheFile),
            logger: logger)
        let states = try await store.linkTypeStates()
        let (loaded, records) = loader.loadAll(enabled: states)
        let host = Deployment(
            home: home, config: config, store: store, sealer: sealer, identity: identity, logger: logger, actor: actor,
            plugins: Dictionary(uniqueKeysWithValues: loaded.map { ($0.id, $0) }), records: records,
            runtime: RuntimeState(states: states, identityCreated: identityCreated))
        for p in loaded { p.attach(HostAPIContext(HostServices(pluginID: p.id, host: host))) }
        return host
    }

    /// Creates the home (config, master key, database, identity) if it does not exist, then opens it.
    /// Returns whether it created anything.
    public static func initialize(
        home: DeploymentHome, stores: StoreOpener, name: String, baseURL: String, listen: String,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        logger: Logger = Logger(label: "applinks"), actor: String = Deployment.defaultActor
    ) async throws -> (Deployment, Bool) {
        guard let url = URL(string: baseURL), ["http", "https"].contains(url.scheme ?? ""), url.host?.isEmpty == false else {
            throw AppLinksError(
                .invalidInput, "--base-url '\(baseURL)' must be an absolute http:// or https:// URL, such as https://applinks.example.com.")
        }
        _ = try ListenAddress(listen)
        let created = try home.create(
            name: name, baseURL: baseURL, listen: listen,
            masterKeyFromEnvironment: environment["APPLINKS_MASTER_KEY"] != nil)
        let host = try await open(home: home, stores: stores, environment: environment, logger: logger, actor: actor)
        if created {
            try await host.audit(
                "init",
                detail: ["name": .string(name), "base_url": .string(baseURL), "application_id": .string(host.identity.applicationID)])
        }
        return (host, created)
    }

    private static func ensureIdentity(store: any AppLinksStore, sealer: SecretSealer) async throws -> (InstanceIdentity, Bool) {
        if let id = try await store.instanceIdentity() { return (id, false) }
        let key = try RSAKey.generate(bits: 2048)
        let appID = UUID().uuidString.lowercased()
        let sealed = try sealer.sealString(try key.privateKeyPEM(), context: "instance:private_key")
        let made = try await store.initializeInstanceIdentity(
            InstanceIdentity(applicationID: appID, publicKeyPEM: try key.publicKeyPEM(), sealedPrivateKey: sealed))
        // Another node may have won the race to create it.
        return (made, made.applicationID == appID)
    }

    /// Whether this home joined a deployment that already existed in a shared database, rather than creating it.
    public var joinedExistingDeployment: Bool { !runtime.identityCreated }

    static let sharedNamespace = "host.deployment"

    /// The public base URL and name the deployment's first node recorded in the shared database: one for the whole
    /// cluster, because it is the OAuth issuer and the name remotes see, and a client that found one node must
    /// find the same on every other.
    public func sharedIdentity() async throws -> (baseURL: String, name: String) {
        func claim(_ key: String, _ mine: String) async throws -> String {
            _ = try await store.compareAndSet(
                namespace: Self.sharedNamespace, key: key, expected: nil, replacement: Data(mine.utf8), ttl: nil)
            return try await store.value(namespace: Self.sharedNamespace, key: key).map { String(decoding: $0, as: UTF8.self) } ?? mine
        }
        return (try await claim("base_url", Self.normalizedBaseURL(config.baseURL)), try await claim("name", config.name))
    }

    static func normalizedBaseURL(_ url: String) -> String { url.hasSuffix("/") ? String(url.dropLast()) : url }

    /// Refuses to serve a node whose base URL is not the cluster's. On an embedded SQLite home there is one node,
    /// whose config is the truth: a changed base URL is recorded instead.
    /// Returns the deployment's shared base URL and name.
    @discardableResult
    public func requireSharedBaseURL() async throws -> (baseURL: String, name: String) {
        let mine = Self.normalizedBaseURL(config.baseURL)
        let shared = try await sharedIdentity()
        guard shared.baseURL != mine else { return shared }
        guard store is any SharedByNodes else {
            try await store.put(namespace: Self.sharedNamespace, key: "base_url", value: Data(mine.utf8), ttl: nil)
            return (mine, shared.name)
        }
        throw AppLinksError(
            .conflict,
            "This node's base_url is \(mine), but the deployment's is \(shared.baseURL). Every node of a cluster gives the same "
                + "public base URL (it is the OAuth issuer remotes check), each with its own listen address: set base_url: "
                + "\(shared.baseURL) in \(home.configFile.path) (or APPLINKS_BASE_URL), and put the nodes behind one address.")
    }

    /// The instance's private key, opened on first use.
    func instanceKey() throws -> RSAKey {
        try runtime.privateKey.withLock { k in
            if let k { return k }
            let key = try RSAKey(privateKeyPEM: try sealer.openString(identity.sealedPrivateKey, context: "instance:private_key"))
            k = key
            return key
        }
    }

    public var instanceInfo: InstanceInfo {
        InstanceInfo(
            id: identity.applicationID, name: config.name, version: Deployment.version, baseURL: config.baseURL,
            publicKeyPEM: identity.publicKeyPEM, now: Date().addingTimeInterval(config.clockOffset),
            settings: config.linkTypeSettings)
    }

    /// Stops every started plugin. Call once, when the process is about to exit.
    public func shutdown() async {
        // A plugin's shutdown may block like any other call into it, so it runs on the blocking pool.
        for p in availablePlugins.values { _ = try? await BlockingThreadPool.shared.run { p.shutdown() } }
        store.close()
    }

    func audit(_ action: String, link: Link? = nil, detail: [String: JSONValue] = [:]) async throws {
        try await store.appendAudit(AuditEvent(actor: actor, action: action, linkID: link?.id, linkType: link?.type, detail: detail))
    }
}

/// A `HOST:PORT` to listen on.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init(_ text: String) throws {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port),
            colon > text.startIndex
        else {
            throw AppLinksError(.invalidInput, "'\(text)' is not HOST:PORT, such as 127.0.0.1:8080 or 0.0.0.0:443.")
        }
        host = String(text[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        self.port = port
    }

    public var description: String { "\(host):\(port)" }
}
