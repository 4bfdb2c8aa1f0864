import Foundation
import Hummingbird

/// The baseline every HTTP benchmark divides by: Hummingbird's own hello-world, with nothing of AppLinks in it,
/// built in release beside the server under test. `hello-world-baseline [PORT]` listens on 127.0.0.1 (port 0
/// picks a free one) and prints the bound address on its first line.
@main
struct HelloWorld {
    static func main() async throws {
        let port = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 0
        let router = Router()
        router.get("/") { _, _ in "Hello, world!" }
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in
                FileHandle.standardOutput.write(Data("listening on 127.0.0.1:\(channel.localAddress?.port ?? port)\n".utf8))
            })
        try await app.runService()
    }
}
