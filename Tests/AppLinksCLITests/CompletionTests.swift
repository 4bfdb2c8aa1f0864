import Foundation
import TestSupport
import Testing

@Suite("applinks completion")
struct CompletionTests {
    /// Runs bash's completion function for `line` as a shell would, and returns its candidates.
    static func complete(_ line: String, _ cli: CLI) throws -> [String] {
        let words = line.split(separator: " ", omittingEmptySubsequences: false).map { "'\($0)'" }.joined(separator: " ")
        let script = """
            source <(applinks completion bash)
            COMP_WORDS=(\(words)); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMP_LINE='\(line)'; COMP_POINT=${#COMP_LINE}
            COMPREPLY=(); _applinks; printf '%s\\n' "${COMPREPLY[@]}"
            """
        var env = cli.env
        env["PATH"] = BuildProducts.directory.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let r = try runCommand(URL(fileURLWithPath: "/bin/bash"), ["-c", script], environment: env)
        return r.stdout.split(separator: "\n").map(String.init)
    }

    @Test("bash completes subcommands, the home's link names and its link type ids; zsh and fish get scripts too")
    func completes() throws {
        let cli = try CLI.initialized()
        try cli.createLink("Alpha")
        try cli.createLink("Beta")
        #expect(try Self.complete("applinks sh", cli).contains("show"))
        #expect(try Self.complete("applinks show A", cli) == ["Alpha"])
        #expect(try Self.complete("applinks status B", cli) == ["Beta"])
        #expect(try Self.complete("applinks create fi", cli) == ["fixture"])
        for shell in ["zsh", "fish"] {
            let r = try cli.run("completion", shell)
            #expect(r.status == 0 && r.stdout.contains("applinks"), "\(shell): \(r.stderr)")
        }
        let bad = try cli.run("completion", "tcsh")
        #expect(bad.status != 0 && bad.stderr.contains("choose bash, zsh or fish"), "\(bad.stderr)")
    }
}
