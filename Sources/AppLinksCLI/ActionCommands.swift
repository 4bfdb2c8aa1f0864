import AppLinksCore
import AppLinksHost
import AppLinksJSON
import ArgumentParser
import Foundation

struct ActionsCommand: HostCommand {
    static let configuration = CommandConfiguration(
        commandName: "actions", abstract: "List the actions a link offers, with typed parameters.")
    @OptionGroup var common: CommonOptions
    @Argument(help: "The link.", completion: HomeCompletions.links) var link: String

    func execute() async throws {
        let host = try await common.openHost()
        let l = try await host.resolveLink(link)
        let actions = try host.plugin(forType: l.type).descriptor.adminActions
        if common.json { return try await Output.json(actions) }
        if actions.isEmpty { print("The \(l.type) link type offers no actions.") }
        // Columns line up: the action (and whether it is destructive), then its title; each parameter, then its use.
        let names = actions.map { $0.id + ($0.destructive ? " (destructive)" : "") }
        let nameWidth = names.map(\.count).max() ?? 0
        let argument = { (p: LinkTypeDescriptor.Parameter) in "--arg \(p.name)=<\(p.type.rawValue)>" }
        let argWidth = actions.flatMap(\.params).map { argument($0).count }.max() ?? 0
        for (a, name) in zip(actions, names) {
            print(name.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  " + a.title)
            for p in a.params {
                let req = p.required ? "required" : p.defaultValue.map { "default \($0.stringValue ?? "")" } ?? "optional"
                print(
                    "    " + argument(p).padding(toLength: argWidth, withPad: " ", startingAt: 0)
                        + "  \(req)\(p.help.map { "; " + $0 } ?? "")")
            }
        }
    }
}

struct ActionCommand: HostCommand {
    static let configuration = CommandConfiguration(commandName: "action", abstract: "Run one of a link's actions.")
    @OptionGroup var common: CommonOptions
    @Argument(help: "The link.", completion: HomeCompletions.links) var link: String
    @Argument(help: "The action's id (see `applinks actions LINK`).") var action: String
    @Option(
        name: .customLong("arg"),
        help: "An argument, name=value, converted to its declared type (repeatable). A secret's value may be @FILE, read from that file.")
    var args: [String] = []
    @Option(name: .customLong("arg-stdin"), help: ArgumentHelp("Read this argument's value from standard input.", valueName: "name"))
    var argStdin: String?
    @Flag(help: "Run a destructive action without asking.") var yes = false

    func execute() async throws {
        let given = try ActionArguments(args: args, stdinName: argStdin)
        let host = try await common.openHost()
        let l = try await host.resolveLink(link)
        var pairs = given.pairs
        if let declared = host.enabledPlugin(l.type)?.descriptor.adminActions.first(where: { $0.id == action }) {
            if declared.destructive && !yes {
                guard Output.stdinIsTerminal else {
                    throw AppLinksError(
                        .invalidInput, "\(action) is destructive (\(declared.title)); pass --yes to run it when not on a terminal.")
                }
                FileHandle.standardError.write(Data("\(declared.title), on '\(l.name)'? [y/N] ".utf8))
                guard let answer = readLine(), ["y", "yes"].contains(answer.lowercased()) else {
                    Output.note("Nothing was done.")
                    return
                }
            }
            pairs = try given.resolved(for: declared)
        }
        let (_, response) = try await host.invokeAction(l.id, action: action, rawArgs: pairs)
        await host.shutdown()
        if common.json { return try Output.json(response) }
        if let m = response.message { print(m) }
        if let o = response.output { for line in Self.text(o) { print(line) } }
    }

    /// An action's output as text, not JSON (`--json` gives that): a list one item a line, an object one field a
    /// line, each as `key: value`.
    static func text(_ value: JSONValue, indent: String = "") -> [String] {
        switch value {
        case .null: return []
        case .array(let items):
            return items.flatMap { item -> [String] in
                if case .object(let o) = item {
                    return [
                        indent
                            + o.keys.sorted().compactMap { k in o[k].flatMap { $0 == .null ? nil : "\(k): \($0)" } }.joined(separator: "  ")
                    ]
                }
                return text(item, indent: indent)
            }
        case .object(let o):
            return o.keys.sorted().flatMap { key -> [String] in
                guard let v = o[key], v != .null else { return [] }
                switch v {
                case .object, .array: return [indent + key + ":"] + text(v, indent: indent + "  ")
                default: return [indent + "\(key): \(v)"]
                }
            }
        default: return [indent + "\(value)"]
        }
    }
}
