import AppLinksCore
import AppLinksHost
import Foundation
import TestSupport
import Testing

/// `sdk/examples/c-hello`, built with `cc` and the SDK header alone, loaded by a deployment like any plugin.
@Suite("The C example plugin")
struct CExampleTests {
    static var source: URL { BuildProducts.repositoryRoot.appendingPathComponent("sdk/examples/c-hello/hello.c") }

    @Test("abi.md describes hello_greet as hello.c declares and defines it")
    func docsMatchTheExample() throws {
        let doc = try String(
            contentsOf: BuildProducts.repositoryRoot.appendingPathComponent("sdk/docs/abi.md"), encoding: .utf8)
        let code = try String(contentsOf: Self.source, encoding: .utf8)
        let documented = try #require(doc.firstMatch(of: /"symbol": "hello_greet", "args": \[([^\]]*)\]/)?.1)
        let declared = try #require(code.firstMatch(of: /\\"symbol\\":\\"hello_greet\\",\\"args\\":\[([^\]]*)\]/)?.1)
        #expect(
            documented.replacingOccurrences(of: " ", with: "") == declared.replacingOccurrences(of: "\\", with: ""),
            "abi.md: \(documented); hello.c: \(declared)")
        let signature = try #require(code.firstMatch(of: /int32_t hello_greet\(([^)]*)\)/)?.1)
        let documentedSignature = try #require(doc.firstMatch(of: /int32_t hello_greet\(([^)]*)\)/)?.1)
        func normalized(_ s: Substring) -> String { s.split(whereSeparator: \.isWhitespace).joined(separator: " ") }
        #expect(normalized(signature) == normalized(documentedSignature))
    }

    @Test(
        "it builds with cc, loads, and runs its two-step wizard, its status check and its typed action, in process and isolated",
        arguments: ["in-process", "process"])
    func example(isolation: String) async throws {
        let dir = TemporaryDirectory("c-hello")
        let file = dir.path("libapplinks-c-hello.so")
        try compileCPlugin(try String(contentsOf: Self.source, encoding: .utf8), to: file, extraFlags: ["-Wall", "-Wextra", "-Werror"])
        let t = try await TestDeployment.make(pluginPaths: [file], env: ["APPLINKS_PLUGINS_ISOLATION": "c-hello=\(isolation)"])
        #expect(t.deployment.pluginRecords.first { $0.id == "c-hello" }?.state == .loaded)
        #expect(t.deployment.plugins["c-hello"]?.isolated == (isolation == "process"))

        // The remote: a web server the status check can reach.
        let port = try freeLoopbackPort()
        let web = Process()
        web.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        web.arguments = ["python3", "-m", "http.server", "\(port)", "--bind", "127.0.0.1", "--directory", dir.url.path]
        web.standardOutput = FileHandle.nullDevice
        web.standardError = FileHandle.nullDevice
        try web.run()
        defer { kill(web.processIdentifier, SIGKILL) }

        let ui = ScriptedInteraction(interactive: false)
        let bad = await #expect(throws: AppLinksError.self) {
            _ = try await WizardEngine(host: t.deployment, interaction: ui).start(type: "c-hello", presets: ["url": "ftp://x"])
        }
        #expect(bad?.message.contains("give an http(s) URL") == true, "\(bad?.message ?? "")")
        let engine = WizardEngine(host: t.deployment, interaction: ScriptedInteraction(interactive: false))
        guard case .created(let link, _, _) = try await engine.start(type: "c-hello", presets: ["url": .string("http://127.0.0.1:\(port)")])
        else {
            Issue.record("the wizard did not finish")
            return
        }
        #expect(link.name == "Hello http://127.0.0.1:\(port)" && link.config["greeting"] == "Hello", "\(link)")

        var status = LinkStatus.unchecked
        for _ in 0..<50 {
            status = try await t.deployment.checkStatus(of: [link])[0].status
            if status.category == .connected { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(status.category == .connected && status.message.contains("answered HTTP 200"), "\(status)")
        kill(web.processIdentifier, SIGKILL)
        web.waitUntilExit()
        let down = try await t.deployment.checkStatus(of: [link])[0].status
        #expect(down.category == .networkError && down.errorType == .connectionRefused, "\(down)")

        let (_, greeted) = try await t.deployment.invokeAction(
            link.id, action: "greet", rawArgs: [("name", "Ada Lovelace"), ("times", "2"), ("shout", "true"), ("pitch", "1.25")])
        #expect(greeted.message == "Hello, Ada Lovelace! Hello, Ada Lovelace!")
        #expect(greeted.output?["times"]?.stringValue == "2" && greeted.output?["pitch"]?.stringValue == "1.25")
        let (_, defaults) = try await t.deployment.invokeAction(link.id, action: "greet", rawArgs: [("name", "Bob")])
        #expect(defaults.message == "Hello, Bob." && defaults.output?["shout"] == .bool(false), "\(defaults)")
        let refused = await #expect(throws: AppLinksError.self) {
            _ = try await t.deployment.invokeAction(link.id, action: "greet", rawArgs: [("name", "Bob"), ("times", "9")])
        }
        #expect(refused?.message.contains("times must be between 1 and 5") == true, "\(refused?.message ?? "")")
    }
}
