import AppLinksCore
import AppLinksHost
import Foundation

/// An action's `--arg` values, with its secret parameters kept off the command line, where shell history and
/// `ps` would show them: a secret is read from a file (`--arg NAME=@FILE`), from standard input
/// (`--arg-stdin NAME`), or, on a terminal, asked for with echo off.
struct ActionArguments {
    var pairs: [(String, String)]
    var stdinName: String?

    init(args: [String], stdinName: String?) throws {
        pairs = try keyValues(args, option: "--arg")
        self.stdinName = stdinName
    }

    /// The arguments to pass, after reading the secrets `action` needs. `readStdin` and `prompt` are what the
    /// command uses; tests give their own.
    func resolved(
        for action: LinkTypeDescriptor.Action, readStdin: () -> Data = { FileHandle.standardInput.readDataToEndOfFile() },
        prompt: ((LinkTypeDescriptor.Parameter) throws -> String)? = ActionArguments.terminalPrompt
    ) throws -> [(String, String)] {
        let secrets = Set(action.params.filter { $0.type == .secret }.map(\.name))
        var out: [(String, String)] = []
        for (name, value) in pairs {
            guard secrets.contains(name) else {
                out.append((name, value))
                continue
            }
            if value.hasPrefix("@@") {
                out.append((name, String(value.dropFirst())))
            } else if value.hasPrefix("@") {
                out.append((name, try Self.readFile(String(value.dropFirst()), for: name)))
            } else {
                if !value.isEmpty {
                    Output.note(
                        "warning: --arg \(name)=… shows the secret in `ps` and the shell's history; "
                            + "next time use --arg-stdin \(name) or --arg \(name)=@FILE.")
                }
                out.append((name, value))
            }
        }
        if let stdinName {
            guard action.params.contains(where: { $0.name == stdinName }) || action.extraParams else {
                throw AppLinksError(
                    .invalidInput,
                    "--arg-stdin \(stdinName): \(action.id) has no parameter '\(stdinName)' "
                        + (action.params.isEmpty ? "(it takes none)." : "(it takes \(action.params.map(\.name).joined(separator: ", ")))."))
            }
            guard !out.contains(where: { $0.0 == stdinName }) else {
                throw AppLinksError(.invalidInput, "\(stdinName) is given twice: by --arg and by --arg-stdin. Give it once.")
            }
            out.append((stdinName, Self.trimmingOneNewline(String(decoding: readStdin(), as: UTF8.self))))
        }
        // Asked for on a terminal: a required secret that was not given.
        if let prompt {
            for p in action.params where p.type == .secret && p.required && !out.contains(where: { $0.0 == p.name }) {
                out.append((p.name, try prompt(p)))
            }
        }
        return out
    }

    static func readFile(_ path: String, for name: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AppLinksError(
                .invalidInput,
                "--arg \(name)=@\(path): cannot read \(path). Give a readable file, or write @@ for a value that begins with @.")
        }
        return trimmingOneNewline(String(decoding: data, as: UTF8.self))
    }

    /// A file or a pipe usually ends its one line with a newline that is not part of the secret.
    static func trimmingOneNewline(_ s: String) -> String {
        if s.hasSuffix("\r\n") { return String(s.dropLast(2)) }
        if s.hasSuffix("\n") { return String(s.dropLast()) }
        return s
    }

    /// Hidden input on a terminal; nothing to ask with otherwise.
    static var terminalPrompt: ((LinkTypeDescriptor.Parameter) throws -> String)? {
        guard Output.stdinIsTerminal else { return nil }
        return { p in try promptHidden(p) }
    }

    static func promptHidden(_ p: LinkTypeDescriptor.Parameter) throws -> String {
        try TerminalInteraction(isInteractive: true, quiet: false).readSecret(
            WizardField(name: p.name, label: p.help.map { "\(p.name) (\($0))" } ?? p.name, type: .secret))
    }
}
