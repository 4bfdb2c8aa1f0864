import NIOHTTP1
import Synchronization
import Tracing

/// The spans the host adds inside a request's: each plugin call, each status check and each outbound HTTP
/// request, so that a slow check shows which link type and which remote it waited on.
///
/// Off until the server bootstraps a tracer (`tracing.otlp_endpoint`), so that a deployment without a collector
/// pays one relaxed atomic load per call and nothing else. Plugin calls run on plugin threads or in a runner
/// process, where the task-local context does not follow by itself: ``current`` and ``with(_:_:)`` carry it over.
public enum TraceSpans {
    private static let on = Atomic<Bool>(false)

    public static var enabled: Bool { on.load(ordering: .relaxed) }

    /// Turns the spans on. Call it once the process-wide tracer is bootstrapped.
    public static func enable() { on.store(true, ordering: .relaxed) }

    /// The context to hand to another thread, or nil when tracing is off or there is none.
    package static var current: InstrumentationContext? { enabled ? InstrumentationContext.current : nil }

    /// Runs `body` with a context handed over from the task that started the work.
    package static func with<T>(_ context: InstrumentationContext?, _ body: () throws -> T) rethrows -> T {
        guard let context else { return try body() }
        return try InstrumentationContext.withValue(context, operation: body)
    }

    package static func with<T>(
        _ context: InstrumentationContext?, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T
    ) async rethrows -> T {
        guard let context else { return try await body() }
        return try await InstrumentationContext.withValue(context, operation: body)
    }

    /// A span around `body` when tracing is on; `body` alone otherwise. The name and attributes are only built
    /// when tracing is on: plugin calls pass through here on every request.
    package static func span<T>(
        _ name: @autoclosure () -> String, kind: SpanKind = .internal, attributes: @autoclosure () -> SpanAttributes = [:],
        isolation: isolated (any Actor)? = #isolation, _ body: ((any Span)?) async throws -> T
    ) async rethrows -> T {
        guard enabled else { return try await body(nil) }
        return try await withSpan(name(), ofKind: kind) { span in
            span.attributes.merge(attributes())
            return try await body(span)
        }
    }

    /// The synchronous form, for calls that stay on their thread (inline plugin routes).
    package static func span<T>(
        _ name: @autoclosure () -> String, attributes: @autoclosure () -> SpanAttributes = [:], _ body: () throws -> T
    )
        rethrows -> T
    {
        guard enabled else { return try body() }
        return try withSpan(name(), ofKind: .internal) { span in
            span.attributes.merge(attributes())
            return try body()
        }
    }

    package static func pluginAttributes(_ pluginID: String, _ function: String) -> SpanAttributes {
        var a: SpanAttributes = [:]
        a["applinks.link_type"] = pluginID
        a["applinks.plugin.function"] = function
        return a
    }

    /// Adds the current span's `traceparent` to an outbound request, so that a remote that traces joins the trace.
    package static func inject(into headers: inout HTTPHeaders) {
        guard enabled, let context = InstrumentationContext.current else { return }
        InstrumentationSystem.instrument.inject(context, into: &headers, using: HeadersInjector())
    }

    private struct HeadersInjector: Injector {
        func inject(_ value: String, forKey key: String, into carrier: inout HTTPHeaders) {
            carrier.replaceOrAdd(name: key, value: value)
        }
    }
}
