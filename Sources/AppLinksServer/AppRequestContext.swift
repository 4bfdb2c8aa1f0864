import Hummingbird
import NIOCore

/// The request context of every route: Hummingbird's basics plus the client's address, which plugin routes
/// receive and login rate limiting keys on.
public struct AppRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    /// Set by the authentication middleware: the user a token or session belongs to.
    public var user: AuthenticatedUser?
    /// The client named by `X-Forwarded-For`, set only when the peer is a trusted proxy.
    public var forwardedClient: String?
    /// The scheme and host the client used, as a trusted proxy reports them (`X-Forwarded-Proto`, `-Host`).
    public var forwardedProto: String?
    public var forwardedHost: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        user = nil
        forwardedClient = nil
        forwardedProto = nil
        forwardedHost = nil
    }

    /// The client's IP address as text, without the port: the peer's, or the one a trusted proxy forwarded for.
    public var clientAddress: String? { forwardedClient ?? remoteAddress?.ipAddress }
}

public struct AuthenticatedUser: Sendable, Hashable {
    public var name: String
    public var admin: Bool
    /// How the user authenticated: "token tok-1234" or "session".
    public var via: String
}
