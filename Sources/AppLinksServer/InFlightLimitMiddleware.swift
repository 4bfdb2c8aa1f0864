import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// Sheds load instead of queueing it: past `limit` requests in flight, a request is answered 503 with
/// `Retry-After: 1` at once, so memory and latency stay bounded at any offered load. `/healthz` and `/readyz`
/// are always answered, so that an overloaded node is not mistaken for a dead one.
struct InFlightLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    let limit: Int
    let counter = Counter()

    final class Counter: Sendable { let value = Atomic<Int>(0) }

    init(limit: Int) { self.limit = limit }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if path == "/healthz" || path == "/readyz" { return try await next(request, context) }
        let now = counter.value.add(1, ordering: .relaxed).newValue
        defer { counter.value.subtract(1, ordering: .relaxed) }
        guard now <= limit else {
            return HTTPReply.error(
                .serviceUnavailable, code: "overloaded",
                "This node is answering \(limit) requests already (server.max_requests_in_flight); try again in a second.",
                headers: [.retryAfter: "1"])
        }
        return try await next(request, context)
    }
}
