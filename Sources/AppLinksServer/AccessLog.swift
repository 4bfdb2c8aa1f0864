import AppLinksCore
import AppLinksHost
import AppLinksLocking
import Foundation
import Hummingbird
import Metrics
import Prometheus

/// The server's metrics: swift-metrics instruments on a Prometheus registry that this server owns, so that
/// several servers can share a process (as tests do) without a global bootstrap.
public struct ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        factory = PrometheusMetricsFactory(registry: registry)
    }

    func request(method: String, route: String, status: Int, duration: Duration) {
        let (counter, timer) = handles.handles(method: method, route: route, status: status, factory: factory)
        counter.increment()
        timer.recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    /// One counter and timer per method, route and status, made once: making them looks them up in the registry
    /// by label and dimensions, which costs more than the increment on every request.
    let handles = RequestMetricHandles()

    /// A status sweep this node ran (on a cluster, one node sweeps each round).
    func statusSweep(took: Duration) {
        Metrics.Timer(label: "applinks_status_sweep_duration_seconds", factory: factory)
            .recordNanoseconds(took.components.seconds * 1_000_000_000 + took.components.attoseconds / 1_000_000_000)
    }

    /// Links by status category, read when scraped so the figures are never stale.
    func linkStatuses(_ links: [Link]) {
        for category in StatusCategory.allCases {
            Gauge(label: "applinks_links", dimensions: [("category", category.rawValue)], factory: factory)
                .record(links.filter { $0.status.category == category }.count)
        }
    }
}

/// One line per request: method, path (never the query, which may carry codes or tokens), status, duration
/// and client address. Headers, cookies and bodies are never logged.
struct AccessLogMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let route = context.endpointPath ?? "unmatched"
        do {
            let response = try await next(request, context)
            record(request, context, route: route, status: Int(response.status.code), since: start)
            return response
        } catch {
            let status = (error as? any HTTPResponseError).map { Int($0.status.code) } ?? 500
            record(request, context, route: route, status: status, since: start)
            throw error
        }
    }

    private func record(_ request: Request, _ context: Context, route: String, status: Int, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        metrics.request(method: request.method.rawValue, route: route, status: status, duration: elapsed)
        // Tenths of a millisecond, rounded, in integers: `String(format:)` cost more than the rest of the line.
        let tenths = elapsed.components.seconds * 10_000 + (elapsed.components.attoseconds + 50_000_000_000_000) / 100_000_000_000_000
        context.logger.info(
            "\(request.method.rawValue) \(request.uri.path) \(status) \(tenths / 10).\(tenths % 10)ms",
            metadata: context.forwardedHost.map { ["client": "\(context.clientAddress ?? "-")", "host": "\($0)"] }
                ?? ["client": "\(context.clientAddress ?? "-")"])
    }
}

final class RequestMetricHandles: Sendable {
    private let cache = Locked<[String: (Metrics.Counter, Metrics.Timer)]>([:])

    func handles(method: String, route: String, status: Int, factory: PrometheusMetricsFactory) -> (Metrics.Counter, Metrics.Timer) {
        let key = "\(method) \(status) \(route)"
        if let found = cache.withLock({ $0[key] }) { return found }
        let made = (
            Metrics.Counter(
                label: "applinks_http_requests_total", dimensions: [("method", method), ("route", route), ("status", String(status))],
                factory: factory),
            Metrics.Timer(
                label: "applinks_http_request_duration_seconds", dimensions: [("method", method), ("route", route)], factory: factory)
        )
        // Methods come from clients: a bounded cache, so that invented ones cannot grow it without end.
        cache.withLock { if $0.count < 1000 { $0[key] = made } }
        return made
    }
}
