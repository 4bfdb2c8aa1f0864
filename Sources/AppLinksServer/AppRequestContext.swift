import Hummingbird
import NIOCore

/// The request context of every route: Hummingbird's basics plus the client's address, which plugin routes
/// receive and login rate limiting keys on.
public struct AppRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The peer's IP address as text, without the port.
    public var clientAddress: String? { remoteAddress?.ipAddress }
}
