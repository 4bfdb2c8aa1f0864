import AppLinksCore
import AppLinksHost
import AppLinksJSON
import Foundation

/// Message printed if the admin presses Ctrl-C during a wizard: written from the signal handler, so it is a
/// plain C string prepared beforehand.
nonisolated(unsafe) private var interruptMessage: UnsafeMutablePointer<CChar>?

/// Prompts on the terminal: defaults in brackets, numbered choices, hidden input for secrets. Prompts go to
/// stderr so that `--json` output on stdout stays clean.
struct TerminalInteraction: WizardInteraction {
    var isInteractive: Bool
    var quiet: Bool

    func started(draftID: String) {
        free(interruptMessage)
        interruptMessage = strdup("\napplinks: interrupted. Nothing was created; resume with `applinks create --resume \(draftID)`.\n")
        signal(SIGINT) { _ in
            if let m = interruptMessage { _ = write(STDERR_FILENO, m, strlen(m)) }
            _exit(130)
        }
    }

    private func err(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }

    func title(_ text: String) { if isInteractive { err("\n== \(text) ==\n") } }

    func show(_ message: WizardMessage) {
        if !quiet || message.level == .warning { err((message.level == .warning ? "warning: " : "") + message.text + "\n") }
    }

    func waiting(url: String?, message: String) {
        err(message + "\n")
        if let url { err("Open this URL in a browser:\n  \(url)\n") }
    }

    func ask(_ field: WizardField, error: String?) async throws -> JSONValue {
        if let error { err("  ! \(error)\n") }
        var prompt = field.label
        if let help = field.help { prompt += " (\(help))" }
        if !field.choices.isEmpty {
            err("\(prompt):\n")
            for (i, c) in field.choices.enumerated() { err("  \(i + 1)) \(c)\n") }
            prompt = field.type == .multichoice ? "Choose (numbers or names, comma-separated)" : "Choose"
        }
        if let d = field.defaultValue, field.type != .secret {
            let shown: String
            if case .bool(let b) = d { shown = b ? "Y/n" : "y/N" } else { shown = d.stringValue ?? "" }
            prompt += " [\(shown)]"
        } else if field.type == .bool {
            prompt += " [y/n]"
        }
        err(prompt + ": ")
        guard let line = field.type == .secret ? readHidden() : readLine(strippingNewline: true) else {
            throw AppLinksError(.interrupted, "Input ended before the wizard finished.")
        }
        let text = line.trimmingCharacters(in: .whitespaces)
        if text.isEmpty, let d = field.defaultValue { return d }
        if !field.choices.isEmpty {
            let picked = text.split(separator: ",").map { part -> String in
                let p = part.trimmingCharacters(in: .whitespaces)
                if let n = Int(p), n >= 1, n <= field.choices.count { return field.choices[n - 1] }
                return p
            }
            return field.type == .multichoice ? .array(picked.map { .string($0) }) : .string(picked.first ?? "")
        }
        return .string(text)
    }

    /// Asks for a secret with echo off.
    func readSecret(_ field: WizardField) throws -> String {
        err(field.label + ": ")
        guard let line = readHidden() else { throw AppLinksError(.interrupted, "Input ended before the password was given.") }
        return line
    }

    private func readHidden() -> String? {
        var old = termios()
        guard tcgetattr(STDIN_FILENO, &old) == 0 else { return readLine(strippingNewline: true) }
        var hidden = old
        hidden.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &hidden)
        defer {
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &old)
            err("\n")
        }
        return readLine(strippingNewline: true)
    }
}

/// Draws `[#####-----] 5/10` on stderr while statuses are checked.
final class ProgressBar: @unchecked Sendable {
    // Only ever called from the status runner's single consuming loop.
    private let enabled: Bool
    init(enabled: Bool) { self.enabled = enabled }

    func update(_ done: Int, _ total: Int) {
        guard enabled, total > 0 else { return }
        let width = 30
        let filled = width * done / total
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(total)".utf8))
        if done == total { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
