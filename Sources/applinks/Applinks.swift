import AppLinksCLI
import AppLinksServer

/// The executable stays thin: everything lives in AppLinksCLI, which tests drive the same way.
@main
enum Applinks {
    static func main() async {
        // The server runs request handlers on the event loops of their connections; other commands keep Swift's
        // default executor.
        if CommandLine.arguments.dropFirst().first == "serve" { EventLoopExecutor.install() }
        await ApplinksCommand.main(nil)
    }
}
