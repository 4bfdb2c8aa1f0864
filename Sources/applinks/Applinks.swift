import AppLinksCLI

/// The executable stays thin: everything lives in AppLinksCLI, which tests drive the same way.
@main
enum Applinks {
    static func main() async {
        await ApplinksCommand.main(nil)
    }
}
