import AppLinksCore
import AppLinksHost
import AppLinksJSON
import AppLinksStore
import Foundation
import HTTPTypes
import Hummingbird

/// What the server says while its database is away: 503 with `Retry-After` and a JSON error that names the
/// database, within the store's bounded wait, instead of a 500 with an empty body a minute later or a 502 that
/// blames a link type. `/readyz` says the same to a load balancer; `/healthz` stays the liveness check.
enum StoreAvailability {
    static let retryAfter = "5"

    static func unavailable(_ message: String) -> Response {
        HTTPReply.error(.serviceUnavailable, code: "database_unavailable", message, headers: [.retryAfter: retryAfter])
    }

    /// The database's own words when it is known to be away, for an answer that would otherwise blame someone else.
    static func awayMessage(_ deployment: Deployment) -> String? {
        guard let store = deployment.store as? any AvailabilityReporting, let since = store.unavailableSince else { return nil }
        return "The database \(store.location) has not answered since \(Timestamp.format(since)); this request needs it. Try again shortly."
    }

    static func readiness(_ deployment: Deployment) async -> Response {
        guard let store = deployment.store as? any AvailabilityReporting else { return HTTPReply.json(["status": "ready"]) }
        do {
            try await store.ping()
            return HTTPReply.json(["status": "ready", "database": store.location])
        } catch let e as AppLinksError {
            return unavailable(e.message)
        } catch {
            return unavailable("The database did not answer: \(error)")
        }
    }
}

/// Turns a storage failure anywhere below it (a session or token lookup, a route's own reads) into the 503 above.
struct StoreErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let e as AppLinksError where e.code == .storage {
            return StoreAvailability.unavailable(e.message)
        }
    }
}
