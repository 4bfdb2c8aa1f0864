import AppLinksCLI
import NIOCore
import NIOPosix

/// The executable stays thin: everything lives in AppLinksCLI, which tests drive the same way.
@main
enum Applinks {
    static func main() async {
        // The server runs its request handlers on the event loops that read and write their connections, so
        // that an answer costs no hop to Swift's default thread pool and back. Request handlers already may not
        // block (plugin routes that run on the request's thread refuse host calls that wait), which is what
        // running on an event loop asks. Other commands keep Swift's default executor.
        if CommandLine.arguments.dropFirst().first == "serve" {
            NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        }
        await ApplinksCommand.main(nil)
    }
}
