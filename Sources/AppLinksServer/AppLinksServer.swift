import AppLinksCore
import AppLinksHost
import AppLinksLogging
import AppLinksPluginRuntime
import AppLinksStore
import AppLinksTracing
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import ServiceLifecycle

/// Builds the HTTP application of a deployment. `applinks serve` and the tests call this same function.
///
/// ```swift
/// let app = try buildApplication(deployment: deployment, listen: ListenAddress("127.0.0.1:8080"))
/// try await app.runService()   // until SIGTERM or SIGINT, letting in-flight requests finish
/// ```
public func buildApplication(
    deployment: Deployment, listen: ListenAddress, logger: Logger = Logger(label: "applinks.server"),
    metrics: ServerMetrics = ServerMetrics(), logThresholds: LogThresholds? = nil, telemetry: (any Service)? = nil,
    onRunning: @escaping @Sendable (ListenAddress) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    try ListenPreflight.check(listen, setting: "--listen", fix: "Pick another with --listen HOST:PORT (or listen: in config.yaml).")
    if let probes = deployment.config.probeListen {
        try ListenPreflight.check(probes, setting: "server.probe_listen", fix: "Pick another HOST:PORT for server.probe_listen.")
    }
    if let from = deployment.config.tlsRedirectFrom {
        try ListenPreflight.check(from, setting: "tls.redirect_from", fix: "Pick another HOST:PORT for tls.redirect_from.")
    }
    // Requests answer at once; the status of a link they changed is checked just after, in the background.
    deployment.followUps.queueFromNowOn()
    let templates = try WebTemplates.loaded.get()
    let router = Router(context: AppRequestContext.self)
    if TraceSpans.enabled { router.add(middleware: TraceExport.middleware()) }
    if !deployment.config.trustedProxies.isEmpty {
        router.add(middleware: ForwardedClientMiddleware(trusted: deployment.config.trustedProxies))
    }
    if deployment.config.redirectHTTP {
        router.add(middleware: HTTPSRedirectMiddleware(baseURL: deployment.config.baseURL, always: false))
    }
    router.add(middleware: AccessLogMiddleware(metrics: metrics))
    router.add(middleware: InFlightLimitMiddleware(limit: deployment.config.maxRequestsInFlight))
    router.add(middleware: StoreErrorMiddleware())

    Probes.register(on: router, deployment: deployment)

    router.get("/metrics") { _, _ -> Response in
        metrics.linkStatuses(try await deployment.store.links())
        return HTTPReply.text(
            metrics.registry.emitToString() + PluginMetrics.text(Array(deployment.availablePluginsForRouting))
                + ((deployment.store as? any PoolReporting).map { PoolMetrics.text($0.poolUsage) } ?? ""),
            type: "text/plain; version=0.0.4; charset=utf-8")
    }

    StatusAPI.register(on: router, deployment: deployment)
    let manifest = ManifestCache(deployment: deployment)
    router.get("/rest/applinks/1.0/manifest") { request, _ -> Response in manifest.response(for: request) }

    AdminAPI.register(on: router, deployment: deployment)
    LoginRoutes.register(on: router, deployment: deployment)
    AccountRoutes.register(on: router, deployment: deployment)
    AdminPages.register(on: router, deployment: deployment, templates: templates)

    // Every route a valid plugin declares; enablement is checked per request.
    var claimed: [String: String] = [:]
    for plugin in deployment.availablePluginsForRouting {
        for route in plugin.descriptor.routes {
            let key = "\(route.method) \(route.path)"
            if let owner = claimed[key] {
                logger.error(
                    "route claimed twice; the first plugin keeps it",
                    metadata: ["route": "\(key)", "kept": "\(owner)", "refused": "\(plugin.id)"])
                continue
            }
            claimed[key] = plugin.id
            let responder = PluginRouteResponder(deployment: deployment, pluginID: plugin.id, route: route)
            router.on(RouterPath(route.path), method: HTTPRequest.Method(route.method)!) { request, context in
                try await responder.respond(request, context)
            }
        }
    }

    let (headerTimeout, bodyTimeout) = (
        TimeAmount(deployment.config.requestHeaderTimeout), TimeAmount(deployment.config.requestBodyTimeout)
    )
    let http1 = HTTPServerBuilder.http1(
        configuration: .init(additionalChannelHandlers: [RequestDeadlineHandler(headerTimeout: headerTimeout, bodyTimeout: bodyTimeout)]))
    let certificates = try tlsCertificates(deployment)
    var services: [any Service] = [
        LinkTypeWatcher(deployment: deployment, logger: logger), StatusSweeper(deployment: deployment, metrics: metrics, logger: logger),
        StatusFollowUpService(deployment: deployment), ShutdownAnnouncer(logger: logger),
        SystemdWatchdog(notifier: SystemdNotifier(), interval: SystemdNotifier.watchdogInterval()),
        ReloadOnHangup(
            certificates: certificates, reloadLinkTypes: { await LinkTypeWatcher(deployment: deployment, logger: logger).refresh() },
            config: ConfigReloader(deployment: deployment, thresholds: logThresholds, logger: logger), logger: logger),
    ]
    // First, so that it stops last: the spans of the requests that finish during a graceful shutdown still leave.
    if let telemetry { services.insert(telemetry, at: 0) }
    if let probes = deployment.config.probeListen {
        services.append(ProbeListener(deployment: deployment, address: probes, logger: logger))
    }
    if let from = deployment.config.tlsRedirectFrom {
        services.append(redirectListener(baseURL: deployment.config.baseURL, at: from, logger: logger))
    }
    return Application(
        router: router,
        server: try certificates.map { try .tls(http1, tlsConfiguration: $0.serverConfiguration()) } ?? http1,
        configuration: .init(address: .hostname(listen.host, port: listen.port), serverName: "AppLinks"),
        services: services,
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? listen.port
            await onRunning(ListenAddress(host: listen.host, port: port))
            SystemdNotifier().notify("READY=1\nSTATUS=Serving on \(listen.host):\(port)\nMAINPID=\(getpid())")
        },
        logger: logger)
}

/// `tls.redirect_from`: plain HTTP that answers every request with a redirect to the same path on the base URL,
/// except the probes.
func redirectListener(baseURL: String, at address: ListenAddress, logger: Logger) -> some Service {
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: HTTPSRedirectMiddleware(baseURL: baseURL, always: true))
    router.get("/healthz") { _, _ in HTTPReply.json(["status": "ok"]) }
    return Application(
        router: router, configuration: .init(address: .hostname(address.host, port: address.port), serverName: "AppLinks"),
        onServerRunning: { _ in logger.notice("redirecting plain HTTP to the base URL", metadata: ["listen": "\(address)"]) },
        logger: logger)
}

/// The TLS pair the config names, relative to the home unless absolute; nil for plain HTTP.
public func tlsCertificates(_ deployment: Deployment) throws -> TLSCertificates? {
    guard let certificate = deployment.config.tlsCertificate, let key = deployment.config.tlsPrivateKey else { return nil }
    func path(_ p: String) -> String { p.hasPrefix("/") ? p : deployment.home.url.appendingPathComponent(p).path }
    return try TLSCertificates(certificate: path(certificate), privateKey: path(key))
}

/// Says in the log when a graceful shutdown (SIGTERM or SIGINT) begins, so that an operator reading it can tell a
/// requested stop from a crash.
struct ShutdownAnnouncer: Service {
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        logger.notice("shutting down: no new connections; letting requests in flight finish")
    }
}

/// Follows `applinks plugins enable|disable` run against the same home, or on another node, while the server
/// runs: at once through the store's change feed where it has one (PostgreSQL's LISTEN/NOTIFY), with a slow
/// poll behind it; else by polling.
struct LinkTypeWatcher: Service {
    let deployment: Deployment
    let logger: Logger
    static let interval: Duration = .milliseconds(200)
    /// The poll behind a change feed, for a notification lost while the feed reconnects.
    static let fallbackInterval: Duration = .seconds(5)

    func refresh() async {
        do {
            if try await deployment.refreshLinkTypeStates() {
                logger.info("link type states changed", metadata: ["enabled": "\(deployment.plugins.keys.sorted())"])
            }
        } catch {
            logger.error("cannot read link type states", metadata: ["error": "\(error)"])
        }
    }

    func run() async throws {
        let feed = deployment.store as? any ChangeNotifying
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                if let feed {
                    group.addTask {
                        for await topic in feed.changes() where topic == "link_types" || topic == "subscribed" { await refresh() }
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        await refresh()
                        try? await Task.sleep(for: feed == nil ? Self.interval : Self.fallbackInterval)
                    }
                }
            }
        }
    }
}

/// Checks the links that requests changed (see ``StatusFollowUps``).
struct StatusFollowUpService: Service {
    let deployment: Deployment

    func run() async throws {
        await cancelWhenGracefulShutdown { await deployment.followUps.run(deployment) }
    }
}

/// Refreshes every link's status each `status.interval_seconds`, and deletes expired plugin data first.
struct StatusSweeper: Service {
    let deployment: Deployment
    let metrics: ServerMetrics
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    // On a cluster, one node sweeps at a time; the others find the lock taken and skip this round.
                    let swept = try await deployment.store.exclusively("status-sweep") {
                        let start = ContinuousClock.now
                        defer { metrics.statusSweep(took: ContinuousClock.now - start) }
                        do {
                            try await deployment.store.purgeExpiredPluginData()
                        } catch {
                            logger.error("purging expired plugin data failed", metadata: ["error": "\(error)"])
                        }
                        let links = try await deployment.store.links()
                        let checked = try await deployment.checkStatus(of: links)
                        logger.info(
                            "status sweep",
                            metadata: [
                                "links": "\(checked.count)",
                                "connected": "\(checked.filter { $0.status.category == .connected }.count)",
                            ])
                    }
                    if !swept { logger.debug("status sweep left to another node") }
                } catch {
                    logger.error("status sweep failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: deployment.config.statusInterval)
            }
        }
    }
}
