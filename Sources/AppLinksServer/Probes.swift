import AppLinksCore
import AppLinksHost
import Hummingbird
import Logging
import NIOPosix
import ServiceLifecycle

/// `/healthz` (liveness: the process answers) and `/readyz` (readiness: its database answers too).
enum Probes {
    static func register(on router: Router<AppRequestContext>, deployment: Deployment) {
        router.get("/healthz") { _, _ in Response(status: .ok, headers: jsonType, body: .init(byteBuffer: alive)) }
        router.get("/readyz") { _, _ in await StoreAvailability.readiness(deployment) }
    }

    /// The liveness answer never changes, so it is made once: probes come often, and on a busy node most of all.
    private static let alive = ByteBuffer(string: #"{"status":"ok"}"#)
    private static let jsonType: HTTPFields = [.contentType: "application/json; charset=utf-8"]
}

/// `server.probe_listen`: the probes on a listener with an event loop thread of its own.
///
/// On the main listener a probe is one connection among all the others: past the node's capacity it waits its
/// turn behind the flood, seconds on a small machine, and a load balancer takes a busy node for a dead one. The
/// kernel schedules this thread beside the busy ones, so its answers stay prompt. It answers nothing else, and it
/// logs only when it starts: a probe every few seconds would fill the access log.
struct ProbeListener: Service {
    let deployment: Deployment
    let address: ListenAddress
    let logger: Logger

    func run() async throws {
        let router = Router(context: AppRequestContext.self)
        Probes.register(on: router, deployment: deployment)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let logger = logger
        let address = address
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: "AppLinks"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? address.port
                logger.notice("probes listening", metadata: ["listen": "\(address.host):\(port)"])
            },
            eventLoopGroupProvider: .shared(group),
            logger: Logger(label: "applinks.probes", factory: { _ in SwiftLogNoOpLogHandler() }))
        do {
            // Run as a service of the node's own group: it stops when the node does.
            try await app.run()
        } catch {
            try? await group.shutdownGracefully()
            // Named here: the node's catch-all would blame the main listener and its --listen.
            throw AppLinksError(
                .config,
                "The probe listener (server.probe_listen \(address.host):\(address.port)) could not serve (\(error)); pick another HOST:PORT for server.probe_listen.",
                cause: error)
        }
        try await group.shutdownGracefully()
    }
}
