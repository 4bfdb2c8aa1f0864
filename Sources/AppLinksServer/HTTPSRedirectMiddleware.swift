import Hummingbird

/// Sends a request that reached the deployment over plain HTTP to the same path and query on the base URL, with
/// 308 so that a form keeps its method. Behind a TLS proxy (`server.redirect_http`) that is a request the proxy
/// reports as `X-Forwarded-Proto: http`; on the `tls.redirect_from` listener it is every request.
///
/// Only the path and query are kept: the host is always the base URL's, so the redirect cannot be pointed at
/// another site. Liveness and readiness probes are answered where they arrive, since load balancers check over
/// plain HTTP.
struct HTTPSRedirectMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let baseURL: String
    /// Every request (the plain listener), rather than only those a proxy says came over HTTP.
    let always: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard always || context.forwardedProto == "http", path != "/healthz", path != "/readyz" else {
            return try await next(request, context)
        }
        let base = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        let location = base + (path.hasPrefix("/") ? path : "/" + path) + (request.uri.query.map { "?\($0)" } ?? "")
        return Response(status: .permanentRedirect, headers: [.location: location, .contentLength: "0"])
    }
}
