import AppLinksCore
import AppLinksHost
import AppLinksTracing
import Hummingbird
import Logging
import ServiceLifecycle
import Tracing

#if APPLINKS_OTEL
    import OTel
#endif

/// OpenTelemetry traces, sent over OTLP/HTTP when `tracing.otlp_endpoint` names a collector.
///
/// The process has one tracer, so `applinks serve` starts this once, before it builds the application; the
/// returned service sends the spans in batches and flushes them at a graceful shutdown. Without an endpoint
/// nothing is bootstrapped and the host makes no spans (``TraceSpans``).
public enum TraceExport {
    /// Query parameters that can carry a secret or a one-time code; a request span records them as `REDACTED`.
    static let redactedQueryParameters: Set<String> = [
        "code", "state", "access_token", "refresh_token", "id_token", "token", "client_secret", "oauth_token", "oauth_verifier",
        "oauth_signature", "password", "setup", "session", "csrf_token", "code_verifier", "assertion",
    ]

    /// Bootstraps the process-wide tracer from the config and turns the host's spans on; nil when tracing is off.
    public static func start(_ config: DeploymentConfig, logger: Logger) throws -> (any Service)? {
        guard let endpoint = config.tracingEndpoint else { return nil }
        #if APPLINKS_OTEL
            return try exporter(config, endpoint: endpoint, logger: logger)
        #else
            throw AppLinksError(
                .config, "This build of applinks has no trace exporter (built with APPLINKS_WITHOUT_OTEL); remove tracing.otlp_endpoint.")
        #endif
    }

    #if APPLINKS_OTEL
        private static func exporter(_ config: DeploymentConfig, endpoint: String, logger: Logger) throws -> any Service {
            var c = OTel.Configuration.default
            c.serviceName = config.tracingServiceName
            c.resourceAttributes = ["service.version": Deployment.version, "applinks.base_url": config.baseURL]
            c.diagnosticLogger = .custom(logger)
            c.logs.enabled = false
            c.metrics.enabled = false
            c.traces.sampler = .parentBasedTraceIDRatio(ratio: config.tracingSampleRatio) ?? .parentBasedAlwaysOn
            c.traces.otlpExporter.endpoint = endpoint.hasSuffix("/") ? endpoint + "v1/traces" : endpoint + "/v1/traces"
            let backend = try OTel.makeTracingBackend(configuration: c)
            InstrumentationSystem.bootstrap(backend.factory)
            TraceSpans.enable()
            logger.notice("exporting traces", metadata: ["endpoint": "\(c.traces.otlpExporter.endpoint)"])
            return backend.service
        }
    #endif

    /// A server span for each request, named by its route once matched, joined to a caller's trace
    /// (`traceparent`).
    static func middleware() -> TracingMiddleware<AppRequestContext> {
        TracingMiddleware(redactingQueryParameters: redactedQueryParameters)
    }
}
