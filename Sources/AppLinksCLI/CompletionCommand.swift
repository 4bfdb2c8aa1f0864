import AppLinksCore
import AppLinksHost
import ArgumentParser
import Foundation

struct CompletionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "completion",
        abstract: "Print a shell completion script: applinks completion bash > /etc/bash_completion.d/applinks",
        discussion: "Links and link types are completed from the deployment home (--home, else $APPLINKS_HOME, else ./applinks-home).")
    @Argument(help: "bash, zsh or fish") var shell: String

    func validate() throws {
        guard CompletionShell(rawValue: shell) != nil else {
            throw ValidationError("No completion for '\(shell)'; choose bash, zsh or fish.")
        }
    }

    func run() throws {
        print(ApplinksCommand.completionScript(for: CompletionShell(rawValue: shell)!))
    }
}

/// Completions read from the deployment the command line names: link names and ids, and link type ids.
enum HomeCompletions {
    static let links: CompletionKind = .custom { (words: [String], _: Int, prefix: String) async -> [String] in
        guard let deployment = await open(words) else { return [] }
        defer { Task { await deployment.shutdown() } }
        let links = (try? await deployment.store.links()) ?? []
        return links.flatMap { [$0.name, $0.id] }.filter { $0.hasPrefix(prefix) }
    }

    static let types: CompletionKind = .custom { (words: [String], _: Int, prefix: String) async -> [String] in
        guard let deployment = await open(words) else { return [] }
        defer { Task { await deployment.shutdown() } }
        return deployment.pluginRecords.compactMap(\.id).filter { $0.hasPrefix(prefix) }.sorted()
    }

    /// The deployment of `--home DIR` on the command line, else the environment's; nil when there is none.
    static func open(_ words: [String]) async -> Deployment? {
        var explicit: String?
        if let i = words.firstIndex(of: "--home"), i + 1 < words.count { explicit = words[i + 1] }
        let home = DeploymentHome.resolve(explicit: explicit)
        guard home.exists else { return nil }
        return try? await Deployment.open(home: home, stores: .standard, logger: CLILogging.logger)
    }
}
