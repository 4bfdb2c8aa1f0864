import AppLinksHost
import HTTPTypes
import Hummingbird

/// Behind a reverse proxy, the peer is the proxy: the client is the last address in `X-Forwarded-For` that is
/// not one of the deployment's own proxies, and the scheme and host it used are the nearest proxy's
/// `X-Forwarded-Proto` and `X-Forwarded-Host`. The headers count only when the peer itself is a trusted proxy, so
/// that a client cannot name itself someone else to escape a login throttle, or claim HTTPS it did not use.
struct ForwardedClientMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let trusted: [AddressRange]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let peer = context.remoteAddress?.ipAddress, isTrusted(peer) else { return try await next(request, context) }
        let hops = request.headers[values: .xForwardedFor].flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
        var context = context
        // Each proxy appends to these: the last value is what the nearest one, ours, saw.
        if let proto = Self.last(request.headers[values: .xForwardedProto])?.lowercased(), ["http", "https"].contains(proto) {
            context.forwardedProto = proto
        }
        context.forwardedHost = Self.last(request.headers[values: .xForwardedHost]).map { String($0.prefix(255)) }
        // From the nearest hop back: the first one that is not a proxy of ours is the client.
        for hop in hops.reversed() {
            guard AddressRange.bytes(hop) != nil else { break }
            if !isTrusted(hop) {
                context.forwardedClient = hop
                break
            }
        }
        return try await next(request, context)
    }

    private func isTrusted(_ address: String) -> Bool { trusted.contains { $0.contains(address) } }

    private static func last(_ values: [String]) -> String? {
        values.last?.split(separator: ",").last.map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
    }
}

extension HTTPField.Name {
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
    static let xForwardedProto = HTTPField.Name("X-Forwarded-Proto")!
    static let xForwardedHost = HTTPField.Name("X-Forwarded-Host")!
}
